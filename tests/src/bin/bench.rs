//! `cargo run --release -p tests --bin bench -- [sqlite|postgres] [events] [concurrency] [rates]`
//!
//! Prints figures for the hot paths, nothing asserted:
//! - webhook intake, closed loop: `events` signed Stripe events, `concurrency` in flight;
//! - ElevenLabs post-call intake at fixed arrival rates (open loop, `rates` comma-separated,
//!   default `250,500,1000`, 5 s each): achieved rate, p50/p99/max acknowledgement latency;
//! - post-call processing: `events` stored transcription events applied by a worker with
//!   `concurrency` slots (call, turns, lead score, charge, contact each), spread over 50
//!   accounts, then all for one account;
//! - email jobs delivered to an SMTP sink;
//! - contact imports of 1,000 and 100,000 CSV rows end to end (upload to completed).
//!
//! The load generator shares the machine (and its cores) with the gateway, the worker and the
//! databases. PostgreSQL+Redis need `scripts/services.sh start`.

use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use serde_json::json;
use shared::platform::email::{self, OutgoingEmail};
use tests::{
    Backend, Decode, TestApp, WorkerMode,
    measure::{ms, percentile},
    post_call, stripe,
    users::register,
};

const EL_AGENT: &str = "agent_bench_000000000000000";
/// Accounts the processed events are spread over: each owner's charges serialise on its
/// balance row, so one account alone measures that row, not the pipeline.
const TENANTS: usize = 50;
/// Seconds each fixed rate is held.
const RATE_SECS: u64 = 5;

fn report(name: &str, n: usize, elapsed: Duration, mut latencies: Vec<Duration>) {
    latencies.sort();
    let rate = format!(
        "{name:<28} {n:>6} in {:>7.2} s  {:>8.1}/s",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    if latencies.is_empty() {
        println!("{rate}");
    } else {
        println!(
            "{rate}  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms",
            ms(percentile(&latencies, 0.50)),
            ms(percentile(&latencies, 0.99)),
            ms(*latencies.last().unwrap()),
        );
    }
}

fn tenant_agent(tenant: usize) -> String {
    format!("{EL_AGENT}_{tenant}")
}

/// A transcription event for conversation `i` of one of `tenants` accounts, with its own
/// caller (so contacts differ).
fn post_call_event(run: &str, i: usize, tenants: usize) -> String {
    let agent = if tenants > 1 {
        tenant_agent(i % tenants)
    } else {
        EL_AGENT.to_string()
    };
    let mut event = post_call::transcription(&agent, &format!("conv_{run}_{i}"));
    event["data"]["metadata"]["phone_call"]["external_number"] =
        json!(format!("+1415{:07}", i % 10_000_000));
    event.to_string()
}

async fn post_signed(app: &TestApp, body: String) -> reqwest::StatusCode {
    post_call::deliver_raw(app, body, None).await.status()
}

/// Open loop: requests start on a fixed schedule whatever the answers do, so queueing in the
/// gateway shows up as latency instead of as a lower offered rate.
async fn fixed_rate(app: &TestApp, run: &str, rate: u64) {
    let total = (rate * RATE_SECS) as usize;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        ticker.tick().await;
        let body = post_call_event(run, i, 1);
        let app_url = app.url("/webhooks/elevenlabs");
        let client = app.client.clone();
        tasks.push(tokio::spawn(async move {
            let signature = post_call::signature(post_call::SECRET, &body);
            let t = Instant::now();
            let ok = client
                .post(app_url)
                .header("content-type", "application/json")
                .header("elevenlabs-signature", signature)
                .body(body)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            (t.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut failed = 0;
    for task in tasks {
        let (latency, ok) = task.await.expect("request task");
        latencies.push(latency);
        failed += usize::from(!ok);
    }
    report(
        &format!("post-call intake @{rate}/s"),
        total,
        started.elapsed(),
        latencies,
    );
    if failed > 0 {
        println!("  {failed} requests failed");
    }
}

/// The tests' configuration sweeps and polls every few milliseconds so their retries are
/// quick; measure with the production timings instead.
fn production_timings(c: &mut shared::Config) {
    let defaults = shared::Config::default();
    c.jobs.sweeper_interval_ms = defaults.jobs.sweeper_interval_ms;
    c.jobs.redeliver_after_secs = defaults.jobs.redeliver_after_secs;
    c.jobs.queue_poll_interval_ms = defaults.jobs.queue_poll_interval_ms;
    c.jobs.lease_secs = defaults.jobs.lease_secs;
    c.jobs.timeout_secs = defaults.jobs.timeout_secs;
    c.server.log_level = "error".into();
}

/// Events stored with the worker off, then one worker applies them all.
async fn process(backend: Backend, n: usize, concurrency: usize, tenants: usize) {
    let app = TestApp::spawn_with(backend, WorkerMode::None, |c| {
        production_timings(c);
        c.elevenlabs.webhook_secrets = vec![post_call::SECRET.into()];
        c.jobs.worker_concurrency = concurrency;
        c.database.max_connections = (concurrency as u32 + 8).max(16);
        c.server.log_level = "error".into();
    })
    .await;
    for tenant in 0..tenants {
        let session = register(&app, &format!("bench{tenant}@example.com")).await;
        let user = session["user"]["id"].as_str().unwrap().parse().unwrap();
        let agent = if tenants > 1 {
            tenant_agent(tenant)
        } else {
            EL_AGENT.to_string()
        };
        post_call::insert_agent(&app, user, &agent).await;
    }
    let stored: Vec<reqwest::StatusCode> = stream::iter(0..n)
        .map(|i| post_signed(&app, post_call_event("proc", i, tenants)))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    assert!(stored.iter().all(|s| *s == 200), "every event stored");
    let started = Instant::now();
    let (stop, worker) = app.start_worker_in_process();
    app.wait_for_jobs(Duration::from_secs(1800)).await;
    let elapsed = started.elapsed();
    report(
        &format!("post-call processed, {tenants} acct"),
        n,
        elapsed,
        Vec::new(),
    );
    // The figure counts only if every event became exactly one completed, charged call.
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    use shared::entities::{background_jobs, calls, credit_transactions};
    let db = &app.services.db;
    let completed = calls::Entity::find()
        .filter(calls::Column::Status.eq("completed"))
        .count(db)
        .await
        .unwrap();
    let charges = credit_transactions::Entity::find()
        .filter(credit_transactions::Column::Reference.starts_with("call:"))
        .count(db)
        .await
        .unwrap();
    let failed = background_jobs::Entity::find()
        .filter(background_jobs::Column::Status.eq("failed"))
        .count(db)
        .await
        .unwrap();
    assert_eq!((completed, charges, failed), (n as u64, n as u64, 0));
    stop.cancel();
    let _ = worker.await;
    app.stop().await;
}

/// A contact import end to end: upload (read and checked at once), then the job's batches,
/// until the import is completed.
async fn import_contacts(backend: Backend, rows: usize) {
    let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
        production_timings(c);
        c.uploads.import_max_rows = rows;
        c.uploads.import_max_bytes = 64 * 1024 * 1024;
    })
    .await;
    let session = register(&app, "importer@example.com").await;
    let token = session["token"].as_str().unwrap().to_string();
    let mut csv = String::from("Name,Phone,Email,Company,Plan\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "Person {i},+1415{},p{i}@example.com,Company {},pro\n",
            2_000_000 + i,
            i % 100
        ));
    }
    let started = Instant::now();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("contacts.csv"),
    );
    let resp = app
        .client
        .post(app.url("/api/contacts/imports"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(resp.status(), 202, "upload accepted");
    let accepted = started.elapsed();
    let body: serde_json::Value = resp.json().await.unwrap();
    let path = format!("/api/contacts/imports/{}", body["id"].as_str().unwrap());
    loop {
        let status: serde_json::Value = app.get(&path, Some(&token)).await.success_json().await;
        if status["status"] == "completed" {
            assert_eq!(status["imported"].as_u64(), Some(rows as u64));
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    report(
        &format!("contact import {rows} rows"),
        rows,
        started.elapsed(),
        Vec::new(),
    );
    println!("  upload answered 202 after {:.1} ms", ms(accepted));
    app.stop().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = match args.get(1).map(String::as_str) {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let concurrency: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(16);
    let rates: Vec<u64> = args
        .get(4)
        .map(|r| r.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![250, 500, 1000]);
    println!("backend {backend:?}, {n} operations, concurrency {concurrency}");
    // `BENCH_ONLY=intake|process|import|email` runs one part.
    let only = std::env::var("BENCH_ONLY").ok();
    let runs = |part: &str| only.as_deref().is_none_or(|o| o == part);

    if runs("intake") {
        intake(backend, n, concurrency, &rates).await;
    }
    if runs("process") {
        for tenants in [TENANTS, 1] {
            process(backend, n, concurrency, tenants).await;
        }
    }
    if runs("import") {
        for rows in [1_000, 100_000] {
            import_contacts(backend, rows).await;
        }
    }
    if runs("email") {
        emails(backend, n, concurrency).await;
    }
    if runs("latency") {
        job_start_latency(backend).await;
    }
}

/// Queues one short email job, as the product does (row and doorbell).
async fn queue_mail(app: &TestApp, to: String) {
    email::queue_email(
        &app.services,
        OutgoingEmail {
            user_id: None,
            to,
            subject: "Benchmark".into(),
            text_body: "hello".into(),
            html_body: None,
        },
    )
    .await
    .expect("queued");
}

/// How long a job waits between enqueue and its start, on an otherwise idle worker with the
/// production poll interval: one email at a time after a pause (`LATENCY_PAUSE_MS`, default
/// 300–1,500 ms; idle consumers), each timed from its enqueue until the SMTP sink has it (a
/// loopback SMTP send is under a millisecond, so this is the start latency). `LATENCY_JOBS`
/// (40) sets how many.
async fn job_start_latency(backend: Backend) {
    let app = TestApp::spawn_with(backend, WorkerMode::InProcess, production_timings).await;
    // Let the consumers register and go idle first.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let jobs = env("LATENCY_JOBS").unwrap_or(40) as usize;
    let pause = env("LATENCY_PAUSE_MS");
    // `LATENCY_VIA=http`: each job is a sign-up's verification email, enqueued by the gateway.
    let via_http = std::env::var("LATENCY_VIA").is_ok_and(|v| v == "http");
    let mut latencies = Vec::with_capacity(jobs);
    for i in 0..jobs {
        let wait = pause.unwrap_or(300 + (i as u64 * 397) % 1200);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let started = Instant::now();
        if via_http {
            // A sign-up, whose verification email is the job.
            tests::users::register(&app, &format!("latency{i}@example.com")).await;
        } else {
            queue_mail(&app, format!("latency{i}@example.com")).await;
        }
        app.smtp.wait_for(i + 1, Duration::from_secs(120)).await;
        latencies.push(started.elapsed());
    }
    latencies.sort();
    println!(
        "job enqueue → start ({backend:?}, {jobs} jobs one at a time, poll {} ms): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        app.config().jobs.queue_poll_interval_ms,
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().expect("latencies")),
    );
    app.stop().await;
}

/// Signed Stripe webhooks in a closed loop, then ElevenLabs post-call deliveries at fixed rates;
/// the worker is off so only the request path is measured.
async fn intake(backend: Backend, n: usize, concurrency: usize, rates: &[u64]) {
    let app = TestApp::spawn_with(backend, WorkerMode::None, |c| {
        production_timings(c);
        c.billing.stripe_webhook_secret = Some(stripe::WEBHOOK_SECRET.into());
        c.elevenlabs.webhook_secrets = vec![post_call::SECRET.into()];
        c.database.max_connections = 32;
        c.server.log_level = "error".into();
    })
    .await;
    let started = Instant::now();
    let latencies: Vec<Duration> = stream::iter(0..n)
        .map(|i| {
            let app = &app;
            async move {
                let event = stripe::event("customer.created", json!({"id": format!("cus_{i}")}))
                    .to_string();
                let t = Instant::now();
                let resp = app
                    .client
                    .post(app.url("/webhooks/stripe"))
                    .header("content-type", "application/json")
                    .header(
                        "stripe-signature",
                        stripe::signature(stripe::WEBHOOK_SECRET, &event),
                    )
                    .body(event)
                    .send()
                    .await
                    .expect("request");
                assert_eq!(resp.status(), 200);
                t.elapsed()
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    report(
        "stripe intake (closed loop)",
        n,
        started.elapsed(),
        latencies,
    );
    for (k, rate) in rates.iter().enumerate() {
        fixed_rate(&app, &format!("rate{k}"), *rate).await;
    }
    app.stop().await;
}

/// Email jobs: queued first, then a worker drains them through SMTP.
async fn emails(backend: Backend, n: usize, concurrency: usize) {
    let app = TestApp::spawn_with(backend, WorkerMode::None, |c| {
        production_timings(c);
        c.jobs.worker_concurrency = concurrency;
    })
    .await;
    for i in 0..n {
        queue_mail(&app, format!("bench{i}@example.com")).await;
    }
    let started = Instant::now();
    let (stop, worker) = app.start_worker_in_process();
    app.wait_for_jobs(Duration::from_secs(600)).await;
    report("email jobs", n, started.elapsed(), Vec::new());
    assert_eq!(app.smtp.received().len(), n);
    stop.cancel();
    let _ = worker.await;
}
