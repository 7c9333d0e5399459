//! The state an admin gave one of the platform's feature flags.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "feature_flags")]
pub struct Model {
    /// The flag's id in `admin::features::FLAGS`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The admin's name and description for it, when changed.
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_enabled: bool,
    pub scope: FlagScope,
    /// JSON array of user ids (scope `user`).
    pub target_users: String,
    /// JSON array of subscription tiers (scope `tier`).
    pub target_tiers: String,
    /// 0–100: the share of the accounts in scope that get it.
    pub rollout_percentage: i32,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTimeUtc,
}

vocabulary! {
    /// Who a flag applies to.
    pub enum FlagScope {
        Global,
        User,
        Tier,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
