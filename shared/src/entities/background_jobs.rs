//! The state of one background job; the queue message only carries this row's id.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "background_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: JobKind,
    pub subject_id: Uuid,
    pub status: JobStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTimeUtc,
    pub enqueued_at: Option<DateTimeUtc>,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

vocabulary! {
    /// Every kind of job; each names the table its `subject_id` points into.
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
}

vocabulary! {
    /// Where a job is: waiting (or due for a retry), claimed by a worker, or finished.
    pub enum JobStatus {
        Queued,
        Running,
        Succeeded,
        /// Gave up: attempts spent, or an error no retry can mend.
        Failed,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
