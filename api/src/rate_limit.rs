//! Per-client-IP and per-email budgets for the sign-in endpoints (register, login, resend,
//! forgot and reset password). In-process: each gateway replica keeps its own counters.

use std::{net::IpAddr, num::NonZeroU32, time::Duration};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use shared::{AppError, AppResult, Config};

pub struct AuthRateLimits {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_email: DefaultKeyedRateLimiter<String>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).expect("non-zero"))
}

impl AuthRateLimits {
    pub fn new(config: &Config) -> Self {
        Self {
            per_ip: RateLimiter::keyed(per_minute(config.auth_rate_per_ip_per_min)),
            per_email: RateLimiter::keyed(per_minute(config.auth_rate_per_email_per_min)),
        }
    }

    /// Spends one request of the IP's budget and, when an email is named, of the email's.
    pub fn check(&self, ip: Option<IpAddr>, email: Option<&str>) -> AppResult<()> {
        let clock = DefaultClock::default();
        let wait = |d: Duration| AppError::rate_limited(d.as_secs().max(1));
        if let Some(ip) = ip {
            self.per_ip
                .check_key(&ip)
                .map_err(|n| wait(n.wait_time_from(clock.now())))?;
        }
        if let Some(email) = email {
            let key = email.trim().to_lowercase();
            self.per_email
                .check_key(&key)
                .map_err(|n| wait(n.wait_time_from(clock.now())))?;
        }
        Ok(())
    }
}
