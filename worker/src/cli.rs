//! The `worker` process entry point, shared by the binary and the tests' worker process.

use shared::platform::telemetry;
use tokio_util::sync::CancellationToken;

use crate::WorkerState;

/// Loads the configuration, connects, and runs until SIGTERM/Ctrl-C.
pub async fn main() -> anyhow::Result<()> {
    let config = telemetry::start_process();
    let migrate = config.database.auto_migrate;
    let services = shared::startup::start(config, migrate).await?;
    let state = WorkerState::new(services)?;
    let shutdown = CancellationToken::new();
    tokio::spawn(telemetry::cancel_on_signal(shutdown.clone()));
    crate::run(state, shutdown).await
}
