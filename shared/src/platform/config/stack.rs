//! Stack Auth, the identity provider of `AUTH_MODE=stack_auth`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Stack {
    #[serde(rename = "stack_project_id")]
    pub project_id: Option<String>,
    /// Defaults to Stack Auth's JWKS URL for the project.
    #[serde(rename = "stack_jwks_url")]
    pub jwks_url: Option<String>,
    /// Defaults to `https://api.stack-auth.com/api/v1/projects/<project id>`.
    #[serde(rename = "stack_issuer")]
    pub issuer: Option<String>,
    /// Least time between two JWKS fetches triggered by unknown key ids.
    #[serde(rename = "stack_jwks_min_refetch_secs")]
    pub jwks_min_refetch_secs: u64,
}

impl Default for Stack {
    fn default() -> Self {
        Self {
            project_id: None,
            jwks_url: None,
            issuer: None,
            jwks_min_refetch_secs: 60,
        }
    }
}

impl Stack {
    /// The issuer every token must carry.
    pub fn issuer_or_default(&self) -> Option<String> {
        self.issuer.clone().or_else(|| {
            self.project_id
                .as_ref()
                .map(|p| format!("https://api.stack-auth.com/api/v1/projects/{p}"))
        })
    }

    pub fn jwks_url_or_default(&self) -> Option<String> {
        self.jwks_url.clone().or_else(|| {
            self.project_id.as_ref().map(|p| {
                format!("https://api.stack-auth.com/api/v1/projects/{p}/.well-known/jwks.json")
            })
        })
    }
}
