//! What an operator checks first: are the database and the queue answering, how deep is each
//! job queue and how old its oldest waiting job, how many jobs gave up, what state the webhook
//! inbox is in, and when each provider last delivered.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait},
};

use crate::{
    Services,
    entities::{background_jobs as jobs, webhook_events as inbox},
    error::AppResult,
    jobs::JobStatus,
};

#[derive(Debug, Clone, Default)]
pub struct QueueHealth {
    pub kind: String,
    pub queued: i64,
    pub running: i64,
    pub failed: i64,
    /// When the oldest job still waiting or running was created.
    pub oldest_pending_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct InboxCount {
    pub provider: String,
    pub status: String,
    pub count: i64,
}

#[derive(Debug, Clone)]
pub struct SystemHealth {
    /// `Err` carries why the database or the queue did not answer.
    pub database: Result<(), String>,
    pub queue: Result<(), String>,
    pub queues: Vec<QueueHealth>,
    pub inbox: Vec<InboxCount>,
    /// Provider and when it last delivered.
    pub last_webhooks: Vec<(String, DateTime<Utc>)>,
}

pub async fn check(services: &Services) -> AppResult<SystemHealth> {
    let (database, queue) = services.readiness().await;
    let db = &services.db;
    // Finished jobs are left out: they are most of the table and say nothing about health.
    let rows: Vec<(String, String, i64, Option<DateTime<Utc>>)> = jobs::Entity::find()
        .select_only()
        .column(jobs::Column::Kind)
        .column(jobs::Column::Status)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(Expr::col(jobs::Column::CreatedAt).min(), "oldest")
        .filter(jobs::Column::Status.is_in([
            JobStatus::Queued.as_str(),
            JobStatus::Running.as_str(),
            JobStatus::Failed.as_str(),
        ]))
        .group_by(jobs::Column::Kind)
        .group_by(jobs::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut queues: Vec<QueueHealth> = crate::jobs::JobKind::ALL
        .iter()
        .map(|k| QueueHealth {
            kind: k.as_str().into(),
            ..Default::default()
        })
        .collect();
    for (kind, status, n, oldest) in rows {
        let Some(q) = queues.iter_mut().find(|q| q.kind == kind) else {
            continue;
        };
        if status == JobStatus::Failed.as_str() {
            q.failed = n;
            continue;
        }
        if status == JobStatus::Queued.as_str() {
            q.queued = n;
        } else {
            q.running = n;
        }
        q.oldest_pending_at = match (q.oldest_pending_at, oldest) {
            (Some(a), Some(b)) => Some(Ord::min(a, b)),
            (a, b) => a.or(b),
        };
    }
    let inbox: Vec<(String, String, i64)> = inbox::Entity::find()
        .select_only()
        .column(inbox::Column::Provider)
        .column(inbox::Column::Status)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(inbox::Column::Provider)
        .group_by(inbox::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let last_webhooks: Vec<(String, Option<DateTime<Utc>>)> = inbox::Entity::find()
        .select_only()
        .column(inbox::Column::Provider)
        .column_as(Expr::col(inbox::Column::ReceivedAt).max(), "last")
        .group_by(inbox::Column::Provider)
        .into_tuple()
        .all(db)
        .await?;
    Ok(SystemHealth {
        database,
        queue,
        queues,
        inbox: inbox
            .into_iter()
            .map(|(provider, status, count)| InboxCount {
                provider,
                status,
                count,
            })
            .collect(),
        last_webhooks: last_webhooks
            .into_iter()
            .filter_map(|(p, at)| Some((p, at?)))
            .collect(),
    })
}
