//! A report generated and emailed on a schedule.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "report_schedules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// The checked report (`admin::reports::ReportSpec`) as JSON; each run covers as many
    /// days as its range, up to the day before the run.
    pub definition: String,
    pub frequency: Frequency,
    /// `HH:MM` in `timezone`.
    pub time_of_day: String,
    /// 0 (Sunday) to 6, for weekly schedules.
    pub day_of_week: Option<i16>,
    /// 1 to 31 (the month's last day when shorter), for monthly schedules.
    pub day_of_month: Option<i16>,
    pub timezone: String,
    /// JSON array of email addresses.
    pub recipients: String,
    pub is_active: bool,
    /// Null while paused.
    pub next_run_at: Option<DateTimeUtc>,
    pub last_run_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

vocabulary! {
    pub enum Frequency {
        Daily,
        Weekly,
        Monthly,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
