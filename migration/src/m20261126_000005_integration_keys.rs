use sea_orm_migration::{prelude::*, schema::*};

/// Per-user secrets that ElevenLabs (caller lookup, agent tools) presents in a header. Only a
/// SHA-256 of each is kept; two may be active at once for rotation.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(IntegrationKeys::Table)
                .col(pk_uuid(IntegrationKeys::Id))
                .col(uuid(IntegrationKeys::UserId))
                .col(string_uniq(IntegrationKeys::KeyHash))
                .col(string(IntegrationKeys::Prefix))
                .col(timestamp_with_time_zone_null(IntegrationKeys::LastUsedAt))
                .col(timestamp_with_time_zone(IntegrationKeys::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(IntegrationKeys::Table, IntegrationKeys::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_integration_keys_user")
                .table(IntegrationKeys::Table)
                .col(IntegrationKeys::UserId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(IntegrationKeys::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum IntegrationKeys {
    Table,
    Id,
    UserId,
    KeyHash,
    Prefix,
    LastUsedAt,
    CreatedAt,
}
