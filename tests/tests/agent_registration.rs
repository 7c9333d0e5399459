//! How agents reach users in the client's frontend: an admin registers an agent that exists on
//! ElevenLabs (checked there; its live name and configuration kept) for a user, or moves one
//! to another user; the user's Agent Manager then lists it. Also the manager's connection test.

use serde_json::{Value, json};
use tests::{
    Backend, Decode, TestApp, WorkerMode,
    elevenlabs::{self, FakeElevenLabs},
    expect_error, on_both_backends,
    users::signed_in,
};

async fn app_with(backend: Backend, fake: &FakeElevenLabs) -> TestApp {
    let base = fake.uri();
    TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
        c.elevenlabs.api_key = Some(elevenlabs::API_KEY.into());
        c.elevenlabs.api_base = base;
        c.elevenlabs.backoff_base_ms = 10;
    })
    .await
}

/// An agent made in ElevenLabs' own dashboard, which we have never seen.
fn existing(fake: &FakeElevenLabs, id: &str, name: &str, text_only: bool) {
    fake.agents.lock().unwrap().insert(
        id.into(),
        json!({
            "agent_id": id, "name": name,
            "conversation_config": {
                "agent": {"language": "es", "prompt": {"prompt": "Hola", "llm": "gemini-2.0-flash"}},
                "conversation": {"text_only": text_only}
            },
            "platform_settings": {}, "metadata": {"created_at_unix_secs": 1_700_000_000}
        }),
    );
}

async fn admin(app: &TestApp, email: &str) -> (String, uuid::Uuid) {
    tests::users::signed_in_admin(app, email).await
}

async fn list(app: &TestApp, token: &str) -> Value {
    app.get("/api/agents", Some(token))
        .await
        .success_json()
        .await
}

on_both_backends!(
    an_admin_registers_an_elevenlabs_agent_for_a_user,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let app = app_with(backend, &fake).await;
        let (root, _) = admin(&app, "root@example.com").await;
        let (user_token, user) = signed_in(&app, "ines@example.com").await;
        let (other_token, other) = signed_in(&app, "otto@example.com").await;
        existing(&fake, "agent_es_sales", "Ventas", false);
        existing(&fake, "agent_es_chat", "Chat web", true);

        // The frontend's form: its earlier provider's field name, the user picked.
        let form = json!({
            "bolna_agent_id": "agent_es_sales", "name": "", "description": "Spanish sales line",
            "agent_type": "call", "is_active": true, "assignToUserId": user
        });
        let created: Value = app
            .post("/api/admin/agents", form.clone(), Some(&root))
            .await
            .expect_json(201)
            .await;
        assert_eq!(created["success"], true);
        let agent = &created["data"];
        assert_eq!(
            agent["name"], "Ventas",
            "the live name when the form leaves it empty"
        );
        assert_eq!(agent["userId"], user.to_string());
        assert_eq!(agent["language"], "Spanish");
        assert_eq!(agent["model"], "gemini-2.0-flash");
        assert_eq!(agent["type"], "CallAgent");
        assert_eq!(agent["elevenlabsAgentId"], "agent_es_sales");
        let id = agent["id"].as_str().unwrap().to_string();

        // The user's Agent Manager lists it; nobody else's does.
        let mine = list(&app, &user_token).await;
        assert_eq!(mine["data"][0]["id"], id);
        assert_eq!(mine["data"][0]["description"], "Spanish sales line");
        assert_eq!(list(&app, &other_token).await["data"], json!([]));

        // A text-only agent is a chat agent; without a user it is the admin's.
        let chat: Value = app
            .post(
                "/api/admin/agents",
                json!({"bolna_agent_id": "agent_es_chat", "is_active": false}),
                Some(&root),
            )
            .await
            .expect_json(201)
            .await;
        assert_eq!(chat["data"]["type"], "ChatAgent");
        assert_eq!(chat["data"]["status"], "draft");

        // Refused, and nothing stored: twice the same id, an id ElevenLabs does not know, a
        // user that does not exist, a non-admin, a malformed id.
        expect_error(
            app.post("/api/admin/agents", form.clone(), Some(&root))
                .await,
            409,
            "agent_already_registered",
        )
        .await;
        let unknown = app
            .post(
                "/api/admin/agents",
                json!({"bolna_agent_id": "agent_nowhere", "assignToUserId": user}),
                Some(&root),
            )
            .await;
        let body = expect_error(unknown, 400, "validation_error").await;
        assert!(
            body["error"]["details"]["bolna_agent_id"].is_string(),
            "{body}"
        );
        expect_error(
            app.post(
                "/api/admin/agents",
                json!({"bolna_agent_id": "agent_es_other", "assignToUserId": uuid::Uuid::new_v4()}),
                Some(&root),
            )
            .await,
            404,
            "user_not_found",
        )
        .await;
        expect_error(
            app.post("/api/admin/agents", form.clone(), Some(&user_token))
                .await,
            403,
            "admin_required",
        )
        .await;
        expect_error(
            app.post(
                "/api/admin/agents",
                json!({"bolna_agent_id": "agent/../x"}),
                Some(&root),
            )
            .await,
            400,
            "validation_error",
        )
        .await;
        assert_eq!(list(&app, &user_token).await["pagination"]["total"], 1);

        // Assigned to another user: it leaves the first manager for the second.
        let moved: Value = app
            .post(
                &format!("/api/admin/agents/{id}/assign"),
                json!({"userId": other}),
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(moved, json!({"success": true, "data": {"assigned": true}}));
        assert_eq!(list(&app, &user_token).await["data"], json!([]));
        assert_eq!(list(&app, &other_token).await["data"][0]["id"], id);
        expect_error(
            app.post(
                &format!("/api/admin/agents/{id}/assign"),
                json!({}),
                Some(&root),
            )
            .await,
            400,
            "validation_error",
        )
        .await;
        expect_error(
            app.post(
                &format!("/api/admin/agents/{}/assign", uuid::Uuid::new_v4()),
                json!({"userId": other}),
                Some(&root),
            )
            .await,
            404,
            "agent_not_found",
        )
        .await;

        // Both show in the audit log.
        let (_, actions) = tests::users::audit_log(&app, &root).await;
        assert!(
            actions.contains(&"agent.registered".to_string()),
            "{actions:?}"
        );
        assert!(
            actions.contains(&"agent.assigned".to_string()),
            "{actions:?}"
        );
    }
);

on_both_backends!(
    the_connection_test_says_whether_elevenlabs_answers,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let app = app_with(backend, &fake).await;
        let (token, _) = signed_in(&app, "tess@example.com").await;
        let ok: Value = app
            .get("/api/agents/test-connection", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(ok, json!({"success": true, "data": {"connected": true}}));
        fake.fail_next(1, elevenlabs::server_error()).await;
        let down: Value = app
            .get("/api/agents/test-connection", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(down["data"]["connected"], false);
        expect_error(
            app.get("/api/agents/test-connection", None).await,
            401,
            "missing_token",
        )
        .await;
    }
);
