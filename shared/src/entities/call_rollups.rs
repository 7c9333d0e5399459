//! Hourly counters of a user's finished calls per agent, kept in step with `calls` and
//! `lead_analytics` by the post-call job (see `dashboard::rollups`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Default, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "call_rollups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// The hour (UTC) the calls were created in.
    #[sea_orm(primary_key, auto_increment = false)]
    pub hour: DateTimeUtc,
    /// Nil for calls without an agent.
    #[sea_orm(primary_key, auto_increment = false)]
    pub agent_id: Uuid,
    pub calls: i64,
    pub connected: i64,
    pub successful: i64,
    pub failed: i64,
    pub inbound: i64,
    pub outbound: i64,
    pub duration_secs: i64,
    pub credits: i64,
    pub scored: i64,
    pub score_sum: i64,
    pub hot: i64,
    pub warm: i64,
    pub cold: i64,
    pub other_tag: i64,
    pub score0: i64,
    pub score1: i64,
    pub score2: i64,
    pub score3: i64,
    pub score4: i64,
    pub cta_pricing: i64,
    pub cta_demo: i64,
    pub cta_followup: i64,
    pub cta_sample: i64,
    pub cta_escalated: i64,
    /// Finished conversations without a lead score (the column keeps its first name).
    pub derived: i64,
    /// Conversations from the web widget (the rest came over the phone), and their share of
    /// the figures above: the call analytics' source breakdown.
    pub web_calls: i64,
    pub web_connected: i64,
    pub web_successful: i64,
    pub web_duration_secs: i64,
    pub web_credits: i64,
    pub web_scored: i64,
    pub web_hot: i64,
    pub web_demos: i64,
    /// Conversations in which the caller booked a demo.
    pub demos: i64,
    /// Scored conversations by thirds of intent (0–33, 34–66, 67–100) and budget score: the
    /// intent-versus-budget chart.
    pub intent0_budget0: i64,
    pub intent0_budget1: i64,
    pub intent0_budget2: i64,
    pub intent1_budget0: i64,
    pub intent1_budget1: i64,
    pub intent1_budget2: i64,
    pub intent2_budget0: i64,
    pub intent2_budget1: i64,
    pub intent2_budget2: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
