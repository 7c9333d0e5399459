use sea_orm_migration::{prelude::*, schema::*};

/// Counters for the Calling Agent's analytics tab: each hour's conversations from the web
/// widget (and their share of the connected, successful, minutes, credits, leads, hot leads and
/// demos), demos booked, and scored conversations by intent and budget. The counters are
/// emptied so the next start-up rebuilds them, new columns included, from the calls.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
            m.alter_table(
                Table::alter()
                    .table(CallRollups::Table)
                    .add_column(big_integer(column).default(0))
                    .to_owned(),
            )
            .await?;
        }
        m.get_connection()
            .execute_unprepared("DELETE FROM call_rollups")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
            m.alter_table(
                Table::alter()
                    .table(CallRollups::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

const COLUMNS: [CallRollups; 18] = [
    CallRollups::WebCalls,
    CallRollups::WebConnected,
    CallRollups::WebSuccessful,
    CallRollups::WebDurationSecs,
    CallRollups::WebCredits,
    CallRollups::WebScored,
    CallRollups::WebHot,
    CallRollups::WebDemos,
    CallRollups::Demos,
    CallRollups::Intent0Budget0,
    CallRollups::Intent0Budget1,
    CallRollups::Intent0Budget2,
    CallRollups::Intent1Budget0,
    CallRollups::Intent1Budget1,
    CallRollups::Intent1Budget2,
    CallRollups::Intent2Budget0,
    CallRollups::Intent2Budget1,
    CallRollups::Intent2Budget2,
];

#[derive(DeriveIden, Clone, Copy)]
enum CallRollups {
    Table,
    WebCalls,
    WebConnected,
    WebSuccessful,
    WebDurationSecs,
    WebCredits,
    WebScored,
    WebHot,
    WebDemos,
    Demos,
    Intent0Budget0,
    Intent0Budget1,
    Intent0Budget2,
    Intent1Budget0,
    Intent1Budget1,
    Intent1Budget2,
    Intent2Budget0,
    Intent2Budget1,
    Intent2Budget2,
}
