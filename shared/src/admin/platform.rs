//! The platform's figures for the admin dashboard: accounts, agents, calls, credits and this
//! process's traffic. Calls and credits spent come from the platform's daily counters the
//! post-call job keeps with the accounts' (`platform_rollups`), so the KPIs read a few thousand
//! counter rows, not the calls or every account's counters; the
//! recent-activity feed reads the newest rows by their time-ordered ids.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Func},
};
use uuid::Uuid;

use crate::{
    agents::{AgentStatus, Channel, SyncState},
    entities::calls::CallStatus,
    entities::{agents, calls, platform_rollups, users},
    platform::{error::AppResult, monitoring::recent},
};

/// How long after their last sign-in accounts count as active.
pub const ACTIVE_DAYS: i64 = 30;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserKpis {
    pub total: u64,
    /// Signed in within [`ACTIVE_DAYS`].
    pub active: u64,
    pub suspended: u64,
    pub new_today: u64,
    pub new_this_week: u64,
    pub new_this_month: u64,
    /// Accounts per subscription tier (`free`, `basic`, `pro`, `enterprise`).
    pub by_tier: Vec<(String, u64)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentKpis {
    pub total: u64,
    /// Taking calls (not drafts).
    pub active: u64,
    pub calls: u64,
    pub chats: u64,
    /// Agents whose ElevenLabs copy has our latest configuration, percent of all.
    pub healthy_percentage: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, FromQueryResult)]
pub struct CallTotals {
    pub calls: i64,
    pub calls_today: i64,
    pub calls_this_month: i64,
    pub successful_this_month: i64,
    pub duration_this_month: i64,
    pub credits_this_month: i64,
    /// Credits spent on calls and chats, all time.
    pub credits_used: i64,
}

impl CallTotals {
    /// Successful calls this month as a fraction (0 without calls).
    pub fn success_rate(&self) -> f64 {
        if self.calls_this_month == 0 {
            0.0
        } else {
            self.successful_this_month as f64 / self.calls_this_month as f64
        }
    }

    /// Mean call length this month in seconds.
    pub fn average_duration(&self) -> f64 {
        if self.calls_this_month == 0 {
            0.0
        } else {
            self.duration_this_month as f64 / self.calls_this_month as f64
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Kpis {
    pub users: UserKpis,
    pub agents: AgentKpis,
    pub calls: CallTotals,
    /// Credits held by all accounts now.
    pub credits_in_system: i64,
    pub traffic: recent::Traffic,
}

/// Midnight UTC today, the Monday of this week and the first of this month.
pub(crate) fn day_week_month(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>) {
    let today = now.date_naive();
    let midnight =
        |d: chrono::NaiveDate| Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN));
    let week = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    let month = today.with_day(1).unwrap_or(today);
    (midnight(today), midnight(week), midnight(month))
}

/// `SUM(column)` over the platform's daily counters, only the days from `since` when given,
/// as a BIGINT.
fn sum(column: platform_rollups::Column, since: Option<DateTime<Utc>>) -> Expr {
    let value = match since {
        None => Expr::col(column),
        Some(since) => Expr::case(
            Expr::col(platform_rollups::Column::Day).gte(since),
            Expr::col(column),
        )
        .finally(0)
        .into(),
    };
    Func::coalesce([Func::sum(value).into(), Expr::val(0)]).cast_as("BIGINT")
}

/// The platform's call totals, from its daily counters: a few thousand rows a decade, however
/// many accounts and calls (`day_week_month` boundaries are UTC midnights, so days suffice).
async fn call_totals(db: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<CallTotals> {
    let (today, _, month) = day_week_month(now);
    use platform_rollups::Column as C;
    let totals = platform_rollups::Entity::find()
        .select_only()
        .column_as(sum(C::Calls, None), "calls")
        .column_as(sum(C::Calls, Some(today)), "calls_today")
        .column_as(sum(C::Calls, Some(month)), "calls_this_month")
        .column_as(sum(C::Successful, Some(month)), "successful_this_month")
        .column_as(sum(C::DurationSecs, Some(month)), "duration_this_month")
        .column_as(sum(C::Credits, Some(month)), "credits_this_month")
        .column_as(sum(C::Credits, None), "credits_used")
        .into_model::<CallTotals>()
        .one(db)
        .await?;
    Ok(totals.unwrap_or_default())
}

async fn user_kpis(db: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<UserKpis> {
    let (today, week, month) = day_week_month(now);
    let count_since = |since: DateTime<Utc>| {
        users::Entity::find()
            .filter(users::Column::CreatedAt.gte(since))
            .count(db)
    };
    let by_tier: Vec<(String, i64)> = users::Entity::find()
        .select_only()
        .column(users::Column::SubscriptionTier)
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
        .group_by(users::Column::SubscriptionTier)
        .into_tuple()
        .all(db)
        .await?;
    Ok(UserKpis {
        total: users::Entity::find().count(db).await?,
        active: users::Entity::find()
            .filter(users::Column::LastSeenAt.gte(now - Duration::days(ACTIVE_DAYS)))
            .filter(users::Column::Status.eq(crate::accounts::users::UserStatus::Active))
            .count(db)
            .await?,
        suspended: users::Entity::find()
            .filter(users::Column::Status.eq(crate::accounts::users::UserStatus::Suspended))
            .count(db)
            .await?,
        new_today: count_since(today).await?,
        new_this_week: count_since(week).await?,
        new_this_month: count_since(month).await?,
        by_tier: by_tier.into_iter().map(|(t, n)| (t, n as u64)).collect(),
    })
}

async fn agent_kpis(db: &DatabaseConnection) -> AppResult<AgentKpis> {
    let rows: Vec<(Channel, AgentStatus, SyncState, i64)> = agents::Entity::find()
        .select_only()
        .column(agents::Column::Kind)
        .column(agents::Column::Status)
        .column(agents::Column::SyncState)
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
        .group_by(agents::Column::Kind)
        .group_by(agents::Column::Status)
        .group_by(agents::Column::SyncState)
        .into_tuple()
        .all(db)
        .await?;
    let mut k = AgentKpis::default();
    let mut synced = 0u64;
    for (kind, status, sync, n) in rows {
        let n = n as u64;
        k.total += n;
        if status == AgentStatus::Active {
            k.active += n;
        }
        match kind {
            Channel::Call => k.calls += n,
            Channel::Chat => k.chats += n,
        }
        if sync == SyncState::Synced {
            synced += n;
        }
    }
    k.healthy_percentage = if k.total == 0 {
        100.0
    } else {
        (synced as f64 * 1000.0 / k.total as f64).round() / 10.0
    };
    Ok(k)
}

pub async fn kpis(db: &DatabaseConnection) -> AppResult<Kpis> {
    let now = Utc::now();
    let credits: Option<i64> = users::Entity::find()
        .select_only()
        .column_as(
            Func::coalesce([
                Func::sum(Expr::col(users::Column::Credits)).into(),
                Expr::val(0),
            ])
            .cast_as("BIGINT"),
            "credits",
        )
        .into_tuple()
        .one(db)
        .await?;
    Ok(Kpis {
        users: user_kpis(db, now).await?,
        agents: agent_kpis(db).await?,
        calls: call_totals(db, now).await?,
        credits_in_system: credits.unwrap_or(0),
        traffic: recent::traffic(),
    })
}

/// What the dashboard's activity feed shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    UserRegistered,
    AgentCreated,
    CallCompleted,
}

#[derive(Debug, Clone)]
pub struct FeedItem {
    pub id: Uuid,
    pub kind: FeedKind,
    pub message: String,
    pub at: DateTime<Utc>,
    pub user_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
}

/// The newest sign-ups, agents and finished calls, newest first, at most `n`.
pub async fn recent(db: &DatabaseConnection, n: u64) -> AppResult<Vec<FeedItem>> {
    // Ids are time-ordered: the primary keys find the newest rows.
    let signups = users::Entity::find()
        .order_by_desc(users::Column::Id)
        .limit(n)
        .all(db)
        .await?;
    let new_agents = agents::Entity::find()
        .order_by_desc(agents::Column::Id)
        .limit(n)
        .all(db)
        .await?;
    let finished = calls::Entity::find()
        .filter(calls::Column::Status.eq(CallStatus::Completed))
        .order_by_desc(calls::Column::Id)
        .limit(n)
        .all(db)
        .await?;
    let mut feed: Vec<FeedItem> = signups
        .into_iter()
        .map(|u| FeedItem {
            id: u.id,
            kind: FeedKind::UserRegistered,
            message: format!("{} signed up", u.name.as_deref().unwrap_or(&u.email)),
            at: u.created_at,
            user_id: Some(u.id),
            agent_id: None,
        })
        .chain(new_agents.into_iter().map(|a| FeedItem {
            id: a.id,
            kind: FeedKind::AgentCreated,
            message: format!("Agent \"{}\" created", a.name),
            at: a.created_at,
            user_id: Some(a.user_id),
            agent_id: Some(a.id),
        }))
        .chain(finished.into_iter().map(|c| FeedItem {
            id: c.id,
            kind: FeedKind::CallCompleted,
            message: format!(
                "{} with {} ended after {}m {:02}s",
                if c.channel == calls::Channel::Chat {
                    "Chat"
                } else {
                    "Call"
                },
                c.phone_number.as_deref().unwrap_or("a web visitor"),
                c.duration_secs / 60,
                c.duration_secs % 60
            ),
            at: c.completed_at.unwrap_or(c.updated_at),
            user_id: Some(c.user_id),
            agent_id: c.agent_id,
        }))
        .collect();
    feed.sort_by_key(|f| std::cmp::Reverse(f.at));
    feed.truncate(n as usize);
    Ok(feed)
}
