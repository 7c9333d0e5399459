use sea_orm_migration::{prelude::*, schema::*};

/// Customers (contacts converted from leads, with their own status and notes) and lead tasks
/// (a follow-up or a demo dated on a lead), both owned by a user like everything else.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Customers::Table)
                .col(uuid(Customers::Id).primary_key())
                .col(uuid(Customers::UserId))
                .col(uuid(Customers::ContactId))
                .col(string_len(Customers::Reference, 32))
                .col(string_len(Customers::Name, 200))
                .col(string_len_null(Customers::Email, 254))
                .col(string_len_null(Customers::Phone, 40))
                .col(string_len_null(Customers::Company, 200))
                .col(string_len(Customers::Status, 16).default("active"))
                .col(text_null(Customers::Notes))
                .col(string_len_null(Customers::AssignedSalesRep, 200))
                .col(string_len_null(Customers::OriginalLeadSource, 200))
                .col(timestamp_with_time_zone(Customers::ConvertedAt))
                .col(timestamp_with_time_zone(Customers::CreatedAt))
                .col(timestamp_with_time_zone(Customers::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Customers::Table, Customers::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Customers::Table, Customers::ContactId)
                        .to(Contacts::Table, Contacts::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // One customer per contact; the reference is unique per account.
        for (name, [first, second]) in [
            (
                "customers_contact",
                [Customers::UserId, Customers::ContactId],
            ),
            (
                "customers_reference",
                [Customers::UserId, Customers::Reference],
            ),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(Customers::Table)
                    .col(first)
                    .col(second)
                    .unique()
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(LeadTasks::Table)
                .col(uuid(LeadTasks::Id).primary_key())
                .col(uuid(LeadTasks::UserId))
                .col(uuid_null(LeadTasks::ContactId))
                .col(string_len(LeadTasks::Kind, 16))
                .col(timestamp_with_time_zone(LeadTasks::DueAt))
                .col(text_null(LeadTasks::Remark))
                .col(string_len(LeadTasks::Status, 16).default("pending"))
                .col(string_len_null(LeadTasks::LeadName, 200))
                .col(string_len_null(LeadTasks::LeadPhone, 40))
                .col(string_len_null(LeadTasks::LeadEmail, 254))
                .col(timestamp_with_time_zone(LeadTasks::CreatedAt))
                .col(timestamp_with_time_zone(LeadTasks::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(LeadTasks::Table, LeadTasks::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(LeadTasks::Table, LeadTasks::ContactId)
                        .to(Contacts::Table, Contacts::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("lead_tasks_contact")
                .table(LeadTasks::Table)
                .col(LeadTasks::UserId)
                .col(LeadTasks::ContactId)
                .col(LeadTasks::Kind)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(LeadTasks::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Customers::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    UserId,
    ContactId,
    Reference,
    Name,
    Email,
    Phone,
    Company,
    Status,
    Notes,
    AssignedSalesRep,
    OriginalLeadSource,
    ConvertedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LeadTasks {
    Table,
    Id,
    UserId,
    ContactId,
    Kind,
    DueAt,
    Remark,
    Status,
    LeadName,
    LeadPhone,
    LeadEmail,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
}
