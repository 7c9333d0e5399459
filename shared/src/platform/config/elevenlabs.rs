//! The ElevenLabs client, its webhook secrets, and how calls and chats use it.

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, bad, comma_list, is_http};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ElevenLabs {
    /// ElevenLabs API key (`xi-api-key`); agent and call endpoints answer 503 without it.
    #[serde(rename = "elevenlabs_api_key")]
    pub api_key: Option<Secret>,
    #[serde(rename = "elevenlabs_api_base")]
    pub api_base: String,
    #[serde(rename = "elevenlabs_timeout_secs")]
    pub timeout_secs: u64,
    /// Attempts per idempotent request (408/409/429/5xx and connection errors are retried).
    #[serde(rename = "elevenlabs_max_attempts")]
    pub max_attempts: u32,
    #[serde(rename = "elevenlabs_backoff_base_ms")]
    pub backoff_base_ms: u64,
    /// Longest `Retry-After` honoured before giving up and passing the 429 on.
    #[serde(rename = "elevenlabs_max_retry_after_secs")]
    pub max_retry_after_secs: u64,
    /// Secrets of the ElevenLabs post-call webhook; two may be listed during a rotation.
    #[serde(rename = "elevenlabs_webhook_secrets", deserialize_with = "comma_list")]
    pub webhook_secrets: Vec<Secret>,
    /// How chat conversations use credits: `per_minute` (like calls, the default),
    /// `per_conversation` (one credit each) or `free`.
    pub chat_billing: ChatBilling,
    /// Outbound calls a user may have in flight (`initiated` or `in_progress`) at once.
    pub max_concurrent_calls: u64,
    /// A call still `initiated`/`in_progress` this long after its last change is looked up on
    /// ElevenLabs (its webhook may have been lost).
    pub call_reconcile_after_secs: u64,
    /// Calls in flight across the whole platform that campaigns may fill (what the ElevenLabs
    /// plan allows at once); calls started by hand are counted, never refused by it.
    pub platform_max_concurrent_calls: u64,
    /// A campaign dial claimed this long ago with no answer from ElevenLabs (its worker died
    /// mid-dial) is looked up on ElevenLabs instead of being dialled again.
    pub dial_claim_timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatBilling {
    PerMinute,
    PerConversation,
    Free,
}

impl Default for ElevenLabs {
    fn default() -> Self {
        Self {
            api_key: None,
            api_base: "https://api.elevenlabs.io".into(),
            timeout_secs: 20,
            max_attempts: 3,
            backoff_base_ms: 500,
            max_retry_after_secs: 60,
            webhook_secrets: Vec::new(),
            chat_billing: ChatBilling::PerMinute,
            max_concurrent_calls: 5,
            call_reconcile_after_secs: 1800,
            platform_max_concurrent_calls: 50,
            dial_claim_timeout_secs: 300,
        }
    }
}

impl ElevenLabs {
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.max_attempts == 0 || self.timeout_secs == 0 {
            return bad(
                "ELEVENLABS_MAX_ATTEMPTS",
                "attempts and timeout must be at least 1",
            );
        }
        if !is_http(&self.api_base) {
            return bad("ELEVENLABS_API_BASE", "must start with http:// or https://");
        }
        Ok(())
    }
}
