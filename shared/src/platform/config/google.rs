//! Google sign-in (OAuth 2 authorization code): on when both the id and the secret are set.

use serde::{Deserialize, Serialize};

use super::Secret;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Google {
    #[serde(rename = "google_client_id")]
    pub client_id: Option<String>,
    #[serde(rename = "google_client_secret")]
    pub client_secret: Option<Secret>,
    /// Google's endpoints; changed only to point tests at a fake.
    #[serde(rename = "google_auth_url")]
    pub auth_url: String,
    #[serde(rename = "google_token_url")]
    pub token_url: String,
    #[serde(rename = "google_userinfo_url")]
    pub userinfo_url: String,
}

impl Default for Google {
    fn default() -> Self {
        Self {
            client_id: None,
            client_secret: None,
            auth_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            token_url: "https://oauth2.googleapis.com/token".into(),
            userinfo_url: "https://openidconnect.googleapis.com/v1/userinfo".into(),
        }
    }
}
