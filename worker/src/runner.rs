//! Runs one delivered job: claim its row, do the work under a timeout, record the outcome.
//! Retries are decided here from the row, never by the queue.

use shared::jobs::{self, JobError, JobKind, JobStatus};
use tracing::Instrument;
use uuid::Uuid;

use crate::{WorkerState, send_email};

/// Processes the job a queue message names. Duplicate or late deliveries find nothing to
/// claim and return at once.
pub async fn process(state: &WorkerState, job_id: Uuid) {
    let db = &state.services.db;
    let config = &state.services.config;
    let job = match jobs::claim(db, job_id, &state.worker_id, config.job_lease()).await {
        Ok(Some(job)) => job,
        Ok(None) => {
            tracing::debug!(%job_id, "job not claimable (done, not due, or held elsewhere)");
            return;
        }
        Err(e) => {
            // The row is untouched; the sweeper rings it again once the database is back.
            tracing::warn!(%job_id, error = %e, "could not claim job");
            return;
        }
    };
    let span =
        tracing::info_span!("job", job_id = %job.id, kind = %job.kind, attempt = job.attempts);
    async {
        let started = std::time::Instant::now();
        let outcome = match tokio::time::timeout(config.job_timeout(), execute(state, &job)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(JobError::Retryable(format!(
                "timed out after {} s",
                config.job_timeout_secs
            ))),
        };
        let elapsed = started.elapsed();
        let elapsed_ms = elapsed.as_millis() as u64;
        let recorded = match &outcome {
            Ok(()) => jobs::complete(db, &job).await.map(|_| JobStatus::Succeeded),
            Err(e) => {
                let permanent = matches!(e, JobError::Permanent(_));
                jobs::fail(db, config, &job, &e.to_string(), permanent).await
            }
        };
        let counted = match &recorded {
            Ok(JobStatus::Succeeded) => "succeeded",
            Ok(JobStatus::Failed) => "failed",
            Ok(_) => "retried",
            Err(_) => "unrecorded",
        };
        shared::monitoring::job_finished(&job.kind, counted, elapsed);
        match (outcome, recorded) {
            (Ok(()), Ok(_)) => tracing::info!(elapsed_ms, "job succeeded"),
            (Err(e), Ok(JobStatus::Failed)) => {
                tracing::error!(elapsed_ms, error = %e, "job failed for good")
            }
            (Err(e), Ok(_)) => tracing::warn!(elapsed_ms, error = %e, "job failed; will retry"),
            (_, Err(e)) => {
                // The lease expires and the sweeper hands the job out again.
                tracing::error!(error = %e, "could not record job outcome")
            }
        }
    }
    .instrument(span)
    .await
}

async fn execute(
    state: &WorkerState,
    job: &shared::entities::background_jobs::Model,
) -> Result<(), JobError> {
    match JobKind::parse(&job.kind) {
        Some(JobKind::SendEmail) => send_email::run(state, job.subject_id).await,
        Some(JobKind::AgentSync) => {
            let last = job.attempts >= job.max_attempts;
            shared::agents::sync(&state.services, job.subject_id, last).await
        }
        Some(JobKind::ConversationEvent) => {
            shared::conversations::apply(&state.services, job.subject_id).await
        }
        Some(JobKind::ContactImport) => {
            shared::contacts::import::run(&state.services, job.subject_id).await
        }
        Some(JobKind::StripeEvent) => {
            shared::billing::stripe_events::apply(&state.services, job.subject_id).await
        }
        None => Err(JobError::Permanent(format!(
            "unknown job kind {}",
            job.kind
        ))),
    }
}
