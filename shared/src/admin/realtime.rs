//! What the admin WebSocket pushes: the platform's figures now, the state of its parts, the
//! agents by state and the newest activity. One process computes them at most every
//! [`EVERY`] however many admins watch, so the socket's cost does not grow with its audience.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr};
use uuid::Uuid;

use crate::{
    Services,
    admin::platform::{self, FeedItem},
    entities::{
        agents::{self, AgentStatus, SyncState},
        users,
        webhook_events::InboxStatus,
    },
    platform::{error::AppResult, monitoring::recent},
};

/// How often figures are recomputed and pushed.
pub const EVERY: Duration = Duration::from_secs(5);
/// Above this share of server errors (percent) admins are warned.
pub const ERROR_ALERT_PERCENT: f64 = 5.0;

/// `healthy`, `degraded`, `down` or `not_configured`.
pub type PartState = &'static str;

#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Accounts signed in within the dashboard's active window.
    pub active_users: u64,
    pub total_calls: i64,
    /// The machine's load over the last minute as a share of its cores, percent.
    pub system_load: f64,
    /// Server errors of the last five minutes, percent.
    pub error_rate: f64,
    /// Mean latency of the last five minutes, ms.
    pub response_time: f64,
    pub database: PartState,
    pub api: PartState,
    pub elevenlabs: PartState,
    pub payments: PartState,
    /// Agents taking calls with our latest version on ElevenLabs; drafts; failed syncs.
    pub agents_active: u64,
    pub agents_idle: u64,
    pub agents_error: u64,
    pub at: DateTime<Utc>,
}

/// One activity of the feed, with the account's email.
#[derive(Debug, Clone)]
pub struct Activity {
    pub item: FeedItem,
    pub email: Option<String>,
}

#[derive(Default)]
pub struct RealtimeCache {
    last: Mutex<Option<(Instant, Arc<Figures>)>>,
}

fn load_percent() -> f64 {
    let one_minute: Option<f64> = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    one_minute
        .map_or(0.0, |l| ((l / cores) * 1000.0).round() / 10.0)
        .min(100.0)
}

async fn compute(services: &Services) -> AppResult<Figures> {
    let db = &services.db;
    let kpis = platform::kpis(db).await?;
    let traffic = recent::traffic();
    let (database, _) = services.readiness().await;
    let config = services.settings().await;
    let inbox = crate::platform::inbox::counts(db).await?;
    let failing = |provider: &str| {
        inbox
            .iter()
            .any(|c| c.provider == provider && c.status == InboxStatus::Failed && c.count > 0)
    };
    let part = |configured: bool, provider: &str| {
        if !configured {
            "not_configured"
        } else if failing(provider) {
            "degraded"
        } else {
            "healthy"
        }
    };
    let by_state: Vec<(AgentStatus, SyncState, i64)> = agents::Entity::find()
        .select_only()
        .column(agents::Column::Status)
        .column(agents::Column::SyncState)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(agents::Column::Status)
        .group_by(agents::Column::SyncState)
        .into_tuple()
        .all(db)
        .await?;
    let count = |f: &dyn Fn(AgentStatus, SyncState) -> bool| {
        by_state
            .iter()
            .filter(|(s, y, _)| f(*s, *y))
            .map(|(_, _, n)| *n as u64)
            .sum::<u64>()
    };
    let error_rate = (traffic.error_rate() * 1000.0).round() / 10.0;
    Ok(Figures {
        active_users: kpis.users.active,
        total_calls: kpis.calls.calls,
        system_load: load_percent(),
        error_rate,
        response_time: (traffic.mean_ms * 10.0).round() / 10.0,
        database: if database.is_ok() { "healthy" } else { "down" },
        api: if error_rate >= ERROR_ALERT_PERCENT {
            "degraded"
        } else {
            "healthy"
        },
        elevenlabs: part(config.elevenlabs.api_key.is_some(), "elevenlabs"),
        payments: part(config.billing.stripe_secret_key.is_some(), "stripe"),
        agents_active: count(&|s, y| s == AgentStatus::Active && y != SyncState::Failed),
        agents_idle: count(&|s, y| s == AgentStatus::Draft && y != SyncState::Failed),
        agents_error: count(&|_, y| y == SyncState::Failed),
        at: Utc::now(),
    })
}

impl RealtimeCache {
    /// The figures, recomputed when older than [`EVERY`].
    pub async fn figures(&self, services: &Services) -> AppResult<Arc<Figures>> {
        if let Some((at, f)) = self.last.lock().unwrap_or_else(|p| p.into_inner()).as_ref()
            && at.elapsed() < EVERY
        {
            return Ok(f.clone());
        }
        let fresh = Arc::new(compute(services).await?);
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }
}

/// Activity newer than `after` (a time-ordered id), oldest first, at most ten.
pub async fn activity_since(services: &Services, after: Option<Uuid>) -> AppResult<Vec<Activity>> {
    let mut items: Vec<FeedItem> = platform::recent(&services.db, 10)
        .await?
        .into_iter()
        .filter(|i| after.is_none_or(|a| i.id > a))
        .collect();
    items.reverse();
    let ids: Vec<Uuid> = items.iter().filter_map(|i| i.user_id).collect();
    let emails: std::collections::HashMap<Uuid, String> = if ids.is_empty() {
        Default::default()
    } else {
        users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .column(users::Column::Email)
            .filter(users::Column::Id.is_in(ids))
            .into_tuple()
            .all(&services.db)
            .await?
            .into_iter()
            .collect()
    };
    Ok(items
        .into_iter()
        .map(|item| Activity {
            email: item.user_id.and_then(|u| emails.get(&u).cloned()),
            item,
        })
        .collect())
}
