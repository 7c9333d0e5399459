//! The Overview screen: KPIs with previous-period deltas, charts in the user's time zone,
//! recent activity, and the hourly counters behind them kept exactly in step with the calls by
//! the post-call pipeline.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, QueryOrder};
use serde_json::{Value, json};
use shared::{
    dashboard::recount,
    entities::{call_rollups, calls, purchases},
};
use tests::{
    Backend, Decode, TestApp, WorkerMode, expect_error, on_both_backends,
    post_call::{self, SECRET, Scored},
    records::{self, CallRow},
    users::signed_in,
};

const WAIT: Duration = Duration::from_secs(30);

/// The body; for the Overview's two endpoints, what their `{success, data}` envelope holds.
async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let resp = app.get(path, Some(token)).await;
    assert_eq!(resp.status(), 200, "{path}");
    let body: Value = resp.json().await.unwrap();
    if path.starts_with("/api/dashboard/overview") || path.starts_with("/api/dashboard/analytics") {
        assert_eq!(body["success"], true, "{path}: {body}");
        body["data"].clone()
    } else {
        body
    }
}

/// The accounts' counters and the platform's, checked to agree.
async fn all_rollups(
    app: &TestApp,
) -> (
    Vec<call_rollups::Model>,
    Vec<shared::entities::platform_rollups::Model>,
) {
    use shared::entities::platform_rollups as platform;
    let accounts = call_rollups::Entity::find()
        .order_by_asc(call_rollups::Column::UserId)
        .order_by_asc(call_rollups::Column::Hour)
        .order_by_asc(call_rollups::Column::AgentId)
        .all(&app.services.db)
        .await
        .unwrap();
    let days = platform::Entity::find()
        .order_by_asc(platform::Column::Day)
        .order_by_asc(platform::Column::Shard)
        .all(&app.services.db)
        .await
        .unwrap();
    // The platform's counters are the accounts' summed.
    let of = |f: fn(&call_rollups::Model) -> i64| accounts.iter().map(f).sum::<i64>();
    let on = |f: fn(&platform::Model) -> i64| days.iter().map(f).sum::<i64>();
    assert_eq!(on(|d| d.calls), of(|r| r.calls));
    assert_eq!(on(|d| d.successful), of(|r| r.successful));
    assert_eq!(on(|d| d.duration_secs), of(|r| r.duration_secs));
    assert_eq!(on(|d| d.credits), of(|r| r.credits));
    (accounts, days)
}

on_both_backends!(
    counters_follow_the_pipeline_exactly,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.elevenlabs.webhook_secrets = vec![SECRET.into()];
        })
        .await;
        let (token, me) = signed_in(&app, "kpis@example.com").await;
        let (other_token, _) = signed_in(&app, "quiet@example.com").await;
        post_call::insert_agent(&app, me, "agent_kpi").await;
        let calls = [
            (
                "conv_k1",
                "+14155550201",
                13,
                "Hot",
                &["demo_clicked", "pricing_clicked"][..],
                true,
                133,
            ),
            (
                "conv_k2",
                "+14155550202",
                10,
                "Warm",
                &["followup_clicked"][..],
                false,
                61,
            ),
            ("conv_k3", "+14155550203", 5, "Cold", &[][..], true, 30),
        ];
        let mut deliveries = Vec::new();
        for (conv, number, total, tag, ctas, successful, secs) in calls {
            let event = post_call::scored_transcription(
                "agent_kpi",
                conv,
                Scored {
                    number,
                    name: "Lead",
                    total,
                    tag,
                    ctas,
                    successful,
                    secs,
                },
            );
            // Every event twice: a redelivery must move no counter.
            deliveries.push(event.clone());
            deliveries.push(event);
        }
        deliveries.push(post_call::initiation_failure(
            "agent_kpi",
            "conv_k4",
            "busy",
        ));
        for resp in
            futures::future::join_all(deliveries.iter().map(|e| post_call::deliver(&app, e, None)))
                .await
        {
            assert_eq!(resp.status(), 200);
        }
        app.wait_for_jobs(WAIT).await;

        let o = get(&app, &token, "/api/dashboard/overview?period=today&tz=UTC").await;
        let value = |k: &str| o[k]["value"].as_f64().unwrap();
        assert_eq!(value("total_calls"), 4.0);
        assert_eq!(value("connected_calls"), 3.0);
        assert_eq!(value("failed_calls"), 1.0);
        assert_eq!(value("success_rate"), 66.67);
        assert_eq!(value("total_minutes"), 3.73);
        assert_eq!(value("average_minutes"), 1.24);
        assert_eq!(value("credits_used"), 6.0, "3 + 2 + 1 started minutes");
        assert_eq!(value("scored_calls"), 3.0);
        // 13, 10 and 5 out of 15 are 87, 67 and 33 out of 100.
        assert_eq!(value("average_lead_score"), 62.33);
        assert_eq!(o["leads_by_tag"]["hot"]["value"], 1.0);
        assert_eq!(o["leads_by_tag"]["warm"]["value"], 1.0);
        assert_eq!(o["leads_by_tag"]["cold"]["value"], 1.0);
        assert_eq!(o["conversion"]["demo_rate"]["value"], 33.33);
        assert_eq!(o["conversion"]["escalation_rate"]["value"], 0.0);
        assert_eq!(o["total_calls"]["previous"], 0.0);
        assert_eq!(o["total_calls"]["change"], 4.0);
        assert!(
            o["total_calls"]["change_pct"].is_null(),
            "no change in percent from zero"
        );
        let credits = get(&app, &token, "/api/user/credits").await;
        assert_eq!(o["credits_remaining"], credits["credits"]);
        assert_eq!(o["period"]["period"], "today");
        assert_eq!(o["period"]["timezone"], "UTC");

        let a = get(&app, &token, "/api/dashboard/analytics?period=today&tz=UTC").await;
        assert_eq!(a["granularity"], "hour");
        let series = a["series"].as_array().unwrap();
        assert_eq!(series.len(), 24);
        assert_eq!(
            series
                .iter()
                .map(|p| p["calls"].as_i64().unwrap())
                .sum::<i64>(),
            4
        );
        let distribution: Vec<i64> = a["score_distribution"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_i64().unwrap())
            .collect();
        assert_eq!(distribution, [0, 1, 0, 1, 1]);
        assert_eq!(a["score_distribution"][1]["range"], "20-39");
        assert_eq!(a["tag_distribution"][0], json!({"tag": "Hot", "count": 1}));
        assert_eq!(a["agents"][0]["calls"], 4);
        assert_eq!(a["agents"][0]["name"], "Outbound qualifier");
        assert_eq!(a["agents"][0]["success_rate"], 66.67);
        assert_eq!(
            a["cta_funnel"][0],
            json!({"stage": "scored_calls", "count": 3, "rate": 100.0})
        );
        assert_eq!(a["cta_funnel"][1]["stage"], "pricing_clicked");
        assert_eq!(a["cta_funnel"][1]["count"], 1);

        // What the job kept incrementally is exactly what a rebuild from the calls computes.
        let kept = all_rollups(&app).await;
        assert!(!kept.0.is_empty() && !kept.1.is_empty());
        let recount = recount::rebuild(&app.services.db).await.unwrap();
        assert_eq!(all_rollups(&app).await, kept);
        // Counters that are right are left alone.
        assert_eq!((recount.calls, recount.written, recount.removed), (4, 0, 0));
        assert_eq!(recount.keys, kept.0.len() as u64);
        // A wrong row and one for an hour without calls (a restore from a backup taken
        // mid-change) are mended, and only they are touched; then a missing row.
        let db = &app.services.db;
        let row = kept.0[0].clone();
        let mut wrong: call_rollups::ActiveModel = row.clone().into();
        wrong.calls = Set(row.calls + 7);
        wrong.update(db).await.unwrap();
        let stale = call_rollups::Model {
            hour: row.hour - chrono::TimeDelta::days(400),
            calls: 3,
            ..row.clone()
        };
        call_rollups::ActiveModel::from(stale)
            .insert(db)
            .await
            .unwrap();
        let recount = recount::rebuild(db).await.unwrap();
        assert_eq!((recount.written, recount.removed), (1, 1));
        assert_eq!(all_rollups(&app).await, kept);
        call_rollups::Entity::delete_by_id((row.user_id, row.hour, row.agent_id))
            .exec(db)
            .await
            .unwrap();
        let recount = recount::rebuild(db).await.unwrap();
        assert_eq!((recount.written, recount.removed), (1, 0));
        assert_eq!(all_rollups(&app).await, kept);

        let recent = get(&app, &token, "/api/dashboard/recent-activity").await;
        assert_eq!(recent["calls"].as_array().unwrap().len(), 4);
        assert_eq!(recent["leads"].as_array().unwrap().len(), 3);
        assert_eq!(recent["leads"][0]["contact_name"], "Lead");
        assert!(recent["imports"].as_array().unwrap().is_empty());
        assert!(recent["purchases"].as_array().unwrap().is_empty());
        // An import and a purchase show up beside the calls, newest first.
        let upload = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"Name,Phone\nRecent,+14155550177\n".to_vec())
                .file_name("recent.csv"),
        );
        let accepted = app
            .client
            .post(app.url("/api/contacts/imports"))
            .bearer_auth(&token)
            .multipart(upload)
            .send()
            .await
            .unwrap();
        assert_eq!(accepted.status(), 202);
        let now = Utc::now();
        for (credits, at) in [(100, now - chrono::TimeDelta::hours(1)), (250, now)] {
            purchases::ActiveModel {
                id: Set(shared::platform::ids::next()),
                user_id: Set(me),
                credits: Set(credits),
                amount_cents: Set(credits * 10),
                currency: Set("usd".into()),
                status: Set(shared::entities::purchases::PurchaseStatus::Paid),
                stripe_checkout_session_id: Set(None),
                stripe_payment_intent_id: Set(None),
                stripe_charge_id: Set(None),
                checkout_url: Set(None),
                receipt_url: Set(None),
                refunded_credits: Set(0),
                created_at: Set(at),
                updated_at: Set(at),
                paid_at: Set(Some(at)),
            }
            .insert(&app.services.db)
            .await
            .unwrap();
        }
        let recent = get(&app, &token, "/api/dashboard/recent-activity").await;
        assert_eq!(recent["imports"][0]["filename"], "recent.csv");
        let bought: Vec<i64> = recent["purchases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["credits"].as_i64().unwrap())
            .collect();
        assert_eq!(bought, [250, 100]);
        let recent = get(&app, &token, "/api/dashboard/recent-activity?limit=2").await;
        assert_eq!(recent["calls"].as_array().unwrap().len(), 2);
        expect_error(
            app.get("/api/dashboard/recent-activity?limit=0", Some(&token))
                .await,
            400,
            "invalid_parameter",
        )
        .await;
        expect_error(
            app.get("/api/dashboard/recent-activity?limit=51", Some(&token))
                .await,
            400,
            "invalid_parameter",
        )
        .await;

        // Another tenant sees none of it.
        let theirs = get(&app, &other_token, "/api/dashboard/overview?period=today").await;
        assert_eq!(theirs["total_calls"]["value"], 0.0);
        let theirs = get(&app, &other_token, "/api/dashboard/analytics?period=today").await;
        assert!(theirs["agents"].as_array().unwrap().is_empty());
        let theirs = get(&app, &other_token, "/api/dashboard/recent-activity").await;
        assert!(theirs["calls"].as_array().unwrap().is_empty());
        assert!(theirs["leads"].as_array().unwrap().is_empty());
        assert!(theirs["imports"].as_array().unwrap().is_empty());
        assert!(theirs["purchases"].as_array().unwrap().is_empty());
    }
);

async fn call_at(
    app: &TestApp,
    user: uuid::Uuid,
    agent: uuid::Uuid,
    at: &str,
    lead: Option<(&str, i32)>,
) {
    let call = records::call(
        app,
        CallRow {
            user,
            agent: Some(agent),
            contact: None,
            secs: 90,
            status: shared::calls::CallStatus::Completed,
            success: Some("success"),
        },
    )
    .await;
    if let Some((tag, total)) = lead {
        records::lead(app, &call, tag, total).await;
    }
    let at: DateTime<Utc> = at.parse().unwrap();
    let mut active: calls::ActiveModel = call.into();
    active.created_at = Set(at);
    active.update(&app.services.db).await.unwrap();
}

fn counts(analytics: &Value) -> Vec<i64> {
    analytics["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["calls"].as_i64().unwrap())
        .collect()
}

on_both_backends!(
    periods_follow_the_users_time_zone,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (token, me) = signed_in(&app, "zones@example.com").await;
        let agent = post_call::insert_agent(&app, me, "agent_zones").await.id;
        // 03:30 UTC on 10 March is still 9 March in New York and already midday in Tokyo; 15:00
        // UTC is midnight in Tokyo. New York moved to daylight time on 8 March.
        call_at(&app, me, agent, "2026-03-10T03:30:00Z", Some(("Hot", 13))).await;
        call_at(&app, me, agent, "2026-03-10T15:00:00Z", Some(("Warm", 8))).await;
        call_at(&app, me, agent, "2026-03-08T12:00:00Z", None).await;
        call_at(&app, me, agent, "2026-03-08T13:00:00Z", None).await;
        call_at(&app, me, agent, "2026-03-01T12:00:00Z", None).await;
        // Calls stored before the counters existed are counted by a rebuild.
        recount::rebuild(&app.services.db).await.unwrap();

        let overview = |q: &'static str| {
            let app = &app;
            let token = &token;
            async move {
                get(
                    app,
                    token,
                    &format!("/api/dashboard/overview?period=custom&{q}"),
                )
                .await
            }
        };
        let o = overview("from=2026-03-09&to=2026-03-10&tz=UTC").await;
        assert_eq!(
            (
                o["total_calls"]["value"].as_f64(),
                o["total_calls"]["previous"].as_f64()
            ),
            (Some(2.0), Some(2.0))
        );
        assert_eq!(o["total_calls"]["change_pct"], 0.0);
        assert_eq!(o["previous_period"]["first_day"], "2026-03-07");
        assert_eq!(o["previous_period"]["last_day"], "2026-03-08");
        assert_eq!(o["average_lead_score"]["value"], 10.5);

        let o = overview("from=2026-03-10&to=2026-03-10&tz=UTC").await;
        assert_eq!(o["total_calls"]["value"], 2.0);
        assert_eq!(o["total_calls"]["previous"], 0.0);
        let o = overview("from=2026-03-10&to=2026-03-10&tz=America/New_York").await;
        assert_eq!(
            (
                o["total_calls"]["value"].as_f64(),
                o["total_calls"]["previous"].as_f64()
            ),
            (Some(1.0), Some(1.0))
        );
        assert_eq!(o["total_calls"]["change"], 0.0);
        assert_eq!(o["average_lead_score"]["value"], 8.0);
        assert_eq!(o["average_lead_score"]["previous"], 13.0);
        assert_eq!(o["average_lead_score"]["change_pct"], -38.46);
        let from: DateTime<Utc> = o["period"]["from"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            from,
            "2026-03-10T04:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let o = overview("from=2026-03-10&to=2026-03-10&tz=Asia/Tokyo").await;
        assert_eq!(o["total_calls"]["value"], 1.0);

        let a = get(&app, &token, "/api/dashboard/analytics?period=custom&from=2026-03-07&to=2026-03-10&tz=America/New_York").await;
        assert_eq!(a["granularity"], "day");
        let labels: Vec<&str> = a["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["bucket"].as_str().unwrap())
            .collect();
        assert_eq!(
            labels,
            ["2026-03-07", "2026-03-08", "2026-03-09", "2026-03-10"]
        );
        assert_eq!(counts(&a), [0, 2, 1, 1]);
        let a = get(
            &app,
            &token,
            "/api/dashboard/analytics?period=custom&from=2026-03-07&to=2026-03-10&tz=UTC",
        )
        .await;
        assert_eq!(counts(&a), [0, 2, 0, 2]);
        assert_eq!(a["series"][3]["average_score"], 10.5);
        assert!(a["series"][0]["average_score"].is_null());

        // Hourly: a UTC day has 24 points, New York's spring-forward day 23.
        let a = get(
            &app,
            &token,
            "/api/dashboard/analytics?period=custom&from=2026-03-10&to=2026-03-10&tz=UTC",
        )
        .await;
        assert_eq!(a["granularity"], "hour");
        let hours = counts(&a);
        assert_eq!(hours.len(), 24);
        assert_eq!((hours[3], hours[15], hours.iter().sum::<i64>()), (1, 1, 2));
        assert_eq!(a["series"][3]["bucket"], "2026-03-10T03:00");
        let a = get(&app, &token, "/api/dashboard/analytics?period=custom&from=2026-03-08&to=2026-03-08&tz=America/New_York").await;
        assert_eq!(counts(&a).len(), 23);
        assert_eq!(
            a["series"][8]["bucket"], "2026-03-08T09:00",
            "after 02:00 the clock jumped"
        );
        let a = get(&app, &token, "/api/dashboard/analytics?period=custom&from=2026-03-07&to=2026-03-10&tz=UTC&granularity=hour").await;
        assert_eq!(counts(&a).len(), 96);

        // The profile's time zone is the default.
        let resp = app
            .send(
                reqwest::Method::PUT,
                "/api/user/profile",
                Some(json!({"timezone": "America/New_York"})),
                Some(&token),
            )
            .await;
        assert_eq!(resp.status(), 200);
        let o = overview("from=2026-03-10&to=2026-03-10").await;
        assert_eq!(o["period"]["timezone"], "America/New_York");
        assert_eq!(o["total_calls"]["value"], 1.0);

        for (query, status, code) in [
            ("period=custom&from=2026-03-10", 400, "validation_error"),
            ("period=custom&to=2026-03-10", 400, "validation_error"),
            (
                "period=custom&from=2026-03-10&to=2026-03-01",
                400,
                "validation_error",
            ),
            (
                "period=custom&from=2024-01-01&to=2026-03-01",
                400,
                "validation_error",
            ),
            ("tz=Mars/Olympus_Mons", 400, "validation_error"),
            ("period=yearly", 400, "invalid_parameter"),
            (
                "period=custom&from=10/03/2026&to=2026-03-10",
                400,
                "invalid_parameter",
            ),
        ] {
            expect_error(
                app.get(&format!("/api/dashboard/overview?{query}"), Some(&token))
                    .await,
                status,
                code,
            )
            .await;
            expect_error(
                app.get(&format!("/api/dashboard/analytics?{query}"), Some(&token))
                    .await,
                status,
                code,
            )
            .await;
        }
        expect_error(
            app.get(
                "/api/dashboard/analytics?period=90d&granularity=hour",
                Some(&token),
            )
            .await,
            400,
            "validation_error",
        )
        .await;
        expect_error(
            app.get("/api/dashboard/analytics?granularity=minute", Some(&token))
                .await,
            400,
            "invalid_parameter",
        )
        .await;
        for path in [
            "/api/dashboard/overview",
            "/api/dashboard/analytics",
            "/api/dashboard/recent-activity",
        ] {
            expect_error(app.get(path, None).await, 401, "missing_token").await;
        }
    }
);

fn kpi<'a>(overview: &'a Value, label: &str) -> &'a Value {
    overview["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["label"] == label)
        .unwrap_or_else(|| panic!("no {label} card in {overview}"))
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

on_both_backends!(
    the_overview_screen_shows_what_a_recount_gives,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.elevenlabs.webhook_secrets = vec![SECRET.into()];
        })
        .await;
        let (token, me) = signed_in(&app, "screen@example.com").await;

        // A new account: the frontend's zero state, seven empty days ending today.
        let o = get(&app, &token, "/api/dashboard/overview").await;
        let cards = o["kpis"].as_array().unwrap();
        let labels: Vec<&str> = cards.iter().map(|k| k["label"].as_str().unwrap()).collect();
        assert_eq!(
            labels,
            [
                "Total Unique Leads",
                "Total Interactions",
                "Leads Converted"
            ]
        );
        for (card, wording) in
            cards
                .iter()
                .zip(["No leads yet", "No interactions yet", "No conversions yet"])
        {
            assert_eq!(card["value"], 0.0);
            assert_eq!(card["description"], wording);
            assert_eq!(card["compare"], "vs previous 30 days");
            assert!(card.get("delta").is_none(), "nothing to compare: {card}");
        }
        assert_eq!(o["credits"]["current"], 15);
        assert_eq!(o["agents"], json!({"total": 0, "active": 0, "draft": 0}));
        let a = get(&app, &token, "/api/dashboard/analytics").await;
        let today = Utc::now().date_naive();
        let days: Vec<String> = (0..7)
            .rev()
            .map(|n| {
                (today - chrono::Days::new(n))
                    .format("%Y-%m-%d")
                    .to_string()
            })
            .collect();
        for chart in ["leadsOverTimeData", "interactionsOverTimeData"] {
            let dates: Vec<&str> = a[chart]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["date"].as_str().unwrap())
                .collect();
            assert_eq!(dates, days, "{chart}");
            assert!(a[chart].as_array().unwrap().iter().all(|p| p["total"] == 0));
        }
        let names = |chart: &str| -> Vec<String> {
            a[chart]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(names("leadQualityData"), ["Hot", "Warm", "Cold"]);
        assert_eq!(
            names("engagementFunnelData"),
            [
                "Leads Captured",
                "Interacted",
                "Qualified",
                "Demo Booked",
                "Converted"
            ]
        );
        assert_eq!(names("sourceBreakdownData"), ["Inbound", "Outbound"]);
        assert!(a["lastRefresh"].as_str().unwrap().ends_with('Z'));

        // Calls and chats through signed webhooks, each delivered twice.
        let call_agent = post_call::insert_agent(&app, me, "agent_screen_call").await;
        let chat_agent = post_call::insert_chat_agent(&app, me, "agent_screen_chat").await;
        let scored = |agent: &str, conv: &str, total, tag, ctas, successful| {
            post_call::scored_transcription(
                agent,
                conv,
                Scored {
                    number: "+14155550301",
                    name: "Lead",
                    total,
                    tag,
                    ctas,
                    successful,
                    secs: 95,
                },
            )
        };
        let events = [
            scored(
                "agent_screen_call",
                "conv_s1",
                14,
                "Hot",
                &["demo_clicked"][..],
                true,
            ),
            scored("agent_screen_call", "conv_s2", 9, "Warm", &[][..], false),
            scored("agent_screen_call", "conv_s3", 3, "Cold", &[][..], true),
            post_call::initiation_failure("agent_screen_call", "conv_s4", "no-answer"),
            post_call::into_chat(scored(
                "agent_screen_chat",
                "conv_s5",
                12,
                "Hot",
                &[][..],
                true,
            )),
            post_call::into_chat(scored(
                "agent_screen_chat",
                "conv_s6",
                7,
                "Warm",
                &[][..],
                true,
            )),
        ];
        for event in events.iter().chain(events.iter()) {
            assert_eq!(post_call::deliver(&app, event, None).await.status(), 200);
        }
        app.wait_for_jobs(WAIT).await;

        // The recount, from the rows themselves.
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        use shared::entities::{
            calls::{self, CallStatus, Channel, Direction},
            lead_analytics,
        };
        let db = &app.services.db;
        let rows: Vec<calls::Model> = calls::Entity::find()
            .filter(calls::Column::UserId.eq(me))
            .all(db)
            .await
            .unwrap();
        let finished: Vec<&calls::Model> = rows
            .iter()
            .filter(|c| matches!(c.status, CallStatus::Completed | CallStatus::Failed))
            .collect();
        let leads: Vec<(lead_analytics::Model, Channel)> = lead_analytics::Entity::find()
            .filter(lead_analytics::Column::UserId.eq(me))
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|l| {
                let channel = rows.iter().find(|c| c.id == l.call_id).unwrap().channel;
                (l, channel)
            })
            .collect();
        let tagged = |tag: &str, channel: Option<Channel>| {
            leads
                .iter()
                .filter(|(l, c)| l.lead_status_tag == tag && channel.is_none_or(|ch| ch == *c))
                .count() as f64
        };
        assert_eq!(finished.len(), 6, "five conversations and one failed dial");
        assert_eq!(leads.len(), 5);

        let o = get(&app, &token, "/api/dashboard/overview").await;
        assert_eq!(kpi(&o, "Total Unique Leads")["value"], leads.len() as f64);
        assert_eq!(
            kpi(&o, "Total Interactions")["value"],
            finished.len() as f64
        );
        let hot = tagged("Hot", None);
        assert_eq!(kpi(&o, "Leads Converted")["value"], hot);
        assert_eq!(
            kpi(&o, "Leads Converted")["percentage"],
            round1(hot / leads.len() as f64 * 100.0)
        );
        let hours: std::collections::BTreeSet<_> = finished
            .iter()
            .map(|c| shared::dashboard::rollups::hour_of(c.created_at))
            .collect();
        assert_eq!(
            kpi(&o, "Avg. Conversations per Hour")["value"],
            round1(finished.len() as f64 / hours.len() as f64)
        );
        let mean =
            leads.iter().map(|(l, _)| l.total_score as f64).sum::<f64>() / leads.len() as f64;
        assert_eq!(kpi(&o, "Avg. Lead Score")["value"], format!("{mean:.1}"));
        let connected_calls: Vec<_> = finished
            .iter()
            .filter(|c| c.channel == Channel::Call && c.status == CallStatus::Completed)
            .collect();
        let successful = connected_calls
            .iter()
            .filter(|c| c.call_successful.as_deref() == Some("success"))
            .count() as f64;
        assert_eq!(
            kpi(&o, "Call Success Rate")["value"],
            format!("{:.1}%", successful / connected_calls.len() as f64 * 100.0)
        );
        assert_eq!(o["agents"], json!({"total": 2, "active": 2, "draft": 0}));

        let a = get(&app, &token, "/api/dashboard/analytics").await;
        let on = |channel: Channel| finished.iter().filter(|c| c.channel == channel).count();
        let last = |chart: &str| a[chart].as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            last("interactionsOverTimeData"),
            json!({"date": days[6], "chat": on(Channel::Chat), "call": on(Channel::Call),
                   "total": finished.len()})
        );
        let leads_on = |channel: Channel| leads.iter().filter(|(_, c)| *c == channel).count();
        assert_eq!(
            last("leadsOverTimeData"),
            json!({"date": days[6], "chatLeads": leads_on(Channel::Chat),
                   "callLeads": leads_on(Channel::Call), "total": leads.len()})
        );
        for (i, tag) in ["Hot", "Warm", "Cold"].into_iter().enumerate() {
            let point = &a["leadQualityData"][i];
            assert_eq!(
                point["chatCount"],
                tagged(tag, Some(Channel::Chat)),
                "{tag}"
            );
            assert_eq!(
                point["callCount"],
                tagged(tag, Some(Channel::Call)),
                "{tag}"
            );
        }
        let demo = leads
            .iter()
            .filter(|(l, _)| l.cta_interactions["demo_clicked"] == true)
            .count();
        let funnel: Vec<i64> = a["engagementFunnelData"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["value"].as_i64().unwrap())
            .collect();
        let completed = finished
            .iter()
            .filter(|c| c.status == CallStatus::Completed)
            .count();
        assert_eq!(
            funnel,
            [
                finished.len(),
                completed,
                (hot + tagged("Warm", None)) as usize,
                demo,
                hot as usize
            ]
            .map(|n| n as i64)
        );
        let by_direction =
            |d: Direction| finished.iter().filter(|c| c.direction == d).count() as i64;
        assert_eq!(
            a["sourceBreakdownData"][0]["value"],
            by_direction(Direction::Inbound)
        );
        assert_eq!(a["sourceBreakdownData"][0]["source"], "inbound");
        assert_eq!(
            a["sourceBreakdownData"][1]["value"],
            by_direction(Direction::Outbound)
        );
        // One agent's figures, by `agentId` or the `X-Agent-ID` header; only the caller's.
        let of_agent = |agent: &shared::entities::agents::Model| {
            finished
                .iter()
                .filter(|c| c.agent_id == Some(agent.id))
                .count() as f64
        };
        let scoped = get(
            &app,
            &token,
            &format!("/api/dashboard/overview?agentId={}", call_agent.id),
        )
        .await;
        assert_eq!(
            kpi(&scoped, "Total Interactions")["value"],
            of_agent(&call_agent)
        );
        let by_header: Value = app
            .client
            .get(app.url("/api/dashboard/analytics"))
            .bearer_auth(&token)
            .header("X-Agent-ID", chat_agent.id.to_string())
            .send()
            .await
            .unwrap()
            .success_json()
            .await;
        let chat_total = by_header["data"]["interactionsOverTimeData"][6]["total"].as_f64();
        assert_eq!(chat_total, Some(of_agent(&chat_agent)));
        let (other_token, other) = signed_in(&app, "screen-other@example.com").await;
        let theirs = post_call::insert_agent(&app, other, "agent_screen_theirs").await;
        for (who, agent) in [(&token, theirs.id), (&other_token, call_agent.id)] {
            expect_error(
                app.get(
                    &format!("/api/dashboard/overview?agentId={agent}"),
                    Some(who),
                )
                .await,
                404,
                "agent_not_found",
            )
            .await;
        }

        // The kept counters are what a rebuild from the calls gives.
        let kept = all_rollups(&app).await;
        recount::rebuild(db).await.unwrap();
        assert_eq!(kept, all_rollups(&app).await);
    }
);
