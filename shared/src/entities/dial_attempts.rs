//! One dial of a campaign target, claimed (with its call row) before ElevenLabs is asked: the
//! unique (target, attempt number) makes a second claim of the same attempt fail.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use super::campaign_targets::TargetOutcome;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "dial_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub target_id: Uuid,
    pub campaign_id: Uuid,
    pub user_id: Uuid,
    pub attempt_no: i32,
    pub call_id: Uuid,
    pub state: AttemptState,
    pub conversation_id: Option<String>,
    pub outcome: Option<TargetOutcome>,
    pub claimed_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

vocabulary! {
    /// Where a dial stands.
    pub enum AttemptState {
        /// Claimed; ElevenLabs may or may not have been asked yet (a crash here is resolved by
        /// looking the attempt up on ElevenLabs, never by dialling again).
        Claimed,
        /// ElevenLabs placed the call: its conversation id is known.
        Placed,
        /// Finished: see `outcome`.
        Ended,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
