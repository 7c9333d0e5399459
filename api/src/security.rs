//! The security schemes of the contract, and turning a presented credential into the
//! `CurrentUser` through the one authenticator in `shared`.

use poem_openapi::{
    SecurityScheme,
    auth::{ApiKey, Bearer},
};
use shared::{
    AppResult, Services,
    accounts::auth::{Credential, CurrentUser},
    entities::users,
};

/// An access token: ours (built-in accounts) or Stack Auth's.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT")]
pub struct BearerToken(Bearer);

/// Stack Auth's access token, as the Stack SDK sends it.
#[derive(SecurityScheme)]
#[oai(ty = "api_key", key_name = "x-stack-access-token", key_in = "header")]
pub struct StackToken(ApiKey);

/// Either credential. Without one, the request is answered 401 `missing_token`.
#[derive(SecurityScheme)]
pub enum Auth {
    Stack(StackToken),
    Bearer(BearerToken),
}

impl Auth {
    /// The caller, verified; suspended accounts are refused with 403 `account_suspended`.
    pub async fn user(self, services: &Services) -> AppResult<CurrentUser> {
        Ok(CurrentUser::from(&self.account(services).await?))
    }

    /// The session (refresh-token family) a built-in access token names, if it names one.
    pub fn session_id(&self, services: &Services) -> Option<uuid::Uuid> {
        match self {
            Auth::Bearer(BearerToken(bearer)) => services
                .auth
                .access
                .verify(&bearer.token)
                .ok()
                .and_then(|claims| claims.sid),
            Auth::Stack(_) => None,
        }
    }

    /// `user`, with the whole account row (time zone, balance, settings).
    pub async fn account(self, services: &Services) -> AppResult<users::Model> {
        let credential = match self {
            Auth::Stack(StackToken(key)) => Credential::StackHeader(key.key),
            Auth::Bearer(BearerToken(bearer)) => Credential::Bearer(bearer.token),
        };
        let account = services
            .auth
            .authenticate_row(&services.db, &*services.settings().await, credential)
            .await?;
        // The request's log lines name who made it (the field is declared by the request span).
        tracing::Span::current().record("user_id", tracing::field::display(account.id));
        Ok(account)
    }
}

/// The session and user an optional `Authorization: Bearer` header names, for endpoints that
/// take a token when there is one and answer without (signing out, error reports).
pub fn optional_claims(
    services: &Services,
    req: &poem::Request,
) -> Option<shared::accounts::auth::tokens::AccessClaims> {
    let header = req.headers().get(poem::http::header::AUTHORIZATION)?;
    let token = header.to_str().ok()?.strip_prefix("Bearer ")?.trim();
    services.auth.access.verify(token).ok()
}
