//! The numbers on an agent's card, aggregated by the database.

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{Services, platform::error::AppResult};

/// What an agent card shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentStats {
    pub calls: i64,
    /// Sum of the calls' durations, in (possibly fractional) minutes.
    pub minutes: f64,
    pub credits_used: i64,
    pub last_call_at: Option<chrono::DateTime<Utc>>,
    pub average_lead_score: Option<f64>,
    /// Share of completed calls ElevenLabs judged successful, 0 to 1.
    pub success_rate: Option<f64>,
}

/// One grouped row of `stats`.
#[derive(Debug, sea_orm::FromQueryResult)]
struct StatsRow {
    agent_id: Option<Uuid>,
    calls: i64,
    secs: Option<i64>,
    credits: Option<i64>,
    last_call: Option<chrono::DateTime<Utc>>,
    successes: Option<i64>,
    completed: Option<i64>,
}

/// Stats of the given agents, aggregated by the database (two grouped queries whatever the
/// number of calls).
pub async fn stats(
    services: &Services,
    agent_ids: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, AgentStats>> {
    use sea_orm::{
        ConnectionTrait, QuerySelect,
        sea_query::{Alias, Expr, ExprTrait, Query},
    };

    use crate::entities::{calls, lead_analytics};
    let mut out = std::collections::HashMap::new();
    if agent_ids.is_empty() {
        return Ok(out);
    }
    let db = &services.db;
    let rows: Vec<StatsRow> = calls::Entity::find()
        .select_only()
        .column(calls::Column::AgentId)
        .column_as(Expr::cust("COUNT(*)"), "calls")
        .column_as(Expr::cust("CAST(SUM(duration_secs) AS BIGINT)"), "secs")
        .column_as(
            Expr::cust("CAST(SUM(credits_charged) AS BIGINT)"),
            "credits",
        )
        .column_as(Expr::cust("MAX(created_at)"), "last_call")
        .column_as(
            Expr::cust(
                "CAST(SUM(CASE WHEN call_successful = 'success' THEN 1 ELSE 0 END) AS BIGINT)",
            ),
            "successes",
        )
        .column_as(
            Expr::cust("CAST(SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS BIGINT)"),
            "completed",
        )
        .filter(calls::Column::AgentId.is_in(agent_ids.iter().copied()))
        .group_by(calls::Column::AgentId)
        .into_model::<StatsRow>()
        .all(db)
        .await?;
    for row in rows {
        let Some(agent) = row.agent_id else { continue };
        let (calls_n, secs, credits, last, successes, completed) = (
            row.calls,
            row.secs,
            row.credits,
            row.last_call,
            row.successes,
            row.completed,
        );
        let completed = completed.unwrap_or(0);
        out.insert(
            agent,
            AgentStats {
                calls: calls_n,
                minutes: secs.unwrap_or(0) as f64 / 60.0,
                credits_used: credits.unwrap_or(0),
                last_call_at: last,
                average_lead_score: None,
                success_rate: (completed > 0)
                    .then(|| successes.unwrap_or(0) as f64 / completed as f64),
            },
        );
    }
    let query = Query::select()
        .column((calls::Entity, calls::Column::AgentId))
        .expr_as(
            Expr::cust("CAST(AVG(lead_analytics.total_score) AS DOUBLE PRECISION)"),
            Alias::new("score"),
        )
        .from(lead_analytics::Entity)
        .inner_join(
            calls::Entity,
            Expr::col((calls::Entity, calls::Column::Id))
                .equals((lead_analytics::Entity, lead_analytics::Column::CallId)),
        )
        .and_where(
            Expr::col((calls::Entity, calls::Column::AgentId)).is_in(agent_ids.iter().copied()),
        )
        .and_where(
            Expr::col((lead_analytics::Entity, lead_analytics::Column::ScoreStatus))
                .eq(lead_analytics::ScoreStatus::Scored),
        )
        .group_by_col((calls::Entity, calls::Column::AgentId))
        .to_owned();
    for row in db.query_all(&query).await? {
        let agent: Option<Uuid> = row.try_get("", "agent_id")?;
        let score: Option<f64> = row.try_get("", "score")?;
        if let Some(agent) = agent {
            out.entry(agent).or_default().average_lead_score = score;
        }
    }
    Ok(out)
}
