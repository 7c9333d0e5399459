//! Calls: starting outbound calls through ElevenLabs. The call row starts `initiated` with the
//! conversation id; the post-call webhook completes it.

pub use crate::entities::calls::{CallStatus, Channel, Direction};

pub mod conversations;
pub mod history;
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

/// Starts an outbound call from an active call agent.
pub async fn start(
    services: &Services,
    user: &CurrentUser,
    req: StartCall,
) -> AppResult<calls::Model> {
    let db = &services.db;
    user.require_verified_email()?;
    for (key, value) in &req.dynamic_variables {
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
    let agent = agents::get(services, user, req.agent_id).await?;
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
    let (Some(el_agent), Some(phone_number_id)) = (
        agent.elevenlabs_agent_id.clone(),
        agent.phone_number_id.clone(),
    ) else {
        return Err(conflict(
            "agent_has_no_phone_number",
            "give the agent a phone number to call from",
        ));
    };
    let profile = crate::accounts::users::get(db, user.id).await?;
    let mut variables = Map::new();
    let (to_number, contact_id) = match (req.contact_id, &req.to_number) {
        (Some(contact_id), _) => {
            let contact = contacts::Entity::find_by_id(contact_id)
                .filter(contacts::Column::UserId.eq(user.id))
                .one(db)
                .await?
                .ok_or_else(|| AppError::not_found("contact"))?;
            if contact.do_not_call {
                return Err(conflict(
                    "contact_do_not_call",
                    "this contact asked not to be called",
                ));
            }
            variables.extend(crate::contacts::dynamic_variables(&contact));
            (contact.phone_e164, Some(contact.id))
        }
        (None, Some(raw)) => (
            crate::contacts::phone::normalize("to_number", raw, &profile.default_region)?,
            None,
        ),
        (None, None) => {
            return Err(AppError::validation(
                "to_number",
                "give a contact_id or a to_number",
            ));
        }
    };
    variables.extend(req.dynamic_variables);
    credits::require_positive_balance(db, user.id).await?;
    let in_flight = calls::Entity::find()
        .filter(calls::Column::UserId.eq(user.id))
        .filter(calls::Column::Status.is_in([CallStatus::Initiated, CallStatus::InProgress]))
        .count(db)
        .await?;
    if in_flight >= services.config.max_concurrent_calls {
        return Err(AppError::RateLimited {
            code: "concurrency_limit",
            message: format!(
                "at most {} calls at once",
                services.config.max_concurrent_calls
            ),
            retry_after_secs: 30,
        });
    }

    let client = ElevenLabs::for_services(services).await?;
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
            list.iter().find(|n| {
                n.get("phone_number_id").and_then(Value::as_str) == Some(phone_number_id.as_str())
            })
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

    // The row exists before ElevenLabs dials, so a crash in between leaves a trace.
    let now = Utc::now();
    let call = calls::ActiveModel {
        id: Set(crate::platform::ids::next()),
        user_id: Set(user.id),
        agent_id: Set(Some(agent.id)),
        contact_id: Set(contact_id),
        channel: Set(Channel::Call),
        direction: Set(Direction::Outbound),
        elevenlabs_conversation_id: Set(None),
        phone_number: Set(Some(to_number.clone())),
        status: Set(CallStatus::Initiated),
        failure_reason: Set(None),
        duration_secs: Set(0),
        credits_charged: Set(0),
        summary: Set(None),
        summary_title: Set(None),
        call_successful: Set(None),
        recording_key: Set(None),
        metadata: Set(json!({"provider": provider})),
        started_at: Set(Some(now)),
        completed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        transcript_text: Set(None),
        lead_score: Set(None),
        lead_tag: Set(None),
    }
    .insert(db)
    .await?;
    let body = json!({
        "agent_id": el_agent,
        "agent_phone_number_id": phone_number_id,
        "to_number": to_number,
        "conversation_initiation_client_data": {"dynamic_variables": Value::Object(variables)},
    });
    let answer = client
        .request(
            Method::POST,
            path,
            Some(&body),
            Retry::OnlyIfUnsent,
            "agent",
        )
        .await;
    let mut active: calls::ActiveModel = call.into();
    active.updated_at = Set(Utc::now());
    let conversation = answer.as_ref().ok().and_then(|a| {
        a.get("success").and_then(Value::as_bool).filter(|ok| *ok)?;
        a.get("conversation_id")
            .and_then(Value::as_str)
            .map(String::from)
    });
    match (answer, conversation) {
        (Ok(_), Some(conversation)) => {
            active.elevenlabs_conversation_id = Set(Some(conversation));
            Ok(active.update(db).await?)
        }
        (Ok(answer), None) => {
            let message = answer
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("the call was not placed")
                .to_string();
            active.status = Set(CallStatus::Failed);
            active.failure_reason = Set(Some(message.clone()));
            active.update(db).await?;
            Err(AppError::Provider {
                code: "provider_error",
                message,
            })
        }
        (Err(e), _) => {
            active.status = Set(CallStatus::Failed);
            active.failure_reason = Set(Some(e.public_message()));
            active.update(db).await?;
            Err(e)
        }
    }
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
    let cutoff =
        Utc::now() - chrono::Duration::seconds(services.config.call_reconcile_after_secs as i64);
    let stuck = calls::Entity::find()
        .filter(calls::Column::Status.is_in([CallStatus::Initiated, CallStatus::InProgress]))
        .filter(calls::Column::ElevenlabsConversationId.is_not_null())
        .filter(calls::Column::UpdatedAt.lt(cutoff))
        .limit(limit)
        .all(db)
        .await?;
    let client = ElevenLabs::for_services(services).await?;
    for call in &stuck {
        let conversation = call.elevenlabs_conversation_id.clone().unwrap_or_default();
        let touch = |status: Option<(CallStatus, &str)>| {
            let mut active: calls::ActiveModel = call.clone().into();
            if let Some((status, reason)) = status {
                active.status = Set(status);
                active.failure_reason = Set(Some(reason.into()));
            }
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
                touch(Some((
                    CallStatus::Failed,
                    "conversation unknown to ElevenLabs",
                )))
                .update(db)
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
                touch(None).update(db).await?;
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
        touch(None).update(db).await?;
        tracing::info!(%conversation, "stuck call reconciled from ElevenLabs");
    }
    Ok(stuck.len())
}

/// One of the user's calls; another user's is not found.
pub async fn get(
    db: &sea_orm::DatabaseConnection,
    user_id: Uuid,
    id: Uuid,
) -> AppResult<calls::Model> {
    of_channel(db, user_id, id, Channel::Call).await
}

/// The user's call or chat `id`, only in `channel` (another's, or the other kind, is a 404).
pub async fn of_channel(
    db: &sea_orm::DatabaseConnection,
    user_id: Uuid,
    id: Uuid,
    channel: Channel,
) -> AppResult<calls::Model> {
    calls::Entity::find_by_id(id)
        .filter(calls::Column::UserId.eq(user_id))
        .filter(calls::Column::Channel.eq(channel))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::not_found(if channel == Channel::Chat {
                "chat"
            } else {
                "call"
            })
        })
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
    let call = get(&services.db, user_id, id).await?;
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
