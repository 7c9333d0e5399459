//! `cargo run --release -p tests --bin bench-intake -- [requests] [runs]`
//!
//! The webhook intake on a durable PostgreSQL, side by side with the plain Node stack it
//! replaces (`bench/express-peer`: Express + pg + BullMQ verifying the same signature, inserting
//! into an inbox that drops duplicates, adding a job, answering 200), against the same database
//! and Redis, with the same load generator. For each, `runs` times: ElevenLabs post-call
//! deliveries in a closed loop at 16 and 64 connections (`requests` each, default 20,000) and
//! at a fixed 1,000 req/s for 5 s (open loop: latency includes queueing), printing req/s,
//! p50/p99, and per webhook the database's commits (`pg_stat_database`), WAL flushes
//! (`pg_stat_wal.wal_sync`) and PostgreSQL's CPU time. Then Switchboard's Stripe intake, and
//! the database's own ceiling: pgbench, 16 clients, one `INSERT … ON CONFLICT DO NOTHING` of a
//! 3 KB payload per transaction. Nothing is asserted. At the end the run removes its queue keys
//! (no worker consumes them), so runs do not pile up in the benchmark's Redis.
//!
//! Start the production-like services first (`DURABLE=1 scripts/services.sh start`) and point
//! the bench at them; the peer needs `npm ci` in `bench/express-peer` once:
//!
//! ```sh
//! (cd bench/express-peer && npm ci)
//! TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5434/postgres TEST_REDIS_URL=redis://127.0.0.1:6381 \
//!   cargo run --release -p tests --bin bench-intake
//! ```

use std::{
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use futures::{StreamExt, stream};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use tests::{
    Backend, TestApp, WorkerMode,
    measure::{durability, ms, percentile},
    post_call, stripe,
};

/// The allocator the gateway binary runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PEER_PORT: u16 = 3999;
const RATE: u64 = 1000;
const RATE_SECS: u64 = 5;

/// The database's counters a run is measured by.
#[derive(Debug, Clone, Copy, Default)]
struct DbCounters {
    commits: i64,
    wal_syncs: i64,
    cpu_ticks: u64,
}

async fn counters(db: &impl ConnectionTrait) -> DbCounters {
    // Backends publish their statistics when idle, at most once a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let backend = db.get_database_backend();
    let one = |sql: &str| {
        let sql = sql.to_string();
        async move {
            db.query_one_raw(Statement::from_string(backend, sql))
                .await
                .ok()
                .flatten()
                .and_then(|row| row.try_get_by_index::<i64>(0).ok())
                .unwrap_or(0)
        }
    };
    DbCounters {
        commits: one("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
            .await,
        wal_syncs: one("SELECT wal_sync FROM pg_stat_wal").await,
        cpu_ticks: postgres_cpu_ticks(),
    }
}

/// User + system CPU ticks of every `postgres` process on the machine, with those of its
/// children that have exited (so a backend that ends between two readings still counts).
fn postgres_cpu_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|stat| {
            let (name, rest) = stat.split_once(") ")?;
            if !name.ends_with("(postgres") {
                return None;
            }
            let fields: Vec<&str> = rest.split_whitespace().collect();
            // After the name: state is field 3 of stat(5), utime 14, stime 15, and the
            // exited children's cutime 16 and cstime 17.
            (11..=14)
                .map(|i| fields.get(i)?.parse::<u64>().ok())
                .sum::<Option<u64>>()
        })
        .sum()
}

struct Target {
    name: &'static str,
    url: String,
}

/// A signed delivery, built before the clock starts so the load generator's own work (JSON,
/// HMAC) is not what the run measures.
struct Signed {
    body: String,
    signature: String,
}

fn event(run: &str, i: usize) -> Signed {
    let mut event =
        post_call::transcription("agent_bench_intake_0000000000", &format!("conv_{run}_{i}"));
    event["data"]["metadata"]["phone_call"]["external_number"] =
        json!(format!("+1415{:07}", i % 10_000_000));
    let body = event.to_string();
    let signature = post_call::signature(post_call::SECRET, &body);
    Signed { body, signature }
}

fn events(run: &str, n: usize) -> Vec<Signed> {
    (0..n).map(|i| event(run, i)).collect()
}

async fn deliver(
    client: &reqwest::Client,
    url: &str,
    Signed { body, signature }: Signed,
) -> (Duration, bool) {
    let t = Instant::now();
    let ok = client
        .post(url)
        .header("content-type", "application/json")
        .header("elevenlabs-signature", signature)
        .body(body)
        .send()
        .await
        .is_ok_and(|r| r.status() == 200);
    (t.elapsed(), ok)
}

fn line(
    name: &str,
    n: usize,
    elapsed: Duration,
    mut latencies: Vec<Duration>,
    failed: usize,
    before: DbCounters,
    after: DbCounters,
) {
    latencies.sort();
    let per = |x: i64| x as f64 / n as f64;
    let tick_ms = 1000.0 / 100.0; // USER_HZ
    println!(
        "{name:<34} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  commits/webhook {:>4.2}  WAL flushes/webhook {:>4.2}  PostgreSQL CPU {:>5.3} ms/req{}",
        n as f64 / elapsed.as_secs_f64(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        per(after.commits - before.commits),
        per(after.wal_syncs - before.wal_syncs),
        (after.cpu_ticks - before.cpu_ticks) as f64 * tick_ms / n as f64,
        if failed > 0 {
            format!("  ({failed} failed)")
        } else {
            String::new()
        }
    );
}

async fn closed_loop(
    db: &impl ConnectionTrait,
    client: &reqwest::Client,
    target: &Target,
    run: &str,
    n: usize,
    connections: usize,
) {
    let deliveries = events(run, n);
    let before = counters(db).await;
    let started = Instant::now();
    let results: Vec<(Duration, bool)> = stream::iter(deliveries)
        .map(|signed| deliver(client, &target.url, signed))
        .buffer_unordered(connections)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let after = counters(db).await;
    let failed = results.iter().filter(|(_, ok)| !ok).count();
    line(
        &format!("{} @{connections} connections", target.name),
        n,
        elapsed,
        results.into_iter().map(|(d, _)| d).collect(),
        failed,
        before,
        after,
    );
}

/// Open loop: requests start on schedule whatever the answers do.
async fn fixed_rate(
    db: &impl ConnectionTrait,
    client: &reqwest::Client,
    target: &Target,
    run: &str,
) {
    let total = (RATE * RATE_SECS) as usize;
    let deliveries = events(run, total);
    let before = counters(db).await;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / RATE as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for signed in deliveries {
        ticker.tick().await;
        let (client, url) = (client.clone(), target.url.clone());
        tasks.push(tokio::spawn(
            async move { deliver(&client, &url, signed).await },
        ));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut failed = 0;
    for task in tasks {
        let (latency, ok) = task.await.expect("request task");
        latencies.push(latency);
        failed += usize::from(!ok);
    }
    let elapsed = started.elapsed();
    let after = counters(db).await;
    line(
        &format!("{} @{RATE} req/s", target.name),
        total,
        elapsed,
        latencies,
        failed,
        before,
        after,
    );
}

async fn stripe_closed_loop(app: &TestApp, run: &str, n: usize, connections: usize) {
    let db = &app.services.db;
    let deliveries: Vec<Signed> = (0..n)
        .map(|i| {
            let body = stripe::event("customer.created", json!({"id": format!("cus_{run}_{i}")}))
                .to_string();
            let signature = stripe::signature(stripe::WEBHOOK_SECRET, &body);
            Signed { body, signature }
        })
        .collect();
    let before = counters(db).await;
    let started = Instant::now();
    let results: Vec<(Duration, bool)> = stream::iter(deliveries)
        .map(|Signed { body, signature }| async move {
            let t = Instant::now();
            let ok = app
                .client
                .post(app.url("/webhooks/stripe"))
                .header("content-type", "application/json")
                .header("stripe-signature", signature)
                .body(body)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            (t.elapsed(), ok)
        })
        .buffer_unordered(connections)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let after = counters(db).await;
    let failed = results.iter().filter(|(_, ok)| !ok).count();
    line(
        &format!("switchboard stripe @{connections} connections"),
        n,
        elapsed,
        results.into_iter().map(|(d, _)| d).collect(),
        failed,
        before,
        after,
    );
}

/// The peer, started against the bench's database and Redis; `None` when its packages are
/// not installed.
async fn start_peer(database_url: &str) -> Option<tokio::process::Child> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench/express-peer");
    if !dir.join("node_modules").exists() {
        println!(
            "express peer skipped: run `npm ci` in {} first",
            dir.display()
        );
        return None;
    }
    let child = tokio::process::Command::new("node")
        .arg("server.js")
        .current_dir(&dir)
        .env("DATABASE_URL", database_url)
        .env("REDIS_URL", tests::app::test_redis_url())
        .env("ELEVENLABS_WEBHOOK_SECRET", post_call::SECRET)
        .env("PORT", PEER_PORT.to_string())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", PEER_PORT))
            .await
            .is_ok()
        {
            return Some(child);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("express peer did not start");
    None
}

/// pgbench: one `INSERT … ON CONFLICT DO NOTHING` of a 3 KB payload per transaction.
async fn pgbench_ceiling(db: &impl ConnectionTrait, database_url: &str) {
    let bin = std::env::var("PGBENCH").ok().or_else(|| {
        let dir = std::fs::read_dir("/usr/lib/postgresql").ok()?;
        dir.filter_map(|e| e.ok())
            .map(|e| e.path().join("bin/pgbench"))
            .find(|p| p.exists())
            .map(|p| p.display().to_string())
    });
    let Some(bin) = bin else {
        println!("pgbench ceiling skipped: no pgbench (set PGBENCH)");
        return;
    };
    let _ = db
        .execute_unprepared(
            "CREATE TABLE IF NOT EXISTS bench_ceiling (external_id text PRIMARY KEY, payload bytea NOT NULL)",
        )
        .await;
    let script = std::env::temp_dir().join("bench-ceiling.sql");
    std::fs::write(
        &script,
        "INSERT INTO bench_ceiling VALUES (:client_id || '-' || random()::text, convert_to(repeat('x', 3000), 'UTF8')) ON CONFLICT DO NOTHING;\n",
    )
    .expect("pgbench script");
    let out = tokio::process::Command::new(bin)
        .args(["-n", "-c", "16", "-j", "2", "-T", "10", "-f"])
        .arg(&script)
        .arg(database_url)
        .output()
        .await;
    match out {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            let tps = text
                .lines()
                .find(|l| l.starts_with("tps"))
                .unwrap_or("no tps line");
            println!("{:<34} {tps}", "pgbench single insert, 16 clients");
        }
        Err(e) => println!("pgbench failed: {e}"),
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::None, |c| {
        let defaults = shared::Config::default();
        c.jobs.sweeper_interval_ms = defaults.jobs.sweeper_interval_ms;
        c.jobs.redeliver_after_secs = defaults.jobs.redeliver_after_secs;
        c.billing.stripe_webhook_secret = Some(stripe::WEBHOOK_SECRET.into());
        c.elevenlabs.webhook_secrets = vec![post_call::SECRET.into()];
        c.database.max_connections = 32;
        // Still counted per sending address in Redis, as in production, but the benchmark is
        // one address far above any real sender.
        c.limits.webhook_rate_per_ip_per_min = 100_000_000;
    })
    .await;
    let db = &app.services.db;
    println!("{}", durability(db).await);
    let database_url = app.services.config.database.url.clone();
    let peer = start_peer(&database_url).await;
    let mut targets = vec![Target {
        name: "switchboard",
        url: app.url("/webhooks/elevenlabs"),
    }];
    if peer.is_some() {
        targets.push(Target {
            name: "express peer",
            url: format!("http://127.0.0.1:{PEER_PORT}/webhooks/elevenlabs"),
        });
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()
        .expect("client");
    for run in 0..runs {
        println!("run {}", run + 1);
        for target in &targets {
            let tag = |s: &str| format!("{}{run}{s}", target.name.replace(' ', "_"));
            closed_loop(db, &client, target, &tag("c16"), n, 16).await;
            closed_loop(db, &client, target, &tag("c64"), n, 64).await;
            fixed_rate(db, &client, target, &tag("rate")).await;
        }
        stripe_closed_loop(&app, &format!("s{run}"), n / 2, 16).await;
    }
    pgbench_ceiling(db, &database_url).await;
    drop(peer);
    // No worker consumes the benchmark's jobs: remove them, so the next run does not start
    // against a Redis holding every earlier run's queue.
    let prefixes = [
        format!("{}*", app.services.config.jobs.queue_prefix),
        "bull:express-peer-post-call:*".to_string(),
    ];
    if let Some(mut redis) = app.services.redis.clone() {
        for pattern in prefixes {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(&pattern)
                .query_async(&mut redis)
                .await
                .unwrap_or_default();
            for chunk in keys.chunks(1000) {
                let _: redis::RedisResult<()> = redis::cmd("UNLINK")
                    .arg(chunk)
                    .query_async(&mut redis)
                    .await;
            }
        }
    }
    app.stop().await;
}
