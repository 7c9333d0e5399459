//! Reading an uploaded spreadsheet into rows of text: .xlsx, .xls, .ods (calamine) and .csv
//! (the `csv` crate). The format is decided by the bytes, not the name, so a mislabelled,
//! encrypted, corrupt or bomb-like file fails with its own error code before any row is used.

pub use crate::entities::contact_imports::Format;

use std::io::Cursor;

use calamine::{Data, Reader};

use crate::platform::error::{AppError, AppResult};

/// Uncompressed bytes an archive may expand to, and how much more than its compressed size.
const MAX_EXPANDED_BYTES: u64 = 200 * 1024 * 1024;
const MAX_EXPANSION_RATIO: u64 = 200;

fn unreadable(code: &'static str, message: impl Into<String>) -> AppError {
    AppError::Unprocessable {
        code,
        message: message.into(),
    }
}

/// What the name says the file is.
fn claimed(filename: &str) -> Option<Format> {
    let ext = filename.rsplit_once('.')?.1.to_ascii_lowercase();
    match ext.as_str() {
        "xlsx" | "xlsm" => Some(Format::Xlsx),
        "xls" => Some(Format::Xls),
        "ods" => Some(Format::Ods),
        "csv" | "txt" | "tsv" => Some(Format::Csv),
        _ => None,
    }
}

/// The format the bytes are in, checked against the name.
pub fn detect(filename: &str, bytes: &[u8]) -> AppResult<Format> {
    let claimed = claimed(filename);
    let is_zip = bytes.starts_with(b"PK\x03\x04");
    let is_cfb = bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    if is_cfb && holds_stream(bytes, "EncryptedPackage") {
        // A password-protected .xlsx/.ods: the real package is encrypted inside a CFB
        // container (MS-OFFCRYPTO), whatever the file is called.
        return Err(encrypted());
    }
    let actual = if is_zip {
        // An OpenDocument archive names its type in its first entry.
        if bytes
            .windows(46)
            .take(200)
            .any(|w| w == b"mimetypeapplication/vnd.oasis.opendocument.spre")
            || claimed == Some(Format::Ods)
        {
            Format::Ods
        } else {
            Format::Xlsx
        }
    } else if is_cfb {
        if claimed == Some(Format::Xlsx) {
            Format::Xlsx
        } else {
            Format::Xls
        }
    } else {
        Format::Csv
    };
    match (claimed, actual) {
        (Some(Format::Csv) | None, Format::Csv) => {
            if bytes.contains(&0) {
                return Err(unreadable(
                    "unsupported_file",
                    "the file is neither a spreadsheet nor CSV text",
                ));
            }
            Ok(Format::Csv)
        }
        (Some(claim), actual) if claim != actual && !(claim == Format::Xls && is_cfb) => {
            Err(unreadable(
                "mislabelled_file",
                format!("the file is named .{claim} but its content is not a {claim} file"),
            ))
        }
        (_, actual) => Ok(actual),
    }
}

/// Refuses archives that would expand far beyond their size (zip bombs).
fn check_archive(bytes: &[u8]) -> AppResult<()> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| unreadable("corrupt_file", format!("the file is damaged: {e}")))?;
    let mut expanded = 0u64;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| unreadable("corrupt_file", format!("the file is damaged: {e}")))?;
        expanded = expanded.saturating_add(entry.size());
    }
    let compressed = bytes.len() as u64;
    if expanded > MAX_EXPANDED_BYTES || expanded > compressed.saturating_mul(MAX_EXPANSION_RATIO) {
        return Err(unreadable(
            "file_too_complex",
            "the spreadsheet expands to far more data than a contact list holds",
        ));
    }
    Ok(())
}

/// A cell as text; whole-number floats (how Excel stores phone numbers typed as numbers) lose
/// the `.0` and never use exponent notation.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e16 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d
            .as_datetime()
            .map(|d| d.to_string())
            .unwrap_or_else(|| d.as_f64().to_string()),
        Data::Error(_) => String::new(),
    }
}

/// Whether a CFB container's directory names a stream `name` (names are stored in UTF-16LE).
fn holds_stream(bytes: &[u8], name: &str) -> bool {
    let wanted: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
    bytes.windows(wanted.len()).any(|w| w == wanted)
}

fn encrypted() -> AppError {
    unreadable(
        "encrypted_file",
        "the workbook is password protected: save it without a password",
    )
}

fn spreadsheet_error(e: impl std::fmt::Display) -> AppError {
    let text = e.to_string();
    if text.to_ascii_lowercase().contains("password") {
        encrypted()
    } else {
        unreadable(
            "corrupt_file",
            format!("the spreadsheet cannot be read: {text}"),
        )
    }
}

/// The first worksheet's rows, at most `max_rows + 1` kept (a header and `max_rows` more) —
/// enough to tell "too many" without holding a huge sheet's text.
pub fn read(format: Format, bytes: &[u8], max_rows: usize) -> AppResult<(Vec<Vec<String>>, usize)> {
    let (mut rows, total) = read_sheet(format, bytes, max_rows + 1)?;
    // NUL characters are valid in both formats but PostgreSQL stores them in no text column.
    for cell in rows.iter_mut().flatten().filter(|c| c.contains('\0')) {
        cell.retain(|c| c != '\0');
    }
    Ok((rows, total))
}

fn read_sheet(format: Format, bytes: &[u8], keep: usize) -> AppResult<(Vec<Vec<String>>, usize)> {
    match format {
        Format::Csv => read_csv(bytes, keep),
        Format::Xlsx | Format::Ods | Format::Xls => {
            if format != Format::Xls && bytes.starts_with(b"PK") {
                check_archive(bytes)?;
            }
            let cursor = Cursor::new(bytes);
            let range = match format {
                Format::Xlsx => calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(cursor)
                    .map_err(spreadsheet_error)?
                    .worksheet_range_at(0)
                    .map(|r| r.map_err(spreadsheet_error)),
                Format::Ods => calamine::open_workbook_from_rs::<calamine::Ods<_>, _>(cursor)
                    .map_err(spreadsheet_error)?
                    .worksheet_range_at(0)
                    .map(|r| r.map_err(spreadsheet_error)),
                _ => calamine::open_workbook_from_rs::<calamine::Xls<_>, _>(cursor)
                    .map_err(spreadsheet_error)?
                    .worksheet_range_at(0)
                    .map(|r| r.map_err(spreadsheet_error)),
            };
            let range =
                range.ok_or_else(|| unreadable("empty_file", "the workbook has no sheets"))??;
            let mut rows = Rows::new(keep);
            for row in range.rows() {
                rows.push(row.iter().map(cell_text).collect());
            }
            Ok(rows.finish())
        }
    }
}

/// CSV in UTF-8 (a BOM is skipped), separated by commas, semicolons (European Excel) or tabs.
fn read_csv(bytes: &[u8], keep: usize) -> AppResult<(Vec<Vec<String>>, usize)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if std::str::from_utf8(bytes).is_err() {
        return Err(unreadable(
            "invalid_encoding",
            "the CSV file is not UTF-8 text: export it as \"CSV UTF-8\"",
        ));
    }
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first_line.iter().filter(|b| *b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    let mut rows = Rows::new(keep);
    for record in reader.records() {
        let record = record
            .map_err(|e| unreadable("corrupt_file", format!("the CSV cannot be read: {e}")))?;
        rows.push(record.iter().map(|c| c.trim().to_string()).collect());
    }
    Ok(rows.finish())
}

/// Non-empty rows: all counted, the first `keep` kept.
struct Rows {
    kept: Vec<Vec<String>>,
    total: usize,
    keep: usize,
}

impl Rows {
    fn new(keep: usize) -> Self {
        Self {
            kept: Vec::new(),
            total: 0,
            keep,
        }
    }

    fn push(&mut self, cells: Vec<String>) {
        if cells.iter().all(String::is_empty) {
            return;
        }
        self.total += 1;
        if self.kept.len() < self.keep {
            self.kept.push(cells);
        }
    }

    fn finish(self) -> (Vec<Vec<String>>, usize) {
        (self.kept, self.total)
    }
}
