//! Stored files, recordings and contact imports.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, bad};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Uploads {
    /// Where files (call recordings, large webhook bodies) are kept; default `<data_dir>/files`.
    /// Gateways and workers must share it (one volume) when they run on several hosts.
    pub storage_dir: Option<PathBuf>,
    /// Largest ElevenLabs webhook body accepted (`post_call_audio` carries the whole call).
    pub recording_max_bytes: usize,
    /// Most contacts one import file may hold; a larger file imports nothing.
    pub import_max_rows: usize,
    /// Largest import file accepted.
    pub import_max_bytes: usize,
    /// How long the Contacts screen's upload waits for its import before it answers with the
    /// counts so far (the import goes on in the background).
    pub import_wait_secs: u64,
}

impl Default for Uploads {
    fn default() -> Self {
        Self {
            storage_dir: None,
            recording_max_bytes: 50 * 1024 * 1024,
            import_max_rows: 1_000,
            import_max_bytes: 10 * 1024 * 1024,
            import_wait_secs: 30,
        }
    }
}

impl Uploads {
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.import_max_rows == 0 {
            return bad("IMPORT_MAX_ROWS", "must be at least 1");
        }
        if self.import_max_bytes == 0 {
            return bad("IMPORT_MAX_BYTES", "must be at least 1");
        }
        if self.import_wait_secs > 300 {
            return bad("IMPORT_WAIT_SECS", "must be at most 300");
        }
        Ok(())
    }
}
