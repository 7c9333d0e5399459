//! `cargo run --release -p tests --bin bench-campaigns -- [contacts] [slots] [dials] [interval_ms,...]`
//!
//! The campaign dialer against the fake ElevenLabs on PostgreSQL (figures to publish: `DURABLE=1
//! scripts/services.sh start` and its URLs as TEST_DATABASE_URL/TEST_REDIS_URL). Nothing is
//! asserted beyond the runs being complete.
//!
//! 1. **Decisions.** A campaign of `contacts` (default 10,000) numbers, half in Paris (inside
//!    the window at the bench's clock) and half in Tokyo (outside it), caps high enough for all
//!    of them: one dialer round decides every number (a claim with its call row, or a move to the
//!    window's opening) in one transaction, then places the claimed dials. Prints decisions/s
//!    of the claiming transaction and dials/s placed.
//! 2. **Lag.** For each interval (default 1000 ms, the production default, and 200 ms): a fresh
//!    campaign of `contacts` numbers under caps of `slots` (default 50) calls at once, dialled by
//!    the worker's own loop on the real clock, while the bench plays ElevenLabs and ends each call
//!    that rings with a signed post-call webhook (processed by the worker like any other) until
//!    `dials` (default 1,000) calls were placed. Prints how long each freed slot waited for its
//!    next dial (from the call's completion to the next claim: p50/p95/max) and dials/s.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use futures::StreamExt;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use shared::{
    campaigns::dialer,
    entities::{calls, campaigns, contacts, dial_attempts},
    money::credits::{self, Entry, TxKind},
};
use tests::{
    Backend, Decode, TestApp, WorkerMode,
    elevenlabs::{self, FakeElevenLabs},
    measure::{self, ms, percentile},
    post_call,
    users::verified_user,
};
use uuid::Uuid;

struct Account {
    token: String,
    user: Uuid,
    agent: Value,
}

async fn account(app: &TestApp, email: &str) -> anyhow::Result<Account> {
    let (token, user) = verified_user(app, email).await;
    let user: Uuid = user.parse()?;
    let agent = tests::callers::call_agent(app, &token).await;
    credits::apply(
        &app.services.db,
        Entry::new(user, TxKind::AdminAdjustment, 1_000_000, "admin:bench"),
    )
    .await?;
    Ok(Account { token, user, agent })
}

/// `n` contacts of `user`: even ones in Paris, odd ones in Tokyo; their ids.
async fn contacts_of(
    app: &TestApp,
    user: Uuid,
    n: usize,
    series: u32,
) -> anyhow::Result<Vec<Uuid>> {
    let now = Utc::now();
    let mut ids = Vec::with_capacity(n);
    let rows: Vec<contacts::ActiveModel> = (0..n)
        .map(|i| {
            let phone = if i % 2 == 0 {
                format!("+336{series}{i:07}")
            } else {
                format!("+8190{series}{i:07}")
            };
            let id = shared::platform::ids::next();
            ids.push(id);
            contacts::ActiveModel {
                id: Set(id),
                user_id: Set(user),
                name: Set(format!("Contact {i}")),
                phone_e164: Set(phone.clone()),
                phone_raw: Set(phone),
                tags: Set(json!([])),
                custom_fields: Set(json!({})),
                do_not_call: Set(false),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
        })
        .collect();
    for chunk in rows.chunks(1000) {
        contacts::Entity::insert_many(chunk.to_vec())
            .exec(&app.services.db)
            .await?;
    }
    Ok(ids)
}

/// Creates (timed) and starts a campaign over `ids`.
async fn campaign(
    app: &TestApp,
    a: &Account,
    ids: &[Uuid],
    concurrency: usize,
    window: (&str, &str),
) -> anyhow::Result<Uuid> {
    let started = Instant::now();
    let made: Value = app
        .post(
            "/api/campaigns",
            json!({
                "name": "Bench", "agent_id": a.agent["id"], "max_concurrent_calls": concurrency,
                "contact_ids": ids, "first_call_time": window.0, "last_call_time": window.1,
                "start_date": (Utc::now() - chrono::TimeDelta::days(1)).date_naive(),
            }),
            Some(&a.token),
        )
        .await
        .expect_json(201)
        .await;
    println!(
        "  campaign of {} contacts created in {:.0} ms",
        ids.len(),
        ms(started.elapsed())
    );
    let id = made["campaign"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    app.post(
        &format!("/api/campaigns/{id}/start"),
        json!({}),
        Some(&a.token),
    )
    .await
    .expect_json::<Value>(200)
    .await;
    Ok(id.parse()?)
}

async fn decisions(contacts: usize) -> anyhow::Result<()> {
    let fake = FakeElevenLabs::start().await;
    let base = fake.uri();
    let cap = contacts as u64;
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::InProcess, |c| {
        elevenlabs_at(c, &base);
        c.elevenlabs.max_concurrent_calls = cap;
        c.elevenlabs.platform_max_concurrent_calls = cap;
        // The bench runs the round itself, at its chosen time.
        c.jobs.campaign_dial_interval_ms = 0;
    })
    .await;
    println!("{}", measure::durability(&app.services.db).await);
    let a = account(&app, "decisions@example.com").await?;
    let ids = contacts_of(&app, a.user, contacts, 1).await?;
    campaign(&app, &a, &ids, contacts, ("09:00", "20:00")).await?;
    // 16:00 UTC: 17:00 in Paris (open), 01:00 in Tokyo (closed).
    let today = Utc::now().date_naive();
    let now = Utc.from_utc_datetime(&today.and_hms_opt(16, 0, 0).unwrap_or_default());
    let started = Instant::now();
    let (claims, round) = dialer::claim(&app.services, now).await?;
    let claimed_in = started.elapsed();
    let decided = round.claimed + round.rescheduled + round.skipped;
    println!(
        "decisions: {decided} in {:.0} ms = {:.0}/s ({} dials claimed with their call rows, {} moved to their window)",
        ms(claimed_in),
        decided as f64 / claimed_in.as_secs_f64(),
        round.claimed,
        round.rescheduled
    );
    // As a round places them: `PLACING` requests to ElevenLabs at once.
    let started = Instant::now();
    let placed: Vec<bool> = futures::stream::iter(claims)
        .map(|c| dialer::place(&app.services, c))
        .buffer_unordered(dialer::PLACING)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let placed = placed.iter().filter(|ok| **ok).count();
    let placed_in = started.elapsed();
    println!(
        "placing: {placed} dials in {:.0} ms = {:.0}/s ({} at once), each recorded with its conversation",
        ms(placed_in),
        placed as f64 / placed_in.as_secs_f64(),
        dialer::PLACING
    );
    app.stop().await;
    Ok(())
}

/// The fake ElevenLabs as the platform's account, its webhooks signed with the test secret.
fn elevenlabs_at(c: &mut shared::platform::config::Config, base: &str) {
    c.elevenlabs.api_key = Some(elevenlabs::API_KEY.into());
    c.elevenlabs.api_base = base.to_string();
    c.elevenlabs.webhook_secrets = vec![post_call::SECRET.into()];
}

async fn lag(contacts: usize, slots: usize, dials: usize, interval_ms: u64) -> anyhow::Result<()> {
    let fake = FakeElevenLabs::start().await;
    let base = fake.uri();
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::InProcess, |c| {
        elevenlabs_at(c, &base);
        c.elevenlabs.max_concurrent_calls = slots as u64;
        c.elevenlabs.platform_max_concurrent_calls = slots as u64;
        c.jobs.campaign_dial_interval_ms = interval_ms;
    })
    .await;
    let a = account(&app, &format!("lag{interval_ms}@example.com")).await?;
    let ids = contacts_of(&app, a.user, contacts, 2).await?;
    let id = campaign(&app, &a, &ids, slots, ("00:00", "23:59")).await?;
    let el_agent = a.agent["elevenlabsAgentId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let started = Instant::now();
    let mut ended = std::collections::HashSet::new();
    // ElevenLabs: every call that rings ends at once, reported as ElevenLabs reports it.
    while ended.len() < dials {
        let ringing: Vec<(String, Value)> = fake
            .conversations
            .lock()
            .map_err(|_| anyhow::anyhow!("fake poisoned"))?
            .values()
            .filter(|c| {
                c["status"] == "in-progress"
                    && !ended.contains(c["conversation_id"].as_str().unwrap_or_default())
            })
            .map(|c| {
                (
                    c["conversation_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    c["conversation_initiation_client_data"].clone(),
                )
            })
            .collect();
        for (conversation, client) in ringing {
            let mut event = post_call::transcription(&el_agent, &conversation);
            event["data"]["metadata"]["call_duration_secs"] = json!(30);
            event["data"]["conversation_initiation_client_data"] = client;
            let status = post_call::deliver(&app, &event, None).await.status();
            anyhow::ensure!(status == 200, "webhook answered {status}");
            ended.insert(conversation);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "the campaign stalled"
        );
    }
    let elapsed = started.elapsed();
    app.post(
        &format!("/api/campaigns/{id}/pause"),
        json!({}),
        Some(&a.token),
    )
    .await
    .expect_json::<Value>(200)
    .await;
    app.wait_for_jobs(Duration::from_secs(60)).await;
    let db = &app.services.db;
    let mut completed: Vec<_> = calls::Entity::find()
        .filter(calls::Column::UserId.eq(a.user))
        .filter(calls::Column::CompletedAt.is_not_null())
        .order_by_asc(calls::Column::CompletedAt)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|c| c.completed_at)
        .collect();
    completed.sort();
    let claims: Vec<_> = dial_attempts::Entity::find()
        .order_by_asc(dial_attempts::Column::ClaimedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.claimed_at)
        .collect();
    // The i-th slot freed is refilled by the claim `slots` places after the i-th (the caps let
    // no claim come before a slot is free).
    let mut waits: Vec<Duration> = completed
        .iter()
        .zip(claims.iter().skip(slots))
        .map(|(freed, claim)| (*claim - *freed).to_std().unwrap_or_default())
        .collect();
    waits.sort();
    let placed = claims.len();
    let status = campaigns::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|c| c.status);
    println!(
        "lag, interval {interval_ms} ms, {slots} slots: {placed} dials in {:.1} s = {:.0} dials/s; a freed slot waited p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms for its next dial ({} slots freed; campaign {status:?})",
        elapsed.as_secs_f64(),
        placed as f64 / elapsed.as_secs_f64(),
        ms(percentile(&waits, 0.50)),
        ms(percentile(&waits, 0.95)),
        ms(waits.last().copied().unwrap_or_default()),
        waits.len()
    );
    app.stop().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: usize| {
        args.get(i)
            .and_then(|a| a.replace('_', "").parse().ok())
            .unwrap_or(default)
    };
    let (contacts, slots, dials) = (num(0, 10_000), num(1, 50), num(2, 1_000));
    let intervals: Vec<u64> = args
        .get(3)
        .map(|a| a.split(',').filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_else(|| vec![1000, 200]);
    if std::env::var("BENCH_ONLY").as_deref() != Ok("lag") {
        decisions(contacts).await?;
    }
    if std::env::var("BENCH_ONLY").as_deref() != Ok("decisions") {
        for interval in intervals {
            lag(contacts, slots, dials, interval).await?;
        }
    }
    Ok(())
}
