//! An account's recent activity as the admin's user detail lists it: its calls and chats, the
//! credits it bought or was given, and what admins did to it, newest first.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::{
    entities::{audit_log, calls, credit_transactions as ledger},
    money::credits::TxKind,
    platform::error::AppResult,
};

/// How many entries the detail shows.
pub const SHOWN: usize = 20;

#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// The record's id (call, ledger entry or audit entry).
    pub id: Uuid,
    /// `call`, `chat`, `credits_purchase`, `credits_bonus`, `credits_refund`,
    /// `credits_admin_adjustment` or the audited action (e.g. `user.suspended`).
    pub kind: String,
    pub description: String,
    pub at: DateTime<Utc>,
}

fn call_activity(c: calls::Model) -> Activity {
    let with = c.phone_number.as_deref().unwrap_or("the web widget");
    let length = format!("{}m {:02}s", c.duration_secs / 60, c.duration_secs % 60);
    Activity {
        id: c.id,
        kind: c.channel.to_string(),
        description: format!("{} {} with {with} ({length})", c.channel, c.status),
        at: c.created_at,
    }
}

fn ledger_activity(t: ledger::Model) -> Activity {
    let credits = if t.amount.abs() == 1 {
        "credit"
    } else {
        "credits"
    };
    let what = match t.kind {
        TxKind::Purchase => "Bought",
        TxKind::Bonus => "Received a bonus of",
        TxKind::Refund => "Refunded",
        TxKind::AdminAdjustment if t.amount < 0 => "An admin removed",
        TxKind::AdminAdjustment => "An admin added",
        TxKind::Usage => "Used",
    };
    let why = t
        .description
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    Activity {
        id: t.id,
        kind: format!("credits_{}", t.kind),
        description: format!("{what} {} {credits}{why}", t.amount.abs()),
        at: t.created_at,
    }
}

fn audit_activity(e: audit_log::Model) -> Activity {
    Activity {
        id: e.id,
        description: crate::accounts::audit::describe(&e),
        kind: e.action,
        at: e.created_at,
    }
}

/// The latest [`SHOWN`] entries of `user`'s activity.
pub async fn recent(db: &DatabaseConnection, user: Uuid) -> AppResult<Vec<Activity>> {
    let limit = SHOWN as u64;
    let calls = calls::Entity::find()
        .filter(calls::Column::UserId.eq(user))
        .order_by_desc(calls::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await?;
    // Usage entries repeat the calls above.
    let credits = ledger::Entity::find()
        .filter(ledger::Column::UserId.eq(user))
        .filter(ledger::Column::Kind.ne(TxKind::Usage))
        .order_by_desc(ledger::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await?;
    let audited = audit_log::Entity::find()
        .filter(audit_log::Column::TargetType.eq("user"))
        .filter(audit_log::Column::TargetId.eq(user.to_string()))
        .order_by_desc(audit_log::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await?;
    let mut all: Vec<Activity> = calls
        .into_iter()
        .map(call_activity)
        .chain(credits.into_iter().map(ledger_activity))
        .chain(audited.into_iter().map(audit_activity))
        .collect();
    all.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
    all.truncate(SHOWN);
    Ok(all)
}
