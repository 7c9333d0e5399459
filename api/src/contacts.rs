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
    contacts::{self as service, ContactFilter, ContactInput, SortBy, export, links},
    entities::contacts,
    platform::db::Window,
};
use uuid::Uuid;

use crate::{
    api_errors,
    download::{ExportFormat, FileResponse, default_format},
    pagination::{Pagination, SortOrder},
    security::Auth,
    tags::Tag,
    wire::Done,
};

/// Contacts per window when the request names no `limit` (the client's earlier default).
fn default_contact_limit() -> u64 {
    50
}

/// A contact as the contact tables and detail pages show it.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Contact {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    /// The number written internationally, e.g. `+1 415-555-0123`: the contact form splits the
    /// country code off at the space.
    pub phone_number: String,
    /// The same number in E.164, e.g. `+14155550123`.
    pub phone_e164: String,
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
    /// A conversation with a number the account did not know created this contact.
    pub is_auto_created: bool,
    /// `call` or `chat` for an auto-created contact.
    pub auto_creation_source: Option<String>,
    pub call_link_type: CallLinkType,
    /// The contact's first call (for an auto-created contact, the one that created it).
    pub linked_call_id: Option<Uuid>,
    pub call_created_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How a contact is tied to its calls (the Contacts screen's "auto created" filter).
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CallLinkType {
    AutoCreated,
    ManuallyLinked,
    NotLinked,
}

impl Contact {
    /// A contact without its first call looked up (a single contact's answers).
    pub(crate) fn of(c: contacts::Model) -> Self {
        Self::linked(c, None)
    }

    pub(crate) fn linked(c: contacts::Model, first: Option<&links::FirstCall>) -> Self {
        let call_link_type = match links::call_link(&c, first) {
            links::CallLink::AutoCreated => CallLinkType::AutoCreated,
            links::CallLink::ManuallyLinked => CallLinkType::ManuallyLinked,
            links::CallLink::NotLinked => CallLinkType::NotLinked,
        };
        Self {
            is_auto_created: links::is_auto_created(&c),
            auto_creation_source: links::is_auto_created(&c).then(|| c.origin.to_string()),
            call_link_type,
            linked_call_id: first.map(|f| f.id),
            call_created_at: first.map(|f| f.created_at),
            tags: service::tags_of(&c),
            custom_fields: service::custom_fields_of(&c),
            id: c.id,
            user_id: c.user_id,
            name: c.name,
            phone_number: service::phone::international(&c.phone_e164),
            phone_e164: c.phone_e164,
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

/// A contact as the Contacts form sends it. The number may come as `phoneNumber` (the form) or
/// `phone_number`; empty texts count as absent.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct ContactForm {
    #[oai(validator(max_length = 200))]
    pub name: String,
    /// Any format (the form pre-fills `+91 `); numbers without a country code use the
    /// account's default region.
    #[oai(rename = "phoneNumber", validator(max_length = 40))]
    pub phone: Option<String>,
    /// The same as `phoneNumber`, for API clients that write snake_case.
    #[oai(validator(max_length = 40))]
    pub phone_number: Option<String>,
    #[oai(validator(max_length = 254))]
    pub email: Option<String>,
    #[oai(validator(max_length = 200))]
    pub company: Option<String>,
    #[oai(validator(max_length = 5000))]
    pub notes: Option<String>,
    #[oai(validator(max_items = 20))]
    pub tags: Option<Vec<String>>,
    pub custom_fields: Option<BTreeMap<String, String>>,
    pub do_not_call: Option<bool>,
}

/// A text the user left empty is no value.
fn filled(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

impl ContactForm {
    /// The form as a whole: name and number always; email, company and notes set or cleared
    /// (the form leaves out a field the user emptied); tags, custom fields and the do-not-call
    /// flag only when sent, as the form knows nothing of them.
    fn input(self) -> Result<ContactInput, AppError> {
        let phone = filled(self.phone)
            .or(filled(self.phone_number))
            .ok_or_else(|| AppError::validation("phone_number", "a phone number is required"))?;
        Ok(ContactInput {
            name: Some(self.name),
            phone: Some(phone),
            email: Some(filled(self.email)),
            company: Some(filled(self.company)),
            notes: Some(filled(self.notes)),
            tags: self.tags,
            custom_fields: self.custom_fields,
            do_not_call: self.do_not_call,
        })
    }
}

/// Only the fields present change; `null` clears email, company or notes.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct UpdateContact {
    #[oai(validator(max_length = 200))]
    pub name: Option<String>,
    /// Also accepted as `phoneNumber`.
    #[oai(validator(max_length = 40))]
    pub phone_number: Option<String>,
    #[oai(rename = "phoneNumber", validator(max_length = 40))]
    pub phone: Option<String>,
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

/// What the list sorts by (`sortBy`).
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ContactSort {
    Name,
    PhoneNumber,
    CreatedAt,
    UpdatedAt,
    LastInteractionAt,
}

/// A window of contacts as the Contacts screen reads it.
#[derive(Debug, Object)]
pub struct ContactWindow {
    pub contacts: Vec<Contact>,
    pub pagination: Pagination,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ContactListEnvelope {
    pub success: bool,
    pub data: ContactWindow,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ContactEnvelope {
    pub success: bool,
    pub data: Contact,
}

impl ContactEnvelope {
    fn of(c: contacts::Model) -> Json<Self> {
        Json(Self {
            success: true,
            data: Contact::of(c),
        })
    }
}

/// The Contacts screen's counts.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct ContactCounts {
    pub total_contacts: u64,
    /// Added in the last seven days.
    pub recent_contacts: u64,
    pub contacts_with_calls: u64,
    pub auto_created_contacts: u64,
    pub manually_created_contacts: u64,
}

#[derive(Debug, Object)]
pub struct ContactStatsData {
    pub stats: ContactCounts,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ContactStatsEnvelope {
    pub success: bool,
    pub data: ContactStatsData,
}

#[derive(ApiResponse)]
pub enum CreatedContact {
    #[oai(status = 201)]
    Created(Json<ContactEnvelope>),
}

api_errors!(ContactErrors {
    400 => BadRequest: "Malformed path, query or body (`invalid_parameter`, `malformed_json`), or an invalid field (`validation_error`; `details` maps each field to its message).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    404 => NotFound: "No such contact of this user (`contact_not_found`).",
    409 => Conflict: "Another contact has this number (`duplicate_contact`, code `CONFLICT`, `details.existing_id`).",
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
    let q = q.filter(|s| !s.trim().is_empty());
    if let (Some(from), Some(to)) = (created_from, created_to)
        && from >= to
    {
        return Err(AppError::validation(
            "created_from",
            "must be before `created_to`",
        ));
    }
    let sort = match sort.unwrap_or(ContactSort::Name) {
        ContactSort::PhoneNumber => SortBy::PhoneNumber,
        ContactSort::CreatedAt => SortBy::CreatedAt,
        ContactSort::UpdatedAt => SortBy::UpdatedAt,
        ContactSort::Name => SortBy::Name,
        ContactSort::LastInteractionAt => SortBy::LastInteractionAt,
    };
    let descending = match order {
        Some(order) => matches!(order, SortOrder::Desc),
        None => !matches!(sort, SortBy::Name | SortBy::PhoneNumber),
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
    /// The Contacts screen's list: `limit` (default 50, at most 100) contacts from `offset`,
    /// sorted by `sortBy` (name by default, A–Z) in `sortOrder`. `search` matches name, email
    /// and company (any case) and phone numbers however they are written; the other filters
    /// combine with it.
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: Auth,
        #[oai(validator(max_length = 100))] search: Query<Option<String>>,
        #[oai(name = "sortBy")] sort_by: Query<Option<ContactSort>>,
        #[oai(name = "sortOrder")] sort_order: Query<Option<SortOrder>>,
        #[oai(
            default = "default_contact_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<u64>,
        #[oai(default, validator(maximum(value = "10000000")))] offset: Query<u64>,
        #[oai(validator(max_length = 50))] tag: Query<Option<String>>,
        #[oai(name = "hasCalls")] has_calls: Query<Option<bool>>,
        /// `Hot`, `Warm` or `Cold`: the latest scored call's tag.
        #[oai(name = "leadStatus", validator(max_length = 20))]
        lead_status: Query<Option<String>>,
        #[oai(name = "createdFrom")] created_from: Query<Option<DateTime<Utc>>>,
        #[oai(name = "createdTo")] created_to: Query<Option<DateTime<Utc>>>,
    ) -> Result<Json<ContactListEnvelope>, ContactErrors> {
        let me = auth.user(&self.services).await?;
        let filter = contact_filter(
            search.0,
            tag.0,
            has_calls.0,
            lead_status.0,
            created_from.0,
            created_to.0,
            sort_by.0,
            sort_order.0,
        )?;
        let db = &self.services.db;
        let window = Window {
            offset: offset.0,
            limit: limit.0,
        };
        let (rows, total) = service::list(db, me.id, &filter, window).await?;
        let first = links::first_calls(db, &rows).await?;
        let contacts = rows
            .into_iter()
            .map(|c| {
                let f = first.get(&c.id).copied();
                Contact::linked(c, f.as_ref())
            })
            .collect();
        Ok(Json(ContactListEnvelope {
            success: true,
            data: ContactWindow {
                contacts,
                pagination: Pagination::new(total, window.limit, window.offset),
            },
        }))
    }

    /// Create a contact
    ///
    /// The Contacts form's body. The number is normalised to E.164 (a national number is read
    /// in the user's `default_region`). One contact per number and user: a second is 409
    /// `duplicate_contact`; an invalid number or email is 400 naming the field.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        auth: Auth,
        body: Json<ContactForm>,
    ) -> Result<CreatedContact, ContactErrors> {
        let me = auth.user(&self.services).await?;
        let row = service::create(&self.services.db, me.id, body.0.input()?).await?;
        Ok(CreatedContact::Created(ContactEnvelope::of(row)))
    }

    /// Contact counts
    ///
    /// All, added in the last seven days, with calls, auto-created from conversations, and
    /// added by hand or imported.
    #[oai(path = "/stats", method = "get")]
    async fn stats(&self, auth: Auth) -> Result<Json<ContactStatsEnvelope>, ContactErrors> {
        let me = auth.user(&self.services).await?;
        let s = links::stats(&self.services.db, me.id).await?;
        Ok(Json(ContactStatsEnvelope {
            success: true,
            data: ContactStatsData {
                stats: ContactCounts {
                    total_contacts: s.total,
                    recent_contacts: s.recent,
                    contacts_with_calls: s.with_calls,
                    auto_created_contacts: s.auto_created,
                    manually_created_contacts: s.manually_created,
                },
            },
        }))
    }

    /// Upload check
    ///
    /// The upload dialog's "is the backend reachable" probe before it downloads the template;
    /// the body is not read.
    #[oai(path = "/test-upload", method = "post")]
    async fn test_upload(&self, auth: Auth) -> Result<Json<Done>, ContactErrors> {
        auth.user(&self.services).await?;
        Ok(Json(Done::new("Backend is reachable")))
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
    /// An .xlsx with the columns the importer recognises and an example row (also at
    /// `/api/contacts/import-template`).
    #[oai(path = "/template", method = "get")]
    async fn template(&self, auth: Auth) -> Result<FileResponse, ContactErrors> {
        self.import_template(auth).await
    }

    /// Import template (former path)
    ///
    /// The same file as `/api/contacts/template`.
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
    async fn get(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<ContactEnvelope>, ContactErrors> {
        let me = auth.user(&self.services).await?;
        let db = &self.services.db;
        let row = service::get(db, me.owner(), id.0).await?;
        let first = links::first_calls(db, std::slice::from_ref(&row)).await?;
        let first = first.get(&row.id).copied();
        Ok(Json(ContactEnvelope {
            success: true,
            data: Contact::linked(row, first.as_ref()),
        }))
    }

    /// Replace a contact
    ///
    /// The Contacts form's edit: name and number always (the number may change); email,
    /// company and notes left out are cleared. Tags, custom fields and do-not-call change only
    /// when sent. A number already used by another contact is 409 `duplicate_contact`.
    #[oai(path = "/:id", method = "put")]
    async fn replace(
        &self,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<ContactForm>,
    ) -> Result<Json<ContactEnvelope>, ContactErrors> {
        let me = auth.user(&self.services).await?;
        let row = service::update(&self.services.db, me.id, id.0, body.0.input()?).await?;
        Ok(ContactEnvelope::of(row))
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
    ) -> Result<Json<ContactEnvelope>, ContactErrors> {
        let me = auth.user(&self.services).await?;
        let b = body.0;
        let input = ContactInput {
            name: b.name,
            phone: b.phone.or(b.phone_number),
            email: maybe(b.email),
            company: maybe(b.company),
            tags: b.tags,
            notes: maybe(b.notes),
            custom_fields: b.custom_fields,
            do_not_call: b.do_not_call,
        };
        let row = service::update(&self.services.db, me.id, id.0, input).await?;
        Ok(ContactEnvelope::of(row))
    }

    /// Delete a contact
    ///
    /// The contact's calls stay, without a contact. Another user's contact is 404.
    #[oai(path = "/:id", method = "delete")]
    async fn delete(&self, auth: Auth, id: Path<Uuid>) -> Result<Json<Done>, ContactErrors> {
        let me = auth.user(&self.services).await?;
        service::delete(&self.services.db, me.id, id.0).await?;
        Ok(Json(Done::new("Contact deleted")))
    }
}
