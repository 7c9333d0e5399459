//! The job pipeline end to end: producer → queue → worker → SMTP, recovery by the sweeper,
//! row-driven retries, idempotency — on PostgreSQL+Redis and on SQLite.

use std::time::Duration;

use sea_orm::{ConnectionTrait, EntityTrait};
use shared::{
    entities::{background_jobs, email_outbox},
    platform::email::{self, OutgoingEmail},
    platform::jobs::{self, JobKind, JobMessage, JobQueue},
};
use tests::{Backend, TestApp, WorkerMode, on_both_backends};

const WAIT: Duration = Duration::from_secs(30);

async fn queue_test_email(app: &TestApp, to: &str) -> email_outbox::Model {
    email::queue_email(
        &app.services,
        OutgoingEmail {
            user_id: None,
            to: to.into(),
            subject: "Verify your email".into(),
            text_body: "Open https://example.test/verify?token=abc".into(),
            html_body: Some("<a href=\"https://example.test/verify?token=abc\">Verify</a>".into()),
        },
    )
    .await
    .expect("email queued")
}

async fn job_for(app: &TestApp, subject: uuid::Uuid) -> background_jobs::Model {
    use sea_orm::{ColumnTrait, QueryFilter};
    background_jobs::Entity::find()
        .filter(background_jobs::Column::SubjectId.eq(subject))
        .one(&app.services.db)
        .await
        .expect("query")
        .expect("job row exists")
}

async fn outbox_row(app: &TestApp, id: uuid::Uuid) -> email_outbox::Model {
    email_outbox::Entity::find_by_id(id)
        .one(&app.services.db)
        .await
        .expect("query")
        .expect("outbox row")
}

/// Deletes every queue message of this app, as if Redis (or the embedded queue) lost them.
async fn lose_queue_messages(app: &TestApp) {
    match &app.services.queue {
        JobQueue::Redis { conn, prefix } => {
            let mut conn = conn.clone();
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{prefix}:*"))
                .query_async(&mut conn)
                .await
                .expect("keys");
            assert!(!keys.is_empty(), "the producer pushed something to Redis");
            let _: () = redis::cmd("DEL")
                .arg(&keys)
                .query_async(&mut conn)
                .await
                .expect("del");
        }
        JobQueue::Sqlite { .. } => {
            let deleted = app
                .services
                .db
                .execute_unprepared("DELETE FROM Jobs")
                .await
                .expect("delete queue rows");
            assert!(
                deleted.rows_affected() > 0,
                "the producer pushed something to the queue"
            );
        }
    }
}

on_both_backends!(
    email_is_delivered_by_a_separate_worker_process,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::None, |_| {}).await;
        let row = queue_test_email(&app, "ada@example.test").await;
        assert_eq!(row.status, email::EmailStatus::Pending);

        let worker = app.start_worker_process(env!("CARGO_BIN_EXE_test-worker"));
        let mails = app.smtp.wait_for(1, WAIT).await;
        app.wait_for_jobs(WAIT).await;

        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].to, vec!["ada@example.test".to_string()]);
        assert_eq!(
            mails[0].header("Subject").as_deref(),
            Some("Verify your email")
        );
        let message_id = mails[0].header("Message-ID").expect("message id");
        assert!(message_id.contains(&row.id.to_string()), "{message_id}");
        assert!(
            mails[0]
                .data
                .contains("https://example.test/verify?token=abc")
        );

        let sent = outbox_row(&app, row.id).await;
        assert_eq!(sent.status, email::EmailStatus::Sent);
        assert!(sent.sent_at.is_some());
        let job = job_for(&app, row.id).await;
        assert_eq!(job.status, shared::platform::jobs::JobStatus::Succeeded);
        assert_eq!(job.attempts, 1);
        assert!(
            job.locked_by
                .as_deref()
                .unwrap_or_default()
                .starts_with("test-worker-")
        );

        let status = worker.terminate().await;
        assert!(
            status.success(),
            "worker exits cleanly on SIGTERM: {status}"
        );
    }
);

on_both_backends!(
    a_job_lost_from_the_queue_is_completed_by_the_sweeper,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::None, |_| {}).await;
        let row = queue_test_email(&app, "lost@example.test").await;
        lose_queue_messages(&app).await;
        assert!(
            job_for(&app, row.id).await.enqueued_at.is_some(),
            "the doorbell had rung"
        );

        let (stop, handle) = app.start_worker_in_process();
        let mails = app.smtp.wait_for(1, WAIT).await;
        app.wait_for_jobs(WAIT).await;
        assert_eq!(mails.len(), 1);
        assert_eq!(
            outbox_row(&app, row.id).await.status,
            email::EmailStatus::Sent
        );
        assert_eq!(
            job_for(&app, row.id).await.status,
            shared::platform::jobs::JobStatus::Succeeded
        );
        stop.cancel();
        handle.await.expect("join").expect("worker stops cleanly");
    }
);

on_both_backends!(
    a_failing_job_is_retried_with_backoff_then_failed,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        app.smtp.refuse_next(451, 100);
        let started = std::time::Instant::now();
        let row = queue_test_email(&app, "busy@example.test").await;
        app.wait_for_jobs(WAIT).await;
        let elapsed = started.elapsed();

        let job = job_for(&app, row.id).await;
        assert_eq!(job.status, shared::platform::jobs::JobStatus::Failed);
        assert_eq!(job.attempts, app.config().jobs.max_attempts);
        assert!(
            job.last_error
                .as_deref()
                .unwrap_or_default()
                .contains("451"),
            "{:?}",
            job.last_error
        );
        assert!(job.finished_at.is_some());
        assert_eq!(app.smtp.refused(), 3, "one SMTP transaction per attempt");
        assert!(app.smtp.received().is_empty());
        assert_eq!(
            outbox_row(&app, row.id).await.status,
            email::EmailStatus::Pending
        );
        // Two waits between three attempts: at least 0.8 × (100 ms + 200 ms) of backoff.
        assert!(
            elapsed >= Duration::from_millis(240),
            "attempts were spaced out: {elapsed:?}"
        );
    }
);

on_both_backends!(
    a_transient_failure_is_retried_until_it_succeeds,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        app.smtp.refuse_next(451, 2);
        let row = queue_test_email(&app, "flaky@example.test").await;
        app.wait_for_jobs(WAIT).await;
        let job = job_for(&app, row.id).await;
        assert_eq!(job.status, shared::platform::jobs::JobStatus::Succeeded);
        assert_eq!(job.attempts, 3);
        assert_eq!(app.smtp.received().len(), 1);
        assert_eq!(
            outbox_row(&app, row.id).await.status,
            email::EmailStatus::Sent
        );
    }
);

on_both_backends!(
    a_permanent_failure_is_not_retried,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        app.smtp.refuse_next(550, 100);
        let row = queue_test_email(&app, "nobody@example.test").await;
        app.wait_for_jobs(WAIT).await;
        let job = job_for(&app, row.id).await;
        assert_eq!(job.status, shared::platform::jobs::JobStatus::Failed);
        assert_eq!(job.attempts, 1);
        assert_eq!(app.smtp.refused(), 1);
    }
);

on_both_backends!(
    running_the_same_job_twice_changes_nothing,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let row = queue_test_email(&app, "twice@example.test").await;
        app.smtp.wait_for(1, WAIT).await;
        app.wait_for_jobs(WAIT).await;
        let job = job_for(&app, row.id).await;
        let sent = outbox_row(&app, row.id).await;

        // A duplicate delivery through the queue, a direct re-run, and a second create.
        app.services
            .queue
            .push(JobKind::SendEmail, JobMessage { job_id: job.id })
            .await
            .expect("push duplicate");
        let state = worker::WorkerState::new(app.services.clone()).expect("state");
        worker::runner::process(&state, job.id).await;
        let again = jobs::create(&app.services.db, app.config(), JobKind::SendEmail, row.id)
            .await
            .expect("create again");
        assert_eq!(again.id, job.id, "one job per subject");
        app.wait_for_jobs(WAIT).await;
        // Give the duplicate message time to be consumed (it finds nothing to claim).
        tokio::time::sleep(Duration::from_millis(500)).await;

        assert_eq!(app.smtp.received().len(), 1, "delivered once");
        assert_eq!(job_for(&app, row.id).await, job, "job row unchanged");
        assert_eq!(outbox_row(&app, row.id).await, sent, "outbox row unchanged");
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_reports_503_when_redis_is_down() {
    let mut redis = tests::redis_server::PrivateRedis::start().await;
    let url = redis.url();
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::None, |c| {
        c.jobs.redis_url = Some(url)
    })
    .await;
    let ok = app
        .client
        .get(app.url("/ready"))
        .send()
        .await
        .expect("ready");
    assert_eq!(ok.status(), 200);

    redis.stop();
    let down = app
        .client
        .get(app.url("/ready"))
        .send()
        .await
        .expect("ready");
    assert_eq!(down.status(), 503);
    let body: serde_json::Value = down.json().await.expect("json");
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["database"], "ok");
    assert_ne!(body["queue"], "ok");

    // A job recorded while Redis is down is kept; the producer does not fail.
    let row = queue_test_email(&app, "later@example.test").await;
    let job = job_for(&app, row.id).await;
    assert_eq!(job.status, shared::platform::jobs::JobStatus::Queued);
    assert!(job.enqueued_at.is_none(), "left for the sweeper");
}

on_both_backends!(
    sigterm_lets_in_flight_jobs_finish,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::None, |_| {}).await;
        app.smtp.slow_down(Duration::from_millis(1500));
        let row = queue_test_email(&app, "slow@example.com").await;
        let worker = app.start_worker_process(env!("CARGO_BIN_EXE_test-worker"));
        // Wait until the worker holds the job, then ask it to stop.
        let deadline = tokio::time::Instant::now() + WAIT;
        while job_for(&app, row.id).await.status != shared::platform::jobs::JobStatus::Running {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the worker never claimed the job"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let status = worker.terminate().await;
        assert!(status.success(), "clean exit: {status}");
        let job = job_for(&app, row.id).await;
        assert_eq!(
            job.status,
            shared::platform::jobs::JobStatus::Succeeded,
            "the in-flight job finished before exit: {job:?}"
        );
        assert_eq!(app.smtp.received().len(), 1);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_default_writes_mail_to_the_outbox_directory() {
    let app = TestApp::spawn_with(Backend::Sqlite, WorkerMode::InProcess, |c| {
        c.mail.transport = shared::platform::config::MailTransport::File;
    })
    .await;
    let row = queue_test_email(&app, "outbox@example.com").await;
    app.wait_for_jobs(WAIT).await;
    let path = app
        .data_dir()
        .join("outbox")
        .join(format!("{}.eml", row.id));
    let text = std::fs::read_to_string(&path).expect("message file written");
    assert!(text.contains("To: outbox@example.com"));
    assert!(text.contains("Subject: Verify your email"));
    assert_eq!(
        outbox_row(&app, row.id).await.status,
        email::EmailStatus::Sent
    );
    assert!(app.smtp.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_migrates_and_prints_the_contract() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let migrate = app
        .command(env!("CARGO_BIN_EXE_test-api"))
        .arg("migrate")
        .output()
        .await
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let spec = app
        .command(env!("CARGO_BIN_EXE_test-api"))
        .arg("openapi")
        .output()
        .await
        .unwrap();
    assert!(spec.status.success());
    let spec: serde_json::Value = serde_json::from_slice(&spec.stdout).expect("JSON on stdout");
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    assert!(spec["paths"]["/webhooks/stripe"]["post"].is_object());
    let bad = app
        .command(env!("CARGO_BIN_EXE_test-api"))
        .arg("openapi")
        .env("PORT", "not-a-port")
        .output()
        .await
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("PORT"));

    // In a fresh directory with no configuration at all: the document alone on stdout, and
    // nothing created (no ./data, no JWT secret).
    let fresh = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_test-api"))
        .arg("openapi")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(fresh.path())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let spec: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("only the document on stdout");
    assert!(spec["paths"]["/api/auth/login"]["post"].is_object());
    assert_eq!(
        std::fs::read_dir(fresh.path()).unwrap().count(),
        0,
        "printing the contract created files"
    );
}

/// Lengths of a kind's apalis-redis active list and scheduled set.
async fn redis_backlog(app: &TestApp, kind: JobKind) -> (u64, u64) {
    let queue = app.services.queue.queue_name(kind);
    let client = redis::Client::open(app.config().jobs.redis_url.clone().unwrap()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let active: u64 = redis::cmd("LLEN")
        .arg(format!("{queue}:active"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let scheduled: u64 = redis::cmd("ZCARD")
        .arg(format!("{queue}:scheduled"))
        .query_async(&mut conn)
        .await
        .unwrap();
    (active, scheduled)
}

/// apalis-redis promotes every due message in one Lua `unpack`, which fails past ~8000: a
/// backlog built while no worker ran must still drain through the queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_beyond_the_lua_unpack_limit_drains() {
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::None, |c| {
        c.jobs.redeliver_after_secs = 600;
        c.jobs.worker_concurrency = 16;
    })
    .await;
    let queue = &app.services.queue;
    // A few hundred pushes in flight at a time, as a real producer sends them: 9,000 at once
    // can outlast the queue's 2 s response timeout on a loaded machine.
    use futures::StreamExt;
    let pushed: Vec<_> = futures::stream::iter(0..9_000)
        .map(|_| {
            queue.push(
                JobKind::ConversationEvent,
                JobMessage {
                    job_id: shared::platform::ids::next(),
                },
            )
        })
        .buffer_unordered(256)
        .collect()
        .await;
    for pushed in pushed {
        pushed.unwrap();
    }
    assert_eq!(
        redis_backlog(&app, JobKind::ConversationEvent).await,
        (0, 9_000)
    );
    let (stop, worker) = app.start_worker_in_process();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let backlog = redis_backlog(&app, JobKind::ConversationEvent).await;
        if backlog == (0, 0) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "backlog stuck at {backlog:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The consumers are alive afterwards: a real job goes through the queue.
    let outbox = queue_test_email(&app, "after-backlog@example.com").await;
    app.smtp
        .wait_for_to("after-backlog@example.com", 1, WAIT)
        .await;
    app.wait_for_jobs(WAIT).await;
    assert_eq!(
        job_for(&app, outbox.id).await.status,
        shared::platform::jobs::JobStatus::Succeeded
    );
    stop.cancel();
    worker.await.unwrap().unwrap();
}

/// A Redis restart under a running worker: its consumers come back and deliver new jobs
/// themselves (the sweeper's own runs are pushed out of reach here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_survive_a_redis_restart() {
    let mut redis = tests::redis_server::PrivateRedis::start().await;
    let url = redis.url();
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::InProcess, |c| {
        c.jobs.redis_url = Some(url);
        c.jobs.redeliver_after_secs = 600;
    })
    .await;
    queue_test_email(&app, "before@example.com").await;
    app.smtp.wait_for_to("before@example.com", 1, WAIT).await;

    redis.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    redis.restart().await;
    let outbox = queue_test_email(&app, "after@example.com").await;
    app.smtp.wait_for_to("after@example.com", 1, WAIT).await;
    app.wait_for_jobs(WAIT).await;
    assert_eq!(
        job_for(&app, outbox.id).await.status,
        shared::platform::jobs::JobStatus::Succeeded
    );
}
