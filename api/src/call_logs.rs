//! The call logs' shapes: the rows of the Unified Call Logs (camelCase, with the durations and
//! source the rows print), their statistics, and the `{success, data}` envelopes of one call
//! and of its transcript.

use poem_openapi::{Enum, Object};
use shared::calls::{history, presentation};
use uuid::Uuid;

use crate::{
    calls::{LeadAnalytics, Transcript},
    pagination::Pagination,
    wire::Timestamp,
};

/// One row of the call logs.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct CallLogItem {
    pub id: Uuid,
    pub user_id: Uuid,
    pub agent_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    /// The number called or calling (E.164), if any.
    pub phone_number: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub agent_name: Option<String>,
    /// `completed`, `failed` or `in_progress` (dialling or talking).
    pub status: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    pub duration_seconds: i32,
    /// Started minutes, as charged.
    pub duration_minutes: i64,
    /// `2 min 5 sec`.
    pub display_duration: String,
    pub credits_used: i64,
    /// `phone`, `internet` (the web widget) or `unknown`.
    pub call_source: String,
    pub created_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    /// The lead score out of 100, when the call was scored.
    pub total_score: Option<i32>,
    /// `Hot`, `Warm` or `Cold`, when the call was scored.
    pub lead_tag: Option<String>,
    pub has_transcript: bool,
    pub has_recording: bool,
    /// Where the recording plays from (`/api/calls/{id}/audio`).
    pub recording_url: Option<String>,
    pub summary: Option<String>,
    pub summary_title: Option<String>,
    /// ElevenLabs' verdict: `success`, `failure` or `unknown`.
    pub call_successful: Option<String>,
    pub elevenlabs_conversation_id: Option<String>,
}

impl From<history::CallRow> for CallLogItem {
    fn from(row: history::CallRow) -> Self {
        let c = row.call;
        let secs = c.duration_secs.max(0);
        Self {
            id: c.id,
            user_id: c.user_id,
            agent_id: c.agent_id,
            contact_id: c.contact_id,
            phone_number: c.phone_number.clone(),
            contact_name: row.contact.as_ref().map(|x| x.name.clone()),
            contact_email: row.contact.as_ref().and_then(|x| x.email.clone()),
            agent_name: row.agent_name,
            status: presentation::status_word(c.status).to_string(),
            direction: c.direction.to_string(),
            duration_seconds: secs,
            duration_minutes: (i64::from(secs) + 59) / 60,
            display_duration: presentation::spoken_duration(secs),
            credits_used: c.credits_charged,
            call_source: presentation::source(&c).as_str().to_string(),
            created_at: c.created_at.into(),
            completed_at: c.completed_at.map(Into::into),
            total_score: c.lead_score,
            lead_tag: c.lead_tag.clone(),
            has_transcript: c.transcript_text.is_some(),
            has_recording: c.recording_key.is_some(),
            recording_url: c
                .recording_key
                .as_ref()
                .map(|_| format!("/api/calls/{}/audio", c.id)),
            summary: c.summary,
            summary_title: c.summary_title,
            call_successful: c.call_successful,
            elevenlabs_conversation_id: c.elevenlabs_conversation_id,
        }
    }
}

/// A page of the call logs.
#[derive(Debug, Object)]
#[oai(example)]
pub struct CallLogList {
    pub success: bool,
    pub data: Vec<CallLogItem>,
    pub pagination: Pagination,
}

impl poem_openapi::types::Example for CallLogList {
    fn example() -> Self {
        Self {
            success: true,
            data: vec![CallLogItem::example()],
            pagination: Pagination::new(1, 30, 0),
        }
    }
}

/// The call logs' sort keys, as the client names them.
#[derive(Debug, Clone, Copy, Enum)]
pub enum CallLogSort {
    #[oai(rename = "created_at")]
    CreatedAt,
    #[oai(rename = "duration_seconds")]
    DurationSeconds,
    #[oai(rename = "contact_name")]
    ContactName,
    #[oai(rename = "total_score")]
    TotalScore,
    #[oai(rename = "phone_number")]
    PhoneNumber,
}

impl From<CallLogSort> for history::CallSort {
    fn from(s: CallLogSort) -> Self {
        match s {
            CallLogSort::CreatedAt => history::CallSort::CreatedAt,
            CallLogSort::DurationSeconds => history::CallSort::Duration,
            CallLogSort::ContactName => history::CallSort::ContactName,
            CallLogSort::TotalScore => history::CallSort::Score,
            CallLogSort::PhoneNumber => history::CallSort::PhoneNumber,
        }
    }
}

pub use crate::pagination::UpperSortOrder;

/// The call logs' status filter, in the client's words.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CallLogStatus {
    Completed,
    Failed,
    /// Dialling or talking.
    InProgress,
    /// No call is ever cancelled here; the filter finds none.
    Cancelled,
}

/// A lead tag, as the filters name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum LeadTag {
    Hot,
    Warm,
    Cold,
}

impl LeadTag {
    pub fn as_str(self) -> &'static str {
        match self {
            LeadTag::Hot => "Hot",
            LeadTag::Warm => "Warm",
            LeadTag::Cold => "Cold",
        }
    }
}

/// The period the statistics cover, ending now.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum StatsPeriod {
    Day,
    Week,
    Month,
}

/// The call logs' statistics over a period (phone agents' finished calls), with the change
/// against the period before.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct CallStatistics {
    /// Finished calls (completed or failed).
    pub total_calls: i64,
    pub completed_calls: i64,
    pub failed_calls: i64,
    /// Calls that did not connect (the failed ones).
    pub not_connected_calls: i64,
    /// Calls dialling or talking now.
    pub in_progress_calls: u64,
    /// Seconds talked.
    pub total_duration: i64,
    pub total_minutes: f64,
    /// Seconds per connected call.
    pub average_duration: f64,
    /// The same, under the client's other name.
    pub average_call_duration: f64,
    pub total_credits_used: i64,
    pub average_credits_per_call: f64,
    /// Successful (ElevenLabs' evaluation) per connected call, in percent.
    pub success_rate: f64,
    /// Out of 100, over the scored calls.
    pub average_lead_score: Option<f64>,
    pub top_performing_agent: Option<String>,
    pub calls_this_period: i64,
    /// Change in finished calls against the previous period, in percent.
    pub growth_rate: f64,
    /// `day`, `week` or `month`.
    pub period: String,
}

impl poem_openapi::types::Example for CallStatistics {
    fn example() -> Self {
        Self {
            total_calls: 120,
            completed_calls: 104,
            failed_calls: 16,
            not_connected_calls: 16,
            in_progress_calls: 2,
            total_duration: 18_720,
            total_minutes: 312.0,
            average_duration: 180.0,
            average_call_duration: 180.0,
            total_credits_used: 364,
            average_credits_per_call: 3.0,
            success_rate: 71.2,
            average_lead_score: Some(64.5),
            top_performing_agent: Some("Sales Assistant".into()),
            calls_this_period: 120,
            growth_rate: 12.5,
            period: "month".into(),
        }
    }
}

impl CallStatistics {
    pub fn new(s: &shared::dashboard::call_analytics::CallStats, period: StatsPeriod) -> Self {
        use shared::{dashboard::call_analytics::percent, entities::call_rollups::Column as C};
        let now = &s.now;
        let calls = now.get(C::Calls);
        let connected = now.get(C::Connected);
        let before = s.before.get(C::Calls);
        let per = |n: i64, of: i64| if of == 0 { 0.0 } else { n as f64 / of as f64 };
        let average_duration = (per(now.get(C::DurationSecs), connected) * 10.0).round() / 10.0;
        Self {
            total_calls: calls,
            completed_calls: connected,
            failed_calls: now.get(C::Failed),
            not_connected_calls: now.get(C::Failed),
            in_progress_calls: s.in_progress,
            total_duration: now.get(C::DurationSecs),
            total_minutes: (now.minutes() * 10.0).round() / 10.0,
            average_duration,
            average_call_duration: average_duration,
            total_credits_used: now.get(C::Credits),
            average_credits_per_call: (per(now.get(C::Credits), calls) * 100.0).round() / 100.0,
            success_rate: percent(now.get(C::Successful), connected),
            average_lead_score: now.average_score().map(|x| (x * 10.0).round() / 10.0),
            top_performing_agent: s.top_agent.clone(),
            calls_this_period: calls,
            growth_rate: if before == 0 {
                0.0
            } else {
                percent(calls - before, before)
            },
            period: match period {
                StatsPeriod::Day => "day",
                StatsPeriod::Week => "week",
                StatsPeriod::Month => "month",
            }
            .into(),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct CallStatisticsEnvelope {
    pub success: bool,
    pub data: CallStatistics,
}

impl poem_openapi::types::Example for CallStatisticsEnvelope {
    fn example() -> Self {
        Self {
            success: true,
            data: CallStatistics::example(),
        }
    }
}

/// A call with its lead analytics, as `GET /api/calls/{id}` answers.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct CallDetail {
    #[oai(flatten)]
    pub call: CallLogItem,
    pub lead_analytics: Option<LeadAnalytics>,
    /// What was missing from ElevenLabs' report, if anything.
    pub problems: Vec<String>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct CallDetailEnvelope {
    pub success: bool,
    pub data: CallDetail,
}

/// A transcript in the viewer's envelope.
#[derive(Debug, Object)]
#[oai(example)]
pub struct TranscriptEnvelope {
    pub success: bool,
    pub data: Transcript,
}
