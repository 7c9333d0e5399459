//! What `/metrics` reads at scrape time: queue depth, the webhook inbox and ledger totals from
//! the database, so every replica reports the same, current figures. Kept apart from the
//! recording functions, which the modules it reads from call.

use metrics::gauge;
use sea_orm::{EntityTrait, QuerySelect, sea_query::Expr};

use super::handle;
use crate::{Services, entities::credit_transactions as ledger, platform::error::AppResult};

/// The text `/metrics` answers: the recorded series plus queue depth and ledger totals read
/// now.
pub async fn render(services: &Services) -> AppResult<String> {
    let handle = handle();
    for q in &crate::platform::jobs::depths(&services.db).await? {
        gauge!("jobs_queued", "kind" => q.kind.to_string()).set(q.queued as f64);
        gauge!("jobs_running", "kind" => q.kind.to_string()).set(q.running as f64);
        gauge!("jobs_failed", "kind" => q.kind.to_string()).set(q.failed as f64);
        let age = q
            .oldest_pending_at
            .map(|t| (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0)
            .unwrap_or(0.0);
        gauge!("jobs_oldest_pending_age_seconds", "kind" => q.kind.to_string()).set(age);
    }
    for c in &crate::platform::inbox::counts(&services.db).await? {
        gauge!("webhook_inbox_events", "provider" => c.provider.clone(), "status" => c.status.to_string())
            .set(c.count as f64);
    }
    let totals: Vec<(String, i64, i64)> = ledger::Entity::find()
        .select_only()
        .column(ledger::Column::Kind)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(\"amount\"), 0) AS BIGINT)"),
            "credits",
        )
        .group_by(ledger::Column::Kind)
        .into_tuple()
        .all(&services.db)
        .await?;
    for (kind, n, credits) in totals {
        gauge!("ledger_entries", "kind" => kind.clone()).set(n as f64);
        gauge!("ledger_credits", "kind" => kind).set(credits as f64);
    }
    Ok(handle.render())
}
