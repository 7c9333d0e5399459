//! What ElevenLabs offers agents (voices, phone numbers) and what it calls them now, cached
//! briefly.

use serde_json::{Value, json};

use super::platform_client;
use crate::{Services, platform::error::AppResult};

/// Names of the user's agents as ElevenLabs has them now (the list shows these when they
/// differ from our copy). `None` when ElevenLabs cannot be asked: the list is then stale.
pub async fn live_names(services: &Services) -> Option<std::collections::HashMap<String, String>> {
    let answer = platform_client(services)
        .await
        .ok()?
        .cached_get(
            "/v1/convai/agents?page_size=100",
            std::time::Duration::from_secs(30),
            "agent",
        )
        .await
        .ok()?;
    Some(
        answer
            .get("agents")?
            .as_array()?
            .iter()
            .filter_map(|a| {
                Some((
                    a.get("agent_id")?.as_str()?.to_string(),
                    a.get("name")?.as_str()?.to_string(),
                ))
            })
            .collect(),
    )
}

/// Whether ElevenLabs accepts the platform's key now: one uncached, unretried request (the
/// answer is for a person pressing "Test connection", who should not wait through backoff).
pub async fn connected(services: &Services) -> bool {
    let Ok(client) = platform_client(services).await else {
        return false;
    };
    client
        .request(
            reqwest::Method::GET,
            "/v1/convai/agents?page_size=1",
            None,
            super::elevenlabs::Retry::OnlyIfUnsent,
            "agent",
        )
        .await
        .is_ok()
}

/// How long voice and phone-number listings are reused.
const LISTING_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Voices the agents can speak with: `{voice_id, name, category, labels, preview_url}`.
pub async fn voices(services: &Services) -> AppResult<Vec<Value>> {
    let answer = platform_client(services)
        .await?
        .cached_get("/v1/voices", LISTING_TTL, "voice")
        .await?;
    Ok(answer
        .get("voices")
        .and_then(Value::as_array)
        .map(|voices| {
            voices
                .iter()
                .map(|v| {
                    json!({
                        "voice_id": v.get("voice_id"), "name": v.get("name"),
                        "category": v.get("category"), "labels": v.get("labels"),
                        "preview_url": v.get("preview_url")
                    })
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Phone numbers agents can call from: `{phone_number_id, phone_number, label, provider}`.
pub async fn phone_numbers(services: &Services) -> AppResult<Vec<Value>> {
    let answer = platform_client(services)
        .await?
        .cached_get("/v1/convai/phone-numbers", LISTING_TTL, "phone_number")
        .await?;
    Ok(answer
        .as_array()
        .map(|numbers| {
            numbers
                .iter()
                .map(|n| {
                    json!({
                        "phone_number_id": n.get("phone_number_id"), "phone_number": n.get("phone_number"),
                        "label": n.get("label"), "provider": n.get("provider")
                    })
                })
                .collect()
        })
        .unwrap_or_default())
}
