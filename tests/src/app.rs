//! `TestApp`: a gateway on port 0 with its own database, queue prefix, data directory and
//! SMTP sink, and a worker in-process, in a separate OS process, or not at all.

use std::{process::Stdio, sync::Once, time::Duration};

use sea_orm::{ConnectionTrait, Database};
use shared::{
    Config, Services,
    platform::config::{Limits, MailTransport, SmtpTls},
    platform::jobs,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::smtp::SmtpSink;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL + Redis: the production shape.
    Postgres,
    /// The embedded default: SQLite with the queue in the same file.
    Sqlite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerMode {
    /// The worker runs inside the gateway process (as in the embedded default).
    InProcess,
    /// The gateway only enqueues; tests start workers themselves.
    None,
}

fn test_pg_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5433/postgres".into())
}

pub fn test_redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6380".into())
}

fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        shared::platform::telemetry::install_crypto_provider();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(shared::platform::telemetry::log_filter(
                &std::env::var("TEST_LOG").unwrap_or_else(|_| "warn".into()),
            ))
            .with_test_writer()
            .try_init();
    });
}

/// Creates an empty PostgreSQL database and returns its URL.
async fn fresh_pg_database() -> String {
    let admin_url = test_pg_url();
    let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {admin_url} is not reachable ({e}); run scripts/services.sh start")
    });
    let name = format!("sb_test_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let (base, _) = admin_url.rsplit_once('/').expect("database URL has a path");
    format!("{base}/{name}")
}

/// A configuration for one test: fast sweeps and backoff so retries finish in milliseconds.
pub async fn test_config(backend: Backend, dir: &std::path::Path, smtp: &SmtpSink) -> Config {
    let mut config = Config::default();
    config.server.data_dir = dir.to_path_buf();
    config.server.max_body_bytes = 64 * 1024;
    config.server.public_base_url = "http://switchboard.test".into();
    let jobs = &mut config.jobs;
    jobs.queue_prefix = format!("sbtest_{}", uuid::Uuid::new_v4().simple());
    jobs.worker_name = "test-worker".into();
    jobs.sweeper_interval_ms = 100;
    jobs.queue_poll_interval_ms = 50;
    jobs.backoff_base_ms = 100;
    jobs.backoff_max_secs = 2;
    jobs.redeliver_after_secs = 1;
    jobs.max_attempts = 3;
    jobs.timeout_secs = 10;
    jobs.lease_secs = 30;
    jobs.shutdown_timeout_secs = 5;
    let mail = &mut config.mail;
    mail.transport = MailTransport::Smtp;
    mail.smtp_host = Some("127.0.0.1".into());
    mail.smtp_port = smtp.port();
    mail.smtp_tls = SmtpTls::None;
    mail.smtp_timeout_secs = 5;
    // Generous: tests of the limits lower them explicitly.
    config.limits = Limits {
        auth_rate_per_ip_per_min: 10_000,
        auth_rate_per_email_per_min: 1_000,
        api_rate_per_ip_per_min: 1_000_000,
        api_rate_per_user_per_min: 1_000_000,
        upload_rate_per_min: 10_000,
        ..Limits::default()
    };
    config.auth.jwt_secret = Some(format!("test-secret-{}", uuid::Uuid::new_v4().simple()).into());
    match backend {
        Backend::Postgres => {
            config.database.url = fresh_pg_database().await;
            config.jobs.redis_url = Some(test_redis_url());
        }
        Backend::Sqlite => {
            config.database.url = format!("sqlite://{}/switchboard.db?mode=rwc", dir.display());
        }
    }
    config
}

pub struct TestApp {
    pub backend: Backend,
    /// `http://127.0.0.1:<port>`
    pub address: String,
    pub client: reqwest::Client,
    pub services: Services,
    pub smtp: SmtpSink,
    shutdown: CancellationToken,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, WorkerMode::InProcess, |_| {}).await
    }

    /// Starts a gateway whose configuration `tweak` may adjust first.
    pub async fn spawn_with(
        backend: Backend,
        worker: WorkerMode,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        Self::spawn_at("127.0.0.1:0", backend, worker, tweak).await
    }

    /// `spawn_with`, listening on `bind` (the browser suite's frontend is built for one port).
    pub async fn spawn_at(
        bind: &str,
        backend: Backend,
        worker: WorkerMode,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        init();
        let dir = tempfile::tempdir().expect("temp dir");
        let smtp = SmtpSink::start().await;
        let mut config = test_config(backend, dir.path(), &smtp).await;
        config.jobs.embedded_worker = Some(worker == WorkerMode::InProcess);
        tweak(&mut config);
        config.validate().expect("test configuration is valid");
        let services = shared::startup::start(config, true)
            .await
            .expect("services start");
        let listener = tokio::net::TcpListener::bind(bind).await.expect("bind");
        let address = format!("http://{}", listener.local_addr().expect("addr"));
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(api::serve(services.clone(), listener, shutdown.clone()));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        TestApp {
            backend,
            address,
            client,
            services,
            smtp,
            shutdown,
            server: Some(server),
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// POSTs JSON, with a bearer token when given.
    pub async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
        token: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self.client.post(self.url(path)).json(&body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.expect("request sent")
    }

    /// GETs with a bearer token when given.
    /// Any method, with an optional JSON body and token.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
        token: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(body) = body {
            req = req.json(&body);
        }
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.expect("request sent")
    }

    pub fn config(&self) -> &Config {
        &self.services.config
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Waits until no job is queued or running. Polls the jobs table (the source of truth);
    /// panics after `timeout` with what is still pending.
    pub async fn wait_for_jobs(&self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let pending = jobs::pending_count(&self.services.db)
                .await
                .expect("count jobs");
            if pending == 0 {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("{pending} job(s) still pending after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts a worker inside this test process with its own shutdown token.
    pub fn start_worker_in_process(&self) -> (CancellationToken, JoinHandle<anyhow::Result<()>>) {
        let state = worker::WorkerState::new(self.services.clone()).expect("worker state");
        let token = CancellationToken::new();
        let handle = tokio::spawn(worker::run(state, token.clone()));
        (token, handle)
    }

    /// A command for one of the project's binaries, configured exactly like this app (its
    /// database, queue prefix, mail settings). Only integration tests can name the binaries,
    /// e.g. `env!("CARGO_BIN_EXE_test-worker")`.
    pub fn command(&self, binary: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(binary);
        for (key, value) in config_env(self.config()) {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        cmd.env_remove("SWITCHBOARD_CONFIG")
            .env("AUTO_MIGRATE", "false")
            .env(
                "LOG_LEVEL",
                std::env::var("TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Starts the real worker binary as a separate OS process with this app's configuration.
    pub fn start_worker_process(&self, binary: &str) -> WorkerProcess {
        WorkerProcess {
            child: self.command(binary).spawn().expect("spawn worker process"),
        }
    }

    /// Stops the gateway (and its embedded worker) gracefully.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The configuration as the environment variables a separate process would read.
pub fn config_env(config: &Config) -> Vec<(String, Option<String>)> {
    config
        .to_flat()
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s),
                serde_json::Value::Array(items) => Some(
                    items
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .map(String::from)
                                .unwrap_or_else(|| v.to_string())
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                other => Some(other.to_string()),
            };
            (key.to_ascii_uppercase(), value)
        })
        .collect()
}

/// A worker running as its own OS process; killed when dropped.
pub struct WorkerProcess {
    child: tokio::process::Child,
}

impl WorkerProcess {
    pub fn pid(&self) -> u32 {
        self.child.id().expect("worker running")
    }

    /// SIGKILL: the process dies wherever it is, as in a crash or an OOM kill.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL");
        let _ = self.child.wait().await;
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.pid();
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill");
        tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("worker exits after SIGTERM")
            .expect("wait")
    }
}
