//! Writing tables for download: CSV lines safe to open in a spreadsheet, and .xlsx sheets
//! built in constant memory on disk. The exports page through their rows and use these.

use crate::error::{AppError, AppResult};

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
