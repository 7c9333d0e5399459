//! Web-widget chats with a user's chat agents.

use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use super::{AgentStatus, Channel, SyncState, client, get};
use crate::{
    Services,
    accounts::auth::CurrentUser,
    agents::elevenlabs::Retry,
    platform::error::{AppError, AppResult},
};

/// What a web widget needs to open a conversation with a chat agent.
#[derive(Debug, Clone)]
pub struct ChatSession {
    pub agent_id: Uuid,
    pub elevenlabs_agent_id: String,
    /// For a WebSocket conversation (`get-signed-url`); valid for a short time.
    pub signed_url: String,
    /// For a WebRTC conversation (`conversation/token`).
    pub conversation_token: String,
}

/// Opens a chat for an active chat agent of the user's, if they have credits to pay for it.
pub async fn chat_session(
    services: &Services,
    user: &CurrentUser,
    id: Uuid,
) -> AppResult<ChatSession> {
    let agent = get(services, user, id).await?;
    if agent.kind != Channel::Chat {
        return Err(AppError::conflict(
            "not_a_chat_agent",
            "this is a call agent; chat sessions need a chat agent",
        ));
    }
    if agent.status != AgentStatus::Active {
        return Err(AppError::conflict(
            "agent_inactive",
            "activate the agent before opening chats with it",
        ));
    }
    let el_id = agent
        .elevenlabs_agent_id
        .clone()
        .filter(|_| agent.sync_state == SyncState::Synced)
        .ok_or_else(|| {
            AppError::conflict(
                "agent_not_synced",
                "the agent is not on ElevenLabs yet; try again shortly",
            )
        })?;
    crate::money::credits::require_positive_balance(&services.db, user.id).await?;
    let client = client(services, user.id).await?;
    let signed_path = format!("/v1/convai/conversation/get-signed-url?agent_id={el_id}");
    let token_path = format!("/v1/convai/conversation/token?agent_id={el_id}");
    let (signed, token) = tokio::try_join!(
        client.request(Method::GET, &signed_path, None, Retry::Idempotent, "agent"),
        client.request(Method::GET, &token_path, None, Retry::Idempotent, "agent"),
    )?;
    let field = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .map(String::from)
            .ok_or_else(|| AppError::Provider {
                code: "provider_error",
                message: format!("ElevenLabs answered without `{key}`"),
            })
    };
    Ok(ChatSession {
        agent_id: agent.id,
        elevenlabs_agent_id: el_id,
        signed_url: field(&signed, "signed_url")?,
        conversation_token: field(&token, "token")?,
    })
}
