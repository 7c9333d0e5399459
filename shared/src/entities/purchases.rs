//! A credit purchase through a Stripe Checkout Session.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "purchases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub credits: i64,
    pub amount_cents: i64,
    pub currency: String,
    pub status: PurchaseStatus,
    pub stripe_checkout_session_id: Option<String>,
    pub stripe_payment_intent_id: Option<String>,
    pub stripe_charge_id: Option<String>,
    pub checkout_url: Option<String>,
    pub receipt_url: Option<String>,
    pub refunded_credits: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub paid_at: Option<DateTimeUtc>,
}

vocabulary! {
    /// Where a credit purchase stands with Stripe.
    pub enum PurchaseStatus {
        /// Checkout opened, not paid.
        Pending,
        /// Paid: its credits are in the ledger.
        Paid,
        Failed,
        /// The checkout session expired unpaid.
        Expired,
        /// Refunded: its credits left the ledger.
        Refunded,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
