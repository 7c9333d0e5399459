//! Exporting a filtered contact list as CSV or .xlsx without holding it: contacts are read in
//! pages by id; CSV is streamed as it is written, .xlsx is built in constant-memory mode in a
//! temporary file that is then streamed. Custom fields become columns (so an export imports
//! back), found in a first pass over the same pages.

use std::collections::BTreeSet;

use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{ContactFilter, custom_fields_of, filtered, tags_of};
use crate::{
    entities::contacts,
    platform::error::{AppError, AppResult},
    platform::tabular::{EXPORT_PAGE, Export},
};

const FIXED: [&str; 10] = [
    "Name",
    "Phone",
    "Email",
    "Company",
    "Tags",
    "Notes",
    "Do Not Call",
    "Last Call Summary",
    "Last Interaction",
    "Created At",
];

/// One page of the filtered contacts after `after` (by id, which is time-ordered).
async fn page(
    db: &DatabaseConnection,
    user_id: Uuid,
    filter: &ContactFilter,
    after: Option<Uuid>,
) -> AppResult<Vec<contacts::Model>> {
    let mut query = filtered(user_id, filter, db.get_database_backend());
    if let Some(after) = after {
        query = query.filter(contacts::Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(contacts::Column::Id)
        .limit(EXPORT_PAGE)
        .all(db)
        .await?)
}

/// The custom field names used by the filtered contacts (the extra columns).
async fn custom_columns(
    db: &DatabaseConnection,
    user_id: Uuid,
    filter: &ContactFilter,
) -> AppResult<Vec<String>> {
    let mut keys = BTreeSet::new();
    let mut after = None;
    loop {
        let rows = page(db, user_id, filter, after).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.id);
        for row in &rows {
            keys.extend(custom_fields_of(row).into_keys());
        }
    }
    Ok(keys.into_iter().collect())
}

fn cells(contact: &contacts::Model, custom: &[String]) -> Vec<String> {
    let fields = custom_fields_of(contact);
    let mut cells = vec![
        contact.name.clone(),
        contact.phone_e164.clone(),
        contact.email.clone().unwrap_or_default(),
        contact.company.clone().unwrap_or_default(),
        tags_of(contact).join(", "),
        contact.notes.clone().unwrap_or_default(),
        if contact.do_not_call { "yes" } else { "" }.to_string(),
        contact.last_call_summary.clone().unwrap_or_default(),
        contact
            .last_interaction_at
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
        contact.created_at.to_rfc3339(),
    ];
    cells.extend(
        custom
            .iter()
            .map(|k| fields.get(k).cloned().unwrap_or_default()),
    );
    cells
}

fn header(custom: &[String]) -> Vec<String> {
    FIXED
        .iter()
        .map(|s| s.to_string())
        .chain(custom.iter().cloned())
        .collect()
}

/// The filtered contacts as an export; custom fields found first become extra columns.
pub struct ContactExport {
    db: DatabaseConnection,
    user_id: Uuid,
    filter: ContactFilter,
    custom: Vec<String>,
}

impl ContactExport {
    pub async fn new(
        db: DatabaseConnection,
        user_id: Uuid,
        filter: ContactFilter,
    ) -> AppResult<Self> {
        let custom = custom_columns(&db, user_id, &filter).await?;
        Ok(Self {
            db,
            user_id,
            filter,
            custom,
        })
    }
}

impl Export for ContactExport {
    const SHEET: &'static str = "Contacts";

    fn header(&self) -> Vec<String> {
        header(&self.custom)
    }

    async fn page(&self, after: Option<Uuid>) -> AppResult<Vec<(Uuid, Vec<String>)>> {
        Ok(page(&self.db, self.user_id, &self.filter, after)
            .await?
            .iter()
            .map(|c| (c.id, cells(c, &self.custom)))
            .collect())
    }
}

/// The import template: the columns the importer recognises and one example row.
pub fn template() -> AppResult<Vec<u8>> {
    let xlsx_error = |e: rust_xlsxwriter::XlsxError| AppError::internal(format!("xlsx: {e}"));
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Contacts").map_err(xlsx_error)?;
    let columns = [
        ("Name", "Dana Reyes"),
        ("Phone", "+14155550123"),
        ("Email", "dana@example.com"),
        ("Company", "Northwind"),
        ("Tags", "vip, q3"),
        ("Notes", "Prefers mornings"),
        ("Lead Source", "webinar"),
    ];
    for (col, (title, example)) in columns.iter().enumerate() {
        sheet
            .write_string_with_format(0, col as u16, *title, &bold)
            .map_err(xlsx_error)?;
        sheet
            .write_string(1, col as u16, *example)
            .map_err(xlsx_error)?;
        sheet.set_column_width(col as u16, 20).map_err(xlsx_error)?;
    }
    workbook.save_to_buffer().map_err(xlsx_error)
}
