//! A user's contacts: who their agents call and who calls them. One contact per E.164 number
//! per user; the number as typed is kept beside it.

pub mod customers;
pub mod export;
pub mod import;
pub mod intelligence;
pub mod leads;
pub mod links;
pub mod phone;
pub mod sheet;
pub mod tasks;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Select,
    sea_query::{Expr, Func},
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    entities::{calls, contacts},
    platform::error::{AppError, AppResult},
    platform::ids::UserId,
    platform::owned,
};

pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_LEN: usize = 50;
pub const MAX_CUSTOM_FIELDS: usize = 50;
pub const MAX_CUSTOM_VALUE_LEN: usize = 1_000;
pub const MAX_NAME_LEN: usize = 200;
pub const MAX_NOTES_LEN: usize = 5_000;
pub const MAX_BULK: usize = 1_000;

/// Fields of a contact as a caller sets them; `None` leaves a field unchanged on update.
#[derive(Debug, Clone, Default)]
pub struct ContactInput {
    pub name: Option<String>,
    pub phone: Option<String>,
    /// `Some(None)` clears it.
    pub email: Option<Option<String>>,
    pub company: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub notes: Option<Option<String>>,
    pub custom_fields: Option<BTreeMap<String, String>>,
    pub do_not_call: Option<bool>,
}

/// A contact's fields, validated and normalised.
#[derive(Debug, Clone)]
pub struct Valid {
    pub name: String,
    pub phone_e164: String,
    pub phone_raw: String,
    pub email: Option<String>,
    pub company: Option<String>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    pub custom_fields: BTreeMap<String, String>,
    pub do_not_call: bool,
}

fn trimmed(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

pub fn valid_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(AppError::validation(
            "name",
            format!("must be 1 to {MAX_NAME_LEN} characters"),
        ));
    }
    Ok(name.to_string())
}

pub fn valid_email(email: Option<String>) -> AppResult<Option<String>> {
    trimmed(email)
        .map(|e| crate::accounts::users::normalize_email(&e))
        .transpose()
}

pub fn valid_company(company: Option<String>) -> AppResult<Option<String>> {
    let company = trimmed(company);
    if company
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_NAME_LEN)
    {
        return Err(AppError::validation(
            "company",
            format!("must be at most {MAX_NAME_LEN} characters"),
        ));
    }
    Ok(company)
}

pub fn valid_tags(tags: Vec<String>) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().to_string();
        if tag.is_empty() || tag.chars().count() > MAX_TAG_LEN {
            return Err(AppError::validation(
                "tags",
                format!("each tag must be 1 to {MAX_TAG_LEN} characters"),
            ));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(AppError::validation(
            "tags",
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    Ok(out)
}

/// Custom fields become agent dynamic variables, so keys must be identifiers.
pub fn valid_custom_fields(
    fields: BTreeMap<String, String>,
) -> AppResult<BTreeMap<String, String>> {
    if fields.len() > MAX_CUSTOM_FIELDS {
        return Err(AppError::validation(
            "custom_fields",
            format!("at most {MAX_CUSTOM_FIELDS} fields"),
        ));
    }
    for (key, value) in &fields {
        let key_ok = !key.is_empty()
            && key.len() <= 64
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !key_ok {
            return Err(AppError::validation(
                "custom_fields",
                format!("`{key}`: keys are 1 to 64 letters, digits or underscores"),
            ));
        }
        if value.chars().count() > MAX_CUSTOM_VALUE_LEN {
            return Err(AppError::validation(
                "custom_fields",
                format!("`{key}`: values are at most {MAX_CUSTOM_VALUE_LEN} characters"),
            ));
        }
    }
    Ok(fields)
}

pub fn valid_notes(notes: Option<String>) -> AppResult<Option<String>> {
    let notes = trimmed(notes);
    if notes
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTES_LEN)
    {
        return Err(AppError::validation(
            "notes",
            format!("must be at most {MAX_NOTES_LEN} characters"),
        ));
    }
    Ok(notes)
}

impl Valid {
    /// A new contact's fields: name and phone are required.
    pub fn new(input: ContactInput, region: &str) -> AppResult<Self> {
        let raw = input.phone.clone().unwrap_or_default();
        let phone_e164 = crate::contacts::phone::normalize("phone_number", &raw, region)?;
        Self::with_phone(input, phone_e164, raw.trim().to_string())
    }

    /// `new` for a number already read (imports parse it once, with recovery).
    pub fn with_phone(
        input: ContactInput,
        phone_e164: String,
        phone_raw: String,
    ) -> AppResult<Self> {
        let name = valid_name(input.name.as_deref().unwrap_or_default())?;
        Ok(Self {
            name,
            phone_e164,
            phone_raw,
            email: valid_email(input.email.flatten())?,
            company: valid_company(input.company.flatten())?,
            tags: valid_tags(input.tags.unwrap_or_default())?,
            notes: valid_notes(input.notes.flatten())?,
            custom_fields: valid_custom_fields(input.custom_fields.unwrap_or_default())?,
            do_not_call: input.do_not_call.unwrap_or(false),
        })
    }

    /// `current` with the fields `input` sets.
    fn merged(current: &contacts::Model, input: ContactInput, region: &str) -> AppResult<Self> {
        let (phone_e164, phone_raw) = match input.phone {
            Some(raw) => (
                crate::contacts::phone::normalize("phone_number", &raw, region)?,
                raw.trim().to_string(),
            ),
            None => (current.phone_e164.clone(), current.phone_raw.clone()),
        };
        Ok(Self {
            name: match input.name {
                Some(name) => valid_name(&name)?,
                None => current.name.clone(),
            },
            phone_e164,
            phone_raw,
            email: match input.email {
                Some(email) => valid_email(email)?,
                None => current.email.clone(),
            },
            company: match input.company {
                Some(company) => valid_company(company)?,
                None => current.company.clone(),
            },
            tags: match input.tags {
                Some(tags) => valid_tags(tags)?,
                None => tags_of(current),
            },
            notes: match input.notes {
                Some(notes) => valid_notes(notes)?,
                None => current.notes.clone(),
            },
            custom_fields: match input.custom_fields {
                Some(fields) => valid_custom_fields(fields)?,
                None => custom_fields_of(current),
            },
            do_not_call: input.do_not_call.unwrap_or(current.do_not_call),
        })
    }

    pub fn into_row(
        self,
        user_id: Uuid,
        now: DateTime<Utc>,
        origin: contacts::ContactOrigin,
    ) -> contacts::ActiveModel {
        contacts::ActiveModel {
            origin: Set(origin),
            id: Set(crate::platform::ids::next()),
            user_id: Set(user_id),
            name: Set(self.name),
            phone_e164: Set(self.phone_e164),
            phone_raw: Set(self.phone_raw),
            email: Set(self.email),
            company: Set(self.company),
            tags: Set(json!(self.tags)),
            notes: Set(self.notes),
            custom_fields: Set(json!(self.custom_fields)),
            do_not_call: Set(self.do_not_call),
            last_call_summary: Set(None),
            last_interaction_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
    }
}

pub fn tags_of(contact: &contacts::Model) -> Vec<String> {
    serde_json::from_value(contact.tags.clone()).unwrap_or_default()
}

pub fn custom_fields_of(contact: &contacts::Model) -> BTreeMap<String, String> {
    serde_json::from_value(contact.custom_fields.clone()).unwrap_or_default()
}

/// The user's default region for numbers written without a country code.
pub async fn region_of(db: &DatabaseConnection, user_id: Uuid) -> AppResult<String> {
    Ok(crate::accounts::users::get(db, user_id)
        .await?
        .default_region)
}

/// The user's contact with this E.164 number.
pub async fn by_phone(
    db: &DatabaseConnection,
    user_id: Uuid,
    phone_e164: &str,
) -> AppResult<Option<contacts::Model>> {
    Ok(contacts::Entity::find()
        .filter(contacts::Column::UserId.eq(user_id))
        .filter(contacts::Column::PhoneE164.eq(phone_e164))
        .one(db)
        .await?)
}

fn duplicate(existing: &contacts::Model) -> AppError {
    AppError::Conflict {
        code: "duplicate_contact",
        message: format!(
            "a contact with the number {} already exists",
            existing.phone_e164
        ),
        details: Some(json!({"existing_id": existing.id})),
    }
}

pub async fn create(
    db: &DatabaseConnection,
    user_id: Uuid,
    input: ContactInput,
) -> AppResult<contacts::Model> {
    let region = region_of(db, user_id).await?;
    let valid = Valid::new(input, &region)?;
    if let Some(existing) = by_phone(db, user_id, &valid.phone_e164).await? {
        return Err(duplicate(&existing));
    }
    let phone = valid.phone_e164.clone();
    match valid
        .into_row(user_id, Utc::now(), contacts::ContactOrigin::Manual)
        .insert(db)
        .await
    {
        Ok(row) => Ok(row),
        // A concurrent create of the same number won the unique index.
        Err(e) => match by_phone(db, user_id, &phone).await? {
            Some(existing) => Err(duplicate(&existing)),
            None => Err(e.into()),
        },
    }
}

/// One of the user's contacts; another user's is not found.
pub async fn get(db: &DatabaseConnection, owner: UserId, id: Uuid) -> AppResult<contacts::Model> {
    owned::find::<contacts::Entity, _>(db, owner, id).await
}

pub async fn update(
    db: &DatabaseConnection,
    user_id: Uuid,
    id: Uuid,
    input: ContactInput,
) -> AppResult<contacts::Model> {
    let current = get(db, UserId(user_id), id).await?;
    let region = region_of(db, user_id).await?;
    let valid = Valid::merged(&current, input, &region)?;
    if valid.phone_e164 != current.phone_e164
        && let Some(existing) = by_phone(db, user_id, &valid.phone_e164).await?
    {
        return Err(duplicate(&existing));
    }
    let mut row: contacts::ActiveModel = current.into();
    row.name = Set(valid.name);
    row.phone_e164 = Set(valid.phone_e164.clone());
    row.phone_raw = Set(valid.phone_raw);
    row.email = Set(valid.email);
    row.company = Set(valid.company);
    row.tags = Set(json!(valid.tags));
    row.notes = Set(valid.notes);
    row.custom_fields = Set(json!(valid.custom_fields));
    row.do_not_call = Set(valid.do_not_call);
    row.updated_at = Set(Utc::now());
    match row.update(db).await {
        Ok(row) => Ok(row),
        Err(e) => match by_phone(db, user_id, &valid.phone_e164).await? {
            Some(existing) if existing.id != id => Err(duplicate(&existing)),
            _ => Err(e.into()),
        },
    }
}

pub async fn delete(db: &DatabaseConnection, user_id: Uuid, id: Uuid) -> AppResult<()> {
    let deleted = contacts::Entity::delete_many()
        .filter(contacts::Column::Id.eq(id))
        .filter(contacts::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(AppError::not_found("contact"));
    }
    Ok(())
}

/// Deletes those of `ids` that are the user's; returns how many went. Others' ids are ignored
/// (not revealed).
pub async fn delete_many(db: &DatabaseConnection, user_id: Uuid, ids: &[Uuid]) -> AppResult<u64> {
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(AppError::validation(
            "ids",
            format!("between 1 and {MAX_BULK} ids"),
        ));
    }
    let deleted = contacts::Entity::delete_many()
        .filter(contacts::Column::UserId.eq(user_id))
        .filter(contacts::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    CreatedAt,
    UpdatedAt,
    Name,
    /// The E.164 number, so `+1…` numbers sort together whatever way they were typed.
    PhoneNumber,
    LastInteractionAt,
}

/// What a contact list is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Name, email or company (case-insensitive substring), or a phone number in any format.
    pub search: Option<String>,
    pub tag: Option<String>,
    pub has_calls: Option<bool>,
    /// The lead status (`Hot`, `Warm`, `Cold`) of the contact's latest scored call.
    pub lead_status: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub sort: SortBy,
    pub descending: bool,
}

/// A LIKE pattern finding `s` anywhere, lower-cased, with `\` escaping `%`, `_` and itself.
pub fn like_pattern(s: &str) -> String {
    let escaped: String = s
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

/// `column` contains `pattern` (from `like_pattern`) in any case.
pub fn lower_like(column: impl sea_orm::sea_query::IntoColumnRef, pattern: &str) -> Expr {
    use sea_orm::sea_query::{ExprTrait, LikeExpr};
    Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern).escape('\\'))
}

/// Contacts whose `columns` contain `search` in any case, or whose number contains its digits
/// (three or more), so a number matches however it is written.
pub fn search_condition(search: &str, columns: &[contacts::Column]) -> Condition {
    use sea_orm::sea_query::ExprTrait;
    let pattern = like_pattern(search);
    let mut any = Condition::any();
    for column in columns {
        any = any.add(lower_like((contacts::Entity, *column), &pattern));
    }
    let digits: String = search.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 3 {
        any = any.add(
            Expr::col((contacts::Entity, contacts::Column::PhoneE164)).like(format!("%{digits}%")),
        );
    }
    any
}

/// The filtered query (unsorted); `backend` decides how JSON tags are searched.
pub fn filtered(
    user_id: Uuid,
    filter: &ContactFilter,
    backend: DatabaseBackend,
) -> Select<contacts::Entity> {
    use sea_orm::sea_query::{ExprTrait, Query};
    let mut query = contacts::Entity::find().filter(contacts::Column::UserId.eq(user_id));
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        query = query.filter(search_condition(
            search,
            &[
                contacts::Column::Name,
                contacts::Column::Email,
                contacts::Column::Company,
            ],
        ));
    }
    if let Some(tag) = filter.tag.as_deref() {
        let expr = match backend {
            DatabaseBackend::Postgres => Expr::cust_with_values(
                "\"contacts\".\"tags\" @> $1::jsonb",
                [json!([tag]).to_string()],
            ),
            _ => Expr::cust_with_values(
                "EXISTS (SELECT 1 FROM json_each(\"contacts\".\"tags\") WHERE json_each.value = ?)",
                [tag.to_string()],
            ),
        };
        query = query.filter(expr);
    }
    if let Some(has_calls) = filter.has_calls {
        let sub = Query::select()
            .expr(Expr::val(1))
            .from(calls::Entity)
            .and_where(
                Expr::col((calls::Entity, calls::Column::ContactId))
                    .equals((contacts::Entity, contacts::Column::Id)),
            )
            .to_owned();
        let exists = Expr::exists(sub);
        query = query.filter(if has_calls { exists } else { exists.not() });
    }
    if let Some(status) = filter.lead_status.as_deref() {
        query = query.filter(contacts::Column::LatestTag.eq(status));
    }
    if let Some(from) = filter.created_from {
        query = query.filter(contacts::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.created_to {
        query = query.filter(contacts::Column::CreatedAt.lt(to));
    }
    query
}

/// The filtered query in its requested order (ties broken by id, so pages are stable).
pub fn sorted(
    user_id: Uuid,
    filter: &ContactFilter,
    backend: DatabaseBackend,
) -> Select<contacts::Entity> {
    let order = if filter.descending {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let query = filtered(user_id, filter, backend);
    let query = match filter.sort {
        // Names sort the way people read them, whatever the database collation.
        SortBy::Name => query.order_by(
            Func::lower(Expr::col(contacts::Column::Name)),
            order.clone(),
        ),
        SortBy::PhoneNumber => query.order_by(contacts::Column::PhoneE164, order.clone()),
        SortBy::CreatedAt => query.order_by(contacts::Column::CreatedAt, order.clone()),
        SortBy::UpdatedAt => query.order_by(contacts::Column::UpdatedAt, order.clone()),
        SortBy::LastInteractionAt => {
            query.order_by(contacts::Column::LastInteractionAt, order.clone())
        }
    };
    query.order_by(contacts::Column::Id, order)
}

/// One window of the list with the total count.
pub async fn list(
    db: &DatabaseConnection,
    user_id: Uuid,
    filter: &ContactFilter,
    window: crate::platform::db::Window,
) -> AppResult<(Vec<contacts::Model>, u64)> {
    let select = sorted(user_id, filter, db.get_database_backend());
    Ok(crate::platform::db::page_of(
        db,
        select,
        contacts::Column::Id,
        |c| c.id,
        filter
            .search
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty()),
        window,
    )
    .await?)
}

/// Counts a finished conversation on its contact and makes its score the contact's latest
/// (what the lead list filters and sorts on). Increments happen in SQL, because other calls of
/// the same contact may be finishing concurrently. Call once per conversation.
pub async fn record_interaction<C: sea_orm::ConnectionTrait>(
    db: &C,
    contact_id: Uuid,
    call: &crate::entities::calls::Model,
    lead: &crate::entities::lead_analytics::Model,
    at: DateTime<Utc>,
) -> AppResult<()> {
    use sea_orm::sea_query::ExprTrait;
    let count = if call.channel == calls::Channel::Chat {
        contacts::Column::ChatCount
    } else {
        contacts::Column::CallCount
    };
    let mut update = contacts::Entity::update_many()
        .col_expr(count, Expr::col(count).add(1))
        .col_expr(
            contacts::Column::InteractionCount,
            Expr::col(contacts::Column::InteractionCount).add(1),
        );
    // A conversation without a score leaves the contact's latest score as it was.
    if lead.score_status == crate::entities::lead_analytics::ScoreStatus::Scored {
        update = update
            .col_expr(contacts::Column::LatestLeadId, Expr::value(lead.id))
            .col_expr(contacts::Column::LatestScore, Expr::value(lead.total_score))
            .col_expr(
                contacts::Column::LatestTag,
                Expr::value(lead.lead_status_tag.clone()),
            );
    }
    update
        .col_expr(
            contacts::Column::LastCallSummary,
            Expr::value(call.summary.clone()),
        )
        .col_expr(contacts::Column::LastInteractionAt, Expr::value(at))
        .col_expr(contacts::Column::UpdatedAt, Expr::value(at))
        .filter(contacts::Column::Id.eq(contact_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Names of the variables a contact fills in an agent's prompt.
pub const VARIABLES: [&str; 4] = [
    "contact_name",
    "contact_phone",
    "contact_email",
    "contact_company",
];

/// The contact's fields as agent dynamic variables (custom fields included); absent fields
/// are empty strings, so a prompt never shows a raw placeholder.
pub fn dynamic_variables(contact: &contacts::Model) -> serde_json::Map<String, Value> {
    let mut vars: serde_json::Map<String, Value> = custom_fields_of(contact)
        .into_iter()
        .map(|(key, value)| (key, Value::String(value)))
        .collect();
    for (key, value) in VARIABLES.iter().zip([
        Some(contact.name.clone()),
        Some(contact.phone_e164.clone()),
        contact.email.clone(),
        contact.company.clone(),
    ]) {
        vars.insert((*key).into(), json!(value.unwrap_or_default()));
    }
    vars
}
