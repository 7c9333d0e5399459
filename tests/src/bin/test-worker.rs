//! The real worker entry point, built as part of the test crate so end-to-end tests can start
//! it as a separate OS process (`CARGO_BIN_EXE_test-worker`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    worker::cli::main().await
}
