//! Who is calling. Two identity modes end in the same `CurrentUser`: built-in accounts (our
//! access JWTs) and Stack Auth (their ES256 JWTs verified against the project's JWKS).

pub mod accounts;
pub mod google;
pub mod passwords;
pub mod stack;
pub mod tokens;

use std::path::Path;

use uuid::Uuid;

use crate::{
    Config,
    accounts::users::{NewUser, Role, UserStatus},
    entities::users,
    platform::config::AuthMode,
    platform::error::{AppError, AppResult},
};
use stack::StackVerifier;
use tokens::AccessTokens;

/// The authenticated caller every endpoint works with.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub status: UserStatus,
    pub email_verified: bool,
}

impl CurrentUser {
    /// The caller as the owner tenant scoping filters on.
    pub fn owner(&self) -> crate::platform::ids::UserId {
        crate::platform::ids::UserId(self.id)
    }

    pub fn is_admin(&self) -> bool {
        self.role.is_admin()
    }

    /// Calls and purchases need a verified email.
    pub fn require_verified_email(&self) -> AppResult<()> {
        if self.email_verified {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "email_not_verified",
                "verify your email address first",
            ))
        }
    }
}

impl From<&users::Model> for CurrentUser {
    fn from(u: &users::Model) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            role: u.role,
            status: u.status,
            email_verified: u.email_verified_at.is_some(),
        }
    }
}

/// A credential as it arrived, before verification.
#[derive(Debug, Clone)]
pub enum Credential {
    /// `Authorization: Bearer …`
    Bearer(String),
    /// `x-stack-access-token: …`
    StackHeader(String),
}

pub struct Authenticator {
    pub mode: AuthMode,
    pub access: AccessTokens,
    stack: Option<StackVerifier>,
}

impl Authenticator {
    pub fn new(config: &Config) -> AppResult<Self> {
        let secret = match &config.jwt_secret {
            Some(secret) => secret.expose().to_string(),
            None => embedded_secret(&config.data_dir)?,
        };
        let stack = match config.auth_mode {
            AuthMode::StackAuth => Some(StackVerifier::new(
                config.stack_jwks_url().unwrap_or_default(),
                config.stack_issuer().unwrap_or_default(),
                config.stack_project_id.clone().unwrap_or_default(),
                std::time::Duration::from_secs(config.stack_jwks_min_refetch_secs),
            )),
            AuthMode::Builtin => None,
        };
        Ok(Self {
            mode: config.auth_mode,
            access: AccessTokens::new(secret.as_bytes(), config.access_token_ttl_secs),
            stack,
        })
    }

    /// Verifies the credential and loads (in Stack Auth mode: creates on first sight) the
    /// user. Suspended users are refused here, so no endpoint can forget to.
    pub async fn authenticate(
        &self,
        db: &sea_orm::DatabaseConnection,
        config: &Config,
        credential: Credential,
    ) -> AppResult<CurrentUser> {
        Ok(CurrentUser::from(
            &self.authenticate_row(db, config, credential).await?,
        ))
    }

    /// `authenticate`, keeping the whole account row (for handlers that need its settings).
    pub async fn authenticate_row(
        &self,
        db: &sea_orm::DatabaseConnection,
        config: &Config,
        credential: Credential,
    ) -> AppResult<users::Model> {
        let user = match (&self.stack, credential) {
            (Some(stack), Credential::Bearer(token) | Credential::StackHeader(token)) => {
                let claims = stack.verify(&token).await?;
                let email = claims
                    .email
                    .as_deref()
                    .and_then(|e| crate::accounts::users::normalize_email(e).ok())
                    .unwrap_or_else(|| format!("stack-{}@users.invalid", claims.sub));
                crate::accounts::users::ensure_external(
                    db,
                    config,
                    NewUser {
                        email,
                        external_id: Some(claims.sub.clone()),
                        auth_provider: "stack".into(),
                        password_hash: None,
                        name: claims.name.clone(),
                        email_verified: claims.email_verified,
                        google_subject: None,
                    },
                )
                .await?
            }
            (None, Credential::Bearer(token)) => {
                let claims = self.access.verify(&token)?;
                let user = users::Entity::find_by_id(claims.sub)
                    .one(db)
                    .await?
                    .ok_or_else(|| {
                        AppError::unauthorized("invalid_token", "the account no longer exists")
                    })?;
                if user.session_epoch != claims.epoch {
                    return Err(AppError::unauthorized(
                        "session_revoked",
                        "this session has ended; sign in again",
                    ));
                }
                user
            }
            (None, Credential::StackHeader(_)) => {
                return Err(AppError::unauthorized(
                    "unsupported_token",
                    "Stack Auth tokens are not accepted; use Authorization: Bearer",
                ));
            }
        };
        if user.status == UserStatus::Suspended {
            return Err(AppError::forbidden(
                "account_suspended",
                "this account is suspended",
            ));
        }
        if crate::accounts::users::listed_as_admin(config, &user) {
            crate::accounts::users::make_admin(db, user).await
        } else {
            Ok(user)
        }
    }
}

use sea_orm::EntityTrait;

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
