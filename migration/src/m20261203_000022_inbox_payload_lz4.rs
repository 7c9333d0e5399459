use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

/// Inbox payloads (a post-call event is 3 KB and up) compressed with LZ4 instead of
/// PostgreSQL's default pglz, which took a sixth of the database's CPU on the webhook intake.
/// Applies to rows written from now on; a server built without LZ4 keeps pglz (the block
/// catches `feature_not_supported`). SQLite stores the bytes as they are.
#[derive(DeriveMigrationName)]
pub struct Migration;

const SET: &str = "DO $$ BEGIN \
     ALTER TABLE webhook_events ALTER COLUMN payload SET COMPRESSION lz4; \
     EXCEPTION WHEN feature_not_supported THEN \
     RAISE NOTICE 'LZ4 not available: inbox payloads keep pglz'; \
     END $$";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DatabaseBackend::Postgres {
            m.get_connection().execute_unprepared(SET).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "ALTER TABLE webhook_events ALTER COLUMN payload SET COMPRESSION default",
                )
                .await?;
        }
        Ok(())
    }
}
