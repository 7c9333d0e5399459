//! Calls: starting outbound calls through ElevenLabs. The call row starts `initiated` with the
//! conversation id; the post-call webhook completes it.

pub use crate::entities::calls::{CallStatus, Channel, Direction};

pub mod conversations;
pub mod history;
pub mod lifecycle;
pub mod presentation;
pub mod transcripts;

use chrono::Utc;
use reqwest::Method;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::{
    Services,
    accounts::auth::CurrentUser,
    agents::elevenlabs::{ElevenLabs, Retry},
    agents::{self, AgentStatus},
    entities::{calls, contacts},
    money::credits,
    platform::error::{AppError, AppResult},
    platform::ids::UserId,
    platform::owned,
};

/// Who to call, and with what.
#[derive(Debug, Clone, Default)]
pub struct StartCall {
    pub agent_id: Uuid,
    pub contact_id: Option<Uuid>,
    /// Any format the user's default region can read; stored as E.164.
    pub to_number: Option<String>,
    /// Extra variables for the agent's prompt (strings, numbers, booleans).
    pub dynamic_variables: Map<String, Value>,
}

fn conflict(code: &'static str, message: &str) -> AppError {
    AppError::conflict(code, message)
}

/// Starts an outbound call from an active call agent: checks what the call needs, writes the
/// call `initiated`, then asks ElevenLabs to dial. A refused dial fails the call through its
/// lifecycle (counted, announced) and returns the provider's reason.
pub async fn start(
    services: &Services,
    user: &CurrentUser,
    req: StartCall,
) -> AppResult<calls::Model> {
    user.require_verified_email()?;
    check_variables(&req.dynamic_variables)?;
    let agent = agents::get(services, user, req.agent_id).await?;
    let caller = Caller::of(&agent)?;
    let callee = callee(services, user, &req).await?;
    check_capacity(services, user).await?;
    let client = ElevenLabs::for_owner(services, user.id).await?;
    let (provider, path) = dial_path(&client, &caller.phone_number_id).await?;

    // The row exists before ElevenLabs dials, so a crash in between leaves a trace.
    let call = open(services, user, &agent, &callee, provider).await?;
    let mut variables = callee.variables;
    variables.extend(req.dynamic_variables);
    let answer = ask_to_dial(&client, path, &caller, &callee.number, variables).await;
    dialled(services, call, answer).await
}

/// Asks ElevenLabs to dial `number` from the caller's phone number through `path` (see
/// `dial_path`). Sent once: a dial is never retried once it may have reached ElevenLabs.
pub(crate) async fn ask_to_dial(
    client: &ElevenLabs,
    path: &str,
    caller: &Caller,
    number: &str,
    variables: Map<String, Value>,
) -> AppResult<Value> {
    let body = json!({
        "agent_id": caller.elevenlabs_agent_id,
        "agent_phone_number_id": caller.phone_number_id,
        "to_number": number,
        "conversation_initiation_client_data": {"dynamic_variables": Value::Object(variables)},
    });
    client
        .request(
            Method::POST,
            path,
            Some(&body),
            Retry::OnlyIfUnsent,
            "agent",
        )
        .await
}

/// The conversation of a dial ElevenLabs placed (`success` with a `conversation_id`).
pub(crate) fn placed_conversation(answer: &AppResult<Value>) -> Option<String> {
    let a = answer.as_ref().ok()?;
    a.get("success").and_then(Value::as_bool).filter(|ok| *ok)?;
    a.get("conversation_id")
        .and_then(Value::as_str)
        .map(String::from)
}

/// Prompt variables are flat: short keys with string, number or boolean values.
fn check_variables(variables: &Map<String, Value>) -> AppResult<()> {
    for (key, value) in variables {
        if key.is_empty()
            || key.len() > 64
            || !(value.is_string() || value.is_number() || value.is_boolean())
        {
            return Err(AppError::validation(
                "dynamic_variables",
                "keys of 1-64 characters with string, number or boolean values",
            ));
        }
    }
    Ok(())
}

/// The agent as ElevenLabs knows it, when it can place a call.
pub(crate) struct Caller {
    pub(crate) elevenlabs_agent_id: String,
    pub(crate) phone_number_id: String,
}

impl Caller {
    pub(crate) fn of(agent: &crate::entities::agents::Model) -> AppResult<Caller> {
        if agent.kind != Channel::Call {
            return Err(conflict(
                "agent_not_callable",
                "chat agents cannot place phone calls",
            ));
        }
        if agent.sync_state != agents::SyncState::Synced {
            return Err(conflict(
                "agent_not_synced",
                "the agent is not on ElevenLabs yet; try again shortly",
            ));
        }
        if agent.status != AgentStatus::Active {
            return Err(conflict(
                "agent_inactive",
                "activate the agent before it takes calls",
            ));
        }
        match (&agent.elevenlabs_agent_id, &agent.phone_number_id) {
            (Some(el_agent), Some(number)) => Ok(Caller {
                elevenlabs_agent_id: el_agent.clone(),
                phone_number_id: number.clone(),
            }),
            _ => Err(conflict(
                "agent_has_no_phone_number",
                "give the agent a phone number to call from",
            )),
        }
    }
}

/// Who is called: a contact of the user's (with its variables) or a number.
struct Callee {
    number: String,
    contact_id: Option<Uuid>,
    variables: Map<String, Value>,
}

async fn callee(services: &Services, user: &CurrentUser, req: &StartCall) -> AppResult<Callee> {
    let db = &services.db;
    match (req.contact_id, &req.to_number) {
        (Some(contact_id), _) => {
            let contact = owned::find::<contacts::Entity, _>(db, user.owner(), contact_id).await?;
            if contact.do_not_call {
                return Err(conflict(
                    "contact_do_not_call",
                    "this contact asked not to be called",
                ));
            }
            Ok(Callee {
                variables: crate::contacts::dynamic_variables(&contact),
                number: contact.phone_e164,
                contact_id: Some(contact.id),
            })
        }
        (None, Some(raw)) => {
            let profile = crate::accounts::users::get(db, user.id).await?;
            Ok(Callee {
                number: crate::contacts::phone::normalize(
                    "to_number",
                    raw,
                    &profile.default_region,
                )?,
                contact_id: None,
                variables: Map::new(),
            })
        }
        (None, None) => Err(AppError::validation(
            "to_number",
            "give a contact_id or a to_number",
        )),
    }
}

/// A user's calls in flight against the limit on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub limit: u64,
    pub in_flight: u64,
}

impl Capacity {
    pub fn available(self) -> u64 {
        self.limit.saturating_sub(self.in_flight)
    }
}

/// How many calls the user has in flight, and how many they may have.
pub async fn capacity(services: &Services, user_id: Uuid) -> AppResult<Capacity> {
    capacity_in(
        &services.db,
        services.config.elevenlabs.max_concurrent_calls,
        user_id,
    )
    .await
}

/// `capacity` read in the caller's transaction (`default_limit` when the account has none).
pub async fn capacity_in<C: sea_orm::ConnectionTrait>(
    db: &C,
    default_limit: u64,
    user_id: Uuid,
) -> AppResult<Capacity> {
    let in_flight = calls::Entity::find()
        .filter(calls::Column::UserId.eq(user_id))
        .filter(calls::Column::Status.is_in([CallStatus::Initiated, CallStatus::InProgress]))
        .count(db)
        .await?;
    // An admin's limit for the account, else the platform's.
    use sea_orm::QuerySelect;
    let own: Option<Option<i32>> = crate::entities::users::Entity::find_by_id(user_id)
        .select_only()
        .column(crate::entities::users::Column::ConcurrentCallsLimit)
        .into_tuple()
        .one(db)
        .await?;
    Ok(Capacity {
        limit: own
            .flatten()
            .map(|l| l.max(0) as u64)
            .unwrap_or(default_limit),
        in_flight,
    })
}

/// Credit left, and fewer calls in flight than the limit.
async fn check_capacity(services: &Services, user: &CurrentUser) -> AppResult<()> {
    credits::require_positive_balance(&services.db, user.id).await?;
    let Capacity { limit, in_flight } = capacity(services, user.id).await?;
    if in_flight >= limit {
        return Err(AppError::RateLimited {
            code: "concurrency_limit",
            message: format!("at most {limit} calls at once"),
            retry_after_secs: 30,
        });
    }
    Ok(())
}

/// The telephony provider of the agent's number and the endpoint that dials through it.
pub(crate) async fn dial_path(
    client: &ElevenLabs,
    phone_number_id: &str,
) -> AppResult<(String, &'static str)> {
    let numbers = client
        .request(
            Method::GET,
            "/v1/convai/phone-numbers",
            None,
            Retry::Idempotent,
            "phone_number",
        )
        .await?;
    let provider = numbers
        .as_array()
        .and_then(|list| {
            list.iter()
                .find(|n| n.get("phone_number_id").and_then(Value::as_str) == Some(phone_number_id))
        })
        .and_then(|n| n.get("provider").and_then(Value::as_str).map(String::from))
        .ok_or_else(|| {
            conflict(
                "phone_number_unknown",
                "the agent's phone number no longer exists on ElevenLabs",
            )
        })?;
    let path = match provider.as_str() {
        "twilio" => "/v1/convai/twilio/outbound-call",
        "sip_trunk" => "/v1/convai/sip-trunk/outbound-call",
        other => {
            return Err(AppError::Provider {
                code: "provider_error",
                message: format!("unsupported phone provider {other}"),
            });
        }
    };
    Ok((provider, path))
}

/// The call row, `initiated`, before the dial.
async fn open(
    services: &Services,
    user: &CurrentUser,
    agent: &crate::entities::agents::Model,
    callee: &Callee,
    provider: String,
) -> AppResult<calls::Model> {
    let row = outbound_row(
        user.id,
        agent.id,
        callee.contact_id,
        &callee.number,
        json!({"provider": provider}),
    );
    Ok(row.insert(&services.db).await?)
}

/// An outbound call, `initiated`, as it is written before ElevenLabs is asked to dial.
pub(crate) fn outbound_row(
    user_id: Uuid,
    agent_id: Uuid,
    contact_id: Option<Uuid>,
    number: &str,
    metadata: Value,
) -> calls::ActiveModel {
    let now = Utc::now();
    calls::ActiveModel {
        id: Set(crate::platform::ids::next()),
        user_id: Set(user_id),
        agent_id: Set(Some(agent_id)),
        contact_id: Set(contact_id),
        channel: Set(Channel::Call),
        direction: Set(Direction::Outbound),
        elevenlabs_conversation_id: Set(None),
        phone_number: Set(Some(number.to_string())),
        status: Set(CallStatus::Initiated),
        failure_reason: Set(None),
        duration_secs: Set(0),
        credits_charged: Set(0),
        summary: Set(None),
        summary_title: Set(None),
        call_successful: Set(None),
        recording_key: Set(None),
        metadata: Set(metadata),
        started_at: Set(Some(now)),
        completed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        transcript_text: Set(None),
        lead_score: Set(None),
        lead_tag: Set(None),
    }
}

/// Records ElevenLabs' answer to the dial: the conversation id of a placed call, or the failure
/// of a refused one (then the provider's reason is the caller's error).
async fn dialled(
    services: &Services,
    call: calls::Model,
    answer: AppResult<Value>,
) -> AppResult<calls::Model> {
    let conversation = placed_conversation(&answer);
    let refusal = match (answer, conversation) {
        (Ok(_), Some(conversation)) => {
            let mut active: calls::ActiveModel = call.into();
            active.elevenlabs_conversation_id = Set(Some(conversation));
            active.updated_at = Set(Utc::now());
            return Ok(active.update(&services.db).await?);
        }
        (Ok(answer), None) => AppError::Provider {
            code: "provider_error",
            message: answer
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("the call was not placed")
                .to_string(),
        },
        (Err(e), _) => e,
    };
    lifecycle::fail_alone(services, call, refusal.public_message()).await?;
    Err(refusal)
}

/// Calls whose webhook never came: each call still in flight `CALL_RECONCILE_AFTER_SECS` after
/// its last change is looked up on ElevenLabs, and a finished conversation is fed to the same
/// inbox the webhook uses (deduplicated with it). Returns how many calls were looked up.
pub async fn reconcile(services: &Services, limit: u64) -> AppResult<usize> {
    use sea_orm::QuerySelect;

    use crate::{
        platform::inbox::{self, Delivery},
        platform::jobs::JobKind,
    };
    let db = &services.db;
    let cutoff = Utc::now()
        - chrono::Duration::seconds(services.config.elevenlabs.call_reconcile_after_secs as i64);
    let stuck = calls::Entity::find()
        .filter(calls::Column::Status.is_in([CallStatus::Initiated, CallStatus::InProgress]))
        .filter(calls::Column::ElevenlabsConversationId.is_not_null())
        .filter(calls::Column::UpdatedAt.lt(cutoff))
        .limit(limit)
        .all(db)
        .await?;
    for call in &stuck {
        // Asked with the key the call was placed with (the account's own, if it has one).
        let client = ElevenLabs::for_owner(services, call.user_id).await?;
        let conversation = call.elevenlabs_conversation_id.clone().unwrap_or_default();
        // Looked at now: the next look is another interval away.
        let touch = || {
            let mut active: calls::ActiveModel = call.clone().into();
            active.updated_at = Set(Utc::now());
            active
        };
        let answer = client
            .request(
                Method::GET,
                &format!("/v1/convai/conversations/{conversation}"),
                None,
                Retry::Idempotent,
                "conversation",
            )
            .await;
        let data = match answer {
            Ok(data) => data,
            Err(AppError::NotFound { .. }) => {
                lifecycle::fail_alone(services, call.clone(), "conversation unknown to ElevenLabs")
                    .await?;
                continue;
            }
            Err(e) => {
                tracing::warn!(%conversation, error = %e, "could not look up a stuck call");
                continue;
            }
        };
        let (event_type, event) = match data.get("status").and_then(Value::as_str) {
            Some("done") => (
                "post_call_transcription",
                json!({"type": "post_call_transcription", "event_timestamp": Utc::now().timestamp(), "data": data}),
            ),
            Some("failed") => (
                "call_initiation_failure",
                json!({"type": "call_initiation_failure", "event_timestamp": Utc::now().timestamp(),
                "data": {"agent_id": data.get("agent_id"), "conversation_id": conversation, "failure_reason": "failed"}}),
            ),
            _ => {
                // Still running there: look again after another interval.
                touch().update(db).await?;
                continue;
            }
        };
        let payload = event.to_string();
        let key = format!("{event_type}:{conversation}");
        inbox::receive(
            services,
            JobKind::ConversationEvent,
            Delivery {
                provider: "elevenlabs",
                external_id: &key,
                event_type,
                payload: payload.as_bytes(),
            },
        )
        .await?;
        touch().update(db).await?;
        tracing::info!(%conversation, "stuck call reconciled from ElevenLabs");
    }
    Ok(stuck.len())
}

/// One of the user's calls; another user's is not found.
pub async fn get(
    db: &sea_orm::DatabaseConnection,
    owner: UserId,
    id: Uuid,
) -> AppResult<calls::Model> {
    of_channel(db, owner, id, Channel::Call).await
}

/// The user's call or chat `id`, only in `channel` (another's, or the other kind, is a 404).
pub async fn of_channel(
    db: &sea_orm::DatabaseConnection,
    owner: UserId,
    id: Uuid,
    channel: Channel,
) -> AppResult<calls::Model> {
    let what = if channel == Channel::Chat {
        "chat"
    } else {
        "call"
    };
    let also = sea_orm::Condition::all().add(calls::Column::Channel.eq(channel));
    owned::find_where::<calls::Entity, _>(db, owner, id, also, what).await
}

/// The call's lead score, if it was scored.
pub async fn lead_of(
    db: &sea_orm::DatabaseConnection,
    call_id: Uuid,
) -> AppResult<Option<crate::entities::lead_analytics::Model>> {
    use crate::entities::lead_analytics;
    Ok(lead_analytics::Entity::find()
        .filter(lead_analytics::Column::CallId.eq(call_id))
        .one(db)
        .await?)
}

/// The local file of one of the user's call recordings.
pub async fn recording_path(
    services: &Services,
    user_id: Uuid,
    id: Uuid,
) -> AppResult<std::path::PathBuf> {
    let call = get(&services.db, UserId(user_id), id).await?;
    let key = call
        .recording_key
        .ok_or_else(|| AppError::not_found("recording"))?;
    services.blobs.local_path(&key).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            AppError::not_found("recording")
        } else {
            AppError::internal(e)
        }
    })
}
