//! The webhook inbox: a verified delivery, deduplicated on the provider's id.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub provider: String,
    pub event_type: String,
    pub external_id: String,
    pub payload: Vec<u8>,
    pub status: InboxStatus,
    pub error: Option<String>,
    pub user_id: Option<Uuid>,
    pub received_at: DateTimeUtc,
    pub processed_at: Option<DateTimeUtc>,
}

vocabulary! {
    /// Where a stored webhook delivery stands.
    pub enum InboxStatus {
        /// Stored; its job applies it.
        Received,
        /// Applied.
        Processed,
        /// Verified, but names nothing of ours (an unknown purchase or agent): kept for admins.
        Unroutable,
        /// An event type we do not act on.
        Ignored,
        /// Unreadable, or its job gave up: an admin may replay it once.
        Failed,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
