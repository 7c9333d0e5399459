//! The Customers tab and Lead Intelligence's actions: a lead converted once (from its group id),
//! gone from Lead Intelligence and on the Customers tab with its conversations; follow-ups and
//! demos on a lead's row; another tenant's ids are 404.

use reqwest::Method;
use serde_json::{Value, json};
use tests::{
    Backend, Decode, TestApp, WorkerMode, expect_error, on_both_backends, post_call,
    users::signed_in,
};

on_both_backends!(
    a_lead_becomes_a_customer_and_gets_a_follow_up,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.elevenlabs.webhook_secrets = vec![post_call::SECRET.into()];
        })
        .await;
        let (token, me) = signed_in(&app, "customers@example.com").await;
        let (other, _) = signed_in(&app, "customers-other@example.com").await;
        let agent = "agent_customers_0000000000";
        post_call::insert_agent(&app, me, agent).await;
        for (conversation, number, name) in [
            ("conv_cust_1", "+447911123456", "Priya Shah"),
            ("conv_cust_2", "+14155550123", "Marco Rossi"),
        ] {
            let event = post_call::scored_transcription(
                agent,
                conversation,
                post_call::scored(number, name, 13, "Hot", &[]),
            );
            assert_eq!(post_call::deliver(&app, &event, None).await.status(), 200);
        }
        app.wait_for_jobs(std::time::Duration::from_secs(30)).await;
        let groups: Value = app
            .get("/api/lead-intelligence", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(groups.as_array().unwrap().len(), 2);

        // Follow-up and demo from the lead's row.
        let follow_up: Value = app
            .post(
                "/api/follow-ups",
                json!({"leadPhone": "+447911123456", "leadName": "Priya Shah",
                       "followUpDate": "2026-12-09", "remark": "Send pricing"}),
                Some(&token),
            )
            .await
            .expect_json(201)
            .await;
        assert_eq!(follow_up["data"]["dueAt"], "2026-12-09T12:00:00.000Z");
        let demo: Value = app
            .post(
                "/api/demos/schedule",
                json!({"contactId": "phone_+14155550123", "demoDate": "2026-12-10T15:00:00Z"}),
                Some(&token),
            )
            .await
            .expect_json(201)
            .await;
        assert_eq!(demo["data"]["leadName"], "Marco Rossi");
        let groups: Value = app
            .get("/api/lead-intelligence", Some(&token))
            .await
            .success_json()
            .await;
        let row = |id: &str| {
            groups
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["id"] == id)
                .unwrap()
                .clone()
        };
        let priya = row("phone_+447911123456");
        assert_eq!(
            (&priya["followUpScheduled"], &priya["followUpStatus"]),
            (&json!("2026-12-09T12:00:00.000Z"), &json!("pending"))
        );
        assert_eq!(
            row("phone_+14155550123")["demoScheduled"],
            "2026-12-10T15:00:00.000Z"
        );
        let done: Value = app
            .send(
                Method::PATCH,
                "/api/follow-ups/status",
                Some(json!({"leadPhone": "+447911123456", "status": "completed"})),
                Some(&token),
            )
            .await
            .success_json()
            .await;
        assert_eq!(done["updated"], 1);
        let theirs = app
            .send(
                Method::PATCH,
                "/api/follow-ups/status",
                Some(json!({"leadPhone": "+447911123456", "status": "completed"})),
                Some(&other),
            )
            .await;
        expect_error(theirs, 404, "follow_up_not_found").await;
        // Switched back, the row's switch sends `scheduled`: pending again.
        let reopened: Value = app
            .send(
                Method::PATCH,
                "/api/follow-ups/status",
                Some(json!({"leadPhone": "+447911123456", "status": "scheduled"})),
                Some(&token),
            )
            .await
            .success_json()
            .await;
        assert_eq!(reopened["updated"], 1);

        // One follow-up by id: listed with filters, edited, completed, deleted.
        let id = follow_up["data"]["id"].as_str().unwrap();
        let listed = |query: &'static str, token: String| {
            let app = &app;
            async move {
                let page: Value = app
                    .get(&format!("/api/follow-ups{query}"), Some(&token))
                    .await
                    .success_json()
                    .await;
                page
            }
        };
        let open = listed("?completed=false&leadPhone=%2B447911123456", token.clone()).await;
        assert_eq!(open["data"].as_array().unwrap().len(), 1);
        assert_eq!(open["pagination"]["total"], 1);
        assert_eq!(
            listed("?completed=true", token.clone()).await["pagination"]["total"],
            0
        );
        assert_eq!(listed("", other.clone()).await["pagination"]["total"], 0);
        let edited: Value = app
            .send(
                Method::PUT,
                &format!("/api/follow-ups/{id}"),
                Some(json!({"followUpDate": "2026-12-11", "remark": "Pricing and the SLA"})),
                Some(&token),
            )
            .await
            .success_json()
            .await;
        assert_eq!(
            (&edited["data"]["dueAt"], &edited["data"]["remark"]),
            (
                &json!("2026-12-11T12:00:00.000Z"),
                &json!("Pricing and the SLA")
            )
        );
        let too_long = app
            .send(
                Method::PUT,
                &format!("/api/follow-ups/{id}"),
                Some(json!({"remark": "x".repeat(5001)})),
                Some(&token),
            )
            .await;
        assert_eq!(too_long.status(), 400);
        let completed: Value = app
            .send(
                Method::PATCH,
                &format!("/api/follow-ups/{id}/complete"),
                None,
                Some(&token),
            )
            .await
            .success_json()
            .await;
        assert_eq!(completed["data"]["status"], "completed");
        assert_eq!(
            listed("?completed=true", token.clone()).await["pagination"]["total"],
            1
        );
        let theirs = app
            .send(
                Method::DELETE,
                &format!("/api/follow-ups/{id}"),
                None,
                Some(&other),
            )
            .await;
        expect_error(theirs, 404, "follow_up_not_found").await;
        let deleted = app
            .send(
                Method::DELETE,
                &format!("/api/follow-ups/{id}"),
                None,
                Some(&token),
            )
            .await;
        assert_eq!(deleted.status(), 200);
        assert_eq!(listed("", token.clone()).await["pagination"]["total"], 0);

        // The conversion, from the group id the screen sends.
        let converted: Value = app
            .post(
                "/api/customers/convert",
                json!({"contactId": "phone_+447911123456", "name": "Priya Shah",
                       "originalLeadSource": "Lead Intelligence", "notes": "40 seats"}),
                Some(&token),
            )
            .await
            .expect_json(201)
            .await;
        let customer = &converted["data"];
        assert_eq!(
            (&customer["status"], &customer["phone"], &customer["notes"]),
            (
                &json!("Active"),
                &json!("+447911123456"),
                &json!("40 seats")
            )
        );
        assert!(
            customer["customer_reference_number"]
                .as_str()
                .unwrap()
                .starts_with("CUST-")
        );
        let again = app
            .post(
                "/api/customers/convert",
                json!({"contactId": "phone_+447911123456"}),
                Some(&token),
            )
            .await;
        expect_error(again, 409, "already_customer").await;
        let groups: Value = app
            .get("/api/lead-intelligence", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(
            groups.as_array().unwrap().len(),
            1,
            "converted leads leave the list"
        );

        let id = customer["id"].as_str().unwrap();
        let list: Value = app
            .get("/api/customers", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(list["data"]["customers"][0]["id"], id);
        // Its one conversation, before the conversion.
        let listed = &list["data"]["customers"][0];
        assert!(listed["latest_interaction_date"].as_str().is_some());
        assert_eq!(
            listed["latest_interaction_date"],
            listed["last_interaction_date"]
        );
        assert_eq!(listed["interactions_since_conversion"], 0);
        let detail: Value = app
            .get(&format!("/api/customers/{id}"), Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(detail["data"]["timeline"].as_array().unwrap().len(), 1);
        // The tab formats `interaction_date` with date-fns (which throws on a missing date)
        // and reads the call's fields in snake_case beside the camelCase levels.
        let entry = &detail["data"]["timeline"][0];
        assert!(entry["interaction_date"].as_str().is_some());
        assert_eq!(entry["interaction_type"], "call");
        assert_eq!(entry["call_status"], "completed");
        assert!(entry["duration"].as_str().is_some());
        let held: Value = app
            .send(
                Method::PUT,
                &format!("/api/customers/{id}"),
                Some(json!({"status": "On Hold"})),
                Some(&token),
            )
            .await
            .success_json()
            .await;
        assert_eq!(held["data"]["status"], "On Hold");
        expect_error(
            app.get(&format!("/api/customers/{id}"), Some(&other)).await,
            404,
            "customer_not_found",
        )
        .await;
        let foreign = app
            .post(
                "/api/customers/convert",
                json!({"contactId": "phone_+14155550123"}),
                Some(&other),
            )
            .await;
        assert_eq!(
            foreign.status(),
            400,
            "no contact of theirs, and no number to make one"
        );
    }
);
