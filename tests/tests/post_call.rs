//! The post-call pipeline: ElevenLabs webhooks verified and stored at once, then applied in the
//! worker into call, transcript turns, lead analytics, ledger charge and contact — once.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use shared::entities::{
    calls, contacts, credit_transactions, lead_analytics, transcripts, webhook_events,
};
use tests::{
    Backend, Decode, TestApp, WorkerMode, expect_error, on_both_backends,
    post_call::{self, SECRET},
    users::register,
};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);
const EL_AGENT: &str = "agent_01jz8example0000000000000";

async fn app_with_agent(backend: Backend) -> (TestApp, String, Uuid) {
    let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
        c.elevenlabs.webhook_secrets = vec!["wsec_old_secret_being_rotated".into(), SECRET.into()];
    })
    .await;
    let session = register(&app, "owner@example.com").await;
    let token = session["token"].as_str().unwrap().to_string();
    let user: Uuid = session["user"]["id"].as_str().unwrap().parse().unwrap();
    post_call::insert_agent(&app, user, EL_AGENT).await;
    (app, token, user)
}

async fn balance(app: &TestApp, token: &str) -> i64 {
    let body: Value = app
        .get("/api/user/credits", Some(token))
        .await
        .success_json()
        .await;
    body["credits"].as_i64().unwrap()
}

on_both_backends!(
    a_call_is_processed_once_whatever_arrives,
    |backend: Backend| async move {
        let (app, token, user) = app_with_agent(backend).await;
        let event = post_call::transcription(EL_AGENT, "conv_full_1");
        let deliveries = (0..10).map(|_| post_call::deliver(&app, &event, None));
        for resp in futures::future::join_all(deliveries).await {
            assert_eq!(resp.status(), 200);
        }
        app.wait_for_jobs(WAIT).await;
        let db = &app.services.db;

        assert_eq!(webhook_events::Entity::find().count(db).await.unwrap(), 1);
        let call = calls::Entity::find()
            .one(db)
            .await
            .unwrap()
            .expect("call stored");
        assert_eq!(call.status, shared::calls::CallStatus::Completed);
        assert_eq!(call.duration_secs, 133);
        assert_eq!(call.credits_charged, 3);
        assert_eq!(call.direction, shared::calls::Direction::Outbound);
        assert_eq!(call.call_successful.as_deref(), Some("success"));
        assert_eq!(
            call.summary.as_deref(),
            Some("Dana booked a demo for Thursday.")
        );
        assert_eq!(balance(&app, &token).await, 12);
        let charges = credit_transactions::Entity::find()
            .filter(credit_transactions::Column::Reference.eq("call:conv_full_1"))
            .all(db)
            .await
            .unwrap();
        assert_eq!(charges.len(), 1);
        assert_eq!(charges[0].amount, -3);

        let turns = transcripts::Entity::find()
            .filter(transcripts::Column::CallId.eq(call.id))
            .all(db)
            .await
            .unwrap();
        assert_eq!(turns.len(), 5, "the empty turn is skipped");
        assert!(
            turns
                .iter()
                .any(|t| t.speaker == "user" && t.text.contains("Budget is approved"))
        );
        let booking = turns.iter().find(|t| t.text.starts_with("Booked")).unwrap();
        let tools = booking.tool_calls.as_ref().expect("tool calls kept");
        assert_eq!(tools["calls"][0]["tool_name"], "book_demo");
        assert_eq!(tools["results"][0]["result_value"], "booked");
        assert!(
            turns[0].tool_calls.is_none(),
            "empty tool lists are not stored"
        );
        let text = call.transcript_text.as_deref().unwrap();
        assert!(text.starts_with("agent: Hi Dana") && text.contains("user: What does it cost?"));

        let leads = lead_analytics::Entity::find().all(db).await.unwrap();
        assert_eq!(leads.len(), 1);
        assert_eq!(
            (leads[0].total_score, leads[0].lead_status_tag.as_str()),
            (87, "Hot"),
            "13 of 15 is 87 of 100"
        );
        assert_eq!(leads[0].intent_level.as_deref(), Some("high"));
        assert_eq!(leads[0].cta_interactions["demo_clicked"], true);
        assert_eq!(leads[0].reasoning["cta_behavior"], "Booked a demo");

        let contact = contacts::Entity::find()
            .one(db)
            .await
            .unwrap()
            .expect("contact created");
        assert_eq!(
            (
                contact.user_id,
                contact.phone_e164.as_str(),
                contact.name.as_str()
            ),
            (user, "+14155550123", "Dana Reyes")
        );
        assert_eq!(call.contact_id, Some(contact.id));
        assert_eq!(leads[0].contact_id, Some(contact.id));
        // The Contacts screen tells it was created by this call.
        let listed: Value = app
            .get("/api/contacts", Some(&token))
            .await
            .success_json()
            .await;
        let row = &listed["data"]["contacts"][0];
        assert_eq!(
            (
                &row["is_auto_created"],
                &row["auto_creation_source"],
                &row["call_link_type"],
                &row["linked_call_id"]
            ),
            (
                &json!(true),
                &json!("call"),
                &json!("auto_created"),
                &json!(call.id)
            )
        );

        // What the call page reads.
        let detail: Value = app
            .get(&format!("/api/calls/{}", call.id), Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(detail["success"], true);
        let detail = &detail["data"];
        assert_eq!(detail["status"], "completed");
        assert_eq!(detail["durationMinutes"], 3);
        assert_eq!(detail["leadAnalytics"]["total_score"], 87);
        assert_eq!(detail["leadAnalytics"]["lead_status_tag"], "Hot");
        assert_eq!(detail["recordingUrl"], Value::Null);
        let transcript: Value = app
            .get(
                &format!("/api/calls/{}/transcript?q=BUDGET", call.id),
                Some(&token),
            )
            .await
            .success_json()
            .await;
        assert_eq!(
            transcript["success"], true,
            "the viewer requires the envelope"
        );
        let transcript = &transcript["data"];
        assert_eq!(transcript["speaker_segments"].as_array().unwrap().len(), 5);
        assert_eq!(transcript["speaker_segments"][1]["timestamp"], 4);
        assert_eq!(transcript["matches"].as_array().unwrap().len(), 1);
        assert_eq!(transcript["matches"][0]["parts"][0]["text"], "Budget");
        assert_eq!(transcript["matches"][0]["parts"][0]["match"], true);
        let (stranger, _) = {
            let s = register(&app, "stranger@example.com").await;
            (s["token"].as_str().unwrap().to_string(), ())
        };
        for path in ["", "/transcript", "/recording", "/audio"] {
            let resp = app
                .get(&format!("/api/calls/{}{path}", call.id), Some(&stranger))
                .await;
            expect_error(resp, 404, "call_not_found").await;
        }
        let resp = app
            .get(&format!("/api/calls/{}/audio", call.id), Some(&token))
            .await;
        assert_eq!(resp.status(), 404);
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "the player shows `message` as text: {body}"
        );
        assert_eq!(body["error"]["reason"], "recording_not_found");

        // Re-running the stored event changes nothing.
        let inbox = webhook_events::Entity::find()
            .one(db)
            .await
            .unwrap()
            .unwrap();
        shared::calls::conversations::apply(&app.services, inbox.id)
            .await
            .unwrap();
        assert_eq!(balance(&app, &token).await, 12);
        assert_eq!(lead_analytics::Entity::find().count(db).await.unwrap(), 1);
    }
);

on_both_backends!(
    failures_unknown_agents_and_bad_payloads,
    |backend: Backend| async move {
        let (app, token, _) = app_with_agent(backend).await;
        let db = &app.services.db;

        // A call that never connected: failed, no charge.
        let failure = post_call::initiation_failure(EL_AGENT, "conv_busy", "busy");
        assert_eq!(post_call::deliver(&app, &failure, None).await.status(), 200);
        // An agent that is not ours: kept as unroutable.
        let stranger = post_call::transcription("agent_someone_else", "conv_stranger");
        assert_eq!(
            post_call::deliver(&app, &stranger, None).await.status(),
            200
        );
        // Incomplete: no transcript, no duration, no analysis.
        let mut partial = post_call::transcription(EL_AGENT, "conv_partial");
        partial["data"]
            .as_object_mut()
            .unwrap()
            .remove("transcript");
        partial["data"]["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("call_duration_secs");
        partial["data"]["analysis"] = json!({"call_successful": "failure"});
        assert_eq!(post_call::deliver(&app, &partial, None).await.status(), 200);
        app.wait_for_jobs(WAIT).await;

        let busy = calls::Entity::find()
            .filter(calls::Column::ElevenlabsConversationId.eq("conv_busy"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (busy.status, busy.failure_reason.as_deref()),
            (shared::calls::CallStatus::Failed, Some("busy"))
        );
        let statuses: Vec<(String, String)> = webhook_events::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.external_id, e.status.to_string()))
            .collect();
        assert!(statuses.contains(&(
            "post_call_transcription:conv_stranger".into(),
            "unroutable".into()
        )));
        let partial_call = calls::Entity::find()
            .filter(calls::Column::ElevenlabsConversationId.eq("conv_partial"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(partial_call.status, shared::calls::CallStatus::Completed);
        let problems = partial_call.metadata["problems"].to_string();
        assert!(
            problems.contains("transcript") && problems.contains("duration"),
            "{problems}"
        );
        let unscored = lead_analytics::Entity::find()
            .filter(lead_analytics::Column::CallId.eq(partial_call.id))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (unscored.score_status, unscored.lead_status_tag.as_str()),
            (lead_analytics::ScoreStatus::NotCollected, "Unscored"),
            "nothing collected, nothing made up"
        );
        assert_eq!(partial_call.lead_score, None);
        assert_eq!(balance(&app, &token).await, 15, "nothing charged");
        // The owner is told what was missing.
        let notes: Value = app
            .get("/api/notifications", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(notes["data"]["total"], 1, "{notes}");
        assert_eq!(notes["data"]["notifications"][0]["kind"], "call_incomplete");
        assert_eq!(
            notes["data"]["notifications"][0]["data"]["call_id"],
            partial_call.id.to_string()
        );
        assert!(
            notes["data"]["notifications"][0]["smartNotification"]
                .as_str()
                .unwrap()
                .contains("transcript missing")
        );
        assert!(
            calls::Entity::find()
                .filter(calls::Column::ElevenlabsConversationId.eq("conv_stranger"))
                .one(db)
                .await
                .unwrap()
                .is_none()
        );
    }
);

on_both_backends!(
    bad_signatures_are_refused_and_nothing_is_stored,
    |backend: Backend| async move {
        let (app, _, _) = app_with_agent(backend).await;
        let event = post_call::transcription(EL_AGENT, "conv_sig");
        let body = event.to_string();
        let now = Utc::now().timestamp();
        for (signature, code) in [
            (
                post_call::signature("wsec_wrong", &body),
                "invalid_signature",
            ),
            (
                post_call::signature_at(SECRET, &body, now - 31 * 60),
                "stale_signature",
            ),
            (
                post_call::signature_at(SECRET, &body, now + 10 * 60),
                "stale_signature",
            ),
            ("t=abc,v0=zz".into(), "invalid_signature"),
            (
                post_call::signature(SECRET, &format!("{body} ")),
                "invalid_signature",
            ),
        ] {
            expect_error(
                post_call::deliver(&app, &event, Some(signature)).await,
                401,
                code,
            )
            .await;
        }
        let missing = app
            .client
            .post(app.url("/webhooks/elevenlabs"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        expect_error(missing, 401, "missing_signature").await;
        let not_an_event = json!({"hello": "world"});
        expect_error(
            post_call::deliver(&app, &not_an_event, None).await,
            400,
            "invalid_event",
        )
        .await;
        assert_eq!(
            webhook_events::Entity::find()
                .count(&app.services.db)
                .await
                .unwrap(),
            0
        );
        // The other secret of a rotation works too.
        let rotated = post_call::signature("wsec_old_secret_being_rotated", &body);
        assert_eq!(
            post_call::deliver(&app, &event, Some(rotated))
                .await
                .status(),
            200
        );
    }
);

on_both_backends!(
    crossing_the_low_balance_threshold_warns_once,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.elevenlabs.webhook_secrets = vec![SECRET.into()];
            c.billing.low_balance_threshold = 12;
        })
        .await;
        let session = register(&app, "low@example.com").await;
        let user: Uuid = session["user"]["id"].as_str().unwrap().parse().unwrap();
        post_call::insert_agent(&app, user, EL_AGENT).await;
        // 15 → 12 crosses the threshold; 12 → 9 does not cross it again.
        for conversation in ["conv_low_1", "conv_low_2"] {
            let event = post_call::transcription(EL_AGENT, conversation);
            assert_eq!(post_call::deliver(&app, &event, None).await.status(), 200);
            app.wait_for_jobs(WAIT).await;
        }
        let warnings: Vec<_> = app
            .smtp
            .received()
            .into_iter()
            .filter(|m| {
                m.header("Subject")
                    .is_some_and(|s| s.contains("running low"))
            })
            .collect();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].decoded().contains("12 credits"));
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_keeps_working_while_redis_is_down() {
    let mut redis = tests::redis_server::PrivateRedis::start().await;
    let url = redis.url();
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::None, |c| {
        c.jobs.redis_url = Some(url);
        c.elevenlabs.webhook_secrets = vec![SECRET.into()];
    })
    .await;
    let session = register(&app, "redis-down@example.com").await;
    let user: Uuid = session["user"]["id"].as_str().unwrap().parse().unwrap();
    post_call::insert_agent(&app, user, EL_AGENT).await;

    redis.stop();
    let event = post_call::transcription(EL_AGENT, "conv_redis_down");
    assert_eq!(
        post_call::deliver(&app, &event, None).await.status(),
        200,
        "stored even without Redis"
    );
    assert_eq!(
        webhook_events::Entity::find()
            .count(&app.services.db)
            .await
            .unwrap(),
        1
    );

    redis.restart().await;
    let (stop, worker) = app.start_worker_in_process();
    app.wait_for_jobs(WAIT).await;
    let call = calls::Entity::find()
        .one(&app.services.db)
        .await
        .unwrap()
        .expect("processed");
    assert_eq!(call.status, shared::calls::CallStatus::Completed);
    stop.cancel();
    let _ = worker.await;
}

/// Files left under the blob store's directory `sub` (scratch files, spilled bodies).
fn files_in(app: &TestApp, sub: &str) -> usize {
    std::fs::read_dir(app.data_dir().join("files").join(sub))
        .map(|dir| dir.count())
        .unwrap_or(0)
}

on_both_backends!(
    call_audio_streams_to_storage_under_a_size_cap,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.elevenlabs.webhook_secrets = vec![SECRET.into()];
            c.uploads.recording_max_bytes = 8 * 1024 * 1024;
        })
        .await;
        let session = register(&app, "audio@example.com").await;
        let user: Uuid = session["user"]["id"].as_str().unwrap().parse().unwrap();
        post_call::insert_agent(&app, user, EL_AGENT).await;
        let db = &app.services.db;

        // 4 MB of audio (5.3 MB as base64): far over the 64 KiB request limit of other routes.
        let audio: Vec<u8> = (0..4_000_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let body = post_call::audio(EL_AGENT, "conv_audio", &audio).to_string();
        for _ in 0..2 {
            let resp =
                post_call::deliver_chunked(&app, body.clone(), post_call::signature(SECRET, &body))
                    .await;
            assert_eq!(resp.status(), 200);
        }
        app.wait_for_jobs(WAIT).await;
        assert_eq!(webhook_events::Entity::find().count(db).await.unwrap(), 1);
        let call = calls::Entity::find()
            .filter(calls::Column::ElevenlabsConversationId.eq("conv_audio"))
            .one(db)
            .await
            .unwrap()
            .expect("the audio creates the call it belongs to");
        let key = call.recording_key.clone().expect("recording linked");
        let token = session["token"].as_str().unwrap().to_string();
        let url = format!("/api/calls/{}/audio", call.id);
        let full = app.get(&url, Some(&token)).await;
        assert_eq!(full.status(), 200);
        assert_eq!(full.headers()["content-type"], "audio/mpeg");
        assert!(full.bytes().await.unwrap().to_vec() == audio);
        let part = app
            .client
            .get(app.url(&url))
            .bearer_auth(&token)
            .header("range", "bytes=100-199")
            .send()
            .await
            .unwrap();
        assert_eq!(part.status(), 206, "players can seek");
        assert!(part.bytes().await.unwrap().to_vec() == audio[100..200]);
        let stored = std::fs::read(app.data_dir().join("files").join(&key)).unwrap();
        assert!(stored == audio, "the recording is the decoded audio");
        assert_eq!(call.metadata["recording_bytes"], audio.len());
        assert_eq!((files_in(&app, "incoming"), files_in(&app, "tmp")), (0, 0));

        // The transcript arriving afterwards completes the same call and keeps the recording.
        let transcript = post_call::transcription(EL_AGENT, "conv_audio");
        assert_eq!(
            post_call::deliver(&app, &transcript, None).await.status(),
            200
        );
        app.wait_for_jobs(WAIT).await;
        let call = calls::Entity::find_by_id(call.id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (call.status, call.recording_key),
            (shared::calls::CallStatus::Completed, Some(key))
        );

        // A small recording travels inside the inbox row instead.
        let small = post_call::audio(EL_AGENT, "conv_audio_small", b"ID3 tiny mp3");
        assert_eq!(post_call::deliver(&app, &small, None).await.status(), 200);
        app.wait_for_jobs(WAIT).await;
        let small_call = calls::Entity::find()
            .filter(calls::Column::ElevenlabsConversationId.eq("conv_audio_small"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let path = app
            .data_dir()
            .join("files")
            .join(small_call.recording_key.unwrap());
        assert_eq!(std::fs::read(path).unwrap(), b"ID3 tiny mp3");

        // Over the cap: 413, nothing stored, nothing left on disk.
        let huge = post_call::audio(EL_AGENT, "conv_huge", &vec![7u8; 7 * 1024 * 1024]).to_string();
        let resp =
            post_call::deliver_chunked(&app, huge.clone(), post_call::signature(SECRET, &huge))
                .await;
        expect_error(resp, 413, "payload_too_large").await;
        // A forged signature on a large body: 401 once read, nothing kept.
        let forged = post_call::audio(EL_AGENT, "conv_forged", &audio[..1_000_000]).to_string();
        let resp = post_call::deliver_chunked(
            &app,
            forged.clone(),
            post_call::signature("wsec_wrong", &forged),
        )
        .await;
        expect_error(resp, 401, "invalid_signature").await;
        assert_eq!(webhook_events::Entity::find().count(db).await.unwrap(), 3);
        assert_eq!((files_in(&app, "incoming"), files_in(&app, "tmp")), (0, 0));
    }
);

/// The worker is SIGKILLed while its transaction is open (blocked on the owner's row after
/// writing the call, contact, transcript and lead rows); a new worker applies the event once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_transaction_leaves_nothing_half_done() {
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::None, |c| {
        c.elevenlabs.webhook_secrets = vec![SECRET.into()];
        c.jobs.timeout_secs = 10;
        c.jobs.lease_secs = 12;
    })
    .await;
    let session = register(&app, "killed@example.com").await;
    let token = session["token"].as_str().unwrap().to_string();
    let user: Uuid = session["user"]["id"].as_str().unwrap().parse().unwrap();
    post_call::insert_agent(&app, user, EL_AGENT).await;
    let db = &app.services.db;

    // Hold the owner's row the way a concurrent balance update would: the worker's charge
    // waits on it with everything before it written but uncommitted.
    let lock = sea_orm::TransactionTrait::begin(db).await.unwrap();
    lock.execute_unprepared(&format!(
        "SELECT 1 FROM users WHERE id = '{user}' FOR NO KEY UPDATE"
    ))
    .await
    .unwrap();
    let event = post_call::transcription(EL_AGENT, "conv_killed");
    assert_eq!(post_call::deliver(&app, &event, None).await.status(), 200);
    let worker = app.start_worker_process(env!("CARGO_BIN_EXE_test-worker"));
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let waiting = db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE \"users\"%'",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker never blocked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.kill().await;
    lock.rollback().await.unwrap();
    assert_eq!(calls::Entity::find().count(db).await.unwrap(), 0);
    assert_eq!(transcripts::Entity::find().count(db).await.unwrap(), 0);

    // A fresh worker picks the job up once the dead one's lease expires.
    let worker = app.start_worker_process(env!("CARGO_BIN_EXE_test-worker"));
    app.wait_for_jobs(WAIT).await;
    assert_eq!(calls::Entity::find().count(db).await.unwrap(), 1);
    assert_eq!(transcripts::Entity::find().count(db).await.unwrap(), 5);
    assert_eq!(lead_analytics::Entity::find().count(db).await.unwrap(), 1);
    assert_eq!(contacts::Entity::find().count(db).await.unwrap(), 1);
    let charges = credit_transactions::Entity::find()
        .filter(credit_transactions::Column::Reference.eq("call:conv_killed"))
        .count(db)
        .await
        .unwrap();
    assert_eq!(charges, 1);
    assert_eq!(balance(&app, &token).await, 12);
    worker.terminate().await;
}

on_both_backends!(
    a_backlog_is_applied_in_batches_exactly_once,
    |backend: Backend| async move {
        // Stored while no worker runs, so the worker meets a backlog and applies it in batches.
        let app = TestApp::spawn_with(backend, WorkerMode::None, |c| {
            c.elevenlabs.webhook_secrets = vec![SECRET.into()];
        })
        .await;
        let db = &app.services.db;
        let mut owners = Vec::new();
        for i in 0..3 {
            let session = register(&app, &format!("batch{i}@example.com")).await;
            let user: Uuid = session["user"]["id"].as_str().unwrap().parse().unwrap();
            let agent = format!("{EL_AGENT}_{i}");
            post_call::insert_agent(&app, user, &agent).await;
            owners.push((session["token"].as_str().unwrap().to_string(), agent));
        }
        let mut events = Vec::new();
        for (i, (_, agent)) in owners.iter().enumerate() {
            for n in 0..5 {
                events.push(post_call::transcription(agent, &format!("conv_b{i}_{n}")));
            }
        }
        // NUL characters are valid JSON that PostgreSQL cannot store.
        let mut nul = post_call::transcription(&owners[0].1, "conv_b_nul");
        nul["data"]["transcript"][1]["message"] = json!("What\u{0} does it cost?");
        nul["data"]["analysis"]["transcript_summary"] = json!("Dana\u{0} booked.");
        events.push(nul);
        // An absurd duration is recorded as a problem, not charged.
        let mut long = post_call::transcription(&owners[1].1, "conv_b_long");
        long["data"]["metadata"]["call_duration_secs"] = json!(i64::MAX);
        events.push(long);
        events.push(post_call::transcription(
            "agent_nobody_knows",
            "conv_b_stray",
        ));
        events.push(post_call::initiation_failure(
            &owners[2].1,
            "conv_b_busy",
            "busy",
        ));
        for event in events.iter().chain(events.iter()) {
            assert_eq!(post_call::deliver(&app, event, None).await.status(), 200);
        }
        let (stop, worker) = app.start_worker_in_process();
        app.wait_for_jobs(WAIT).await;
        stop.cancel();
        worker.await.unwrap().unwrap();

        let failed_jobs = shared::entities::background_jobs::Entity::find()
            .filter(shared::entities::background_jobs::Column::Status.ne("succeeded"))
            .count(db)
            .await
            .unwrap();
        assert_eq!(failed_jobs, 0, "every job succeeded");
        let completed = calls::Entity::find()
            .filter(calls::Column::Status.eq("completed"))
            .count(db)
            .await
            .unwrap();
        assert_eq!(completed, 17);
        assert_eq!(lead_analytics::Entity::find().count(db).await.unwrap(), 17);
        // Five turns with text per call.
        assert_eq!(transcripts::Entity::find().count(db).await.unwrap(), 17 * 5);
        let failed = calls::Entity::find()
            .filter(calls::Column::Status.eq("failed"))
            .one(db)
            .await
            .unwrap()
            .expect("the busy call");
        assert_eq!(failed.failure_reason.as_deref(), Some("busy"));
        // 3 credits per call, once each: 15 − 6 × 3 (with the NUL call), 15 − 5 × 3, 15 − 5 × 3.
        for ((token, _), expected) in owners.iter().zip([-3, 0, 0]) {
            assert_eq!(balance(&app, token).await, expected);
        }
        let long = calls::Entity::find()
            .filter(calls::Column::ElevenlabsConversationId.eq("conv_b_long"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((long.duration_secs, long.credits_charged), (0, 0));
        assert!(
            long.metadata["problems"]
                .to_string()
                .contains("call_duration_secs")
        );
        let nul = calls::Entity::find()
            .filter(calls::Column::ElevenlabsConversationId.eq("conv_b_nul"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(nul.summary.as_deref(), Some("Dana booked."));
        assert!(nul.transcript_text.unwrap().contains("What does it cost?"));
        // One contact per owner (the same caller each time), its interactions counted once each.
        let contacts = contacts::Entity::find().all(db).await.unwrap();
        let mut counts: Vec<i32> = contacts.iter().map(|c| c.call_count).collect();
        counts.sort();
        assert_eq!(counts, vec![5, 6, 6]);
        let stray = webhook_events::Entity::find()
            .filter(webhook_events::Column::ExternalId.eq("post_call_transcription:conv_b_stray"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stray.status,
            shared::entities::webhook_events::InboxStatus::Unroutable
        );
        // The dashboard counters agree with the calls.
        let overview: Value = app
            .get("/api/dashboard/overview?period=7d", Some(&owners[0].0))
            .await
            .success_json()
            .await;
        assert_eq!(overview["data"]["total_calls"]["value"], 6.0, "{overview}");
    }
);

/// One of the client's calls as its agents really report them: the analytics under `default`
/// as a Python literal, a caller the account does not know, dialled without a country code.
fn clients_call(conversation: &str, number: &str, value: &str) -> Value {
    let mut event = post_call::transcription(EL_AGENT, conversation);
    let data = &mut event["data"];
    data["metadata"]["phone_call"]["external_number"] = json!(number);
    data["conversation_initiation_client_data"] =
        json!({"dynamic_variables": {"system__caller_id": number}});
    data["analysis"]["data_collection_results"] =
        json!({"default": {"data_collection_id": "default", "value": value}});
    event
}

on_both_backends!(
    the_clients_lead_data_is_read_as_it_arrives,
    |backend: Backend| async move {
        let (app, token, user) = app_with_agent(backend).await;
        let db = &app.services.db;
        // The owner is in the UK: a number without +44 is a UK number.
        shared::entities::users::Entity::update_many()
            .col_expr(
                shared::entities::users::Column::DefaultRegion,
                sea_orm::sea_query::Expr::value("GB"),
            )
            .filter(shared::entities::users::Column::Id.eq(user))
            .exec(db)
            .await
            .unwrap();
        let python = "{'intent_level': 'High', 'intent_score': 3, 'urgency_score': 2, 'budget_constraint': 'No', 'budget_score': 3, 'fit_score': 2, 'engagement_score': 2, 'total_score': 12, 'lead_status_tag': 'Hot', 'cta_demo_clicked': 'Yes', 'cta_website_clicked': 'Yes', 'cta_pricing_clicked': 'No', 'demo_book_datetime': '2026-12-03T10:00:00+05:30', 'reasoning': {'budget': 'The lead's budget is approved'}, 'extraction': {'name': 'Priya Shah', 'email_address': 'priya@brightlane.co.uk', 'company_name': 'Brightlane', 'smartnotification': 'Priya wants a demo on Thursday'}}";
        let out_of_100 =
            r#"{"total_score": 45, "lead_status_tag": "Cold", "reasoning": "Only browsing"}"#;
        for event in [
            clients_call("conv_priya", "07911 123456", python),
            clients_call("conv_browser", "+447911123457", out_of_100),
            clients_call(
                "conv_garbled",
                "+447911123458",
                "{'total_score': 12, 'reasoning': 'cut",
            ),
        ] {
            assert_eq!(post_call::deliver(&app, &event, None).await.status(), 200);
        }
        app.wait_for_jobs(WAIT).await;

        let lead_of = |conversation: &'static str| async move {
            let call = calls::Entity::find()
                .filter(calls::Column::ElevenlabsConversationId.eq(conversation))
                .one(db)
                .await
                .unwrap()
                .unwrap();
            let lead = lead_analytics::Entity::find()
                .filter(lead_analytics::Column::CallId.eq(call.id))
                .one(db)
                .await
                .unwrap()
                .unwrap();
            (call, lead)
        };
        let (call, lead) = lead_of("conv_priya").await;
        assert_eq!(
            (lead.total_score, lead.lead_status_tag.as_str()),
            (80, "Hot")
        );
        assert_eq!(
            (call.lead_score, call.lead_tag.as_deref()),
            (Some(80), Some("Hot"))
        );
        assert_eq!(lead.data_collection["value"], python, "kept verbatim");
        assert_eq!(lead.reasoning["budget"], "The lead's budget is approved");
        assert_eq!(lead.cta_interactions["website_clicked"], true);
        assert_eq!(
            lead.demo_at.map(|t| t.to_rfc3339()),
            Some("2026-12-03T04:30:00+00:00".into())
        );
        assert_eq!(call.metadata["source"], "phone");
        let contact = contacts::Entity::find_by_id(call.contact_id.unwrap())
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            contact.phone_e164, "+447911123456",
            "read in the owner's region"
        );
        assert_eq!(
            (
                contact.name.as_str(),
                contact.email.as_deref(),
                contact.company.as_deref()
            ),
            (
                "Priya Shah",
                Some("priya@brightlane.co.uk"),
                Some("Brightlane")
            )
        );
        assert_eq!(contact.latest_score, Some(80));

        let (_, browsing) = lead_of("conv_browser").await;
        assert_eq!(
            (browsing.total_score, browsing.lead_status_tag.as_str()),
            (45, "Cold"),
            "a total out of 100 stays as sent"
        );
        assert_eq!(browsing.reasoning["summary"], "Only browsing");

        let (garbled_call, garbled) = lead_of("conv_garbled").await;
        assert_eq!(
            garbled.score_status,
            lead_analytics::ScoreStatus::Unreadable
        );
        assert_eq!(garbled.lead_status_tag, "Unscored");
        assert_eq!(
            garbled.data_collection["value"],
            "{'total_score': 12, 'reasoning': 'cut"
        );
        assert_eq!(garbled_call.lead_score, None, "unscored, not made up");

        // The agent's note reached the owner.
        let notes: Value = app
            .get("/api/notifications", Some(&token))
            .await
            .success_json()
            .await;
        let note = notes["data"]["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["kind"] == "lead_note")
            .expect("a lead note");
        assert_eq!(note["smartNotification"], "Priya wants a demo on Thursday");
        assert_eq!(note["title"], "Priya Shah");
        assert_eq!(
            (&note["totalScore"], &note["leadType"], &note["isRead"]),
            (&json!(80), &json!("Hot"), &json!(false))
        );
        assert_eq!(note["phoneNumber"], "+447911123456");
        assert_eq!(note["demoBookDateTime"], "2026-12-03T04:30:00.000Z");
        assert_eq!(note["leadId"], json!(lead.id));
    }
);
