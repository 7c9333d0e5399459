//! The call list: every filter, search by contact and by transcript words, sorting, paging,
//! bad ranges, and tenant isolation.

use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::{Value, json};
use shared::entities::calls;
use tests::{
    Backend, Decode, TestApp, expect_error, on_both_backends, post_call,
    records::{self, CallRow},
    users::signed_in,
};
use uuid::Uuid;

async fn contact(app: &TestApp, token: &str, name: &str, phone: &str) -> Uuid {
    let body: Value = app
        .post(
            "/api/contacts",
            json!({"name": name, "phone_number": phone}),
            Some(token),
        )
        .await
        .success_json()
        .await;
    body["id"].as_str().unwrap().parse().unwrap()
}

#[allow(clippy::too_many_arguments)]
async fn seed(
    app: &TestApp,
    user: Uuid,
    agent: Option<Uuid>,
    contact: Option<Uuid>,
    secs: i32,
    status: &str,
    direction: &str,
    transcript: &str,
    lead: Option<(&str, i32)>,
) -> Uuid {
    let call = records::call(
        app,
        CallRow {
            user,
            agent,
            contact,
            secs,
            status: sea_orm::ActiveEnum::try_from_value(&status.to_string()).unwrap(),
            success: None,
        },
    )
    .await;
    if let Some((tag, score)) = lead {
        records::lead(app, &call, tag, score).await;
    }
    let id = call.id;
    let mut active: calls::ActiveModel = call.into();
    active.direction = Set(sea_orm::ActiveEnum::try_from_value(&direction.to_string()).unwrap());
    active.transcript_text = Set(Some(transcript.into()));
    active.update(&app.services.db).await.unwrap();
    id
}

async fn ids(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let resp = app.get(&format!("/api/calls?{query}"), Some(token)).await;
    assert_eq!(resp.status(), 200, "{query}");
    let body: Value = resp.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

on_both_backends!(
    calls_are_listed_filtered_and_searched,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (token, me) = signed_in(&app, "calls@example.com").await;
        let (other_token, other) = signed_in(&app, "other@example.com").await;
        let agent = post_call::insert_agent(&app, me, "agent_list_0000000000000")
            .await
            .id;
        let dana = contact(&app, &token, "Dana Reyes", "+14155550101").await;
        let eve = contact(&app, &token, "Eve Moss", "+14155550102").await;

        let a = seed(
            &app,
            me,
            Some(agent),
            Some(dana),
            133,
            "completed",
            "outbound",
            "agent: Hi Dana\nuser: Budget is approved for the pilot",
            Some(("Hot", 13)),
        )
        .await;
        let b = seed(
            &app,
            me,
            Some(agent),
            Some(eve),
            40,
            "completed",
            "inbound",
            "agent: Hello Eve\nuser: Not interested right now",
            Some(("Cold", 2)),
        )
        .await;
        let c = seed(&app, me, None, None, 0, "failed", "outbound", "", None).await;
        seed(
            &app,
            other,
            None,
            None,
            500,
            "completed",
            "outbound",
            "budget budget",
            Some(("Hot", 15)),
        )
        .await;
        let [a, b, c] = [a, b, c].map(|id| id.to_string());

        let all: Value = app
            .get("/api/calls", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(all["total"], 3, "another tenant's call never shows");
        let first = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == a)
            .unwrap();
        assert_eq!(first["duration"], "2:13");
        assert_eq!(first["duration_minutes"], 3);
        assert_eq!(first["contact_name"], "Dana Reyes");
        assert_eq!(first["agent_name"], "Outbound qualifier");
        assert_eq!(
            (
                first["lead_score"].as_i64(),
                first["lead_status_tag"].as_str()
            ),
            (Some(13), Some("Hot"))
        );
        assert_eq!(first["has_recording"], false);
        assert_eq!(
            ids(&app, &token, "").await,
            [c.clone(), b.clone(), a.clone()],
            "newest first"
        );

        assert_eq!(ids(&app, &token, "status=failed").await, vec![c.clone()]);
        assert_eq!(
            ids(&app, &token, "direction=inbound").await,
            vec![b.clone()]
        );
        assert_eq!(
            ids(&app, &token, &format!("agent_id={agent}&order=asc")).await,
            [a.clone(), b.clone()]
        );
        assert_eq!(
            ids(&app, &token, &format!("contact_id={eve}")).await,
            vec![b.clone()]
        );
        assert_eq!(ids(&app, &token, "lead_status=Hot").await, vec![a.clone()]);
        assert_eq!(ids(&app, &token, "min_score=3").await, vec![a.clone()]);
        assert_eq!(ids(&app, &token, "max_score=5").await, vec![b.clone()]);
        assert_eq!(
            ids(&app, &token, "min_duration=30&max_duration=60").await,
            vec![b.clone()]
        );
        assert_eq!(
            ids(&app, &token, "sort=duration&order=desc").await,
            [a.clone(), b.clone(), c.clone()]
        );
        // Search: contact name, number in another format, transcript words.
        assert_eq!(ids(&app, &token, "q=reyes").await, vec![a.clone()]);
        assert_eq!(
            ids(&app, &token, "q=(415)%20555-0102").await,
            vec![b.clone()]
        );
        assert_eq!(ids(&app, &token, "q=budget").await, vec![a.clone()]);
        assert_eq!(ids(&app, &token, "q=interested").await, vec![b.clone()]);
        assert!(ids(&app, &token, "q=nothing-like-this").await.is_empty());
        // Matched by its contact's name and by its transcript: listed once; combined with
        // filters, another sort, and a page past the end that still counts the matches.
        assert_eq!(ids(&app, &token, "q=eve").await, vec![b.clone()]);
        assert_eq!(
            ids(
                &app,
                &token,
                "q=eve&sort=duration&order=asc&direction=inbound"
            )
            .await,
            vec![b.clone()]
        );
        assert!(
            ids(&app, &token, "q=eve&direction=outbound")
                .await
                .is_empty()
        );
        let past: Value = app
            .get("/api/calls?q=eve&per_page=1&page=3", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(past["total"], 1);
        assert_eq!(past["items"], json!([]));
        let future = "2999-01-01T00:00:00Z";
        assert!(
            ids(&app, &token, &format!("from={future}"))
                .await
                .is_empty()
        );
        let page: Value = app
            .get("/api/calls?per_page=2&page=2", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(
            (
                page["total"].as_u64(),
                page["items"].as_array().unwrap().len()
            ),
            (Some(3), 1)
        );
        let beyond: Value = app
            .get("/api/calls?page=9", Some(&token))
            .await
            .success_json()
            .await;
        assert!(beyond["items"].as_array().unwrap().is_empty());

        for (query, status, code) in [
            ("min_score=9&max_score=3", 400, "validation_error"),
            ("min_duration=9&max_duration=3", 400, "validation_error"),
            (
                "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
                400,
                "validation_error",
            ),
            ("status=ringing", 400, "invalid_parameter"),
            ("min_score=101", 400, "invalid_parameter"),
            ("agent_id=nope", 400, "invalid_parameter"),
            ("per_page=0", 400, "invalid_parameter"),
        ] {
            expect_error(
                app.get(&format!("/api/calls?{query}"), Some(&token)).await,
                status,
                code,
            )
            .await;
        }
        // Exports take the same filters.
        use shared::contacts::sheet::{Format, read};
        let resp = app
            .get("/api/calls/export?format=csv&lead_status=Hot", Some(&token))
            .await;
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let (rows, total) = read(Format::Csv, &resp.bytes().await.unwrap(), 10).unwrap();
        assert_eq!(total, 2, "a header and the hot call");
        assert_eq!(
            (
                rows[1][1].as_str(),
                rows[1][6].as_str(),
                rows[1][10].as_str()
            ),
            ("Dana Reyes", "2:13", "Hot")
        );
        let resp = app.get("/api/calls/export?format=xlsx", Some(&token)).await;
        assert_eq!(resp.status(), 200);
        let (rows, total) = read(Format::Xlsx, &resp.bytes().await.unwrap(), 10).unwrap();
        assert_eq!(total, 4, "a header and the caller's three calls");
        assert_eq!(rows[0][0], "Date");
        expect_error(
            app.get("/api/calls/export?min_score=9&max_score=1", Some(&token))
                .await,
            400,
            "validation_error",
        )
        .await;
        expect_error(app.get("/api/calls", None).await, 401, "missing_token").await;
        let theirs: Value = app
            .get("/api/calls", Some(&other_token))
            .await
            .success_json()
            .await;
        assert_eq!(theirs["total"], 1);
    }
);
