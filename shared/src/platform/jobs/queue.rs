//! The doorbell: one queue per job kind, in Redis (production) or in the embedded SQLite file.

use std::time::Duration;

use apalis::prelude::TaskSink;
use apalis_redis::RedisStorage;
use apalis_sqlite::SqliteStorage;
use redis::aio::ConnectionManager;
use sea_orm::{DatabaseConnection, sqlx::SqlitePool};

use super::{JobKind, JobMessage};
use crate::{
    platform::config::Config,
    platform::error::{AppError, AppResult},
};

/// Messages moved per Lua call when promoting due messages (well under Lua's unpack limit).
const PROMOTE_CHUNK: u64 = 1000;

/// Connects to Redis at `url`: timeouts short enough that an outage fails a request instead of
/// hanging it, one retry. The connection manager reconnects by itself afterwards.
pub async fn connect_redis(url: &str) -> AppResult<ConnectionManager> {
    let client =
        redis::Client::open(url).map_err(|e| AppError::internal(format!("REDIS_URL: {e}")))?;
    let manager_config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(1);
    tokio::time::timeout(
        Duration::from_secs(5),
        ConnectionManager::new_with_config(client, manager_config),
    )
    .await
    .map_err(|_| AppError::unavailable("queue_unavailable", "REDIS_URL: connection timed out"))?
    .map_err(|e| AppError::unavailable("queue_unavailable", format!("REDIS_URL: {e}")))
}

/// How long a producer waits for the queue before leaving the job to the sweeper.
const PUSH_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub enum JobQueue {
    Redis {
        conn: ConnectionManager,
        prefix: String,
    },
    Sqlite {
        pool: SqlitePool,
        prefix: String,
    },
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobQueue::Redis { prefix, .. } => write!(f, "JobQueue::Redis({prefix})"),
            JobQueue::Sqlite { prefix, .. } => write!(f, "JobQueue::Sqlite({prefix})"),
        }
    }
}

impl JobQueue {
    /// On `redis` (the process's connection, when `REDIS_URL` is set), otherwise the embedded
    /// queue in the SQLite database.
    pub async fn connect(
        config: &Config,
        db: &DatabaseConnection,
        redis: Option<ConnectionManager>,
    ) -> AppResult<Self> {
        let prefix = config.jobs.queue_prefix.clone();
        if let Some(conn) = redis {
            return Ok(JobQueue::Redis { conn, prefix });
        }
        if !config.database.is_sqlite() {
            return Err(AppError::internal("REDIS_URL is required without SQLite"));
        }
        let pool = db.get_sqlite_connection_pool().clone();
        SqliteStorage::migrations()
            .run(&pool)
            .await
            .map_err(|e| AppError::internal(format!("embedded queue migration: {e}")))?;
        Ok(JobQueue::Sqlite { pool, prefix })
    }

    /// The queue a kind's messages travel on, e.g. `switchboard:send_email`.
    pub fn queue_name(&self, kind: JobKind) -> String {
        format!("{}:{}", self.prefix(), kind)
    }

    /// The namespace of this deployment's keys (`QUEUE_PREFIX`).
    pub fn prefix(&self) -> &str {
        match self {
            JobQueue::Redis { prefix, .. } | JobQueue::Sqlite { prefix, .. } => prefix,
        }
    }

    pub fn redis_storage(&self, kind: JobKind) -> Option<RedisStorage<JobMessage>> {
        match self {
            JobQueue::Redis { conn, .. } => Some(
                RedisStorage::new(conn.clone()).with_config(
                    apalis_redis::Config::default()
                        .queue(self.queue_name(kind))
                        .persist_results(false),
                ),
            ),
            JobQueue::Sqlite { .. } => None,
        }
    }

    pub fn sqlite_storage(&self, kind: JobKind) -> Option<SqliteStorage<JobMessage>> {
        match self {
            JobQueue::Sqlite { pool, .. } => Some(
                SqliteStorage::new(pool).with_config(
                    apalis_sqlite::Config::default()
                        .queue(self.queue_name(kind))
                        .persist_results(false),
                ),
            ),
            JobQueue::Redis { .. } => None,
        }
    }

    /// Pushes one message; fails (rather than hangs) when the queue is unreachable.
    pub async fn push(&self, kind: JobKind, message: JobMessage) -> AppResult<()> {
        let pushed = async {
            match self {
                JobQueue::Redis { .. } => {
                    let mut storage = self.redis_storage(kind).expect("redis queue");
                    storage.push(message).await.map_err(|e| e.to_string())
                }
                JobQueue::Sqlite { .. } => {
                    let mut storage = self.sqlite_storage(kind).expect("sqlite queue");
                    storage.push(message).await.map_err(|e| e.to_string())
                }
            }
        };
        match tokio::time::timeout(PUSH_TIMEOUT, pushed).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(AppError::unavailable("queue_unavailable", e)),
            Err(_) => Err(AppError::unavailable(
                "queue_unavailable",
                "queue push timed out",
            )),
        }
    }

    /// Pushes several messages of one kind in one bulk operation (one round trip on Redis).
    pub async fn push_many(&self, kind: JobKind, messages: Vec<JobMessage>) -> AppResult<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let pushed = async {
            match self {
                JobQueue::Redis { .. } => {
                    let mut storage = self.redis_storage(kind).expect("redis queue");
                    storage.push_bulk(messages).await.map_err(|e| e.to_string())
                }
                JobQueue::Sqlite { .. } => {
                    let mut storage = self.sqlite_storage(kind).expect("sqlite queue");
                    storage.push_bulk(messages).await.map_err(|e| e.to_string())
                }
            }
        };
        match tokio::time::timeout(PUSH_TIMEOUT, pushed).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(AppError::unavailable("queue_unavailable", e)),
            Err(_) => Err(AppError::unavailable(
                "queue_unavailable",
                "queue push timed out",
            )),
        }
    }

    /// Moves due messages of `kind` from apalis-redis' scheduled set to its active list, at most
    /// `PROMOTE_CHUNK` per command. apalis-redis schedules every push and its fetch promotes all
    /// due ones with a single Lua `unpack`, which fails past ~8000 (Lua's stack limit) and
    /// kills the consumer: a backlog built while workers were down would never drain. Running
    /// this before apalis' own fetch keeps that set short. Returns how many moved.
    pub async fn promote_due(&self, kind: JobKind) -> AppResult<u64> {
        let JobQueue::Redis { conn, .. } = self else {
            return Ok(0);
        };
        static SCRIPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
            redis::Script::new(
                r#"
                local moved = 0
                while true do
                    local ids = redis.call('zrangebyscore', KEYS[1], 0, ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
                    if #ids == 0 then break end
                    redis.call('rpush', KEYS[2], unpack(ids))
                    redis.call('zrem', KEYS[1], unpack(ids))
                    moved = moved + #ids
                end
                if moved > 0 then
                    redis.call('del', KEYS[3])
                    redis.call('lpush', KEYS[3], 1)
                end
                return moved
                "#,
            )
        });
        let keys = apalis_redis::Config::default().queue(self.queue_name(kind));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut conn = conn.clone();
        let mut invocation = SCRIPT.key(keys.scheduled_jobs_set());
        invocation
            .key(keys.active_jobs_list())
            .key(keys.signal_list())
            .arg(now)
            .arg(PROMOTE_CHUNK);
        let moved = tokio::time::timeout(PUSH_TIMEOUT, invocation.invoke_async::<u64>(&mut conn))
            .await
            .map_err(|_| AppError::unavailable("queue_unavailable", "queue timed out"))?
            .map_err(|e| AppError::unavailable("queue_unavailable", e.to_string()))?;
        Ok(moved)
    }

    /// Whether the queue answers; `/ready` reports it.
    pub async fn ping(&self) -> AppResult<()> {
        let unavailable = |e: String| AppError::unavailable("queue_unavailable", e);
        match self {
            JobQueue::Redis { conn, .. } => {
                let mut conn = conn.clone();
                let cmd = redis::cmd("PING");
                let ping = cmd.query_async::<String>(&mut conn);
                match tokio::time::timeout(Duration::from_secs(2), ping).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(unavailable(e.to_string())),
                    Err(_) => Err(unavailable("redis ping timed out".into())),
                }
            }
            JobQueue::Sqlite { pool, .. } => sea_orm::sqlx::query("SELECT 1")
                .execute(pool)
                .await
                .map(|_| ())
                .map_err(|e| unavailable(e.to_string())),
        }
    }
}
