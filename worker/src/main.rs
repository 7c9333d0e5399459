//! `worker`: consumes jobs from Redis (production mode). Scale by running more replicas.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    worker::cli::main().await
}
