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
    entities::{calls, lead_analytics},
};
use uuid::Uuid;

use crate::{
    api_errors,
    download::{ExportFormat, FileResponse, default_format},
    pagination::{Page, SortOrder, default_page, default_per_page},
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
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct CallDetail {
    #[oai(flatten)]
    pub call: Call,
    pub lead_analytics: Option<LeadAnalytics>,
    /// What was missing from ElevenLabs' report, if anything.
    pub problems: Vec<String>,
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

pub(crate) fn call_filter(p: CallParams) -> Result<CallFilter, AppError> {
    let inverted =
        |lo: Option<i32>, hi: Option<i32>| matches!((lo, hi), (Some(l), Some(h)) if l > h);
    if let (Some(f), Some(t)) = (p.from, p.to)
        && f >= t
    {
        return Err(AppError::validation("from", "must be before `to`"));
    }
    if inverted(p.min_score, p.max_score) {
        return Err(AppError::validation(
            "min_score",
            "must not exceed `max_score`",
        ));
    }
    if inverted(p.min_duration, p.max_duration) {
        return Err(AppError::validation(
            "min_duration",
            "must not exceed `max_duration`",
        ));
    }
    Ok(CallFilter {
        channel: Some(p.channel),
        from: p.from,
        to: p.to,
        agent_id: p.agent_id,
        contact_id: p.contact_id,
        status: p.status,
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

    /// List calls
    ///
    /// Newest first by default. `q` matches the contact's name or number, or words of the
    /// transcript (full-text on PostgreSQL). Ranges are inclusive, except `to` (exclusive).
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: Auth,
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
        sort: Query<Option<CallSortBy>>,
        order: Query<Option<SortOrder>>,
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
    ) -> Result<Json<Page<CallListRow>>, CallErrors> {
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
            sort: sort.0,
            order: order.0,
        })?;
        let (rows, total) =
            history::list(&self.services.db, me.id, &filter, page.0, per_page.0).await?;
        Ok(Json(Page::of(rows, page.0, per_page.0, total)))
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
    /// The call with its lead analytics.
    #[oai(path = "/:id", method = "get")]
    async fn get(&self, auth: Auth, id: Path<Uuid>) -> Result<Json<CallDetail>, CallErrors> {
        let me = auth.user(&self.services).await?;
        let db = &self.services.db;
        let call = service::get(db, me.owner(), id.0).await?;
        let lead = service::lead_of(db, call.id).await?;
        let problems = call.metadata["problems"]
            .as_array()
            .map(|p| {
                p.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Json(CallDetail {
            call: call.into(),
            lead_analytics: lead.map(Into::into),
            problems,
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
    ) -> Result<Json<Transcript>, CallErrors> {
        let me = auth.user(&self.services).await?;
        let db = &self.services.db;
        let call = service::get(db, me.owner(), id.0).await?;
        let turns = shared::calls::transcripts::turns(db, call.id).await?;
        let matches = q.0.as_deref().map(|q| matches_in(&turns, q));
        Ok(Json(Transcript {
            id: call.id,
            call_id: call.id,
            content: call.transcript_text.clone().unwrap_or_default(),
            speaker_segments: segments(turns),
            matches,
            created_at: call.completed_at.unwrap_or(call.created_at),
        }))
    }

    /// Stream a call's recording
    ///
    /// The MP3 ElevenLabs sent after the call, with range requests (players can seek) and
    /// caching headers. Error codes: 400 `invalid_parameter` (id) or `invalid_range`, 404
    /// `call_not_found` (another user's call too) or `recording_not_found`; a range past the
    /// end is answered 416.
    #[oai(path = "/:id/recording", method = "get")]
    async fn recording(
        &self,
        auth: Auth,
        id: Path<Uuid>,
        req: &poem::Request,
    ) -> Result<poem::web::StaticFileResponse, RecordingErrors> {
        let me = auth.user(&self.services).await?;
        let path = service::recording_path(&self.services, me.id, id.0).await?;
        let file = poem::web::StaticFileRequest::from_request_without_body(req)
            .await
            .map_err(|e| shared::AppError::bad_request("invalid_range", e.to_string()))?;
        file.create_response(&path, false, true)
            .map_err(|e| shared::AppError::bad_request("invalid_range", e.to_string()).into())
    }
}
