//! Every tenant's agents as the admin's Agent Management screen shows them: the list with
//! owners and use, bulk status changes, monitoring over a window (from the call counters), and
//! a health check against ElevenLabs that answers within a bound: when ElevenLabs is slow the
//! answer says so and shows each agent's last known state instead of hanging the page.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    Services,
    accounts::audit::Actor,
    agents::{AgentInput, AgentStatus, Channel, SyncState, elevenlabs::Retry},
    contacts::{like_pattern, lower_like},
    entities::{agents, call_rollups as rollups, users},
    platform::error::{AppError, AppResult},
};

/// How long the health check waits for ElevenLabs.
pub const HEALTH_BOUND: Duration = Duration::from_secs(3);
/// How many agents one bulk action takes.
pub const MAX_BULK: usize = 200;

#[derive(Debug, Clone, Default)]
pub struct AgentQuery {
    /// Part of the agent's name or its owner's email or name.
    pub search: Option<String>,
    pub active: Option<bool>,
    pub kind: Option<Channel>,
    pub owner: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub struct AgentRow {
    pub agent: agents::Model,
    pub owner_email: String,
    pub owner_name: Option<String>,
    pub calls: i64,
    /// The hour of its latest call (the counters keep hours).
    pub last_call_at: Option<DateTime<Utc>>,
}

use super::analytics::sum;

/// Calls and latest call hour per agent of `ids`.
async fn use_of(
    db: &DatabaseConnection,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, (i64, Option<DateTime<Utc>>)>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, i64, Option<DateTime<Utc>>)> = rollups::Entity::find()
        .select_only()
        .column(rollups::Column::AgentId)
        .column_as(sum("calls"), "calls")
        .column_as(Expr::col(rollups::Column::Hour).max(), "last")
        .filter(rollups::Column::AgentId.is_in(ids.iter().copied()))
        .filter(rollups::Column::Calls.gt(0))
        .group_by(rollups::Column::AgentId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(a, n, l)| (a, (n, l))).collect())
}

async fn owners_of(
    db: &DatabaseConnection,
    agents: &[agents::Model],
) -> AppResult<HashMap<Uuid, users::Model>> {
    Ok(users::Entity::find()
        .filter(users::Column::Id.is_in(agents.iter().map(|a| a.user_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect())
}

/// One page of every tenant's agents, newest first.
pub async fn list(
    db: &DatabaseConnection,
    q: &AgentQuery,
    page: u64,
    limit: u64,
) -> AppResult<(Vec<AgentRow>, u64)> {
    let mut find = agents::Entity::find();
    if let Some(search) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = like_pattern(search);
        let owners = users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .filter(
                Condition::any()
                    .add(lower_like((users::Entity, users::Column::Email), &pattern))
                    .add(lower_like((users::Entity, users::Column::Name), &pattern)),
            )
            .into_query();
        find = find.filter(
            Condition::any()
                .add(lower_like((agents::Entity, agents::Column::Name), &pattern))
                .add(Expr::col((agents::Entity, agents::Column::UserId)).in_subquery(owners)),
        );
    }
    match q.active {
        Some(true) => find = find.filter(agents::Column::Status.eq(AgentStatus::Active)),
        Some(false) => find = find.filter(agents::Column::Status.ne(AgentStatus::Active)),
        None => {}
    }
    if let Some(kind) = q.kind {
        find = find.filter(agents::Column::Kind.eq(kind));
    }
    if let Some(owner) = q.owner {
        find = find.filter(agents::Column::UserId.eq(owner));
    }
    let sorted = find
        .order_by_desc(agents::Column::CreatedAt)
        .order_by_desc(agents::Column::Id);
    let searched = q.search.as_deref().is_some_and(|s| !s.trim().is_empty());
    let (rows, total) = crate::platform::db::page_of(
        db,
        sorted,
        agents::Column::Id,
        |a| a.id,
        searched,
        crate::platform::db::Window::page(page, limit),
    )
    .await?;
    let owners = owners_of(db, &rows).await?;
    let ids: Vec<Uuid> = rows.iter().map(|a| a.id).collect();
    let used = use_of(db, &ids).await?;
    Ok((
        rows.into_iter()
            .map(|agent| {
                let owner = owners.get(&agent.user_id);
                let (calls, last_call_at) = used.get(&agent.id).copied().unwrap_or_default();
                AgentRow {
                    owner_email: owner.map(|o| o.email.clone()).unwrap_or_default(),
                    owner_name: owner.and_then(|o| o.name.clone()),
                    agent,
                    calls,
                    last_call_at,
                }
            })
            .collect(),
        total,
    ))
}

/// What the bulk bar does to the selected agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    Activate,
    Deactivate,
    Delete,
}

/// Applies `action` to each agent through its owner's service (ElevenLabs first), each on its
/// own: one agent's failure does not undo the others'. Returns how many succeeded and why the
/// others failed.
pub async fn bulk(
    services: &Services,
    actor: &Actor,
    ids: &[Uuid],
    action: BulkAction,
) -> AppResult<(u64, Vec<(Uuid, String)>)> {
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(AppError::validation(
            "agentIds",
            format!("name 1 to {MAX_BULK} agents"),
        ));
    }
    let mut done = 0;
    let mut failed = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for id in ids.iter().copied().filter(|id| seen.insert(*id)) {
        let outcome = match action {
            BulkAction::Delete => super::users::delete_agent(services, actor, id).await,
            BulkAction::Activate | BulkAction::Deactivate => {
                let status = if action == BulkAction::Activate {
                    AgentStatus::Active
                } else {
                    AgentStatus::Draft
                };
                let input = AgentInput {
                    status: Some(status),
                    ..Default::default()
                };
                super::users::update_agent(services, actor, id, input)
                    .await
                    .map(|_| ())
            }
        };
        match outcome {
            Ok(()) => done += 1,
            Err(e) => failed.push((id, e.to_string())),
        }
    }
    Ok((done, failed))
}

#[derive(Debug, Clone, Default)]
pub struct TopAgent {
    pub agent_id: Uuid,
    pub name: String,
    pub owner_id: Uuid,
    pub owner_email: String,
    pub calls: i64,
    pub successful: i64,
    pub duration_secs: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Monitoring {
    pub calls: i64,
    pub successful: i64,
    pub failed: i64,
    pub connected: i64,
    pub duration_secs: i64,
    pub top: Vec<TopAgent>,
    /// Calls per hour of the day (UTC), 0–23.
    pub by_hour: [i64; 24],
    /// Accounts with calls in each hour of the day (summed over the window's days).
    pub users_by_hour: [i64; 24],
}

/// The calls of the last `window`, from the counters.
pub async fn monitoring(
    db: &DatabaseConnection,
    window: chrono::Duration,
) -> AppResult<Monitoring> {
    let since = Utc::now() - window;
    let per_agent: Vec<(Uuid, i64, i64, i64, i64, i64)> = rollups::Entity::find()
        .select_only()
        .column(rollups::Column::AgentId)
        .column_as(sum("calls"), "calls")
        .column_as(sum("successful"), "successful")
        .column_as(sum("failed"), "failed")
        .column_as(sum("connected"), "connected")
        .column_as(sum("duration_secs"), "duration_secs")
        .filter(rollups::Column::Hour.gte(since))
        .group_by(rollups::Column::AgentId)
        .into_tuple()
        .all(db)
        .await?;
    let per_hour: Vec<(DateTime<Utc>, i64)> = rollups::Entity::find()
        .select_only()
        .column(rollups::Column::Hour)
        .column_as(sum("calls"), "calls")
        .filter(rollups::Column::Hour.gte(since))
        .group_by(rollups::Column::Hour)
        .into_tuple()
        .all(db)
        .await?;
    let users_per_hour: Vec<(DateTime<Utc>, i64)> = rollups::Entity::find()
        .select_only()
        .column(rollups::Column::Hour)
        .column_as(
            Expr::cust("CAST(COUNT(DISTINCT \"user_id\") AS BIGINT)"),
            "users",
        )
        .filter(rollups::Column::Hour.gte(since))
        .filter(rollups::Column::Calls.gt(0))
        .group_by(rollups::Column::Hour)
        .into_tuple()
        .all(db)
        .await?;
    let mut m = Monitoring::default();
    for (hour, calls) in per_hour {
        m.by_hour[hour.hour() as usize] += calls;
    }
    for (hour, users) in users_per_hour {
        m.users_by_hour[hour.hour() as usize] += users;
    }
    let mut ranked: Vec<_> = per_agent.iter().filter(|r| r.0 != Uuid::nil()).collect();
    ranked.sort_by_key(|r| std::cmp::Reverse(r.1));
    ranked.truncate(10);
    for (_, calls, successful, failed, connected, secs) in &per_agent {
        m.calls += calls;
        m.successful += successful;
        m.failed += failed;
        m.connected += connected;
        m.duration_secs += secs;
    }
    let ids: Vec<Uuid> = ranked.iter().map(|r| r.0).collect();
    let named = agents::Entity::find()
        .filter(agents::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    let owners = owners_of(db, &named).await?;
    let named: HashMap<Uuid, agents::Model> = named.into_iter().map(|a| (a.id, a)).collect();
    m.top = ranked
        .into_iter()
        .filter_map(|(id, calls, successful, _, _, secs)| {
            let agent = named.get(id)?;
            Some(TopAgent {
                agent_id: *id,
                name: agent.name.clone(),
                owner_id: agent.user_id,
                owner_email: owners
                    .get(&agent.user_id)
                    .map(|o| o.email.clone())
                    .unwrap_or_default(),
                calls: *calls,
                successful: *successful,
                duration_secs: *secs,
            })
        })
        .collect();
    Ok(m)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Healthy,
    Unhealthy,
    Unreachable,
}

#[derive(Debug, Clone)]
pub struct AgentHealth {
    pub agent: agents::Model,
    pub health: Health,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct HealthReport {
    pub agents: Vec<AgentHealth>,
    pub checked_at: DateTime<Utc>,
    /// ElevenLabs did not answer within [`HEALTH_BOUND`]: the states are the last known ones.
    pub stale: bool,
}

/// The ElevenLabs ids the platform's workspace has, or `None` when it did not answer in time.
async fn live_ids(services: &Services) -> Option<std::collections::HashSet<String>> {
    let client = crate::agents::elevenlabs::ElevenLabs::for_services(services)
        .await
        .ok()?;
    let fetch = async {
        let mut ids = std::collections::HashSet::new();
        let mut cursor: Option<String> = None;
        // Up to 20 pages of 100: the workspaces this platform serves.
        for _ in 0..20 {
            let path = match &cursor {
                Some(c) => format!("/v1/convai/agents?page_size=100&cursor={c}"),
                None => "/v1/convai/agents?page_size=100".to_string(),
            };
            let page = client
                .request(
                    reqwest::Method::GET,
                    &path,
                    None,
                    Retry::OnlyIfUnsent,
                    "agent",
                )
                .await
                .ok()?;
            for a in page["agents"].as_array().into_iter().flatten() {
                if let Some(id) = a["agent_id"].as_str() {
                    ids.insert(id.to_string());
                }
            }
            match (page["has_more"].as_bool(), page["next_cursor"].as_str()) {
                (Some(true), Some(next)) => cursor = Some(next.to_string()),
                _ => break,
            }
        }
        Some(ids)
    };
    tokio::time::timeout(HEALTH_BOUND, fetch)
        .await
        .ok()
        .flatten()
}

/// Each agent's state: on ElevenLabs and in step (healthy), refused or out of step
/// (unhealthy), or missing there (unreachable).
pub async fn health(services: &Services) -> AppResult<HealthReport> {
    let all = agents::Entity::find()
        .order_by_asc(agents::Column::CreatedAt)
        .all(&services.db)
        .await?;
    let with_own_key: std::collections::HashSet<Uuid> =
        crate::entities::provider_api_key_users::Entity::find()
            .all(&services.db)
            .await?
            .into_iter()
            .map(|a| a.user_id)
            .collect();
    let live = live_ids(services).await;
    let stale = live.is_none();
    let agents = all
        .into_iter()
        .map(|agent| {
            let known = match agent.sync_state {
                SyncState::Synced => (Health::Healthy, None),
                SyncState::Pending => (
                    Health::Unhealthy,
                    Some("a change waits for ElevenLabs".to_string()),
                ),
                SyncState::Deleting => (
                    Health::Unhealthy,
                    Some("being deleted on ElevenLabs".to_string()),
                ),
                SyncState::Failed => (
                    Health::Unhealthy,
                    Some(
                        agent
                            .sync_error
                            .clone()
                            .unwrap_or_else(|| "ElevenLabs refused the last change".into()),
                    ),
                ),
            };
            // Agents of accounts with their own key live in another workspace: their known
            // state is what there is.
            let (health, error) = match (&live, &agent.elevenlabs_agent_id) {
                (_, None) => (
                    Health::Unreachable,
                    Some("not on ElevenLabs yet".to_string()),
                ),
                (Some(ids), Some(id))
                    if !ids.contains(id) && !with_own_key.contains(&agent.user_id) =>
                {
                    (
                        Health::Unreachable,
                        Some("ElevenLabs does not have this agent".to_string()),
                    )
                }
                _ => known,
            };
            AgentHealth {
                agent,
                health,
                error,
            }
        })
        .collect();
    Ok(HealthReport {
        agents,
        checked_at: Utc::now(),
        stale,
    })
}
