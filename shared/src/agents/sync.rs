//! The `agent_sync` job: a create, patch or delete ElevenLabs could not take at once, pushed
//! when it can.

use chrono::Utc;
use reqwest::Method;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, ModelTrait, QueryFilter,
};
use serde_json::Value;
use uuid::Uuid;

use super::{SyncState, client, delete_remote, merge};
use crate::{Services, agents::elevenlabs::Retry, entities::agents, platform::error::AppResult};

/// The `agent_sync` job: pushes a pending create, patch or delete to ElevenLabs. Unavailable
/// or rate limited is retried; a refusal, or the last attempt, marks the agent `failed`.
pub async fn sync(
    services: &Services,
    agent_id: Uuid,
    last_attempt: bool,
) -> Result<(), crate::platform::jobs::JobError> {
    use crate::platform::jobs::JobError;
    let Some(agent) = agents::Entity::find_by_id(agent_id)
        .one(&services.db)
        .await?
    else {
        return Ok(());
    };
    let outcome = push(services, &agent).await;
    let Err(e) = outcome else { return Ok(()) };
    let message = e.public_message();
    let error = JobError::from(e);
    if !error.is_retryable() || last_attempt {
        let mut active: agents::ActiveModel = agent.into();
        active.sync_state = Set(SyncState::Failed);
        active.sync_error = Set(Some(message));
        active.updated_at = Set(Utc::now());
        active.update(&services.db).await?;
    }
    Err(error)
}

async fn push(services: &Services, agent: &agents::Model) -> AppResult<()> {
    match agent.sync_state {
        SyncState::Deleting => {
            if let Some(el_id) = &agent.elevenlabs_agent_id {
                delete_remote(services, agent.user_id, el_id).await?;
            }
            agent.clone().delete(&services.db).await?;
        }
        SyncState::Pending => {
            let mut config = agent.config.clone();
            let pending = config
                .as_object_mut()
                .and_then(|o| o.remove("pending_patch"));
            let el_id = match &agent.elevenlabs_agent_id {
                Some(id) => id.clone(),
                None => {
                    let created = client(services, agent.user_id)
                        .await?
                        .request(
                            Method::POST,
                            "/v1/convai/agents/create",
                            Some(&config),
                            Retry::OnlyIfUnsent,
                            "agent",
                        )
                        .await?;
                    let id = created
                        .get("agent_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    // Kept at once, so a failing patch below does not create it twice.
                    agents::Entity::update_many()
                        .col_expr(
                            agents::Column::ElevenlabsAgentId,
                            sea_orm::sea_query::Expr::value(id.clone()),
                        )
                        .filter(agents::Column::Id.eq(agent.id))
                        .exec(&services.db)
                        .await?;
                    id
                }
            };
            if let Some(patch) = &pending {
                client(services, agent.user_id)
                    .await?
                    .request(
                        Method::PATCH,
                        &format!("/v1/convai/agents/{el_id}"),
                        Some(patch),
                        Retry::Idempotent,
                        "agent",
                    )
                    .await?;
                merge(&mut config, patch);
            }
            let mut active: agents::ActiveModel = agent.clone().into();
            active.elevenlabs_agent_id = Set(Some(el_id));
            active.config = Set(config);
            active.sync_state = Set(SyncState::Synced);
            active.sync_error = Set(None);
            active.updated_at = Set(Utc::now());
            active.update(&services.db).await?;
        }
        _ => {}
    }
    Ok(())
}
