//! `post_call_audio`: the call's recording, base64 inside the JSON body. It is decoded
//! straight into a scratch file (from the stored body on disk, or from the inbox row when it
//! was small), then moved under `recordings/<call id>.mp3` and linked to the call.

use std::io::Write;

use base64::Engine;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::{call_for, text};
use crate::{
    Services,
    entities::{agents, calls, webhook_events},
    platform::inbox,
    platform::jobs::JobError,
};

/// Base64 characters decoded per step (a multiple of 4).
const DECODE_STEP: usize = 64 * 1024;

/// Decodes standard base64 into `out` in steps; returns the decoded length.
fn decode_into(encoded: &str, out: &mut dyn Write) -> std::io::Result<u64> {
    let engine = base64::engine::general_purpose::STANDARD;
    let bytes = encoded.trim().as_bytes();
    let mut buf = vec![0u8; DECODE_STEP / 4 * 3];
    let mut total = 0u64;
    for step in bytes.chunks(DECODE_STEP) {
        let n = engine
            .decode_slice(step, &mut buf)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        out.write_all(&buf[..n])?;
        total += n as u64;
    }
    Ok(total)
}

/// Walks `{"data": {"full_audio": "<base64>"}}` and decodes the audio as it is met; every other
/// value is skipped without being kept. `None` when there is no audio.
struct Walk<'a> {
    out: &'a mut dyn Write,
    /// The object level: 0 the envelope, 1 `data`, 2 the audio string.
    depth: u8,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = Option<u64>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.depth == 2 {
            d.deserialize_str(self)
        } else {
            d.deserialize_map(self)
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an ElevenLabs post_call_audio event")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let wanted = if self.depth == 0 {
            "data"
        } else {
            "full_audio"
        };
        let out = self.out;
        let mut found = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == wanted {
                found = map.next_value_seed(Walk {
                    out: &mut *out,
                    depth: self.depth + 1,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        decode_into(v, self.out).map(Some).map_err(E::custom)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Decodes the audio of a body read from `reader` into the file at `dest`.
fn decode_body(reader: impl std::io::Read, dest: &std::path::Path) -> Result<Option<u64>, String> {
    let file = std::fs::File::create(dest).map_err(|e| e.to_string())?;
    let mut out = std::io::BufWriter::new(file);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let decoded = Walk {
        out: &mut out,
        depth: 0,
    }
    .deserialize(&mut de)
    .map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    Ok(decoded)
}

pub(super) async fn attach(
    services: &Services,
    row: &webhook_events::Model,
    agent: &agents::Model,
    event: &Value,
) -> Result<(), JobError> {
    let conversation = text(&event["data"], &["conversation_id"])
        .unwrap_or_default()
        .to_string();
    let stored = event.get("stored_body").and_then(Value::as_str);
    let scratch = services
        .blobs
        .scratch_path()
        .await
        .map_err(|e| JobError::Retryable(e.to_string()))?;
    let source = match stored {
        Some(key) => match services.blobs.local_path(key).await {
            Ok(path) => Some(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(JobError::Retryable(e.to_string())),
        },
        None => None,
    };
    if stored.is_some() && source.is_none() {
        return fail(services, row, agent, "the stored audio body is missing").await;
    }
    let payload = row.payload.clone();
    let dest = scratch.clone();
    let decoded = tokio::task::spawn_blocking(move || match source {
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
            decode_body(std::io::BufReader::new(file), &dest)
        }
        None => decode_body(payload.as_slice(), &dest),
    })
    .await
    .map_err(|e| JobError::Retryable(e.to_string()))?;
    let bytes = match decoded {
        Ok(Some(bytes)) if bytes > 0 => bytes,
        Ok(_) => {
            let _ = tokio::fs::remove_file(&scratch).await;
            return fail(services, row, agent, "the event carries no audio").await;
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&scratch).await;
            return fail(services, row, agent, &format!("unreadable audio: {e}")).await;
        }
    };

    let txn = crate::platform::db::begin_write(&services.db).await?;
    let (call, _) = call_for(&txn, agent, &conversation, crate::calls::Direction::Inbound).await?;
    let key = format!("recordings/{}.mp3", call.id);
    // Moved in before the commit: a crash in between leaves a recording a retry rewrites.
    if let Err(e) = services.blobs.put_file(&key, &scratch).await {
        let _ = tokio::fs::remove_file(&scratch).await;
        return Err(JobError::Retryable(e.to_string()));
    }
    let mut metadata = call.metadata.clone();
    metadata["recording_bytes"] = bytes.into();
    let mut active: calls::ActiveModel = call.into();
    active.recording_key = Set(Some(key));
    active.metadata = Set(metadata);
    active.updated_at = Set(Utc::now());
    active.update(&txn).await?;
    inbox::settle(
        &txn,
        row,
        inbox::InboxStatus::Processed,
        None,
        Some(agent.user_id),
    )
    .await?;
    txn.commit().await?;
    if let Some(stored) = stored {
        let _ = services.blobs.delete(stored).await;
    }
    tracing::info!(conversation, bytes, "call recording stored");
    Ok(())
}

/// A recording that cannot be had: recorded on the event for admins, never retried.
async fn fail(
    services: &Services,
    row: &webhook_events::Model,
    agent: &agents::Model,
    why: &str,
) -> Result<(), JobError> {
    tracing::warn!(event = %row.external_id, why, "post-call audio rejected");
    inbox::settle(
        &services.db,
        row,
        inbox::InboxStatus::Failed,
        Some(why.into()),
        Some(agent.user_id),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_audio_and_skips_everything_else() {
        let audio: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&audio);
        let body = serde_json::json!({
            "type": "post_call_audio",
            "event_timestamp": 1,
            "data": {"agent_id": "a", "conversation_id": "c", "full_audio": b64, "extra": [1, {"x": 2}]},
        })
        .to_string();
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.mp3");
        let n = decode_body(body.as_bytes(), &dest).unwrap();
        assert_eq!(n, Some(audio.len() as u64));
        assert_eq!(std::fs::read(&dest).unwrap(), audio);
    }

    #[test]
    fn no_audio_and_bad_base64_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.mp3");
        let none = r#"{"type":"post_call_audio","data":{"conversation_id":"c"}}"#;
        assert_eq!(decode_body(none.as_bytes(), &dest).unwrap(), None);
        let bad = r#"{"data":{"full_audio":"@@@@"}}"#;
        assert!(decode_body(bad.as_bytes(), &dest).is_err());
    }
}
