//! In-app notifications: created in the transaction of whatever caused them (so a retried job
//! cannot notify twice), listed with read/unread marks, and pushed to the live stream.

pub use crate::entities::notifications::NotificationKind;

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, sea_query::Expr,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    entities::notifications,
    platform::error::AppResult,
    platform::ids::UserId,
    platform::live::{LiveEvent, LiveKind},
    platform::owned,
};

/// A notification to create.
pub struct NewNotification {
    pub user_id: Uuid,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    pub data: Value,
}

/// Stores the notification inside the caller's transaction; publish the returned event after
/// the commit.
pub async fn create_in<C: ConnectionTrait>(
    txn: &C,
    new: NewNotification,
) -> AppResult<(notifications::Model, LiveEvent)> {
    let row = notifications::ActiveModel {
        id: Set(crate::platform::ids::next()),
        user_id: Set(new.user_id),
        kind: Set(new.kind),
        title: Set(new.title),
        body: Set(new.body),
        data: Set(new.data),
        read_at: Set(None),
        created_at: Set(Utc::now()),
    };
    let row = notifications::Entity::insert(row)
        .exec_with_returning(txn)
        .await?;
    let event = LiveEvent::new(row.user_id, LiveKind::Notification, to_json(&row));
    Ok((row, event))
}

/// The wire shape of a notification on the live stream (the REST shape has the same fields).
pub fn to_json(row: &notifications::Model) -> Value {
    json!({
        "id": row.id,
        "kind": row.kind,
        "title": row.title,
        "body": row.body,
        "data": row.data,
        "read": row.read_at.is_some(),
        "created_at": row.created_at,
    })
}

/// One window, newest first, with the total and the user's unread count.
pub async fn list(
    db: &DatabaseConnection,
    user_id: Uuid,
    unread_only: bool,
    window: crate::platform::db::Window,
) -> AppResult<(Vec<notifications::Model>, u64, u64)> {
    use sea_orm::QuerySelect;
    let mine = notifications::Entity::find().filter(notifications::Column::UserId.eq(user_id));
    let mut query = mine.clone();
    if unread_only {
        query = query.filter(notifications::Column::ReadAt.is_null());
    }
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_desc(notifications::Column::CreatedAt)
        .order_by_desc(notifications::Column::Id)
        .offset(window.offset)
        .limit(window.limit)
        .all(db)
        .await?;
    let unread = mine
        .filter(notifications::Column::ReadAt.is_null())
        .count(db)
        .await?;
    Ok((rows, total, unread))
}

/// Marks one of the user's notifications read (idempotent); another user's id is not found.
pub async fn mark_read(
    db: &DatabaseConnection,
    owner: UserId,
    id: Uuid,
) -> AppResult<notifications::Model> {
    let row = owned::find::<notifications::Entity, _>(db, owner, id).await?;
    if row.read_at.is_some() {
        return Ok(row);
    }
    let now = Utc::now();
    notifications::Entity::update_many()
        .col_expr(notifications::Column::ReadAt, Expr::value(now))
        .filter(notifications::Column::Id.eq(id))
        .filter(notifications::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(notifications::Model {
        read_at: Some(now),
        ..row
    })
}

/// Marks all of the user's unread notifications read; returns how many changed.
pub async fn mark_all_read(db: &DatabaseConnection, user_id: Uuid) -> AppResult<u64> {
    let result = notifications::Entity::update_many()
        .col_expr(notifications::Column::ReadAt, Expr::value(Utc::now()))
        .filter(notifications::Column::UserId.eq(user_id))
        .filter(notifications::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
