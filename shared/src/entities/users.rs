//! User account; `credits` is the balance the ledger keeps.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub email: String,
    pub external_id: Option<String>,
    pub auth_provider: String,
    pub password_hash: Option<String>,
    pub name: Option<String>,
    pub company: Option<String>,
    pub phone: Option<String>,
    pub timezone: String,
    pub default_region: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub settings: Json,
    pub role: Role,
    pub status: UserStatus,
    pub suspended_reason: Option<String>,
    pub email_verified_at: Option<DateTimeUtc>,
    pub failed_logins: i32,
    pub locked_until: Option<DateTimeUtc>,
    pub credits: i64,
    pub last_seen_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub session_epoch: i32,
    pub website: Option<String>,
    pub location: Option<String>,
    pub bio: Option<String>,
    /// The Google account (`sub`) this user signs in with, once linked.
    pub google_subject: Option<String>,
    /// The plan an admin put the account on.
    pub subscription_tier: SubscriptionTier,
    /// Calls in flight this account may have; `None`: the platform's limit.
    pub concurrent_calls_limit: Option<i32>,
}

vocabulary! {
    /// What an account may do.
    pub enum Role {
        User,
        Admin,
        /// An admin who also manages admins.
        SuperAdmin,
    }
}

vocabulary! {
    /// Whether an account may sign in.
    pub enum UserStatus {
        Active,
        Suspended,
    }
}

vocabulary! {
    /// The plan an account is on (set by an admin; the Users screen's editor offers these).
    pub enum SubscriptionTier {
        Free,
        Basic,
        Pro,
        Enterprise,
    }
}

impl Role {
    /// Whether the role opens the admin area.
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Admin | Role::SuperAdmin)
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
