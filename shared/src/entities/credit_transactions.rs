//! One append-only ledger entry; `reference` is unique so a retry is a no-op.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "credit_transactions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: TxKind,
    pub amount: i64,
    pub balance_after: i64,
    pub reference: String,
    pub description: Option<String>,
    pub stripe_payment_id: Option<String>,
    pub actor_id: Option<Uuid>,
    pub call_id: Option<Uuid>,
    pub purchase_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

vocabulary! {
    /// The kinds the frontend shows.
    pub enum TxKind {
        Bonus,
        Purchase,
        Usage,
        Refund,
        AdminAdjustment,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
