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
pub enum FileResponse {
    /// The file, as an attachment (`text/csv` or the .xlsx type).
    #[oai(status = 200)]
    File(
        Binary<Body>,
        #[oai(header = "Content-Type")] String,
        #[oai(header = "Content-Disposition")] String,
    ),
}

impl FileResponse {
    /// A CSV streamed as it is produced.
    pub fn csv(
        name: &str,
        chunks: impl futures::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static,
    ) -> Self {
        FileResponse::File(
            Binary(Body::from_bytes_stream(chunks)),
            CSV.into(),
            attachment(name, "csv"),
        )
    }

    /// An export in the format asked for, named `<name>-<date>.<ext>`.
    pub async fn export<E: shared::tabular::Export>(
        format: ExportFormat,
        name: &str,
        export: E,
    ) -> shared::AppResult<Self> {
        match format {
            ExportFormat::Csv => Ok(FileResponse::csv(name, shared::tabular::csv_stream(export))),
            ExportFormat::Xlsx => {
                let file = shared::tabular::xlsx_file(&export).await?;
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
        Ok(FileResponse::File(
            Binary(Body::from_async_read(opened)),
            XLSX.into(),
            attachment(name, "xlsx"),
        ))
    }
}

/// `attachment; filename="<name>-<date>.<ext>"`.
pub fn attachment(name: &str, ext: &str) -> String {
    let stamp = chrono::Utc::now().format("%Y%m%d");
    format!("attachment; filename=\"{name}-{stamp}.{ext}\"")
}
