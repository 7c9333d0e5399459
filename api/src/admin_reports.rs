//! Admin > Reports (`/api/admin/reports/*`): the report builder's preview, templates and
//! generated files. The builder opens the generated file as a plain link (no bearer token),
//! so `downloadUrl` points at `/api/report-downloads/{id}?token=…`, which the link's own
//! token authorizes for a day.

use std::collections::BTreeMap;

use poem::Request;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use shared::{
    admin::features,
    admin::reports::{
        FilterInput, ReportInput, ReportSpec, metrics,
        store::{self, Access},
    },
    entities::reports::ReportFormat,
};
use uuid::Uuid;

use crate::{
    admin::{AdminAuth, AdminErrors},
    download::ReportFile,
    tags::Tag,
    wire::Timestamp,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SortDirection {
    Asc,
    Desc,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ReportSort {
    /// A column of the metric tables (e.g. `calls`).
    #[oai(validator(max_length = 64))]
    pub field: String,
    pub direction: Option<SortDirection>,
}

/// A filter row of the builder. Reports know the date range: a filter labelled `From` (or
/// `Start`, `Since`) or `To` (`End`, `Until`) with a `YYYY-MM-DD` value; an empty value is
/// ignored, any other label refused.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct ReportFilterForm {
    #[oai(validator(max_length = 100))]
    pub id: Option<String>,
    /// `text`, `number`, `date` or `select`.
    #[oai(rename = "type", validator(max_length = 20))]
    pub kind: Option<String>,
    #[oai(validator(max_length = 100))]
    pub label: Option<String>,
    pub value: Option<serde_json::Value>,
}

/// The report builder's configuration.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct ReportConfigForm {
    /// Required to generate or save; a preview may go without.
    #[oai(validator(max_length = 200))]
    pub name: Option<String>,
    #[oai(validator(max_length = 2000))]
    pub description: Option<String>,
    /// `users`, `agents`, `calls`, `billing`, `system` or `audit`.
    #[oai(validator(max_length = 20))]
    pub data_source: Option<String>,
    /// Metric ids of the data source (e.g. `total_calls`, `calls_by_hour`).
    #[oai(default, validator(max_items = 30))]
    pub metrics: Vec<String>,
    #[oai(default, validator(max_items = 20))]
    pub filters: Vec<ReportFilterForm>,
    /// Only `date`: reports are per day.
    #[oai(validator(max_items = 5))]
    pub group_by: Option<Vec<String>>,
    #[oai(validator(max_items = 5))]
    pub sort_by: Option<Vec<ReportSort>>,
    /// `pdf` (default), `csv` or `excel` (.xlsx).
    pub format: Option<ReportFormat>,
    #[oai(default)]
    pub include_charts: bool,
    /// Adds the day-by-day table to the users, calls and billing sources.
    #[oai(default)]
    pub include_raw_data: bool,
}

impl From<ReportConfigForm> for ReportInput {
    fn from(f: ReportConfigForm) -> Self {
        ReportInput {
            name: f.name,
            description: f.description,
            data_source: f.data_source,
            metrics: f.metrics,
            filters: f
                .filters
                .into_iter()
                .map(|x| FilterInput {
                    label: x.label.unwrap_or_default(),
                    kind: x.kind.unwrap_or_default(),
                    value: x.value.unwrap_or_default(),
                })
                .collect(),
            group_by: f.group_by.unwrap_or_default(),
            sort_by: f
                .sort_by
                .unwrap_or_default()
                .into_iter()
                .map(|s| (s.field, s.direction == Some(SortDirection::Desc)))
                .collect(),
            format: f.format,
            include_charts: f.include_charts,
            include_raw_data: f.include_raw_data,
        }
    }
}

/// One metric's table as columns and rows.
#[derive(Debug, Object)]
#[oai(example)]
pub struct ReportTable {
    pub metric: String,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
}

impl From<metrics::Table> for ReportTable {
    fn from(t: metrics::Table) -> Self {
        Self {
            metric: t.metric,
            title: t.title,
            columns: t.columns.iter().map(|c| c.to_string()).collect(),
            rows: t.rows,
        }
    }
}

/// `POST /api/admin/reports/preview`: each metric's rows under its id in `data`.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct ReportPreview {
    pub success: bool,
    /// Metric id → its rows as objects keyed by column.
    pub data: BTreeMap<String, Vec<serde_json::Value>>,
    /// Rows over all metrics.
    pub total_rows: u64,
    pub tables: Vec<ReportTable>,
    /// The UTC days covered, both included.
    pub from: String,
    pub to: String,
}

/// `POST /api/admin/reports/generate`.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct GeneratedReport {
    pub success: bool,
    pub report_id: Uuid,
    /// Opens the file without a bearer token, until `expiresAt`.
    pub download_url: String,
    pub expires_at: Timestamp,
    pub format: ReportFormat,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct ReportTemplate {
    pub id: Uuid,
    pub name: String,
    pub data_source: String,
    pub metrics: Vec<String>,
    pub format: ReportFormat,
    pub created_at: Timestamp,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ReportTemplateEnvelope {
    pub success: bool,
    pub data: ReportTemplate,
}

#[derive(ApiResponse)]
pub enum TemplateSaved {
    #[oai(status = 201)]
    Created(Json<ReportTemplateEnvelope>),
}

fn checked(body: ReportConfigForm, need_name: bool) -> shared::AppResult<ReportSpec> {
    ReportSpec::parse(body.into(), need_name, ReportSpec::today())
}

pub struct AdminReportsApi {
    pub services: shared::Services,
}

#[OpenApi(prefix_path = "/api", tag = "Tag::Admin")]
impl AdminReportsApi {
    /// Preview a report
    ///
    /// Computes the chosen metrics of one data source over the range (default: the last 30
    /// days) and answers each under its id in `data`, with `totalRows`. Every table is small
    /// (a row per day at most), whatever the platform's size.
    #[oai(path = "/admin/reports/preview", method = "post")]
    async fn preview(
        &self,
        auth: AdminAuth,
        req: &Request,
        body: Json<ReportConfigForm>,
    ) -> Result<Json<ReportPreview>, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        features::require(&self.services, features::ADVANCED_REPORTS, actor.id).await?;
        let spec = checked(body.0, false)?;
        let tables = metrics::compute(&self.services, &spec).await?;
        Ok(Json(ReportPreview {
            success: true,
            data: tables
                .iter()
                .map(|t| (t.metric.clone(), t.objects()))
                .collect(),
            total_rows: tables.iter().map(|t| t.rows.len() as u64).sum(),
            from: spec.from.to_string(),
            to: spec.to.to_string(),
            tables: tables.into_iter().map(Into::into).collect(),
        }))
    }

    /// Generate a report
    ///
    /// Records the report (audited as `report.generated`) and answers `downloadUrl`: a link
    /// that needs no bearer token and works for 24 hours, rendering the file (`pdf`, `csv`
    /// or `excel`) over the range fixed now.
    #[oai(path = "/admin/reports/generate", method = "post")]
    async fn generate(
        &self,
        auth: AdminAuth,
        req: &Request,
        body: Json<ReportConfigForm>,
    ) -> Result<Json<GeneratedReport>, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        features::require(&self.services, features::ADVANCED_REPORTS, actor.id).await?;
        let spec = checked(body.0, true)?;
        let generated = store::generate(&self.services, &actor, &spec).await?;
        Ok(Json(GeneratedReport {
            success: true,
            report_id: generated.report.id,
            download_url: store::download_url(
                &self.services.config,
                generated.report.id,
                &generated.token,
            ),
            expires_at: generated.report.expires_at.unwrap_or_default().into(),
            format: generated.report.format,
        }))
    }

    /// Save a report template
    ///
    /// Keeps the checked configuration (name required) for later; audited.
    #[oai(path = "/admin/reports/templates", method = "post")]
    async fn save_template(
        &self,
        auth: AdminAuth,
        req: &Request,
        body: Json<ReportConfigForm>,
    ) -> Result<TemplateSaved, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let spec = checked(body.0, true)?;
        let saved = store::save_template(&self.services, &actor, &spec).await?;
        Ok(TemplateSaved::Created(Json(ReportTemplateEnvelope {
            success: true,
            data: ReportTemplate {
                id: saved.id,
                name: saved.name,
                data_source: spec.source.key().into(),
                metrics: spec.metrics,
                format: saved.format,
                created_at: saved.created_at.into(),
            },
        })))
    }

    /// Download a generated report (admin)
    ///
    /// The file of a report generated by any admin, with the bearer token instead of the
    /// link's token.
    #[oai(path = "/admin/reports/:id/download", method = "get")]
    async fn download_as_admin(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
    ) -> Result<ReportFile, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let file = store::download(&self.services, id.0, Access::Admin).await?;
        Ok(ReportFile::new(file.bytes, file.media_type, &file.name))
    }

    /// Download a generated report (link)
    ///
    /// What `downloadUrl` opens: the link's `token` authorizes it for 24 hours after
    /// generation. A wrong or expired token is the same 404 as an unknown report.
    #[oai(path = "/report-downloads/:id", method = "get")]
    async fn download(
        &self,
        id: Path<Uuid>,
        /// The token of the link.
        #[oai(validator(max_length = 100))]
        token: Query<String>,
    ) -> Result<ReportFile, AdminErrors> {
        let file = store::download(&self.services, id.0, Access::Token(&token.0)).await?;
        Ok(ReportFile::new(file.bytes, file.media_type, &file.name))
    }
}
