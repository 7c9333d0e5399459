//! The `worker` process entry point, shared by the binary and the tests' worker process.

use shared::{Config, Services, telemetry};
use tokio_util::sync::CancellationToken;

use crate::WorkerState;

/// Loads the configuration, connects, and runs until SIGTERM/Ctrl-C.
pub async fn main() -> anyhow::Result<()> {
    telemetry::install_crypto_provider();
    let config = match Config::load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    telemetry::init_logging(&config);
    let migrate = config.auto_migrate;
    let services = Services::start(config, migrate).await?;
    let state = WorkerState::new(services)?;
    let shutdown = CancellationToken::new();
    tokio::spawn(telemetry::cancel_on_signal(shutdown.clone()));
    crate::run(state, shutdown).await
}
