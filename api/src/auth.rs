//! Built-in accounts: register, verify, sign in, refresh, sign out, reset and change password,
//! change email. Thin: each handler rate-limits where needed and calls one `shared` service.

use poem_openapi::{ApiResponse, Object, OpenApi, param::Query, payload::Json};
use shared::{Services, auth::accounts};

use crate::{api_errors, rate_limit::RateLimiter, security::Auth, tags::Tag, user::User};

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct RegisterRequest {
    #[oai(validator(max_length = 254))]
    pub email: String,
    #[oai(validator(max_length = 256))]
    pub password: String,
    #[oai(validator(max_length = 120))]
    pub name: Option<String>,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct LoginRequest {
    #[oai(validator(max_length = 254))]
    pub email: String,
    #[oai(validator(max_length = 256))]
    pub password: String,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct RefreshRequest {
    #[oai(validator(max_length = 128))]
    pub refresh_token: String,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct TokenRequest {
    #[oai(validator(max_length = 128))]
    pub token: String,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct EmailRequest {
    #[oai(validator(max_length = 254))]
    pub email: String,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct ResetPasswordRequest {
    #[oai(validator(max_length = 128))]
    pub token: String,
    #[oai(validator(max_length = 256))]
    pub new_password: String,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct ChangePasswordRequest {
    #[oai(validator(max_length = 256))]
    pub current_password: String,
    #[oai(validator(max_length = 256))]
    pub new_password: String,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct ChangeEmailRequest {
    #[oai(validator(max_length = 254))]
    pub new_email: String,
    #[oai(validator(max_length = 256))]
    pub password: String,
}

/// A signed-in session.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Session {
    /// Short-lived JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Single-use token for `POST /api/auth/refresh`; each use returns a new one.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user: User,
}

impl From<accounts::Session> for Session {
    fn from(s: accounts::Session) -> Self {
        Self {
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            token_type: "Bearer".into(),
            expires_in: s.expires_in,
            user: s.user.into(),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Accepted {
    /// What happens next, e.g. "if the account exists, an email is on its way".
    pub message: String,
}

#[derive(Debug, ApiResponse)]
pub enum Registered {
    /// The account exists and is signed in; a verification email is queued.
    #[oai(status = 201)]
    Created(Json<Session>),
}

#[derive(Debug, ApiResponse)]
pub enum AcceptedResponse {
    #[oai(status = 202)]
    Accepted(Json<Accepted>),
}

#[derive(Debug, ApiResponse)]
pub enum NoContent {
    #[oai(status = 204)]
    Done,
}

api_errors!(RegisterErrors {
    403 => Disabled: "Built-in accounts are disabled (`builtin_auth_disabled`).",
    409 => Taken: "The email is already registered (`email_taken`).",
    422 => Invalid: "Invalid email, weak password or bad field (`validation_error`).",
    429 => TooMany: "Too many attempts from this client or for this email (`rate_limited`); see Retry-After.",
});

api_errors!(LoginErrors {
    401 => Unauthorized: "Wrong email or password (`invalid_credentials`).",
    403 => Forbidden: "Suspended account (`account_suspended`) or built-in accounts disabled (`builtin_auth_disabled`).",
    422 => Invalid: "A field is invalid (`validation_error`; `details.field` names it).",
    429 => TooMany: "Rate limited, or the account is temporarily locked (`account_locked`).",
});

api_errors!(RefreshErrors {
    401 => Unauthorized: "Unknown, expired or reused refresh token (`invalid_refresh_token`, `refresh_token_expired`, `refresh_token_reused`).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    422 => Invalid: "A field is invalid (`validation_error`; `details.field` names it).",
});

api_errors!(VerifyErrors {
    400 => BadToken: "Unknown, used or expired link (`invalid_token`, `token_expired`).",
    409 => Taken: "The new email was taken meanwhile (`email_taken`).",
    422 => Invalid: "A field is invalid (`validation_error`; `details.field` names it).",
});

api_errors!(EmailActionErrors {
    403 => Disabled: "Built-in accounts are disabled (`builtin_auth_disabled`).",
    422 => Invalid: "Not an email address (`validation_error`).",
    429 => TooMany: "Too many attempts from this client or for this email (`rate_limited`); see Retry-After.",
});

api_errors!(ResetErrors {
    400 => BadToken: "Unknown, used or expired link (`invalid_token`, `token_expired`).",
    403 => Disabled: "Built-in accounts are disabled (`builtin_auth_disabled`).",
    422 => Invalid: "The new password is too weak (`validation_error`).",
    429 => TooMany: "Too many attempts from this client (`rate_limited`); see Retry-After.",
});

api_errors!(ChangeErrors {
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "Wrong current password (`wrong_password`), suspended or disabled.",
    409 => Taken: "The new email is already registered (`email_taken`).",
    422 => Invalid: "Weak password or invalid email (`validation_error`; `details.field` names it).",
});

pub struct AuthApi {
    pub services: Services,
    /// The per-IP budget of these endpoints is spent by the gateway's rate-limit middleware;
    /// the per-email one here, where the email is known.
    pub limiter: std::sync::Arc<RateLimiter>,
}

impl AuthApi {
    async fn check_email(&self, email: &str) -> Result<(), shared::AppError> {
        let limit = self.services.config.auth_rate_per_email_per_min;
        self.limiter.check_email(limit, email).await
    }
}

fn accepted(message: &str) -> AcceptedResponse {
    AcceptedResponse::Accepted(Json(Accepted {
        message: message.into(),
    }))
}

#[OpenApi(prefix_path = "/api/auth", tag = "Tag::Auth")]
impl AuthApi {
    /// Register
    ///
    /// Creates a built-in account (argon2id password), grants the welcome credits, emails a
    /// verification link and returns a session. Unverified users can sign in but cannot start
    /// calls or buy credits.
    #[oai(path = "/register", method = "post")]
    async fn register(&self, body: Json<RegisterRequest>) -> Result<Registered, RegisterErrors> {
        self.check_email(&body.email).await?;
        let body = body.0;
        let session =
            accounts::register(&self.services, &body.email, &body.password, body.name).await?;
        Ok(Registered::Created(Json(session.into())))
    }

    /// Sign in
    ///
    /// Returns an access token and a refresh token. Repeated wrong passwords lock the account
    /// temporarily (429 `account_locked`, whatever the password) and email its owner.
    #[oai(path = "/login", method = "post")]
    async fn login(&self, body: Json<LoginRequest>) -> Result<Json<Session>, LoginErrors> {
        self.check_email(&body.email).await?;
        Ok(Json(
            accounts::login(&self.services, &body.email, &body.password)
                .await?
                .into(),
        ))
    }

    /// Refresh the session
    ///
    /// Spends the refresh token and returns a new pair. Presenting a spent token again
    /// revokes the whole session family (401 `refresh_token_reused`).
    #[oai(path = "/refresh", method = "post")]
    async fn refresh(&self, body: Json<RefreshRequest>) -> Result<Json<Session>, RefreshErrors> {
        Ok(Json(
            accounts::refresh(&self.services, &body.refresh_token)
                .await?
                .into(),
        ))
    }

    /// Sign out
    ///
    /// Revokes the session the refresh token belongs to. Unknown tokens are ignored.
    #[oai(path = "/logout", method = "post")]
    async fn logout(&self, body: Json<RefreshRequest>) -> Result<NoContent, RefreshErrors> {
        accounts::logout(&self.services, &body.refresh_token).await?;
        Ok(NoContent::Done)
    }

    /// Verify email (from the frontend)
    ///
    /// The frontend posts the token from the verification link; the answer is the verified
    /// account. A used, unknown or expired token is 400 `invalid_token` / `token_expired`.
    #[oai(path = "/verify-email", method = "post")]
    async fn verify_email(&self, body: Json<TokenRequest>) -> Result<Json<User>, VerifyErrors> {
        Ok(Json(
            accounts::verify_email(&self.services, &body.token)
                .await?
                .into(),
        ))
    }

    /// Verify email (the emailed link)
    ///
    /// The link in the verification email points here, so it works without the frontend.
    #[oai(path = "/verify-email", method = "get")]
    async fn verify_email_link(
        &self,
        #[oai(validator(max_length = 128))] token: Query<String>,
    ) -> Result<Json<User>, VerifyErrors> {
        Ok(Json(
            accounts::verify_email(&self.services, &token.0)
                .await?
                .into(),
        ))
    }

    /// Resend the verification email
    ///
    /// The answer is the same whether or not the account exists.
    #[oai(path = "/resend-verification", method = "post")]
    async fn resend_verification(
        &self,
        body: Json<EmailRequest>,
    ) -> Result<AcceptedResponse, EmailActionErrors> {
        self.check_email(&body.email).await?;
        accounts::resend_verification(&self.services, &body.email).await?;
        Ok(accepted(
            "if the account exists and is not verified yet, a new link is on its way",
        ))
    }

    /// Forgot password
    ///
    /// Emails a reset link. The answer is the same whether or not the account exists.
    #[oai(path = "/forgot-password", method = "post")]
    async fn forgot_password(
        &self,
        body: Json<EmailRequest>,
    ) -> Result<AcceptedResponse, EmailActionErrors> {
        self.check_email(&body.email).await?;
        accounts::forgot_password(&self.services, &body.email).await?;
        Ok(accepted(
            "if the account exists, a reset link is on its way",
        ))
    }

    /// Reset password
    ///
    /// Sets a new password from the emailed token and ends every session of the account.
    #[oai(path = "/reset-password", method = "post")]
    async fn reset_password(
        &self,
        body: Json<ResetPasswordRequest>,
    ) -> Result<NoContent, ResetErrors> {
        accounts::reset_password(&self.services, &body.token, &body.new_password).await?;
        Ok(NoContent::Done)
    }

    /// Change password
    ///
    /// Needs the current password; ends the other sessions and returns a new one.
    #[oai(path = "/change-password", method = "post")]
    async fn change_password(
        &self,
        auth: Auth,
        body: Json<ChangePasswordRequest>,
    ) -> Result<Json<Session>, ChangeErrors> {
        let me = auth.user(&self.services).await?;
        let session = accounts::change_password(
            &self.services,
            me.id,
            &body.current_password,
            &body.new_password,
        )
        .await?;
        Ok(Json(session.into()))
    }

    /// Change email
    ///
    /// Needs the password; a verification link goes to the new address, which replaces the
    /// old one once opened.
    #[oai(path = "/change-email", method = "post")]
    async fn change_email(
        &self,
        auth: Auth,
        body: Json<ChangeEmailRequest>,
    ) -> Result<AcceptedResponse, ChangeErrors> {
        let me = auth.user(&self.services).await?;
        accounts::change_email(&self.services, me.id, &body.new_email, &body.password).await?;
        Ok(accepted("a verification link was sent to the new address"))
    }
}
