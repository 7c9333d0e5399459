//! The webhook inbox: a verified delivery is stored with its job in one transaction and
//! answered at once; the worker applies it later. The provider's id is the deduplication key,
//! so a redelivery is a no-op.

pub use crate::entities::webhook_events::InboxStatus;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    Services,
    entities::webhook_events,
    platform::error::{AppError, AppResult},
    platform::intake::Submission,
    platform::jobs::JobKind,
};

/// A verified delivery to store.
pub struct Delivery<'a> {
    pub provider: &'static str,
    pub external_id: &'a str,
    pub event_type: &'a str,
    pub payload: &'a [u8],
}

/// Stores the delivery and its job unless it was seen before; returns whether it is new.
/// Deliveries arriving together share one commit (`intake`). The queue being down does not
/// fail the delivery: the sweeper delivers the job later.
pub async fn receive(
    services: &Services,
    kind: JobKind,
    delivery: Delivery<'_>,
) -> AppResult<bool> {
    if delivery.external_id.is_empty() || delivery.external_id.len() > 255 {
        return Err(AppError::bad_request(
            "invalid_event",
            "the event has no usable id",
        ));
    }
    let new = services
        .intake
        .submit(
            &services.db,
            &services.queue,
            services.config.jobs.max_attempts,
            Submission {
                kind,
                provider: delivery.provider,
                external_id: delivery.external_id.into(),
                event_type: delivery.event_type.into(),
                payload: delivery.payload.to_vec(),
            },
        )
        .await?;
    let outcome = if new { "stored" } else { "duplicate" };
    crate::platform::monitoring::webhook_received(delivery.provider, outcome);
    Ok(new)
}

/// Records how an inbox row was handled.
pub async fn mark<C: sea_orm::ConnectionTrait>(
    db: &C,
    id: Uuid,
    status: InboxStatus,
    error: Option<String>,
    user_id: Option<Uuid>,
) -> AppResult<()> {
    webhook_events::Entity::update_many()
        .col_expr(
            webhook_events::Column::Status,
            sea_orm::sea_query::Expr::value(status),
        )
        .col_expr(
            webhook_events::Column::Error,
            sea_orm::sea_query::Expr::value(error),
        )
        .col_expr(
            webhook_events::Column::UserId,
            sea_orm::sea_query::Expr::value(user_id),
        )
        .col_expr(
            webhook_events::Column::ProcessedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(webhook_events::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// `mark` for several events at once, each with its owner (`CASE` on the id): one statement.
pub async fn mark_many<C: sea_orm::ConnectionTrait>(
    db: &C,
    owners: &[(Uuid, Option<Uuid>)],
    status: InboxStatus,
) -> AppResult<()> {
    use sea_orm::sea_query::{CaseStatement, Expr};
    if owners.is_empty() {
        return Ok(());
    }
    let owner = owners
        .iter()
        .fold(CaseStatement::new(), |case, (id, user)| {
            case.case(webhook_events::Column::Id.eq(*id), Expr::val(*user))
        });
    webhook_events::Entity::update_many()
        .col_expr(webhook_events::Column::Status, Expr::value(status))
        .col_expr(
            webhook_events::Column::Error,
            Expr::value(Option::<String>::None),
        )
        .col_expr(webhook_events::Column::UserId, Expr::Case(Box::new(owner)))
        .col_expr(webhook_events::Column::ProcessedAt, Expr::value(Utc::now()))
        .filter(webhook_events::Column::Id.is_in(owners.iter().map(|(id, _)| *id)))
        .exec(db)
        .await?;
    Ok(())
}

/// The stored event a job should apply, with its parsed JSON. `None` when there is nothing to
/// do: already applied, or unreadable (then marked `failed` for admins, never retried).
pub async fn pending(
    db: &sea_orm::DatabaseConnection,
    inbox_id: Uuid,
) -> Result<Option<(webhook_events::Model, serde_json::Value)>, crate::platform::jobs::JobError> {
    Ok(pending_many(db, &[inbox_id]).await?.pop())
}

/// `pending` for several rows in one read; rows already applied (or unreadable, now marked
/// failed) are left out.
pub async fn pending_many(
    db: &sea_orm::DatabaseConnection,
    inbox_ids: &[Uuid],
) -> Result<Vec<(webhook_events::Model, serde_json::Value)>, crate::platform::jobs::JobError> {
    if inbox_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = webhook_events::Entity::find()
        .filter(webhook_events::Column::Id.is_in(inbox_ids.iter().copied()))
        .all(db)
        .await?;
    // A job whose row is gone fails for good, in a batch as alone (a failed batch is applied
    // again one event at a time, so only that job fails).
    if rows.len() < inbox_ids.len() {
        let gone: Vec<String> = inbox_ids
            .iter()
            .filter(|id| !rows.iter().any(|row| row.id == **id))
            .map(Uuid::to_string)
            .collect();
        return Err(crate::platform::jobs::JobError::Permanent(format!(
            "inbox row {} is gone",
            gone.join(", ")
        )));
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if row.status != InboxStatus::Received {
            continue;
        }
        match serde_json::from_slice(&row.payload) {
            Ok(event) => out.push((row, event)),
            Err(e) => {
                tracing::warn!(event = %row.external_id, error = %e, "unreadable webhook event");
                settle(
                    db,
                    &row,
                    InboxStatus::Failed,
                    Some(format!("unreadable event: {e}")),
                    None,
                )
                .await?;
            }
        }
    }
    Ok(out)
}

/// `mark` for jobs: a database error is worth a retry.
pub async fn settle<C: sea_orm::ConnectionTrait>(
    db: &C,
    row: &webhook_events::Model,
    status: InboxStatus,
    error: Option<String>,
    user_id: Option<Uuid>,
) -> Result<(), crate::platform::jobs::JobError> {
    mark(db, row.id, status, error, user_id)
        .await
        .map_err(crate::platform::jobs::JobError::from)
}

#[derive(Debug, Clone)]
pub struct InboxCount {
    pub provider: String,
    pub status: InboxStatus,
    pub count: i64,
}

/// Stored events by provider and status.
pub async fn counts(db: &impl ConnectionTrait) -> Result<Vec<InboxCount>, sea_orm::DbErr> {
    let inbox: Vec<(String, InboxStatus, i64)> = webhook_events::Entity::find()
        .select_only()
        .column(webhook_events::Column::Provider)
        .column(webhook_events::Column::Status)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(webhook_events::Column::Provider)
        .group_by(webhook_events::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    Ok(inbox
        .into_iter()
        .map(|(provider, status, count)| InboxCount {
            provider,
            status,
            count,
        })
        .collect())
}

/// Each provider and when it last delivered.
pub async fn last_deliveries(
    db: &impl ConnectionTrait,
) -> Result<Vec<(String, DateTime<Utc>)>, sea_orm::DbErr> {
    let last_webhooks: Vec<(String, Option<DateTime<Utc>>)> = webhook_events::Entity::find()
        .select_only()
        .column(webhook_events::Column::Provider)
        .column_as(Expr::col(webhook_events::Column::ReceivedAt).max(), "last")
        .group_by(webhook_events::Column::Provider)
        .into_tuple()
        .all(db)
        .await?;
    Ok(last_webhooks
        .into_iter()
        .filter_map(|(p, at)| Some((p, at?)))
        .collect())
}
