//! Lead Intelligence, the call analytics detail and the Calling Agent's analytics tab, after
//! signed webhooks: groups by number (and one per conversation nobody could be attached to),
//! their timelines, one call's analytics, and every chart's figures against the calls sent.

use std::time::Duration;

use serde_json::{Value, json};
use tests::{
    Backend, Decode, TestApp, WorkerMode, expect_error, on_both_backends,
    post_call::{self, SECRET, scored},
    users::signed_in,
};

const WAIT: Duration = Duration::from_secs(30);

async fn deliver(app: &TestApp, event: &Value) {
    assert_eq!(post_call::deliver(app, event, None).await.status(), 200);
    app.wait_for_jobs(WAIT).await;
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    app.get(path, Some(token)).await.success_json().await
}

on_both_backends!(
    lead_intelligence_and_call_analytics_follow_the_calls,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.elevenlabs.webhook_secrets = vec![SECRET.into()];
        })
        .await;
        let (token, me) = signed_in(&app, "intel@example.com").await;
        let (other_token, _) = signed_in(&app, "nosy@example.com").await;
        post_call::insert_agent(&app, me, "agent_intel").await;

        let agent = "agent_intel";
        deliver(
            &app,
            &post_call::scored_transcription(
                agent,
                "conv_ann_1",
                scored("+14155550101", "Ann Apple", 3, "Cold", &[]),
            ),
        )
        .await;
        deliver(
            &app,
            &post_call::scored_transcription(
                agent,
                "conv_bob_1",
                scored(
                    "+14155550102",
                    "Bob Berry",
                    10,
                    "Warm",
                    &["followup_clicked"],
                ),
            ),
        )
        .await;
        deliver(
            &app,
            &post_call::scored_transcription(
                agent,
                "conv_ann_2",
                scored(
                    "+14155550101",
                    "Ann Apple",
                    13,
                    "Hot",
                    &["demo_clicked", "pricing_clicked"],
                ),
            ),
        )
        .await;
        // A visitor on the web widget who left no details: no number, no contact.
        let mut web = post_call::scored_transcription(
            agent,
            "conv_web_1",
            scored("+10000000000", "", 10, "Warm", &[]),
        );
        let data = web["data"].as_object_mut().unwrap();
        data["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("phone_call");
        data["conversation_initiation_client_data"]["dynamic_variables"] =
            json!({"system__caller_id": "internal"});
        deliver(&app, &web).await;

        // The groups: a bare array, most recently active first.
        let groups = get(&app, &token, "/api/lead-intelligence").await;
        let groups = groups.as_array().unwrap();
        assert_eq!(groups.len(), 3, "{groups:#?}");
        let by_id = |id: &str| groups.iter().find(|g| g["id"] == id).cloned();
        let ann = by_id("phone_+14155550101").expect("Ann's group, keyed by her number");
        assert_eq!(ann["name"], "Ann Apple");
        assert_eq!(ann["groupType"], "phone");
        assert_eq!(ann["recentLeadTag"], "Hot", "the newest conversation's tag");
        assert_eq!(ann["interactions"], 2);
        assert_eq!(ann["interactedAgents"], json!(["Outbound qualifier"]));
        assert_eq!(ann["escalatedToHuman"], false);
        let visitor = groups
            .iter()
            .find(|g| g["groupType"] == "individual")
            .expect("the visitor's own group");
        assert_eq!(visitor["name"], "Anonymous");
        assert_eq!(groups[0]["id"], visitor["id"], "the newest first");

        // Timelines.
        let timeline = get(
            &app,
            &token,
            "/api/lead-intelligence/phone_+14155550101/timeline",
        )
        .await;
        let entries = timeline.as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            (entries[0]["status"].as_str(), entries[1]["status"].as_str()),
            (Some("Hot"), Some("Cold"))
        );
        assert_eq!(entries[0]["duration"], "01:15");
        assert_eq!(entries[0]["platform"], "Phone");
        assert_eq!(entries[0]["interactionAgent"], "Outbound qualifier");
        let visitor_id = visitor["id"].as_str().unwrap();
        let web_line = get(
            &app,
            &token,
            &format!("/api/lead-intelligence/{visitor_id}/timeline"),
        )
        .await;
        assert_eq!(web_line[0]["platform"], "Internet");
        for bad in ["bogus", "phone_+19999999999", "individual_nope"] {
            expect_error(
                app.get(
                    &format!("/api/lead-intelligence/{bad}/timeline"),
                    Some(&token),
                )
                .await,
                404,
                "lead_not_found",
            )
            .await;
        }
        expect_error(
            app.get(
                "/api/lead-intelligence/phone_+14155550101/timeline",
                Some(&other_token),
            )
            .await,
            404,
            "lead_not_found",
        )
        .await;
        assert_eq!(
            get(&app, &other_token, "/api/lead-intelligence").await,
            json!([])
        );

        // One call's analytics, snake_case inside as the modal reads it.
        let hot_call = entries[0]["id"].as_str().unwrap();
        let detail = get(&app, &token, &format!("/api/analytics/calls/{hot_call}")).await;
        assert_eq!(detail["success"], true);
        let d = &detail["data"];
        assert_eq!(d["overall"]["total_score"], 87);
        assert_eq!(d["overall"]["lead_status_tag"], "Hot");
        assert_eq!(d["scores"]["intent"]["reasoning"], "Asked for pricing");
        assert!(d["scores"]["budget"]["score"].as_i64().unwrap() <= 100);
        let ctas: Vec<&str> = d["interactions"]["cta_summary"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(ctas, ["Asked about pricing", "Asked for a demo"]);
        assert!(
            d["interactions"]["engagement_indicators"][0]
                .as_str()
                .unwrap()
                .starts_with("Talked for")
        );
        let steps: Vec<&str> = d["recommendations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(steps.contains(&"Schedule the demo"), "{steps:?}");
        expect_error(
            app.get(
                &format!("/api/analytics/calls/{hot_call}"),
                Some(&other_token),
            )
            .await,
            404,
            "call_not_found",
        )
        .await;

        // The Calling Agent's analytics tab, from the counters.
        let kpis = get(&app, &token, "/api/call-analytics/kpis").await;
        let cards = kpis["data"]["kpiData"].as_array().unwrap();
        assert_eq!(cards.len(), 6);
        assert_eq!(
            (cards[0]["title"].as_str(), cards[0]["value"].as_str()),
            (Some("Total Calls Made"), Some("4"))
        );
        assert_eq!(cards[2]["value"], "100%", "every call connected");
        assert_eq!(cards[3]["value"], "1m 15s");
        assert_eq!(cards[4]["value"], "75%", "three of four Hot or Warm");
        assert_eq!(cards[5]["value"], "1", "Bob agreed to a follow-up");
        let more = kpis["data"]["additionalMetrics"].as_array().unwrap();
        assert_eq!(
            (more[0]["title"].as_str(), more[0]["value"].as_str()),
            (Some("Not Connected"), Some("0"))
        );
        assert_eq!(more[2]["value"], "1");
        let quality = get(&app, &token, "/api/call-analytics/lead-quality").await;
        let shares: Vec<(String, f64)> = quality["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_string(),
                    s["value"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            shares,
            [
                ("Hot Leads".to_string(), 25.0),
                ("Warm Leads".to_string(), 50.0),
                ("Cold Leads".to_string(), 25.0)
            ]
        );
        let funnel = get(&app, &token, "/api/call-analytics/funnel").await;
        let stages: Vec<i64> = funnel["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["value"].as_i64().unwrap())
            .collect();
        assert_eq!(stages, [4, 4, 3, 1, 0]);
        let cells = get(&app, &token, "/api/call-analytics/intent-budget").await;
        let leads: i64 = cells["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["leads"].as_i64().unwrap())
            .sum();
        assert_eq!(leads, 4, "every scored call in one cell");
        let sources = get(&app, &token, "/api/call-analytics/source-breakdown").await;
        let split: Vec<(String, i64)> = sources["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_string(),
                    s["count"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            split,
            [("Phone".to_string(), 3), ("Internet".to_string(), 1)]
        );
        assert_eq!(sources["data"][0]["value"], 75.0);
        let export = get(&app, &token, "/api/call-analytics/call-source-analytics").await;
        let phone = &export["data"]["source_analytics"][0];
        assert_eq!(phone["call_source"], "phone");
        assert_eq!(phone["metrics"]["total_calls"], 3);
        assert_eq!(phone["metrics"]["hot_leads"], 1);
        assert_eq!(phone["changes"]["calls_change"], 3);
        let summary = get(&app, &token, "/api/call-analytics/summary").await;
        let balance = shared::money::credits::balance(&app.services.db, me)
            .await
            .unwrap();
        assert_eq!(summary["data"]["minutes"], balance);
        assert_eq!(summary["data"]["totalCalls"], 4);
        // A range with nothing in it, and a bad one.
        let empty = get(
            &app,
            &token,
            "/api/call-analytics/kpis?dateFrom=2020-01-01T00:00:00Z&dateTo=2020-01-31T00:00:00Z",
        )
        .await;
        assert_eq!(empty["data"]["kpiData"][0]["value"], "0");
        expect_error(
            app.get("/api/call-analytics/funnel?dateFrom=2026-02-01T00:00:00Z&dateTo=2026-01-01T00:00:00Z", Some(&token)).await,
            400,
            "validation_error",
        )
        .await;
        expect_error(
            app.get(
                &format!("/api/call-analytics/kpis?agentId={}", uuid::Uuid::new_v4()),
                Some(&token),
            )
            .await,
            404,
            "agent_not_found",
        )
        .await;
        let theirs = get(&app, &other_token, "/api/call-analytics/kpis").await;
        assert_eq!(theirs["data"]["kpiData"][0]["value"], "0");

        // The call logs' statistics.
        let stats = get(&app, &token, "/api/calls/stats").await;
        assert_eq!(stats["data"]["totalCalls"], 4);
        assert_eq!(stats["data"]["completedCalls"], 4);
        assert_eq!(stats["data"]["inProgressCalls"], 0);
        assert_eq!(stats["data"]["topPerformingAgent"], "Outbound qualifier");
        assert_eq!(stats["data"]["period"], "month");
        let day = get(&app, &token, "/api/calls/stats?period=day").await;
        assert_eq!(day["data"]["period"], "day");
        expect_error(
            app.get("/api/calls/stats?period=year", Some(&token)).await,
            400,
            "invalid_parameter",
        )
        .await;
    }
);
