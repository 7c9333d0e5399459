//! The lead views of the per-agent Data tab (`CallData`, `LeadProfileTab`): one row per
//! finished conversation, a lead's profile with its scores out of 100, and its timeline.

use poem_openapi::{Enum, Object};
use shared::{
    calls::{Channel, history::CallRow, presentation},
    contacts::intelligence::reasoning_text,
    entities::lead_analytics,
};
use uuid::Uuid;

use crate::{pagination::Pagination, wire::Timestamp};

/// The tag of a conversation (`Unscored` when it was not scored).
fn tag(lead: Option<&lead_analytics::Model>) -> String {
    lead.map_or_else(|| "Unscored".into(), |l| l.lead_status_tag.clone())
}

fn name_of(row: &CallRow) -> String {
    row.contact
        .as_ref()
        .map(|c| c.name.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Anonymous".into())
}

fn use_case(row: &CallRow) -> String {
    row.call
        .summary_title
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "No summary available".into())
}

/// How many turns the conversation had, when it is a chat (the table's "messages").
fn messages(row: &CallRow) -> Option<i64> {
    (row.call.channel == Channel::Chat).then(|| {
        row.call.transcript_text.as_deref().map_or(0, |t| {
            t.lines().filter(|l| !l.trim().is_empty()).count() as i64
        })
    })
}

/// A conversation's levels (`Low`/`Medium`/`High`, budget `Yes`/`Maybe`/`No`, as the agent
/// wrote them), under the names every lead view reads.
#[derive(Debug, Default, Object)]
#[oai(rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct Levels {
    pub engagement_level: Option<String>,
    pub intent_level: Option<String>,
    pub budget_constraint: Option<String>,
    pub timeline_urgency: Option<String>,
    pub fit_alignment: Option<String>,
}

impl Levels {
    pub fn of(lead: Option<&lead_analytics::Model>) -> Self {
        let Some(l) = lead else {
            return Self::default();
        };
        Self {
            engagement_level: l.engagement_health.clone(),
            intent_level: l.intent_level.clone(),
            budget_constraint: l.budget_constraint.clone(),
            timeline_urgency: l.urgency_level.clone(),
            fit_alignment: l.fit_alignment.clone(),
        }
    }
}

/// One conversation as a lead row.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct LeadItem {
    /// The conversation's id.
    pub id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    /// `Phone` or `Internet`.
    pub platform: String,
    /// `inbound` or `outbound`.
    pub lead_type: String,
    pub use_case: String,
    /// `Hot`, `Warm`, `Cold`, or `Unscored`.
    pub lead_tag: String,
    /// Out of 100, when scored.
    pub total_score: Option<i32>,
    /// Turns of a chat.
    pub messages: Option<i64>,
    /// `m:ss`.
    pub duration: String,
    /// The conversation's levels, as the agent wrote them.
    #[oai(flatten)]
    pub levels: Levels,
    /// Follow-ups are not scheduled here yet: always null.
    pub follow_up_scheduled: Option<Timestamp>,
    pub demo_scheduled: Option<Timestamp>,
    /// The agent's name.
    pub agent: Option<String>,
    /// `YYYY-MM-DD`.
    pub interaction_date: String,
    /// Whether this is the contact's newest scored conversation.
    pub is_latest_interaction: bool,
}

impl From<CallRow> for LeadItem {
    fn from(row: CallRow) -> Self {
        let lead = row.lead.as_ref();
        let c = &row.call;
        let contact = row.contact.as_ref();
        Self {
            id: c.id,
            name: name_of(&row),
            phone: c
                .phone_number
                .clone()
                .or_else(|| contact.map(|x| x.phone_e164.clone())),
            email: contact.and_then(|x| x.email.clone()),
            company: contact.and_then(|x| x.company.clone()),
            platform: presentation::source(c).platform().into(),
            lead_type: c.direction.to_string(),
            use_case: use_case(&row),
            lead_tag: tag(lead),
            total_score: c.lead_score,
            messages: messages(&row),
            duration: shared::calls::history::clock(c.duration_secs),
            levels: Levels::of(lead),
            follow_up_scheduled: None,
            demo_scheduled: lead.and_then(|l| l.demo_at).map(Into::into),
            agent: row.agent_name.clone(),
            interaction_date: c.created_at.format("%Y-%m-%d").to_string(),
            is_latest_interaction: match (contact, lead) {
                (Some(contact), Some(lead)) => contact.latest_lead_id == Some(lead.id),
                (None, _) => true,
                _ => false,
            },
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct LeadList {
    pub success: bool,
    pub data: Vec<LeadItem>,
    pub pagination: Pagination,
}

/// The lead list's sort keys, as the client names them.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "camelCase")]
pub enum LeadItemSort {
    Name,
    InteractionDate,
    /// By score (the tag follows it).
    LeadTag,
}

/// `inbound` or `outbound`.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum LeadType {
    Inbound,
    Outbound,
}

/// The five scores, each out of 100.
#[derive(Debug, Object)]
pub struct Scores {
    pub intent: i32,
    pub urgency: i32,
    pub budget: i32,
    pub fit: i32,
    pub engagement: i32,
}

/// A lead's profile, as `LeadProfileTab` reads it.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct LeadProfileView {
    /// The conversation's id.
    pub id: Uuid,
    pub contact_id: Option<Uuid>,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    /// `inbound` or `outbound`.
    pub lead_type: String,
    pub lead_tag: String,
    /// `CallAgent` or `ChatAgent`.
    pub agent_type: String,
    /// Finished conversations with this contact.
    pub interactions: i64,
    /// The conversation's levels, as the agent wrote them.
    #[oai(flatten)]
    pub levels: Levels,
    pub use_case: String,
    pub follow_up_scheduled: Option<Timestamp>,
    pub demo_scheduled: Option<Timestamp>,
    /// Out of 100 (absent when the conversation was not scored).
    pub total_score: Option<i32>,
    pub scores: Option<Scores>,
    /// The CTA flags (`pricing_clicked`, `demo_clicked`, …).
    pub cta_interactions: Option<serde_json::Value>,
    /// The agent's reasoning per dimension, as text.
    pub reasoning: Option<std::collections::BTreeMap<String, String>>,
}

impl From<CallRow> for LeadProfileView {
    fn from(row: CallRow) -> Self {
        let c = &row.call;
        let contact = row.contact.as_ref();
        let lead = row
            .lead
            .as_ref()
            .filter(|l| l.score_status == lead_analytics::ScoreStatus::Scored);
        Self {
            id: c.id,
            contact_id: c.contact_id,
            name: name_of(&row),
            email: contact.and_then(|x| x.email.clone()),
            phone: c
                .phone_number
                .clone()
                .or_else(|| contact.map(|x| x.phone_e164.clone())),
            company: contact.and_then(|x| x.company.clone()),
            lead_type: c.direction.to_string(),
            lead_tag: tag(row.lead.as_ref()),
            agent_type: match c.channel {
                Channel::Chat => "ChatAgent",
                Channel::Call => "CallAgent",
            }
            .into(),
            interactions: contact.map_or(1, |x| i64::from(x.interaction_count)),
            levels: Levels::of(lead),
            use_case: use_case(&row),
            follow_up_scheduled: None,
            demo_scheduled: row.lead.as_ref().and_then(|l| l.demo_at).map(Into::into),
            total_score: lead.map(|l| l.total_score),
            scores: lead.map(|l| Scores {
                intent: l.intent_score,
                urgency: l.urgency_score,
                budget: l.budget_score,
                fit: l.fit_score,
                engagement: l.engagement_score,
            }),
            cta_interactions: row.lead.as_ref().map(|l| l.cta_interactions.clone()),
            reasoning: row.lead.as_ref().and_then(|l| {
                l.reasoning.as_object().map(|map| {
                    map.iter()
                        .map(|(k, v)| (k.clone(), reasoning_text(v)))
                        .filter(|(_, v)| !v.is_empty())
                        .collect()
                })
            }),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct LeadProfileEnvelope {
    pub success: bool,
    pub data: LeadProfileView,
}

/// One conversation on a lead's timeline.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct LeadTimelineItem {
    pub id: Uuid,
    /// `call` or `chat`.
    #[oai(rename = "type")]
    pub kind: String,
    pub interaction_agent: Option<String>,
    pub interaction_date: Timestamp,
    pub platform: String,
    pub lead_type: String,
    /// The conversation's tag.
    pub status: String,
    pub use_case: String,
    pub messages: Option<i64>,
    /// `m:ss`.
    pub duration: String,
    /// The conversation's levels, as the agent wrote them.
    #[oai(flatten)]
    pub levels: Levels,
    pub demo_scheduled: Option<Timestamp>,
    /// Whether a recording can be played.
    pub recording: bool,
    /// The whole conversation as `speaker: text` lines.
    pub transcript: String,
    /// `YYYY-MM-DD`.
    pub date: String,
}

impl From<CallRow> for LeadTimelineItem {
    fn from(row: CallRow) -> Self {
        let lead = row.lead.as_ref();
        let c = &row.call;
        Self {
            id: c.id,
            kind: c.channel.to_string(),
            interaction_agent: row.agent_name.clone(),
            interaction_date: c.completed_at.unwrap_or(c.created_at).into(),
            platform: presentation::source(c).platform().into(),
            lead_type: c.direction.to_string(),
            status: tag(lead),
            use_case: use_case(&row),
            messages: messages(&row),
            duration: shared::calls::history::clock(c.duration_secs),
            levels: Levels::of(lead),
            demo_scheduled: lead.and_then(|l| l.demo_at).map(Into::into),
            recording: c.recording_key.is_some(),
            transcript: c.transcript_text.clone().unwrap_or_default(),
            date: c.created_at.format("%Y-%m-%d").to_string(),
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct LeadTimeline {
    pub timeline: Vec<LeadTimelineItem>,
    pub total_interactions: u64,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct LeadTimelineEnvelope {
    pub success: bool,
    pub data: LeadTimeline,
}
