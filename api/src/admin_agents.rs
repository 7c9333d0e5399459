//! `/api/admin/agents`: every tenant's agents, and how agents reach users in the client's
//! frontend, whose own create form cannot submit: an admin registers an agent that exists on
//! ElevenLabs for a user, or moves one to another user. (One API owns the path: poem-openapi
//! would write `/api/admin/agents` twice into the document for two.)

use poem::Request;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use shared::{
    Services,
    admin::agents as service,
    admin::users::AgentFilter,
    agents::{AgentStatus, Channel, SyncState},
};
use uuid::Uuid;

use crate::{
    admin::{AdminAgent, AdminAuth, AdminErrors},
    agents::AgentEnvelope,
    api_errors,
    pagination::{Page, default_page, default_per_page},
    tags::Tag,
};

/// The admin's "Register existing agent" form.
#[derive(Debug, Object)]
#[oai(example)]
pub struct AgentRegistration {
    /// The agent's id on ElevenLabs (the form's field keeps its earlier provider's name);
    /// required.
    #[oai(validator(max_length = 100))]
    pub bolna_agent_id: Option<String>,
    /// Defaults to the name ElevenLabs has.
    #[oai(validator(max_length = 100))]
    pub name: Option<String>,
    #[oai(validator(max_length = 2000))]
    pub description: Option<String>,
    /// `call` or `chat`; defaults to what ElevenLabs says (text-only agents are chat agents).
    pub agent_type: Option<Channel>,
    /// Default true.
    pub is_active: Option<bool>,
    /// The user who gets the agent; the admin when absent.
    #[oai(rename = "assignToUserId")]
    pub assign_to_user_id: Option<Uuid>,
}

#[derive(Debug, ApiResponse)]
pub enum Registered {
    /// Found on ElevenLabs and registered for the user.
    #[oai(status = 201)]
    Created(Json<AgentEnvelope>),
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct Assignment {
    /// The user who gets the agent.
    #[oai(rename = "userId")]
    pub user_id: Option<Uuid>,
}

#[derive(Debug, Object)]
pub struct Assigned {
    pub assigned: bool,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct AssignedEnvelope {
    pub success: bool,
    pub data: Assigned,
}

api_errors!(RegistrationErrors {
    400 => BadRequest: "An invalid field (`validation_error`; `details` names it, e.g. an agent id ElevenLabs does not know), or a malformed body (`malformed_json`).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `session_revoked`, …).",
    403 => Forbidden: "Not an admin (`admin_required`), or the account is suspended.",
    404 => NotFound: "No such user (`user_not_found`) or agent (`agent_not_found`).",
    409 => Conflict: "The ElevenLabs agent is already registered (`agent_already_registered`).",
    429 => RateLimited: "ElevenLabs is rate limiting (`provider_rate_limited`).",
    502 => Provider: "ElevenLabs refused or failed (`provider_error`, `provider_unavailable`).",
    503 => NotConfigured: "ElevenLabs is not configured (`provider_not_configured`).",
});

pub struct AdminAgentsApi {
    pub services: Services,
}

#[OpenApi(prefix_path = "/api/admin", tag = "Tag::Admin")]
impl AdminAgentsApi {
    /// Every tenant's agents
    ///
    /// Newest first, with the owner's email; by `owner_id`, `type`, `status`, `sync_state`.
    #[oai(path = "/agents", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn agents(
        &self,
        auth: AdminAuth,
        req: &Request,
        owner_id: Query<Option<Uuid>>,
        #[oai(name = "type")] kind: Query<Option<Channel>>,
        status: Query<Option<AgentStatus>>,
        sync_state: Query<Option<SyncState>>,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        page: Query<u64>,
        #[oai(
            default = "default_per_page",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        per_page: Query<u64>,
    ) -> Result<Json<Page<AdminAgent>>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let filter = AgentFilter {
            owner_id: owner_id.0,
            kind: kind.0,
            status: status.0,
            sync_state: sync_state.0,
        };
        let (rows, total) =
            shared::admin::users::agents(&self.services.db, &filter, page.0, per_page.0).await?;
        let rows: Vec<AdminAgent> = rows
            .into_iter()
            .map(|(agent, owner_email)| AdminAgent {
                agent: agent.into(),
                owner_email,
            })
            .collect();
        Ok(Json(Page::of(rows, page.0, per_page.0, total)))
    }

    /// Register an existing ElevenLabs agent
    ///
    /// Asks ElevenLabs for the agent (it must exist there), keeps its live name and
    /// configuration, and gives it to `assignToUserId` (the admin when absent). Recorded in the
    /// audit log.
    #[oai(path = "/agents", method = "post")]
    async fn register(
        &self,
        auth: AdminAuth,
        req: &Request,
        body: Json<AgentRegistration>,
    ) -> Result<Registered, RegistrationErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let b = body.0;
        // Checked after the admin check, so a non-admin learns nothing from the body.
        let elevenlabs_agent_id = b.bolna_agent_id.ok_or_else(|| {
            shared::AppError::validation("bolna_agent_id", "is required: the ElevenLabs agent id")
        })?;
        let agent = service::register(
            &self.services,
            &actor,
            service::Registration {
                elevenlabs_agent_id,
                name: b.name,
                description: b.description,
                kind: b.agent_type,
                active: b.is_active.unwrap_or(true),
                owner: b.assign_to_user_id,
            },
        )
        .await?;
        Ok(Registered::Created(
            AgentEnvelope::read(&self.services, agent).await?,
        ))
    }

    /// Assign an agent to a user
    ///
    /// Moves the agent to `userId`, whoever owns it now; the calls it already made stay with
    /// the user who made them. Recorded in the audit log.
    #[oai(path = "/agents/:id/assign", method = "post")]
    async fn assign(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
        body: Json<Assignment>,
    ) -> Result<Json<AssignedEnvelope>, RegistrationErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let user_id = body.0.user_id.ok_or_else(|| {
            shared::AppError::validation("userId", "is required: the user who gets the agent")
        })?;
        service::assign(&self.services, &actor, id.0, user_id).await?;
        Ok(Json(AssignedEnvelope {
            success: true,
            data: Assigned { assigned: true },
        }))
    }
}
