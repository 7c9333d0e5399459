//! What a campaign needs from an account, made through the API as a user makes it: a call agent
//! on the fake ElevenLabs' Twilio number, and contacts.

use serde_json::{Value, json};

use crate::{Decode, TestApp, elevenlabs::TWILIO_NUMBER_ID};

/// A call agent of the account's with the fake's Twilio number (synced to the fake
/// ElevenLabs): the API's `data` (`id`, `elevenlabsAgentId`, …).
pub async fn call_agent(app: &TestApp, token: &str) -> Value {
    let agent: Value = app
        .post(
            "/api/agents",
            json!({"name": "Caller", "type": "call", "first_message": "Hi", "phone_number_id": TWILIO_NUMBER_ID}),
            Some(token),
        )
        .await
        .expect_json(201)
        .await;
    agent["data"].clone()
}

/// One contact of the account's per number: their ids.
pub async fn contacts<S: AsRef<str>>(app: &TestApp, token: &str, phones: &[S]) -> Vec<Value> {
    let mut ids = Vec::with_capacity(phones.len());
    for phone in phones {
        let phone = phone.as_ref();
        let c: Value = app
            .post(
                "/api/contacts",
                json!({"name": format!("Contact {phone}"), "phone_number": phone}),
                Some(token),
            )
            .await
            .expect_json(201)
            .await;
        ids.push(c["data"]["id"].clone());
    }
    ids
}
