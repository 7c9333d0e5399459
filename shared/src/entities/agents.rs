//! A user's voice or chat agent; ElevenLabs holds its full configuration.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "agents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub elevenlabs_agent_id: Option<String>,
    pub kind: super::calls::Channel,
    pub status: AgentStatus,
    pub name: String,
    pub description: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub config: Json,
    pub sync_state: SyncState,
    pub sync_error: Option<String>,
    pub phone_number_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Whether an agent can take calls.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    poem_openapi::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum AgentStatus {
    Draft,
    Active,
}

/// How the agent's ElevenLabs copy stands against ours.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    poem_openapi::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum SyncState {
    /// ElevenLabs has our latest version.
    Synced,
    /// A change waits for ElevenLabs (its `agent_sync` job retries).
    Pending,
    /// Deleted here; the ElevenLabs copy is still to be deleted.
    Deleting,
    /// ElevenLabs refused the change for good.
    Failed,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
