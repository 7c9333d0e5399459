//! Agents that already exist on ElevenLabs, registered by an admin for a user, and moved from
//! one user to another. The client's frontend creates agents only this way (its own create
//! form cannot submit), so a registration is checked against ElevenLabs: the agent must exist
//! there, and its live name and configuration are what we keep.

use chrono::Utc;
use reqwest::Method;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    Services,
    accounts::audit::{self, Actor},
    agents::{AgentStatus, Channel, SyncState, elevenlabs::Retry},
    entities::agents,
    platform::error::{AppError, AppResult},
};

/// What an admin registers.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The agent's id on ElevenLabs (`agent_…`).
    pub elevenlabs_agent_id: String,
    /// Overrides the name ElevenLabs has.
    pub name: Option<String>,
    pub description: Option<String>,
    /// Defaults to what ElevenLabs says (text-only agents are chat agents).
    pub kind: Option<Channel>,
    pub active: bool,
    /// The user who gets the agent; the admin when absent.
    pub owner: Option<Uuid>,
}

fn valid_elevenlabs_id(id: &str) -> bool {
    (1..=100).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Whether ElevenLabs' configuration describes a text-only (chat) agent.
fn is_text_only(live: &Value) -> bool {
    live.pointer("/conversation_config/conversation/text_only") == Some(&Value::Bool(true))
}

/// Registers an existing ElevenLabs agent for a user, after ElevenLabs confirms it exists.
pub async fn register(
    services: &Services,
    actor: &Actor,
    r: Registration,
) -> AppResult<agents::Model> {
    let el_id = r.elevenlabs_agent_id.trim().to_string();
    if !valid_elevenlabs_id(&el_id) {
        return Err(AppError::validation(
            "bolna_agent_id",
            "must be the ElevenLabs agent id (letters, digits, _ and -)",
        ));
    }
    if let Some(name) = &r.name
        && name.trim().chars().count() > 100
    {
        return Err(AppError::validation(
            "name",
            "must be at most 100 characters",
        ));
    }
    if r.description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 2_000)
    {
        return Err(AppError::validation(
            "description",
            "must be at most 2000 characters",
        ));
    }
    let owner_id = r.owner.unwrap_or(actor.id);
    let owner = crate::accounts::users::get(&services.db, owner_id).await?;
    if registered(services, &el_id).await? {
        return Err(already_registered(&el_id));
    }
    let live = crate::agents::elevenlabs::ElevenLabs::for_owner(services, owner.id)
        .await?
        .request(
            Method::GET,
            &format!("/v1/convai/agents/{el_id}"),
            None,
            Retry::Idempotent,
            "agent",
        )
        .await
        .map_err(|e| match e {
            AppError::NotFound { .. } => {
                AppError::validation("bolna_agent_id", format!("ElevenLabs has no agent {el_id}"))
            }
            other => other,
        })?;
    let name = r
        .name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .or_else(|| live["name"].as_str().map(str::to_string))
        .unwrap_or_else(|| el_id.clone());
    let kind = r.kind.unwrap_or(if is_text_only(&live) {
        Channel::Chat
    } else {
        Channel::Call
    });
    let now = Utc::now();
    let row = agents::ActiveModel {
        id: Set(crate::platform::ids::next()),
        user_id: Set(owner.id),
        elevenlabs_agent_id: Set(Some(el_id.clone())),
        kind: Set(kind),
        status: Set(if r.active {
            AgentStatus::Active
        } else {
            AgentStatus::Draft
        }),
        name: Set(name),
        description: Set(r.description.filter(|d| !d.trim().is_empty())),
        config: Set(json!({
            "conversation_config": live.get("conversation_config").cloned().unwrap_or(json!({})),
            "platform_settings": live.get("platform_settings").cloned().unwrap_or(json!({})),
        })),
        sync_state: Set(SyncState::Synced),
        sync_error: Set(None),
        phone_number_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let txn = crate::platform::db::begin_write(&services.db).await?;
    // Two admins registering the same id at once: the unique index decides.
    let agent = row.insert(&txn).await.map_err(|e| {
        if registered_conflict(&e) {
            already_registered(&el_id)
        } else {
            e.into()
        }
    })?;
    audit::record_in(
        &txn,
        actor,
        "agent.registered",
        ("agent", agent.id.to_string()),
        json!({}),
        json!({"elevenlabs_agent_id": el_id, "owner_id": owner.id, "kind": kind,
               "status": agent.status}),
    )
    .await?;
    txn.commit().await?;
    Ok(agent)
}

fn already_registered(el_id: &str) -> AppError {
    AppError::conflict(
        "agent_already_registered",
        format!("ElevenLabs agent {el_id} is already registered"),
    )
}

fn registered_conflict(e: &sea_orm::DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

async fn registered(services: &Services, el_id: &str) -> AppResult<bool> {
    Ok(agents::Entity::find()
        .filter(agents::Column::ElevenlabsAgentId.eq(el_id))
        .one(&services.db)
        .await?
        .is_some())
}

/// Gives agent `id` (whoever owns it) to another user. Calls it made stay with the user who
/// made them.
pub async fn assign(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    owner: Uuid,
) -> AppResult<agents::Model> {
    let new_owner = crate::accounts::users::get(&services.db, owner).await?;
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let agent = crate::platform::db::one_for_update(&txn, agents::Entity::find_by_id(id))
        .await?
        .ok_or_else(|| AppError::not_found("agent"))?;
    let before = agent.user_id;
    if before == new_owner.id {
        return Ok(agent);
    }
    let mut active: agents::ActiveModel = agent.into();
    active.user_id = Set(new_owner.id);
    active.updated_at = Set(Utc::now());
    let agent = active.update(&txn).await?;
    audit::record_in(
        &txn,
        actor,
        "agent.assigned",
        ("agent", id.to_string()),
        json!({"owner_id": before}),
        json!({"owner_id": new_owner.id}),
    )
    .await?;
    txn.commit().await?;
    Ok(agent)
}
