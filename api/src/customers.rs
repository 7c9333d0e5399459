//! The Customers tab and Lead Intelligence's actions: converting a lead, follow-ups and demos.

use chrono::{DateTime, NaiveDate, Utc};
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use shared::{
    Services,
    contacts::{
        customers::{self as service, Conversion, CustomerChange},
        intelligence,
        tasks::{self, Lead},
    },
    entities::{
        customers::{self as rows, CustomerStatus},
        lead_tasks::{self, TaskKind, TaskStatus},
    },
    platform::{db::Window, ids::UserId},
};
use uuid::Uuid;

use crate::{
    api_errors, lead_intelligence::TimelineEntry, pagination::Pagination, security::Auth,
    tags::Tag, wire::Timestamp,
};

/// A customer's status in the tab's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum CustomerState {
    Active,
    Inactive,
    Churned,
    #[oai(rename = "On Hold")]
    OnHold,
}

impl From<CustomerStatus> for CustomerState {
    fn from(s: CustomerStatus) -> Self {
        match s {
            CustomerStatus::Active => Self::Active,
            CustomerStatus::Inactive => Self::Inactive,
            CustomerStatus::Churned => Self::Churned,
            CustomerStatus::OnHold => Self::OnHold,
        }
    }
}

impl From<CustomerState> for CustomerStatus {
    fn from(s: CustomerState) -> Self {
        match s {
            CustomerState::Active => Self::Active,
            CustomerState::Inactive => Self::Inactive,
            CustomerState::Churned => Self::Churned,
            CustomerState::OnHold => Self::OnHold,
        }
    }
}

/// A customer as the Customers tab reads it.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Customer {
    pub id: Uuid,
    pub customer_reference_number: String,
    pub contact_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub status: CustomerState,
    pub conversion_date: Timestamp,
    pub notes: Option<String>,
    pub assigned_sales_rep: Option<String>,
    pub original_lead_source: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<rows::Model> for Customer {
    fn from(c: rows::Model) -> Self {
        Self {
            id: c.id,
            customer_reference_number: c.reference,
            contact_id: c.contact_id,
            name: c.name,
            email: c.email,
            phone: c.phone,
            company: c.company,
            status: c.status.into(),
            conversion_date: Timestamp(c.converted_at),
            notes: c.notes,
            assigned_sales_rep: c.assigned_sales_rep,
            original_lead_source: c.original_lead_source,
            created_at: Timestamp(c.created_at),
            updated_at: Timestamp(c.updated_at),
        }
    }
}

#[derive(Debug, Object)]
pub struct CustomerList {
    pub customers: Vec<Customer>,
    pub pagination: Pagination,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct CustomerListEnvelope {
    pub success: bool,
    pub data: CustomerList,
}

#[derive(Debug, Object)]
pub struct CustomerDetail {
    pub customer: Customer,
    /// The customer's conversations, newest first.
    pub timeline: Vec<TimelineEntry>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct CustomerDetailEnvelope {
    pub success: bool,
    pub data: CustomerDetail,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct CustomerEnvelope {
    pub success: bool,
    pub data: Customer,
}

/// What the conversion modal sends.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct ConvertRequest {
    /// The Lead Intelligence group id (`phone_…`, `email_…`, `individual_…`) or a contact id.
    #[oai(validator(max_length = 300))]
    pub contact_id: String,
    #[oai(validator(max_length = 200))]
    pub name: Option<String>,
    #[oai(validator(max_length = 254))]
    pub email: Option<String>,
    #[oai(validator(max_length = 40))]
    pub phone: Option<String>,
    #[oai(validator(max_length = 200))]
    pub company: Option<String>,
    pub status: Option<CustomerState>,
    #[oai(validator(max_length = 200))]
    pub original_lead_source: Option<String>,
    #[oai(validator(max_length = 200))]
    pub assigned_sales_rep: Option<String>,
    #[oai(validator(max_length = 5000))]
    pub notes: Option<String>,
}

/// An edit from the tab: its status switch or its notes.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct CustomerUpdate {
    pub status: Option<CustomerState>,
    #[oai(validator(max_length = 5000))]
    pub notes: Option<String>,
    #[oai(validator(max_length = 200))]
    pub assigned_sales_rep: Option<String>,
}

#[derive(ApiResponse)]
pub enum Converted {
    #[oai(status = 201)]
    Created(Json<CustomerEnvelope>),
}

/// A follow-up or demo on a lead.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct LeadTask {
    pub id: Uuid,
    pub kind: TaskKind,
    pub due_at: Timestamp,
    pub remark: Option<String>,
    pub status: TaskStatus,
    pub lead_name: Option<String>,
    pub lead_phone: Option<String>,
    pub lead_email: Option<String>,
    pub contact_id: Option<Uuid>,
    pub created_at: Timestamp,
}

impl From<lead_tasks::Model> for LeadTask {
    fn from(t: lead_tasks::Model) -> Self {
        Self {
            id: t.id,
            kind: t.kind,
            due_at: Timestamp(t.due_at),
            remark: t.remark,
            status: t.status,
            lead_name: t.lead_name,
            lead_phone: t.lead_phone,
            lead_email: t.lead_email,
            contact_id: t.contact_id,
            created_at: Timestamp(t.created_at),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct LeadTaskEnvelope {
    pub success: bool,
    pub data: LeadTask,
}

#[derive(ApiResponse)]
pub enum TaskCreated {
    #[oai(status = 201)]
    Created(Json<LeadTaskEnvelope>),
}

/// What Lead Intelligence's follow-up dialog sends.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct FollowUpRequest {
    #[oai(validator(max_length = 40))]
    pub lead_phone: Option<String>,
    #[oai(validator(max_length = 254))]
    pub lead_email: Option<String>,
    #[oai(validator(max_length = 200))]
    pub lead_name: Option<String>,
    /// `yyyy-MM-dd`.
    pub follow_up_date: NaiveDate,
    #[oai(validator(max_length = 5000))]
    pub remark: Option<String>,
}

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum FollowUpState {
    Pending,
    Completed,
    Cancelled,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct FollowUpStatusRequest {
    #[oai(validator(max_length = 40))]
    pub lead_phone: Option<String>,
    #[oai(validator(max_length = 254))]
    pub lead_email: Option<String>,
    pub status: FollowUpState,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct FollowUpsChanged {
    pub success: bool,
    pub message: String,
    pub updated: u64,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct DemoRequest {
    /// The Lead Intelligence group id of the lead.
    #[oai(validator(max_length = 300))]
    pub contact_id: Option<String>,
    pub demo_date: DateTime<Utc>,
    #[oai(validator(max_length = 40))]
    pub lead_phone: Option<String>,
    #[oai(validator(max_length = 254))]
    pub lead_email: Option<String>,
}

api_errors!(CustomerErrors {
    400 => BadRequest: "Malformed path, query or body (`invalid_parameter`, `malformed_json`), or an invalid field (`validation_error`).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    404 => NotFound: "No such customer, lead, contact or follow-up of this user (`customer_not_found`, `lead_not_found`, `contact_not_found`, `follow_up_not_found`).",
    409 => Conflict: "The lead is a customer already (`already_customer`, `details.customer_id`), or its number is another contact's (`duplicate_contact`).",
});

fn default_customer_limit() -> u64 {
    100
}

pub struct CustomerApi {
    pub services: Services,
}

#[OpenApi(tag = "Tag::Leads")]
impl CustomerApi {
    /// List customers
    ///
    /// The user's customers, newest conversions first; `status` keeps one status.
    #[oai(path = "/api/customers", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        status: Query<Option<CustomerState>>,
        #[oai(
            default = "default_customer_limit",
            validator(minimum(value = "1"), maximum(value = "500"))
        )]
        limit: Query<u64>,
        #[oai(default, validator(maximum(value = "10000000")))] offset: Query<u64>,
    ) -> Result<Json<CustomerListEnvelope>, CustomerErrors> {
        let me = auth.user(&self.services).await?;
        let window = Window {
            offset: offset.0,
            limit: limit.0,
        };
        let (rows, total) =
            service::list(&self.services.db, me.id, status.0.map(Into::into), window).await?;
        Ok(Json(CustomerListEnvelope {
            success: true,
            data: CustomerList {
                customers: rows.into_iter().map(Into::into).collect(),
                pagination: Pagination::new(total, window.limit, window.offset),
            },
        }))
    }

    /// Convert a lead to a customer
    ///
    /// What Lead Intelligence's conversion modal sends; `contactId` is the lead's group id. A
    /// caller the account has no contact for gets one from `phone`. Converting a lead twice is
    /// 409 `already_customer`.
    #[oai(path = "/api/customers/convert", method = "post")]
    async fn convert(
        &self,
        auth: Auth,
        body: Json<ConvertRequest>,
    ) -> Result<Converted, CustomerErrors> {
        let me = auth.user(&self.services).await?;
        let b = body.0;
        let row = service::convert(
            &self.services.db,
            me.id,
            Conversion {
                lead: b.contact_id,
                name: b.name,
                email: b.email,
                phone: b.phone,
                company: b.company,
                status: b.status.map(Into::into),
                original_lead_source: b.original_lead_source,
                assigned_sales_rep: b.assigned_sales_rep,
                notes: b.notes,
            },
        )
        .await?;
        Ok(Converted::Created(Json(CustomerEnvelope {
            success: true,
            data: row.into(),
        })))
    }

    /// One customer with its conversations
    ///
    /// The customer and its conversations, newest first (the tab's timeline). Another user's
    /// customer is 404 `customer_not_found`.
    #[oai(path = "/api/customers/:id", method = "get")]
    async fn get(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<CustomerDetailEnvelope>, CustomerErrors> {
        let me = auth.user(&self.services).await?;
        let db = &self.services.db;
        let row = service::get(db, me.owner(), id.0).await?;
        let timeline = intelligence::conversations_of(db, me.owner(), row.contact_id).await?;
        Ok(Json(CustomerDetailEnvelope {
            success: true,
            data: CustomerDetail {
                customer: row.into(),
                timeline: timeline.into_iter().map(Into::into).collect(),
            },
        }))
    }

    /// Update a customer
    ///
    /// The tab's status switch and notes; fields left out stay as they are.
    #[oai(path = "/api/customers/:id", method = "put")]
    async fn update(
        &self,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<CustomerUpdate>,
    ) -> Result<Json<CustomerEnvelope>, CustomerErrors> {
        let me = auth.user(&self.services).await?;
        let b = body.0;
        let row = service::update(
            &self.services.db,
            me.owner(),
            id.0,
            CustomerChange {
                status: b.status.map(Into::into),
                notes: b.notes.map(Some),
                assigned_sales_rep: b.assigned_sales_rep.map(Some),
            },
        )
        .await?;
        Ok(Json(CustomerEnvelope {
            success: true,
            data: row.into(),
        }))
    }

    /// Schedule a follow-up
    ///
    /// Lead Intelligence's follow-up dialog: a date (`yyyy-MM-dd`) and a remark on the lead
    /// named by its number or e-mail.
    #[oai(path = "/api/follow-ups", method = "post")]
    async fn follow_up(
        &self,
        auth: Auth,
        body: Json<FollowUpRequest>,
    ) -> Result<TaskCreated, CustomerErrors> {
        let me = auth.user(&self.services).await?;
        let b = body.0;
        let task = tasks::schedule(
            &self.services.db,
            me.id,
            TaskKind::FollowUp,
            Lead {
                phone: b.lead_phone,
                email: b.lead_email,
                name: b.lead_name,
            },
            tasks::day(b.follow_up_date),
            b.remark,
        )
        .await?;
        Ok(TaskCreated::Created(Json(LeadTaskEnvelope {
            success: true,
            data: task.into(),
        })))
    }

    /// Mark a lead's follow-ups
    ///
    /// The Done/Pending switch on a lead's row: every follow-up of the lead takes `status`.
    #[oai(path = "/api/follow-ups/status", method = "patch")]
    async fn follow_up_status(
        &self,
        auth: Auth,
        body: Json<FollowUpStatusRequest>,
    ) -> Result<Json<FollowUpsChanged>, CustomerErrors> {
        let me = auth.user(&self.services).await?;
        let b = body.0;
        let status = match b.status {
            FollowUpState::Pending => TaskStatus::Pending,
            FollowUpState::Completed => TaskStatus::Completed,
            FollowUpState::Cancelled => TaskStatus::Cancelled,
        };
        let updated = tasks::set_follow_up_status(
            &self.services.db,
            me.id,
            Lead {
                phone: b.lead_phone,
                email: b.lead_email,
                name: None,
            },
            status,
        )
        .await?;
        Ok(Json(FollowUpsChanged {
            success: true,
            message: format!("{updated} follow-ups updated"),
            updated,
        }))
    }

    /// Schedule a demo
    ///
    /// Lead Intelligence's demo action on the lead named by its group id, number or e-mail.
    #[oai(path = "/api/demos/schedule", method = "post")]
    async fn demo(
        &self,
        auth: Auth,
        body: Json<DemoRequest>,
    ) -> Result<TaskCreated, CustomerErrors> {
        let me = auth.user(&self.services).await?;
        let b = body.0;
        let db = &self.services.db;
        // The group's contact fills in what the body leaves out.
        let contact = match b.contact_id.as_deref() {
            Some(id) => match intelligence::GroupKey::parse(id) {
                Ok(key) => intelligence::contact_of_group(db, UserId(me.id), &key).await?,
                Err(_) => None,
            },
            None => None,
        };
        let task = tasks::schedule(
            db,
            me.id,
            TaskKind::Demo,
            Lead {
                phone: b
                    .lead_phone
                    .or_else(|| contact.as_ref().map(|c| c.phone_e164.clone())),
                email: b
                    .lead_email
                    .or_else(|| contact.as_ref().and_then(|c| c.email.clone())),
                name: contact.map(|c| c.name),
            },
            b.demo_date,
            None,
        )
        .await?;
        Ok(TaskCreated::Created(Json(LeadTaskEnvelope {
            success: true,
            data: task.into(),
        })))
    }
}
