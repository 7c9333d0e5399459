//! Our own tokens: short-lived access JWTs (HS256, algorithm pinned when verifying) and opaque
//! random tokens (refresh tokens, email links) that are stored only as SHA-256 hashes.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::platform::error::{AppError, AppResult};

const ISSUER: &str = "switchboard";
const AUDIENCE: &str = "switchboard-api";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    /// The user's session epoch when issued; a password change bumps it.
    pub epoch: i32,
    /// The session (refresh-token family) the token belongs to, so signing out and changing
    /// the password can tell the caller's own session from the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
}

pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: u64,
    /// Tags links that must keep working without a stored token (shared reports).
    links: Hmac<Sha256>,
}

impl AccessTokens {
    pub fn new(secret: &[u8], ttl_secs: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs,
            links: <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
                .expect("HMAC takes a key of any length"),
        }
    }

    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    pub fn issue(&self, user_id: Uuid, epoch: i32, sid: Option<Uuid>) -> AppResult<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            sub: user_id,
            iat: now,
            exp: now + self.ttl_secs as i64,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            epoch,
            sid,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::internal(format!("jwt encode: {e}")))
    }

    pub fn verify(&self, token: &str) -> AppResult<AccessClaims> {
        reject_unsigned(token)?;
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| jwt_error(e.kind()))
    }
}

impl AccessTokens {
    /// Signs short-lived claims of another purpose (the Google sign-in state) with the same
    /// key; `aud` keeps them from ever passing as an access token.
    pub fn sign_claims<T: Serialize>(&self, claims: &T) -> AppResult<String> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AppError::internal(format!("jwt encode: {e}")))
    }

    /// The claims of a [`sign_claims`](Self::sign_claims) token meant for `audience`.
    pub fn verify_claims<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        audience: &str,
    ) -> AppResult<T> {
        reject_unsigned(token)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        jsonwebtoken::decode::<T>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| jwt_error(e.kind()))
    }
}

impl AccessTokens {
    /// A link's token: an HMAC of `purpose` and `id` under the signing key, so it is shown again
    /// without being stored and stops working only when the link is revoked (or the key
    /// changes).
    pub fn link_token(&self, purpose: &str, id: Uuid) -> String {
        let mut mac = self.links.clone();
        Mac::update(&mut mac, purpose.as_bytes());
        Mac::update(&mut mac, b":");
        Mac::update(&mut mac, id.as_bytes());
        hex::encode(Mac::finalize(mac).into_bytes())
    }

    /// Whether `token` is [`link_token`](Self::link_token)'s for `purpose` and `id`, compared in
    /// constant time.
    pub fn verify_link_token(&self, purpose: &str, id: Uuid, token: &str) -> bool {
        let Ok(bytes) = hex::decode(token.trim()) else {
            return false;
        };
        let mut mac = self.links.clone();
        Mac::update(&mut mac, purpose.as_bytes());
        Mac::update(&mut mac, b":");
        Mac::update(&mut mac, id.as_bytes());
        mac.verify_slice(&bytes).is_ok()
    }
}

/// The issuer of every token we sign.
pub const fn issuer() -> &'static str {
    ISSUER
}

/// The 401 for a rejected JWT: a distinct code per reason, no detail beyond it.
pub fn jwt_error(kind: &ErrorKind) -> AppError {
    let (code, message) = match kind {
        ErrorKind::ExpiredSignature => ("token_expired", "the access token has expired"),
        ErrorKind::ImmatureSignature => {
            ("token_not_yet_valid", "the access token is not valid yet")
        }
        ErrorKind::InvalidSignature => {
            ("invalid_signature", "the access token signature is invalid")
        }
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm => (
            "invalid_algorithm",
            "the access token uses an algorithm that is not accepted",
        ),
        ErrorKind::InvalidAudience => (
            "invalid_audience",
            "the access token is not meant for this API",
        ),
        ErrorKind::InvalidIssuer => ("invalid_issuer", "the access token has an unknown issuer"),
        _ => ("malformed_token", "the access token is malformed"),
    };
    AppError::unauthorized(code, message)
}

/// Refuses `alg: none` tokens by name, before any library sees them: an unsigned token is an
/// attack, not a malformed request, and gets its own code.
pub fn reject_unsigned(token: &str) -> AppResult<()> {
    let alg = token
        .split('.')
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h.trim_end_matches('=')).ok())
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|header| {
            header
                .get("alg")
                .and_then(|a| a.as_str())
                .map(str::to_ascii_lowercase)
        });
    match alg.as_deref() {
        Some("none") => Err(AppError::unauthorized(
            "unsigned_token",
            "unsigned tokens are not accepted",
        )),
        Some(_) => Ok(()),
        None => Err(AppError::unauthorized(
            "malformed_token",
            "the access token is malformed",
        )),
    }
}

/// A new random token for a link or a refresh token: 256 bits, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored instead of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_round_trip_and_reject_tampering() {
        let tokens = AccessTokens::new(b"0123456789abcdef0123456789abcdef", 60);
        let id = Uuid::new_v4();
        let token = tokens.issue(id, 3, None).unwrap();
        let claims = tokens.verify(&token).unwrap();
        assert_eq!((claims.sub, claims.epoch), (id, 3));

        let other = AccessTokens::new(b"another-secret-another-secret-xx", 60);
        assert_eq!(
            other.verify(&token).unwrap_err().reason(),
            "invalid_signature"
        );
        assert_eq!(
            tokens.verify("not.a.jwt").unwrap_err().reason(),
            "malformed_token"
        );
    }

    #[test]
    fn random_tokens_are_unique_and_hashes_stable() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
    }
}
