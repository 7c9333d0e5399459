//! An ElevenLabs API key an admin manages in Configuration, sealed at rest.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "provider_api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `elevenlabs`.
    pub provider: String,
    pub name: String,
    /// AES-256-GCM under `CONFIG_ENCRYPTION_KEY`, like the settings' secrets.
    #[serde(skip)]
    pub sealed_key: String,
    /// The key's first characters and last four, to tell keys apart.
    pub key_hint: String,
    /// The platform's key: what every account without its own key uses.
    pub is_default: bool,
    pub status: KeyStatus,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

vocabulary! {
    /// Whether a key is used.
    pub enum KeyStatus {
        Active,
        Inactive,
        /// ElevenLabs refused it.
        Error,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
