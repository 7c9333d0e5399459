//! ElevenLabs post-call webhooks as ElevenLabs sends them: payloads in the documented shapes and
//! `ElevenLabs-Signature: t=…,v0=hex(HMAC-SHA256(secret, "t.body"))`.

use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::{Value, json};
use sha2::Sha256;
use shared::entities::agents;
use uuid::Uuid;

use crate::TestApp;

pub const SECRET: &str = "wsec_switchboard_test_elevenlabs";

pub fn signature_at(secret: &str, body: &str, t: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v0={}", hex::encode(mac.finalize().into_bytes()))
}

pub fn signature(secret: &str, body: &str) -> String {
    signature_at(secret, body, chrono::Utc::now().timestamp())
}

/// A `post_call_transcription` event for `agent_id` / `conversation_id` (133 s, a hot lead).
pub fn transcription(agent_id: &str, conversation_id: &str) -> Value {
    let lead = json!({
        "intent_level": "high", "intent_score": 3, "urgency_level": "medium", "urgency_score": 2,
        "budget_constraint": "flexible", "budget_score": 3, "fit_alignment": "strong", "fit_score": 3,
        "engagement_health": "good", "engagement_score": 2, "total_score": 13, "lead_status_tag": "Hot",
        "reasoning": {"intent": "Asked for pricing", "urgency": "This quarter", "budget": "Approved",
            "fit": "Core segment", "engagement": "Detailed answers", "cta_behavior": "Booked a demo"},
        "cta_pricing_clicked": true, "cta_demo_clicked": true, "cta_followup_clicked": false,
        "cta_sample_clicked": false, "cta_escalated_to_human": false
    });
    json!({
        "type": "post_call_transcription",
        "event_timestamp": chrono::Utc::now().timestamp(),
        "data": {
            "agent_id": agent_id, "conversation_id": conversation_id, "status": "done",
            "transcript": [
                {"role": "agent", "message": "Hi Dana, this is Ava from Acme.", "time_in_call_secs": 0, "tool_calls": [], "interrupted": false},
                {"role": "user", "message": "What does it cost?", "time_in_call_secs": 4},
                {"role": "agent", "message": "Plans start at 49 dollars per seat.", "time_in_call_secs": 9},
                {"role": "user", "message": "Budget is approved, Thursday works.", "time_in_call_secs": 17},
                {"role": "agent", "message": "Booked Thursday at 10am.", "time_in_call_secs": 26,
                    "tool_calls": [{"request_id": "t1", "tool_name": "book_demo", "params_as_json": "{\"day\":\"thursday\"}", "tool_has_been_called": true}],
                    "tool_results": [{"request_id": "t1", "tool_name": "book_demo", "result_value": "booked", "is_error": false}]},
                {"role": "user", "message": null, "time_in_call_secs": 31}
            ],
            "metadata": {
                "start_time_unix_secs": 1764028660, "call_duration_secs": 133, "cost": 412,
                "termination_reason": "Call ended by remote party", "main_language": "en",
                "phone_call": {"type": "twilio", "direction": "outbound", "phone_number_id": "phnum_1",
                    "agent_number": "+14155550100", "external_number": "+14155550123", "call_sid": "CA1"}
            },
            "analysis": {
                "call_successful": "success", "transcript_summary": "Dana booked a demo for Thursday.",
                "call_summary_title": "Demo booked",
                "evaluation_criteria_results": {"demo_booked": {"criteria_id": "demo_booked", "result": "success", "rationale": "yes"}},
                "data_collection_results": {"lead_analysis": {"data_collection_id": "lead_analysis", "value": lead.to_string(), "rationale": "whole call"}}
            },
            "conversation_initiation_client_data": {"dynamic_variables": {"name": "Dana Reyes", "company": "Northwind"}},
            "some_future_field": {"ignored": true}
        }
    })
}

/// A `call_initiation_failure` event.
pub fn initiation_failure(agent_id: &str, conversation_id: &str, reason: &str) -> Value {
    json!({
        "type": "call_initiation_failure",
        "event_timestamp": chrono::Utc::now().timestamp(),
        "data": {"agent_id": agent_id, "conversation_id": conversation_id, "failure_reason": reason,
            "metadata": {"type": "twilio", "body": {"CallStatus": reason}}}
    })
}

/// A `post_call_audio` event carrying `audio` as base64.
pub fn audio(agent_id: &str, conversation_id: &str, audio: &[u8]) -> Value {
    use base64::Engine;
    json!({
        "type": "post_call_audio",
        "event_timestamp": chrono::Utc::now().timestamp(),
        "data": {"agent_id": agent_id, "conversation_id": conversation_id,
            "full_audio": base64::engine::general_purpose::STANDARD.encode(audio)}
    })
}

/// An active, synced call agent of `user` with the ElevenLabs id `el_agent`.
/// The same report as a chat agent's: no phone call, the visitor's details from the widget.
pub fn into_chat(mut event: Value) -> Value {
    let data = &mut event["data"];
    if let Some(metadata) = data["metadata"].as_object_mut() {
        metadata.remove("phone_call");
    }
    data["metadata"]["text_only"] = json!(true);
    data["conversation_initiation_client_data"]["dynamic_variables"] = json!({
        "name": "Vera Visitor", "email": "vera@example.com", "phone": "+1 415 555 0188"
    });
    event
}

/// `insert_agent`, of the chat kind.
pub async fn insert_chat_agent(app: &TestApp, user: Uuid, el_agent: &str) -> agents::Model {
    let agent = insert_agent(app, user, el_agent).await;
    let mut active: agents::ActiveModel = agent.into();
    active.kind = Set(shared::calls::Channel::Chat);
    active.update(&app.services.db).await.expect("chat agent")
}

pub async fn insert_agent(app: &TestApp, user: Uuid, el_agent: &str) -> agents::Model {
    let now = Utc::now();
    agents::ActiveModel {
        id: Set(shared::platform::ids::next()),
        user_id: Set(user),
        elevenlabs_agent_id: Set(Some(el_agent.into())),
        kind: Set(shared::agents::Channel::Call),
        status: Set(shared::agents::AgentStatus::Active),
        name: Set("Outbound qualifier".into()),
        description: Set(None),
        config: Set(json!({})),
        sync_state: Set(shared::agents::SyncState::Synced),
        sync_error: Set(None),
        phone_number_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&app.services.db)
    .await
    .unwrap()
}

/// Posts `event` as ElevenLabs does, signed with `SECRET` unless `signature` is given.
pub async fn deliver(app: &TestApp, event: &Value, signature: Option<String>) -> reqwest::Response {
    deliver_raw(app, event.to_string(), signature).await
}

/// `deliver` for a body already serialised.
pub async fn deliver_raw(
    app: &TestApp,
    body: String,
    signature: Option<String>,
) -> reqwest::Response {
    let signature = signature.unwrap_or_else(|| self::signature(SECRET, &body));
    app.client
        .post(app.url("/webhooks/elevenlabs"))
        .header("content-type", "application/json")
        .header("elevenlabs-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Posts a large body chunked (no `Content-Length`), as ElevenLabs sends audio.
pub async fn deliver_chunked(app: &TestApp, body: String, signature: String) -> reqwest::Response {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body
        .into_bytes()
        .chunks(256 * 1024)
        .map(|c| Ok(c.to_vec()))
        .collect();
    app.client
        .post(app.url("/webhooks/elevenlabs"))
        .header("content-type", "application/json")
        .header("elevenlabs-signature", signature)
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap()
}

/// How a scored call of `scored_transcription` went.
pub struct Scored<'a> {
    pub number: &'a str,
    pub name: &'a str,
    pub total: i64,
    pub tag: &'a str,
    /// CTA flags set, e.g. `demo_clicked`.
    pub ctas: &'a [&'a str],
    pub successful: bool,
    pub secs: i64,
}

/// `transcription` for another contact, score, CTAs, outcome and duration.
/// A successful 75-second call scored `total` / `tag` with `ctas` taken.
pub fn scored<'a>(
    number: &'a str,
    name: &'a str,
    total: i64,
    tag: &'a str,
    ctas: &'a [&'a str],
) -> Scored<'a> {
    Scored {
        number,
        name,
        total,
        tag,
        ctas,
        successful: true,
        secs: 75,
    }
}

pub fn scored_transcription(agent_id: &str, conversation_id: &str, s: Scored<'_>) -> Value {
    let mut event = transcription(agent_id, conversation_id);
    let data = &mut event["data"];
    data["metadata"]["phone_call"]["external_number"] = json!(s.number);
    data["metadata"]["call_duration_secs"] = json!(s.secs);
    data["conversation_initiation_client_data"]["dynamic_variables"]["name"] = json!(s.name);
    let analysis = &mut data["analysis"];
    analysis["call_successful"] = json!(if s.successful { "success" } else { "failure" });
    let field = &mut analysis["data_collection_results"]["lead_analysis"]["value"];
    let mut lead: Value = serde_json::from_str(field.as_str().unwrap()).unwrap();
    lead["total_score"] = json!(s.total);
    lead["lead_status_tag"] = json!(s.tag);
    for cta in [
        "pricing_clicked",
        "demo_clicked",
        "followup_clicked",
        "sample_clicked",
        "escalated_to_human",
    ] {
        lead[format!("cta_{cta}")] = json!(s.ctas.contains(&cta));
    }
    *field = json!(lead.to_string());
    event
}
