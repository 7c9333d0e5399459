//! The account's do-not-call list: numbers no campaign of the account dials, whoever's contact
//! they are. A number joins by hand or when its contact opts out after a call; joining ends the
//! number's queued campaign dials at once (a call in flight finishes).

use std::collections::HashSet;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::OnConflict,
};
use uuid::Uuid;

use crate::{
    accounts::auth::CurrentUser,
    entities::{
        calls, campaign_targets as targets, campaign_targets::TargetOutcome, contacts, dnc_numbers,
    },
    platform::{
        db::Window,
        error::{AppError, AppResult},
        owned,
    },
};

/// The account's do-not-call numbers.
pub(crate) async fn numbers_of<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
) -> AppResult<HashSet<String>> {
    Ok(dnc_numbers::Entity::find()
        .filter(dnc_numbers::Column::UserId.eq(user_id))
        .select_only()
        .column(dnc_numbers::Column::PhoneE164)
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// Lists `phone_e164` (again is fine: the first reason stays) and ends its queued dials in the
/// account's campaigns, in the caller's transaction.
async fn add<C: ConnectionTrait>(
    txn: &C,
    user_id: Uuid,
    phone_e164: &str,
    reason: Option<String>,
) -> AppResult<()> {
    dnc_numbers::Entity::insert(dnc_numbers::ActiveModel {
        user_id: Set(user_id),
        phone_e164: Set(phone_e164.to_string()),
        reason: Set(reason),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::columns([dnc_numbers::Column::UserId, dnc_numbers::Column::PhoneE164])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    super::end_queued(
        txn,
        sea_orm::Condition::all()
            .add(targets::Column::UserId.eq(user_id))
            .add(targets::Column::PhoneE164.eq(phone_e164)),
        TargetOutcome::DoNotCall,
    )
    .await
}

/// Puts a number (already E.164) on the account's list.
pub async fn block(
    db: &DatabaseConnection,
    user_id: Uuid,
    phone_e164: &str,
    reason: Option<String>,
) -> AppResult<dnc_numbers::Model> {
    let txn = crate::platform::db::begin_write(db).await?;
    add(&txn, user_id, phone_e164, reason).await?;
    let row = listed(&txn, user_id, phone_e164).await?;
    txn.commit().await?;
    Ok(row)
}

/// Puts a number as the user typed it (read with the account's region) on the list.
pub async fn block_typed(
    db: &DatabaseConnection,
    user: &CurrentUser,
    typed: &str,
    reason: Option<String>,
) -> AppResult<dnc_numbers::Model> {
    let phone = normalized(db, user, typed).await?;
    let reason = reason_of(reason)?;
    block(db, user.id, &phone, reason).await
}

/// Takes a number off the list (404 when it is not on it); campaigns made later dial it again.
pub async fn unblock(db: &DatabaseConnection, user: &CurrentUser, typed: &str) -> AppResult<()> {
    let phone = normalized(db, user, typed).await?;
    let removed = dnc_numbers::Entity::delete_many()
        .filter(dnc_numbers::Column::UserId.eq(user.id))
        .filter(dnc_numbers::Column::PhoneE164.eq(&phone))
        .exec(db)
        .await?;
    if removed.rows_affected == 0 {
        return Err(AppError::not_found("do_not_call_number"));
    }
    Ok(())
}

/// A page of the account's list, newest first, and its size.
pub async fn list(
    db: &DatabaseConnection,
    user_id: Uuid,
    window: Window,
) -> AppResult<(Vec<dnc_numbers::Model>, u64)> {
    let all = dnc_numbers::Entity::find().filter(dnc_numbers::Column::UserId.eq(user_id));
    let total = all.clone().count(db).await?;
    let rows = all
        .order_by_desc(dnc_numbers::Column::CreatedAt)
        .order_by_asc(dnc_numbers::Column::PhoneE164)
        .offset(window.offset)
        .limit(window.limit)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// The contact of one of the account's calls opts out: the contact is marked do-not-call and
/// the call's number joins the list, in one transaction. Another tenant's call is a 404.
pub async fn opt_out_after(
    db: &DatabaseConnection,
    user: &CurrentUser,
    call_id: Uuid,
    reason: Option<String>,
) -> AppResult<(dnc_numbers::Model, Option<Uuid>)> {
    let call = owned::find::<calls::Entity, _>(db, user.owner(), call_id).await?;
    let contact = match call.contact_id {
        Some(id) => contacts::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let phone = contact
        .as_ref()
        .map(|c| c.phone_e164.clone())
        .or(call.phone_number.clone())
        .filter(|p| p.starts_with('+'))
        .ok_or_else(|| {
            AppError::conflict(
                "call_has_no_number",
                "the call has no phone number to block",
            )
        })?;
    let reason = reason_of(reason)?.unwrap_or_else(|| format!("opted out on call {call_id}"));
    let txn = crate::platform::db::begin_write(db).await?;
    if let Some(contact) = &contact {
        let mut row: contacts::ActiveModel = contact.clone().into();
        row.do_not_call = Set(true);
        row.updated_at = Set(Utc::now());
        row.update(&txn).await?;
    }
    add(&txn, user.id, &phone, Some(reason)).await?;
    let row = listed(&txn, user.id, &phone).await?;
    txn.commit().await?;
    tracing::info!(call = %call_id, "contact opted out after a call");
    Ok((row, contact.map(|c| c.id)))
}

/// A reason as given, trimmed; none when blank.
fn reason_of(reason: Option<String>) -> AppResult<Option<String>> {
    let reason = reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(AppError::validation("reason", "at most 500 characters"));
    }
    Ok(reason)
}

async fn listed<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    phone: &str,
) -> AppResult<dnc_numbers::Model> {
    dnc_numbers::Entity::find_by_id((user_id, phone.to_string()))
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("listed number vanished"))
}

async fn normalized(db: &DatabaseConnection, user: &CurrentUser, typed: &str) -> AppResult<String> {
    let region = crate::contacts::region_of(db, user.id).await?;
    crate::contacts::phone::normalize("phone_number", typed, &region)
}
