//! Campaigns as the Campaigns tab drives them: made from contacts or an uploaded file, moved
//! along by its buttons, counted, estimated, and refused clearly (bad fields, another tenant's
//! ids, an agent that cannot call, a running campaign deleted, an empty balance).

use chrono::Utc;
use reqwest::Method;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};
use shared::{
    entities::{campaign_targets, campaigns, contacts},
    money::credits::{self, Entry, TxKind},
};
use tests::{
    Backend, Decode, TestApp, WorkerMode, expect_error, on_both_backends, post_call,
    users::signed_in,
};
use uuid::Uuid;

async fn add_contact(app: &TestApp, user_id: Uuid, phone: &str, do_not_call: bool) -> Uuid {
    let now = Utc::now();
    contacts::ActiveModel {
        id: Set(shared::platform::ids::next()),
        user_id: Set(user_id),
        name: Set(format!("Contact {phone}")),
        phone_e164: Set(phone.into()),
        phone_raw: Set(phone.into()),
        tags: Set(json!([])),
        custom_fields: Set(json!({})),
        do_not_call: Set(do_not_call),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.services.db)
    .await
    .unwrap()
    .id
}

fn form(agent: Uuid, contacts: &[Uuid]) -> Value {
    json!({
        "name": "Q4 outreach", "agent_id": agent, "max_concurrent_calls": 2,
        "contact_ids": contacts, "first_call_time": "09:00", "last_call_time": "17:00",
        "start_date": "2026-12-01", "next_action": "call"
    })
}

async fn campaign_count(app: &TestApp) -> u64 {
    campaigns::Entity::find()
        .count(&app.services.db)
        .await
        .unwrap()
}

async fn act(app: &TestApp, token: &str, id: &str, action: &str) -> reqwest::Response {
    app.post(
        &format!("/api/campaigns/{id}/{action}"),
        json!({}),
        Some(token),
    )
    .await
}

on_both_backends!(
    campaigns_are_made_from_contacts_and_moved_by_their_buttons,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::None, |_| {}).await;
        let (token, me) = signed_in(&app, "campaigner@example.com").await;
        let agent = post_call::insert_agent(&app, me, "agent_campaigns")
            .await
            .id;
        // Paris (one clock), New York (the country has several: the account's zone), an
        // opted-out contact and a number on the account's do-not-call list.
        let paris = add_contact(&app, me, "+33612345678", false).await;
        let ny = add_contact(&app, me, "+14155552671", false).await;
        let opted_out = add_contact(&app, me, "+442071838750", true).await;
        let listed = add_contact(&app, me, "+919845012345", false).await;
        shared::campaigns::dnc::block(&app.services.db, me, "+919845012345", Some("asked".into()))
            .await
            .unwrap();

        let ids = [paris, ny, opted_out, listed, paris];
        let made: Value = app
            .post("/api/campaigns", form(agent, &ids), Some(&token))
            .await
            .expect_json(201)
            .await;
        // Paris given twice is called once and counted as a duplicate.
        assert_eq!(
            (
                made["queued"].as_u64(),
                made["do_not_call"].as_u64(),
                made["duplicates"].as_u64()
            ),
            (Some(2), Some(2), Some(1))
        );
        let c = &made["campaign"];
        assert_eq!(c["status"], "pending");
        assert_eq!(c["total_contacts"], 2);
        assert_eq!(c["pending_calls"], 2);
        assert_eq!(c["do_not_call"], 2);
        assert_eq!(
            (c["priority"].as_i64(), c["max_attempts"].as_i64()),
            (Some(5), Some(3))
        );
        assert!(c["started_at"].is_null() && c["end_date"].is_null());
        let id = c["id"].as_str().unwrap().to_string();
        let zones: Vec<(String, String)> = campaign_targets::Entity::find()
            .filter(campaign_targets::Column::CampaignId.eq(id.parse::<Uuid>().unwrap()))
            .all(&app.services.db)
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.phone_e164, t.timezone))
            .collect();
        assert!(zones.contains(&("+33612345678".into(), "Europe/Paris".into())));
        assert!(
            zones.contains(&("+14155552671".into(), "UTC".into())),
            "{zones:?}"
        );

        let list: Value = app
            .get("/api/campaigns", Some(&token))
            .await
            .expect_json(200)
            .await;
        assert_eq!(list["total"], 1);
        assert_eq!(list["campaigns"][0]["id"], id.as_str());
        let none: Value = app
            .get("/api/campaigns?status=active", Some(&token))
            .await
            .expect_json(200)
            .await;
        assert_eq!(none["total"], 0);

        // The buttons, in the order the tab offers them.
        let started: Value = act(&app, &token, &id, "start").await.expect_json(200).await;
        assert_eq!(started["campaign"]["status"], "active");
        assert!(started["campaign"]["started_at"].is_string());
        expect_error(act(&app, &token, &id, "start").await, 409, "campaign_state").await;
        expect_error(
            app.send(
                Method::DELETE,
                &format!("/api/campaigns/{id}"),
                None,
                Some(&token),
            )
            .await,
            409,
            "campaign_running",
        )
        .await;
        let paused: Value = act(&app, &token, &id, "pause").await.expect_json(200).await;
        assert_eq!(paused["campaign"]["status"], "paused");
        assert_eq!(paused["campaign"]["pause_reason"], "by_user");
        let resumed: Value = act(&app, &token, &id, "resume")
            .await
            .expect_json(200)
            .await;
        assert_eq!(resumed["campaign"]["status"], "active");
        assert!(resumed["campaign"]["pause_reason"].is_null());
        let cancelled: Value = act(&app, &token, &id, "cancel")
            .await
            .expect_json(200)
            .await;
        assert_eq!(cancelled["campaign"]["status"], "cancelled");
        assert!(cancelled["campaign"]["completed_at"].is_string());
        let analytics: Value = app
            .get(&format!("/api/campaigns/{id}/analytics"), Some(&token))
            .await
            .expect_json(200)
            .await;
        assert_eq!(analytics["not_called"], 2);
        assert_eq!(analytics["pending_calls"], 0);
        assert_eq!(analytics["do_not_call"], 2);
        assert!(analytics["average_duration"].is_null());
        expect_error(
            act(&app, &token, &id, "resume").await,
            409,
            "campaign_state",
        )
        .await;

        // Another tenant sees none of it, and cannot use this account's contacts.
        let (other, other_id) = signed_in(&app, "other@example.com").await;
        for action in ["start", "pause", "resume", "cancel"] {
            expect_error(
                act(&app, &other, &id, action).await,
                404,
                "campaign_not_found",
            )
            .await;
        }
        expect_error(
            app.get(&format!("/api/campaigns/{id}/analytics"), Some(&other))
                .await,
            404,
            "campaign_not_found",
        )
        .await;
        let their_agent = post_call::insert_agent(&app, other_id, "agent_other")
            .await
            .id;
        let before = campaign_count(&app).await;
        expect_error(
            app.post("/api/campaigns", form(their_agent, &[paris]), Some(&other))
                .await,
            404,
            "contact_not_found",
        )
        .await;
        expect_error(
            app.post("/api/campaigns", form(agent, &[paris]), Some(&other))
                .await,
            404,
            "agent_not_found",
        )
        .await;
        assert_eq!(campaign_count(&app).await, before);

        // Deleting a finished campaign removes it and its numbers.
        let deleted: Value = app
            .send(
                Method::DELETE,
                &format!("/api/campaigns/{id}"),
                None,
                Some(&token),
            )
            .await
            .expect_json(200)
            .await;
        assert_eq!(deleted["success"], true);
        assert_eq!(campaign_count(&app).await, 0);
        assert_eq!(
            campaign_targets::Entity::find()
                .count(&app.services.db)
                .await
                .unwrap(),
            0
        );
    }
);

on_both_backends!(
    bad_campaigns_are_refused_and_change_nothing,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::None, |c| {
            c.elevenlabs.max_concurrent_calls = 3;
        })
        .await;
        let (token, me) = signed_in(&app, "careful@example.com").await;
        let agent = post_call::insert_agent(&app, me, "agent_careful").await.id;
        let chat = post_call::insert_chat_agent(&app, me, "agent_chatty")
            .await
            .id;
        let contact = add_contact(&app, me, "+33612345678", false).await;
        let with = |patch: Value| {
            let mut body = form(agent, &[contact]);
            for (k, v) in patch.as_object().unwrap() {
                body[k] = v.clone();
            }
            body
        };
        for (patch, field) in [
            (json!({"name": "  "}), "name"),
            (json!({"max_concurrent_calls": 4}), "max_concurrent_calls"),
            (json!({"max_concurrent_calls": 0}), "max_concurrent_calls"),
            (json!({"first_call_time": "9am"}), "first_call_time"),
            (json!({"last_call_time": "08:00"}), "last_call_time"),
            (json!({"end_date": "2026-11-30"}), "end_date"),
            (json!({"next_action": "fax"}), "next_action"),
            (json!({"priority": 11}), "priority"),
            (json!({"contact_ids": []}), "contact_ids"),
        ] {
            let body = expect_error(
                app.post("/api/campaigns", with(patch.clone()), Some(&token))
                    .await,
                400,
                "validation_error",
            )
            .await;
            assert!(
                body["error"]["details"][field].is_string(),
                "{patch}: {body}"
            );
        }
        expect_error(
            app.post("/api/campaigns", form(chat, &[contact]), Some(&token))
                .await,
            409,
            "agent_not_callable",
        )
        .await;
        // A full list of ids fits the body limit and is checked; one more is too many.
        let many: Vec<Uuid> = (0..10_000).map(|_| Uuid::new_v4()).collect();
        expect_error(
            app.post("/api/campaigns", form(agent, &many), Some(&token))
                .await,
            404,
            "contact_not_found",
        )
        .await;
        let too_many: Vec<Uuid> = (0..10_001).map(|_| Uuid::new_v4()).collect();
        expect_error(
            app.post("/api/campaigns", form(agent, &too_many), Some(&token))
                .await,
            400,
            "validation_error",
        )
        .await;
        assert_eq!(campaign_count(&app).await, 0);

        // Starting into an empty balance is refused; with credits it starts.
        let made: Value = app
            .post("/api/campaigns", form(agent, &[contact]), Some(&token))
            .await
            .expect_json(201)
            .await;
        let id = made["campaign"]["id"].as_str().unwrap().to_string();
        let balance = credits::balance(&app.services.db, me).await.unwrap();
        credits::apply(
            &app.services.db,
            Entry::new(me, TxKind::AdminAdjustment, -balance, "admin:drain"),
        )
        .await
        .unwrap();
        expect_error(
            act(&app, &token, &id, "start").await,
            402,
            "insufficient_credits",
        )
        .await;
        assert_eq!(
            campaigns::Entity::find()
                .one(&app.services.db)
                .await
                .unwrap()
                .unwrap()
                .status,
            campaigns::CampaignStatus::Pending
        );
        credits::apply(
            &app.services.db,
            Entry::new(me, TxKind::AdminAdjustment, 10, "admin:top-up"),
        )
        .await
        .unwrap();
        act(&app, &token, &id, "start")
            .await
            .expect_json::<Value>(200)
            .await;
    }
);

on_both_backends!(
    a_campaign_from_a_file_uses_the_contact_importer,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::None, |_| {}).await;
        let (token, me) = signed_in(&app, "uploader@example.com").await;
        let agent = post_call::insert_agent(&app, me, "agent_upload").await.id;
        add_contact(&app, me, "+14155552671", false).await;
        // A new number, an existing contact's (typed differently), a repeat, a lost `+`, and a
        // row without a number.
        let csv = "Phone Number,Name,Email\n\
                   +33612345678,Ada,ada@example.com\n\
                   (415) 555-2671,Grace,\n\
                   +33 6 12 34 56 78,Ada again,\n\
                   442071838750,Alan,\n\
                   ,Nobody,\n";
        let upload = |csv: &str, agent: String| {
            reqwest::multipart::Form::new()
                .part(
                    "csv",
                    reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("list.csv"),
                )
                .text("name", "From a file")
                .text("agent_id", agent)
                .text("max_concurrent_calls", "1")
                .text("first_call_time", "09:00")
                .text("last_call_time", "17:00")
                .text("start_date", "2026-12-01")
                .text("next_action", "call")
        };
        let send = |form: reqwest::multipart::Form| {
            app.client
                .post(app.url("/api/campaigns/upload-csv"))
                .bearer_auth(&token)
                .multipart(form)
                .send()
        };
        let made: Value = send(upload(csv, agent.to_string()))
            .await
            .unwrap()
            .expect_json(201)
            .await;
        assert_eq!(made["totalRows"], 5);
        assert_eq!(made["contactsCreated"], 2);
        assert_eq!(made["contactsSkipped"], 2);
        assert_eq!(made["invalidRows"], 1);
        assert_eq!(made["campaignContacts"], 3);
        let rows: Vec<u64> = made["skippedContacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["row"].as_u64().unwrap())
            .collect();
        assert_eq!(rows, [3, 4, 6]);
        let id = made["campaignId"].as_str().unwrap();
        let list: Value = app
            .get("/api/campaigns", Some(&token))
            .await
            .expect_json(200)
            .await;
        assert_eq!(list["campaigns"][0]["id"], id);
        assert_eq!(list["campaigns"][0]["total_contacts"], 3);

        // A bad field or an unreadable file changes nothing: no campaign, no contacts.
        let contacts_before = contacts::Entity::find()
            .count(&app.services.db)
            .await
            .unwrap();
        let body = expect_error(
            send(upload(csv, "not-an-id".into())).await.unwrap(),
            400,
            "validation_error",
        )
        .await;
        assert!(body["error"]["details"]["agent_id"].is_string());
        expect_error(
            send(upload("Name\nAda\n", agent.to_string()))
                .await
                .unwrap(),
            422,
            "no_phone_column",
        )
        .await;
        assert_eq!(campaign_count(&app).await, 1);
        assert_eq!(
            contacts::Entity::find()
                .count(&app.services.db)
                .await
                .unwrap(),
            contacts_before
        );
    }
);

on_both_backends!(
    the_credit_estimate_uses_the_accounts_own_calls,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::None, |_| {}).await;
        let (token, me) = signed_in(&app, "estimator@example.com").await;
        let balance = credits::balance(&app.services.db, me).await.unwrap();
        let check = |n: u64| {
            let app = &app;
            let token = &token;
            async move {
                app.post(
                    "/api/user/campaign-credit-check",
                    json!({"contactCount": n, "estimateOnly": true}),
                    Some(token),
                )
                .await
                .expect_json::<Value>(200)
                .await
            }
        };
        // No history: a typical two credits a call.
        let small = check(3).await;
        assert_eq!(small["estimate"]["estimatedTotalCredits"], 6);
        assert_eq!(small["estimate"]["hasHistoricalData"], false);
        assert_eq!(small["currentCredits"], balance);
        assert_eq!(small["affordability"]["canAfford"], balance >= 6);
        assert_eq!(small["formatted"]["confidenceLevel"], "Low");
        let big = check(1000).await;
        assert_eq!(big["affordability"]["canAfford"], false);
        assert_eq!(big["affordability"]["canProceed"], balance > 0);
        assert_eq!(big["affordability"]["shortfall"], 2000 - balance);
        assert_eq!(big["warnings"]["type"], "warning");
        assert_eq!(
            big["recommendations"]["suggestedTopUp"],
            (2000 - balance + 9) / 10 * 10
        );

        // With its own calls (five of three credits each), the account's average is used.
        let agent = post_call::insert_agent(&app, me, "agent_history").await.id;
        for _ in 0..5 {
            tests::records::call(
                &app,
                tests::records::CallRow {
                    user: me,
                    agent: Some(agent),
                    contact: None,
                    secs: 150,
                    status: shared::calls::CallStatus::Completed,
                    success: Some("success"),
                },
            )
            .await;
        }
        let known = check(10).await;
        assert_eq!(known["estimate"]["hasHistoricalData"], true);
        assert_eq!(known["estimate"]["estimatedTotalCredits"], 30);
        assert_eq!(known["formatted"]["confidenceLevel"], "Medium");

        expect_error(
            app.post(
                "/api/user/campaign-credit-check",
                json!({"contactCount": 0}),
                Some(&token),
            )
            .await,
            400,
            "validation_error",
        )
        .await;
    }
);

on_both_backends!(
    the_do_not_call_list_ends_queued_dials_and_a_contact_opts_out_after_a_call,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::None, |_| {}).await;
        let (token, me) = signed_in(&app, "listkeeper@example.com").await;
        let (other, _) = signed_in(&app, "stranger@example.com").await;
        let agent = post_call::insert_agent(&app, me, "agent_dnc").await.id;
        let paris = add_contact(&app, me, "+33612345678", false).await;
        let ny = add_contact(&app, me, "+14155552671", false).await;
        let made: Value = app
            .post("/api/campaigns", form(agent, &[paris, ny]), Some(&token))
            .await
            .expect_json(201)
            .await;
        let campaign = made["campaign"]["id"].as_str().unwrap().to_string();

        // Typed as people type it: the number joins the list and its queued dial ends.
        let listed: Value = app
            .post(
                "/api/do-not-call",
                json!({"phone_number": "+33 6 12 34 56 78", "reason": " asked by email "}),
                Some(&token),
            )
            .await
            .expect_json(201)
            .await;
        assert_eq!(listed["number"]["phone_number"], "+33612345678");
        assert_eq!(listed["number"]["reason"], "asked by email");
        let state = |phone: &'static str| {
            let db = app.services.db.clone();
            async move {
                campaign_targets::Entity::find()
                    .filter(campaign_targets::Column::PhoneE164.eq(phone))
                    .one(&db)
                    .await
                    .unwrap()
                    .map(|t| (t.state, t.outcome))
            }
        };
        assert_eq!(
            state("+33612345678").await,
            Some((
                campaign_targets::TargetState::Done,
                Some(campaign_targets::TargetOutcome::DoNotCall)
            ))
        );
        expect_error(
            app.post(
                "/api/do-not-call",
                json!({"phone_number": "call me"}),
                Some(&token),
            )
            .await,
            400,
            "validation_error",
        )
        .await;

        // After a call, its contact opts out: marked do-not-call, the number listed too.
        let call = tests::records::call(
            &app,
            tests::records::CallRow {
                user: me,
                agent: Some(agent),
                contact: Some(ny),
                secs: 40,
                status: shared::calls::CallStatus::Completed,
                success: Some("success"),
            },
        )
        .await;
        let path = format!("/api/calls/{}/do-not-call", call.id);
        expect_error(
            app.post(&path, json!({}), Some(&other)).await,
            404,
            "call_not_found",
        )
        .await;
        let opted: Value = app
            .post(&path, json!({}), Some(&token))
            .await
            .expect_json(201)
            .await;
        assert_eq!(opted["contact_id"], json!(ny));
        assert_eq!(opted["number"]["phone_number"], "+14155552671");
        let contact = contacts::Entity::find_by_id(ny)
            .one(&app.services.db)
            .await
            .unwrap()
            .unwrap();
        assert!(contact.do_not_call);
        assert_eq!(
            state("+14155552671").await.unwrap().1,
            Some(campaign_targets::TargetOutcome::DoNotCall)
        );
        let progress: Value = app
            .get(
                &format!("/api/campaigns/{campaign}/analytics"),
                Some(&token),
            )
            .await
            .expect_json(200)
            .await;
        assert_eq!(progress["do_not_call"], 2);

        // The list, newest first; another account sees none of it; a number comes off it.
        let list: Value = app
            .get("/api/do-not-call", Some(&token))
            .await
            .expect_json(200)
            .await;
        assert_eq!(list["total"], 2);
        assert_eq!(list["numbers"][0]["phone_number"], "+14155552671");
        let theirs: Value = app
            .get("/api/do-not-call", Some(&other))
            .await
            .expect_json(200)
            .await;
        assert_eq!(theirs["total"], 0);
        let removal = "/api/do-not-call/%2B33612345678";
        expect_error(
            app.send(Method::DELETE, removal, None, Some(&other)).await,
            404,
            "do_not_call_number_not_found",
        )
        .await;
        app.send(Method::DELETE, removal, None, Some(&token))
            .await
            .expect_json::<Value>(200)
            .await;
        let list: Value = app
            .get("/api/do-not-call", Some(&token))
            .await
            .expect_json(200)
            .await;
        assert_eq!(list["total"], 1);
    }
);
