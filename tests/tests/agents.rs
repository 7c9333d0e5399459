//! Agents on ElevenLabs through us: the lifecycle, ElevenLabs' refusals and outages, retries,
//! rate limits passed through, validation and tenant isolation.

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use shared::entities::agents;
use tests::{
    Backend, Decode, TestApp, WorkerMode,
    elevenlabs::{self, FakeElevenLabs},
    expect_error,
    fake_http::ResponseTemplate,
    on_both_backends,
    users::register,
};

async fn agents_app(backend: Backend, fake: &FakeElevenLabs) -> TestApp {
    let base = fake.uri();
    TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
        c.elevenlabs.api_key = Some(elevenlabs::API_KEY.into());
        c.elevenlabs.api_base = base;
        c.elevenlabs.backoff_base_ms = 10;
        c.elevenlabs.max_retry_after_secs = 2;
    })
    .await
}

async fn token(app: &TestApp, email: &str) -> String {
    register(app, email).await["token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn sales_agent() -> Value {
    json!({
        "name": "Sales caller", "type": "call", "description": "Qualifies inbound leads",
        "language": "en", "voice_id": "voice_rachel", "llm": "gpt-4o-mini",
        "system_prompt": "You qualify leads politely.", "first_message": "Hi, this is Sam!",
        "lead_questions": [{"id": "budget", "type": "number", "description": "Monthly budget in USD"}],
        "conversation_config": {"agent": {"max_duration_seconds": 600}, "tts": {"stability": 0.4}},
        "platform_settings": {"widget": {"variant": "compact"}}
    })
}

/// The agent inside a `{success, data}` answer.
fn data(body: Value) -> Value {
    assert_eq!(body["success"], true, "{body}");
    body["data"].clone()
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

on_both_backends!(
    an_agent_lives_on_elevenlabs_through_us,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let app = agents_app(backend, &fake).await;
        let token = token(&app, "maker@example.com").await;

        let created = app.post("/api/agents", sales_agent(), Some(&token)).await;
        let agent = data(created.expect_json(201).await);
        assert_eq!(agent["type"], "CallAgent");
        assert_eq!(agent["status"], "active");
        assert_eq!(agent["isActive"], true);
        let el_id = agent["elevenlabsAgentId"].as_str().unwrap().to_string();
        let remote = fake.agent(&el_id).expect("created on ElevenLabs");
        assert_eq!(remote["name"], "Sales caller");
        assert_eq!(
            remote["conversation_config"]["agent"]["first_message"],
            "Hi, this is Sam!"
        );
        assert_eq!(
            remote["conversation_config"]["agent"]["prompt"]["prompt"],
            "You qualify leads politely."
        );
        assert_eq!(
            remote["conversation_config"]["agent"]["max_duration_seconds"],
            600
        );
        assert_eq!(
            remote["conversation_config"]["tts"]["voice_id"],
            "voice_rachel"
        );
        assert_eq!(
            remote["conversation_config"]["conversation"]["text_only"],
            false
        );
        assert_eq!(
            remote["platform_settings"]["data_collection"]["budget"]["type"],
            "number"
        );
        assert_eq!(remote["platform_settings"]["widget"]["variant"], "compact");

        let id = agent["id"].as_str().unwrap().to_string();
        let list: Value = app
            .get("/api/agents", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(list["pagination"]["total"], 1);
        assert_eq!(list["data"][0]["id"], id);
        let config: Value = app
            .get(&format!("/api/agents/{id}/config"), Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(config["agent_id"], el_id);

        let patched = send(
            &app,
            reqwest::Method::PATCH,
            &format!("/api/agents/{id}"),
            &token,
            Some(json!({"name": "Closer", "first_message": "Hello again", "status": "draft"})),
        )
        .await;
        let patched = data(patched.expect_json(200).await);
        assert_eq!(
            (patched["name"].as_str(), patched["status"].as_str()),
            (Some("Closer"), Some("draft"))
        );
        let remote = fake.agent(&el_id).unwrap();
        assert_eq!(remote["name"], "Closer");
        assert_eq!(
            remote["conversation_config"]["agent"]["first_message"],
            "Hello again"
        );
        assert_eq!(
            remote["conversation_config"]["agent"]["language"], "en",
            "untouched fields stay"
        );

        let put = send(
            &app,
            reqwest::Method::PUT,
            &format!("/api/agents/{id}"),
            &token,
            Some(json!({"language": "fr"})),
        )
        .await;
        expect_error(put, 400, "validation_error").await;

        let deleted = send(
            &app,
            reqwest::Method::DELETE,
            &format!("/api/agents/{id}"),
            &token,
            None,
        )
        .await;
        assert_eq!(deleted.status(), 204);
        assert!(fake.agent(&el_id).is_none(), "deleted on ElevenLabs");
        expect_error(
            app.get(&format!("/api/agents/{id}"), Some(&token)).await,
            404,
            "agent_not_found",
        )
        .await;

        // Chat agents are text-only on ElevenLabs.
        let mut chat = sales_agent();
        chat["type"] = json!("chat");
        let chat = data(
            app.post("/api/agents", chat, Some(&token))
                .await
                .success_json()
                .await,
        );
        let remote = fake
            .agent(chat["elevenlabsAgentId"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            remote["conversation_config"]["conversation"]["text_only"],
            true
        );
        let chats: Value = app
            .get("/api/agents?type=chat", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(chats["pagination"]["total"], 1);
        assert_eq!(chats["data"][0]["type"], "ChatAgent");
        let calls: Value = app
            .get("/api/agents?type=call", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(calls["pagination"]["total"], 0);
        assert_eq!(calls["data"], json!([]));
    }
);

on_both_backends!(
    elevenlabs_failures_become_clear_errors,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let app = agents_app(backend, &fake).await;
        let token = token(&app, "errs@example.com").await;

        // A refusal (422 FastAPI body): its reason comes back and nothing is stored.
        fake.fail_next(1, ResponseTemplate::new(422).set_body_json(json!({"detail": [
        {"loc": ["body", "conversation_config", "tts", "voice_id"], "msg": "Unknown voice", "type": "value_error"}
    ]}))).await;
        let refused = app.post("/api/agents", sales_agent(), Some(&token)).await;
        let body = expect_error(refused, 502, "provider_error").await;
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Unknown voice")
        );
        assert!(!body.to_string().contains(elevenlabs::API_KEY));
        assert_eq!(
            agents::Entity::find()
                .count(&app.services.db)
                .await
                .unwrap(),
            0
        );

        let agent = data(
            app.post("/api/agents", sales_agent(), Some(&token))
                .await
                .success_json()
                .await,
        );
        let config = format!("/api/agents/{}/config", agent["id"].as_str().unwrap());

        // Two 500s, then success: retried.
        fake.fail_next(2, elevenlabs::server_error()).await;
        assert_eq!(app.get(&config, Some(&token)).await.status(), 200);
        // Down for good: a clear 502 after the configured attempts.
        fake.fail_next(3, elevenlabs::server_error()).await;
        expect_error(
            app.get(&config, Some(&token)).await,
            502,
            "provider_unavailable",
        )
        .await;
        // A 429 longer than we are willing to wait is passed on with Retry-After.
        fake.fail_next(1, elevenlabs::rate_limited(30)).await;
        let limited = app.get(&config, Some(&token)).await;
        assert_eq!(limited.headers()["retry-after"], "30");
        expect_error(limited, 429, "provider_rate_limited").await;
        // A short 429 is waited out.
        fake.fail_next(1, elevenlabs::rate_limited(1)).await;
        assert_eq!(app.get(&config, Some(&token)).await.status(), 200);

        // Already gone on ElevenLabs: deleting here still works.
        fake.agents.lock().unwrap().clear();
        let path = format!("/api/agents/{}", agent["id"].as_str().unwrap());
        assert_eq!(
            send(&app, reqwest::Method::DELETE, &path, &token, None)
                .await
                .status(),
            204
        );
    }
);

on_both_backends!(
    agents_are_validated_and_private,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let app = agents_app(backend, &fake).await;
        let owner = token(&app, "owner@example.com").await;
        let other = token(&app, "other@example.com").await;

        for (body, field) in [
            (json!({"type": "call"}), "name"),
            (
                json!({"name": "x", "lead_questions": [{"id": "has space", "type": "string", "description": "d"}]}),
                "lead_questions",
            ),
            (
                json!({"name": "x", "conversation_config": [1, 2]}),
                "conversation_config",
            ),
        ] {
            let resp = app.post("/api/agents", body, Some(&owner)).await;
            let err = expect_error(resp, 400, "validation_error").await;
            assert!(err["error"]["details"][field].is_string(), "{}", err);
        }
        let bad_enum = app
            .post(
                "/api/agents",
                json!({"name": "x", "type": "robot"}),
                Some(&owner),
            )
            .await;
        expect_error(bad_enum, 400, "validation_error").await;
        assert_eq!(fake.count(), 0, "nothing reached ElevenLabs");

        let agent = data(
            app.post("/api/agents", sales_agent(), Some(&owner))
                .await
                .success_json()
                .await,
        );
        let id = agent["id"].as_str().unwrap();
        for (method, path, body) in [
            (reqwest::Method::GET, format!("/api/agents/{id}"), None),
            (
                reqwest::Method::GET,
                format!("/api/agents/{id}/config"),
                None,
            ),
            (
                reqwest::Method::PATCH,
                format!("/api/agents/{id}"),
                Some(json!({"name": "mine now"})),
            ),
            (
                reqwest::Method::PUT,
                format!("/api/agents/{id}"),
                Some(json!({"name": "mine now"})),
            ),
            (reqwest::Method::DELETE, format!("/api/agents/{id}"), None),
        ] {
            let resp = send(&app, method.clone(), &path, &other, body).await;
            expect_error(resp, 404, "agent_not_found").await;
        }
        let theirs: Value = app
            .get("/api/agents", Some(&other))
            .await
            .success_json()
            .await;
        assert_eq!(theirs["data"], json!([]));
        assert_eq!(
            fake.agent(agent["elevenlabsAgentId"].as_str().unwrap())
                .unwrap()["name"],
            "Sales caller"
        );
        expect_error(
            app.get("/api/agents/not-a-uuid", Some(&owner)).await,
            400,
            "invalid_parameter",
        )
        .await;
    }
);

on_both_backends!(
    the_agent_managers_form_creates_edits_and_toggles_an_agent,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let app = agents_app(backend, &fake).await;
        let other = token(&app, "stranger@example.com").await;
        let token = token(&app, "form@example.com").await;
        let prompt = "Rate the lead 0-100 on budget, authority, need and timing.";
        // CreateAgentModal's body, word for word.
        let form = json!({
            "name": "Front desk", "agentType": "call", "type": "CallAgent",
            "language": "English", "description": "Answers the front desk line",
            "data_collection": {"default": {"type": "string", "description": prompt}}
        });
        let created = data(
            app.post("/api/agents", form.clone(), Some(&token))
                .await
                .expect_json(201)
                .await,
        );
        assert_eq!(created["type"], "CallAgent");
        assert_eq!(created["language"], "English");
        assert_eq!(created["status"], "active");
        assert_eq!(created["successRate"], 0);
        assert_eq!(created["avgDuration"], "0.0m");
        let el_id = created["elevenlabsAgentId"].as_str().unwrap().to_string();
        let remote = fake.agent(&el_id).unwrap();
        assert_eq!(remote["conversation_config"]["agent"]["language"], "en");
        assert_eq!(
            remote["platform_settings"]["data_collection"]["default"],
            json!({"type": "string", "description": prompt})
        );
        let id = created["id"].as_str().unwrap().to_string();

        // The edit form sends the same body with PUT.
        let mut edit = form.clone();
        edit["language"] = json!("spanish");
        edit["name"] = json!("Recepción");
        let edited = send(
            &app,
            reqwest::Method::PUT,
            &format!("/api/agents/{id}"),
            &token,
            Some(edit),
        )
        .await;
        let edited = data(edited.expect_json(200).await);
        assert_eq!(
            (edited["name"].as_str(), edited["language"].as_str()),
            (Some("Recepción"), Some("Spanish"))
        );
        assert_eq!(
            fake.agent(&el_id).unwrap()["conversation_config"]["agent"]["language"],
            "es"
        );

        // Field errors name the form's fields; nothing reaches ElevenLabs.
        let before = fake.count();
        for (change, field) in [
            (json!({"language": "Klingon"}), "language"),
            (json!({"agentType": "chat"}), "agentType"),
            (json!({"name": "  "}), "name"),
        ] {
            let mut body = form.clone();
            for (k, v) in change.as_object().unwrap() {
                body[k] = v.clone();
            }
            let resp = app.post("/api/agents", body, Some(&token)).await;
            let err = expect_error(resp, 400, "validation_error").await;
            assert!(err["error"]["details"][field].is_string(), "{err}");
        }
        assert_eq!(fake.count(), before);

        // The active/draft switch.
        let status = format!("/api/agents/{id}/status");
        let drafted = send(
            &app,
            reqwest::Method::PATCH,
            &status,
            &token,
            Some(json!({"status": "draft"})),
        )
        .await;
        assert_eq!(data(drafted.expect_json(200).await)["status"], "draft");
        let list: Value = app
            .get("/api/agents", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(list["data"][0]["status"], "draft");
        assert_eq!(list["data"][0]["isActive"], false);
        let bad = send(
            &app,
            reqwest::Method::PATCH,
            &status,
            &token,
            Some(json!({"status": "paused"})),
        )
        .await;
        expect_error(bad, 400, "validation_error").await;
        let theirs = send(
            &app,
            reqwest::Method::PATCH,
            &status,
            &other,
            Some(json!({"status": "active"})),
        )
        .await;
        expect_error(theirs, 404, "agent_not_found").await;
        let back = send(
            &app,
            reqwest::Method::PATCH,
            &status,
            &token,
            Some(json!({"status": "active"})),
        )
        .await;
        assert_eq!(data(back.expect_json(200).await)["isActive"], true);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_without_elevenlabs_configured_are_503() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = token(&app, "nokey@example.com").await;
    let resp = app.post("/api/agents", sales_agent(), Some(&token)).await;
    expect_error(resp, 503, "provider_not_configured").await;
}

on_both_backends!(
    changes_made_while_elevenlabs_is_down_are_finished_by_a_job,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let app = agents_app(backend, &fake).await;
        let token = token(&app, "outage@example.com").await;
        let wait = std::time::Duration::from_secs(30);

        // Create: three 500s exhaust the request's attempts → 202 pending; the job creates it.
        fake.fail_next(3, elevenlabs::server_error()).await;
        let resp = app.post("/api/agents", sales_agent(), Some(&token)).await;
        let pending = data(resp.expect_json(202).await);
        assert_eq!(pending["syncStatus"], "pending");
        assert!(pending["elevenlabsAgentId"].is_null());
        app.wait_for_jobs(wait).await;
        let path = format!("/api/agents/{}", pending["id"].as_str().unwrap());
        let synced = data(app.get(&path, Some(&token)).await.success_json().await);
        assert_eq!(synced["syncStatus"], "synced");
        let el_id = synced["elevenlabsAgentId"]
            .as_str()
            .expect("created by the job")
            .to_string();
        assert_eq!(fake.agent(&el_id).unwrap()["name"], "Sales caller");
        assert_eq!(fake.count(), 1, "created once");

        // Update: kept as a pending patch, applied by the job.
        fake.fail_next(3, elevenlabs::server_error()).await;
        let resp = send(
            &app,
            reqwest::Method::PATCH,
            &path,
            &token,
            Some(json!({"name": "Renamed", "first_message": "Yo"})),
        )
        .await;
        assert_eq!(resp.status(), 202);
        app.wait_for_jobs(wait).await;
        let remote = fake.agent(&el_id).unwrap();
        assert_eq!(remote["name"], "Renamed");
        assert_eq!(
            remote["conversation_config"]["agent"]["first_message"],
            "Yo"
        );
        let synced = data(app.get(&path, Some(&token)).await.success_json().await);
        assert_eq!(
            (synced["name"].as_str(), synced["syncStatus"].as_str()),
            (Some("Renamed"), Some("synced"))
        );

        // Delete: marked deleting, finished by the job.
        fake.fail_next(3, elevenlabs::server_error()).await;
        assert_eq!(
            send(&app, reqwest::Method::DELETE, &path, &token, None)
                .await
                .status(),
            202
        );
        app.wait_for_jobs(wait).await;
        assert!(fake.agent(&el_id).is_none());
        expect_error(app.get(&path, Some(&token)).await, 404, "agent_not_found").await;

        // Down for longer than the job's attempts: the agent shows the failure.
        fake.fail_next(1000, elevenlabs::server_error()).await;
        let resp = app.post("/api/agents", sales_agent(), Some(&token)).await;
        let failing = data(resp.expect_json(202).await);
        app.wait_for_jobs(wait).await;
        let path = format!("/api/agents/{}", failing["id"].as_str().unwrap());
        let failed = data(app.get(&path, Some(&token)).await.success_json().await);
        assert_eq!(failed["syncStatus"], "failed");
        assert!(
            failed["syncError"]
                .as_str()
                .unwrap()
                .contains("unavailable")
        );
        assert_eq!(fake.count(), 0);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voices_and_phone_numbers_come_from_elevenlabs() {
    let fake = FakeElevenLabs::start().await;
    let app = agents_app(Backend::Sqlite, &fake).await;
    let token = token(&app, "lists@example.com").await;
    let voices: Value = app
        .get("/api/agents/voices", Some(&token))
        .await
        .success_json()
        .await;
    assert_eq!(voices["success"], true);
    let voices = &voices["data"];
    assert_eq!(voices[0]["voice_id"], "voice_rachel");
    assert_eq!(voices[0]["labels"]["accent"], "american");
    assert_eq!(voices.as_array().unwrap().len(), 2);
    let numbers: Value = app
        .get("/api/agents/phone-numbers", Some(&token))
        .await
        .success_json()
        .await;
    assert_eq!(numbers[0]["provider"], "twilio");
    assert_eq!(numbers[1]["provider"], "sip_trunk");
    // Reused for a minute: an outage right after does not show.
    fake.fail_next(10, elevenlabs::server_error()).await;
    assert_eq!(
        app.get("/api/agents/voices", Some(&token)).await.status(),
        200
    );
    expect_error(
        app.get("/api/agents/voices", None).await,
        401,
        "missing_token",
    )
    .await;
}

async fn add_call(
    app: &TestApp,
    user: uuid::Uuid,
    agent: uuid::Uuid,
    secs: i32,
    status: &str,
    success: Option<&str>,
    score: Option<i32>,
) {
    let call = tests::records::call(
        app,
        tests::records::CallRow {
            user,
            agent: Some(agent),
            contact: None,
            secs,
            status: sea_orm::ActiveEnum::try_from_value(&status.to_string()).unwrap(),
            success,
        },
    )
    .await;
    if let Some(score) = score {
        tests::records::lead(app, &call, "warm", score).await;
    }
}

on_both_backends!(
    agent_cards_show_stats_and_live_names,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let app = agents_app(backend, &fake).await;
        let session = register(&app, "cards@example.com").await;
        let token = session["token"].as_str().unwrap().to_string();
        let user: uuid::Uuid = session["user"]["id"].as_str().unwrap().parse().unwrap();
        let agent = data(
            app.post("/api/agents", sales_agent(), Some(&token))
                .await
                .success_json()
                .await,
        );
        let id: uuid::Uuid = agent["id"].as_str().unwrap().parse().unwrap();
        add_call(&app, user, id, 90, "completed", Some("success"), Some(80)).await;
        add_call(&app, user, id, 30, "completed", Some("failure"), Some(60)).await;
        add_call(&app, user, id, 0, "failed", None, None).await;

        // ElevenLabs down: the list answers from our copy and says so.
        fake.fail_next(3, elevenlabs::server_error()).await;
        let list: Value = app
            .get("/api/agents", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(list["stale"], true);
        // The Agent Manager's card: conversations, whole-percent success, minutes per call.
        let card = &list["data"][0];
        assert_eq!(card["conversations"], 3);
        assert_eq!(card["successRate"], 50);
        assert_eq!(card["avgDuration"], "0.7m");
        assert_eq!(card["type"], "CallAgent");
        assert_eq!(card["status"], "active");
        assert_eq!(card["language"], "English");
        assert_eq!(card["languageCode"], "en");
        assert_eq!(card["model"], "gpt-4o-mini");
        assert_eq!(card["creditsRemaining"], 15);
        assert_eq!(card["userId"], user.to_string());
        let created = chrono::Utc::now().format("%b %d, %Y").to_string();
        assert_eq!(card["created"], created);

        // Renamed on ElevenLabs directly: the live name shows.
        let el_id = agent["elevenlabsAgentId"].as_str().unwrap().to_string();
        fake.agents.lock().unwrap().get_mut(&el_id).unwrap()["name"] = json!("Renamed upstream");
        let list: Value = app
            .get("/api/agents", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(list["stale"], false);
        assert_eq!(list["data"][0]["name"], "Renamed upstream");
        let one = data(
            app.get(&format!("/api/agents/{id}"), Some(&token))
                .await
                .success_json()
                .await,
        );
        assert_eq!(one["conversations"], 3);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_set_key_overrides_the_environment() {
    let fake = FakeElevenLabs::start().await;
    let base = fake.uri();
    let app = TestApp::spawn_with(Backend::Sqlite, WorkerMode::InProcess, |c| {
        c.elevenlabs.api_key = Some("xi_stale_key_from_the_environment".into());
        c.elevenlabs.api_base = base;
        c.elevenlabs.backoff_base_ms = 10;
        c.settings.encryption_key = Some("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into());
    })
    .await;
    let token = token(&app, "keys@example.com").await;
    let refused = app.post("/api/agents", sales_agent(), Some(&token)).await;
    let body = expect_error(refused, 502, "provider_error").await;
    assert!(
        !body.to_string().contains("xi_stale_key"),
        "the key never appears"
    );

    shared::platform::system_config::set_secret(
        &app.services.db,
        app.config(),
        shared::platform::system_config::ELEVENLABS_API_KEY,
        elevenlabs::API_KEY,
        None,
    )
    .await
    .unwrap();
    // Written behind the service's back: tell this process to re-read its settings.
    app.services.settings.invalidate();
    let stored = shared::entities::system_config::Entity::find_by_id(
        shared::platform::system_config::ELEVENLABS_API_KEY.to_string(),
    )
    .one(&app.services.db)
    .await
    .unwrap()
    .unwrap();
    assert!(
        !stored.value.contains(elevenlabs::API_KEY),
        "encrypted at rest"
    );
    assert_eq!(
        app.post("/api/agents", sales_agent(), Some(&token))
            .await
            .status(),
        201,
        "takes effect at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_elevenlabs_times_out_cleanly() {
    let fake = FakeElevenLabs::start().await;
    let base = fake.uri();
    let app = TestApp::spawn_with(Backend::Sqlite, WorkerMode::InProcess, |c| {
        c.elevenlabs.api_key = Some(elevenlabs::API_KEY.into());
        c.elevenlabs.api_base = base;
        c.elevenlabs.backoff_base_ms = 10;
        c.elevenlabs.timeout_secs = 1;
        c.elevenlabs.max_attempts = 2;
    })
    .await;
    let token = token(&app, "slow@example.com").await;
    let agent = data(
        app.post("/api/agents", sales_agent(), Some(&token))
            .await
            .success_json()
            .await,
    );
    fake.fail_next(
        2,
        elevenlabs::server_error().set_delay(std::time::Duration::from_secs(3)),
    )
    .await;
    let resp = app
        .get(
            &format!("/api/agents/{}/config", agent["id"].as_str().unwrap()),
            Some(&token),
        )
        .await;
    let body = expect_error(resp, 502, "provider_unavailable").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("in time")
    );
}

on_both_backends!(
    admins_manage_every_tenants_agents_through_the_owners_service,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let app = agents_app(backend, &fake).await;
        let owner = token(&app, "owner@example.com").await;
        let other = token(&app, "other@example.com").await;
        let (root, _) = tests::users::signed_in_admin(&app, "root@example.com").await;
        let created = data(
            app.post("/api/agents", sales_agent(), Some(&owner))
                .await
                .success_json()
                .await,
        );
        let id = created["id"].as_str().unwrap().to_string();
        let el_id = created["elevenlabsAgentId"].as_str().unwrap().to_string();
        let mut chat = sales_agent();
        chat["type"] = json!("chat");
        chat["name"] = json!("Web chat");
        assert_eq!(
            app.post("/api/agents", chat, Some(&other)).await.status(),
            201
        );

        // Every tenant's agents, with owners, filterable.
        let all: Value = app
            .get("/api/admin/agents", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(all["data"]["total"], 2);
        assert_eq!(all["pagination"]["total"], 2);
        let calls: Value = app
            .get("/api/admin/agents?agentType=call", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(calls["data"]["total"], 1);
        let row = &calls["data"]["agents"][0];
        assert_eq!(row["userEmail"], "owner@example.com");
        assert_eq!(
            (row["status"].as_str(), row["type"].as_str()),
            (Some("active"), Some("call"))
        );
        assert_eq!(
            (
                row["healthStatus"].as_str(),
                row["elevenlabsStatus"].as_str()
            ),
            (Some("healthy"), Some("active"))
        );
        let owner_id = row["user_id"].as_str().unwrap();
        let mine: Value = app
            .get(&format!("/api/admin/agents?userId={owner_id}"), Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(mine["data"]["total"], 1);
        assert_eq!(mine["data"]["agents"][0]["id"], id);
        let found: Value = app
            .get("/api/admin/agents?search=OWNER%40example", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(found["data"]["total"], 1, "by the owner's email");
        let drafts: Value = app
            .get("/api/admin/agents?isActive=false", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(drafts["data"]["total"], 0);

        // The live configuration, and a change made as the owner would make it.
        let config: Value = app
            .get(&format!("/api/admin/agents/{id}/config"), Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(config["name"], "Sales caller");
        let changed = app
            .send(
                reqwest::Method::PATCH,
                &format!("/api/admin/agents/{id}"),
                Some(json!({"name": "Renamed by support", "first_message": "Hello again!"})),
                Some(&root),
            )
            .await;
        assert_eq!(changed.status(), 200);
        let remote = fake.agent(&el_id).unwrap();
        assert_eq!(remote["name"], "Renamed by support");
        assert_eq!(
            remote["conversation_config"]["agent"]["first_message"],
            "Hello again!"
        );
        let seen = data(
            app.get(&format!("/api/agents/{id}"), Some(&owner))
                .await
                .success_json()
                .await,
        );
        assert_eq!(seen["name"], "Renamed by support");
        // The owner's checks apply to admins too; unknown agents are 404.
        let bad = app
            .send(
                reqwest::Method::PATCH,
                &format!("/api/admin/agents/{id}"),
                Some(json!({"type": "chat"})),
                Some(&root),
            )
            .await;
        let body = expect_error(bad, 400, "validation_error").await;
        assert!(body["error"]["details"]["type"].is_string(), "{}", body);
        let missing = uuid::Uuid::new_v4();
        expect_error(
            app.get(&format!("/api/admin/agents/{missing}/config"), Some(&root))
                .await,
            404,
            "agent_not_found",
        )
        .await;
        // Members cannot use the admin paths, even on their own agents.
        expect_error(
            app.get(&format!("/api/admin/agents/{id}/config"), Some(&owner))
                .await,
            403,
            "admin_required",
        )
        .await;

        // Deactivation stops the agent for its owner; both actions are audited.
        let off: Value = app
            .post(
                &format!("/api/admin/agents/{id}/deactivate"),
                json!({}),
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(off["status"], "draft");
        let (log, actions) = tests::users::audit_log(&app, &root).await;
        assert_eq!(actions, ["agent.deactivated", "agent.updated"]);
        assert_eq!(log["data"][1]["details"]["before"]["name"], "Sales caller");
        assert_eq!(
            log["data"][1]["details"]["after"]["name"],
            "Renamed by support"
        );
        assert_eq!(
            log["data"][1]["details"]["after"]["fields"],
            json!(["name", "first_message"])
        );
    }
);

on_both_backends!(
    admins_edit_act_in_bulk_monitor_and_check_agents,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let app = agents_app(backend, &fake).await;
        let owner = token(&app, "owner@example.com").await;
        let (root, _) = tests::users::signed_in_admin(&app, "root@example.com").await;
        let mut ids = Vec::new();
        for name in ["First", "Second", "Third"] {
            let mut agent = sales_agent();
            agent["name"] = json!(name);
            let made = data(
                app.post("/api/agents", agent, Some(&owner))
                    .await
                    .success_json()
                    .await,
            );
            ids.push(made["id"].as_str().unwrap().to_string());
        }

        // The details modal's save: name, description, is_active, through the owner's service.
        let saved = app
            .send(
                reqwest::Method::PUT,
                &format!("/api/admin/agents/{}", ids[0]),
                Some(json!({"name": "First, renamed", "description": "Support line", "is_active": false})),
                Some(&root),
            )
            .await;
        assert_eq!(saved.status(), 200);
        let el_id = data(
            app.get(&format!("/api/agents/{}", ids[0]), Some(&owner))
                .await
                .success_json()
                .await,
        )["elevenlabsAgentId"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(fake.agent(&el_id).unwrap()["name"], "First, renamed");
        let drafts: Value = app
            .get("/api/admin/agents?isActive=false", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(drafts["data"]["agents"][0]["id"], ids[0]);

        // Bulk: each agent on its own; an unknown one fails alone.
        let missing = uuid::Uuid::new_v4();
        let bulk: Value = app
            .post(
                "/api/admin/agents/bulk",
                json!({"agentIds": [ids[1], ids[2], missing], "action": "deactivate"}),
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(bulk["data"]["successful"], 2);
        assert_eq!(bulk["data"]["failed"][0]["agentId"], missing.to_string());
        let inactive: Value = app
            .get("/api/admin/agents?isActive=false", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(inactive["data"]["total"], 3);
        let deleted: Value = app
            .post(
                "/api/admin/agents/bulk",
                json!({"agentIds": [ids[2]], "action": "delete"}),
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(deleted["data"]["successful"], 1);
        let left: Value = app
            .get("/api/admin/agents", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(left["data"]["total"], 2);
        for bad in [
            json!({"agentIds": [], "action": "delete"}),
            json!({"agentIds": [ids[0]], "action": "explode"}),
        ] {
            expect_error(
                app.post("/api/admin/agents/bulk", bad, Some(&root)).await,
                400,
                "validation_error",
            )
            .await;
        }

        // Monitoring: the window's figures (no calls yet), 24 hours of usage.
        let m: Value = app
            .get("/api/admin/agents/monitoring?timeframe=7d", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(m["data"]["timeframe"], "7d");
        assert_eq!(m["data"]["totalCalls"], 0);
        assert_eq!(m["data"]["usageByHour"].as_array().unwrap().len(), 24);
        assert!(m["data"]["topPerformingAgents"].is_array());
        expect_error(
            app.get("/api/admin/agents/monitoring?timeframe=1y", Some(&root))
                .await,
            400,
            "invalid_parameter",
        )
        .await;

        // Health against ElevenLabs: an agent ElevenLabs lost is unreachable.
        let second_el = data(
            app.get(&format!("/api/agents/{}", ids[1]), Some(&owner))
                .await
                .success_json()
                .await,
        )["elevenlabsAgentId"]
            .as_str()
            .unwrap()
            .to_string();
        fake.agents.lock().unwrap().remove(&second_el);
        let h: Value = app
            .get("/api/admin/agents/health", Some(&root))
            .await
            .success_json()
            .await;
        let h = &h["data"];
        assert_eq!(
            (
                h["totalAgents"].as_u64(),
                h["healthyAgents"].as_u64(),
                h["unreachableAgents"].as_u64()
            ),
            (Some(2), Some(1), Some(1))
        );
        assert_eq!(h["stale"], false);
        // ElevenLabs slower than the bound: the answer comes anyway, marked stale.
        fake.fail_next(
            1,
            ResponseTemplate::new(200)
                .set_delay(std::time::Duration::from_secs(6))
                .set_body_json(json!({"agents": [], "has_more": false})),
        )
        .await;
        let slow: Value = app
            .get("/api/admin/agents/health", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(
            slow["data"]["stale"], true,
            "answered before ElevenLabs did"
        );
        assert_eq!(slow["data"]["healthyAgents"], 2, "the last known states");

        // Members are refused every one of them.
        for path in ["/api/admin/agents/health", "/api/admin/agents/monitoring"] {
            expect_error(app.get(path, Some(&owner)).await, 403, "admin_required").await;
        }
        let (_, actions) = tests::users::audit_log(&app, &root).await;
        assert!(
            actions.contains(&"agent.deleted".to_string()),
            "{actions:?}"
        );
    }
);
