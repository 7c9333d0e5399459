//! The campaign dialer against the fake ElevenLabs, its clock set by the test: the three caps
//! at once, windows in the recipients' zones, retries of busy calls, numbers that opted out,
//! pausing on an empty balance, and no attempt dialled twice however many rounds run at once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use shared::{
    campaigns::dialer,
    entities::{campaign_targets as targets, campaigns, notifications},
    money::credits::{self, Entry, TxKind},
};
use tests::{
    Backend, Decode, TestApp, WorkerMode,
    elevenlabs::{self, FakeElevenLabs, TWILIO_NUMBER_ID},
    on_both_backends, post_call,
    users::verified_user,
};
use uuid::Uuid;

async fn dialer_app(backend: Backend, fake: &FakeElevenLabs) -> TestApp {
    let base = fake.uri();
    TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
        c.elevenlabs.api_key = Some(elevenlabs::API_KEY.into());
        c.elevenlabs.api_base = base;
        c.elevenlabs.backoff_base_ms = 10;
        c.elevenlabs.max_concurrent_calls = 3;
        c.elevenlabs.platform_max_concurrent_calls = 2;
        c.elevenlabs.webhook_secrets = vec![post_call::SECRET.into()];
        // The test runs the rounds itself, at the times it chooses.
        c.jobs.campaign_dial_interval_ms = 0;
    })
    .await
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

struct Setup {
    token: String,
    user: Uuid,
    el_agent: String,
    campaign: String,
}

/// A verified account with a Twilio agent and an active campaign over `phones` (`concurrency`
/// calls at once, two attempts ten minutes apart).
async fn campaign(app: &TestApp, email: &str, phones: &[&str], concurrency: u32) -> Setup {
    let (token, user) = verified_user(app, email).await;
    let user: Uuid = user.parse().unwrap();
    let agent = &tests::callers::call_agent(app, &token).await;
    let ids = tests::callers::contacts(app, &token, phones).await;
    let made: Value = app
        .post(
            "/api/campaigns",
            json!({
                "name": "Spring", "agent_id": agent["id"], "max_concurrent_calls": concurrency,
                "contact_ids": ids, "first_call_time": "09:00", "last_call_time": "17:00",
                "start_date": "2027-03-01", "max_attempts": 2, "retry_delay_secs": 600
            }),
            Some(&token),
        )
        .await
        .expect_json(201)
        .await;
    let campaign = made["campaign"]["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/campaigns/{campaign}/start"),
        json!({}),
        Some(&token),
    )
    .await
    .expect_json::<Value>(200)
    .await;
    Setup {
        token,
        user,
        el_agent: agent["elevenlabsAgentId"].as_str().unwrap().to_string(),
        campaign,
    }
}

async fn targets_of(app: &TestApp, campaign: &str) -> Vec<targets::Model> {
    targets::Entity::find()
        .filter(targets::Column::CampaignId.eq(campaign.parse::<Uuid>().unwrap()))
        .all(&app.services.db)
        .await
        .unwrap()
}

fn dials(fake: &FakeElevenLabs) -> Vec<(String, String)> {
    fake.outbound
        .lock()
        .unwrap()
        .iter()
        .map(|(_, body)| {
            (
                body["to_number"].as_str().unwrap().to_string(),
                body["conversation_initiation_client_data"]["dynamic_variables"]["switchboard_dial_id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

/// The conversation the fake started for the latest dial of `number`.
fn conversation_of(fake: &FakeElevenLabs, number: &str) -> String {
    let dial = dials(fake)
        .into_iter()
        .rev()
        .find(|(n, _)| n == number)
        .expect("a dial of the number")
        .1;
    fake.conversations
        .lock()
        .unwrap()
        .values()
        .find(|c| {
            c.pointer("/conversation_initiation_client_data/dynamic_variables/switchboard_dial_id")
                == Some(&json!(dial))
        })
        .and_then(|c| c["conversation_id"].as_str().map(String::from))
        .expect("the dial's conversation")
}

/// ElevenLabs places a claimed dial whose answer never reaches the dialer (its worker died, or
/// the call was over first); the dial's conversation.
async fn dialled_unheard(
    app: &TestApp,
    fake: &FakeElevenLabs,
    el_agent: &str,
    claim: &dialer::Claim,
) -> String {
    let answer: Value = app
        .client
        .post(format!("{}/v1/convai/twilio/outbound-call", fake.uri()))
        .header("xi-api-key", elevenlabs::API_KEY)
        .json(&json!({
            "agent_id": el_agent, "agent_phone_number_id": TWILIO_NUMBER_ID, "to_number": claim.number,
            "conversation_initiation_client_data": {"dynamic_variables": {"switchboard_dial_id": claim.attempt.id}}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["conversation_id"].as_str().unwrap().to_string()
}

/// Time passes beyond DIAL_CLAIM_TIMEOUT_SECS (300 s) since the dial was claimed.
async fn claimed_long_ago(app: &TestApp, claim: &dialer::Claim) {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let mut row: shared::entities::dial_attempts::ActiveModel = claim.attempt.clone().into();
    row.claimed_at = Set(Utc::now() - chrono::TimeDelta::seconds(400));
    row.update(&app.services.db).await.unwrap();
}

on_both_backends!(
    the_dialer_keeps_every_cap_and_each_window_and_retries_busy_numbers,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let app = dialer_app(backend, &fake).await;
        // Four numbers in Paris, one in Tokyo.
        let paris = [
            "+33612345671",
            "+33612345672",
            "+33612345673",
            "+33612345674",
        ];
        let tokyo = "+819012345678";
        let mut phones = paris.to_vec();
        phones.push(tokyo);
        let s = campaign(&app, "dialer@example.com", &phones, 3).await;

        // 11:00 in Paris, 19:00 in Tokyo. The campaign and the account may have three calls at
        // once, the platform two: two dials, and Tokyo waits for its morning.
        let now = at("2027-03-10T10:00:00Z");
        let (a, b) = tokio::join!(
            dialer::run_once(&app.services, now),
            dialer::run_once(&app.services, now)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.claimed + b.claimed, 2, "{a:?} {b:?}");
        assert_eq!(a.placed + b.placed, 2);
        assert_eq!(dials(&fake).len(), 2);
        let tokyo_target = targets_of(&app, &s.campaign)
            .await
            .into_iter()
            .find(|t| t.phone_e164 == tokyo)
            .unwrap();
        assert_eq!(
            tokyo_target.next_attempt_at,
            Some(at("2027-03-11T00:00:00Z"))
        );
        // Another round changes nothing while both calls are in flight.
        dialer::run_once(&app.services, now).await.unwrap();
        assert_eq!(dials(&fake).len(), 2);
        let list: Value = app
            .get("/api/campaigns", Some(&s.token))
            .await
            .expect_json(200)
            .await;
        assert_eq!(list["campaigns"][0]["in_progress"], 2);
        assert_eq!(list["campaigns"][0]["waiting_for_window"], 1);

        // The first call completes, the second is busy.
        let placed = dials(&fake);
        let first = conversation_of(&fake, &placed[0].0);
        let second = conversation_of(&fake, &placed[1].0);
        post_call::deliver(&app, &post_call::transcription(&s.el_agent, &first), None).await;
        post_call::deliver(
            &app,
            &post_call::initiation_failure(&s.el_agent, &second, "busy"),
            None,
        )
        .await;
        app.wait_for_jobs(Duration::from_secs(10)).await;
        let all = targets_of(&app, &s.campaign).await;
        let by_number = |n: &str| all.iter().find(|t| t.phone_e164 == n).unwrap().clone();
        let done = by_number(&placed[0].0);
        assert_eq!(done.state, targets::TargetState::Done);
        assert_eq!(done.outcome, Some(targets::TargetOutcome::Completed));
        let busy = by_number(&placed[1].0);
        assert_eq!(busy.state, targets::TargetState::Queued);
        assert_eq!(busy.outcome, Some(targets::TargetOutcome::Busy));
        let retry_in = busy.next_attempt_at.unwrap() - Utc::now();
        assert!(
            retry_in > chrono::TimeDelta::seconds(590)
                && retry_in <= chrono::TimeDelta::seconds(600)
        );

        // Two slots again: the two Paris numbers not yet called (the busy one waits its delay).
        dialer::run_once(&app.services, now).await.unwrap();
        let placed = dials(&fake);
        assert_eq!(placed.len(), 4);
        assert!(!placed[2..].iter().any(|(n, _)| *n == busy.phone_e164));
        // Every dial is its own attempt.
        let mut attempt_ids: Vec<&String> = placed.iter().map(|(_, id)| id).collect();
        attempt_ids.sort();
        attempt_ids.dedup();
        assert_eq!(attempt_ids.len(), 4);

        // A later round, after the delay (ten minutes of the real clock are long past in the
        // test's future): the busy number's second and last attempt, busy again, ends it.
        for (number, _) in &placed[2..] {
            let c = conversation_of(&fake, number);
            post_call::deliver(&app, &post_call::transcription(&s.el_agent, &c), None).await;
        }
        app.wait_for_jobs(Duration::from_secs(10)).await;
        let later = at("2027-03-10T11:00:00Z");
        // ... but not before the delay has passed.
        dialer::run_once(&app.services, Utc::now()).await.unwrap();
        assert_eq!(dials(&fake).len(), 4);
        let round = dialer::run_once(&app.services, later).await.unwrap();
        assert_eq!(round.claimed, 1, "{round:?}");
        let retried = dials(&fake)[4].0.clone();
        assert_eq!(retried, busy.phone_e164);
        let c = conversation_of(&fake, &retried);
        post_call::deliver(
            &app,
            &post_call::initiation_failure(&s.el_agent, &c, "no-answer"),
            None,
        )
        .await;
        app.wait_for_jobs(Duration::from_secs(10)).await;
        let ended = targets_of(&app, &s.campaign)
            .await
            .into_iter()
            .find(|t| t.phone_e164 == retried)
            .unwrap();
        assert_eq!(
            (ended.state, ended.outcome, ended.attempts),
            (
                targets::TargetState::Done,
                Some(targets::TargetOutcome::NoAnswer),
                2
            )
        );

        // Tokyo's morning: its number is dialled; once it ends, the campaign is complete.
        dialer::run_once(&app.services, at("2027-03-11T00:30:00Z"))
            .await
            .unwrap();
        let tokyo_dial = dials(&fake).last().unwrap().0.clone();
        assert_eq!(tokyo_dial, tokyo);
        let c = conversation_of(&fake, tokyo);
        post_call::deliver(&app, &post_call::transcription(&s.el_agent, &c), None).await;
        app.wait_for_jobs(Duration::from_secs(10)).await;
        let round = dialer::run_once(&app.services, at("2027-03-11T00:31:00Z"))
            .await
            .unwrap();
        assert_eq!(round.completed, 1);
        let analytics: Value = app
            .get(
                &format!("/api/campaigns/{}/analytics", s.campaign),
                Some(&s.token),
            )
            .await
            .expect_json(200)
            .await;
        assert_eq!(analytics["status"], "completed");
        assert_eq!(analytics["connected"], 4);
        assert_eq!(analytics["no_answer"], 1);
        assert_eq!(analytics["attempts"], 6);
        assert_eq!(dials(&fake).len(), 6);
    }
);

on_both_backends!(
    an_empty_balance_pauses_the_campaign_and_opted_out_numbers_are_never_dialled,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let app = dialer_app(backend, &fake).await;
        let s = campaign(
            &app,
            "thrifty@example.com",
            &["+33612345671", "+33612345672"],
            2,
        )
        .await;
        shared::campaigns::dnc::block(&app.services.db, s.user, "+33612345672", None)
            .await
            .unwrap();
        let balance = credits::balance(&app.services.db, s.user).await.unwrap();
        credits::apply(
            &app.services.db,
            Entry::new(s.user, TxKind::AdminAdjustment, -balance, "admin:drain"),
        )
        .await
        .unwrap();
        let round = dialer::run_once(&app.services, at("2027-03-10T10:00:00Z"))
            .await
            .unwrap();
        assert_eq!((round.claimed, round.paused), (0, 1));
        assert!(dials(&fake).is_empty());
        let c = campaigns::Entity::find_by_id(s.campaign.parse::<Uuid>().unwrap())
            .one(&app.services.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.status, campaigns::CampaignStatus::Paused);
        assert_eq!(c.pause_reason, Some(campaigns::PauseReason::LowCredits));
        let told = notifications::Entity::find()
            .filter(notifications::Column::UserId.eq(s.user))
            .filter(notifications::Column::Kind.eq(notifications::NotificationKind::CampaignPaused))
            .all(&app.services.db)
            .await
            .unwrap();
        assert_eq!(told.len(), 1);

        // Credits bought, resumed: only the number not on the list is dialled.
        credits::apply(
            &app.services.db,
            Entry::new(s.user, TxKind::AdminAdjustment, 20, "admin:top-up"),
        )
        .await
        .unwrap();
        app.post(
            &format!("/api/campaigns/{}/resume", s.campaign),
            json!({}),
            Some(&s.token),
        )
        .await
        .expect_json::<Value>(200)
        .await;
        let round = dialer::run_once(&app.services, at("2027-03-10T10:00:00Z"))
            .await
            .unwrap();
        assert_eq!(round.claimed, 1);
        assert_eq!(
            dials(&fake)
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>(),
            ["+33612345671"]
        );
        let listed = targets_of(&app, &s.campaign)
            .await
            .into_iter()
            .find(|t| t.phone_e164 == "+33612345672")
            .unwrap();
        assert_eq!(listed.outcome, Some(targets::TargetOutcome::DoNotCall));
    }
);

on_both_backends!(
    a_dial_whose_worker_died_is_resolved_on_elevenlabs_never_dialled_twice,
    |backend: Backend| async move {
        use shared::entities::calls;
        let fake = FakeElevenLabs::start().await;
        let app = dialer_app(backend, &fake).await;
        let s = campaign(
            &app,
            "crashy@example.com",
            &["+33612345671", "+33612345672"],
            2,
        )
        .await;
        // Two dials claimed, then the worker dies: one had reached ElevenLabs (its answer was
        // lost), the other had not.
        let (claims, round) = dialer::claim(&app.services, at("2027-03-10T10:00:00Z"))
            .await
            .unwrap();
        assert_eq!(round.claimed, 2);
        let reached = &claims[0];
        let conversation = dialled_unheard(&app, &fake, &s.el_agent, reached).await;
        for c in &claims {
            claimed_long_ago(&app, c).await;
        }
        assert_eq!(
            dialer::recover(&app.services, Utc::now(), 50)
                .await
                .unwrap(),
            2
        );
        let db = &app.services.db;
        let call = |id: Uuid| async move {
            calls::Entity::find_by_id(id)
                .one(db)
                .await
                .unwrap()
                .unwrap()
        };
        let found = call(reached.call.id).await;
        assert_eq!(
            found.elevenlabs_conversation_id.as_deref(),
            Some(conversation.as_str())
        );
        let lost = call(claims[1].call.id).await;
        assert_eq!(lost.status, calls::CallStatus::Failed);
        assert!(lost.failure_reason.unwrap().starts_with("not placed"));
        // Nothing more to resolve, and nothing was dialled by the recovery.
        assert_eq!(
            dialer::recover(&app.services, Utc::now(), 50)
                .await
                .unwrap(),
            0
        );
        assert_eq!(dials(&fake).len(), 1);
        let again = targets_of(&app, &s.campaign)
            .await
            .into_iter()
            .find(|t| t.phone_e164 == claims[1].number)
            .unwrap();
        assert_eq!(
            (again.state, again.attempts),
            (targets::TargetState::Queued, 1)
        );

        // The found call completes as any other; the lost number's second attempt is dialled.
        post_call::deliver(
            &app,
            &post_call::transcription(&s.el_agent, &conversation),
            None,
        )
        .await;
        app.wait_for_jobs(Duration::from_secs(10)).await;
        let round = dialer::run_once(&app.services, at("2027-03-10T11:00:00Z"))
            .await
            .unwrap();
        assert_eq!(round.placed, 1);
        let numbers: Vec<String> = dials(&fake).into_iter().map(|(n, _)| n).collect();
        assert_eq!(numbers, [reached.number.clone(), claims[1].number.clone()]);
        let done = targets_of(&app, &s.campaign)
            .await
            .into_iter()
            .find(|t| t.phone_e164 == reached.number)
            .unwrap();
        assert_eq!(done.outcome, Some(targets::TargetOutcome::Completed));
    }
);

on_both_backends!(
    a_report_that_comes_before_the_dials_answer_is_that_dials_call,
    |backend: Backend| async move {
        use shared::entities::{calls, dial_attempts};
        let fake = FakeElevenLabs::start().await;
        let app = dialer_app(backend, &fake).await;
        let s = campaign(
            &app,
            "early@example.com",
            &["+33612345671", "+33612345672"],
            2,
        )
        .await;
        // Both dials reach ElevenLabs; neither answer is recorded (the worker died, or the calls
        // were over before the answers landed).
        let (claims, _) = dialer::claim(&app.services, at("2027-03-10T10:00:00Z"))
            .await
            .unwrap();
        assert_eq!(claims.len(), 2);
        let mut conversations = Vec::new();
        for c in &claims {
            conversations.push(dialled_unheard(&app, &fake, &s.el_agent, c).await);
        }
        // The first call's report carries the dial id among its dynamic variables (twice: a
        // redelivery); the second fails busy, and its failure event carries none (ElevenLabs
        // keeps it with the conversation).
        let mut report = post_call::transcription(&s.el_agent, &conversations[0]);
        report["data"]["conversation_initiation_client_data"]["dynamic_variables"]["switchboard_dial_id"] =
            json!(claims[0].attempt.id);
        for _ in 0..2 {
            assert_eq!(post_call::deliver(&app, &report, None).await.status(), 200);
        }
        post_call::deliver(
            &app,
            &post_call::initiation_failure(&s.el_agent, &conversations[1], "busy"),
            None,
        )
        .await;
        app.wait_for_jobs(Duration::from_secs(10)).await;

        let db = &app.services.db;
        let rows = calls::Entity::find()
            .filter(calls::Column::UserId.eq(s.user))
            .all(db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 2, "no second call row: {rows:?}");
        let of = |id: Uuid| rows.iter().find(|c| c.id == id).unwrap();
        let completed = of(claims[0].call.id);
        assert_eq!(
            (
                completed.status,
                completed.elevenlabs_conversation_id.as_deref()
            ),
            (
                calls::CallStatus::Completed,
                Some(conversations[0].as_str())
            )
        );
        assert_eq!(completed.credits_charged, 3, "charged once for 133 s");
        let busy = of(claims[1].call.id);
        assert_eq!(busy.status, calls::CallStatus::Failed);
        assert_eq!(
            busy.elevenlabs_conversation_id.as_deref(),
            Some(conversations[1].as_str())
        );
        let attempts = dial_attempts::Entity::find().all(db).await.unwrap();
        assert!(
            attempts
                .iter()
                .all(|a| a.state == dial_attempts::AttemptState::Ended),
            "{attempts:?}"
        );
        let targets = targets_of(&app, &s.campaign).await;
        let by_number = |n: &str| targets.iter().find(|t| t.phone_e164 == n).unwrap();
        assert_eq!(
            by_number(&claims[0].number).outcome,
            Some(targets::TargetOutcome::Completed)
        );
        let retry = by_number(&claims[1].number);
        assert_eq!(
            (retry.state, retry.outcome),
            (
                targets::TargetState::Queued,
                Some(targets::TargetOutcome::Busy)
            )
        );
        // Nothing left for the recovery, and only the two dials were made.
        let later = Utc::now() + chrono::TimeDelta::seconds(3600);
        assert_eq!(dialer::recover(&app.services, later, 50).await.unwrap(), 0);
        assert_eq!(dials(&fake).len(), 2);
    }
);

on_both_backends!(
    a_recovered_dial_reported_without_its_dial_id_becomes_the_reported_call,
    |backend: Backend| async move {
        use shared::entities::{calls, dial_attempts};
        let fake = FakeElevenLabs::start().await;
        let app = dialer_app(backend, &fake).await;
        let s = campaign(&app, "bare@example.com", &["+33612345671"], 1).await;
        let (claims, _) = dialer::claim(&app.services, at("2027-03-10T10:00:00Z"))
            .await
            .unwrap();
        let c = &claims[0];
        let conversation = dialled_unheard(&app, &fake, &s.el_agent, c).await;
        // The report carries no dial id: it makes a call row of its own.
        post_call::deliver(
            &app,
            &post_call::transcription(&s.el_agent, &conversation),
            None,
        )
        .await;
        app.wait_for_jobs(Duration::from_secs(10)).await;
        let db = &app.services.db;
        let mine = || async {
            calls::Entity::find()
                .filter(calls::Column::UserId.eq(s.user))
                .all(db)
                .await
                .unwrap()
        };
        assert_eq!(mine().await.len(), 2);
        claimed_long_ago(&app, c).await;
        // The recovery finds the dial on ElevenLabs, held by that row: the placeholder goes.
        assert_eq!(
            dialer::recover(&app.services, Utc::now(), 50)
                .await
                .unwrap(),
            1
        );
        let rows = mine().await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(
            rows[0].elevenlabs_conversation_id.as_deref(),
            Some(conversation.as_str())
        );
        let attempt = dial_attempts::Entity::find_by_id(c.attempt.id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (attempt.state, attempt.call_id),
            (dial_attempts::AttemptState::Ended, rows[0].id)
        );
        let target = &targets_of(&app, &s.campaign).await[0];
        assert_eq!(
            (target.state, target.outcome),
            (
                targets::TargetState::Done,
                Some(targets::TargetOutcome::Completed)
            )
        );
        assert_eq!(
            dialer::recover(&app.services, Utc::now(), 50)
                .await
                .unwrap(),
            0
        );
        assert_eq!(dials(&fake).len(), 1);
    }
);
