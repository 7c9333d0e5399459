//! `cargo run --release -p tests --bin bench-dashboards -- [calls] [users] [heavy_calls]`
//!
//! Seeds PostgreSQL with `calls` calls (default 1,000,000, with transcript turns and lead
//! scores) across `users` accounts (default 1,000), the first holding `heavy_calls` (default
//! 100,000) spread over a year, then prints p50/p95 latency, through the gateway, of the
//! screens that account opens: overview and analytics, the call list (plain, filtered, searched
//! by transcript words and by contact name) and the lead list. Nothing is asserted. Needs
//! `scripts/services.sh start` (figures to publish: `DURABLE=1 scripts/services.sh start` and
//! its URLs as TEST_DATABASE_URL/TEST_REDIS_URL); seeding takes a few minutes. With `BENCH_DATABASE_URL` the data
//! goes to (and on later runs is reused from) that database instead of a throwaway one.

use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use tests::{
    Backend, TestApp, WorkerMode,
    measure::{self, ms, percentile},
    seed::{self, Shape},
    users::signed_in,
};

const RUNS: usize = 40;
const HEAVY: &str = "heavy@example.com";

async fn measure(app: &TestApp, token: &str, name: &str, path: &str) {
    for _ in 0..3 {
        let resp = app.get(path, Some(token)).await;
        assert_eq!(
            resp.status(),
            200,
            "{path}: {}",
            resp.text().await.unwrap_or_default()
        );
    }
    let mut latencies = Vec::with_capacity(RUNS);
    let mut size = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let resp = app.get(path, Some(token)).await;
        let body = resp.bytes().await.expect("body");
        latencies.push(started.elapsed());
        size = body.len();
    }
    latencies.sort();
    println!(
        "{name:<34} p50 {:>7.2} ms  p95 {:>7.2} ms  ({} bytes)",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.95)),
        size
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    let shape = Shape {
        calls: args.first().copied().unwrap_or(1_000_000),
        users: args.get(1).copied().unwrap_or(1_000),
        heavy_calls: args.get(2).copied().unwrap_or(100_000),
        heavy_contacts: 20_000,
        contacts_per_user: 100,
    };
    let kept = std::env::var("BENCH_DATABASE_URL").ok();
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::None, |c| {
        c.server.log_level = "error".into();
        c.database.max_connections = 16;
        if let Some(url) = &kept {
            c.database.url = url.clone();
        }
    })
    .await;
    println!("{}", measure::durability(&app.services.db).await);
    let seeded = shared::entities::users::Entity::find()
        .filter(shared::entities::users::Column::Email.eq(HEAVY))
        .one(&app.services.db)
        .await?
        .is_some();
    let token = if seeded {
        println!("reusing the seeded history");
        let session: serde_json::Value = app
            .post(
                "/api/auth/login",
                serde_json::json!({"email": HEAVY, "password": tests::users::PASSWORD}),
                None,
            )
            .await
            .json()
            .await?;
        session["token"].as_str().unwrap_or_default().to_string()
    } else {
        let (token, heavy) = signed_in(&app, HEAVY).await;
        println!(
            "seeding {} calls over {} accounts, {} for the heavy one",
            shape.calls, shape.users, shape.heavy_calls
        );
        let started = Instant::now();
        seed::history(&app.services.db, heavy, &shape).await?;
        let counters = Instant::now();
        let recount = shared::dashboard::recount::rebuild(&app.services.db).await?;
        println!(
            "  counters rebuilt from {}",
            recount.summary(counters.elapsed().as_secs_f64())
        );
        // What autovacuum does on a live database: statistics and the visibility map (which
        // lets index-only scans skip the table).
        app.services.db.execute_unprepared("VACUUM ANALYZE").await?;
        println!("seeded in {:.1} s", started.elapsed().as_secs_f64());
        token
    };
    tokio::time::sleep(Duration::from_secs(1)).await;

    let since = (chrono::Utc::now() - chrono::TimeDelta::days(90)).to_rfc3339();
    let since = since.replace('+', "%2B");
    for (name, path) in [
        (
            "overview 7d",
            "/api/dashboard/overview?period=7d".to_string(),
        ),
        ("overview 30d", "/api/dashboard/overview?period=30d".into()),
        ("overview 90d", "/api/dashboard/overview?period=90d".into()),
        (
            "analytics 30d (daily)",
            "/api/dashboard/analytics?period=30d".into(),
        ),
        (
            "analytics 90d (daily)",
            "/api/dashboard/analytics?period=90d".into(),
        ),
        (
            "analytics today (hourly)",
            "/api/dashboard/analytics?period=today".into(),
        ),
        ("recent activity", "/api/dashboard/recent-activity".into()),
        // What the call logs send: 30 rows, newest first.
        (
            "calls list",
            "/api/calls?limit=30&sortBy=created_at&sortOrder=DESC".into(),
        ),
        (
            "calls list filtered",
            format!("/api/calls?status=completed&lead_tag=Hot&min_duration=120&start_date={since}"),
        ),
        (
            "calls list by score",
            "/api/calls?min_score=80&sortBy=duration_seconds".into(),
        ),
        (
            "calls by contact name",
            "/api/calls?limit=30&sortBy=contact_name&sortOrder=ASC".into(),
        ),
        (
            "calls of two agents (by name)",
            "/api/calls?limit=30&agent=Agent%201&agent=Agent%202".into(),
        ),
        (
            "calls searched, one contact",
            "/api/calls?search=Ann%20Juniper%2090".into(),
        ),
        (
            "calls searched, rare word",
            "/api/calls?search=34%20dollars".into(),
        ),
        (
            "calls searched, 4% of calls",
            "/api/calls?search=roofing".into(),
        ),
        (
            "calls searched, 8% of calls",
            "/api/calls?search=Juniper".into(),
        ),
        (
            "calls list row 6,000",
            "/api/calls?limit=30&offset=5970".into(),
        ),
        ("calls stats (30 days)", "/api/calls/stats".into()),
        ("leads list", "/api/leads".into()),
        (
            "leads filtered",
            "/api/leads?leadTag=Hot&sortBy=leadTag".into(),
        ),
        ("leads searched", "/api/leads?search=Juniper".into()),
        ("lead intelligence groups", "/api/lead-intelligence".into()),
        ("call analytics KPIs 30d", "/api/call-analytics/kpis".into()),
        (
            "call analytics sources 30d",
            "/api/call-analytics/source-breakdown".into(),
        ),
    ] {
        measure(&app, &token, name, &path).await;
    }
    // The admin area over the whole platform (the heavy account made an admin for it).
    shared::accounts::users::promote_admin(
        &app.services.db,
        HEAVY,
        shared::accounts::users::Role::Admin,
    )
    .await?;
    for (name, path) in [
        ("admin dashboard", "/api/admin/dashboard"),
        ("admin system statistics", "/api/admin/stats/system"),
        ("admin analytics (30 days)", "/api/admin/analytics/system"),
        (
            "admin users by calls",
            "/api/admin/users?limit=20&sortBy=callCount&sortOrder=DESC",
        ),
        (
            "admin users searched",
            "/api/admin/users?limit=20&search=juniper",
        ),
        ("admin agents", "/api/admin/agents?limit=20"),
        (
            "admin monitoring 30d",
            "/api/admin/agents/monitoring?timeframe=30d",
        ),
        ("admin audit log", "/api/admin/audit?limit=20"),
    ] {
        measure(&app, &token, name, path).await;
    }
    app.stop().await;
    Ok(())
}
