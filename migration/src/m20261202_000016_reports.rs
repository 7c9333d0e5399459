use sea_orm_migration::{prelude::*, schema::*};

/// Reports admins build on the Reports screen: saved templates and generated reports. A
/// generated report keeps its definition (the date range fixed when it was generated) and the
/// hash of the token its download link carries; the file is rendered when it is downloaded.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Reports::Table)
                .col(uuid(Reports::Id).primary_key())
                .col(string_len(Reports::Kind, 16))
                .col(string_len(Reports::Name, 200))
                .col(text(Reports::Definition))
                .col(string_len(Reports::Format, 8))
                .col(uuid(Reports::CreatedBy))
                .col(string_len_null(Reports::DownloadTokenHash, 64))
                .col(timestamp_with_time_zone_null(Reports::ExpiresAt))
                .col(timestamp_with_time_zone(Reports::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("reports_kind_created")
                .table(Reports::Table)
                .col(Reports::Kind)
                .col(Reports::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Reports::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Reports {
    Table,
    Id,
    Kind,
    Name,
    Definition,
    Format,
    CreatedBy,
    DownloadTokenHash,
    ExpiresAt,
    CreatedAt,
}
