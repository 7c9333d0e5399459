//! Configuration > API Keys: only super admins manage the ElevenLabs keys; keys are sealed at
//! rest and never shown or logged in clear; the default key is the platform's key at once (and
//! in every process within the settings refresh); an account assigned to a key has its
//! ElevenLabs requests made with it; switching a key off or deleting it falls back.

use serde_json::{Value, json};
use tests::{
    Backend, Decode, TestApp, WorkerMode,
    elevenlabs::{self, FakeElevenLabs},
    expect_error, on_both_backends,
    users::signed_in,
};

const ENCRYPTION_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const WRONG_KEY: &str = "xi_revoked_key_0000";

async fn promoted(app: &TestApp, email: &str, role: shared::accounts::users::Role) -> String {
    tests::users::signed_in_as(app, email, role).await.0
}

on_both_backends!(
    super_admins_rotate_and_assign_elevenlabs_keys,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let base = fake.uri();
        // No key at start-up: the platform has none until a super admin adds one.
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.elevenlabs.api_key = None;
            c.elevenlabs.api_base = base;
            c.elevenlabs.backoff_base_ms = 10;
            c.settings.encryption_key = Some(ENCRYPTION_KEY.into());
        })
        .await;
        use shared::accounts::users::Role;
        let root = promoted(&app, "root@example.com", Role::SuperAdmin).await;
        let ops = promoted(&app, "ops@example.com", Role::Admin).await;
        let (member, member_id) = signed_in(&app, "member@example.com").await;
        let (other, _) = signed_in(&app, "other@example.com").await;
        // Creating an agent asks ElevenLabs with the key in force (listings are cached).
        let agent = json!({"name": "Sales caller", "type": "call", "language": "en",
            "voice_id": "voice_rachel", "first_message": "Hi!", "system_prompt": "Qualify leads."});
        let made = |token: String| {
            let (app, agent) = (&app, agent.clone());
            async move {
                app.post("/api/agents", agent, Some(&token))
                    .await
                    .status()
                    .as_u16()
            }
        };
        assert_eq!(made(member.clone()).await, 503, "no key yet");

        // Only super admins.
        let path = "/api/admin/config/api-keys";
        expect_error(app.get(path, Some(&ops)).await, 403, "super_admin_required").await;
        expect_error(app.get(path, Some(&member)).await, 403, "admin_required").await;
        let empty: Value = app.get(path, Some(&root)).await.success_json().await;
        assert_eq!(empty["data"], json!([]));

        // Refused forms change nothing.
        for (body, field) in [
            (json!({"name": "No key"}), "key"),
            (json!({"name": " ", "key": elevenlabs::API_KEY}), "name"),
            (
                json!({"name": "Spaces", "key": "xi key with spaces"}),
                "key",
            ),
            (
                json!({"name": "Mock users", "key": elevenlabs::API_KEY, "assignedUsers": ["1"]}),
                "assignedUsers",
            ),
            (
                json!({"name": "Stranger", "key": elevenlabs::API_KEY,
                    "assignedUsers": [uuid::Uuid::new_v4()]}),
                "assignedUsers",
            ),
        ] {
            let refused = expect_error(
                app.post(path, body, Some(&root)).await,
                400,
                "validation_error",
            )
            .await;
            assert!(refused["error"]["details"][field].is_string(), "{refused}");
        }

        // The default key is the platform's at once; the answer shows it masked.
        let created = app
            .post(
                path,
                json!({"name": "Production", "key": elevenlabs::API_KEY, "isDefault": true,
                       "assignedUsers": [], "status": "active",
                       "usageStats": {"totalCalls": 0, "remainingQuota": 10000, "costThisMonth": 0}}),
                Some(&root),
            )
            .await;
        let production: Value = created.expect_json(201).await;
        let production = production["data"].clone();
        assert_eq!(production["isDefault"], true);
        assert_ne!(production["key"], elevenlabs::API_KEY);
        assert!(
            production["key"]
                .as_str()
                .unwrap()
                .ends_with(&elevenlabs::API_KEY[elevenlabs::API_KEY.len() - 4..])
        );
        assert_eq!(made(member.clone()).await, 201);
        let id = production["id"].as_str().unwrap().to_string();

        // The edit dialog sends the masked key back: nothing changes.
        let kept: Value = app
            .send(
                reqwest::Method::PUT,
                &format!("{path}/{id}"),
                Some(json!({"name": "Production EU", "key": production["key"], "isDefault": true})),
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(kept["data"]["name"], "Production EU");
        assert_eq!(made(member.clone()).await, 201);

        // Rotated to a key ElevenLabs refuses, then back: every request follows the default.
        app.send(
            reqwest::Method::PUT,
            &format!("{path}/{id}"),
            Some(json!({"key": WRONG_KEY})),
            Some(&root),
        )
        .await
        .success_json::<Value>()
        .await;
        assert_eq!(made(member.clone()).await, 502);
        app.send(
            reqwest::Method::PUT,
            &format!("{path}/{id}"),
            Some(json!({"key": elevenlabs::API_KEY})),
            Some(&root),
        )
        .await
        .success_json::<Value>()
        .await;
        assert_eq!(made(member.clone()).await, 201);

        // A key assigned to the member: their agents are made with it, other accounts' are not.
        let customer: Value = app
            .post(
                path,
                json!({"name": "Customer workspace", "key": WRONG_KEY,
                               "assignedUsers": [member_id]}),
                Some(&root),
            )
            .await
            .expect_json(201)
            .await;
        let customer_id = customer["data"]["id"].as_str().unwrap().to_string();
        assert_eq!(customer["data"]["assignedUsers"], json!([member_id]));
        let made_with_wrong_key = app.post("/api/agents", agent.clone(), Some(&member)).await;
        assert_eq!(
            made_with_wrong_key.status(),
            502,
            "ElevenLabs refused the member's key"
        );
        assert_eq!(
            app.post("/api/agents", agent.clone(), Some(&other))
                .await
                .status(),
            201
        );
        // Switched off, the member falls back to the default.
        app.send(
            reqwest::Method::PUT,
            &format!("{path}/{customer_id}"),
            Some(json!({"status": "inactive"})),
            Some(&root),
        )
        .await
        .success_json::<Value>()
        .await;
        assert_eq!(
            app.post("/api/agents", agent.clone(), Some(&member))
                .await
                .status(),
            201
        );

        let list: Value = app.get(path, Some(&root)).await.success_json().await;
        let names: Vec<&str> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["Production EU", "Customer workspace"],
            "the default first"
        );

        // Deleting the default returns the platform to its start-up key (none here).
        let gone: Value = app
            .send(
                reqwest::Method::DELETE,
                &format!("{path}/{id}"),
                None,
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(gone["success"], true);
        assert_eq!(made(member.clone()).await, 503);
        expect_error(
            app.send(
                reqwest::Method::DELETE,
                &format!("{path}/{id}"),
                None,
                Some(&root),
            )
            .await,
            404,
            "api_key_not_found",
        )
        .await;

        // Never in clear: not in the answers, the audit log or the database.
        let log = app
            .get(
                "/api/admin/audit?resourceType=api_key&limit=100",
                Some(&root),
            )
            .await
            .text()
            .await
            .unwrap();
        let log: Value = serde_json::from_str(&log).unwrap();
        let actions: Vec<&str> = log["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions.iter().filter(|a| **a == "api_key.created").count(),
            2
        );
        assert!(actions.contains(&"api_key.deleted"));
        let everything = format!("{log}{list}");
        assert!(!everything.contains(elevenlabs::API_KEY) && !everything.contains(WRONG_KEY));
        use sea_orm::EntityTrait;
        for row in shared::entities::provider_api_keys::Entity::find()
            .all(&app.services.db)
            .await
            .unwrap()
        {
            assert!(
                !row.sealed_key.contains(WRONG_KEY)
                    && !row.sealed_key.contains(elevenlabs::API_KEY)
            );
        }
    }
);
