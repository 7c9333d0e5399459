use sea_orm_migration::{prelude::*, schema::*};

/// The audit log records which request an admin action came from, and the database itself
/// refuses to change or remove a record (triggers on both backends), so no code path — or
/// stray SQL — can rewrite history.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(AuditLog::Table)
                .add_column(string_null(AuditLog::RequestId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_audit_target")
                .table(AuditLog::Table)
                .col(AuditLog::TargetType)
                .col(AuditLog::TargetId)
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        match m.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log \
                     FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
                )
                .await?;
            }
            _ => {
                for event in ["UPDATE", "DELETE"] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER audit_log_no_{} BEFORE {event} ON audit_log \
                         BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
                        event.to_lowercase()
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                db.execute_unprepared("DROP TRIGGER audit_log_append_only ON audit_log")
                    .await?;
                db.execute_unprepared("DROP FUNCTION audit_log_append_only()")
                    .await?;
            }
            _ => {
                db.execute_unprepared("DROP TRIGGER audit_log_no_update")
                    .await?;
                db.execute_unprepared("DROP TRIGGER audit_log_no_delete")
                    .await?;
            }
        }
        m.drop_index(
            Index::drop()
                .name("idx_audit_target")
                .table(AuditLog::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(AuditLog::Table)
                .drop_column(AuditLog::RequestId)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    TargetType,
    TargetId,
    RequestId,
}
