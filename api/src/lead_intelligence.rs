//! Lead Intelligence (Dashboard → Lead Intelligence): the lead groups, a group's timeline and
//! one conversation's analytics, in the shapes `LeadIntelligence` and
//! `InteractionDetailsModal` read.

use poem_openapi::{Object, OpenApi, param::Path, payload::Json};
use shared::{
    Services,
    calls::{history::CallRow, presentation},
    contacts::intelligence::{self as service, GroupKey, LeadGroup, reasoning_text},
    entities::lead_analytics,
};
use uuid::Uuid;

use crate::{api_errors, lead_rows::Levels, security::Auth, tags::Tag, wire::Timestamp};

/// The tag the screen colours; a conversation that was never scored says so.
fn tag_of(lead: Option<&lead_analytics::Model>) -> String {
    lead.map_or_else(|| "Unscored".to_string(), |l| l.lead_status_tag.clone())
}

/// One row of Lead Intelligence.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct LeadGroupRow {
    /// `phone_<number>`, `email_<address>` or `individual_<call id>`.
    pub id: String,
    /// `Anonymous` when nobody left a name.
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    /// `inbound` or `outbound`: who started the newest conversation.
    pub lead_type: String,
    /// `Hot`, `Warm`, `Cold`, or `Unscored`: the newest conversation's.
    pub recent_lead_tag: String,
    pub recent_engagement_level: Option<String>,
    pub recent_intent_level: Option<String>,
    pub recent_budget_constraint: Option<String>,
    pub recent_timeline_urgency: Option<String>,
    pub recent_fit_alignment: Option<String>,
    pub escalated_to_human: bool,
    pub interacted_agents: Vec<String>,
    pub interactions: i64,
    pub last_contact: Timestamp,
    /// The lead's latest follow-up (scheduled on this screen).
    pub follow_up_scheduled: Option<Timestamp>,
    /// `pending` or `completed`.
    pub follow_up_status: Option<String>,
    /// The demo scheduled on this screen, else the one the caller booked in the newest
    /// conversation.
    pub demo_scheduled: Option<Timestamp>,
    /// `phone`, `email` or `individual`.
    pub group_type: String,
}

impl From<LeadGroup> for LeadGroupRow {
    fn from(g: LeadGroup) -> Self {
        let lead = g.latest.as_ref();
        let contact = g.contact.as_ref();
        let blank_to_none = |s: Option<&String>| s.filter(|s| !s.trim().is_empty()).cloned();
        Self {
            id: g.key.id(),
            name: contact
                .map(|c| c.name.trim().to_string())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "Anonymous".into()),
            email: blank_to_none(contact.and_then(|c| c.email.as_ref())),
            phone: contact
                .map(|c| c.phone_e164.clone())
                .filter(|p| !p.is_empty())
                .or_else(|| g.last_call.as_ref().and_then(|c| c.phone_number.clone())),
            company: blank_to_none(contact.and_then(|c| c.company.as_ref())),
            lead_type: g
                .last_call
                .as_ref()
                .map_or("inbound".into(), |c| c.direction.to_string()),
            recent_lead_tag: tag_of(lead),
            recent_engagement_level: lead.and_then(|l| l.engagement_health.clone()),
            recent_intent_level: lead.and_then(|l| l.intent_level.clone()),
            recent_budget_constraint: lead.and_then(|l| l.budget_constraint.clone()),
            recent_timeline_urgency: lead.and_then(|l| l.urgency_level.clone()),
            recent_fit_alignment: lead.and_then(|l| l.fit_alignment.clone()),
            escalated_to_human: lead.is_some_and(|l| l.clicked("escalated_to_human")),
            interacted_agents: g.agents,
            interactions: g.interactions,
            last_contact: g.last_contact.into(),
            follow_up_scheduled: None,
            follow_up_status: None,
            demo_scheduled: lead.and_then(|l| l.demo_at).map(Into::into),
            group_type: g.key.kind().into(),
        }
    }
}

/// One conversation on a group's timeline.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct TimelineEntry {
    /// The call's id (its analytics are at `/api/analytics/calls/{id}`).
    pub id: Uuid,
    pub interaction_agent: String,
    pub interaction_date: Timestamp,
    /// `Phone` or `Internet`.
    pub platform: String,
    pub company_name: Option<String>,
    /// The conversation's lead tag (`Unscored` when it was not scored).
    pub status: String,
    /// The call summary's title.
    pub use_case: String,
    /// `MM:SS`.
    pub duration: String,
    #[oai(flatten)]
    pub levels: Levels,
}

impl From<CallRow> for TimelineEntry {
    fn from(row: CallRow) -> Self {
        let c = &row.call;
        let lead = row.lead.as_ref();
        Self {
            id: c.id,
            interaction_agent: row
                .agent_name
                .clone()
                .unwrap_or_else(|| "Unknown agent".into()),
            interaction_date: c.completed_at.unwrap_or(c.created_at).into(),
            platform: presentation::source(c).platform().into(),
            company_name: row
                .contact
                .as_ref()
                .and_then(|x| x.company.clone())
                .filter(|s| !s.trim().is_empty()),
            status: tag_of(lead),
            use_case: c
                .summary_title
                .clone()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "No summary available".into()),
            duration: presentation::padded_clock(c.duration_secs),
            levels: Levels::of(lead),
        }
    }
}

/// The call's total, as the details header prints it (snake_case inside this payload, as the
/// modal reads it).
#[derive(Debug, Object)]
pub struct Overall {
    /// Out of 100.
    pub total_score: i32,
    /// `Hot`, `Warm`, `Cold`, or `Unscored`.
    pub lead_status_tag: String,
    /// `scored`, `unreadable` or `not_collected`.
    pub score_status: lead_analytics::ScoreStatus,
}

/// One scored dimension. Its level sits under the name the modal reads for that dimension
/// (`level`, `constraint`, `alignment` or `health`).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Dimension {
    pub level: Option<String>,
    pub constraint: Option<String>,
    pub alignment: Option<String>,
    pub health: Option<String>,
    /// Out of 100.
    pub score: i32,
    pub reasoning: String,
}

#[derive(Debug, Object)]
pub struct Dimensions {
    pub intent: Dimension,
    pub urgency: Dimension,
    pub budget: Dimension,
    pub fit: Dimension,
    pub engagement: Dimension,
}

#[derive(Debug, Object)]
pub struct CtaBehaviour {
    pub cta_behavior_reasoning: String,
    /// The CTAs the caller took, in words.
    pub cta_summary: Vec<String>,
    pub engagement_indicators: Vec<String>,
}

/// A conversation's analytics, as `InteractionDetailsModal` reads them.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CallAnalyticsDetail {
    pub call_id: Uuid,
    pub overall: Overall,
    pub scores: Dimensions,
    pub interactions: CtaBehaviour,
    pub recommendations: Vec<String>,
    /// The demo the caller booked.
    pub demo_scheduled: Option<Timestamp>,
    /// What the agent sent, verbatim (`{key, value, scale, …}`).
    pub data_collection: serde_json::Value,
}

impl From<service::CallInsight> for CallAnalyticsDetail {
    fn from(i: service::CallInsight) -> Self {
        let l = &i.lead;
        let why = |key: &str| reasoning_text(&l.reasoning[key]);
        let dim = |score: i32, key: &str| Dimension {
            level: None,
            constraint: None,
            alignment: None,
            health: None,
            score,
            reasoning: why(key),
        };
        Self {
            call_id: i.call.id,
            overall: Overall {
                total_score: l.total_score,
                lead_status_tag: l.lead_status_tag.clone(),
                score_status: l.score_status,
            },
            scores: Dimensions {
                intent: Dimension {
                    level: l.intent_level.clone(),
                    ..dim(l.intent_score, "intent")
                },
                urgency: Dimension {
                    level: l.urgency_level.clone(),
                    ..dim(l.urgency_score, "urgency")
                },
                budget: Dimension {
                    constraint: l.budget_constraint.clone(),
                    ..dim(l.budget_score, "budget")
                },
                fit: Dimension {
                    alignment: l.fit_alignment.clone(),
                    ..dim(l.fit_score, "fit")
                },
                engagement: Dimension {
                    health: l.engagement_health.clone(),
                    ..dim(l.engagement_score, "engagement")
                },
            },
            interactions: CtaBehaviour {
                cta_behavior_reasoning: why("cta_behavior"),
                cta_summary: i.cta_summary,
                engagement_indicators: i.engagement_indicators,
            },
            recommendations: i.recommendations,
            demo_scheduled: l.demo_at.map(Into::into),
            data_collection: l.data_collection.clone(),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct CallAnalyticsEnvelope {
    pub success: bool,
    pub data: CallAnalyticsDetail,
}

api_errors!(LeadIntelligenceErrors {
    400 => BadRequest: "Malformed id (`invalid_parameter`).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    404 => NotFound: "No such lead group (`lead_not_found`) or call (`call_not_found`) of this user, or a call that was never scored (`analytics_not_found`).",
});

pub struct LeadIntelligenceApi {
    pub services: Services,
}

#[OpenApi(tag = "Tag::Leads")]
impl LeadIntelligenceApi {
    /// Lead groups
    ///
    /// Everyone who talked to the user's agents, grouped by phone number, else e-mail, else
    /// one group per conversation, most recently active first (at most 1,000), each with its
    /// newest conversation's score. A bare array, as the screen reads it.
    #[oai(path = "/api/lead-intelligence", method = "get")]
    async fn groups(&self, auth: Auth) -> Result<Json<Vec<LeadGroupRow>>, LeadIntelligenceErrors> {
        let me = auth.user(&self.services).await?;
        let db = &self.services.db;
        let groups = service::groups(db, me.owner()).await?;
        let contacts: Vec<Uuid> = groups
            .iter()
            .filter_map(|g| g.contact.as_ref().map(|c| c.id))
            .collect();
        let mut tasks = shared::contacts::tasks::latest_of(db, me.id, &contacts).await?;
        Ok(Json(
            groups
                .into_iter()
                .map(|g| {
                    let (follow_up, demo) = g
                        .contact
                        .as_ref()
                        .and_then(|c| tasks.remove(&c.id))
                        .unwrap_or_default();
                    let mut row = LeadGroupRow::from(g);
                    if let Some(f) = follow_up {
                        row.follow_up_scheduled = Some(f.due_at.into());
                        row.follow_up_status = Some(f.status.to_string());
                    }
                    if let Some(d) = demo {
                        row.demo_scheduled = Some(d.due_at.into());
                    }
                    row
                })
                .collect(),
        ))
    }

    /// A lead group's timeline
    ///
    /// The group's conversations, newest first (at most 200). A bare array.
    #[oai(path = "/api/lead-intelligence/:group_id/timeline", method = "get")]
    async fn timeline(
        &self,
        auth: Auth,
        #[oai(validator(max_length = 400))] group_id: Path<String>,
    ) -> Result<Json<Vec<TimelineEntry>>, LeadIntelligenceErrors> {
        let me = auth.user(&self.services).await?;
        let key = GroupKey::parse(&group_id.0)?;
        let rows = service::timeline(&self.services.db, me.owner(), &key).await?;
        Ok(Json(rows.into_iter().map(Into::into).collect()))
    }

    /// A conversation's analytics
    ///
    /// Scores (out of 100) with the agent's reasoning, the CTAs taken, engagement signals and
    /// recommended next steps.
    #[oai(path = "/api/analytics/calls/:call_id", method = "get")]
    async fn call(
        &self,
        auth: Auth,
        call_id: Path<Uuid>,
    ) -> Result<Json<CallAnalyticsEnvelope>, LeadIntelligenceErrors> {
        let me = auth.user(&self.services).await?;
        let insight = service::call_insight(&self.services.db, me.owner(), call_id.0).await?;
        Ok(Json(CallAnalyticsEnvelope {
            success: true,
            data: insight.into(),
        }))
    }
}
