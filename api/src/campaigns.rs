//! The Campaigns tab: campaigns made from selected contacts or an uploaded file, their buttons
//! (start, pause, resume, cancel, delete), progress and analytics, and the Create Campaign
//! dialog's credit estimate. The frontend calls these with relative URLs and reads the bodies
//! as they are (`campaigns`, `total`; `campaignId`, `totalRows`, … for an upload).

use chrono::NaiveDate;
use poem_openapi::{
    ApiResponse, Multipart, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::multipart::Upload,
};
use shared::{
    Services,
    campaigns::{
        self as service, Action, NewCampaign,
        estimate::{self, Confidence, Estimate},
        progress::{self, CallTotals, Progress},
    },
    entities::campaigns::{self as rows, CampaignStatus, PauseReason},
    platform::db::Window,
};
use uuid::Uuid;

use crate::{api_errors, pagination::Pagination, security::Auth, tags::Tag, wire::Timestamp};

/// A campaign as the list and its details dialog read it.
#[derive(Debug, Object)]
#[oai(example)]
pub struct Campaign {
    pub id: Uuid,
    pub name: String,
    pub agent_id: Uuid,
    pub status: CampaignStatus,
    /// Why a paused campaign is paused (`by_user`, `low_credits`).
    #[oai(nullable)]
    pub pause_reason: Option<PauseReason>,
    /// 1-10, higher first when campaigns share the account's slots.
    pub priority: i32,
    pub max_concurrent_calls: i32,
    /// Numbers the campaign calls (those on the do-not-call list are not among them).
    pub total_contacts: u64,
    /// Numbers dialled to an end (connected, or out of attempts).
    pub completed_calls: u64,
    /// Numbers whose call connected.
    pub successful_calls: u64,
    /// Numbers that never connected in all their attempts (busy, no answer, failed).
    pub failed_calls: u64,
    /// Numbers still to dial: due now, or waiting for their window or a retry.
    pub pending_calls: u64,
    pub waiting_for_window: u64,
    pub in_progress: u64,
    /// Numbers kept but never dialled: the contact opted out or the number is on the list.
    pub do_not_call: u64,
    /// The daily window, `HH:MM`, in each recipient's local time.
    pub first_call_time: String,
    pub last_call_time: String,
    pub start_date: NaiveDate,
    #[oai(nullable)]
    pub end_date: Option<NaiveDate>,
    /// The zone used for numbers whose own zone is unknown (the account's).
    pub timezone: String,
    pub next_action: String,
    pub max_attempts: i32,
    pub retry_delay_secs: i32,
    pub created_at: Timestamp,
    #[oai(nullable)]
    pub started_at: Option<Timestamp>,
    #[oai(nullable)]
    pub completed_at: Option<Timestamp>,
}

impl Campaign {
    fn of(c: rows::Model, p: Progress) -> Self {
        let dialled = p.completed + p.unsuccessful();
        Self {
            id: c.id,
            name: c.name,
            agent_id: c.agent_id,
            status: c.status,
            pause_reason: c.pause_reason,
            priority: c.priority,
            max_concurrent_calls: c.max_concurrent_calls,
            total_contacts: p.total - p.do_not_call,
            completed_calls: dialled,
            successful_calls: p.completed,
            failed_calls: p.unsuccessful(),
            pending_calls: p.pending(),
            waiting_for_window: p.waiting,
            in_progress: p.dialing,
            do_not_call: p.do_not_call,
            first_call_time: c.first_call_time,
            last_call_time: c.last_call_time,
            start_date: c.start_date,
            end_date: c.end_date,
            timezone: c.timezone,
            next_action: c.next_action,
            max_attempts: c.max_attempts,
            retry_delay_secs: c.retry_delay_secs,
            created_at: Timestamp(c.created_at),
            started_at: c.started_at.map(Timestamp),
            completed_at: c.completed_at.map(Timestamp),
        }
    }

    async fn all_of(
        db: &sea_orm::DatabaseConnection,
        rows: Vec<rows::Model>,
    ) -> shared::AppResult<Vec<Self>> {
        let ids: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
        let mut progress = progress::of(db, &ids).await?;
        Ok(rows
            .into_iter()
            .map(|c| {
                let p = progress.remove(&c.id).unwrap_or_default();
                Self::of(c, p)
            })
            .collect())
    }

    async fn one_of(db: &sea_orm::DatabaseConnection, row: rows::Model) -> shared::AppResult<Self> {
        let mut all = Self::all_of(db, vec![row]).await?;
        Ok(all.remove(0))
    }
}

/// The account's campaigns, newest first.
#[derive(Debug, Object)]
#[oai(example)]
pub struct CampaignListEnvelope {
    pub success: bool,
    pub campaigns: Vec<Campaign>,
    /// Campaigns across all pages (with the filter).
    pub total: u64,
    pub pagination: Pagination,
}

/// What the Create Campaign dialog sends for selected contacts.
#[derive(Debug, Object)]
#[oai(example)]
pub struct NewCampaignRequest {
    #[oai(validator(max_length = 200))]
    pub name: String,
    /// An active call agent of the account's.
    pub agent_id: Uuid,
    /// 1 up to the account's concurrent-call limit.
    pub max_concurrent_calls: i32,
    /// The account's contacts to call (1-10,000); a number given twice is called once.
    #[oai(validator(max_items = 10000))]
    pub contact_ids: Vec<Uuid>,
    /// `HH:MM`, the recipient's local time.
    #[oai(validator(max_length = 8))]
    pub first_call_time: String,
    #[oai(validator(max_length = 8))]
    pub last_call_time: String,
    /// `yyyy-MM-dd`.
    pub start_date: NaiveDate,
    /// The last day with calls (inclusive).
    pub end_date: Option<NaiveDate>,
    /// `call`, `message` or `email` (default `call`).
    #[oai(validator(max_length = 16))]
    pub next_action: Option<String>,
    /// 1-10 (default 5).
    pub priority: Option<i32>,
    /// Dials per number, 1-10 (default 3): busy, unanswered and failed calls are retried.
    pub max_attempts: Option<i32>,
    /// Seconds between a number's attempts, 60 to 7 days (default 3,600).
    pub retry_delay_secs: Option<i32>,
}

/// A campaign made, and what became of its numbers.
#[derive(Debug, Object)]
#[oai(example)]
pub struct CampaignCreated {
    pub success: bool,
    pub message: String,
    pub campaign: Campaign,
    /// Numbers it will call.
    pub queued: u64,
    /// Numbers it keeps but will not call.
    pub do_not_call: u64,
    /// Numbers given more than once.
    pub duplicates: u64,
}

#[derive(ApiResponse)]
pub enum Created {
    #[oai(status = 201)]
    Created(Json<CampaignCreated>),
}

/// The Create Campaign dialog's upload: the contact file and the same fields as text.
#[derive(Debug, Multipart)]
pub struct CampaignUpload {
    /// .csv, .xlsx, .xls or .ods with a phone column (the contact importer's rules: the header
    /// within the first 10 rows, numbers read in the account's region, a lost leading `+`
    /// recovered). At most 10,000 rows.
    pub csv: Upload,
    pub name: String,
    pub agent_id: String,
    pub max_concurrent_calls: String,
    pub first_call_time: String,
    pub last_call_time: String,
    /// `yyyy-MM-dd`.
    pub start_date: String,
    pub end_date: Option<String>,
    pub next_action: Option<String>,
    pub priority: Option<String>,
    pub max_attempts: Option<String>,
    pub retry_delay_secs: Option<String>,
}

impl CampaignUpload {
    /// The campaign's fields, read from their text.
    fn fields(&self) -> shared::AppResult<NewCampaign> {
        use shared::AppError;
        let number = |field: &'static str, raw: Option<&str>| {
            raw.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<i32>()
                        .map_err(|_| AppError::validation(field, "a whole number"))
                })
                .transpose()
        };
        let date = |field: &'static str, raw: &str| {
            raw.trim()
                .parse::<NaiveDate>()
                .map_err(|_| AppError::validation(field, "a date as yyyy-MM-dd"))
        };
        Ok(NewCampaign {
            name: self.name.clone(),
            agent_id: self
                .agent_id
                .trim()
                .parse()
                .map_err(|_| AppError::validation("agent_id", "an agent id"))?,
            max_concurrent_calls: number(
                "max_concurrent_calls",
                Some(self.max_concurrent_calls.as_str()),
            )?
            .unwrap_or(1),
            first_call_time: self.first_call_time.clone(),
            last_call_time: self.last_call_time.clone(),
            start_date: date("start_date", &self.start_date)?,
            end_date: self
                .end_date
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(|s| date("end_date", s))
                .transpose()?,
            next_action: self.next_action.clone().unwrap_or_else(|| "call".into()),
            priority: number("priority", self.priority.as_deref())?,
            max_attempts: number("max_attempts", self.max_attempts.as_deref())?,
            retry_delay_secs: number("retry_delay_secs", self.retry_delay_secs.as_deref())?,
        })
    }
}

/// A row of the file that is not in the campaign, or whose contact existed already.
#[derive(Debug, Object)]
#[oai(example)]
pub struct CampaignSkippedRow {
    /// The row number as the spreadsheet shows it.
    pub row: u64,
    /// The phone cell as it was.
    pub phone: String,
    pub reason: String,
}

/// What the dialog shows after an upload.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct UploadedCampaign {
    pub success: bool,
    pub campaign_id: Uuid,
    /// Rows with data in the file.
    pub total_rows: u64,
    /// New contacts made from the file (the rest existed and are called as they are).
    pub contacts_created: u64,
    /// Rows whose number is an existing contact's, or repeats an earlier row.
    pub contacts_skipped: u64,
    /// Rows without a usable phone number (not in the campaign).
    pub invalid_rows: u64,
    /// Numbers in the campaign.
    pub campaign_contacts: u64,
    /// The skipped and invalid rows (the first 1,000).
    pub skipped_contacts: Vec<CampaignSkippedRow>,
}

#[derive(ApiResponse)]
pub enum Uploaded {
    #[oai(status = 201)]
    Created(Json<UploadedCampaign>),
}

/// A campaign after one of its buttons.
#[derive(Debug, Object)]
#[oai(example)]
pub struct CampaignEnvelope {
    pub success: bool,
    pub message: String,
    pub campaign: Campaign,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct CampaignDeleted {
    pub success: bool,
    pub message: String,
}

/// A lead tag and how many of the campaign's calls got it.
#[derive(Debug, Object)]
#[oai(example)]
pub struct CampaignTagCount {
    pub tag: String,
    pub count: u64,
}

/// A campaign's figures: the details dialog reads `average_duration`, `pending_calls` and
/// `in_progress`.
#[derive(Debug, Object)]
#[oai(example)]
pub struct CampaignAnalytics {
    pub success: bool,
    pub campaign_id: Uuid,
    pub status: CampaignStatus,
    /// Of a connected call, as people say it (`2 min 5 sec`); none before the first.
    #[oai(nullable)]
    pub average_duration: Option<String>,
    pub average_duration_secs: u64,
    /// Numbers still to dial (due now or later).
    pub pending_calls: u64,
    /// Of those, numbers waiting for their window or a retry's delay.
    pub waiting_for_window: u64,
    /// Numbers with a call in flight.
    pub in_progress: u64,
    /// Numbers dialled to an end, and numbers left.
    pub contacts_called: u64,
    pub remaining: u64,
    pub connected: u64,
    pub busy: u64,
    pub no_answer: u64,
    pub failed: u64,
    pub do_not_call: u64,
    /// Numbers a cancelled or ended campaign never reached.
    pub not_called: u64,
    /// Dials made, retries included.
    pub attempts: u64,
    /// Connected calls the agent judged successful.
    pub successful_calls: u64,
    /// Connected numbers out of those dialled to an end, in percent.
    pub success_rate: f64,
    pub total_minutes: f64,
    pub credits_used: i64,
    pub lead_tags: Vec<CampaignTagCount>,
}

/// What the credit estimator sends.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct CreditCheckRequest {
    /// Numbers the campaign will call (1-10,000).
    pub contact_count: u64,
    /// Accepted and ignored: the check never reserves credits.
    pub estimate_only: Option<bool>,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct CreditEstimate {
    pub contact_count: u64,
    /// A credit per number: the cost if every call is short.
    pub minimum_credits_needed: i64,
    pub average_credits_per_call: f64,
    pub estimated_total_credits: i64,
    pub user_current_credits: i64,
    pub can_afford: bool,
    pub shortfall: i64,
    /// Whether the average comes from the account's own calls (at least 5 in 90 days).
    pub has_historical_data: bool,
    #[oai(nullable)]
    pub warning: Option<String>,
    #[oai(nullable)]
    pub recommendation: Option<String>,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct CreditFormatted {
    pub estimated_range: String,
    pub average_per_call: String,
    /// `High`, `Medium` or `Low`.
    pub confidence_level: String,
    pub recommendation: String,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct CreditAffordability {
    pub can_afford: bool,
    pub shortfall: i64,
    pub remaining_after: i64,
    /// Any positive balance may start a campaign: it pauses itself when the credits run out.
    pub can_proceed: bool,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct CampaignCreditWarnings {
    /// `none`, `info`, `warning` or `error`.
    #[oai(rename = "type")]
    pub kind: String,
    pub message: String,
    pub show_warning: bool,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct CreditRecommendations {
    /// Credits to buy so the estimate is covered (rounded up to ten).
    pub suggested_top_up: i64,
}

/// The credit estimator's answer.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct CreditCheck {
    pub success: bool,
    pub current_credits: i64,
    pub estimate: CreditEstimate,
    pub formatted: CreditFormatted,
    pub affordability: CreditAffordability,
    pub warnings: CampaignCreditWarnings,
    pub recommendations: CreditRecommendations,
    pub timestamp: Timestamp,
}

impl From<Estimate> for CreditCheck {
    fn from(e: Estimate) -> Self {
        let (kind, message) = if !e.can_proceed() {
            (
                "error",
                "Your balance is empty: buy credits before starting a campaign.".to_string(),
            )
        } else if !e.can_afford() {
            (
                "warning",
                format!(
                    "Your {} credits cover about {} of {} calls; the campaign pauses when they run out.",
                    e.balance,
                    (e.balance as f64 / e.average_per_call).floor() as i64,
                    e.contacts
                ),
            )
        } else if !e.has_history() {
            (
                "info",
                "Estimated from a typical call length: your own calls will make it more precise."
                    .to_string(),
            )
        } else {
            ("none", String::new())
        };
        let recommendation = if e.can_afford() {
            "Your balance covers the estimate.".to_string()
        } else {
            format!(
                "Buy {} credits to cover the estimate.",
                e.suggested_top_up()
            )
        };
        let confidence = match e.confidence {
            Confidence::High => "High",
            Confidence::Medium => "Medium",
            Confidence::Low => "Low",
        };
        CreditCheck {
            success: true,
            current_credits: e.balance,
            estimate: CreditEstimate {
                contact_count: e.contacts,
                minimum_credits_needed: e.minimum,
                average_credits_per_call: (e.average_per_call * 100.0).round() / 100.0,
                estimated_total_credits: e.estimated_total,
                user_current_credits: e.balance,
                can_afford: e.can_afford(),
                shortfall: e.shortfall(),
                has_historical_data: e.has_history(),
                warning: (kind != "none").then(|| message.clone()),
                recommendation: Some(recommendation.clone()),
            },
            formatted: CreditFormatted {
                estimated_range: format!("{}-{} credits", e.minimum, e.estimated_total),
                average_per_call: format!("{:.1} credits", e.average_per_call),
                confidence_level: confidence.into(),
                recommendation,
            },
            affordability: CreditAffordability {
                can_afford: e.can_afford(),
                shortfall: e.shortfall(),
                remaining_after: e.remaining_after(),
                can_proceed: e.can_proceed(),
            },
            warnings: CampaignCreditWarnings {
                kind: kind.into(),
                show_warning: kind != "none",
                message,
            },
            recommendations: CreditRecommendations {
                suggested_top_up: e.suggested_top_up(),
            },
            timestamp: Timestamp::now(),
        }
    }
}

api_errors!(CampaignErrors {
    400 => BadRequest: "Malformed path, query or body (`invalid_parameter`, `malformed_json`), or an invalid field (`validation_error`, `details.<field>`).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    402 => PaymentRequired: "Starting or resuming with an empty balance (`insufficient_credits`).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    404 => NotFound: "No such campaign, agent or contact of this user (`campaign_not_found`, `agent_not_found`, `contact_not_found`).",
    409 => Conflict: "The button does not apply to the campaign's status (`campaign_state`), a running campaign cannot be deleted (`campaign_running`), or the agent cannot call (`agent_not_callable`, `agent_inactive`).",
    413 => PayloadTooLarge: "The upload is over the size limit (`payload_too_large`).",
    422 => Unprocessable: "The file cannot be read or has no usable rows (`unsupported_file`, `empty_file`, `too_many_rows`, `no_phone_column`, …).",
});

fn default_limit() -> u64 {
    100
}

pub struct CampaignApi {
    pub services: Services,
}

impl CampaignApi {
    async fn act(
        &self,
        auth: Auth,
        id: Uuid,
        action: Action,
    ) -> Result<Json<CampaignEnvelope>, CampaignErrors> {
        let me = auth.user(&self.services).await?;
        let row = service::act(&self.services, &me, id, action).await?;
        let message = format!("Campaign {}", row.status);
        Ok(Json(CampaignEnvelope {
            success: true,
            message,
            campaign: Campaign::one_of(&self.services.db, row).await?,
        }))
    }
}

#[OpenApi(tag = "Tag::Campaigns")]
impl CampaignApi {
    /// List campaigns
    ///
    /// The account's campaigns, newest first, each with its progress; `status` keeps one
    /// status (the tab's filter buttons).
    #[oai(path = "/api/campaigns", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        status: Query<Option<CampaignStatus>>,
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "500"))
        )]
        limit: Query<u64>,
        #[oai(default, validator(maximum(value = "10000000")))] offset: Query<u64>,
    ) -> Result<Json<CampaignListEnvelope>, CampaignErrors> {
        let me = auth.user(&self.services).await?;
        let db = &self.services.db;
        let window = Window {
            offset: offset.0,
            limit: limit.0,
        };
        let (rows, total) = service::list(db, &me, status.0, window).await?;
        Ok(Json(CampaignListEnvelope {
            success: true,
            campaigns: Campaign::all_of(db, rows).await?,
            total,
            pagination: Pagination::new(total, window.limit, window.offset),
        }))
    }

    /// Create a campaign from contacts
    ///
    /// A `pending` campaign calling the selected contacts with an active call agent, inside
    /// the daily window in each recipient's local time. Contacts marked do-not-call, and
    /// numbers on the account's do-not-call list, are kept but never dialled. Another user's
    /// contact is 404 and creates nothing.
    #[oai(path = "/api/campaigns", method = "post")]
    async fn create(
        &self,
        auth: Auth,
        body: Json<NewCampaignRequest>,
    ) -> Result<Created, CampaignErrors> {
        let me = auth.user(&self.services).await?;
        let b = body.0;
        let new = NewCampaign {
            name: b.name,
            agent_id: b.agent_id,
            max_concurrent_calls: b.max_concurrent_calls,
            first_call_time: b.first_call_time,
            last_call_time: b.last_call_time,
            start_date: b.start_date,
            end_date: b.end_date,
            next_action: b.next_action.unwrap_or_else(|| "call".into()),
            priority: b.priority,
            max_attempts: b.max_attempts,
            retry_delay_secs: b.retry_delay_secs,
        };
        let (row, targeted) =
            service::create_from_contacts(&self.services, &me, new, &b.contact_ids).await?;
        Ok(Created::Created(Json(CampaignCreated {
            success: true,
            message: "Campaign created".into(),
            campaign: Campaign::one_of(&self.services.db, row).await?,
            queued: targeted.queued,
            do_not_call: targeted.do_not_call,
            duplicates: targeted.duplicates,
        })))
    }

    /// Create a campaign from a file
    ///
    /// The Create Campaign dialog's upload: a contact file (the contact importer's formats
    /// and rules; at most 10,000 rows) and the campaign's fields as text. New numbers become
    /// contacts; numbers of existing contacts are called as those contacts. Everything
    /// happens in one transaction: a bad field or an unreadable file changes nothing.
    #[oai(path = "/api/campaigns/upload-csv", method = "post")]
    async fn upload(&self, auth: Auth, form: CampaignUpload) -> Result<Uploaded, CampaignErrors> {
        let me = auth.user(&self.services).await?;
        let new = form.fields()?;
        let filename = form.csv.file_name().unwrap_or("contacts.csv").to_string();
        let bytes = form
            .csv
            .into_vec()
            .await
            .map_err(|e| shared::AppError::bad_request("unreadable_body", e.to_string()))?;
        let (row, targeted, read) =
            service::create_from_file(&self.services, &me, new, &filename, bytes).await?;
        Ok(Uploaded::Created(Json(UploadedCampaign {
            success: true,
            campaign_id: row.id,
            total_rows: read.total_rows as u64,
            contacts_created: read.created as u64,
            contacts_skipped: read.duplicates as u64,
            invalid_rows: read.invalid as u64,
            campaign_contacts: targeted.queued + targeted.do_not_call,
            skipped_contacts: read
                .skipped
                .into_iter()
                .map(|s| CampaignSkippedRow {
                    row: s.row as u64,
                    phone: s.phone,
                    reason: s.reason,
                })
                .collect(),
        })))
    }

    /// Start a campaign
    ///
    /// `pending` → `active`: the dialer starts on the numbers whose window is open. An empty
    /// balance is 402 `insufficient_credits`.
    #[oai(path = "/api/campaigns/:id/start", method = "post")]
    async fn start(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<CampaignEnvelope>, CampaignErrors> {
        self.act(auth, id.0, Action::Start).await
    }

    /// Pause a campaign
    ///
    /// `active` → `paused`: no new dials from now on; calls in flight finish and are counted.
    #[oai(path = "/api/campaigns/:id/pause", method = "post")]
    async fn pause(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<CampaignEnvelope>, CampaignErrors> {
        self.act(auth, id.0, Action::Pause).await
    }

    /// Resume a campaign
    ///
    /// `paused` → `active` (also after the campaign paused itself on low credits, once the
    /// balance is positive again).
    #[oai(path = "/api/campaigns/:id/resume", method = "post")]
    async fn resume(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<CampaignEnvelope>, CampaignErrors> {
        self.act(auth, id.0, Action::Resume).await
    }

    /// Cancel a campaign
    ///
    /// Any unfinished campaign → `cancelled`: numbers not yet dialled end as not called;
    /// calls in flight finish and are counted.
    #[oai(path = "/api/campaigns/:id/cancel", method = "post")]
    async fn cancel(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<CampaignEnvelope>, CampaignErrors> {
        self.act(auth, id.0, Action::Cancel).await
    }

    /// Delete a campaign
    ///
    /// A campaign that is not running (pending, completed or cancelled) and its numbers; its
    /// calls stay in the call logs. An active or paused one is 409 `campaign_running`.
    #[oai(path = "/api/campaigns/:id", method = "delete")]
    async fn delete(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<CampaignDeleted>, CampaignErrors> {
        let me = auth.user(&self.services).await?;
        service::delete(&self.services, &me, id.0).await?;
        Ok(Json(CampaignDeleted {
            success: true,
            message: "Campaign deleted".into(),
        }))
    }

    /// Campaign analytics
    ///
    /// Numbers called and remaining, outcomes, success rate, minutes, credits and lead tags
    /// of one campaign's calls.
    #[oai(path = "/api/campaigns/:id/analytics", method = "get")]
    async fn analytics(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<CampaignAnalytics>, CampaignErrors> {
        let me = auth.user(&self.services).await?;
        let db = &self.services.db;
        let campaign = service::get(db, &me, id.0).await?;
        let p = progress::of(db, &[campaign.id])
            .await?
            .remove(&campaign.id)
            .unwrap_or_default();
        let calls: CallTotals = progress::calls_of(db, campaign.id).await?;
        let dialled = p.completed + p.unsuccessful();
        let average =
            (calls.connected > 0).then(|| (calls.duration_secs.max(0) as u64) / calls.connected);
        Ok(Json(CampaignAnalytics {
            success: true,
            campaign_id: campaign.id,
            status: campaign.status,
            average_duration: average
                .map(|s| shared::calls::presentation::spoken_duration(s as i32)),
            average_duration_secs: average.unwrap_or(0),
            pending_calls: p.pending(),
            waiting_for_window: p.waiting,
            in_progress: p.dialing,
            contacts_called: dialled,
            remaining: p.pending() + p.dialing,
            connected: p.completed,
            busy: p.busy,
            no_answer: p.no_answer,
            failed: p.failed,
            do_not_call: p.do_not_call,
            not_called: p.not_called,
            attempts: calls.attempts,
            successful_calls: calls.successful,
            success_rate: if dialled == 0 {
                0.0
            } else {
                (p.completed as f64 * 10_000.0 / dialled as f64).round() / 100.0
            },
            total_minutes: (calls.duration_secs as f64 / 60.0 * 10.0).round() / 10.0,
            credits_used: calls.credits,
            lead_tags: calls
                .tags
                .into_iter()
                .map(|(tag, count)| CampaignTagCount { tag, count })
                .collect(),
        }))
    }

    /// Estimate a campaign's credits
    ///
    /// What a campaign of `contactCount` numbers will cost from the account's own average
    /// credits per connected call (a typical 2 without history), whether the balance covers
    /// it, and a top-up that would.
    #[oai(path = "/api/user/campaign-credit-check", method = "post")]
    async fn credit_check(
        &self,
        auth: Auth,
        body: Json<CreditCheckRequest>,
    ) -> Result<Json<CreditCheck>, CampaignErrors> {
        let me = auth.user(&self.services).await?;
        let e = estimate::estimate(&self.services.db, me.id, body.0.contact_count).await?;
        Ok(Json(e.into()))
    }
}
