//! A fake ElevenLabs Conversational AI API on loopback: the agent endpoints with the documented
//! request and response shapes (`../shared/fixtures/elevenlabs-openapi.json`), `xi-api-key`
//! checked, and failures on demand.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, ResponseTemplate, matchers};

pub const API_KEY: &str = "xi_test_switchboard_key";
/// A second key of the same workspace, to rotate to.
pub const ROTATED_API_KEY: &str = "xi_rotated_switchboard_key";

pub struct FakeElevenLabs {
    pub server: MockServer,
    /// Agents by ElevenLabs id, as ElevenLabs would return them.
    pub agents: Arc<Mutex<HashMap<String, Value>>>,
    /// Outbound-call requests received: (path, body).
    pub outbound: Arc<Mutex<Vec<(String, Value)>>>,
    /// Conversations by id, as `GET /v1/convai/conversations/{id}` returns them.
    pub conversations: Arc<Mutex<HashMap<String, Value>>>,
    /// The `xi-api-key` of the last request it accepted.
    pub last_key: Arc<Mutex<Option<String>>>,
    /// The workspace's phone numbers by id, with the agent each routes inbound calls to.
    pub phone_numbers: Arc<Mutex<HashMap<String, Value>>>,
    /// How long a dial's answer takes once the dial is placed (none by default): a dialer killed
    /// meanwhile has dialled without hearing back.
    pub dial_delay: Arc<Mutex<std::time::Duration>>,
}

/// The phone numbers the fake account owns: one Twilio, one SIP trunk.
pub const TWILIO_NUMBER_ID: &str = "phnum_twilio_1";
pub const SIP_NUMBER_ID: &str = "phnum_sip_1";

fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "detail": {"type": "invalid_request", "code": code, "message": message, "request_id": "req_test", "param": null}
    }))
}

/// Deep-merges `patch` into `target`, as ElevenLabs applies a PATCH.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

impl FakeElevenLabs {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let agents: Arc<Mutex<HashMap<String, Value>>> = Arc::default();
        let outbound: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let store = agents.clone();
        let calls = outbound.clone();
        let conversations: Arc<Mutex<HashMap<String, Value>>> = Arc::default();
        let convs = conversations.clone();
        let dial_delay: Arc<Mutex<std::time::Duration>> = Arc::default();
        let answer_delay = dial_delay.clone();
        let last_key: Arc<Mutex<Option<String>>> = Arc::default();
        let seen = last_key.clone();
        let phone_numbers: Arc<Mutex<HashMap<String, Value>>> = Arc::new(Mutex::new(
            [
                json!({"phone_number_id": TWILIO_NUMBER_ID, "phone_number": "+14155550100", "label": "Sales", "provider": "twilio", "assigned_agent": null}),
                json!({"phone_number_id": SIP_NUMBER_ID, "phone_number": "+14155550101", "label": "Trunk", "provider": "sip_trunk", "assigned_agent": null}),
            ]
            .into_iter()
            .map(|n| (n["phone_number_id"].as_str().unwrap().to_string(), n))
            .collect(),
        ));
        let workspace_numbers = phone_numbers.clone();
        Mock::given(matchers::any())
            .respond_with(move |req: &Request| {
                let key = req.headers.get("xi-api-key").and_then(|v| v.to_str().ok());
                if !matches!(key, Some(API_KEY | ROTATED_API_KEY)) {
                    return error(401, "invalid_api_key", "Invalid API key");
                }
                *seen.lock().unwrap() = key.map(String::from);
                let path = req.url.path().to_string();
                let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                let mut agents = store.lock().unwrap();
                let now = chrono::Utc::now().timestamp();
                match (req.method.as_str(), path.as_str()) {
                    ("GET", "/v1/voices") => ResponseTemplate::new(200).set_body_json(json!({"voices": [
                        {"voice_id": "voice_rachel", "name": "Rachel", "category": "premade", "labels": {"accent": "american"}, "preview_url": "https://example.test/rachel.mp3", "settings": null},
                        {"voice_id": "voice_adam", "name": "Adam", "category": "premade", "labels": {}, "preview_url": null}
                    ]})),
                    ("GET", "/v1/convai/phone-numbers") => {
                        let mut list: Vec<Value> = workspace_numbers.lock().unwrap().values().cloned().collect();
                        list.sort_by_key(|n| n["phone_number"].as_str().unwrap_or_default().to_string());
                        ResponseTemplate::new(200).set_body_json(Value::Array(list))
                    }
                    ("PATCH", p) if p.starts_with("/v1/convai/phone-numbers/") => {
                        let id = &p["/v1/convai/phone-numbers/".len()..];
                        let mut numbers = workspace_numbers.lock().unwrap();
                        let Some(number) = numbers.get_mut(id) else {
                            return error(404, "phone_number_not_found", "Phone number not found");
                        };
                        match body.get("agent_id") {
                            Some(Value::String(agent)) => {
                                let Some(a) = agents.get(agent.as_str()) else {
                                    return error(404, "agent_not_found", "Agent not found");
                                };
                                number["assigned_agent"] = json!({"agent_id": agent, "agent_name": a["name"]});
                            }
                            Some(Value::Null) => number["assigned_agent"] = Value::Null,
                            _ => {}
                        }
                        ResponseTemplate::new(200).set_body_json(number.clone())
                    }
                    ("POST", "/v1/convai/twilio/outbound-call" | "/v1/convai/sip-trunk/outbound-call") => {
                        for field in ["agent_id", "agent_phone_number_id", "to_number"] {
                            if !body.get(field).is_some_and(Value::is_string) {
                                return ResponseTemplate::new(422).set_body_json(json!({"detail": [
                                    {"loc": ["body", field], "msg": "Field required", "type": "missing"}
                                ]}));
                            }
                        }
                        if !agents.contains_key(body["agent_id"].as_str().unwrap_or_default()) {
                            return error(404, "agent_not_found", "Agent not found");
                        }
                        calls.lock().unwrap().push((path.clone(), body.clone()));
                        let conversation = format!("conv_{}", uuid::Uuid::new_v4().simple());
                        // The conversation exists, still running, as soon as the call is placed.
                        convs.lock().unwrap().insert(conversation.clone(), json!({
                            "agent_id": body["agent_id"], "conversation_id": conversation, "status": "in-progress",
                            "transcript": [], "metadata": {"start_time_unix_secs": now},
                            "conversation_initiation_client_data": body.get("conversation_initiation_client_data").cloned().unwrap_or(json!({}))
                        }));
                        let delay = *answer_delay.lock().unwrap();
                        if path.contains("twilio") {
                            ResponseTemplate::new(200).set_body_json(json!({"success": true, "message": "Success", "conversation_id": conversation, "callSid": "CA123"})).set_delay(delay)
                        } else {
                            ResponseTemplate::new(200).set_body_json(json!({"success": true, "message": "Success", "conversation_id": conversation, "sip_call_id": "sip-1"})).set_delay(delay)
                        }
                    }
                    ("GET", "/v1/convai/conversation/get-signed-url" | "/v1/convai/conversation/token") => {
                        let agent = req
                            .url
                            .query_pairs()
                            .find(|(k, _)| k == "agent_id")
                            .map(|(_, v)| v.to_string())
                            .unwrap_or_default();
                        if !agents.contains_key(&agent) {
                            return error(404, "agent_not_found", "Agent not found");
                        }
                        if path.ends_with("token") {
                            ResponseTemplate::new(200).set_body_json(json!({"token": format!("tok_{agent}")}))
                        } else {
                            ResponseTemplate::new(200).set_body_json(json!({
                                "signed_url": format!("wss://api.elevenlabs.io/v1/convai/conversation?agent_id={agent}&conversation_signature=sig_test")
                            }))
                        }
                    }
                    ("GET", "/v1/convai/agents") => {
                        let list: Vec<Value> = agents
                            .values()
                            .map(|a| json!({"agent_id": a["agent_id"], "name": a["name"], "tags": [], "created_at_unix_secs": a["metadata"]["created_at_unix_secs"]}))
                            .collect();
                        ResponseTemplate::new(200).set_body_json(json!({"agents": list, "has_more": false, "next_cursor": null}))
                    }
                    ("POST", "/v1/convai/agents/create") => {
                        if !body.get("conversation_config").is_some_and(Value::is_object) {
                            return ResponseTemplate::new(422).set_body_json(json!({"detail": [
                                {"loc": ["body", "conversation_config"], "msg": "Field required", "type": "missing"}
                            ]}));
                        }
                        let id = format!("agent_{}", uuid::Uuid::new_v4().simple());
                        agents.insert(id.clone(), json!({
                            "agent_id": id, "name": body.get("name").cloned().unwrap_or(json!("")),
                            "conversation_config": body["conversation_config"],
                            "platform_settings": body.get("platform_settings").cloned().unwrap_or(json!({})),
                            "metadata": {"created_at_unix_secs": now, "updated_at_unix_secs": now},
                            "tags": []
                        }));
                        ResponseTemplate::new(200).set_body_json(json!({"agent_id": id}))
                    }
                    ("GET", "/v1/convai/conversations") => {
                        let query = |name: &str| req.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.to_string());
                        let agent = query("agent_id");
                        let after: i64 = query("call_start_after_unix").and_then(|v| v.parse().ok()).unwrap_or(0);
                        let list: Vec<Value> = convs
                            .lock()
                            .unwrap()
                            .values()
                            .filter(|c| agent.as_deref().is_none_or(|a| c["agent_id"] == a))
                            .filter(|c| c["metadata"]["start_time_unix_secs"].as_i64().unwrap_or(0) >= after)
                            .map(|c| json!({
                                "agent_id": c["agent_id"], "conversation_id": c["conversation_id"],
                                "start_time_unix_secs": c["metadata"]["start_time_unix_secs"],
                                "call_duration_secs": 0, "message_count": 0, "status": c["status"],
                                "call_successful": "unknown", "direction": "outbound"
                            }))
                            .collect();
                        ResponseTemplate::new(200).set_body_json(json!({"conversations": list, "has_more": false, "next_cursor": null}))
                    }
                    ("GET", p) if p.starts_with("/v1/convai/conversations/") => {
                        let id = p.trim_start_matches("/v1/convai/conversations/");
                        match convs.lock().unwrap().get(id) {
                            Some(c) => ResponseTemplate::new(200).set_body_json(c.clone()),
                            None => error(404, "conversation_not_found", "Conversation not found"),
                        }
                    }
                    (method, p) if p.starts_with("/v1/convai/agents/") => {
                        let id = p.trim_start_matches("/v1/convai/agents/").to_string();
                        let Some(agent) = agents.get_mut(&id) else {
                            return error(404, "agent_not_found", "Agent not found");
                        };
                        match method {
                            "GET" => ResponseTemplate::new(200).set_body_json(agent.clone()),
                            "PATCH" => {
                                merge(agent, &body);
                                agent["metadata"]["updated_at_unix_secs"] = json!(now);
                                ResponseTemplate::new(200).set_body_json(agent.clone())
                            }
                            "DELETE" => {
                                agents.remove(&id);
                                ResponseTemplate::new(204)
                            }
                            _ => ResponseTemplate::new(405),
                        }
                    }
                    _ => error(404, "not_found", "Not found"),
                }
            })
            .mount(&server)
            .await;
        Self {
            server,
            last_key,
            agents,
            outbound,
            conversations,
            phone_numbers,
            dial_delay,
        }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Answers the next `times` requests with `response` instead.
    pub async fn fail_next(&self, times: u64, response: ResponseTemplate) {
        Mock::given(matchers::any())
            .respond_with(response)
            .up_to_n_times(times)
            .with_priority(1)
            .mount(&self.server)
            .await;
    }

    /// Answers the next `times` dials (outbound-call requests) with `response` instead.
    pub async fn refuse_dials(&self, times: u64, response: ResponseTemplate) {
        Mock::given(matchers::method("POST"))
            .and(matchers::path_regex("/outbound-call$"))
            .respond_with(response)
            .up_to_n_times(times)
            .with_priority(1)
            .mount(&self.server)
            .await;
    }

    pub fn agent(&self, id: &str) -> Option<Value> {
        self.agents.lock().unwrap().get(id).cloned()
    }

    pub fn count(&self) -> usize {
        self.agents.lock().unwrap().len()
    }
}

/// A 429 as ElevenLabs sends it.
pub fn rate_limited(retry_after_secs: u64) -> ResponseTemplate {
    error(429, "rate_limit_exceeded", "Too many requests")
        .insert_header("retry-after", retry_after_secs.to_string())
}

/// A 500.
pub fn server_error() -> ResponseTemplate {
    ResponseTemplate::new(500).set_body_string("internal error")
}
