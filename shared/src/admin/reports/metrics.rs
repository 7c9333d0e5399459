//! Each metric of a report as a small table. Range metrics read the hourly call counters, the
//! ledger, the purchases and the audit log over the report's days; system metrics describe
//! this process now (they have no history). No table grows with the number of calls: the
//! longest is a row per day of the range, or the [`TOP`] agents.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Days, NaiveDate, Timelike, Utc};
use futures::TryStreamExt;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, ExprTrait, Query},
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{DataSource, ReportSpec};
use crate::{
    Services,
    admin::{analytics, platform},
    calls::CallStatus,
    entities::{
        agents, audit_log, call_rollups as rollups, calls, credit_transactions as ledger,
        purchases, refresh_tokens, users,
    },
    money::{billing::PurchaseStatus, credits::TxKind},
    platform::{error::AppResult, monitoring::recent},
};

/// Agents in the performance table; entries in the audit lists.
pub const TOP: u64 = 100;
pub const AUDIT_ROWS: u64 = 1_000;

/// Actions that change who may do what.
const SECURITY: &[&str] = &[
    "user.suspended",
    "user.reactivated",
    "user.role_changed",
    "api_key.created",
    "api_key.updated",
    "api_key.deleted",
];
/// Actions that read platform data out.
const DATA_ACCESS: &[&str] = &["report.generated", "audit.exported"];
/// Prefixes of actions that change the platform's configuration.
const SYSTEM: &[&str] = &["settings.", "api_key.", "feature_flag.", "phone_number."];

/// One metric's figures: named columns and rows of JSON cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub metric: String,
    pub title: String,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    fn new(metric: &str, title: &str, columns: &[&'static str]) -> Self {
        Self {
            metric: metric.into(),
            title: title.into(),
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    fn row(mut self, cells: Vec<Value>) -> Self {
        self.rows.push(cells);
        self
    }

    /// The rows as objects keyed by column (the preview's shape).
    pub fn objects(&self) -> Vec<Value> {
        self.rows
            .iter()
            .map(|r| {
                Value::Object(
                    self.columns
                        .iter()
                        .zip(r)
                        .map(|(c, v)| (c.to_string(), v.clone()))
                        .collect(),
                )
            })
            .collect()
    }

    /// Orders the rows by the first of `sort` columns the table has.
    fn sorted(mut self, sort: &[(String, bool)]) -> Self {
        let keys: Vec<(usize, bool)> = sort
            .iter()
            .filter_map(|(f, d)| self.columns.iter().position(|c| c == f).map(|i| (i, *d)))
            .collect();
        if keys.is_empty() {
            return self;
        }
        self.rows.sort_by(|a, b| {
            for &(i, desc) in &keys {
                let o = compare(&a[i], &b[i]);
                let o = if desc { o.reverse() } else { o };
                if o.is_ne() {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        self
    }
}

fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

fn percent(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

/// Minor units as a decimal amount.
fn amount(minor: i64) -> f64 {
    minor as f64 / 100.0
}

fn bounds(spec: &ReportSpec) -> (DateTime<Utc>, DateTime<Utc>) {
    let at = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    (at(spec.from), at(spec.to + Days::new(1)))
}

/// Sums of the call counters over `[start, end)`: calls, successful, seconds, credits.
async fn call_sums(
    db: &DatabaseConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<(i64, i64, i64, i64)> {
    Ok(rollups::Entity::find()
        .select_only()
        .column_as(analytics::sum("calls"), "calls")
        .column_as(analytics::sum("successful"), "successful")
        .column_as(analytics::sum("duration_secs"), "duration_secs")
        .column_as(analytics::sum("credits"), "credits")
        .filter(rollups::Column::Hour.gte(start))
        .filter(rollups::Column::Hour.lt(end))
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or_default())
}

/// The accounts with a call in `[start, end)`, as a subquery.
fn callers(start: DateTime<Utc>, end: DateTime<Utc>) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .distinct()
        .column(rollups::Column::UserId)
        .from(rollups::Entity)
        .and_where(rollups::Column::Hour.gte(start))
        .and_where(rollups::Column::Hour.lt(end))
        .to_owned()
}

/// Computes each metric of `spec`, in its order, then the day-by-day table when asked.
pub async fn compute(services: &Services, spec: &ReportSpec) -> AppResult<Vec<Table>> {
    let db = &services.db;
    let needs_days = matches!(
        spec.source,
        DataSource::Users | DataSource::Calls | DataSource::Billing
    );
    let report = if needs_days {
        Some(analytics::report(db, spec.from, spec.to).await?)
    } else {
        None
    };
    let mut tables = Vec::with_capacity(spec.metrics.len() + 1);
    for id in &spec.metrics {
        let title = ReportSpec::title_of(id);
        let table = one(services, spec, report.as_ref(), id, title).await?;
        tables.push(table.sorted(&spec.sort_by));
    }
    if spec.include_raw_data
        && let Some(r) = &report
    {
        let mut t = Table::new(
            "daily",
            "Day by day",
            &[
                "date",
                "new_users",
                "active_users",
                "calls",
                "minutes",
                "credits_sold",
                "credits_consumed",
                "revenue",
            ],
        );
        for d in &r.days {
            t = t.row(vec![
                json!(d.date.to_string()),
                json!(d.new_users),
                json!(d.active_users),
                json!(d.calls),
                json!(d.minutes),
                json!(d.credits_sold),
                json!(d.credits_consumed),
                json!(amount(d.revenue.values().sum())),
            ]);
        }
        tables.push(t.sorted(&spec.sort_by));
    }
    Ok(tables)
}

async fn one(
    services: &Services,
    spec: &ReportSpec,
    report: Option<&analytics::Report>,
    id: &str,
    title: &str,
) -> AppResult<Table> {
    let db = &services.db;
    let (start, end) = bounds(spec);
    let t = |columns: &[&'static str]| Table::new(id, title, columns);
    let days = report.map(|r| r.days.as_slice()).unwrap_or_default();
    Ok(match id {
        "total_users" => {
            let total = users::Entity::find()
                .filter(users::Column::CreatedAt.lt(end))
                .count(db)
                .await?;
            let new: i64 = days.iter().map(|d| d.new_users).sum();
            t(&["users", "new_in_range"]).row(vec![json!(total), json!(new)])
        }
        "active_users" => {
            let active = report.map(|r| r.users_active).unwrap_or_default();
            let total = users::Entity::find()
                .filter(users::Column::CreatedAt.lt(end))
                .count(db)
                .await? as i64;
            t(&["active_users", "users", "active_percent"]).row(vec![
                json!(active),
                json!(total),
                json!(percent(active, total)),
            ])
        }
        "new_registrations" => {
            let mut table = t(&["date", "new_users"]);
            for d in days {
                table = table.row(vec![json!(d.date.to_string()), json!(d.new_users)]);
            }
            table
        }
        "user_retention" => {
            let before = users::Entity::find()
                .filter(users::Column::CreatedAt.lt(start))
                .count(db)
                .await? as i64;
            let kept = users::Entity::find()
                .filter(users::Column::CreatedAt.lt(start))
                .filter(users::Column::Id.in_subquery(callers(start, end)))
                .count(db)
                .await? as i64;
            t(&[
                "accounts_before_range",
                "active_in_range",
                "retention_percent",
            ])
            .row(vec![
                json!(before),
                json!(kept),
                json!(percent(kept, before)),
            ])
        }
        "users_by_tier" => {
            let rows: Vec<(String, i64)> = users::Entity::find()
                .select_only()
                .column(users::Column::SubscriptionTier)
                .column_as(Expr::cust("COUNT(*)"), "n")
                .filter(users::Column::CreatedAt.lt(end))
                .group_by(users::Column::SubscriptionTier)
                .order_by_asc(users::Column::SubscriptionTier)
                .into_tuple()
                .all(db)
                .await?;
            let mut table = t(&["tier", "users"]);
            for (tier, n) in rows {
                table = table.row(vec![json!(tier), json!(n)]);
            }
            table
        }
        "total_agents" => {
            let total = agents::Entity::find()
                .filter(agents::Column::CreatedAt.lt(end))
                .count(db)
                .await?;
            let new = agents::Entity::find()
                .filter(agents::Column::CreatedAt.gte(start))
                .filter(agents::Column::CreatedAt.lt(end))
                .count(db)
                .await?;
            t(&["agents", "new_in_range"]).row(vec![json!(total), json!(new)])
        }
        "active_agents" | "agent_utilization" => {
            let k = platform::kpis(db).await?.agents;
            let used: i64 = rollups::Entity::find()
                .select_only()
                .column_as(Expr::cust("COUNT(DISTINCT \"agent_id\")"), "n")
                .filter(rollups::Column::Hour.gte(start))
                .filter(rollups::Column::Hour.lt(end))
                .filter(rollups::Column::AgentId.ne(Uuid::nil()))
                .into_tuple()
                .one(db)
                .await?
                .unwrap_or_default();
            if id == "active_agents" {
                t(&["agents", "taking_calls", "with_calls_in_range"]).row(vec![
                    json!(k.total),
                    json!(k.active),
                    json!(used),
                ])
            } else {
                t(&["taking_calls", "with_calls_in_range", "utilization_percent"]).row(vec![
                    json!(k.active),
                    json!(used),
                    json!(percent(used, k.active as i64)),
                ])
            }
        }
        "agent_performance" => {
            let rows: Vec<(Uuid, i64, i64, i64)> = rollups::Entity::find()
                .select_only()
                .column(rollups::Column::AgentId)
                .column_as(analytics::sum("calls"), "calls")
                .column_as(analytics::sum("successful"), "successful")
                .column_as(analytics::sum("duration_secs"), "duration_secs")
                .filter(rollups::Column::Hour.gte(start))
                .filter(rollups::Column::Hour.lt(end))
                .filter(rollups::Column::AgentId.ne(Uuid::nil()))
                .group_by(rollups::Column::AgentId)
                .order_by_desc(Expr::cust("2"))
                .limit(TOP)
                .into_tuple()
                .all(db)
                .await?;
            let names: HashMap<Uuid, String> = agents::Entity::find()
                .select_only()
                .column(agents::Column::Id)
                .column(agents::Column::Name)
                .filter(agents::Column::Id.is_in(rows.iter().map(|r| r.0)))
                .into_tuple()
                .all(db)
                .await?
                .into_iter()
                .collect();
            let mut table = t(&[
                "agent_id",
                "agent",
                "calls",
                "successful",
                "success_rate_percent",
                "average_seconds",
            ]);
            for (agent, calls, ok, secs) in rows {
                table = table.row(vec![
                    json!(agent),
                    json!(
                        names
                            .get(&agent)
                            .cloned()
                            .unwrap_or_else(|| "(deleted)".into())
                    ),
                    json!(calls),
                    json!(ok),
                    json!(percent(ok, calls)),
                    json!(if calls == 0 { 0 } else { secs / calls }),
                ]);
            }
            table
        }
        "agents_by_type" => {
            let k = platform::kpis(db).await?.agents;
            t(&["type", "agents"])
                .row(vec![json!("voice"), json!(k.calls)])
                .row(vec![json!("chat"), json!(k.chats)])
        }
        "total_calls" => {
            let r = report.map(|r| (r.calls, r.minutes)).unwrap_or_default();
            t(&["calls", "minutes"]).row(vec![json!(r.0), json!(r.1)])
        }
        "call_success_rate" => {
            let (calls, ok, _, _) = call_sums(db, start, end).await?;
            t(&["calls", "successful", "success_rate_percent"]).row(vec![
                json!(calls),
                json!(ok),
                json!(percent(ok, calls)),
            ])
        }
        "average_duration" => {
            let (calls, _, secs, _) = call_sums(db, start, end).await?;
            let avg = if calls == 0 { 0 } else { secs / calls };
            t(&["calls", "average_seconds"]).row(vec![json!(calls), json!(avg)])
        }
        "calls_by_hour" => {
            // A row per active hour of the range (at most 24 × MAX_DAYS), folded by hour of day.
            let mut by_hour = [0i64; 24];
            let mut rows = rollups::Entity::find()
                .select_only()
                .column(rollups::Column::Hour)
                .column_as(analytics::sum("calls"), "calls")
                .filter(rollups::Column::Hour.gte(start))
                .filter(rollups::Column::Hour.lt(end))
                .group_by(rollups::Column::Hour)
                .into_tuple::<(DateTime<Utc>, i64)>()
                .stream(db)
                .await?;
            while let Some((hour, calls)) = rows.try_next().await? {
                by_hour[hour.hour() as usize] += calls;
            }
            let mut table = t(&["hour", "calls"]);
            for (h, n) in by_hour.iter().enumerate() {
                table = table.row(vec![json!(format!("{h:02}:00")), json!(n)]);
            }
            table
        }
        "call_costs" => {
            let price = services.settings().await.billing.credit_price_cents;
            let mut table = t(&["date", "credits", "cost"]);
            for d in days {
                table = table.row(vec![
                    json!(d.date.to_string()),
                    json!(d.credits_consumed),
                    json!(amount(d.credits_consumed * price)),
                ]);
            }
            table
        }
        "total_revenue" => {
            let mut table = t(&["currency", "revenue"]);
            for (currency, minor) in report.map(|r| r.revenue.clone()).unwrap_or_default() {
                table = table.row(vec![json!(currency), json!(amount(minor))]);
            }
            table
        }
        "monthly_revenue" => {
            let mut months: BTreeMap<(String, String), i64> = BTreeMap::new();
            for d in days {
                let month = format!("{:04}-{:02}", d.date.year(), d.date.month());
                for (currency, minor) in &d.revenue {
                    *months.entry((month.clone(), currency.clone())).or_default() += minor;
                }
            }
            let mut table = t(&["month", "currency", "revenue"]);
            for ((month, currency), minor) in months {
                table = table.row(vec![json!(month), json!(currency), json!(amount(minor))]);
            }
            table
        }
        "revenue_by_tier" => {
            let paid: Vec<(Uuid, String, i64)> = purchases::Entity::find()
                .select_only()
                .column(purchases::Column::UserId)
                .column(purchases::Column::Currency)
                .column_as(analytics::sum("amount_cents"), "amount")
                .filter(purchases::Column::Status.eq(PurchaseStatus::Paid))
                .filter(purchases::Column::PaidAt.gte(start))
                .filter(purchases::Column::PaidAt.lt(end))
                .group_by(purchases::Column::UserId)
                .group_by(purchases::Column::Currency)
                .into_tuple()
                .all(db)
                .await?;
            let tiers: HashMap<Uuid, String> = users::Entity::find()
                .select_only()
                .column(users::Column::Id)
                .column(users::Column::SubscriptionTier)
                .filter(users::Column::Id.is_in(paid.iter().map(|p| p.0)))
                .into_tuple()
                .all(db)
                .await?
                .into_iter()
                .collect();
            let mut by: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
            for (user, currency, minor) in paid {
                let tier = tiers
                    .get(&user)
                    .cloned()
                    .unwrap_or_else(|| "deleted".into());
                let e = by.entry((tier, currency)).or_default();
                e.0 += 1;
                e.1 += minor;
            }
            let mut table = t(&["tier", "currency", "paying_accounts", "revenue"]);
            for ((tier, currency), (n, minor)) in by {
                table = table.row(vec![
                    json!(tier),
                    json!(currency),
                    json!(n),
                    json!(amount(minor)),
                ]);
            }
            table
        }
        "payment_methods" => {
            // Purchases go through Stripe Checkout; admins grant the rest through the ledger.
            let (n, credits, minor): (i64, i64, i64) = purchases::Entity::find()
                .select_only()
                .column_as(Expr::cust("COUNT(*)"), "n")
                .column_as(analytics::sum("credits"), "credits")
                .column_as(analytics::sum("amount_cents"), "amount")
                .filter(purchases::Column::Status.eq(PurchaseStatus::Paid))
                .filter(purchases::Column::PaidAt.gte(start))
                .filter(purchases::Column::PaidAt.lt(end))
                .into_tuple()
                .one(db)
                .await?
                .unwrap_or_default();
            let (grants, granted): (i64, i64) = ledger::Entity::find()
                .select_only()
                .column_as(Expr::cust("COUNT(*)"), "n")
                .column_as(analytics::sum("amount"), "credits")
                .filter(ledger::Column::Kind.is_in([TxKind::AdminAdjustment, TxKind::Bonus]))
                .filter(ledger::Column::Amount.gt(0))
                .filter(ledger::Column::CreatedAt.gte(start))
                .filter(ledger::Column::CreatedAt.lt(end))
                .into_tuple()
                .one(db)
                .await?
                .unwrap_or_default();
            t(&["method", "transactions", "credits", "amount"])
                .row(vec![
                    json!("stripe_checkout"),
                    json!(n),
                    json!(credits),
                    json!(amount(minor)),
                ])
                .row(vec![
                    json!("admin_grant_or_bonus"),
                    json!(grants),
                    json!(granted),
                    json!(0.0),
                ])
        }
        "churn_rate" => {
            // Accounts with calls in the equal span before the range and none in it.
            let span = end - start;
            let before = callers(start - span, start);
            let active_before = users::Entity::find()
                .filter(users::Column::Id.in_subquery(before.clone()))
                .count(db)
                .await? as i64;
            let churned = users::Entity::find()
                .filter(users::Column::Id.in_subquery(before))
                .filter(users::Column::Id.not_in_subquery(callers(start, end)))
                .count(db)
                .await? as i64;
            t(&["active_before_range", "churned", "churn_rate_percent"]).row(vec![
                json!(active_before),
                json!(churned),
                json!(percent(churned, active_before)),
            ])
        }
        "system_uptime" => {
            let tr = recent::traffic();
            let ok = tr.requests.saturating_sub(tr.errors) as i64;
            t(&[
                "process_up_seconds",
                "requests_last_5_min",
                "answered_percent",
            ])
            .row(vec![
                json!(tr.up_for.as_secs()),
                json!(tr.requests),
                json!(if tr.requests == 0 {
                    100.0
                } else {
                    percent(ok, tr.requests as i64)
                }),
            ])
        }
        "response_times" => {
            let tr = recent::traffic();
            t(&["requests_last_5_min", "mean_ms"]).row(vec![
                json!(tr.requests),
                json!((tr.mean_ms * 10.0).round() / 10.0),
            ])
        }
        "error_rates" => {
            let tr = recent::traffic();
            t(&["requests_last_5_min", "server_errors", "error_rate"]).row(vec![
                json!(tr.requests),
                json!(tr.errors),
                json!(tr.error_rate()),
            ])
        }
        "resource_usage" => {
            let tr = recent::traffic();
            t(&["resident_memory_mb", "requests_in_flight"])
                .row(vec![json!(resident_mb()), json!(tr.in_flight)])
        }
        "concurrent_users" => {
            let in_flight: Vec<(Uuid, i64)> = calls::Entity::find()
                .select_only()
                .column(calls::Column::UserId)
                .column_as(Expr::cust("COUNT(*)"), "n")
                .filter(
                    calls::Column::Status.is_in([CallStatus::Initiated, CallStatus::InProgress]),
                )
                .group_by(calls::Column::UserId)
                .into_tuple()
                .all(db)
                .await?;
            t(&["accounts_calling_now", "calls_in_flight"]).row(vec![
                json!(in_flight.len()),
                json!(in_flight.iter().map(|r| r.1).sum::<i64>()),
            ])
        }
        "admin_actions" => {
            let rows: Vec<(String, i64)> = audit_log::Entity::find()
                .select_only()
                .column(audit_log::Column::Action)
                .column_as(Expr::cust("COUNT(*)"), "n")
                .filter(audit_log::Column::CreatedAt.gte(start))
                .filter(audit_log::Column::CreatedAt.lt(end))
                .group_by(audit_log::Column::Action)
                .order_by_asc(audit_log::Column::Action)
                .into_tuple()
                .all(db)
                .await?;
            let mut table = t(&["action", "count"]);
            for (action, n) in rows {
                table = table.row(vec![json!(action), json!(n)]);
            }
            table
        }
        "login_attempts" => {
            // A sign-in starts a token family; refreshes add tokens to it. Failed attempts are
            // only rate-limited, never stored.
            let mut per_day: BTreeMap<NaiveDate, i64> = spec
                .from
                .iter_days()
                .take_while(|d| *d <= spec.to)
                .map(|d| (d, 0))
                .collect();
            let mut firsts = refresh_tokens::Entity::find()
                .select_only()
                .column_as(refresh_tokens::Column::CreatedAt.min(), "first")
                .group_by(refresh_tokens::Column::FamilyId)
                .having(refresh_tokens::Column::CreatedAt.min().gte(start))
                .having(refresh_tokens::Column::CreatedAt.min().lt(end))
                .into_tuple::<DateTime<Utc>>()
                .stream(db)
                .await?;
            while let Some(first) = firsts.try_next().await? {
                *per_day.entry(first.date_naive()).or_default() += 1;
            }
            let mut table = t(&["date", "sign_ins"]);
            for (d, n) in per_day {
                table = table.row(vec![json!(d.to_string()), json!(n)]);
            }
            table
        }
        "security_events" | "data_access" | "system_changes" => {
            let mut q = audit_log::Entity::find()
                .filter(audit_log::Column::CreatedAt.gte(start))
                .filter(audit_log::Column::CreatedAt.lt(end));
            q = match id {
                "security_events" => {
                    q.filter(audit_log::Column::Action.is_in(SECURITY.iter().copied()))
                }
                "data_access" => {
                    q.filter(audit_log::Column::Action.is_in(DATA_ACCESS.iter().copied()))
                }
                _ => {
                    let mut any = sea_orm::Condition::any();
                    for p in SYSTEM {
                        any = any.add(audit_log::Column::Action.starts_with(*p));
                    }
                    q.filter(any)
                }
            };
            let entries = q
                .order_by_desc(audit_log::Column::Id)
                .limit(AUDIT_ROWS)
                .all(db)
                .await?;
            let emails = crate::accounts::audit::emails_of(db, &entries).await?;
            let mut table = t(&["at", "admin", "action", "target"]);
            for e in entries {
                table = table.row(vec![
                    json!(e.created_at.to_rfc3339()),
                    json!(
                        e.actor_id
                            .and_then(|a| emails.get(&a).cloned())
                            .unwrap_or_default()
                    ),
                    json!(e.action),
                    json!(match (e.target_type, e.target_id) {
                        (Some(t), Some(i)) => format!("{t} {i}"),
                        _ => String::new(),
                    }),
                ]);
            }
            table
        }
        other => {
            return Err(crate::platform::error::AppError::validation(
                "metrics",
                format!("`{other}` is not a metric reports know"),
            ));
        }
    })
}

/// This process's resident memory in MiB, where the system tells (Linux).
fn resident_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some((kib / 1024.0 * 10.0).round() / 10.0)
}
