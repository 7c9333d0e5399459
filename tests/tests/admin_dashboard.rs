//! The admin dashboard's figures: accounts, agents, calls from the counters the post-call
//! pipeline keeps, credits held and spent, the activity feed, and this process's traffic.

use std::time::Duration;

use serde_json::Value;
use tests::{
    Backend, Decode, TestApp, WorkerMode, expect_error, on_both_backends,
    post_call::{self, SECRET, Scored},
    users::signed_in,
};

const WAIT: Duration = Duration::from_secs(30);

on_both_backends!(
    the_dashboard_counts_the_platform,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.elevenlabs.webhook_secrets = vec![SECRET.into()];
        })
        .await;
        let (root, _) = tests::users::signed_in_admin(&app, "root@example.com").await;
        let (member, member_id) = signed_in(&app, "caller@example.com").await;
        signed_in(&app, "quiet@example.com").await;
        post_call::insert_agent(&app, member_id, "agent_dash").await;
        let calls = [
            ("conv_d1", true, 133),
            ("conv_d2", false, 61),
            ("conv_d3", true, 30),
        ];
        let events: Vec<Value> = calls
            .iter()
            .map(|(conv, successful, secs)| {
                post_call::scored_transcription(
                    "agent_dash",
                    conv,
                    Scored {
                        number: "+14155550201",
                        name: "Lead",
                        total: 10,
                        tag: "Warm",
                        ctas: &[],
                        successful: *successful,
                        secs: *secs,
                    },
                )
            })
            .collect();
        for e in &events {
            // Twice each: a redelivery moves no figure.
            for _ in 0..2 {
                assert_eq!(post_call::deliver(&app, e, None).await.status(), 200);
            }
        }
        app.wait_for_jobs(WAIT).await;

        let stats: Value = app
            .get("/api/admin/stats/system", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(stats["success"], true);
        let s = &stats["data"];
        assert_eq!(s["users"]["total"], 3);
        assert_eq!(s["users"]["active"], 3, "all signed in just now");
        assert_eq!(s["users"]["newToday"], 3);
        assert_eq!(s["users"]["newThisMonth"], 3);
        assert_eq!(s["users"]["byTier"]["free"], 3);
        assert_eq!(s["agents"]["total"], 1);
        assert_eq!(s["agents"]["active"], 1);
        assert_eq!(s["agents"]["byType"]["call"], 1);
        assert_eq!(s["calls"]["total"], 3);
        assert_eq!(s["calls"]["totalThisMonth"], 3);
        // A fraction: the dashboard multiplies it by 100.
        assert_eq!(s["calls"]["successRate"], 0.667);
        assert_eq!(s["calls"]["averageDuration"], 75.0, "(133 + 61 + 30) / 3");
        // 3 + 2 + 1 started minutes.
        assert_eq!(s["calls"]["costThisMonth"], 6);
        assert_eq!(s["credits"]["used"], 6);
        let balances: i64 = users_balances(&app).await;
        assert_eq!(s["credits"]["inSystem"].as_i64(), Some(balances));
        // This process answered the requests above without a server error.
        let sys = &s["system"];
        assert!(sys["requests"].as_u64().unwrap() > 0, "{sys}");
        assert_eq!(sys["errorRate"], 0.0);
        assert_eq!(sys["uptime"], 100.0);
        assert!(sys["responseTime"].as_f64().unwrap() > 0.0);
        assert!(
            sys["activeConnections"].as_i64().unwrap() >= 1,
            "this request"
        );

        let dash: Value = app
            .get("/api/admin/dashboard", Some(&root))
            .await
            .success_json()
            .await;
        let d = &dash["data"];
        assert_eq!(d["totalUsers"], 3);
        assert_eq!(d["totalCalls"], 3);
        assert_eq!(d["callsToday"], 3);
        assert_eq!(d["totalAgents"], 1);
        let feed = d["recentActivity"].as_array().unwrap();
        let kinds: Vec<&str> = feed.iter().map(|a| a["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds.iter().filter(|k| **k == "call_completed").count(),
            3,
            "{kinds:?}"
        );
        assert_eq!(kinds.iter().filter(|k| **k == "user_registered").count(), 3);
        assert_eq!(kinds.iter().filter(|k| **k == "agent_created").count(), 1);
        let stamps: Vec<&str> = feed
            .iter()
            .map(|a| a["timestamp"].as_str().unwrap())
            .collect();
        let mut sorted = stamps.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(stamps, sorted, "newest first");

        // The user's own figures in the Users table come from the same counters.
        let users: Value = app
            .get(
                "/api/admin/users?sortBy=callCount&sortOrder=DESC",
                Some(&root),
            )
            .await
            .success_json()
            .await;
        let top = &users["data"]["users"][0];
        assert_eq!(top["id"], member_id.to_string());
        assert_eq!(
            (
                top["callCount"].as_i64(),
                top["creditsUsed"].as_i64(),
                top["agentCount"].as_i64()
            ),
            (Some(3), Some(6), Some(1))
        );
        let detail: Value = app
            .get(&format!("/api/admin/users/{member_id}"), Some(&root))
            .await
            .success_json()
            .await;
        let st = &detail["data"]["statistics"];
        assert_eq!(st["totalCalls"], 3);
        assert_eq!(
            st["successRate"], 66.7,
            "a percent here, as the modal shows it"
        );
        assert_eq!(st["averageCallDuration"], 74);
        let agent = &detail["data"]["agents"][0];
        assert_eq!(
            (agent["callCount"].as_i64(), agent["status"].as_str()),
            (Some(3), Some("active"))
        );
        assert!(agent["lastUsed"].is_string());
        let activity = detail["data"]["recentActivity"].as_array().unwrap();
        assert_eq!(activity.iter().filter(|a| a["type"] == "call").count(), 3);

        // The Analytics screen: the same counters, the range's days, the last day by hour.
        let a: Value = app
            .get("/api/admin/analytics/system", Some(&root))
            .await
            .success_json()
            .await;
        let a = &a["data"];
        assert_eq!(a["users"]["total"], 3);
        assert_eq!(a["calls"]["totalThisMonth"], 3);
        assert_eq!(a["calls"]["successRate"], 66.7, "a percent on this screen");
        assert_eq!(a["usage"].as_array().unwrap().len(), 30, "the last 30 days");
        let today = a["usage"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            (today["calls"].as_i64(), today["users"].as_i64()),
            (Some(3), Some(1))
        );
        let hours = a["hourlyUsage"].as_array().unwrap();
        assert_eq!(hours.len(), 24);
        assert_eq!(hours[0]["hour"], "00:00");
        assert_eq!(
            hours
                .iter()
                .map(|h| h["calls"].as_i64().unwrap())
                .sum::<i64>(),
            3
        );
        assert_eq!(a["userTiers"][0]["name"], "free");
        let week: Value = app
            .get(
                "/api/admin/analytics/system?dateRangeStart=2026-01-01T00:00:00.000Z&dateRangeEnd=2026-01-07T00:00:00.000Z",
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(week["data"]["usage"].as_array().unwrap().len(), 7);
        expect_error(
            app.get(
                "/api/admin/analytics/system?dateRangeStart=2026-02-01T00:00:00.000Z&dateRangeEnd=2026-01-01T00:00:00.000Z",
                Some(&root),
            )
            .await,
            400,
            "validation_error",
        )
        .await;

        // Users are refused.
        for path in [
            "/api/admin/dashboard",
            "/api/admin/stats/system",
            "/api/admin/analytics/system",
        ] {
            expect_error(app.get(path, Some(&member)).await, 403, "admin_required").await;
            expect_error(app.get(path, None).await, 401, "missing_token").await;
        }
    }
);

async fn users_balances(app: &TestApp) -> i64 {
    use sea_orm::EntityTrait;
    shared::entities::users::Entity::find()
        .all(&app.services.db)
        .await
        .unwrap()
        .iter()
        .map(|u| u.credits)
        .sum()
}
