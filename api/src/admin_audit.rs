//! The admin's Audit screen (`/api/admin/audit`): the append-only log of admin actions with
//! who, what, on which record, from where, and the record before and after; and its export.

use std::collections::HashMap;

use poem::Request;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use shared::{
    accounts::audit::{self, AuditExport, AuditFilter},
    entities::audit_log,
};
use uuid::Uuid;

use crate::{
    admin::{AdminAuth, AdminErrors},
    download::{ExportFormat, FileResponse},
    pagination::{UpperSortOrder, default_page},
    tags::Tag,
    wire::Timestamp,
};

/// One entry as the Audit screen reads it.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct AuditEntry {
    pub id: Uuid,
    pub timestamp: Timestamp,
    pub admin_user_id: Option<Uuid>,
    pub admin_user_email: Option<String>,
    /// e.g. `user.suspended`, `user.credits_adjusted`, `settings.updated`.
    pub action: String,
    /// What the action was about in a sentence.
    pub description: String,
    /// `user`, `agent`, `setting`, `webhook_event`, …
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// The account the action was about, when it was about one.
    pub target_user_id: Option<Uuid>,
    pub target_user_email: Option<String>,
    /// `{before, after}`: the record's fields (never secrets).
    pub details: serde_json::Value,
    pub ip_address: Option<String>,
    /// Not recorded (the request id ties the entry to the request's log lines instead).
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// Always true: the log holds the changes that were applied.
    pub success: bool,
    pub error_message: Option<String>,
}

impl AuditEntry {
    fn of(e: audit_log::Model, emails: &HashMap<Uuid, String>) -> Self {
        let target = audit::target_user(&e);
        let email = |id: Option<Uuid>| id.and_then(|id| emails.get(&id).cloned());
        Self {
            description: audit::describe(&e),
            id: e.id,
            timestamp: e.created_at.into(),
            admin_user_id: e.actor_id,
            admin_user_email: email(e.actor_id),
            action: e.action,
            resource_type: e.target_type,
            resource_id: e.target_id,
            target_user_id: target,
            target_user_email: email(target),
            details: e.details,
            ip_address: e.ip,
            user_agent: None,
            request_id: e.request_id,
            success: true,
            error_message: None,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct AuditPagination {
    pub total: u64,
    pub total_pages: u64,
    pub page: u64,
    pub limit: u64,
}

/// `GET /api/admin/audit`: the entries as an array (the screen maps over `data`).
#[derive(Debug, Object)]
#[oai(example)]
pub struct AuditListEnvelope {
    pub success: bool,
    pub data: Vec<AuditEntry>,
    pub pagination: AuditPagination,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct AuditEntryEnvelope {
    pub success: bool,
    pub data: AuditEntry,
}

/// The export's filters, in the list's names (all optional).
#[derive(Debug, Default, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct AuditExportFilters {
    pub admin_user_id: Option<Uuid>,
    #[oai(validator(max_length = 64))]
    pub action: Option<String>,
    #[oai(validator(max_length = 32))]
    pub resource_type: Option<String>,
    pub target_user_id: Option<Uuid>,
    #[oai(validator(max_length = 200))]
    pub search: Option<String>,
    pub date_range_start: Option<Timestamp>,
    pub date_range_end: Option<Timestamp>,
}

/// What the Audit screen's Export button posts.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct AuditExportRequest {
    /// What to export; only `audit_logs` exists.
    #[oai(rename = "type", validator(max_length = 40))]
    pub kind: Option<String>,
    /// `csv` (default) or `xlsx`; the screen's other names (`excel`) mean xlsx.
    #[oai(validator(max_length = 10))]
    pub format: Option<String>,
    pub filters: Option<AuditExportFilters>,
}

#[allow(clippy::too_many_arguments)]
fn filter(
    admin: Option<Uuid>,
    action: Option<String>,
    resource_type: Option<String>,
    target_user: Option<Uuid>,
    search: Option<String>,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) -> AuditFilter {
    AuditFilter {
        actor_id: admin,
        action,
        target_type: resource_type.or_else(|| target_user.map(|_| "user".into())),
        target_id: target_user.map(|u| u.to_string()),
        search,
        from,
        to,
        ..Default::default()
    }
}

pub struct AdminAuditApi {
    pub services: shared::Services,
}

#[OpenApi(prefix_path = "/api/admin", tag = "Tag::Admin")]
impl AdminAuditApi {
    /// The audit log
    ///
    /// Every admin action, newest first (`sortOrder=ASC` for oldest first): who, what, which
    /// record, before/after, IP and request id. Filters: `adminUserId`, `action`,
    /// `resourceType`, `targetUserId`, `search` (part of the action or the record's id),
    /// `success`, and `dateRangeStart` (inclusive) / `dateRangeEnd` (exclusive).
    #[oai(path = "/audit", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn audit(
        &self,
        auth: AdminAuth,
        req: &Request,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        page: Query<u64>,
        #[oai(
            default = "log_page",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<u64>,
        #[oai(validator(max_length = 200))] search: Query<Option<String>>,
        /// Only `timestamp` (the default).
        #[oai(name = "sortBy", validator(pattern = "^(timestamp|created_at)$"))]
        _sort_by: Query<Option<String>>,
        #[oai(name = "sortOrder")] sort_order: Query<Option<UpperSortOrder>>,
        #[oai(name = "adminUserId")] admin_user_id: Query<Option<Uuid>>,
        #[oai(validator(max_length = 64))] action: Query<Option<String>>,
        #[oai(name = "resourceType", validator(max_length = 32))] resource_type: Query<
            Option<String>,
        >,
        #[oai(name = "targetUserId")] target_user_id: Query<Option<Uuid>>,
        success: Query<Option<bool>>,
        #[oai(name = "dateRangeStart")] from: Query<Option<chrono::DateTime<chrono::Utc>>>,
        #[oai(name = "dateRangeEnd")] to: Query<Option<chrono::DateTime<chrono::Utc>>>,
    ) -> Result<Json<AuditListEnvelope>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let mut f = filter(
            admin_user_id.0,
            action.0,
            resource_type.0,
            target_user_id.0,
            search.0,
            from.0,
            to.0,
        );
        f.success = success.0;
        f.ascending = !UpperSortOrder::descending(sort_order.0, true);
        let (rows, total) = audit::list(&self.services.db, &f, page.0, limit.0).await?;
        let emails = audit::emails_of(&self.services.db, &rows).await?;
        Ok(Json(AuditListEnvelope {
            success: true,
            data: rows
                .into_iter()
                .map(|e| AuditEntry::of(e, &emails))
                .collect(),
            pagination: AuditPagination {
                total,
                total_pages: total.div_ceil(limit.0).max(1),
                page: page.0,
                limit: limit.0,
            },
        }))
    }

    /// One audit entry
    ///
    /// The entry in the list's shape (the details modal); an unknown id is 404
    /// `audit_entry_not_found`.
    #[oai(path = "/audit/:id", method = "get")]
    async fn audit_entry(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
    ) -> Result<Json<AuditEntryEnvelope>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let entry = audit::get(&self.services.db, id.0).await?;
        let emails = audit::emails_of(&self.services.db, std::slice::from_ref(&entry)).await?;
        Ok(Json(AuditEntryEnvelope {
            success: true,
            data: AuditEntry::of(entry, &emails),
        }))
    }

    /// Export the audit log
    ///
    /// The Audit screen's Export: the filtered log, oldest first, streamed as CSV (or built as
    /// .xlsx in a temporary file for `format: xlsx`/`excel`), read a page at a time.
    #[oai(path = "/analytics/export", method = "post")]
    async fn export(
        &self,
        auth: AdminAuth,
        req: &Request,
        body: Json<AuditExportRequest>,
    ) -> Result<FileResponse, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let b = body.0;
        if let Some(kind) = b.kind.as_deref()
            && !matches!(kind, "audit_logs" | "audit" | "audit-logs")
        {
            return Err(shared::AppError::validation(
                "type",
                "only `audit_logs` can be exported here",
            )
            .into());
        }
        let format = match b.format.as_deref().unwrap_or("csv") {
            "csv" => ExportFormat::Csv,
            "xlsx" | "excel" => ExportFormat::Xlsx,
            _ => {
                return Err(
                    shared::AppError::validation("format", "must be `csv` or `xlsx`").into(),
                );
            }
        };
        let f = b.filters.unwrap_or_default();
        let export = AuditExport {
            db: self.services.db.clone(),
            filter: filter(
                f.admin_user_id,
                f.action,
                f.resource_type,
                f.target_user_id,
                f.search,
                f.date_range_start.map(|t| t.0),
                f.date_range_end.map(|t| t.0),
            ),
        };
        Ok(FileResponse::export(format, "audit-log", export).await?)
    }
}

/// The screen's page size.
fn log_page() -> u64 {
    20
}
