//! An in-app notification for one user, unread until `read_at` is set.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: NotificationKind,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub data: Json,
    pub read_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

vocabulary! {
    /// What an in-app notification is about.
    pub enum NotificationKind {
        LowBalance,
        CallIncomplete,
        CallFailed,
        CreditsPurchased,
        /// The agent's note on a lead after a conversation (`smartnotification`).
        LeadNote,
        /// A campaign paused itself (the balance ran out, or its agent cannot call).
        CampaignPaused,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
