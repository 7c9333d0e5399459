//! The signed-in user's contacts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem::Body;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use shared::{
    AppError, Services,
    contacts::{self as service, ContactFilter, ContactInput, SortBy, export},
    entities::contacts,
};
use uuid::Uuid;

use crate::{
    api_errors,
    download::{ExportFormat, FileResponse, default_format},
    pagination::{Page, SortOrder, default_page, default_per_page},
    security::Auth,
    tags::Tag,
};

/// A contact as the contact tables and detail pages show it.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Contact {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    /// E.164, e.g. `+14155550123`.
    pub phone_number: String,
    /// The number as it was entered or imported.
    pub phone_raw: String,
    pub email: Option<String>,
    pub company: Option<String>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    /// Extra fields, usable as agent dynamic variables.
    pub custom_fields: BTreeMap<String, String>,
    /// Outbound calls to this contact are refused.
    pub do_not_call: bool,
    pub last_call_summary: Option<String>,
    pub last_interaction_at: Option<DateTime<Utc>>,
    /// `Hot`, `Warm` or `Cold` from the latest scored call, if any.
    pub lead_status_tag: Option<String>,
    pub total_score: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Contact {
    pub(crate) fn of(c: contacts::Model) -> Self {
        Self {
            tags: service::tags_of(&c),
            custom_fields: service::custom_fields_of(&c),
            id: c.id,
            user_id: c.user_id,
            name: c.name,
            phone_number: c.phone_e164,
            phone_raw: c.phone_raw,
            email: c.email,
            company: c.company,
            notes: c.notes,
            do_not_call: c.do_not_call,
            last_call_summary: c.last_call_summary,
            last_interaction_at: c.last_interaction_at,
            lead_status_tag: c.latest_tag,
            total_score: c.latest_score,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct CreateContact {
    #[oai(validator(max_length = 200))]
    pub name: String,
    /// Any format; numbers without a country code use the account's default region.
    #[oai(validator(max_length = 40))]
    pub phone_number: String,
    #[oai(validator(max_length = 254))]
    pub email: Option<String>,
    #[oai(validator(max_length = 200))]
    pub company: Option<String>,
    #[oai(validator(max_items = 20))]
    pub tags: Option<Vec<String>>,
    #[oai(validator(max_length = 5000))]
    pub notes: Option<String>,
    pub custom_fields: Option<BTreeMap<String, String>>,
    pub do_not_call: Option<bool>,
}

/// Only the fields present change; `null` clears email, company or notes.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct UpdateContact {
    #[oai(validator(max_length = 200))]
    pub name: Option<String>,
    #[oai(validator(max_length = 40))]
    pub phone_number: Option<String>,
    pub email: MaybeUndefined<String>,
    pub company: MaybeUndefined<String>,
    #[oai(validator(max_items = 20))]
    pub tags: Option<Vec<String>>,
    pub notes: MaybeUndefined<String>,
    pub custom_fields: Option<BTreeMap<String, String>>,
    pub do_not_call: Option<bool>,
}

fn maybe(v: MaybeUndefined<String>) -> Option<Option<String>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct BulkDelete {
    /// Up to 1,000 contact ids; ids that are not the caller's are ignored.
    #[oai(validator(min_items = 1, max_items = 1000))]
    pub ids: Vec<Uuid>,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Deleted {
    pub deleted: u64,
}

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ContactSort {
    CreatedAt,
    UpdatedAt,
    Name,
    LastInteractionAt,
}

#[derive(ApiResponse)]
pub enum CreatedContact {
    #[oai(status = 201)]
    Created(Json<Contact>),
}

#[derive(ApiResponse)]
pub enum NoContent {
    #[oai(status = 204)]
    Deleted,
}

api_errors!(ContactErrors {
    400 => BadRequest: "Malformed path, query or body (`invalid_parameter`, `malformed_json`), or an invalid field (`validation_error`; `details` maps each field to its message).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    404 => NotFound: "No such contact of this user (`contact_not_found`).",
    409 => Conflict: "Another contact has this number (`duplicate_contact`, `details.existing_id`).",
});

pub struct ContactApi {
    pub services: Services,
}

/// The list's query parameters as a filter (the export takes the same ones).
#[allow(clippy::too_many_arguments)]
fn contact_filter(
    q: Option<String>,
    tag: Option<String>,
    has_calls: Option<bool>,
    lead_status: Option<String>,
    created_from: Option<DateTime<Utc>>,
    created_to: Option<DateTime<Utc>>,
    sort: Option<ContactSort>,
    order: Option<SortOrder>,
) -> Result<ContactFilter, AppError> {
    if let (Some(from), Some(to)) = (created_from, created_to)
        && from >= to
    {
        return Err(AppError::validation(
            "created_from",
            "must be before `created_to`",
        ));
    }
    let sort = match sort.unwrap_or(ContactSort::CreatedAt) {
        ContactSort::CreatedAt => SortBy::CreatedAt,
        ContactSort::UpdatedAt => SortBy::UpdatedAt,
        ContactSort::Name => SortBy::Name,
        ContactSort::LastInteractionAt => SortBy::LastInteractionAt,
    };
    let descending = match order {
        Some(order) => matches!(order, SortOrder::Desc),
        None => sort != SortBy::Name,
    };
    Ok(ContactFilter {
        search: q,
        tag,
        has_calls,
        lead_status,
        created_from,
        created_to,
        sort,
        descending,
    })
}

#[OpenApi(prefix_path = "/api/contacts", tag = "Tag::Contacts")]
impl ContactApi {
    /// List contacts
    ///
    /// Paginated; `q` searches name, email and company (substring, any case) and phone numbers
    /// in any format; filters combine.
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: Auth,
        #[oai(validator(max_length = 100))] q: Query<Option<String>>,
        #[oai(validator(max_length = 50))] tag: Query<Option<String>>,
        has_calls: Query<Option<bool>>,
        /// `Hot`, `Warm` or `Cold`: the latest scored call's tag.
        #[oai(validator(max_length = 20))]
        lead_status: Query<Option<String>>,
        created_from: Query<Option<DateTime<Utc>>>,
        created_to: Query<Option<DateTime<Utc>>>,
        sort: Query<Option<ContactSort>>,
        order: Query<Option<SortOrder>>,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        page: Query<u64>,
        #[oai(
            default = "default_per_page",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        per_page: Query<u64>,
    ) -> Result<Json<Page<Contact>>, ContactErrors> {
        let me = auth.user(&self.services).await?;
        let filter = contact_filter(
            q.0,
            tag.0,
            has_calls.0,
            lead_status.0,
            created_from.0,
            created_to.0,
            sort.0,
            order.0,
        )?;
        let db = &self.services.db;
        let (rows, total) = service::list(db, me.id, &filter, page.0, per_page.0).await?;
        let items = rows.into_iter().map(Contact::of).collect();
        Ok(Json(Page {
            items,
            page: page.0,
            per_page: per_page.0,
            total,
        }))
    }

    /// Create a contact
    ///
    /// The phone number is normalised to E.164 (a national number is read in the user's
    /// `default_region`). One contact per number and user: a second is 409 `duplicate_contact`;
    /// an invalid number or email is 422 naming the field.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        auth: Auth,
        body: Json<CreateContact>,
    ) -> Result<CreatedContact, ContactErrors> {
        let me = auth.user(&self.services).await?;
        let b = body.0;
        let input = ContactInput {
            name: Some(b.name),
            phone: Some(b.phone_number),
            email: Some(b.email),
            company: Some(b.company),
            tags: b.tags,
            notes: Some(b.notes),
            custom_fields: b.custom_fields,
            do_not_call: b.do_not_call,
        };
        let row = service::create(&self.services.db, me.id, input).await?;
        Ok(CreatedContact::Created(Json(Contact::of(row))))
    }

    /// Export contacts
    ///
    /// The filtered list (same parameters as the list) as CSV or .xlsx, streamed; custom
    /// fields become columns, so an export can be imported back.
    #[oai(path = "/export", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn export(
        &self,
        auth: Auth,
        #[oai(default = "default_format")] format: Query<ExportFormat>,
        #[oai(validator(max_length = 100))] q: Query<Option<String>>,
        #[oai(validator(max_length = 50))] tag: Query<Option<String>>,
        has_calls: Query<Option<bool>>,
        #[oai(validator(max_length = 20))] lead_status: Query<Option<String>>,
        created_from: Query<Option<DateTime<Utc>>>,
        created_to: Query<Option<DateTime<Utc>>>,
    ) -> Result<FileResponse, ContactErrors> {
        let me = auth.user(&self.services).await?;
        let filter = contact_filter(
            q.0,
            tag.0,
            has_calls.0,
            lead_status.0,
            created_from.0,
            created_to.0,
            None,
            None,
        )?;
        let export = export::ContactExport::new(self.services.db.clone(), me.id, filter).await?;
        Ok(FileResponse::export(format.0, "contacts", export).await?)
    }

    /// Import template
    ///
    /// An .xlsx with the columns the importer recognises and an example row.
    #[oai(path = "/import-template", method = "get")]
    async fn import_template(&self, auth: Auth) -> Result<FileResponse, ContactErrors> {
        auth.user(&self.services).await?;
        let bytes = export::template()?;
        Ok(FileResponse::named_xlsx(
            Body::from(bytes),
            "attachment; filename=\"contacts-template.xlsx\"",
        ))
    }

    /// Bulk delete
    ///
    /// Deletes up to 1,000 of the user's contacts in one statement; ids of other users or already
    /// gone are ignored and not counted. Their calls stay, without a contact.
    #[oai(path = "/bulk-delete", method = "post")]
    async fn bulk_delete(
        &self,
        auth: Auth,
        body: Json<BulkDelete>,
    ) -> Result<Json<Deleted>, ContactErrors> {
        let me = auth.user(&self.services).await?;
        let deleted = service::delete_many(&self.services.db, me.id, &body.0.ids).await?;
        Ok(Json(Deleted { deleted }))
    }

    /// Get a contact
    ///
    /// One contact with its latest lead status and score. Another user's contact is 404
    /// `contact_not_found`.
    #[oai(path = "/:id", method = "get")]
    async fn get(&self, auth: Auth, id: Path<Uuid>) -> Result<Json<Contact>, ContactErrors> {
        let me = auth.user(&self.services).await?;
        let db = &self.services.db;
        let row = service::get(db, me.owner(), id.0).await?;
        Ok(Json(Contact::of(row)))
    }

    /// Update a contact
    ///
    /// Only the fields sent change; the same checks as creation apply (a number already used by
    /// another contact is 409 `duplicate_contact`).
    #[oai(path = "/:id", method = "patch")]
    async fn update(
        &self,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<UpdateContact>,
    ) -> Result<Json<Contact>, ContactErrors> {
        let me = auth.user(&self.services).await?;
        let b = body.0;
        let input = ContactInput {
            name: b.name,
            phone: b.phone_number,
            email: maybe(b.email),
            company: maybe(b.company),
            tags: b.tags,
            notes: maybe(b.notes),
            custom_fields: b.custom_fields,
            do_not_call: b.do_not_call,
        };
        let row = service::update(&self.services.db, me.id, id.0, input).await?;
        Ok(Json(Contact::of(row)))
    }

    /// Delete a contact
    ///
    /// The contact's calls stay, without a contact. Another user's contact is 404.
    #[oai(path = "/:id", method = "delete")]
    async fn delete(&self, auth: Auth, id: Path<Uuid>) -> Result<NoContent, ContactErrors> {
        let me = auth.user(&self.services).await?;
        service::delete(&self.services.db, me.id, id.0).await?;
        Ok(NoContent::Deleted)
    }
}
