//! Process start-up, the one place that composes features before anything runs: connect,
//! migrate, fill what a migration cannot compute in SQL alone, then assemble `Services`. The
//! platform below it (`db`, `Services`) knows nothing of the features it stores.

use sea_orm::DatabaseConnection;

use crate::{Config, Services, platform::db, platform::error::AppResult};

/// Connects to the database (migrating and preparing it when `migrate`) and to the queue.
pub async fn start(config: Config, migrate: bool) -> AppResult<Services> {
    // Metrics recorded before the recorder exists are lost: install it first.
    crate::platform::monitoring::handle();
    let db = db::connect(&config).await?;
    if migrate {
        prepare_database(&db).await?;
    }
    Services::assemble(config, db).await
}

/// Migrates the database, then fills what a migration cannot: a database upgraded from before
/// the dashboard counters gets them from its calls. Start-up and `api migrate` call this.
pub async fn prepare_database(db: &DatabaseConnection) -> AppResult<()> {
    db::migrate(db).await?;
    if crate::dashboard::recount::needs_rebuild(db).await? {
        let started = std::time::Instant::now();
        let recount = crate::dashboard::recount::rebuild(db).await?;
        tracing::info!(
            "dashboard counters rebuilt from {}",
            recount.summary(started.elapsed().as_secs_f64())
        );
    }
    Ok(())
}
