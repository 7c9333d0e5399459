//! How far campaigns have got: counts of their numbers by state and outcome (the list's
//! progress and success rate), and a campaign's analytics from its calls.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, JoinType, QueryFilter,
    QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    entities::{
        calls,
        campaign_targets::{self as targets, TargetOutcome, TargetState},
        dial_attempts,
    },
    platform::error::AppResult,
};

/// A campaign's numbers by where they stand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub total: u64,
    /// Waiting and due now.
    pub due: u64,
    /// Waiting for their window (or a retry's delay).
    pub waiting: u64,
    /// An attempt claimed or a call in flight.
    pub dialing: u64,
    /// Reached an end, by outcome.
    pub completed: u64,
    pub busy: u64,
    pub no_answer: u64,
    pub failed: u64,
    pub do_not_call: u64,
    pub not_called: u64,
}

impl Progress {
    /// Numbers whose last attempt did not connect and that will not be tried again.
    pub fn unsuccessful(&self) -> u64 {
        self.busy + self.no_answer + self.failed
    }

    /// Numbers still to be dialled (now or later).
    pub fn pending(&self) -> u64 {
        self.due + self.waiting
    }
}

#[derive(Debug, FromQueryResult)]
struct Count {
    campaign_id: Uuid,
    state: TargetState,
    outcome: Option<TargetOutcome>,
    n: i64,
    /// Of those, due later than now.
    later: i64,
}

/// The progress of each of `campaigns`.
pub async fn of(db: &DatabaseConnection, campaigns: &[Uuid]) -> AppResult<HashMap<Uuid, Progress>> {
    let mut out: HashMap<Uuid, Progress> = campaigns
        .iter()
        .map(|id| (*id, Progress::default()))
        .collect();
    if campaigns.is_empty() {
        return Ok(out);
    }
    let later = Expr::case(Expr::col(targets::Column::NextAttemptAt).gt(Utc::now()), 1).finally(0);
    let counts = targets::Entity::find()
        .select_only()
        .column(targets::Column::CampaignId)
        .column(targets::Column::State)
        .column(targets::Column::Outcome)
        .column_as(Expr::col(targets::Column::Id).count(), "n")
        .column_as(Expr::expr(later).sum().cast_as("bigint"), "later")
        .filter(targets::Column::CampaignId.is_in(campaigns.iter().copied()))
        .group_by(targets::Column::CampaignId)
        .group_by(targets::Column::State)
        .group_by(targets::Column::Outcome)
        .into_model::<Count>()
        .all(db)
        .await?;
    for c in counts {
        let p = out.entry(c.campaign_id).or_default();
        let n = c.n as u64;
        p.total += n;
        match (c.state, c.outcome) {
            (TargetState::Queued, _) => {
                let later = std::cmp::Ord::min(u64::try_from(c.later).unwrap_or(0), n);
                p.waiting += later;
                p.due += n - later;
            }
            (TargetState::Dialing, _) => p.dialing += n,
            (TargetState::Done, Some(TargetOutcome::Completed)) => p.completed += n,
            (TargetState::Done, Some(TargetOutcome::Busy)) => p.busy += n,
            (TargetState::Done, Some(TargetOutcome::NoAnswer)) => p.no_answer += n,
            (TargetState::Done, Some(TargetOutcome::DoNotCall)) => p.do_not_call += n,
            (TargetState::Done, Some(TargetOutcome::NotCalled)) => p.not_called += n,
            (TargetState::Done, Some(TargetOutcome::Failed) | None) => p.failed += n,
        }
    }
    Ok(out)
}

/// What a campaign's calls added up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallTotals {
    /// Dials made (every attempt).
    pub attempts: u64,
    /// Calls that connected.
    pub connected: u64,
    /// Connected calls the agent judged successful.
    pub successful: u64,
    pub duration_secs: i64,
    pub credits: i64,
    /// Lead tags of the scored calls (`Hot`, `Warm`, `Cold`, …).
    pub tags: Vec<(String, u64)>,
}

#[derive(Debug, FromQueryResult)]
struct Call {
    status: calls::CallStatus,
    call_successful: Option<String>,
    duration_secs: i32,
    credits_charged: i64,
    lead_tag: Option<String>,
}

/// The campaign's calls, summed (at most `MAX_TARGETS` × attempts rows).
pub async fn calls_of(db: &DatabaseConnection, campaign_id: Uuid) -> AppResult<CallTotals> {
    let rows = dial_attempts::Entity::find()
        .select_only()
        .column(calls::Column::Status)
        .column(calls::Column::CallSuccessful)
        .column(calls::Column::DurationSecs)
        .column(calls::Column::CreditsCharged)
        .column(calls::Column::LeadTag)
        .join(JoinType::InnerJoin, attempt_call())
        .filter(dial_attempts::Column::CampaignId.eq(campaign_id))
        .into_model::<Call>()
        .all(db)
        .await?;
    let mut totals = CallTotals {
        attempts: rows.len() as u64,
        ..Default::default()
    };
    let mut tags: HashMap<String, u64> = HashMap::new();
    for call in rows {
        if call.status == calls::CallStatus::Completed {
            totals.connected += 1;
            if call.call_successful.as_deref() == Some("success") {
                totals.successful += 1;
            }
        }
        totals.duration_secs += i64::from(call.duration_secs);
        totals.credits += call.credits_charged;
        if let Some(tag) = call.lead_tag {
            *tags.entry(tag).or_default() += 1;
        }
    }
    let mut tags: Vec<(String, u64)> = tags.into_iter().collect();
    tags.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    totals.tags = tags;
    Ok(totals)
}

/// `dial_attempts JOIN calls ON calls.id = dial_attempts.call_id`.
fn attempt_call() -> sea_orm::RelationDef {
    dial_attempts::Entity::belongs_to(calls::Entity)
        .from(dial_attempts::Column::CallId)
        .to(calls::Column::Id)
        .into()
}
