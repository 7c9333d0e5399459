//! Process-wide set-up shared by both binaries: the TLS provider and logging.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{Config, LogFormat};

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

/// Pretty or JSON logs at `LOG_LEVEL`.
pub fn init_logging(config: &Config) {
    let filter = log_filter(&config.log_level);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match config.log_format {
        LogFormat::Json => registry
            .with(fmt::layer().json().flatten_event(true))
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer()).try_init(),
    };
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
