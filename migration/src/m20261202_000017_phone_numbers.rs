use sea_orm_migration::{prelude::*, schema::*};

/// The ElevenLabs workspace's phone numbers admins bring onto the platform (Admin > Phone
/// numbers): each E.164 number once, and each assigned to at most one agent, which then calls
/// from it and answers it.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(PhoneNumbers::Table)
                .col(uuid(PhoneNumbers::Id).primary_key())
                .col(string_len(PhoneNumbers::Name, 100))
                .col(string_len(PhoneNumbers::PhoneNumber, 20).unique_key())
                .col(string_len(PhoneNumbers::ElevenlabsPhoneNumberId, 100).unique_key())
                .col(string_len(PhoneNumbers::Provider, 20))
                .col(uuid_null(PhoneNumbers::AssignedAgentId).unique_key())
                .col(boolean(PhoneNumbers::IsActive).default(true))
                .col(uuid(PhoneNumbers::CreatedBy))
                .col(timestamp_with_time_zone(PhoneNumbers::CreatedAt))
                .col(timestamp_with_time_zone(PhoneNumbers::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(PhoneNumbers::Table, PhoneNumbers::AssignedAgentId)
                        .to(Agents::Table, Agents::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PhoneNumbers::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PhoneNumbers {
    Table,
    Id,
    Name,
    PhoneNumber,
    ElevenlabsPhoneNumberId,
    Provider,
    AssignedAgentId,
    IsActive,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
}
