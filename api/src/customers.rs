//! The Customers tab and Lead Intelligence's actions: converting a lead, follow-ups and demos.

use chrono::{DateTime, NaiveDate, Utc};
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use shared::{
    Services,
    calls::history::CallRow,
    contacts::{
        customers::{self as service, Conversion, CustomerChange},
        intelligence,
        tasks::{self, Lead},
    },
    entities::{
        calls::{CallStatus, Channel},
        customers::{self as rows, CustomerStatus},
        lead_tasks::{self, TaskKind, TaskStatus},
    },
    platform::{db::Window, ids::UserId},
};
use uuid::Uuid;

use crate::{
    api_errors,
    lead_intelligence::TimelineEntry,
    leads::InteractionType,
    pagination::Pagination,
    security::Auth,
    tags::Tag,
    wire::{Done, Timestamp},
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
    /// The latest conversation with the customer (both spellings: the table reads
    /// `latest_interaction_date`, its type declares `last_interaction_date` too).
    pub latest_interaction_date: Option<Timestamp>,
    pub last_interaction_date: Option<Timestamp>,
    pub interactions_since_conversion: u64,
}

impl Customer {
    /// `rows` as the tab shows them, each with its conversations' activity.
    async fn all_of(
        services: &Services,
        user_id: Uuid,
        rows: Vec<rows::Model>,
    ) -> Result<Vec<Self>, CustomerErrors> {
        let activity = service::activity_of(&services.db, user_id, &rows).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let a = activity.get(&row.id).copied().unwrap_or_default();
                Self::of(row, a)
            })
            .collect())
    }

    async fn one_of(
        services: &Services,
        user_id: Uuid,
        row: rows::Model,
    ) -> Result<Self, CustomerErrors> {
        let mut all = Self::all_of(services, user_id, vec![row]).await?;
        Ok(all.remove(0))
    }

    fn of(c: rows::Model, activity: service::Activity) -> Self {
        let latest = activity.latest.map(Timestamp);
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
            latest_interaction_date: latest,
            last_interaction_date: latest,
            interactions_since_conversion: activity.since_conversion,
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
    pub timeline: Vec<CustomerInteraction>,
}

/// One conversation on the customer's timeline. The tab reads the call's own fields in
/// snake_case (`interaction_date` goes through date-fns' `format`, which throws on a missing
/// date) next to Lead Intelligence's camelCase entry, flattened in.
#[derive(Debug, Object)]
#[oai(example)]
pub struct CustomerInteraction {
    pub interaction_date: Timestamp,
    pub interaction_type: InteractionType,
    pub call_status: CallStatus,
    pub agent_name: Option<String>,
    pub duration_minutes: f64,
    pub lead_status_tag: Option<String>,
    pub total_score: Option<i32>,
    pub cta_pricing_clicked: bool,
    pub cta_demo_clicked: bool,
    pub cta_followup_clicked: bool,
    pub cta_sample_clicked: bool,
    pub cta_escalated_to_human: bool,
    #[oai(flatten)]
    pub entry: TimelineEntry,
}

impl From<CallRow> for CustomerInteraction {
    fn from(row: CallRow) -> Self {
        let c = &row.call;
        let cta = |key: &str| row.lead.as_ref().is_some_and(|l| l.clicked(key));
        Self {
            interaction_date: c.completed_at.unwrap_or(c.created_at).into(),
            interaction_type: match c.channel {
                Channel::Call => InteractionType::Call,
                Channel::Chat => InteractionType::Chat,
            },
            call_status: c.status,
            agent_name: row.agent_name.clone(),
            duration_minutes: f64::from(c.duration_secs) / 60.0,
            lead_status_tag: row.lead.as_ref().map(|l| l.lead_status_tag.clone()),
            total_score: row.lead.as_ref().map(|l| l.total_score),
            cta_pricing_clicked: cta("pricing_clicked"),
            cta_demo_clicked: cta("demo_clicked"),
            cta_followup_clicked: cta("followup_clicked"),
            cta_sample_clicked: cta("sample_clicked"),
            cta_escalated_to_human: cta("escalated_to_human"),
            entry: row.into(),
        }
    }
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
    /// What the row's switch sends when a done follow-up is switched back: pending.
    Scheduled,
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

/// The user's follow-ups, soonest due first.
#[derive(Debug, Object)]
#[oai(example)]
pub struct FollowUpListEnvelope {
    pub success: bool,
    pub data: Vec<LeadTask>,
    pub pagination: Pagination,
}

/// An edit of one follow-up; fields left out stay as they are.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct FollowUpUpdate {
    /// `yyyy-MM-dd`.
    pub follow_up_date: Option<NaiveDate>,
    #[oai(validator(max_length = 5000))]
    pub remark: Option<String>,
    pub status: Option<FollowUpState>,
}

impl From<FollowUpState> for TaskStatus {
    fn from(s: FollowUpState) -> Self {
        match s {
            FollowUpState::Pending | FollowUpState::Scheduled => TaskStatus::Pending,
            FollowUpState::Completed => TaskStatus::Completed,
            FollowUpState::Cancelled => TaskStatus::Cancelled,
        }
    }
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
                customers: Customer::all_of(&self.services, me.id, rows).await?,
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
            data: Customer::one_of(&self.services, me.id, row).await?,
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
                customer: Customer::one_of(&self.services, me.id, row).await?,
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
            data: Customer::one_of(&self.services, me.id, row).await?,
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

    /// List follow-ups
    ///
    /// The user's follow-ups, soonest due first; `completed` keeps done (`true`) or open
    /// (`false`) ones, `leadPhone`/`leadEmail` one lead's.
    #[oai(path = "/api/follow-ups", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn follow_ups(
        &self,
        auth: Auth,
        completed: Query<Option<bool>>,
        #[oai(name = "leadPhone", validator(max_length = 40))] lead_phone: Query<Option<String>>,
        #[oai(name = "leadEmail", validator(max_length = 254))] lead_email: Query<Option<String>>,
        #[oai(
            default = "default_customer_limit",
            validator(minimum(value = "1"), maximum(value = "500"))
        )]
        limit: Query<u64>,
        #[oai(default, validator(maximum(value = "10000000")))] offset: Query<u64>,
    ) -> Result<Json<FollowUpListEnvelope>, CustomerErrors> {
        let me = auth.user(&self.services).await?;
        let filter = tasks::FollowUpFilter {
            completed: completed.0,
            lead: Lead {
                phone: lead_phone.0,
                email: lead_email.0,
                name: None,
            },
        };
        let window = Window {
            offset: offset.0,
            limit: limit.0,
        };
        let (rows, total) = tasks::follow_ups(&self.services.db, me.id, filter, window).await?;
        Ok(Json(FollowUpListEnvelope {
            success: true,
            data: rows.into_iter().map(Into::into).collect(),
            pagination: Pagination::new(total, window.limit, window.offset),
        }))
    }

    /// Edit a follow-up
    ///
    /// Its date, remark or status; another user's follow-up is 404 `follow_up_not_found`.
    #[oai(path = "/api/follow-ups/:id", method = "put")]
    async fn update_follow_up(
        &self,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<FollowUpUpdate>,
    ) -> Result<Json<LeadTaskEnvelope>, CustomerErrors> {
        let me = auth.user(&self.services).await?;
        let b = body.0;
        let change = tasks::FollowUpChange {
            due_at: b.follow_up_date.map(tasks::day),
            remark: b.remark.map(Some),
            status: b.status.map(Into::into),
        };
        let task = tasks::update_follow_up(&self.services.db, me.id, id.0, change).await?;
        Ok(Json(LeadTaskEnvelope {
            success: true,
            data: task.into(),
        }))
    }

    /// Complete a follow-up
    ///
    /// Marks one follow-up done; another user's is 404 `follow_up_not_found`.
    #[oai(path = "/api/follow-ups/:id/complete", method = "patch")]
    async fn complete_follow_up(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<LeadTaskEnvelope>, CustomerErrors> {
        let me = auth.user(&self.services).await?;
        let change = tasks::FollowUpChange {
            status: Some(TaskStatus::Completed),
            ..Default::default()
        };
        let task = tasks::update_follow_up(&self.services.db, me.id, id.0, change).await?;
        Ok(Json(LeadTaskEnvelope {
            success: true,
            data: task.into(),
        }))
    }

    /// Delete a follow-up
    ///
    /// Removes one follow-up for good; another user's is 404 `follow_up_not_found`.
    #[oai(path = "/api/follow-ups/:id", method = "delete")]
    async fn delete_follow_up(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<Done>, CustomerErrors> {
        let me = auth.user(&self.services).await?;
        tasks::delete_follow_up(&self.services.db, me.id, id.0).await?;
        Ok(Json(Done::new("Follow-up deleted")))
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
        let status = b.status.into();
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
