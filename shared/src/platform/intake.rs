//! Group commit for the webhook inbox. Every delivery a process receives goes to a few writer
//! tasks; a writer takes whatever deliveries are waiting (up to [`MAX_BATCH`]) and stores them
//! all, with their jobs, in one transaction — one multi-row insert of the inbox rows that
//! returns only the ids it added, one of the jobs, one commit — then answers each delivery.
//! Under load, deliveries that arrive while a commit is flushing share the next one, so the
//! durable database pays one WAL flush for many webhooks; alone, a delivery waits for nobody.
//! A delivery's answer still means its row is committed, and a duplicate (stored earlier or
//! twice in one batch) adds no row. Job rows are written already marked rung: the writer
//! answers, then pushes the batch's jobs to the queue in one bulk push, and if that push never
//! happens the sweeper re-rings them after `JOB_REDELIVER_AFTER_SECS`, so no second statement
//! is needed on the way out.

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock},
};

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, QueryTrait,
    sea_query::OnConflict,
};
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use crate::{
    entities::{background_jobs, webhook_events},
    platform::{
        error::{AppError, AppResult},
        jobs::{JobKind, JobQueue, JobStatus},
    },
};

/// Deliveries stored by one transaction at most.
pub const MAX_BATCH: usize = 256;
/// Payload bytes one transaction carries at most (a batch closes early past it).
const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Writers per process: while one commits, the next gathers its batch.
const WRITERS: usize = 2;
/// Deliveries waiting for a writer before new ones wait to be queued.
const BACKLOG: usize = 4096;

/// A verified delivery with the kind of job that applies it.
pub struct Submission {
    pub kind: JobKind,
    pub provider: &'static str,
    pub external_id: String,
    pub event_type: String,
    pub payload: Vec<u8>,
}

/// The job a new delivery got (already marked rung), or `None` for a duplicate.
type Stored = Option<background_jobs::Model>;

struct Pending {
    submission: Submission,
    /// Whether the delivery was new.
    reply: oneshot::Sender<AppResult<bool>>,
}

/// The process's intake: its writers start with the first delivery.
#[derive(Default)]
pub struct Intake {
    sender: OnceLock<mpsc::Sender<Pending>>,
}

impl Intake {
    /// Stores `submission` with its job in the next group commit; whether it was new.
    pub async fn submit(
        &self,
        db: &DatabaseConnection,
        queue: &JobQueue,
        max_attempts: i32,
        submission: Submission,
    ) -> AppResult<bool> {
        let sender = self
            .sender
            .get_or_init(|| start(db.clone(), queue.clone(), max_attempts));
        let (reply, answer) = oneshot::channel();
        sender
            .send(Pending { submission, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> AppError {
    AppError::unavailable("intake_unavailable", "the process is shutting down")
}

fn start(db: DatabaseConnection, queue: JobQueue, max_attempts: i32) -> mpsc::Sender<Pending> {
    let (sender, receiver) = mpsc::channel(BACKLOG);
    let receiver = Arc::new(Mutex::new(receiver));
    for _ in 0..WRITERS {
        tokio::spawn(writer(
            db.clone(),
            queue.clone(),
            max_attempts,
            receiver.clone(),
        ));
    }
    sender
}

async fn writer(
    db: DatabaseConnection,
    queue: JobQueue,
    max_attempts: i32,
    receiver: Arc<Mutex<mpsc::Receiver<Pending>>>,
) {
    loop {
        let batch = {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else {
                return;
            };
            let mut bytes = first.submission.payload.len();
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
                match receiver.try_recv() {
                    Ok(next) => {
                        bytes += next.submission.payload.len();
                        batch.push(next);
                    }
                    Err(_) => break,
                }
            }
            batch
        };
        let submissions: Vec<&Submission> = batch.iter().map(|p| &p.submission).collect();
        match write(&db, max_attempts, &submissions).await {
            Ok(stored) => {
                let mut jobs = Vec::new();
                for (pending, stored) in batch.into_iter().zip(stored) {
                    let _ = pending.reply.send(Ok(stored.is_some()));
                    jobs.extend(stored);
                }
                crate::platform::jobs::push_rung(&db, &queue, &jobs).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, deliveries = batch.len(), "webhook intake: batch not stored");
                let unreachable = crate::platform::error::is_unreachable(&e);
                for pending in batch {
                    let _ = pending.reply.send(Err(if unreachable {
                        AppError::unavailable(
                            "database_unavailable",
                            "the database is not reachable",
                        )
                    } else {
                        AppError::internal(e.to_string())
                    }));
                }
            }
        }
    }
}

/// Stores a batch in one transaction; answers per submission, in order.
async fn write(
    db: &DatabaseConnection,
    max_attempts: i32,
    batch: &[&Submission],
) -> Result<Vec<Stored>, sea_orm::DbErr> {
    let now = Utc::now();
    // The first submission of each key is the one inserted; a repeat in the batch is a
    // duplicate of it.
    let mut first_of: HashMap<(&str, &str), usize> = HashMap::new();
    let mut rows = Vec::new();
    let mut row_ids = vec![None; batch.len()];
    for (i, s) in batch.iter().enumerate() {
        if first_of.contains_key(&(s.provider, s.external_id.as_str())) {
            continue;
        }
        first_of.insert((s.provider, s.external_id.as_str()), i);
        let id = crate::platform::ids::next();
        row_ids[i] = Some(id);
        rows.push(webhook_events::ActiveModel {
            id: Set(id),
            provider: Set(s.provider.into()),
            event_type: Set(s.event_type.chars().take(120).collect()),
            external_id: Set(s.external_id.clone()),
            payload: Set(s.payload.clone()),
            status: Set(webhook_events::InboxStatus::Received),
            error: Set(None),
            user_id: Set(None),
            received_at: Set(now),
            processed_at: Set(None),
        });
    }
    let txn = crate::platform::db::begin_write(db).await?;
    let mut insert = webhook_events::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                webhook_events::Column::Provider,
                webhook_events::Column::ExternalId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .into_query();
    // Only the ids come back, not the payloads.
    insert.returning_col(webhook_events::Column::Id);
    let added: std::collections::HashSet<Uuid> = txn
        .query_all(&insert)
        .await?
        .iter()
        .map(|row| row.try_get::<Uuid>("", "id"))
        .collect::<Result<_, _>>()?;
    let mut answers: Vec<Stored> = Vec::with_capacity(batch.len());
    let mut jobs = Vec::new();
    for (s, id) in batch.iter().zip(&row_ids) {
        let job = id
            .filter(|id| added.contains(id))
            .map(|id| background_jobs::Model {
                id: crate::platform::ids::next(),
                kind: s.kind,
                subject_id: id,
                status: JobStatus::Queued,
                attempts: 0,
                max_attempts,
                last_error: None,
                next_attempt_at: now,
                // Rung by the caller right after the commit; the sweeper's if that never happens.
                enqueued_at: Some(now),
                locked_by: None,
                locked_until: None,
                created_at: now,
                updated_at: now,
                finished_at: None,
            });
        if let Some(job) = &job {
            jobs.push(background_jobs::ActiveModel::from(job.clone()));
        }
        answers.push(job);
    }
    if !jobs.is_empty() {
        background_jobs::Entity::insert_many(jobs)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(answers)
}
