use sea_orm_migration::{prelude::*, schema::*};

/// Reports an admin shared (Reports > Sharing): who may open the link and how often it was
/// opened. The link's token is an HMAC of the share's id, so no token is stored.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ReportShares::Table)
                .col(uuid(ReportShares::Id).primary_key())
                .col(uuid(ReportShares::ReportId))
                .col(string_len(ReportShares::ShareType, 16))
                .col(string_len(ReportShares::AccessLevel, 16))
                .col(boolean(ReportShares::IsPublic))
                .col(boolean(ReportShares::RequiresAuth))
                .col(text_null(ReportShares::PasswordHash))
                .col(text(ReportShares::AllowedUsers))
                .col(text(ReportShares::AllowedDomains))
                .col(string_len_null(ReportShares::EmailSubject, 200))
                .col(text_null(ReportShares::EmailMessage))
                .col(timestamp_with_time_zone_null(ReportShares::ExpiresAt))
                .col(big_integer(ReportShares::AccessCount).default(0))
                .col(timestamp_with_time_zone_null(ReportShares::LastAccessedAt))
                .col(timestamp_with_time_zone_null(ReportShares::RevokedAt))
                .col(uuid(ReportShares::CreatedBy))
                .col(timestamp_with_time_zone(ReportShares::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ReportShares::Table, ReportShares::ReportId)
                        .to(Reports::Table, Reports::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("report_shares_report")
                .table(ReportShares::Table)
                .col(ReportShares::ReportId)
                .col(ReportShares::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ReportShares::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Reports {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ReportShares {
    Table,
    Id,
    ReportId,
    ShareType,
    AccessLevel,
    IsPublic,
    RequiresAuth,
    PasswordHash,
    AllowedUsers,
    AllowedDomains,
    EmailSubject,
    EmailMessage,
    ExpiresAt,
    AccessCount,
    LastAccessedAt,
    RevokedAt,
    CreatedBy,
    CreatedAt,
}
