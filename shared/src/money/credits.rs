//! The credit ledger. Credits move only through `apply`: one append-only `credit_transactions`
//! row with a unique `reference`, and the user's balance changed in the same transaction.
//! Applying a reference twice is a no-op that returns the original row.

pub use crate::entities::credit_transactions::TxKind;

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, TryIntoModel,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    entities::{credit_transactions as ledger, users},
    platform::error::{AppError, AppResult},
};

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

    /// The ledger row of this movement, leaving the balance at `balance_after`.
    fn into_row(self, balance_after: i64) -> ledger::ActiveModel {
        ledger::ActiveModel {
            id: Set(crate::platform::ids::next()),
            user_id: Set(self.user_id),
            kind: Set(self.kind),
            amount: Set(self.amount),
            balance_after: Set(balance_after),
            reference: Set(self.reference),
            description: Set(self.description),
            stripe_payment_id: Set(self.stripe_payment_id),
            actor_id: Set(self.actor_id),
            call_id: Set(self.call_id),
            purchase_id: Set(self.purchase_id),
            agent_id: Set(self.agent_id),
            created_at: Set(Utc::now()),
        }
    }
}

/// The result of applying an entry: the ledger row, and whether this call created it.
#[derive(Debug, Clone)]
pub struct Applied {
    pub row: ledger::Model,
    pub created: bool,
}

impl Applied {
    /// The `credits_changed` live event of a new movement; a repeat changed nothing.
    pub fn live_event(&self) -> Option<crate::platform::live::LiveEvent> {
        self.created.then(|| {
            crate::platform::live::LiveEvent::new(
                self.row.user_id,
                crate::platform::live::LiveKind::CreditsChanged,
                serde_json::json!({
                    "balance": self.row.balance_after,
                    "amount": self.row.amount,
                    "type": self.row.kind,
                    "transaction_id": self.row.id,
                }),
            )
        })
    }
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
    // RETURNING hands back the new balance with the lock, saving a read while it is held.
    let balance = add(entry.amount)
        .exec_with_returning(txn)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("user"))?
        .credits;
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
    let row = entry.into_row(balance);
    let row = ledger::Entity::insert(row).exec_with_returning(txn).await?;
    Ok(Applied { row, created: true })
}

/// Applies several entries inside the caller's transaction with a fixed number of statements:
/// the references already in the ledger are left alone (`created: false`), every other
/// user's balance moves by the sum of their entries in one update — which locks the users'
/// rows in the order of their ids — and the new rows are written together, each with the
/// balance it leaves in the order given. Results are in the order of `entries`.
///
/// Meant for entries of references no one else applies at the same time (one conversation's
/// charge is applied by its one job): a reference written concurrently by another
/// transaction makes the insert fail rather than move credits twice.
pub async fn apply_many_in<C: ConnectionTrait>(
    txn: &C,
    entries: Vec<Entry>,
) -> AppResult<Vec<Applied>> {
    use std::collections::{BTreeMap, HashMap};
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let existing: HashMap<String, ledger::Model> = ledger::Entity::find()
        .filter(ledger::Column::Reference.is_in(entries.iter().map(|e| e.reference.clone())))
        .all(txn)
        .await?
        .into_iter()
        .map(|row| (row.reference.clone(), row))
        .collect();
    let mut totals: BTreeMap<Uuid, i64> = BTreeMap::new();
    for entry in entries
        .iter()
        .filter(|e| !existing.contains_key(&e.reference))
    {
        *totals.entry(entry.user_id).or_default() += entry.amount;
    }
    // The balance each user had before these entries, to number the new rows from.
    let mut running: HashMap<Uuid, i64> = HashMap::new();
    if !totals.is_empty() {
        let delta = totals.iter().fold(
            sea_orm::sea_query::CaseStatement::new(),
            |case, (user, total)| case.case(users::Column::Id.eq(*user), Expr::val(*total)),
        );
        let now = Utc::now();
        let updated = users::Entity::update_many()
            .col_expr(
                users::Column::Credits,
                Expr::col(users::Column::Credits).add(Expr::Case(Box::new(delta))),
            )
            .col_expr(users::Column::UpdatedAt, Expr::value(now))
            .filter(users::Column::Id.is_in(totals.keys().copied()))
            .exec_with_returning(txn)
            .await?;
        if updated.len() != totals.len() {
            return Err(AppError::not_found("user"));
        }
        for user in updated {
            running.insert(user.id, user.credits - totals[&user.id]);
        }
    }
    let mut rows = Vec::new();
    let mut results = Vec::with_capacity(entries.len());
    for entry in entries {
        if let Some(row) = existing.get(&entry.reference) {
            results.push(Applied {
                row: row.clone(),
                created: false,
            });
            continue;
        }
        let balance = running.entry(entry.user_id).or_default();
        *balance += entry.amount;
        let row = entry.into_row(*balance);
        results.push(Applied {
            row: row.clone().try_into_model()?,
            created: true,
        });
        rows.push(row);
    }
    for chunk in rows.chunks(1_000) {
        ledger::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(results)
}

/// Applies `entry` in its own transaction. A unique-key race on the reference (possible only
/// across users' rows) ends in the original row being returned, never in a second movement.
pub async fn apply(db: &DatabaseConnection, entry: Entry) -> AppResult<Applied> {
    let reference = entry.reference.clone();
    let txn = crate::platform::db::begin_write(db).await?;
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

/// Filters of the transaction history.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub kind: Option<TxKind>,
    pub from: Option<chrono::DateTime<Utc>>,
    pub to: Option<chrono::DateTime<Utc>>,
}

fn history_query(user_id: Uuid, filter: &HistoryFilter) -> sea_orm::Select<ledger::Entity> {
    let mut query = ledger::Entity::find().filter(ledger::Column::UserId.eq(user_id));
    if let Some(kind) = filter.kind {
        query = query.filter(ledger::Column::Kind.eq(kind));
    }
    if let Some(from) = filter.from {
        query = query.filter(ledger::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(ledger::Column::CreatedAt.lt(to));
    }
    query
}

/// One page (1-based) of the user's ledger, newest first, with the total count.
pub async fn history(
    db: &DatabaseConnection,
    user_id: Uuid,
    filter: &HistoryFilter,
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<ledger::Model>, u64)> {
    use sea_orm::{PaginatorTrait, QueryOrder};
    let paginator = history_query(user_id, filter)
        .order_by_desc(ledger::Column::CreatedAt)
        .order_by_desc(ledger::Column::Id)
        .paginate(db, per_page);
    let total = paginator.num_items().await?;
    Ok((paginator.fetch_page(page.saturating_sub(1)).await?, total))
}

/// The ledger summed by kind, for the billing statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub purchased: i64,
    /// Credits spent (a positive number).
    pub used: i64,
    pub bonus: i64,
    pub adjustments: i64,
    pub refunded: i64,
    pub transactions: i64,
}

/// Sums the user's ledger by kind in one grouped query (the sums are cast so PostgreSQL's
/// `numeric` SUM decodes as an integer on both backends).
pub async fn totals<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<Totals> {
    use sea_orm::QuerySelect;
    let rows: Vec<(TxKind, i64, i64)> = ledger::Entity::find()
        .select_only()
        .column(ledger::Column::Kind)
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(amount), 0) AS BIGINT)"),
            "total",
        )
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
        .filter(ledger::Column::UserId.eq(user_id))
        .group_by(ledger::Column::Kind)
        .into_tuple()
        .all(db)
        .await?;
    let mut totals = Totals::default();
    for (kind, total, n) in rows {
        totals.transactions += n;
        match kind {
            TxKind::Purchase => totals.purchased += total,
            TxKind::Usage => totals.used -= total,
            TxKind::Bonus => totals.bonus += total,
            TxKind::AdminAdjustment => totals.adjustments += total,
            TxKind::Refund => totals.refunded += total,
        }
    }
    Ok(totals)
}

/// Credits used in a period, per day (UTC) and per agent.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    pub total: i64,
    pub per_day: Vec<(chrono::NaiveDate, i64)>,
    pub per_agent: Vec<(Option<Uuid>, i64)>,
}

/// Sums the `usage` entries of `[from, to)`. The period is bounded by the caller (at most a
/// year), so the rows are aggregated here rather than with per-database date functions.
pub async fn usage(
    db: &DatabaseConnection,
    user_id: Uuid,
    from: chrono::DateTime<Utc>,
    to: chrono::DateTime<Utc>,
) -> AppResult<Usage> {
    use std::collections::BTreeMap;
    let filter = HistoryFilter {
        kind: Some(TxKind::Usage),
        from: Some(from),
        to: Some(to),
    };
    let rows = history_query(user_id, &filter).all(db).await?;
    let mut per_day: BTreeMap<chrono::NaiveDate, i64> = BTreeMap::new();
    let mut per_agent: BTreeMap<Option<Uuid>, i64> = BTreeMap::new();
    let mut total = 0;
    for row in rows {
        let used = -row.amount;
        total += used;
        *per_day.entry(row.created_at.date_naive()).or_default() += used;
        *per_agent.entry(row.agent_id).or_default() += used;
    }
    Ok(Usage {
        total,
        per_day: per_day.into_iter().collect(),
        per_agent: per_agent.into_iter().collect(),
    })
}

/// Credits a call costs: one per started minute (133 s → 3, 60 s → 1, 0 s → 0).
/// Credits one chat of `duration_secs` costs under `rule` (per minute, as a call).
pub fn chat_cost(rule: crate::platform::config::ChatBilling, duration_secs: i64) -> AppResult<i64> {
    use crate::platform::config::ChatBilling;
    match rule {
        ChatBilling::PerMinute => call_cost(duration_secs),
        ChatBilling::PerConversation => Ok(1),
        ChatBilling::Free => Ok(0),
    }
}

pub fn call_cost(duration_secs: i64) -> AppResult<i64> {
    if duration_secs < 0 {
        return Err(AppError::validation(
            "duration_secs",
            "must not be negative",
        ));
    }
    Ok((duration_secs + 59) / 60)
}

/// Charges a finished call once (reference `call:<conversation>`); the balance may go below
/// zero because the call already happened.
pub async fn charge_call<C: ConnectionTrait>(
    txn: &C,
    user_id: Uuid,
    conversation_id: &str,
    duration_secs: Option<i64>,
    agent_id: Option<Uuid>,
    call_id: Option<Uuid>,
) -> AppResult<Applied> {
    let duration =
        duration_secs.ok_or_else(|| AppError::validation("duration_secs", "is required"))?;
    let cost = call_cost(duration)?;
    let description = format!("Call of {}:{:02}", duration / 60, duration % 60);
    charge_conversation(
        txn,
        user_id,
        conversation_id,
        cost,
        description,
        agent_id,
        call_id,
    )
    .await
}

/// Charges `cost` credits for one conversation (a call or a chat), once per conversation:
/// the reference is the conversation's, so a redelivery charges nothing more.
pub async fn charge_conversation<C: ConnectionTrait>(
    txn: &C,
    user_id: Uuid,
    conversation_id: &str,
    cost: i64,
    description: String,
    agent_id: Option<Uuid>,
    call_id: Option<Uuid>,
) -> AppResult<Applied> {
    let mut entry = Entry::new(
        user_id,
        TxKind::Usage,
        -cost,
        format!("call:{conversation_id}"),
    )
    .describe(description);
    entry.agent_id = agent_id;
    entry.call_id = call_id;
    apply_in(txn, entry).await
}

/// Starting a call needs a positive balance.
pub async fn require_positive_balance<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<()> {
    if balance(db, user_id).await? > 0 {
        Ok(())
    } else {
        Err(AppError::InsufficientCredits {
            message: "buy credits to start a call".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_cost_one_credit_per_started_minute() {
        for (secs, credits) in [
            (0, 0),
            (1, 1),
            (59, 1),
            (60, 1),
            (61, 2),
            (133, 3),
            (3600, 60),
        ] {
            assert_eq!(call_cost(secs).unwrap(), credits, "{secs} s");
        }
        assert!(call_cost(-1).is_err());
    }
}
