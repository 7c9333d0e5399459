//! What a finished campaign call does to its number: a connected call ends it; busy, no answer
//! and failed calls queue it again after the campaign's delay until its attempts run out. Run
//! by the call lifecycle in the transaction that finishes the call, so a redelivered webhook
//! (which finishes nothing) moves nothing.

use chrono::{TimeDelta, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};

use crate::{
    entities::{
        calls::{self, CallStatus},
        campaign_targets::{self as targets, TargetOutcome, TargetState},
        campaigns::{self, CampaignStatus},
        dial_attempts::{self, AttemptState},
    },
    platform::error::AppResult,
};

/// How a finished call ended, in a campaign's words.
pub fn of_call(call: &calls::Model) -> TargetOutcome {
    if call.status == CallStatus::Completed {
        return TargetOutcome::Completed;
    }
    let reason = call
        .failure_reason
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match reason.replace(['-', ' '], "_").as_str() {
        "busy" => TargetOutcome::Busy,
        "no_answer" | "noanswer" => TargetOutcome::NoAnswer,
        _ => TargetOutcome::Failed,
    }
}

/// Records the end of every campaign dial among `finished` (other calls are left alone).
pub async fn calls_ended<C: ConnectionTrait>(txn: &C, finished: &[&calls::Model]) -> AppResult<()> {
    if finished.is_empty() {
        return Ok(());
    }
    let attempts = dial_attempts::Entity::find()
        .filter(dial_attempts::Column::CallId.is_in(finished.iter().map(|c| c.id)))
        .filter(dial_attempts::Column::State.ne(AttemptState::Ended))
        .all(txn)
        .await?;
    let now = Utc::now();
    for attempt in attempts {
        let Some(call) = finished.iter().find(|c| c.id == attempt.call_id) else {
            continue;
        };
        let outcome = of_call(call);
        let mut ended: dial_attempts::ActiveModel = attempt.clone().into();
        ended.state = Set(AttemptState::Ended);
        ended.outcome = Set(Some(outcome));
        ended.updated_at = Set(now);
        ended.update(txn).await?;

        let Some(target) = targets::Entity::find_by_id(attempt.target_id)
            .one(txn)
            .await?
        else {
            continue;
        };
        // Only the number's current dial moves it (an older attempt reported late does not).
        if target.state != TargetState::Dialing || target.last_call_id != Some(call.id) {
            continue;
        }
        let campaign = campaigns::Entity::find_by_id(target.campaign_id)
            .one(txn)
            .await?;
        let retry = campaign.as_ref().filter(|c| {
            outcome != TargetOutcome::Completed
                && target.attempts < c.max_attempts
                && !matches!(
                    c.status,
                    CampaignStatus::Cancelled | CampaignStatus::Completed
                )
        });
        let mut row: targets::ActiveModel = target.into();
        match retry {
            Some(c) => {
                row.state = Set(TargetState::Queued);
                row.outcome = Set(Some(outcome));
                row.next_attempt_at = Set(Some(
                    now + TimeDelta::seconds(i64::from(c.retry_delay_secs)),
                ));
            }
            None => {
                row.state = Set(TargetState::Done);
                row.outcome = Set(Some(outcome));
                row.next_attempt_at = Set(None);
            }
        }
        row.updated_at = Set(now);
        row.update(txn).await?;
    }
    Ok(())
}
