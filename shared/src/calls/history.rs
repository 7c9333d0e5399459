//! The call list: a user's calls filtered, searched (contact name or number, transcript text
//! through PostgreSQL's full-text index), sorted and paged, with what a call table shows.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Select,
    sea_query::{Alias, Expr, ExprTrait, NullOrdering, Query, SimpleExpr, UnionType},
};
use uuid::Uuid;

use crate::{
    contacts as contacts_search,
    entities::{agents, calls, contacts, lead_analytics},
    platform::db::Window,
    platform::error::AppResult,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallSort {
    #[default]
    CreatedAt,
    Duration,
    Credits,
    /// The contact's name; calls without a contact last.
    ContactName,
    /// The lead score out of 100; unscored calls last.
    Score,
    PhoneNumber,
}

#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub agent_id: Option<Uuid>,
    /// Agents by name (the call logs' agent picker); any of them.
    pub agent_names: Vec<String>,
    pub contact_id: Option<Uuid>,
    /// Part of the number called or calling.
    pub phone: Option<String>,
    /// Calls with (or without) a transcript.
    pub has_transcript: Option<bool>,
    /// Calls with (or without) lead analytics.
    pub has_analytics: Option<bool>,
    /// Any of these statuses (all when empty).
    pub statuses: Vec<crate::calls::CallStatus>,
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
    if !f.agent_names.is_empty() {
        q = q.filter(
            calls::Column::AgentId.in_subquery(
                Query::select()
                    .column(agents::Column::Id)
                    .from(agents::Entity)
                    .and_where(agents::Column::UserId.eq(user_id))
                    .and_where(agents::Column::Name.is_in(f.agent_names.iter().cloned()))
                    .to_owned(),
            ),
        );
    }
    if let Some(contact) = f.contact_id {
        q = q.filter(calls::Column::ContactId.eq(contact));
    }
    if let Some(phone) = f.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        q = q.filter(calls::Column::PhoneNumber.contains(phone));
    }
    if let Some(has) = f.has_transcript {
        q = q.filter(if has {
            calls::Column::TranscriptText.is_not_null()
        } else {
            calls::Column::TranscriptText.is_null()
        });
    }
    if let Some(has) = f.has_analytics {
        let scored = Query::select()
            .column(lead_analytics::Column::CallId)
            .from(lead_analytics::Entity)
            .and_where(lead_analytics::Column::UserId.eq(user_id))
            .to_owned();
        q = q.filter(if has {
            calls::Column::Id.in_subquery(scored)
        } else {
            calls::Column::Id.not_in_subquery(scored)
        });
    }
    if !f.statuses.is_empty() {
        q = q.filter(calls::Column::Status.is_in(f.statuses.iter().copied()));
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
    (sort, order): (SimpleExpr, sea_orm::Order),
    window: Window,
) -> AppResult<(Vec<calls::Model>, u64)> {
    use sea_orm::{ConnectionTrait, QuerySelect, QueryTrait, TransactionTrait};
    let backend = db.get_database_backend();
    let branch = |cond| {
        sortable(user_id, filter)
            .filter(cond)
            .select_only()
            .column(calls::Column::Id)
            .column_as(sort.clone(), "sort_key")
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
        .order_by_expr_with_nulls(
            Expr::col((m.clone(), Alias::new("sort_key"))),
            order.clone(),
            NullOrdering::Last,
        )
        .order_by((m.clone(), Alias::new("id")), order)
        .limit(window.limit)
        .offset(window.offset)
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
    if ids.is_empty() && window.offset > 0 {
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

/// The filtered calls with what their sort reads: the contact's name comes from a join.
fn sortable(user_id: Uuid, f: &CallFilter) -> Select<calls::Entity> {
    use sea_orm::{JoinType, QuerySelect};
    let select = unsearched(user_id, f);
    if f.sort != CallSort::ContactName {
        return select;
    }
    select.join(
        JoinType::LeftJoin,
        calls::Entity::belongs_to(contacts::Entity)
            .from(calls::Column::ContactId)
            .to(contacts::Column::Id)
            .into(),
    )
}

/// What a sort orders by: a column of the call, or the name of its contact.
fn sort_key(sort: CallSort) -> SimpleExpr {
    let column = match sort {
        CallSort::CreatedAt => calls::Column::CreatedAt,
        CallSort::Duration => calls::Column::DurationSecs,
        CallSort::Credits => calls::Column::CreditsCharged,
        CallSort::Score => calls::Column::LeadScore,
        CallSort::PhoneNumber => calls::Column::PhoneNumber,
        // Joined by `sortable`: a correlated lookup per call cost four times the join.
        CallSort::ContactName => return Expr::col((contacts::Entity, contacts::Column::Name)),
    };
    Expr::col((calls::Entity, column))
}

/// Rows without a value sort last either way. Only for the keys that can be empty: on the
/// always-set columns `NULLS LAST` would not match the index's order, and PostgreSQL would
/// sort the whole account instead of reading the index.
fn nulls(sort: CallSort) -> Option<NullOrdering> {
    matches!(
        sort,
        CallSort::ContactName | CallSort::Score | CallSort::PhoneNumber
    )
    .then_some(NullOrdering::Last)
}

fn ordered<S: QueryOrder>(select: S, key: SimpleExpr, order: sea_orm::Order, sort: CallSort) -> S {
    match nulls(sort) {
        Some(n) => select.order_by_with_nulls(key, order, n),
        None => select.order_by(key, order),
    }
}

/// One window of the list with the total count.
pub async fn list(
    db: &DatabaseConnection,
    user_id: Uuid,
    filter: &CallFilter,
    window: Window,
) -> AppResult<(Vec<CallRow>, u64)> {
    let key = sort_key(filter.sort);
    let order = if filter.descending {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let (page_rows, total) = match search_of(filter) {
        Some(search) => searched_page(db, user_id, filter, search, (key, order), window).await?,
        None => {
            let select = ordered(sortable(user_id, filter), key, order.clone(), filter.sort)
                .order_by(calls::Column::Id, order);
            crate::platform::db::page_of(db, select, calls::Column::Id, |c| c.id, false, window)
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

/// The contacts, agent names and lead scores of some calls, in three queries.
pub async fn rows_of(db: &DatabaseConnection, calls: Vec<calls::Model>) -> AppResult<Vec<CallRow>> {
    enrich(db, calls).await
}

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
