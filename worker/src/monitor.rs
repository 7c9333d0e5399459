//! The apalis monitor: one apalis worker per job kind (each with its own explicit queue), the
//! sweeper beside them, and a graceful stop that lets in-flight jobs finish.

use std::{sync::Arc, time::Duration};

use apalis::prelude::*;
use shared::jobs::{JobKind, JobMessage, JobQueue};
use tokio_util::sync::CancellationToken;

use crate::{WorkerState, runner, sweeper};

/// The apalis task function: the message only names a job row; the runner does the rest.
/// Always `Ok`: retries come from the row, so apalis never re-runs or dead-letters a task.
async fn handle(message: JobMessage, state: Data<Arc<WorkerState>>) -> Result<(), BoxDynError> {
    runner::process(&state, message.job_id).await;
    Ok(())
}

/// Runs until `shutdown` is cancelled, then stops taking jobs and waits (up to
/// `SHUTDOWN_TIMEOUT_SECS`) for those in flight.
pub async fn run(state: Arc<WorkerState>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let config = state.services.config.clone();
    tracing::info!(worker_id = %state.worker_id, queue = ?state.services.queue, "worker starting");

    let sweeper = tokio::spawn(sweeper::run(state.clone(), shutdown.clone()));

    let mut monitor =
        Monitor::new().shutdown_timeout(Duration::from_secs(config.shutdown_timeout_secs));
    for &kind in JobKind::ALL {
        let name = format!("{}:{}", state.worker_id, kind.as_str());
        let concurrency = config.worker_concurrency;
        let poll = Duration::from_millis(config.queue_poll_interval_ms);
        let st = state.clone();
        // The two backends are different types with the same worker shape.
        macro_rules! register {
            ($backend:expr) => {{
                let backend = $backend;
                monitor.register(move |_| {
                    WorkerBuilder::new(name.clone())
                        .backend(backend.clone().poll_with_interval(poll))
                        .data(st.clone())
                        .concurrency(concurrency)
                        .catch_panic()
                        .build(handle)
                })
            }};
        }
        let queue = &state.services.queue;
        monitor = match queue {
            JobQueue::Redis { .. } => register!(queue.redis_storage(kind).expect("redis queue")),
            JobQueue::Sqlite { .. } => register!(queue.sqlite_storage(kind).expect("sqlite queue")),
        };
    }
    let signal = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.cancelled().await;
            Ok(())
        }
    };
    let result = monitor.run_with_signal(signal).await;
    shutdown.cancel();
    let _ = sweeper.await;
    tracing::info!(worker_id = %state.worker_id, "worker stopped");
    result.map_err(|e| anyhow::anyhow!("worker monitor: {e}"))
}
