//! A dated task on a lead: a follow-up call or a demo, pending until done or cancelled.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "lead_tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// The lead's contact, when the lead has one (a web visitor may not).
    pub contact_id: Option<Uuid>,
    pub kind: TaskKind,
    pub due_at: DateTimeUtc,
    pub remark: Option<String>,
    pub status: TaskStatus,
    /// Who the lead is, as the screen named them.
    pub lead_name: Option<String>,
    pub lead_phone: Option<String>,
    pub lead_email: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

vocabulary! {
    /// What a lead task is.
    pub enum TaskKind {
        FollowUp,
        Demo,
    }
}

vocabulary! {
    /// Where a lead task stands.
    pub enum TaskStatus {
        Pending,
        Completed,
        Cancelled,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
