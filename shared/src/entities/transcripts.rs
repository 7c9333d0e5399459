//! One turn of a conversation, ordered by `seq`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "transcripts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub call_id: Uuid,
    pub seq: i32,
    pub speaker: String,
    #[sea_orm(column_type = "Text")]
    pub text: String,
    pub time_in_call_secs: i32,
    /// The turn's tool calls and their results as ElevenLabs sent them (`{calls, results}`).
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub tool_calls: Option<Json>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
