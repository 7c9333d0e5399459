//! Admin > Phone numbers (`/api/admin/phone-numbers`): the ElevenLabs workspace's numbers on
//! the platform, in the screen's snake_case rows, and their assignment to agents.

use poem::Request;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use shared::{
    AppError, AppResult,
    admin::phone_numbers::{self as service, NumberQuery, NumberView},
};
use uuid::Uuid;

use crate::{
    admin::AdminAuth,
    api_errors,
    pagination::{default_page, total_pages},
    tags::Tag,
    wire::Timestamp,
};

/// A number as the screen reads it (`assigned_to_agent_id` is null when free).
#[derive(Debug, Object)]
#[oai(example)]
pub struct PhoneNumberRow {
    pub id: Uuid,
    pub name: String,
    /// E.164.
    pub phone_number: String,
    pub assigned_to_agent_id: Option<Uuid>,
    pub created_by_admin_id: Uuid,
    pub is_active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The number's id in the ElevenLabs workspace.
    pub elevenlabs_phone_number_id: String,
    /// `twilio` or `sip_trunk`.
    pub provider: String,
    pub agent_name: Option<String>,
    /// `call` or `chat`.
    pub agent_type: Option<String>,
    pub agent_is_active: Option<bool>,
    pub user_name: Option<String>,
    pub user_email: Option<String>,
    pub created_by_admin_name: Option<String>,
    pub created_by_admin_email: Option<String>,
}

impl From<NumberView> for PhoneNumberRow {
    fn from(v: NumberView) -> Self {
        let n = v.number;
        Self {
            id: n.id,
            name: n.name,
            phone_number: n.phone_number,
            assigned_to_agent_id: n.assigned_agent_id,
            created_by_admin_id: n.created_by,
            is_active: n.is_active,
            created_at: n.created_at.into(),
            updated_at: n.updated_at.into(),
            elevenlabs_phone_number_id: n.elevenlabs_phone_number_id,
            provider: n.provider,
            agent_name: v.agent.as_ref().map(|a| a.name.clone()),
            agent_type: v.agent.as_ref().map(|a| a.kind.to_string()),
            agent_is_active: v
                .agent
                .as_ref()
                .map(|a| a.status == shared::agents::AgentStatus::Active),
            user_name: v.owner.as_ref().and_then(|u| u.name.clone()),
            user_email: v.owner.map(|u| u.email),
            created_by_admin_name: v.created_by.as_ref().and_then(|u| u.name.clone()),
            created_by_admin_email: v.created_by.map(|u| u.email),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct PhoneNumberPagination {
    pub page: u64,
    pub limit: u64,
    pub total: u64,
    pub total_pages: u64,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct PhoneNumberListEnvelope {
    pub success: bool,
    pub data: Vec<PhoneNumberRow>,
    pub pagination: PhoneNumberPagination,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct PhoneNumberEnvelope {
    pub success: bool,
    pub data: PhoneNumberRow,
    pub message: String,
}

/// The add dialog.
#[derive(Debug, Object)]
#[oai(example)]
pub struct PhoneNumberForm {
    #[oai(validator(max_length = 100))]
    pub name: String,
    /// E.164, one of the ElevenLabs workspace's numbers.
    #[oai(validator(max_length = 30))]
    pub phone_number: String,
    /// An agent to assign it to at once (null: none).
    #[oai(validator(max_length = 40))]
    pub assigned_to_agent_id: Option<String>,
}

/// The edit dialog.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct PhoneNumberChange {
    #[oai(validator(max_length = 100))]
    pub name: Option<String>,
    #[oai(validator(max_length = 30))]
    pub phone_number: Option<String>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct PhoneNumberAssignment {
    pub agent_id: Uuid,
}

#[derive(ApiResponse)]
pub enum PhoneNumberCreated {
    #[oai(status = 201)]
    Created(Json<PhoneNumberEnvelope>),
}

api_errors!(PhoneNumberErrors {
    400 => BadRequest: "Malformed path, query or body (`invalid_parameter`, `malformed_json`), or an invalid field (`validation_error`; `details.phone_number` when the number is not E.164 or not one of the ElevenLabs workspace's).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "Not an admin (`admin_required`), or the account is suspended.",
    404 => NotFound: "No such number (`phone_number_not_found`) or agent (`agent_not_found`).",
    409 => Conflict: "The number is on the platform already (`phone_number_taken`), is switched off (`phone_number_inactive`), or the agent is not on ElevenLabs yet (`agent_not_synced`).",
    429 => RateLimited: "ElevenLabs is rate limiting (`provider_rate_limited`); retry after `Retry-After`.",
    502 => Provider: "ElevenLabs refused or failed (`provider_error`).",
    503 => NotConfigured: "ElevenLabs is not configured (`provider_not_configured`).",
});

/// `assigned`/`active` and their opposites as the screen sends them, or `true`/`false`.
fn either(field: &str, value: Option<&str>, yes: &str, no: &str) -> AppResult<Option<bool>> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("all") => Ok(None),
        Some(v) if v == yes || v == "true" => Ok(Some(true)),
        Some(v) if v == no || v == "false" => Ok(Some(false)),
        Some(_) => Err(AppError::validation(
            field,
            format!("must be `{yes}`, `{no}`, `true` or `false`"),
        )),
    }
}

fn envelope(v: NumberView, message: &str) -> PhoneNumberEnvelope {
    PhoneNumberEnvelope {
        success: true,
        data: v.into(),
        message: message.into(),
    }
}

pub struct AdminPhoneNumbersApi {
    pub services: shared::Services,
}

#[OpenApi(prefix_path = "/api/admin", tag = "Tag::Admin")]
impl AdminPhoneNumbersApi {
    /// List the phone numbers
    ///
    /// Newest first, with each number's agent, the agent's owner and the admin who added it.
    /// `search` (name or number), `is_active` (`active`/`inactive`), `assigned_to`
    /// (`assigned`/`unassigned`), `created_by` (an admin's id); `limit` ≤ 100.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/phone-numbers", method = "get")]
    async fn list(
        &self,
        auth: AdminAuth,
        req: &Request,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        page: Query<u64>,
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<u64>,
        #[oai(validator(max_length = 100))] search: Query<Option<String>>,
        #[oai(validator(max_length = 20))] is_active: Query<Option<String>>,
        #[oai(validator(max_length = 20))] assigned_to: Query<Option<String>>,
        created_by: Query<Option<Uuid>>,
    ) -> Result<Json<PhoneNumberListEnvelope>, PhoneNumberErrors> {
        auth.admin(&self.services, req).await?;
        let q = NumberQuery {
            search: search.0,
            active: either("is_active", is_active.0.as_deref(), "active", "inactive")?,
            assigned: either(
                "assigned_to",
                assigned_to.0.as_deref(),
                "assigned",
                "unassigned",
            )?,
            created_by: created_by.0,
            page: page.0,
            limit: limit.0,
        };
        let (rows, total) = service::list(&self.services, &q).await?;
        Ok(Json(PhoneNumberListEnvelope {
            success: true,
            data: rows.into_iter().map(Into::into).collect(),
            pagination: PhoneNumberPagination {
                page: page.0,
                limit: limit.0,
                total,
                total_pages: total_pages(total, limit.0),
            },
        }))
    }

    /// Add a phone number
    ///
    /// `phone_number` must be one of the ElevenLabs workspace's numbers (E.164; a missing `+`
    /// is added); `assigned_to_agent_id` assigns it at once. Audited.
    #[oai(path = "/phone-numbers", method = "post")]
    async fn create(
        &self,
        auth: AdminAuth,
        req: &Request,
        body: Json<PhoneNumberForm>,
    ) -> Result<PhoneNumberCreated, PhoneNumberErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let agent = match body.0.assigned_to_agent_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(id) => Some(id.parse::<Uuid>().map_err(|_| {
                AppError::validation("assigned_to_agent_id", "must be an agent id")
            })?),
        };
        let made = service::create(
            &self.services,
            &actor,
            &body.0.name,
            &body.0.phone_number,
            agent,
        )
        .await?;
        Ok(PhoneNumberCreated::Created(Json(envelope(
            made,
            "Phone number added",
        ))))
    }

    /// Change a phone number
    ///
    /// `name`, or `phone_number` (another workspace number: the assigned agent moves to it).
    #[oai(path = "/phone-numbers/:id", method = "put")]
    async fn update(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
        body: Json<PhoneNumberChange>,
    ) -> Result<Json<PhoneNumberEnvelope>, PhoneNumberErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let changed = service::update(
            &self.services,
            &actor,
            id.0,
            body.0.name.as_deref(),
            body.0.phone_number.as_deref(),
        )
        .await?;
        Ok(Json(envelope(changed, "Phone number updated")))
    }

    /// Deactivate a phone number
    ///
    /// The screen's delete: the number is switched off and taken off its agent (nothing calls
    /// from it), and stays listed so it can be activated again.
    #[oai(path = "/phone-numbers/:id", method = "delete")]
    async fn deactivate(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
    ) -> Result<Json<PhoneNumberEnvelope>, PhoneNumberErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let changed = service::set_active(&self.services, &actor, id.0, false).await?;
        Ok(Json(envelope(changed, "Phone number deactivated")))
    }

    /// Assign a phone number to an agent
    ///
    /// The agent (of any account; it must be on ElevenLabs) calls from the number and answers
    /// it; an agent or number assigned before is freed. ElevenLabs is told first.
    #[oai(path = "/phone-numbers/:id/assign", method = "post")]
    async fn assign(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
        body: Json<PhoneNumberAssignment>,
    ) -> Result<Json<PhoneNumberEnvelope>, PhoneNumberErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let changed = service::assign(&self.services, &actor, id.0, body.0.agent_id).await?;
        Ok(Json(envelope(changed, "Phone number assigned")))
    }

    /// Unassign a phone number
    ///
    /// The agent stops calling from the number and ElevenLabs stops routing it to the agent.
    #[oai(path = "/phone-numbers/:id/unassign", method = "post")]
    async fn unassign(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
    ) -> Result<Json<PhoneNumberEnvelope>, PhoneNumberErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let changed = service::unassign(&self.services, &actor, id.0).await?;
        Ok(Json(envelope(changed, "Phone number unassigned")))
    }

    /// Activate a phone number
    ///
    /// Switches a deactivated number back on, unassigned; assign it again to use it.
    #[oai(path = "/phone-numbers/:id/activate", method = "post")]
    async fn activate(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
    ) -> Result<Json<PhoneNumberEnvelope>, PhoneNumberErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let changed = service::set_active(&self.services, &actor, id.0, true).await?;
        Ok(Json(envelope(changed, "Phone number activated")))
    }
}

fn default_limit() -> u64 {
    20
}
