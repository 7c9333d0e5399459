//! The webhook inbox as admins see it: stored events by provider and status, one event in
//! full, and replaying an event that could not be applied (unroutable, unreadable, or whose job
//! gave up) — once: the event goes back to `received` and its job is re-armed in one audited
//! transaction, and applying an event is idempotent.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    Services,
    accounts::audit::{self, Actor},
    entities::{background_jobs, webhook_events},
    platform::after_commit::AfterCommit,
    platform::error::{AppError, AppResult},
    platform::inbox::InboxStatus,
    platform::jobs::{self, JobKind},
};

/// The job kind that applies a provider's events.
fn kind_of(provider: &str) -> Option<JobKind> {
    match provider {
        "stripe" => Some(JobKind::StripeEvent),
        "elevenlabs" => Some(JobKind::ConversationEvent),
        _ => None,
    }
}

pub async fn list(
    db: &DatabaseConnection,
    provider: Option<&str>,
    status: Option<InboxStatus>,
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<webhook_events::Model>, u64)> {
    let mut q = webhook_events::Entity::find();
    if let Some(provider) = provider {
        q = q.filter(webhook_events::Column::Provider.eq(provider));
    }
    if let Some(status) = status {
        q = q.filter(webhook_events::Column::Status.eq(status));
    }
    let sorted = q
        .order_by_desc(webhook_events::Column::ReceivedAt)
        .order_by_desc(webhook_events::Column::Id);
    Ok(crate::platform::db::page_of(
        db,
        sorted,
        webhook_events::Column::Id,
        |e| e.id,
        false,
        crate::platform::db::Window::page(page, per_page),
    )
    .await?)
}

pub async fn get(db: &DatabaseConnection, id: Uuid) -> AppResult<webhook_events::Model> {
    webhook_events::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("webhook_event"))
}

/// The event's job, if it has one.
async fn job_of<C: sea_orm::ConnectionTrait>(
    db: &C,
    event: &webhook_events::Model,
) -> AppResult<Option<background_jobs::Model>> {
    let Some(kind) = kind_of(&event.provider) else {
        return Ok(None);
    };
    Ok(background_jobs::Entity::find()
        .filter(background_jobs::Column::Kind.eq(kind))
        .filter(background_jobs::Column::SubjectId.eq(event.id))
        .one(db)
        .await?)
}

/// Puts an event that was not applied back in the queue. Applied events, and events still
/// waiting for their job, are refused (409).
pub async fn replay(
    services: &Services,
    actor: &Actor,
    id: Uuid,
) -> AppResult<webhook_events::Model> {
    let txn = crate::platform::db::begin_write(&services.db).await?;
    // Locked, so concurrent replays of one event queue up and all but the first see it pending.
    let event = crate::platform::db::one_for_update(&txn, webhook_events::Entity::find_by_id(id))
        .await?
        .ok_or_else(|| AppError::not_found("webhook_event"))?;
    if event.status == InboxStatus::Processed {
        return Err(AppError::conflict(
            "already_processed",
            "this event was applied; replaying it would change nothing",
        ));
    }
    let kind = kind_of(&event.provider).ok_or_else(|| {
        AppError::conflict("not_replayable", "events of this provider are not applied")
    })?;
    let job = job_of(&txn, &event).await?;
    let gave_up = job
        .as_ref()
        .is_some_and(|j| j.status == jobs::JobStatus::Failed);
    if event.status == InboxStatus::Received && !gave_up {
        return Err(AppError::conflict(
            "still_pending",
            "this event is still waiting for its job",
        ));
    }
    let before = json!({"status": event.status, "error": event.error});
    let mut active: webhook_events::ActiveModel = event.into();
    active.status = Set(InboxStatus::Received);
    active.error = Set(None);
    active.processed_at = Set(None);
    let event = active.update(&txn).await?;
    let job = jobs::rearm(&txn, &services.config, kind, event.id).await?;
    audit::record_in(
        &txn,
        actor,
        "webhook.replayed",
        ("webhook_event", event.id.to_string()),
        before,
        json!({"status": event.status, "job_id": job.id}),
    )
    .await?;
    AfterCommit::ringing(job).commit(services, txn).await?;
    Ok(event)
}
