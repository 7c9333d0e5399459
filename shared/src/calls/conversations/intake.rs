//! Intake of ElevenLabs post-call webhooks, on the hot path: stream the body through the
//! signature check, keep it in memory when small and spill it to the blob store when large
//! (`post_call_audio` carries the whole call), store it in the inbox, answer. Nothing is
//! parsed beyond the envelope, and no body is ever held twice.

use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::{Envelope, SignatureCheck};
use crate::{
    Services,
    platform::error::{AppError, AppResult},
    platform::inbox::{self, Delivery},
    platform::jobs::JobKind,
};

const CHUNK: usize = 64 * 1024;

/// What became of a delivery.
#[derive(Debug)]
pub struct Intake {
    /// `type:conversation_id`, the deduplication key.
    pub key: String,
    /// False when this delivery repeated one already stored.
    pub new: bool,
    pub bytes: u64,
}

/// A body on its way in: in memory until it outgrows `MAX_BODY_BYTES`, then in a scratch file.
struct Spool {
    memory: Vec<u8>,
    file: Option<(std::path::PathBuf, tokio::io::BufWriter<tokio::fs::File>)>,
}

impl Spool {
    async fn write(&mut self, services: &Services, chunk: &[u8]) -> std::io::Result<()> {
        if self.file.is_none()
            && self.memory.len() + chunk.len() <= services.config.server.max_body_bytes
        {
            self.memory.extend_from_slice(chunk);
            return Ok(());
        }
        if self.file.is_none() {
            let path = services.blobs.scratch_path().await?;
            let mut file = tokio::io::BufWriter::new(tokio::fs::File::create(&path).await?);
            let memory = std::mem::take(&mut self.memory);
            let written = file.write_all(&memory).await;
            self.file = Some((path, file));
            written?;
        }
        match &mut self.file {
            Some((_, file)) => file.write_all(chunk).await,
            None => Ok(()),
        }
    }

    async fn discard(self) {
        if let Some((path, _)) = self.file {
            let _ = tokio::fs::remove_file(path).await;
        }
    }
}

/// Verifies and stores one delivery. Errors: 401 (signature), 413 (over
/// `RECORDING_MAX_BYTES`), 400 (not an event), 503 (not configured, database down).
pub async fn receive(
    services: &Services,
    signature: Option<&str>,
    mut body: impl AsyncRead + Unpin + Send,
) -> AppResult<Intake> {
    let now = chrono::Utc::now().timestamp();
    let config = services.settings().await;
    let mut check = SignatureCheck::start(&config, signature, now)?;
    let limit = config.uploads.recording_max_bytes;
    let mut spool = Spool {
        memory: Vec::new(),
        file: None,
    };
    let mut chunk = vec![0u8; CHUNK];
    let mut total = 0usize;
    loop {
        let n = match body.read(&mut chunk).await {
            Ok(n) => n,
            Err(e) => {
                spool.discard().await;
                return Err(AppError::bad_request("unreadable_body", e.to_string()));
            }
        };
        if n == 0 {
            break;
        }
        total += n;
        if total > limit {
            spool.discard().await;
            return Err(AppError::PayloadTooLarge { limit });
        }
        check.update(&chunk[..n]);
        if let Err(e) = spool.write(services, &chunk[..n]).await {
            spool.discard().await;
            return Err(AppError::internal(format!("spooling a webhook body: {e}")));
        }
    }
    if let Err(e) = check.finish() {
        spool.discard().await;
        return Err(e);
    }
    let bytes = total as u64;
    match spool.file {
        None => {
            let envelope = Envelope::parse(&spool.memory)?;
            let key = envelope.dedup_key();
            let new = store(services, &envelope, &key, &spool.memory).await?;
            Ok(Intake { key, new, bytes })
        }
        Some((path, mut file)) => {
            let result = async {
                file.flush().await.map_err(AppError::internal)?;
                drop(file);
                let reader_path = path.clone();
                let envelope = tokio::task::spawn_blocking(move || {
                    let file = std::fs::File::open(reader_path).map_err(AppError::internal)?;
                    Envelope::read(std::io::BufReader::new(file))
                })
                .await
                .map_err(AppError::internal)??;
                let key = envelope.dedup_key();
                let blob = format!("incoming/{}.json", crate::platform::ids::next());
                services
                    .blobs
                    .put_file(&blob, &path)
                    .await
                    .map_err(AppError::internal)?;
                // The inbox row names the stored body instead of holding it.
                let stub = json!({
                    "type": envelope.event_type,
                    "data": {
                        "conversation_id": envelope.data.conversation_id,
                        "agent_id": envelope.data.agent_id,
                    },
                    "stored_body": blob,
                });
                let stored = store(services, &envelope, &key, stub.to_string().as_bytes()).await;
                if !matches!(stored, Ok(true)) {
                    let _ = services.blobs.delete(&blob).await;
                }
                Ok(Intake {
                    key,
                    new: stored?,
                    bytes,
                })
            }
            .await;
            let _ = tokio::fs::remove_file(&path).await;
            result
        }
    }
}

async fn store(
    services: &Services,
    envelope: &Envelope,
    key: &str,
    payload: &[u8],
) -> AppResult<bool> {
    inbox::receive(
        services,
        JobKind::ConversationEvent,
        Delivery {
            provider: "elevenlabs",
            external_id: key,
            event_type: &envelope.event_type,
            payload,
        },
    )
    .await
}
