//! Platform settings admins change at run time (`system_config`). Secrets are stored encrypted
//! with AES-256-GCM under `CONFIG_ENCRYPTION_KEY` (a fresh nonce per value) and only ever shown
//! masked. A stored value overrides the environment's without a restart.
//!
//! Rotating the encryption key: read every secret with the old key, set `CONFIG_ENCRYPTION_KEY`
//! to the new one, and store the values again.

use aes_gcm::{
    Aes256Gcm, Nonce,
    aead::{Aead, AeadCore, KeyInit, OsRng},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, sea_query::OnConflict};
use uuid::Uuid;

use crate::{
    Config,
    entities::system_config,
    error::{AppError, AppResult},
};

/// The admin-settable ElevenLabs API key.
pub const ELEVENLABS_API_KEY: &str = "elevenlabs_api_key";

fn cipher(config: &Config) -> AppResult<Aes256Gcm> {
    let key = config.config_encryption_key.as_deref().ok_or_else(|| {
        AppError::unavailable(
            "encryption_not_configured",
            "CONFIG_ENCRYPTION_KEY is not set; secrets cannot be stored",
        )
    })?;
    let bytes = STANDARD
        .decode(key.trim())
        .map_err(|_| AppError::internal("CONFIG_ENCRYPTION_KEY is not base64"))?;
    Aes256Gcm::new_from_slice(&bytes)
        .map_err(|_| AppError::internal("CONFIG_ENCRYPTION_KEY is not 32 bytes"))
}

/// Stores `value` encrypted under `key`.
pub async fn set_secret<C: ConnectionTrait>(
    db: &C,
    config: &Config,
    key: &str,
    value: &str,
    actor: Option<Uuid>,
) -> AppResult<()> {
    let cipher = cipher(config)?;
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let sealed = cipher
        .encrypt(&nonce, value.as_bytes())
        .map_err(|_| AppError::internal("encryption failed"))?;
    let mut stored = nonce.to_vec();
    stored.extend_from_slice(&sealed);
    let row = system_config::ActiveModel {
        key: Set(key.into()),
        value: Set(STANDARD.encode(stored)),
        is_secret: Set(true),
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

/// The decrypted secret stored under `key`, if any.
pub async fn secret<C: ConnectionTrait>(
    db: &C,
    config: &Config,
    key: &str,
) -> AppResult<Option<String>> {
    let Some(row) = system_config::Entity::find_by_id(key.to_string())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let bytes = STANDARD
        .decode(&row.value)
        .map_err(|_| AppError::internal(format!("system_config {key} is corrupt")))?;
    if bytes.len() < 12 {
        return Err(AppError::internal(format!(
            "system_config {key} is corrupt"
        )));
    }
    let (nonce, sealed) = bytes.split_at(12);
    let nonce: [u8; 12] = nonce
        .try_into()
        .map_err(|_| AppError::internal("bad nonce"))?;
    let plain = cipher(config)?
        .decrypt(&Nonce::from(nonce), sealed)
        .map_err(|_| {
            AppError::internal(format!(
                "system_config {key} cannot be decrypted with CONFIG_ENCRYPTION_KEY"
            ))
        })?;
    String::from_utf8(plain)
        .map(Some)
        .map_err(|_| AppError::internal(format!("system_config {key} is not text")))
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

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn secrets_are_masked() {
        assert_eq!(mask("sk_live_abcdefa1b2"), "sk_…a1b2");
        assert_eq!(mask("short"), "…");
    }
}
