//! Background jobs. The database row in `jobs` is the job (its status, attempts, last error and
//! next attempt); the queue message only names that row, and rings the worker's doorbell.

mod queue;
mod store;

use serde::{Deserialize, Serialize};

use crate::platform::error::AppError;
use uuid::Uuid;

pub use crate::entities::background_jobs::{JobKind, JobStatus};
pub use queue::{JobQueue, connect_redis};
pub use store::{
    QueueHealth, SweepCandidate, backoff, claim, claim_many, complete, complete_many, create,
    depths, due_for_delivery, fail, mark_rung, pending_count, push_rung, rearm, ring,
};

/// What travels through the queue: the id of a `jobs` row, nothing else.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobMessage {
    pub job_id: Uuid,
}

/// How a job's work ended when it did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt later (a provider was down, a timeout).
    #[error("{0}")]
    Retryable(String),
    /// Will never succeed (the subject row is gone, the input is invalid): fail at once.
    #[error("{0}")]
    Permanent(String),
}

impl JobError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, JobError::Retryable(_))
    }
}

/// Whether another attempt can succeed decides. A provider down or erring on its side
/// (`provider_unavailable`), the queue down, a rate limit, the database, an internal error (a
/// pool exhausted, a bug a deploy fixes) retry with backoff; the subject gone, invalid input, a
/// conflict, or a provider refusing the request itself (`provider_error`, a 4xx) fail at once,
/// since no retry changes them.
impl From<AppError> for JobError {
    fn from(e: AppError) -> Self {
        let message = e.to_string();
        match e {
            AppError::Unavailable { .. }
            | AppError::Provider {
                code: "provider_unavailable",
                ..
            }
            | AppError::RateLimited { .. }
            | AppError::Database(_)
            | AppError::Internal(_) => JobError::Retryable(message),
            AppError::Provider { .. }
            | AppError::BadRequest { .. }
            | AppError::Validation { .. }
            | AppError::Unprocessable { .. }
            | AppError::Unauthorized { .. }
            | AppError::InsufficientCredits { .. }
            | AppError::Forbidden { .. }
            | AppError::NotFound { .. }
            | AppError::Conflict { .. }
            | AppError::PayloadTooLarge { .. } => JobError::Permanent(message),
        }
    }
}

impl From<sea_orm::DbErr> for JobError {
    fn from(e: sea_orm::DbErr) -> Self {
        JobError::Retryable(format!("database: {e}"))
    }
}
