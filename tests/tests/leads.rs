//! The lead list and profile, built by the post-call pipeline: one row per contact that talked
//! to an agent, every filter, sort, page edge, exports, next actions and tenant isolation.

use std::time::Duration;

use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::{Value, json};
use shared::{
    contacts::sheet::{Format, read},
    entities::agents,
};
use tests::{
    Backend, Decode, TestApp, WorkerMode, expect_error, on_both_backends,
    post_call::{self, SECRET, Scored},
    users::signed_in,
};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);

/// An app whose worker runs in-process and accepts webhooks signed with `SECRET`.
pub async fn app(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
        c.elevenlabs.webhook_secrets = vec![SECRET.into()];
    })
    .await
}

/// Delivers one scored call and waits until it is applied, so interactions have an order.
async fn call(app: &TestApp, agent: &str, conversation: &str, scored: Scored<'_>) {
    let event = post_call::scored_transcription(agent, conversation, scored);
    assert_eq!(post_call::deliver(app, &event, None).await.status(), 200);
    app.wait_for_jobs(WAIT).await;
}

async fn names(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let resp = app.get(&format!("/api/leads?{query}"), Some(token)).await;
    assert_eq!(resp.status(), 200, "{query}");
    let body: Value = resp.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["contact"]["name"].as_str().unwrap().to_string())
        .collect()
}

fn scored<'a>(
    number: &'a str,
    name: &'a str,
    total: i64,
    tag: &'a str,
    ctas: &'a [&'a str],
) -> Scored<'a> {
    Scored {
        number,
        name,
        total,
        tag,
        ctas,
        successful: true,
        secs: 75,
    }
}

on_both_backends!(
    leads_are_listed_filtered_and_profiled,
    |backend: Backend| async move {
        let app = app(backend).await;
        let (token, me) = signed_in(&app, "leads@example.com").await;
        let (other_token, other) = signed_in(&app, "rival@example.com").await;
        let qualifier = post_call::insert_agent(&app, me, "agent_qualifier").await;
        let closer = post_call::insert_agent(&app, me, "agent_closer").await;
        let chat = post_call::insert_agent(&app, me, "agent_chat").await;
        let mut active: agents::ActiveModel = chat.into();
        active.kind = Set(shared::agents::Channel::Chat);
        active.update(&app.services.db).await.unwrap();
        post_call::insert_agent(&app, other, "agent_rival").await;

        // Ann: cold first, then hot with a demo and pricing; Bob: warm; Cid: a chat; Dee: a
        // contact that never talked; the rival's lead.
        call(
            &app,
            "agent_qualifier",
            "conv_ann_1",
            scored("+14155550101", "Ann Apple", 3, "Cold", &[]),
        )
        .await;
        call(
            &app,
            "agent_closer",
            "conv_bob_1",
            scored(
                "+14155550102",
                "Bob Berry",
                10,
                "Warm",
                &["followup_clicked"],
            ),
        )
        .await;
        call(
            &app,
            "agent_chat",
            "conv_cid_1",
            scored("+14155550103", "Cid Cherry", 2, "Cold", &[]),
        )
        .await;
        call(
            &app,
            "agent_qualifier",
            "conv_ann_2",
            scored(
                "+14155550101",
                "Ann Apple",
                13,
                "Hot",
                &["demo_clicked", "pricing_clicked"],
            ),
        )
        .await;
        call(
            &app,
            "agent_rival",
            "conv_rival_1",
            scored("+14155550109", "Rex Rival", 14, "Hot", &[]),
        )
        .await;
        let dee: Value = app
            .post(
                "/api/contacts",
                json!({"name": "Dee Date", "phone_number": "+14155550104"}),
                Some(&token),
            )
            .await
            .success_json()
            .await;

        // Newest interaction first by default.
        assert_eq!(
            names(&app, &token, "").await,
            ["Ann Apple", "Cid Cherry", "Bob Berry"]
        );
        let body: Value = app
            .get("/api/leads", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(body["total"], 3);
        let ann = &body["items"][0];
        assert_eq!(ann["interaction_count"], 2);
        assert_eq!(ann["call_count"], 2);
        // Scores out of 100: the prompt's 13 of 15 is 87.
        assert_eq!(ann["total_score"], 87);
        assert_eq!(ann["lead_status_tag"], "Hot");
        assert_eq!(ann["lead_analytics"]["total_score"], 87);
        assert_eq!(
            ann["lead_analytics"]["cta_interactions"]["demo_clicked"],
            true
        );
        assert_eq!(
            ann["lead_analytics"]["reasoning"]["intent"],
            "Asked for pricing"
        );
        assert_eq!(ann["agents"][0]["id"], qualifier.id.to_string());
        assert_eq!(ann["contact"]["phone_number"], "+14155550101");
        let cid = &body["items"][1];
        assert_eq!(
            (cid["chat_count"].as_i64(), cid["call_count"].as_i64()),
            (Some(1), Some(0))
        );

        for (query, expected) in [
            ("tag=Hot", vec!["Ann Apple"]),
            ("tag=Cold", vec!["Cid Cherry"]),
            ("min_score=60", vec!["Ann Apple", "Bob Berry"]),
            ("max_score=15", vec!["Cid Cherry"]),
            ("min_score=20&max_score=70", vec!["Bob Berry"]),
            (&format!("agent_id={}", closer.id), vec!["Bob Berry"]),
            (&format!("agent_id={}", qualifier.id), vec!["Ann Apple"]),
            ("type=chat", vec!["Cid Cherry"]),
            ("type=call", vec!["Ann Apple", "Bob Berry"]),
            ("q=berry", vec!["Bob Berry"]),
            ("q=0103", vec!["Cid Cherry"]),
            ("q=rex", vec![]),
            ("sort=score", vec!["Ann Apple", "Bob Berry", "Cid Cherry"]),
            (
                "sort=score&order=asc",
                vec!["Cid Cherry", "Bob Berry", "Ann Apple"],
            ),
            (
                "sort=recency&order=asc",
                vec!["Bob Berry", "Cid Cherry", "Ann Apple"],
            ),
            (
                "from=2000-01-01T00:00:00Z",
                vec!["Ann Apple", "Cid Cherry", "Bob Berry"],
            ),
            ("from=2999-01-01T00:00:00Z", vec![]),
            ("to=2000-01-01T00:00:00Z", vec![]),
            ("per_page=2&page=2", vec!["Bob Berry"]),
            ("per_page=2&page=9", vec![]),
        ] {
            assert_eq!(names(&app, &token, query).await, expected, "{query}");
        }
        let page: Value = app
            .get("/api/leads?per_page=2&page=9", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(page["total"], 3, "an empty page past the end still counts");
        assert_eq!(names(&app, &other_token, "").await, ["Rex Rival"]);

        for (query, status, code) in [
            ("min_score=90&max_score=20", 400, "validation_error"),
            (
                "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
                400,
                "validation_error",
            ),
            ("page=0", 400, "invalid_parameter"),
            ("per_page=101", 400, "invalid_parameter"),
            ("type=fax", 400, "invalid_parameter"),
            ("sort=name", 400, "invalid_parameter"),
            ("max_score=101", 400, "invalid_parameter"),
            ("agent_id=nope", 400, "invalid_parameter"),
        ] {
            expect_error(
                app.get(&format!("/api/leads?{query}"), Some(&token)).await,
                status,
                code,
            )
            .await;
        }
        expect_error(app.get("/api/leads", None).await, 401, "missing_token").await;

        // The profile: trend, timeline newest first, next actions from the CTAs.
        let ann_id = ann["id"].as_str().unwrap();
        let profile: Value = app
            .get(&format!("/api/leads/{ann_id}"), Some(&token))
            .await
            .success_json()
            .await;
        let trend: Vec<i64> = profile["score_history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["total_score"].as_i64().unwrap())
            .collect();
        assert_eq!(trend, [20, 87]);
        assert_eq!(profile["timeline_total"], 2);
        let timeline = profile["timeline"].as_array().unwrap();
        assert_eq!(
            timeline[0]["call"]["elevenlabs_conversation_id"],
            "conv_ann_2"
        );
        assert_eq!(timeline[0]["type"], "call");
        assert_eq!(timeline[0]["duration"], "1:15");
        assert_eq!(timeline[0]["total_score"], 87);
        assert_eq!(timeline[0]["agent_name"], "Outbound qualifier");
        assert_eq!(timeline[0]["cta_interactions"]["pricing_clicked"], true);
        assert_eq!(
            timeline[0]["call"]["summary"],
            "Dana booked a demo for Thursday."
        );
        assert_eq!(timeline[1]["total_score"], 20);
        let actions: Vec<&str> = profile["next_actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["action"].as_str().unwrap())
            .collect();
        assert!(actions.contains(&"Schedule the demo"), "{actions:?}");
        assert!(actions.contains(&"Send pricing or a quote"), "{actions:?}");
        assert_eq!(profile["next_actions"][0]["priority"], "high");
        assert_eq!(profile["contact"]["name"], "Ann Apple");

        let rival = names(&app, &other_token, "").await;
        assert_eq!(rival.len(), 1);
        let rival_body: Value = app
            .get("/api/leads", Some(&other_token))
            .await
            .success_json()
            .await;
        let rival_id = rival_body["items"][0]["id"].as_str().unwrap();
        expect_error(
            app.get(&format!("/api/leads/{rival_id}"), Some(&token))
                .await,
            404,
            "lead_not_found",
        )
        .await;
        let dee_id = dee["id"].as_str().unwrap();
        expect_error(
            app.get(&format!("/api/leads/{dee_id}"), Some(&token)).await,
            404,
            "lead_not_found",
        )
        .await;
        expect_error(
            app.get(&format!("/api/leads/{}", Uuid::new_v4()), Some(&token))
                .await,
            404,
            "lead_not_found",
        )
        .await;
        expect_error(
            app.get("/api/leads/not-a-uuid", Some(&token)).await,
            400,
            "invalid_parameter",
        )
        .await;

        // Exports with the same filters; the .xlsx read back.
        let resp = app
            .get("/api/leads/export?format=csv&min_score=20", Some(&token))
            .await;
        assert_eq!(resp.status(), 200);
        let (rows, total) = read(Format::Csv, &resp.bytes().await.unwrap(), 10).unwrap();
        assert_eq!(total, 3, "a header and two leads");
        assert_eq!(rows[0][0], "Name");
        let resp = app.get("/api/leads/export?format=xlsx", Some(&token)).await;
        assert_eq!(resp.status(), 200);
        let (rows, total) = read(Format::Xlsx, &resp.bytes().await.unwrap(), 10).unwrap();
        assert_eq!(total, 4);
        let ann_row = rows
            .iter()
            .find(|r| r[0] == "Ann Apple")
            .expect("Ann exported");
        assert_eq!(
            (
                ann_row[4].as_str(),
                ann_row[5].as_str(),
                ann_row[11].as_str()
            ),
            ("87", "Hot", "2")
        );
        assert_eq!(ann_row[15], "Outbound qualifier");
        expect_error(
            app.get("/api/leads/export?format=pdf", Some(&token)).await,
            400,
            "invalid_parameter",
        )
        .await;
        let resp = app
            .get("/api/leads/export?format=csv", Some(&other_token))
            .await;
        let (_, total) = read(Format::Csv, &resp.bytes().await.unwrap(), 10).unwrap();
        assert_eq!(total, 2, "the rival exports only their own lead");
    }
);
