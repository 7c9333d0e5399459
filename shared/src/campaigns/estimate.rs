//! What a campaign will cost, from the account's own calls: the credit estimator of the Create
//! Campaign dialog. A call costs a credit per started minute, so the estimate is the number of
//! contacts times the account's average credits per connected call (a typical two credits when
//! it has too few calls to say).

use chrono::{TimeDelta, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    entities::calls::{self, CallStatus, Channel},
    platform::error::{AppError, AppResult},
};

/// Credits a call is assumed to take when the account has no history.
pub const TYPICAL_CREDITS_PER_CALL: f64 = 2.0;
/// Calls in the last 90 days needed before the account's own average is trusted.
const HISTORY_NEEDED: u64 = 5;

/// How sure the estimate is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confidence {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub contacts: u64,
    pub balance: i64,
    pub average_per_call: f64,
    /// Connected calls the average comes from (last 90 days).
    pub history: u64,
    pub estimated_total: i64,
    /// A credit for each contact: what the campaign costs if every call is short.
    pub minimum: i64,
    pub confidence: Confidence,
}

impl Estimate {
    pub fn has_history(&self) -> bool {
        self.history >= HISTORY_NEEDED
    }
    pub fn can_afford(&self) -> bool {
        self.balance >= self.estimated_total
    }
    /// A campaign may start with any positive balance: it pauses itself when the credits run
    /// out.
    pub fn can_proceed(&self) -> bool {
        self.balance > 0
    }
    pub fn shortfall(&self) -> i64 {
        (self.estimated_total - self.balance).max(0)
    }
    pub fn remaining_after(&self) -> i64 {
        (self.balance - self.estimated_total).max(0)
    }
    /// The shortfall rounded up to ten credits.
    pub fn suggested_top_up(&self) -> i64 {
        let s = self.shortfall();
        (s + 9) / 10 * 10
    }
}

/// Estimates a campaign of `contacts` numbers for the account.
pub async fn estimate(
    db: &DatabaseConnection,
    user_id: Uuid,
    contacts: u64,
) -> AppResult<Estimate> {
    if contacts == 0 || contacts > super::MAX_TARGETS as u64 {
        return Err(AppError::validation(
            "contactCount",
            format!("between 1 and {}", super::MAX_TARGETS),
        ));
    }
    use sea_orm::sea_query::ExprTrait as _;
    let since = Utc::now() - TimeDelta::days(90);
    let (history, credits): (i64, Option<i64>) = calls::Entity::find()
        .select_only()
        .column_as(Expr::col(calls::Column::Id).count(), "n")
        .column_as(
            Expr::col(calls::Column::CreditsCharged)
                .sum()
                .cast_as("bigint"),
            "credits",
        )
        .filter(calls::Column::UserId.eq(user_id))
        .filter(calls::Column::Channel.eq(Channel::Call))
        .filter(calls::Column::Status.eq(CallStatus::Completed))
        .filter(calls::Column::CreatedAt.gte(since))
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or((0, None));
    let history = u64::try_from(history).unwrap_or(0);
    let average_per_call = if history >= HISTORY_NEEDED {
        credits.unwrap_or(0) as f64 / history as f64
    } else {
        TYPICAL_CREDITS_PER_CALL
    }
    .max(1.0);
    let balance = crate::money::credits::balance(db, user_id).await?;
    Ok(Estimate {
        contacts,
        balance,
        average_per_call,
        history,
        estimated_total: (contacts as f64 * average_per_call).ceil() as i64,
        minimum: contacts as i64,
        confidence: match history {
            50.. => Confidence::High,
            HISTORY_NEEDED.. => Confidence::Medium,
            _ => Confidence::Low,
        },
    })
}
