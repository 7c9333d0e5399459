//! Reports > Scheduler: a schedule is checked whole (report, timing, recipients) or refused;
//! "run now" and a due run record the report and queue one email per recipient with a link
//! that opens it; a due run happens once however many sweepers race; pausing stops it.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use shared::entities::{email_outbox, report_schedules, reports};
use tests::{Backend, Decode, TestApp, expect_error, on_both_backends, users::signed_in};

const PATH: &str = "/api/admin/reports/scheduled";

fn form() -> Value {
    json!({
        "name": "Weekly sign-ups", "description": "Monday numbers",
        "reportConfig": {"name": "", "dataSource": "users", "metrics": ["new_registrations"],
                         "filters": [], "format": "csv", "includeCharts": false, "includeRawData": false},
        "schedule": {"frequency": "weekly", "time": "09:00", "dayOfWeek": 1, "timezone": "Europe/Madrid"},
        "recipients": ["board@acme.example", "ceo@acme.example"], "isActive": true
    })
}

async fn emails(app: &TestApp) -> Vec<email_outbox::Model> {
    email_outbox::Entity::find()
        .filter(email_outbox::Column::Subject.eq("Report: Weekly sign-ups"))
        .all(&app.services.db)
        .await
        .unwrap()
}

on_both_backends!(
    scheduled_reports_run_once_and_email_their_link,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (root, _) = tests::users::signed_in_admin(&app, "root@example.com").await;
        let (member, _) = signed_in(&app, "member@example.com").await;
        expect_error(app.get(PATH, Some(&member)).await, 403, "admin_required").await;

        // Refused forms store nothing.
        let with = |patch: Value| {
            let mut f = form();
            for (k, v) in patch.as_object().unwrap() {
                f[k] = v.clone();
            }
            f
        };
        for (body, field) in [
            (with(json!({"recipients": []})), "recipients"),
            (
                with(json!({"recipients": ["not an address"]})),
                "recipients",
            ),
            (
                with(
                    json!({"schedule": {"frequency": "daily", "time": "25:00", "timezone": "UTC"}}),
                ),
                "schedule.time",
            ),
            (
                with(
                    json!({"schedule": {"frequency": "daily", "time": "09:00", "timezone": "Mars/Olympus"}}),
                ),
                "schedule.timezone",
            ),
            (
                with(json!({"reportConfig": {"dataSource": "users", "metrics": ["total_calls"]}})),
                "reportConfig",
            ),
        ] {
            let refused = expect_error(
                app.post(PATH, body, Some(&root)).await,
                400,
                "validation_error",
            )
            .await;
            assert!(refused["error"]["details"][field].is_string(), "{refused}");
        }
        let empty: Value = app.get(PATH, Some(&root)).await.success_json().await;
        assert_eq!(empty, json!([]), "a bare array, empty");

        let made: Value = app
            .post(PATH, form(), Some(&root))
            .await
            .expect_json(201)
            .await;
        let id = made["id"].as_str().unwrap().to_string();
        assert_eq!(made["status"], "active");
        assert_eq!(made["schedule"]["dayOfWeek"], 1);
        // Next Monday, 09:00 in Madrid.
        let next = chrono::DateTime::parse_from_rfc3339(made["nextRun"].as_str().unwrap()).unwrap();
        let local = next.with_timezone(&chrono_tz::Europe::Madrid);
        assert_eq!(local.format("%a %H:%M").to_string(), "Mon 09:00");
        let listed: Value = app.get(PATH, Some(&root)).await.success_json().await;
        assert_eq!(listed[0]["id"], id.as_str());
        assert_eq!(
            listed[0]["recipients"],
            json!(["board@acme.example", "ceo@acme.example"])
        );

        // Run now: one email per recipient, whose link opens the CSV.
        let ran: Value = app
            .post(&format!("{PATH}/{id}/run"), json!({}), Some(&root))
            .await
            .success_json()
            .await;
        let sent = emails(&app).await;
        assert_eq!(sent.len(), 2);
        let url = ran["data"]["downloadUrl"].as_str().unwrap();
        assert!(sent.iter().all(|e| e.text_body.contains(url)));
        let file = app.get(&url[url.find("/api/").unwrap()..], None).await;
        assert_eq!(file.status(), 200);
        assert!(
            file.text()
                .await
                .unwrap()
                .contains("New registrations\ndate,new_users\n")
        );

        // Due: two sweepers at once (three, with the app's own) run it once, and it moves to
        // the week after.
        let row = report_schedules::Entity::find_by_id(id.parse::<uuid::Uuid>().unwrap())
            .one(&app.services.db)
            .await
            .unwrap()
            .unwrap();
        let mut due: report_schedules::ActiveModel = row.into();
        due.next_run_at = Set(Some(chrono::Utc::now() - chrono::Duration::minutes(1)));
        due.update(&app.services.db).await.unwrap();
        let (a, b) = tokio::join!(
            shared::admin::reports::schedules::run_due(&app.services, 20),
            shared::admin::reports::schedules::run_due(&app.services, 20)
        );
        assert!(
            a.unwrap() + b.unwrap() <= 1,
            "run by at most one of the two"
        );
        // Whichever sweeper ran it, its two emails arrive, and no more.
        for _ in 0..100 {
            if emails(&app).await.len() >= 4 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(emails(&app).await.len(), 4);
        assert_eq!(
            reports::Entity::find()
                .all(&app.services.db)
                .await
                .unwrap()
                .len(),
            2
        );
        let after: Value = app.get(PATH, Some(&root)).await.success_json().await;
        assert!(after[0]["lastRun"].is_string());
        let next =
            chrono::DateTime::parse_from_rfc3339(after[0]["nextRun"].as_str().unwrap()).unwrap();
        assert!(next > chrono::Utc::now() + chrono::Duration::days(1));

        // Paused: no next run, nothing due.
        let paused: Value = app
            .send(
                reqwest::Method::PUT,
                &format!("{PATH}/{id}"),
                Some(json!({"isActive": false})),
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(paused["status"], "paused");
        assert!(paused.get("nextRun").is_none());
        assert_eq!(
            shared::admin::reports::schedules::run_due(&app.services, 20)
                .await
                .unwrap(),
            0
        );

        app.send(
            reqwest::Method::DELETE,
            &format!("{PATH}/{id}"),
            None,
            Some(&root),
        )
        .await
        .success_json::<Value>()
        .await;
        expect_error(
            app.post(&format!("{PATH}/{id}/run"), json!({}), Some(&root))
                .await,
            404,
            "report_schedule_not_found",
        )
        .await;
        let log: Value = app
            .get(
                "/api/admin/audit?resourceType=report_schedule&limit=20",
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(
            log["data"].as_array().unwrap().len(),
            3,
            "created, paused, deleted"
        );
    }
);
