//! `post_call_transcription` events applied together: the calls, contacts, transcript turns,
//! lead analytics, dashboard counters, charges and inbox rows of every event of a batch are
//! each written with one statement, in one transaction that also finishes the events' jobs.
//! A batch of one is the single-event case; nothing else applies transcriptions.
//!
//! Each statement writes its rows in a fixed order (conversation, owner and number, counter
//! key, user id) and the statements come in the same order in every batch, so two batches
//! touching the same owners lock their rows in the same order instead of deadlocking.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect, TryIntoModel,
    sea_query::OnConflict,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{crossed_low_balance, int, lead, new_call, non_empty, text, visitor_of};
use crate::{
    Services,
    accounts::notifications::{self, NewNotification},
    calls::CallStatus,
    calls::Direction,
    calls::lifecycle,
    entities::{
        agents, background_jobs, calls, contacts, lead_analytics, transcripts, webhook_events,
    },
    money::credits::{self, Entry, TxKind},
    platform::after_commit::AfterCommit,
    platform::inbox,
    platform::jobs::{self, JobError},
    platform::live::{LiveEvent, LiveKind},
};

/// Rows per multi-row insert: far below either database's bound on parameters per statement.
const ROWS_PER_INSERT: usize = 1_000;

/// Longest conversation taken at its word (a week); a longer one is recorded as a problem.
const MAX_DURATION_SECS: i64 = 7 * 24 * 3600;

/// Removes NUL characters from every string of an event: valid JSON, but PostgreSQL stores
/// them in neither text nor JSON columns, so one would make the event fail forever.
pub(super) fn without_nul(value: &mut Value) {
    match value {
        Value::String(s) if s.contains('\0') => *s = s.replace('\0', ""),
        Value::Array(items) => items.iter_mut().for_each(without_nul),
        Value::Object(fields) => {
            if fields.keys().any(|k| k.contains('\0')) {
                *fields = std::mem::take(fields)
                    .into_iter()
                    .map(|(k, v)| (k.replace('\0', ""), v))
                    .collect();
            }
            fields.values_mut().for_each(without_nul)
        }
        _ => {}
    }
}

/// One stored transcription event with its agent.
pub(super) struct Transcription {
    pub row: webhook_events::Model,
    pub agent: agents::Model,
    pub event: Value,
}

/// What an event says, read before the transaction.
struct Report<'a> {
    row: &'a webhook_events::Model,
    agent: &'a agents::Model,
    conversation: String,
    is_chat: bool,
    duration: Option<i64>,
    direction: Direction,
    external: Option<String>,
    contact_name: Option<String>,
    turns: Vec<Turn>,
    full_text: String,
    scores: lead::LeadScores,
    charged: i64,
    summary: Option<String>,
    summary_title: Option<String>,
    call_successful: Option<String>,
    started: Option<DateTime<Utc>>,
    metadata: Value,
    problems: Vec<String>,
    /// A campaign dial's attempt, from the dynamic variables.
    dial: Option<Uuid>,
}

struct Turn {
    seq: i32,
    speaker: &'static str,
    text: String,
    time_in_call_secs: i32,
    tool_calls: Option<Value>,
}

fn read<'a>(
    t: &'a Transcription,
    chat_billing: crate::platform::config::ChatBilling,
) -> Result<Report<'a>, JobError> {
    let data = &t.event["data"];
    let conversation = text(data, &["conversation_id"])
        .unwrap_or_default()
        .to_string();
    let mut problems = Vec::new();
    let duration = int(data, &["metadata", "call_duration_secs"])
        .filter(|secs| (0..=MAX_DURATION_SECS).contains(secs));
    if duration.is_none() {
        problems.push("metadata.call_duration_secs missing or invalid".to_string());
    }
    // ElevenLabs says `inbound` or `outbound`; a conversation without telephony was started by
    // its visitor. The raw payload stays in the inbox.
    let direction = match text(data, &["metadata", "phone_call", "direction"]) {
        Some("outbound") => Direction::Outbound,
        _ => Direction::Inbound,
    };
    // A chat agent's conversation is a chat: no telephony, its own metering rule.
    let is_chat = t.agent.kind == crate::agents::Channel::Chat;
    let visitor = is_chat.then(|| visitor_of(data));
    let variables = ["conversation_initiation_client_data", "dynamic_variables"];
    // `system__caller_id` is the caller's number on a phone call and `internal` for a
    // conversation started from the web (the screens' call source).
    let caller_id = text(data, &[variables[0], variables[1], "system__caller_id"])
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let source = match caller_id {
        Some(c) if c.eq_ignore_ascii_case("internal") => Some("web"),
        Some(_) => Some("phone"),
        None if is_chat => Some("web"),
        None => data
            .pointer("/metadata/phone_call")
            .is_some_and(Value::is_object)
            .then_some("phone"),
    };
    let external = text(data, &["metadata", "phone_call", "external_number"])
        .or_else(|| caller_id.filter(|c| !c.eq_ignore_ascii_case("internal")))
        .or_else(|| {
            visitor
                .as_ref()
                .and_then(|v| v.get("phone"))
                .and_then(Value::as_str)
        })
        .map(String::from);
    let contact_name = text(data, &[variables[0], variables[1], "name"])
        .or_else(|| text(data, &[variables[0], variables[1], "contact_name"]))
        .map(String::from);
    let raw_turns = data.get("transcript").and_then(Value::as_array);
    if raw_turns.is_none() {
        problems.push("transcript missing".into());
    }
    let mut lines = Vec::new();
    let turns: Vec<Turn> = raw_turns
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(seq, turn)| {
            let message = turn.get("message").and_then(Value::as_str)?;
            let speaker = if turn.get("role").and_then(Value::as_str) == Some("agent") {
                "agent"
            } else {
                "user"
            };
            lines.push(format!("{speaker}: {message}"));
            let calls = non_empty(turn.get("tool_calls"));
            let results = non_empty(turn.get("tool_results"));
            Some(Turn {
                seq: seq as i32,
                speaker,
                text: message.into(),
                time_in_call_secs: turn
                    .get("time_in_call_secs")
                    .and_then(Value::as_i64)
                    .unwrap_or(0) as i32,
                tool_calls: (calls.is_some() || results.is_some())
                    .then(|| json!({"calls": calls, "results": results})),
            })
        })
        .collect();
    let analysis = &data["analysis"];
    let charged = match duration {
        Some(secs) if is_chat => credits::chat_cost(chat_billing, secs)?,
        Some(secs) => credits::call_cost(secs)?,
        None => 0,
    };
    let mut metadata = json!({
        "termination_reason": text(data, &["metadata", "termination_reason"]),
        "cost": int(data, &["metadata", "cost"]),
        "main_language": text(data, &["metadata", "main_language"]),
        "source": source,
    });
    if let Some(visitor) = &visitor {
        metadata["visitor"] = visitor.clone();
    }
    if !problems.is_empty() {
        metadata["problems"] = json!(problems);
        tracing::warn!(conversation, ?problems, "post-call event was incomplete");
    }
    Ok(Report {
        row: &t.row,
        agent: &t.agent,
        conversation,
        is_chat,
        duration,
        direction,
        external,
        contact_name,
        turns,
        full_text: lines.join("\n"),
        scores: lead::parse(analysis),
        charged,
        summary: text(analysis, &["transcript_summary"]).map(String::from),
        summary_title: text(analysis, &["call_summary_title"]).map(String::from),
        call_successful: text(analysis, &["call_successful"]).map(String::from),
        started: int(data, &["metadata", "start_time_unix_secs"])
            .and_then(|t| Utc.timestamp_opt(t, 0).single()),
        metadata,
        problems,
        dial: crate::campaigns::dials::dial_id_in(data),
    })
}

/// Applies the events and, in the same transaction, finishes `jobs`. The phases below run in
/// this order in every batch (see the module's note on lock order).
pub(super) async fn apply(
    services: &Services,
    events: &[Transcription],
    jobs: &[background_jobs::Model],
) -> Result<(), JobError> {
    // Read before the transaction: nothing waits for another connection while holding one.
    let settings = services.settings().await;
    let reports = events
        .iter()
        .map(|t| read(t, settings.elevenlabs.chat_billing))
        .collect::<Result<Vec<_>, _>>()?;
    let txn = crate::platform::db::begin_write(&services.db).await?;

    let Pending {
        before,
        owners,
        todo,
    } = pending(&txn, reports).await?;
    let contacts = contacts_of(&txn, &todo, &before).await?;
    let now = Utc::now();
    // The calls, created or completed in one upsert (the recording may have created one
    // meanwhile: its row is completed, keeping its id and recording).
    let after = lifecycle::complete_many(&txn, completed_calls(&todo, &before, &contacts)).await?;
    let written = todo
        .iter()
        .map(|r| {
            after
                .get(&r.conversation)
                .map(|call| (r, call))
                .ok_or_else(|| {
                    JobError::Retryable(format!("call of {} not written", r.conversation))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let old_leads = clear_earlier(&txn, &todo, &before).await?;
    let lead_of = write_turns_and_leads(&txn, &written, now).await?;
    record_interactions(&txn, &written, &lead_of, now).await?;

    // The dashboard counters, then the charges last: they lock the owners' balance rows, which
    // every call of those owners waits on until the commit.
    let moves: Vec<_> = written
        .iter()
        .map(|&(r, call)| {
            let old = before.get(&r.conversation);
            (
                old.map(|c| (c, old_leads.get(&c.id))),
                (call, lead_of.get(&call.id)),
            )
        })
        .collect();
    let completions = lifecycle::count_completions(&txn, &moves).await?;
    inbox::mark_many(&txn, &owners, inbox::InboxStatus::Processed).await?;
    let Charged {
        mut credit_events,
        low,
    } = charge(&txn, &written, settings.billing.low_balance_threshold).await?;

    let mut events = Vec::new();
    for (&(r, call), completed) in written.iter().zip(completions) {
        let (scored, notices) =
            announce(&txn, r, call, &lead_of, contacts.get(&r.conversation)).await?;
        events.push(completed);
        events.push(scored);
        events.extend(credit_events.remove(r.conversation.as_str()));
        events.extend(notices);
    }
    let mut warnings = Vec::new();
    for user_id in &low {
        let (job, event) = super::warn_low_balance(
            services,
            &txn,
            *user_id,
            settings.billing.low_balance_threshold,
        )
        .await?;
        events.push(event);
        warnings.push(job);
    }
    jobs::complete_many(&txn, jobs).await?;
    let mut after = AfterCommit::new();
    after.ring_all(warnings);
    after.publish(events);
    after.commit(services, txn).await?;
    Ok(())
}

/// The batch's calls as they are, every event's inbox owner, and the reports still to apply.
struct Pending<'a> {
    before: HashMap<String, calls::Model>,
    owners: Vec<(Uuid, Option<Uuid>)>,
    todo: Vec<Report<'a>>,
}

/// A completed call was applied before and is only acknowledged; one conversation, one report
/// (the inbox keeps one event per type and conversation).
async fn pending<'a, C: sea_orm::ConnectionTrait>(
    txn: &C,
    reports: Vec<Report<'a>>,
) -> Result<Pending<'a>, JobError> {
    let conversations: Vec<&str> = reports.iter().map(|r| r.conversation.as_str()).collect();
    let mut before: HashMap<String, calls::Model> = calls::Entity::find()
        .filter(calls::Column::ElevenlabsConversationId.is_in(conversations))
        .all(txn)
        .await?
        .into_iter()
        .filter_map(|c| Some((c.elevenlabs_conversation_id.clone()?, c)))
        .collect();
    // A campaign dial reported before its answer was recorded is that dial's call, not a new one.
    for r in &reports {
        let Some(dial) = r.dial.filter(|_| !before.contains_key(&r.conversation)) else {
            continue;
        };
        if let Some(call) =
            crate::campaigns::dials::adopt(txn, dial, &r.conversation, r.agent.id).await?
        {
            before.insert(r.conversation.clone(), call);
        }
    }
    let mut owners = Vec::new();
    let mut todo = Vec::new();
    for report in reports {
        owners.push((report.row.id, Some(report.agent.user_id)));
        match before.get(&report.conversation) {
            Some(call) if call.status == CallStatus::Completed => {}
            _ => todo.push(report),
        }
    }
    todo.sort_by(|a, b| a.conversation.cmp(&b.conversation));
    todo.dedup_by(|a, b| a.conversation == b.conversation);
    Ok(Pending {
        before,
        owners,
        todo,
    })
}

/// Each report's call with what the report says, for `lifecycle::complete_many`.
fn completed_calls(
    todo: &[Report<'_>],
    before: &HashMap<String, calls::Model>,
    contacts: &HashMap<String, contacts::Model>,
) -> Vec<calls::Model> {
    todo.iter()
        .map(|r| {
            let mut call = before
                .get(&r.conversation)
                .cloned()
                .unwrap_or_else(|| new_call(r.agent, &r.conversation, r.direction));
            call.duration_secs = r.duration.unwrap_or(0) as i32;
            call.credits_charged = r.charged;
            call.summary = r.summary.clone();
            call.summary_title = r.summary_title.clone();
            call.call_successful = r.call_successful.clone();
            call.contact_id = contacts.get(&r.conversation).map(|c| c.id);
            call.direction = r.direction;
            if let Some(number) = r.external.as_ref().filter(|_| !r.is_chat) {
                call.phone_number = Some(number.clone());
            }
            if r.started.is_some() {
                call.started_at = r.started;
            }
            call.metadata = r.metadata.clone();
            call.transcript_text = Some(r.full_text.clone());
            if r.scores.is_scored() {
                call.lead_score = Some(r.scores.total as i32);
                call.lead_tag = Some(r.scores.tag.clone());
            }
            call
        })
        .collect()
}

/// Turns and lead scores are replaced as a whole, so a repeat cannot duplicate them; a call
/// that did not exist before has neither. Returns the lead scores removed, by call.
async fn clear_earlier<C: sea_orm::ConnectionTrait>(
    txn: &C,
    todo: &[Report<'_>],
    before: &HashMap<String, calls::Model>,
) -> Result<HashMap<Uuid, lead_analytics::Model>, JobError> {
    let earlier: Vec<Uuid> = todo
        .iter()
        .filter_map(|r| before.get(&r.conversation).map(|c| c.id))
        .collect();
    let mut old_leads: HashMap<Uuid, lead_analytics::Model> = HashMap::new();
    if !earlier.is_empty() {
        old_leads = lead_analytics::Entity::find()
            .filter(lead_analytics::Column::CallId.is_in(earlier.clone()))
            .all(txn)
            .await?
            .into_iter()
            .map(|l| (l.call_id, l))
            .collect();
        transcripts::Entity::delete_many()
            .filter(transcripts::Column::CallId.is_in(earlier.clone()))
            .exec(txn)
            .await?;
        lead_analytics::Entity::delete_many()
            .filter(lead_analytics::Column::CallId.is_in(earlier))
            .exec(txn)
            .await?;
    }
    Ok(old_leads)
}

/// Each call's transcript turns and lead score, in multi-row inserts; returns the scores by call.
async fn write_turns_and_leads<C: sea_orm::ConnectionTrait>(
    txn: &C,
    written: &[(&Report<'_>, &calls::Model)],
    now: DateTime<Utc>,
) -> Result<HashMap<Uuid, lead_analytics::Model>, JobError> {
    let mut turns = Vec::new();
    let mut leads = Vec::new();
    for &(r, call) in written {
        turns.extend(r.turns.iter().map(|turn| transcripts::ActiveModel {
            id: sea_orm::Set(crate::platform::ids::next()),
            call_id: sea_orm::Set(call.id),
            seq: sea_orm::Set(turn.seq),
            speaker: sea_orm::Set(turn.speaker.into()),
            text: sea_orm::Set(turn.text.clone()),
            time_in_call_secs: sea_orm::Set(turn.time_in_call_secs),
            tool_calls: sea_orm::Set(turn.tool_calls.clone()),
            created_at: sea_orm::Set(now),
        }));
        leads.push(r.scores.to_row(call.id, r.agent.user_id, call.contact_id));
    }
    for chunk in turns.chunks(ROWS_PER_INSERT) {
        transcripts::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    let mut lead_of: HashMap<Uuid, lead_analytics::Model> = HashMap::new();
    for chunk in leads.chunks(ROWS_PER_INSERT) {
        lead_analytics::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    for row in leads {
        let lead = row.try_into_model()?;
        lead_of.insert(lead.call_id, lead);
    }

    Ok(lead_of)
}

/// Each contact's interaction counts once: this point is reached only when its call becomes
/// completed. In contact order, like every other batch.
async fn record_interactions<C: sea_orm::ConnectionTrait>(
    txn: &C,
    written: &[(&Report<'_>, &calls::Model)],
    lead_of: &HashMap<Uuid, lead_analytics::Model>,
    now: DateTime<Utc>,
) -> Result<(), JobError> {
    let mut interactions: Vec<(Uuid, &calls::Model, &lead_analytics::Model)> = Vec::new();
    for &(_, call) in written {
        if let (Some(contact), Some(lead)) = (call.contact_id, lead_of.get(&call.id)) {
            interactions.push((contact, call, lead));
        }
    }
    interactions.sort_by_key(|(contact, _, _)| *contact);
    for (contact, call, lead) in &interactions {
        crate::contacts::record_interaction(txn, *contact, call, lead, now).await?;
    }
    Ok(())
}

/// What the charges changed: the ledger's live events by conversation, and the owners whose
/// balance just crossed the low-balance threshold.
struct Charged<'a> {
    credit_events: HashMap<&'a str, LiveEvent>,
    low: BTreeSet<Uuid>,
}

/// The charge: once per conversation, even below zero; a free chat writes nothing.
async fn charge<'a, C: sea_orm::ConnectionTrait>(
    txn: &C,
    written: &[(&'a Report<'_>, &calls::Model)],
    low_balance_threshold: i64,
) -> Result<Charged<'a>, JobError> {
    let charges: Vec<(&Report, Entry)> = written
        .iter()
        .filter_map(|&(r, call)| {
            let secs = r.duration.filter(|_| r.charged > 0 || !r.is_chat)?;
            let kind = if r.is_chat { "Chat" } else { "Call" };
            let mut entry = Entry::new(
                r.agent.user_id,
                TxKind::Usage,
                -r.charged,
                format!("call:{}", r.conversation),
            )
            .describe(format!("{kind} of {}:{:02}", secs / 60, secs % 60));
            entry.agent_id = Some(r.agent.id);
            entry.call_id = Some(call.id);
            Some((r, entry))
        })
        .collect();
    let (charged, entries): (Vec<&Report>, Vec<Entry>) = charges.into_iter().unzip();
    let applied = credits::apply_many_in(txn, entries).await?;
    let mut credit_events: HashMap<&str, LiveEvent> = HashMap::new();
    let mut low: BTreeSet<Uuid> = BTreeSet::new();
    for (r, applied) in charged.iter().zip(&applied) {
        if applied.created && crossed_low_balance(low_balance_threshold, &applied.row) {
            low.insert(applied.row.user_id);
        }
        if let Some(event) = applied.live_event() {
            credit_events.insert(r.conversation.as_str(), event);
        }
    }

    Ok(Charged { credit_events, low })
}

/// The live events of one applied report after its completion: its lead score and, when the
/// report arrived incomplete, the owner's notification (written now).
async fn announce<C: sea_orm::ConnectionTrait>(
    txn: &C,
    r: &Report<'_>,
    call: &calls::Model,
    lead_of: &HashMap<Uuid, lead_analytics::Model>,
    contact: Option<&contacts::Model>,
) -> Result<(LiveEvent, Vec<LiveEvent>), JobError> {
    let lead = lead_of
        .get(&call.id)
        .ok_or_else(|| JobError::Retryable("lead not written".into()))?;
    let scored = LiveEvent::new(
        r.agent.user_id,
        LiveKind::LeadScored,
        json!({
            "call_id": call.id,
            "contact_id": call.contact_id,
            "lead_id": lead.id,
            "total_score": lead.total_score,
            "lead_status_tag": lead.lead_status_tag,
            "scored": lead.score_status == lead_analytics::ScoreStatus::Scored,
        }),
    );
    let mut notices = Vec::new();
    if let Some(note) = &r.scores.extracted.notification {
        // The agent's note on the lead (the prompt's `smartnotification`).
        let (_, event) = notifications::create_in(
            txn,
            NewNotification {
                user_id: r.agent.user_id,
                kind: notifications::NotificationKind::LeadNote,
                title: contact.map_or_else(|| "A lead".to_string(), |c| c.name.clone()),
                body: note.clone(),
                data: json!({
                    "call_id": call.id, "contact_id": call.contact_id, "lead_id": lead.id,
                    "total_score": r.scores.is_scored().then_some(lead.total_score),
                    "lead_status_tag": r.scores.is_scored().then_some(&lead.lead_status_tag),
                    "phone": contact.map(|c| &c.phone_e164).or(call.phone_number.as_ref()),
                    "email": contact.and_then(|c| c.email.as_ref()),
                    "demo_at": lead.demo_at,
                }),
            },
        )
        .await?;
        notices.push(event);
    }
    if r.problems.is_empty() {
        return Ok((scored, notices));
    }
    let (_, event) = notifications::create_in(
        txn,
        NewNotification {
            user_id: r.agent.user_id,
            kind: notifications::NotificationKind::CallIncomplete,
            title: "A call report arrived incomplete".into(),
            body: format!(
                "ElevenLabs sent the report of conversation {} without: {}. What arrived is saved.",
                r.conversation,
                r.problems.join("; ")
            ),
            data: json!({"call_id": call.id, "conversation_id": r.conversation, "problems": r.problems}),
        },
    )
    .await?;
    notices.push(event);
    Ok((scored, notices))
}

/// Each report's contact, by conversation: the call's own when it has one, else the owner's
/// contact with the caller's number, created if new (in owner and number order).
async fn contacts_of<C: sea_orm::ConnectionTrait>(
    txn: &C,
    reports: &[Report<'_>],
    before: &HashMap<String, calls::Model>,
) -> Result<HashMap<String, contacts::Model>, JobError> {
    let mut by_id: Vec<(&str, Uuid)> = Vec::new();
    let mut by_number: BTreeMap<(Uuid, String), (&str, &Report)> = BTreeMap::new();
    let mut wanted: Vec<(&str, (Uuid, String))> = Vec::new();
    let regions = regions_of(txn, reports, before).await?;
    for r in reports {
        let known = before.get(&r.conversation).and_then(|c| c.contact_id);
        match (known, &r.external) {
            (Some(id), _) => by_id.push((&r.conversation, id)),
            (None, Some(raw)) => {
                // A number without a country code is the owner's country's.
                let region = regions.get(&r.agent.user_id).map_or("US", String::as_str);
                let Ok(phone) = crate::contacts::phone::normalize("external_number", raw, region)
                else {
                    continue;
                };
                let key = (r.agent.user_id, phone);
                by_number.entry(key.clone()).or_insert((raw, r));
                wanted.push((&r.conversation, key));
            }
            (None, None) => {}
        }
    }
    let mut found: HashMap<(Uuid, String), contacts::Model> = HashMap::new();
    let mut by_uuid: HashMap<Uuid, contacts::Model> = HashMap::new();
    if !by_id.is_empty() {
        by_uuid = contacts::Entity::find()
            .filter(contacts::Column::Id.is_in(by_id.iter().map(|(_, id)| *id)))
            .all(txn)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
    }
    if !by_number.is_empty() {
        let now = Utc::now();
        let rows: Vec<contacts::ActiveModel> = by_number
            .iter()
            .map(|((user_id, phone), (raw, r))| contacts::ActiveModel {
                id: sea_orm::Set(crate::platform::ids::next()),
                user_id: sea_orm::Set(*user_id),
                // Who the caller said they are, else who the call was placed for.
                name: sea_orm::Set(
                    r.scores
                        .extracted
                        .name
                        .as_deref()
                        .or(r.contact_name.as_deref())
                        .unwrap_or(phone)
                        .to_string(),
                ),
                phone_e164: sea_orm::Set(phone.clone()),
                phone_raw: sea_orm::Set(raw.to_string()),
                email: sea_orm::Set(r.scores.extracted.email.clone()),
                company: sea_orm::Set(r.scores.extracted.company.clone()),
                tags: sea_orm::Set(json!([])),
                notes: sea_orm::Set(None),
                custom_fields: sea_orm::Set(json!({})),
                do_not_call: sea_orm::Set(false),
                origin: sea_orm::Set(if r.is_chat {
                    contacts::ContactOrigin::Chat
                } else {
                    contacts::ContactOrigin::Call
                }),
                last_call_summary: sea_orm::Set(None),
                last_interaction_at: sea_orm::Set(None),
                created_at: sea_orm::Set(now),
                updated_at: sea_orm::Set(now),
                ..Default::default()
            })
            .collect();
        let created = contacts::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([contacts::Column::UserId, contacts::Column::PhoneE164])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_with_returning(txn)
            .await?;
        for contact in created {
            found.insert((contact.user_id, contact.phone_e164.clone()), contact);
        }
        let missing = by_number
            .keys()
            .filter(|key| !found.contains_key(*key))
            .fold(Condition::any(), |any, (user_id, phone)| {
                any.add(
                    Condition::all()
                        .add(contacts::Column::UserId.eq(*user_id))
                        .add(contacts::Column::PhoneE164.eq(phone.as_str())),
                )
            });
        if !missing.is_empty() {
            for contact in contacts::Entity::find().filter(missing).all(txn).await? {
                found.insert((contact.user_id, contact.phone_e164.clone()), contact);
            }
        }
    }
    let mut out = HashMap::new();
    for (conversation, id) in by_id {
        if let Some(contact) = by_uuid.get(&id) {
            out.insert(conversation.to_string(), contact.clone());
        }
    }
    for (conversation, key) in wanted {
        if let Some(contact) = found.get(&key) {
            out.insert(conversation.to_string(), contact.clone());
        }
    }
    fill_blanks(txn, reports, &mut out).await?;
    Ok(out)
}

/// The owners' default regions, for the numbers of callers not yet known.
async fn regions_of<C: sea_orm::ConnectionTrait>(
    txn: &C,
    reports: &[Report<'_>],
    before: &HashMap<String, calls::Model>,
) -> Result<HashMap<Uuid, String>, JobError> {
    let owners: BTreeSet<Uuid> = reports
        .iter()
        .filter(|r| r.external.is_some())
        .filter(|r| {
            before
                .get(&r.conversation)
                .is_none_or(|c| c.contact_id.is_none())
        })
        .map(|r| r.agent.user_id)
        .collect();
    if owners.is_empty() {
        return Ok(HashMap::new());
    }
    use crate::entities::users;
    let rows: Vec<(Uuid, String)> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::DefaultRegion)
        .filter(users::Column::Id.is_in(owners))
        .into_tuple()
        .all(txn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// What the caller told the agent fills the contact's empty fields: an email or company the
/// contact lacks, a name where there is only the number. Nothing a user typed is replaced.
async fn fill_blanks<C: sea_orm::ConnectionTrait>(
    txn: &C,
    reports: &[Report<'_>],
    contacts: &mut HashMap<String, contacts::Model>,
) -> Result<(), JobError> {
    for r in reports {
        let said = &r.scores.extracted;
        let Some(contact) = contacts.get_mut(&r.conversation) else {
            continue;
        };
        let mut change = contacts::ActiveModel {
            id: sea_orm::Unchanged(contact.id),
            ..Default::default()
        };
        let mut changed = false;
        if let Some(name) = &said.name
            && contact.name == contact.phone_e164
        {
            contact.name = name.clone();
            change.name = sea_orm::Set(name.clone());
            changed = true;
        }
        if let (None, Some(email)) = (&contact.email, &said.email) {
            contact.email = Some(email.clone());
            change.email = sea_orm::Set(Some(email.clone()));
            changed = true;
        }
        if let (None, Some(company)) = (&contact.company, &said.company) {
            contact.company = Some(company.clone());
            change.company = sea_orm::Set(Some(company.clone()));
            changed = true;
        }
        if changed {
            contacts::Entity::update(change).exec(txn).await?;
        }
    }
    Ok(())
}
