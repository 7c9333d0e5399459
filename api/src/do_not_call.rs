//! The account's do-not-call list (no screen of the client's reads it yet): numbers no campaign
//! dials, added by hand or when a contact opts out after a call.

use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use shared::{Services, campaigns::dnc, entities::dnc_numbers, platform::db::Window};
use uuid::Uuid;

use crate::{api_errors, pagination::Pagination, security::Auth, tags::Tag, wire::Timestamp};

/// A number on the list.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct DoNotCallNumber {
    /// E.164.
    pub phone_number: String,
    pub reason: Option<String>,
    pub created_at: Timestamp,
}

impl From<dnc_numbers::Model> for DoNotCallNumber {
    fn from(n: dnc_numbers::Model) -> Self {
        Self {
            phone_number: n.phone_e164,
            reason: n.reason,
            created_at: Timestamp(n.created_at),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct DoNotCallList {
    pub success: bool,
    /// Newest first.
    pub numbers: Vec<DoNotCallNumber>,
    pub total: u64,
    pub pagination: Pagination,
}

/// What to list.
#[derive(Debug, Object)]
#[oai(example)]
pub struct BlockNumber {
    /// As typed: with a country code, or read with the account's default region.
    #[oai(validator(max_length = 40))]
    pub phone_number: String,
    #[oai(validator(max_length = 500))]
    pub reason: Option<String>,
}

/// Why a contact opts out.
#[derive(Debug, Object)]
#[oai(example)]
pub struct OptOut {
    #[oai(validator(max_length = 500))]
    pub reason: Option<String>,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct DoNotCallEnvelope {
    pub success: bool,
    pub number: DoNotCallNumber,
    /// The contact marked do-not-call (an opt-out after a call of a known contact).
    pub contact_id: Option<Uuid>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct DoNotCallRemoved {
    pub success: bool,
    pub message: String,
}

#[derive(ApiResponse)]
pub enum Listed {
    /// On the list (already there is fine: the first reason stays).
    #[oai(status = 201)]
    Created(Json<DoNotCallEnvelope>),
}

api_errors!(DoNotCallErrors {
    400 => BadRequest: "Malformed body, or a number that is not a phone number (`validation_error`, `details.phone_number`).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    404 => NotFound: "No such call of this user, or the number is not on the list (`call_not_found`, `do_not_call_number_not_found`).",
    409 => Conflict: "The call has no phone number (`call_has_no_number`).",
});

fn default_limit() -> u64 {
    100
}

pub struct DoNotCallApi {
    pub services: Services,
}

#[OpenApi(tag = "Tag::Campaigns")]
impl DoNotCallApi {
    /// List do-not-call numbers
    ///
    /// The account's do-not-call list, newest first.
    #[oai(path = "/api/do-not-call", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "500"))
        )]
        limit: Query<u64>,
        #[oai(default, validator(maximum(value = "10000000")))] offset: Query<u64>,
    ) -> Result<Json<DoNotCallList>, DoNotCallErrors> {
        let me = auth.user(&self.services).await?;
        let window = Window {
            offset: offset.0,
            limit: limit.0,
        };
        let (rows, total) = dnc::list(&self.services.db, me.id, window).await?;
        Ok(Json(DoNotCallList {
            success: true,
            numbers: rows.into_iter().map(Into::into).collect(),
            total,
            pagination: Pagination::new(total, window.limit, window.offset),
        }))
    }

    /// Add a do-not-call number
    ///
    /// No campaign of the account dials the number from now on: its queued dials end as
    /// do-not-call at once (a call in flight finishes).
    #[oai(path = "/api/do-not-call", method = "post")]
    async fn add(&self, auth: Auth, body: Json<BlockNumber>) -> Result<Listed, DoNotCallErrors> {
        let me = auth.user(&self.services).await?;
        let b = body.0;
        let row = dnc::block_typed(&self.services.db, &me, &b.phone_number, b.reason).await?;
        Ok(Listed::Created(Json(DoNotCallEnvelope {
            success: true,
            number: row.into(),
            contact_id: None,
        })))
    }

    /// Remove a do-not-call number
    ///
    /// Campaigns made or resumed later may dial the number again (numbers already ended stay
    /// ended). The number is URL-encoded (`%2B` for `+`).
    #[oai(path = "/api/do-not-call/:phone_number", method = "delete")]
    async fn remove(
        &self,
        auth: Auth,
        phone_number: Path<String>,
    ) -> Result<Json<DoNotCallRemoved>, DoNotCallErrors> {
        let me = auth.user(&self.services).await?;
        dnc::unblock(&self.services.db, &me, &phone_number.0).await?;
        Ok(Json(DoNotCallRemoved {
            success: true,
            message: "Number removed from the do-not-call list".into(),
        }))
    }

    /// Opt out after a call
    ///
    /// The call's contact asked not to be called again: the contact is marked do-not-call and
    /// the call's number joins the list, so no campaign dials it. Another user's call is 404.
    #[oai(path = "/api/calls/:id/do-not-call", method = "post")]
    async fn opt_out(
        &self,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<OptOut>,
    ) -> Result<Listed, DoNotCallErrors> {
        let me = auth.user(&self.services).await?;
        let (row, contact) =
            dnc::opt_out_after(&self.services.db, &me, id.0, body.0.reason).await?;
        Ok(Listed::Created(Json(DoNotCallEnvelope {
            success: true,
            number: row.into(),
            contact_id: contact,
        })))
    }
}
