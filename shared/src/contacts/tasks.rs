//! Lead tasks: follow-ups and demos dated on a lead from Lead Intelligence. A task names its
//! lead as the screen does (number, e-mail, name) and is tied to the lead's contact when there
//! is one, so the lead's row shows its latest follow-up and demo.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    entities::{
        contacts,
        lead_tasks::{self, TaskKind, TaskStatus},
    },
    platform::{
        db::Window,
        error::{AppError, AppResult},
        ids::UserId,
        owned,
    },
};

/// Who a task is about, as the screen names the lead.
#[derive(Debug, Clone, Default)]
pub struct Lead {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// The user's contact for the lead: by number (read in the account's region), else by e-mail.
async fn contact_of(
    db: &DatabaseConnection,
    user_id: Uuid,
    lead: &Lead,
) -> AppResult<Option<contacts::Model>> {
    if let Some(raw) = lead.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        let region = super::region_of(db, user_id).await?;
        if let Ok(phone) = super::phone::normalize("leadPhone", raw, &region)
            && let Some(c) = super::by_phone(db, user_id, &phone).await?
        {
            return Ok(Some(c));
        }
    }
    if let Some(email) = lead.email.as_deref().filter(|e| !e.trim().is_empty()) {
        return Ok(contacts::Entity::find()
            .filter(contacts::Column::UserId.eq(user_id))
            .filter(contacts::Column::Email.eq(email.trim().to_lowercase()))
            .one(db)
            .await?);
    }
    Ok(None)
}

fn check_lead(lead: &Lead) -> AppResult<()> {
    let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    if given(&lead.phone) || given(&lead.email) {
        Ok(())
    } else {
        Err(AppError::validation(
            "leadPhone",
            "give the lead's phone number or e-mail",
        ))
    }
}

/// A day-only date as an instant: noon UTC, so the day reads the same in every time zone the
/// screen may be in.
pub fn day(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(12, 0, 0).expect("noon exists").and_utc()
}

/// Schedules a follow-up or a demo on a lead.
pub async fn schedule(
    db: &DatabaseConnection,
    user_id: Uuid,
    kind: TaskKind,
    lead: Lead,
    due_at: DateTime<Utc>,
    remark: Option<String>,
) -> AppResult<lead_tasks::Model> {
    check_lead(&lead)?;
    check_remark(remark.as_deref())?;
    let contact = contact_of(db, user_id, &lead).await?;
    let now = Utc::now();
    Ok(lead_tasks::ActiveModel {
        id: Set(crate::platform::ids::next()),
        user_id: Set(user_id),
        contact_id: Set(contact.as_ref().map(|c| c.id)),
        kind: Set(kind),
        due_at: Set(due_at),
        remark: Set(remark.filter(|r| !r.trim().is_empty())),
        status: Set(TaskStatus::Pending),
        lead_name: Set(lead
            .name
            .or_else(|| contact.as_ref().map(|c| c.name.clone()))),
        lead_phone: Set(contact
            .as_ref()
            .map(|c| c.phone_e164.clone())
            .or(lead.phone)),
        lead_email: Set(lead.email.or_else(|| contact.and_then(|c| c.email))),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// The tasks of the lead: tied to its contact, or naming its number or e-mail.
async fn tasks_of(db: &DatabaseConnection, user_id: Uuid, lead: &Lead) -> AppResult<Condition> {
    let contact = contact_of(db, user_id, lead).await?;
    let mut whose = Condition::any();
    if let Some(c) = &contact {
        whose = whose.add(lead_tasks::Column::ContactId.eq(c.id));
    }
    if let Some(phone) = lead.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        whose = whose.add(lead_tasks::Column::LeadPhone.eq(phone.trim()));
    }
    if let Some(email) = lead.email.as_deref().filter(|e| !e.trim().is_empty()) {
        whose = whose.add(lead_tasks::Column::LeadEmail.eq(email.trim()));
    }
    Ok(whose)
}

/// Which follow-ups a list keeps.
#[derive(Debug, Clone, Default)]
pub struct FollowUpFilter {
    /// `Some(true)`: completed only; `Some(false)`: not completed (pending or cancelled).
    pub completed: Option<bool>,
    /// Only this lead's (by number or e-mail) when either is given.
    pub lead: Lead,
}

/// The user's follow-ups, soonest due first, and how many match.
pub async fn follow_ups(
    db: &DatabaseConnection,
    user_id: Uuid,
    filter: FollowUpFilter,
    window: Window,
) -> AppResult<(Vec<lead_tasks::Model>, u64)> {
    let mut query = owned::of::<lead_tasks::Entity>(UserId(user_id))
        .filter(lead_tasks::Column::Kind.eq(TaskKind::FollowUp));
    match filter.completed {
        Some(true) => query = query.filter(lead_tasks::Column::Status.eq(TaskStatus::Completed)),
        Some(false) => query = query.filter(lead_tasks::Column::Status.ne(TaskStatus::Completed)),
        None => {}
    }
    if check_lead(&filter.lead).is_ok() {
        query = query.filter(tasks_of(db, user_id, &filter.lead).await?);
    }
    let sorted = query
        .order_by_asc(lead_tasks::Column::DueAt)
        .order_by_asc(lead_tasks::Column::Id);
    Ok(
        crate::platform::db::page_of(db, sorted, lead_tasks::Column::Id, |t| t.id, false, window)
            .await?,
    )
}

/// What an edit of one follow-up may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct FollowUpChange {
    pub due_at: Option<DateTime<Utc>>,
    /// `Some(None)` or a blank remark clears it.
    pub remark: Option<Option<String>>,
    pub status: Option<TaskStatus>,
}

fn check_remark(remark: Option<&str>) -> AppResult<()> {
    match remark {
        Some(r) if r.chars().count() > super::MAX_NOTES_LEN => Err(AppError::validation(
            "remark",
            format!("at most {} characters", super::MAX_NOTES_LEN),
        )),
        _ => Ok(()),
    }
}

/// Edits one of the user's follow-ups; anyone else's is 404 `follow_up_not_found`.
pub async fn update_follow_up(
    db: &DatabaseConnection,
    user_id: Uuid,
    id: Uuid,
    change: FollowUpChange,
) -> AppResult<lead_tasks::Model> {
    check_remark(change.remark.as_ref().and_then(|r| r.as_deref()))?;
    let current = follow_up(db, user_id, id).await?;
    let mut row: lead_tasks::ActiveModel = current.into();
    if let Some(due_at) = change.due_at {
        row.due_at = Set(due_at);
    }
    if let Some(remark) = change.remark {
        row.remark = Set(remark.filter(|r| !r.trim().is_empty()));
    }
    if let Some(status) = change.status {
        row.status = Set(status);
    }
    row.updated_at = Set(Utc::now());
    Ok(row.update(db).await?)
}

/// Deletes one of the user's follow-ups; anyone else's is 404 `follow_up_not_found`.
pub async fn delete_follow_up(db: &DatabaseConnection, user_id: Uuid, id: Uuid) -> AppResult<()> {
    let task = follow_up(db, user_id, id).await?;
    lead_tasks::Entity::delete_by_id(task.id).exec(db).await?;
    Ok(())
}

async fn follow_up(
    db: &DatabaseConnection,
    user_id: Uuid,
    id: Uuid,
) -> AppResult<lead_tasks::Model> {
    owned::find_where::<lead_tasks::Entity, _>(
        db,
        UserId(user_id),
        id,
        Condition::all().add(lead_tasks::Column::Kind.eq(TaskKind::FollowUp)),
        "follow_up",
    )
    .await
}

/// Sets the status of the lead's follow-ups that are not in it yet; none at all is 404.
pub async fn set_follow_up_status(
    db: &DatabaseConnection,
    user_id: Uuid,
    lead: Lead,
    status: TaskStatus,
) -> AppResult<u64> {
    check_lead(&lead)?;
    let whose = tasks_of(db, user_id, &lead).await?;
    let changed = lead_tasks::Entity::update_many()
        .col_expr(lead_tasks::Column::Status, Expr::value(status))
        .col_expr(lead_tasks::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(lead_tasks::Column::UserId.eq(user_id))
        .filter(lead_tasks::Column::Kind.eq(TaskKind::FollowUp))
        .filter(whose)
        .exec(db)
        .await?
        .rows_affected;
    if changed == 0 {
        return Err(AppError::not_found("follow_up"));
    }
    Ok(changed)
}

/// Each contact's latest follow-up and demo, for the lead rows.
pub async fn latest_of(
    db: &DatabaseConnection,
    user_id: Uuid,
    contact_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, (Option<lead_tasks::Model>, Option<lead_tasks::Model>)>> {
    let mut latest: HashMap<Uuid, (Option<lead_tasks::Model>, Option<lead_tasks::Model>)> =
        HashMap::new();
    if contact_ids.is_empty() {
        return Ok(latest);
    }
    let rows = lead_tasks::Entity::find()
        .filter(lead_tasks::Column::UserId.eq(user_id))
        .filter(lead_tasks::Column::ContactId.is_in(contact_ids.iter().copied()))
        .filter(lead_tasks::Column::Status.ne(TaskStatus::Cancelled))
        .order_by_asc(lead_tasks::Column::CreatedAt)
        .all(db)
        .await?;
    for task in rows {
        let Some(contact) = task.contact_id else {
            continue;
        };
        let entry = latest.entry(contact).or_default();
        match task.kind {
            TaskKind::FollowUp => entry.0 = Some(task),
            TaskKind::Demo => entry.1 = Some(task),
        }
    }
    Ok(latest)
}
