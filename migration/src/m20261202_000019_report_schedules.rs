use sea_orm_migration::{prelude::*, schema::*};

/// Reports admins have generated and emailed on a schedule (Reports > Scheduler). The sweeper
/// claims a due schedule by moving `next_run_at` on in the same transaction that records the
/// report and queues its emails, so a run happens once however many workers sweep.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ReportSchedules::Table)
                .col(uuid(ReportSchedules::Id).primary_key())
                .col(string_len(ReportSchedules::Name, 200))
                .col(string_len(ReportSchedules::Description, 2000))
                .col(text(ReportSchedules::Definition))
                .col(string_len(ReportSchedules::Frequency, 16))
                .col(string_len(ReportSchedules::TimeOfDay, 5))
                .col(small_integer_null(ReportSchedules::DayOfWeek))
                .col(small_integer_null(ReportSchedules::DayOfMonth))
                .col(string_len(ReportSchedules::Timezone, 64))
                .col(text(ReportSchedules::Recipients))
                .col(boolean(ReportSchedules::IsActive))
                .col(timestamp_with_time_zone_null(ReportSchedules::NextRunAt))
                .col(timestamp_with_time_zone_null(ReportSchedules::LastRunAt))
                .col(text_null(ReportSchedules::LastError))
                .col(uuid(ReportSchedules::CreatedBy))
                .col(timestamp_with_time_zone(ReportSchedules::CreatedAt))
                .col(timestamp_with_time_zone(ReportSchedules::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("report_schedules_due")
                .table(ReportSchedules::Table)
                .col(ReportSchedules::NextRunAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ReportSchedules::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ReportSchedules {
    Table,
    Id,
    Name,
    Description,
    Definition,
    Frequency,
    TimeOfDay,
    DayOfWeek,
    DayOfMonth,
    Timezone,
    Recipients,
    IsActive,
    NextRunAt,
    LastRunAt,
    LastError,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}
