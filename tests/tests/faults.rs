//! Faults under load: PostgreSQL restarted while webhooks pour in, Redis restarted likewise,
//! and the worker SIGKILLed again and again mid-batch. In every case each accepted webhook ends
//! processed exactly once (one completed call and one charge per conversation), and what was
//! refused was retried by the sender as ElevenLabs would, and then processed too.
//!
//! The tests here restart shared services, so they run one at a time.

use std::{
    collections::HashSet,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures::{StreamExt, stream};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};
use shared::entities::{background_jobs, calls, credit_transactions};
use tests::{Backend, TestApp, WorkerMode, post_call, redis_server::PrivateRedis, users::register};
use uuid::Uuid;

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const WAIT: Duration = Duration::from_secs(120);
const ACCOUNTS: usize = 4;

/// Accounts with an agent each; returns the agents' ElevenLabs ids.
async fn accounts(app: &TestApp, run: &str) -> Vec<String> {
    let mut agents = Vec::new();
    for i in 0..ACCOUNTS {
        let session = register(app, &format!("{run}{i}@example.com")).await;
        let user: Uuid = session["user"]["id"].as_str().unwrap().parse().unwrap();
        let agent = format!("agent_{run}_{i}");
        post_call::insert_agent(app, user, &agent).await;
        agents.push(agent);
    }
    agents
}

/// Delivers `n` transcriptions like ElevenLabs: a non-200 (or no answer) is retried until it
/// is 200. Calls `midway` once half of them were accepted. Returns how many answers were
/// retried.
async fn deliver_all<F: std::future::Future<Output = ()>>(
    app: &TestApp,
    agents: &[String],
    run: &str,
    n: usize,
    midway: F,
) -> usize {
    let accepted = Arc::new(AtomicUsize::new(0));
    let retried = Arc::new(AtomicUsize::new(0));
    let deliveries = stream::iter(0..n)
        .map(|i| {
            let (accepted, retried) = (accepted.clone(), retried.clone());
            let event =
                post_call::transcription(&agents[i % agents.len()], &format!("conv_{run}_{i}"));
            async move {
                let deadline = tokio::time::Instant::now() + WAIT;
                loop {
                    let body = event.to_string();
                    let answer = app
                        .client
                        .post(app.url("/webhooks/elevenlabs"))
                        .header("content-type", "application/json")
                        .header(
                            "elevenlabs-signature",
                            post_call::signature(post_call::SECRET, &body),
                        )
                        .timeout(Duration::from_secs(10))
                        .body(body)
                        .send()
                        .await;
                    if answer.as_ref().is_ok_and(|r| r.status() == 200) {
                        accepted.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    retried.fetch_add(1, Ordering::SeqCst);
                    assert!(tokio::time::Instant::now() < deadline, "never accepted");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        })
        .buffer_unordered(8);
    let watcher = async {
        while accepted.load(Ordering::SeqCst) < n / 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        midway.await;
    };
    let (_, ()) = tokio::join!(deliveries.collect::<Vec<()>>(), watcher);
    retried.load(Ordering::SeqCst)
}

/// Every conversation became exactly one completed call with exactly one charge, no job failed.
async fn assert_exactly_once(app: &TestApp, run: &str, n: usize) {
    app.wait_for_jobs(WAIT).await;
    let db = &app.services.db;
    let completed: Vec<Option<String>> = calls::Entity::find()
        .filter(calls::Column::Status.eq("completed"))
        .filter(calls::Column::ElevenlabsConversationId.starts_with(format!("conv_{run}_")))
        .select_only()
        .column(calls::Column::ElevenlabsConversationId)
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    let distinct: HashSet<_> = completed.iter().collect();
    assert_eq!(
        (completed.len(), distinct.len()),
        (n, n),
        "one completed call per event"
    );
    let charges = credit_transactions::Entity::find()
        .filter(credit_transactions::Column::Reference.starts_with(format!("call:conv_{run}_")))
        .count(db)
        .await
        .unwrap();
    assert_eq!(charges as usize, n, "one charge per event");
    let failed = background_jobs::Entity::find()
        .filter(background_jobs::Column::Status.eq("failed"))
        .count(db)
        .await
        .unwrap();
    assert_eq!(failed, 0, "no job gave up");
}

fn services_script() -> std::process::Command {
    std::process::Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/services.sh"
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load_loses_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::InProcess, |c| {
        c.elevenlabs.webhook_secrets = vec![post_call::SECRET.into()];
        c.jobs.max_attempts = 20;
        c.jobs.backoff_base_ms = 100;
    })
    .await;
    let agents = accounts(&app, "pgr").await;
    let n = 400;
    let retried = deliver_all(&app, &agents, "pgr", n, async {
        let out =
            tokio::task::spawn_blocking(|| services_script().arg("restart-postgres").output())
                .await
                .unwrap()
                .expect("scripts/services.sh restart-postgres");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    })
    .await;
    assert_exactly_once(&app, "pgr", n).await;
    println!("postgres restart: {n} events, {retried} refused answers retried, lost 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_under_load_loses_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut redis = PrivateRedis::start().await;
    let url = redis.url();
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::InProcess, |c| {
        c.jobs.redis_url = Some(url);
        c.elevenlabs.webhook_secrets = vec![post_call::SECRET.into()];
        c.jobs.max_attempts = 20;
    })
    .await;
    let agents = accounts(&app, "rdr").await;
    let n = 400;
    let retried = deliver_all(&app, &agents, "rdr", n, async {
        redis.stop();
        tokio::time::sleep(Duration::from_secs(1)).await;
        redis.restart().await;
    })
    .await;
    assert_exactly_once(&app, "rdr", n).await;
    println!("redis restart: {n} events, {retried} refused answers retried, lost 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_again_and_again_applies_each_event_once() {
    let _one = ONE_AT_A_TIME.lock().await;
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::None, |c| {
        c.elevenlabs.webhook_secrets = vec![post_call::SECRET.into()];
        c.jobs.max_attempts = 50;
        c.jobs.lease_secs = 3;
        c.jobs.timeout_secs = 2;
        c.jobs.redeliver_after_secs = 2;
    })
    .await;
    let agents = accounts(&app, "kill").await;
    let n = 600;
    deliver_all(&app, &agents, "kill", n, async {}).await;
    let kills = 6;
    for _ in 0..kills {
        let worker = app.start_worker_process(env!("CARGO_BIN_EXE_test-worker"));
        tokio::time::sleep(Duration::from_millis(400)).await;
        worker.kill().await;
    }
    let _worker = app.start_worker_process(env!("CARGO_BIN_EXE_test-worker"));
    assert_exactly_once(&app, "kill", n).await;
    println!("worker SIGKILLed {kills} times during {n} events: each applied once, lost 0");
}
