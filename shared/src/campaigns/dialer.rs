//! The dialer: each round claims the dials that may start now, then places them.
//!
//! Claiming happens in one short transaction that holds the platform's dialer lock (an advisory
//! lock on PostgreSQL; SQLite's write lock), so the three caps — the campaign's, the account's
//! and the platform's — are counted against everything in flight however many workers run
//! rounds. A claimed dial is a `dial_attempts` row (unique per number and attempt) with its
//! call row `initiated`, written before ElevenLabs is asked: a redelivered round or a second
//! worker finds the number `dialing` and leaves it, and a worker killed after the claim leaves
//! an attempt that `recover` resolves from ElevenLabs' side instead of dialling again.
//!
//! Numbers outside their window move to its next opening; past the end date they end not
//! called; a number that opted out since the campaign was made ends do-not-call. A campaign
//! whose balance cannot pay for another call pauses itself with a notification.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::StreamExt;
use reqwest::Method;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::window::{self, Window};
use crate::{
    Services,
    accounts::notifications::{self, NewNotification},
    agents::elevenlabs::{ElevenLabs, Retry},
    calls::{Caller, lifecycle},
    entities::{
        agents,
        calls::{self, CallStatus, Channel},
        campaign_targets::{self as targets, TargetOutcome, TargetState},
        campaigns::{self, CampaignStatus, PauseReason},
        contacts,
        dial_attempts::{self, AttemptState},
        notifications::NotificationKind,
    },
    platform::{after_commit::AfterCommit, error::AppResult, ids},
};

/// The advisory lock every worker's claiming takes (PostgreSQL): any constant of ours.
const DIALER_LOCK: i64 = 0x0053_5742_4449_414c;
/// Dials placed at once by one round.
pub const PLACING: usize = 16;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Dials claimed (and then placed or refused).
    pub claimed: usize,
    pub placed: usize,
    pub refused: usize,
    /// Numbers moved to their window's next opening.
    pub rescheduled: usize,
    /// Numbers ended without a dial (end date passed, opted out).
    pub skipped: usize,
    pub paused: usize,
    pub completed: usize,
}

/// A dial claimed, to be placed.
#[derive(Debug, Clone)]
pub struct Claim {
    pub attempt: dial_attempts::Model,
    pub call: calls::Model,
    pub number: String,
    pub agent: agents::Model,
    pub contact: Option<contacts::Model>,
}

/// One round at `now`: claims, then places the claimed dials.
pub async fn run_once(services: &Services, now: DateTime<Utc>) -> AppResult<Round> {
    let (claims, mut round) = claim(services, now).await?;
    let placed: Vec<bool> = futures::stream::iter(claims)
        .map(|c| place(services, c))
        .buffer_unordered(PLACING)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<AppResult<_>>()?;
    round.placed = placed.iter().filter(|ok| **ok).count();
    round.refused = placed.len() - round.placed;
    Ok(round)
}

/// Calls in flight on the platform (campaign dials and calls started by hand).
async fn platform_in_flight<C: ConnectionTrait>(db: &C) -> AppResult<u64> {
    Ok(calls::Entity::find()
        .filter(calls::Column::Channel.eq(Channel::Call))
        .filter(calls::Column::Status.is_in([CallStatus::Initiated, CallStatus::InProgress]))
        .count(db)
        .await?)
}

/// The claiming transaction.
pub async fn claim(services: &Services, now: DateTime<Utc>) -> AppResult<(Vec<Claim>, Round)> {
    let db = &services.db;
    let config = &services.config.elevenlabs;
    let txn = crate::platform::db::begin_write(db).await?;
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({DIALER_LOCK})"))
            .await?;
    }
    let mut round = Round::default();
    let mut after = AfterCommit::new();
    let mut claims = Vec::new();
    let active = campaigns::Entity::find()
        .filter(campaigns::Column::Status.eq(CampaignStatus::Active))
        .order_by_desc(campaigns::Column::Priority)
        .order_by_asc(campaigns::Column::StartedAt)
        .all(&txn)
        .await?;
    let mut platform_left = config
        .platform_max_concurrent_calls
        .saturating_sub(platform_in_flight(&txn).await?);
    for campaign in active {
        let open = targets::Entity::find()
            .filter(targets::Column::CampaignId.eq(campaign.id))
            .filter(targets::Column::State.is_in([TargetState::Queued, TargetState::Dialing]))
            .count(&txn)
            .await?;
        if open == 0 {
            let mut row: campaigns::ActiveModel = campaign.clone().into();
            row.status = Set(CampaignStatus::Completed);
            row.completed_at = Set(Some(now));
            row.updated_at = Set(now);
            row.update(&txn).await?;
            round.completed += 1;
            tracing::info!(campaign = %campaign.id, "campaign completed");
            continue;
        }
        if platform_left == 0 {
            continue;
        }
        let agent = agents::Entity::find_by_id(campaign.agent_id)
            .one(&txn)
            .await?;
        let Some(agent) = agent.filter(|a| Caller::of(a).is_ok()) else {
            pause(
                &txn,
                &mut after,
                &campaign,
                PauseReason::AgentUnavailable,
                now,
            )
            .await?;
            round.paused += 1;
            continue;
        };
        let account =
            crate::calls::capacity_in(&txn, config.max_concurrent_calls, campaign.user_id).await?;
        let dialing = targets::Entity::find()
            .filter(targets::Column::CampaignId.eq(campaign.id))
            .filter(targets::Column::State.eq(TargetState::Dialing))
            .count(&txn)
            .await?;
        // Every call in flight costs at least a credit when it ends: a new dial needs one more.
        let balance = crate::money::credits::balance(&txn, campaign.user_id).await?;
        if balance <= 0 && account.in_flight == 0 {
            pause(&txn, &mut after, &campaign, PauseReason::LowCredits, now).await?;
            round.paused += 1;
            continue;
        }
        let affordable = u64::try_from(balance)
            .unwrap_or(0)
            .saturating_sub(account.in_flight);
        let slots = [
            u64::try_from(campaign.max_concurrent_calls)
                .unwrap_or(0)
                .saturating_sub(dialing),
            account.available(),
            platform_left,
            affordable,
        ]
        .into_iter()
        .min()
        .unwrap_or(0) as usize;
        if slots == 0 {
            continue;
        }
        let window = window_of(&campaign)?;
        let mut due = targets::Entity::find()
            .filter(targets::Column::CampaignId.eq(campaign.id))
            .filter(targets::Column::State.eq(TargetState::Queued))
            .filter(targets::Column::NextAttemptAt.lte(now))
            .order_by_asc(targets::Column::NextAttemptAt)
            .order_by_asc(targets::Column::Id)
            // Some may be outside their window: look at more than the slots.
            .limit((slots * 4 + 50) as u64);
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            due = due.lock_with_behavior(
                sea_orm::sea_query::LockType::Update,
                sea_orm::sea_query::LockBehavior::SkipLocked,
            );
        }
        let due = due.all(&txn).await?;
        let mut contacts_of: HashMap<Uuid, contacts::Model> = HashMap::new();
        let ids: Vec<Uuid> = due.iter().filter_map(|t| t.contact_id).collect();
        for c in contacts::Entity::find()
            .filter(contacts::Column::Id.is_in(ids))
            .all(&txn)
            .await?
        {
            contacts_of.insert(c.id, c);
        }
        let opted_out = opted_out(&txn, campaign.user_id, &due, &contacts_of).await?;
        let (mut refused, mut expired) = (Vec::new(), Vec::new());
        let mut taken = 0;
        // Past the slots, the rest of the batch is still sorted out: numbers outside their
        // window move to its opening, so they stop coming back as due.
        for target in due {
            if opted_out.contains(&target.id) {
                refused.push(target.id);
                continue;
            }
            let zone: Tz = target.timezone.parse().unwrap_or(chrono_tz::UTC);
            if !window.is_open(zone, now) {
                match window.next_open(zone, now) {
                    Some(at) => {
                        let mut row: targets::ActiveModel = target.into();
                        row.next_attempt_at = Set(Some(at));
                        row.updated_at = Set(now);
                        row.update(&txn).await?;
                        round.rescheduled += 1;
                    }
                    None => expired.push(target.id),
                }
                continue;
            }
            if taken == slots {
                continue;
            }
            let contact = target
                .contact_id
                .and_then(|id| contacts_of.get(&id).cloned());
            claims.push(claim_one(&txn, &campaign, &agent, target, contact, now).await?);
            taken += 1;
        }
        round.skipped += refused.len() + expired.len();
        for (ids, outcome) in [
            (refused, TargetOutcome::DoNotCall),
            (expired, TargetOutcome::NotCalled),
        ] {
            if !ids.is_empty() {
                super::end_queued(&txn, targets::Column::Id.is_in(ids), outcome).await?;
            }
        }
        platform_left -= taken as u64;
        round.claimed += taken;
    }
    after.commit(services, txn).await?;
    Ok((claims, round))
}

/// The campaign's window.
fn window_of(c: &campaigns::Model) -> AppResult<Window> {
    Window::new(
        window::parse_time("first_call_time", &c.first_call_time)?,
        window::parse_time("last_call_time", &c.last_call_time)?,
        c.start_date,
        c.end_date,
    )
}

/// Of `due`, the numbers that may no longer be called: on the account's list, or whose contact
/// opted out since the campaign was made.
async fn opted_out<C: ConnectionTrait>(
    txn: &C,
    user_id: Uuid,
    due: &[targets::Model],
    contacts_of: &HashMap<Uuid, contacts::Model>,
) -> AppResult<HashSet<Uuid>> {
    if due.is_empty() {
        return Ok(HashSet::new());
    }
    let listed: HashSet<String> = crate::entities::dnc_numbers::Entity::find()
        .filter(crate::entities::dnc_numbers::Column::UserId.eq(user_id))
        .filter(
            crate::entities::dnc_numbers::Column::PhoneE164
                .is_in(due.iter().map(|t| t.phone_e164.clone())),
        )
        .all(txn)
        .await?
        .into_iter()
        .map(|d| d.phone_e164)
        .collect();
    Ok(due
        .iter()
        .filter(|t| {
            listed.contains(&t.phone_e164)
                || t.contact_id
                    .and_then(|c| contacts_of.get(&c))
                    .is_some_and(|c| c.do_not_call)
        })
        .map(|t| t.id)
        .collect())
}

/// Pauses a campaign that cannot go on, and tells its owner.
async fn pause<C: ConnectionTrait>(
    txn: &C,
    after: &mut AfterCommit,
    campaign: &campaigns::Model,
    reason: PauseReason,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut row: campaigns::ActiveModel = campaign.clone().into();
    row.status = Set(CampaignStatus::Paused);
    row.pause_reason = Set(Some(reason));
    row.updated_at = Set(now);
    row.update(txn).await?;
    let (title, body) = match reason {
        PauseReason::LowCredits => (
            "Campaign paused: out of credits",
            format!(
                "\"{}\" paused itself because your balance cannot pay for another call. Buy credits, then resume it.",
                campaign.name
            ),
        ),
        _ => (
            "Campaign paused: its agent cannot call",
            format!(
                "\"{}\" paused itself because its agent is inactive or has no phone number. Fix the agent, then resume it.",
                campaign.name
            ),
        ),
    };
    let (_, event) = notifications::create_in(
        txn,
        NewNotification {
            user_id: campaign.user_id,
            kind: NotificationKind::CampaignPaused,
            title: title.into(),
            body,
            data: json!({"campaign_id": campaign.id, "reason": reason}),
        },
    )
    .await?;
    after.publish(Some(event));
    tracing::warn!(campaign = %campaign.id, %reason, "campaign paused itself");
    Ok(())
}

/// Claims the next attempt at `target`: its call row, its attempt row, the number `dialing`.
async fn claim_one<C: ConnectionTrait>(
    txn: &C,
    campaign: &campaigns::Model,
    agent: &agents::Model,
    target: targets::Model,
    contact: Option<contacts::Model>,
    now: DateTime<Utc>,
) -> AppResult<Claim> {
    let attempt_no = target.attempts + 1;
    let attempt_id = ids::next();
    let call = crate::calls::outbound_row(
        campaign.user_id,
        agent.id,
        target.contact_id,
        &target.phone_e164,
        json!({"campaign_id": campaign.id, "dial_attempt_id": attempt_id, "attempt": attempt_no}),
    )
    .insert(txn)
    .await?;
    let attempt = dial_attempts::ActiveModel {
        id: Set(attempt_id),
        target_id: Set(target.id),
        campaign_id: Set(campaign.id),
        user_id: Set(campaign.user_id),
        attempt_no: Set(attempt_no),
        call_id: Set(call.id),
        state: Set(AttemptState::Claimed),
        conversation_id: Set(None),
        outcome: Set(None),
        claimed_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    let number = target.phone_e164.clone();
    let mut row: targets::ActiveModel = target.into();
    row.state = Set(TargetState::Dialing);
    row.attempts = Set(attempt_no);
    row.last_call_id = Set(Some(call.id));
    row.next_attempt_at = Set(None);
    row.updated_at = Set(now);
    row.update(txn).await?;
    Ok(Claim {
        attempt,
        call,
        number,
        agent: agent.clone(),
        contact,
    })
}

/// Asks ElevenLabs to place a claimed dial; records the conversation, or fails the call (which
/// queues a retry or ends the number). Returns whether it was placed.
pub async fn place(services: &Services, claim: Claim) -> AppResult<bool> {
    let caller = Caller::of(&claim.agent)?;
    let mut variables = claim
        .contact
        .as_ref()
        .map(crate::contacts::dynamic_variables)
        .unwrap_or_default();
    // Lets a lost answer be found again on ElevenLabs' side (`recover`).
    variables.insert(super::dials::DIAL_VARIABLE.into(), json!(claim.attempt.id));
    let answer = async {
        let client = ElevenLabs::for_owner(services, claim.call.user_id).await?;
        let (_, path) = crate::calls::dial_path(&client, &caller.phone_number_id).await?;
        crate::calls::ask_to_dial(&client, path, &caller, &claim.number, variables).await
    }
    .await;
    let conversation = crate::calls::placed_conversation(&answer);
    match conversation {
        Some(conversation) => {
            placed(services, claim.attempt.id, claim.call.id, &conversation).await?;
            Ok(true)
        }
        None => {
            let reason = match answer {
                Ok(a) => a
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("the call was not placed")
                    .to_string(),
                Err(e) => e.public_message(),
            };
            tracing::warn!(call = %claim.call.id, %reason, "campaign dial refused");
            lifecycle::fail_alone(services, claim.call, reason).await?;
            Ok(false)
        }
    }
}

/// Records the conversation ElevenLabs placed for a claimed dial.
async fn placed(
    services: &Services,
    attempt_id: Uuid,
    call_id: Uuid,
    conversation: &str,
) -> AppResult<()> {
    let txn = crate::platform::db::begin_write(&services.db).await?;
    super::dials::record_placed(&txn, attempt_id, call_id, conversation).await?;
    txn.commit().await?;
    Ok(())
}

/// Resolves dials claimed more than `DIAL_CLAIM_TIMEOUT_SECS` ago that never got ElevenLabs'
/// answer (their worker died mid-dial): the agent's conversations since the claim are looked up
/// for the dial's `switchboard_dial_id`. Found, the dial was placed and is recorded as such;
/// not found, it never reached ElevenLabs and its call fails as not placed (the number is tried
/// again if it has attempts left). Never a second dial of the same attempt.
pub async fn recover(services: &Services, now: DateTime<Utc>, limit: u64) -> AppResult<usize> {
    let db = &services.db;
    let cutoff =
        now - chrono::TimeDelta::seconds(services.config.elevenlabs.dial_claim_timeout_secs as i64);
    let stale = dial_attempts::Entity::find()
        .filter(dial_attempts::Column::State.eq(AttemptState::Claimed))
        .filter(dial_attempts::Column::ClaimedAt.lt(cutoff))
        .order_by_asc(dial_attempts::Column::ClaimedAt)
        .limit(limit)
        .all(db)
        .await?;
    for attempt in &stale {
        let Some(call) = calls::Entity::find_by_id(attempt.call_id).one(db).await? else {
            continue;
        };
        let agent = match call.agent_id {
            Some(id) => agents::Entity::find_by_id(id).one(db).await?,
            None => None,
        };
        let Some(el_agent) = agent.and_then(|a| a.elevenlabs_agent_id) else {
            lifecycle::fail_alone(services, call, "not placed: the agent is gone").await?;
            continue;
        };
        let client = ElevenLabs::for_owner(services, call.user_id).await?;
        match find_dial(&client, &el_agent, attempt).await {
            Ok(Some(conversation)) => {
                let txn = crate::platform::db::begin_write(db).await?;
                if !super::dials::found_as(&txn, attempt.id, call.id, &conversation).await? {
                    super::dials::record_placed(&txn, attempt.id, call.id, &conversation).await?;
                }
                txn.commit().await?;
                tracing::info!(%conversation, call = %call.id, "claimed dial found on ElevenLabs");
            }
            Ok(None) => {
                lifecycle::fail_alone(
                    services,
                    call,
                    "not placed: the dialer stopped before ElevenLabs was asked",
                )
                .await?;
            }
            // ElevenLabs unreachable: look again on the next sweep.
            Err(e) => tracing::warn!(error = %e, "could not look up a claimed dial"),
        }
    }
    Ok(stale.len())
}

/// The conversation ElevenLabs started for `attempt`, if any.
async fn find_dial(
    client: &ElevenLabs,
    el_agent: &str,
    attempt: &dial_attempts::Model,
) -> AppResult<Option<String>> {
    let since = attempt.claimed_at.timestamp() - 60;
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let mut path = format!(
            "/v1/convai/conversations?agent_id={el_agent}&call_start_after_unix={since}&page_size=100"
        );
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = client
            .request(Method::GET, &path, None, Retry::Idempotent, "conversation")
            .await?;
        let ids: Vec<String> = page
            .get("conversations")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|c| {
                        c.get("conversation_id")
                            .and_then(Value::as_str)
                            .map(String::from)
                    })
                    .collect()
            })
            .unwrap_or_default();
        for id in ids {
            let detail = client
                .request(
                    Method::GET,
                    &format!("/v1/convai/conversations/{id}"),
                    None,
                    Retry::Idempotent,
                    "conversation",
                )
                .await?;
            if super::dials::dial_id_in(&detail) == Some(attempt.id) {
                return Ok(Some(id));
            }
        }
        cursor = page
            .get("next_cursor")
            .and_then(Value::as_str)
            .map(String::from)
            .filter(|_| page.get("has_more").and_then(Value::as_bool) == Some(true));
        if cursor.is_none() {
            break;
        }
    }
    Ok(None)
}
