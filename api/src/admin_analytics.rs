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
}
