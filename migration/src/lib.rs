//! Switchboard's schema. Every migration runs unchanged on PostgreSQL and SQLite, so only
//! portable column types and plain indexes are used here; the one exception (the transcript
//! full-text index) is PostgreSQL-only and optional for correctness.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_initial;
mod m20261126_000002_session_epoch;
mod m20261126_000003_calls_in_flight_index;
mod m20261126_000004_notifications_and_live_events;
mod m20261126_000005_integration_keys;
mod m20261126_000006_dashboard_rollups;
mod m20261126_000007_audit_append_only;
mod m20261201_000008_frontend_accounts;
mod m20261201_000009_lead_scores_out_of_100;
mod m20261202_000010_call_analytics_counters;
mod m20261202_000011_contact_origin;
mod m20261202_000012_customers_and_lead_tasks;
mod m20261202_000013_subscription_tier;
mod m20261202_000014_provider_api_keys;
mod m20261202_000015_user_call_limit;
mod m20261202_000016_reports;
mod m20261202_000017_phone_numbers;
mod m20261202_000018_feature_flags;
mod m20261202_000019_report_schedules;
mod m20261203_000020_report_shares;
mod m20261203_000021_platform_rollups;
mod m20261203_000022_inbox_payload_lz4;
mod m20261203_000023_campaigns;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_initial::Migration),
            Box::new(m20261126_000002_session_epoch::Migration),
            Box::new(m20261126_000003_calls_in_flight_index::Migration),
            Box::new(m20261126_000004_notifications_and_live_events::Migration),
            Box::new(m20261126_000005_integration_keys::Migration),
            Box::new(m20261126_000006_dashboard_rollups::Migration),
            Box::new(m20261126_000007_audit_append_only::Migration),
            Box::new(m20261201_000008_frontend_accounts::Migration),
            Box::new(m20261201_000009_lead_scores_out_of_100::Migration),
            Box::new(m20261202_000010_call_analytics_counters::Migration),
            Box::new(m20261202_000011_contact_origin::Migration),
            Box::new(m20261202_000012_customers_and_lead_tasks::Migration),
            Box::new(m20261202_000013_subscription_tier::Migration),
            Box::new(m20261202_000014_provider_api_keys::Migration),
            Box::new(m20261202_000015_user_call_limit::Migration),
            Box::new(m20261202_000016_reports::Migration),
            Box::new(m20261202_000017_phone_numbers::Migration),
            Box::new(m20261202_000018_feature_flags::Migration),
            Box::new(m20261202_000019_report_schedules::Migration),
            Box::new(m20261203_000020_report_shares::Migration),
            Box::new(m20261203_000021_platform_rollups::Migration),
            Box::new(m20261203_000022_inbox_payload_lz4::Migration),
            Box::new(m20261203_000023_campaigns::Migration),
        ]
    }
}
