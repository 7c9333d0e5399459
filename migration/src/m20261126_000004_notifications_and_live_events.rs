use sea_orm_migration::{prelude::*, schema::*};

/// In-app notifications, the database-backed live event log of the embedded mode, tool calls on
/// transcript turns, and each call's transcript as one searchable text.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Notifications::Table)
                .col(pk_uuid(Notifications::Id))
                .col(uuid(Notifications::UserId))
                .col(string(Notifications::Kind))
                .col(string(Notifications::Title))
                .col(text(Notifications::Body))
                .col(json_binary(Notifications::Data))
                .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                .col(timestamp_with_time_zone(Notifications::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Notifications::Table, Notifications::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_notifications_user_created")
                .table(Notifications::Table)
                .col(Notifications::UserId)
                .col(Notifications::CreatedAt)
                .to_owned(),
        )
        .await?;

        // Only the embedded mode writes here (Redis pub/sub carries events otherwise); rows are
        // pruned after a few minutes, so the sequence is all that matters.
        m.create_table(
            Table::create()
                .table(LiveEvents::Table)
                .col(big_integer(LiveEvents::Id).auto_increment().primary_key())
                .col(uuid(LiveEvents::UserId))
                .col(string(LiveEvents::Kind))
                .col(json_binary(LiveEvents::Data))
                .col(timestamp_with_time_zone(LiveEvents::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.alter_table(
            Table::alter()
                .table(Transcripts::Table)
                .add_column(json_binary_null(Transcripts::ToolCalls))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Calls::Table)
                .add_column(text_null(Calls::TranscriptText))
                .to_owned(),
        )
        .await?;
        // Full-text search over transcripts: a GIN index on PostgreSQL; SQLite has no portable
        // equivalent and searches by LIKE (an embedded install is small).
        if m.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "CREATE INDEX idx_calls_transcript_fts ON calls \
                     USING GIN (to_tsvector('simple', coalesce(transcript_text, '')))",
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared("DROP INDEX IF EXISTS idx_calls_transcript_fts")
                .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Calls::Table)
                .drop_column(Calls::TranscriptText)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Transcripts::Table)
                .drop_column(Transcripts::ToolCalls)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(LiveEvents::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Notifications::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    UserId,
    Kind,
    Title,
    Body,
    Data,
    ReadAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LiveEvents {
    Table,
    Id,
    UserId,
    Kind,
    Data,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Transcripts {
    Table,
    ToolCalls,
}

#[derive(DeriveIden)]
enum Calls {
    Table,
    TranscriptText,
}
