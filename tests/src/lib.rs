//! The end-to-end test harness: the real gateway and worker against a fresh PostgreSQL
//! database plus a Redis key prefix per test, or a fresh SQLite file; third parties faked at
//! the wire on loopback.

pub mod app;
pub mod fake_http;
pub mod redis_server;
pub mod smtp;

pub use app::{Backend, TestApp, WorkerMode};

/// Runs an async test body once per backend, as two separate `#[tokio::test]`s.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_redis() {
                ($body)($crate::Backend::Postgres).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)($crate::Backend::Sqlite).await
            }
        }
    };
}
