//! The platform as admins see it over a range of UTC days: accounts, calls and minutes, credits
//! sold and consumed, revenue, and who uses it most. Calls come from the hourly counters the
//! post-call job keeps (`call_rollups`), money from the ledger and the purchases, so the report
//! costs a few grouped scans however many calls there are.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, DatabaseBackend, DatabaseConnection, EntityTrait, IdenStatic, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, Order},
};
use uuid::Uuid;

use crate::{
    entities::{agents, call_rollups as rollups, credit_transactions as ledger, purchases, users},
    money::billing::PurchaseStatus,
    money::credits::TxKind,
    platform::error::{AppError, AppResult},
};

/// Longest range one report covers.
pub const MAX_DAYS: u64 = 366;
/// How many users and agents the top lists hold.
pub const TOP: u64 = 10;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Day {
    pub date: NaiveDate,
    pub new_users: i64,
    /// Accounts with at least one finished call or chat that day.
    pub active_users: i64,
    pub calls: i64,
    pub minutes: f64,
    pub credits_sold: i64,
    pub credits_consumed: i64,
    /// Paid purchases by currency, in minor units.
    pub revenue: BTreeMap<String, i64>,
}

#[derive(Debug, Clone)]
pub struct TopUser {
    pub user_id: Uuid,
    pub email: String,
    pub calls: i64,
    pub minutes: f64,
    pub credits_consumed: i64,
}

#[derive(Debug, Clone)]
pub struct TopAgent {
    pub agent_id: Uuid,
    pub name: String,
    pub owner_email: String,
    pub calls: i64,
    pub minutes: f64,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub users_total: u64,
    pub users_new: i64,
    pub users_active: i64,
    pub calls: i64,
    pub minutes: f64,
    pub credits_sold: i64,
    pub credits_consumed: i64,
    pub revenue: BTreeMap<String, i64>,
    /// One entry per day of the range, quiet days included.
    pub days: Vec<Day>,
    pub top_users: Vec<TopUser>,
    pub top_agents: Vec<TopAgent>,
}

/// `column` of `table` as its UTC calendar day, `YYYY-MM-DD`, on either backend.
fn utc_day(backend: DatabaseBackend, table: &str, column: &str) -> Expr {
    match backend {
        DatabaseBackend::Postgres => Expr::cust(format!(
            "to_char(\"{table}\".\"{column}\" AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        )),
        // SQLite keeps timestamps as text that starts with the date.
        _ => Expr::cust(format!("substr(\"{table}\".\"{column}\", 1, 10)")),
    }
}

/// `SUM(column)` of a counter table as a BIGINT, 0 over no rows (either backend).
pub(crate) fn sum(column: &str) -> Expr {
    Expr::cust(format!("CAST(COALESCE(SUM(\"{column}\"), 0) AS BIGINT)"))
}

fn minutes(secs: i64) -> f64 {
    (secs as f64 / 60.0 * 10.0).round() / 10.0
}

/// The report for the UTC days `from..=to`.
pub async fn report(db: &DatabaseConnection, from: NaiveDate, to: NaiveDate) -> AppResult<Report> {
    if to < from {
        return Err(AppError::validation("to", "must not be before `from`"));
    }
    let span = (to - from).num_days() as u64 + 1;
    if span > MAX_DAYS {
        return Err(AppError::validation(
            "to",
            format!("a report covers at most {MAX_DAYS} days"),
        ));
    }
    let start: DateTime<Utc> = from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let end: DateTime<Utc> = (to + Days::new(1))
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    let backend = db.get_database_backend();
    let mut days: BTreeMap<NaiveDate, Day> = from
        .iter_days()
        .take(span as usize)
        .map(|date| {
            (
                date,
                Day {
                    date,
                    ..Day::default()
                },
            )
        })
        .collect();
    let parse = |day: &str| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok();

    let new_users: Vec<(String, i64)> = users::Entity::find()
        .select_only()
        .column_as(utc_day(backend, "users", "created_at"), "day")
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(users::Column::CreatedAt.gte(start))
        .filter(users::Column::CreatedAt.lt(end))
        .group_by(Expr::cust("1"))
        .into_tuple()
        .all(db)
        .await?;
    for (day, n) in new_users {
        if let Some(d) = parse(&day).and_then(|d| days.get_mut(&d)) {
            d.new_users = n;
        }
    }

    let table = rollups::Entity.as_str();
    let in_range = |q: sea_orm::Select<rollups::Entity>| {
        q.filter(rollups::Column::Hour.gte(start))
            .filter(rollups::Column::Hour.lt(end))
            .filter(rollups::Column::Calls.gt(0))
    };
    let calls: Vec<(String, i64, i64, i64)> = in_range(rollups::Entity::find())
        .select_only()
        .column_as(utc_day(backend, table, "hour"), "day")
        .column_as(sum("calls"), "calls")
        .column_as(sum("duration_secs"), "secs")
        .column_as(Expr::cust("COUNT(DISTINCT \"user_id\")"), "active")
        .group_by(Expr::cust("1"))
        .into_tuple()
        .all(db)
        .await?;
    let mut total_secs = 0;
    for (day, n, secs, active) in calls {
        total_secs += secs;
        if let Some(d) = parse(&day).and_then(|d| days.get_mut(&d)) {
            d.calls = n;
            d.minutes = minutes(secs);
            d.active_users = active;
        }
    }
    let users_active: i64 = in_range(rollups::Entity::find())
        .select_only()
        .column_as(Expr::cust("COUNT(DISTINCT \"user_id\")"), "n")
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or(0);

    let purchase = TxKind::Purchase.to_string();
    let usage = TxKind::Usage.to_string();
    let credits: Vec<(String, i64, i64)> = ledger::Entity::find()
        .select_only()
        .column_as(utc_day(backend, "credit_transactions", "created_at"), "day")
        .column_as(
            Expr::cust(format!(
                "CAST(COALESCE(SUM(CASE WHEN \"kind\" = '{purchase}' THEN \"amount\" ELSE 0 END), 0) AS BIGINT)"
            )),
            "sold",
        )
        .column_as(
            Expr::cust(format!(
                "CAST(COALESCE(SUM(CASE WHEN \"kind\" = '{usage}' THEN -\"amount\" ELSE 0 END), 0) AS BIGINT)"
            )),
            "consumed",
        )
        .filter(ledger::Column::Kind.is_in([purchase, usage]))
        .filter(ledger::Column::CreatedAt.gte(start))
        .filter(ledger::Column::CreatedAt.lt(end))
        .group_by(Expr::cust("1"))
        .into_tuple()
        .all(db)
        .await?;
    for (day, sold, consumed) in credits {
        if let Some(d) = parse(&day).and_then(|d| days.get_mut(&d)) {
            d.credits_sold = sold;
            d.credits_consumed = consumed;
        }
    }

    let revenue: Vec<(String, String, i64)> = purchases::Entity::find()
        .select_only()
        .column_as(utc_day(backend, "purchases", "paid_at"), "day")
        .column(purchases::Column::Currency)
        .column_as(sum("amount_cents"), "cents")
        .filter(purchases::Column::Status.is_in([PurchaseStatus::Paid, PurchaseStatus::Refunded]))
        .filter(purchases::Column::PaidAt.gte(start))
        .filter(purchases::Column::PaidAt.lt(end))
        .group_by(Expr::cust("1"))
        .group_by(purchases::Column::Currency)
        .into_tuple()
        .all(db)
        .await?;
    for (day, currency, cents) in revenue {
        if let Some(d) = parse(&day).and_then(|d| days.get_mut(&d)) {
            *d.revenue.entry(currency).or_default() += cents;
        }
    }

    let top_users = top_users(db, start, end).await?;
    let top_agents = top_agents(db, start, end).await?;
    let days: Vec<Day> = days.into_values().collect();
    let mut revenue = BTreeMap::new();
    for day in &days {
        for (currency, cents) in &day.revenue {
            *revenue.entry(currency.clone()).or_default() += cents;
        }
    }
    Ok(Report {
        from,
        to,
        users_total: users::Entity::find().count(db).await?,
        users_new: days.iter().map(|d| d.new_users).sum(),
        users_active,
        calls: days.iter().map(|d| d.calls).sum(),
        minutes: minutes(total_secs),
        credits_sold: days.iter().map(|d| d.credits_sold).sum(),
        credits_consumed: days.iter().map(|d| d.credits_consumed).sum(),
        revenue,
        days,
        top_users,
        top_agents,
    })
}

/// The accounts that consumed the most credits in the range (then the most calls).
async fn top_users(
    db: &DatabaseConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<Vec<TopUser>> {
    let rows: Vec<(Uuid, i64, i64, i64)> = rollups::Entity::find()
        .select_only()
        .column(rollups::Column::UserId)
        .column_as(sum("calls"), "calls")
        .column_as(sum("duration_secs"), "secs")
        .column_as(sum("credits"), "credits")
        .filter(rollups::Column::Hour.gte(start))
        .filter(rollups::Column::Hour.lt(end))
        .group_by(rollups::Column::UserId)
        .order_by(Expr::cust("4"), Order::Desc)
        .order_by(Expr::cust("2"), Order::Desc)
        .order_by_asc(rollups::Column::UserId)
        .limit(TOP)
        .into_tuple()
        .all(db)
        .await?;
    let emails = emails_of(db, rows.iter().map(|r| r.0)).await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.1 > 0)
        .map(|(user_id, calls, secs, credits)| TopUser {
            user_id,
            email: emails.get(&user_id).cloned().unwrap_or_default(),
            calls,
            minutes: minutes(secs),
            credits_consumed: credits,
        })
        .collect())
}

/// The agents with the most calls in the range (then the longest).
async fn top_agents(
    db: &DatabaseConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<Vec<TopAgent>> {
    let rows: Vec<(Uuid, i64, i64)> = rollups::Entity::find()
        .select_only()
        .column(rollups::Column::AgentId)
        .column_as(sum("calls"), "calls")
        .column_as(sum("duration_secs"), "secs")
        .filter(rollups::Column::Hour.gte(start))
        .filter(rollups::Column::Hour.lt(end))
        .filter(rollups::Column::AgentId.ne(Uuid::nil()))
        .group_by(rollups::Column::AgentId)
        .order_by(Expr::cust("2"), Order::Desc)
        .order_by(Expr::cust("3"), Order::Desc)
        .order_by_asc(rollups::Column::AgentId)
        .limit(TOP)
        .into_tuple()
        .all(db)
        .await?;
    let found: BTreeMap<Uuid, agents::Model> = agents::Entity::find()
        .filter(agents::Column::Id.is_in(rows.iter().map(|r| r.0)))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let emails = emails_of(db, found.values().map(|a| a.user_id)).await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.1 > 0)
        .filter_map(|(agent_id, calls, secs)| {
            let agent = found.get(&agent_id)?;
            Some(TopAgent {
                agent_id,
                name: agent.name.clone(),
                owner_email: emails.get(&agent.user_id).cloned().unwrap_or_default(),
                calls,
                minutes: minutes(secs),
            })
        })
        .collect())
}

async fn emails_of(
    db: &DatabaseConnection,
    ids: impl IntoIterator<Item = Uuid>,
) -> AppResult<BTreeMap<Uuid, String>> {
    let ids: Vec<Uuid> = ids.into_iter().collect();
    Ok(users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::Email)
        .filter(users::Column::Id.is_in(ids))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}
