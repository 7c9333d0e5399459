//! The verifiers of callers' credentials, built once per process from the configuration and
//! held by `Services`: our access JWTs (`tokens`) and Stack Auth's (`stack`). Verifying a
//! request also loads its user, which is accounts' business (`Authenticator::authenticate`, in
//! `accounts::auth`); this part knows keys and tokens only.

pub mod stack;
pub mod tokens;

use std::path::Path;

use crate::{
    Config,
    platform::config::AuthMode,
    platform::error::{AppError, AppResult},
};
use stack::StackVerifier;
use tokens::AccessTokens;

pub struct Authenticator {
    pub mode: AuthMode,
    pub access: AccessTokens,
    pub(crate) stack: Option<StackVerifier>,
}

impl Authenticator {
    pub fn new(config: &Config) -> AppResult<Self> {
        let secret = match &config.auth.jwt_secret {
            Some(secret) => secret.expose().to_string(),
            None => embedded_secret(&config.server.data_dir)?,
        };
        let stack = match config.auth.mode {
            AuthMode::StackAuth => Some(StackVerifier::new(
                config.stack.jwks_url_or_default().unwrap_or_default(),
                config.stack.issuer_or_default().unwrap_or_default(),
                config.stack.project_id.clone().unwrap_or_default(),
                std::time::Duration::from_secs(config.stack.jwks_min_refetch_secs),
            )),
            AuthMode::Builtin => None,
        };
        Ok(Self {
            mode: config.auth.mode,
            access: AccessTokens::new(secret.as_bytes(), config.auth.access_token_ttl_secs),
            stack,
        })
    }
}

/// The embedded mode's signing key: generated once, kept in the data directory (mode 0600).
fn embedded_secret(data_dir: &Path) -> AppResult<String> {
    let path = data_dir.join("jwt-secret");
    if let Ok(secret) = std::fs::read_to_string(&path)
        && secret.trim().len() >= 32
    {
        return Ok(secret.trim().to_string());
    }
    std::fs::create_dir_all(data_dir).map_err(|e| AppError::internal(format!("DATA_DIR: {e}")))?;
    let secret = tokens::random_token();
    #[cfg(unix)]
    {
        use std::{io::Write, os::unix::fs::OpenOptionsExt};
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| AppError::internal(format!("{}: {e}", path.display())))?;
        file.write_all(secret.as_bytes())
            .map_err(|e| AppError::internal(e.to_string()))?;
    }
    #[cfg(not(unix))]
    std::fs::write(&path, &secret).map_err(|e| AppError::internal(e.to_string()))?;
    tracing::warn!(path = %path.display(), "JWT_SECRET not set; generated one for the embedded mode");
    Ok(secret)
}
