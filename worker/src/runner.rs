//! Runs one delivered job: claim its row, do the work under a timeout, record the outcome.
//! Retries are decided here from the row, never by the queue.

use std::time::{Duration, Instant};

use shared::{
    entities::background_jobs::Model as BackgroundJob,
    platform::jobs::{self, JobError, JobKind, JobStatus},
};
use uuid::Uuid;

use crate::{WorkerState, send_email};

/// Processes the job a queue message names. Duplicate or late deliveries find nothing to
/// claim and return at once.
pub async fn process(state: &WorkerState, job_id: Uuid) {
    process_many(state, &[job_id]).await
}

/// Processes several delivered jobs: post-call events together (one transaction for their
/// transcriptions), any other job on its own.
pub async fn process_many(state: &WorkerState, job_ids: &[Uuid]) {
    let db = &state.services.db;
    let config = &state.services.config;
    let claimed = match jobs::claim_many(db, job_ids, &state.worker_id, config.jobs.lease()).await {
        Ok(claimed) => claimed,
        Err(e) => {
            // The rows are untouched; the sweeper rings them again once the database is back.
            tracing::warn!(jobs = job_ids.len(), error = %e, "could not claim jobs");
            return;
        }
    };
    if claimed.len() < job_ids.len() {
        tracing::debug!(
            not_claimed = job_ids.len() - claimed.len(),
            "jobs not claimable (done, not due, or held elsewhere)"
        );
    }
    let (events, others): (Vec<_>, Vec<_>) = claimed
        .into_iter()
        .partition(|job| job.kind == JobKind::ConversationEvent);
    for job in others {
        let started = Instant::now();
        let outcome = within_timeout(config, execute(state, &job)).await;
        let recorded = match &outcome {
            Ok(()) => jobs::complete(db, &job).await.map(|_| JobStatus::Succeeded),
            Err(e) => fail(state, &job, e).await,
        };
        report(&job, &outcome, recorded, started.elapsed());
    }
    if !events.is_empty() {
        tracing::debug!(events = events.len(), "applying post-call events together");
        let started = Instant::now();
        let outcomes = within_timeout(config, async {
            Ok(shared::calls::conversations::apply_jobs(&state.services, &events).await)
        })
        .await
        // A batch that ran out of time: every job of it is retried.
        .unwrap_or_else(|e| events.iter().map(|job| (job.id, Err(e.clone()))).collect());
        let elapsed = started.elapsed();
        for (job, (_, outcome)) in events.iter().zip(outcomes) {
            // Finished in the transaction of its work when it succeeded.
            let recorded = match &outcome {
                Ok(()) => Ok(JobStatus::Succeeded),
                Err(e) => fail(state, job, e).await,
            };
            report(job, &outcome, recorded, elapsed);
        }
    }
}

async fn within_timeout<T>(
    config: &shared::Config,
    work: impl std::future::Future<Output = Result<T, JobError>>,
) -> Result<T, JobError> {
    tokio::time::timeout(config.jobs.timeout(), work)
        .await
        .unwrap_or_else(|_| {
            Err(JobError::Retryable(format!(
                "timed out after {} s",
                config.jobs.timeout_secs
            )))
        })
}

async fn fail(
    state: &WorkerState,
    job: &BackgroundJob,
    error: &JobError,
) -> Result<JobStatus, sea_orm::DbErr> {
    let permanent = matches!(error, JobError::Permanent(_));
    jobs::fail(
        &state.services.db,
        &state.services.config,
        job,
        &error.to_string(),
        permanent,
    )
    .await
}

/// The job's metrics and log line, in the job's span.
fn report(
    job: &BackgroundJob,
    outcome: &Result<(), JobError>,
    recorded: Result<JobStatus, sea_orm::DbErr>,
    elapsed: Duration,
) {
    let span =
        tracing::info_span!("job", job_id = %job.id, kind = %job.kind, attempt = job.attempts);
    let _entered = span.enter();
    let elapsed_ms = elapsed.as_millis() as u64;
    let counted = match &recorded {
        Ok(JobStatus::Succeeded) => "succeeded",
        Ok(JobStatus::Failed) => "failed",
        Ok(_) => "retried",
        Err(_) => "unrecorded",
    };
    shared::platform::monitoring::job_finished(job.kind, counted, elapsed);
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

async fn execute(state: &WorkerState, job: &BackgroundJob) -> Result<(), JobError> {
    match job.kind {
        JobKind::SendEmail => send_email::run(state, job.subject_id).await,
        JobKind::AgentSync => {
            let last = job.attempts >= job.max_attempts;
            shared::agents::sync(&state.services, job.subject_id, last).await
        }
        JobKind::ConversationEvent => {
            // `process_many` applies these together; one alone is the same work.
            shared::calls::conversations::apply(&state.services, job.subject_id).await
        }
        JobKind::ContactImport => {
            shared::contacts::import::run(&state.services, job.subject_id).await
        }
        JobKind::StripeEvent => {
            shared::money::billing::stripe_events::apply(&state.services, job.subject_id).await
        }
    }
}
