//! The lead score of one conversation.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "lead_analytics")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub call_id: Uuid,
    pub user_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub intent_level: Option<String>,
    pub intent_score: i32,
    pub urgency_level: Option<String>,
    pub urgency_score: i32,
    pub budget_constraint: Option<String>,
    pub budget_score: i32,
    pub fit_alignment: Option<String>,
    pub fit_score: i32,
    pub engagement_health: Option<String>,
    pub engagement_score: i32,
    pub total_score: i32,
    pub lead_status_tag: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub reasoning: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub cta_interactions: Json,
    /// What was collected, verbatim (`value`), with how it was read.
    #[sea_orm(column_type = "JsonBinary")]
    pub data_collection: Json,
    /// Whether the scores above were read from what the agent collected.
    pub score_status: ScoreStatus,
    /// The demo the caller booked (`demo_book_datetime`).
    pub demo_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

vocabulary! {
    /// Whether a conversation has a lead score; without one its scores are 0 and its tag
    /// `Unscored`, and no figure counts it.
    pub enum ScoreStatus {
        /// Read from what the agent collected.
        Scored,
        /// The agent collected a value that could not be read (kept verbatim).
        Unreadable,
        /// The agent collected no analytics.
        NotCollected,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl Model {
    /// Whether the caller took the call-to-action `cta` (`pricing_clicked`, `demo_clicked`, …):
    /// the parser stores each as a JSON boolean.
    pub fn clicked(&self, cta: &str) -> bool {
        self.cta_interactions.get(cta) == Some(&serde_json::Value::Bool(true))
    }
}

impl ActiveModelBehavior for ActiveModel {}
