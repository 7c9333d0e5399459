//! Chat agents: their conversations arrive through the post-call webhook and become chats (no
//! telephony, their own metering), listed and read apart from calls, counted in the dashboards
//! by channel and in the leads as `chat`; a widget opens one through a chat session.

use std::time::Duration;

use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use shared::{
    entities::{agents, credit_transactions},
    platform::config::ChatBilling,
};
use tests::{
    Backend, Decode, TestApp, WorkerMode,
    elevenlabs::{self, FakeElevenLabs},
    expect_error, on_both_backends,
    post_call::{self, SECRET},
    users::register,
};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);
const EL_CHAT: &str = "agent_chat_1";
const EL_CALL: &str = "agent_call_1";

/// A chat agent's report: no phone call, the visitor's details from the widget.
fn chat_event(conversation: &str) -> Value {
    post_call::into_chat(post_call::transcription(EL_CHAT, conversation))
}

async fn chat_agent(app: &TestApp, user: Uuid) -> agents::Model {
    post_call::insert_chat_agent(app, user, EL_CHAT).await
}

async fn signed_up(app: &TestApp, email: &str) -> (String, Uuid) {
    let session = register(app, email).await;
    (
        session["token"].as_str().unwrap().to_string(),
        session["user"]["id"].as_str().unwrap().parse().unwrap(),
    )
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let resp = app.get(path, Some(token)).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.unwrap()
}

on_both_backends!(
    a_chat_is_processed_end_to_end_and_kept_apart_from_calls,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.elevenlabs.webhook_secrets = vec![SECRET.into()];
        })
        .await;
        let (token, me) = signed_up(&app, "chats@example.com").await;
        let (other, _) = signed_up(&app, "other@example.com").await;
        chat_agent(&app, me).await;
        post_call::insert_agent(&app, me, EL_CALL).await;

        // Delivered twice: one chat, charged once (133 s → 3 credits per started minute).
        let event = chat_event("conv_chat_1");
        for _ in 0..2 {
            assert_eq!(post_call::deliver(&app, &event, None).await.status(), 200);
        }
        let call = post_call::transcription(EL_CALL, "conv_call_1");
        assert_eq!(post_call::deliver(&app, &call, None).await.status(), 200);
        app.wait_for_jobs(WAIT).await;

        let chats = get(&app, &token, "/api/chats").await;
        assert_eq!(chats["total"], 1);
        let chat_id = chats["items"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(chats["items"][0]["contact_name"], "Vera Visitor");
        let calls = get(&app, &token, "/api/calls").await;
        assert_eq!(calls["pagination"]["total"], 1, "chats are not calls");
        let call_id = calls["data"][0]["id"].as_str().unwrap().to_string();
        assert_ne!(call_id, chat_id);
        let searched = get(&app, &token, "/api/chats?q=thursday").await;
        assert_eq!(searched["total"], 1);
        assert_eq!(get(&app, &token, "/api/chats?q=nowhere").await["total"], 0);

        let chat = get(&app, &token, &format!("/api/chats/{chat_id}?q=budget")).await;
        assert_eq!(chat["visitor"]["name"], "Vera Visitor");
        assert_eq!(chat["visitor"]["email"], "vera@example.com");
        assert_eq!(chat["visitor"]["phone"], "+1 415 555 0188");
        assert_eq!(chat["phone_number"], Value::Null, "no telephony");
        assert_eq!(chat["messages"].as_array().unwrap().len(), 5);
        assert_eq!(chat["messages"][1]["text"], "What does it cost?");
        assert_eq!(chat["matches"][0]["segment"], 3);
        assert_eq!(chat["lead_analytics"]["lead_status_tag"], "Hot");
        assert_eq!(chat["credits_charged"], 3);
        let balance = get(&app, &token, "/api/user/credits").await;
        assert_eq!(balance["credits"], 15 - 3 - 3);

        // Each kind only under its own path; another tenant sees neither.
        expect_error(
            app.get(&format!("/api/calls/{chat_id}"), Some(&token))
                .await,
            404,
            "call_not_found",
        )
        .await;
        expect_error(
            app.get(&format!("/api/chats/{call_id}"), Some(&token))
                .await,
            404,
            "chat_not_found",
        )
        .await;
        expect_error(
            app.get(&format!("/api/chats/{chat_id}"), Some(&other))
                .await,
            404,
            "chat_not_found",
        )
        .await;
        assert_eq!(get(&app, &other, "/api/chats").await["total"], 0);
        expect_error(
            app.get("/api/chats/not-a-uuid", Some(&token)).await,
            400,
            "invalid_parameter",
        )
        .await;
        expect_error(app.get("/api/chats", None).await, 401, "missing_token").await;

        // Dashboards by channel, and the visitor as a chat lead.
        let overview = |channel: &'static str| {
            let app = &app;
            let token = &token;
            async move {
                get(
                    app,
                    token,
                    &format!("/api/dashboard/overview?period=today&channel={channel}"),
                )
                .await["data"]["total_calls"]["value"]
                    .as_f64()
                    .unwrap()
            }
        };
        assert_eq!(overview("chat").await, 1.0);
        assert_eq!(overview("call").await, 1.0);
        assert_eq!(overview("all").await, 2.0);
        let analytics = get(
            &app,
            &token,
            "/api/dashboard/analytics?period=today&channel=chat",
        )
        .await;
        assert_eq!(analytics["data"]["agents"].as_array().unwrap().len(), 1);
        let leads = get(&app, &token, "/api/leads?type=chat").await;
        assert_eq!(leads["pagination"]["total"], 1);
        assert_eq!(leads["data"][0]["name"], "Vera Visitor");
        assert_eq!(leads["data"][0]["platform"], "Internet");
        assert!(leads["data"][0]["messages"].as_i64().unwrap() > 0);
        assert_eq!(
            get(&app, &token, "/api/leads?type=call").await["pagination"]["total"],
            1
        );
    }
);

/// Chats are metered by their own rule: per started minute (above), one credit each, or free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_metering_follows_its_setting() {
    for (billing, cost) in [(ChatBilling::PerConversation, 1), (ChatBilling::Free, 0)] {
        let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::InProcess, |c| {
            c.elevenlabs.webhook_secrets = vec![SECRET.into()];
            c.elevenlabs.chat_billing = billing;
        })
        .await;
        let (token, me) = signed_up(&app, "metered@example.com").await;
        chat_agent(&app, me).await;
        let event = chat_event("conv_metered");
        assert_eq!(post_call::deliver(&app, &event, None).await.status(), 200);
        app.wait_for_jobs(WAIT).await;
        let chats = get(&app, &token, "/api/chats").await;
        assert_eq!(chats["items"][0]["credits_charged"], cost, "{billing:?}");
        assert_eq!(
            get(&app, &token, "/api/user/credits").await["credits"],
            15 - cost
        );
        let usage = credit_transactions::Entity::find()
            .filter(credit_transactions::Column::UserId.eq(me))
            .filter(credit_transactions::Column::Kind.eq("usage"))
            .all(&app.services.db)
            .await
            .unwrap();
        assert_eq!(usage.len(), usize::from(cost > 0), "{billing:?}");
    }
}

on_both_backends!(
    a_widget_opens_chats_with_active_chat_agents_only,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let base = fake.uri();
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.elevenlabs.api_key = Some(elevenlabs::API_KEY.into());
            c.elevenlabs.api_base = base;
        })
        .await;
        let (token, me) = signed_up(&app, "widget@example.com").await;
        let (other, _) = signed_up(&app, "stranger@example.com").await;
        let agent = |kind: &str, status: &str| {
            json!({"name": format!("{kind} agent"), "type": kind, "status": status,
                   "system_prompt": "Help visitors.", "first_message": "Hi!"})
        };
        let create = |body: Value| {
            let app = &app;
            let token = &token;
            async move {
                let resp = app.post("/api/agents", body, Some(token)).await;
                let agent: Value = resp.expect_json(201).await;
                agent["data"]["id"].as_str().unwrap().to_string()
            }
        };
        let chat = create(agent("chat", "active")).await;
        let call = create(agent("call", "active")).await;
        let draft = create(agent("chat", "draft")).await;
        let session = |id: String, token: String| {
            let app = &app;
            async move {
                app.post(
                    &format!("/api/agents/{id}/chat-session"),
                    json!({}),
                    Some(&token),
                )
                .await
            }
        };

        let opened = session(chat.clone(), token.clone()).await;
        let opened: Value = opened.expect_json(200).await;
        let el_id = opened["elevenlabs_agent_id"].as_str().unwrap();
        assert!(opened["signed_url"].as_str().unwrap().starts_with("wss://"));
        assert!(opened["signed_url"].as_str().unwrap().contains(el_id));
        assert_eq!(opened["conversation_token"], format!("tok_{el_id}"));

        expect_error(session(call, token.clone()).await, 409, "not_a_chat_agent").await;
        expect_error(session(draft, token.clone()).await, 409, "agent_inactive").await;
        expect_error(session(chat.clone(), other).await, 404, "agent_not_found").await;

        // No credits, no chat.
        let mut user: shared::entities::users::ActiveModel =
            shared::accounts::users::get(&app.services.db, me)
                .await
                .unwrap()
                .into();
        user.credits = Set(0);
        user.update(&app.services.db).await.unwrap();
        expect_error(session(chat, token).await, 402, "insufficient_credits").await;
    }
);
