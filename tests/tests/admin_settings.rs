//! Platform settings changed by admins at run time: checked one by one and as a whole, stored
//! encrypted, shown masked everywhere (responses, audit log, logs), and applied by running
//! gateways and workers without a restart.

use std::{process::Stdio, time::Duration};

use serde_json::{Value, json};
use shared::entities::system_config;
use tests::{
    Backend, Decode, TestApp, WorkerMode, expect_error, on_both_backends,
    post_call::{self, SECRET},
    users::{register, signed_in},
};
use tokio::io::AsyncReadExt;
use uuid::Uuid;

const ENCRYPTION_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const STRIPE_KEY: &str = "sk_test_51PlainStripeSecret0042";
const ROTATED: &str = "wsec_rotated_webhook_secret_7788";
const EL_AGENT: &str = "agent_settings_1";

async fn admin(app: &TestApp, email: &str) -> String {
    tests::users::signed_in_admin(app, email).await.0
}

async fn patch(app: &TestApp, token: &str, values: Value) -> reqwest::Response {
    app.send(
        reqwest::Method::PATCH,
        "/api/admin/settings",
        Some(json!({ "values": values })),
        Some(token),
    )
    .await
}

fn setting<'a>(list: &'a Value, key: &str) -> &'a Value {
    list["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("{key} is listed"))
}

on_both_backends!(
    settings_are_checked_masked_audited_and_applied,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.settings.encryption_key = Some(ENCRYPTION_KEY.into());
            c.elevenlabs.webhook_secrets = vec![SECRET.into()];
        })
        .await;
        let root = admin(&app, "root@example.com").await;
        let (member, _) = signed_in(&app, "member@example.com").await;

        let before: Value = app
            .get("/api/admin/settings", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(setting(&before, "stripe_secret_key")["value"], Value::Null);
        assert_eq!(setting(&before, "credit_price_cents")["value"], 10);
        assert_eq!(setting(&before, "credit_price_cents")["source"], "startup");
        assert_eq!(
            setting(&before, "elevenlabs_webhook_secrets")["value"],
            json!(["wse…labs"])
        );
        assert_eq!(
            setting(&before, "smtp_tls")["options"],
            json!(["starttls", "tls", "none"])
        );

        // Each bad value is a 422 naming the setting, and nothing changes.
        for (values, field) in [
            (
                json!({"stripe_secret_key": "pk_test_123456789"}),
                "stripe_secret_key",
            ),
            (
                json!({"stripe_webhook_secret": "secret_123456789"}),
                "stripe_webhook_secret",
            ),
            (json!({"credit_price_cents": 0}), "credit_price_cents"),
            (json!({"credit_price_cents": "12"}), "credit_price_cents"),
            (json!({"smtp_tls": "ssl"}), "smtp_tls"),
            (
                json!({"elevenlabs_webhook_secrets": ["a", "b", "c"]}),
                "elevenlabs_webhook_secrets",
            ),
            (
                json!({"database_url": "postgres://elsewhere"}),
                "database_url",
            ),
            (
                json!({"credit_price_cents": 20, "purchase_min_credits": 500, "purchase_max_credits": 100}),
                "purchase_max_credits",
            ),
            (json!({"smtp_username": "mailer"}), "smtp_password"),
        ] {
            let body =
                expect_error(patch(&app, &root, values).await, 400, "validation_error").await;
            assert!(body["error"]["details"][field].is_string(), "{}", body);
        }
        expect_error(patch(&app, &root, json!({})).await, 400, "validation_error").await;
        let unchanged: Value = app
            .get("/api/admin/settings", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(unchanged, before, "a refused change changes nothing");

        // A valid change: secrets come back masked and are sealed at rest.
        let changed = patch(
            &app,
            &root,
            json!({
                "stripe_secret_key": STRIPE_KEY,
                "elevenlabs_webhook_secrets": [SECRET, ROTATED],
                "credit_price_cents": 25,
                "purchase_min_credits": 10,
            }),
        )
        .await;
        assert_eq!(changed.status(), 200);
        let text = changed.text().await.unwrap();
        assert!(
            !text.contains(STRIPE_KEY) && !text.contains(ROTATED),
            "{text}"
        );
        let changed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(setting(&changed, "stripe_secret_key")["value"], "sk_…0042");
        assert_eq!(setting(&changed, "stripe_secret_key")["source"], "stored");
        assert_eq!(setting(&changed, "credit_price_cents")["value"], 25);
        use sea_orm::EntityTrait;
        for row in system_config::Entity::find()
            .all(&app.services.db)
            .await
            .unwrap()
        {
            assert!(!row.value.contains(STRIPE_KEY) && !row.value.contains(ROTATED));
        }

        // In force at once: the price users see, and both webhook secrets (a rotation).
        let pricing: Value = app
            .get("/api/billing/pricing", Some(&member))
            .await
            .success_json()
            .await;
        let pricing = &pricing["data"];
        assert_eq!(pricing["creditPriceCents"], 25);
        assert_eq!(pricing["pricePerCredit"], 0.25);
        assert_eq!(pricing["minimumPurchase"], 10);
        assert_eq!(pricing["available"], true);
        let session = register(&app, "owner@example.com").await;
        let owner: Uuid = session["user"]["id"].as_str().unwrap().parse().unwrap();
        post_call::insert_agent(&app, owner, EL_AGENT).await;
        let event = post_call::transcription(EL_AGENT, "conv_rotated");
        let signed = post_call::signature(ROTATED, &event.to_string());
        assert_eq!(
            post_call::deliver(&app, &event, Some(signed))
                .await
                .status(),
            200
        );

        // The audit log has the change, secrets masked.
        let log = app
            .get("/api/admin/audit?action=settings.changed", Some(&root))
            .await
            .text()
            .await
            .unwrap();
        assert!(!log.contains(STRIPE_KEY) && !log.contains(ROTATED), "{log}");
        let log: Value = serde_json::from_str(&log).unwrap();
        assert_eq!(log["pagination"]["total"], 1);
        let entry = &log["data"][0];
        assert_eq!(entry["details"]["before"]["stripe_secret_key"], Value::Null);
        assert_eq!(entry["details"]["after"]["stripe_secret_key"], "sk_…0042");
        assert_eq!(entry["details"]["before"]["credit_price_cents"], 10);
        assert_eq!(entry["details"]["after"]["credit_price_cents"], 25);

        // `null` returns a setting to its start-up value; only the old secret works again.
        let reset = patch(
            &app,
            &root,
            json!({"credit_price_cents": null, "elevenlabs_webhook_secrets": null}),
        )
        .await;
        let reset: Value = reset.expect_json(200).await;
        assert_eq!(setting(&reset, "credit_price_cents")["value"], 10);
        assert_eq!(setting(&reset, "credit_price_cents")["source"], "startup");
        let event = post_call::transcription(EL_AGENT, "conv_rotated_out");
        let signed = post_call::signature(ROTATED, &event.to_string());
        expect_error(
            post_call::deliver(&app, &event, Some(signed)).await,
            401,
            "invalid_signature",
        )
        .await;

        // Members cannot read or change settings.
        expect_error(
            app.get("/api/admin/settings", Some(&member)).await,
            403,
            "admin_required",
        )
        .await;
    }
);

/// Starts `cmd` and collects everything it writes to stdout and stderr until it exits.
fn start_captured(
    mut cmd: tokio::process::Command,
) -> (tokio::process::Child, tokio::task::JoinHandle<String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let output = tokio::spawn(async move {
        let (mut out, mut err) = (String::new(), String::new());
        let _ = tokio::join!(
            stdout.read_to_string(&mut out),
            stderr.read_to_string(&mut err)
        );
        out + &err
    });
    (child, output)
}

/// A gateway and a worker, each its own OS process logging at debug level: an admin changes
/// settings through the gateway, the running worker applies them (the low-balance threshold
/// and the SMTP relay), and no secret appears in either process's output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_worker_applies_changes_and_no_secret_is_logged() {
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::None, |c| {
        c.settings.encryption_key = Some(ENCRYPTION_KEY.into());
        c.elevenlabs.webhook_secrets = vec![SECRET.into()];
        c.settings.refresh_ms = 200;
    })
    .await;
    let second_relay = tests::smtp::SmtpSink::start().await;
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut gateway = app.command(env!("CARGO_BIN_EXE_test-api"));
    gateway
        .env("PORT", port.to_string())
        .env("EMBEDDED_WORKER", "false")
        .env("LOG_LEVEL", "debug")
        .env("LOG_FORMAT", "json");
    let (gateway, gateway_log) = start_captured(gateway);
    let mut worker = app.command(env!("CARGO_BIN_EXE_test-worker"));
    worker.env("LOG_LEVEL", "debug").env("LOG_FORMAT", "json");
    let (worker, worker_log) = start_captured(worker);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{base}/ready")).send().await
            && r.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the gateway process answers");

    let root = admin(&app, "root@example.com").await;
    let session = register(&app, "owner@example.com").await;
    let owner: Uuid = session["user"]["id"].as_str().unwrap().parse().unwrap();
    post_call::insert_agent(&app, owner, EL_AGENT).await;
    // Let the worker load the start-up settings before they change.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let changed = client
        .patch(format!("{base}/api/admin/settings"))
        .bearer_auth(&root)
        .json(&json!({"values": {
            "stripe_secret_key": STRIPE_KEY,
            "elevenlabs_webhook_secrets": [SECRET, ROTATED],
            "low_balance_threshold": 13,
            "smtp_port": second_relay.port(),
        }}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    // Other processes see a change within their refresh interval (200 ms here); a job that
    // starts sooner may still run under the old settings, which is the documented bound.
    tokio::time::sleep(Duration::from_millis(600)).await;

    // 15 credits − 3 crosses 13 only under the new threshold; the warning goes to the new relay.
    let event = post_call::transcription(EL_AGENT, "conv_worker_settings");
    let body = event.to_string();
    let delivered = client
        .post(format!("{base}/webhooks/elevenlabs"))
        .header("content-type", "application/json")
        .header("elevenlabs-signature", post_call::signature(ROTATED, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(delivered.status(), 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !second_relay.received().iter().any(|m| {
        m.header("Subject")
            .is_some_and(|s| s.contains("running low"))
    }) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker sent the warning through the new relay"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    for mut child in [gateway, worker] {
        child.kill().await.unwrap();
    }
    app.stop().await;
    for (name, log) in [("gateway", gateway_log), ("worker", worker_log)] {
        let log = tokio::time::timeout(Duration::from_secs(10), log)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_else(|| panic!("{name} output"));
        assert!(
            log.contains("settings changed"),
            "{name} logged the change: {log}"
        );
        // Structured lines name the request and its user, or the job.
        let named: &[&str] = if name == "gateway" {
            &["\"request_id\"", "\"user_id\""]
        } else {
            &["\"job_id\"", "\"kind\""]
        };
        for field in named {
            assert!(
                log.lines().any(|l| l.starts_with('{') && l.contains(field)),
                "{name} logs carry {field}"
            );
        }
        for secret in [STRIPE_KEY, ROTATED, SECRET, ENCRYPTION_KEY] {
            assert!(!log.contains(secret), "{name} logged a secret");
        }
    }
}

/// Rotating `CONFIG_ENCRYPTION_KEY`: values sealed under the old key keep working while it is
/// listed in `CONFIG_ENCRYPTION_PREVIOUS_KEYS`, and `api reencrypt-settings` seals them under
/// the new key so the old one can go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_encryption_key_can_be_rotated() {
    const NEW_KEY: &str = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::InProcess, |c| {
        c.settings.encryption_key = Some(ENCRYPTION_KEY.into());
    })
    .await;
    let root = admin(&app, "root@example.com").await;
    let stored = patch(&app, &root, json!({"stripe_secret_key": STRIPE_KEY})).await;
    assert_eq!(stored.status(), 200);

    let mut rotated = app.config().clone();
    rotated.settings.encryption_key = Some(NEW_KEY.into());
    let only_new = |rows: &[system_config::Model]| {
        rows.iter()
            .map(|row| shared::platform::system_config::decode(&rotated, row).ok())
            .collect::<Vec<_>>()
    };
    use sea_orm::EntityTrait;
    let rows = system_config::Entity::find()
        .all(&app.services.db)
        .await
        .unwrap();
    assert_eq!(
        only_new(&rows),
        [None],
        "the new key alone cannot open the old value"
    );

    let out = app
        .command(env!("CARGO_BIN_EXE_test-api"))
        .env("CONFIG_ENCRYPTION_KEY", NEW_KEY)
        .env("CONFIG_ENCRYPTION_PREVIOUS_KEYS", ENCRYPTION_KEY)
        .arg("reencrypt-settings")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 stored secrets"));
    let rows = system_config::Entity::find()
        .all(&app.services.db)
        .await
        .unwrap();
    assert_eq!(only_new(&rows), [Some(json!(STRIPE_KEY))]);
    let combined = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!combined.contains(STRIPE_KEY));
}
