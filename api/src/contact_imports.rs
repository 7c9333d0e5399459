//! Contact imports: upload a spreadsheet, follow its progress, read its report.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem_openapi::{
    ApiResponse, Multipart, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::multipart::Upload,
};
use shared::entities::contact_imports::ImportStatus;
use shared::{
    AppError, Services,
    contacts::{import, sheet::Format},
    entities::contact_imports,
};
use uuid::Uuid;

use crate::{
    api_errors,
    pagination::{Page, default_page, default_per_page},
    security::Auth,
    tags::Tag,
};

#[derive(Debug, Multipart)]
pub struct ImportUpload {
    /// .xlsx, .xls, .ods or .csv (UTF-8; comma, semicolon or tab separated). The first sheet is
    /// read; the header row (within the first 10) needs a phone column.
    pub file: Upload,
    /// Optional JSON object mapping fields (`name`, `first_name`, `last_name`, `phone`, `email`,
    /// `company`, `notes`, `tags`) to header texts, e.g. `{"phone": "Cell", "name": "Who"}`.
    pub mapping: Option<String>,
}

/// One skipped row.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SkippedRow {
    /// The row number as the spreadsheet shows it.
    pub row: u64,
    /// The phone cell as it was.
    pub value: String,
    /// The row's name cell (or first and last name), as it was.
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct ContactImport {
    pub id: Uuid,
    pub filename: String,
    pub format: Format,
    pub status: ImportStatus,
    pub total_rows: i32,
    pub processed_rows: i32,
    pub imported: i32,
    pub duplicates: i32,
    pub invalid: i32,
    /// Skipped rows and why (the first 1,000); empty in the list of imports.
    pub report: Vec<SkippedRow>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<contact_imports::Model> for ContactImport {
    fn from(i: contact_imports::Model) -> Self {
        let report = i
            .report
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| SkippedRow {
                        row: r["row"].as_u64().unwrap_or_default(),
                        value: r["value"].as_str().unwrap_or_default().to_string(),
                        name: r["name"].as_str().unwrap_or_default().to_string(),
                        reason: r["reason"].as_str().unwrap_or_default().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            id: i.id,
            filename: i.filename,
            format: i.format,
            status: i.status,
            total_rows: i.total_rows,
            processed_rows: i.processed_rows,
            imported: i.imported,
            duplicates: i.duplicates,
            invalid: i.invalid,
            report,
            error: i.error,
            created_at: i.created_at,
            updated_at: i.updated_at,
            completed_at: i.completed_at,
        }
    }
}

#[derive(ApiResponse)]
pub enum Accepted {
    /// Stored; the rows are imported in the background (follow `GET …/imports/{id}` or the
    /// `import_progress` live events).
    #[oai(status = 202)]
    Accepted(Json<ContactImport>),
}

api_errors!(ImportErrors {
    400 => BadRequest: "Malformed request: not multipart, no `file`, bad parameters (`bad_request`, `invalid_parameter`), or an invalid field (`validation_error`; `details` maps each field to its message).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    404 => NotFound: "No such import of this user (`import_not_found`).",
    413 => TooLarge: "The file is over `IMPORT_MAX_BYTES` (`payload_too_large`).",
    422 => Invalid: "Unusable file: `too_many_rows`, `empty_file`, `no_phone_column`, `mislabelled_file`, `encrypted_file`, `corrupt_file`, `file_too_complex`, `unsupported_file`, `invalid_encoding`, or a bad `mapping`.",
});

pub struct ImportApi {
    pub services: Services,
}

/// The Contacts screen's upload: the field is `file`.
#[derive(Debug, Multipart)]
pub struct ContactUpload {
    /// .xlsx, .xls, .ods or .csv; the header row (within the first 10) needs a phone column
    /// (`phone`, `Mobile No.`, `Contact Number`, `phoneNumber`, …).
    pub file: Upload,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct UploadSummary {
    /// Rows with data in the file.
    pub total_processed: u64,
    pub successful: u64,
    /// Rows skipped as invalid (no or a bad number, a bad email, …).
    pub failed: u64,
    /// Rows skipped because the number is already a contact or repeats in the file.
    pub duplicates: u64,
}

/// What a skipped row held.
#[derive(Debug, Object)]
pub struct UploadRowData {
    pub name: String,
    /// The phone cell as it was.
    pub phone_number: String,
}

/// A skipped row: `error` contains "already exists" for a duplicate.
#[derive(Debug, Object)]
pub struct UploadRowError {
    /// The row number as the spreadsheet shows it.
    pub row: u64,
    pub error: String,
    pub data: UploadRowData,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct UploadResult {
    /// False only when the import failed as a whole.
    pub success: bool,
    pub message: String,
    pub summary: UploadSummary,
    /// Skipped rows and why (the first 1,000).
    pub errors: Vec<UploadRowError>,
    /// The import behind this answer, at `GET /api/contacts/imports/{importId}`.
    pub import_id: Uuid,
    /// `completed`, or `processing` when the answer came before the import finished.
    pub status: ImportStatus,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct UploadEnvelope {
    pub success: bool,
    pub message: String,
    pub data: UploadResult,
}

impl UploadResult {
    fn of(i: contact_imports::Model) -> Self {
        let count = |n: i32| u64::try_from(n).unwrap_or_default();
        let message = match i.status {
            ImportStatus::Completed => format!(
                "Imported {} of {} contacts ({} duplicates, {} failed)",
                i.imported, i.total_rows, i.duplicates, i.invalid
            ),
            ImportStatus::Failed => i
                .error
                .clone()
                .unwrap_or_else(|| "The import failed".into()),
            _ => format!(
                "Still importing: {} of {} rows done so far; the rest are added in the \
                 background",
                i.processed_rows, i.total_rows
            ),
        };
        let status = i.status;
        let summary = UploadSummary {
            total_processed: count(i.total_rows),
            successful: count(i.imported),
            failed: count(i.invalid),
            duplicates: count(i.duplicates),
        };
        let import_id = i.id;
        let errors = ContactImport::from(i)
            .report
            .into_iter()
            .map(|r| UploadRowError {
                row: r.row,
                error: r.reason,
                data: UploadRowData {
                    name: r.name,
                    phone_number: r.value,
                },
            })
            .collect();
        Self {
            success: status != ImportStatus::Failed,
            message,
            summary,
            errors,
            import_id,
            status,
        }
    }
}

/// An uploaded file's name and bytes.
async fn read_upload(file: Upload) -> Result<(String, Vec<u8>), AppError> {
    let filename = file.file_name().unwrap_or("upload").to_string();
    let bytes = file
        .into_vec()
        .await
        .map_err(|e| AppError::bad_request("unreadable_body", e.to_string()))?;
    Ok((filename, bytes))
}

/// The Contacts screen's upload, answered with its result.
pub struct UploadApi {
    pub services: Services,
}

#[OpenApi(prefix_path = "/api/contacts", tag = "Tag::Contacts")]
impl UploadApi {
    /// Upload contacts
    ///
    /// What the Contacts screen's upload dialog sends: the file is checked and stored as an
    /// import (the same durable job as `POST /api/contacts/imports`), and the answer waits for
    /// it up to `IMPORT_WAIT_SECS`. A file that fails the checks imports nothing. When the wait
    /// runs out, the answer has the counts so far and `status: processing`; the import goes on.
    #[oai(path = "/upload", method = "post")]
    async fn upload(
        &self,
        auth: Auth,
        upload: ContactUpload,
    ) -> Result<Json<UploadEnvelope>, ImportErrors> {
        let me = auth.user(&self.services).await?;
        let (filename, bytes) = read_upload(upload.file).await?;
        let row = import::start(&self.services, me.id, &filename, bytes, None).await?;
        let wait = self.services.settings().await.uploads.import_wait_secs;
        let row = import::finished_within(
            &self.services.db,
            row.id,
            std::time::Duration::from_secs(wait),
        )
        .await?;
        let data = UploadResult::of(row);
        Ok(Json(UploadEnvelope {
            success: data.success,
            message: data.message.clone(),
            data,
        }))
    }
}

#[OpenApi(prefix_path = "/api/contacts/imports", tag = "Tag::Contacts")]
impl ImportApi {
    /// Import contacts from a file
    ///
    /// The file is checked at once (format, size, at most `IMPORT_MAX_ROWS` contacts): a file
    /// that fails imports nothing. Rows are then validated and imported in the background;
    /// duplicates (in the file or of existing contacts) and invalid rows are skipped and
    /// reported.
    #[oai(path = "/", method = "post")]
    async fn create(&self, auth: Auth, upload: ImportUpload) -> Result<Accepted, ImportErrors> {
        let me = auth.user(&self.services).await?;
        let explicit: Option<BTreeMap<String, String>> = match upload.mapping.as_deref() {
            None | Some("") => None,
            Some(text) => Some(serde_json::from_str(text).map_err(|_| {
                AppError::validation("mapping", "must be a JSON object of field → header")
            })?),
        };
        let (filename, bytes) = read_upload(upload.file).await?;
        let row = import::start(&self.services, me.id, &filename, bytes, explicit).await?;
        Ok(Accepted::Accepted(Json(row.into())))
    }

    /// List imports
    ///
    /// The user's contact imports, newest first, with their progress counters and the report of
    /// skipped rows.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        page: Query<u64>,
        #[oai(
            default = "default_per_page",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        per_page: Query<u64>,
    ) -> Result<Json<Page<ContactImport>>, ImportErrors> {
        let me = auth.user(&self.services).await?;
        let (rows, total) = import::list(&self.services.db, me.id, page.0, per_page.0).await?;
        // Reports can be long: they come with a single import, not in the list.
        let rows: Vec<_> = rows
            .into_iter()
            .map(|mut row| {
                row.report = serde_json::json!([]);
                row
            })
            .collect();
        Ok(Json(Page::of(rows, page.0, per_page.0, total)))
    }

    /// Get an import
    ///
    /// Status, counters and the per-row report of what was skipped and why.
    #[oai(path = "/:id", method = "get")]
    async fn get(&self, auth: Auth, id: Path<Uuid>) -> Result<Json<ContactImport>, ImportErrors> {
        let me = auth.user(&self.services).await?;
        let row = import::get(&self.services.db, me.owner(), id.0).await?;
        Ok(Json(row.into()))
    }
}
