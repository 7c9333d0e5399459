//! The Overview screen: KPIs with their change against the previous period, charts per hour
//! or day in the user's time zone, and the latest activity. Everything is read from the
//! hourly counters (`rollups`), so the cost depends on the period's length, not on how many
//! calls the account holds.

pub mod call_analytics;
pub mod period;
pub mod recount;
pub mod rollups;
pub mod screen;

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::{
    entities::{agents, call_rollups, contacts, lead_analytics},
    platform::error::AppResult,
};
pub use period::{Bucket, Granularity, Period, PeriodName};
pub use rollups::Counters;
use rollups::{counters_of, sums};

/// Whose counters a dashboard reads: an owner's, or only one of the owner's agents' (the
/// frontend's `agentId` / `X-Agent-ID`; the caller checks that the agent is the owner's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub owner: Uuid,
    pub agent: Option<Uuid>,
}

impl Scope {
    pub fn owner(owner: Uuid) -> Self {
        Self { owner, agent: None }
    }
}

/// Derived figures of a set of counters.
impl Counters {
    pub fn minutes(&self) -> f64 {
        self.get(call_rollups::Column::DurationSecs) as f64 / 60.0
    }

    /// Share of `part` in `whole` (0 when there is no whole), as a fraction.
    pub fn ratio(&self, part: call_rollups::Column, whole: call_rollups::Column) -> f64 {
        let whole = self.get(whole);
        if whole == 0 {
            0.0
        } else {
            self.get(part) as f64 / whole as f64
        }
    }

    pub fn average_minutes(&self) -> f64 {
        let connected = self.get(call_rollups::Column::Connected);
        if connected == 0 {
            0.0
        } else {
            self.minutes() / connected as f64
        }
    }

    pub fn average_score(&self) -> Option<f64> {
        let scored = self.get(call_rollups::Column::Scored);
        (scored > 0).then(|| self.get(call_rollups::Column::ScoreSum) as f64 / scored as f64)
    }
}

async fn total<C: ConnectionTrait>(
    db: &C,
    scope: Scope,
    period: &Period,
    channel: Option<crate::calls::Channel>,
    columns: &[call_rollups::Column],
) -> AppResult<Counters> {
    let row = db
        .query_one(&sums(
            rollups::between_in(scope, period.from, period.to, channel),
            None,
            columns,
        ))
        .await?;
    row.map_or(Ok(Counters::default()), |r| counters_of(&r, columns))
}

/// The counters of a period and of the one before it, for one channel or both.
pub async fn overview(
    db: &DatabaseConnection,
    scope: Scope,
    period: &Period,
    channel: Option<crate::calls::Channel>,
) -> AppResult<(Counters, Counters)> {
    overview_of(db, scope, period, channel, rollups::COVERED).await
}

/// `overview` for the given counters only.
pub async fn overview_of(
    db: &DatabaseConnection,
    scope: Scope,
    period: &Period,
    channel: Option<crate::calls::Channel>,
    columns: &[call_rollups::Column],
) -> AppResult<(Counters, Counters)> {
    let current = total(db, scope, period, channel, columns).await?;
    let previous = total(db, scope, &period.previous(), channel, columns).await?;
    Ok((current, previous))
}

/// The counters of each hour of a period that had any.
pub async fn per_hour(
    db: &DatabaseConnection,
    scope: Scope,
    period: &Period,
    channel: Option<crate::calls::Channel>,
) -> AppResult<Vec<(chrono::DateTime<chrono::Utc>, Counters)>> {
    let rows = db
        .query_all(&sums(
            rollups::between_in(scope, period.from, period.to, channel),
            Some(call_rollups::Column::Hour),
            rollups::COVERED,
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("", "hour")?,
                counters_of(row, rollups::COVERED)?,
            ))
        })
        .collect()
}

/// How many hours of the period had a call or chat: counted in the database, which returns
/// one number instead of every hour's sums (the "conversations per hour" card).
pub async fn active_hours(
    db: &DatabaseConnection,
    scope: Scope,
    period: &Period,
) -> AppResult<i64> {
    use sea_orm::sea_query::Expr;
    let count: Option<i64> = rollups::between_in(scope, period.from, period.to, None)
        .select_only()
        .expr(Expr::cust("COUNT(DISTINCT hour)"))
        .filter(call_rollups::Column::Calls.gt(0))
        .into_tuple()
        .one(db)
        .await?;
    Ok(count.unwrap_or(0))
}

/// The counters of each bucket of a period, in the order of `period.buckets(granularity)`.
pub async fn series(
    db: &DatabaseConnection,
    scope: Scope,
    period: &Period,
    granularity: Granularity,
    channel: Option<crate::calls::Channel>,
) -> AppResult<Vec<Counters>> {
    let mut series = vec![Counters::default(); period.buckets(granularity).len()];
    for (hour, counters) in per_hour(db, scope, period, channel).await? {
        if let Some(slot) = period
            .bucket_of(granularity, hour)
            .and_then(|i| series.get_mut(i))
        {
            *slot = slot.plus(&counters);
        }
    }
    Ok(series)
}

/// One agent's share of a period.
#[derive(Debug, Clone)]
pub struct AgentCounters {
    /// `None` for calls whose agent is gone or unknown.
    pub agent_id: Option<Uuid>,
    pub name: Option<String>,
    pub counters: Counters,
}

#[derive(Debug, Clone)]
pub struct Analytics {
    pub granularity: Granularity,
    pub series: Vec<(Bucket, Counters)>,
    pub total: Counters,
    /// Busiest first.
    pub agents: Vec<AgentCounters>,
}

pub async fn analytics(
    db: &DatabaseConnection,
    scope: Scope,
    period: &Period,
    granularity: Granularity,
    channel: Option<crate::calls::Channel>,
) -> AppResult<Analytics> {
    let series = series(db, scope, period, granularity, channel).await?;
    let total = series.iter().fold(Counters::default(), |t, c| t.plus(c));
    let buckets = period.buckets(granularity);
    let per_agent = db
        .query_all(&sums(
            rollups::between_in(scope, period.from, period.to, channel),
            Some(call_rollups::Column::AgentId),
            rollups::COVERED,
        ))
        .await?;
    let mut agents = Vec::with_capacity(per_agent.len());
    for row in &per_agent {
        let id = row.try_get::<Uuid>("", "agent_id")?;
        agents.push(AgentCounters {
            agent_id: (!id.is_nil()).then_some(id),
            name: None,
            counters: counters_of(row, rollups::COVERED)?,
        });
    }
    let names: HashMap<Uuid, String> = agents::Entity::find()
        .filter(agents::Column::UserId.eq(scope.owner))
        .filter(agents::Column::Id.is_in(agents.iter().filter_map(|a| a.agent_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    for agent in &mut agents {
        agent.name = agent.agent_id.and_then(|id| names.get(&id).cloned());
    }
    agents.sort_by_key(|a| std::cmp::Reverse(a.counters.get(call_rollups::Column::Calls)));
    Ok(Analytics {
        granularity,
        series: buckets.into_iter().zip(series).collect(),
        total,
        agents,
    })
}

/// How many agents a user has, and in which state.
#[derive(Debug, Clone, Copy, Default)]
pub struct AgentTally {
    pub total: i64,
    pub active: i64,
    pub draft: i64,
}

pub async fn agent_tally(db: &DatabaseConnection, user_id: Uuid) -> AppResult<AgentTally> {
    use crate::entities::agents::AgentStatus;
    let statuses: Vec<AgentStatus> = agents::Entity::find()
        .select_only()
        .column(agents::Column::Status)
        .filter(agents::Column::UserId.eq(user_id))
        .into_tuple()
        .all(db)
        .await?;
    let count = |s: AgentStatus| statuses.iter().filter(|x| **x == s).count() as i64;
    Ok(AgentTally {
        total: statuses.len() as i64,
        active: count(AgentStatus::Active),
        draft: count(AgentStatus::Draft),
    })
}

/// A lead score with the contact it is about, for the activity feed.
#[derive(Debug, Clone)]
pub struct ScoredLead {
    pub lead: lead_analytics::Model,
    pub contact: Option<contacts::Model>,
}

/// The latest lead scores of a user, with their contacts.
pub async fn latest_leads(
    db: &DatabaseConnection,
    user_id: Uuid,
    limit: u64,
) -> AppResult<Vec<ScoredLead>> {
    let leads = lead_analytics::Entity::find()
        .filter(lead_analytics::Column::UserId.eq(user_id))
        .order_by_desc(lead_analytics::Column::CreatedAt)
        .order_by_desc(lead_analytics::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let contacts: HashMap<Uuid, contacts::Model> = contacts::Entity::find()
        .filter(contacts::Column::Id.is_in(leads.iter().filter_map(|l| l.contact_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    Ok(leads
        .into_iter()
        .map(|lead| ScoredLead {
            contact: lead.contact_id.and_then(|id| contacts.get(&id).cloned()),
            lead,
        })
        .collect())
}
