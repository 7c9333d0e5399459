//! A dial's conversation, recorded once from whichever word arrives first: ElevenLabs' answer to
//! the dial, the recovery's lookup after a worker died mid-dial, or a post-call report that came
//! before either (a short call, or a dialer that died with the answer in flight). Each dial
//! carries its attempt's id as the dynamic variable `switchboard_dial_id`, which ElevenLabs
//! returns with the conversation.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    Services,
    agents::elevenlabs::{ElevenLabs, Retry},
    entities::{
        agents,
        calls::{self, CallStatus},
        campaign_targets as targets,
        dial_attempts::{self, AttemptState},
    },
    platform::error::AppResult,
};

/// The dynamic variable a campaign dial carries.
pub const DIAL_VARIABLE: &str = "switchboard_dial_id";

/// The dial id in a conversation's (or a post-call event's `data`) client data.
pub fn dial_id_in(conversation: &Value) -> Option<Uuid> {
    conversation
        .pointer("/conversation_initiation_client_data/dynamic_variables")?
        .get(DIAL_VARIABLE)?
        .as_str()?
        .parse()
        .ok()
}

/// Records that the attempt's dial is `conversation`: on the call row (if it has none yet) and
/// on the attempt (if it is still only claimed).
pub(crate) async fn record_placed<C: ConnectionTrait>(
    txn: &C,
    attempt_id: Uuid,
    call_id: Uuid,
    conversation: &str,
) -> AppResult<()> {
    let now = chrono::Utc::now();
    calls::Entity::update_many()
        .col_expr(
            calls::Column::ElevenlabsConversationId,
            Expr::value(conversation),
        )
        .col_expr(calls::Column::UpdatedAt, Expr::value(now))
        .filter(calls::Column::Id.eq(call_id))
        .filter(calls::Column::ElevenlabsConversationId.is_null())
        .exec(txn)
        .await?;
    attempt_placed(txn, attempt_id, call_id, conversation).await
}

/// The attempt, still only claimed, is placed as `conversation` of call `call_id`.
async fn attempt_placed<C: ConnectionTrait>(
    txn: &C,
    attempt_id: Uuid,
    call_id: Uuid,
    conversation: &str,
) -> AppResult<()> {
    dial_attempts::Entity::update_many()
        .col_expr(dial_attempts::Column::CallId, Expr::value(call_id))
        .col_expr(
            dial_attempts::Column::State,
            Expr::value(AttemptState::Placed),
        )
        .col_expr(
            dial_attempts::Column::ConversationId,
            Expr::value(conversation),
        )
        .col_expr(
            dial_attempts::Column::UpdatedAt,
            Expr::value(chrono::Utc::now()),
        )
        .filter(dial_attempts::Column::Id.eq(attempt_id))
        .filter(dial_attempts::Column::State.eq(AttemptState::Claimed))
        .exec(txn)
        .await?;
    Ok(())
}

/// The call of dial `dial_id` for a report of `conversation` by `agent_id` that matched no call
/// by its conversation: the dial's call, now carrying the conversation. None when the dial is
/// unknown, another agent's (a dynamic variable is only as trustworthy as who set it), or
/// already has another conversation.
pub(crate) async fn adopt<C: ConnectionTrait>(
    txn: &C,
    dial_id: Uuid,
    conversation: &str,
    agent_id: Uuid,
) -> AppResult<Option<calls::Model>> {
    let Some(attempt) = dial_attempts::Entity::find_by_id(dial_id).one(txn).await? else {
        return Ok(None);
    };
    if attempt
        .conversation_id
        .as_deref()
        .is_some_and(|c| c != conversation)
    {
        return Ok(None);
    }
    let Some(mut call) = calls::Entity::find_by_id(attempt.call_id).one(txn).await? else {
        return Ok(None);
    };
    if call.agent_id != Some(agent_id) {
        return Ok(None);
    }
    match call.elevenlabs_conversation_id.as_deref() {
        Some(c) if c == conversation => return Ok(Some(call)),
        Some(_) => return Ok(None),
        None => {}
    }
    record_placed(txn, attempt.id, call.id, conversation).await?;
    tracing::info!(%conversation, call = %call.id, "a report came before its dial's answer: matched by its dial id");
    call.elevenlabs_conversation_id = Some(conversation.to_string());
    Ok(Some(call))
}

/// The dial of a conversation no call knows yet, from the client data ElevenLabs keeps for it.
/// Only such a conversation costs a lookup: one whose dialer died before the answer came back
/// (every other outbound call carries its conversation from the start). ElevenLabs not
/// answering leaves it unmatched, as before dial ids existed.
pub(crate) async fn dial_of_unknown(
    services: &Services,
    agent: &agents::Model,
    conversation: &str,
) -> AppResult<Option<Uuid>> {
    if conversation.is_empty()
        || calls::Entity::find()
            .filter(calls::Column::ElevenlabsConversationId.eq(conversation))
            .one(&services.db)
            .await?
            .is_some()
    {
        return Ok(None);
    }
    let found = async {
        let client = ElevenLabs::for_owner(services, agent.user_id).await?;
        client
            .request(
                reqwest::Method::GET,
                &format!("/v1/convai/conversations/{conversation}"),
                None,
                Retry::Idempotent,
                "conversation",
            )
            .await
    }
    .await;
    match found {
        Ok(detail) => Ok(dial_id_in(&detail)),
        Err(e) => {
            tracing::debug!(%conversation, error = %e, "no dial found for an unknown conversation");
            Ok(None)
        }
    }
}

/// Records a recovered dial whose conversation another call row already holds (a report that
/// carried no dial id made it): the dial's own row, written before ElevenLabs was asked and
/// never more than a placeholder, gives way to that row, and the dial ends with it if it ended.
pub(crate) async fn found_as<C: ConnectionTrait>(
    txn: &C,
    attempt_id: Uuid,
    placeholder: Uuid,
    conversation: &str,
) -> AppResult<bool> {
    let Some(other) = calls::Entity::find()
        .filter(calls::Column::ElevenlabsConversationId.eq(conversation))
        .one(txn)
        .await?
        .filter(|c| c.id != placeholder)
    else {
        return Ok(false);
    };
    attempt_placed(txn, attempt_id, other.id, conversation).await?;
    targets::Entity::update_many()
        .col_expr(targets::Column::LastCallId, Expr::value(Some(other.id)))
        .filter(targets::Column::LastCallId.eq(placeholder))
        .exec(txn)
        .await?;
    calls::Entity::delete_by_id(placeholder).exec(txn).await?;
    if matches!(other.status, CallStatus::Completed | CallStatus::Failed) {
        super::outcome::calls_ended(txn, &[&other]).await?;
    }
    tracing::warn!(%conversation, call = %other.id, "a recovered dial was reported without its dial id: merged into that call");
    Ok(true)
}
