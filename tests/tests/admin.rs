//! The admin area: one guard on every admin path (checked against the contract itself),
//! suspension that takes effect on the next request, credit adjustments applied once under
//! retries, no admin locking the platform out, and an audit log the database keeps
//! append-only.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tests::{Backend, Decode, TestApp, expect_error, on_both_backends, users::signed_in};
use uuid::Uuid;

async fn admin(app: &TestApp, email: &str) -> (String, Uuid) {
    tests::users::signed_in_admin(app, email).await
}

on_both_backends!(
    every_admin_path_needs_an_admin,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (member, _) = signed_in(&app, "member@example.com").await;
        let spec: Value = app.get("/openapi.json", None).await.success_json().await;
        let mut checked = 0;
        for (path, ops) in spec["paths"].as_object().unwrap() {
            if !path.starts_with("/api/admin") {
                continue;
            }
            let concrete = path
                .split('/')
                .map(|part| {
                    if part.starts_with('{') {
                        Uuid::new_v4().to_string()
                    } else {
                        part.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            for (method, op) in ops.as_object().unwrap() {
                let method: reqwest::Method = method.to_uppercase().parse().unwrap();
                // The operation's own example, so only the guard can refuse it.
                let body = (method != reqwest::Method::GET)
                    .then(|| tests::example_body(&spec, op).unwrap_or_else(|| json!({})));
                expect_error(
                    app.send(method.clone(), &concrete, body.clone(), Some(&member))
                        .await,
                    403,
                    "admin_required",
                )
                .await;
                expect_error(
                    app.send(method, &concrete, body, None).await,
                    401,
                    "missing_token",
                )
                .await;
                checked += 1;
            }
        }
        assert!(
            checked >= 7,
            "the admin endpoints are in the contract ({checked})"
        );
    }
);

on_both_backends!(
    admins_manage_accounts_and_every_action_is_audited,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (root, root_id) = admin(&app, "root@example.com").await;
        let (member, member_id) = signed_in(&app, "member@example.com").await;
        signed_in(&app, "other@example.com").await;

        let list: Value = app
            .get("/api/admin/users?search=MEMBER", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(list["success"], true);
        assert_eq!(list["data"]["total"], 1);
        let row = &list["data"]["users"][0];
        assert_eq!(row["email"], "member@example.com");
        // The table reads both spellings of the mixed fields.
        assert_eq!(
            (row["is_active"].clone(), row["isActive"].clone()),
            (json!(true), json!(true))
        );
        assert_eq!(row["created_at"], row["registrationDate"]);
        assert_eq!(row["last_login"], row["lastLogin"]);
        assert_eq!(
            (
                row["agentCount"].as_i64(),
                row["callCount"].as_i64(),
                row["creditsUsed"].as_i64()
            ),
            (Some(0), Some(0), Some(0))
        );
        assert_eq!(row["subscriptionTier"], "free");
        assert!(row.get("password_hash").is_none() && row.get("passwordHash").is_none());
        let admins: Value = app
            .get("/api/admin/users?role=admin", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(admins["data"]["total"], 1);
        let all: Value = app
            .get(
                "/api/admin/users?limit=2&sortBy=email&sortOrder=ASC",
                Some(&root),
            )
            .await
            .success_json()
            .await;
        let emails: Vec<&str> = all["data"]["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap())
            .collect();
        assert_eq!(emails, ["member@example.com", "other@example.com"]);
        assert_eq!(
            (
                all["data"]["total"].as_u64(),
                all["data"]["totalPages"].as_u64()
            ),
            (Some(3), Some(2))
        );
        for query in [
            "creditRange=%7B%22min%22%3A9%2C%22max%22%3A1%7D",
            "creditRange=not-json",
            "sortBy=password_hash",
            "status=banned",
        ] {
            expect_error(
                app.get(&format!("/api/admin/users?{query}"), Some(&root))
                    .await,
                400,
                if query.starts_with("status") {
                    "invalid_parameter"
                } else {
                    "validation_error"
                },
            )
            .await;
        }
        let rich: Value = app
            .get(
                "/api/admin/users?creditRange=%7B%22min%22%3A100000%7D",
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(rich["data"]["total"], 0, "nobody has that many credits");
        expect_error(
            app.get(&format!("/api/admin/users/{}", Uuid::new_v4()), Some(&root))
                .await,
            404,
            "user_not_found",
        )
        .await;
        let detail: Value = app
            .get(&format!("/api/admin/users/{member_id}"), Some(&root))
            .await
            .success_json()
            .await;
        let d = &detail["data"];
        assert_eq!(d["user"]["email"], "member@example.com");
        assert_eq!(
            (
                d["statistics"]["totalAgents"].as_i64(),
                d["statistics"]["totalCalls"].as_i64()
            ),
            (Some(0), Some(0))
        );
        assert!(
            d["agents"].is_array() && d["recentActivity"].is_array(),
            "{d}"
        );

        // Credits: ten concurrent deliveries of one adjustment land once.
        let before = d["user"]["credits"].as_i64().unwrap();
        let path = format!("/api/admin/users/{member_id}/credits");
        let body = json!({"userId": member_id, "amount": 25, "type": "add",
            "reason": "goodwill for an outage", "idempotencyKey": "ticket-42"});
        let sends = (0..10).map(|_| app.post(&path, body.clone(), Some(&root)));
        for resp in futures::future::join_all(sends).await {
            let body: Value = resp.success_json().await;
            assert_eq!(body["data"]["newBalance"].as_i64(), Some(before + 25));
        }
        let after: Value = app
            .get("/api/user/credits", Some(&member))
            .await
            .success_json()
            .await;
        assert_eq!(after["credits"].as_i64().unwrap(), before + 25);
        let count = |kind: &'static str| {
            let db = app.services.db.clone();
            async move {
                db.query_all_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    format!("SELECT id FROM credit_transactions WHERE kind = '{kind}'"),
                ))
                .await
                .unwrap()
                .len()
            }
        };
        assert_eq!(count("admin_adjustment").await, 1);
        expect_error(
            app.post(
                &path,
                json!({"amount": 30, "type": "add", "reason": "again", "idempotencyKey": "ticket-42"}),
                Some(&root),
            )
            .await,
            409,
            "idempotency_key_reused",
        )
        .await;
        // Subtracting: the older form's `description` is a reason too; never below zero.
        let taken: Value = app
            .post(
                &path,
                json!({"amount": 5, "type": "subtract", "description": "double-charged call"}),
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(taken["data"]["newBalance"].as_i64(), Some(before + 20));
        assert_eq!(taken["data"]["adjustment"]["amount"], -5);
        assert_eq!(
            taken["data"]["adjustment"]["previous_balance"].as_i64(),
            Some(before + 25)
        );
        for bad in [
            json!({"amount": 0, "type": "add", "reason": "nothing"}),
            json!({"amount": 2.5, "type": "add", "reason": "half"}),
            json!({"amount": 10001, "type": "add", "reason": "too much"}),
            json!({"amount": 5, "type": "add", "reason": " "}),
            json!({"amount": 5, "type": "add"}),
            json!({"amount": before + 21, "type": "subtract", "reason": "more than they have"}),
            json!({"userId": root_id, "amount": 5, "type": "add", "reason": "wrong user"}),
        ] {
            expect_error(
                app.post(&path, bad.clone(), Some(&root)).await,
                400,
                "validation_error",
            )
            .await;
        }
        expect_error(
            app.post(
                &path,
                json!({"amount": 5, "type": "double", "reason": "x"}),
                Some(&root),
            )
            .await,
            400,
            "validation_error",
        )
        .await;
        assert_eq!(
            count("admin_adjustment").await,
            2,
            "refused adjustments wrote nothing"
        );

        // Suspension takes effect on the member's next request, and ends their sessions.
        let resp = app
            .send(
                reqwest::Method::PATCH,
                &format!("/api/admin/users/{member_id}/status"),
                Some(json!({"is_active": false, "reason": "chargeback fraud"})),
                Some(&root),
            )
            .await;
        let switched: Value = resp.success_json().await;
        assert_eq!(switched["data"]["isActive"], false);
        let resp = app.get("/api/user/profile", Some(&member)).await;
        assert!(
            matches!(resp.status().as_u16(), 401 | 403),
            "{}",
            resp.status()
        );
        let suspended: Value = app
            .get(&format!("/api/admin/users/{member_id}"), Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(suspended["data"]["user"]["is_active"], false);
        assert_eq!(
            suspended["data"]["user"]["suspendedReason"],
            "chargeback fraud"
        );
        let resp = app
            .post(
                "/api/auth/login",
                json!({"email": "member@example.com", "password": tests::users::PASSWORD}),
                None,
            )
            .await;
        assert_eq!(resp.status(), 403, "a suspended account cannot sign in");
        app.send(
            reqwest::Method::PATCH,
            &format!("/api/admin/users/{member_id}/status"),
            Some(json!({"is_active": true})),
            Some(&root),
        )
        .await
        .success_json::<Value>()
        .await;
        let resp = app
            .post(
                "/api/auth/login",
                json!({"email": "member@example.com", "password": tests::users::PASSWORD}),
                None,
            )
            .await;
        assert_eq!(resp.status(), 200, "reactivated");

        // No admin locks the platform out.
        expect_error(
            app.send(
                reqwest::Method::PATCH,
                &format!("/api/admin/users/{root_id}/status"),
                Some(json!({"is_active": false})),
                Some(&root),
            )
            .await,
            409,
            "cannot_change_self",
        )
        .await;
        expect_error(
            app.send(
                reqwest::Method::PUT,
                &format!("/api/admin/users/{root_id}"),
                Some(json!({"role": "user"})),
                Some(&root),
            )
            .await,
            409,
            "cannot_change_self",
        )
        .await;
        let resp = app
            .send(
                reqwest::Method::PUT,
                &format!("/api/admin/users/{member_id}"),
                Some(json!({"role": "admin"})),
                Some(&root),
            )
            .await;
        assert_eq!(resp.status(), 200);
        expect_error(
            app.send(
                reqwest::Method::PUT,
                &format!("/api/admin/users/{member_id}"),
                Some(json!({"role": "owner"})),
                Some(&root),
            )
            .await,
            400,
            "validation_error",
        )
        .await;
        // The editor's fields with the user's own checks: a bad one refuses the whole change.
        let bad = app
            .send(
                reqwest::Method::PUT,
                &format!("/api/admin/users/{member_id}"),
                Some(json!({"name": "Half applied", "phone": "call me maybe"})),
                Some(&root),
            )
            .await;
        let body = expect_error(bad, 400, "validation_error").await;
        assert!(body["error"]["details"]["phone"].is_string(), "{}", body);
        expect_error(
            app.send(
                reqwest::Method::PUT,
                &format!("/api/admin/users/{member_id}"),
                Some(json!({"email": "Other@Example.com"})),
                Some(&root),
            )
            .await,
            409,
            "email_taken",
        )
        .await;
        let edited: Value = app
            .send(
                reqwest::Method::PUT,
                &format!("/api/admin/users/{member_id}"),
                Some(json!({"name": "Mia Member", "phone": "+44 20 7946 0958",
                    "email": "mia@example.com", "subscriptionTier": "pro", "isActive": true})),
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(edited["data"]["name"], "Mia Member");
        assert_eq!(edited["data"]["phone"], "+442079460958");
        assert_eq!(edited["data"]["email"], "mia@example.com");
        assert_eq!(edited["data"]["subscriptionTier"], "pro");

        // Every action is in the log, with who, what, before/after and the request.
        let (log, actions) = tests::users::audit_log(&app, &root).await;
        assert_eq!(
            actions,
            [
                "user.updated",
                "user.role_changed",
                "user.reactivated",
                "user.suspended",
                "user.credits_adjusted",
                "user.credits_adjusted"
            ]
        );
        let edit = &log["data"][0];
        assert_eq!(edit["details"]["after"]["name"], "Mia Member");
        assert_ne!(edit["details"]["before"]["name"], "Mia Member");
        assert_eq!(edit["targetUserEmail"], "mia@example.com");
        let suspension = &log["data"][3];
        assert_eq!(suspension["adminUserId"], root_id.to_string());
        assert_eq!(suspension["adminUserEmail"], "root@example.com");
        assert_eq!(suspension["targetUserId"], member_id.to_string());
        assert_eq!(suspension["details"]["before"]["status"], "active");
        assert_eq!(suspension["details"]["after"]["status"], "suspended");
        assert_eq!(
            suspension["description"],
            "Suspended the account (chargeback fraud)"
        );
        assert!(
            suspension["requestId"]
                .as_str()
                .is_some_and(|id| !id.is_empty())
        );
        assert_eq!(suspension["ipAddress"], "127.0.0.1");
        let filtered: Value = app
            .get("/api/admin/audit?action=user.suspended", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(filtered["pagination"]["total"], 1);
        let one: Value = app
            .get(
                &format!("/api/admin/audit/{}", suspension["id"].as_str().unwrap()),
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(one["data"]["action"], "user.suspended");
        expect_error(
            app.get(&format!("/api/admin/audit/{}", Uuid::new_v4()), Some(&root))
                .await,
            404,
            "audit_entry_not_found",
        )
        .await;
        let oldest: Value = app
            .get(
                &format!("/api/admin/audit?targetUserId={member_id}&sortOrder=ASC&limit=1"),
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(oldest["data"][0]["action"], "user.credits_adjusted");
        assert_eq!(oldest["pagination"]["totalPages"], 6);
        let none: Value = app
            .get("/api/admin/audit?success=false", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(
            none["pagination"]["total"], 0,
            "the log holds applied changes only"
        );
        // The export: every entry the filter selects, oldest first, as CSV.
        let csv = app
            .post(
                "/api/admin/analytics/export",
                json!({"type": "audit_logs", "format": "csv", "filters": {"targetUserId": member_id}}),
                Some(&root),
            )
            .await;
        assert_eq!(csv.status(), 200);
        assert!(
            csv.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let text = csv.text().await.unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 7, "{text}");
        assert!(lines[0].starts_with("Time,Admin,Action"));
        assert!(
            lines[1].contains("user.credits_adjusted") && lines[1].contains("root@example.com")
        );
        expect_error(
            app.post(
                "/api/admin/analytics/export",
                json!({"format": "pdf"}),
                Some(&root),
            )
            .await,
            400,
            "validation_error",
        )
        .await;

        // The detail's activity lists the adjustments and the admin actions, newest first.
        let detail: Value = app
            .get(&format!("/api/admin/users/{member_id}"), Some(&root))
            .await
            .success_json()
            .await;
        let kinds: Vec<&str> = detail["data"]["recentActivity"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["type"].as_str().unwrap())
            .collect();
        assert!(
            kinds.contains(&"credits_admin_adjustment") && kinds.contains(&"user.suspended"),
            "{kinds:?}"
        );

        // The database itself keeps the log append-only.
        let db = &app.services.db;
        assert!(
            db.execute_unprepared("UPDATE audit_log SET action = 'nothing'")
                .await
                .is_err()
        );
        assert!(
            db.execute_unprepared("DELETE FROM audit_log")
                .await
                .is_err()
        );
        let (log, _) = tests::users::audit_log(&app, &root).await;
        assert_eq!(log["pagination"]["total"], 6);
    }
);

on_both_backends!(
    an_unapplied_webhook_is_replayed_once,
    |backend: Backend| async move {
        let app = tests::TestApp::spawn_with(backend, tests::WorkerMode::InProcess, |c| {
            c.elevenlabs.webhook_secrets = vec![tests::post_call::SECRET.into()];
        })
        .await;
        let (root, _) = admin(&app, "root@example.com").await;
        let (_, owner) = signed_in(&app, "owner@example.com").await;
        let wait = std::time::Duration::from_secs(30);
        // The call's agent is not known yet: the event is kept as unroutable.
        let event = tests::post_call::transcription("agent_created_later", "conv_replayed");
        assert_eq!(
            tests::post_call::deliver(&app, &event, None).await.status(),
            200
        );
        app.wait_for_jobs(wait).await;
        let list: Value = app
            .get(
                "/api/admin/webhooks?provider=elevenlabs&status=unroutable",
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(list["total"], 1);
        let id = list["items"][0]["id"].as_str().unwrap().to_string();
        let detail: Value = app
            .get(&format!("/api/admin/webhooks/{id}"), Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(
            detail["payload"]["data"]["conversation_id"],
            "conv_replayed"
        );
        assert!(
            detail["error"]
                .as_str()
                .unwrap()
                .contains("agent_created_later")
        );

        tests::post_call::insert_agent(&app, owner, "agent_created_later").await;
        let replay_path = format!("/api/admin/webhooks/{id}/replay");
        let replays = (0..5).map(|_| app.post(&replay_path, json!({}), Some(&root)));
        let statuses: Vec<u16> = futures::future::join_all(replays)
            .await
            .iter()
            .map(|r| r.status().as_u16())
            .collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 409),
            "{statuses:?}"
        );
        app.wait_for_jobs(wait).await;
        let detail: Value = app
            .get(&format!("/api/admin/webhooks/{id}"), Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(detail["status"], "processed");
        let calls = app
            .services
            .db
            .query_all_raw(sea_orm::Statement::from_string(
                app.services.db.get_database_backend(),
                "SELECT id FROM calls WHERE elevenlabs_conversation_id = 'conv_replayed'",
            ))
            .await
            .unwrap();
        assert_eq!(calls.len(), 1);
        expect_error(
            app.post(
                &format!("/api/admin/webhooks/{id}/replay"),
                json!({}),
                Some(&root),
            )
            .await,
            409,
            "already_processed",
        )
        .await;
        expect_error(
            app.post(
                &format!("/api/admin/webhooks/{}/replay", Uuid::new_v4()),
                json!({}),
                Some(&root),
            )
            .await,
            404,
            "webhook_event_not_found",
        )
        .await;
        let log: Value = app
            .get("/api/admin/audit?action=webhook.replayed", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(log["pagination"]["total"], 1);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_area_knows_who_signed_in() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (root, root_id) = admin(&app, "ops@example.com").await;
    let (member, _) = signed_in(&app, "member@example.com").await;

    let access: Value = app
        .get("/api/admin/validate", Some(&root))
        .await
        .success_json()
        .await;
    assert_eq!(access["success"], true);
    assert_eq!(access["data"]["hasAccess"], true);
    assert_eq!(access["data"]["role"], "admin");
    assert_eq!(access["data"]["userId"], root_id.to_string());
    assert_eq!(access["data"]["email"], "ops@example.com");
    assert!(access["timestamp"].as_str().unwrap().ends_with('Z'));
    let profile: Value = app
        .get("/api/admin/profile", Some(&root))
        .await
        .success_json()
        .await;
    assert_eq!(profile["data"]["id"], root_id.to_string());
    assert_eq!(profile["data"]["isActive"], true);
    assert!(profile["data"]["createdAt"].is_string());

    for path in ["/api/admin/validate", "/api/admin/profile"] {
        expect_error(app.get(path, Some(&member)).await, 403, "admin_required").await;
        expect_error(app.get(path, None).await, 401, "missing_token").await;
    }
}

on_both_backends!(
    an_admin_sets_a_users_concurrent_call_limit,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (root, _) = admin(&app, "root@example.com").await;
        let (member, member_id) = signed_in(&app, "member@example.com").await;
        let path = format!("/api/admin/users/{member_id}/concurrency");
        let platform = app.services.config.elevenlabs.max_concurrent_calls;
        let before: Value = app.get(&path, Some(&root)).await.success_json().await;
        assert_eq!(before["settings"]["user_concurrent_calls_limit"], platform);
        assert_eq!(before["settings"]["custom"], false);
        // Two calls in flight against a limit of two: no slot left for the next start.
        for _ in 0..2 {
            tests::records::call(
                &app,
                tests::records::CallRow {
                    user: member_id,
                    agent: None,
                    contact: None,
                    secs: 0,
                    status: shared::calls::CallStatus::InProgress,
                    success: None,
                },
            )
            .await;
        }
        let set: Value = app
            .send(
                reqwest::Method::PUT,
                &path,
                Some(json!({"user_limit": 2})),
                Some(&root),
            )
            .await
            .success_json()
            .await;
        let s = &set["settings"];
        assert_eq!(
            (
                s["user_concurrent_calls_limit"].as_u64(),
                s["user_active_calls"].as_u64(),
                s["user_available_slots"].as_u64()
            ),
            (Some(2), Some(2), Some(0))
        );
        let capacity = shared::calls::capacity(&app.services, member_id)
            .await
            .unwrap();
        assert_eq!(
            (capacity.limit, capacity.in_flight),
            (2, 2),
            "what the call start checks"
        );
        for bad in [json!({"user_limit": 0}), json!({"user_limit": 101})] {
            expect_error(
                app.send(reqwest::Method::PUT, &path, Some(bad), Some(&root))
                    .await,
                400,
                "validation_error",
            )
            .await;
        }
        let reset: Value = app
            .send(
                reqwest::Method::PUT,
                &path,
                Some(json!({"user_limit": null})),
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(reset["settings"]["custom"], false);
        let (_, actions) = tests::users::audit_log(&app, &root).await;
        assert_eq!(
            actions,
            ["user.call_limit_changed", "user.call_limit_changed"]
        );
        expect_error(app.get(&path, Some(&member)).await, 403, "admin_required").await;
    }
);
