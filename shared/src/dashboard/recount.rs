//! Recomputing the dashboard counters from the calls and lead scores (after a restore, or on a
//! database that had calls before the counters existed): `api rebuild-counters`, and start-up
//! when the counters are missing.
//!
//! The cost is linear in the calls: one unordered pass over calls ⋈ lead scores (sequential
//! scans and a hash join, where reading in id order had made every row a random heap visit), one
//! pass over the counters as they stand, and writes only for the counters that differ — in key
//! order, so each lands beside the previous one in the indexes. Recounting counters that are
//! already right writes nothing. Memory holds one row of counters per (user, hour, agent) that
//! has calls, about 400 bytes each.

use std::collections::HashMap;

use futures::TryStreamExt;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, JoinType,
    QueryFilter, QuerySelect, StreamTrait,
    sea_query::{Expr, ExprTrait, Query},
};

use super::rollups::{self, COLUMNS, Counters, Key, Merge};
use crate::{
    entities::{
        call_rollups, calls, calls::CallStatus, lead_analytics, platform_rollups as platform,
    },
    platform::error::AppResult,
};

/// What a recount found and changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recount {
    /// Finished calls counted.
    pub calls: u64,
    /// Counter rows (user, hour, agent) the calls add up to.
    pub keys: u64,
    /// Counter rows written because they were missing or wrong.
    pub written: u64,
    /// Counter rows removed because no call is counted in them any more.
    pub removed: u64,
}

/// Keys written or removed per statement: 500 rows of 46 values stay under SQLite's limit of
/// 32,766 bound values.
const CHUNK: usize = 500;

/// Recounts every user's counters in one transaction that first locks the counters against
/// writers (readers keep reading the previous counters until it commits): a post-call job that
/// changed a call meanwhile waits, then adds its difference to the recounted figures, so nothing
/// is lost or counted twice.
pub async fn rebuild(db: &DatabaseConnection) -> AppResult<Recount> {
    let txn = crate::platform::db::begin_write(db).await?;
    if ConnectionTrait::get_database_backend(&txn) == DatabaseBackend::Postgres {
        txn.execute_unprepared(
            "LOCK TABLE call_rollups, platform_rollups IN SHARE ROW EXCLUSIVE MODE",
        )
        .await?;
    }
    let mut recount = Recount::default();
    let mut totals: HashMap<Key, Counters> = HashMap::new();
    let mut finished = calls::Entity::find()
        .filter(calls::Column::Status.is_in([CallStatus::Completed, CallStatus::Failed]))
        .join_rev(JoinType::LeftJoin, lead_of_call())
        .select_also(lead_analytics::Entity)
        .stream(&txn)
        .await?;
    while let Some((call, lead)) = finished.try_next().await? {
        let entry = totals.entry(rollups::key_of(&call)).or_default();
        *entry = entry.plus(&Counters::of(&call, lead.as_ref()));
        recount.calls += 1;
    }
    drop(finished);
    recount.keys = totals.len() as u64;
    // The platform's daily figures are a few rows a day: rewritten whole from the totals,
    // before the diff below takes the right ones out (the lock keeps writers out of both
    // tables, so their order does not matter here).
    platform::Entity::delete_many().exec(&txn).await?;
    rollups::add_platform(&txn, &totals).await?;

    // What is stored and right is left alone; what is stored for a key without calls goes.
    let mut stale: Vec<Key> = Vec::new();
    {
        let stored = Query::select()
            .columns([
                call_rollups::Column::UserId,
                call_rollups::Column::Hour,
                call_rollups::Column::AgentId,
            ])
            .columns(COLUMNS)
            .from(call_rollups::Entity)
            .to_owned();
        let mut rows = txn.stream(&stored).await?;
        while let Some(row) = rows.try_next().await? {
            let key: Key = (
                row.try_get("", "user_id")?,
                row.try_get("", "hour")?,
                row.try_get("", "agent_id")?,
            );
            let counters = rollups::counters_of(&row, &COLUMNS)?;
            match totals.get(&key) {
                Some(right) if *right == counters => {
                    totals.remove(&key);
                }
                Some(_) => {}
                None => stale.push(key),
            }
        }
    }
    stale.sort_unstable();
    for chunk in stale.chunks(CHUNK) {
        remove(&txn, chunk).await?;
    }
    recount.removed = stale.len() as u64;

    let mut wrong: Vec<(Key, Counters)> = totals.into_iter().collect();
    wrong.sort_unstable_by_key(|(key, _)| *key);
    for chunk in wrong.chunks(CHUNK) {
        rollups::upsert(&txn, chunk, Merge::Replace).await?;
    }
    recount.written = wrong.len() as u64;

    txn.commit().await?;
    Ok(recount)
}

/// `calls LEFT JOIN lead_analytics ON lead_analytics.call_id = calls.id` (the entities declare
/// no relation: nothing else joins them this way).
fn lead_of_call() -> sea_orm::RelationDef {
    lead_analytics::Entity::belongs_to(calls::Entity)
        .from(lead_analytics::Column::CallId)
        .to(calls::Column::Id)
        .into()
}

/// Removes the counter rows of `keys`.
async fn remove<C2: ConnectionTrait>(txn: &C2, keys: &[Key]) -> AppResult<()> {
    let delete = Query::delete()
        .from_table(call_rollups::Entity)
        .and_where(
            Expr::tuple([
                Expr::col(call_rollups::Column::UserId),
                Expr::col(call_rollups::Column::Hour),
                Expr::col(call_rollups::Column::AgentId),
            ])
            .in_tuples(keys.iter().map(|(user, hour, agent)| {
                sea_orm::sea_query::ValueTuple::Three(
                    (*user).into(),
                    (*hour).into(),
                    (*agent).into(),
                )
            })),
        )
        .to_owned();
    txn.execute(&delete).await?;
    Ok(())
}

/// Whether the counters are missing while calls exist (a database upgraded from before them,
/// or from before the platform's counters).
pub async fn needs_rebuild(db: &DatabaseConnection) -> AppResult<bool> {
    let any_rollup = call_rollups::Entity::find()
        .limit(1)
        .one(db)
        .await?
        .is_some();
    if any_rollup {
        let any_platform = platform::Entity::find().limit(1).one(db).await?.is_some();
        return Ok(!any_platform);
    }
    Ok(calls::Entity::find()
        .filter(calls::Column::Status.is_in([CallStatus::Completed, CallStatus::Failed]))
        .limit(1)
        .one(db)
        .await?
        .is_some())
}

impl Recount {
    /// One line for logs and the command line.
    pub fn summary(&self, secs: f64) -> String {
        format!(
            "{} finished calls in {secs:.1} s ({:.0} calls/s): {} counter rows, {} written, {} removed",
            self.calls,
            self.calls as f64 / secs.max(0.001),
            self.keys,
            self.written,
            self.removed
        )
    }
}
