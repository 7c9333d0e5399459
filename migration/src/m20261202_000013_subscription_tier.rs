use sea_orm_migration::{prelude::*, schema::*};

/// The plan an admin puts an account on (`free`, `basic`, `pro`, `enterprise`): the admin
/// user editor sets it and the platform analytics count users by it. Existing accounts start
/// on `free`, as new ones do.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(string_len(Users::SubscriptionTier, 16).default("free"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::SubscriptionTier)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    SubscriptionTier,
}
