//! The `system_config` table: admin-set values, stored as JSON text. Secrets are sealed with
//! AES-256-GCM under `CONFIG_ENCRYPTION_KEY` (a fresh nonce per value) and only ever shown
//! masked; `CONFIG_ENCRYPTION_PREVIOUS_KEYS` still opens values sealed before a key rotation
//! until `api reencrypt-settings` has sealed them again under the current key.

use aes_gcm::{
    Aes256Gcm, Nonce,
    aead::{Aead, AeadCore, KeyInit, OsRng},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder,
    sea_query::OnConflict,
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    Config,
    entities::system_config,
    platform::error::{AppError, AppResult},
    platform::secret::Secret,
};

/// The admin-settable ElevenLabs API key.
pub const ELEVENLABS_API_KEY: &str = "elevenlabs_api_key";

const NONCE_LEN: usize = 12;

fn cipher_for(key: &str) -> AppResult<Aes256Gcm> {
    let bytes = STANDARD
        .decode(key.trim())
        .map_err(|_| AppError::internal("CONFIG_ENCRYPTION_KEY is not base64"))?;
    Aes256Gcm::new_from_slice(&bytes)
        .map_err(|_| AppError::internal("CONFIG_ENCRYPTION_KEY is not 32 bytes"))
}

fn current_cipher(config: &Config) -> AppResult<Aes256Gcm> {
    let key = config
        .settings
        .encryption_key
        .as_ref()
        .map(Secret::expose)
        .ok_or_else(|| {
            AppError::unavailable(
                "encryption_not_configured",
                "CONFIG_ENCRYPTION_KEY is not set; secrets cannot be stored",
            )
        })?;
    cipher_for(key)
}

/// `base64(nonce ‖ ciphertext)` of `plain` under `cipher`, with a fresh nonce.
pub fn seal_with(cipher: &Aes256Gcm, plain: &str) -> AppResult<String> {
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let sealed = cipher
        .encrypt(&nonce, plain.as_bytes())
        .map_err(|_| AppError::internal("encryption failed"))?;
    let mut stored = nonce.to_vec();
    stored.extend_from_slice(&sealed);
    Ok(STANDARD.encode(stored))
}

/// The plain text of a [`seal_with`] value, if `cipher` opens it.
pub fn open_with(cipher: &Aes256Gcm, stored: &str) -> Option<String> {
    let bytes = STANDARD.decode(stored).ok()?;
    if bytes.len() < NONCE_LEN {
        return None;
    }
    let (nonce, sealed) = bytes.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    let plain = cipher.decrypt(&Nonce::from(nonce), sealed).ok()?;
    String::from_utf8(plain).ok()
}

/// `base64(nonce ‖ ciphertext)` of `plain` under the current key.
pub fn seal(config: &Config, plain: &str) -> AppResult<String> {
    seal_with(&current_cipher(config)?, plain)
}

/// Opens a sealed value with the current key or, after a rotation, a previous one.
pub fn open(config: &Config, key: &str, stored: &str) -> AppResult<String> {
    let keys = config
        .settings
        .encryption_key
        .iter()
        .chain(&config.settings.encryption_previous_keys);
    for candidate in keys {
        if let Some(plain) = open_with(&cipher_for(candidate.expose())?, stored) {
            return Ok(plain);
        }
    }
    Err(AppError::internal(format!(
        "system_config {key} cannot be decrypted with CONFIG_ENCRYPTION_KEY or \
         CONFIG_ENCRYPTION_PREVIOUS_KEYS"
    )))
}

/// A stored value as JSON; text that is not JSON (older rows) is a JSON string.
pub fn decode(config: &Config, row: &system_config::Model) -> AppResult<Value> {
    let text = if row.is_secret {
        open(config, &row.key, &row.value)?
    } else {
        row.value.clone()
    };
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Every stored row, by key.
pub async fn rows<C: ConnectionTrait>(db: &C) -> AppResult<Vec<system_config::Model>> {
    Ok(system_config::Entity::find()
        .order_by_asc(system_config::Column::Key)
        .all(db)
        .await?)
}

/// Stores `value` under `key`, sealed when `secret`.
pub async fn put<C: ConnectionTrait>(
    db: &C,
    config: &Config,
    key: &str,
    value: &Value,
    secret: bool,
    actor: Option<Uuid>,
) -> AppResult<()> {
    let text = value.to_string();
    let stored = if secret { seal(config, &text)? } else { text };
    let row = system_config::ActiveModel {
        key: Set(key.into()),
        value: Set(stored),
        is_secret: Set(secret),
        updated_by: Set(actor),
        updated_at: Set(Utc::now()),
    };
    system_config::Entity::insert(row)
        .on_conflict(
            OnConflict::column(system_config::Column::Key)
                .update_columns([
                    system_config::Column::Value,
                    system_config::Column::IsSecret,
                    system_config::Column::UpdatedBy,
                    system_config::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Removes the stored value of `key`: the start-up configuration applies again.
pub async fn remove<C: ConnectionTrait>(db: &C, key: &str) -> AppResult<()> {
    system_config::Entity::delete_by_id(key.to_string())
        .exec(db)
        .await?;
    Ok(())
}

/// Stores a text secret (the ElevenLabs key, …) encrypted under `key`.
pub async fn set_secret<C: ConnectionTrait>(
    db: &C,
    config: &Config,
    key: &str,
    value: &str,
    actor: Option<Uuid>,
) -> AppResult<()> {
    put(db, config, key, &Value::String(value.into()), true, actor).await
}

/// Seals every secret again under the current key (the last step of a key rotation); returns
/// how many were rewritten. One transaction: a failure leaves every value as it was.
pub async fn reencrypt(db: &DatabaseConnection, config: &Config) -> AppResult<usize> {
    let txn = crate::platform::db::begin_write(db).await?;
    let mut count = 0;
    for row in rows(&txn).await? {
        if !row.is_secret {
            continue;
        }
        let value = decode(config, &row)?;
        put(&txn, config, &row.key, &value, true, row.updated_by).await?;
        count += 1;
    }
    txn.commit().await?;
    Ok(count)
}

/// How a secret is shown: its first characters and last four, the rest hidden.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        return "…".to_string();
    }
    let head: String = chars.iter().take(3).collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// `value` with every string in it masked.
pub fn mask_value(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(mask(s)),
        Value::Array(items) => Value::Array(items.iter().map(mask_value).collect()),
        Value::Null => Value::Null,
        _ => Value::String("…".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked() {
        assert_eq!(mask("sk_live_abcdefa1b2"), "sk_…a1b2");
        assert_eq!(mask("short"), "…");
        assert_eq!(
            mask_value(&serde_json::json!(["wsec_0123456789", "tiny"])),
            serde_json::json!(["wse…6789", "…"])
        );
    }

    #[test]
    fn values_sealed_under_a_previous_key_still_open() {
        let old = STANDARD.encode([7u8; 32]);
        let new = STANDARD.encode([9u8; 32]);
        let keys = |current: &str, previous: Vec<String>| {
            let mut config = Config::default();
            config.settings.encryption_key = Some(current.into());
            config.settings.encryption_previous_keys =
                previous.into_iter().map(Into::into).collect();
            config
        };
        let before = keys(&old, vec![]);
        let sealed = seal(&before, "\"sk_test_123456789\"").unwrap();
        let rotated = keys(&new, vec![old]);
        assert_eq!(
            open(&rotated, "k", &sealed).unwrap(),
            "\"sk_test_123456789\""
        );
        let forgotten = keys(&new, vec![]);
        assert!(open(&forgotten, "k", &sealed).is_err());
    }
}
