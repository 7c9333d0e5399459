//! Stack Auth access tokens: ES256 JWTs verified against the project's JWKS, with issuer and
//! audience pinned. Keys are cached for an hour, refetched when a token names an unknown `kid`
//! (at most once a minute), and kept when the JWKS host is briefly down.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use super::tokens::jwt_error;
use crate::platform::error::{AppError, AppResult};

const CACHE_TTL: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Deserialize)]
pub struct StackClaims {
    pub sub: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
}

pub struct StackVerifier {
    http: reqwest::Client,
    jwks_url: String,
    validation: Validation,
    keys: RwLock<Keys>,
    /// When the JWKS was last requested (successfully or not); bounds refetches.
    last_fetch: Mutex<Option<Instant>>,
    min_refetch: Duration,
}

impl StackVerifier {
    pub fn new(
        jwks_url: String,
        issuer: String,
        project_id: String,
        min_refetch: Duration,
    ) -> Self {
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[project_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            .build()
            .expect("reqwest client");
        Self {
            http,
            jwks_url,
            validation,
            keys: RwLock::new(Keys::default()),
            last_fetch: Mutex::new(None),
            min_refetch,
        }
    }

    pub async fn verify(&self, token: &str) -> AppResult<StackClaims> {
        super::tokens::reject_unsigned(token)?;
        let header = jsonwebtoken::decode_header(token).map_err(|e| jwt_error(e.kind()))?;
        if header.alg != Algorithm::ES256 {
            return Err(AppError::unauthorized(
                "invalid_algorithm",
                "the access token uses an algorithm that is not accepted",
            ));
        }
        let kid = header.kid.ok_or_else(|| {
            AppError::unauthorized("malformed_token", "the access token has no key id")
        })?;
        let key = self.key(&kid).await?;
        jsonwebtoken::decode::<StackClaims>(token, &key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| jwt_error(e.kind()))
    }

    async fn key(&self, kid: &str) -> AppResult<DecodingKey> {
        {
            let keys = self.keys.read().await;
            let fresh = keys.fetched_at.is_some_and(|t| t.elapsed() < CACHE_TTL);
            if let Some(key) = keys.by_kid.get(kid)
                && fresh
            {
                return Ok(key.clone());
            }
        }
        self.refresh().await;
        let keys = self.keys.read().await;
        keys.by_kid.get(kid).cloned().ok_or_else(|| {
            AppError::unauthorized(
                "unknown_key",
                "the access token is signed with an unknown key",
            )
        })
    }

    /// Refetches the JWKS unless that was tried less than `min_refetch` ago. On failure the cached
    /// keys stay in use.
    async fn refresh(&self) {
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|t| t.elapsed() < self.min_refetch) {
            return;
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(by_kid) => {
                let mut keys = self.keys.write().await;
                keys.by_kid = by_kid;
                keys.fetched_at = Some(Instant::now());
            }
            Err(e) => {
                tracing::warn!(error = %e, url = %self.jwks_url, "JWKS fetch failed; keeping cached keys")
            }
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let set: JwkSet = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        Ok(set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
            })
            .collect())
    }
}
