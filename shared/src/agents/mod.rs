//! Agents: a user's voice (`call`) and text (`chat`) agents. ElevenLabs holds the full
//! configuration; we keep the owner, type, status, a cached name and description, and the
//! ElevenLabs agent id. Every query is scoped to the owner.

pub use crate::entities::agents::{AgentStatus, SyncState};
pub use crate::entities::calls::Channel;

mod chat;
pub mod display;
pub mod elevenlabs;
mod input;
mod listings;
mod stats;
mod sync;

pub use chat::{ChatSession, chat_session};
pub use input::{AgentInput, LeadQuestion};
use input::{elevenlabs_body, merge, validate};
pub use listings::{connected, live_names, phone_numbers, voices};
pub use stats::{AgentStats, stats};
pub use sync::sync;

use chrono::Utc;
use reqwest::Method;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, ModelTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    Services,
    accounts::auth::CurrentUser,
    agents::elevenlabs::{ElevenLabs, Retry},
    entities::agents,
    platform::after_commit::AfterCommit,
    platform::error::{AppError, AppResult},
};

/// Whether a change was applied on ElevenLabs now, or deferred to a job because ElevenLabs
/// was unavailable (the API answers 202 for those).
#[derive(Debug)]
pub enum Applied<T> {
    Now(T),
    Deferred(T),
}

/// ElevenLabs down after our retries: the change is kept and retried by a job.
fn unavailable(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Provider {
            code: "provider_unavailable",
            ..
        }
    )
}

/// Records the job that will push the agent to ElevenLabs, in the caller's transaction.
async fn schedule_sync<C: sea_orm::ConnectionTrait>(
    txn: &C,
    services: &Services,
    agent_id: Uuid,
) -> AppResult<crate::entities::background_jobs::Model> {
    Ok(crate::platform::jobs::rearm(
        txn,
        &services.config,
        crate::platform::jobs::JobKind::AgentSync,
        agent_id,
    )
    .await?)
}

/// The client for the platform's own requests (voices, phone numbers, the connection test).
pub(super) async fn platform_client(services: &Services) -> AppResult<ElevenLabs> {
    ElevenLabs::for_services(services).await
}

/// The client for requests about `owner`'s agents: with the key assigned to the account, if any.
pub(super) async fn client(services: &Services, owner: Uuid) -> AppResult<ElevenLabs> {
    ElevenLabs::for_owner(services, owner).await
}

/// Creates the agent on ElevenLabs, then here. If ElevenLabs refuses, nothing is stored; if it
/// is unavailable, the agent is stored `pending` and a job creates it there later.
pub async fn create(
    services: &Services,
    user: &CurrentUser,
    input: AgentInput,
) -> AppResult<Applied<agents::Model>> {
    let input = validate(input, true)?;
    let kind = input.kind.unwrap_or(Channel::Call);
    let mut body = elevenlabs_body(&input, Some(kind));
    if body.get("conversation_config").is_none() {
        body["conversation_config"] = json!({});
    }
    let created = client(services, user.id)
        .await?
        .request(
            Method::POST,
            "/v1/convai/agents/create",
            Some(&body),
            Retry::OnlyIfUnsent,
            "agent",
        )
        .await;
    let el_id = match created {
        Ok(created) => Some(
            created
                .get("agent_id")
                .and_then(Value::as_str)
                .ok_or_else(|| AppError::Provider {
                    code: "provider_error",
                    message: "ElevenLabs returned no agent id".into(),
                })?
                .to_string(),
        ),
        Err(e) if unavailable(&e) => None,
        Err(e) => return Err(e),
    };
    let now = Utc::now();
    let row = agents::ActiveModel {
        id: Set(crate::platform::ids::next()),
        user_id: Set(user.id),
        elevenlabs_agent_id: Set(el_id.clone()),
        kind: Set(kind),
        status: Set(input.status.unwrap_or(AgentStatus::Active)),
        name: Set(input.name.clone().unwrap_or_default().trim().to_string()),
        description: Set(input.description.clone()),
        config: Set(body),
        sync_state: Set(if el_id.is_some() {
            SyncState::Synced
        } else {
            SyncState::Pending
        }),
        sync_error: Set(None),
        phone_number_id: Set(input
            .phone_number_id
            .clone()
            .filter(|p| !p.trim().is_empty())),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let saved = async {
        let row = row.insert(&txn).await?;
        let job = match el_id {
            Some(_) => None,
            None => Some(schedule_sync(&txn, services, row.id).await?),
        };
        Ok::<_, AppError>((row, job))
    }
    .await;
    match saved {
        Ok((row, job)) => {
            let deferred = job.is_some();
            let mut after = AfterCommit::new();
            after.ring_all(job);
            after.commit(services, txn).await?;
            if deferred {
                tracing::warn!(agent_id = %row.id, "ElevenLabs unavailable; agent creation deferred");
                Ok(Applied::Deferred(row))
            } else {
                Ok(Applied::Now(row))
            }
        }
        Err(e) => {
            drop(txn);
            // Do not leave an orphan on ElevenLabs when our insert fails.
            if let Some(el_id) = el_id {
                let _ = delete_remote(services, user.id, &el_id).await;
            }
            Err(e)
        }
    }
}

/// The user's agent; another user's is not found.
pub async fn get(services: &Services, user: &CurrentUser, id: Uuid) -> AppResult<agents::Model> {
    crate::platform::owned::find::<agents::Entity, _>(&services.db, user.owner(), id).await
}

pub async fn list(
    services: &Services,
    user: &CurrentUser,
    kind: Option<Channel>,
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<agents::Model>, u64)> {
    let mut query = agents::Entity::find().filter(agents::Column::UserId.eq(user.id));
    if let Some(kind) = kind {
        query = query.filter(agents::Column::Kind.eq(kind));
    }
    let paginator = query
        .order_by_desc(agents::Column::CreatedAt)
        .paginate(&services.db, per_page);
    let total = paginator.num_items().await?;
    Ok((paginator.fetch_page(page.saturating_sub(1)).await?, total))
}

/// The live ElevenLabs configuration of the agent.
pub async fn live_config(services: &Services, user: &CurrentUser, id: Uuid) -> AppResult<Value> {
    let agent = get(services, user, id).await?;
    let el_id = agent
        .elevenlabs_agent_id
        .ok_or_else(|| AppError::not_found("agent"))?;
    client(services, user.id)
        .await?
        .request(
            Method::GET,
            &format!("/v1/convai/agents/{el_id}"),
            None,
            Retry::Idempotent,
            "agent",
        )
        .await
}

/// Pushes the changed fields to ElevenLabs (PATCH), then refreshes our cache. If ElevenLabs is
/// unavailable the change is kept as a pending patch and a job applies it later.
pub async fn update(
    services: &Services,
    user: &CurrentUser,
    id: Uuid,
    input: AgentInput,
) -> AppResult<Applied<agents::Model>> {
    let input = validate(input, false)?;
    let agent = get(services, user, id).await?;
    // The edit form sends the type it was opened with; only a different one is refused.
    if input.kind.is_some_and(|kind| kind != agent.kind) {
        return Err(AppError::validation(
            "type",
            "cannot be changed; create a new agent",
        ));
    }
    if agent.sync_state == SyncState::Deleting {
        return Err(AppError::not_found("agent"));
    }
    let patch = elevenlabs_body(&input, None);
    let has_patch = patch.as_object().is_some_and(|o| !o.is_empty());
    let mut deferred = agent.sync_state == SyncState::Pending;
    if has_patch && !deferred {
        let el_id = agent
            .elevenlabs_agent_id
            .clone()
            .ok_or_else(|| AppError::not_found("agent"))?;
        match client(services, user.id)
            .await?
            .request(
                Method::PATCH,
                &format!("/v1/convai/agents/{el_id}"),
                Some(&patch),
                Retry::Idempotent,
                "agent",
            )
            .await
        {
            Ok(_) => {}
            Err(e) if unavailable(&e) => deferred = true,
            Err(e) => return Err(e),
        }
    }
    let mut active: agents::ActiveModel = agent.clone().into();
    if let Some(name) = input.name {
        active.name = Set(name.trim().to_string());
    }
    if let Some(description) = input.description {
        active.description = Set(Some(description));
    }
    if let Some(status) = input.status {
        active.status = Set(status);
    }
    if let Some(number) = input.phone_number_id {
        active.phone_number_id = Set(Some(number).filter(|p| !p.trim().is_empty()));
    }
    active.updated_at = Set(Utc::now());
    if !(deferred && has_patch) {
        if has_patch {
            // Our copy follows what ElevenLabs now holds (the language and model the lists show).
            let mut config = agent.config.clone();
            merge(&mut config, &patch);
            active.config = Set(config);
        }
        return Ok(Applied::Now(active.update(&services.db).await?));
    }
    // Keep the change for the sync job: merged into the pending patch.
    let mut config = agent.config.clone();
    let mut pending = config
        .get("pending_patch")
        .cloned()
        .unwrap_or_else(|| json!({}));
    merge(&mut pending, &patch);
    config["pending_patch"] = pending;
    active.config = Set(config);
    active.sync_state = Set(SyncState::Pending);
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let row = active.update(&txn).await?;
    let job = schedule_sync(&txn, services, row.id).await?;
    AfterCommit::ringing(job).commit(services, txn).await?;
    Ok(Applied::Deferred(row))
}

/// Deletes the agent on ElevenLabs (already gone there is fine) and here. If ElevenLabs is
/// unavailable the agent is marked `deleting` and a job finishes the deletion.
pub async fn delete(services: &Services, user: &CurrentUser, id: Uuid) -> AppResult<Applied<()>> {
    let agent = get(services, user, id).await?;
    if let Some(el_id) = &agent.elevenlabs_agent_id {
        match delete_remote(services, user.id, el_id).await {
            Ok(()) => {}
            Err(e) if unavailable(&e) => {
                let mut active: agents::ActiveModel = agent.into();
                active.sync_state = Set(SyncState::Deleting);
                active.updated_at = Set(Utc::now());
                let txn = crate::platform::db::begin_write(&services.db).await?;
                let row = active.update(&txn).await?;
                let job = schedule_sync(&txn, services, row.id).await?;
                AfterCommit::ringing(job).commit(services, txn).await?;
                return Ok(Applied::Deferred(()));
            }
            Err(e) => return Err(e),
        }
    }
    agent.delete(&services.db).await?;
    Ok(Applied::Now(()))
}

pub(super) async fn delete_remote(services: &Services, owner: Uuid, el_id: &str) -> AppResult<()> {
    match client(services, owner)
        .await?
        .request(
            Method::DELETE,
            &format!("/v1/convai/agents/{el_id}"),
            None,
            Retry::Idempotent,
            "agent",
        )
        .await
    {
        Ok(_) | Err(AppError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
