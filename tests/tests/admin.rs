//! The admin area: one guard on every admin path (checked against the contract itself),
//! suspension that takes effect on the next request, credit adjustments applied once under
//! retries, no admin locking the platform out, and an audit log the database keeps
//! append-only.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tests::{Backend, Decode, TestApp, expect_error, on_both_backends, users::signed_in};
use uuid::Uuid;

async fn admin(app: &TestApp, email: &str) -> (String, Uuid) {
    let (token, id) = signed_in(app, email).await;
    shared::accounts::users::promote_admin(
        &app.services.db,
        email,
        shared::accounts::users::Role::Admin,
    )
    .await
    .unwrap();
    (token, id)
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
            for method in ops.as_object().unwrap().keys() {
                let method: reqwest::Method = method.to_uppercase().parse().unwrap();
                // A body every admin endpoint accepts, so only the guard can refuse it.
                let body = (method != reqwest::Method::GET).then(|| {
                json!({"role": "user", "reason": "probe", "amount": 1, "idempotency_key": "probe",
                    "values": {"free_credits": 1}})
            });
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
            .get("/api/admin/users?q=MEMBER", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["email"], "member@example.com");
        let admins: Value = app
            .get("/api/admin/users?role=admin", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(admins["total"], 1);
        let all: Value = app
            .get("/api/admin/users?per_page=2", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(
            (
                all["total"].as_u64(),
                all["items"].as_array().unwrap().len()
            ),
            (Some(3), 2)
        );
        expect_error(
            app.get("/api/admin/users?min_balance=9&max_balance=1", Some(&root))
                .await,
            400,
            "validation_error",
        )
        .await;
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
        assert_eq!(
            (detail["agents"].as_u64(), detail["calls"].as_u64()),
            (Some(0), Some(0))
        );

        // Credits: ten concurrent deliveries of one adjustment land once.
        let before = detail["credits"].as_i64().unwrap();
        let path = format!("/api/admin/users/{member_id}/credits");
        let body = json!({"amount": 25, "reason": "goodwill for an outage", "idempotency_key": "ticket-42"});
        let sends = (0..10).map(|_| app.post(&path, body.clone(), Some(&root)));
        for resp in futures::future::join_all(sends).await {
            assert_eq!(resp.status(), 200);
        }
        let after: Value = app
            .get("/api/user/credits", Some(&member))
            .await
            .success_json()
            .await;
        assert_eq!(after["credits"].as_i64().unwrap(), before + 25);
        let rows = app
            .services
            .db
            .query_all_raw(sea_orm::Statement::from_string(
                app.services.db.get_database_backend(),
                "SELECT id FROM credit_transactions WHERE kind = 'admin_adjustment'",
            ))
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        expect_error(
            app.post(
                &path,
                json!({"amount": 30, "reason": "again", "idempotency_key": "ticket-42"}),
                Some(&root),
            )
            .await,
            409,
            "idempotency_key_reused",
        )
        .await;
        expect_error(
            app.post(
                &path,
                json!({"amount": 0, "reason": "nothing", "idempotency_key": "k0"}),
                Some(&root),
            )
            .await,
            400,
            "validation_error",
        )
        .await;
        expect_error(
            app.post(
                &path,
                json!({"amount": 5, "reason": " ", "idempotency_key": "k1"}),
                Some(&root),
            )
            .await,
            400,
            "validation_error",
        )
        .await;

        // Suspension takes effect on the member's next request, and ends their sessions.
        let resp = app
            .post(
                &format!("/api/admin/users/{member_id}/suspend"),
                json!({"reason": "chargeback fraud"}),
                Some(&root),
            )
            .await;
        assert_eq!(resp.status(), 200);
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
        assert_eq!(suspended["status"], "suspended");
        assert_eq!(suspended["suspended_reason"], "chargeback fraud");
        let resp = app
            .post(
                "/api/auth/login",
                json!({"email": "member@example.com", "password": tests::users::PASSWORD}),
                None,
            )
            .await;
        assert_eq!(resp.status(), 403, "a suspended account cannot sign in");
        assert_eq!(
            app.post(
                &format!("/api/admin/users/{member_id}/reactivate"),
                json!({}),
                Some(&root)
            )
            .await
            .status(),
            200
        );
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
            app.post(
                &format!("/api/admin/users/{root_id}/suspend"),
                json!({"reason": "oops"}),
                Some(&root),
            )
            .await,
            409,
            "cannot_change_self",
        )
        .await;
        expect_error(
            app.send(
                reqwest::Method::PATCH,
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
                reqwest::Method::PATCH,
                &format!("/api/admin/users/{member_id}"),
                Some(json!({"role": "admin"})),
                Some(&root),
            )
            .await;
        assert_eq!(resp.status(), 200);
        expect_error(
            app.send(
                reqwest::Method::PATCH,
                &format!("/api/admin/users/{member_id}"),
                Some(json!({"role": "owner"})),
                Some(&root),
            )
            .await,
            400,
            "validation_error",
        )
        .await;
        // Profile fields with the user's own checks: a bad one refuses the whole change.
        let bad = app
            .send(
                reqwest::Method::PATCH,
                &format!("/api/admin/users/{member_id}"),
                Some(json!({"name": "Half applied", "timezone": "Mars/Olympus"})),
                Some(&root),
            )
            .await;
        let body = expect_error(bad, 400, "validation_error").await;
        assert!(body["error"]["details"]["timezone"].is_string(), "{}", body);
        let edited: Value = app
            .send(
                reqwest::Method::PATCH,
                &format!("/api/admin/users/{member_id}"),
                Some(json!({"name": "Mia Member", "phone": "+44 20 7946 0958"})),
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(edited["name"], "Mia Member");
        assert_eq!(edited["phone"], "+442079460958");

        // Every action is in the log, with who, what, before/after and the request.
        let (log, actions) = tests::users::audit_log(&app, &root).await;
        assert_eq!(
            actions,
            [
                "user.profile_updated",
                "user.role_changed",
                "user.reactivated",
                "user.suspended",
                "user.credits_adjusted"
            ]
        );
        let edit = &log["items"][0];
        assert_eq!(edit["details"]["after"]["name"], "Mia Member");
        assert_ne!(edit["details"]["before"]["name"], "Mia Member");
        let suspension = &log["items"][3];
        assert_eq!(suspension["actor_id"], root_id.to_string());
        assert_eq!(suspension["target_id"], member_id.to_string());
        assert_eq!(suspension["details"]["before"]["status"], "active");
        assert_eq!(suspension["details"]["after"]["status"], "suspended");
        assert!(
            suspension["request_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty())
        );
        assert_eq!(suspension["ip"], "127.0.0.1");
        let filtered: Value = app
            .get("/api/admin/audit-log?action=user.suspended", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(filtered["total"], 1);

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
        assert_eq!(log["total"], 5);
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
            .get("/api/admin/audit-log?action=webhook.replayed", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(log["total"], 1);
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
