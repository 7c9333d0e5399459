//! The sweeper: every `SWEEPER_INTERVAL_MS` it rings the doorbell of jobs that are due but were
//! never delivered (new retries after their backoff), and runs itself the jobs whose doorbell
//! rang `JOB_REDELIVER_AFTER_SECS` ago without anyone claiming them (a message lost from Redis,
//! a stalled consumer) or whose worker died holding the lease. Jobs whose final attempt died
//! with its worker are failed. Safe in every replica: claiming a job is atomic.

use std::sync::Arc;

use shared::platform::jobs;
use tokio_util::sync::CancellationToken;

use crate::{WorkerState, runner};

/// Rows handled per sweep; the rest wait for the next tick.
const BATCH: u64 = 500;

pub async fn run(state: Arc<WorkerState>, shutdown: CancellationToken) {
    let interval = state.services.config.jobs.sweeper_interval();
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
pub async fn sweep_once(state: &Arc<WorkerState>) -> Result<usize, sea_orm::DbErr> {
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
        } else if job.enqueued_at.is_none() {
            jobs::ring(db, &state.services.queue, &job).await;
        } else {
            // The queue did not deliver it in time: do not depend on it a second time.
            let Ok(permit) = state.sweeper_slots.clone().try_acquire_owned() else {
                break;
            };
            let st = state.clone();
            state.in_flight.spawn(async move {
                runner::process(&st, job.id).await;
                drop(permit);
            });
        }
        acted += 1;
    }
    match shared::admin::reports::schedules::run_due(&state.services, 20).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "scheduled reports sent"),
        Err(e) => tracing::warn!(error = %e, "scheduled reports skipped"),
    }
    match shared::calls::reconcile(&state.services, 50).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "stuck calls looked up on ElevenLabs"),
        // Not configured, or ElevenLabs down: the next sweep tries again.
        Err(e) => tracing::debug!(error = %e, "call reconciliation skipped"),
    }
    Ok(acted)
}
