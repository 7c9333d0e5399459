//! The call list: a user's calls filtered, searched (contact name or number, transcript text
//! through PostgreSQL's full-text index), sorted and paged, with what a call table shows.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, DatabaseBackend, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Select,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, Query},
};
use uuid::Uuid;

use crate::{
    entities::{agents, calls, contacts, lead_analytics},
    error::AppResult,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallSort {
    #[default]
    CreatedAt,
    Duration,
    Credits,
}

#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub agent_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub status: Option<String>,
    pub direction: Option<String>,
    pub lead_status: Option<String>,
    pub min_score: Option<i32>,
    pub max_score: Option<i32>,
    pub min_duration: Option<i32>,
    pub max_duration: Option<i32>,
    /// Contact name or number, or words of the transcript.
    pub search: Option<String>,
    pub sort: CallSort,
    pub descending: bool,
}

/// A call with the names and score its row shows.
#[derive(Debug, Clone)]
pub struct CallRow {
    pub call: calls::Model,
    pub contact: Option<contacts::Model>,
    pub agent_name: Option<String>,
    pub lead: Option<lead_analytics::Model>,
}

fn filtered(user_id: Uuid, f: &CallFilter, backend: DatabaseBackend) -> Select<calls::Entity> {
    let mut q = calls::Entity::find().filter(calls::Column::UserId.eq(user_id));
    if let Some(from) = f.from {
        q = q.filter(calls::Column::CreatedAt.gte(from));
    }
    if let Some(to) = f.to {
        q = q.filter(calls::Column::CreatedAt.lt(to));
    }
    if let Some(agent) = f.agent_id {
        q = q.filter(calls::Column::AgentId.eq(agent));
    }
    if let Some(contact) = f.contact_id {
        q = q.filter(calls::Column::ContactId.eq(contact));
    }
    if let Some(status) = &f.status {
        q = q.filter(calls::Column::Status.eq(status.as_str()));
    }
    if let Some(direction) = &f.direction {
        q = q.filter(calls::Column::Direction.eq(direction.as_str()));
    }
    if let Some(min) = f.min_duration {
        q = q.filter(calls::Column::DurationSecs.gte(min));
    }
    if let Some(max) = f.max_duration {
        q = q.filter(calls::Column::DurationSecs.lte(max));
    }
    if f.lead_status.is_some() || f.min_score.is_some() || f.max_score.is_some() {
        let mut lead = Query::select()
            .expr(Expr::val(1))
            .from(lead_analytics::Entity)
            .and_where(
                Expr::col((lead_analytics::Entity, lead_analytics::Column::CallId))
                    .equals((calls::Entity, calls::Column::Id)),
            )
            .to_owned();
        if let Some(tag) = &f.lead_status {
            lead.and_where(
                Expr::col((
                    lead_analytics::Entity,
                    lead_analytics::Column::LeadStatusTag,
                ))
                .eq(tag.as_str()),
            );
        }
        if let Some(min) = f.min_score {
            lead.and_where(
                Expr::col((lead_analytics::Entity, lead_analytics::Column::TotalScore)).gte(min),
            );
        }
        if let Some(max) = f.max_score {
            lead.and_where(
                Expr::col((lead_analytics::Entity, lead_analytics::Column::TotalScore)).lte(max),
            );
        }
        q = q.filter(Expr::exists(lead));
    }
    if let Some(search) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = format!(
            "%{}%",
            search
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let mut contact = Condition::any().add(
            Expr::expr(Func::lower(Expr::col((
                contacts::Entity,
                contacts::Column::Name,
            ))))
            .like(LikeExpr::new(pattern.clone()).escape('\\')),
        );
        let digits: String = search.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 3 {
            contact = contact.add(
                Expr::col((contacts::Entity, contacts::Column::PhoneE164))
                    .like(format!("%{digits}%")),
            );
        }
        let by_contact = Query::select()
            .expr(Expr::val(1))
            .from(contacts::Entity)
            .and_where(
                Expr::col((contacts::Entity, contacts::Column::Id))
                    .equals((calls::Entity, calls::Column::ContactId)),
            )
            .cond_where(contact)
            .to_owned();
        let by_text = match backend {
            // The same expression as the GIN index, so the index answers it.
            DatabaseBackend::Postgres => Expr::cust_with_values(
                "to_tsvector('simple', coalesce(\"calls\".\"transcript_text\", '')) @@ plainto_tsquery('simple', $1)",
                [search.to_string()],
            ),
            _ => Expr::expr(Func::lower(Expr::col((
                calls::Entity,
                calls::Column::TranscriptText,
            ))))
            .like(LikeExpr::new(pattern).escape('\\')),
        };
        q = q.filter(Condition::any().add(Expr::exists(by_contact)).add(by_text));
    }
    q
}

/// One page (1-based) with the total count.
pub async fn list(
    db: &DatabaseConnection,
    user_id: Uuid,
    filter: &CallFilter,
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<CallRow>, u64)> {
    let column = match filter.sort {
        CallSort::CreatedAt => calls::Column::CreatedAt,
        CallSort::Duration => calls::Column::DurationSecs,
        CallSort::Credits => calls::Column::CreditsCharged,
    };
    let order = if filter.descending {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let paginator = filtered(user_id, filter, db.get_database_backend())
        .order_by(column, order.clone())
        .order_by(calls::Column::Id, order)
        .paginate(db, per_page);
    let total = paginator.num_items().await?;
    let page_rows = paginator.fetch_page(page.saturating_sub(1)).await?;

    let contact_ids: Vec<Uuid> = page_rows.iter().filter_map(|c| c.contact_id).collect();
    let agent_ids: Vec<Uuid> = page_rows.iter().filter_map(|c| c.agent_id).collect();
    let call_ids: Vec<Uuid> = page_rows.iter().map(|c| c.id).collect();
    let contacts: HashMap<Uuid, contacts::Model> = contacts::Entity::find()
        .filter(contacts::Column::Id.is_in(contact_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let agents: HashMap<Uuid, String> = agents::Entity::find()
        .filter(agents::Column::Id.is_in(agent_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let leads: HashMap<Uuid, lead_analytics::Model> = lead_analytics::Entity::find()
        .filter(lead_analytics::Column::CallId.is_in(call_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.call_id, l))
        .collect();
    let rows = page_rows
        .into_iter()
        .map(|call| CallRow {
            contact: call.contact_id.and_then(|id| contacts.get(&id).cloned()),
            agent_name: call.agent_id.and_then(|id| agents.get(&id).cloned()),
            lead: leads.get(&call.id).cloned(),
            call,
        })
        .collect();
    Ok((rows, total))
}

/// `m:ss`, as a call table shows durations.
pub fn clock(secs: i32) -> String {
    let secs = Ord::max(secs, 0);
    format!("{}:{:02}", secs / 60, secs % 60)
}
