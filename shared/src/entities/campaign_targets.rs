//! A number a campaign calls: its state, attempts so far and when it is next due.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "campaign_targets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub user_id: Uuid,
    /// The contact it was made from (none once the contact is deleted).
    pub contact_id: Option<Uuid>,
    pub phone_e164: String,
    /// The recipient's zone: the number's when it determines one, else the account's.
    pub timezone: String,
    pub state: TargetState,
    pub outcome: Option<TargetOutcome>,
    pub attempts: i32,
    /// When it may be dialled next (the window's next opening, or a retry's delay); none
    /// once it has reached an end.
    pub next_attempt_at: Option<DateTimeUtc>,
    pub last_call_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

vocabulary! {
    /// Where a target stands.
    pub enum TargetState {
        /// Waiting to be dialled (now or at `next_attempt_at`).
        Queued,
        /// An attempt is claimed or its call is in flight.
        Dialing,
        /// Reached an end: see `outcome`.
        Done,
    }
}

vocabulary! {
    /// How a target (or one attempt) ended.
    pub enum TargetOutcome {
        /// The call connected and finished.
        Completed,
        Busy,
        NoAnswer,
        /// The call did not connect (refused, failed, or never placed).
        Failed,
        /// Its number is on the do-not-call list, or its contact opted out.
        DoNotCall,
        /// The campaign was cancelled or ended before it was dialled.
        NotCalled,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
