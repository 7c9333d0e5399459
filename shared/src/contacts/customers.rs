//! Customers: leads converted on Lead Intelligence. A customer is one of the user's contacts
//! with its own status, notes and rep; converting the same lead again is a conflict, and a lead
//! whose contact does not exist yet (a caller known only by the number on the screen) gets one.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, JoinType,
    QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use super::{ContactInput, intelligence};
use crate::{
    entities::{
        calls::{self, CallStatus},
        contacts,
        customers::{self, CustomerStatus},
    },
    platform::error::{AppError, AppResult},
    platform::ids::UserId,
    platform::owned,
};

/// What the conversion modal sends.
#[derive(Debug, Clone, Default)]
pub struct Conversion {
    /// A Lead Intelligence group id (`phone_…`, `email_…`, `individual_…`) or a contact id.
    pub lead: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub status: Option<CustomerStatus>,
    pub original_lead_source: Option<String>,
    pub assigned_sales_rep: Option<String>,
    pub notes: Option<String>,
}

/// The lead's contact: the group's, or a contact id of the user's, or — for a caller the
/// account has no contact for — one made from the number the screen shows.
async fn lead_contact(
    db: &DatabaseConnection,
    user_id: Uuid,
    c: &Conversion,
) -> AppResult<contacts::Model> {
    let owner = UserId(user_id);
    let found = match Uuid::parse_str(&c.lead) {
        Ok(id) => Some(owned::find::<contacts::Entity, _>(db, owner, id).await?),
        Err(_) => {
            let key = intelligence::GroupKey::parse(&c.lead)?;
            intelligence::contact_of_group(db, owner, &key).await?
        }
    };
    if let Some(contact) = found {
        return Ok(contact);
    }
    let phone = c
        .phone
        .clone()
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| {
            AppError::validation(
                "phone",
                "this lead has no contact yet: give its phone number",
            )
        })?;
    let input = ContactInput {
        name: Some(c.name.clone().unwrap_or_else(|| phone.clone())),
        phone: Some(phone),
        email: Some(c.email.clone()),
        company: Some(c.company.clone()),
        ..Default::default()
    };
    super::create(db, user_id, input).await
}

/// `CUST-<year>-<8 hex>`: the year of conversion and the random tail of the customer's id, so
/// concurrent conversions never pick the same reference.
fn reference_of(id: Uuid) -> String {
    let hex = id.simple().to_string();
    format!(
        "CUST-{}-{}",
        Utc::now().year(),
        hex[hex.len() - 8..].to_uppercase()
    )
}

fn already(existing: &customers::Model) -> AppError {
    AppError::Conflict {
        code: "already_customer",
        message: format!(
            "{} is already customer {}",
            existing.name, existing.reference
        ),
        details: Some(serde_json::json!({"customer_id": existing.id})),
    }
}

async fn customer_of(
    db: &DatabaseConnection,
    user_id: Uuid,
    contact_id: Uuid,
) -> AppResult<Option<customers::Model>> {
    Ok(customers::Entity::find()
        .filter(customers::Column::UserId.eq(user_id))
        .filter(customers::Column::ContactId.eq(contact_id))
        .one(db)
        .await?)
}

/// Converts a lead; a lead already converted is 409 `already_customer`.
pub async fn convert(
    db: &DatabaseConnection,
    user_id: Uuid,
    c: Conversion,
) -> AppResult<customers::Model> {
    let contact = lead_contact(db, user_id, &c).await?;
    let existing = customers::Entity::find()
        .filter(customers::Column::UserId.eq(user_id))
        .filter(customers::Column::ContactId.eq(contact.id))
        .one(db)
        .await?;
    if let Some(existing) = existing {
        return Err(AppError::Conflict {
            code: "already_customer",
            message: format!(
                "{} is already customer {}",
                existing.name, existing.reference
            ),
            details: Some(serde_json::json!({"customer_id": existing.id})),
        });
    }
    let text = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let now = Utc::now();
    let id = crate::platform::ids::next();
    let row = customers::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        contact_id: Set(contact.id),
        reference: Set(reference_of(id)),
        name: Set(text(&c.name).unwrap_or_else(|| contact.name.clone())),
        email: Set(text(&c.email).or(contact.email.clone())),
        phone: Set(Some(contact.phone_e164.clone())),
        company: Set(text(&c.company).or(contact.company.clone())),
        status: Set(c.status.unwrap_or(CustomerStatus::Active)),
        notes: Set(text(&c.notes)),
        assigned_sales_rep: Set(text(&c.assigned_sales_rep)),
        original_lead_source: Set(text(&c.original_lead_source)),
        converted_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
    };
    match row.insert(db).await {
        Ok(row) => Ok(row),
        // A concurrent conversion of the same lead won the unique (user, contact) index.
        Err(e) => match customer_of(db, user_id, contact.id).await? {
            Some(existing) => Err(already(&existing)),
            None => Err(e.into()),
        },
    }
}

/// The user's customers, newest conversions first.
pub async fn list(
    db: &DatabaseConnection,
    user_id: Uuid,
    status: Option<CustomerStatus>,
    window: crate::platform::db::Window,
) -> AppResult<(Vec<customers::Model>, u64)> {
    let mut query = customers::Entity::find().filter(customers::Column::UserId.eq(user_id));
    if let Some(status) = status {
        query = query.filter(customers::Column::Status.eq(status));
    }
    let sorted = query
        .order_by_desc(customers::Column::ConvertedAt)
        .order_by_desc(customers::Column::Id);
    Ok(
        crate::platform::db::page_of(db, sorted, customers::Column::Id, |c| c.id, false, window)
            .await?,
    )
}

/// A customer's conversations at a glance: when the latest was, how many since the conversion.
#[derive(Debug, Clone, Copy, Default)]
pub struct Activity {
    pub latest: Option<DateTime<Utc>>,
    pub since_conversion: u64,
}

/// The activity of each of `rows` (one grouped query, whatever the page's size).
pub async fn activity_of(
    db: &DatabaseConnection,
    user_id: Uuid,
    rows: &[customers::Model],
) -> AppResult<HashMap<Uuid, Activity>> {
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let on_customer = calls::Entity::belongs_to(customers::Entity)
        .from(calls::Column::ContactId)
        .to(customers::Column::ContactId)
        .into();
    let found: Vec<(Uuid, Option<DateTime<Utc>>, i64)> = calls::Entity::find()
        .select_only()
        .column(calls::Column::ContactId)
        .column_as(calls::Column::CreatedAt.max(), "latest")
        .column_as(
            Expr::cust(
                "SUM(CASE WHEN calls.created_at >= customers.converted_at THEN 1 ELSE 0 END)",
            ),
            "since",
        )
        .join(JoinType::InnerJoin, on_customer)
        .filter(calls::Column::UserId.eq(user_id))
        .filter(customers::Column::UserId.eq(user_id))
        .filter(calls::Column::Status.eq(CallStatus::Completed))
        .filter(calls::Column::ContactId.is_in(rows.iter().map(|r| r.contact_id)))
        .group_by(calls::Column::ContactId)
        .into_tuple()
        .all(db)
        .await?;
    let by_contact: HashMap<Uuid, Activity> = found
        .into_iter()
        .map(|(contact, latest, since)| {
            let since_conversion = u64::try_from(since).unwrap_or(0);
            (
                contact,
                Activity {
                    latest,
                    since_conversion,
                },
            )
        })
        .collect();
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.id,
                by_contact.get(&r.contact_id).copied().unwrap_or_default(),
            )
        })
        .collect())
}

/// One of the user's customers.
pub async fn get(db: &DatabaseConnection, owner: UserId, id: Uuid) -> AppResult<customers::Model> {
    owned::find::<customers::Entity, _>(db, owner, id).await
}

/// What an edit may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CustomerChange {
    pub status: Option<CustomerStatus>,
    pub notes: Option<Option<String>>,
    pub assigned_sales_rep: Option<Option<String>>,
}

pub async fn update(
    db: &DatabaseConnection,
    owner: UserId,
    id: Uuid,
    change: CustomerChange,
) -> AppResult<customers::Model> {
    let current = get(db, owner, id).await?;
    let mut row: customers::ActiveModel = current.into();
    if let Some(status) = change.status {
        row.status = Set(status);
    }
    if let Some(notes) = change.notes {
        row.notes = Set(notes.filter(|n| !n.trim().is_empty()));
    }
    if let Some(rep) = change.assigned_sales_rep {
        row.assigned_sales_rep = Set(rep.filter(|r| !r.trim().is_empty()));
    }
    row.updated_at = Set(Utc::now());
    Ok(row.update(db).await?)
}
