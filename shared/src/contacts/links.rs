//! How contacts are tied to their calls, and the counts the Contacts screen's strip shows.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    entities::{
        calls,
        contacts::{self, ContactOrigin},
    },
    platform::error::AppResult,
};

/// How a contact relates to its calls, in the Contacts screen's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallLink {
    /// A conversation with an unknown number created the contact.
    AutoCreated,
    /// Created by hand or imported, and called since.
    ManuallyLinked,
    /// No call yet.
    NotLinked,
}

/// A contact's first call: the one that created it, for an auto-created contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstCall {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
}

pub fn is_auto_created(contact: &contacts::Model) -> bool {
    matches!(contact.origin, ContactOrigin::Call | ContactOrigin::Chat)
}

pub fn call_link(contact: &contacts::Model, first: Option<&FirstCall>) -> CallLink {
    if is_auto_created(contact) {
        CallLink::AutoCreated
    } else if first.is_some() || contact.call_count > 0 {
        CallLink::ManuallyLinked
    } else {
        CallLink::NotLinked
    }
}

#[derive(FromQueryResult)]
struct FirstCallRow {
    contact_id: Uuid,
    first_id: Uuid,
    first_at: DateTime<Utc>,
}

/// The first call of each of `contacts` that has one, in one query over the calls' contact
/// index. Ids are time-ordered (UUIDv7), so the smallest is the first.
pub async fn first_calls<C: ConnectionTrait>(
    db: &C,
    contacts: &[contacts::Model],
) -> AppResult<HashMap<Uuid, FirstCall>> {
    if contacts.is_empty() {
        return Ok(HashMap::new());
    }
    // PostgreSQL has no MIN over uuid; its text sorts the same way.
    let first_id = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => Expr::cust("MIN(\"calls\".\"id\"::text)::uuid"),
        _ => calls::Column::Id.min(),
    };
    let rows = calls::Entity::find()
        .select_only()
        .column(calls::Column::ContactId)
        .column_as(first_id, "first_id")
        .column_as(calls::Column::CreatedAt.min(), "first_at")
        .filter(calls::Column::ContactId.is_in(contacts.iter().map(|c| c.id)))
        .group_by(calls::Column::ContactId)
        .into_model::<FirstCallRow>()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.contact_id,
                FirstCall {
                    id: r.first_id,
                    created_at: r.first_at,
                },
            )
        })
        .collect())
}

/// The Contacts screen's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContactStats {
    pub total: u64,
    /// Created in the last seven days.
    pub recent: u64,
    pub with_calls: u64,
    pub auto_created: u64,
    pub manually_created: u64,
}

/// Days a contact counts as recent.
const RECENT_DAYS: i64 = 7;

#[derive(FromQueryResult)]
struct StatsRow {
    total: i64,
    recent: Option<i64>,
    with_calls: Option<i64>,
    auto_created: Option<i64>,
}

/// The user's contact counts in one pass over their contacts.
pub async fn stats<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<ContactStats> {
    let since = Utc::now() - Duration::days(RECENT_DAYS);
    let count_when =
        |condition: sea_orm::sea_query::SimpleExpr| Expr::case(condition, 1).finally(0).sum();
    let row = contacts::Entity::find()
        .select_only()
        .column_as(Expr::col(contacts::Column::Id).count(), "total")
        .column_as(
            count_when(Expr::col(contacts::Column::CreatedAt).gte(since)),
            "recent",
        )
        .column_as(
            count_when(Expr::col(contacts::Column::CallCount).gt(0)),
            "with_calls",
        )
        .column_as(
            count_when(Expr::col(contacts::Column::Origin).is_in([
                ContactOrigin::Call.to_string(),
                ContactOrigin::Chat.to_string(),
            ])),
            "auto_created",
        )
        .filter(contacts::Column::UserId.eq(user_id))
        .into_model::<StatsRow>()
        .one(db)
        .await?;
    let Some(row) = row else {
        return Ok(ContactStats::default());
    };
    let count = |n: Option<i64>| u64::try_from(n.unwrap_or_default()).unwrap_or_default();
    let total = count(Some(row.total));
    let auto_created = count(row.auto_created);
    Ok(ContactStats {
        total,
        recent: count(row.recent),
        with_calls: count(row.with_calls),
        auto_created,
        manually_created: total.saturating_sub(auto_created),
    })
}
