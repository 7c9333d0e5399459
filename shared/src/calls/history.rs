//! The call list: a user's calls filtered, searched (contact name or number, transcript text
//! through PostgreSQL's full-text index), sorted and paged, with what a call table shows.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Select,
    sea_query::{Alias, Expr, ExprTrait, Query, UnionType},
};
use uuid::Uuid;

use crate::{
    contacts as contacts_search,
    entities::{agents, calls, contacts, lead_analytics},
    platform::error::AppResult,
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
    pub status: Option<crate::calls::CallStatus>,
    pub direction: Option<crate::calls::Direction>,
    pub lead_status: Option<String>,
    pub min_score: Option<i32>,
    pub max_score: Option<i32>,
    pub min_duration: Option<i32>,
    pub max_duration: Option<i32>,
    /// `call` or `chat`; both when unset.
    pub channel: Option<crate::calls::Channel>,
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

/// The filtered calls, before any search.
fn unsearched(user_id: Uuid, f: &CallFilter) -> Select<calls::Entity> {
    let mut q = calls::Entity::find().filter(calls::Column::UserId.eq(user_id));
    if let Some(channel) = f.channel {
        q = q.filter(calls::Column::Channel.eq(channel));
    }
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
        q = q.filter(calls::Column::Status.eq(*status));
    }
    if let Some(direction) = &f.direction {
        q = q.filter(calls::Column::Direction.eq(*direction));
    }
    if let Some(min) = f.min_duration {
        q = q.filter(calls::Column::DurationSecs.gte(min));
    }
    if let Some(max) = f.max_duration {
        q = q.filter(calls::Column::DurationSecs.lte(max));
    }
    if let Some(tag) = &f.lead_status {
        q = q.filter(calls::Column::LeadTag.eq(tag.as_str()));
    }
    if let Some(min) = f.min_score {
        q = q.filter(calls::Column::LeadScore.gte(min));
    }
    if let Some(max) = f.max_score {
        q = q.filter(calls::Column::LeadScore.lte(max));
    }
    q
}

/// The search's two ways to match a call, each answered by its own index: the calls of
/// contacts whose name matches, and the calls whose transcript matches.
fn search_conditions(
    user_id: Uuid,
    search: &str,
    backend: DatabaseBackend,
) -> [sea_orm::sea_query::SimpleExpr; 2] {
    let matching_contacts = Query::select()
        .column(contacts::Column::Id)
        .from(contacts::Entity)
        .and_where(Expr::col((contacts::Entity, contacts::Column::UserId)).eq(user_id))
        .cond_where(contacts_search::search_condition(
            search,
            &[contacts::Column::Name],
        ))
        .to_owned();
    let by_contact =
        Expr::col((calls::Entity, calls::Column::ContactId)).in_subquery(matching_contacts);
    let by_text = match backend {
        // The same expression as the GIN index, so the index answers it.
        DatabaseBackend::Postgres => Expr::cust_with_values(
            "to_tsvector('simple', coalesce(\"calls\".\"transcript_text\", '')) @@ plainto_tsquery('simple', $1)",
            [search.to_string()],
        ),
        _ => contacts_search::lower_like(
            (calls::Entity, calls::Column::TranscriptText),
            &contacts_search::like_pattern(search),
        ),
    };
    [by_contact, by_text]
}

fn search_of(f: &CallFilter) -> Option<&str> {
    f.search.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The filtered calls, searched too (for exports, which read them all in order).
fn filtered(user_id: Uuid, f: &CallFilter, backend: DatabaseBackend) -> Select<calls::Entity> {
    let q = unsearched(user_id, f);
    let Some(search) = search_of(f) else {
        return q;
    };
    // The matching calls as one id set, so each way of matching uses its own index instead of
    // testing both conditions on every call of the account.
    let [by_contact, by_text] = search_conditions(user_id, search, backend);
    let ids_where = |cond| {
        Query::select()
            .column(calls::Column::Id)
            .from(calls::Entity)
            .and_where(Expr::col((calls::Entity, calls::Column::UserId)).eq(user_id))
            .and_where(cond)
            .to_owned()
    };
    let ids = ids_where(by_contact)
        .union(UnionType::Distinct, ids_where(by_text))
        .to_owned();
    q.filter(calls::Column::Id.in_subquery(ids))
}

/// A searched page: each way of matching selects the filtered calls with their sort key, the
/// union is numbered and counted in one pass, and only the page's rows are read. Matches never
/// go back to the calls table to be sorted.
async fn searched_page(
    db: &DatabaseConnection,
    user_id: Uuid,
    filter: &CallFilter,
    search: &str,
    (sort, order): (calls::Column, sea_orm::Order),
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<calls::Model>, u64)> {
    use sea_orm::{ConnectionTrait, QuerySelect, QueryTrait, TransactionTrait};
    let backend = db.get_database_backend();
    let branch = |cond| {
        unsearched(user_id, filter)
            .filter(cond)
            .select_only()
            .column(calls::Column::Id)
            .column_as(sort, "sort_key")
            .into_query()
    };
    let [by_contact, by_text] = search_conditions(user_id, search, backend);
    let matches = branch(by_contact)
        .union(UnionType::Distinct, branch(by_text))
        .to_owned();
    let m = Alias::new("m");
    let numbered = Query::select()
        .column((m.clone(), Alias::new("id")))
        .expr_as(Expr::cust("COUNT(*) OVER ()"), Alias::new("page_total"))
        .from_subquery(matches.clone(), m.clone())
        .order_by((m.clone(), Alias::new("sort_key")), order.clone())
        .order_by((m.clone(), Alias::new("id")), order)
        .limit(per_page)
        .offset(page.saturating_sub(1) * per_page)
        .to_owned();
    let txn = db.begin().await?;
    if backend == DatabaseBackend::Postgres {
        txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
            .await?;
    }
    let mut ids = Vec::new();
    let mut total = 0u64;
    for row in txn.query_all(&numbered).await? {
        ids.push(row.try_get::<Uuid>("", "id")?);
        total = row.try_get::<i64>("", "page_total")? as u64;
    }
    if ids.is_empty() && page > 1 {
        // Past the last page: the total still counts.
        let count = Query::select()
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .from_subquery(matches, m)
            .to_owned();
        if let Some(row) = txn.query_one(&count).await? {
            total = row.try_get::<i64>("", "n")? as u64;
        }
    }
    let order_of: HashMap<Uuid, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut rows = calls::Entity::find()
        .filter(calls::Column::Id.is_in(ids))
        .all(&txn)
        .await?;
    txn.commit().await?;
    rows.sort_by_key(|c| order_of.get(&c.id).copied().unwrap_or(usize::MAX));
    Ok((rows, total))
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
    let (page_rows, total) = match search_of(filter) {
        Some(search) => {
            searched_page(db, user_id, filter, search, (column, order), page, per_page).await?
        }
        None => {
            let select = unsearched(user_id, filter)
                .order_by(column, order.clone())
                .order_by(calls::Column::Id, order);
            crate::platform::db::page_of(
                db,
                select,
                calls::Column::Id,
                |c| c.id,
                false,
                page,
                per_page,
            )
            .await?
        }
    };
    Ok((enrich(db, page_rows).await?, total))
}

/// The user's latest calls, without counting them all.
pub async fn latest(db: &DatabaseConnection, user_id: Uuid, limit: u64) -> AppResult<Vec<CallRow>> {
    use sea_orm::QuerySelect;
    let rows = calls::Entity::find()
        .filter(calls::Column::UserId.eq(user_id))
        .order_by_desc(calls::Column::CreatedAt)
        .order_by_desc(calls::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    enrich(db, rows).await
}

/// The contacts, agent names and lead scores of a page of calls, in three queries.
async fn enrich(db: &DatabaseConnection, page_rows: Vec<calls::Model>) -> AppResult<Vec<CallRow>> {
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
    Ok(rows)
}

/// The filtered calls as an export, oldest first by id.
#[derive(Clone)]
pub struct CallExport {
    pub db: DatabaseConnection,
    pub user_id: Uuid,
    pub filter: CallFilter,
}

impl crate::platform::tabular::Export for CallExport {
    const SHEET: &'static str = "Calls";

    fn header(&self) -> Vec<String> {
        export_header()
    }

    async fn page(&self, after: Option<Uuid>) -> AppResult<Vec<(Uuid, Vec<String>)>> {
        use sea_orm::QuerySelect;
        let mut query = filtered(self.user_id, &self.filter, self.db.get_database_backend());
        if let Some(after) = after {
            query = query.filter(calls::Column::Id.gt(after));
        }
        let rows = query
            .order_by_asc(calls::Column::Id)
            .limit(crate::platform::tabular::EXPORT_PAGE)
            .all(&self.db)
            .await?;
        Ok(enrich(&self.db, rows)
            .await?
            .iter()
            .map(|row| (row.call.id, export_cells(row)))
            .collect())
    }
}

fn export_header() -> Vec<String> {
    [
        "Date",
        "Contact",
        "Phone",
        "Agent",
        "Direction",
        "Status",
        "Duration",
        "Duration (s)",
        "Credits",
        "Lead Score",
        "Lead Tag",
        "Summary",
        "Conversation ID",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn export_cells(row: &CallRow) -> Vec<String> {
    let c = &row.call;
    vec![
        c.started_at.unwrap_or(c.created_at).to_rfc3339(),
        row.contact
            .as_ref()
            .map(|x| x.name.clone())
            .unwrap_or_default(),
        c.phone_number.clone().unwrap_or_default(),
        row.agent_name.clone().unwrap_or_default(),
        c.direction.to_string(),
        c.status.to_string(),
        clock(c.duration_secs),
        c.duration_secs.to_string(),
        c.credits_charged.to_string(),
        c.lead_score.map(|s| s.to_string()).unwrap_or_default(),
        c.lead_tag.clone().unwrap_or_default(),
        c.summary.clone().unwrap_or_default(),
        c.elevenlabs_conversation_id.clone().unwrap_or_default(),
    ]
}

/// `m:ss`, as a call table shows durations.
pub fn clock(secs: i32) -> String {
    let secs = Ord::max(secs, 0);
    format!("{}:{:02}", secs / 60, secs % 60)
}
