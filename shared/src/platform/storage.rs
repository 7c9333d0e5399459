//! Durable files (call recordings, large webhook bodies) behind a small trait, so a deployment
//! can swap the local directory for an object store without touching the callers. Blobs are
//! built in a local scratch file and moved in whole: a crash never leaves half a blob under
//! its key.

use std::{
    fmt::Debug,
    io,
    path::{Path, PathBuf},
};

#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + Debug {
    /// A fresh local path to build a blob in (then `put_file` it, or delete it).
    async fn scratch_path(&self) -> io::Result<PathBuf>;
    /// Moves the local file in under `key`, replacing what was there.
    async fn put_file(&self, key: &str, local: &Path) -> io::Result<()>;
    /// A local path to read the blob from.
    async fn local_path(&self, key: &str) -> io::Result<PathBuf>;
    /// Removes the blob; a missing one is not an error.
    async fn delete(&self, key: &str) -> io::Result<()>;
}

/// Blobs as files under one directory (a shared volume when there are several hosts).
#[derive(Debug, Clone)]
pub struct FileStore {
    root: PathBuf,
}

impl FileStore {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// Keys are relative paths of plain segments: nothing may escape the root.
    fn path_of(&self, key: &str) -> io::Result<PathBuf> {
        let valid = !key.is_empty()
            && key.split('/').all(|segment| {
                !segment.is_empty()
                    && segment != "."
                    && segment != ".."
                    && segment
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            });
        if valid {
            Ok(self.root.join(key))
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid blob key {key:?}"),
            ))
        }
    }
}

#[async_trait::async_trait]
impl BlobStore for FileStore {
    async fn scratch_path(&self) -> io::Result<PathBuf> {
        // Inside the root, so the final move is a rename on one filesystem.
        let dir = self.root.join("tmp");
        tokio::fs::create_dir_all(&dir).await?;
        Ok(dir.join(crate::platform::ids::next().to_string()))
    }

    async fn put_file(&self, key: &str, local: &Path) -> io::Result<()> {
        let path = self.path_of(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::rename(local, &path).await
    }

    async fn local_path(&self, key: &str) -> io::Result<PathBuf> {
        let path = self.path_of(key)?;
        tokio::fs::metadata(&path).await?;
        Ok(path)
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.path_of(key)?).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_cannot_escape_the_root() {
        let store = FileStore::new(PathBuf::from("/tmp/switchboard-store-test"));
        for key in ["", "../etc/passwd", "a//b", "/abs", "a/./b", "a b"] {
            assert!(store.path_of(key).is_err(), "{key}");
        }
        assert!(store.path_of("recordings/conv_1.mp3").is_ok());
    }

    #[tokio::test]
    async fn put_moves_a_whole_file_under_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().to_path_buf());
        let scratch = store.scratch_path().await.unwrap();
        tokio::fs::write(&scratch, b"audio").await.unwrap();
        store.put_file("recordings/c.mp3", &scratch).await.unwrap();
        assert!(!scratch.exists());
        let path = store.local_path("recordings/c.mp3").await.unwrap();
        assert_eq!(std::fs::read(path).unwrap(), b"audio");
        store.delete("recordings/c.mp3").await.unwrap();
        store.delete("recordings/c.mp3").await.unwrap();
        assert!(store.local_path("recordings/c.mp3").await.is_err());
    }
}
