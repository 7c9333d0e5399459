//! Who is calling. Two identity modes end in the same `CurrentUser`: built-in accounts (our
//! access JWTs) and Stack Auth (their ES256 JWTs verified against the project's JWKS).

pub mod accounts;
pub mod google;
pub mod passwords;
pub use crate::platform::credentials::{stack, tokens};

use sea_orm::EntityTrait;
use uuid::Uuid;

pub use crate::platform::credentials::Authenticator;
use crate::{
    Config,
    accounts::users::{NewUser, Role, UserStatus},
    entities::users,
    platform::error::{AppError, AppResult},
};

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

impl Authenticator {
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
