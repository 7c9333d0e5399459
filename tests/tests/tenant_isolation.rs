//! Tenant isolation, enumerated from the OpenAPI document: every operation with a path id,
//! called by another user with the owner's id, answers 404 — and changes nothing. A new
//! endpoint with an id fails this test until it names the resource its id points to.

use std::time::Duration;

use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use serde_json::{Value, json};
use tests::{
    Backend, Decode, TestApp, WorkerMode, on_both_backends, post_call,
    stripe::{self, FakeStripe},
    users::{signed_in, verified_user},
};

const WAIT: Duration = Duration::from_secs(30);

on_both_backends!(
    another_users_ids_are_not_found_anywhere,
    |backend: Backend| async move {
        let stripe_fake = FakeStripe::start().await;
        let stripe_base = stripe_fake.api_base();
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.elevenlabs.webhook_secrets = vec![post_call::SECRET.into()];
            c.billing.stripe_secret_key = Some(stripe::SECRET_KEY.into());
            c.billing.stripe_api_base = stripe_base;
        })
        .await;
        let db = &app.services.db;
        // Verified: purchases need a verified email.
        let (owner, owner_id) = verified_user(&app, "owner@example.com").await;
        let owner_id: uuid::Uuid = owner_id.parse().unwrap();
        let (stranger, _) = signed_in(&app, "stranger@example.com").await;

        // One of everything the owner can have.
        let agent = post_call::insert_agent(&app, owner_id, "agent_iso_call").await;
        let chat_agent = post_call::insert_agent(&app, owner_id, "agent_iso_chat").await;
        let mut chat_row = chat_agent.clone().into_active_model();
        chat_row.kind = Set(shared::calls::Channel::Chat);
        chat_row.update(db).await.unwrap();
        let call_event = post_call::transcription("agent_iso_call", "conv_iso_call");
        let mut chat_event = post_call::transcription("agent_iso_chat", "conv_iso_chat");
        chat_event["data"]["metadata"]["phone_call"] = Value::Null;
        // An incomplete report also leaves the owner a notification.
        let mut incomplete = post_call::transcription("agent_iso_call", "conv_iso_partial");
        incomplete["data"]
            .as_object_mut()
            .unwrap()
            .remove("transcript");
        for event in [&call_event, &chat_event, &incomplete] {
            assert_eq!(post_call::deliver(&app, event, None).await.status(), 200);
        }
        app.wait_for_jobs(WAIT).await;
        let first = |v: Value| v["items"][0]["id"].as_str().unwrap().to_string();
        let call = app
            .get("/api/calls", Some(&owner))
            .await
            .success_json::<Value>()
            .await["data"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let chat = first(
            app.get("/api/chats", Some(&owner))
                .await
                .success_json()
                .await,
        );
        let contact = app
            .get("/api/contacts", Some(&owner))
            .await
            .success_json::<Value>()
            .await["data"]["contacts"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let notification = app
            .get("/api/notifications", Some(&owner))
            .await
            .success_json::<Value>()
            .await["data"]["notifications"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"name,phone\nAda,+14155550188\n".to_vec())
                .file_name("c.csv"),
        );
        let import: Value = app
            .client
            .post(app.url("/api/contacts/imports"))
            .bearer_auth(&owner)
            .multipart(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let purchase: Value = app
            .post(
                "/api/billing/purchases",
                json!({"credits": 100}),
                Some(&owner),
            )
            .await
            .success_json()
            .await;
        let key: Value = app
            .post("/api/integrations/keys", json!({}), Some(&owner))
            .await
            .success_json()
            .await;
        let campaign: Value = app
            .post(
                "/api/campaigns",
                json!({
                    "name": "Isolated", "agent_id": agent.id, "max_concurrent_calls": 1,
                    "contact_ids": [contact], "first_call_time": "09:00",
                    "last_call_time": "17:00", "start_date": "2026-12-01"
                }),
                Some(&owner),
            )
            .await
            .expect_json(201)
            .await;
        let customer: Value = app
            .post(
                "/api/customers/convert",
                json!({"contactId": contact}),
                Some(&owner),
            )
            .await
            .success_json()
            .await;
        let follow_up: Value = app
            .post(
                "/api/follow-ups",
                json!({"leadPhone": "+14155550999", "followUpDate": "2027-03-01"}),
                Some(&owner),
            )
            .await
            .success_json()
            .await;
        app.wait_for_jobs(WAIT).await;

        // Which resource each path's id names.
        let id_for = |path: &str| -> Option<String> {
            let id = match path {
                p if p.starts_with("/api/agents/") => agent.id.to_string(),
                p if p.starts_with("/api/calls/") => call.clone(),
                p if p.starts_with("/api/chats/") => chat.clone(),
                p if p.starts_with("/api/contacts/imports/") => import["id"].as_str()?.to_string(),
                p if p.starts_with("/api/contacts/") => contact.clone(),
                // A lead is its contact.
                p if p.starts_with("/api/leads/") => contact.clone(),
                p if p.starts_with("/api/notifications/") => notification.clone(),
                p if p.starts_with("/api/billing/purchases/") => {
                    purchase["id"].as_str()?.to_string()
                }
                p if p.starts_with("/api/integrations/keys/") => {
                    key["key"]["id"].as_str()?.to_string()
                }
                p if p.starts_with("/api/customers/") => {
                    customer["data"]["id"].as_str()?.to_string()
                }
                p if p.starts_with("/api/campaigns/") => {
                    campaign["campaign"]["id"].as_str()?.to_string()
                }
                p if p.starts_with("/api/follow-ups/") => {
                    follow_up["data"]["id"].as_str()?.to_string()
                }
                _ => return None,
            };
            Some(id)
        };

        let spec: Value = app.get("/openapi.json", None).await.success_json().await;
        let mut checked = Vec::new();
        let mut unmapped = Vec::new();
        for (path, ops) in spec["paths"].as_object().unwrap() {
            // Admins see every tenant by design (their own guard test covers them).
            // Report links belong to no tenant: the link's own token opens them, and a wrong
            // one answers 404 (admin_reports.rs, admin_report_shares.rs).
            let link = ["/api/report-downloads/", "/api/report-shares/"]
                .iter()
                .any(|p| path.starts_with(p));
            if !path.contains("{id}") || path.starts_with("/api/admin") || link {
                continue;
            }
            let Some(id) = id_for(path) else {
                unmapped.push(path.clone());
                continue;
            };
            let concrete = path.replace("{id}", &id);
            for (method, op) in ops.as_object().unwrap() {
                let method: reqwest::Method = method.to_uppercase().parse().unwrap();
                let body = tests::example_body(&spec, op);
                let resp = app
                    .send(method.clone(), &concrete, body, Some(&stranger))
                    .await;
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap();
                assert_eq!(status, 404, "{method} {path}: {text}");
                let code = serde_json::from_str::<Value>(&text).unwrap()["error"]["reason"]
                    .as_str()
                    .unwrap()
                    .to_string();
                assert!(code.ends_with("_not_found"), "{method} {path}: {code}");
                checked.push(format!("{method} {path}"));
            }
        }
        assert!(
            unmapped.is_empty(),
            "paths with an id and no resource here: {unmapped:?}"
        );
        assert!(
            checked.len() >= 19,
            "{} operations checked: {checked:?}",
            checked.len()
        );

        // Nothing the stranger sent changed the owner's things.
        for path in [
            format!("/api/agents/{}", agent.id),
            format!("/api/calls/{call}"),
            format!("/api/chats/{chat}"),
            format!("/api/contacts/{contact}"),
            format!("/api/leads/{contact}"),
            format!("/api/contacts/imports/{}", import["id"].as_str().unwrap()),
            format!(
                "/api/billing/purchases/{}",
                purchase["id"].as_str().unwrap()
            ),
        ] {
            assert_eq!(app.get(&path, Some(&owner)).await.status(), 200, "{path}");
        }
        let notifications: Value = app
            .get("/api/notifications", Some(&owner))
            .await
            .success_json()
            .await;
        assert_eq!(
            notifications["data"]["unreadCount"], 1,
            "the stranger read nothing"
        );
        let keys: Value = app
            .get("/api/integrations/keys", Some(&owner))
            .await
            .success_json()
            .await;
        assert_eq!(keys.as_array().unwrap().len(), 1, "the key is not revoked");
    }
);
