//! Live updates for signed-in users: services publish small events after their transaction
//! commits; every gateway follows them and streams each user's own to its open `/api/events`
//! connections. Best effort by design — the database stays the truth, and a client that
//! reconnects refetches — so a failed publish is logged, never an error.
//!
//! Transport follows the job queue: Redis pub/sub when the queue is Redis, otherwise the
//! `live_events` table (embedded mode), which gateways poll by id.

pub use crate::entities::live_events::LiveKind;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use chrono::Utc;
use futures::StreamExt;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    Services,
    entities::live_events,
    platform::error::{AppError, AppResult},
};

/// One event for one user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LiveEvent {
    pub user_id: Uuid,
    pub kind: LiveKind,
    pub data: Value,
}

impl LiveEvent {
    pub fn new(user_id: Uuid, kind: LiveKind, data: Value) -> Self {
        Self {
            user_id,
            kind,
            data,
        }
    }
}

/// How long the embedded log keeps events: long enough for every gateway's next poll.
const LOG_RETENTION: Duration = Duration::from_secs(10 * 60);
const POLL_INTERVAL: Duration = Duration::from_millis(250);
const POLL_BATCH: u64 = 500;

fn channel(services: &Services) -> String {
    format!("{}:live", services.config.jobs.queue_prefix)
}

/// Sends events to the users' streams; call after the transaction that caused them commits.
pub async fn publish(services: &Services, events: Vec<LiveEvent>) {
    if events.is_empty() {
        return;
    }
    let result = match &services.redis {
        Some(conn) => {
            let mut conn = conn.clone();
            let mut pipe = redis::pipe();
            let channel = channel(services);
            for event in &events {
                pipe.publish(&channel, serde_json::to_string(event).unwrap_or_default())
                    .ignore();
            }
            pipe.query_async::<()>(&mut conn)
                .await
                .map_err(|e| e.to_string())
        }
        None => {
            let now = Utc::now();
            let rows = events.iter().map(|e| live_events::ActiveModel {
                user_id: Set(e.user_id),
                kind: Set(e.kind),
                data: Set(e.data.clone()),
                created_at: Set(now),
                ..Default::default()
            });
            live_events::Entity::insert_many(rows)
                .exec_without_returning(&services.db)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    };
    if let Err(error) = result {
        tracing::warn!(%error, count = events.len(), "live events not published");
    }
}

/// A gateway's follower of the live events, fanned out to its connections. It starts with
/// the first subscriber and stops when `shutdown` is cancelled (which also ends the streams).
#[derive(Clone)]
pub struct LiveHub {
    inner: Arc<HubInner>,
}

struct HubInner {
    services: Services,
    tx: broadcast::Sender<Arc<LiveEvent>>,
    started: OnceLock<()>,
    /// True while the follower is connected, so a new stream misses nothing published after
    /// it opened.
    following: watch::Sender<bool>,
    shutdown: CancellationToken,
    /// Open streams per user, to bound what one account can hold open.
    streams: Mutex<HashMap<Uuid, usize>>,
}

/// Most streams one user may hold open on one gateway (tabs, devices).
pub const MAX_STREAMS_PER_USER: usize = 8;

/// One open stream; dropping it frees the user's slot.
pub struct StreamSlot {
    inner: Arc<HubInner>,
    user_id: Uuid,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut streams = self.inner.streams.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = streams.get_mut(&self.user_id) {
            *n -= 1;
            if *n == 0 {
                streams.remove(&self.user_id);
            }
        }
    }
}

impl LiveHub {
    pub fn new(services: Services, shutdown: CancellationToken) -> Self {
        let (tx, _) = broadcast::channel(4096);
        Self {
            inner: Arc::new(HubInner {
                services,
                tx,
                started: OnceLock::new(),
                following: watch::channel(false).0,
                shutdown,
                streams: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Takes one of the user's stream slots; `None` when all are in use.
    pub fn open_stream(&self, user_id: Uuid) -> Option<StreamSlot> {
        let mut streams = self.inner.streams.lock().unwrap_or_else(|e| e.into_inner());
        let n = streams.entry(user_id).or_insert(0);
        if *n >= MAX_STREAMS_PER_USER {
            return None;
        }
        *n += 1;
        Some(StreamSlot {
            inner: self.inner.clone(),
            user_id,
        })
    }

    /// Every event from now on (the caller filters by user); lagging receivers lose the oldest.
    /// Waits briefly for the follower to connect, so what is published next is seen.
    pub async fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        let rx = self.inner.tx.subscribe();
        self.start();
        let mut following = self.inner.following.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(2), following.wait_for(|f| *f)).await;
        rx
    }

    /// The stream of one user's events: a `ready` event first, then theirs as they happen, a
    /// `resync` when this connection fell behind and lost some (the client should refetch), and
    /// the end when the gateway shuts down. Refused when the user has too many open.
    pub async fn user_stream(
        &self,
        user_id: Uuid,
    ) -> AppResult<impl futures::Stream<Item = LiveEvent> + Send + 'static> {
        let slot = self
            .open_stream(user_id)
            .ok_or_else(|| AppError::RateLimited {
                code: "too_many_streams",
                message: format!(
                    "at most {MAX_STREAMS_PER_USER} event streams may be open at once"
                ),
                retry_after_secs: 5,
            })?;
        let rx = self.subscribe().await;
        let ready = LiveEvent::new(user_id, LiveKind::Ready, json!({}));
        let events = futures::stream::unfold((rx, slot), move |(mut rx, slot)| async move {
            loop {
                match rx.recv().await {
                    Ok(event) if event.user_id == user_id => {
                        return Some(((*event).clone(), (rx, slot)));
                    }
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        let resync =
                            LiveEvent::new(user_id, LiveKind::Resync, json!({"missed": missed}));
                        return Some((resync, (rx, slot)));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        Ok(futures::stream::once(async move { ready })
            .chain(events)
            .take_until(self.inner.shutdown.clone().cancelled_owned()))
    }

    fn start(&self) {
        self.inner.started.get_or_init(|| {
            let inner = self.inner.clone();
            tokio::spawn(async move {
                match inner.services.redis {
                    Some(_) => follow_redis(&inner).await,
                    None => follow_log(&inner).await,
                }
            });
        });
    }

    /// Cancelled when the gateway shuts down.
    pub fn shutdown(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }
}

/// Subscribes to the Redis channel, reconnecting with backoff while Redis is away.
async fn follow_redis(inner: &HubInner) {
    let Some(url) = inner.services.config.jobs.redis_url.clone() else {
        return;
    };
    let channel = channel(&inner.services);
    let mut backoff = Duration::from_millis(200);
    loop {
        let connected = async {
            let client = redis::Client::open(url.as_str())?;
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let pubsub = tokio::select! {
            _ = inner.shutdown.cancelled() => return,
            r = connected => r,
        };
        match pubsub {
            Ok(pubsub) => {
                tracing::debug!(%channel, "following live events");
                inner.following.send_replace(true);
                backoff = Duration::from_millis(200);
                let mut messages = pubsub.into_on_message();
                loop {
                    let msg = tokio::select! {
                        _ = inner.shutdown.cancelled() => return,
                        m = messages.next() => m,
                    };
                    let Some(msg) = msg else { break };
                    let event = msg
                        .get_payload::<String>()
                        .ok()
                        .and_then(|p| serde_json::from_str::<LiveEvent>(&p).ok());
                    if let Some(event) = event {
                        let _ = inner.tx.send(Arc::new(event));
                    }
                }
                inner.following.send_replace(false);
                tracing::warn!("live event subscription lost; reconnecting");
            }
            Err(error) => tracing::warn!(%error, "cannot follow live events; retrying"),
        }
        tokio::select! {
            _ = inner.shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Polls the embedded log by id, and prunes what every gateway has long read.
async fn follow_log(inner: &HubInner) {
    let db = &inner.services.db;
    let mut last = latest_id(db).await;
    inner.following.send_replace(true);
    let mut last_prune = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = inner.shutdown.cancelled() => return,
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
        }
        let rows = live_events::Entity::find()
            .filter(live_events::Column::Id.gt(last))
            .order_by_asc(live_events::Column::Id)
            .limit(POLL_BATCH)
            .all(db)
            .await;
        match rows {
            Ok(rows) => {
                for row in rows {
                    last = row.id;
                    let _ = inner.tx.send(Arc::new(LiveEvent {
                        user_id: row.user_id,
                        kind: row.kind,
                        data: row.data,
                    }));
                }
            }
            Err(error) => tracing::warn!(%error, "cannot read live events"),
        }
        if last_prune.elapsed() > Duration::from_secs(60) {
            last_prune = tokio::time::Instant::now();
            let cutoff = Utc::now() - LOG_RETENTION;
            if let Err(error) = live_events::Entity::delete_many()
                .filter(live_events::Column::CreatedAt.lt(cutoff))
                .exec(db)
                .await
            {
                tracing::warn!(%error, "cannot prune live events");
            }
        }
    }
}

async fn latest_id(db: &DatabaseConnection) -> i64 {
    live_events::Entity::find()
        .order_by_desc(live_events::Column::Id)
        .one(db)
        .await
        .ok()
        .flatten()
        .map_or(0, |row| row.id)
}
