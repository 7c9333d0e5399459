//! Writing tables for download: CSV lines safe to open in a spreadsheet, and .xlsx sheets
//! built in constant memory on disk. The exports page through their rows and use these.

use crate::platform::error::{AppError, AppResult};

/// One CSV line. Spreadsheet apps run cells starting with = + - @ as formulas, so those are
/// prefixed with `'` (numbers such as `+14155550123` stay as they are).
pub fn csv_line(cells: &[String]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let safe: Vec<String> = cells
        .iter()
        .map(|c| {
            if c.starts_with(['=', '@']) || (c.starts_with(['+', '-']) && !looks_numeric(c)) {
                format!("'{c}")
            } else {
                c.clone()
            }
        })
        .collect();
    let _ = writer.write_record(&safe);
    writer.into_inner().unwrap_or_default()
}

fn looks_numeric(c: &str) -> bool {
    c[1..]
        .chars()
        .all(|ch| ch.is_ascii_digit() || ch == ' ' || ch == '.')
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> AppError {
    AppError::internal(format!("xlsx: {e}"))
}

/// An .xlsx with one sheet whose rows go to disk as they are written.
pub struct XlsxSheet {
    workbook: rust_xlsxwriter::Workbook,
    next_row: u32,
}

impl XlsxSheet {
    pub fn new(name: &str, header: &[String]) -> AppResult<Self> {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let sheet = workbook
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_error)?;
        sheet.set_name(name).map_err(xlsx_error)?;
        for (col, title) in header.iter().enumerate() {
            sheet
                .write_string_with_format(0, col as u16, title, &bold)
                .map_err(xlsx_error)?;
        }
        Ok(Self {
            workbook,
            next_row: 1,
        })
    }

    /// A row of text cells (text, so numbers like phone numbers keep their form).
    pub fn push(&mut self, cells: &[String]) -> AppResult<()> {
        let sheet = self.workbook.worksheet_from_index(0).map_err(xlsx_error)?;
        for (col, value) in cells.iter().enumerate() {
            if !value.is_empty() {
                sheet
                    .write_string(self.next_row, col as u16, value)
                    .map_err(xlsx_error)?;
            }
        }
        self.next_row += 1;
        Ok(())
    }

    /// Writes the file; it is deleted when the returned handle is dropped.
    pub async fn finish(mut self) -> AppResult<tempfile::NamedTempFile> {
        let file = tempfile::NamedTempFile::new().map_err(AppError::internal)?;
        let path = file.path().to_path_buf();
        tokio::task::spawn_blocking(move || self.workbook.save(&path))
            .await
            .map_err(AppError::internal)?
            .map_err(xlsx_error)?;
        Ok(file)
    }
}

/// Rows an export reads per page.
pub const EXPORT_PAGE: u64 = 1_000;

/// A table exported without holding it: read in pages after a time-ordered id.
pub trait Export: Send + Sync + 'static {
    const SHEET: &'static str;
    fn header(&self) -> Vec<String>;
    /// Up to `EXPORT_PAGE` rows after `after`, each with its id and cells.
    fn page(
        &self,
        after: Option<uuid::Uuid>,
    ) -> impl std::future::Future<Output = AppResult<Vec<(uuid::Uuid, Vec<String>)>>> + Send;
}

/// The export as CSV chunks (a header, then a chunk per page), read as they are sent.
pub fn csv_stream<E: Export>(
    export: E,
) -> impl futures::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static {
    let head = csv_line(&export.header());
    let rows = futures::stream::unfold(
        (export, None::<uuid::Uuid>, false),
        |(export, after, done)| async move {
            if done {
                return None;
            }
            match export.page(after).await {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let last = rows.last().map(|(id, _)| *id);
                    let chunk: Vec<u8> = rows.iter().flat_map(|(_, c)| csv_line(c)).collect();
                    let done = (rows.len() as u64) < EXPORT_PAGE;
                    Some((Ok(chunk), (export, last, done)))
                }
                Err(e) => Some((
                    Err(std::io::Error::other(e.to_string())),
                    (export, after, true),
                )),
            }
        },
    );
    futures::StreamExt::chain(futures::stream::once(async move { Ok(head) }), rows)
}

/// The export as an .xlsx built in a temporary file (rows go to disk as they are written).
pub async fn xlsx_file<E: Export>(export: &E) -> AppResult<tempfile::NamedTempFile> {
    let mut sheet = XlsxSheet::new(E::SHEET, &export.header())?;
    let mut after = None;
    loop {
        let rows = export.page(after).await?;
        let Some((last, _)) = rows.last() else { break };
        after = Some(*last);
        for (_, cells) in &rows {
            sheet.push(cells)?;
        }
    }
    sheet.finish().await
}
