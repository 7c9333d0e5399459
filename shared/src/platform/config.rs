//! The one typed configuration. Built-in defaults (the embedded mode), then an optional TOML
//! file (`SWITCHBOARD_CONFIG`), then environment variables; secrets may also come from
//! `<NAME>_FILE`. This is the only module that reads the process environment.

use std::{path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Deserializer, Serialize};

pub use super::secret::Secret;

/// The shortest access-token lifetime the client's frontend can live with (it refreshes once
/// fewer than 300 s are left).
pub const MIN_ACCESS_TOKEN_TTL_SECS: u64 = 330;

/// Variables whose value may instead be read from the file named by `<NAME>_FILE`.
const SECRET_VARS: &[&str] = &[
    "DATABASE_URL",
    "REDIS_URL",
    "SMTP_PASSWORD",
    "JWT_SECRET",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "ELEVENLABS_API_KEY",
    "ELEVENLABS_WEBHOOK_SECRETS",
    "CONFIG_ENCRYPTION_KEY",
    "CONFIG_ENCRYPTION_PREVIOUS_KEYS",
    "GOOGLE_CLIENT_SECRET",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address the gateway listens on.
    pub host: String,
    pub port: u16,
    /// Serve `/metrics` on this port only (same host) instead of the API port.
    pub metrics_port: Option<u16>,
    /// Base URL under which the gateway is reachable from outside (links in emails).
    pub public_base_url: String,
    /// Directory for the embedded database, the mail outbox and other local files.
    pub data_dir: PathBuf,
    /// `sqlite://…` (embedded default) or `postgres://…`.
    pub database_url: String,
    pub database_max_connections: u32,
    /// Apply pending migrations at start-up (serialised across replicas on PostgreSQL).
    pub auto_migrate: bool,
    /// When set, jobs go through Redis and separate `worker` processes consume them.
    pub redis_url: Option<String>,
    /// Prefix of every queue name, so several deployments (or tests) can share one Redis.
    pub queue_prefix: String,
    /// Run the worker inside the gateway process. Defaults to true without `REDIS_URL`.
    pub embedded_worker: Option<bool>,
    pub worker_name: String,
    pub worker_concurrency: usize,
    /// How often an idle worker asks the queue for new messages.
    pub queue_poll_interval_ms: u64,
    pub job_max_attempts: i32,
    pub job_backoff_base_ms: u64,
    pub job_backoff_max_secs: u64,
    /// How long a claimed job may run before another worker may take it over.
    pub job_lease_secs: u64,
    pub job_timeout_secs: u64,
    pub sweeper_interval_ms: u64,
    /// A queued job whose doorbell rang this long ago without being picked up is rung again.
    pub job_redeliver_after_secs: u64,
    pub shutdown_timeout_secs: u64,
    /// `pretty` or `json`.
    pub log_format: LogFormat,
    pub log_level: String,
    #[serde(deserialize_with = "comma_list")]
    pub cors_origins: Vec<String>,
    pub max_body_bytes: usize,
    /// `file` (embedded default: messages written under `<data_dir>/outbox/`) or `smtp`.
    pub mail_transport: MailTransport,
    pub mail_from: String,
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<Secret>,
    /// `starttls` (default), `tls` or `none` (only for a local relay).
    pub smtp_tls: SmtpTls,
    pub smtp_timeout_secs: u64,
    /// Where the web frontend lives (links in emails that the frontend handles).
    pub frontend_url: String,
    /// `builtin` (email + password accounts, the default) or `stack_auth`.
    pub auth_mode: AuthMode,
    /// HMAC key for access tokens (at least 32 characters). Unset in the embedded mode: a
    /// random key is generated once and kept in `<DATA_DIR>/jwt-secret`.
    pub jwt_secret: Option<Secret>,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// Seconds during which a spent refresh token presented again gets the same new pair
    /// instead of revoking the session (the frontend refreshes in parallel).
    pub refresh_reuse_grace_secs: u64,
    pub verification_token_ttl_secs: u64,
    pub reset_token_ttl_secs: u64,
    /// Consecutive failed logins that lock an account, and for how long.
    pub login_max_failures: i32,
    pub login_lock_secs: u64,
    pub password_min_length: usize,
    /// Credits granted once to every new user.
    pub free_credits: i64,
    /// Emails promoted to admin when their account is created or next authenticates.
    #[serde(deserialize_with = "comma_list")]
    pub admin_emails: Vec<String>,
    /// Requests per minute per client IP, and per email address, on sign-in endpoints.
    pub auth_rate_per_ip_per_min: u32,
    pub auth_rate_per_email_per_min: u32,
    /// Requests per minute to the rest of the API: per client IP, and per signed-in session.
    pub api_rate_per_ip_per_min: u32,
    pub api_rate_per_user_per_min: u32,
    /// Contact-file uploads per minute per session (or IP).
    pub upload_rate_per_min: u32,
    /// Provider webhook deliveries per minute per client IP.
    pub webhook_rate_per_ip_per_min: u32,
    /// Seconds a request may take before the gateway answers 503 (streams excepted).
    pub request_timeout_secs: u64,
    /// Send `Strict-Transport-Security` (only behind TLS).
    pub hsts: bool,
    /// Google sign-in (OAuth 2 authorization code): on when both are set.
    pub google_client_id: Option<String>,
    pub google_client_secret: Option<Secret>,
    /// Google's endpoints; changed only to point tests at a fake.
    pub google_auth_url: String,
    pub google_token_url: String,
    pub google_userinfo_url: String,
    /// Stack Auth project (with `AUTH_MODE=stack_auth`).
    pub stack_project_id: Option<String>,
    /// Defaults to Stack Auth's JWKS URL for the project.
    pub stack_jwks_url: Option<String>,
    /// Defaults to `https://api.stack-auth.com/api/v1/projects/<project id>`.
    pub stack_issuer: Option<String>,
    /// Least time between two JWKS fetches triggered by unknown key ids.
    pub stack_jwks_min_refetch_secs: u64,
    /// Stripe secret key (`sk_…`); purchases answer 503 without it.
    pub stripe_secret_key: Option<Secret>,
    /// Signing secret of the Stripe webhook endpoint (`whsec_…`).
    pub stripe_webhook_secret: Option<Secret>,
    /// Stripe's API (tests point it at a fake).
    pub stripe_api_base: String,
    /// Price of one credit in the currency's minor unit (cents).
    pub credit_price_cents: i64,
    /// ISO 4217 currency of purchases, lower case.
    pub credit_currency: String,
    pub purchase_min_credits: i64,
    pub purchase_max_credits: i64,
    /// Where Checkout sends the buyer after paying or cancelling.
    pub checkout_success_url: Option<String>,
    pub checkout_cancel_url: Option<String>,
    /// ElevenLabs API key (`xi-api-key`); agent and call endpoints answer 503 without it.
    pub elevenlabs_api_key: Option<Secret>,
    pub elevenlabs_api_base: String,
    pub elevenlabs_timeout_secs: u64,
    /// Attempts per idempotent request (408/409/429/5xx and connection errors are retried).
    pub elevenlabs_max_attempts: u32,
    pub elevenlabs_backoff_base_ms: u64,
    /// Longest `Retry-After` honoured before giving up and passing the 429 on.
    pub elevenlabs_max_retry_after_secs: u64,
    /// How chat conversations use credits: `per_minute` (like calls, the default),
    /// `per_conversation` (one credit each) or `free`.
    pub chat_billing: ChatBilling,
    /// Outbound calls a user may have in flight (`initiated` or `in_progress`) at once.
    pub max_concurrent_calls: u64,
    /// Secrets of the ElevenLabs post-call webhook; two may be listed during a rotation.
    #[serde(deserialize_with = "comma_list")]
    pub elevenlabs_webhook_secrets: Vec<Secret>,
    /// A call still `initiated`/`in_progress` this long after its last change is looked up on
    /// ElevenLabs (its webhook may have been lost).
    pub call_reconcile_after_secs: u64,
    /// Base64 of 32 random bytes: the AES-256-GCM key that encrypts secrets admins store in
    /// `system_config` (e.g. `openssl rand -base64 32`). Without it, such secrets cannot be set.
    pub config_encryption_key: Option<Secret>,
    /// Keys used before a rotation of `CONFIG_ENCRYPTION_KEY`: values they sealed still open
    /// until `api reencrypt-settings` seals them under the current key.
    #[serde(deserialize_with = "comma_list")]
    pub config_encryption_previous_keys: Vec<Secret>,
    /// How often each process re-reads the settings admins change at run time: a change
    /// reaches every gateway and worker replica within this time.
    pub settings_refresh_ms: u64,
    /// A balance dropping to this many credits or fewer triggers one low-balance email.
    pub low_balance_threshold: i64,
    /// Where files (call recordings, large webhook bodies) are kept; default `<data_dir>/files`.
    /// Gateways and workers must share it (one volume) when they run on several hosts.
    pub storage_dir: Option<PathBuf>,
    /// Largest ElevenLabs webhook body accepted (`post_call_audio` carries the whole call).
    pub recording_max_bytes: usize,
    /// Most contacts one import file may hold; a larger file imports nothing.
    pub import_max_rows: usize,
    /// Largest import file accepted.
    pub import_max_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    Builtin,
    StackAuth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatBilling {
    PerMinute,
    PerConversation,
    Free,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    File,
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    Starttls,
    Tls,
    None,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 3000,
            metrics_port: None,
            public_base_url: "http://localhost:3000".into(),
            data_dir: PathBuf::from("./data"),
            database_url: "sqlite://./data/switchboard.db?mode=rwc".into(),
            database_max_connections: 10,
            auto_migrate: true,
            redis_url: None,
            queue_prefix: "switchboard".into(),
            embedded_worker: None,
            worker_name: "worker".into(),
            worker_concurrency: 4,
            queue_poll_interval_ms: 250,
            job_max_attempts: 5,
            job_backoff_base_ms: 2_000,
            job_backoff_max_secs: 3_600,
            job_lease_secs: 300,
            job_timeout_secs: 120,
            sweeper_interval_ms: 5_000,
            job_redeliver_after_secs: 60,
            shutdown_timeout_secs: 30,
            log_format: LogFormat::Pretty,
            log_level: "info".into(),
            cors_origins: vec!["http://localhost:8080".into()],
            max_body_bytes: 1024 * 1024,
            mail_transport: MailTransport::File,
            mail_from: "Switchboard <no-reply@switchboard.local>".into(),
            smtp_host: None,
            smtp_port: 587,
            smtp_username: None,
            smtp_password: None,
            smtp_tls: SmtpTls::Starttls,
            smtp_timeout_secs: 10,
            frontend_url: "http://localhost:8080".into(),
            auth_mode: AuthMode::Builtin,
            jwt_secret: None,
            access_token_ttl_secs: 900,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            refresh_reuse_grace_secs: 30,
            verification_token_ttl_secs: 48 * 3600,
            reset_token_ttl_secs: 3600,
            login_max_failures: 3,
            login_lock_secs: 900,
            // The frontend's own sign-up rule; common passwords are refused besides.
            password_min_length: 8,
            free_credits: 15,
            admin_emails: Vec::new(),
            auth_rate_per_ip_per_min: 20,
            auth_rate_per_email_per_min: 5,
            api_rate_per_ip_per_min: 1_200,
            api_rate_per_user_per_min: 600,
            upload_rate_per_min: 20,
            webhook_rate_per_ip_per_min: 120_000,
            request_timeout_secs: 30,
            hsts: false,
            google_client_id: None,
            google_client_secret: None,
            google_auth_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            google_token_url: "https://oauth2.googleapis.com/token".into(),
            google_userinfo_url: "https://openidconnect.googleapis.com/v1/userinfo".into(),
            stack_project_id: None,
            stack_jwks_url: None,
            stack_issuer: None,
            stack_jwks_min_refetch_secs: 60,
            stripe_secret_key: None,
            stripe_webhook_secret: None,
            stripe_api_base: "https://api.stripe.com/".into(),
            credit_price_cents: 10,
            credit_currency: "usd".into(),
            purchase_min_credits: 50,
            purchase_max_credits: 100_000,
            checkout_success_url: None,
            checkout_cancel_url: None,
            elevenlabs_api_key: None,
            elevenlabs_api_base: "https://api.elevenlabs.io".into(),
            elevenlabs_timeout_secs: 20,
            elevenlabs_max_attempts: 3,
            elevenlabs_backoff_base_ms: 500,
            elevenlabs_max_retry_after_secs: 60,
            chat_billing: ChatBilling::PerMinute,
            max_concurrent_calls: 5,
            elevenlabs_webhook_secrets: Vec::new(),
            call_reconcile_after_secs: 1800,
            config_encryption_key: None,
            config_encryption_previous_keys: Vec::new(),
            settings_refresh_ms: 2_000,
            low_balance_threshold: 5,
            storage_dir: None,
            recording_max_bytes: 50 * 1024 * 1024,
            import_max_rows: 1_000,
            import_max_bytes: 10 * 1024 * 1024,
        }
    }
}

/// A configuration that cannot be used; the message names the variable to fix.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

/// Whether a URL setting names an HTTP(S) address.
fn is_http(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// A configuration error naming its variable.
fn bad(var: &str, why: &str) -> Result<(), ConfigError> {
    Err(ConfigError(format!("{var}: {why}")))
}

impl Config {
    /// Loads defaults, then `SWITCHBOARD_CONFIG` (a TOML file, if set), then the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Ok(path) = std::env::var("SWITCHBOARD_CONFIG") {
            if !std::path::Path::new(&path).is_file() {
                return Err(ConfigError(format!(
                    "SWITCHBOARD_CONFIG: file {path} does not exist"
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        let keys: Vec<String> = Config::default_keys();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        figment = figment.merge(Env::raw().only(&keys));
        for var in SECRET_VARS {
            let file_var = format!("{var}_FILE");
            if let Ok(path) = std::env::var(&file_var) {
                let value = std::fs::read_to_string(&path)
                    .map_err(|e| ConfigError(format!("{file_var}: cannot read {path}: {e}")))?;
                figment = figment.merge((var.to_ascii_lowercase(), value.trim_end().to_string()));
            }
        }
        let config: Config = figment.extract().map_err(|errors| {
            let Some(e) = errors.into_iter().next() else {
                return ConfigError("unknown error".into());
            };
            // Figment names the key in lower case; operators set the upper-case variable.
            let var = e.path.join("_").to_ascii_uppercase();
            ConfigError(format!("{var}: {}", e.kind))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Every configurable key, upper-cased as its environment variable.
    fn default_keys() -> Vec<String> {
        match serde_json::to_value(Config::default()) {
            Ok(serde_json::Value::Object(map)) => {
                map.keys().map(|k| k.to_ascii_uppercase()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Checks what types alone cannot; each message names the variable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_server()?;
        self.check_database()?;
        self.check_jobs()?;
        self.check_uploads()?;
        self.check_mail()?;
        self.check_auth()?;
        self.check_billing()?;
        self.check_elevenlabs()?;
        self.check_stored_settings()?;
        Ok(())
    }

    /// The HTTP side: listening, origins and links, body size, rate limits, timeouts.
    fn check_server(&self) -> Result<(), ConfigError> {
        if self.port == 0 {
            return bad("PORT", "must be between 1 and 65535");
        }
        if self.max_body_bytes == 0 {
            return bad("MAX_BODY_BYTES", "must be at least 1");
        }
        for origin in &self.cors_origins {
            if !is_http(origin) {
                return bad(
                    "CORS_ORIGINS",
                    "each origin must start with http:// or https://",
                );
            }
        }
        for (var, url) in [
            ("PUBLIC_BASE_URL", &self.public_base_url),
            ("FRONTEND_URL", &self.frontend_url),
        ] {
            if !is_http(url) {
                return bad(var, "must start with http:// or https://");
            }
        }
        for (name, rate) in [
            ("AUTH_RATE_PER_IP_PER_MIN", self.auth_rate_per_ip_per_min),
            (
                "AUTH_RATE_PER_EMAIL_PER_MIN",
                self.auth_rate_per_email_per_min,
            ),
            ("API_RATE_PER_IP_PER_MIN", self.api_rate_per_ip_per_min),
            ("API_RATE_PER_USER_PER_MIN", self.api_rate_per_user_per_min),
            ("UPLOAD_RATE_PER_MIN", self.upload_rate_per_min),
            (
                "WEBHOOK_RATE_PER_IP_PER_MIN",
                self.webhook_rate_per_ip_per_min,
            ),
        ] {
            if rate == 0 {
                return bad(name, "rate limits must be at least 1");
            }
        }
        if self.request_timeout_secs == 0 {
            return bad("REQUEST_TIMEOUT_SECS", "must be at least 1");
        }
        Ok(())
    }

    /// The database and the queue's Redis.
    fn check_database(&self) -> Result<(), ConfigError> {
        if !(self.is_sqlite() || self.is_postgres()) {
            return bad("DATABASE_URL", "must start with sqlite:// or postgres://");
        }
        if let Some(url) = &self.redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return bad("REDIS_URL", "must start with redis:// or rediss://");
        }
        if self.is_postgres() && self.redis_url.is_none() {
            return bad(
                "REDIS_URL",
                "is required with a PostgreSQL DATABASE_URL (the embedded queue lives in SQLite)",
            );
        }
        if self.database_max_connections == 0 {
            return bad("DATABASE_MAX_CONNECTIONS", "must be at least 1");
        }
        Ok(())
    }

    /// The job pipeline: queue names, workers, retries, leases, the sweeper.
    fn check_jobs(&self) -> Result<(), ConfigError> {
        if self.queue_prefix.is_empty() || self.queue_prefix.contains(char::is_whitespace) {
            return bad("QUEUE_PREFIX", "must be a non-empty word");
        }
        if self.worker_concurrency == 0 {
            return bad("WORKER_CONCURRENCY", "must be at least 1");
        }
        if self.queue_poll_interval_ms == 0 {
            return bad("QUEUE_POLL_INTERVAL_MS", "must be at least 1");
        }
        if self.job_max_attempts < 1 {
            return bad("JOB_MAX_ATTEMPTS", "must be at least 1");
        }
        if self.job_lease_secs <= self.job_timeout_secs {
            return bad("JOB_LEASE_SECS", "must be longer than JOB_TIMEOUT_SECS");
        }
        if self.sweeper_interval_ms == 0 {
            return bad("SWEEPER_INTERVAL_MS", "must be at least 1");
        }
        Ok(())
    }

    /// Imports and recordings.
    fn check_uploads(&self) -> Result<(), ConfigError> {
        if self.import_max_rows == 0 {
            return bad("IMPORT_MAX_ROWS", "must be at least 1");
        }
        if self.import_max_bytes == 0 {
            return bad("IMPORT_MAX_BYTES", "must be at least 1");
        }
        if self.recording_max_bytes < self.max_body_bytes {
            return bad("RECORDING_MAX_BYTES", "must be at least MAX_BODY_BYTES");
        }
        Ok(())
    }

    /// Outgoing mail.
    fn check_mail(&self) -> Result<(), ConfigError> {
        if self.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return bad(
                "MAIL_FROM",
                "must be an address like `Name <user@example.com>`",
            );
        }
        if self.mail_transport == MailTransport::Smtp && self.smtp_host.is_none() {
            return bad("SMTP_HOST", "is required when MAIL_TRANSPORT=smtp");
        }
        if self.smtp_username.is_some() != self.smtp_password.is_some() {
            return bad(
                "SMTP_PASSWORD",
                "SMTP_USERNAME and SMTP_PASSWORD must be set together",
            );
        }
        Ok(())
    }

    /// Sign-in: the token key and lifetimes, lockout, passwords, free credits, Stack Auth.
    fn check_auth(&self) -> Result<(), ConfigError> {
        match &self.jwt_secret {
            Some(secret) if secret.expose().len() < 32 => {
                return bad("JWT_SECRET", "must be at least 32 characters");
            }
            None if self.is_postgres() && self.auth_mode == AuthMode::Builtin => {
                return bad(
                    "JWT_SECRET",
                    "is required with PostgreSQL (every gateway replica must share it)",
                );
            }
            _ => {}
        }
        if self.refresh_token_ttl_secs == 0 {
            return bad("REFRESH_TOKEN_TTL_SECS", "token lifetimes must be positive");
        }
        // The client's frontend refreshes before every request once a token has less than
        // five minutes left; a shorter lifetime sends it into a refresh loop that its own
        // request limiter ends by signing the user out (seen in the browser suite).
        if self.access_token_ttl_secs < MIN_ACCESS_TOKEN_TTL_SECS {
            return bad(
                "ACCESS_TOKEN_TTL_SECS",
                "must be at least 330: the frontend refreshes tokens with under 5 minutes left",
            );
        }
        if self.login_max_failures < 1 {
            return bad("LOGIN_MAX_FAILURES", "must be at least 1");
        }
        if self.password_min_length < 8 {
            return bad("PASSWORD_MIN_LENGTH", "must be at least 8");
        }
        if self.free_credits < 0 {
            return bad("FREE_CREDITS", "must not be negative");
        }
        if self.auth_mode == AuthMode::StackAuth && self.stack_project_id.is_none() {
            return bad("STACK_PROJECT_ID", "is required when AUTH_MODE=stack_auth");
        }
        Ok(())
    }

    /// Prices, purchase bounds and the Stripe keys.
    fn check_billing(&self) -> Result<(), ConfigError> {
        if self.credit_price_cents < 1 {
            return bad("CREDIT_PRICE_CENTS", "must be at least 1");
        }
        if self.credit_currency.len() != 3
            || !self.credit_currency.chars().all(|c| c.is_ascii_lowercase())
        {
            return bad(
                "CREDIT_CURRENCY",
                "must be a lower-case ISO 4217 code such as usd",
            );
        }
        if self.purchase_min_credits < 1 || self.purchase_max_credits < self.purchase_min_credits {
            return bad(
                "PURCHASE_MAX_CREDITS",
                "must be at least PURCHASE_MIN_CREDITS, itself at least 1",
            );
        }
        if let Some(key) = &self.stripe_secret_key
            && !(key.expose().starts_with("sk_") || key.expose().starts_with("rk_"))
        {
            return bad("STRIPE_SECRET_KEY", "must be a Stripe secret key (sk_…)");
        }
        if let Some(secret) = &self.stripe_webhook_secret
            && !secret.expose().starts_with("whsec_")
        {
            return bad(
                "STRIPE_WEBHOOK_SECRET",
                "must be a webhook signing secret (whsec_…)",
            );
        }
        Ok(())
    }

    /// The ElevenLabs client.
    fn check_elevenlabs(&self) -> Result<(), ConfigError> {
        if self.elevenlabs_max_attempts == 0 || self.elevenlabs_timeout_secs == 0 {
            return bad(
                "ELEVENLABS_MAX_ATTEMPTS",
                "attempts and timeout must be at least 1",
            );
        }
        if !is_http(&self.elevenlabs_api_base) {
            return bad("ELEVENLABS_API_BASE", "must start with http:// or https://");
        }
        Ok(())
    }

    /// The keys that encrypt stored settings, and how often they are re-read.
    fn check_stored_settings(&self) -> Result<(), ConfigError> {
        let keys = self
            .config_encryption_key
            .iter()
            .map(|k| ("CONFIG_ENCRYPTION_KEY", k));
        let previous = self
            .config_encryption_previous_keys
            .iter()
            .map(|k| ("CONFIG_ENCRYPTION_PREVIOUS_KEYS", k));
        for (var, key) in keys.chain(previous) {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD.decode(key.expose().trim());
            if decoded.map(|k| k.len()) != Ok(32) {
                return bad(var, "must be the base64 of exactly 32 bytes");
            }
        }
        if self.settings_refresh_ms == 0 {
            return bad("SETTINGS_REFRESH_MS", "must be at least 1");
        }
        Ok(())
    }

    /// The Stack Auth issuer every token must carry.
    pub fn stack_issuer(&self) -> Option<String> {
        self.stack_issuer.clone().or_else(|| {
            self.stack_project_id
                .as_ref()
                .map(|p| format!("https://api.stack-auth.com/api/v1/projects/{p}"))
        })
    }

    pub fn stack_jwks_url(&self) -> Option<String> {
        self.stack_jwks_url.clone().or_else(|| {
            self.stack_project_id.as_ref().map(|p| {
                format!("https://api.stack-auth.com/api/v1/projects/{p}/.well-known/jwks.json")
            })
        })
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://")
    }

    /// Whether this gateway process also runs the worker.
    pub fn runs_embedded_worker(&self) -> bool {
        self.embedded_worker.unwrap_or(self.redis_url.is_none())
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    pub fn storage_dir(&self) -> PathBuf {
        self.storage_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("files"))
    }

    pub fn job_lease(&self) -> Duration {
        Duration::from_secs(self.job_lease_secs)
    }

    pub fn job_timeout(&self) -> Duration {
        Duration::from_secs(self.job_timeout_secs)
    }

    pub fn sweeper_interval(&self) -> Duration {
        Duration::from_millis(self.sweeper_interval_ms)
    }
}

/// Accepts `a,b,c` (how an environment variable carries a list) as well as a real list.
fn comma_list<'de, D: Deserializer<'de>, T: From<String>>(d: D) -> Result<Vec<T>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        One(String),
        Many(Vec<String>),
    }
    Ok(match List::deserialize(d)? {
        List::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| T::from(s.to_string()))
            .collect(),
        List::Many(v) => v.into_iter().map(T::from).collect(),
    })
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment's own error type
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn every_variable_is_in_the_env_example() {
        let example = include_str!("../../../.env.example");
        for key in Config::default_keys() {
            assert!(
                example.contains(&format!("# {key}=")),
                "{key} is missing from .env.example"
            );
        }
    }

    #[test]
    fn defaults_are_the_embedded_mode() {
        Jail::expect_with(|_| {
            let c = Config::load().expect("defaults load");
            assert!(c.is_sqlite());
            assert!(c.runs_embedded_worker());
            assert_eq!(c.port, 3000);
            assert_eq!(c.cors_origins, vec!["http://localhost:8080".to_string()]);
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_and_lists() {
        Jail::expect_with(|jail| {
            jail.set_env("PORT", "4000");
            jail.set_env("CORS_ORIGINS", "http://a.test, https://b.test");
            jail.set_env("DATABASE_URL", "postgres://u@localhost/db");
            jail.set_env("REDIS_URL", "redis://127.0.0.1:6379");
            jail.set_env("JWT_SECRET", "0123456789abcdef0123456789abcdef");
            let c = Config::load().expect("loads");
            assert_eq!(c.port, 4000);
            assert_eq!(c.cors_origins, vec!["http://a.test", "https://b.test"]);
            assert!(!c.runs_embedded_worker());
            Ok(())
        });
    }

    #[test]
    fn file_then_env_then_secret_files() {
        Jail::expect_with(|jail| {
            jail.create_file("sb.toml", "port = 5000\nworker_concurrency = 9\n")?;
            jail.create_file("smtp-pass", "s3cret\n")?;
            jail.set_env("SWITCHBOARD_CONFIG", "sb.toml");
            jail.set_env("WORKER_CONCURRENCY", "2");
            jail.set_env("SMTP_USERNAME", "mailer");
            jail.set_env("SMTP_PASSWORD_FILE", "smtp-pass");
            let c = Config::load().expect("loads");
            assert_eq!(c.port, 5000);
            assert_eq!(c.worker_concurrency, 2);
            assert_eq!(c.smtp_password.as_ref().map(Secret::expose), Some("s3cret"));
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("PORT", "not-a-port"),
            ("PORT", "0"),
            ("DATABASE_URL", "mysql://x"),
            ("LOG_FORMAT", "xml"),
            ("WORKER_CONCURRENCY", "0"),
            ("MAIL_TRANSPORT", "smtp"),
            ("JWT_SECRET", "short"),
            ("AUTH_MODE", "magic"),
            ("FREE_CREDITS", "-1"),
        ] {
            Jail::expect_with(|jail| {
                jail.set_env(var, value);
                let err = Config::load().expect_err("must be rejected").to_string();
                let named = if var == "MAIL_TRANSPORT" {
                    "SMTP_HOST"
                } else {
                    var
                };
                assert!(err.contains(named), "{var}={value}: {err}");
                Ok(())
            });
        }
    }

    #[test]
    fn postgres_needs_redis() {
        Jail::expect_with(|jail| {
            jail.set_env("DATABASE_URL", "postgres://u@localhost/db");
            let err = Config::load().expect_err("rejected").to_string();
            assert!(err.contains("REDIS_URL"), "{err}");
            Ok(())
        });
    }
}
