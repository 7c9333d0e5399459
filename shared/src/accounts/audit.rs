//! The audit log: who did what to which record, from where, with the record before and after.
//! Written in the transaction of the change it describes; the database refuses updates and
//! deletes of its rows.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Order},
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    entities::{audit_log, users},
    platform::error::{AppError, AppResult},
};

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
    /// Part of the action, the target's id or the details.
    pub search: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only entries of this outcome: the log holds only changes that were applied, so
    /// `Some(false)` finds nothing.
    pub success: Option<bool>,
    /// Oldest first instead of newest first.
    pub ascending: bool,
}

/// The entries `f` selects, unordered.
fn filtered(f: &AuditFilter) -> sea_orm::Select<audit_log::Entity> {
    let mut q = audit_log::Entity::find();
    if let Some(actor) = f.actor_id {
        q = q.filter(audit_log::Column::ActorId.eq(actor));
    }
    if let Some(action) = f.action.as_deref().filter(|a| !a.is_empty()) {
        q = q.filter(audit_log::Column::Action.eq(action));
    }
    if let Some(t) = f.target_type.as_deref().filter(|t| !t.is_empty()) {
        q = q.filter(audit_log::Column::TargetType.eq(t));
    }
    if let Some(t) = f.target_id.as_deref().filter(|t| !t.is_empty()) {
        q = q.filter(audit_log::Column::TargetId.eq(t));
    }
    if let Some(search) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = crate::contacts::like_pattern(search);
        q = q.filter(
            Condition::any()
                .add(crate::contacts::lower_like(
                    (audit_log::Entity, audit_log::Column::Action),
                    &pattern,
                ))
                .add(crate::contacts::lower_like(
                    (audit_log::Entity, audit_log::Column::TargetId),
                    &pattern,
                )),
        );
    }
    if let Some(from) = f.from {
        q = q.filter(audit_log::Column::CreatedAt.gte(from));
    }
    if let Some(to) = f.to {
        q = q.filter(audit_log::Column::CreatedAt.lt(to));
    }
    if f.success == Some(false) {
        q = q.filter(Expr::val(1).eq(0));
    }
    q
}

/// One page of the log, newest first unless `f.ascending`.
pub async fn list(
    db: &DatabaseConnection,
    f: &AuditFilter,
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<audit_log::Model>, u64)> {
    let order = if f.ascending { Order::Asc } else { Order::Desc };
    let sorted = filtered(f)
        .order_by(audit_log::Column::CreatedAt, order.clone())
        .order_by(audit_log::Column::Id, order);
    let searched = f.search.as_deref().is_some_and(|s| !s.trim().is_empty());
    Ok(crate::platform::db::page_of(
        db,
        sorted,
        audit_log::Column::Id,
        |r| r.id,
        searched,
        crate::platform::db::Window::page(page, per_page),
    )
    .await?)
}

pub async fn get(db: &DatabaseConnection, id: Uuid) -> AppResult<audit_log::Model> {
    audit_log::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("audit_entry"))
}

/// The user an entry is about, when it is about a user.
pub fn target_user(e: &audit_log::Model) -> Option<Uuid> {
    (e.target_type.as_deref() == Some("user"))
        .then(|| e.target_id.as_deref()?.parse().ok())
        .flatten()
}

/// The emails of the admins and users `entries` name, by id.
pub async fn emails_of(
    db: &DatabaseConnection,
    entries: &[audit_log::Model],
) -> AppResult<HashMap<Uuid, String>> {
    let ids: HashSet<Uuid> = entries
        .iter()
        .flat_map(|e| [e.actor_id, target_user(e)])
        .flatten()
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(users::Entity::find()
        .filter(users::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect())
}

/// What an entry did, in a sentence for the log's reader.
pub fn describe(e: &audit_log::Model) -> String {
    let after = &e.details["after"];
    let before = &e.details["before"];
    let reason = after["reason"]
        .as_str()
        .or_else(|| after["suspended_reason"].as_str())
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    match e.action.as_str() {
        "user.suspended" => format!("Suspended the account{reason}"),
        "user.reactivated" => "Reactivated the account".into(),
        "user.credits_adjusted" => {
            let amount = after["amount"].as_i64().unwrap_or(0);
            format!(
                "Adjusted credits by {amount:+}: {} → {}{reason}",
                before["credits"], after["credits"]
            )
        }
        "user.role_changed" => format!("Changed the role to {}", after["role"]),
        "user.updated" | "user.profile_updated" => "Edited the account".into(),
        other => {
            let mut words = other.replace(['.', '_'], " ");
            if let Some(first) = words.get(0..1) {
                words.replace_range(0..1, &first.to_uppercase());
            }
            words
        }
    }
}

/// The filtered log as an export, oldest first.
#[derive(Clone)]
pub struct AuditExport {
    pub db: DatabaseConnection,
    pub filter: AuditFilter,
}

impl crate::platform::tabular::Export for AuditExport {
    const SHEET: &'static str = "Audit log";

    fn header(&self) -> Vec<String> {
        [
            "Time",
            "Admin",
            "Action",
            "Description",
            "Resource",
            "Resource ID",
            "Target user",
            "IP",
            "Request ID",
            "Before",
            "After",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    async fn page(&self, after: Option<Uuid>) -> AppResult<Vec<(Uuid, Vec<String>)>> {
        let mut q = filtered(&self.filter);
        if let Some(after) = after {
            q = q.filter(audit_log::Column::Id.gt(after));
        }
        let rows = q
            .order_by_asc(audit_log::Column::Id)
            .limit(crate::platform::tabular::EXPORT_PAGE)
            .all(&self.db)
            .await?;
        let emails = emails_of(&self.db, &rows).await?;
        let email = |id: Option<Uuid>| {
            id.and_then(|id| emails.get(&id).cloned())
                .unwrap_or_default()
        };
        Ok(rows
            .iter()
            .map(|e| {
                (
                    e.id,
                    vec![
                        e.created_at.to_rfc3339(),
                        email(e.actor_id),
                        e.action.clone(),
                        describe(e),
                        e.target_type.clone().unwrap_or_default(),
                        e.target_id.clone().unwrap_or_default(),
                        email(target_user(e)),
                        e.ip.clone().unwrap_or_default(),
                        e.request_id.clone().unwrap_or_default(),
                        e.details["before"].to_string(),
                        e.details["after"].to_string(),
                    ],
                )
            })
            .collect())
    }
}
