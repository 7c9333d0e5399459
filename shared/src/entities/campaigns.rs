//! A campaign: one of the user's call agents calling a list of numbers (`campaign_targets`)
//! inside a daily window between a start and an optional end date.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub agent_id: Uuid,
    pub name: String,
    pub status: CampaignStatus,
    /// Why a paused campaign is paused.
    pub pause_reason: Option<PauseReason>,
    /// Higher first when campaigns compete for the account's slots.
    pub priority: i32,
    pub max_concurrent_calls: i32,
    /// The daily window in each recipient's local time, `HH:MM`: dials start at or after the
    /// first and not at or after the last.
    pub first_call_time: String,
    pub last_call_time: String,
    pub start_date: Date,
    /// The last day dials are made (inclusive), in the recipient's local time.
    pub end_date: Option<Date>,
    /// The account's zone when the campaign was made: used for numbers whose zone is unknown.
    pub timezone: String,
    /// What the screen's "Next Action" picked (kept; a campaign always calls).
    pub next_action: String,
    pub max_attempts: i32,
    pub retry_delay_secs: i32,
    pub total_contacts: i32,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

vocabulary! {
    /// Where a campaign stands (the screen's words).
    pub enum CampaignStatus {
        /// Made, not started.
        Pending,
        Active,
        Paused,
        /// Every target reached an end.
        Completed,
        Cancelled,
    }
}

vocabulary! {
    /// Why a campaign paused.
    pub enum PauseReason {
        /// Its owner paused it.
        ByUser,
        /// The balance could not pay for another call.
        LowCredits,
        /// Its agent can no longer call (deactivated, or without a phone number).
        AgentUnavailable,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
