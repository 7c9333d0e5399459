//! Lead intelligence: one row per contact that has talked to an agent (a finished call or
//! chat), with the latest score denormalised on the contact so the list filters and sorts on
//! an index; the lead profile with score history, interaction timeline and next actions.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
    sea_query::{Expr, ExprTrait, Query},
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    calls::CallStatus,
    calls::Channel,
    contacts::search_condition,
    entities::{agents, calls, contacts, lead_analytics},
    platform::error::{AppError, AppResult},
    platform::ids::UserId,
    platform::owned,
};

/// The most interactions a profile's timeline lists (the newest).
pub const TIMELINE_LIMIT: u64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeadSort {
    /// Latest interaction first.
    #[default]
    Recency,
    Score,
}

#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub tag: Option<String>,
    pub min_score: Option<i32>,
    pub max_score: Option<i32>,
    pub agent_id: Option<Uuid>,
    pub channel: Option<Channel>,
    /// Last interaction in `[from, to)`.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Name, number, email or company.
    pub search: Option<String>,
    pub sort: LeadSort,
    pub descending: bool,
}

#[derive(Debug, Clone)]
pub struct LeadRow {
    pub contact: contacts::Model,
    pub latest: Option<lead_analytics::Model>,
    /// Agents that talked to the contact: id and name.
    pub agents: Vec<(Uuid, String)>,
}

fn filtered(user_id: Uuid, f: &LeadFilter) -> Select<contacts::Entity> {
    let mut q = contacts::Entity::find()
        .filter(contacts::Column::UserId.eq(user_id))
        .filter(contacts::Column::InteractionCount.gt(0));
    if let Some(tag) = &f.tag {
        q = q.filter(contacts::Column::LatestTag.eq(tag.as_str()));
    }
    if let Some(min) = f.min_score {
        q = q.filter(contacts::Column::LatestScore.gte(min));
    }
    if let Some(max) = f.max_score {
        q = q.filter(contacts::Column::LatestScore.lte(max));
    }
    match f.channel {
        Some(Channel::Call) => q = q.filter(contacts::Column::CallCount.gt(0)),
        Some(Channel::Chat) => q = q.filter(contacts::Column::ChatCount.gt(0)),
        None => {}
    }
    if let Some(from) = f.from {
        q = q.filter(contacts::Column::LastInteractionAt.gte(from));
    }
    if let Some(to) = f.to {
        q = q.filter(contacts::Column::LastInteractionAt.lt(to));
    }
    if let Some(agent) = f.agent_id {
        q = q.filter(Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(calls::Entity)
                .and_where(
                    Expr::col((calls::Entity, calls::Column::ContactId))
                        .equals((contacts::Entity, contacts::Column::Id)),
                )
                .and_where(Expr::col((calls::Entity, calls::Column::AgentId)).eq(agent))
                .to_owned(),
        ));
    }
    if let Some(search) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        q = q.filter(search_condition(
            search,
            &[
                contacts::Column::Name,
                contacts::Column::Email,
                contacts::Column::Company,
            ],
        ));
    }
    q
}

/// One page (1-based) with the total count.
pub async fn list(
    db: &DatabaseConnection,
    user_id: Uuid,
    filter: &LeadFilter,
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<LeadRow>, u64)> {
    let order = if filter.descending {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let column = match filter.sort {
        LeadSort::Recency => contacts::Column::LastInteractionAt,
        LeadSort::Score => contacts::Column::LatestScore,
    };
    let select = filtered(user_id, filter)
        .order_by(column, order.clone())
        .order_by(contacts::Column::Id, order);
    let (contacts, total) = crate::platform::db::page_of(
        db,
        select,
        contacts::Column::Id,
        |c| c.id,
        filter
            .search
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty()),
        crate::platform::db::Window::page(page, per_page),
    )
    .await?;
    Ok((enrich(db, contacts).await?, total))
}

/// The latest scores and the agents of a page of contacts, in two queries.
async fn enrich(
    db: &DatabaseConnection,
    contacts: Vec<contacts::Model>,
) -> AppResult<Vec<LeadRow>> {
    let lead_ids: Vec<Uuid> = contacts.iter().filter_map(|c| c.latest_lead_id).collect();
    let mut leads: HashMap<Uuid, lead_analytics::Model> = lead_analytics::Entity::find()
        .filter(lead_analytics::Column::Id.is_in(lead_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    let pairs: Vec<(Option<Uuid>, Option<Uuid>)> = calls::Entity::find()
        .select_only()
        .column(calls::Column::ContactId)
        .column(calls::Column::AgentId)
        .distinct()
        .filter(calls::Column::ContactId.is_in(contacts.iter().map(|c| c.id)))
        .filter(calls::Column::AgentId.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    let names: HashMap<Uuid, String> = agents::Entity::find()
        .filter(agents::Column::Id.is_in(pairs.iter().filter_map(|(_, a)| *a)))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let mut agents_of: HashMap<Uuid, Vec<(Uuid, String)>> = HashMap::new();
    for (contact, agent) in pairs {
        if let (Some(contact), Some(agent)) = (contact, agent)
            && let Some(name) = names.get(&agent)
        {
            agents_of
                .entry(contact)
                .or_default()
                .push((agent, name.clone()));
        }
    }
    Ok(contacts
        .into_iter()
        .map(|contact| {
            let mut agents = agents_of.remove(&contact.id).unwrap_or_default();
            agents.sort_by(|a, b| a.1.cmp(&b.1));
            LeadRow {
                latest: contact.latest_lead_id.and_then(|id| leads.remove(&id)),
                agents,
                contact,
            }
        })
        .collect())
}

/// One finished conversation on a lead's timeline.
#[derive(Debug, Clone)]
pub struct Interaction {
    pub call: calls::Model,
    pub agent_name: Option<String>,
    pub lead: Option<lead_analytics::Model>,
}

/// A recommended next step, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextAction {
    pub action: String,
    pub reason: String,
    /// `high`, `medium` or `low`.
    pub priority: &'static str,
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub lead: LeadRow,
    /// Every score of the contact, oldest first (the trend line).
    pub history: Vec<lead_analytics::Model>,
    /// Newest first, at most `TIMELINE_LIMIT`.
    pub timeline: Vec<Interaction>,
    pub timeline_total: u64,
    pub next_actions: Vec<NextAction>,
}

/// The lead profile of one of the user's contacts that has interacted; anything else is not
/// found.
pub async fn profile(db: &DatabaseConnection, owner: UserId, id: Uuid) -> AppResult<Profile> {
    let interacted = sea_orm::Condition::all().add(contacts::Column::InteractionCount.gt(0));
    let contact =
        owned::find_where::<contacts::Entity, _>(db, owner, id, interacted, "lead").await?;
    let lead = enrich(db, vec![contact])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("lead"))?;
    let history = lead_analytics::Entity::find()
        .filter(lead_analytics::Column::UserId.eq(owner))
        .filter(lead_analytics::Column::ContactId.eq(id))
        .order_by_asc(lead_analytics::Column::CreatedAt)
        .order_by_asc(lead_analytics::Column::Id)
        .all(db)
        .await?;
    let finished = calls::Entity::find()
        .filter(calls::Column::UserId.eq(owner))
        .filter(calls::Column::ContactId.eq(id))
        .filter(calls::Column::Status.eq(CallStatus::Completed));
    let timeline_total = finished.clone().count(db).await?;
    let calls = finished
        .order_by_desc(calls::Column::CreatedAt)
        .order_by_desc(calls::Column::Id)
        .limit(TIMELINE_LIMIT)
        .all(db)
        .await?;
    let by_call: HashMap<Uuid, &lead_analytics::Model> =
        history.iter().map(|l| (l.call_id, l)).collect();
    let agent_names: HashMap<Uuid, String> = lead.agents.iter().cloned().collect();
    let timeline = calls
        .into_iter()
        .map(|call| Interaction {
            agent_name: call.agent_id.and_then(|a| agent_names.get(&a).cloned()),
            lead: by_call.get(&call.id).map(|l| (*l).clone()),
            call,
        })
        .collect();
    let next_actions = next_actions(&lead.contact, lead.latest.as_ref());
    Ok(Profile {
        lead,
        history,
        timeline,
        timeline_total,
        next_actions,
    })
}

fn action(action: &str, reason: &str, priority: &'static str) -> NextAction {
    NextAction {
        action: action.into(),
        reason: reason.into(),
        priority,
    }
}

/// What to do next with a lead: the agent's own recommendations when it collected some
/// (`recommended_actions` / `next_actions` / `next_best_action`), else rules over the latest
/// score and CTA behaviour that say which signal each one comes from.
pub fn next_actions(
    contact: &contacts::Model,
    latest: Option<&lead_analytics::Model>,
) -> Vec<NextAction> {
    if contact.do_not_call {
        return vec![action(
            "Do not call; reach out only in writing if at all",
            "The contact is on the do-not-call list",
            "high",
        )];
    }
    let Some(lead) = latest else {
        return vec![action(
            "Review the conversation",
            "No lead score was recorded",
            "low",
        )];
    };
    let collected = &lead.data_collection["collected"];
    let given: Vec<String> = ["recommended_actions", "next_actions", "next_best_action"]
        .iter()
        .filter_map(|key| collected.get(*key))
        .flat_map(|v| match v {
            Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            Value::String(s) => vec![s.clone()],
            _ => Vec::new(),
        })
        .filter(|s| !s.trim().is_empty())
        .collect();
    if !given.is_empty() {
        return given
            .into_iter()
            .map(|a| NextAction {
                action: a,
                reason: "Recommended by the agent from the conversation".into(),
                priority: "high",
            })
            .collect();
    }
    let cta = |flag: &str| lead.clicked(flag);
    let hot = lead.lead_status_tag.eq_ignore_ascii_case("hot");
    let mut out = Vec::new();
    if cta("escalated_to_human") {
        out.push(action(
            "Call back personally",
            "The contact asked for a person",
            "high",
        ));
    }
    if cta("demo_clicked") {
        out.push(action(
            "Schedule the demo",
            "The contact asked for a demo",
            "high",
        ));
    }
    if cta("pricing_clicked") {
        out.push(action(
            "Send pricing or a quote",
            "The contact asked about pricing",
            if hot { "high" } else { "medium" },
        ));
    }
    if cta("sample_clicked") {
        out.push(action(
            "Send a sample",
            "The contact asked for a sample",
            "medium",
        ));
    }
    if cta("followup_clicked") {
        out.push(action(
            "Book the follow-up",
            "The contact agreed to a follow-up",
            "medium",
        ));
    }
    // Dimension scores are out of 100; the prompt's three levels land at 33, 67 and 100.
    if lead.intent_score >= 67 && lead.budget_score <= 33 {
        out.push(action(
            "Discuss budget options",
            "Strong intent but a budget constraint",
            "medium",
        ));
    }
    if out.is_empty() {
        out.push(match lead.lead_status_tag.to_ascii_lowercase().as_str() {
            "hot" => action("Call within 24 hours", "The latest score is Hot", "high"),
            "warm" => action(
                "Follow up in 3–5 days",
                "The latest score is Warm",
                "medium",
            ),
            _ => action(
                "Add to a long-term nurture sequence",
                "The latest score is Cold",
                "low",
            ),
        });
    }
    if lead.score_status != crate::entities::lead_analytics::ScoreStatus::Scored {
        out.push(action(
            "Review the transcript",
            "The agent's lead data could not be read, so the conversation is unscored",
            "low",
        ));
    }
    out
}

/// The filtered leads as an export, oldest contact first.
pub struct LeadExport {
    pub db: DatabaseConnection,
    pub user_id: Uuid,
    pub filter: LeadFilter,
}

impl crate::platform::tabular::Export for LeadExport {
    const SHEET: &'static str = "Leads";

    fn header(&self) -> Vec<String> {
        [
            "Name",
            "Phone",
            "Email",
            "Company",
            "Lead Score",
            "Lead Tag",
            "Intent",
            "Urgency",
            "Budget",
            "Fit",
            "Engagement",
            "Interactions",
            "Calls",
            "Chats",
            "Last Interaction",
            "Agents",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    async fn page(&self, after: Option<Uuid>) -> AppResult<Vec<(Uuid, Vec<String>)>> {
        let mut query = filtered(self.user_id, &self.filter);
        if let Some(after) = after {
            query = query.filter(contacts::Column::Id.gt(after));
        }
        let contacts = query
            .order_by_asc(contacts::Column::Id)
            .limit(crate::platform::tabular::EXPORT_PAGE)
            .all(&self.db)
            .await?;
        let opt = |v: Option<i32>| v.map(|n| n.to_string()).unwrap_or_default();
        Ok(enrich(&self.db, contacts)
            .await?
            .into_iter()
            .map(|row| {
                let c = &row.contact;
                let l = row.latest.as_ref();
                let cells = vec![
                    c.name.clone(),
                    c.phone_e164.clone(),
                    c.email.clone().unwrap_or_default(),
                    c.company.clone().unwrap_or_default(),
                    opt(c.latest_score),
                    c.latest_tag.clone().unwrap_or_default(),
                    opt(l.map(|l| l.intent_score)),
                    opt(l.map(|l| l.urgency_score)),
                    opt(l.map(|l| l.budget_score)),
                    opt(l.map(|l| l.fit_score)),
                    opt(l.map(|l| l.engagement_score)),
                    c.interaction_count.to_string(),
                    c.call_count.to_string(),
                    c.chat_count.to_string(),
                    c.last_interaction_at
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default(),
                    row.agents
                        .iter()
                        .map(|(_, n)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                ];
                (c.id, cells)
            })
            .collect())
    }
}
