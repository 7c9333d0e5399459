//! What the admin's Users screen shows beside each account: agents, calls, credits spent on
//! them, success rate and average length. Calls come from the hourly counters the post-call job
//! keeps (`call_rollups`), so a page of users costs two grouped queries however many calls
//! they made.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    agents::AgentStatus,
    entities::{agents, call_rollups as rollups},
    platform::error::AppResult,
};

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UserFigures {
    pub agents: i64,
    pub calls: i64,
    pub successful: i64,
    pub duration_secs: i64,
    /// Credits spent on calls and chats.
    pub credits_used: i64,
}

impl UserFigures {
    /// Successful calls as a percentage of all calls, one decimal (0 without calls).
    pub fn success_rate(&self) -> f64 {
        if self.calls == 0 {
            return 0.0;
        }
        (self.successful as f64 * 1000.0 / self.calls as f64).round() / 10.0
    }

    /// Average call length in whole seconds (0 without calls).
    pub fn average_duration_secs(&self) -> i64 {
        if self.calls == 0 {
            0
        } else {
            self.duration_secs / self.calls
        }
    }
}

use super::analytics::sum;

/// The figures of each of `ids` (users without agents or calls get zeros).
pub async fn of_users(
    db: &DatabaseConnection,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, UserFigures>> {
    let mut out: HashMap<Uuid, UserFigures> =
        ids.iter().map(|id| (*id, UserFigures::default())).collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let agent_counts: Vec<(Uuid, i64)> = agents::Entity::find()
        .select_only()
        .column(agents::Column::UserId)
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
        .filter(agents::Column::UserId.is_in(ids.iter().copied()))
        .group_by(agents::Column::UserId)
        .into_tuple()
        .all(db)
        .await?;
    for (user, n) in agent_counts {
        out.entry(user).or_default().agents = n;
    }
    let calls: Vec<(Uuid, i64, i64, i64, i64)> = rollups::Entity::find()
        .select_only()
        .column(rollups::Column::UserId)
        .column_as(sum("calls"), "calls")
        .column_as(sum("successful"), "successful")
        .column_as(sum("duration_secs"), "duration_secs")
        .column_as(sum("credits"), "credits")
        .filter(rollups::Column::UserId.is_in(ids.iter().copied()))
        .group_by(rollups::Column::UserId)
        .into_tuple()
        .all(db)
        .await?;
    for (user, calls, successful, duration_secs, credits_used) in calls {
        let f = out.entry(user).or_default();
        f.calls = calls;
        f.successful = successful;
        f.duration_secs = duration_secs;
        f.credits_used = credits_used;
    }
    Ok(out)
}

/// One of a user's agents with its use.
#[derive(Debug, Clone)]
pub struct AgentUse {
    pub agent: agents::Model,
    pub calls: i64,
    /// The hour of its latest call (the counters keep hours).
    pub last_used: Option<DateTime<Utc>>,
}

/// How many agents the detail lists: an account with more shows its newest.
pub const AGENTS_SHOWN: u64 = 50;

/// The user's agents, newest first, with their call counts.
pub async fn agents_of(db: &DatabaseConnection, user: Uuid) -> AppResult<Vec<AgentUse>> {
    let rows = agents::Entity::find()
        .filter(agents::Column::UserId.eq(user))
        .order_by_desc(agents::Column::CreatedAt)
        .limit(AGENTS_SHOWN)
        .all(db)
        .await?;
    let used: Vec<(Uuid, i64, Option<DateTime<Utc>>)> = rollups::Entity::find()
        .select_only()
        .column(rollups::Column::AgentId)
        .column_as(sum("calls"), "calls")
        .column_as(Expr::col(rollups::Column::Hour).max(), "last")
        .filter(rollups::Column::UserId.eq(user))
        .filter(rollups::Column::AgentId.is_in(rows.iter().map(|a| a.id)))
        .filter(rollups::Column::Calls.gt(0))
        .group_by(rollups::Column::AgentId)
        .into_tuple()
        .all(db)
        .await?;
    let used: HashMap<Uuid, (i64, Option<DateTime<Utc>>)> = used
        .into_iter()
        .map(|(id, n, last)| (id, (n, last)))
        .collect();
    Ok(rows
        .into_iter()
        .map(|agent| {
            let (calls, last_used) = used.get(&agent.id).copied().unwrap_or_default();
            AgentUse {
                agent,
                calls,
                last_used,
            }
        })
        .collect())
}

/// Whether an agent takes calls (the detail's `active`/`inactive` badge).
pub fn is_active(agent: &agents::Model) -> bool {
    agent.status == AgentStatus::Active
}
