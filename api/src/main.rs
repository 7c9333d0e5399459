//! `api`: the gateway binary (see `api --help`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    api::cli::main().await
}
