//! The real gateway command line, built with the tests so they can run `api` subcommands
//! (`CARGO_BIN_EXE_test-api`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    api::cli::main().await
}
