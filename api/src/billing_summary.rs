//! The balance as the client's billing widgets read it: the credit badge on every dashboard
//! page, the statistics card of Overview and Settings, and the transaction history. They poll
//! in the background, so they answer 2xx whenever the caller is signed in.

use poem_openapi::{Object, OpenApi, param::Query, payload::Json};
use shared::{
    Services,
    entities::credit_transactions as ledger,
    money::credits::{self, TxKind},
};
use uuid::Uuid;

use crate::{
    api_errors,
    pagination::{DEFAULT_LIMIT, MAX_LIMIT, total_pages},
    security::Auth,
    tags::Tag,
    wire::{Timestamp, ts},
};

/// Days of usage the daily average looks back on.
const AVERAGE_DAYS: i64 = 30;

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct BalanceData {
    pub credits: i64,
    pub user_id: Uuid,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct BalanceEnvelope {
    pub success: bool,
    pub data: BalanceData,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct CreditStats {
    pub current_balance: i64,
    pub total_purchased: i64,
    /// Credits spent on calls and chats (positive).
    pub total_used: i64,
    pub total_bonus: i64,
    pub total_adjustments: i64,
    pub transaction_count: i64,
    /// Over the last 30 days.
    pub average_usage_per_day: f64,
    /// When the balance runs out at that pace (absent when nothing is used).
    pub projected_runout_date: Option<Timestamp>,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct StatsEnvelope {
    pub success: bool,
    pub data: CreditStats,
}

/// One ledger row.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct Transaction {
    pub id: Uuid,
    pub user_id: Uuid,
    #[oai(rename = "type")]
    pub kind: TxKind,
    /// Signed: positive adds credits.
    pub amount: i64,
    pub balance_after: i64,
    pub description: String,
    pub stripe_payment_id: Option<String>,
    pub call_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: Timestamp,
}

impl From<ledger::Model> for Transaction {
    fn from(row: ledger::Model) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            description: row.description.unwrap_or_default(),
            kind: row.kind,
            amount: row.amount,
            balance_after: row.balance_after,
            stripe_payment_id: row.stripe_payment_id,
            call_id: row.call_id,
            created_by: row.actor_id,
            created_at: row.created_at.into(),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct HistorySummary {
    pub total_purchased: i64,
    pub total_used: i64,
    pub total_bonus: i64,
    pub total_adjustments: i64,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct HistoryPage {
    pub transactions: Vec<Transaction>,
    pub total: u64,
    pub page: u64,
    pub limit: u64,
    pub total_pages: u64,
    pub summary: HistorySummary,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct HistoryEnvelope {
    pub success: bool,
    pub data: HistoryPage,
}

api_errors!(ReadErrors {
    400 => Invalid: "Malformed query parameters (`invalid_parameter`).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
});

pub struct BillingSummaryApi {
    pub services: Services,
}

#[OpenApi(prefix_path = "/api/billing", tag = "Tag::Billing")]
impl BillingSummaryApi {
    /// Credit balance (badge)
    ///
    /// The balance the top navigation's credit badge shows on every dashboard page.
    #[oai(path = "/credits", method = "get")]
    async fn credits(&self, auth: Auth) -> Result<Json<BalanceEnvelope>, ReadErrors> {
        let me = auth.account(&self.services).await?;
        Ok(Json(BalanceEnvelope {
            success: true,
            data: BalanceData {
                credits: me.credits,
                user_id: me.id,
            },
        }))
    }

    /// Credit statistics
    ///
    /// The ledger summed by kind, the daily usage of the last 30 days and when the balance
    /// would run out at that pace.
    #[oai(path = "/stats", method = "get")]
    async fn stats(&self, auth: Auth) -> Result<Json<StatsEnvelope>, ReadErrors> {
        let me = auth.account(&self.services).await?;
        let db = &self.services.db;
        let totals = credits::totals(db, me.id).await?;
        let now = chrono::Utc::now();
        let recent = credits::usage(db, me.id, now - chrono::Duration::days(AVERAGE_DAYS), now)
            .await?
            .total;
        let average = recent as f64 / AVERAGE_DAYS as f64;
        let runout = (average > 0.0 && me.credits > 0).then(|| {
            let days = me.credits as f64 / average;
            now + chrono::Duration::seconds((days * 86_400.0) as i64)
        });
        Ok(Json(StatsEnvelope {
            success: true,
            data: CreditStats {
                current_balance: me.credits,
                total_purchased: totals.purchased,
                total_used: totals.used,
                total_bonus: totals.bonus,
                total_adjustments: totals.adjustments,
                transaction_count: totals.transactions,
                average_usage_per_day: (average * 100.0).round() / 100.0,
                projected_runout_date: ts(runout),
            },
        }))
    }

    /// Credit history
    ///
    /// The ledger newest first, `page` from 1 and `limit` rows (at most 100), with the sums.
    #[oai(path = "/history", method = "get")]
    async fn history(
        &self,
        auth: Auth,
        #[oai(default = "first_page", validator(minimum(value = "1")))] page: Query<u64>,
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<u64>,
    ) -> Result<Json<HistoryEnvelope>, ReadErrors> {
        let me = auth.user(&self.services).await?;
        let db = &self.services.db;
        let (rows, total) = credits::history(
            db,
            me.id,
            &credits::HistoryFilter::default(),
            page.0,
            limit.0,
        )
        .await?;
        let totals = credits::totals(db, me.id).await?;
        Ok(Json(HistoryEnvelope {
            success: true,
            data: HistoryPage {
                transactions: rows.into_iter().map(Into::into).collect(),
                total,
                page: page.0,
                limit: limit.0,
                total_pages: total_pages(total, limit.0),
                summary: HistorySummary {
                    total_purchased: totals.purchased,
                    total_used: totals.used,
                    total_bonus: totals.bonus,
                    total_adjustments: totals.adjustments,
                },
            },
        }))
    }
}

fn first_page() -> u64 {
    1
}

fn default_limit() -> u64 {
    DEFAULT_LIMIT
}

// The bound of `limit` above is the literal the validator needs.
const _: () = assert!(MAX_LIMIT == 100);
