use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

/// Lead scores as the screens read them: one figure out of 100 whichever scale the agent used
/// (the frontend's prompt scores 5–15; rows written so far were on that scale, clamped), whether
/// a conversation was scored at all (nothing made up for a value that could not be read or was
/// never collected), and the demo a caller booked. The dashboard counters are emptied so the
/// next start-up rebuilds them from the rescaled rows.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            string(LeadAnalytics::ScoreStatus)
                .default("scored")
                .to_owned(),
            timestamp_with_time_zone_null(LeadAnalytics::DemoAt),
        ] {
            m.alter_table(
                Table::alter()
                    .table(LeadAnalytics::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        let derived = match m.get_database_backend() {
            DatabaseBackend::Postgres => "data_collection->>'derived' = 'true'",
            _ => "json_extract(data_collection, '$.derived') = 1",
        };
        let db = m.get_connection();
        // Scores the old parser derived from the call outcome were never collected.
        db.execute_unprepared(&format!(
            "UPDATE lead_analytics SET score_status = 'not_collected', intent_score = 0, \
             urgency_score = 0, budget_score = 0, fit_score = 0, engagement_score = 0, \
             total_score = 0, lead_status_tag = 'Unscored' WHERE {derived}"
        ))
        .await?;
        db.execute_unprepared(
            "UPDATE lead_analytics SET \
               total_score = CAST(ROUND(total_score * 100.0 / 15) AS INTEGER), \
               intent_score = CAST(ROUND(intent_score * 100.0 / 3) AS INTEGER), \
               urgency_score = CAST(ROUND(urgency_score * 100.0 / 3) AS INTEGER), \
               budget_score = CAST(ROUND(budget_score * 100.0 / 3) AS INTEGER), \
               fit_score = CAST(ROUND(fit_score * 100.0 / 3) AS INTEGER), \
               engagement_score = CAST(ROUND(engagement_score * 100.0 / 3) AS INTEGER) \
             WHERE score_status = 'scored'",
        )
        .await?;
        db.execute_unprepared(&format!(
            "UPDATE lead_analytics SET lead_status_tag = {} WHERE score_status = 'scored'",
            band("total_score")
        ))
        .await?;
        // The call list's and the lead list's copies follow.
        db.execute_unprepared(&format!(
            "UPDATE calls SET lead_score = CAST(ROUND(lead_score * 100.0 / 15) AS INTEGER) \
             WHERE lead_score IS NOT NULL; \
             UPDATE calls SET lead_tag = {} WHERE lead_score IS NOT NULL; \
             UPDATE calls SET lead_score = NULL, lead_tag = NULL WHERE id IN \
               (SELECT call_id FROM lead_analytics WHERE score_status <> 'scored'); \
             UPDATE contacts SET latest_score = CAST(ROUND(latest_score * 100.0 / 15) AS INTEGER) \
             WHERE latest_score IS NOT NULL; \
             UPDATE contacts SET latest_tag = {} WHERE latest_score IS NOT NULL; \
             UPDATE contacts SET latest_score = NULL, latest_tag = NULL WHERE latest_lead_id IN \
               (SELECT id FROM lead_analytics WHERE score_status <> 'scored'); \
             DELETE FROM call_rollups",
            band("lead_score"),
            band("latest_score")
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [LeadAnalytics::ScoreStatus, LeadAnalytics::DemoAt] {
            m.alter_table(
                Table::alter()
                    .table(LeadAnalytics::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

/// The screens' bands of a score out of 100.
fn band(column: &str) -> String {
    format!("CASE WHEN {column} >= 80 THEN 'Hot' WHEN {column} >= 60 THEN 'Warm' ELSE 'Cold' END")
}

#[derive(DeriveIden)]
enum LeadAnalytics {
    Table,
    ScoreStatus,
    DemoAt,
}
