//! The credit ledger. Credits move only through `apply`: one append-only `credit_transactions`
//! row with a unique `reference`, and the user's balance changed in the same transaction.
//! Applying a reference twice is a no-op that returns the original row.

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    entities::{credit_transactions as ledger, users},
    error::{AppError, AppResult},
};

/// The kinds the frontend shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
    Bonus,
    Purchase,
    Usage,
    Refund,
    AdminAdjustment,
}

impl TxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TxKind::Bonus => "bonus",
            TxKind::Purchase => "purchase",
            TxKind::Usage => "usage",
            TxKind::Refund => "refund",
            TxKind::AdminAdjustment => "admin_adjustment",
        }
    }
}

/// One movement of credits.
#[derive(Debug, Clone)]
pub struct Entry {
    pub user_id: Uuid,
    pub kind: TxKind,
    /// Signed: positive adds credits, negative removes them.
    pub amount: i64,
    /// Unique across the ledger, e.g. `signup:<user>`, `call:<conversation>`.
    pub reference: String,
    pub description: Option<String>,
    pub actor_id: Option<Uuid>,
    pub call_id: Option<Uuid>,
    pub purchase_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub stripe_payment_id: Option<String>,
}

impl Entry {
    pub fn new(user_id: Uuid, kind: TxKind, amount: i64, reference: impl Into<String>) -> Self {
        Self {
            user_id,
            kind,
            amount,
            reference: reference.into(),
            description: None,
            actor_id: None,
            call_id: None,
            purchase_id: None,
            agent_id: None,
            stripe_payment_id: None,
        }
    }

    pub fn describe(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

/// The result of applying an entry: the ledger row, and whether this call created it.
#[derive(Debug, Clone)]
pub struct Applied {
    pub row: ledger::Model,
    pub created: bool,
}

/// Applies `entry` inside the caller's transaction.
///
/// The balance is updated first, which takes the user's row lock (PostgreSQL) or the write
/// lock (SQLite) before the reference is checked, so concurrent applications of one reference
/// serialise and the later one sees the earlier one's row and undoes its own update.
pub async fn apply_in<C: ConnectionTrait>(txn: &C, entry: Entry) -> AppResult<Applied> {
    let now = Utc::now();
    let add = |delta: i64| {
        users::Entity::update_many()
            .col_expr(
                users::Column::Credits,
                Expr::col(users::Column::Credits).add(delta),
            )
            .col_expr(users::Column::UpdatedAt, Expr::value(now))
            .filter(users::Column::Id.eq(entry.user_id))
    };
    if add(entry.amount).exec(txn).await?.rows_affected == 0 {
        return Err(AppError::not_found("user"));
    }
    if let Some(existing) = ledger::Entity::find()
        .filter(ledger::Column::Reference.eq(entry.reference.as_str()))
        .one(txn)
        .await?
    {
        add(-entry.amount).exec(txn).await?;
        return Ok(Applied {
            row: existing,
            created: false,
        });
    }
    let balance = users::Entity::find_by_id(entry.user_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?
        .credits;
    let row = ledger::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(entry.user_id),
        kind: Set(entry.kind.as_str().into()),
        amount: Set(entry.amount),
        balance_after: Set(balance),
        reference: Set(entry.reference),
        description: Set(entry.description),
        stripe_payment_id: Set(entry.stripe_payment_id),
        actor_id: Set(entry.actor_id),
        call_id: Set(entry.call_id),
        purchase_id: Set(entry.purchase_id),
        agent_id: Set(entry.agent_id),
        created_at: Set(now),
    };
    let row = ledger::Entity::insert(row).exec_with_returning(txn).await?;
    Ok(Applied { row, created: true })
}

/// Applies `entry` in its own transaction. A unique-key race on the reference (possible only
/// across users' rows) ends in the original row being returned, never in a second movement.
pub async fn apply(db: &DatabaseConnection, entry: Entry) -> AppResult<Applied> {
    let reference = entry.reference.clone();
    let txn = crate::db::begin_write(db).await?;
    match apply_in(&txn, entry).await {
        Ok(applied) => {
            txn.commit().await?;
            Ok(applied)
        }
        Err(AppError::Database(e)) => {
            drop(txn);
            match ledger::Entity::find()
                .filter(ledger::Column::Reference.eq(reference.as_str()))
                .one(db)
                .await?
            {
                Some(row) => Ok(Applied {
                    row,
                    created: false,
                }),
                None => Err(AppError::Database(e)),
            }
        }
        Err(e) => Err(e),
    }
}

/// The user's current balance.
pub async fn balance<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<i64> {
    Ok(users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?
        .credits)
}
