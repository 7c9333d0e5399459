//! The HTTP side: where the gateway listens, who may call it, how big and slow a request may
//! be, and how it logs.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, bad, comma_list, is_http};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Server {
    /// Address the gateway listens on.
    pub host: String,
    pub port: u16,
    /// Serve `/metrics` on this port only (same host) instead of the API port.
    pub metrics_port: Option<u16>,
    /// Base URL under which the gateway is reachable from outside (links in emails).
    pub public_base_url: String,
    /// Where the web frontend lives (links in emails that the frontend handles).
    pub frontend_url: String,
    /// Directory for the embedded database, the mail outbox and other local files.
    pub data_dir: PathBuf,
    #[serde(deserialize_with = "comma_list")]
    pub cors_origins: Vec<String>,
    pub max_body_bytes: usize,
    /// Seconds a request may take before the gateway answers 503 (streams excepted).
    pub request_timeout_secs: u64,
    /// Send `Strict-Transport-Security` (only behind TLS).
    pub hsts: bool,
    /// `pretty` or `json`.
    pub log_format: LogFormat,
    pub log_level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 3000,
            metrics_port: None,
            public_base_url: "http://localhost:3000".into(),
            frontend_url: "http://localhost:8080".into(),
            data_dir: PathBuf::from("./data"),
            cors_origins: vec!["http://localhost:8080".into()],
            max_body_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            hsts: false,
            log_format: LogFormat::Pretty,
            log_level: "info".into(),
        }
    }
}

impl Server {
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.port == 0 {
            return bad("PORT", "must be between 1 and 65535");
        }
        if self.max_body_bytes == 0 {
            return bad("MAX_BODY_BYTES", "must be at least 1");
        }
        if self.cors_origins.iter().any(|origin| !is_http(origin)) {
            return bad(
                "CORS_ORIGINS",
                "each origin must start with http:// or https://",
            );
        }
        for (var, url) in [
            ("PUBLIC_BASE_URL", &self.public_base_url),
            ("FRONTEND_URL", &self.frontend_url),
        ] {
            if !is_http(url) {
                return bad(var, "must start with http:// or https://");
            }
        }
        if self.request_timeout_secs == 0 {
            return bad("REQUEST_TIMEOUT_SECS", "must be at least 1");
        }
        Ok(())
    }
}
