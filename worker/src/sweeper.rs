//! The sweeper: every `SWEEPER_INTERVAL_MS`, ring the doorbell of jobs that are due but not
//! delivered (retries after backoff, messages lost from the queue, dead workers' leases), and
//! fail jobs whose final attempt died with its worker. Safe to run in every replica.

use shared::jobs;
use tokio_util::sync::CancellationToken;

use crate::WorkerState;

/// Rows handled per sweep; the rest wait for the next tick.
const BATCH: u64 = 500;

pub async fn run(state: std::sync::Arc<WorkerState>, shutdown: CancellationToken) {
    let interval = state.services.config.sweeper_interval();
    loop {
        match sweep_once(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "sweeper re-delivered overdue jobs"),
            Err(e) => tracing::warn!(error = %e, "sweep failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// One pass; returns how many jobs it acted on.
pub async fn sweep_once(state: &WorkerState) -> Result<usize, sea_orm::DbErr> {
    let db = &state.services.db;
    let config = &state.services.config;
    let candidates = jobs::due_for_delivery(db, config, BATCH).await?;
    let mut acted = 0;
    for candidate in candidates {
        let job = candidate.job;
        if candidate.exhausted {
            jobs::fail(
                db,
                config,
                &job,
                "worker lease expired on the final attempt",
                true,
            )
            .await?;
        } else {
            jobs::ring(db, &state.services.queue, &job).await;
        }
        acted += 1;
    }
    Ok(acted)
}
