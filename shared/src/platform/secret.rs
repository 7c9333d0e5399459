//! A configuration secret: a string that never shows in `Debug` output (so a logged
//! configuration or error leaks no key) and is read only through `expose`. It still serialises
//! as itself, which the `secrecy` crate deliberately refuses: the run-time settings overlay
//! round-trips the whole configuration through JSON, and admins' views mask secrets there.

use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that hands it to a provider or a hash.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value_and_serde_keeps_it() {
        let secret = Secret::new("sk_live_abc");
        assert!(!format!("{secret:?}").contains("abc"));
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"sk_live_abc\"");
        let back: Secret = serde_json::from_str("\"sk_live_abc\"").unwrap();
        assert_eq!(back.expose(), "sk_live_abc");
    }
}
