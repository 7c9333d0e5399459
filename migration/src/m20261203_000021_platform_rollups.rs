use sea_orm_migration::{prelude::*, schema::*};

/// Daily platform-wide call counters for the admin KPIs, so their totals read a few thousand
/// rows whatever the number of accounts and calls. Each day is split over eight shards (by the
/// account) so concurrent post-call transactions rarely wait on one row. Filled from
/// `call_rollups` by the counter rebuild that runs at start-up when this table is empty.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(PlatformRollups::Table)
                .col(timestamp_with_time_zone(PlatformRollups::Day))
                .col(small_integer(PlatformRollups::Shard))
                .col(big_integer(PlatformRollups::Calls).default(0))
                .col(big_integer(PlatformRollups::Successful).default(0))
                .col(big_integer(PlatformRollups::DurationSecs).default(0))
                .col(big_integer(PlatformRollups::Credits).default(0))
                .primary_key(
                    Index::create()
                        .col(PlatformRollups::Day)
                        .col(PlatformRollups::Shard),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PlatformRollups::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PlatformRollups {
    Table,
    Day,
    Shard,
    Calls,
    Successful,
    DurationSecs,
    Credits,
}
