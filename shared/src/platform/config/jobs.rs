//! The job pipeline: the queue's Redis, workers, retries, leases, the sweeper.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, bad};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Jobs {
    /// When set, jobs go through Redis and separate `worker` processes consume them.
    pub redis_url: Option<String>,
    /// Prefix of every queue name, so several deployments (or tests) can share one Redis.
    pub queue_prefix: String,
    /// Run the worker inside the gateway process. Defaults to true without `REDIS_URL`.
    pub embedded_worker: Option<bool>,
    pub worker_name: String,
    pub worker_concurrency: usize,
    /// How often an idle worker asks the queue for new messages.
    pub queue_poll_interval_ms: u64,
    #[serde(rename = "job_max_attempts")]
    pub max_attempts: i32,
    #[serde(rename = "job_backoff_base_ms")]
    pub backoff_base_ms: u64,
    #[serde(rename = "job_backoff_max_secs")]
    pub backoff_max_secs: u64,
    /// How long a claimed job may run before another worker may take it over.
    #[serde(rename = "job_lease_secs")]
    pub lease_secs: u64,
    #[serde(rename = "job_timeout_secs")]
    pub timeout_secs: u64,
    pub sweeper_interval_ms: u64,
    /// A queued job whose doorbell rang this long ago without being picked up is rung again.
    #[serde(rename = "job_redeliver_after_secs")]
    pub redeliver_after_secs: u64,
    pub shutdown_timeout_secs: u64,
    /// How often each worker runs a campaign dial round (it also runs one when a call ends);
    /// 0: this worker does not dial (other replicas do).
    pub campaign_dial_interval_ms: u64,
}

impl Default for Jobs {
    fn default() -> Self {
        Self {
            redis_url: None,
            queue_prefix: "switchboard".into(),
            embedded_worker: None,
            worker_name: "worker".into(),
            worker_concurrency: 4,
            queue_poll_interval_ms: 250,
            max_attempts: 5,
            backoff_base_ms: 2_000,
            backoff_max_secs: 3_600,
            lease_secs: 300,
            timeout_secs: 120,
            sweeper_interval_ms: 5_000,
            redeliver_after_secs: 60,
            shutdown_timeout_secs: 30,
            campaign_dial_interval_ms: 1_000,
        }
    }
}

impl Jobs {
    /// Whether a gateway process also runs the worker.
    pub fn runs_embedded_worker(&self) -> bool {
        self.embedded_worker.unwrap_or(self.redis_url.is_none())
    }

    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    pub fn sweeper_interval(&self) -> Duration {
        Duration::from_millis(self.sweeper_interval_ms)
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return bad("REDIS_URL", "must start with redis:// or rediss://");
        }
        if self.queue_prefix.is_empty() || self.queue_prefix.contains(char::is_whitespace) {
            return bad("QUEUE_PREFIX", "must be a non-empty word");
        }
        if self.worker_concurrency == 0 {
            return bad("WORKER_CONCURRENCY", "must be at least 1");
        }
        if self.queue_poll_interval_ms == 0 {
            return bad("QUEUE_POLL_INTERVAL_MS", "must be at least 1");
        }
        if self.max_attempts < 1 {
            return bad("JOB_MAX_ATTEMPTS", "must be at least 1");
        }
        if self.lease_secs <= self.timeout_secs {
            return bad("JOB_LEASE_SECS", "must be longer than JOB_TIMEOUT_SECS");
        }
        if self.sweeper_interval_ms == 0 {
            return bad("SWEEPER_INTERVAL_MS", "must be at least 1");
        }
        Ok(())
    }
}
