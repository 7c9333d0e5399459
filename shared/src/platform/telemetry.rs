//! Process-wide set-up shared by both binaries: the TLS provider and logging.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::platform::config::{Config, LogFormat};

/// sea-orm's rustls uses ring while reqwest, lettre and the others use aws-lc-rs; with both
/// linked, rustls cannot pick a provider itself, so every binary installs one first.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// `LOG_LEVEL` (`RUST_LOG` syntax) as a filter. async-stripe logs every event type it cannot
/// model as an error; we only use it for the signature and read the JSON ourselves, so that
/// log is noise and is silenced.
pub fn log_filter(level: &str) -> EnvFilter {
    EnvFilter::try_new(level)
        .unwrap_or_else(|_| EnvFilter::new("info"))
        .add_directive("stripe_webhook=off".parse().expect("static directive"))
}

/// Pretty or JSON logs at `LOG_LEVEL`, every line passed through `redact` on its way out.
pub fn init_logging(config: &Config) {
    let filter = log_filter(&config.server.log_level);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match config.server.log_format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(|| Redacting(std::io::stderr())),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(fmt::layer().with_writer(|| Redacting(std::io::stderr())))
            .try_init(),
    };
}

/// What never reaches a log in full, whoever wrote the line: access tokens (JWTs, bearer
/// values), provider secrets (`sk_…`, `rk_…`, `whsec_…`, `wsec_…`), email addresses (the
/// first letter and the domain stay) and E.164 phone numbers (the last two digits stay).
static SECRETS: std::sync::LazyLock<[(regex::Regex, &'static str); 5]> =
    std::sync::LazyLock::new(|| {
        let re = |p: &str| regex::Regex::new(p).expect("static pattern");
        [
            (
                re(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+"),
                "[token]",
            ),
            (re(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), "${1}[token]"),
            (
                re(r"\b(sk|rk)_(live|test)_[A-Za-z0-9]+|\b(whsec|wsec)_[A-Za-z0-9_]+"),
                "[secret]",
            ),
            (
                re(r"\b([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})"),
                "${1}…@${2}",
            ),
            (re(r"\+\d{5,13}(\d{2})\b"), "+…${1}"),
        ]
    });

/// `line` with everything in `SECRETS` masked: the one place log redaction happens.
pub fn redact(line: &str) -> std::borrow::Cow<'_, str> {
    let mut out = std::borrow::Cow::Borrowed(line);
    for (pattern, replacement) in SECRETS.iter() {
        if let std::borrow::Cow::Owned(changed) = pattern.replace_all(&out, *replacement) {
            out = std::borrow::Cow::Owned(changed);
        }
    }
    out
}

/// A log writer that redacts each formatted line before it is written.
struct Redacting<W: std::io::Write>(W);

impl<W: std::io::Write> std::io::Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Cancels `token` on SIGTERM (how orchestrators stop a container) or Ctrl-C.
pub async fn cancel_on_signal(token: tokio_util::sync::CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    let _ = ctrl_c.await;
                    token.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown signal received");
    token.cancel();
}

/// What every binary does first: the TLS provider, the configuration (exiting with a message
/// naming the bad variable when it is invalid), then logging.
pub fn start_process() -> Config {
    install_crypto_provider();
    let config = match Config::load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    init_logging(&config);
    config
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn secrets_tokens_emails_and_numbers_are_masked() {
        let line = r#"{"message":"login","email":"dana.reyes@acme.example","phone":"+14155550123","auth":"Bearer abc.def-123","jwt":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl","key":"sk_live_51Habc","hook":"whsec_abc123","el":"wsec_old_secret"}"#;
        let out = redact(line);
        for secret in [
            "dana.reyes@",
            "+14155550123",
            "abc.def-123",
            "eyJhbGciOiJIUzI1NiJ9",
            "sk_live_51Habc",
            "whsec_abc123",
            "wsec_old_secret",
        ] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains("d…@acme.example"), "{out}");
        assert!(out.contains("+…23"), "{out}");
    }

    #[test]
    fn ordinary_lines_are_untouched() {
        let line = r#"{"timestamp":"2026-11-27T00:04:12.470401013Z","request_id":"01a21a51-c38d-71b2-9cd8-2dfed5202316","elapsed_ms":12345678}"#;
        assert_eq!(redact(line), line);
    }
}
