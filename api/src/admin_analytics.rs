//! `/api/admin/analytics`: how the platform is used over a range of UTC days.

use chrono::{Days, NaiveDate, Utc};
use poem::Request;
use poem_openapi::{Object, OpenApi, param::Query, payload::Json};
use shared::{Services, admin::analytics as service};
use uuid::Uuid;

use crate::{
    admin::{AdminAuth, AdminErrors},
    tags::Tag,
};

/// An amount in a currency's minor unit.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Money {
    pub currency: String,
    pub amount_cents: i64,
}

fn money(map: std::collections::BTreeMap<String, i64>) -> Vec<Money> {
    map.into_iter()
        .map(|(currency, amount_cents)| Money {
            currency,
            amount_cents,
        })
        .collect()
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PlatformDay {
    pub date: NaiveDate,
    pub new_users: i64,
    /// Accounts with at least one finished call or chat that day.
    pub active_users: i64,
    pub calls: i64,
    pub minutes: f64,
    pub credits_sold: i64,
    pub credits_consumed: i64,
    pub revenue: Vec<Money>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TopUser {
    pub user_id: Uuid,
    pub email: String,
    pub calls: i64,
    pub minutes: f64,
    pub credits_consumed: i64,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TopAgent {
    pub agent_id: Uuid,
    pub name: String,
    pub owner_email: String,
    pub calls: i64,
    pub minutes: f64,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct PlatformAnalytics {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub users_total: u64,
    pub users_new: i64,
    /// Accounts with at least one finished call or chat in the range.
    pub users_active: i64,
    pub calls: i64,
    pub minutes: f64,
    pub credits_sold: i64,
    pub credits_consumed: i64,
    /// Paid purchases (refunds not deducted), per currency.
    pub revenue: Vec<Money>,
    /// Every day of the range, quiet days included.
    pub days: Vec<PlatformDay>,
    /// By credits consumed, at most ten.
    pub top_users: Vec<TopUser>,
    /// By calls, at most ten.
    pub top_agents: Vec<TopAgent>,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct AnalyticsUsers {
    pub total: u64,
    pub active: u64,
    pub new_this_month: u64,
    /// New accounts in the range as a percent of those before it.
    pub growth_rate: f64,
    pub by_tier: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct AnalyticsAgents {
    pub total: u64,
    pub active: u64,
    pub healthy_percentage: f64,
    /// `call` and `chat` (agents have no purpose category here).
    pub by_type: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct AnalyticsCalls {
    pub total_this_month: i64,
    /// Percent.
    pub success_rate: f64,
    /// Seconds.
    pub average_duration: f64,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct AnalyticsCredits {
    /// Paid purchases in the range, dollars.
    pub revenue_in_range: f64,
    /// The range's daily revenue over 30 days, dollars.
    pub estimated_monthly_revenue: f64,
    pub sold_in_range: i64,
    pub consumed_in_range: i64,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct AnalyticsSystem {
    /// Requests of the last five minutes answered without a server error, percent.
    pub uptime: f64,
    /// ms.
    pub response_time: f64,
    /// Fraction.
    pub error_rate: f64,
    pub active_connections: i64,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct UsageDay {
    pub date: NaiveDate,
    /// Accounts with a finished call or chat that day.
    pub users: i64,
    pub calls: i64,
    /// Not counted per day: 0.
    pub agents: i64,
    /// Dollars.
    pub revenue: f64,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ChartSlice {
    pub name: String,
    pub value: u64,
    pub color: String,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct HourlyUse {
    /// `HH:00`, UTC.
    pub hour: String,
    pub calls: i64,
    pub users: i64,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct SystemAnalytics {
    pub users: AnalyticsUsers,
    pub agents: AnalyticsAgents,
    pub calls: AnalyticsCalls,
    pub credits: AnalyticsCredits,
    pub system: AnalyticsSystem,
    pub usage: Vec<UsageDay>,
    pub user_tiers: Vec<ChartSlice>,
    pub agent_types: Vec<ChartSlice>,
    pub hourly_usage: Vec<HourlyUse>,
    pub alerts: Vec<String>,
}

/// `GET /api/admin/analytics/system`.
#[derive(Debug, Object)]
#[oai(example)]
pub struct SystemAnalyticsEnvelope {
    pub success: bool,
    pub data: SystemAnalytics,
}

pub struct AdminAnalyticsApi {
    pub services: Services,
}

#[OpenApi(prefix_path = "/api/admin", tag = "Tag::Admin")]
impl AdminAnalyticsApi {
    /// Platform analytics
    ///
    /// UTC days `from` through `to` (default: the last 30 days, today included; at most 366).
    #[oai(path = "/analytics", method = "get")]
    async fn analytics(
        &self,
        auth: AdminAuth,
        req: &Request,
        from: Query<Option<NaiveDate>>,
        to: Query<Option<NaiveDate>>,
    ) -> Result<Json<PlatformAnalytics>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let to = to.0.unwrap_or_else(|| Utc::now().date_naive());
        let from = from
            .0
            .unwrap_or_else(|| to.checked_sub_days(Days::new(29)).unwrap_or(to));
        let r = service::report(&self.services.db, from, to).await?;
        Ok(Json(PlatformAnalytics {
            from: r.from,
            to: r.to,
            users_total: r.users_total,
            users_new: r.users_new,
            users_active: r.users_active,
            calls: r.calls,
            minutes: r.minutes,
            credits_sold: r.credits_sold,
            credits_consumed: r.credits_consumed,
            revenue: money(r.revenue),
            days: r
                .days
                .into_iter()
                .map(|d| PlatformDay {
                    date: d.date,
                    new_users: d.new_users,
                    active_users: d.active_users,
                    calls: d.calls,
                    minutes: d.minutes,
                    credits_sold: d.credits_sold,
                    credits_consumed: d.credits_consumed,
                    revenue: money(d.revenue),
                })
                .collect(),
            top_users: r
                .top_users
                .into_iter()
                .map(|u| TopUser {
                    user_id: u.user_id,
                    email: u.email,
                    calls: u.calls,
                    minutes: u.minutes,
                    credits_consumed: u.credits_consumed,
                })
                .collect(),
            top_agents: r
                .top_agents
                .into_iter()
                .map(|a| TopAgent {
                    agent_id: a.agent_id,
                    name: a.name,
                    owner_email: a.owner_email,
                    calls: a.calls,
                    minutes: a.minutes,
                })
                .collect(),
        }))
    }

    /// System analytics
    ///
    /// The Analytics screen: accounts (growth over the range, by tier), agents (by type, in
    /// step with ElevenLabs), calls this month (success rate in percent), revenue (the range's
    /// paid purchases, and a month at the range's daily rate), this process's recent traffic,
    /// a day-by-day series for `dateRangeStart`–`dateRangeEnd` (default the last 30 days) and
    /// the last day's calls by hour of the day (UTC). From the counters.
    #[oai(path = "/analytics/system", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn system(
        &self,
        auth: AdminAuth,
        req: &Request,
        #[oai(name = "dateRangeStart")] start: Query<Option<chrono::DateTime<Utc>>>,
        #[oai(name = "dateRangeEnd")] end: Query<Option<chrono::DateTime<Utc>>>,
        /// Accepted for the screen's filter bar; the figures are the platform's.
        #[oai(name = "userTier", validator(max_length = 20))]
        _user_tier: Query<Option<String>>,
        #[oai(name = "agentType", validator(max_length = 20))] _agent_type: Query<Option<String>>,
        #[oai(validator(max_length = 20))] _region: Query<Option<String>>,
    ) -> Result<Json<SystemAnalyticsEnvelope>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let db = &self.services.db;
        let to = end
            .0
            .map(|t| t.date_naive())
            .unwrap_or_else(|| Utc::now().date_naive());
        let from = start
            .0
            .map(|t| t.date_naive())
            .unwrap_or_else(|| to.checked_sub_days(Days::new(29)).unwrap_or(to));
        let r = service::report(db, from, to).await?;
        let k = shared::admin::platform::kpis(db).await?;
        let hours =
            shared::admin::agent_oversight::monitoring(db, chrono::Duration::hours(24)).await?;
        let dollars = |m: &std::collections::BTreeMap<String, i64>| {
            m.get("usd").copied().unwrap_or(0) as f64 / 100.0
        };
        let span = r.days.len().max(1) as f64;
        let before = r.users_total.saturating_sub(r.users_new.max(0) as u64);
        let growth = if before == 0 {
            0.0
        } else {
            (r.users_new as f64 * 1000.0 / before as f64).round() / 10.0
        };
        let t = &k.traffic;
        const COLORS: [&str; 5] = ["#14b8a6", "#3b82f6", "#8b5cf6", "#f59e0b", "#ef4444"];
        let slices = |pairs: Vec<(String, u64)>| -> Vec<ChartSlice> {
            pairs
                .into_iter()
                .enumerate()
                .map(|(i, (name, value))| ChartSlice {
                    name,
                    value,
                    color: COLORS[i % COLORS.len()].into(),
                })
                .collect()
        };
        let types = vec![
            ("call".to_string(), k.agents.calls),
            ("chat".to_string(), k.agents.chats),
        ];
        Ok(Json(SystemAnalyticsEnvelope {
            success: true,
            data: SystemAnalytics {
                users: AnalyticsUsers {
                    total: k.users.total,
                    active: k.users.active,
                    new_this_month: k.users.new_this_month,
                    growth_rate: growth,
                    by_tier: k.users.by_tier.iter().cloned().collect(),
                },
                agents: AnalyticsAgents {
                    total: k.agents.total,
                    active: k.agents.active,
                    healthy_percentage: k.agents.healthy_percentage,
                    by_type: types.iter().cloned().collect(),
                },
                calls: AnalyticsCalls {
                    total_this_month: k.calls.calls_this_month,
                    success_rate: (k.calls.success_rate() * 1000.0).round() / 10.0,
                    average_duration: k.calls.average_duration().round(),
                },
                credits: AnalyticsCredits {
                    revenue_in_range: dollars(&r.revenue),
                    estimated_monthly_revenue: (dollars(&r.revenue) / span * 30.0 * 100.0).round()
                        / 100.0,
                    sold_in_range: r.credits_sold,
                    consumed_in_range: r.credits_consumed,
                },
                system: AnalyticsSystem {
                    uptime: ((1.0 - t.error_rate()) * 1000.0).round() / 10.0,
                    response_time: t.mean_ms,
                    error_rate: t.error_rate(),
                    active_connections: t.in_flight,
                },
                usage: r
                    .days
                    .iter()
                    .map(|d| UsageDay {
                        date: d.date,
                        users: d.active_users,
                        calls: d.calls,
                        agents: 0,
                        revenue: dollars(&d.revenue),
                    })
                    .collect(),
                user_tiers: slices(k.users.by_tier.clone()),
                agent_types: slices(types),
                hourly_usage: (0..24)
                    .map(|h| HourlyUse {
                        hour: format!("{h:02}:00"),
                        calls: hours.by_hour[h],
                        users: hours.users_by_hour[h],
                    })
                    .collect(),
                alerts: Vec::new(),
            },
        }))
    }
}
