//! `worker`: consumes jobs from Redis (production mode). Scale by running more replicas.

use shared::{Config, Services, telemetry};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
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
    let state = worker::WorkerState::new(services)?;
    let shutdown = CancellationToken::new();
    tokio::spawn(telemetry::cancel_on_signal(shutdown.clone()));
    worker::run(state, shutdown).await
}
