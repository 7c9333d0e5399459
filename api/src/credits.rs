//! The signed-in user's ledger: transaction history and usage summary.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use poem_openapi::{Object, OpenApi, param::Query, payload::Json};
use shared::{
    AppError, Services,
    entities::credit_transactions,
    money::credits::{self, HistoryFilter, TxKind},
};
use uuid::Uuid;

use crate::{
    api_errors,
    pagination::{Page, default_page, default_per_page},
    security::Auth,
    tags::Tag,
};

/// One ledger entry.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct CreditTransaction {
    pub id: Uuid,
    pub user_id: Uuid,
    #[oai(rename = "type")]
    pub kind: TxKind,
    /// Signed: negative for usage and refunds.
    pub amount: i64,
    pub balance_after: i64,
    pub description: Option<String>,
    pub stripe_payment_id: Option<String>,
    /// Unique per movement, e.g. `call:<conversation>` or `stripe:<checkout session>`.
    pub reference: String,
    pub agent_id: Option<Uuid>,
    pub call_id: Option<Uuid>,
    pub purchase_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<credit_transactions::Model> for CreditTransaction {
    fn from(t: credit_transactions::Model) -> Self {
        Self {
            id: t.id,
            user_id: t.user_id,
            kind: t.kind,
            amount: t.amount,
            balance_after: t.balance_after,
            description: t.description,
            stripe_payment_id: t.stripe_payment_id,
            reference: t.reference,
            agent_id: t.agent_id,
            call_id: t.call_id,
            purchase_id: t.purchase_id,
            created_at: t.created_at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DailyUsage {
    pub date: NaiveDate,
    pub credits: i64,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AgentUsage {
    /// Absent for usage not tied to an agent (or of a deleted agent).
    pub agent_id: Option<Uuid>,
    pub credits: i64,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct UsageSummary {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub total_credits: i64,
    pub per_day: Vec<DailyUsage>,
    pub per_agent: Vec<AgentUsage>,
}

api_errors!(LedgerErrors {
    400 => BadQuery: "Malformed query parameters (`invalid_parameter`), or an invalid field (`validation_error`; `details` maps each field to its message).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
});

/// Longest period a usage summary covers.
const MAX_RANGE_DAYS: i64 = 366;

pub struct CreditsApi {
    pub services: Services,
}

fn check_range(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<(), AppError> {
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        return Err(AppError::validation("from", "must be before `to`"));
    }
    Ok(())
}

#[OpenApi(prefix_path = "/api/credits", tag = "Tag::Billing")]
impl CreditsApi {
    /// Transaction history
    ///
    /// The ledger, newest first, filterable by type and period (`from` inclusive, `to`
    /// exclusive).
    #[oai(path = "/transactions", method = "get")]
    async fn transactions(
        &self,
        auth: Auth,
        #[oai(name = "type")] kind: Query<Option<TxKind>>,
        from: Query<Option<DateTime<Utc>>>,
        to: Query<Option<DateTime<Utc>>>,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        page: Query<u64>,
        #[oai(
            default = "default_per_page",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        per_page: Query<u64>,
    ) -> Result<Json<Page<CreditTransaction>>, LedgerErrors> {
        let me = auth.user(&self.services).await?;
        check_range(from.0, to.0)?;
        let filter = HistoryFilter {
            kind: kind.0,
            from: from.0,
            to: to.0,
        };
        let (rows, total) =
            credits::history(&self.services.db, me.id, &filter, page.0, per_page.0).await?;
        Ok(Json(Page::of(rows, page.0, per_page.0, total)))
    }

    /// Usage summary
    ///
    /// Credits used per day (UTC) and per agent over a period (default: the last 30 days; at
    /// most 366 days).
    #[oai(path = "/usage", method = "get")]
    async fn usage(
        &self,
        auth: Auth,
        from: Query<Option<DateTime<Utc>>>,
        to: Query<Option<DateTime<Utc>>>,
    ) -> Result<Json<UsageSummary>, LedgerErrors> {
        let me = auth.user(&self.services).await?;
        check_range(from.0, to.0)?;
        let to = to.0.unwrap_or_else(Utc::now);
        let from = from.0.unwrap_or(to - Duration::days(30));
        if to - from > Duration::days(MAX_RANGE_DAYS) {
            return Err(AppError::validation(
                "from",
                format!("the period is limited to {MAX_RANGE_DAYS} days"),
            )
            .into());
        }
        let usage = credits::usage(&self.services.db, me.id, from, to).await?;
        Ok(Json(UsageSummary {
            from,
            to,
            total_credits: usage.total,
            per_day: usage
                .per_day
                .into_iter()
                .map(|(date, credits)| DailyUsage { date, credits })
                .collect(),
            per_agent: usage
                .per_agent
                .into_iter()
                .map(|(agent_id, credits)| AgentUsage { agent_id, credits })
                .collect(),
        }))
    }
}
