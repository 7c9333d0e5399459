//! A person a user's agents call or are called by; one per normalised phone per user.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub phone_e164: String,
    pub phone_raw: String,
    pub email: Option<String>,
    pub company: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub tags: Json,
    pub notes: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub custom_fields: Json,
    pub do_not_call: bool,
    pub last_call_summary: Option<String>,
    pub last_interaction_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Finished calls and chats with this contact (kept by the post-call job).
    pub interaction_count: i32,
    pub call_count: i32,
    pub chat_count: i32,
    /// The lead score of the latest finished conversation, denormalised for the lead list.
    pub latest_lead_id: Option<Uuid>,
    pub latest_score: Option<i32>,
    pub latest_tag: Option<String>,
    pub origin: ContactOrigin,
}

vocabulary! {
    /// Where a contact came from.
    pub enum ContactOrigin {
        /// Typed in on the Contacts screen or sent to the API.
        Manual,
        /// A row of a spreadsheet upload.
        Import,
        /// Created by a call with a number the account did not know.
        Call,
        /// Created by a chat whose visitor left a number the account did not know.
        Chat,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
