//! File downloads (exports, templates): the format choice and the response carrying a file.

use poem::Body;
use poem_openapi::{ApiResponse, Enum, payload::Binary};

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const CSV: &str = "text/csv; charset=utf-8";

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

pub fn default_format() -> ExportFormat {
    ExportFormat::Csv
}

#[derive(ApiResponse)]
enum FileParts {
    /// The file, as an attachment (`text/csv` or the .xlsx type).
    #[oai(status = 200)]
    File(
        Binary<Body>,
        #[oai(header = "Content-Type")] String,
        #[oai(header = "Content-Disposition")] String,
    ),
}

/// A file answer documented with the media types it really has (a derived response could
/// only name `application/octet-stream`).
pub struct FileResponse(FileParts);

/// A file response's documentation with the media types the file really has.
fn documented(
    mut meta: poem_openapi::registry::MetaResponses,
    types: &[&'static str],
) -> poem_openapi::registry::MetaResponses {
    for response in &mut meta.responses {
        if let Some(binary) = response.content.pop() {
            response.content = types
                .iter()
                .map(|&content_type| poem_openapi::registry::MetaMediaType {
                    content_type,
                    schema: binary.schema.clone(),
                })
                .collect();
        }
    }
    meta
}

impl poem_openapi::ApiResponse for FileResponse {
    fn meta() -> poem_openapi::registry::MetaResponses {
        documented(FileParts::meta(), &[CSV_TYPE, XLSX])
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        FileParts::register(registry)
    }
}

impl poem::IntoResponse for FileResponse {
    fn into_response(self) -> poem::Response {
        self.0.into_response()
    }
}

#[derive(ApiResponse)]
enum ReportParts {
    /// The report (`text/csv`, the .xlsx type or `application/pdf`); a shared report that may
    /// be embedded says so in its `Content-Security-Policy`.
    #[oai(status = 200)]
    File(
        Binary<Body>,
        #[oai(header = "Content-Type")] String,
        #[oai(header = "Content-Disposition")] String,
        #[oai(header = "Content-Security-Policy")] Option<String>,
    ),
}

/// A report rendered as CSV, Excel or PDF.
pub struct ReportFile(ReportParts);

pub const PDF: &str = "application/pdf";

impl ReportFile {
    /// A download (`attachment`).
    pub fn new(bytes: Vec<u8>, media_type: &str, file_name: &str) -> Self {
        Self::shared(bytes, media_type, file_name, false, false)
    }

    /// A shared report: shown in the browser when `inline`, and allowed in any page's frame
    /// when `embeddable` (the security headers otherwise forbid framing).
    pub fn shared(
        bytes: Vec<u8>,
        media_type: &str,
        file_name: &str,
        inline: bool,
        embeddable: bool,
    ) -> Self {
        let disposition = if inline { "inline" } else { "attachment" };
        ReportFile(ReportParts::File(
            Binary(Body::from(bytes)),
            media_type.into(),
            format!("{disposition}; filename=\"{file_name}\""),
            embeddable.then(|| "default-src 'none'; frame-ancestors *".to_string()),
        ))
    }
}

impl poem_openapi::ApiResponse for ReportFile {
    fn meta() -> poem_openapi::registry::MetaResponses {
        documented(ReportParts::meta(), &[CSV_TYPE, XLSX, PDF])
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        ReportParts::register(registry)
    }
}

impl poem::IntoResponse for ReportFile {
    fn into_response(self) -> poem::Response {
        self.0.into_response()
    }
}

/// `CSV` without its parameter, as a documented media type.
const CSV_TYPE: &str = "text/csv";

impl FileResponse {
    /// A CSV streamed as it is produced.
    pub fn csv(
        name: &str,
        chunks: impl futures::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static,
    ) -> Self {
        FileResponse(FileParts::File(
            Binary(Body::from_bytes_stream(chunks)),
            CSV.into(),
            attachment(name, "csv"),
        ))
    }

    /// An .xlsx already in memory, with its own `Content-Disposition`.
    pub fn named_xlsx(body: Body, disposition: &str) -> Self {
        FileResponse(FileParts::File(
            Binary(body),
            XLSX.into(),
            disposition.into(),
        ))
    }

    /// An export in the format asked for, named `<name>-<date>.<ext>`.
    pub async fn export<E: shared::platform::tabular::Export>(
        format: ExportFormat,
        name: &str,
        export: E,
    ) -> shared::AppResult<Self> {
        match format {
            ExportFormat::Csv => Ok(FileResponse::csv(
                name,
                shared::platform::tabular::csv_stream(export),
            )),
            ExportFormat::Xlsx => {
                let file = shared::platform::tabular::xlsx_file(&export).await?;
                FileResponse::xlsx(name, file).await
            }
        }
    }

    /// An .xlsx built in a temporary file, streamed from disk.
    pub async fn xlsx(name: &str, file: tempfile::NamedTempFile) -> shared::AppResult<Self> {
        // Open before the temporary path goes: the open file outlives its name.
        let opened = tokio::fs::File::open(file.path())
            .await
            .map_err(shared::AppError::internal)?;
        drop(file);
        Ok(FileResponse(FileParts::File(
            Binary(Body::from_async_read(opened)),
            XLSX.into(),
            attachment(name, "xlsx"),
        )))
    }
}

/// `attachment; filename="<name>-<date>.<ext>"`.
pub fn attachment(name: &str, ext: &str) -> String {
    let stamp = chrono::Utc::now().format("%Y%m%d");
    format!("attachment; filename=\"{name}-{stamp}.{ext}\"")
}
