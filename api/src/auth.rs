//! Built-in accounts at the client's paths and in its shapes: register, sign in, validate,
//! refresh, sign out, change email (`/api/auth`), and the email-link flows — verification and
//! password reset (`/api/email`). Thin: each handler rate-limits where needed and calls one
//! `shared` service.

use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Cookie, Query},
    payload::Json,
};
use shared::{
    Services,
    accounts::auth::{accounts, google},
};

use crate::{
    api_errors,
    rate_limit::RateLimiter,
    security::{Auth, optional_claims},
    tags::Tag,
    user::SessionUser,
    wire::{Done, Timestamp},
};

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

/// `refreshToken`: the client's spelling.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct RefreshRequest {
    #[oai(validator(max_length = 128))]
    pub refresh_token: String,
}

/// Signing out: the body the client sends is `{}`; a refresh token may name the session.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct LogoutRequest {
    #[oai(validator(max_length = 128))]
    pub refresh_token: Option<String>,
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
#[oai(example, rename_all = "camelCase")]
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
pub struct ChangeEmailRequest {
    #[oai(validator(max_length = 254))]
    pub new_email: String,
    #[oai(validator(max_length = 256))]
    pub password: String,
}

/// A signed-in session, as the client stores it (register, login, refresh).
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct Session {
    pub message: String,
    /// Short-lived JWT for `Authorization: Bearer` (claims `sub`, `exp`, `sid`, …).
    pub token: String,
    /// Token for `POST /api/auth/refresh`; each use returns a new one (the same one again if
    /// presented twice within the grace window).
    pub refresh_token: String,
    /// Seconds until `token` expires.
    pub expires_in: u64,
    pub user: SessionUser,
    pub timestamp: Timestamp,
}

impl Session {
    fn of(s: accounts::Session, message: &str) -> Self {
        Self {
            message: message.into(),
            token: s.access_token,
            refresh_token: s.refresh_token,
            expires_in: s.expires_in,
            user: s.user.into(),
            timestamp: Timestamp::now(),
        }
    }
}

/// `GET /api/auth/validate`.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Validated {
    pub user: SessionUser,
    pub timestamp: Timestamp,
}

/// `POST /api/email/verify`: the verified account, briefly.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct VerifiedUser {
    pub id: uuid::Uuid,
    pub email: String,
    pub email_verified: bool,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Verified {
    pub success: bool,
    pub message: String,
    pub user: VerifiedUser,
    pub timestamp: Timestamp,
}

/// `POST /api/email/send-verification`.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct VerificationSent {
    pub success: bool,
    pub message: String,
    pub email: String,
    pub timestamp: Timestamp,
}

/// `POST /api/email/validate-reset-token`.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct TokenValid {
    pub success: bool,
    pub valid: bool,
}

/// A browser redirect (Google sign-in).
#[derive(Debug, ApiResponse)]
pub enum Redirect {
    /// To Google's consent page, or back to the frontend.
    #[oai(status = 302)]
    Found(
        /// Where the browser goes next.
        #[oai(header = "Location")]
        String,
        /// The sign-in state between the two legs (HttpOnly, 10 minutes).
        #[oai(header = "Set-Cookie")]
        Option<String>,
    ),
}

#[derive(Debug, ApiResponse)]
pub enum Registered {
    /// The account exists and is signed in; a verification email is queued.
    #[oai(status = 201)]
    Created(Json<Session>),
}

api_errors!(RegisterErrors {
    400 => Invalid: "Invalid email (`validation_error`, code `INVALID_EMAIL`), weak password (code `WEAK_PASSWORD`, the message says why) or bad field.",
    403 => Disabled: "Built-in accounts are disabled (`builtin_auth_disabled`).",
    409 => Taken: "The email is already registered (`email_taken`, code `ALREADY_EXISTS`).",
    429 => TooMany: "Too many attempts from this client or for this email (`rate_limited`); see Retry-After.",
});

api_errors!(LoginErrors {
    400 => Invalid: "A field is invalid (`validation_error`; `details` maps each field to its message).",
    401 => Unauthorized: "Wrong email or password (`invalid_credentials`, code `INVALID_CREDENTIALS`).",
    403 => Forbidden: "Suspended account (`account_suspended`) or built-in accounts disabled (`builtin_auth_disabled`).",
    429 => TooMany: "Rate limited, or the account is temporarily locked (`account_locked`, code `ACCOUNT_LOCKED`).",
});

api_errors!(RefreshErrors {
    400 => Invalid: "A field is invalid (`validation_error`; `details` maps each field to its message).",
    401 => Unauthorized: "Unknown, expired or reused refresh token (`invalid_refresh_token`, `refresh_token_expired`, `refresh_token_reused`).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
});

api_errors!(LogoutErrors {
    400 => Invalid: "A field is invalid (`validation_error`; `details` maps each field to its message).",
});

api_errors!(SessionErrors {
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
});

api_errors!(VerifyErrors {
    400 => BadToken: "Unknown, used or expired link (`invalid_token`, `token_expired`), a sign-up link used again (`already_verified`), or an invalid field (`validation_error`).",
    409 => Taken: "The new email was taken meanwhile (`email_taken`).",
});

api_errors!(EmailActionErrors {
    400 => Invalid: "Not an email address (`validation_error`).",
    403 => Disabled: "Built-in accounts are disabled (`builtin_auth_disabled`).",
    429 => TooMany: "Too many attempts from this client or for this email (`rate_limited`); see Retry-After.",
});

api_errors!(ResetErrors {
    400 => BadToken: "Unknown, used or expired link (`invalid_token`, `token_expired`), a weak password or an invalid field (`validation_error`).",
    403 => Disabled: "Built-in accounts are disabled (`builtin_auth_disabled`).",
    429 => TooMany: "Too many attempts from this client (`rate_limited`); see Retry-After.",
});

api_errors!(CallbackErrors {
    400 => Invalid: "A parameter with a NUL character (`invalid_parameter`), refused before the sign-in is looked at; everything else redirects.",
});

api_errors!(ChangeErrors {
    400 => Invalid: "Wrong password (`wrong_password`) or invalid email (`validation_error`; `details` maps each field to its message).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "Suspended or built-in accounts disabled (`account_suspended`, `builtin_auth_disabled`).",
    409 => Taken: "The new email is already registered (`email_taken`).",
});

pub struct AuthApi {
    pub services: Services,
    /// The per-IP budget of these endpoints is spent by the gateway's rate-limit middleware;
    /// the per-email one here, where the email is known.
    pub limiter: std::sync::Arc<RateLimiter>,
}

impl AuthApi {
    async fn check_email(&self, email: &str) -> Result<(), shared::AppError> {
        let limit = self.services.config.limits.auth_rate_per_email_per_min;
        self.limiter.check_email(limit, email).await
    }
}

#[OpenApi(prefix_path = "/api/auth", tag = "Tag::Auth")]
impl AuthApi {
    /// Register
    ///
    /// Creates a built-in account (argon2id password), grants the welcome credits, emails a
    /// verification link to the frontend's `/verify-email` page and returns a session.
    /// Unverified users can sign in but cannot start calls or buy credits.
    #[oai(path = "/register", method = "post")]
    async fn register(&self, body: Json<RegisterRequest>) -> Result<Registered, RegisterErrors> {
        self.check_email(&body.email).await?;
        let body = body.0;
        let session =
            accounts::register(&self.services, &body.email, &body.password, body.name).await?;
        Ok(Registered::Created(Json(Session::of(
            session,
            "Account created; check your inbox to verify your email",
        ))))
    }

    /// Sign in
    ///
    /// Returns an access token and a refresh token. Repeated wrong passwords lock the account
    /// temporarily (429 `account_locked`, whatever the password) and email its owner.
    #[oai(path = "/login", method = "post")]
    async fn login(&self, body: Json<LoginRequest>) -> Result<Json<Session>, LoginErrors> {
        self.check_email(&body.email).await?;
        let session = accounts::login(&self.services, &body.email, &body.password).await?;
        Ok(Json(Session::of(session, "Signed in")))
    }

    /// Validate the session
    ///
    /// The signed-in user, whole; the client calls it on every load.
    #[oai(path = "/validate", method = "get")]
    async fn validate(&self, auth: Auth) -> Result<Json<Validated>, SessionErrors> {
        Ok(Json(Validated {
            user: auth.account(&self.services).await?.into(),
            timestamp: Timestamp::now(),
        }))
    }

    /// Refresh the session
    ///
    /// Spends the refresh token and returns a new pair. The same token presented again
    /// within `REFRESH_REUSE_GRACE_SECS` gets the same pair (the client refreshes in parallel);
    /// later, it revokes the whole session (401 `refresh_token_reused`).
    #[oai(path = "/refresh", method = "post")]
    async fn refresh(&self, body: Json<RefreshRequest>) -> Result<Json<Session>, RefreshErrors> {
        let session = accounts::refresh(&self.services, &body.refresh_token).await?;
        Ok(Json(Session::of(session, "Session refreshed")))
    }

    /// Sign out
    ///
    /// Always 200. Ends the session named by the access token (if one is sent) and by the
    /// refresh token (if the body has one); the client sends `{}` after forgetting its tokens.
    #[oai(path = "/logout", method = "post")]
    async fn logout(
        &self,
        req: &poem::Request,
        body: Json<LogoutRequest>,
    ) -> Result<Json<Done>, LogoutErrors> {
        let session = optional_claims(&self.services, req).and_then(|claims| claims.sid);
        accounts::logout(&self.services, body.refresh_token.as_deref(), session).await?;
        Ok(Json(Done::new("Signed out")))
    }

    /// Sign in with Google
    ///
    /// Sends the browser to Google's consent page (OAuth 2 authorization code with PKCE).
    /// Without Google configured, back to the frontend with `?error=google_not_configured`.
    #[oai(path = "/google", method = "get")]
    async fn google(&self) -> Redirect {
        let config = self.services.settings().await;
        match google::start(&self.services, &config) {
            Ok(start) => Redirect::Found(start.redirect, Some(start.cookie)),
            Err(e) => Redirect::Found(google::frontend_failure(&config, &e.reason()), None),
        }
    }

    /// Google sign-in callback
    ///
    /// Where Google sends the browser back. Signs the user in (an existing account with the
    /// same Google-verified email is linked) and redirects to the frontend's
    /// `/oauth/callback?token=…&refreshToken=…&userId=…&email=…&name=…[&needsCompany=true]`,
    /// or to `/?error=<reason>`.
    #[oai(path = "/google/callback", method = "get")]
    async fn google_callback(
        &self,
        code: Query<Option<String>>,
        state: Query<Option<String>>,
        error: Query<Option<String>>,
        #[oai(name = "sb_google_state")] cookie: Cookie<Option<String>>,
    ) -> Result<Redirect, CallbackErrors> {
        // Whatever arrives here, the browser goes back to the frontend: no 4xx page a person
        // would be stranded on. Absurd lengths are a failed sign-in like any other.
        let config = self.services.settings().await;
        let clear = Some(google::clear_cookie());
        if let Some(error) = error.0 {
            // The user declined, or Google refused: say which, in its own word.
            let reason: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            return Ok(Redirect::Found(
                google::frontend_failure(&config, &reason),
                clear,
            ));
        }
        let bounded = |v: Option<String>, max: usize| v.filter(|v| v.len() <= max);
        let (Some(code), Some(state)) = (bounded(code.0, 2048), bounded(state.0, 512)) else {
            return Ok(Redirect::Found(
                google::frontend_failure(&config, "google_sign_in_failed"),
                clear,
            ));
        };
        Ok(
            match google::finish(&self.services, &config, &code, &state, cookie.0.as_deref()).await
            {
                Ok(signed) => Redirect::Found(google::frontend_success(&config, &signed), clear),
                Err(e) => {
                    tracing::warn!(reason = %e.reason(), "Google sign-in failed");
                    Redirect::Found(google::frontend_failure(&config, &e.reason()), clear)
                }
            },
        )
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
    ) -> Result<Json<Done>, ChangeErrors> {
        let me = auth.user(&self.services).await?;
        accounts::change_email(&self.services, me.id, &body.new_email, &body.password).await?;
        Ok(Json(Done::new(
            "A verification link was sent to the new address",
        )))
    }
}

/// The email-link flows at the client's paths: verification and password reset.
pub struct EmailApi {
    pub services: Services,
    pub limiter: std::sync::Arc<RateLimiter>,
}

#[OpenApi(prefix_path = "/api/email", tag = "Tag::Auth")]
impl EmailApi {
    /// Resend the verification email
    ///
    /// For the signed-in user (the verification gate's button); nothing is sent once the
    /// address is verified.
    #[oai(path = "/send-verification", method = "post")]
    async fn send_verification(&self, auth: Auth) -> Result<Json<VerificationSent>, SessionErrors> {
        let me = auth.user(&self.services).await?;
        let user = accounts::send_verification(&self.services, me.id).await?;
        let message = if user.email_verified_at.is_some() {
            "Your email address is already verified"
        } else {
            "Verification email sent"
        };
        Ok(Json(VerificationSent {
            success: true,
            message: message.into(),
            email: user.email,
            timestamp: Timestamp::now(),
        }))
    }

    /// Verify email
    ///
    /// The frontend's `/verify-email` page posts the token from the link.
    #[oai(path = "/verify", method = "post")]
    async fn verify(&self, body: Json<TokenRequest>) -> Result<Json<Verified>, VerifyErrors> {
        let user = accounts::verify_email(&self.services, &body.token).await?;
        Ok(Json(Verified {
            success: true,
            message: "Email verified".into(),
            user: VerifiedUser {
                id: user.id,
                email: user.email,
                email_verified: true,
            },
            timestamp: Timestamp::now(),
        }))
    }

    /// Forgot password
    ///
    /// Emails a link to the frontend's `/reset-password` page. The answer is the same
    /// whether or not the account exists.
    #[oai(path = "/send-password-reset", method = "post")]
    async fn send_password_reset(
        &self,
        body: Json<EmailRequest>,
    ) -> Result<Json<Done>, EmailActionErrors> {
        let limit = self.services.config.limits.auth_rate_per_email_per_min;
        self.limiter.check_email(limit, &body.email).await?;
        accounts::forgot_password(&self.services, &body.email).await?;
        Ok(Json(Done::new(
            "If an account exists for this address, a reset link is on its way",
        )))
    }

    /// Check a reset link
    ///
    /// Whether the token can still reset a password, without spending it.
    #[oai(path = "/validate-reset-token", method = "post")]
    async fn validate_reset_token(
        &self,
        body: Json<TokenRequest>,
    ) -> Result<Json<TokenValid>, VerifyErrors> {
        accounts::check_reset_token(&self.services, &body.token).await?;
        Ok(Json(TokenValid {
            success: true,
            valid: true,
        }))
    }

    /// Reset password
    ///
    /// Sets a new password from the emailed token and ends every session of the account.
    #[oai(path = "/reset-password", method = "post")]
    async fn reset_password(
        &self,
        body: Json<ResetPasswordRequest>,
    ) -> Result<Json<Done>, ResetErrors> {
        accounts::reset_password(&self.services, &body.token, &body.new_password).await?;
        Ok(Json(Done::new(
            "Password reset; sign in with the new password",
        )))
    }
}
