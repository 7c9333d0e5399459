//! Keeps apalis-redis' scheduled set short (see `JobQueue::promote_due`): every poll interval
//! it moves due messages to the active lists in bounded chunks, before a fetch would choke on
//! them.

use sea_orm::Iterable;
use std::sync::Arc;

use shared::platform::jobs::JobKind;
use tokio_util::sync::CancellationToken;

use crate::WorkerState;

pub async fn run(state: Arc<WorkerState>, shutdown: CancellationToken) {
    let queue = &state.services.queue;
    let interval =
        std::time::Duration::from_millis(state.services.config.jobs.queue_poll_interval_ms);
    loop {
        for kind in JobKind::iter() {
            match queue.promote_due(kind).await {
                Ok(0) => {}
                Ok(moved) => {
                    tracing::debug!(kind = kind.to_string(), moved, "promoted due messages")
                }
                // Redis is away: the consumers notice too, and the sweeper covers the jobs.
                Err(e) => tracing::debug!(error = %e, "promoting due messages failed"),
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
