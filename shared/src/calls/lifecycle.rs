//! A call's lifecycle: `initiated` (we asked ElevenLabs to dial) or `in_progress` (first seen
//! in a webhook), then `completed` or `failed`, never back. Every change of status is made
//! here: it writes the row, moves the dashboard counters by what the call contributed before
//! and after, in the caller's transaction, and returns the live event that announces it for
//! the caller's `AfterCommit`. A finished call counts in the dashboards; one that is not yet
//! finished counts nothing, so only finishing moves the counters.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set, sea_query::OnConflict};
use serde_json::json;

use crate::{
    Services,
    dashboard::rollups::{self, Counted},
    entities::calls::{self, CallStatus},
    platform::after_commit::AfterCommit,
    platform::error::AppResult,
    platform::live::{LiveEvent, LiveKind},
};

/// Whether a call has reached the end of its lifecycle.
pub fn is_finished(call: &calls::Model) -> bool {
    matches!(call.status, CallStatus::Completed | CallStatus::Failed)
}

/// Marks a call failed with its reason; `None` (and nothing written) when it had already
/// finished, so a late or repeated failure report cannot undo a completion or count twice.
pub async fn fail<C: ConnectionTrait>(
    txn: &C,
    call: calls::Model,
    reason: impl Into<String>,
) -> AppResult<Option<(calls::Model, LiveEvent)>> {
    if is_finished(&call) {
        return Ok(None);
    }
    let reason = reason.into();
    let before = call.clone();
    let now = Utc::now();
    let mut active: calls::ActiveModel = call.into();
    active.status = Set(CallStatus::Failed);
    active.failure_reason = Set(Some(reason.clone()));
    active.completed_at = Set(Some(now));
    active.updated_at = Set(now);
    let failed = active.update(txn).await?;
    rollups::shift(txn, Some((&before, None)), (&failed, None)).await?;
    crate::campaigns::outcome::calls_ended(txn, &[&failed]).await?;
    let event = LiveEvent::new(
        failed.user_id,
        LiveKind::CallFailed,
        json!({
            "call_id": failed.id,
            "conversation_id": failed.elevenlabs_conversation_id,
            "failure_reason": reason,
        }),
    );
    Ok(Some((failed, event)))
}

/// `fail` in a transaction of its own, its event published once committed.
pub async fn fail_alone(
    services: &Services,
    call: calls::Model,
    reason: impl Into<String>,
) -> AppResult<()> {
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let failed = fail(&txn, call, reason).await?;
    let mut after = AfterCommit::new();
    after.publish(failed.map(|(_, event)| event));
    after.commit(services, txn).await
}

/// Completes calls in one upsert by conversation (a call first seen now is created; one the
/// recording created meanwhile keeps its id and recording). Returns the calls as written, by
/// conversation. Their counters move in `count_completions`, once their lead scores exist.
pub async fn complete_many<C: ConnectionTrait>(
    txn: &C,
    calls_: Vec<calls::Model>,
) -> AppResult<HashMap<String, calls::Model>> {
    let mut written = HashMap::new();
    if calls_.is_empty() {
        return Ok(written);
    }
    let now = Utc::now();
    let rows: Vec<calls::ActiveModel> = calls_
        .into_iter()
        .map(|mut call| {
            call.status = CallStatus::Completed;
            call.completed_at = Some(now);
            call.updated_at = now;
            calls::ActiveModel::from(call)
        })
        .collect();
    use calls::Column as C;
    let completed = calls::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(C::ElevenlabsConversationId)
                .update_columns([
                    C::Status,
                    C::DurationSecs,
                    C::CreditsCharged,
                    C::Summary,
                    C::SummaryTitle,
                    C::CallSuccessful,
                    C::ContactId,
                    C::Direction,
                    C::PhoneNumber,
                    C::StartedAt,
                    C::Metadata,
                    C::TranscriptText,
                    C::LeadScore,
                    C::LeadTag,
                    C::CompletedAt,
                    C::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_with_returning(txn)
        .await?;
    crate::campaigns::outcome::calls_ended(txn, &completed.iter().collect::<Vec<_>>()).await?;
    for call in completed {
        if let Some(conversation) = call.elevenlabs_conversation_id.clone() {
            written.insert(conversation, call);
        }
    }
    Ok(written)
}

/// Moves the counters for calls `complete_many` wrote (each from what it counted before, with
/// its lead score then and now) and returns their `call_completed` events, in order.
pub async fn count_completions<C: ConnectionTrait>(
    txn: &C,
    moves: &[(Option<Counted<'_>>, Counted<'_>)],
) -> AppResult<Vec<LiveEvent>> {
    rollups::shift_many(txn, moves).await?;
    Ok(moves
        .iter()
        .map(|(_, (call, _))| {
            LiveEvent::new(
                call.user_id,
                LiveKind::CallCompleted,
                json!({
                    "call_id": call.id,
                    "channel": call.channel,
                    "conversation_id": call.elevenlabs_conversation_id,
                    "agent_id": call.agent_id,
                    "contact_id": call.contact_id,
                    "status": call.status,
                    "duration_secs": call.duration_secs,
                    "credits_charged": call.credits_charged,
                    "summary_title": call.summary_title,
                }),
            )
        })
        .collect())
}
