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
    admin::agent_oversight::{self as oversight, AgentRow},
    admin::agents as service,
    agents::{AgentStatus, Channel, SyncState},
};
use uuid::Uuid;

use crate::{
    admin::{AdminAuth, AdminErrors},
    agents::AgentEnvelope,
    api_errors,
    pagination::default_page,
    tags::Tag,
    wire::{Timestamp, ts},
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

/// The list's own page size.
fn default_table_limit() -> u64 {
    20
}

/// An agent as the Agent Management list reads it (camelCase beside the row's snake_case).
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct AdminAgentRow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// `active`, or `inactive` for a draft.
    pub status: String,
    /// `call` or `chat`.
    #[oai(rename = "type")]
    pub agent_type: Channel,
    pub user_id: Uuid,
    #[oai(rename = "userEmail")]
    pub user_email: String,
    #[oai(rename = "userName")]
    pub user_name: String,
    #[oai(rename = "callCount")]
    pub call_count: i64,
    /// The hour of its latest call.
    #[oai(rename = "lastCallAt")]
    pub last_call_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// From the sync with ElevenLabs: `healthy` (in step), `warning` (a change waits),
    /// `error` (refused, or being deleted).
    #[oai(rename = "healthStatus")]
    pub health_status: String,
    /// `active`, `inactive` (not on ElevenLabs yet) or `error`.
    #[oai(rename = "elevenlabsStatus")]
    pub elevenlabs_status: String,
    pub elevenlabs_agent_id: Option<String>,
    pub sync_status: SyncState,
}

impl From<AgentRow> for AdminAgentRow {
    fn from(r: AgentRow) -> Self {
        let a = r.agent;
        let (health, remote) = match (a.sync_state, &a.elevenlabs_agent_id) {
            (SyncState::Synced, Some(_)) => ("healthy", "active"),
            (SyncState::Pending, Some(_)) => ("warning", "active"),
            (SyncState::Pending, None) => ("warning", "inactive"),
            (SyncState::Synced, None) => ("warning", "inactive"),
            (SyncState::Failed | SyncState::Deleting, _) => ("error", "error"),
        };
        Self {
            id: a.id,
            status: if a.status == AgentStatus::Active {
                "active"
            } else {
                "inactive"
            }
            .into(),
            name: a.name,
            description: a.description,
            agent_type: a.kind,
            user_id: a.user_id,
            user_name: r.owner_name.unwrap_or_else(|| r.owner_email.clone()),
            user_email: r.owner_email,
            call_count: r.calls,
            last_call_at: ts(r.last_call_at),
            created_at: a.created_at.into(),
            updated_at: a.updated_at.into(),
            health_status: health.into(),
            elevenlabs_status: remote.into(),
            elevenlabs_agent_id: a.elevenlabs_agent_id,
            sync_status: a.sync_state,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct AdminAgentPage {
    pub agents: Vec<AdminAgentRow>,
    pub total: u64,
    pub page: u64,
    pub limit: u64,
    pub total_pages: u64,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct AgentPagination {
    pub total: u64,
}

/// `GET /api/admin/agents`.
#[derive(Debug, Object)]
#[oai(example)]
pub struct AdminAgentListEnvelope {
    pub success: bool,
    pub data: AdminAgentPage,
    pub pagination: AgentPagination,
}

fn default_timeframe() -> String {
    "24h".into()
}

#[derive(Debug, Clone, Copy, poem_openapi::Enum)]
#[oai(rename_all = "lowercase")]
pub enum BulkActionName {
    Activate,
    Deactivate,
    Delete,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct BulkRequest {
    #[oai(validator(min_items = 1, max_items = 200))]
    pub agent_ids: Vec<Uuid>,
    pub action: BulkActionName,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct BulkFailure {
    pub agent_id: Uuid,
    pub error: String,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct BulkResult {
    pub successful: u64,
    pub failed: Vec<BulkFailure>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct BulkEnvelope {
    pub success: bool,
    pub data: BulkResult,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct TopPerformer {
    pub agent_id: Uuid,
    pub agent_name: String,
    pub user_id: Uuid,
    pub user_email: String,
    pub call_count: i64,
    /// Percent.
    pub success_rate: f64,
    /// Seconds.
    pub average_duration: i64,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct HourUse {
    /// 0–23, UTC.
    pub hour: u32,
    pub call_count: i64,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct AgentMonitoring {
    pub timeframe: String,
    pub total_calls: i64,
    pub successful_calls: i64,
    pub failed_calls: i64,
    /// Seconds.
    pub average_call_duration: i64,
    pub top_performing_agents: Vec<TopPerformer>,
    /// Percent of the window's calls: `failed`, `not_connected`.
    pub error_rates: std::collections::BTreeMap<String, f64>,
    /// 24 entries.
    pub usage_by_hour: Vec<HourUse>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct MonitoringEnvelope {
    pub success: bool,
    pub data: AgentMonitoring,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct AgentHealthDetail {
    pub agent_id: Uuid,
    pub agent_name: String,
    pub user_id: Uuid,
    /// `healthy`, `unhealthy` or `unreachable`.
    pub status: String,
    pub last_checked: Timestamp,
    pub error: Option<String>,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct AgentHealthReport {
    pub total_agents: usize,
    pub healthy_agents: usize,
    pub unhealthy_agents: usize,
    pub unreachable_agents: usize,
    /// ElevenLabs did not answer within three seconds: the states are the last known ones.
    pub stale: bool,
    pub health_details: Vec<AgentHealthDetail>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct HealthEnvelope {
    pub success: bool,
    pub data: AgentHealthReport,
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
    /// The Agent Management list, newest first: `search` (part of the agent's name or its
    /// owner's email or name), `isActive`, `agentType` (`call`/`chat`), `userId`, `page` and
    /// `limit`; each with its owner, calls and last call (from the counters) and its state on
    /// ElevenLabs.
    #[oai(path = "/agents", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn agents(
        &self,
        auth: AdminAuth,
        req: &Request,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        page: Query<u64>,
        #[oai(
            default = "default_table_limit",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u64>,
        #[oai(validator(max_length = 200))] search: Query<Option<String>>,
        #[oai(name = "isActive")] is_active: Query<Option<bool>>,
        #[oai(name = "agentType")] agent_type: Query<Option<Channel>>,
        #[oai(name = "userId")] user_id: Query<Option<Uuid>>,
    ) -> Result<Json<AdminAgentListEnvelope>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let q = oversight::AgentQuery {
            search: search.0,
            active: is_active.0,
            kind: agent_type.0,
            owner: user_id.0,
        };
        let (rows, total) = oversight::list(&self.services.db, &q, page.0, limit.0).await?;
        Ok(Json(AdminAgentListEnvelope {
            success: true,
            data: AdminAgentPage {
                agents: rows.into_iter().map(Into::into).collect(),
                total,
                page: page.0,
                limit: limit.0,
                total_pages: total.div_ceil(limit.0).max(1),
            },
            pagination: AgentPagination { total },
        }))
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

    /// Act on many agents
    ///
    /// The bulk bar: `activate`, `deactivate` or `delete` each of `agentIds` (1 to 200) through
    /// its owner's service, each on its own; the answer counts the successes and says why the
    /// others failed.
    #[oai(path = "/agents/bulk", method = "post")]
    async fn bulk(
        &self,
        auth: AdminAuth,
        req: &Request,
        body: Json<BulkRequest>,
    ) -> Result<Json<BulkEnvelope>, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let b = body.0;
        let action = match b.action {
            BulkActionName::Activate => oversight::BulkAction::Activate,
            BulkActionName::Deactivate => oversight::BulkAction::Deactivate,
            BulkActionName::Delete => oversight::BulkAction::Delete,
        };
        let (successful, failed) =
            oversight::bulk(&self.services, &actor, &b.agent_ids, action).await?;
        Ok(Json(BulkEnvelope {
            success: true,
            data: BulkResult {
                successful,
                failed: failed
                    .into_iter()
                    .map(|(agent_id, error)| BulkFailure { agent_id, error })
                    .collect(),
            },
        }))
    }

    /// Agent monitoring
    ///
    /// The calls of the last `timeframe` (`24h`, `7d` or `30d`) from the counters: totals,
    /// average length, the ten busiest agents with their owners, failure rates in percent and
    /// calls per hour of the day (UTC).
    #[oai(path = "/agents/monitoring", method = "get")]
    async fn monitoring(
        &self,
        auth: AdminAuth,
        req: &Request,
        #[oai(default = "default_timeframe", validator(pattern = "^(24h|7d|30d)$"))]
        timeframe: Query<String>,
    ) -> Result<Json<MonitoringEnvelope>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let window = match timeframe.0.as_str() {
            "7d" => chrono::Duration::days(7),
            "30d" => chrono::Duration::days(30),
            _ => chrono::Duration::hours(24),
        };
        let m = oversight::monitoring(&self.services.db, window).await?;
        let pct = |part: i64| {
            if m.calls == 0 {
                0.0
            } else {
                (part as f64 * 1000.0 / m.calls as f64).round() / 10.0
            }
        };
        let average = |secs: i64, calls: i64| if calls == 0 { 0 } else { secs / calls };
        Ok(Json(MonitoringEnvelope {
            success: true,
            data: AgentMonitoring {
                total_calls: m.calls,
                successful_calls: m.successful,
                failed_calls: m.failed,
                average_call_duration: average(m.duration_secs, m.calls),
                top_performing_agents: m
                    .top
                    .iter()
                    .map(|t| TopPerformer {
                        agent_id: t.agent_id,
                        agent_name: t.name.clone(),
                        user_id: t.owner_id,
                        user_email: t.owner_email.clone(),
                        call_count: t.calls,
                        success_rate: if t.calls == 0 {
                            0.0
                        } else {
                            (t.successful as f64 * 1000.0 / t.calls as f64).round() / 10.0
                        },
                        average_duration: average(t.duration_secs, t.calls),
                    })
                    .collect(),
                error_rates: [
                    ("failed".to_string(), pct(m.failed)),
                    ("not_connected".to_string(), pct(m.calls - m.connected)),
                ]
                .into_iter()
                .collect(),
                usage_by_hour: m
                    .by_hour
                    .iter()
                    .enumerate()
                    .map(|(hour, calls)| HourUse {
                        hour: hour as u32,
                        call_count: *calls,
                    })
                    .collect(),
                timeframe: timeframe.0,
            },
        }))
    }

    /// Agent health
    ///
    /// Each agent against ElevenLabs: `healthy` (there and in step), `unhealthy` (a change
    /// waits or was refused), `unreachable` (ElevenLabs does not have it). ElevenLabs gets
    /// three seconds; when it is slower the answer is `stale` with each agent's last known
    /// state.
    #[oai(path = "/agents/health", method = "get")]
    async fn health(
        &self,
        auth: AdminAuth,
        req: &Request,
    ) -> Result<Json<HealthEnvelope>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let report = oversight::health(&self.services).await?;
        let count = |h: oversight::Health| report.agents.iter().filter(|a| a.health == h).count();
        let checked = Timestamp::from(report.checked_at);
        Ok(Json(HealthEnvelope {
            success: true,
            data: AgentHealthReport {
                total_agents: report.agents.len(),
                healthy_agents: count(oversight::Health::Healthy),
                unhealthy_agents: count(oversight::Health::Unhealthy),
                unreachable_agents: count(oversight::Health::Unreachable),
                stale: report.stale,
                health_details: report
                    .agents
                    .into_iter()
                    .map(|a| AgentHealthDetail {
                        agent_id: a.agent.id,
                        agent_name: a.agent.name,
                        user_id: a.agent.user_id,
                        status: match a.health {
                            oversight::Health::Healthy => "healthy",
                            oversight::Health::Unhealthy => "unhealthy",
                            oversight::Health::Unreachable => "unreachable",
                        }
                        .into(),
                        last_checked: checked,
                        error: a.error,
                    })
                    .collect(),
            },
        }))
    }
}
