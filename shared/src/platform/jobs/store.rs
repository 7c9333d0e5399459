//! State transitions of a `jobs` row. Every transition is a conditional UPDATE, so two workers
//! (or a worker and a sweeper) racing on one row cannot both win.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, Iterable, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{JobKind, JobMessage, JobQueue, JobStatus};
use crate::{
    entities::background_jobs::{self as jobs, Column as Col, Entity as Jobs},
    platform::config::Config,
};

/// Records a job for `subject_id`, inside the caller's transaction so the job exists exactly
/// when its subject does. A second call for the same subject returns the existing row.
pub async fn create<Db: ConnectionTrait>(
    db: &Db,
    config: &Config,
    kind: JobKind,
    subject_id: Uuid,
) -> Result<jobs::Model, sea_orm::DbErr> {
    let now = Utc::now();
    let row = jobs::ActiveModel {
        id: Set(crate::platform::ids::next()),
        kind: Set(kind),
        subject_id: Set(subject_id),
        status: Set(JobStatus::Queued),
        attempts: Set(0),
        max_attempts: Set(config.jobs.max_attempts),
        last_error: Set(None),
        next_attempt_at: Set(now),
        enqueued_at: Set(None),
        locked_by: Set(None),
        locked_until: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
    };
    Jobs::insert(row)
        .on_conflict_do_nothing_on([Col::Kind, Col::SubjectId])
        .exec(db)
        .await?;
    Jobs::find()
        .filter(Col::Kind.eq(kind))
        .filter(Col::SubjectId.eq(subject_id))
        .one(db)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("job just created".into()))
}

/// Like `create`, for subjects that need the same work again later (an agent re-synced after
/// each change): a finished job is put back in the queue with fresh attempts.
pub async fn rearm<Db: ConnectionTrait>(
    db: &Db,
    config: &Config,
    kind: JobKind,
    subject_id: Uuid,
) -> Result<jobs::Model, sea_orm::DbErr> {
    let job = create(db, config, kind, subject_id).await?;
    if job.status != JobStatus::Succeeded && job.status != JobStatus::Failed {
        return Ok(job);
    }
    let now = Utc::now();
    Jobs::update_many()
        .col_expr(Col::Status, Expr::value(JobStatus::Queued))
        .col_expr(Col::Attempts, Expr::value(0))
        .col_expr(Col::LastError, Expr::value(Option::<String>::None))
        .col_expr(Col::NextAttemptAt, Expr::value(now))
        .col_expr(Col::EnqueuedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Col::FinishedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Col::UpdatedAt, Expr::value(now))
        .filter(Col::Id.eq(job.id))
        .exec(db)
        .await?;
    Jobs::find_by_id(job.id)
        .one(db)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("job just re-armed".into()))
}

/// Rings the doorbell for a committed job. A queue that is down is not an error: the row stays
/// undelivered and the sweeper rings again.
pub async fn ring<Db: ConnectionTrait>(db: &Db, queue: &JobQueue, job: &jobs::Model) {
    let kind = job.kind;
    match mark_rung(db, job.id, job.enqueued_at).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(job_id = %job.id, error = %e, "could not mark job enqueued; the sweeper will");
            return;
        }
    }
    if let Err(e) = queue.push(kind, JobMessage { job_id: job.id }).await {
        tracing::warn!(job_id = %job.id, error = %e, "queue unavailable; the sweeper will deliver the job");
        // Make the row immediately eligible for the sweeper again.
        let _ = Jobs::update_many()
            .col_expr(Col::EnqueuedAt, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(Col::Id.eq(job.id))
            .exec(db)
            .await;
    }
}

/// Pushes jobs whose rows were written already marked rung (the webhook intake's), a bulk
/// push per kind and no statement on the way; when the queue is down their mark is cleared so
/// the sweeper delivers them at its next pass (if even that fails, after
/// `JOB_REDELIVER_AFTER_SECS`).
pub async fn push_rung<Db: ConnectionTrait>(db: &Db, queue: &JobQueue, jobs: &[jobs::Model]) {
    let mut kinds: Vec<JobKind> = jobs.iter().map(|j| j.kind).collect();
    kinds.sort_by_key(|k| k.to_string());
    kinds.dedup();
    for kind in kinds {
        let of_kind: Vec<Uuid> = jobs
            .iter()
            .filter(|j| j.kind == kind)
            .map(|j| j.id)
            .collect();
        let messages = of_kind
            .iter()
            .map(|&job_id| JobMessage { job_id })
            .collect();
        if let Err(e) = queue.push_many(kind, messages).await {
            tracing::warn!(jobs = of_kind.len(), error = %e, "queue unavailable; the sweeper will deliver the jobs");
            let _ = Jobs::update_many()
                .col_expr(Col::EnqueuedAt, Expr::value(Option::<DateTime<Utc>>::None))
                .filter(Col::Id.is_in(of_kind))
                .exec(db)
                .await;
        }
    }
}

/// Claims a due job for `worker`: the attempt is counted and a lease taken. `None` when the
/// job is finished, not yet due, or held by a live lease elsewhere — a duplicate delivery.
pub async fn claim<Db: ConnectionTrait>(
    db: &Db,
    job_id: Uuid,
    worker: &str,
    lease: Duration,
) -> Result<Option<jobs::Model>, sea_orm::DbErr> {
    Ok(claim_many(db, &[job_id], worker, lease)
        .await?
        .into_iter()
        .next())
}

/// `claim` for several jobs in one statement: the claimable ones come back, the others
/// (duplicates, not due, held elsewhere) are left alone.
pub async fn claim_many<Db: ConnectionTrait>(
    db: &Db,
    job_ids: &[Uuid],
    worker: &str,
    lease: Duration,
) -> Result<Vec<jobs::Model>, sea_orm::DbErr> {
    if job_ids.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let until = now + lease;
    let claimable = sea_orm::Condition::any()
        .add(
            sea_orm::Condition::all()
                .add(Col::Status.eq(JobStatus::Queued))
                .add(Col::NextAttemptAt.lte(now)),
        )
        .add(
            sea_orm::Condition::all()
                .add(Col::Status.eq(JobStatus::Running))
                .add(Col::LockedUntil.lt(now)),
        );
    Jobs::update_many()
        .col_expr(Col::Status, Expr::value(JobStatus::Running))
        .col_expr(Col::Attempts, Expr::col(Col::Attempts).add(1))
        .col_expr(Col::LockedBy, Expr::value(worker))
        .col_expr(Col::LockedUntil, Expr::value(until))
        .col_expr(Col::UpdatedAt, Expr::value(now))
        .filter(Col::Id.is_in(job_ids.iter().copied()))
        .filter(claimable)
        .filter(Expr::col(Col::Attempts).lt(Expr::col(Col::MaxAttempts)))
        .exec_with_returning(db)
        .await
}

/// Marks a claimed job done. Only the lease holder can finish it.
pub async fn complete<Db: ConnectionTrait>(
    db: &Db,
    job: &jobs::Model,
) -> Result<bool, sea_orm::DbErr> {
    Ok(complete_many(db, std::slice::from_ref(job)).await? == 1)
}

/// `complete` for several claimed jobs in one statement (inside the transaction of their work,
/// so the work and its job finish together); returns how many were still held and finished.
pub async fn complete_many<Db: ConnectionTrait>(
    db: &Db,
    jobs: &[jobs::Model],
) -> Result<u64, sea_orm::DbErr> {
    if jobs.is_empty() {
        return Ok(0);
    }
    let held = jobs.iter().fold(sea_orm::Condition::any(), |any, job| {
        any.add(
            sea_orm::Condition::all()
                .add(Col::Id.eq(job.id))
                .add(Col::LockedBy.eq(job.locked_by.clone())),
        )
    });
    let now = Utc::now();
    let res = Jobs::update_many()
        .col_expr(Col::Status, Expr::value(JobStatus::Succeeded))
        .col_expr(Col::LastError, Expr::value(Option::<String>::None))
        .col_expr(Col::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Col::FinishedAt, Expr::value(now))
        .col_expr(Col::UpdatedAt, Expr::value(now))
        .filter(Col::Status.eq(JobStatus::Running))
        .filter(held)
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Records a failed attempt: back to `queued` with a later `next_attempt_at`, or `failed` for
/// good after the last attempt (or at once when `permanent`). Returns the status it ends in.
pub async fn fail<Db: ConnectionTrait>(
    db: &Db,
    config: &Config,
    job: &jobs::Model,
    error: &str,
    permanent: bool,
) -> Result<JobStatus, sea_orm::DbErr> {
    let now = Utc::now();
    let error: String = error.chars().take(2_000).collect();
    let exhausted = permanent || job.attempts >= job.max_attempts;
    let mut update = Jobs::update_many()
        .col_expr(Col::LastError, Expr::value(error))
        .col_expr(Col::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Col::UpdatedAt, Expr::value(now));
    let status = if exhausted {
        update = update
            .col_expr(Col::Status, Expr::value(JobStatus::Failed))
            .col_expr(Col::FinishedAt, Expr::value(now));
        JobStatus::Failed
    } else {
        let next = now + backoff(config, job.attempts);
        update = update
            .col_expr(Col::Status, Expr::value(JobStatus::Queued))
            .col_expr(Col::NextAttemptAt, Expr::value(next))
            // Not rung yet: the sweeper delivers it once it is due.
            .col_expr(Col::EnqueuedAt, Expr::value(Option::<DateTime<Utc>>::None));
        JobStatus::Queued
    };
    update
        .filter(Col::Id.eq(job.id))
        .filter(Col::Status.eq(JobStatus::Running))
        .filter(Col::LockedBy.eq(job.locked_by.clone()))
        .exec(db)
        .await?;
    Ok(status)
}

/// Exponential backoff with ±20 % jitter: base, 2×base, 4×base, … capped.
pub fn backoff(config: &Config, attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 30) as u32 - 1;
    let base = config
        .jobs
        .backoff_base_ms
        .saturating_mul(1u64 << std::cmp::min(exp, 20));
    let capped = std::cmp::min(base, config.jobs.backoff_max_secs.saturating_mul(1000));
    let jitter = rand::rng().random_range(0.8..=1.2);
    Duration::from_millis((capped as f64 * jitter) as u64)
}

/// A row the sweeper should act on.
#[derive(Debug, Clone)]
pub struct SweepCandidate {
    pub job: jobs::Model,
    /// The lease ran out on the final attempt: nothing left to retry.
    pub exhausted: bool,
}

/// Jobs whose doorbell must ring (again): queued and due but never delivered, or delivered so
/// long ago that the message was evidently lost; running under an expired lease (a dead worker).
pub async fn due_for_delivery<Db: ConnectionTrait>(
    db: &Db,
    config: &Config,
    limit: u64,
) -> Result<Vec<SweepCandidate>, sea_orm::DbErr> {
    let now = Utc::now();
    let redeliver_before = now - chrono::Duration::seconds(config.jobs.redeliver_after_secs as i64);
    let overdue = sea_orm::Condition::any()
        .add(
            sea_orm::Condition::all()
                .add(Col::Status.eq(JobStatus::Queued))
                .add(Col::NextAttemptAt.lte(now))
                .add(
                    sea_orm::Condition::any()
                        .add(Col::EnqueuedAt.is_null())
                        .add(Col::EnqueuedAt.lt(redeliver_before)),
                ),
        )
        .add(
            sea_orm::Condition::all()
                .add(Col::Status.eq(JobStatus::Running))
                .add(Col::LockedUntil.lt(now)),
        );
    let rows = Jobs::find()
        .filter(overdue)
        .order_by_asc(Col::NextAttemptAt)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|job| SweepCandidate {
            exhausted: job.status == JobStatus::Running && job.attempts >= job.max_attempts,
            job,
        })
        .collect())
}

/// Notes that the doorbell rang for a job, unless someone else rang it since `seen` —
/// that keeps several sweepers from delivering the same job together.
pub async fn mark_rung<Db: ConnectionTrait>(
    db: &Db,
    job_id: Uuid,
    seen: Option<DateTime<Utc>>,
) -> Result<bool, sea_orm::DbErr> {
    let mut update = Jobs::update_many()
        .col_expr(Col::EnqueuedAt, Expr::value(Utc::now()))
        .filter(Col::Id.eq(job_id));
    update = match seen {
        Some(at) => update.filter(Col::EnqueuedAt.eq(at)),
        None => update.filter(Col::EnqueuedAt.is_null()),
    };
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// Jobs not finished yet (queued or running); tests wait for this to reach zero.
pub async fn pending_count<Db: ConnectionTrait>(db: &Db) -> Result<u64, sea_orm::DbErr> {
    Jobs::find()
        .filter(Col::Status.is_in([JobStatus::Queued, JobStatus::Running]))
        .count(db)
        .await
}

#[derive(Debug, Clone)]
pub struct QueueHealth {
    pub kind: JobKind,
    pub queued: i64,
    pub running: i64,
    pub failed: i64,
    /// When the oldest job still waiting or running was created.
    pub oldest_pending_at: Option<DateTime<Utc>>,
}

/// Each kind's waiting, running and given-up jobs, and its oldest unfinished one: what the
/// health report and `/metrics` show.
pub async fn depths(db: &impl ConnectionTrait) -> Result<Vec<QueueHealth>, sea_orm::DbErr> {
    // Finished jobs are left out: they are most of the table and say nothing about health.
    let rows: Vec<(JobKind, JobStatus, i64, Option<DateTime<Utc>>)> = Jobs::find()
        .select_only()
        .column(Col::Kind)
        .column(Col::Status)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(Expr::col(Col::CreatedAt).min(), "oldest")
        .filter(Col::Status.is_in([JobStatus::Queued, JobStatus::Running, JobStatus::Failed]))
        .group_by(Col::Kind)
        .group_by(Col::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut queues: Vec<QueueHealth> = JobKind::iter()
        .map(|kind| QueueHealth {
            kind,
            queued: 0,
            running: 0,
            failed: 0,
            oldest_pending_at: None,
        })
        .collect();
    for (kind, status, n, oldest) in rows {
        let Some(q) = queues.iter_mut().find(|q| q.kind == kind) else {
            continue;
        };
        if status == JobStatus::Failed {
            q.failed = n;
            continue;
        }
        if status == JobStatus::Queued {
            q.queued = n;
        } else {
            q.running = n;
        }
        q.oldest_pending_at = match (q.oldest_pending_at, oldest) {
            (Some(a), Some(b)) => Some(Ord::min(a, b)),
            (a, b) => a.or(b),
        };
    }
    Ok(queues)
}
