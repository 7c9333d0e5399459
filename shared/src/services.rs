//! What every process holds: the configuration, the database and the job queue.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    Config,
    platform::credentials::Authenticator,
    platform::error::AppResult,
    platform::jobs::JobQueue,
    platform::settings::Settings,
    platform::storage::{BlobStore, FileStore},
};

#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub queue: JobQueue,
    /// The process's Redis connection when `REDIS_URL` is set: the queue travels on it, and the
    /// gateway's rate limits count on it.
    pub redis: Option<redis::aio::ConnectionManager>,
    pub auth: Arc<Authenticator>,
    /// Short-lived copies of ElevenLabs listings (voices, phone numbers, agent names).
    pub listing_cache: crate::platform::cache::ListingCache,
    /// Recordings and large webhook bodies.
    pub blobs: Arc<dyn BlobStore>,
    /// The configuration with the values admins changed at run time.
    pub settings: Arc<Settings>,
    /// The feature flags as last read (refreshed like the settings).
    pub features: Arc<crate::admin::features::FlagCache>,
    /// The admin WebSocket's figures, shared by every admin watching this process.
    pub realtime: Arc<crate::admin::realtime::RealtimeCache>,
    /// The webhook inbox's group commit.
    pub intake: Arc<crate::platform::intake::Intake>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl Services {
    /// Everything a process holds around its database connection: the queue, Redis, the
    /// credential verifiers, the blob store and the settings cache. `startup::start` connects,
    /// prepares the database and calls this.
    pub async fn assemble(config: Config, db: DatabaseConnection) -> AppResult<Self> {
        let redis = match &config.jobs.redis_url {
            Some(url) => Some(crate::platform::jobs::connect_redis(url).await?),
            None => None,
        };
        let queue = JobQueue::connect(&config, &db, redis.clone()).await?;
        let auth = Arc::new(Authenticator::new(&config)?);
        let blobs = Arc::new(FileStore::new(config.storage_dir()));
        let config = Arc::new(config);
        Ok(Self {
            settings: Arc::new(Settings::new(config.clone())),
            features: Arc::new(crate::admin::features::FlagCache::new(
                std::time::Duration::from_millis(config.settings.refresh_ms),
            )),
            realtime: Default::default(),
            intake: Default::default(),
            config,
            db,
            queue,
            redis,
            auth,
            listing_cache: Default::default(),
            blobs,
        })
    }

    /// The configuration in force, with admins' run-time changes: what every use of a
    /// changeable setting (keys, prices, limits, mail) reads. `config` is the start-up one.
    pub async fn settings(&self) -> Arc<Config> {
        self.settings.current(&self.db).await
    }

    /// Database and queue reachability, each as `Err(reason)` when down.
    pub async fn readiness(&self) -> (Result<(), String>, Result<(), String>) {
        let db = async {
            tokio::time::timeout(std::time::Duration::from_secs(2), self.db.ping())
                .await
                .map_err(|_| "database ping timed out".to_string())?
                .map_err(|e| e.to_string())
        };
        let queue = async { self.queue.ping().await.map_err(|e| e.to_string()) };
        tokio::join!(db, queue)
    }
}
