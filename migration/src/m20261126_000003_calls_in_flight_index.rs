use sea_orm_migration::prelude::*;

/// The sweeper looks for calls still in flight after a while on every pass; without this index
/// that is a scan of the whole calls table.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("idx_calls_status_updated")
                .table(Calls::Table)
                .col(Calls::Status)
                .col(Calls::UpdatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_calls_status_updated")
                .table(Calls::Table)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Calls {
    Table,
    Status,
    UpdatedAt,
}
