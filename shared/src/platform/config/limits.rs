//! Request rates per client, per session and per webhook sender.

use serde::{Deserialize, Serialize};

use super::{ConfigError, bad};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Requests per minute per client IP, and per email address, on sign-in endpoints.
    pub auth_rate_per_ip_per_min: u32,
    pub auth_rate_per_email_per_min: u32,
    /// Requests per minute to the rest of the API: per client IP, and per signed-in session.
    pub api_rate_per_ip_per_min: u32,
    pub api_rate_per_user_per_min: u32,
    /// Contact-file uploads per minute per session (or IP).
    pub upload_rate_per_min: u32,
    /// Provider webhook deliveries per minute per client IP.
    pub webhook_rate_per_ip_per_min: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            auth_rate_per_ip_per_min: 20,
            auth_rate_per_email_per_min: 5,
            api_rate_per_ip_per_min: 1_200,
            api_rate_per_user_per_min: 600,
            upload_rate_per_min: 20,
            // Above what one gateway stores (≈ 5,600 a second on two cores, bench-intake), so a
            // provider's burst from one address is never refused before the gateway is full.
            webhook_rate_per_ip_per_min: 1_200_000,
        }
    }
}

impl Limits {
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        for (var, rate) in [
            ("AUTH_RATE_PER_IP_PER_MIN", self.auth_rate_per_ip_per_min),
            (
                "AUTH_RATE_PER_EMAIL_PER_MIN",
                self.auth_rate_per_email_per_min,
            ),
            ("API_RATE_PER_IP_PER_MIN", self.api_rate_per_ip_per_min),
            ("API_RATE_PER_USER_PER_MIN", self.api_rate_per_user_per_min),
            ("UPLOAD_RATE_PER_MIN", self.upload_rate_per_min),
            (
                "WEBHOOK_RATE_PER_IP_PER_MIN",
                self.webhook_rate_per_ip_per_min,
            ),
        ] {
            if rate == 0 {
                return bad(var, "rate limits must be at least 1");
            }
        }
        Ok(())
    }
}
