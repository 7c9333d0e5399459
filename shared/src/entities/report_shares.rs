//! A report an admin shared as a link, an email or an embed. The link's token is an HMAC of
//! the id (`AccessTokens::link_token`), not stored.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "report_shares")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub report_id: Uuid,
    pub share_type: ShareType,
    pub access_level: AccessLevel,
    /// Anyone with the link opens it.
    pub is_public: bool,
    /// Not public: the viewer signs in as one of the allowed users or domains.
    pub requires_auth: bool,
    /// Argon2 PHC string of the share's password, when it has one.
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// JSON array of email addresses.
    pub allowed_users: String,
    /// JSON array of domains (`acme.example`).
    pub allowed_domains: String,
    pub email_subject: Option<String>,
    pub email_message: Option<String>,
    pub expires_at: Option<DateTimeUtc>,
    pub access_count: i64,
    pub last_accessed_at: Option<DateTimeUtc>,
    /// Set when revoked; the link then answers 404.
    pub revoked_at: Option<DateTimeUtc>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
}

vocabulary! {
    pub enum ShareType {
        Link,
        Email,
        Embed,
    }
}

vocabulary! {
    /// `view` opens the file in the browser; `download` and `full` send it as an attachment.
    pub enum AccessLevel {
        View,
        Download,
        Full,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
