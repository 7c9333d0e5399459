//! Reports > Scheduler (`/api/admin/reports/scheduled`): reports generated and emailed on a
//! schedule, in the scheduler's camelCase shapes (the list is a bare array, as it reads it).

use poem::Request;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, param::Path, payload::Json};
use shared::{
    admin::reports::schedules::{self as service, ScheduleInput},
    entities::report_schedules::{self as schedules, Frequency},
};
use uuid::Uuid;

use crate::{
    admin::{AdminAuth, AdminErrors},
    admin_reports::ReportConfigForm,
    tags::Tag,
    wire::Timestamp,
};

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct ScheduleTiming {
    pub frequency: Frequency,
    /// `HH:MM` in `timezone`.
    pub time: String,
    /// 0 (Sunday) to 6, weekly schedules.
    pub day_of_week: Option<i16>,
    /// 1 to 31 (the month's last day when shorter), monthly schedules.
    pub day_of_month: Option<i16>,
    pub timezone: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ScheduleStatus {
    Active,
    Paused,
    Error,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct ScheduledReport {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// The report as stored (data source, metrics, format, the range's length).
    pub report_config: serde_json::Value,
    pub schedule: ScheduleTiming,
    pub recipients: Vec<String>,
    pub is_active: bool,
    pub last_run: Option<Timestamp>,
    pub next_run: Option<Timestamp>,
    pub status: ScheduleStatus,
    pub error_message: Option<String>,
    pub created_at: Timestamp,
    pub created_by: Uuid,
}

impl From<schedules::Model> for ScheduledReport {
    fn from(s: schedules::Model) -> Self {
        Self {
            status: if s.last_error.is_some() {
                ScheduleStatus::Error
            } else if s.is_active {
                ScheduleStatus::Active
            } else {
                ScheduleStatus::Paused
            },
            id: s.id,
            name: s.name,
            description: s.description,
            report_config: serde_json::from_str(&s.definition).unwrap_or_default(),
            schedule: ScheduleTiming {
                frequency: s.frequency,
                time: s.time_of_day,
                day_of_week: s.day_of_week,
                day_of_month: s.day_of_month,
                timezone: s.timezone,
            },
            recipients: serde_json::from_str(&s.recipients).unwrap_or_default(),
            is_active: s.is_active,
            last_run: s.last_run_at.map(Into::into),
            next_run: s.next_run_at.map(Into::into),
            error_message: s.last_error,
            created_at: s.created_at.into(),
            created_by: s.created_by,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct ScheduleTimingForm {
    pub frequency: Option<Frequency>,
    #[oai(validator(max_length = 5))]
    pub time: Option<String>,
    pub day_of_week: Option<i64>,
    pub day_of_month: Option<i64>,
    #[oai(validator(max_length = 64))]
    pub timezone: Option<String>,
}

/// The scheduler's form (creating: `name`, `reportConfig` and `recipients` are required;
/// changing: any field, e.g. `isActive` alone).
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct ScheduledReportForm {
    #[oai(validator(max_length = 200))]
    pub name: Option<String>,
    #[oai(validator(max_length = 2000))]
    pub description: Option<String>,
    pub report_config: Option<ReportConfigForm>,
    pub schedule: Option<ScheduleTimingForm>,
    #[oai(validator(max_items = 20))]
    pub recipients: Option<Vec<String>>,
    pub is_active: Option<bool>,
}

impl From<ScheduledReportForm> for ScheduleInput {
    fn from(f: ScheduledReportForm) -> Self {
        let timing = f.schedule;
        ScheduleInput {
            name: f.name,
            description: f.description,
            report: f.report_config.map(Into::into),
            frequency: timing.as_ref().and_then(|t| t.frequency),
            time: timing.as_ref().and_then(|t| t.time.clone()),
            day_of_week: timing.as_ref().and_then(|t| t.day_of_week),
            day_of_month: timing.as_ref().and_then(|t| t.day_of_month),
            timezone: timing.and_then(|t| t.timezone),
            recipients: f.recipients,
            is_active: f.is_active,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct ScheduleRun {
    pub report_id: Uuid,
    pub download_url: String,
    pub recipients: Vec<String>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ScheduleRunEnvelope {
    pub success: bool,
    pub data: ScheduleRun,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ScheduleDeleted {
    pub success: bool,
    pub message: String,
}

#[derive(ApiResponse)]
pub enum ScheduleCreated {
    #[oai(status = 201)]
    Created(Json<ScheduledReport>),
}

pub struct AdminReportSchedulesApi {
    pub services: shared::Services,
}

#[OpenApi(prefix_path = "/api/admin/reports", tag = "Tag::Admin")]
impl AdminReportSchedulesApi {
    /// List the scheduled reports
    ///
    /// Newest first, as a bare array (what the scheduler reads), at most 200.
    #[oai(path = "/scheduled", method = "get")]
    async fn list(
        &self,
        auth: AdminAuth,
        req: &Request,
    ) -> Result<Json<Vec<ScheduledReport>>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let rows = service::list(&self.services).await?;
        Ok(Json(rows.into_iter().map(Into::into).collect()))
    }

    /// Schedule a report
    ///
    /// `reportConfig` as the builder sends it; `schedule` (daily, weekly on `dayOfWeek`,
    /// monthly on `dayOfMonth`, at `time` in `timezone`); 1–20 `recipients`, each emailed a
    /// link that works for 7 days. Each run covers as many days as the report's range, up to
    /// the day before. Audited.
    #[oai(path = "/scheduled", method = "post")]
    async fn create(
        &self,
        auth: AdminAuth,
        req: &Request,
        body: Json<ScheduledReportForm>,
    ) -> Result<ScheduleCreated, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let made = service::create(&self.services, &actor, body.0.into()).await?;
        Ok(ScheduleCreated::Created(Json(made.into())))
    }

    /// Change a scheduled report
    ///
    /// Any field; `isActive: false` pauses it (no next run), `true` resumes it.
    #[oai(path = "/scheduled/:id", method = "put")]
    async fn update(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
        body: Json<ScheduledReportForm>,
    ) -> Result<Json<ScheduledReport>, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let changed = service::update(&self.services, &actor, id.0, body.0.into()).await?;
        Ok(Json(changed.into()))
    }

    /// Delete a scheduled report
    ///
    /// Reports it already sent keep working until their links expire.
    #[oai(path = "/scheduled/:id", method = "delete")]
    async fn delete(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
    ) -> Result<Json<ScheduleDeleted>, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        service::delete(&self.services, &actor, id.0).await?;
        Ok(Json(ScheduleDeleted {
            success: true,
            message: "Scheduled report deleted".into(),
        }))
    }

    /// Run a scheduled report now
    ///
    /// Generates it and emails every recipient at once; the next scheduled run stays as it
    /// is.
    #[oai(path = "/scheduled/:id/run", method = "post")]
    async fn run(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
    ) -> Result<Json<ScheduleRunEnvelope>, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let run = service::run_now(&self.services, &actor, id.0).await?;
        Ok(Json(ScheduleRunEnvelope {
            success: true,
            data: ScheduleRun {
                report_id: run.report_id,
                download_url: run.download_url,
                recipients: run.recipients,
            },
        }))
    }
}
