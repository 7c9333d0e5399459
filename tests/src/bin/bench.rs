//! `cargo run --release -p tests --bin bench -- [sqlite|postgres] [requests] [concurrency]`
//!
//! Prints figures for the hot paths that exist so far: signed webhook intake (verify, store in
//! the inbox, enqueue, answer) and job processing (queued emails delivered to an SMTP sink).
//! PostgreSQL+Redis need `scripts/services.sh start`. Figures only; nothing is asserted.

use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use serde_json::json;
use shared::email::{self, OutgoingEmail};
use tests::{Backend, TestApp, WorkerMode, stripe};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn report(name: &str, n: usize, elapsed: Duration, mut latencies: Vec<Duration>) {
    latencies.sort();
    let rate = format!(
        "{name:<22} {n:>6} in {:>7.2} s  {:>8.1}/s",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    if latencies.is_empty() {
        println!("{rate}");
    } else {
        println!(
            "{rate}  p50 {:>7.2} ms  p99 {:>7.2} ms",
            percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
            percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        );
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = match args.get(1).map(String::as_str) {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let concurrency: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(16);
    println!("backend {backend:?}, {n} operations, concurrency {concurrency}");

    // Webhook intake: the worker is off so only the request path is measured.
    let app = TestApp::spawn_with(backend, WorkerMode::None, |c| {
        c.stripe_webhook_secret = Some(stripe::WEBHOOK_SECRET.into());
        c.log_level = "error".into();
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
    report("webhook intake", n, started.elapsed(), latencies);
    app.stop().await;

    // Job processing: emails queued first, then a worker drains them through SMTP.
    let app = TestApp::spawn_with(backend, WorkerMode::None, |c| {
        c.worker_concurrency = concurrency;
        c.log_level = "error".into();
    })
    .await;
    for i in 0..n {
        email::queue_email(
            &app.services.db,
            app.config(),
            &app.services.queue,
            OutgoingEmail {
                user_id: None,
                to: format!("bench{i}@example.com"),
                subject: "Benchmark".into(),
                text_body: "hello".into(),
                html_body: None,
            },
        )
        .await
        .expect("queued");
    }
    let started = Instant::now();
    let (stop, worker) = app.start_worker_in_process();
    app.wait_for_jobs(Duration::from_secs(600)).await;
    let elapsed = started.elapsed();
    report("email jobs", n, elapsed, Vec::new());
    assert_eq!(app.smtp.received().len(), n);
    stop.cancel();
    let _ = worker.await;
}
