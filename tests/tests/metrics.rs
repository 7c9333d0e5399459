//! `/metrics`: Prometheus text with request, webhook, job, queue and ledger series, on the API
//! port or on its own port.

use std::time::Duration;

use tests::{
    Backend, TestApp, WorkerMode,
    post_call::{self, SECRET},
    users::register,
};
use uuid::Uuid;

fn has(text: &str, series: &str, labels: &[&str]) -> bool {
    text.lines().any(|line| {
        line.starts_with(series)
            && (line.as_bytes().get(series.len()) == Some(&b'{'))
            && labels.iter().all(|l| line.contains(l))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_webhooks_jobs_queues_and_the_ledger_are_measured() {
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::InProcess, |c| {
        c.elevenlabs.webhook_secrets = vec![SECRET.into()];
    })
    .await;
    let session = register(&app, "measured@example.com").await;
    let token = session["token"].as_str().unwrap();
    let user: Uuid = session["user"]["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        app.get("/api/user/profile", Some(token)).await.status(),
        200
    );
    let missing = format!("/api/calls/{}", Uuid::new_v4());
    assert_eq!(app.get(&missing, Some(token)).await.status(), 404);
    post_call::insert_agent(&app, user, "agent_metrics").await;
    let event = post_call::transcription("agent_metrics", "conv_metrics");
    for _ in 0..2 {
        assert_eq!(post_call::deliver(&app, &event, None).await.status(), 200);
    }
    app.wait_for_jobs(Duration::from_secs(30)).await;

    let resp = app.get("/metrics", None).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.text().await.unwrap();
    let checks: &[(&str, &[&str])] = &[
        (
            "http_requests_total",
            &[
                r#"route="/api/user/profile""#,
                r#"status="200""#,
                r#"method="GET""#,
            ],
        ),
        (
            "http_requests_total",
            &[r#"route="unmatched""#, r#"status="404""#],
        ),
        (
            "http_request_duration_seconds_bucket",
            &[r#"route="/webhooks/elevenlabs""#],
        ),
        (
            "webhooks_received_total",
            &[r#"provider="elevenlabs""#, r#"result="stored""#],
        ),
        (
            "webhooks_received_total",
            &[r#"provider="elevenlabs""#, r#"result="duplicate""#],
        ),
        (
            "jobs_total",
            &[r#"kind="conversation_event""#, r#"outcome="succeeded""#],
        ),
        (
            "job_duration_seconds_count",
            &[r#"kind="conversation_event""#],
        ),
        ("jobs_queued", &[r#"kind="send_email""#]),
        (
            "jobs_oldest_pending_age_seconds",
            &[r#"kind="contact_import""#],
        ),
        (
            "webhook_inbox_events",
            &[r#"provider="elevenlabs""#, r#"status="processed""#],
        ),
        ("ledger_credits", &[r#"kind="usage""#]),
        ("ledger_entries", &[r#"kind="bonus""#]),
    ];
    for (series, labels) in checks {
        assert!(
            has(&text, series, labels),
            "{series} {labels:?} in:\n{text}"
        );
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("ledger_credits{kind=\"usage\"} -3")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_have_a_port_of_their_own() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let app = TestApp::spawn_with(Backend::Sqlite, WorkerMode::InProcess, |c| {
        c.server.metrics_port = Some(port);
    })
    .await;
    assert_eq!(app.get("/metrics", None).await.status(), 404);
    let mut ok = false;
    for _ in 0..50 {
        if let Ok(resp) = app
            .client
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
        {
            let status = resp.status();
            let text = resp.text().await.unwrap();
            ok = status == 200 && text.contains("jobs_queued");
            assert!(ok, "{status}: {text}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "served on its own port");
    app.stop().await;
}
