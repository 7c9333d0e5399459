//! ElevenLabs post-call webhooks: signature verification at intake, and applying a stored event
//! in the worker — call, transcript turns, lead analytics, credit charge and contact, in one
//! transaction, once per conversation.

mod audio;
mod intake;
pub mod lead;

pub use intake::{Intake, receive};

use chrono::{TimeZone, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter,
    sea_query::OnConflict,
};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

use crate::{
    Config, Services,
    calls::{STATUS_COMPLETED, STATUS_FAILED},
    credits,
    dashboard::rollups,
    entities::{agents, calls, contacts, lead_analytics, transcripts, webhook_events},
    error::{AppError, AppResult},
    jobs::JobError,
    live::{LiveEvent, LiveKind},
    notifications::{self, NewNotification},
    webhooks,
};

/// Oldest and most future-dated signature timestamps accepted (ElevenLabs' SDKs use 30 min).
const MAX_AGE_SECS: i64 = 30 * 60;
const MAX_FUTURE_SECS: i64 = 5 * 60;

/// `ElevenLabs-Signature: t=<unix>,v0=<hex HMAC-SHA256(secret, "t.body")>`, checked against
/// every configured secret (two during a rotation) while the body streams past, in constant
/// time, before anything is parsed.
pub struct SignatureCheck {
    signatures: Vec<Vec<u8>>,
    macs: Vec<Hmac<Sha256>>,
}

impl SignatureCheck {
    /// Parses the header and rejects a stale or future timestamp before the body is read.
    pub fn start(config: &Config, header: Option<&str>, now: i64) -> AppResult<Self> {
        if config.elevenlabs_webhook_secrets.is_empty() {
            return Err(AppError::unavailable(
                "webhook_not_configured",
                "the ElevenLabs webhook secret is not configured",
            ));
        }
        let header = header.ok_or_else(|| {
            AppError::unauthorized(
                "missing_signature",
                "the ElevenLabs-Signature header is missing",
            )
        })?;
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
                Some(("v0", sig)) => signatures.push(hex::decode(sig).map_err(|_| invalid())?),
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or_else(invalid)?;
        if now - timestamp > MAX_AGE_SECS || timestamp - now > MAX_FUTURE_SECS {
            return Err(AppError::unauthorized(
                "stale_signature",
                "the signature timestamp is too old or in the future",
            ));
        }
        let macs = config
            .elevenlabs_webhook_secrets
            .iter()
            .filter_map(|secret| Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok())
            .map(|mut mac| {
                mac.update(timestamp.to_string().as_bytes());
                mac.update(b".");
                mac
            })
            .collect();
        Ok(Self { signatures, macs })
    }

    pub fn update(&mut self, chunk: &[u8]) {
        for mac in &mut self.macs {
            mac.update(chunk);
        }
    }

    pub fn finish(self) -> AppResult<()> {
        let signatures = self.signatures;
        let matches = self.macs.into_iter().any(|mac| {
            signatures
                .iter()
                .any(|sig| mac.clone().verify_slice(sig).is_ok())
        });
        if matches { Ok(()) } else { Err(invalid()) }
    }
}

fn invalid() -> AppError {
    AppError::unauthorized(
        "invalid_signature",
        "the ElevenLabs signature does not match",
    )
}

/// Verifies a body already in memory.
pub fn verify(config: &Config, header: Option<&str>, body: &[u8], now: i64) -> AppResult<()> {
    let mut check = SignatureCheck::start(config, header, now)?;
    check.update(body);
    check.finish()
}

/// The envelope fields the intake needs.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    #[serde(rename = "type")]
    pub event_type: String,
    pub data: EnvelopeData,
}

#[derive(Debug, Deserialize)]
pub struct EnvelopeData {
    pub conversation_id: String,
    #[serde(default)]
    pub agent_id: Option<String>,
}

fn not_an_event() -> AppError {
    AppError::bad_request("invalid_event", "not an ElevenLabs post-call event")
}

impl Envelope {
    pub fn parse(body: &[u8]) -> AppResult<Self> {
        serde_json::from_slice(body).map_err(|_| not_an_event())
    }

    /// Reads the envelope from a large body on disk without holding it: the audio string is
    /// skipped, not buffered.
    pub fn read(reader: impl std::io::Read) -> AppResult<Self> {
        serde_json::from_reader(reader).map_err(|_| not_an_event())
    }

    /// Retries are byte-identical: the type and conversation identify a delivery.
    pub fn dedup_key(&self) -> String {
        format!("{}:{}", self.event_type, self.data.conversation_id)
    }
}

pub(crate) fn app_to_job(e: AppError) -> JobError {
    JobError::Retryable(e.to_string())
}

/// Applies one stored ElevenLabs event; safe to run any number of times.
pub async fn apply(services: &Services, inbox_id: Uuid) -> Result<(), JobError> {
    let Some((row, event)) = webhooks::pending(&services.db, inbox_id).await? else {
        return Ok(());
    };
    let data = &event["data"];
    let el_agent = data
        .get("agent_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let agent = agents::Entity::find()
        .filter(agents::Column::ElevenlabsAgentId.eq(el_agent))
        .one(&services.db)
        .await?;
    let Some(agent) = agent else {
        tracing::warn!(event = %row.external_id, el_agent, "post-call event for an unknown agent");
        return webhooks::settle(
            &services.db,
            &row,
            webhooks::STATUS_UNROUTABLE,
            Some(format!("unknown agent {el_agent}")),
            None,
        )
        .await;
    };
    match row.event_type.as_str() {
        "post_call_transcription" => transcription(services, &row, &agent, data).await,
        "post_call_audio" => audio::attach(services, &row, &agent, &event).await,
        "call_initiation_failure" => initiation_failure(services, &row, &agent, data).await,
        _ => {
            webhooks::settle(
                &services.db,
                &row,
                webhooks::STATUS_IGNORED,
                None,
                Some(agent.user_id),
            )
            .await
        }
    }
}

pub(crate) fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |node, key| node.get(*key))?
        .as_str()
}

fn int(v: &Value, path: &[&str]) -> Option<i64> {
    path.iter()
        .try_fold(v, |node, key| node.get(*key))?
        .as_i64()
}

/// The call of a conversation, created when it was not started through us (inbound calls);
/// `true` when it was created now.
pub(crate) async fn call_for<C: sea_orm::ConnectionTrait>(
    txn: &C,
    agent: &agents::Model,
    conversation: &str,
    direction: &str,
) -> AppResult<(calls::Model, bool)> {
    let now = Utc::now();
    let row = calls::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(agent.user_id),
        agent_id: Set(Some(agent.id)),
        contact_id: Set(None),
        channel: Set(if agent.kind == crate::agents::KIND_CHAT {
            "chat"
        } else {
            "call"
        }
        .into()),
        direction: Set(direction.into()),
        elevenlabs_conversation_id: Set(Some(conversation.into())),
        phone_number: Set(None),
        status: Set(crate::calls::STATUS_IN_PROGRESS.into()),
        failure_reason: Set(None),
        duration_secs: Set(0),
        credits_charged: Set(0),
        summary: Set(None),
        summary_title: Set(None),
        call_successful: Set(None),
        recording_key: Set(None),
        metadata: Set(json!({})),
        started_at: Set(None),
        completed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        transcript_text: Set(None),
        lead_score: Set(None),
        lead_tag: Set(None),
    };
    let inserted = calls::Entity::insert(row)
        .on_conflict(
            OnConflict::column(calls::Column::ElevenlabsConversationId)
                .do_nothing()
                .to_owned(),
        )
        .exec_with_returning(txn)
        .await;
    match inserted {
        Ok(call) => Ok((call, true)),
        Err(sea_orm::DbErr::RecordNotInserted | sea_orm::DbErr::RecordNotFound(_)) => {
            let call = calls::Entity::find()
                .filter(calls::Column::ElevenlabsConversationId.eq(conversation))
                .one(txn)
                .await?
                .ok_or_else(|| AppError::internal("call row vanished"))?;
            Ok((call, false))
        }
        Err(e) => Err(e.into()),
    }
}

/// The owner's contact for an external number, created if new.
async fn contact_for<C: sea_orm::ConnectionTrait>(
    txn: &C,
    user_id: Uuid,
    raw: &str,
    name: Option<&str>,
) -> AppResult<Option<contacts::Model>> {
    let Ok(phone) = crate::phone::normalize("external_number", raw, "US") else {
        return Ok(None);
    };
    let now = Utc::now();
    let row = contacts::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        name: Set(name.unwrap_or(&phone).to_string()),
        phone_e164: Set(phone.clone()),
        phone_raw: Set(raw.to_string()),
        email: Set(None),
        company: Set(None),
        tags: Set(json!([])),
        notes: Set(None),
        custom_fields: Set(json!({})),
        do_not_call: Set(false),
        last_call_summary: Set(None),
        last_interaction_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let inserted = contacts::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([contacts::Column::UserId, contacts::Column::PhoneE164])
                .do_nothing()
                .to_owned(),
        )
        .exec_with_returning(txn)
        .await;
    match inserted {
        Ok(contact) => Ok(Some(contact)),
        Err(sea_orm::DbErr::RecordNotInserted | sea_orm::DbErr::RecordNotFound(_)) => {
            Ok(contacts::Entity::find()
                .filter(contacts::Column::UserId.eq(user_id))
                .filter(contacts::Column::PhoneE164.eq(phone))
                .one(txn)
                .await?)
        }
        Err(e) => Err(e.into()),
    }
}

async fn transcription(
    services: &Services,
    row: &webhook_events::Model,
    agent: &agents::Model,
    data: &Value,
) -> Result<(), JobError> {
    let conversation = text(data, &["conversation_id"])
        .unwrap_or_default()
        .to_string();
    let mut problems = Vec::new();
    let duration = int(data, &["metadata", "call_duration_secs"]).filter(|secs| *secs >= 0);
    if duration.is_none() {
        problems.push("metadata.call_duration_secs missing or invalid".to_string());
    }
    let direction = text(data, &["metadata", "phone_call", "direction"]).unwrap_or("inbound");
    // A chat agent's conversation is a chat: no telephony, its own metering rule.
    let is_chat = agent.kind == crate::agents::KIND_CHAT;
    // Read before the transaction: nothing waits for another connection while holding one.
    let settings = services.settings().await;
    let txn = crate::db::begin_write(&services.db).await?;
    let (call, created) = call_for(&txn, agent, &conversation, direction)
        .await
        .map_err(app_to_job)?;
    if call.status == STATUS_COMPLETED {
        drop(txn);
        return webhooks::settle(
            &services.db,
            row,
            webhooks::STATUS_PROCESSED,
            None,
            Some(agent.user_id),
        )
        .await;
    }
    let visitor = is_chat.then(|| visitor_of(data));
    let external = text(data, &["metadata", "phone_call", "external_number"]).or_else(|| {
        visitor
            .as_ref()
            .and_then(|v| v.get("phone"))
            .and_then(Value::as_str)
    });
    let contact_name = text(
        data,
        &[
            "conversation_initiation_client_data",
            "dynamic_variables",
            "name",
        ],
    )
    .or_else(|| {
        text(
            data,
            &[
                "conversation_initiation_client_data",
                "dynamic_variables",
                "contact_name",
            ],
        )
    });
    let contact = match (call.contact_id, external) {
        (Some(id), _) => contacts::Entity::find_by_id(id).one(&txn).await?,
        (None, Some(number)) => contact_for(&txn, agent.user_id, number, contact_name)
            .await
            .map_err(app_to_job)?,
        (None, None) => None,
    };

    // Transcript turns and lead score are replaced as a whole, so nothing can be duplicated; a
    // call created just now has neither.
    let before = call.clone();
    let mut old_lead = None;
    if !created {
        old_lead = lead_analytics::Entity::find()
            .filter(lead_analytics::Column::CallId.eq(call.id))
            .one(&txn)
            .await?;
        transcripts::Entity::delete_many()
            .filter(transcripts::Column::CallId.eq(call.id))
            .exec(&txn)
            .await?;
        lead_analytics::Entity::delete_many()
            .filter(lead_analytics::Column::CallId.eq(call.id))
            .exec(&txn)
            .await?;
    }
    let turns = data
        .get("transcript")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_else(|| {
            problems.push("transcript missing".into());
            Vec::new()
        });
    let now = Utc::now();
    let mut full_text = Vec::new();
    let rows: Vec<transcripts::ActiveModel> = turns
        .iter()
        .enumerate()
        .filter_map(|(seq, turn)| {
            let message = turn.get("message").and_then(Value::as_str)?;
            let speaker = if turn.get("role").and_then(Value::as_str) == Some("agent") {
                "agent"
            } else {
                "user"
            };
            full_text.push(format!("{speaker}: {message}"));
            let calls = non_empty(turn.get("tool_calls"));
            let results = non_empty(turn.get("tool_results"));
            let tool_calls = (calls.is_some() || results.is_some())
                .then(|| json!({"calls": calls, "results": results}));
            Some(transcripts::ActiveModel {
                id: Set(Uuid::now_v7()),
                call_id: Set(call.id),
                seq: Set(seq as i32),
                speaker: Set(speaker.into()),
                text: Set(message.into()),
                time_in_call_secs: Set(turn
                    .get("time_in_call_secs")
                    .and_then(Value::as_i64)
                    .unwrap_or(0) as i32),
                tool_calls: Set(tool_calls),
                created_at: Set(now),
            })
        })
        .collect();
    if !rows.is_empty() {
        transcripts::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
    }

    // Lead analytics: one row per call (history), parsed tolerantly.
    let analysis = &data["analysis"];
    let scores = lead::parse(analysis);
    let lead = scores
        .to_row(call.id, agent.user_id, contact.as_ref().map(|c| c.id))
        .insert(&txn)
        .await?;

    // What the charge will be; it is applied last, because it locks the owner's balance row
    // (every call of that owner waits on it) and the lock is held until the commit.
    let charged = match duration {
        Some(secs) if is_chat => {
            credits::chat_cost(settings.chat_billing, secs).map_err(app_to_job)?
        }
        Some(secs) => credits::call_cost(secs).map_err(app_to_job)?,
        None => 0,
    };
    let summary = text(analysis, &["transcript_summary"]).map(String::from);
    let started = int(data, &["metadata", "start_time_unix_secs"])
        .and_then(|t| Utc.timestamp_opt(t, 0).single());
    let mut metadata = json!({
        "termination_reason": text(data, &["metadata", "termination_reason"]),
        "cost": int(data, &["metadata", "cost"]),
        "main_language": text(data, &["metadata", "main_language"]),
    });
    if let Some(visitor) = &visitor {
        metadata["visitor"] = visitor.clone();
    }
    if !problems.is_empty() {
        metadata["problems"] = json!(problems);
        tracing::warn!(conversation, ?problems, "post-call event was incomplete");
    }
    let call_id = call.id;
    let contact_id = contact.as_ref().map(|c| c.id);
    let mut active: calls::ActiveModel = call.into();
    active.status = Set(STATUS_COMPLETED.into());
    active.duration_secs = Set(duration.unwrap_or(0) as i32);
    active.credits_charged = Set(charged);
    active.summary = Set(summary);
    active.summary_title = Set(text(analysis, &["call_summary_title"]).map(String::from));
    active.call_successful = Set(text(analysis, &["call_successful"]).map(String::from));
    active.contact_id = Set(contact.as_ref().map(|c| c.id));
    active.direction = Set(direction.into());
    if let Some(number) = external.filter(|_| !is_chat) {
        active.phone_number = Set(Some(number.to_string()));
    }
    if let Some(started) = started {
        active.started_at = Set(Some(started));
    }
    active.metadata = Set(metadata);
    active.transcript_text = Set(Some(full_text.join("\n")));
    active.lead_score = Set(Some(lead.total_score));
    active.lead_tag = Set(Some(lead.lead_status_tag.clone()));
    active.completed_at = Set(Some(now));
    active.updated_at = Set(now);
    let call = active.update(&txn).await?;
    if let Some(contact) = &contact {
        // Counted once: this point is reached only when the call becomes completed.
        crate::contacts::record_interaction(&txn, contact.id, &call, &lead, now)
            .await
            .map_err(app_to_job)?;
    }
    // Before the charge, which must stay last (see above).
    rollups::shift(
        &txn,
        Some((&before, old_lead.as_ref())),
        (&call, Some(&lead)),
    )
    .await
    .map_err(app_to_job)?;
    webhooks::settle(
        &txn,
        row,
        webhooks::STATUS_PROCESSED,
        None,
        Some(agent.user_id),
    )
    .await?;
    // The charge: once per conversation, even below zero.
    let mut low_balance = false;
    let mut credit_event = None;
    if let Some(secs) = duration.filter(|_| charged > 0 || !is_chat) {
        let kind = if is_chat { "Chat" } else { "Call" };
        let applied = credits::charge_conversation(
            &txn,
            agent.user_id,
            &conversation,
            charged,
            format!("{kind} of {}:{:02}", secs / 60, secs % 60),
            Some(agent.id),
            Some(call_id),
        )
        .await
        .map_err(app_to_job)?;
        if applied.created {
            low_balance = crossed_low_balance(settings.low_balance_threshold, &applied.row);
        }
        credit_event = applied.live_event();
    }
    let mut events = vec![
        LiveEvent::new(
            agent.user_id,
            LiveKind::CallCompleted,
            json!({
                "call_id": call_id,
                "channel": call.channel,
                "conversation_id": conversation,
                "agent_id": agent.id,
                "contact_id": contact_id,
                "status": call.status,
                "duration_secs": call.duration_secs,
                "credits_charged": charged,
                "summary_title": call.summary_title,
            }),
        ),
        LiveEvent::new(
            agent.user_id,
            LiveKind::LeadScored,
            json!({
                "call_id": call_id,
                "contact_id": contact_id,
                "lead_id": lead.id,
                "total_score": lead.total_score,
                "lead_status_tag": lead.lead_status_tag,
                "derived": lead.data_collection["derived"],
            }),
        ),
    ];
    events.extend(credit_event);
    if !problems.is_empty() {
        let (_, event) = notifications::create_in(
            &txn,
            NewNotification {
                user_id: agent.user_id,
                kind: notifications::KIND_CALL_INCOMPLETE,
                title: "A call report arrived incomplete".into(),
                body: format!(
                    "ElevenLabs sent the report of conversation {conversation} without: {}. What arrived is saved.",
                    problems.join("; ")
                ),
                data: json!({"call_id": call_id, "conversation_id": conversation, "problems": problems}),
            },
        )
        .await
        .map_err(app_to_job)?;
        events.push(event);
    }
    let low_balance_job = if low_balance {
        let (job, event) = warn_low_balance(
            services,
            &txn,
            agent.user_id,
            settings.low_balance_threshold,
        )
        .await?;
        events.push(event);
        Some(job)
    } else {
        None
    };
    txn.commit().await?;
    if let Some(job) = low_balance_job {
        crate::jobs::ring(&services.db, &services.queue, &job).await;
    }
    crate::live::publish(services, events).await;
    Ok(())
}

async fn initiation_failure(
    services: &Services,
    row: &webhook_events::Model,
    agent: &agents::Model,
    data: &Value,
) -> Result<(), JobError> {
    let conversation = text(data, &["conversation_id"]).unwrap_or_default();
    let reason = text(data, &["failure_reason"])
        .unwrap_or("unknown")
        .to_string();
    let txn = crate::db::begin_write(&services.db).await?;
    let (call, _) = call_for(&txn, agent, conversation, "outbound")
        .await
        .map_err(app_to_job)?;
    let mut events = Vec::new();
    if call.status != STATUS_COMPLETED && call.status != STATUS_FAILED {
        events.push(LiveEvent::new(
            agent.user_id,
            LiveKind::CallFailed,
            json!({"call_id": call.id, "conversation_id": conversation, "failure_reason": reason}),
        ));
        let before = call.clone();
        let mut active: calls::ActiveModel = call.into();
        active.status = Set(STATUS_FAILED.into());
        active.failure_reason = Set(Some(reason));
        active.completed_at = Set(Some(Utc::now()));
        active.updated_at = Set(Utc::now());
        let failed = active.update(&txn).await?;
        rollups::shift(&txn, Some((&before, None)), (&failed, None))
            .await
            .map_err(app_to_job)?;
    }
    webhooks::settle(
        &txn,
        row,
        webhooks::STATUS_PROCESSED,
        None,
        Some(agent.user_id),
    )
    .await?;
    txn.commit().await?;
    crate::live::publish(services, events).await;
    Ok(())
}

/// Whether this charge took the balance from above the low-balance threshold to at or below it:
/// one warning per crossing, not one per call while low.
fn crossed_low_balance(
    threshold: i64,
    charge: &crate::entities::credit_transactions::Model,
) -> bool {
    let before = charge.balance_after - charge.amount;
    before > threshold && charge.balance_after <= threshold
}

/// Who a chat's visitor said they are: the widget's dynamic variables, else what the agent
/// collected (`name`, `email`, `phone` data collection items).
fn visitor_of(data: &Value) -> Value {
    let field = |key: &str| {
        text(
            data,
            &[
                "conversation_initiation_client_data",
                "dynamic_variables",
                key,
            ],
        )
        .or_else(|| text(data, &["analysis", "data_collection_results", key, "value"]))
        .map(str::trim)
        .filter(|v| !v.is_empty())
    };
    json!({
        "name": field("name").or_else(|| field("contact_name")),
        "email": field("email"),
        "phone": field("phone").or_else(|| field("phone_number")),
    })
}

/// A JSON array or object with something in it.
fn non_empty(v: Option<&Value>) -> Option<Value> {
    v.filter(|v| match v {
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Null => false,
        _ => true,
    })
    .cloned()
}

/// Queues the low-balance email and notification in the charge's transaction: exactly one per
/// crossing, because the charge itself happens once.
async fn warn_low_balance<C: sea_orm::ConnectionTrait>(
    services: &Services,
    txn: &C,
    user_id: Uuid,
    threshold: i64,
) -> Result<(crate::entities::background_jobs::Model, LiveEvent), JobError> {
    let user = crate::users::get_in(txn, user_id)
        .await
        .map_err(app_to_job)?;
    let (_, job) = crate::email::queue_email_in(
        txn,
        &services.config,
        crate::email::OutgoingEmail {
            user_id: Some(user.id),
            to: user.email.clone(),
            subject: "Your Switchboard credits are running low".into(),
            text_body: format!(
                "Your balance is {} credits after your last call. Buy credits to keep your agents calling: {}/credits\n",
                user.credits, services.config.frontend_url
            ),
            html_body: None,
        },
    )
    .await
    .map_err(app_to_job)?;
    let (_, event) = notifications::create_in(
        txn,
        NewNotification {
            user_id,
            kind: notifications::KIND_LOW_BALANCE,
            title: "Credits are running low".into(),
            body: format!(
                "Your balance is {} credits. Buy credits to keep your agents calling.",
                user.credits
            ),
            data: json!({"balance": user.credits, "threshold": threshold}),
        },
    )
    .await
    .map_err(app_to_job)?;
    Ok((job, event))
}
