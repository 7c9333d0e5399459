//! Background jobs. The database row in `jobs` is the job (its status, attempts, last error and
//! next attempt); the queue message only names that row, and rings the worker's doorbell.

mod queue;
mod store;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use queue::{JobQueue, connect_redis};
pub use store::{
    JobStatus, QueueHealth, SweepCandidate, backoff, claim, claim_many, complete, complete_many,
    create, depths, due_for_delivery, fail, mark_rung, pending_count, rearm, ring,
};

/// Every kind of job; each names the table its `subject_id` points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Deliver one `email_outbox` row.
    SendEmail,
    /// Apply one Stripe event from the `webhook_events` inbox.
    StripeEvent,
    /// Bring one agent's ElevenLabs copy up to date after ElevenLabs was unavailable.
    AgentSync,
    /// Apply one ElevenLabs post-call event from the `webhook_events` inbox.
    ConversationEvent,
    /// Import the rows of one `contact_imports` upload.
    ContactImport,
}

impl JobKind {
    pub const ALL: &'static [JobKind] = &[
        JobKind::SendEmail,
        JobKind::StripeEvent,
        JobKind::AgentSync,
        JobKind::ConversationEvent,
        JobKind::ContactImport,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::SendEmail => "send_email",
            JobKind::StripeEvent => "stripe_event",
            JobKind::AgentSync => "agent_sync",
            JobKind::ConversationEvent => "conversation_event",
            JobKind::ContactImport => "contact_import",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

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

impl From<sea_orm::DbErr> for JobError {
    fn from(e: sea_orm::DbErr) -> Self {
        JobError::Retryable(format!("database: {e}"))
    }
}
