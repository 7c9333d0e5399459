//! The admin area (`/api/admin/*`). Every endpoint takes `AdminAuth`, the one guard that
//! admits only admins (403 `admin_required` for anyone else) and names the request for the
//! audit log; a test walks the OpenAPI document to hold every admin path to it.

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::{
    Object, OpenApi, SecurityScheme,
    param::{Path, Query},
    payload::Json,
};
use shared::entities::{background_jobs::JobKind, webhook_events::InboxStatus};
use shared::{
    AppError, AppResult, Services,
    accounts::audit::Actor,
    admin::inbox,
    admin::users as service,
    agents::{AgentStatus, Channel, SyncState},
    entities::{agents, webhook_events},
};
use uuid::Uuid;

use crate::{
    agents::{AgentRequest, Updated},
    api_errors,
    middleware::RequestIdValue,
    pagination::{Page, default_page, default_per_page},
    security::{BearerToken, StackToken},
    tags::Tag,
};

/// The caller's credential, admitted only for admins.
#[derive(SecurityScheme)]
pub enum AdminAuth {
    Stack(StackToken),
    Bearer(BearerToken),
}

impl AdminAuth {
    /// The admin, with where the request came from; anyone else is refused.
    pub async fn admin(self, services: &Services, req: &Request) -> AppResult<Actor> {
        self.with_role(services, req, false).await
    }

    /// A super admin (what Configuration needs); admins and users are refused.
    pub async fn super_admin(self, services: &Services, req: &Request) -> AppResult<Actor> {
        self.with_role(services, req, true).await
    }

    async fn with_role(self, services: &Services, req: &Request, sup: bool) -> AppResult<Actor> {
        let auth = match self {
            AdminAuth::Stack(t) => crate::security::Auth::Stack(t),
            AdminAuth::Bearer(t) => crate::security::Auth::Bearer(t),
        };
        let user = auth.user(services).await?;
        if !user.is_admin() {
            return Err(AppError::forbidden(
                "admin_required",
                "this needs an admin account",
            ));
        }
        if sup && user.role != shared::accounts::users::Role::SuperAdmin {
            return Err(AppError::forbidden(
                "super_admin_required",
                "this needs a super admin account",
            ));
        }
        Ok(Actor {
            id: user.id,
            ip: crate::rate_limit::client_ip(req).map(|ip| ip.to_string()),
            request_id: req
                .extensions()
                .get::<RequestIdValue>()
                .map(|r| r.0.clone()),
        })
    }
}

/// A stored provider webhook.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct WebhookEvent {
    pub id: Uuid,
    /// `stripe` or `elevenlabs`.
    pub provider: String,
    pub event_type: String,
    /// The provider's id (the deduplication key).
    pub external_id: String,
    pub status: InboxStatus,
    pub error: Option<String>,
    pub user_id: Option<Uuid>,
    pub payload_bytes: u64,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

impl From<&webhook_events::Model> for WebhookEvent {
    fn from(e: &webhook_events::Model) -> Self {
        Self {
            id: e.id,
            provider: e.provider.clone(),
            event_type: e.event_type.clone(),
            external_id: e.external_id.clone(),
            status: e.status,
            error: e.error.clone(),
            user_id: e.user_id,
            payload_bytes: e.payload.len() as u64,
            received_at: e.received_at,
            processed_at: e.processed_at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct QueueHealth {
    pub kind: JobKind,
    pub queued: i64,
    pub running: i64,
    /// Jobs that gave up after their attempts (see `background_jobs.last_error`).
    pub failed: i64,
    pub oldest_pending_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct InboxCount {
    pub provider: String,
    pub status: InboxStatus,
    pub count: i64,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LastWebhook {
    pub provider: String,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct SystemHealth {
    /// `ok`, or why the database did not answer.
    pub database: String,
    /// `ok`, or why the queue (Redis) did not answer.
    pub queue: String,
    pub queues: Vec<QueueHealth>,
    /// Stored webhooks by provider and status.
    pub webhooks: Vec<InboxCount>,
    pub last_webhooks: Vec<LastWebhook>,
}

/// An agent as the admin's list shows it (every tenant's).
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Agent {
    pub id: Uuid,
    pub user_id: Uuid,
    pub elevenlabs_agent_id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    /// `call` or `chat`.
    #[oai(rename = "type")]
    pub agent_type: Channel,
    /// `draft` or `active`; only active agents take calls.
    pub status: AgentStatus,
    pub is_active: bool,
    /// `synced` when ElevenLabs has the latest configuration; `pending`, `deleting` or
    /// `failed` after ElevenLabs was unavailable.
    pub sync_status: SyncState,
    /// Why the last sync failed (with `sync_status: failed`).
    pub sync_error: Option<String>,
    /// ElevenLabs phone number id the agent calls from.
    pub phone_number_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<agents::Model> for Agent {
    fn from(a: agents::Model) -> Self {
        Self {
            id: a.id,
            user_id: a.user_id,
            elevenlabs_agent_id: a.elevenlabs_agent_id,
            is_active: a.status == AgentStatus::Active,
            name: a.name,
            description: a.description,
            agent_type: a.kind,
            status: a.status,
            sync_status: a.sync_state,
            sync_error: a.sync_error,
            phone_number_id: a.phone_number_id,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// What the agent details modal saves.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct AdminAgentEdit {
    #[oai(validator(max_length = 100))]
    pub name: Option<String>,
    #[oai(validator(max_length = 2000))]
    pub description: Option<String>,
    pub is_active: Option<bool>,
}

/// Payloads shown whole up to this size (audio events are larger).
const SHOWN_PAYLOAD_BYTES: usize = 256 * 1024;

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct WebhookEventDetail {
    #[oai(flatten)]
    pub event: WebhookEvent,
    /// The event as received; null when larger than 256 KiB or not JSON.
    pub payload: Option<serde_json::Value>,
}

api_errors!(AdminErrors {
    400 => BadRequest: "Malformed path, query or body (`invalid_parameter`, `malformed_json`), or an invalid field (`validation_error`; `details` maps each field to its message).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "Not an admin (`admin_required`), not a super admin where Configuration needs one (`super_admin_required`), or the account is suspended.",
    404 => NotFound: "No such user (`user_not_found`), API key (`api_key_not_found`), feature flag (`feature_flag_not_found`), report (`report_not_found`), scheduled report (`report_schedule_not_found`; also a wrong or expired download link), audit entry (`audit_entry_not_found`) or event (`webhook_event_not_found`).",
    409 => Conflict: "Acting on oneself (`cannot_change_self`), the last admin (`last_admin`), an email another account has (`email_taken`), an idempotency key reused for another amount, or an event that was applied (`already_processed`) or is still pending (`still_pending`).",
});

api_errors!(AdminAgentErrors {
    400 => BadRequest: "Malformed path or body (`invalid_parameter`, `malformed_json`), or an invalid field (`validation_error`; `details` maps each field to its message).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "Not an admin (`admin_required`), or the account is suspended.",
    404 => NotFound: "No such agent (`agent_not_found`), or it is not on ElevenLabs yet.",
    429 => RateLimited: "ElevenLabs is rate limiting (`provider_rate_limited`); retry after `Retry-After`.",
    502 => Provider: "ElevenLabs refused or failed (`provider_error`).",
    503 => NotConfigured: "ElevenLabs is not configured (`provider_not_configured`).",
});

pub struct AdminApi {
    pub services: Services,
}

#[OpenApi(prefix_path = "/api/admin", tag = "Tag::Admin")]
impl AdminApi {
    /// List stored webhooks
    ///
    /// Newest first, by `provider` and `status`.
    #[oai(path = "/webhooks", method = "get")]
    async fn webhooks(
        &self,
        auth: AdminAuth,
        req: &Request,
        #[oai(validator(max_length = 32))] provider: Query<Option<String>>,
        status: Query<Option<InboxStatus>>,
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
    ) -> Result<Json<Page<WebhookEvent>>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let (rows, total) = inbox::list(
            &self.services.db,
            provider.0.as_deref(),
            status.0,
            page.0,
            per_page.0,
        )
        .await?;
        let rows: Vec<WebhookEvent> = rows.iter().map(Into::into).collect();
        Ok(Json(Page::of(rows, page.0, per_page.0, total)))
    }

    /// A stored webhook, with its payload
    ///
    /// The inbox row (status, error, owner) and the JSON payload as received; payloads over
    /// 256 KiB (audio) are left out.
    #[oai(path = "/webhooks/:id", method = "get")]
    async fn webhook(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
    ) -> Result<Json<WebhookEventDetail>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let event = inbox::get(&self.services.db, id.0).await?;
        let payload = (event.payload.len() <= SHOWN_PAYLOAD_BYTES)
            .then(|| serde_json::from_slice(&event.payload).ok())
            .flatten();
        Ok(Json(WebhookEventDetail {
            event: (&event).into(),
            payload,
        }))
    }

    /// Replay a webhook
    ///
    /// For an event that was not applied (unroutable, unreadable, or whose job gave up): it
    /// goes back to `received` and its job runs again. Applied events are refused (409).
    #[oai(path = "/webhooks/:id/replay", method = "post")]
    async fn replay(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
    ) -> Result<Json<WebhookEvent>, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let event = inbox::replay(&self.services, &actor, id.0).await?;
        Ok(Json((&event).into()))
    }

    /// System health
    ///
    /// Database and queue status, depth and oldest pending job per job kind, failed jobs,
    /// webhook inbox counts by status, and each provider's last delivery.
    #[oai(path = "/system/health", method = "get")]
    async fn system_health(
        &self,
        auth: AdminAuth,
        req: &Request,
    ) -> Result<Json<SystemHealth>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let h = shared::admin::health::check(&self.services).await?;
        let state = |r: Result<(), String>| r.err().unwrap_or_else(|| "ok".into());
        Ok(Json(SystemHealth {
            database: state(h.database),
            queue: state(h.queue),
            queues: h
                .queues
                .into_iter()
                .map(|q| QueueHealth {
                    kind: q.kind,
                    queued: q.queued,
                    running: q.running,
                    failed: q.failed,
                    oldest_pending_at: q.oldest_pending_at,
                })
                .collect(),
            webhooks: h
                .inbox
                .into_iter()
                .map(|c| InboxCount {
                    provider: c.provider,
                    status: c.status,
                    count: c.count,
                })
                .collect(),
            last_webhooks: h
                .last_webhooks
                .into_iter()
                .map(|(provider, received_at)| LastWebhook {
                    provider,
                    received_at,
                })
                .collect(),
        }))
    }

    /// Any agent's live ElevenLabs configuration
    ///
    /// Read through the owner's own agent service; the body is ElevenLabs' own, as for the
    /// owner's `GET /api/agents/{id}/config`.
    ///
    /// Example:
    /// ```json
    /// {"agent_id": "agent_01jbq7w3y4d5e6f7g8h9j0k1m2", "name": "Solar qualifier",
    ///  "conversation_config": {"agent": {"first_message": "Hi {{contact_name}}, this is Maya from Acme Solar.",
    ///    "language": "en", "prompt": {"prompt": "You are Maya…", "llm": "gpt-4o-mini"}},
    ///    "tts": {"voice_id": "21m00Tcm4TlvDq8ikWAM"}},
    ///  "platform_settings": {"data_collection": {"lead_analytics": {"type": "string",
    ///    "description": "The lead's scores as JSON"}}}}
    /// ```
    #[oai(path = "/agents/:id/config", method = "get")]
    async fn agent_config(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
    ) -> Result<Json<serde_json::Value>, AdminAgentErrors> {
        auth.admin(&self.services, req).await?;
        Ok(Json(service::agent_config(&self.services, id.0).await?))
    }

    /// Change any agent
    ///
    /// The same change, with the same checks, as the owner's `PATCH /api/agents/{id}`
    /// (ElevenLabs first, then our copy; 202 when ElevenLabs is down and a job will apply it);
    /// recorded in the audit log.
    #[oai(path = "/agents/:id", method = "patch")]
    async fn update_agent(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
        body: Json<AgentRequest>,
    ) -> Result<Updated, AdminAgentErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let input = shared::agents::AgentInput::try_from(body.0)?;
        let applied = service::update_agent(&self.services, &actor, id.0, input).await?;
        Ok(Updated::read(&self.services, applied).await?)
    }

    /// Edit any agent (the details modal)
    ///
    /// `name`, `description` and `is_active` (false takes it out of service as a draft),
    /// applied through the owner's own agent service (ElevenLabs first; 202 when ElevenLabs is
    /// down and a job will apply it) and audited.
    #[oai(path = "/agents/:id", method = "put")]
    async fn edit_agent(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
        body: Json<AdminAgentEdit>,
    ) -> Result<Updated, AdminAgentErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let b = body.0;
        let input = shared::agents::AgentInput {
            name: b.name,
            description: b.description,
            status: b.is_active.map(|on| {
                if on {
                    AgentStatus::Active
                } else {
                    AgentStatus::Draft
                }
            }),
            ..Default::default()
        };
        let applied = service::update_agent(&self.services, &actor, id.0, input).await?;
        Ok(Updated::read(&self.services, applied).await?)
    }

    /// Deactivate an agent
    ///
    /// Sets it to `draft`, so no call starts with it, whoever owns it.
    #[oai(path = "/agents/:id/deactivate", method = "post")]
    async fn deactivate_agent(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
    ) -> Result<Json<Agent>, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let agent = service::deactivate_agent(&self.services.db, &actor, id.0).await?;
        Ok(Json(agent.into()))
    }
}
