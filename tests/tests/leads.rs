//! The lead views, built by the post-call pipeline: the Data tab's list (one row per finished
//! conversation, in the client's vocabulary) with every filter, sort and page edge; the lead
//! profile and timeline `LeadProfileTab` reads; the contact's full profile with next actions;
//! exports and tenant isolation.

use std::time::Duration;

use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::{Value, json};
use shared::{
    contacts::sheet::{Format, read},
    entities::agents,
};
use tests::{
    Backend, Decode, TestApp, WorkerMode, expect_error, on_both_backends,
    post_call::{self, SECRET, Scored, scored},
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
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect()
}

on_both_backends!(
    leads_are_listed_filtered_and_profiled,
    |backend: Backend| async move {
        let app = app(backend).await;
        let (token, me) = signed_in(&app, "leads@example.com").await;
        let (other_token, other) = signed_in(&app, "rival@example.com").await;
        post_call::insert_agent(&app, me, "agent_qualifier").await;
        let closer = post_call::insert_agent(&app, me, "agent_closer").await;
        let mut renamed: agents::ActiveModel = closer.into();
        renamed.name = Set("Closer".into());
        renamed.update(&app.services.db).await.unwrap();
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

        // Newest conversation first by default.
        assert_eq!(
            names(&app, &token, "").await,
            ["Ann Apple", "Cid Cherry", "Bob Berry", "Ann Apple"]
        );
        let body: Value = app
            .get("/api/leads", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(
            body["pagination"],
            json!({"total": 4, "limit": 20, "offset": 0, "hasMore": false})
        );
        let ann = &body["data"][0];
        // Scores out of 100: the prompt's 13 of 15 is 87.
        assert_eq!(ann["totalScore"], 87);
        assert_eq!(ann["leadTag"], "Hot");
        assert_eq!(ann["isLatestInteraction"], true);
        assert_eq!(ann["phone"], "+14155550101");
        assert_eq!(ann["duration"], "1:15");
        assert_eq!(ann["agent"], "Outbound qualifier");
        assert_eq!(ann["platform"], "Phone");
        assert_eq!(body["data"][3]["isLatestInteraction"], false);
        assert_eq!(body["data"][3]["leadTag"], "Cold");
        assert!(
            body["data"][1]["messages"].as_i64().is_some(),
            "a chat counts turns"
        );

        for (query, expected) in [
            ("leadTag=Hot", vec!["Ann Apple"]),
            ("leadTag=Cold", vec!["Cid Cherry", "Ann Apple"]),
            ("agent=Nobody", vec![]),
            ("agent=Closer", vec!["Bob Berry"]),
            ("search=berry", vec!["Bob Berry"]),
            ("search=0103", vec!["Cid Cherry"]),
            ("search=rex", vec![]),
            (
                "sortBy=leadTag",
                vec!["Ann Apple", "Bob Berry", "Ann Apple", "Cid Cherry"],
            ),
            (
                "sortBy=name",
                vec!["Ann Apple", "Ann Apple", "Bob Berry", "Cid Cherry"],
            ),
            (
                "sortBy=interactionDate&sortOrder=asc",
                vec!["Ann Apple", "Bob Berry", "Cid Cherry", "Ann Apple"],
            ),
            (
                "startDate=2000-01-01T00:00:00Z",
                vec!["Ann Apple", "Cid Cherry", "Bob Berry", "Ann Apple"],
            ),
            ("startDate=2999-01-01T00:00:00Z", vec![]),
            ("endDate=2000-01-01T00:00:00Z", vec![]),
            ("limit=2&offset=2", vec!["Bob Berry", "Ann Apple"]),
            ("limit=2&offset=18", vec![]),
        ] {
            assert_eq!(names(&app, &token, query).await, expected, "{query}");
        }
        let page: Value = app
            .get("/api/leads?limit=2&offset=18", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(
            page["pagination"]["total"], 4,
            "an empty page past the end still counts"
        );
        assert_eq!(names(&app, &other_token, "").await, ["Rex Rival"]);

        for (query, status, code) in [
            (
                "startDate=2026-02-01T00:00:00Z&endDate=2026-01-01T00:00:00Z",
                400,
                "validation_error",
            ),
            ("limit=0", 400, "invalid_parameter"),
            ("limit=101", 400, "invalid_parameter"),
            ("leadType=fax", 400, "invalid_parameter"),
            ("leadTag=Lukewarm", 400, "invalid_parameter"),
            ("sortBy=score", 400, "invalid_parameter"),
        ] {
            expect_error(
                app.get(&format!("/api/leads?{query}"), Some(&token)).await,
                status,
                code,
            )
            .await;
        }
        expect_error(app.get("/api/leads", None).await, 401, "missing_token").await;

        // What LeadProfileTab reads, by conversation id or contact id.
        let ann_call = ann["id"].as_str().unwrap();
        let view: Value = app
            .get(&format!("/api/leads/{ann_call}/profile"), Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(view["success"], true);
        let view = &view["data"];
        assert_eq!(view["name"], "Ann Apple");
        assert_eq!(view["totalScore"], 87);
        assert_eq!(view["leadTag"], "Hot");
        assert_eq!(view["agentType"], "CallAgent");
        assert_eq!(view["interactions"], 2);
        assert_eq!(view["ctaInteractions"]["demo_clicked"], true);
        assert_eq!(view["reasoning"]["intent"], "Asked for pricing");
        assert!(view["scores"]["intent"].as_i64().unwrap() <= 100);
        let ann_id = view["contactId"].as_str().unwrap().to_string();
        let by_contact: Value = app
            .get(&format!("/api/leads/{ann_id}/profile"), Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(
            by_contact["data"]["id"], ann_call,
            "a contact opens its newest"
        );
        let timeline: Value = app
            .get(&format!("/api/leads/{ann_call}/timeline"), Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(timeline["data"]["totalInteractions"], 2);
        let entries = timeline["data"]["timeline"].as_array().unwrap();
        assert_eq!(
            (entries[0]["id"].as_str(), entries[0]["status"].as_str()),
            (Some(ann_call), Some("Hot"))
        );
        assert_eq!(entries[1]["status"], "Cold");
        assert_eq!(entries[0]["type"], "call");

        // The contact's full profile: trend, timeline newest first, next actions from the CTAs.
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
        let rival_call = rival_body["data"][0]["id"].as_str().unwrap();
        for path in ["profile", "timeline"] {
            expect_error(
                app.get(&format!("/api/leads/{rival_call}/{path}"), Some(&token))
                    .await,
                404,
                "lead_not_found",
            )
            .await;
        }
        let rival_view: Value = app
            .get(
                &format!("/api/leads/{rival_call}/profile"),
                Some(&other_token),
            )
            .await
            .success_json()
            .await;
        let rival_id = rival_view["data"]["contactId"].as_str().unwrap();
        expect_error(
            app.get(&format!("/api/leads/{rival_id}"), Some(&token))
                .await,
            404,
            "lead_not_found",
        )
        .await;
        let dee_id = dee["data"]["id"].as_str().unwrap();
        expect_error(
            app.get(&format!("/api/leads/{dee_id}/profile"), Some(&token))
                .await,
            404,
            "lead_not_found",
        )
        .await;
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
        let rows: Vec<Vec<String>> = rows.into_iter().map(|(_, cells)| cells).collect();
        assert_eq!(total, 3, "a header and two leads");
        assert_eq!(rows[0][0], "Name");
        let resp = app.get("/api/leads/export?format=xlsx", Some(&token)).await;
        assert_eq!(resp.status(), 200);
        let (rows, total) = read(Format::Xlsx, &resp.bytes().await.unwrap(), 10).unwrap();
        let rows: Vec<Vec<String>> = rows.into_iter().map(|(_, cells)| cells).collect();
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
