//! What the frontend sees change: the live event stream (`/api/events`, across gateways through
//! Redis or the embedded log) and the notification list with its read marks.

use std::time::Duration;

use serde_json::{Value, json};
use tests::{
    Backend, Decode, TestApp, WorkerMode, expect_error, on_both_backends,
    post_call::{self, SECRET},
    sse::SseStream,
    users::signed_in,
};

const WAIT: Duration = Duration::from_secs(30);
const EL_AGENT: &str = "agent_live_events_000000000";

on_both_backends!(
    a_processed_call_streams_to_its_owner_only,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.elevenlabs.webhook_secrets = vec![SECRET.into()];
            c.billing.low_balance_threshold = 12;
        })
        .await;
        let (owner_token, owner) = signed_in(&app, "owner@example.com").await;
        let (other_token, _) = signed_in(&app, "other@example.com").await;
        post_call::insert_agent(&app, owner, EL_AGENT).await;

        let mut mine = SseStream::open(&app, &owner_token).await;
        let mut theirs = SseStream::open(&app, &other_token).await;
        assert_eq!(mine.next(WAIT).await.unwrap().event, "ready");
        assert_eq!(theirs.next(WAIT).await.unwrap().event, "ready");

        let event = post_call::transcription(EL_AGENT, "conv_live");
        assert_eq!(post_call::deliver(&app, &event, None).await.status(), 200);
        let seen = mine.until("notification", WAIT).await;
        let find = |name: &str| -> Value {
            seen.iter()
                .find(|e| e.event == name)
                .unwrap_or_else(|| panic!("no {name} in {seen:?}"))
                .data
                .clone()
        };
        let completed = find("call_completed");
        assert_eq!(completed["type"], "call_completed");
        assert_eq!(completed["data"]["conversation_id"], "conv_live");
        assert_eq!(completed["data"]["credits_charged"], 3);
        assert_eq!(
            find("lead_scored")["data"]["total_score"],
            87,
            "13 of 15 is 87 of 100"
        );
        assert_eq!(find("credits_changed")["data"]["balance"], 12);
        let note = find("notification")["data"].clone();
        assert_eq!(note["kind"], "low_balance");
        assert!(
            theirs.next(Duration::from_millis(1500)).await.is_none(),
            "another user's stream stays quiet"
        );

        // The same notification, listed with its read mark.
        let list: Value = app
            .get("/api/notifications", Some(&owner_token))
            .await
            .success_json()
            .await;
        assert_eq!(list["success"], true);
        let list = &list["data"];
        assert_eq!(
            (list["total"].as_u64(), list["unreadCount"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(list["notifications"][0]["id"], note["id"]);
        assert_eq!(list["notifications"][0]["isRead"], false);
        assert_eq!(list["notifications"][0]["leadType"], "Low balance");
        let id = note["id"].as_str().unwrap();

        // Another tenant cannot read or mark it.
        let foreign = app
            .send(
                reqwest::Method::PATCH,
                &format!("/api/notifications/{id}/read"),
                None,
                Some(&other_token),
            )
            .await;
        expect_error(foreign, 404, "notification_not_found").await;
        let other_list: Value = app
            .get("/api/notifications", Some(&other_token))
            .await
            .success_json()
            .await;
        assert_eq!(other_list["data"]["total"], 0);

        // The bell sends PATCH with no body.
        let read: Value = app
            .send(
                reqwest::Method::PATCH,
                &format!("/api/notifications/{id}/read"),
                None,
                Some(&owner_token),
            )
            .await
            .success_json()
            .await;
        assert_eq!(
            (&read["success"], &read["data"]["isRead"]),
            (&json!(true), &json!(true))
        );
        let again: Value = app
            .post(
                &format!("/api/notifications/{id}/read"),
                serde_json::json!({}),
                Some(&owner_token),
            )
            .await
            .success_json()
            .await;
        assert_eq!(
            again["data"]["readAt"], read["data"]["readAt"],
            "idempotent"
        );
        let unread: Value = app
            .get("/api/notifications?unread=true", Some(&owner_token))
            .await
            .success_json()
            .await;
        assert_eq!(
            (
                unread["data"]["total"].as_u64(),
                unread["data"]["unreadCount"].as_u64()
            ),
            (Some(0), Some(0))
        );
        let all: Value = app
            .post(
                "/api/notifications/read-all",
                serde_json::json!({}),
                Some(&owner_token),
            )
            .await
            .success_json()
            .await;
        assert_eq!(all["updated"], 0);

        // Bad input.
        expect_error(
            app.get("/api/notifications", None).await,
            401,
            "missing_token",
        )
        .await;
        expect_error(app.get("/api/events", None).await, 401, "missing_token").await;
        expect_error(
            app.get("/api/notifications?limit=0", Some(&owner_token))
                .await,
            400,
            "invalid_parameter",
        )
        .await;
        expect_error(
            app.post(
                "/api/notifications/not-a-uuid/read",
                serde_json::json!({}),
                Some(&owner_token),
            )
            .await,
            400,
            "invalid_parameter",
        )
        .await;
        let unknown = shared::platform::ids::next();
        expect_error(
            app.post(
                &format!("/api/notifications/{unknown}/read"),
                serde_json::json!({}),
                Some(&owner_token),
            )
            .await,
            404,
            "notification_not_found",
        )
        .await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_cannot_hold_unbounded_streams() {
    let app = TestApp::spawn_with(Backend::Sqlite, WorkerMode::None, |_| {}).await;
    let (token, _) = signed_in(&app, "streams@example.com").await;
    let mut open = Vec::new();
    for _ in 0..shared::platform::live::MAX_STREAMS_PER_USER {
        open.push(SseStream::open(&app, &token).await);
    }
    let resp = app.get("/api/events", Some(&token)).await;
    assert_eq!(resp.headers().get("retry-after").unwrap(), "5");
    expect_error(resp, 429, "too_many_streams").await;
    // Closing one frees its slot.
    open.pop();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let resp = app.get("/api/events", Some(&token)).await;
        if resp.status() == 200 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "slot never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Two gateways share one database and Redis: an event published through one reaches a stream
/// held by the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_cross_gateway_replicas() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let (token, user_id) = signed_in(&app, "replicas@example.com").await;
    let mut stream = SseStream::open(&app, &token).await;
    assert_eq!(stream.next(WAIT).await.unwrap().event, "ready");
    // What another process would do after its commit.
    let other = shared::startup::start(app.config().clone(), false)
        .await
        .unwrap();
    shared::platform::live::publish(
        &other,
        vec![shared::platform::live::LiveEvent::new(
            user_id,
            shared::platform::live::LiveKind::ImportProgress,
            serde_json::json!({"import_id": "x", "processed_rows": 5}),
        )],
    )
    .await;
    let seen = stream.until("import_progress", WAIT).await;
    assert_eq!(seen.last().unwrap().data["data"]["processed_rows"], 5);
}
