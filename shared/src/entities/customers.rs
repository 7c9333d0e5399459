//! A contact converted from a lead: its own status, notes and the rep who looks after it.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub contact_id: Uuid,
    /// `CUST-<year>-<n>`, unique in the account, what people quote on the phone.
    pub reference: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub status: CustomerStatus,
    pub notes: Option<String>,
    pub assigned_sales_rep: Option<String>,
    pub original_lead_source: Option<String>,
    pub converted_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

vocabulary! {
    /// Where a customer stands.
    pub enum CustomerStatus {
        Active,
        Inactive,
        Churned,
        OnHold,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
