use sea_orm_migration::{prelude::*, schema::*};

/// The state admins give the platform's feature flags (Configuration > Feature flags). The
/// flags themselves are defined in code; a flag without a row here is on for everyone.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(FeatureFlags::Table)
                .col(string_len(FeatureFlags::Id, 64).primary_key())
                .col(string_len_null(FeatureFlags::Name, 100))
                .col(string_len_null(FeatureFlags::Description, 500))
                .col(boolean(FeatureFlags::IsEnabled))
                .col(string_len(FeatureFlags::Scope, 16))
                .col(text(FeatureFlags::TargetUsers))
                .col(text(FeatureFlags::TargetTiers))
                .col(integer(FeatureFlags::RolloutPercentage))
                .col(uuid_null(FeatureFlags::UpdatedBy))
                .col(timestamp_with_time_zone(FeatureFlags::UpdatedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(FeatureFlags::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum FeatureFlags {
    Table,
    Id,
    Name,
    Description,
    IsEnabled,
    Scope,
    TargetUsers,
    TargetTiers,
    RolloutPercentage,
    UpdatedBy,
    UpdatedAt,
}
