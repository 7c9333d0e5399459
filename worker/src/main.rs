//! `worker`: consumes jobs from Redis (production mode). Scale by running more replicas.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    worker::cli::main().await
}
