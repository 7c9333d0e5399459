//! The embedded mode's live event log: gateways follow it by id (Redis pub/sub otherwise).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "live_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: Uuid,
    pub kind: LiveKind,
    #[sea_orm(column_type = "JsonBinary")]
    pub data: Json,
    pub created_at: DateTimeUtc,
}

vocabulary! {
    /// What happened, as the stream's SSE `event:` name.
    pub enum LiveKind {
        CallCompleted,
        CallFailed,
        LeadScored,
        CreditsChanged,
        ImportProgress,
        Notification,
        /// First on every stream: the subscription is live.
        Ready,
        /// This connection fell behind and lost events: refetch.
        Resync,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
