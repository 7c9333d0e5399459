//! Calls: starting outbound calls.

use chrono::{DateTime, Utc};
use poem::FromRequest;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use shared::{
    AppError, Services,
    calls::history::{self, CallFilter, CallSort},
    calls::{self as service, CallStatus, Channel, Direction, StartCall},
    dashboard::{Period, PeriodName, call_analytics},
    entities::{calls, lead_analytics},
    platform::db::Window,
};
use uuid::Uuid;

use crate::{
    api_errors,
    call_logs::{
        CallDetail, CallDetailEnvelope, CallLogList, CallLogSort, CallLogStatus, CallStatistics,
        CallStatisticsEnvelope, LeadTag, StatsPeriod, TranscriptEnvelope, UpperSortOrder,
    },
    download::{ExportFormat, FileResponse, default_format},
    pagination::Pagination,
    pagination::SortOrder,
    security::Auth,
    tags::Tag,
};

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct StartCallRequest {
    /// An active call agent with a phone number.
    pub agent_id: Uuid,
    /// Call this contact (its fields become the agent's dynamic variables)…
    pub contact_id: Option<Uuid>,
    /// …or this number (read with the user's default region; stored as E.164).
    #[oai(validator(max_length = 32))]
    pub to_number: Option<String>,
    /// Extra variables for the agent (string, number or boolean values).
    pub dynamic_variables: Option<std::collections::HashMap<String, serde_json::Value>>,
}

/// What the Contacts screen's call dialog sends.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct InitiateCall {
    /// An active call agent with a phone number.
    pub agent_id: Option<Uuid>,
    /// The contact to call; its number is the one called.
    pub contact_id: Option<Uuid>,
    /// Called when no contact is given (read with the user's default region).
    #[oai(validator(max_length = 32))]
    pub phone_number: Option<String>,
}

/// A started call as the dialog reads it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct InitiatedCall {
    pub id: Uuid,
    /// ElevenLabs' conversation id: its post-call webhook completes this call.
    pub execution_id: Option<String>,
    pub status: CallStatus,
    /// The number called, E.164.
    pub recipient: Option<String>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct InitiatedEnvelope {
    pub success: bool,
    pub call: InitiatedCall,
}

#[derive(Debug, ApiResponse)]
pub enum CallInitiated {
    #[oai(status = 201)]
    Started(Json<InitiatedEnvelope>),
}

/// A call as the call tables show it.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Call {
    pub id: Uuid,
    pub agent_id: Option<Uuid>,
    pub user_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub elevenlabs_conversation_id: Option<String>,
    pub phone_number: Option<String>,
    pub direction: Direction,
    pub status: CallStatus,
    pub failure_reason: Option<String>,
    pub duration_secs: i32,
    /// Started minutes, as charged.
    pub duration_minutes: i64,
    pub credits_charged: i64,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub summary: Option<String>,
    pub summary_title: Option<String>,
    /// ElevenLabs' verdict: `success`, `failure` or `unknown`.
    pub call_successful: Option<String>,
    /// Where the recording streams from, when there is one.
    pub recording_url: Option<String>,
}

impl From<calls::Model> for Call {
    fn from(c: calls::Model) -> Self {
        Self {
            recording_url: shared::calls::transcripts::recording_url(&c),
            summary: c.summary,
            summary_title: c.summary_title,
            call_successful: c.call_successful,
            id: c.id,
            agent_id: c.agent_id,
            user_id: c.user_id,
            contact_id: c.contact_id,
            elevenlabs_conversation_id: c.elevenlabs_conversation_id,
            phone_number: c.phone_number,
            direction: c.direction,
            status: c.status,
            failure_reason: c.failure_reason,
            duration_minutes: (i64::from(c.duration_secs) + 59) / 60,
            duration_secs: c.duration_secs,
            credits_charged: c.credits_charged,
            created_at: c.created_at,
            completed_at: c.completed_at,
        }
    }
}

/// A call's lead score, as the lead views read it.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct LeadAnalytics {
    pub id: Uuid,
    pub call_id: Uuid,
    pub intent_level: Option<String>,
    pub intent_score: i32,
    pub urgency_level: Option<String>,
    pub urgency_score: i32,
    pub budget_constraint: Option<String>,
    pub budget_score: i32,
    pub fit_alignment: Option<String>,
    pub fit_score: i32,
    pub engagement_health: Option<String>,
    pub engagement_score: i32,
    pub total_score: i32,
    /// `Hot`, `Warm` or `Cold`.
    pub lead_status_tag: String,
    /// `{intent, urgency, budget, fit, engagement, cta_behavior}`.
    pub reasoning: serde_json::Value,
    /// `{pricing_clicked, demo_clicked, followup_clicked, sample_clicked, escalated_to_human}`.
    pub cta_interactions: serde_json::Value,
    /// `scored`; `unreadable` (the agent's value is kept, the scores are 0) or
    /// `not_collected`.
    pub score_status: shared::entities::lead_analytics::ScoreStatus,
    /// The demo the caller booked.
    pub demo_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<lead_analytics::Model> for LeadAnalytics {
    fn from(l: lead_analytics::Model) -> Self {
        Self {
            score_status: l.score_status,
            demo_at: l.demo_at,
            id: l.id,
            call_id: l.call_id,
            intent_level: l.intent_level,
            intent_score: l.intent_score,
            urgency_level: l.urgency_level,
            urgency_score: l.urgency_score,
            budget_constraint: l.budget_constraint,
            budget_score: l.budget_score,
            fit_alignment: l.fit_alignment,
            fit_score: l.fit_score,
            engagement_health: l.engagement_health,
            engagement_score: l.engagement_score,
            total_score: l.total_score,
            lead_status_tag: l.lead_status_tag,
            reasoning: l.reasoning,
            cta_interactions: l.cta_interactions,
            created_at: l.created_at,
        }
    }
}

/// A row of the call table.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct CallListRow {
    #[oai(flatten)]
    pub call: Call,
    /// `m:ss`.
    pub duration: String,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub agent_name: Option<String>,
    pub lead_score: Option<i32>,
    pub lead_status_tag: Option<String>,
    pub has_recording: bool,
}

impl From<history::CallRow> for CallListRow {
    fn from(row: history::CallRow) -> Self {
        Self {
            duration: history::clock(row.call.duration_secs),
            has_recording: row.call.recording_key.is_some(),
            contact_name: row.contact.as_ref().map(|c| c.name.clone()),
            contact_phone: row.contact.as_ref().map(|c| c.phone_e164.clone()),
            agent_name: row.agent_name,
            lead_score: row.call.lead_score,
            lead_status_tag: row.call.lead_tag.clone(),
            call: row.call.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CallSortBy {
    CreatedAt,
    Duration,
    Credits,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SpeakerSegment {
    /// `agent` or `user`.
    pub speaker: String,
    pub text: String,
    /// Seconds into the call.
    pub timestamp: i32,
    /// The turn's tool calls and results (`{calls, results}`), if any.
    pub tool_calls: Option<serde_json::Value>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TextPart {
    pub text: String,
    /// True for the parts that match the search.
    #[oai(rename = "match")]
    pub matched: bool,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TranscriptMatch {
    /// Index of the turn in `speaker_segments`.
    pub segment: u32,
    pub speaker: String,
    pub timestamp: i32,
    /// The turn's text cut into matching and other parts.
    pub parts: Vec<TextPart>,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Transcript {
    /// The call's id (a transcript belongs to one call).
    pub id: Uuid,
    pub call_id: Uuid,
    /// The whole conversation as `speaker: text` lines.
    pub content: String,
    pub speaker_segments: Vec<SpeakerSegment>,
    /// With `?q=`: the turns containing it (any case).
    pub matches: Option<Vec<TranscriptMatch>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

api_errors!(CallErrors {
    400 => BadRequest: "Malformed path or query (`invalid_parameter`), or an invalid field (`validation_error`; `details` maps each field to its message).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    404 => NotFound: "No such call of this user (`call_not_found`), or no recording (`recording_not_found`).",
});

#[derive(Debug, ApiResponse)]
pub enum CallStarted {
    /// ElevenLabs is dialling; the post-call webhook completes the call.
    #[oai(status = 201)]
    Started(Json<Call>),
}

// The file response documents 400 (bad range) and 404 itself; listing them again would give
// the operation two entries for one status.
api_errors!(RecordingErrors {
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
});

api_errors!(StartCallErrors {
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    402 => NoCredits: "The balance is not positive (`insufficient_credits`).",
    403 => Forbidden: "Email not verified (`email_not_verified`) or account suspended.",
    404 => NotFound: "No such agent or contact for this user (`agent_not_found`, `contact_not_found`).",
    409 => Conflict: "A draft (`agent_inactive`) or chat agent (`agent_not_callable`), no phone number (`agent_has_no_phone_number`), or a do-not-call contact (`contact_do_not_call`).",
    400 => Invalid: "Invalid number or variables (`validation_error`; `details` maps each field to its message).",
    429 => TooMany: "Too many calls in flight (`concurrency_limit`) or ElevenLabs rate limiting.",
    502 => Provider: "ElevenLabs refused or failed (`provider_error`, `provider_unavailable`).",
    503 => NotConfigured: "ElevenLabs is not configured (`provider_not_configured`).",
});

/// The turns that contain `q`, cut into matching and other parts for highlighting.
pub(crate) fn matches_in(
    turns: &[shared::entities::transcripts::Model],
    q: &str,
) -> Vec<TranscriptMatch> {
    turns
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let parts = shared::calls::transcripts::highlight(&t.text, q)?;
            Some(TranscriptMatch {
                segment: i as u32,
                speaker: t.speaker.clone(),
                timestamp: t.time_in_call_secs,
                parts: parts
                    .into_iter()
                    .map(|p| TextPart {
                        text: p.text,
                        matched: p.matched,
                    })
                    .collect(),
            })
        })
        .collect()
}

pub(crate) fn segments(turns: Vec<shared::entities::transcripts::Model>) -> Vec<SpeakerSegment> {
    turns
        .into_iter()
        .map(|t| SpeakerSegment {
            speaker: t.speaker,
            text: t.text,
            timestamp: t.time_in_call_secs,
            tool_calls: t.tool_calls,
        })
        .collect()
}

/// The call list's query parameters (the export takes the same).
pub struct CallParams {
    /// `call` for the call list, `chat` for the chat list.
    pub channel: Channel,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub agent_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub status: Option<CallStatus>,
    pub direction: Option<Direction>,
    pub lead_status: Option<String>,
    pub min_score: Option<i32>,
    pub max_score: Option<i32>,
    pub min_duration: Option<i32>,
    pub max_duration: Option<i32>,
    pub q: Option<String>,
    pub sort: Option<CallSortBy>,
    pub order: Option<SortOrder>,
}

/// The ranges of a call filter make sense: `from` before `to`, no minimum above its maximum.
pub(crate) fn checked(f: CallFilter) -> Result<CallFilter, AppError> {
    let inverted =
        |lo: Option<i32>, hi: Option<i32>| matches!((lo, hi), (Some(l), Some(h)) if l > h);
    if let (Some(from), Some(to)) = (f.from, f.to)
        && from >= to
    {
        return Err(AppError::validation("from", "must be before `to`"));
    }
    if inverted(f.min_score, f.max_score) {
        return Err(AppError::validation(
            "min_score",
            "must not exceed `max_score`",
        ));
    }
    if inverted(f.min_duration, f.max_duration) {
        return Err(AppError::validation(
            "min_duration",
            "must not exceed `max_duration`",
        ));
    }
    Ok(f)
}

pub(crate) fn call_filter(p: CallParams) -> Result<CallFilter, AppError> {
    checked(CallFilter {
        channel: Some(p.channel),
        from: p.from,
        to: p.to,
        agent_id: p.agent_id,
        contact_id: p.contact_id,
        statuses: p.status.into_iter().collect(),
        direction: p.direction,
        lead_status: p.lead_status,
        min_score: p.min_score,
        max_score: p.max_score,
        min_duration: p.min_duration,
        max_duration: p.max_duration,
        search: p.q,
        sort: match p.sort.unwrap_or(CallSortBy::CreatedAt) {
            CallSortBy::CreatedAt => CallSort::CreatedAt,
            CallSortBy::Duration => CallSort::Duration,
            CallSortBy::Credits => CallSort::Credits,
        },
        descending: !matches!(p.order, Some(SortOrder::Asc)),
        ..Default::default()
    })
}

pub struct CallApi {
    pub services: Services,
}

#[OpenApi(prefix_path = "/api/calls", tag = "Tag::Calls")]
impl CallApi {
    /// Start an outbound call
    ///
    /// Needs a verified email, a positive balance and an active call agent with a phone
    /// number. The call is recorded as `initiated` with ElevenLabs' conversation id.
    #[oai(path = "/", method = "post")]
    async fn start(
        &self,
        auth: Auth,
        body: Json<StartCallRequest>,
    ) -> Result<CallStarted, StartCallErrors> {
        let me = auth.user(&self.services).await?;
        let body = body.0;
        let call = service::start(
            &self.services,
            &me,
            StartCall {
                agent_id: body.agent_id,
                contact_id: body.contact_id,
                to_number: body.to_number,
                dynamic_variables: body
                    .dynamic_variables
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
            },
        )
        .await?;
        Ok(CallStarted::Started(Json(call.into())))
    }

    /// Call a contact
    ///
    /// The Contacts screen's "Call" dialog: the same checks and start as `POST /api/calls`
    /// (402 `insufficient_credits` when the balance is out, 429 when too many calls are in
    /// flight). The contact's number is called; `phoneNumber` only when no contact is given.
    #[oai(path = "/initiate", method = "post")]
    async fn initiate(
        &self,
        auth: Auth,
        body: Json<InitiateCall>,
    ) -> Result<CallInitiated, StartCallErrors> {
        let me = auth.user(&self.services).await?;
        let body = body.0;
        let agent_id = body
            .agent_id
            .ok_or_else(|| AppError::validation("agentId", "Agent ID is required"))?;
        let call = service::start(
            &self.services,
            &me,
            StartCall {
                agent_id,
                to_number: body
                    .contact_id
                    .is_none()
                    .then_some(body.phone_number)
                    .flatten(),
                contact_id: body.contact_id,
                dynamic_variables: Default::default(),
            },
        )
        .await?;
        Ok(CallInitiated::Started(Json(InitiatedEnvelope {
            success: true,
            call: InitiatedCall {
                id: call.id,
                execution_id: call.elevenlabs_conversation_id,
                status: call.status,
                recipient: call.phone_number,
            },
        })))
    }

    /// List calls
    ///
    /// The Unified Call Logs: newest first by default, `limit` (default 30, at most 100) rows
    /// from `offset`. `search` matches the contact's name or words of the transcript
    /// (full-text on PostgreSQL); `agent` (repeatable) keeps the calls of the agents with those
    /// names; `agentId` (or `X-Agent-ID`) one agent's. Date ranges take `start_date`
    /// (inclusive) and `end_date` (exclusive); durations are in seconds, scores out of 100.
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: Auth,
        #[oai(
            default = "default_call_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<u64>,
        #[oai(default, validator(maximum(value = "10000000")))] offset: Query<u64>,
        #[oai(name = "sortBy")] sort_by: Query<Option<CallLogSort>>,
        #[oai(name = "sortOrder")] sort_order: Query<Option<UpperSortOrder>>,
        #[oai(validator(max_length = 200))] search: Query<Option<String>>,
        #[oai(validator(max_items = 50))] agent: Query<Vec<String>>,
        #[oai(name = "agentId")] agent_id: Query<Option<Uuid>>,
        #[oai(name = "X-Agent-ID")] agent_header: poem_openapi::param::Header<Option<Uuid>>,
        status: Query<Option<CallLogStatus>>,
        direction: Query<Option<Direction>>,
        #[oai(validator(max_length = 32))] phone: Query<Option<String>>,
        start_date: Query<Option<DateTime<Utc>>>,
        end_date: Query<Option<DateTime<Utc>>>,
        #[oai(validator(minimum(value = "0")))] min_duration: Query<Option<i32>>,
        #[oai(validator(minimum(value = "0")))] max_duration: Query<Option<i32>>,
        has_transcript: Query<Option<bool>>,
        has_analytics: Query<Option<bool>>,
        #[oai(validator(minimum(value = "0"), maximum(value = "100")))] min_score: Query<
            Option<i32>,
        >,
        #[oai(validator(minimum(value = "0"), maximum(value = "100")))] max_score: Query<
            Option<i32>,
        >,
        lead_tag: Query<Option<LeadTag>>,
    ) -> Result<Json<CallLogList>, CallErrors> {
        let me = auth.user(&self.services).await?;
        let scope =
            crate::dashboard::scope(&self.services, &me, agent_id.0, agent_header.0).await?;
        if let (Some(from), Some(to)) = (start_date.0, end_date.0)
            && from >= to
        {
            return Err(AppError::validation("start_date", "must be before `end_date`").into());
        }
        let statuses = match status.0 {
            None => vec![],
            Some(CallLogStatus::Completed) => vec![CallStatus::Completed],
            Some(CallLogStatus::Failed) => vec![CallStatus::Failed],
            Some(CallLogStatus::InProgress) => vec![CallStatus::Initiated, CallStatus::InProgress],
            Some(CallLogStatus::Cancelled) => {
                let window = Window {
                    offset: offset.0,
                    limit: limit.0,
                };
                return Ok(Json(CallLogList {
                    success: true,
                    data: vec![],
                    pagination: Pagination::new(0, window.limit, window.offset),
                }));
            }
        };
        let filter = checked(CallFilter {
            channel: Some(Channel::Call),
            from: start_date.0,
            to: end_date.0,
            agent_id: scope.agent,
            agent_names: agent
                .0
                .into_iter()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect(),
            phone: phone.0,
            has_transcript: has_transcript.0,
            has_analytics: has_analytics.0,
            statuses,
            direction: direction.0,
            lead_status: lead_tag.0.map(|t| t.as_str().to_string()),
            min_score: min_score.0,
            max_score: max_score.0,
            min_duration: min_duration.0,
            max_duration: max_duration.0,
            search: search.0,
            sort: sort_by.0.unwrap_or(CallLogSort::CreatedAt).into(),
            descending: sort_order.0 != Some(UpperSortOrder::Asc),
            ..Default::default()
        })?;
        let window = Window {
            offset: offset.0,
            limit: limit.0,
        };
        let (rows, total) = history::list(&self.services.db, me.id, &filter, window).await?;
        Ok(Json(CallLogList {
            success: true,
            data: rows.into_iter().map(Into::into).collect(),
            pagination: Pagination::new(total, window.limit, window.offset),
        }))
    }

    /// Call statistics
    ///
    /// The call agents' finished calls over the last day, week or month (default), from the
    /// hourly counters, with the growth against the period before; scoped like the list.
    #[oai(path = "/stats", method = "get")]
    async fn stats(
        &self,
        auth: Auth,
        period: Query<Option<StatsPeriod>>,
        #[oai(name = "agentId")] agent_id: Query<Option<Uuid>>,
        #[oai(name = "X-Agent-ID")] agent_header: poem_openapi::param::Header<Option<Uuid>>,
    ) -> Result<Json<CallStatisticsEnvelope>, CallErrors> {
        let account = auth.account(&self.services).await?;
        let me = shared::accounts::auth::CurrentUser::from(&account);
        let scope =
            crate::dashboard::scope(&self.services, &me, agent_id.0, agent_header.0).await?;
        let which = period.0.unwrap_or(StatsPeriod::Month);
        let name = match which {
            StatsPeriod::Day => PeriodName::Today,
            StatsPeriod::Week => PeriodName::Days7,
            StatsPeriod::Month => PeriodName::Days30,
        };
        let tz = shared::dashboard::period::parse_tz(&account.timezone)?;
        let period = Period::resolve(name, (None, None), tz, Utc::now())?;
        let stats = call_analytics::call_stats(&self.services.db, scope, &period).await?;
        Ok(Json(CallStatisticsEnvelope {
            success: true,
            data: CallStatistics::new(&stats, which),
        }))
    }

    /// Export calls
    ///
    /// The filtered calls (same parameters as the list, oldest first) as CSV, streamed, or
    /// .xlsx.
    #[oai(path = "/export", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn export(
        &self,
        auth: Auth,
        #[oai(default = "default_format")] format: Query<ExportFormat>,
        from: Query<Option<DateTime<Utc>>>,
        to: Query<Option<DateTime<Utc>>>,
        agent_id: Query<Option<Uuid>>,
        contact_id: Query<Option<Uuid>>,
        status: Query<Option<CallStatus>>,
        direction: Query<Option<Direction>>,
        #[oai(validator(max_length = 20))] lead_status: Query<Option<String>>,
        #[oai(validator(minimum(value = "0"), maximum(value = "100")))] min_score: Query<
            Option<i32>,
        >,
        #[oai(validator(minimum(value = "0"), maximum(value = "100")))] max_score: Query<
            Option<i32>,
        >,
        #[oai(validator(minimum(value = "0")))] min_duration: Query<Option<i32>>,
        #[oai(validator(minimum(value = "0")))] max_duration: Query<Option<i32>>,
        #[oai(validator(max_length = 200))] q: Query<Option<String>>,
    ) -> Result<FileResponse, CallErrors> {
        let me = auth.user(&self.services).await?;
        let filter = call_filter(CallParams {
            channel: shared::calls::Channel::Call,
            from: from.0,
            to: to.0,
            agent_id: agent_id.0,
            contact_id: contact_id.0,
            status: status.0,
            direction: direction.0,
            lead_status: lead_status.0,
            min_score: min_score.0,
            max_score: max_score.0,
            min_duration: min_duration.0,
            max_duration: max_duration.0,
            q: q.0,
            sort: None,
            order: None,
        })?;
        let export = history::CallExport {
            db: self.services.db.clone(),
            user_id: me.id,
            filter,
        };
        Ok(FileResponse::export(format.0, "calls", export).await?)
    }

    /// Get a call
    ///
    /// The call as the call logs list it, with its lead analytics.
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<CallDetailEnvelope>, CallErrors> {
        let me = auth.user(&self.services).await?;
        let db = &self.services.db;
        let call = service::get(db, me.owner(), id.0).await?;
        let problems = call.metadata["problems"]
            .as_array()
            .map(|p| {
                p.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let row = history::rows_of(db, vec![call])
            .await?
            .pop()
            .ok_or_else(|| AppError::not_found("call"))?;
        let lead = row.lead.clone();
        Ok(Json(CallDetailEnvelope {
            success: true,
            data: CallDetail {
                call: row.into(),
                lead_analytics: lead.map(Into::into),
                problems,
            },
        }))
    }

    /// Get a call's transcript
    ///
    /// Ordered speaker turns with their time in the call; `q` also returns the turns that
    /// contain it, cut into matching and other parts for highlighting.
    #[oai(path = "/:id/transcript", method = "get")]
    async fn transcript(
        &self,
        auth: Auth,
        id: Path<Uuid>,
        #[oai(validator(max_length = 200))] q: Query<Option<String>>,
    ) -> Result<Json<TranscriptEnvelope>, CallErrors> {
        let me = auth.user(&self.services).await?;
        let db = &self.services.db;
        let call = service::get(db, me.owner(), id.0).await?;
        let turns = shared::calls::transcripts::turns(db, call.id).await?;
        let matches = q.0.as_deref().map(|q| matches_in(&turns, q));
        Ok(Json(TranscriptEnvelope {
            success: true,
            data: Transcript {
                id: call.id,
                call_id: call.id,
                content: call.transcript_text.clone().unwrap_or_default(),
                speaker_segments: segments(turns),
                matches,
                created_at: call.completed_at.unwrap_or(call.created_at),
                updated_at: call.updated_at,
            },
        }))
    }

    /// Play a call's recording
    ///
    /// The MP3 ElevenLabs sent after the call as `audio/mpeg`, with range requests (players
    /// can seek) and caching headers: what the call logs' play button fetches. Errors carry
    /// their text in `message`: 400 `invalid_parameter` (id) or `invalid_range`, 404
    /// `call_not_found` (another user's call too) or `recording_not_found`; a range past the
    /// end is answered 416.
    #[oai(path = "/:id/audio", method = "get")]
    async fn audio(
        &self,
        auth: Auth,
        id: Path<Uuid>,
        req: &poem::Request,
    ) -> Result<poem::web::StaticFileResponse, RecordingErrors> {
        self.recording_of(auth, id.0, req).await
    }

    /// Stream a call's recording
    ///
    /// The same as `/audio`, under the path earlier clients used.
    #[oai(path = "/:id/recording", method = "get")]
    async fn recording(
        &self,
        auth: Auth,
        id: Path<Uuid>,
        req: &poem::Request,
    ) -> Result<poem::web::StaticFileResponse, RecordingErrors> {
        self.recording_of(auth, id.0, req).await
    }
}

impl CallApi {
    async fn recording_of(
        &self,
        auth: Auth,
        id: Uuid,
        req: &poem::Request,
    ) -> Result<poem::web::StaticFileResponse, RecordingErrors> {
        let me = auth.user(&self.services).await?;
        let path = service::recording_path(&self.services, me.id, id).await?;
        let file = poem::web::StaticFileRequest::from_request_without_body(req)
            .await
            .map_err(|e| shared::AppError::bad_request("invalid_range", e.to_string()))?;
        let response = file
            .create_response(&path, false, true)
            .map_err(|e| shared::AppError::bad_request("invalid_range", e.to_string()))?;
        // ElevenLabs' recordings are MP3; the stored file has no extension to guess from.
        Ok(response.with_content_type("audio/mpeg"))
    }
}

fn default_call_limit() -> u64 {
    30
}
