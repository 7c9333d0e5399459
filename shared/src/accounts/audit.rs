//! The audit log: who did what to which record, from where, with the record before and after.
//! Written in the transaction of the change it describes; the database refuses updates and
//! deletes of its rows.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{entities::audit_log, platform::error::AppResult};

/// The admin acting, and the request they acted through.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Uuid,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

/// Records one action; `before`/`after` are the changed record's fields (never secrets).
pub async fn record_in<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    action: &str,
    target: (&str, String),
    before: Value,
    after: Value,
) -> AppResult<audit_log::Model> {
    Ok(audit_log::ActiveModel {
        id: Set(crate::platform::ids::next()),
        actor_id: Set(Some(actor.id)),
        action: Set(action.into()),
        target_type: Set(Some(target.0.into())),
        target_id: Set(Some(target.1)),
        details: Set(json!({"before": before, "after": after})),
        ip: Set(actor.ip.clone()),
        request_id: Set(actor.request_id.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(txn)
    .await?)
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<Uuid>,
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// One page of the log, newest first.
pub async fn list(
    db: &DatabaseConnection,
    f: &AuditFilter,
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<audit_log::Model>, u64)> {
    let mut q = audit_log::Entity::find();
    if let Some(actor) = f.actor_id {
        q = q.filter(audit_log::Column::ActorId.eq(actor));
    }
    if let Some(action) = &f.action {
        q = q.filter(audit_log::Column::Action.eq(action.as_str()));
    }
    if let Some(t) = &f.target_type {
        q = q.filter(audit_log::Column::TargetType.eq(t.as_str()));
    }
    if let Some(t) = &f.target_id {
        q = q.filter(audit_log::Column::TargetId.eq(t.as_str()));
    }
    if let Some(from) = f.from {
        q = q.filter(audit_log::Column::CreatedAt.gte(from));
    }
    if let Some(to) = f.to {
        q = q.filter(audit_log::Column::CreatedAt.lt(to));
    }
    let sorted = q
        .order_by_desc(audit_log::Column::CreatedAt)
        .order_by_desc(audit_log::Column::Id);
    Ok(crate::platform::db::page_of(
        db,
        sorted,
        audit_log::Column::Id,
        |r| r.id,
        false,
        crate::platform::db::Window::page(page, per_page),
    )
    .await?)
}
