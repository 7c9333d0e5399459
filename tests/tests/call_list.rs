//! The call logs' list in the client's vocabulary (`limit`/`offset`, `sortBy`/`sortOrder`,
//! `search`, agents by name): every filter, search by contact and by transcript words,
//! sorting, paging, bad ranges, and tenant isolation; the export's filters.

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
    body["data"]["id"].as_str().unwrap().parse().unwrap()
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
    assert_eq!(body["success"], true);
    body["data"]
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
        assert_eq!(
            all["pagination"],
            json!({"total": 3, "limit": 30, "offset": 0, "hasMore": false}),
            "another tenant's call never shows"
        );
        let first = all["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == a)
            .unwrap();
        assert_eq!(first["durationSeconds"], 133);
        assert_eq!(first["displayDuration"], "2 min 13 sec");
        assert_eq!(first["durationMinutes"], 3);
        assert_eq!(first["contactName"], "Dana Reyes");
        assert_eq!(first["agentName"], "Outbound qualifier");
        assert_eq!(first["userId"], me.to_string());
        assert_eq!(first["status"], "completed");
        assert_eq!(first["callSource"], "phone", "a call we dialled");
        assert_eq!(
            (first["totalScore"].as_i64(), first["leadTag"].as_str()),
            (Some(13), Some("Hot"))
        );
        assert_eq!(first["hasRecording"], false);
        let inbound = all["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == b)
            .unwrap();
        assert_eq!(
            inbound["callSource"], "unknown",
            "an inbound call with no recorded source"
        );
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
            ids(&app, &token, &format!("agentId={agent}&sortOrder=ASC")).await,
            [a.clone(), b.clone()]
        );
        assert_eq!(
            ids(&app, &token, "agent=Outbound%20qualifier&agent=Nobody").await,
            [b.clone(), a.clone()],
            "the picker's agents, by name"
        );
        assert!(ids(&app, &token, "agent=Nobody").await.is_empty());
        let by_header: Value = app
            .client
            .get(app.url("/api/calls"))
            .bearer_auth(&token)
            .header("X-Agent-ID", agent.to_string())
            .send()
            .await
            .unwrap()
            .success_json()
            .await;
        assert_eq!(
            by_header["pagination"]["total"], 2,
            "the frontend's agent header"
        );
        assert_eq!(
            ids(&app, &token, "status=in_progress").await,
            Vec::<String>::new()
        );
        assert_eq!(
            ids(&app, &token, "has_analytics=false").await,
            vec![c.clone()]
        );
        assert_eq!(
            ids(&app, &token, "sortBy=contact_name&sortOrder=ASC").await,
            [a.clone(), b.clone(), c.clone()],
            "calls without a contact last"
        );
        assert_eq!(
            ids(&app, &token, "sortBy=total_score&sortOrder=DESC").await,
            [a.clone(), b.clone(), c.clone()]
        );
        assert_eq!(ids(&app, &token, "phone=555").await.len(), 3);
        assert!(ids(&app, &token, "phone=9999999").await.is_empty());
        let _ = eve;
        assert_eq!(ids(&app, &token, "lead_tag=Hot").await, vec![a.clone()]);
        assert_eq!(ids(&app, &token, "min_score=3").await, vec![a.clone()]);
        assert_eq!(ids(&app, &token, "max_score=5").await, vec![b.clone()]);
        assert_eq!(
            ids(&app, &token, "min_duration=30&max_duration=60").await,
            vec![b.clone()]
        );
        assert_eq!(
            ids(&app, &token, "sortBy=duration_seconds&sortOrder=DESC").await,
            [a.clone(), b.clone(), c.clone()]
        );
        // Search: contact name, number in another format, transcript words.
        assert_eq!(ids(&app, &token, "search=reyes").await, vec![a.clone()]);
        assert_eq!(
            ids(&app, &token, "search=(415)%20555-0102").await,
            vec![b.clone()]
        );
        assert_eq!(ids(&app, &token, "search=budget").await, vec![a.clone()]);
        assert_eq!(
            ids(&app, &token, "search=interested").await,
            vec![b.clone()]
        );
        assert!(
            ids(&app, &token, "search=nothing-like-this")
                .await
                .is_empty()
        );
        // Matched by its contact's name and by its transcript: listed once; combined with
        // filters, another sort, and a page past the end that still counts the matches.
        assert_eq!(ids(&app, &token, "search=eve").await, vec![b.clone()]);
        assert_eq!(
            ids(
                &app,
                &token,
                &format!("search=eve&sortBy=duration_seconds&sortOrder=ASC&agentId={agent}")
            )
            .await,
            vec![b.clone()]
        );
        assert!(
            ids(&app, &token, "search=eve&status=failed")
                .await
                .is_empty()
        );
        let past: Value = app
            .get("/api/calls?search=eve&limit=1&offset=2", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(past["pagination"]["total"], 1);
        assert_eq!(past["data"], json!([]));
        let future = "2999-01-01T00:00:00Z";
        assert!(
            ids(&app, &token, &format!("start_date={future}"))
                .await
                .is_empty()
        );
        let page: Value = app
            .get("/api/calls?limit=2&offset=2", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(
            (&page["pagination"], page["data"].as_array().unwrap().len()),
            (
                &json!({"total": 3, "limit": 2, "offset": 2, "hasMore": false}),
                1
            )
        );
        let first_two: Value = app
            .get("/api/calls?limit=2", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(first_two["pagination"]["hasMore"], true);
        let beyond: Value = app
            .get("/api/calls?offset=90", Some(&token))
            .await
            .success_json()
            .await;
        assert!(beyond["data"].as_array().unwrap().is_empty());

        for (query, status, code) in [
            ("min_score=9&max_score=3", 400, "validation_error"),
            ("min_duration=9&max_duration=3", 400, "validation_error"),
            (
                "start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z",
                400,
                "validation_error",
            ),
            ("status=ringing", 400, "invalid_parameter"),
            ("min_score=101", 400, "invalid_parameter"),
            ("agentId=nope", 400, "invalid_parameter"),
            ("limit=0", 400, "invalid_parameter"),
            ("limit=101", 400, "invalid_parameter"),
            ("sortBy=credits", 400, "invalid_parameter"),
            ("sortOrder=sideways", 400, "invalid_parameter"),
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
        let rows: Vec<Vec<String>> = rows.into_iter().map(|(_, cells)| cells).collect();
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
        let rows: Vec<Vec<String>> = rows.into_iter().map(|(_, cells)| cells).collect();
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
        assert_eq!(theirs["pagination"]["total"], 1);
        expect_error(
            app.get(&format!("/api/calls?agentId={agent}"), Some(&other_token))
                .await,
            404,
            "agent_not_found",
        )
        .await;
    }
);
