use sea_orm_migration::{prelude::*, schema::*};

/// ElevenLabs API keys an admin manages in Configuration: each sealed at rest like the other
/// secrets, at most one the default (the platform's key), and each user assigned to at most one
/// (their agents and calls use it instead of the default).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ProviderApiKeys::Table)
                .col(uuid(ProviderApiKeys::Id).primary_key())
                .col(string_len(ProviderApiKeys::Provider, 16))
                .col(string_len(ProviderApiKeys::Name, 100))
                .col(text(ProviderApiKeys::SealedKey))
                .col(string_len(ProviderApiKeys::KeyHint, 40))
                .col(boolean(ProviderApiKeys::IsDefault).default(false))
                .col(string_len(ProviderApiKeys::Status, 16).default("active"))
                .col(uuid_null(ProviderApiKeys::CreatedBy))
                .col(timestamp_with_time_zone(ProviderApiKeys::CreatedAt))
                .col(timestamp_with_time_zone(ProviderApiKeys::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ProviderApiKeyUsers::Table)
                // One key per user.
                .col(uuid(ProviderApiKeyUsers::UserId).primary_key())
                .col(uuid(ProviderApiKeyUsers::KeyId))
                .col(timestamp_with_time_zone(ProviderApiKeyUsers::AssignedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ProviderApiKeyUsers::Table, ProviderApiKeyUsers::KeyId)
                        .to(ProviderApiKeys::Table, ProviderApiKeys::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ProviderApiKeyUsers::Table, ProviderApiKeyUsers::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("provider_api_key_users_key")
                .table(ProviderApiKeyUsers::Table)
                .col(ProviderApiKeyUsers::KeyId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ProviderApiKeyUsers::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(ProviderApiKeys::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ProviderApiKeys {
    Table,
    Id,
    Provider,
    Name,
    SealedKey,
    KeyHint,
    IsDefault,
    Status,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProviderApiKeyUsers {
    Table,
    UserId,
    KeyId,
    AssignedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
