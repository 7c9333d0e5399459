//! Configuration > Feature flags: super admins switch the platform's features for everyone,
//! for tiers or for named accounts; an account a flag no longer applies to is refused the
//! feature with 403 `feature_disabled`; every change is audited and a bad one changes nothing.

use serde_json::{Value, json};
use shared::accounts::users::Role;
use tests::{Backend, Decode, TestApp, expect_error, on_both_backends, users::signed_in};

const FLAGS: &str = "/api/admin/config/feature-flags";
const ANALYTICS: &str = "/api/call-analytics/kpis";

on_both_backends!(
    feature_flags_decide_who_gets_a_feature,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (root, _) =
            tests::users::signed_in_as(&app, "root@example.com", Role::SuperAdmin).await;
        let (ops, _) = tests::users::signed_in_as(&app, "ops@example.com", Role::Admin).await;
        let (member, member_id) = signed_in(&app, "member@example.com").await;
        let (other, _) = signed_in(&app, "other@example.com").await;

        expect_error(
            app.get(FLAGS, Some(&ops)).await,
            403,
            "super_admin_required",
        )
        .await;
        expect_error(app.get(FLAGS, Some(&member)).await, 403, "admin_required").await;
        let listed: Value = app.get(FLAGS, Some(&root)).await.success_json().await;
        let ids: Vec<&str> = listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            ["dashboard_kpis", "agent_analytics", "advanced_reports"]
        );
        assert!(
            listed["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["isEnabled"] == true
                    && f["scope"] == "global"
                    && f["rolloutPercentage"] == 100)
        );
        assert_eq!(app.get(ANALYTICS, Some(&member)).await.status(), 200);

        // Refused changes store nothing.
        let put = |id: &str, body: Value| {
            let (app, root, path) = (&app, root.clone(), format!("{FLAGS}/{id}"));
            async move {
                app.send(reqwest::Method::PUT, &path, Some(body), Some(&root))
                    .await
            }
        };
        expect_error(
            put("time_travel", json!({"isEnabled": false})).await,
            404,
            "feature_flag_not_found",
        )
        .await;
        for (body, field) in [
            (json!({"scope": "user"}), "targetUsers"),
            (
                json!({"scope": "user", "targetUsers": ["1"]}),
                "targetUsers",
            ),
            (
                json!({"scope": "user", "targetUsers": [uuid::Uuid::new_v4()]}),
                "targetUsers",
            ),
            (json!({"scope": "tier", "targetTiers": []}), "targetTiers"),
            (json!({"name": " "}), "name"),
        ] {
            let refused =
                expect_error(put("agent_analytics", body).await, 400, "validation_error").await;
            assert!(refused["error"]["details"][field].is_string(), "{refused}");
        }
        assert_eq!(
            put("agent_analytics", json!({"rolloutPercentage": 150}))
                .await
                .status(),
            400
        );
        assert_eq!(app.get(ANALYTICS, Some(&member)).await.status(), 200);

        // Off for everyone: refused at once in this process.
        let off: Value = put("agent_analytics", json!({"isEnabled": false}))
            .await
            .success_json()
            .await;
        assert_eq!(off["data"]["isEnabled"], false);
        let refused = expect_error(
            app.get(ANALYTICS, Some(&member)).await,
            403,
            "feature_disabled",
        )
        .await;
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Agent analytics")
        );
        // Other features are untouched.
        assert_eq!(
            app.get("/api/dashboard/analytics", Some(&member))
                .await
                .status(),
            200
        );

        // For the pro tier only.
        put(
            "agent_analytics",
            json!({"isEnabled": true, "scope": "tier", "targetTiers": ["pro", "enterprise"]}),
        )
        .await
        .success_json::<Value>()
        .await;
        expect_error(
            app.get(ANALYTICS, Some(&member)).await,
            403,
            "feature_disabled",
        )
        .await;
        app.send(
            reqwest::Method::PUT,
            &format!("/api/admin/users/{member_id}"),
            Some(json!({"subscriptionTier": "pro"})),
            Some(&root),
        )
        .await
        .success_json::<Value>()
        .await;
        assert_eq!(app.get(ANALYTICS, Some(&member)).await.status(), 200);
        expect_error(
            app.get(ANALYTICS, Some(&other)).await,
            403,
            "feature_disabled",
        )
        .await;

        // For named accounts; a rollout of 0% reaches nobody.
        put(
            "agent_analytics",
            json!({"scope": "user", "targetUsers": [member_id]}),
        )
        .await
        .success_json::<Value>()
        .await;
        assert_eq!(app.get(ANALYTICS, Some(&member)).await.status(), 200);
        expect_error(
            app.get(ANALYTICS, Some(&other)).await,
            403,
            "feature_disabled",
        )
        .await;
        put("agent_analytics", json!({"rolloutPercentage": 0}))
            .await
            .success_json::<Value>()
            .await;
        expect_error(
            app.get(ANALYTICS, Some(&member)).await,
            403,
            "feature_disabled",
        )
        .await;

        // The report builder obeys its flag too.
        put("advanced_reports", json!({"isEnabled": false}))
            .await
            .success_json::<Value>()
            .await;
        expect_error(
            app.post(
                "/api/admin/reports/preview",
                json!({"dataSource": "users", "metrics": ["total_users"]}),
                Some(&root),
            )
            .await,
            403,
            "feature_disabled",
        )
        .await;

        // Every change is audited; an unchanged resend adds nothing.
        put("advanced_reports", json!({"isEnabled": false}))
            .await
            .success_json::<Value>()
            .await;
        let log: Value = app
            .get(
                "/api/admin/audit?action=feature_flag.updated&limit=100",
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(log["data"].as_array().unwrap().len(), 5);
        let listed: Value = app.get(FLAGS, Some(&root)).await.success_json().await;
        let analytics = &listed["data"][1];
        assert_eq!(analytics["scope"], "user");
        assert_eq!(analytics["targetUsers"], json!([member_id]));
        assert_eq!(analytics["rolloutPercentage"], 0);
    }
);
