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

/// A non-empty row and its number as the spreadsheet shows it (1-based; blank rows above it
/// count, as they do in Excel's margin).
pub type NumberedRow = (usize, Vec<String>);

/// The first worksheet's non-empty rows, at most `max_rows + 1` kept (a header and `max_rows`
/// more) — enough to tell "too many" without holding a huge sheet's text — and how many there
/// are.
pub fn read(format: Format, bytes: &[u8], max_rows: usize) -> AppResult<(Vec<NumberedRow>, usize)> {
    let (mut rows, total) = read_sheet(format, bytes, max_rows + 1)?;
    // NUL characters are valid in both formats but PostgreSQL stores them in no text column.
    for cell in rows
        .iter_mut()
        .flat_map(|(_, cells)| cells.iter_mut())
        .filter(|c| c.contains('\0'))
    {
        cell.retain(|c| c != '\0');
    }
    Ok((rows, total))
}

fn read_sheet(format: Format, bytes: &[u8], keep: usize) -> AppResult<(Vec<NumberedRow>, usize)> {
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
            // The range starts at the first used cell: rows above it are blank in the sheet.
            let first = range.start().map_or(0, |(row, _)| row as usize);
            let mut rows = Rows::new(keep);
            for (i, row) in range.rows().enumerate() {
                rows.push(first + i + 1, row.iter().map(cell_text).collect());
            }
            Ok(rows.finish())
        }
    }
}

/// CSV in UTF-8 (a BOM is skipped), separated by commas, semicolons (European Excel) or tabs.
fn read_csv(bytes: &[u8], keep: usize) -> AppResult<(Vec<NumberedRow>, usize)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if std::str::from_utf8(bytes).is_err() {
        return Err(unreadable(
            "invalid_encoding",
            "the CSV file is not UTF-8 text: export it as \"CSV UTF-8\"",
        ));
    }
    // The separator most used over the first lines (a title line above the header may have
    // none); a tie goes to the comma, the last candidate.
    let head: Vec<&[u8]> = bytes.split(|b| *b == b'\n').take(10).collect();
    let delimiter = [b'\t', b';', b',']
        .into_iter()
        .max_by_key(|d| {
            head.iter()
                .flat_map(|l| l.iter())
                .filter(|b| *b == d)
                .count()
        })
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    let mut rows = Rows::new(keep);
    // The reader skips blank lines and does not count them; the line a record starts on (found
    // from its byte offset) is its row in a spreadsheet app, quoted line breaks aside.
    let (mut line, mut counted) = (1, 0);
    for record in reader.records() {
        let record = record
            .map_err(|e| unreadable("corrupt_file", format!("the CSV cannot be read: {e}")))?;
        let mut start = record
            .position()
            .map_or(counted, |p| p.byte() as usize)
            .min(bytes.len());
        // The position is where reading resumed, before the blank lines it skipped.
        while start < bytes.len() && matches!(bytes[start], b'\n' | b'\r') {
            start += 1;
        }
        line += bytes[counted.min(start)..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        counted = start;
        rows.push(line, record.iter().map(|c| c.trim().to_string()).collect());
    }
    Ok(rows.finish())
}

/// Non-empty rows: all counted, the first `keep` kept with their numbers.
struct Rows {
    kept: Vec<NumberedRow>,
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

    fn push(&mut self, number: usize, cells: Vec<String>) {
        if cells.iter().all(|c| c.trim().is_empty()) {
            return;
        }
        self.total += 1;
        if self.kept.len() < self.keep {
            self.kept.push((number, cells));
        }
    }

    fn finish(self) -> (Vec<NumberedRow>, usize) {
        (self.kept, self.total)
    }
}
