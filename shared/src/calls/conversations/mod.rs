//! ElevenLabs post-call webhooks: signature verification at intake, and applying a stored event
//! in the worker — call, transcript turns, lead analytics, credit charge and contact, in one
//! transaction, once per conversation.

mod audio;
mod batch;
mod intake;
pub mod lead;

pub use intake::{Intake, receive};

use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::OnConflict};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

use crate::{
    Config, Services,
    accounts::notifications::{self, NewNotification},
    calls::Direction,
    entities::{agents, background_jobs, calls, webhook_events},
    platform::after_commit::AfterCommit,
    platform::error::{AppError, AppResult},
    platform::inbox,
    platform::jobs::JobError,
    platform::live::LiveEvent,
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
        if config.elevenlabs.webhook_secrets.is_empty() {
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
            .elevenlabs
            .webhook_secrets
            .iter()
            .filter_map(|secret| Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).ok())
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

/// Applies one stored ElevenLabs event; safe to run any number of times.
pub async fn apply(services: &Services, inbox_id: Uuid) -> Result<(), JobError> {
    apply_together(services, &[inbox_id], &[]).await
}

/// Applies the events of claimed `ConversationEvent` jobs, their transcriptions together in
/// one transaction that also finishes the jobs. Returns each job's outcome: `Ok` when it is
/// applied and marked succeeded. When the batch fails as a whole, its events are applied one
/// by one, so one bad event fails only its own job.
pub async fn apply_jobs(
    services: &Services,
    jobs: &[background_jobs::Model],
) -> Vec<(Uuid, Result<(), JobError>)> {
    let inbox_ids: Vec<Uuid> = jobs.iter().map(|j| j.subject_id).collect();
    match apply_together(services, &inbox_ids, jobs).await {
        Ok(()) => jobs.iter().map(|j| (j.id, Ok(()))).collect(),
        Err(error) if jobs.len() == 1 => vec![(jobs[0].id, Err(error))],
        Err(error) => {
            tracing::warn!(%error, events = jobs.len(), "batch failed; applying its events one by one");
            let mut outcomes = Vec::with_capacity(jobs.len());
            for job in jobs {
                let one = std::slice::from_ref(job);
                let outcome = apply_together(services, &[job.subject_id], one).await;
                outcomes.push((job.id, outcome));
            }
            outcomes
        }
    }
}

/// Applies the inbox rows `inbox_ids` and finishes `jobs` (their jobs, if any). Events that
/// are not transcriptions are applied on their own first; the transcriptions together.
async fn apply_together(
    services: &Services,
    inbox_ids: &[Uuid],
    jobs: &[background_jobs::Model],
) -> Result<(), JobError> {
    let stored = inbox::pending_many(&services.db, inbox_ids).await?;
    let el_agents: Vec<&str> = stored
        .iter()
        .filter_map(|(_, event)| event["data"].get("agent_id").and_then(Value::as_str))
        .collect();
    let agents: std::collections::HashMap<String, agents::Model> = if el_agents.is_empty() {
        Default::default()
    } else {
        agents::Entity::find()
            .filter(agents::Column::ElevenlabsAgentId.is_in(el_agents))
            .all(&services.db)
            .await?
            .into_iter()
            .filter_map(|a| Some((a.elevenlabs_agent_id.clone()?, a)))
            .collect()
    };
    let mut transcriptions = Vec::new();
    for (row, event) in stored {
        let el_agent = event["data"]
            .get("agent_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(agent) = agents.get(el_agent).cloned() else {
            tracing::warn!(event = %row.external_id, el_agent, "post-call event for an unknown agent");
            inbox::settle(
                &services.db,
                &row,
                inbox::InboxStatus::Unroutable,
                Some(format!("unknown agent {el_agent}")),
                None,
            )
            .await?;
            continue;
        };
        let data = &event["data"];
        match row.event_type.as_str() {
            "post_call_transcription" => {
                let mut event = event;
                batch::without_nul(&mut event);
                transcriptions.push(batch::Transcription { row, agent, event })
            }
            "post_call_audio" => audio::attach(services, &row, &agent, &event).await?,
            "call_initiation_failure" => initiation_failure(services, &row, &agent, data).await?,
            _ => {
                inbox::settle(
                    &services.db,
                    &row,
                    inbox::InboxStatus::Ignored,
                    None,
                    Some(agent.user_id),
                )
                .await?
            }
        }
    }
    if transcriptions.is_empty() {
        crate::platform::jobs::complete_many(&services.db, jobs).await?;
        return Ok(());
    }
    batch::apply(services, &transcriptions, jobs).await
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

/// A conversation's call as first seen in a webhook (not started through us).
fn new_call(agent: &agents::Model, conversation: &str, direction: Direction) -> calls::Model {
    let now = Utc::now();
    calls::Model {
        id: crate::platform::ids::next(),
        user_id: agent.user_id,
        agent_id: Some(agent.id),
        contact_id: None,
        // A chat agent's conversations are chats: the agent's kind is its channel.
        channel: agent.kind,
        direction,
        elevenlabs_conversation_id: Some(conversation.into()),
        phone_number: None,
        status: crate::calls::CallStatus::InProgress,
        failure_reason: None,
        duration_secs: 0,
        credits_charged: 0,
        summary: None,
        summary_title: None,
        call_successful: None,
        recording_key: None,
        metadata: json!({}),
        started_at: None,
        completed_at: None,
        created_at: now,
        updated_at: now,
        transcript_text: None,
        lead_score: None,
        lead_tag: None,
    }
}

/// The call of a conversation, created when it was not started through us (inbound calls);
/// `true` when it was created now.
pub(crate) async fn call_for<C: sea_orm::ConnectionTrait>(
    txn: &C,
    agent: &agents::Model,
    conversation: &str,
    direction: Direction,
) -> AppResult<(calls::Model, bool)> {
    let row = calls::ActiveModel::from(new_call(agent, conversation, direction));
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
    let dial = crate::campaigns::dials::dial_of_unknown(services, agent, conversation).await?;
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let adopted = match dial {
        Some(dial) => crate::campaigns::dials::adopt(&txn, dial, conversation, agent.id).await?,
        None => None,
    };
    let call = match adopted {
        Some(call) => call,
        None => {
            call_for(&txn, agent, conversation, Direction::Outbound)
                .await?
                .0
        }
    };
    let failed = crate::calls::lifecycle::fail(&txn, call, reason).await?;
    inbox::settle(
        &txn,
        row,
        inbox::InboxStatus::Processed,
        None,
        Some(agent.user_id),
    )
    .await?;
    let mut after = AfterCommit::new();
    after.publish(failed.map(|(_, event)| event));
    after.commit(services, txn).await?;
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
    let user = crate::accounts::users::get_in(txn, user_id).await?;
    let (_, job) = crate::platform::email::queue_email_in(
        txn,
        &services.config,
        crate::platform::email::OutgoingEmail {
            user_id: Some(user.id),
            to: user.email.clone(),
            subject: "Your Switchboard credits are running low".into(),
            text_body: format!(
                "Your balance is {} credits after your last call. Buy credits to keep your agents calling: {}/credits\n",
                user.credits, services.config.server.frontend_url
            ),
            html_body: None,
        },
    )
    .await?;
    let (_, event) = notifications::create_in(
        txn,
        NewNotification {
            user_id,
            kind: notifications::NotificationKind::LowBalance,
            title: "Credits are running low".into(),
            body: format!(
                "Your balance is {} credits. Buy credits to keep your agents calling.",
                user.credits
            ),
            data: json!({"balance": user.credits, "threshold": threshold}),
        },
    )
    .await?;
    Ok((job, event))
}
