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

vocabulary! {
    /// Whether an agent can take calls.
    pub enum AgentStatus {
        Draft,
        Active,
    }
}

vocabulary! {
    /// How the agent's ElevenLabs copy stands against ours.
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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
