//! Admin > Reports: a preview computes the chosen metrics from the counters; generating gives
//! a link that opens the file without a bearer token (and only with the link's token, for a
//! day) in CSV, Excel or PDF; templates are kept; every refusal is a field error that stores
//! nothing.

use std::time::Duration;

use serde_json::{Value, json};
use tests::{
    Backend, Decode, TestApp, WorkerMode, expect_error, on_both_backends,
    post_call::{self, SECRET, Scored},
    users::signed_in,
};

const WAIT: Duration = Duration::from_secs(30);

fn config(format: &str) -> Value {
    json!({
        "name": "Calls this month", "description": "For the board", "dataSource": "calls",
        "metrics": ["total_calls", "call_success_rate", "calls_by_hour", "call_costs"],
        "filters": [{"id": "filter_1", "type": "text", "label": "New Filter", "value": ""}],
        "format": format, "includeCharts": true, "includeRawData": true
    })
}

async fn reports(app: &TestApp) -> Vec<(String, String)> {
    use sea_orm::{EntityTrait, QueryOrder};
    shared::entities::reports::Entity::find()
        .order_by_asc(shared::entities::reports::Column::CreatedAt)
        .all(&app.services.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.kind.to_string(), r.name))
        .collect()
}

on_both_backends!(
    admins_preview_generate_and_download_reports,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.elevenlabs.webhook_secrets = vec![SECRET.into()];
        })
        .await;
        let (root, _) = tests::users::signed_in_admin(&app, "root@example.com").await;
        let (member, member_id) = signed_in(&app, "caller@example.com").await;
        post_call::insert_agent(&app, member_id, "agent_rep").await;
        for (conv, successful, secs) in [("conv_r1", true, 125), ("conv_r2", false, 50)] {
            let event = post_call::scored_transcription(
                "agent_rep",
                conv,
                Scored {
                    number: "+14155550301",
                    name: "Lead",
                    total: 10,
                    tag: "Warm",
                    ctas: &[],
                    successful,
                    secs,
                },
            );
            assert_eq!(post_call::deliver(&app, &event, None).await.status(), 200);
        }
        app.wait_for_jobs(WAIT).await;

        // Users are kept out of every report endpoint.
        for path in ["preview", "generate", "templates"] {
            expect_error(
                app.post(
                    &format!("/api/admin/reports/{path}"),
                    config("csv"),
                    Some(&member),
                )
                .await,
                403,
                "admin_required",
            )
            .await;
        }

        // The preview: each metric's rows under its id.
        let preview: Value = app
            .post("/api/admin/reports/preview", config("pdf"), Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(preview["data"]["total_calls"][0]["calls"], 2);
        assert_eq!(
            preview["data"]["call_success_rate"][0]["success_rate_percent"],
            50.0
        );
        let by_hour = preview["data"]["calls_by_hour"].as_array().unwrap();
        assert_eq!(by_hour.len(), 24);
        assert_eq!(
            by_hour
                .iter()
                .map(|h| h["calls"].as_i64().unwrap())
                .sum::<i64>(),
            2
        );
        // 3 + 1 started minutes.
        let costs = preview["data"]["call_costs"].as_array().unwrap();
        assert_eq!(costs.len(), 30, "a row per day of the default range");
        assert_eq!(
            costs
                .iter()
                .map(|d| d["credits"].as_i64().unwrap())
                .sum::<i64>(),
            4
        );
        assert_eq!(preview["data"]["daily"].as_array().unwrap().len(), 30);
        assert_eq!(
            preview["totalRows"],
            1 + 1 + 24 + 30 + 30,
            "{}",
            preview["totalRows"]
        );

        // Refusals name the field and store nothing.
        for (body, field) in [
            (
                json!({"name": "x", "dataSource": "calls", "metrics": []}),
                "metrics",
            ),
            (
                json!({"name": "x", "dataSource": "weather", "metrics": ["total_calls"]}),
                "dataSource",
            ),
            (
                json!({"name": "x", "dataSource": "calls", "metrics": ["total_users"]}),
                "metrics",
            ),
            (
                json!({"dataSource": "calls", "metrics": ["total_calls"]}),
                "name",
            ),
            (
                json!({"name": "x", "dataSource": "calls", "metrics": ["total_calls"],
                       "filters": [{"type": "text", "label": "Region", "value": "EU"}]}),
                "filters",
            ),
        ] {
            let refused = expect_error(
                app.post("/api/admin/reports/generate", body, Some(&root))
                    .await,
                400,
                "validation_error",
            )
            .await;
            assert!(refused["error"]["details"][field].is_string(), "{refused}");
        }
        assert!(reports(&app).await.is_empty());

        // Generating gives a link that needs no bearer token.
        let made: Value = app
            .post("/api/admin/reports/generate", config("csv"), Some(&root))
            .await
            .success_json()
            .await;
        let url = made["downloadUrl"].as_str().unwrap();
        assert!(
            url.starts_with(&app.services.config.server.public_base_url),
            "{url}"
        );
        let path = &url[app
            .services
            .config
            .server
            .public_base_url
            .trim_end_matches('/')
            .len()..];
        let file = app.get(path, None).await;
        assert_eq!(file.status(), 200);
        assert_eq!(file.headers()["content-type"], "text/csv; charset=utf-8");
        assert!(
            file.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains("Calls_this_month.csv")
        );
        let csv = file.text().await.unwrap();
        assert!(csv.contains("Total calls\ncalls,minutes\n2,"), "{csv}");
        assert!(csv.contains("Calls by hour\nhour,calls\n00:00,"), "{csv}");

        // Only with its own token; admins may also fetch it with their bearer token.
        let id = made["reportId"].as_str().unwrap();
        expect_error(
            app.get(&format!("/api/report-downloads/{id}?token=guessed"), None)
                .await,
            404,
            "report_not_found",
        )
        .await;
        let as_admin = app
            .get(&format!("/api/admin/reports/{id}/download"), Some(&root))
            .await;
        assert_eq!(as_admin.status(), 200);
        expect_error(
            app.get(&format!("/api/admin/reports/{id}/download"), Some(&member))
                .await,
            403,
            "admin_required",
        )
        .await;

        // Excel and PDF are real files.
        for (format, media, magic) in [
            (
                "excel",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &b"PK"[..],
            ),
            ("pdf", "application/pdf", &b"%PDF-"[..]),
        ] {
            let made: Value = app
                .post("/api/admin/reports/generate", config(format), Some(&root))
                .await
                .success_json()
                .await;
            let url = made["downloadUrl"].as_str().unwrap();
            let path = &url[url.find("/api/").unwrap()..];
            let file = app.get(path, None).await;
            assert_eq!(file.headers()["content-type"], media);
            assert!(file.bytes().await.unwrap().starts_with(magic), "{format}");
        }

        // A link stops working after a day.
        {
            use sea_orm::{ActiveModelTrait, ActiveValue::Set};
            let expired = shared::entities::reports::ActiveModel {
                id: Set(id.parse().unwrap()),
                expires_at: Set(Some(chrono::Utc::now() - chrono::Duration::minutes(1))),
                ..Default::default()
            };
            expired.update(&app.services.db).await.unwrap();
        }
        expect_error(app.get(path, None).await, 404, "report_not_found").await;

        // Templates are kept; generating and saving are audited.
        let saved = app
            .post("/api/admin/reports/templates", config("csv"), Some(&root))
            .await;
        assert_eq!(saved.status(), 201);
        let kinds: Vec<String> = reports(&app).await.into_iter().map(|r| r.0).collect();
        assert_eq!(kinds, ["generated", "generated", "generated", "template"]);
        let log: Value = app
            .get("/api/admin/audit?action=report.generated", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(log["data"].as_array().unwrap().len(), 3);

        // The audit source shows that access.
        let audit: Value = app
            .post(
                "/api/admin/reports/preview",
                json!({"dataSource": "audit", "metrics": ["data_access", "admin_actions"]}),
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(audit["data"]["data_access"].as_array().unwrap().len(), 3);
        assert_eq!(audit["data"]["data_access"][0]["admin"], "root@example.com");
    }
);
