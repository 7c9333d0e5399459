//! Sign-in with Google: the OAuth 2 authorization-code flow with PKCE (the `oauth2` crate over
//! our own reqwest client), then Google's userinfo. The state and the PKCE verifier travel in a
//! short-lived signed cookie, so nothing is stored before the user comes back. A Google
//! account is found by its `sub`; an existing account with the same address is linked (not
//! duplicated) when Google has verified that address; otherwise a new account is created with
//! the welcome credits.

use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl, basic::BasicClient,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use super::accounts::{self, Session};
use crate::{
    Config, Services,
    accounts::users::{NewUser, UserStatus, normalize_email},
    entities::users,
    platform::error::{AppError, AppResult},
};

/// Seconds the user has to come back from Google.
const STATE_TTL_SECS: i64 = 600;
const AUDIENCE: &str = "switchboard-google-state";
/// The cookie that carries the state between the two legs.
pub const STATE_COOKIE: &str = "sb_google_state";

#[derive(Debug, Serialize, Deserialize)]
struct StateClaims {
    iss: String,
    aud: String,
    exp: i64,
    state: String,
    verifier: String,
}

/// Where to send the browser, and the cookie to set on that answer.
pub struct Start {
    pub redirect: String,
    pub cookie: String,
}

/// The signed-in user, and whether the frontend should ask for their company.
pub struct SignedIn {
    pub session: Session,
    pub needs_company: bool,
}

struct Credentials {
    id: String,
    secret: String,
}

fn credentials(config: &Config) -> AppResult<Credentials> {
    match (&config.google.client_id, &config.google.client_secret) {
        (Some(id), Some(secret)) if !id.is_empty() && !secret.expose().is_empty() => {
            Ok(Credentials {
                id: id.clone(),
                secret: secret.expose().to_string(),
            })
        }
        _ => Err(AppError::unavailable(
            "google_not_configured",
            "Google sign-in is not configured (GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET)",
        )),
    }
}

/// The callback Google returns to: this gateway's own address.
pub fn callback_url(config: &Config) -> String {
    format!(
        "{}/api/auth/google/callback",
        config.server.public_base_url.trim_end_matches('/')
    )
}

fn bad_url(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("Google endpoint URL: {e}"))
}

/// The first leg: Google's consent page with a fresh state and PKCE challenge.
pub fn start(services: &Services, config: &Config) -> AppResult<Start> {
    let creds = credentials(config)?;
    let client = BasicClient::new(ClientId::new(creds.id))
        .set_client_secret(ClientSecret::new(creds.secret))
        .set_auth_uri(AuthUrl::new(config.google.auth_url.clone()).map_err(bad_url)?)
        .set_redirect_uri(RedirectUrl::new(callback_url(config)).map_err(bad_url)?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let claims = StateClaims {
        iss: super::tokens::issuer().into(),
        aud: AUDIENCE.into(),
        exp: chrono::Utc::now().timestamp() + STATE_TTL_SECS,
        state: state.secret().clone(),
        verifier: verifier.secret().clone(),
    };
    let value = services.auth.access.sign_claims(&claims)?;
    let secure = if config.server.public_base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    Ok(Start {
        redirect: url.to_string(),
        cookie: format!(
            "{STATE_COOKIE}={value}; Path=/api/auth/google; Max-Age={STATE_TTL_SECS}; HttpOnly; SameSite=Lax{secure}"
        ),
    })
}

/// The cookie that removes the state once used.
pub fn clear_cookie() -> String {
    format!("{STATE_COOKIE}=; Path=/api/auth/google; Max-Age=0; HttpOnly; SameSite=Lax")
}

#[derive(Debug, thiserror::Error)]
enum HttpError {
    #[error(transparent)]
    Reqwest(#[from] reqwest::Error),
    #[error(transparent)]
    Http(#[from] http::Error),
}

/// oauth2's requests sent with our reqwest (never following redirects: SSRF). A named client
/// with a boxed `Send` future, so the handler's future stays `Send`.
struct Http(reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + 'c>,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.0.execute(reqwest::Request::try_from(request)?).await?;
            let mut builder = http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            Ok(builder.body(response.bytes().await?.to_vec())?)
        })
    }
}

#[derive(Debug, Deserialize)]
struct GoogleUser {
    sub: String,
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
    name: Option<String>,
}

fn refused(message: impl Into<String>) -> AppError {
    AppError::bad_request("google_sign_in_failed", message)
}

/// The second leg: checks the state against the cookie, exchanges the code, reads who the
/// user is and signs them in (finding, linking or creating the account).
pub async fn finish(
    services: &Services,
    config: &Config,
    code: &str,
    state: &str,
    cookie: Option<&str>,
) -> AppResult<SignedIn> {
    let creds = credentials(config)?;
    let claims: StateClaims = services
        .auth
        .access
        .verify_claims(cookie.unwrap_or_default(), AUDIENCE)
        .map_err(|_| refused("the sign-in took too long or began in another browser"))?;
    if claims.state != state {
        return Err(refused("the sign-in state does not match"));
    }
    let client = BasicClient::new(ClientId::new(creds.id))
        .set_client_secret(ClientSecret::new(creds.secret))
        .set_token_uri(TokenUrl::new(config.google.token_url.clone()).map_err(bad_url)?)
        .set_redirect_uri(RedirectUrl::new(callback_url(config)).map_err(bad_url)?);
    let http = Http(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(AppError::internal)?,
    );
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .set_pkce_verifier(PkceCodeVerifier::new(claims.verifier))
        .request_async(&http)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "Google refused the authorization code");
            refused("Google did not accept the sign-in")
        })?;
    let who: GoogleUser = http
        .0
        .get(&config.google.userinfo_url)
        .bearer_auth(token.access_token().secret())
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| {
            tracing::warn!(error = %e, "Google userinfo failed");
            AppError::Provider {
                code: "provider_unavailable",
                message: "Google did not say who signed in".into(),
            }
        })?
        .json()
        .await
        .map_err(|_| refused("Google's answer was not understood"))?;
    sign_in(services, config, who).await
}

async fn sign_in(services: &Services, config: &Config, who: GoogleUser) -> AppResult<SignedIn> {
    let db = &services.db;
    let by_subject = users::Entity::find()
        .filter(users::Column::GoogleSubject.eq(who.sub.as_str()))
        .one(db)
        .await?;
    let user = match by_subject {
        Some(user) => user,
        None => {
            let email = who
                .email
                .as_deref()
                .and_then(|e| normalize_email(e).ok())
                .ok_or_else(|| refused("the Google account has no usable email address"))?;
            let existing = users::Entity::find()
                .filter(users::Column::Email.eq(email.as_str()))
                .one(db)
                .await?;
            match existing {
                // Linked only when Google vouches for the address: otherwise anyone could
                // claim an account by naming its email on a Google account.
                Some(user) if who.email_verified && user.google_subject.is_none() => {
                    let mut active: users::ActiveModel = user.into();
                    active.google_subject = Set(Some(who.sub.clone()));
                    if active.email_verified_at.as_ref().is_none() {
                        active.email_verified_at = Set(Some(chrono::Utc::now()));
                    }
                    active.updated_at = Set(chrono::Utc::now());
                    let user = active.update(db).await?;
                    tracing::info!(user_id = %user.id, "Google account linked");
                    user
                }
                Some(_) => {
                    return Err(AppError::conflict(
                        "email_taken",
                        "An account with this email already exists; sign in with its password",
                    ));
                }
                None => {
                    let txn = crate::platform::db::begin_write(db).await?;
                    let (user, _) = crate::accounts::users::create_in(
                        &txn,
                        config,
                        NewUser {
                            email,
                            external_id: None,
                            auth_provider: "google".into(),
                            password_hash: None,
                            name: who.name.clone(),
                            email_verified: who.email_verified,
                            google_subject: Some(who.sub.clone()),
                        },
                    )
                    .await?;
                    txn.commit().await?;
                    tracing::info!(user_id = %user.id, "account created with Google");
                    user
                }
            }
        }
    };
    if user.status == UserStatus::Suspended {
        return Err(AppError::forbidden(
            "account_suspended",
            "this account is suspended",
        ));
    }
    let needs_company = user.company.is_none();
    let session = accounts::start_session(services, user).await?;
    Ok(SignedIn {
        session,
        needs_company,
    })
}

/// The frontend's `/oauth/callback` page with the session, as it reads it from the query.
pub fn frontend_success(config: &Config, signed: &SignedIn) -> String {
    let user = &signed.session.user;
    let mut params = vec![
        ("token", signed.session.access_token.clone()),
        ("refreshToken", signed.session.refresh_token.clone()),
        ("userId", user.id.to_string()),
        ("email", user.email.clone()),
        ("name", user.name.clone().unwrap_or_default()),
    ];
    if signed.needs_company {
        params.push(("needsCompany", "true".into()));
    }
    frontend_url(config, "/oauth/callback", &params)
}

/// The frontend's sign-in page with the reason the sign-in failed.
pub fn frontend_failure(config: &Config, reason: &str) -> String {
    frontend_url(config, "/", &[("error", reason.to_string())])
}

fn frontend_url(config: &Config, path: &str, params: &[(&str, String)]) -> String {
    let base = format!("{}{path}", config.server.frontend_url.trim_end_matches('/'));
    reqwest::Url::parse_with_params(&base, params)
        .map(String::from)
        .unwrap_or(base)
}
