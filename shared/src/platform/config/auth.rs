//! Sign-in: the mode, the token key and lifetimes, lockout, passwords, who is an admin.

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, bad, comma_list};

/// The shortest access-token lifetime the client's frontend can live with (it refreshes once
/// fewer than 300 s are left).
pub const MIN_ACCESS_TOKEN_TTL_SECS: u64 = 330;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Auth {
    /// `builtin` (email + password accounts, the default) or `stack_auth`.
    #[serde(rename = "auth_mode")]
    pub mode: AuthMode,
    /// HMAC key for access tokens (at least 32 characters). Unset in the embedded mode: a
    /// random key is generated once and kept in `<DATA_DIR>/jwt-secret`.
    pub jwt_secret: Option<Secret>,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// Seconds during which a spent refresh token presented again gets the same new pair
    /// instead of revoking the session (the frontend refreshes in parallel).
    pub refresh_reuse_grace_secs: u64,
    pub verification_token_ttl_secs: u64,
    pub reset_token_ttl_secs: u64,
    /// Consecutive failed logins that lock an account, and for how long.
    pub login_max_failures: i32,
    pub login_lock_secs: u64,
    pub password_min_length: usize,
    /// Emails promoted to admin when their account is created or next authenticates.
    #[serde(deserialize_with = "comma_list")]
    pub admin_emails: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    Builtin,
    StackAuth,
}

impl Default for Auth {
    fn default() -> Self {
        Self {
            mode: AuthMode::Builtin,
            jwt_secret: None,
            access_token_ttl_secs: 900,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            refresh_reuse_grace_secs: 30,
            verification_token_ttl_secs: 48 * 3600,
            reset_token_ttl_secs: 3600,
            login_max_failures: 3,
            login_lock_secs: 900,
            // The frontend's own sign-up rule; common passwords are refused besides.
            password_min_length: 8,
            admin_emails: Vec::new(),
        }
    }
}

impl Auth {
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if let Some(secret) = &self.jwt_secret
            && secret.expose().len() < 32
        {
            return bad("JWT_SECRET", "must be at least 32 characters");
        }
        if self.refresh_token_ttl_secs == 0 {
            return bad("REFRESH_TOKEN_TTL_SECS", "token lifetimes must be positive");
        }
        // The client's frontend refreshes before every request once a token has less than
        // five minutes left; a shorter lifetime sends it into a refresh loop that its own
        // request limiter ends by signing the user out (seen in the browser suite).
        if self.access_token_ttl_secs < MIN_ACCESS_TOKEN_TTL_SECS {
            return bad(
                "ACCESS_TOKEN_TTL_SECS",
                "must be at least 330: the frontend refreshes tokens with under 5 minutes left",
            );
        }
        if self.login_max_failures < 1 {
            return bad("LOGIN_MAX_FAILURES", "must be at least 1");
        }
        if self.password_min_length < 8 {
            return bad("PASSWORD_MIN_LENGTH", "must be at least 8");
        }
        Ok(())
    }
}
