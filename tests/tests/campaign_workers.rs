//! Campaigns dialled by three worker processes at once (production's shape: replicas sharing
//! one database and queue), all of them SIGKILLed twice while a dial is claimed and unanswered
//! and replaced, and every webhook delivered twice. The test plays ElevenLabs and the clock: it answers dials
//! slowly, ends calls (connected, busy, no answer), moves retries' delays forward, and checks
//! all along that the calls it has ringing never exceed a campaign's, an account's or the
//! platform's cap. At the end every attempt was dialled exactly once, every number reached an
//! end, and each connected call was charged once.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use chrono_tz::Europe::Paris;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use shared::{
    entities::{
        calls,
        campaign_targets::{self as targets, TargetOutcome, TargetState},
        campaigns::{self, CampaignStatus},
        dial_attempts::{self, AttemptState},
    },
    money::credits,
};
use tests::{
    Backend, Decode, TestApp, WorkerMode,
    elevenlabs::{self, FakeElevenLabs},
    on_both_backends, post_call,
    users::verified_user,
};
use uuid::Uuid;

const ACCOUNT_CAP: usize = 3;
const PLATFORM_CAP: usize = 5;
const FREE_CREDITS: i64 = 15;

struct Campaign {
    id: Uuid,
    user: Uuid,
    el_agent: String,
    concurrency: usize,
}

/// An active campaign of `user` over `phones` with its own agent: the whole day is its window
/// (from yesterday, so every zone's today is in), four attempts a number.
async fn campaign(
    app: &TestApp,
    token: &str,
    user: Uuid,
    phones: &[String],
    concurrency: usize,
) -> Campaign {
    let agent = &tests::callers::call_agent(app, token).await;
    let ids = tests::callers::contacts(app, token, phones).await;
    let yesterday = (Utc::now() - chrono::TimeDelta::days(1)).date_naive();
    let made: Value = app
        .post(
            "/api/campaigns",
            json!({
                "name": "Spring", "agent_id": agent["id"], "max_concurrent_calls": concurrency,
                "contact_ids": ids, "first_call_time": "00:00", "last_call_time": "23:59",
                "start_date": yesterday, "max_attempts": 4, "retry_delay_secs": 60
            }),
            Some(token),
        )
        .await
        .expect_json(201)
        .await;
    let id = made["campaign"]["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/campaigns/{id}/start"),
        json!({}),
        Some(token),
    )
    .await
    .expect_json::<Value>(200)
    .await;
    Campaign {
        id: id.parse().unwrap(),
        user,
        el_agent: agent["elevenlabsAgentId"].as_str().unwrap().to_string(),
        concurrency,
    }
}

/// How ElevenLabs will end each dial of a number: the last digit decides. 0-1: busy the first
/// time, then connected; 9: never answered; otherwise connected.
fn ending(number: &str, attempt: usize) -> &'static str {
    match number.chars().last().unwrap() {
        '0' | '1' if attempt == 0 => "busy",
        '9' => "no-answer",
        _ => "connected",
    }
}

/// The fake's dials so far: (dial id, number).
fn dials(fake: &FakeElevenLabs) -> Vec<(String, String)> {
    fake.outbound
        .lock()
        .unwrap()
        .iter()
        .map(|(_, body)| {
            (
                body["conversation_initiation_client_data"]["dynamic_variables"]["switchboard_dial_id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                body["to_number"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Conversations still ringing at the fake: (conversation, agent, dial id).
fn ringing(fake: &FakeElevenLabs) -> Vec<(String, String, String)> {
    fake.conversations
        .lock()
        .unwrap()
        .values()
        .filter(|c| c["status"] == "in-progress")
        .map(|c| {
            (
                c["conversation_id"].as_str().unwrap().to_string(),
                c["agent_id"].as_str().unwrap().to_string(),
                c.pointer(
                    "/conversation_initiation_client_data/dynamic_variables/switchboard_dial_id",
                )
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            )
        })
        .collect()
}

/// Waits out the minute before midnight in Paris, the one minute the window leaves closed.
async fn outside_the_nightly_gap() {
    let now = Utc::now().with_timezone(&Paris);
    if now.hour() == 23 && now.minute() >= 56 {
        let left = 60 * (60 - now.minute() as u64) + 30;
        tokio::time::sleep(Duration::from_secs(left)).await;
    }
}

on_both_backends!(
    three_worker_processes_keep_every_cap_and_dial_each_attempt_once_through_sigkills,
    |backend: Backend| async move {
        outside_the_nightly_gap().await;
        let fake = FakeElevenLabs::start().await;
        // A dial's answer takes a while: a worker killed meanwhile has dialled unheard.
        *fake.dial_delay.lock().unwrap() = Duration::from_millis(250);
        let base = fake.uri();
        let app = TestApp::spawn_with(backend, WorkerMode::None, |c| {
            c.elevenlabs.api_key = Some(elevenlabs::API_KEY.into());
            c.elevenlabs.api_base = base;
            c.elevenlabs.backoff_base_ms = 10;
            c.elevenlabs.max_concurrent_calls = ACCOUNT_CAP as u64;
            c.elevenlabs.platform_max_concurrent_calls = PLATFORM_CAP as u64;
            c.elevenlabs.webhook_secrets = vec![post_call::SECRET.into()];
            c.elevenlabs.dial_claim_timeout_secs = 2;
            c.billing.free_credits = FREE_CREDITS;
            c.jobs.campaign_dial_interval_ms = 50;
        })
        .await;
        // The workers send the sign-up mails too.
        let binary = env!("CARGO_BIN_EXE_test-worker");
        let mut workers: Vec<_> = (0..3).map(|_| app.start_worker_process(binary)).collect();
        // French mobiles whose last digit says how ElevenLabs ends their calls (`ending`).
        let phones = |prefix: u8, last: std::ops::RangeInclusive<u8>| -> Vec<String> {
            last.map(|d| format!("+3361234{prefix}00{d}")).collect()
        };
        // Account A: two campaigns of 2 under its cap of 3. Account B: one of 3 (a campaign
        // cannot ask for more than its account's cap). Together 6 would ring: the platform's 5
        // binds.
        let (token_a, user_a) = verified_user(&app, "alpha@example.com").await;
        let (token_b, user_b) = verified_user(&app, "bravo@example.com").await;
        let (user_a, user_b): (Uuid, Uuid) = (user_a.parse().unwrap(), user_b.parse().unwrap());
        let all = vec![
            campaign(&app, &token_a, user_a, &phones(1, 0..=5), 2).await,
            campaign(&app, &token_a, user_a, &phones(2, 4..=9), 2).await,
            campaign(&app, &token_b, user_b, &phones(3, 0..=7), 3).await,
        ];
        let of_agent: HashMap<&str, &Campaign> =
            all.iter().map(|c| (c.el_agent.as_str(), c)).collect();

        let db = &app.services.db;
        let (mut kills, mut most_at_once, mut most_of_a) = (0, 0, 0);
        let mut attempts_of: HashMap<String, usize> = HashMap::new();
        let mut ended: HashSet<String> = HashSet::new();
        let mut first_rang: HashMap<String, Instant> = HashMap::new();
        let deadline = Instant::now() + Duration::from_secs(150);
        loop {
            if Instant::now() > deadline {
                let t = targets::Entity::find().all(db).await.unwrap();
                let a = dial_attempts::Entity::find().all(db).await.unwrap();
                let c = campaigns::Entity::find().all(db).await.unwrap();
                panic!(
                    "the campaigns did not finish: {kills} kills, {} dials\n{:?}\n{:?}\n{:?}",
                    dials(&fake).len(),
                    c.iter()
                        .map(|c| (c.status, c.pause_reason))
                        .collect::<Vec<_>>(),
                    t.iter()
                        .map(|t| (
                            &t.phone_e164,
                            t.state,
                            t.outcome,
                            t.attempts,
                            t.next_attempt_at
                        ))
                        .collect::<Vec<_>>(),
                    a.iter()
                        .map(|a| (a.state, a.outcome, &a.conversation_id))
                        .collect::<Vec<_>>()
                );
            }
            // What rings now, by campaign, account and in all.
            let now_ringing: Vec<_> = ringing(&fake)
                .into_iter()
                .filter(|(c, ..)| !ended.contains(c))
                .collect();
            let mut by_campaign: HashMap<Uuid, usize> = HashMap::new();
            let mut by_user: HashMap<Uuid, usize> = HashMap::new();
            let mut numbers = HashSet::new();
            let placed: HashMap<String, String> = dials(&fake).into_iter().collect();
            for (_, agent, dial) in &now_ringing {
                let c = of_agent[agent.as_str()];
                *by_campaign.entry(c.id).or_default() += 1;
                *by_user.entry(c.user).or_default() += 1;
                assert!(
                    numbers.insert(placed[dial].clone()),
                    "{} rings twice at once",
                    placed[dial]
                );
            }
            for c in &all {
                let n = by_campaign.get(&c.id).copied().unwrap_or(0);
                assert!(n <= c.concurrency, "campaign {} rings {n}", c.id);
            }
            for (user, n) in &by_user {
                assert!(*n <= ACCOUNT_CAP, "account {user} rings {n}");
            }
            assert!(
                now_ringing.len() <= PLATFORM_CAP,
                "{} ring",
                now_ringing.len()
            );
            most_at_once = most_at_once.max(now_ringing.len());
            most_of_a = most_of_a.max(by_user.get(&user_a).copied().unwrap_or(0));

            // Every worker dies while a dial is claimed and unanswered (on the wire, or about to
            // be); new ones take over.
            let total_dials = placed.len();
            if (kills == 0 && total_dials >= 4) || (kills == 1 && total_dials >= 12) {
                let claimed = dial_attempts::Entity::find()
                    .filter(dial_attempts::Column::State.eq(AttemptState::Claimed))
                    .all(db)
                    .await
                    .unwrap();
                if !claimed.is_empty() {
                    for w in workers.drain(..) {
                        w.kill().await;
                    }
                    workers = (0..3).map(|_| app.start_worker_process(binary)).collect();
                    kills += 1;
                }
            }

            // ElevenLabs ends every call that has rung for a moment, each webhook sent twice.
            for (conversation, agent, dial) in now_ringing {
                let since = *first_rang
                    .entry(conversation.clone())
                    .or_insert_with(Instant::now);
                if since.elapsed() < Duration::from_millis(400) {
                    continue;
                }
                let number = placed[&dial].clone();
                let attempt = attempts_of.entry(number.clone()).or_default();
                let mut event = match ending(&number, *attempt) {
                    "connected" => post_call::scored_transcription(
                        &agent,
                        &conversation,
                        post_call::Scored {
                            number: &number,
                            name: "",
                            total: 10,
                            tag: "Warm",
                            ctas: &[],
                            successful: true,
                            secs: 30,
                        },
                    ),
                    reason => post_call::initiation_failure(&agent, &conversation, reason),
                };
                // A post-call report carries the conversation's dynamic variables, as ElevenLabs
                // sends them (a failure event carries none).
                if event["type"] == "post_call_transcription" {
                    event["data"]["conversation_initiation_client_data"]["dynamic_variables"]
                        [shared::campaigns::dials::DIAL_VARIABLE] = json!(dial);
                }
                *attempt += 1;
                ended.insert(conversation.clone());
                if let Some(c) = fake.conversations.lock().unwrap().get_mut(&conversation) {
                    c["status"] = json!("done");
                }
                for _ in 0..2 {
                    let status = post_call::deliver(&app, &event, None).await.status();
                    assert_eq!(status, 200);
                }
            }

            // The clock: a retry's delay has passed as soon as it is set.
            targets::Entity::update_many()
                .col_expr(
                    targets::Column::NextAttemptAt,
                    Expr::value(Some(Utc::now())),
                )
                .filter(targets::Column::State.eq(TargetState::Queued))
                .filter(targets::Column::Attempts.gt(0))
                .exec(db)
                .await
                .unwrap();

            let open = campaigns::Entity::find()
                .filter(campaigns::Column::Status.ne(CampaignStatus::Completed))
                .all(db)
                .await
                .unwrap();
            if open.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for w in workers {
            w.kill().await;
        }

        assert_eq!(kills, 2, "both kills landed with a dial in flight");
        assert_eq!(most_at_once, PLATFORM_CAP, "the platform's cap was reached");
        assert_eq!(most_of_a, ACCOUNT_CAP, "the account's cap was reached");
        // Each attempt dialled once at most: the fake's dials have distinct dial ids, each an
        // attempt that recorded that conversation.
        let attempts = dial_attempts::Entity::find().all(db).await.unwrap();
        let by_id: HashMap<String, &dial_attempts::Model> =
            attempts.iter().map(|a| (a.id.to_string(), a)).collect();
        let placed = dials(&fake);
        let distinct: HashSet<&String> = placed.iter().map(|(d, _)| d).collect();
        assert_eq!(distinct.len(), placed.len(), "an attempt was dialled twice");
        for (dial, _) in &placed {
            let attempt = by_id.get(dial).expect("every dial is an attempt");
            assert!(attempt.conversation_id.is_some(), "{attempt:?}");
            assert_eq!(attempt.state, AttemptState::Ended);
        }
        // Attempts that never reached ElevenLabs were failed as not placed, nothing else.
        let calls = calls::Entity::find().all(db).await.unwrap();
        assert_eq!(calls.len(), attempts.len(), "one call row per attempt");
        let unplaced: Vec<_> = calls
            .iter()
            .filter(|c| c.elevenlabs_conversation_id.is_none())
            .collect();
        assert_eq!(unplaced.len() + placed.len(), attempts.len());
        assert!(
            unplaced.iter().all(|c| c
                .failure_reason
                .as_deref()
                .unwrap_or("")
                .starts_with("not placed")),
            "{unplaced:?}"
        );
        // Every number reached its end: connected ones once, the unanswered one out of attempts.
        let numbers = targets::Entity::find().all(db).await.unwrap();
        assert_eq!(numbers.len(), 20);
        for t in &numbers {
            assert_eq!(t.state, TargetState::Done, "{t:?}");
            let connected = calls
                .iter()
                .filter(|c| {
                    c.phone_number.as_deref() == Some(t.phone_e164.as_str())
                        && c.status == shared::calls::CallStatus::Completed
                })
                .count();
            if t.phone_e164.ends_with('9') {
                assert_eq!(connected, 0);
                assert_eq!(t.attempts, 4, "{t:?}");
                assert!(
                    matches!(
                        t.outcome,
                        Some(TargetOutcome::NoAnswer | TargetOutcome::Failed)
                    ),
                    "{t:?}"
                );
            } else {
                assert_eq!((connected, t.outcome), (1, Some(TargetOutcome::Completed)));
            }
        }
        // Redelivered reports charged nothing more: one credit per connected 30-second call.
        for (user, campaigns) in [(user_a, &all[..2]), (user_b, &all[2..])] {
            let connected = calls
                .iter()
                .filter(|c| c.user_id == user && c.status == shared::calls::CallStatus::Completed)
                .count() as i64;
            assert_eq!(
                credits::balance(db, user).await.unwrap(),
                FREE_CREDITS - connected,
                "{} campaigns",
                campaigns.len()
            );
        }
    }
);
