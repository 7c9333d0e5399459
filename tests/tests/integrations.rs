//! ElevenLabs' callbacks during a call: the caller lookup (conversation-initiation webhook) and
//! the contact lookup for tools, authenticated by rotatable per-user secrets.

use reqwest::Method;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::{Value, json};
use shared::entities::agents;
use tests::{
    Backend, Decode, TestApp, expect_error, on_both_backends, post_call, users::signed_in,
};

const EL_AGENT: &str = "agent_caller_lookup_0000000";

async fn new_secret(app: &TestApp, token: &str) -> (String, String) {
    let resp = app
        .post("/api/integrations/keys", json!({}), Some(token))
        .await;
    let body: Value = resp.expect_json(201).await;
    (
        body["secret"].as_str().unwrap().to_string(),
        body["key"]["id"].as_str().unwrap().to_string(),
    )
}

async fn init(app: &TestApp, secret: Option<&str>, body: &str) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/api/integrations/elevenlabs/conversation-init"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(secret) = secret {
        req = req.header("x-switchboard-secret", secret);
    }
    req.send().await.unwrap()
}

async fn lookup(app: &TestApp, secret: &str, phone: &str) -> reqwest::Response {
    // A path segment: `+` and spaces percent-encoded.
    let phone = phone.replace('+', "%2B").replace(' ', "%20");
    app.client
        .get(app.url(&format!("/api/contact-lookup/{phone}")))
        .header("x-switchboard-secret", secret)
        .send()
        .await
        .unwrap()
}

on_both_backends!(
    callers_are_looked_up_for_elevenlabs,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (token, me) = signed_in(&app, "lookup@example.com").await;
        let (other_token, _) = signed_in(&app, "other@example.com").await;
        let agent = post_call::insert_agent(&app, me, EL_AGENT).await;
        let mut active: agents::ActiveModel = agent.into();
        active.config = Set(json!({"conversation_config": {"agent": {
            "first_message": "Hi {{contact_name}}! Still on the {{plan}} plan?",
            "prompt": {"prompt": "It is {{system__time}}. Be kind to {{contact_company}}."}
        }}}));
        active.update(&app.services.db).await.unwrap();
        let created = app
        .post(
            "/api/contacts",
            json!({"name": "Dana Reyes", "phone_number": "+14155550123", "custom_fields": {"plan": "pro"}}),
            Some(&token),
        )
        .await;
        assert_eq!(created.status(), 201);
        let (secret, first_key) = new_secret(&app, &token).await;
        assert!(secret.starts_with("sbk_"));

        let known = json!({"caller_id": "+14155550123", "agent_id": EL_AGENT, "called_number": "+14155550100", "call_sid": "CA1"});
        let body: Value = init(&app, Some(&secret), &known.to_string())
            .await
            .success_json()
            .await;
        assert_eq!(body["type"], "conversation_initiation_client_data");
        let vars = &body["dynamic_variables"];
        assert_eq!(vars["contact_name"], "Dana Reyes");
        assert_eq!(vars["plan"], "pro");
        assert_eq!(
            vars["contact_company"], "",
            "unknown fields are empty, not missing"
        );
        assert!(
            vars.get("system__time").is_none(),
            "ElevenLabs fills its own"
        );

        let stranger = json!({"caller_id": "+14155559999", "agent_id": EL_AGENT});
        let body: Value = init(&app, Some(&secret), &stranger.to_string())
            .await
            .success_json()
            .await;
        assert_eq!(body["dynamic_variables"]["contact_name"], "");
        assert_eq!(
            body["dynamic_variables"]["plan"], "",
            "every variable the agent uses"
        );
        // Nonsense still answers 200, so the call goes on.
        for nonsense in ["{not json", "[]", r#"{"caller_id": 12}"#] {
            let resp = init(&app, Some(&secret), nonsense).await;
            assert_eq!(resp.status(), 200, "{nonsense}");
        }
        expect_error(
            init(&app, None, &known.to_string()).await,
            401,
            "invalid_integration_secret",
        )
        .await;
        expect_error(
            init(&app, Some("sbk_guess"), &known.to_string()).await,
            401,
            "invalid_integration_secret",
        )
        .await;

        // Tool lookup: any format; others' secrets see only their own contacts.
        let found: Value = lookup(&app, &secret, "(415) 555-0123")
            .await
            .success_json()
            .await;
        assert_eq!(found["name"], "Dana Reyes");
        expect_error(
            lookup(&app, &secret, "+14155559999").await,
            404,
            "contact_not_found",
        )
        .await;
        let (other_secret, _) = new_secret(&app, &other_token).await;
        expect_error(
            lookup(&app, &other_secret, "+14155550123").await,
            404,
            "contact_not_found",
        )
        .await;
        let body: Value = init(&app, Some(&other_secret), &known.to_string())
            .await
            .success_json()
            .await;
        assert_eq!(
            body["dynamic_variables"]["contact_name"], "",
            "another tenant's caller is unknown"
        );
        assert!(
            body["dynamic_variables"].get("plan").is_none(),
            "another tenant's agent is unknown"
        );

        // Rotation: two secrets work; a third retires the oldest; revoking works, for the owner only.
        let (second, second_key) = new_secret(&app, &token).await;
        assert_eq!(lookup(&app, &secret, "+14155550123").await.status(), 200);
        assert_eq!(lookup(&app, &second, "+14155550123").await.status(), 200);
        let (third, _) = new_secret(&app, &token).await;
        expect_error(
            lookup(&app, &secret, "+14155550123").await,
            401,
            "invalid_integration_secret",
        )
        .await;
        let keys: Value = app
            .get("/api/integrations/keys", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(keys.as_array().unwrap().len(), 2);
        assert!(keys.to_string().find(&first_key).is_none());
        let path = format!("/api/integrations/keys/{second_key}");
        expect_error(
            app.send(Method::DELETE, &path, None, Some(&other_token))
                .await,
            404,
            "integration_key_not_found",
        )
        .await;
        assert_eq!(
            app.send(Method::DELETE, &path, None, Some(&token))
                .await
                .status(),
            204
        );
        expect_error(
            lookup(&app, &second, "+14155550123").await,
            401,
            "invalid_integration_secret",
        )
        .await;
        assert_eq!(lookup(&app, &third, "+14155550123").await.status(), 200);
        expect_error(
            app.get("/api/integrations/keys", None).await,
            401,
            "missing_token",
        )
        .await;
    }
);

/// `GET` one of the tool lookup paths with the secret in `header`.
async fn tool_lookup(app: &TestApp, path: &str, header: &str, secret: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header(header, secret)
        .send()
        .await
        .unwrap()
}

on_both_backends!(
    the_lookup_tools_of_the_clients_earlier_agents,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (token, _) = signed_in(&app, "tools@example.com").await;
        let (other_token, _) = signed_in(&app, "tools-other@example.com").await;
        app.post(
            "/api/contacts",
            json!({"name": "Dana Reyes", "phoneNumber": "+14155550123", "company": "Northwind", "notes": "VIP"}),
            Some(&token),
        )
        .await
        .expect_json::<Value>(201)
        .await;
        app.post(
            "/api/contacts",
            json!({"name": "Not yours", "phoneNumber": "+14155550177"}),
            Some(&other_token),
        )
        .await
        .expect_json::<Value>(201)
        .await;
        let (secret, _) = new_secret(&app, &token).await;

        for (path, header) in [
            ("/api/contacts/lookup/%2B14155550123", "X-API-Key"),
            (
                "/api/webhooks/contact-lookup/(415)%20555-0123",
                "X-Switchboard-Secret",
            ),
        ] {
            let body: Value = tool_lookup(&app, path, header, &secret)
                .await
                .expect_json(200)
                .await;
            assert_eq!(
                body,
                json!({"success": true, "data": {"found": true, "name": "Dana Reyes",
                       "company": "Northwind", "hasEmail": false, "hasNotes": true}}),
                "{path}"
            );
        }
        // Another account's contact is not found: the earlier backend looked across accounts.
        let theirs: Value = tool_lookup(
            &app,
            "/api/contacts/lookup/%2B14155550177",
            "X-API-Key",
            &secret,
        )
        .await
        .expect_json(200)
        .await;
        assert_eq!(
            theirs["data"],
            json!({"found": false, "message": "No contact found for this phone number"})
        );
        let bad = tool_lookup(&app, "/api/contacts/lookup/call-me", "X-API-Key", &secret).await;
        let err = expect_error(bad, 400, "validation_error").await;
        assert_eq!(
            err["error"]["details"]["phone"],
            "Invalid phone number format"
        );
        expect_error(
            tool_lookup(
                &app,
                "/api/contacts/lookup/%2B14155550123",
                "X-API-Key",
                "sbk_wrong",
            )
            .await,
            401,
            "invalid_integration_secret",
        )
        .await;
        expect_error(
            app.get("/api/contacts/lookup/%2B14155550123", None).await,
            401,
            "invalid_integration_secret",
        )
        .await;

        let batch = |phones: Value| {
            app.client
                .post(app.url("/api/contacts/lookup/batch"))
                .header("X-API-Key", &secret)
                .json(&json!({"phones": phones}))
                .send()
        };
        let body: Value = batch(json!(["+1 415 555 0123", "+14155550177", "call me"]))
            .await
            .unwrap()
            .expect_json(200)
            .await;
        let data = &body["data"];
        assert_eq!(
            data["summary"],
            json!({"total": 3, "found": 1, "notFound": 2})
        );
        assert_eq!(data["results"][0]["name"], "Dana Reyes");
        assert_eq!(data["results"][1]["found"], false);
        assert_eq!(data["results"][2]["error"], "Invalid phone number format");
        expect_error(batch(json!([])).await.unwrap(), 400, "validation_error").await;
        let many: Vec<String> = (0..101).map(|i| format!("+1415555{i:04}")).collect();
        expect_error(batch(json!(many)).await.unwrap(), 400, "validation_error").await;
    }
);
