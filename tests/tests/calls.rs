//! Starting outbound calls: through Twilio or SIP numbers, with the contact's fields as
//! dynamic variables, and every refusal (unverified, no credits, draft or chat agent, no
//! number, do-not-call, another tenant's ids, too many calls in flight).

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use shared::{
    entities::{calls, contacts},
    money::credits::{self, Entry, TxKind},
};
use tests::{
    Backend, Decode, TestApp, WorkerMode,
    elevenlabs::{self, FakeElevenLabs, SIP_NUMBER_ID, TWILIO_NUMBER_ID},
    expect_error, on_both_backends,
    users::{register, verified_user},
};
use uuid::Uuid;

async fn calls_app(backend: Backend, fake: &FakeElevenLabs) -> TestApp {
    let base = fake.uri();
    TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
        c.elevenlabs.api_key = Some(elevenlabs::API_KEY.into());
        c.elevenlabs.api_base = base;
        c.elevenlabs.backoff_base_ms = 10;
        c.elevenlabs.max_concurrent_calls = 3;
        c.elevenlabs.webhook_secrets = vec![tests::post_call::SECRET.into()];
    })
    .await
}

async fn agent(app: &TestApp, token: &str, body: Value) -> Value {
    let resp = app.post("/api/agents", body, Some(token)).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    body["data"].clone()
}

fn caller(number: Option<&str>) -> Value {
    json!({"name": "Caller", "type": "call", "first_message": "Hi {{contact_name}}", "phone_number_id": number})
}

async fn add_contact(app: &TestApp, user_id: Uuid, phone: &str, do_not_call: bool) -> Uuid {
    let now = Utc::now();
    contacts::ActiveModel {
        id: Set(shared::platform::ids::next()),
        user_id: Set(user_id),
        name: Set("Grace Hopper".into()),
        phone_e164: Set(phone.into()),
        phone_raw: Set(phone.into()),
        email: Set(Some("grace@example.com".into())),
        company: Set(Some("Navy".into())),
        tags: Set(json!([])),
        notes: Set(None),
        custom_fields: Set(json!({"plan": "enterprise"})),
        do_not_call: Set(do_not_call),
        last_call_summary: Set(None),
        last_interaction_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.services.db)
    .await
    .unwrap()
    .id
}

on_both_backends!(
    calls_start_through_elevenlabs,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let app = calls_app(backend, &fake).await;
        let (token, user_id) = verified_user(&app, "dialer@example.com").await;
        let user_id: Uuid = user_id.parse().unwrap();
        let twilio = agent(&app, &token, caller(Some(TWILIO_NUMBER_ID))).await;

        let started = app
        .post("/api/calls", json!({"agent_id": twilio["id"], "to_number": "(415) 555-2671", "dynamic_variables": {"offer": "10% off", "vip": true}}), Some(&token))
        .await;
        let call: Value = started.expect_json(201).await;
        assert_eq!(call["status"], "initiated");
        assert_eq!(call["direction"], "outbound");
        assert_eq!(call["phone_number"], "+14155552671");
        assert!(
            call["elevenlabs_conversation_id"]
                .as_str()
                .unwrap()
                .starts_with("conv_")
        );
        let (path, body) = fake.outbound.lock().unwrap()[0].clone();
        assert_eq!(path, "/v1/convai/twilio/outbound-call");
        assert_eq!(body["agent_id"], twilio["elevenlabsAgentId"]);
        assert_eq!(body["agent_phone_number_id"], TWILIO_NUMBER_ID);
        assert_eq!(body["to_number"], "+14155552671");
        assert_eq!(
            body["conversation_initiation_client_data"]["dynamic_variables"]["offer"],
            "10% off"
        );

        // A contact's fields become dynamic variables; a SIP number uses the SIP endpoint.
        let sip = agent(&app, &token, caller(Some(SIP_NUMBER_ID))).await;
        let contact = add_contact(&app, user_id, "+442071838750", false).await;
        let resp = app
            .post(
                "/api/calls",
                json!({"agent_id": sip["id"], "contact_id": contact}),
                Some(&token),
            )
            .await;
        let call: Value = resp.expect_json(201).await;
        assert_eq!(call["contact_id"], contact.to_string());
        let (path, body) = fake.outbound.lock().unwrap()[1].clone();
        assert_eq!(path, "/v1/convai/sip-trunk/outbound-call");
        let vars = &body["conversation_initiation_client_data"]["dynamic_variables"];
        assert_eq!(
            (vars["contact_name"].as_str(), vars["plan"].as_str()),
            (Some("Grace Hopper"), Some("enterprise"))
        );
        assert_eq!(body["to_number"], "+442071838750");

        // The per-user limit on calls in flight (3 here).
        app.post(
            "/api/calls",
            json!({"agent_id": twilio["id"], "to_number": "+14155552672"}),
            Some(&token),
        )
        .await;
        let limited = app
            .post(
                "/api/calls",
                json!({"agent_id": twilio["id"], "to_number": "+14155552673"}),
                Some(&token),
            )
            .await;
        expect_error(limited, 429, "concurrency_limit").await;
        let concurrency: Value = app
            .get("/api/settings/concurrency", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(
            concurrency["settings"],
            json!({"user_concurrent_calls_limit": 3, "user_active_calls": 3, "user_available_slots": 0})
        );
        assert_eq!(
            calls::Entity::find()
                .all(&app.services.db)
                .await
                .unwrap()
                .len(),
            3
        );
    }
);

on_both_backends!(
    a_refused_dial_fails_the_call_and_counts_it,
    |backend: Backend| async move {
        use sea_orm::QueryOrder;
        use shared::entities::call_rollups;
        let fake = FakeElevenLabs::start().await;
        let app = calls_app(backend, &fake).await;
        let (token, user_id) = verified_user(&app, "refused@example.com").await;
        let twilio = agent(&app, &token, caller(Some(TWILIO_NUMBER_ID))).await;
        let kept = || async {
            call_rollups::Entity::find()
                .order_by_asc(call_rollups::Column::Hour)
                .order_by_asc(call_rollups::Column::AgentId)
                .all(&app.services.db)
                .await
                .unwrap()
        };

        // ElevenLabs answers but does not place the call, then refuses outright.
        fake.refuse_dials(
            1,
            wiremock::ResponseTemplate::new(200)
                .set_body_json(json!({"success": false, "message": "Number unreachable"})),
        )
        .await;
        let refused = app
            .post(
                "/api/calls",
                json!({"agent_id": twilio["id"], "to_number": "+14155552671"}),
                Some(&token),
            )
            .await;
        let body = expect_error(refused, 502, "provider_error").await;
        assert!(body.to_string().contains("Number unreachable"), "{body}");
        fake.refuse_dials(
            1,
            wiremock::ResponseTemplate::new(400).set_body_json(
                json!({"detail": {"status": "invalid_number", "message": "Bad number"}}),
            ),
        )
        .await;
        let refused = app
            .post(
                "/api/calls",
                json!({"agent_id": twilio["id"], "to_number": "+14155552672"}),
                Some(&token),
            )
            .await;
        let body = expect_error(refused, 502, "provider_error").await;
        assert!(body.to_string().contains("Bad number"), "{body}");

        let rows = calls::Entity::find().all(&app.services.db).await.unwrap();
        assert_eq!(rows.len(), 2);
        for row in &rows {
            assert_eq!(row.status, shared::calls::CallStatus::Failed);
            assert!(row.failure_reason.is_some() && row.completed_at.is_some());
        }
        // The failures count in the dashboard, exactly as a rebuild from the calls counts them.
        let counted = kept().await;
        assert_eq!(counted.len(), 1);
        assert_eq!(counted[0].user_id.to_string(), user_id);
        assert_eq!((counted[0].calls, counted[0].failed), (2, 2));
        shared::dashboard::recount::rebuild(&app.services.db)
            .await
            .unwrap();
        assert_eq!(kept().await, counted);
    }
);

on_both_backends!(calls_are_refused_clearly, |backend: Backend| async move {
    let fake = FakeElevenLabs::start().await;
    let app = calls_app(backend, &fake).await;
    let (token, user_id) = verified_user(&app, "refused@example.com").await;
    let user_id: Uuid = user_id.parse().unwrap();
    let good = agent(&app, &token, caller(Some(TWILIO_NUMBER_ID))).await;
    let call = |agent: &Value, extra: Value| {
        let mut body = json!({"agent_id": agent["id"], "to_number": "+14155552671"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };

    let mut draft_body = caller(Some(TWILIO_NUMBER_ID));
    draft_body["status"] = json!("draft");
    let draft = agent(&app, &token, draft_body).await;
    expect_error(
        app.post("/api/calls", call(&draft, json!({})), Some(&token))
            .await,
        409,
        "agent_inactive",
    )
    .await;
    let mut chat_body = caller(Some(TWILIO_NUMBER_ID));
    chat_body["type"] = json!("chat");
    let chat = agent(&app, &token, chat_body).await;
    expect_error(
        app.post("/api/calls", call(&chat, json!({})), Some(&token))
            .await,
        409,
        "agent_not_callable",
    )
    .await;
    let silent = agent(&app, &token, caller(None)).await;
    expect_error(
        app.post("/api/calls", call(&silent, json!({})), Some(&token))
            .await,
        409,
        "agent_has_no_phone_number",
    )
    .await;
    let dnc = add_contact(&app, user_id, "+14155552699", true).await;
    let resp = app
        .post(
            "/api/calls",
            json!({"agent_id": good["id"], "contact_id": dnc}),
            Some(&token),
        )
        .await;
    expect_error(resp, 409, "contact_do_not_call").await;
    let bad_number = app
        .post(
            "/api/calls",
            call(&good, json!({"to_number": "12"})),
            Some(&token),
        )
        .await;
    let err = expect_error(bad_number, 400, "validation_error").await;
    assert!(err["error"]["details"]["to_number"].is_string(), "{}", err);
    let bad_vars = app
        .post(
            "/api/calls",
            call(&good, json!({"dynamic_variables": {"nested": {"a": 1}}})),
            Some(&token),
        )
        .await;
    expect_error(bad_vars, 400, "validation_error").await;

    // Another tenant's agent or contact is not found.
    let (other, other_id) = verified_user(&app, "other-dialer@example.com").await;
    let theirs = agent(&app, &other, caller(Some(TWILIO_NUMBER_ID))).await;
    expect_error(
        app.post("/api/calls", call(&theirs, json!({})), Some(&token))
            .await,
        404,
        "agent_not_found",
    )
    .await;
    let their_contact = add_contact(&app, other_id.parse().unwrap(), "+14155552698", false).await;
    let resp = app
        .post(
            "/api/calls",
            json!({"agent_id": good["id"], "contact_id": their_contact}),
            Some(&token),
        )
        .await;
    expect_error(resp, 404, "contact_not_found").await;

    // Unverified email: 403. No credits left: 402.
    let fresh = register(&app, "unverified-dialer@example.com").await;
    let fresh_token = fresh["token"].as_str().unwrap();
    let resp = app
        .post("/api/calls", call(&good, json!({})), Some(fresh_token))
        .await;
    expect_error(resp, 403, "email_not_verified").await;
    credits::apply(
        &app.services.db,
        Entry::new(user_id, TxKind::AdminAdjustment, -15, "admin:drain"),
    )
    .await
    .unwrap();
    expect_error(
        app.post("/api/calls", call(&good, json!({})), Some(&token))
            .await,
        402,
        "insufficient_credits",
    )
    .await;

    assert!(
        fake.outbound.lock().unwrap().is_empty(),
        "nothing was dialled"
    );
    assert!(
        calls::Entity::find()
            .all(&app.services.db)
            .await
            .unwrap()
            .is_empty(),
        "nothing was recorded"
    );
});

on_both_backends!(
    a_call_whose_webhook_never_came_is_reconciled,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let base = fake.uri();
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.elevenlabs.api_key = Some(elevenlabs::API_KEY.into());
            c.elevenlabs.api_base = base;
            c.elevenlabs.backoff_base_ms = 10;
            c.elevenlabs.call_reconcile_after_secs = 1;
        })
        .await;
        let (token, _) = verified_user(&app, "lost-webhook@example.com").await;
        let caller_agent = agent(&app, &token, caller(Some(TWILIO_NUMBER_ID))).await;
        let call: Value = app
            .post(
                "/api/calls",
                json!({"agent_id": caller_agent["id"], "to_number": "+14155550123"}),
                Some(&token),
            )
            .await
            .success_json()
            .await;
        let conversation = call["elevenlabs_conversation_id"]
            .as_str()
            .unwrap()
            .to_string();
        // The call ends on ElevenLabs, but its webhook is lost.
        let el_agent = caller_agent["elevenlabsAgentId"].as_str().unwrap();
        let finished = tests::post_call::transcription(el_agent, &conversation)["data"].clone();
        fake.conversations
            .lock()
            .unwrap()
            .insert(conversation.clone(), finished);

        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let row = calls::Entity::find()
                .one(&app.services.db)
                .await
                .unwrap()
                .unwrap();
            if row.status == shared::calls::CallStatus::Completed {
                assert_eq!(row.duration_secs, 133);
                assert_eq!(row.credits_charged, 3);
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the stuck call was never reconciled"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        app.wait_for_jobs(std::time::Duration::from_secs(30)).await;
        let body: Value = app
            .get("/api/user/credits", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(body["credits"], 12);
    }
);

on_both_backends!(
    the_contacts_screen_calls_a_contact_and_its_webhook_completes_it,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let app = calls_app(backend, &fake).await;
        let (token, user_id) = verified_user(&app, "contact-dialer@example.com").await;
        let caller_agent = agent(&app, &token, caller(Some(TWILIO_NUMBER_ID))).await;
        let contact: Value = app
            .post(
                "/api/contacts",
                json!({"name": "Meera Iyer", "phoneNumber": "+91 98450 12345"}),
                Some(&token),
            )
            .await
            .expect_json(201)
            .await;
        let contact_id = contact["data"]["id"].as_str().unwrap();

        // What the dialog sends: the contact, the agent picked, the number it shows.
        let started: Value = app
            .post(
                "/api/calls/initiate",
                json!({"contactId": contact_id, "agentId": caller_agent["id"], "phoneNumber": "+919845012345"}),
                Some(&token),
            )
            .await
            .expect_json(201)
            .await;
        assert_eq!(started["success"], true);
        let call = &started["call"];
        assert_eq!(
            (&call["status"], &call["recipient"]),
            (&json!("initiated"), &json!("+919845012345"))
        );
        let call_id = call["id"].as_str().unwrap().to_string();
        let conversation = call["execution_id"].as_str().unwrap().to_string();
        assert_eq!(
            fake.outbound.lock().unwrap()[0].1["to_number"],
            "+919845012345"
        );

        // ElevenLabs' post-call webhook completes that same call.
        let el_agent = caller_agent["elevenlabsAgentId"].as_str().unwrap();
        let event = tests::post_call::transcription(el_agent, &conversation);
        assert_eq!(
            tests::post_call::deliver(&app, &event, None).await.status(),
            200
        );
        app.wait_for_jobs(std::time::Duration::from_secs(30)).await;
        let logs: Value = app
            .get("/api/calls", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(logs["pagination"]["total"], 1, "one call, not a second");
        let row = &logs["data"][0];
        assert_eq!(
            (&row["id"], &row["status"], &row["contactName"]),
            (&json!(call_id), &json!("completed"), &json!("Meera Iyer"))
        );

        // The dialog's refusals: no agent picked, another tenant's contact, no credits.
        let no_agent = app
            .post(
                "/api/calls/initiate",
                json!({"contactId": contact_id}),
                Some(&token),
            )
            .await;
        let err = expect_error(no_agent, 400, "validation_error").await;
        assert_eq!(err["error"]["details"]["agentId"], "Agent ID is required");
        let (other, _) = verified_user(&app, "other-dialer@example.com").await;
        let theirs = agent(&app, &other, caller(Some(TWILIO_NUMBER_ID))).await;
        let foreign = app
            .post(
                "/api/calls/initiate",
                json!({"contactId": contact_id, "agentId": theirs["id"]}),
                Some(&other),
            )
            .await;
        expect_error(foreign, 404, "contact_not_found").await;
        let balance = credits::balance(&app.services.db, user_id.parse().unwrap())
            .await
            .unwrap();
        credits::apply(
            &app.services.db,
            Entry::new(
                user_id.parse().unwrap(),
                TxKind::AdminAdjustment,
                -balance,
                "admin:drain-for-test",
            ),
        )
        .await
        .unwrap();
        let broke = app
            .post(
                "/api/calls/initiate",
                json!({"contactId": contact_id, "agentId": caller_agent["id"]}),
                Some(&token),
            )
            .await;
        expect_error(broke, 402, "insufficient_credits").await;
        assert_eq!(
            fake.outbound.lock().unwrap().len(),
            1,
            "nothing else was dialled"
        );
    }
);
