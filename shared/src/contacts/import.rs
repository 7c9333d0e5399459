//! Contact imports: the upload is read and checked at once (format, size, row count — a file
//! over a limit imports nothing), stored with its job, and answered 202; the job validates every
//! row, skips duplicates (within the file and against existing contacts) and inserts the rest in
//! batches. Each batch commits with the import's counters, so progress is visible as it goes and
//! a re-run resumes after the last committed batch: nothing is imported twice.

pub use crate::entities::contact_imports::ImportStatus;

use std::collections::{BTreeMap, HashSet};

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QueryTrait,
    sea_query::{Expr, OnConflict},
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    ContactInput, Valid,
    sheet::{self, Format},
};
use crate::{
    Services,
    entities::{contact_imports, contacts},
    platform::after_commit::AfterCommit,
    platform::error::{AppError, AppResult},
    platform::ids::UserId,
    platform::jobs::{self, JobError, JobKind},
    platform::live::{LiveEvent, LiveKind},
    platform::owned,
};

/// Rows per transaction (and per progress update): about 20 updates per file, within bounds
/// that keep small files visibly moving and one insert under the databases' parameter limits.
const MIN_BATCH: usize = 200;
const MAX_BATCH: usize = 2_000;
/// Skipped rows reported individually; the counters always cover all of them.
const MAX_REPORT: usize = 1_000;
/// Rows above the header that may be titles or notes.
const HEADER_SEARCH_ROWS: usize = 10;

/// Fields a column can be mapped to.
pub const FIELDS: [&str; 8] = [
    "name",
    "first_name",
    "last_name",
    "phone",
    "email",
    "company",
    "notes",
    "tags",
];

fn aliases(field: &str) -> &'static [&'static str] {
    match field {
        "name" => &[
            "name",
            "full name",
            "fullname",
            "contact",
            "contact name",
            "contact person",
            "customer name",
            "client name",
            "lead name",
            "person",
        ],
        "first_name" => &["first name", "firstname", "first", "given name", "forename"],
        "last_name" => &["last name", "lastname", "last", "surname", "family name"],
        "phone" => &[
            "phone",
            "phone number",
            "mobile",
            "mobile number",
            "number",
            "telephone",
            "tel",
            "cell",
            "cell phone",
            "phone no",
            "phone num",
            "mobile phone",
            "mobile no",
            "mobile num",
            "mob",
            "mob no",
            "cell number",
            "cell no",
            "contact number",
            "contact no",
            "contact phone",
            "contact mobile",
            "primary phone",
            "work phone",
            "business phone",
            "whatsapp",
            "whatsapp number",
            "whatsapp no",
        ],
        "email" => &[
            "email",
            "e mail",
            "email address",
            "e mail address",
            "email id",
            "e mail id",
            "mail id",
            "mail",
            "primary email",
            "work email",
        ],
        "company" => &[
            "company",
            "company name",
            "organization",
            "organisation",
            "business",
            "business name",
            "organization name",
            "organisation name",
            "org",
            "firm",
            "employer",
            "account",
            "account name",
        ],
        "notes" => &["notes", "note", "comments", "comment", "description"],
        "tags" => &["tags", "tag", "labels", "groups"],
        _ => &[],
    }
}

/// A header as compared: lower case, punctuation as spaces, single-spaced.
fn header_key(h: &str) -> String {
    h.to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A header as written and with camelCase split into words: `phoneNumber` is "phone number"
/// while `WhatsApp` stays "whatsapp".
fn header_keys(h: &str) -> [String; 2] {
    let mut spaced = String::with_capacity(h.len() + 4);
    let mut previous_lower = false;
    for c in h.chars() {
        if c.is_uppercase() && previous_lower {
            spaced.push(' ');
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        spaced.push(c);
    }
    [header_key(h), header_key(&spaced)]
}

/// A custom field key from a header: `Lead Source` → `lead_source`.
fn custom_key(h: &str) -> String {
    let key: String = header_key(h).replace(' ', "_");
    key.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect()
}

/// Which column holds what.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    pub columns: BTreeMap<&'static str, usize>,
    pub custom: Vec<(usize, String)>,
}

/// The header row and its mapping: by `explicit` (field → header text) when given, else by the
/// known names of each field; every other named column becomes a custom field.
fn map_columns(
    rows: &[sheet::NumberedRow],
    explicit: Option<&BTreeMap<String, String>>,
) -> AppResult<(usize, Mapping)> {
    if let Some(explicit) = explicit {
        for field in explicit.keys() {
            if !FIELDS.contains(&field.as_str()) {
                return Err(AppError::validation(
                    "mapping",
                    format!("unknown field `{field}`; use {}", FIELDS.join(", ")),
                ));
            }
        }
        if !explicit.contains_key("phone") {
            return Err(AppError::validation("mapping", "map a column to `phone`"));
        }
    }
    for (index, (_, row)) in rows.iter().enumerate().take(HEADER_SEARCH_ROWS) {
        let keys: Vec<[String; 2]> = row.iter().map(|h| header_keys(h)).collect();
        let find = |wanted: &[String]| {
            keys.iter()
                .position(|k| k.iter().any(|k| wanted.contains(k)))
        };
        let mut columns = BTreeMap::new();
        match explicit {
            Some(explicit) => {
                let phone = header_key(&explicit["phone"]);
                if find(std::slice::from_ref(&phone)).is_none() {
                    continue;
                }
                for field in FIELDS {
                    if let Some(header) = explicit.get(field) {
                        let col = find(&[header_key(header)]).ok_or_else(|| {
                            AppError::validation(
                                "mapping",
                                format!("no column named `{header}` (for `{field}`)"),
                            )
                        })?;
                        columns.insert(field, col);
                    }
                }
            }
            None => {
                for field in FIELDS {
                    let wanted: Vec<String> =
                        aliases(field).iter().map(|a| a.to_string()).collect();
                    if let Some(col) = find(&wanted) {
                        columns.insert(field, col);
                    }
                }
                if !columns.contains_key("phone") {
                    continue;
                }
            }
        }
        let used: HashSet<usize> = columns.values().copied().collect();
        let custom = row
            .iter()
            .enumerate()
            .filter(|(col, h)| !used.contains(col) && !custom_key(h).is_empty())
            .map(|(col, h)| (col, custom_key(h)))
            .take(super::MAX_CUSTOM_FIELDS)
            .collect();
        return Ok((index, Mapping { columns, custom }));
    }
    Err(AppError::Unprocessable {
        code: "no_phone_column",
        message: "no header row with a phone column was found (e.g. `Phone`, `Mobile`); \
                  name it so or send a column mapping"
            .into(),
    })
}

/// An upload read and checked: its format, header position, mapping and data rows (with their
/// row numbers as a spreadsheet shows them).
#[derive(Debug)]
pub struct Parsed {
    pub format: Format,
    pub mapping: Mapping,
    pub rows: Vec<(usize, Vec<String>)>,
}

/// Reads an upload; errors are what the uploader must fix (nothing is stored).
pub fn parse(
    filename: &str,
    bytes: &[u8],
    explicit: Option<&BTreeMap<String, String>>,
    max_rows: usize,
) -> AppResult<Parsed> {
    let format = sheet::detect(filename, bytes)?;
    let (rows, total) = sheet::read(format, bytes, max_rows + HEADER_SEARCH_ROWS)?;
    if rows.is_empty() {
        return Err(AppError::Unprocessable {
            code: "empty_file",
            message: "the file has no rows".into(),
        });
    }
    let (header, mapping) = map_columns(&rows, explicit)?;
    let data_rows = total - header - 1;
    if data_rows > max_rows {
        return Err(AppError::Unprocessable {
            code: "too_many_rows",
            message: format!(
                "the file has {data_rows} contacts; at most {max_rows} can be imported at once"
            ),
        });
    }
    if data_rows == 0 {
        return Err(AppError::Unprocessable {
            code: "empty_file",
            message: "the file has a header but no contacts".into(),
        });
    }
    let rows = rows.into_iter().skip(header + 1).collect();
    Ok(Parsed {
        format,
        mapping,
        rows,
    })
}

/// A phone cell as typed, or recovered: Excel drops the leading `+` of numbers stored as
/// numbers, so digits that are no number of the home region are tried as international.
fn phone_of(raw: &str, region: &str) -> Option<String> {
    if let Ok(e164) = crate::contacts::phone::normalize("phone", raw, region) {
        return Some(e164);
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 8
        && raw
            .chars()
            .all(|c| c.is_ascii_digit() || " -().".contains(c))
    {
        return crate::contacts::phone::normalize("phone", &format!("+{digits}"), region).ok();
    }
    None
}

/// A row's contact, or why it is skipped.
fn contact_of(mapping: &Mapping, row: &[String], region: &str) -> Result<Valid, String> {
    let cell = |field: &str| {
        mapping
            .columns
            .get(field)
            .and_then(|col| row.get(*col))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let raw_phone = cell("phone").ok_or("missing phone number")?;
    let phone = phone_of(&raw_phone, region).ok_or("invalid phone number")?;
    let name = cell("name")
        .or_else(|| {
            let full = [cell("first_name"), cell("last_name")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!full.is_empty()).then_some(full)
        })
        .unwrap_or_else(|| phone.clone());
    let tags = cell("tags")
        .map(|t| {
            t.split([',', ';'])
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let custom_fields = mapping
        .custom
        .iter()
        .filter_map(|(col, key)| {
            let value = row.get(*col)?.trim();
            (!value.is_empty()).then(|| (key.clone(), value.to_string()))
        })
        .collect();
    Valid::with_phone(
        ContactInput {
            name: Some(name),
            phone: None,
            email: Some(cell("email")),
            company: Some(cell("company")),
            tags: Some(tags),
            notes: Some(cell("notes")),
            custom_fields: Some(custom_fields),
            do_not_call: None,
        },
        phone,
        raw_phone,
    )
    .map_err(|e| match e {
        AppError::Validation { field, message, .. } => format!("{field}: {message}"),
        other => other.to_string(),
    })
}

/// Why a row repeats a number: the upload screen shows reasons containing "already exists" as
/// skipped duplicates rather than errors.
const DUPLICATE_IN_FILE: &str = "already exists earlier in this file";
const DUPLICATE_OF_CONTACT: &str = "a contact with this number already exists";

/// A row's number, its phone and name cells as they were, and its contact or why it is
/// skipped.
struct Outcome {
    number: usize,
    phone: String,
    name: String,
    result: Result<Valid, String>,
}

/// Every row's outcome, in order: rows are validated in parallel chunks, then duplicates
/// within the file are decided in file order.
fn outcomes(parsed: &Parsed, region: &str) -> Vec<Outcome> {
    let validate = |(number, cells): &(usize, Vec<String>)| -> Outcome {
        let cell = |field: &str| {
            parsed
                .mapping
                .columns
                .get(field)
                .and_then(|c| cells.get(*c))
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let name = [cell("name"), cell("first_name"), cell("last_name")];
        let name = if name[0].is_empty() {
            name[1..].join(" ").trim().to_string()
        } else {
            name[0].clone()
        };
        Outcome {
            number: *number,
            phone: cell("phone"),
            name,
            result: contact_of(&parsed.mapping, cells, region),
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = parsed.rows.len().div_ceil(threads).max(1);
    let mut all: Vec<Outcome> = std::thread::scope(|scope| {
        let workers: Vec<_> = parsed
            .rows
            .chunks(chunk)
            .map(|rows| scope.spawn(move || rows.iter().map(validate).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("validation thread"))
            .collect()
    });
    let mut seen = HashSet::new();
    for outcome in &mut all {
        if let Ok(valid) = &outcome.result
            && !seen.insert(valid.phone_e164.clone())
        {
            outcome.result = Err(DUPLICATE_IN_FILE.to_string());
        }
    }
    all
}

/// Inserts the contacts whose numbers the account does not have yet (a contact created
/// meanwhile by hand wins) and returns the numbers it added.
async fn insert_new<C: ConnectionTrait>(
    txn: &C,
    fresh: Vec<contacts::ActiveModel>,
) -> Result<HashSet<String>, sea_orm::DbErr> {
    let mut insert = contacts::Entity::insert_many(fresh)
        .on_conflict(
            OnConflict::columns([contacts::Column::UserId, contacts::Column::PhoneE164])
                .do_nothing()
                .to_owned(),
        )
        .into_query();
    insert.returning_col(contacts::Column::PhoneE164);
    txn.query_all(&insert)
        .await?
        .iter()
        .map(|row| row.try_get::<String>("", "phone_e164"))
        .collect()
}

/// A row an immediate import left out of its list, or whose contact existed already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub row: usize,
    /// The phone cell as it was.
    pub phone: String,
    pub reason: String,
}

/// What an immediate import read and added.
#[derive(Debug, Clone, Default)]
pub struct ReadNow {
    pub total_rows: usize,
    /// Contacts added from the file.
    pub created: usize,
    /// Rows whose number was an existing contact's or repeated an earlier row.
    pub duplicates: usize,
    /// Rows without a usable number.
    pub invalid: usize,
    /// The skipped and invalid rows, in file order (the first `MAX_REPORT`).
    pub skipped: Vec<Skipped>,
    /// Every valid number of the file (first occurrence), with its contact: (id, E.164,
    /// do-not-call).
    pub contacts: Vec<(Uuid, String, bool)>,
}

/// Reads an upload at once (a campaign's list, which the Create Campaign dialog waits for):
/// the same checks, validation and duplicate rules as an import job, the new numbers added as
/// contacts in the caller's transaction, and every valid number returned with its contact (new
/// or existing) in file order.
pub async fn read_now<C: ConnectionTrait>(
    txn: &C,
    services: &Services,
    user_id: Uuid,
    filename: &str,
    bytes: Vec<u8>,
    max_rows: usize,
) -> AppResult<ReadNow> {
    if bytes.len() > services.config.uploads.import_max_bytes {
        return Err(AppError::PayloadTooLarge {
            limit: services.config.uploads.import_max_bytes,
        });
    }
    let region = crate::accounts::users::get_in(txn, user_id)
        .await?
        .default_region;
    let filename = filename.to_string();
    let outcomes = tokio::task::spawn_blocking(move || {
        parse(&filename, &bytes, None, max_rows).map(|p| outcomes(&p, &region))
    })
    .await
    .map_err(AppError::internal)??;
    let mut read = ReadNow {
        total_rows: outcomes.len(),
        ..Default::default()
    };
    let now = Utc::now();
    let valid: Vec<&Outcome> = outcomes.iter().filter(|o| o.result.is_ok()).collect();
    let mut added: HashSet<String> = HashSet::new();
    for batch in valid.chunks(MAX_BATCH / 4) {
        let fresh: Vec<contacts::ActiveModel> = batch
            .iter()
            .filter_map(|o| o.result.as_ref().ok())
            .map(|v| {
                v.clone()
                    .into_row(user_id, now, contacts::ContactOrigin::Import)
            })
            .collect();
        added.extend(insert_new(txn, fresh).await?);
    }
    read.created = added.len();
    // Every valid number's contact, new or existing.
    let numbers: Vec<String> = valid
        .iter()
        .filter_map(|o| o.result.as_ref().ok().map(|v| v.phone_e164.clone()))
        .collect();
    let mut by_number: std::collections::HashMap<String, (Uuid, bool)> = Default::default();
    for chunk in numbers.chunks(500) {
        for c in contacts::Entity::find()
            .filter(contacts::Column::UserId.eq(user_id))
            .filter(contacts::Column::PhoneE164.is_in(chunk.iter().cloned()))
            .all(txn)
            .await?
        {
            by_number.insert(c.phone_e164, (c.id, c.do_not_call));
        }
    }
    for o in &outcomes {
        let reason = match &o.result {
            Ok(v) => {
                if let Some((id, dnc)) = by_number.get(&v.phone_e164) {
                    read.contacts.push((*id, v.phone_e164.clone(), *dnc));
                }
                if added.contains(&v.phone_e164) {
                    continue;
                }
                read.duplicates += 1;
                DUPLICATE_OF_CONTACT
            }
            Err(reason) => {
                if reason == DUPLICATE_IN_FILE {
                    read.duplicates += 1;
                } else {
                    read.invalid += 1;
                }
                reason.as_str()
            }
        };
        if read.skipped.len() < MAX_REPORT {
            read.skipped.push(Skipped {
                row: o.number,
                phone: o.phone.clone(),
                reason: reason.to_string(),
            });
        }
    }
    Ok(read)
}

/// Stores the checked upload with its job; the caller answers 202.
pub async fn start(
    services: &Services,
    user_id: Uuid,
    filename: &str,
    bytes: Vec<u8>,
    explicit: Option<BTreeMap<String, String>>,
) -> AppResult<contact_imports::Model> {
    let config = services.settings().await;
    if bytes.len() > config.uploads.import_max_bytes {
        return Err(AppError::PayloadTooLarge {
            limit: config.uploads.import_max_bytes,
        });
    }
    let filename: String = filename.chars().take(255).collect();
    let max_rows = config.uploads.import_max_rows;
    let (bytes, parsed) = {
        let filename = filename.clone();
        let explicit = explicit.clone();
        tokio::task::spawn_blocking(move || {
            let parsed = parse(&filename, &bytes, explicit.as_ref(), max_rows);
            (bytes, parsed)
        })
        .await
        .map_err(AppError::internal)?
    };
    let parsed = parsed?;
    let now = Utc::now();
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let row = contact_imports::ActiveModel {
        id: Set(crate::platform::ids::next()),
        user_id: Set(user_id),
        filename: Set(filename),
        format: Set(parsed.format),
        file: Set(bytes),
        column_mapping: Set(json!(explicit)),
        status: Set(ImportStatus::Queued),
        total_rows: Set(parsed.rows.len() as i32),
        processed_rows: Set(0),
        imported: Set(0),
        duplicates: Set(0),
        invalid: Set(0),
        report: Set(json!([])),
        error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        completed_at: Set(None),
    };
    let row = contact_imports::Entity::insert(row)
        .exec_with_returning(&txn)
        .await?;
    let job = jobs::create(&txn, &config, JobKind::ContactImport, row.id).await?;
    AfterCommit::ringing(job).commit(services, txn).await?;
    Ok(row)
}

/// The import once it has finished, or as it stands after `bound`: the Contacts screen's upload
/// answers with one result, while the import itself stays the durable job (a worker process
/// may run it). Polled, backing off from 50 ms to 500 ms: progress is written per batch.
pub async fn finished_within(
    db: &DatabaseConnection,
    id: Uuid,
    bound: std::time::Duration,
) -> AppResult<contact_imports::Model> {
    let deadline = tokio::time::Instant::now() + bound;
    let mut pause = std::time::Duration::from_millis(50);
    loop {
        let row = contact_imports::Entity::find_by_id(id)
            .one(db)
            .await?
            .ok_or(AppError::not_found("import"))?;
        let done = matches!(row.status, ImportStatus::Completed | ImportStatus::Failed);
        let now = tokio::time::Instant::now();
        if done || now >= deadline {
            return Ok(row);
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(500));
    }
}

/// One of the user's imports; another user's is not found.
pub async fn get(
    db: &DatabaseConnection,
    owner: UserId,
    id: Uuid,
) -> AppResult<contact_imports::Model> {
    owned::find::<contact_imports::Entity, _>(db, owner, id).await
}

/// The user's imports, newest first.
pub async fn list(
    db: &DatabaseConnection,
    user_id: Uuid,
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<contact_imports::Model>, u64)> {
    let paginator = contact_imports::Entity::find()
        .filter(contact_imports::Column::UserId.eq(user_id))
        .order_by_desc(contact_imports::Column::CreatedAt)
        .order_by_desc(contact_imports::Column::Id)
        .paginate(db, per_page);
    let total = paginator.num_items().await?;
    Ok((paginator.fetch_page(page.saturating_sub(1)).await?, total))
}

fn progress_event(row: &contact_imports::Model) -> LiveEvent {
    LiveEvent::new(
        row.user_id,
        LiveKind::ImportProgress,
        json!({
            "import_id": row.id,
            "status": row.status,
            "total_rows": row.total_rows,
            "processed_rows": row.processed_rows,
            "imported": row.imported,
            "duplicates": row.duplicates,
            "invalid": row.invalid,
        }),
    )
}

/// The import job; safe to run any number of times.
pub async fn run(services: &Services, import_id: Uuid) -> Result<(), JobError> {
    let db = &services.db;
    let mut import = contact_imports::Entity::find_by_id(import_id)
        .one(db)
        .await?
        .ok_or_else(|| JobError::Permanent(format!("import {import_id} is gone")))?;
    if import.status == ImportStatus::Completed || import.status == ImportStatus::Failed {
        return Ok(());
    }
    let region = super::region_of(db, import.user_id).await?;
    let explicit: Option<BTreeMap<String, String>> =
        serde_json::from_value(import.column_mapping.clone()).unwrap_or_default();
    let filename = import.filename.clone();
    // The upload is read once; the progress updates below never carry it.
    let file = std::mem::take(&mut import.file);
    let max_rows = (import.total_rows.max(0) as usize).max(1);
    // Reading and validating are CPU work: off the async threads, validation on every core.
    let outcomes = tokio::task::spawn_blocking(move || {
        parse(&filename, &file, explicit.as_ref(), max_rows).map(|p| outcomes(&p, &region))
    })
    .await
    .map_err(|e| JobError::Retryable(e.to_string()))?;
    let outcomes = match outcomes {
        Ok(outcomes) => outcomes,
        Err(e) => {
            // Checked at upload, so only a changed parser gets here: record it, do not retry.
            let mut row: contact_imports::ActiveModel = import.into();
            row.status = Set(ImportStatus::Failed);
            row.error = Set(Some(e.to_string()));
            row.updated_at = Set(Utc::now());
            let row = sea_orm::ActiveModelTrait::update(row, db).await?;
            crate::platform::live::publish(services, vec![progress_event(&row)]).await;
            return Ok(());
        }
    };

    let mut current = import;
    if current.status == ImportStatus::Queued {
        let mut row: contact_imports::ActiveModel = current.into();
        row.status = Set(ImportStatus::Processing);
        row.updated_at = Set(Utc::now());
        current = sea_orm::ActiveModelTrait::update(row, db).await?;
    }
    let mut report: Vec<Value> = current.report.as_array().cloned().unwrap_or_default();
    let mut reported = report.len();
    let start = current.processed_rows.max(0) as usize;
    let batch_size = (outcomes.len() / 20).clamp(MIN_BATCH, MAX_BATCH);
    for batch in outcomes[start.min(outcomes.len())..].chunks(batch_size) {
        let txn = crate::platform::db::begin_write(db).await?;
        let now = Utc::now();
        let mut fresh = Vec::new();
        let mut skipped: Vec<(&Outcome, &str)> = Vec::new();
        let mut invalid = 0usize;
        for outcome in batch {
            match &outcome.result {
                Ok(valid) => fresh.push(valid.clone().into_row(
                    current.user_id,
                    now,
                    contacts::ContactOrigin::Import,
                )),
                Err(reason) => {
                    if reason != DUPLICATE_IN_FILE {
                        invalid += 1;
                    }
                    skipped.push((outcome, reason));
                }
            }
        }
        let mut duplicates = skipped.len() - invalid;
        let mut imported = 0;
        if !fresh.is_empty() {
            // Numbers the account already has are left alone (a contact created meanwhile by
            // hand wins): the insert returns the ones it added, the rest are duplicates.
            let added = insert_new(&txn, fresh).await?;
            imported = added.len();
            for outcome in batch {
                if let Ok(valid) = &outcome.result
                    && !added.contains(&valid.phone_e164)
                {
                    duplicates += 1;
                    skipped.push((outcome, DUPLICATE_OF_CONTACT));
                }
            }
        }
        skipped.sort_by_key(|(outcome, _)| outcome.number);
        for (outcome, reason) in skipped {
            if report.len() >= MAX_REPORT {
                break;
            }
            report.push(json!({
                "row": outcome.number,
                "value": outcome.phone,
                "name": outcome.name,
                "reason": reason,
            }));
        }
        current.processed_rows += batch.len() as i32;
        current.imported += imported as i32;
        current.duplicates += duplicates as i32;
        current.invalid += invalid as i32;
        current.updated_at = now;
        let mut update = contact_imports::Entity::update_many()
            .col_expr(
                contact_imports::Column::ProcessedRows,
                Expr::value(current.processed_rows),
            )
            .col_expr(
                contact_imports::Column::Imported,
                Expr::value(current.imported),
            )
            .col_expr(
                contact_imports::Column::Duplicates,
                Expr::value(current.duplicates),
            )
            .col_expr(
                contact_imports::Column::Invalid,
                Expr::value(current.invalid),
            )
            .col_expr(contact_imports::Column::UpdatedAt, Expr::value(now));
        // The report only grows while under its cap: rewrite it only when it changed.
        if report.len() != reported {
            reported = report.len();
            current.report = Value::Array(report.clone());
            update = update.col_expr(
                contact_imports::Column::Report,
                Expr::value(current.report.clone()),
            );
        }
        update
            .filter(contact_imports::Column::Id.eq(current.id))
            .exec(&txn)
            .await?;
        let mut after = AfterCommit::new();
        after.publish([progress_event(&current)]);
        after.commit(services, txn).await?;
    }
    let mut row: contact_imports::ActiveModel = current.into();
    row.status = Set(ImportStatus::Completed);
    row.completed_at = Set(Some(Utc::now()));
    row.updated_at = Set(Utc::now());
    let done = sea_orm::ActiveModelTrait::update(row, db).await?;
    tracing::info!(
        import = %done.id,
        imported = done.imported,
        duplicates = done.duplicates,
        invalid = done.invalid,
        "contact import completed"
    );
    crate::platform::live::publish(services, vec![progress_event(&done)]).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(data: &[&[&str]]) -> Vec<sheet::NumberedRow> {
        data.iter()
            .enumerate()
            .map(|(i, r)| (i + 1, r.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn headers_are_found_below_titles_and_mapped_by_name() {
        let rows = rows(&[
            &["Customer export", "", ""],
            &["First Name", "Last Name", "Mobile", "E-mail", "Lead Source"],
            &["Dana", "Reyes", "4155550123", "d@example.com", "web"],
        ]);
        let (header, mapping) = map_columns(&rows, None).unwrap();
        assert_eq!(header, 1);
        assert_eq!(mapping.columns["phone"], 2);
        assert_eq!(mapping.columns["email"], 3);
        assert_eq!(mapping.custom, vec![(4, "lead_source".to_string())]);
        let valid = contact_of(&mapping, &rows[2].1, "US").unwrap();
        assert_eq!(
            (valid.name.as_str(), valid.phone_e164.as_str()),
            ("Dana Reyes", "+14155550123")
        );
        assert_eq!(valid.custom_fields["lead_source"], "web");
    }

    #[test]
    fn a_plus_lost_by_excel_is_recovered() {
        assert_eq!(
            phone_of("447911123456", "US").as_deref(),
            Some("+447911123456")
        );
        assert_eq!(
            phone_of("14155550123", "US").as_deref(),
            Some("+14155550123")
        );
        assert_eq!(
            phone_of("919845011111", "US").as_deref(),
            Some("+919845011111")
        );
        assert_eq!(phone_of("hello", "US"), None);
    }

    #[test]
    fn explicit_mappings_are_checked() {
        let rows = rows(&[&["Who", "Digits"], &["Dana", "+14155550123"]]);
        let mut explicit = BTreeMap::new();
        explicit.insert("phone".to_string(), "Digits".to_string());
        explicit.insert("name".to_string(), "Who".to_string());
        let (_, mapping) = map_columns(&rows, Some(&explicit)).unwrap();
        assert_eq!(mapping.columns["name"], 0);
        explicit.insert("colour".to_string(), "Who".to_string());
        assert!(map_columns(&rows, Some(&explicit)).is_err());
        assert!(map_columns(&rows, None).is_err(), "no known phone header");
    }

    #[test]
    fn header_spellings_of_real_crm_exports() {
        for (headers, phone, email, name, company) in [
            (
                ["Full Name", "Mobile No.", "Email ID", "Organisation"],
                1,
                2,
                0,
                3,
            ),
            (
                [
                    "Contact Number",
                    "Contact Name",
                    "E-mail Address",
                    "Company Name",
                ],
                0,
                2,
                1,
                3,
            ),
            (["name", "phoneNumber", "email", "company"], 1, 2, 0, 3),
            (
                [
                    "contact_name",
                    "phone_number",
                    "email_address",
                    "organization",
                ],
                1,
                2,
                0,
                3,
            ),
            (
                ["Client Name", "WhatsApp No", "Mail ID", "Business"],
                1,
                2,
                0,
                3,
            ),
        ] {
            let rows = rows(&[&headers, &["a", "b", "c", "d"]]);
            let (_, mapping) = map_columns(&rows, None).unwrap();
            assert_eq!(
                (
                    mapping.columns.get("phone"),
                    mapping.columns.get("email"),
                    mapping.columns.get("name"),
                    mapping.columns.get("company")
                ),
                (Some(&phone), Some(&email), Some(&name), Some(&company)),
                "{headers:?}"
            );
        }
    }

    #[test]
    fn rows_are_numbered_as_the_spreadsheet_shows_them() {
        let csv = b"Contacts\n\nname,Mobile No.\n\n\nAda,+14155550100\n,\nBob,+14155550101\n";
        let parsed = parse("c.csv", csv, None, 10).unwrap();
        let numbers: Vec<usize> = parsed.rows.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, [6, 8], "blank lines above and between count");

        // A sheet whose first rows and column are empty: calamine's range starts below them.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(2, 1, "Name").unwrap();
        sheet.write_string(2, 2, "Phone").unwrap();
        sheet.write_string(4, 1, "Ada").unwrap();
        sheet.write_string(4, 2, "+14155550100").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let parsed = parse("c.xlsx", &bytes, None, 10).unwrap();
        let numbers: Vec<usize> = parsed.rows.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, [5]);
    }
}
