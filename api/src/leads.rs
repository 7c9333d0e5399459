//! Lead intelligence: the lead list (ChatData / CallData tables), its export, and the lead
//! profile.

use chrono::{DateTime, Utc};
use poem_openapi::{
    Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use shared::{
    AppError, Services,
    calls::Channel,
    calls::history::{self, CallFilter, CallSort, clock},
    calls::{CallStatus, Direction},
    contacts::intelligence,
    contacts::leads::{self as service, LeadFilter, LeadSort},
    platform::db::Window,
};
use uuid::Uuid;

use crate::{
    api_errors,
    call_logs::LeadTag,
    calls::{Call, LeadAnalytics},
    contacts::Contact,
    download::{ExportFormat, FileResponse, default_format},
    lead_rows::{
        LeadItemSort, LeadList, LeadProfileEnvelope, LeadTimeline, LeadTimelineEnvelope, LeadType,
    },
    pagination::Pagination,
    pagination::SortOrder,
    security::Auth,
    tags::Tag,
};

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AgentRef {
    pub id: Uuid,
    pub name: String,
}

/// A contact that has talked to an agent, with its latest score.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Lead {
    /// The contact's id (a lead is a contact that has interacted).
    pub id: Uuid,
    pub contact: Contact,
    /// The latest lead analytics (all scores, tag, reasoning, CTA interactions).
    pub lead_analytics: Option<LeadAnalytics>,
    pub total_score: Option<i32>,
    /// `Hot`, `Warm` or `Cold`.
    pub lead_status_tag: Option<String>,
    /// Finished calls and chats.
    pub interaction_count: i32,
    pub call_count: i32,
    pub chat_count: i32,
    pub last_interaction_at: Option<DateTime<Utc>>,
    pub agents: Vec<AgentRef>,
}

impl From<service::LeadRow> for Lead {
    fn from(row: service::LeadRow) -> Self {
        let c = &row.contact;
        Self {
            id: c.id,
            total_score: c.latest_score,
            lead_status_tag: c.latest_tag.clone(),
            interaction_count: c.interaction_count,
            call_count: c.call_count,
            chat_count: c.chat_count,
            last_interaction_at: c.last_interaction_at,
            lead_analytics: row.latest.map(Into::into),
            agents: row
                .agents
                .into_iter()
                .map(|(id, name)| AgentRef { id, name })
                .collect(),
            contact: Contact::of(row.contact),
        }
    }
}

/// A point of the score trend line.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ScorePoint {
    pub call_id: Uuid,
    pub total_score: i32,
    pub lead_status_tag: String,
    pub created_at: DateTime<Utc>,
}

/// One finished conversation on the timeline.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Interaction {
    #[oai(rename = "type")]
    pub kind: Channel,
    pub call: Call,
    pub agent_name: Option<String>,
    /// `m:ss`.
    pub duration: String,
    pub total_score: Option<i32>,
    pub lead_status_tag: Option<String>,
    /// The CTA flags of this conversation.
    pub cta_interactions: Option<serde_json::Value>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NextAction {
    pub action: String,
    pub reason: String,
    /// `high`, `medium` or `low`.
    pub priority: String,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct LeadProfile {
    #[oai(flatten)]
    pub lead: Lead,
    /// Every score, oldest first.
    pub score_history: Vec<ScorePoint>,
    /// Newest first; at most 500 (see `timeline_total`).
    pub timeline: Vec<Interaction>,
    pub timeline_total: u64,
    pub next_actions: Vec<NextAction>,
}

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum LeadSortBy {
    Recency,
    Score,
}

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum InteractionType {
    Call,
    Chat,
}

api_errors!(LeadErrors {
    400 => BadRequest: "Malformed path or query (`invalid_parameter`), or an invalid field (`validation_error`; `details` maps each field to its message).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    404 => NotFound: "No such lead of this user (`lead_not_found`).",
});

/// The lead list's query parameters (the export takes the same).
pub struct LeadParams {
    pub tag: Option<String>,
    pub min_score: Option<i32>,
    pub max_score: Option<i32>,
    pub agent_id: Option<Uuid>,
    pub kind: Option<InteractionType>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub q: Option<String>,
    pub sort: Option<LeadSortBy>,
    pub order: Option<SortOrder>,
}

fn lead_filter(p: LeadParams) -> Result<LeadFilter, AppError> {
    if let (Some(lo), Some(hi)) = (p.min_score, p.max_score)
        && lo > hi
    {
        return Err(AppError::validation(
            "min_score",
            "must not exceed `max_score`",
        ));
    }
    if let (Some(f), Some(t)) = (p.from, p.to)
        && f >= t
    {
        return Err(AppError::validation("from", "must be before `to`"));
    }
    Ok(LeadFilter {
        tag: p.tag,
        min_score: p.min_score,
        max_score: p.max_score,
        agent_id: p.agent_id,
        channel: p.kind.map(|k| match k {
            InteractionType::Call => Channel::Call,
            InteractionType::Chat => Channel::Chat,
        }),
        from: p.from,
        to: p.to,
        search: p.q,
        sort: match p.sort.unwrap_or(LeadSortBy::Recency) {
            LeadSortBy::Recency => LeadSort::Recency,
            LeadSortBy::Score => LeadSort::Score,
        },
        descending: !matches!(p.order, Some(SortOrder::Asc)),
    })
}

pub struct LeadApi {
    pub services: Services,
}

#[OpenApi(prefix_path = "/api/leads", tag = "Tag::Leads")]
impl LeadApi {
    /// List leads
    ///
    /// One row per finished conversation (the per-agent Data tab), newest first by default,
    /// `limit` (default 20, at most 100) rows from `offset`. `search` matches the contact's
    /// name or number or words of the transcript; `leadTag` the conversation's tag; `leadType`
    /// who started it; `agent` the agent's name; `type` calls or chats; `startDate`/`endDate`
    /// bound when it happened (`endDate` exclusive).
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: Auth,
        #[oai(validator(max_length = 200))] search: Query<Option<String>>,
        #[oai(name = "leadTag")] lead_tag: Query<Option<LeadTag>>,
        #[oai(name = "leadType")] lead_type: Query<Option<LeadType>>,
        #[oai(validator(max_length = 200))] agent: Query<Option<String>>,
        /// Calls or chats only.
        #[oai(name = "type")]
        kind: Query<Option<InteractionType>>,
        #[oai(name = "startDate")] start_date: Query<Option<DateTime<Utc>>>,
        #[oai(name = "endDate")] end_date: Query<Option<DateTime<Utc>>>,
        #[oai(
            default = "default_lead_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<u64>,
        #[oai(default, validator(maximum(value = "10000000")))] offset: Query<u64>,
        #[oai(name = "sortBy")] sort_by: Query<Option<LeadItemSort>>,
        #[oai(name = "sortOrder")] sort_order: Query<Option<SortOrder>>,
    ) -> Result<Json<LeadList>, LeadErrors> {
        let me = auth.user(&self.services).await?;
        if let (Some(from), Some(to)) = (start_date.0, end_date.0)
            && from >= to
        {
            return Err(AppError::validation("startDate", "must be before `endDate`").into());
        }
        let filter = CallFilter {
            statuses: vec![CallStatus::Completed],
            channel: kind.0.map(|k| match k {
                InteractionType::Call => Channel::Call,
                InteractionType::Chat => Channel::Chat,
            }),
            from: start_date.0,
            to: end_date.0,
            agent_names: agent
                .0
                .into_iter()
                .filter(|a| !a.trim().is_empty())
                .collect(),
            direction: lead_type.0.map(|t| match t {
                LeadType::Inbound => Direction::Inbound,
                LeadType::Outbound => Direction::Outbound,
            }),
            lead_status: lead_tag.0.map(|t| t.as_str().to_string()),
            search: search.0,
            sort: match sort_by.0.unwrap_or(LeadItemSort::InteractionDate) {
                LeadItemSort::Name => CallSort::ContactName,
                LeadItemSort::InteractionDate => CallSort::CreatedAt,
                LeadItemSort::LeadTag => CallSort::Score,
            },
            descending: match sort_order.0 {
                Some(order) => order == SortOrder::Desc,
                // Names read A to Z; dates and scores newest and highest first.
                None => !matches!(sort_by.0, Some(LeadItemSort::Name)),
            },
            ..Default::default()
        };
        let window = Window {
            offset: offset.0,
            limit: limit.0,
        };
        let (rows, total) = history::list(&self.services.db, me.id, &filter, window).await?;
        Ok(Json(LeadList {
            success: true,
            data: rows.into_iter().map(Into::into).collect(),
            pagination: Pagination::new(total, window.limit, window.offset),
        }))
    }

    /// A lead's profile
    ///
    /// The conversation `id` (or a contact's newest, given a contact id) with its contact,
    /// scores out of 100, CTA flags and the agent's reasoning, as `LeadProfileTab` shows it.
    #[oai(path = "/:id/profile", method = "get")]
    async fn profile(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<LeadProfileEnvelope>, LeadErrors> {
        let me = auth.user(&self.services).await?;
        let row = intelligence::lead_by_id(&self.services.db, me.owner(), id.0).await?;
        Ok(Json(LeadProfileEnvelope {
            success: true,
            data: row.into(),
        }))
    }

    /// A lead's timeline
    ///
    /// The contact's finished conversations, newest first (at most 200), for the conversation
    /// `id` or a contact id; a conversation nobody could be attached to is its own timeline.
    #[oai(path = "/:id/timeline", method = "get")]
    async fn timeline(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<LeadTimelineEnvelope>, LeadErrors> {
        let me = auth.user(&self.services).await?;
        let db = &self.services.db;
        let row = intelligence::lead_by_id(db, me.owner(), id.0).await?;
        let rows = match (row.call.contact_id, row.contact.as_ref()) {
            (Some(contact), Some(_)) => {
                intelligence::conversations_of(db, me.owner(), contact).await?
            }
            _ => vec![row],
        };
        let total = rows.len() as u64;
        Ok(Json(LeadTimelineEnvelope {
            success: true,
            data: LeadTimeline {
                timeline: rows.into_iter().map(Into::into).collect(),
                total_interactions: total,
            },
        }))
    }

    /// Export leads
    ///
    /// The filtered leads (same parameters as the list) as CSV, streamed, or .xlsx.
    #[oai(path = "/export", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn export(
        &self,
        auth: Auth,
        #[oai(default = "default_format")] format: Query<ExportFormat>,
        #[oai(validator(max_length = 20))] tag: Query<Option<String>>,
        #[oai(validator(minimum(value = "0"), maximum(value = "100")))] min_score: Query<
            Option<i32>,
        >,
        #[oai(validator(minimum(value = "0"), maximum(value = "100")))] max_score: Query<
            Option<i32>,
        >,
        agent_id: Query<Option<Uuid>>,
        #[oai(name = "type")] kind: Query<Option<InteractionType>>,
        from: Query<Option<DateTime<Utc>>>,
        to: Query<Option<DateTime<Utc>>>,
        #[oai(validator(max_length = 200))] q: Query<Option<String>>,
    ) -> Result<FileResponse, LeadErrors> {
        let me = auth.user(&self.services).await?;
        let filter = lead_filter(LeadParams {
            tag: tag.0,
            min_score: min_score.0,
            max_score: max_score.0,
            agent_id: agent_id.0,
            kind: kind.0,
            from: from.0,
            to: to.0,
            q: q.0,
            sort: None,
            order: None,
        })?;
        let export = service::LeadExport {
            db: self.services.db.clone(),
            user_id: me.id,
            filter,
        };
        Ok(FileResponse::export(format.0, "leads", export).await?)
    }

    /// Lead profile
    ///
    /// The contact, its score history (for a trend line), the timeline of its finished calls
    /// and chats with summaries, durations, scores and CTA events, and recommended next
    /// actions.
    #[oai(path = "/:id", method = "get")]
    async fn get(&self, auth: Auth, id: Path<Uuid>) -> Result<Json<LeadProfile>, LeadErrors> {
        let me = auth.user(&self.services).await?;
        let p = service::profile(&self.services.db, me.owner(), id.0).await?;
        Ok(Json(LeadProfile {
            score_history: p
                .history
                .into_iter()
                .map(|l| ScorePoint {
                    call_id: l.call_id,
                    total_score: l.total_score,
                    lead_status_tag: l.lead_status_tag,
                    created_at: l.created_at,
                })
                .collect(),
            timeline: p
                .timeline
                .into_iter()
                .map(|i| Interaction {
                    kind: i.call.channel,
                    duration: clock(i.call.duration_secs),
                    total_score: i.lead.as_ref().map(|l| l.total_score),
                    lead_status_tag: i.lead.as_ref().map(|l| l.lead_status_tag.clone()),
                    cta_interactions: i.lead.map(|l| l.cta_interactions),
                    agent_name: i.agent_name,
                    call: i.call.into(),
                })
                .collect(),
            timeline_total: p.timeline_total,
            next_actions: p
                .next_actions
                .into_iter()
                .map(|a| NextAction {
                    action: a.action,
                    reason: a.reason,
                    priority: a.priority.into(),
                })
                .collect(),
            lead: p.lead.into(),
        }))
    }
}

fn default_lead_limit() -> u64 {
    crate::pagination::DEFAULT_LIMIT
}
