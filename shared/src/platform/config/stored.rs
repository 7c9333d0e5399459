//! Settings admins store at run time: the keys that encrypt their secrets, and how often
//! every process re-reads them.

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, bad, comma_list};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredSettings {
    /// Base64 of 32 random bytes: the AES-256-GCM key that encrypts secrets admins store in
    /// `system_config` (e.g. `openssl rand -base64 32`). Without it, such secrets cannot be set.
    #[serde(rename = "config_encryption_key")]
    pub encryption_key: Option<Secret>,
    /// Keys used before a rotation of `CONFIG_ENCRYPTION_KEY`: values they sealed still open
    /// until `api reencrypt-settings` seals them under the current key.
    #[serde(
        rename = "config_encryption_previous_keys",
        deserialize_with = "comma_list"
    )]
    pub encryption_previous_keys: Vec<Secret>,
    /// How often each process re-reads the settings admins change at run time: a change
    /// reaches every gateway and worker replica within this time.
    #[serde(rename = "settings_refresh_ms")]
    pub refresh_ms: u64,
}

impl Default for StoredSettings {
    fn default() -> Self {
        Self {
            encryption_key: None,
            encryption_previous_keys: Vec::new(),
            refresh_ms: 2_000,
        }
    }
}

impl StoredSettings {
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        let current = self
            .encryption_key
            .iter()
            .map(|k| ("CONFIG_ENCRYPTION_KEY", k));
        let previous = self
            .encryption_previous_keys
            .iter()
            .map(|k| ("CONFIG_ENCRYPTION_PREVIOUS_KEYS", k));
        for (var, key) in current.chain(previous) {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD.decode(key.expose().trim());
            if decoded.map(|k| k.len()) != Ok(32) {
                return bad(var, "must be the base64 of exactly 32 bytes");
            }
        }
        if self.refresh_ms == 0 {
            return bad("SETTINGS_REFRESH_MS", "must be at least 1");
        }
        Ok(())
    }
}
