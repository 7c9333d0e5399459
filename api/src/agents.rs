//! The user's agents, created and configured on ElevenLabs through us.

use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use shared::{
    Services,
    agents::{
        self as service, AgentInput, AgentStatus, Channel, LeadQuestion as LeadQuestionInput,
        SyncState,
    },
    entities::agents,
};
use uuid::Uuid;

use crate::{
    api_errors,
    pagination::{Pagination, default_page},
    security::Auth,
    tags::Tag,
    wire::Timestamp,
};

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum QuestionType {
    String,
    Number,
    Integer,
    Boolean,
}

/// A question the agent asks; the answer comes back with the call's lead analytics.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LeadQuestion {
    /// Key of the answer, letters, digits and `_`.
    #[oai(validator(max_length = 64))]
    pub id: String,
    #[oai(rename = "type")]
    pub value_type: QuestionType,
    #[oai(validator(max_length = 1000))]
    pub description: String,
}

/// An agent's type as the request names it: the Agent Manager's form sends `CallAgent` or
/// `ChatAgent` (and `agentType` beside it), the API also takes `call` or `chat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum AgentTypeName {
    #[oai(rename = "call")]
    Call,
    #[oai(rename = "chat")]
    Chat,
    CallAgent,
    ChatAgent,
}

impl From<AgentTypeName> for Channel {
    fn from(t: AgentTypeName) -> Self {
        match t {
            AgentTypeName::Call | AgentTypeName::CallAgent => Channel::Call,
            AgentTypeName::Chat | AgentTypeName::ChatAgent => Channel::Chat,
        }
    }
}

/// One value the agent collects from a conversation (the form's `data_collection.default`
/// holds the lead-scoring prompt).
#[derive(Debug, Clone, Object)]
pub struct CollectedValue {
    #[oai(rename = "type")]
    pub value_type: QuestionType,
    #[oai(validator(max_length = 5000))]
    pub description: String,
}

/// Create or change an agent, in the Agent Manager form's words (`type`/`agentType`, the
/// language's name, `data_collection`) or the API's (`lead_questions`, codes). Typed fields go
/// over the raw ElevenLabs settings.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct AgentRequest {
    #[oai(validator(max_length = 120))]
    pub name: Option<String>,
    /// `CallAgent`/`ChatAgent` (the form) or `call`/`chat`.
    #[oai(rename = "type")]
    pub agent_type: Option<AgentTypeName>,
    /// `call` or `chat`; when given with `type` the two must agree.
    #[oai(rename = "agentType")]
    pub agent_kind: Option<Channel>,
    pub status: Option<AgentStatus>,
    #[oai(validator(max_length = 2000))]
    pub description: Option<String>,
    /// The language's English name (`English`) or its code (`en`, `pt-br`).
    #[oai(validator(max_length = 64))]
    pub language: Option<String>,
    /// ElevenLabs voice id.
    #[oai(validator(max_length = 100))]
    pub voice_id: Option<String>,
    /// The LLM ElevenLabs runs the agent on.
    #[oai(validator(max_length = 100))]
    pub llm: Option<String>,
    #[oai(validator(max_length = 50000))]
    pub system_prompt: Option<String>,
    #[oai(validator(max_length = 2000))]
    pub first_message: Option<String>,
    pub lead_questions: Option<Vec<LeadQuestion>>,
    /// ElevenLabs' own form of the questions: key → `{type, description}` (what the form
    /// sends as `data_collection.default`); added to `lead_questions`.
    pub data_collection: Option<std::collections::BTreeMap<String, CollectedValue>>,
    /// Any other ElevenLabs `conversation_config` settings, passed through.
    pub conversation_config: Option<serde_json::Value>,
    /// Any other ElevenLabs `platform_settings`, passed through.
    pub platform_settings: Option<serde_json::Value>,
    /// ElevenLabs phone number id the agent calls from.
    #[oai(validator(max_length = 100))]
    pub phone_number_id: Option<String>,
}

impl QuestionType {
    fn as_str(self) -> &'static str {
        match self {
            QuestionType::String => "string",
            QuestionType::Number => "number",
            QuestionType::Integer => "integer",
            QuestionType::Boolean => "boolean",
        }
    }
}

impl TryFrom<AgentRequest> for AgentInput {
    type Error = shared::AppError;

    fn try_from(r: AgentRequest) -> Result<Self, Self::Error> {
        let kind = match (r.agent_type.map(Channel::from), r.agent_kind) {
            (Some(a), Some(b)) if a != b => {
                return Err(shared::AppError::validation(
                    "agentType",
                    "does not match type",
                ));
            }
            (a, b) => a.or(b),
        };
        let collected = r.data_collection.map(|values| {
            values
                .into_iter()
                .map(|(id, v)| LeadQuestionInput {
                    id,
                    value_type: v.value_type.as_str().into(),
                    description: v.description,
                })
                .collect::<Vec<_>>()
        });
        let listed = r.lead_questions.map(|qs| {
            qs.into_iter()
                .map(|q| LeadQuestionInput {
                    id: q.id,
                    value_type: q.value_type.as_str().into(),
                    description: q.description,
                })
                .collect::<Vec<_>>()
        });
        let lead_questions = match (collected, listed) {
            (None, None) => None,
            (a, b) => Some(a.into_iter().chain(b).flatten().collect()),
        };
        Ok(AgentInput {
            name: r.name,
            kind,
            status: r.status,
            description: r.description,
            language: r.language,
            voice_id: r.voice_id,
            llm: r.llm,
            system_prompt: r.system_prompt,
            first_message: r.first_message,
            lead_questions,
            conversation_config: r.conversation_config,
            platform_settings: r.platform_settings,
            phone_number_id: r.phone_number_id,
        })
    }
}

/// What the frontend calls an agent's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum AgentKind {
    CallAgent,
    ChatAgent,
}

impl From<Channel> for AgentKind {
    fn from(c: Channel) -> Self {
        match c {
            Channel::Call => AgentKind::CallAgent,
            Channel::Chat => AgentKind::ChatAgent,
        }
    }
}

/// An agent as the Agent Manager, the sidebar and the call-log pickers show it.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct ManagedAgent {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    #[oai(rename = "type")]
    pub kind: AgentKind,
    /// `call` or `chat`.
    pub agent_type: Channel,
    /// `active` or `draft`; only active agents take calls.
    pub status: AgentStatus,
    pub is_active: bool,
    /// The language's English name (`English`); `languageCode` is ElevenLabs' code.
    pub language: Option<String>,
    pub language_code: Option<String>,
    /// The LLM ElevenLabs runs the agent's prompt on, when its configuration names one.
    pub model: Option<String>,
    /// Finished calls or chats.
    pub conversations: i64,
    /// The owner's credit balance (what the agent can still spend).
    pub credits_remaining: i64,
    /// Creation day as the manager prints it, `Nov 06, 2025` (UTC).
    pub created: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Completed calls ElevenLabs judged successful, in whole percent.
    pub success_rate: i64,
    /// Average length, `1.5m`.
    pub avg_duration: String,
    pub elevenlabs_agent_id: Option<String>,
    /// `synced` when ElevenLabs has the latest configuration; `pending`, `deleting` or
    /// `failed` after ElevenLabs was unavailable.
    pub sync_status: SyncState,
    /// Why the last sync failed (with `syncStatus: failed`).
    pub sync_error: Option<String>,
    /// The ElevenLabs phone number the agent calls from.
    pub phone_number_id: Option<String>,
    /// Minutes of finished calls.
    pub minutes: f64,
    pub credits_used: i64,
    pub last_call_at: Option<Timestamp>,
    /// Mean `total_score` of the agent's lead analytics.
    pub average_lead_score: Option<f64>,
}

impl ManagedAgent {
    pub fn new(a: agents::Model, stats: &service::AgentStats, balance: i64) -> Self {
        use service::display;
        let code = display::language_code(&a.config).map(str::to_string);
        Self {
            id: a.id,
            user_id: a.user_id,
            language: code.as_deref().map(display::language_name),
            model: display::model(&a.config).map(str::to_string),
            language_code: code,
            conversations: stats.calls,
            credits_remaining: balance,
            created: a.created_at.format("%b %d, %Y").to_string(),
            created_at: a.created_at.into(),
            updated_at: a.updated_at.into(),
            success_rate: display::success_percent(stats),
            avg_duration: display::average_duration(stats),
            is_active: a.status == AgentStatus::Active,
            name: a.name,
            description: a.description,
            kind: a.kind.into(),
            agent_type: a.kind,
            status: a.status,
            elevenlabs_agent_id: a.elevenlabs_agent_id,
            sync_status: a.sync_state,
            sync_error: a.sync_error,
            phone_number_id: a.phone_number_id,
            minutes: stats.minutes,
            credits_used: stats.credits_used,
            last_call_at: stats.last_call_at.map(Into::into),
            average_lead_score: stats.average_lead_score,
        }
    }
}

/// One agent, created, read or changed: `{success, data}` as the frontend reads it.
#[derive(Debug, Object)]
#[oai(example)]
pub struct AgentEnvelope {
    pub success: bool,
    pub data: ManagedAgent,
}

impl AgentEnvelope {
    pub fn new(a: agents::Model, stats: &service::AgentStats, balance: i64) -> Json<Self> {
        Json(Self {
            success: true,
            data: ManagedAgent::new(a, stats, balance),
        })
    }

    /// The agent with its statistics and its owner's balance, read now.
    pub async fn read(services: &Services, row: agents::Model) -> shared::AppResult<Json<Self>> {
        let stats = service::stats(services, &[row.id])
            .await?
            .remove(&row.id)
            .unwrap_or_default();
        let owner = shared::accounts::users::get(&services.db, row.user_id).await?;
        Ok(Self::new(row, &stats, owner.credits))
    }
}

impl Updated {
    pub async fn read(
        services: &Services,
        applied: service::Applied<agents::Model>,
    ) -> shared::AppResult<Self> {
        Ok(match applied {
            service::Applied::Now(a) => Updated::Updated(AgentEnvelope::read(services, a).await?),
            service::Applied::Deferred(a) => {
                Updated::Pending(AgentEnvelope::read(services, a).await?)
            }
        })
    }
}

/// `GET /api/agents/voices`.
#[derive(Debug, Object)]
#[oai(example)]
pub struct VoiceList {
    pub success: bool,
    pub data: Vec<Voice>,
}

/// The `status` an agent is switched to.
#[derive(Debug, Object)]
#[oai(example)]
pub struct StatusChange {
    /// `active` (takes calls) or `draft`.
    pub status: AgentStatus,
}

/// `GET /api/agents`: the frontend maps over `data`, so it is the bare list.
#[derive(Debug, Object)]
#[oai(example)]
pub struct AgentList {
    pub success: bool,
    pub data: Vec<ManagedAgent>,
    pub pagination: Pagination,
    /// True when ElevenLabs could not be asked and names come from our copy.
    pub stale: bool,
}

/// `GET /api/agents/test-connection`.
#[derive(Debug, Object)]
#[oai(example)]
pub struct ConnectionTest {
    pub success: bool,
    pub data: Connected,
}

#[derive(Debug, Object)]
pub struct Connected {
    /// Whether ElevenLabs accepted our key just now.
    pub connected: bool,
}

#[derive(Debug, ApiResponse)]
pub enum Created {
    /// Created on ElevenLabs and here.
    #[oai(status = 201)]
    Created(Json<AgentEnvelope>),
    /// ElevenLabs is unavailable: stored with `syncStatus: pending`; a job creates it there.
    #[oai(status = 202)]
    Pending(Json<AgentEnvelope>),
}

#[derive(Debug, ApiResponse)]
pub enum Updated {
    /// Changed on ElevenLabs and here.
    #[oai(status = 200)]
    Updated(Json<AgentEnvelope>),
    /// ElevenLabs is unavailable: kept with `syncStatus: pending`; a job applies it there.
    #[oai(status = 202)]
    Pending(Json<AgentEnvelope>),
}

#[derive(Debug, ApiResponse)]
pub enum Deleted {
    /// Removed on ElevenLabs and here.
    #[oai(status = 204)]
    Deleted,
    /// ElevenLabs is unavailable: marked `deleting`; a job finishes the deletion.
    #[oai(status = 202)]
    Pending,
}

/// What a web widget needs to open a conversation.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct ChatSession {
    pub agent_id: Uuid,
    pub elevenlabs_agent_id: String,
    /// `wss://…` URL for a WebSocket conversation (expires after a few minutes).
    pub signed_url: String,
    /// Token for a WebRTC conversation.
    pub conversation_token: String,
}

api_errors!(ChatSessionErrors {
    400 => BadRequest: "Malformed id (`invalid_parameter`).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    402 => NoCredits: "The balance is not positive (`insufficient_credits`).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    404 => NotFound: "No such agent for this user (`agent_not_found`).",
    409 => Conflict: "A call agent (`not_a_chat_agent`), a draft (`agent_inactive`), or not on ElevenLabs yet (`agent_not_synced`).",
    429 => RateLimited: "ElevenLabs is rate limiting (`provider_rate_limited`); see Retry-After.",
    502 => Provider: "ElevenLabs refused or is down (`provider_error`, `provider_unavailable`).",
    503 => NotConfigured: "ElevenLabs is not configured (`provider_not_configured`).",
});

api_errors!(AgentErrors {
    400 => BadRequest: "Malformed id or query (`invalid_parameter`), or an invalid field (`validation_error`; `details` maps each field to its message).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    404 => NotFound: "No such agent for this user (`agent_not_found`).",
    429 => RateLimited: "ElevenLabs is rate limiting (`provider_rate_limited`); see Retry-After.",
    502 => Provider: "ElevenLabs refused (`provider_error`, with its message) or is down (`provider_unavailable`).",
    503 => NotConfigured: "ElevenLabs is not configured (`provider_not_configured`).",
});

/// A voice an agent can speak with.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Voice {
    pub voice_id: String,
    pub name: Option<String>,
    pub category: Option<String>,
    pub description: Option<String>,
    pub labels: Option<serde_json::Value>,
    pub preview_url: Option<String>,
}

/// A phone number an agent can call from.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct PhoneNumber {
    pub phone_number_id: String,
    pub phone_number: Option<String>,
    pub label: Option<String>,
    /// `twilio` or `sip_trunk`.
    pub provider: Option<String>,
}

fn text(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(serde_json::Value::as_str)
        .map(String::from)
}

pub struct AgentApi {
    pub services: Services,
}

#[OpenApi(prefix_path = "/api/agents", tag = "Tag::Agents")]
impl AgentApi {
    /// List agents
    ///
    /// The user's agents, newest first, as the Agent Manager shows them: type, status,
    /// language, model, conversations, success rate and average duration. Names come from
    /// ElevenLabs when it answers; otherwise from our copy and `stale` is true. Filter by
    /// `type` (`call` or `chat`); `page` and `limit` (default 100) page through long lists.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        #[oai(name = "type")] agent_type: Query<Option<Channel>>,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        page: Query<u64>,
        #[oai(
            default = "default_agent_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<u64>,
    ) -> Result<Json<AgentList>, AgentErrors> {
        let account = auth.account(&self.services).await?;
        let me = shared::accounts::auth::CurrentUser::from(&account);
        let (rows, total) =
            service::list(&self.services, &me, agent_type.0, page.0, limit.0).await?;
        let ids: Vec<Uuid> = rows.iter().map(|a| a.id).collect();
        let mut stats = service::stats(&self.services, &ids).await?;
        let live = service::live_names(&self.services).await;
        let data = rows
            .into_iter()
            .map(|mut row| {
                if let Some(name) = row
                    .elevenlabs_agent_id
                    .as_ref()
                    .and_then(|el| live.as_ref()?.get(el).cloned())
                {
                    row.name = name;
                }
                let stats = stats.remove(&row.id).unwrap_or_default();
                ManagedAgent::new(row, &stats, account.credits)
            })
            .collect();
        Ok(Json(AgentList {
            success: true,
            data,
            pagination: Pagination::new(total, limit.0, (page.0 - 1) * limit.0),
            stale: live.is_none(),
        }))
    }

    /// Test the ElevenLabs connection
    ///
    /// Whether ElevenLabs accepts the platform's key now (the Agent Manager's "Test
    /// connection"). A refusal or an outage is `connected: false`, not an error.
    #[oai(path = "/test-connection", method = "get")]
    async fn test_connection(&self, auth: Auth) -> Result<Json<ConnectionTest>, AgentErrors> {
        auth.user(&self.services).await?;
        Ok(Json(ConnectionTest {
            success: true,
            data: Connected {
                connected: service::connected(&self.services).await,
            },
        }))
    }

    /// Create an agent
    ///
    /// Creates it on ElevenLabs first (text-only for chat agents); if ElevenLabs refuses,
    /// nothing is stored and its reason is returned. Takes the Agent Manager form's body
    /// (`type: CallAgent`, `agentType`, `language: English`, `data_collection.default`).
    #[oai(path = "/", method = "post")]
    async fn create(&self, auth: Auth, body: Json<AgentRequest>) -> Result<Created, AgentErrors> {
        let account = auth.account(&self.services).await?;
        let me = shared::accounts::auth::CurrentUser::from(&account);
        let input = AgentInput::try_from(body.0)?;
        let none = service::AgentStats::default();
        Ok(match service::create(&self.services, &me, input).await? {
            service::Applied::Now(a) => {
                Created::Created(AgentEnvelope::new(a, &none, account.credits))
            }
            service::Applied::Deferred(a) => {
                Created::Pending(AgentEnvelope::new(a, &none, account.credits))
            }
        })
    }

    /// Voices
    ///
    /// Voices available to agents, from ElevenLabs (reused for a minute).
    #[oai(path = "/voices", method = "get")]
    async fn voices(&self, auth: Auth) -> Result<Json<VoiceList>, AgentErrors> {
        auth.user(&self.services).await?;
        let voices = service::voices(&self.services).await?;
        Ok(Json(VoiceList {
            success: true,
            data: voices
                .iter()
                .filter_map(|v| {
                    Some(Voice {
                        voice_id: text(v, "voice_id")?,
                        name: text(v, "name"),
                        category: text(v, "category"),
                        description: text(v, "description"),
                        labels: v.get("labels").filter(|l| !l.is_null()).cloned(),
                        preview_url: text(v, "preview_url"),
                    })
                })
                .collect(),
        }))
    }

    /// Phone numbers
    ///
    /// Numbers agents can call from (Twilio or SIP trunk), from ElevenLabs (reused for a
    /// minute). Give one to an agent as `phone_number_id`.
    #[oai(path = "/phone-numbers", method = "get")]
    async fn phone_numbers(&self, auth: Auth) -> Result<Json<Vec<PhoneNumber>>, AgentErrors> {
        auth.user(&self.services).await?;
        let numbers = service::phone_numbers(&self.services).await?;
        Ok(Json(
            numbers
                .iter()
                .filter_map(|n| {
                    Some(PhoneNumber {
                        phone_number_id: text(n, "phone_number_id")?,
                        phone_number: text(n, "phone_number"),
                        label: text(n, "label"),
                        provider: text(n, "provider"),
                    })
                })
                .collect(),
        ))
    }

    /// One agent
    ///
    /// The agent as the Agent Manager shows it, with its call statistics. Another user's agent
    /// is 404 `agent_not_found`.
    #[oai(path = "/:id", method = "get")]
    async fn get(&self, auth: Auth, id: Path<Uuid>) -> Result<Json<AgentEnvelope>, AgentErrors> {
        let me = auth.user(&self.services).await?;
        let row = service::get(&self.services, &me, id.0).await?;
        Ok(AgentEnvelope::read(&self.services, row).await?)
    }

    /// Live ElevenLabs configuration
    ///
    /// The agent exactly as ElevenLabs holds it (`conversation_config`, `platform_settings`, …).
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
    #[oai(path = "/:id/config", method = "get")]
    async fn config(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<serde_json::Value>, AgentErrors> {
        let me = auth.user(&self.services).await?;
        Ok(Json(service::live_config(&self.services, &me, id.0).await?))
    }

    /// Change an agent
    ///
    /// Sends the given fields to ElevenLabs, then updates our copy.
    #[oai(path = "/:id", method = "patch")]
    async fn patch(
        &self,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<AgentRequest>,
    ) -> Result<Updated, AgentErrors> {
        self.update(auth, id.0, AgentInput::try_from(body.0)?).await
    }

    /// Replace an agent's settings
    ///
    /// What the Agent Manager's edit form sends; like PATCH, but `name` is required.
    #[oai(path = "/:id", method = "put")]
    async fn put(
        &self,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<AgentRequest>,
    ) -> Result<Updated, AgentErrors> {
        if body.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            return Err(shared::AppError::validation("name", "is required").into());
        }
        self.update(auth, id.0, AgentInput::try_from(body.0)?).await
    }

    /// Activate or draft an agent
    ///
    /// `active` agents take calls and chats; a `draft` keeps its configuration and refuses
    /// them. The same change as PATCH with only `status`.
    #[oai(path = "/:id/status", method = "patch")]
    async fn status(
        &self,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<StatusChange>,
    ) -> Result<Updated, AgentErrors> {
        let input = AgentInput {
            status: Some(body.0.status),
            ..Default::default()
        };
        self.update(auth, id.0, input).await
    }

    /// Open a chat with a chat agent
    ///
    /// What a web widget needs to start a conversation with an active chat agent: a signed
    /// WebSocket URL and a WebRTC conversation token from ElevenLabs, both short-lived. The
    /// account needs a positive balance (402 otherwise); the chat is metered when its
    /// post-call report arrives.
    #[oai(path = "/:id/chat-session", method = "post")]
    async fn chat_session(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<ChatSession>, ChatSessionErrors> {
        let me = auth.user(&self.services).await?;
        let s = service::chat_session(&self.services, &me, id.0).await?;
        Ok(Json(ChatSession {
            agent_id: s.agent_id,
            elevenlabs_agent_id: s.elevenlabs_agent_id,
            signed_url: s.signed_url,
            conversation_token: s.conversation_token,
        }))
    }

    /// Delete an agent
    ///
    /// Deletes it on ElevenLabs (already gone there is fine) and here.
    #[oai(path = "/:id", method = "delete")]
    async fn delete(&self, auth: Auth, id: Path<Uuid>) -> Result<Deleted, AgentErrors> {
        let me = auth.user(&self.services).await?;
        Ok(match service::delete(&self.services, &me, id.0).await? {
            service::Applied::Now(()) => Deleted::Deleted,
            service::Applied::Deferred(()) => Deleted::Pending,
        })
    }
}

impl AgentApi {
    async fn update(
        &self,
        auth: Auth,
        id: Uuid,
        input: AgentInput,
    ) -> Result<Updated, AgentErrors> {
        let me = auth.user(&self.services).await?;
        let applied = service::update(&self.services, &me, id, input).await?;
        Ok(Updated::read(&self.services, applied).await?)
    }
}

fn default_agent_limit() -> u64 {
    100
}
