#![recursion_limit = "256"]
//! The end-to-end test harness: the real gateway and worker against a fresh PostgreSQL
//! database plus a Redis key prefix per test, or a fresh SQLite file; third parties faked at
//! the wire on loopback.

pub mod app;
pub mod callers;
pub mod elevenlabs;
pub mod fake_http;
pub mod google;
pub mod jwt;
pub mod measure;
pub mod post_call;
pub mod records;
pub mod redis_server;
pub mod seed;
pub mod sheets;
pub mod smtp;
pub mod sse;
pub mod stripe;
pub mod users;

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

/// A response checked and decoded in one call: the status is asserted first (the body is in
/// the panic message when it is not the expected one), then the body is decoded.
#[allow(async_fn_in_trait)]
pub trait Decode {
    /// Expects exactly `status`.
    async fn expect_json<T: serde::de::DeserializeOwned>(self, status: u16) -> T;
    /// Expects a success (2xx): for calls whose exact status another test pins down.
    async fn success_json<T: serde::de::DeserializeOwned>(self) -> T;
}

impl Decode for reqwest::Response {
    async fn expect_json<T: serde::de::DeserializeOwned>(self, status: u16) -> T {
        let got = self.status().as_u16();
        let text = self.text().await.expect("a response body");
        assert_eq!(got, status, "unexpected status; body: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("undecodable body ({e}): {text}"))
    }

    async fn success_json<T: serde::de::DeserializeOwned>(self) -> T {
        let got = self.status();
        let text = self.text().await.expect("a response body");
        assert!(got.is_success(), "status {got}; body: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("undecodable body ({e}): {text}"))
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Request budgets are counted in the clock's minutes: a test that spends one waits for the
/// next minute when fewer than `secs` seconds are left of this one (a count that crossed into
/// the next window would start again from zero, and the test would see no refusal).
pub async fn within_one_rate_window(secs: u64) {
    let left = 60 - unix_now() % 60;
    if left < secs {
        tokio::time::sleep(std::time::Duration::from_secs(left + 1)).await;
    }
}

/// Asserts the status and the common error body with its fine-grained `reason`, and that its
/// `code` is the client's code for them; returns the body.
pub async fn expect_error(resp: reqwest::Response, status: u16, reason: &str) -> serde_json::Value {
    let got = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.expect("a JSON error body");
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"]["reason"], reason, "{body}");
    assert_eq!(body["success"], false, "{body}");
    let code = body["error"]["code"].as_str().unwrap_or_default();
    assert!(
        shared::ErrorCode::ALL.iter().any(|c| c.as_str() == code),
        "{code} is not one of the client's codes: {body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body["error"]["timestamp"].as_str().is_some(), "{body}");
    body
}

/// A request body of the operation's documented example, so validation passes and only the
/// check under test (ownership, the admin guard) can refuse it.
pub fn example_body(spec: &serde_json::Value, op: &serde_json::Value) -> Option<serde_json::Value> {
    let content = op["requestBody"]["content"].as_object()?;
    let (_, media) = content
        .iter()
        .find(|(t, _)| t.starts_with("application/json"))?;
    let schema = media["schema"]["$ref"].as_str()?;
    let name = schema.trim_start_matches("#/components/schemas/");
    Some(spec["components"]["schemas"][name]["example"].clone())
}
