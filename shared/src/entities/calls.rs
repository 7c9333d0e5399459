//! A call or chat conversation (`channel`), keyed by the ElevenLabs conversation id.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "calls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub agent_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub channel: Channel,
    pub direction: Direction,
    pub elevenlabs_conversation_id: Option<String>,
    pub phone_number: Option<String>,
    pub status: CallStatus,
    pub failure_reason: Option<String>,
    pub duration_secs: i32,
    pub credits_charged: i64,
    pub summary: Option<String>,
    pub summary_title: Option<String>,
    pub call_successful: Option<String>,
    pub recording_key: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The whole transcript as `speaker: text` lines, for full-text search.
    #[sea_orm(column_type = "Text", nullable)]
    pub transcript_text: Option<String>,
    /// The lead score's total and tag, copied here so the call list filters on the call alone.
    pub lead_score: Option<i32>,
    pub lead_tag: Option<String>,
}

vocabulary! {
    /// Whether a conversation was a phone call or a text chat; an agent's kind is the channel it
    /// serves.
    pub enum Channel {
        /// A phone call (a voice agent).
        Call,
        /// A text chat (a chat agent).
        Chat,
    }
}

vocabulary! {
    /// Who started a conversation.
    pub enum Direction {
        Inbound,
        Outbound,
    }
}

vocabulary! {
    /// Where a call is in its life. `initiated` and `in_progress` end in `completed` or `failed`;
    /// only `calls::lifecycle` moves a call between them.
    pub enum CallStatus {
        /// Dialled (or a chat opened); no post-call event yet.
        Initiated,
        /// Talking.
        InProgress,
        /// The post-call event arrived: the call happened.
        Completed,
        /// ElevenLabs refused the dial, or the call did not connect.
        Failed,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
