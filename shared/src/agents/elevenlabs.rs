//! The ElevenLabs Conversational AI client: `xi-api-key` from configuration, timeouts,
//! retries with exponential backoff and jitter for idempotent requests (honouring
//! `Retry-After`, capped), and ElevenLabs' errors mapped to ours — never a 500, never the key.

use std::time::Duration;

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::{
    Config,
    platform::error::{AppError, AppResult},
};

pub use crate::platform::cache::ListingCache;

#[derive(Clone)]
pub struct ElevenLabs {
    http: reqwest::Client,
    base: String,
    api_key: Option<String>,
    max_attempts: u32,
    backoff_base: Duration,
    max_retry_after: Duration,
    cache: ListingCache,
}

/// Whether a request may be sent again after an ambiguous failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// GET, PATCH, DELETE: repeating them changes nothing.
    Idempotent,
    /// A create: repeated only when the request provably never reached ElevenLabs.
    OnlyIfUnsent,
}

/// What one attempt ended in.
enum Attempt {
    Done(Value),
    /// Worth another attempt after the given wait (or the backoff when `None`).
    Again(AppError, Option<Duration>),
    Fail(AppError),
}

impl ElevenLabs {
    /// The client with the settings in force (an admin-set API key overrides the
    /// environment's without a restart).
    pub async fn for_services(services: &crate::Services) -> AppResult<Self> {
        let mut client = Self::from_config(&*services.settings().await);
        client.cache = services.listing_cache.clone();
        Ok(client)
    }

    /// The client for requests made for `owner`: with the key a super admin assigned to the
    /// account in Configuration, else the platform's.
    pub async fn for_owner(services: &crate::Services, owner: uuid::Uuid) -> AppResult<Self> {
        let mut client = Self::for_services(services).await?;
        if let Some(key) = crate::admin::api_keys::key_for(services, owner).await? {
            client.api_key = Some(key);
        }
        Ok(client)
    }

    pub fn from_config(config: &Config) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(config.elevenlabs.timeout_secs))
            .build()
            .expect("reqwest client");
        Self {
            http,
            base: config.elevenlabs.api_base.trim_end_matches('/').to_string(),
            api_key: config
                .elevenlabs
                .api_key
                .as_ref()
                .map(|k| k.expose().to_string()),
            max_attempts: config.elevenlabs.max_attempts,
            backoff_base: Duration::from_millis(config.elevenlabs.backoff_base_ms),
            max_retry_after: Duration::from_secs(config.elevenlabs.max_retry_after_secs),
            cache: ListingCache::default(),
        }
    }

    /// Sends a request and returns the JSON answer (`null` for an empty one).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        retry: Retry,
        resource: &'static str,
    ) -> AppResult<Value> {
        let key = self.api_key.as_deref().ok_or_else(|| {
            AppError::unavailable(
                "provider_not_configured",
                "ElevenLabs is not configured (ELEVENLABS_API_KEY)",
            )
        })?;
        let mut attempt = 1;
        loop {
            let mut req = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .header("xi-api-key", key);
            if let Some(body) = body {
                req = req.json(body);
            }
            let sent = std::time::Instant::now();
            let answer = req.send().await;
            crate::platform::monitoring::provider_request(
                "elevenlabs",
                match &answer {
                    Ok(resp) => crate::platform::monitoring::status_class(resp.status().as_u16()),
                    Err(_) => "error".into(),
                },
                sent.elapsed(),
            );
            let outcome = match answer {
                Ok(resp) => Self::read(resp, resource).await,
                Err(e) => {
                    let unsent = e.is_connect();
                    let err = AppError::Provider {
                        code: "provider_unavailable",
                        message: if e.is_timeout() {
                            "ElevenLabs did not answer in time".into()
                        } else {
                            "ElevenLabs could not be reached".into()
                        },
                    };
                    if retry == Retry::Idempotent || unsent {
                        Attempt::Again(err, None)
                    } else {
                        Attempt::Fail(err)
                    }
                }
            };
            match outcome {
                Attempt::Done(value) => return Ok(value),
                Attempt::Fail(err) => return Err(err),
                Attempt::Again(err, wait) => {
                    let retryable =
                        retry == Retry::Idempotent || matches!(err, AppError::RateLimited { .. });
                    let too_long = wait.is_some_and(|w| w > self.max_retry_after);
                    if attempt >= self.max_attempts || !retryable || too_long {
                        return Err(err);
                    }
                    let wait = wait.unwrap_or_else(|| self.backoff(attempt));
                    tracing::info!(path, attempt, wait_ms = wait.as_millis() as u64, error = %err, "retrying ElevenLabs");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }

    /// A GET answered from a cache of `ttl`, keyed by the base URL and path.
    pub async fn cached_get(
        &self,
        path: &str,
        ttl: Duration,
        resource: &'static str,
    ) -> AppResult<Value> {
        let key = format!("{}{path}", self.base);
        if let Some((at, value)) = self.cache.lock().expect("cache lock").get(&key)
            && at.elapsed() < ttl
        {
            return Ok(value.clone());
        }
        let value = self
            .request(Method::GET, path, None, Retry::Idempotent, resource)
            .await?;
        self.cache
            .lock()
            .expect("cache lock")
            .insert(key, (std::time::Instant::now(), value.clone()));
        Ok(value)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .backoff_base
            .saturating_mul(1 << attempt.saturating_sub(1).min(10));
        base.mul_f64(rand::rng().random_range(0.8..=1.2))
    }

    async fn read(resp: reqwest::Response, resource: &'static str) -> Attempt {
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let text = resp.text().await.unwrap_or_default();
        if status.is_success() {
            return Attempt::Done(if text.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::Null)
            });
        }
        let message =
            error_message(&text).unwrap_or_else(|| format!("ElevenLabs answered {status}"));
        match status {
            StatusCode::NOT_FOUND => Attempt::Fail(AppError::not_found(resource)),
            StatusCode::TOO_MANY_REQUESTS => {
                let secs = retry_after.unwrap_or(1);
                Attempt::Again(
                    AppError::RateLimited {
                        code: "provider_rate_limited",
                        message,
                        retry_after_secs: secs,
                    },
                    Some(Duration::from_secs(secs)),
                )
            }
            StatusCode::REQUEST_TIMEOUT | StatusCode::CONFLICT => Attempt::Again(
                AppError::Provider {
                    code: "provider_error",
                    message,
                },
                None,
            ),
            s if s.is_server_error() => Attempt::Again(
                AppError::Provider {
                    code: "provider_unavailable",
                    message: format!("ElevenLabs is unavailable: {message}"),
                },
                None,
            ),
            _ => Attempt::Fail(AppError::Provider {
                code: "provider_error",
                message,
            }),
        }
    }
}

/// ElevenLabs' error text: `{"detail": {"message"}}`, `{"detail": "…"}` or FastAPI's
/// `{"detail": [{"loc", "msg"}]}`.
fn error_message(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    let detail = value.get("detail")?;
    if let Some(message) = detail.get("message").and_then(Value::as_str) {
        return Some(message.to_string());
    }
    if let Some(text) = detail.as_str() {
        return Some(text.to_string());
    }
    let items = detail.as_array()?;
    let parts: Vec<String> = items
        .iter()
        .filter_map(|item| {
            let msg = item.get("msg")?.as_str()?;
            let loc = item
                .get("loc")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(|p| {
                            p.as_str().map(String::from).or_else(|| Some(p.to_string()))
                        })
                        .collect::<Vec<_>>()
                        .join(".")
                })
                .unwrap_or_default();
            Some(if loc.is_empty() {
                msg.to_string()
            } else {
                format!("{loc}: {msg}")
            })
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::error_message;

    #[test]
    fn reads_every_error_shape() {
        assert_eq!(
            error_message(
                r#"{"detail":{"type":"x","code":"agent_not_found","message":"No agent"}}"#
            )
            .as_deref(),
            Some("No agent")
        );
        assert_eq!(error_message(r#"{"detail":"Bad"}"#).as_deref(), Some("Bad"));
        assert_eq!(
            error_message(r#"{"detail":[{"loc":["body","name"],"msg":"too long","type":"x"}]}"#)
                .as_deref(),
            Some("body.name: too long")
        );
        assert_eq!(error_message("<html>"), None);
    }
}
