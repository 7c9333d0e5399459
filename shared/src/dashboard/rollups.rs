//! Hourly per-agent counters of finished calls. Each change to a call or its lead score moves
//! the counters by the difference between what the call contributed before and after, in the
//! transaction that makes the change, so the dashboards never drift from the calls themselves
//! and a redelivered event (which changes nothing) moves nothing.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IdenStatic, QueryFilter, QuerySelect, QueryTrait,
    Select,
    sea_query::{Alias, Expr, ExprTrait, OnConflict, Query, SelectStatement, SimpleExpr},
};
use uuid::Uuid;

use crate::{
    entities::calls::CallStatus,
    entities::{
        call_rollups as rollups, calls, lead_analytics, lead_analytics::ScoreStatus,
        platform_rollups as platform,
    },
    platform::error::AppResult,
};

use rollups::Column as C;

/// Every counter column, in the order of `Counters`' slots.
pub const COLUMNS: [C; 43] = [
    C::Calls,
    C::Connected,
    C::Successful,
    C::Failed,
    C::Inbound,
    C::Outbound,
    C::DurationSecs,
    C::Credits,
    C::Scored,
    C::ScoreSum,
    C::Hot,
    C::Warm,
    C::Cold,
    C::OtherTag,
    C::Score0,
    C::Score1,
    C::Score2,
    C::Score3,
    C::Score4,
    C::CtaPricing,
    C::CtaDemo,
    C::CtaFollowup,
    C::CtaSample,
    C::CtaEscalated,
    C::Derived,
    C::WebCalls,
    C::WebConnected,
    C::WebSuccessful,
    C::WebDurationSecs,
    C::WebCredits,
    C::WebScored,
    C::WebHot,
    C::WebDemos,
    C::Demos,
    C::Intent0Budget0,
    C::Intent0Budget1,
    C::Intent0Budget2,
    C::Intent1Budget0,
    C::Intent1Budget1,
    C::Intent1Budget2,
    C::Intent2Budget0,
    C::Intent2Budget1,
    C::Intent2Budget2,
];

/// The lead score ranges the distribution counts (`score0` … `score4`).
/// Lead scores are out of 100; the top two ranges are the screens' Warm and Hot bands.
pub const SCORE_RANGES: [(i32, i32); 5] = [(0, 19), (20, 39), (40, 59), (60, 79), (80, 100)];

/// The CTA flags counted, with their columns.
pub const CTAS: [(&str, C); 5] = [
    ("pricing_clicked", C::CtaPricing),
    ("demo_clicked", C::CtaDemo),
    ("followup_clicked", C::CtaFollowup),
    ("sample_clicked", C::CtaSample),
    ("escalated_to_human", C::CtaEscalated),
];

/// Scored conversations by third of the intent score (rows) and of the budget score.
pub const INTENT_BUDGET: [[C; 3]; 3] = [
    [C::Intent0Budget0, C::Intent0Budget1, C::Intent0Budget2],
    [C::Intent1Budget0, C::Intent1Budget1, C::Intent1Budget2],
    [C::Intent2Budget0, C::Intent2Budget1, C::Intent2Budget2],
];

pub const SCORE_COLUMNS: [C; SCORE_RANGES.len()] =
    [C::Score0, C::Score1, C::Score2, C::Score3, C::Score4];

/// Where a column's value sits in `Counters`.
fn slot(column: C) -> Option<usize> {
    let wanted = std::mem::discriminant(&column);
    COLUMNS
        .iter()
        .position(|c| std::mem::discriminant(c) == wanted)
}

/// Values of the counter columns, indexed like `COLUMNS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters(pub [i64; COLUMNS.len()]);

// Arrays derive `Default` only up to 32 elements.
impl Default for Counters {
    fn default() -> Self {
        Counters([0; COLUMNS.len()])
    }
}

impl Counters {
    pub fn get(&self, column: C) -> i64 {
        slot(column).map_or(0, |i| self.0[i])
    }

    fn add(&mut self, column: C, n: i64) {
        if let Some(i) = slot(column) {
            self.0[i] += n;
        }
    }

    pub fn plus(mut self, other: &Counters) -> Counters {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
        self
    }

    fn minus(mut self, other: &Counters) -> Counters {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a -= b;
        }
        self
    }

    fn is_zero(&self) -> bool {
        self.0.iter().all(|n| *n == 0)
    }

    /// What one call (with its lead score, if any) adds to its hour: only finished calls count.
    pub fn of(call: &calls::Model, lead: Option<&lead_analytics::Model>) -> Counters {
        let mut c = Counters::default();
        let completed = call.status == CallStatus::Completed;
        if !completed && call.status != CallStatus::Failed {
            return c;
        }
        c.add(C::Calls, 1);
        if completed {
            c.add(C::Connected, 1);
            if call.call_successful.as_deref() == Some("success") {
                c.add(C::Successful, 1);
            }
        } else {
            c.add(C::Failed, 1);
        }
        c.add(
            if call.direction == crate::entities::calls::Direction::Inbound {
                C::Inbound
            } else {
                C::Outbound
            },
            1,
        );
        c.add(C::DurationSecs, i64::from(call.duration_secs));
        c.add(C::Credits, call.credits_charged);
        let demo = lead.is_some_and(|l| l.demo_at.is_some());
        if demo {
            c.add(C::Demos, 1);
        }
        // A conversation without a score counts as such (`derived`, the column's old name) and
        // in no score figure.
        if lead.is_some_and(|l| l.score_status != ScoreStatus::Scored) {
            c.add(C::Derived, 1);
        } else if let Some(lead) = lead {
            c.add(C::Scored, 1);
            c.add(C::ScoreSum, i64::from(lead.total_score));
            c.add(
                match lead.lead_status_tag.to_ascii_lowercase().as_str() {
                    "hot" => C::Hot,
                    "warm" => C::Warm,
                    "cold" => C::Cold,
                    _ => C::OtherTag,
                },
                1,
            );
            let bucket = SCORE_RANGES
                .iter()
                .position(|(_, hi)| lead.total_score <= *hi)
                .unwrap_or(SCORE_RANGES.len() - 1);
            c.add(SCORE_COLUMNS[bucket], 1);
            for (flag, column) in CTAS {
                if lead.clicked(flag) {
                    c.add(column, 1);
                }
            }
            // The prompt's three levels land at 33, 67 and 100.
            let third = |score: i32| match score {
                ..=33 => 0,
                34..=66 => 1,
                _ => 2,
            };
            c.add(
                INTENT_BUDGET[third(lead.intent_score)][third(lead.budget_score)],
                1,
            );
        }
        if crate::calls::presentation::source(call)
            == crate::calls::presentation::CallSource::Internet
        {
            c.web_share_of(call, lead, demo);
        }
        c
    }

    /// The web widget's copy of a conversation's figures (phone figures are the totals less
    /// these).
    fn web_share_of(
        &mut self,
        call: &calls::Model,
        lead: Option<&lead_analytics::Model>,
        demo: bool,
    ) {
        self.add(C::WebCalls, 1);
        if call.status == CallStatus::Completed {
            self.add(C::WebConnected, 1);
            if call.call_successful.as_deref() == Some("success") {
                self.add(C::WebSuccessful, 1);
            }
        }
        self.add(C::WebDurationSecs, i64::from(call.duration_secs));
        self.add(C::WebCredits, call.credits_charged);
        if let Some(lead) = lead.filter(|l| l.score_status == ScoreStatus::Scored) {
            self.add(C::WebScored, 1);
            if lead.lead_status_tag.eq_ignore_ascii_case("hot") {
                self.add(C::WebHot, 1);
            }
        }
        if demo {
            self.add(C::WebDemos, 1);
        }
    }
}

/// The hour a call is counted in.
pub fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at)
}

/// Where a call is counted: its owner, its creation hour, its agent (nil for none).
pub fn key_of(call: &calls::Model) -> Key {
    (
        call.user_id,
        hour_of(call.created_at),
        call.agent_id.unwrap_or(Uuid::nil()),
    )
}

/// A call (with its lead score, if any) as the counters see it.
pub type Counted<'a> = (&'a calls::Model, Option<&'a lead_analytics::Model>);

/// Moves the counters from what `before` contributed to what `after` contributes, in the
/// caller's transaction. One upsert per key touched (none when nothing changed).
pub async fn shift<C2: ConnectionTrait>(
    txn: &C2,
    before: Option<Counted<'_>>,
    after: Counted<'_>,
) -> AppResult<()> {
    shift_many(txn, &[(before, after)]).await
}

/// `shift` for several calls in one upsert. Keys are written in order, so transactions
/// shifting overlapping sets of hours lock their rows in the same order.
pub async fn shift_many<C2: ConnectionTrait>(
    txn: &C2,
    moves: &[(Option<Counted<'_>>, Counted<'_>)],
) -> AppResult<()> {
    let mut deltas: std::collections::BTreeMap<Key, Counters> = Default::default();
    let mut add_to = |key: Key, delta: Counters| {
        let entry = deltas.entry(key).or_default();
        *entry = entry.plus(&delta);
    };
    for (before, (call, lead)) in moves {
        add_to(key_of(call), Counters::of(call, *lead));
        if let Some((call, lead)) = before {
            add_to(
                key_of(call),
                Counters::default().minus(&Counters::of(call, *lead)),
            );
        }
    }
    let deltas: Vec<(Key, Counters)> = deltas.into_iter().filter(|(_, d)| !d.is_zero()).collect();
    if deltas.is_empty() {
        return Ok(());
    }
    add_many(txn, &deltas).await
}

/// A counter row's key: its owner, its hour, its agent (nil for none).
pub type Key = (Uuid, DateTime<Utc>, Uuid);

/// What `upsert` does to a key that already has counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// Adds the values to them (a change to calls).
    Add,
    /// Replaces them (a recount, under a lock that keeps writers out).
    Replace,
}

/// Adds each delta to its key's counters, and to the platform's, in one statement each.
async fn add_many<C2: ConnectionTrait>(txn: &C2, deltas: &[(Key, Counters)]) -> AppResult<()> {
    upsert(txn, deltas, Merge::Add).await?;
    add_platform(txn, deltas.iter().map(|(key, delta)| (key, delta))).await
}

/// Writes each key's counters in one statement (`merge` says how they meet stored ones).
pub(super) async fn upsert<C2: ConnectionTrait>(
    txn: &C2,
    rows: &[(Key, Counters)],
    merge: Merge,
) -> AppResult<()> {
    let mut columns = vec![C::UserId, C::Hour, C::AgentId];
    columns.extend(COLUMNS);
    let mut on_conflict = OnConflict::columns([C::UserId, C::Hour, C::AgentId]);
    for column in COLUMNS {
        let incoming = Expr::col((Alias::new("excluded"), column));
        on_conflict.value(
            column,
            match merge {
                Merge::Add => Expr::col((rollups::Entity, column)).add(incoming),
                Merge::Replace => incoming,
            },
        );
    }
    let mut insert = Query::insert();
    insert.into_table(rollups::Entity).columns(columns);
    for ((user_id, hour, agent_id), counters) in rows {
        let mut values: Vec<SimpleExpr> =
            vec![(*user_id).into(), (*hour).into(), (*agent_id).into()];
        values.extend(counters.0.iter().map(|n| Expr::val(*n)));
        insert.values_panic(values);
    }
    insert.on_conflict(on_conflict);
    txn.execute(&insert).await?;
    Ok(())
}

/// Shards a platform day is split over (by account), so concurrent writers rarely share a row.
const PLATFORM_SHARDS: u8 = 8;

/// The platform counters (`platform_rollups`): what the admin KPIs sum.
const PLATFORM: [(C, platform::Column); 4] = [
    (C::Calls, platform::Column::Calls),
    (C::Successful, platform::Column::Successful),
    (C::DurationSecs, platform::Column::DurationSecs),
    (C::Credits, platform::Column::Credits),
];

/// Adds the deltas to the platform's daily counters, after the accounts' (so every writer
/// locks rows in the same order: its accounts' hours, then the platform's days).
pub(super) async fn add_platform<'a, C2: ConnectionTrait>(
    txn: &C2,
    deltas: impl IntoIterator<Item = (&'a Key, &'a Counters)>,
) -> AppResult<()> {
    let mut days: std::collections::BTreeMap<(DateTime<Utc>, i16), [i64; 4]> = Default::default();
    for ((user_id, hour, _), delta) in deltas {
        let day = hour.duration_trunc(TimeDelta::days(1)).unwrap_or(*hour);
        let shard = i16::from(user_id.as_bytes()[15] % PLATFORM_SHARDS);
        let sums = days.entry((day, shard)).or_default();
        for (slot, (column, _)) in PLATFORM.iter().enumerate() {
            sums[slot] += delta.get(*column);
        }
    }
    days.retain(|_, sums| sums.iter().any(|n| *n != 0));
    if days.is_empty() {
        return Ok(());
    }
    let mut columns = vec![platform::Column::Day, platform::Column::Shard];
    columns.extend(PLATFORM.iter().map(|(_, p)| *p));
    let mut on_conflict = OnConflict::columns([platform::Column::Day, platform::Column::Shard]);
    for (_, column) in PLATFORM {
        on_conflict.value(
            column,
            Expr::col((platform::Entity, column)).add(Expr::col((Alias::new("excluded"), column))),
        );
    }
    let mut insert = Query::insert();
    insert.into_table(platform::Entity).columns(columns);
    for ((day, shard), sums) in days {
        let mut values: Vec<SimpleExpr> = vec![day.into(), shard.into()];
        values.extend(sums.iter().map(|n| Expr::val(*n)));
        insert.values_panic(values);
    }
    insert.on_conflict(on_conflict);
    txn.execute(&insert).await?;
    Ok(())
}

/// The counters PostgreSQL's covering index holds (`idx_call_rollups_covering`): what the
/// Overview reads, answered from the index alone. An index takes at most 32 columns, so the
/// call analytics' own counters (the rest of `COLUMNS`) are read from the table.
pub const COVERED: &[C] = COLUMNS.split_at(25).0;

/// The sums of `columns` over a selection of rollup rows, grouped by `group` if given.
pub fn sums(select: Select<rollups::Entity>, group: Option<C>, columns: &[C]) -> SelectStatement {
    let mut q = select.select_only();
    if let Some(group) = group {
        q = q.column(group).group_by(group);
    }
    for column in columns {
        q = q.column_as(
            Expr::cust(format!(
                "CAST(COALESCE(SUM({}), 0) AS BIGINT)",
                column.as_str()
            )),
            column.as_str(),
        );
    }
    QueryTrait::into_query(q)
}

/// Reads the counters of `columns` out of a row of `sums` (the others are 0).
pub fn counters_of(row: &sea_orm::QueryResult, columns: &[C]) -> AppResult<Counters> {
    let mut c = Counters::default();
    for column in columns {
        c.add(*column, row.try_get::<i64>("", column.as_str())?);
    }
    Ok(c)
}

/// A user's rollup rows between two instants (hours starting in `[from, to)`).
pub fn between(user_id: Uuid, from: DateTime<Utc>, to: DateTime<Utc>) -> Select<rollups::Entity> {
    rollups::Entity::find()
        .filter(C::UserId.eq(user_id))
        .filter(C::Hour.gte(from))
        .filter(C::Hour.lt(to))
}

/// `between` for a dashboard's scope (the owner, or one of the owner's agents), for one channel
/// (`call` or `chat`) when given. Counters are kept per agent and an agent's type never
/// changes, so a channel is the set of the user's agents of that type (calls without an agent
/// are calls).
pub fn between_in(
    scope: super::Scope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    channel: Option<crate::entities::calls::Channel>,
) -> Select<rollups::Entity> {
    let user_id = scope.owner;
    let mut select = between(user_id, from, to);
    if let Some(agent) = scope.agent {
        select = select.filter(C::AgentId.eq(agent));
    }
    let Some(channel) = channel else {
        return select;
    };
    let chat_agents = Query::select()
        .column(crate::entities::agents::Column::Id)
        .from(crate::entities::agents::Entity)
        .and_where(Expr::col(crate::entities::agents::Column::UserId).eq(user_id))
        .and_where(
            Expr::col(crate::entities::agents::Column::Kind)
                .eq(crate::entities::calls::Channel::Chat),
        )
        .to_owned();
    if channel == crate::entities::calls::Channel::Chat {
        select.filter(C::AgentId.in_subquery(chat_agents))
    } else {
        select.filter(C::AgentId.not_in_subquery(chat_agents))
    }
}
