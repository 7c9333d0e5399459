use sea_orm_migration::{prelude::*, schema::*};

/// A per-account limit of calls in flight an admin sets (the Users screen's concurrency panel);
/// null keeps the platform's `MAX_CONCURRENT_CALLS`. Calls started by hand and by campaigns
/// both obey it.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(integer_null(Users::ConcurrentCallsLimit))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::ConcurrentCallsLimit)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    ConcurrentCallsLimit,
}
