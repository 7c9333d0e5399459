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
    #[sea_orm(column_type = "JsonBinary")]
    pub data_collection: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
