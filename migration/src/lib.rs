//! Switchboard's schema. Every migration runs unchanged on PostgreSQL and SQLite, so only
//! portable column types and plain indexes are used here.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_initial;
mod m20261126_000002_session_epoch;
mod m20261126_000003_calls_in_flight_index;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_initial::Migration),
            Box::new(m20261126_000002_session_epoch::Migration),
            Box::new(m20261126_000003_calls_in_flight_index::Migration),
        ]
    }
}
