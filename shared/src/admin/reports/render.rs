//! A report's tables as a file: CSV (a section per metric), Excel (a sheet per metric) or PDF
//! (the tables one after another on A4 pages). The tables are bounded (see `metrics`), so the
//! file is built in memory.

use printpdf::{BuiltinFont, IndirectFontRef, Mm, PdfDocument, PdfLayerReference};
use serde_json::Value;

use super::{ReportSpec, metrics::Table};
use crate::{
    entities::reports::ReportFormat,
    platform::{
        error::{AppError, AppResult},
        tabular::csv_line,
    },
};

/// The file's media type and extension.
pub fn media_type(format: ReportFormat) -> (&'static str, &'static str) {
    match format {
        ReportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ReportFormat::Excel => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        ReportFormat::Pdf => ("application/pdf", "pdf"),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn range(spec: &ReportSpec) -> String {
    format!("{} to {} (UTC)", spec.from, spec.to)
}

pub fn render(spec: &ReportSpec, tables: &[Table]) -> AppResult<Vec<u8>> {
    match spec.format {
        ReportFormat::Csv => Ok(csv(spec, tables)),
        ReportFormat::Excel => xlsx(spec, tables),
        ReportFormat::Pdf => pdf(spec, tables),
    }
}

fn csv(spec: &ReportSpec, tables: &[Table]) -> Vec<u8> {
    let mut out = csv_line(&[spec.name.clone(), range(spec)]);
    for t in tables {
        out.push(b'\n');
        out.extend(csv_line(std::slice::from_ref(&t.title)));
        out.extend(csv_line(
            &t.columns.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        ));
        for r in &t.rows {
            out.extend(csv_line(&r.iter().map(text).collect::<Vec<_>>()));
        }
    }
    out
}

fn xlsx(spec: &ReportSpec, tables: &[Table]) -> AppResult<Vec<u8>> {
    let err = |e: rust_xlsxwriter::XlsxError| AppError::internal(format!("xlsx: {e}"));
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let mut used = std::collections::HashSet::new();
    for t in tables {
        let sheet = book.add_worksheet();
        // Sheet names are at most 31 characters and unique.
        let mut name: String = t.metric.chars().take(28).collect();
        while !used.insert(name.clone()) {
            name.push('_');
        }
        sheet.set_name(&name).map_err(err)?;
        sheet
            .write_string_with_format(0, 0, &t.title, &bold)
            .map_err(err)?;
        sheet.write_string(0, 1, range(spec)).map_err(err)?;
        for (c, col) in t.columns.iter().enumerate() {
            sheet
                .write_string_with_format(1, c as u16, *col, &bold)
                .map_err(err)?;
        }
        for (r, row) in t.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r as u32 + 2, c as u16);
                match cell {
                    Value::Number(n) => sheet.write_number(r, c, n.as_f64().unwrap_or_default()),
                    Value::Null => continue,
                    other => sheet.write_string(r, c, text(other)),
                }
                .map_err(err)?;
            }
        }
    }
    book.save_to_buffer().map_err(err)
}

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 15.0;
const LINE: f32 = 5.0;

/// Writes lines down A4 pages, starting a new page when one is full.
struct Pages {
    doc: printpdf::PdfDocumentReference,
    layer: PdfLayerReference,
    regular: IndirectFontRef,
    bold: IndirectFontRef,
    y: f32,
}

impl Pages {
    fn line(&mut self, cells: &[String], bold: bool, size: f32) {
        if self.y < MARGIN + LINE {
            let (page, layer) = self.doc.add_page(Mm(PAGE_W), Mm(PAGE_H), "report");
            self.layer = self.doc.get_page(page).get_layer(layer);
            self.y = PAGE_H - MARGIN;
        }
        let font = if bold { &self.bold } else { &self.regular };
        let width = (PAGE_W - 2.0 * MARGIN) / cells.len().max(1) as f32;
        // Helvetica at this size fits about two characters a millimetre.
        let fit = (width * 2.0 * 9.0 / size) as usize;
        for (i, cell) in cells.iter().enumerate() {
            let shown: String = if cell.chars().count() > fit {
                cell.chars()
                    .take(fit.saturating_sub(1))
                    .chain(['…'])
                    .collect()
            } else {
                cell.clone()
            };
            self.layer
                .use_text(shown, size, Mm(MARGIN + width * i as f32), Mm(self.y), font);
        }
        self.y -= LINE * size / 9.0;
    }
}

fn pdf(spec: &ReportSpec, tables: &[Table]) -> AppResult<Vec<u8>> {
    let err = |e: printpdf::Error| AppError::internal(format!("pdf: {e}"));
    let (doc, page, layer) = PdfDocument::new(&spec.name, Mm(PAGE_W), Mm(PAGE_H), "report");
    let regular = doc.add_builtin_font(BuiltinFont::Helvetica).map_err(err)?;
    let bold = doc
        .add_builtin_font(BuiltinFont::HelveticaBold)
        .map_err(err)?;
    let layer = doc.get_page(page).get_layer(layer);
    let mut pages = Pages {
        doc,
        layer,
        regular,
        bold,
        y: PAGE_H - MARGIN,
    };
    pages.line(std::slice::from_ref(&spec.name), true, 16.0);
    pages.line(&[range(spec)], false, 10.0);
    if !spec.description.is_empty() {
        pages.line(std::slice::from_ref(&spec.description), false, 10.0);
    }
    for t in tables {
        pages.y -= LINE;
        pages.line(std::slice::from_ref(&t.title), true, 12.0);
        pages.line(
            &t.columns
                .iter()
                .map(|c| c.replace('_', " "))
                .collect::<Vec<_>>(),
            true,
            9.0,
        );
        if t.rows.is_empty() {
            pages.line(&["(nothing in this range)".to_string()], false, 9.0);
        }
        for r in &t.rows {
            pages.line(&r.iter().map(text).collect::<Vec<_>>(), false, 9.0);
        }
    }
    pages.doc.save_to_bytes().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::reports::{DataSource, ReportSpec};
    use chrono::NaiveDate;
    use serde_json::json;

    fn spec(format: ReportFormat) -> ReportSpec {
        ReportSpec {
            name: "Calls".into(),
            description: String::new(),
            source: DataSource::Calls,
            metrics: vec!["calls_by_hour".into()],
            from: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            sort_by: vec![],
            format,
            include_charts: false,
            include_raw_data: false,
        }
    }

    fn table(rows: usize) -> Table {
        Table {
            metric: "calls_by_hour".into(),
            title: "Calls by hour".into(),
            columns: vec!["hour", "calls"],
            rows: (0..rows)
                .map(|i| vec![json!(format!("{:02}:00", i % 24)), json!(i)])
                .collect(),
        }
    }

    #[test]
    fn csv_has_a_section_per_metric() {
        let out =
            String::from_utf8(render(&spec(ReportFormat::Csv), &[table(2)]).unwrap()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "Calls,2026-11-01 to 2026-11-30 (UTC)",
                "",
                "Calls by hour",
                "hour,calls",
                "00:00,0",
                "01:00,1"
            ]
        );
    }

    #[test]
    fn pdf_and_xlsx_are_real_files_over_pages() {
        // 300 rows run over several pages.
        let pdf = render(&spec(ReportFormat::Pdf), &[table(300)]).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        let pages: u32 = text
            .split("/Type/Pages/Count ")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap();
        assert!(pages > 3, "{pages}");
        let xlsx = render(&spec(ReportFormat::Excel), &[table(3)]).unwrap();
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
        use calamine::Reader;
        let sheet = book.worksheet_range("calls_by_hour").unwrap();
        assert_eq!(sheet.get_size(), (5, 2));
        assert_eq!(sheet.get_value((4, 1)), Some(&calamine::Data::Float(2.0)));
    }
}
