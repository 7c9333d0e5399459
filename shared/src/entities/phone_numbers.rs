//! A phone number of the ElevenLabs workspace an admin brought onto the platform.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "phone_numbers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// E.164.
    #[sea_orm(unique)]
    pub phone_number: String,
    /// The number's id in the ElevenLabs workspace (what outbound calls name).
    #[sea_orm(unique)]
    pub elevenlabs_phone_number_id: String,
    /// `twilio` or `sip_trunk`, as ElevenLabs reports it.
    pub provider: String,
    /// The agent that calls from and answers this number.
    #[sea_orm(unique)]
    pub assigned_agent_id: Option<Uuid>,
    pub is_active: bool,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
