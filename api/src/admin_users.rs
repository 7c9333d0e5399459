//! The admin's Users screen (`/api/admin/users`): the table, the detail modal, the editor, the
//! status switch and the credit modal, in the shapes the client's `adminApiService` reads. The
//! table reads some fields in snake_case and others in camelCase, so rows carry both.

use poem::Request;
use poem_openapi::{
    Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use shared::{
    AppError,
    accounts::users::{Role, SubscriptionTier, UserStatus},
    admin::{
        user_activity::Activity,
        user_figures::{self, AgentUse, UserFigures},
        users::{self as service, AdminEdit, UserFilter, UserSort},
    },
    entities::users,
};
use uuid::Uuid;

use crate::{
    admin::{AdminAuth, AdminErrors},
    pagination::{UpperSortOrder, default_page},
    tags::Tag,
    wire::{Timestamp, ts},
};

/// An account as the Users table and the detail modal read it.
#[derive(Debug, Clone, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct AdminUserRow {
    pub id: Uuid,
    pub name: Option<String>,
    pub email: String,
    /// `user`, `admin` or `super_admin`.
    pub role: Role,
    /// False when suspended (the table reads this spelling).
    pub is_active: bool,
    /// The same, as the detail modal and the editor read it.
    #[oai(rename = "isActive")]
    pub is_active_camel: bool,
    /// The balance in credits (one per started call minute; the screen formats it as dollars).
    pub credits: i64,
    #[oai(rename = "agentCount")]
    pub agent_count: i64,
    #[oai(rename = "callCount")]
    pub call_count: i64,
    /// Credits spent on calls and chats.
    #[oai(rename = "creditsUsed")]
    pub credits_used: i64,
    pub created_at: Timestamp,
    #[oai(rename = "registrationDate")]
    pub registration_date: Timestamp,
    /// When the account last signed in or refreshed its session.
    pub last_login: Option<Timestamp>,
    #[oai(rename = "lastLogin")]
    pub last_login_camel: Option<Timestamp>,
    /// E.164.
    pub phone: Option<String>,
    #[oai(rename = "subscriptionTier")]
    pub subscription_tier: SubscriptionTier,
    /// Why the account is suspended.
    #[oai(rename = "suspendedReason")]
    pub suspended_reason: Option<String>,
}

impl AdminUserRow {
    fn of(u: users::Model, f: UserFigures) -> Self {
        let active = u.status == UserStatus::Active;
        Self {
            id: u.id,
            name: u.name,
            email: u.email,
            role: u.role,
            is_active: active,
            is_active_camel: active,
            credits: u.credits,
            agent_count: f.agents,
            call_count: f.calls,
            credits_used: f.credits_used,
            created_at: u.created_at.into(),
            registration_date: u.created_at.into(),
            last_login: ts(u.last_seen_at),
            last_login_camel: ts(u.last_seen_at),
            phone: u.phone,
            subscription_tier: u.subscription_tier,
            suspended_reason: u.suspended_reason,
        }
    }
}

/// The user with their figures (one account: two small queries).
async fn row_of(services: &shared::Services, u: users::Model) -> shared::AppResult<AdminUserRow> {
    let id = u.id;
    let figures = user_figures::of_users(&services.db, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(AdminUserRow::of(u, figures))
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct AdminUserPage {
    pub users: Vec<AdminUserRow>,
    /// Accounts across all pages.
    pub total: u64,
    pub page: u64,
    pub limit: u64,
    pub total_pages: u64,
}

/// `GET /api/admin/users`.
#[derive(Debug, Object)]
#[oai(example)]
pub struct AdminUserPageEnvelope {
    pub success: bool,
    pub data: AdminUserPage,
    /// `data.users` again: the Concurrency panel's user picker reads the list at the top.
    pub users: Vec<AdminUserRow>,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct AdminUserStatistics {
    pub agent_count: i64,
    /// The same count, as the modal's other reader spells it.
    pub total_agents: i64,
    pub total_calls: i64,
    pub total_credits_used: i64,
    /// Successful calls, percent (one decimal).
    pub success_rate: f64,
    /// Seconds.
    pub average_call_duration: i64,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct AdminUserAgent {
    pub id: Uuid,
    pub name: String,
    /// `call` or `chat`.
    #[oai(rename = "type")]
    pub agent_type: String,
    /// `active`, or `inactive` for a draft.
    pub status: String,
    pub call_count: i64,
    /// The hour of its latest call.
    pub last_used: Option<Timestamp>,
}

impl From<AgentUse> for AdminUserAgent {
    fn from(a: AgentUse) -> Self {
        Self {
            status: if user_figures::is_active(&a.agent) {
                "active"
            } else {
                "inactive"
            }
            .into(),
            id: a.agent.id,
            name: a.agent.name,
            agent_type: a.agent.kind.to_string(),
            call_count: a.calls,
            last_used: ts(a.last_used),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct AdminUserActivity {
    pub id: Uuid,
    /// `call`, `chat`, `credits_purchase`, `credits_bonus`, `credits_refund`,
    /// `credits_admin_adjustment`, or an audited admin action such as `user.suspended`.
    #[oai(rename = "type")]
    pub kind: String,
    pub description: String,
    pub timestamp: Timestamp,
}

impl From<Activity> for AdminUserActivity {
    fn from(a: Activity) -> Self {
        Self {
            id: a.id,
            kind: a.kind,
            description: a.description,
            timestamp: a.at.into(),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct AdminUserDetail {
    pub user: AdminUserRow,
    pub statistics: AdminUserStatistics,
    /// Newest first, at most 50.
    pub agents: Vec<AdminUserAgent>,
    /// Calls, credits and admin actions, newest first, at most 20.
    pub recent_activity: Vec<AdminUserActivity>,
}

/// `GET /api/admin/users/{id}`.
#[derive(Debug, Object)]
#[oai(example)]
pub struct AdminUserDetailEnvelope {
    pub success: bool,
    pub data: AdminUserDetail,
}

/// The editor's fields (the bulk bar sends `isActive` alone).
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct AdminUserEdit {
    #[oai(validator(max_length = 120))]
    pub name: Option<String>,
    #[oai(validator(max_length = 254))]
    pub email: Option<String>,
    /// Any common way of writing it; kept in E.164.
    #[oai(validator(max_length = 40))]
    pub phone: Option<String>,
    pub subscription_tier: Option<SubscriptionTier>,
    /// `user` or `admin`.
    pub role: Option<Role>,
    /// False suspends the account (its sessions end at once), true reactivates it.
    pub is_active: Option<bool>,
}

/// The status switch.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct AdminStatusChange {
    pub is_active: bool,
    /// Why, kept in the audit log (default: "switched off by an admin").
    #[oai(validator(max_length = 500))]
    pub reason: Option<String>,
}

/// The changed account (editor, status switch).
#[derive(Debug, Object)]
#[oai(example)]
pub struct AdminUserEnvelope {
    pub success: bool,
    pub data: AdminUserRow,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum AdjustmentType {
    Add,
    Subtract,
}

/// The credit modal.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct AdminCreditRequest {
    /// The modal repeats the path's id here.
    pub user_id: Option<Uuid>,
    /// Whole credits, 1 to 10,000.
    #[oai(validator(minimum(value = "0"), maximum(value = "10000")))]
    pub amount: f64,
    #[oai(rename = "type")]
    pub kind: AdjustmentType,
    #[oai(validator(max_length = 500))]
    pub reason: Option<String>,
    /// What the client's older form sent instead of `reason`.
    #[oai(validator(max_length = 500))]
    pub description: Option<String>,
    /// The same key for the same user applies once (a fresh adjustment without one).
    #[oai(validator(min_length = 1, max_length = 100))]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct CreditChange {
    /// Signed credits.
    pub amount: i64,
    pub description: String,
    pub previous_balance: i64,
    pub new_balance: i64,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct AdminCreditResult {
    pub new_balance: i64,
    /// The ledger entry.
    pub transaction_id: Uuid,
    pub user: AdminUserRow,
    pub adjustment: CreditChange,
}

/// `POST /api/admin/users/{id}/credits`.
#[derive(Debug, Object)]
#[oai(example)]
pub struct AdminCreditEnvelope {
    pub success: bool,
    pub data: AdminCreditResult,
    pub message: String,
}

/// The table's status filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ActiveFilter {
    Active,
    Inactive,
}

/// The credit-range filter, sent as JSON text.
#[derive(Debug, serde::Deserialize)]
struct CreditRange {
    min: Option<f64>,
    max: Option<f64>,
}

fn credit_range(raw: Option<&str>) -> shared::AppResult<(Option<i64>, Option<i64>)> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok((None, None));
    };
    let range: CreditRange = serde_json::from_str(raw).map_err(|_| {
        AppError::validation("creditRange", "must be JSON like {\"min\":0,\"max\":100}")
    })?;
    Ok((
        range.min.map(|m| m.ceil() as i64),
        range.max.map(|m| m.floor() as i64),
    ))
}

pub struct AdminUsersApi {
    pub services: shared::Services,
}

impl AdminUsersApi {
    async fn concurrency_of(&self, user: &users::Model) -> shared::AppResult<CallLimitEnvelope> {
        let c = shared::calls::capacity(&self.services, user.id).await?;
        Ok(CallLimitEnvelope {
            success: true,
            settings: CallLimit {
                user_concurrent_calls_limit: c.limit,
                user_active_calls: c.in_flight,
                user_available_slots: c.limit.saturating_sub(c.in_flight),
                platform_limit: self.services.config.elevenlabs.max_concurrent_calls,
                custom: user.concurrent_calls_limit.is_some(),
            },
        })
    }
}

/// What the concurrency panel reads.
#[derive(Debug, Object)]
#[oai(example)]
pub struct CallLimit {
    pub user_concurrent_calls_limit: u64,
    /// Calls dialling or talking now.
    pub user_active_calls: u64,
    pub user_available_slots: u64,
    /// `MAX_CONCURRENT_CALLS`, what accounts without their own limit get.
    pub platform_limit: u64,
    /// Whether an admin set this account's limit.
    pub custom: bool,
}

/// `GET`/`PUT /api/admin/users/{id}/concurrency`.
#[derive(Debug, Object)]
#[oai(example)]
pub struct CallLimitEnvelope {
    pub success: bool,
    pub settings: CallLimit,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct CallLimitChange {
    /// 1 to 100; null returns the account to the platform's limit.
    pub user_limit: Option<i32>,
}

#[OpenApi(prefix_path = "/api/admin", tag = "Tag::Admin")]
impl AdminUsersApi {
    /// List users
    ///
    /// The Users table: `search` matches part of the email or name; `role`, `status`
    /// (`active`/`inactive`), the registration window (`registrationDateStart` inclusive,
    /// `registrationDateEnd` exclusive; `…From`/`…To` too) and `creditRange` (JSON
    /// `{min,max}`, inclusive) filter; `sortBy` takes the table's column keys (`created_at`,
    /// `name`, `email`, `role`, `is_active`, `credits`, `last_login`, `agentCount`, `callCount`,
    /// `creditsUsed`) and `sortOrder` `ASC`/`DESC` (default newest first). Figures come from
    /// the call counters.
    #[oai(path = "/users", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn users(
        &self,
        auth: AdminAuth,
        req: &Request,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        page: Query<u64>,
        #[oai(
            default = "table_page",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u64>,
        #[oai(validator(max_length = 200))] search: Query<Option<String>>,
        #[oai(name = "sortBy", validator(max_length = 40))] sort_by: Query<Option<String>>,
        #[oai(name = "sortOrder")] sort_order: Query<Option<UpperSortOrder>>,
        role: Query<Option<Role>>,
        status: Query<Option<ActiveFilter>>,
        #[oai(name = "registrationDateStart")] registered_start: Query<
            Option<chrono::DateTime<chrono::Utc>>,
        >,
        #[oai(name = "registrationDateEnd")] registered_end: Query<
            Option<chrono::DateTime<chrono::Utc>>,
        >,
        #[oai(name = "registrationDateFrom")] registered_from: Query<
            Option<chrono::DateTime<chrono::Utc>>,
        >,
        #[oai(name = "registrationDateTo")] registered_to: Query<
            Option<chrono::DateTime<chrono::Utc>>,
        >,
        #[oai(name = "creditRange", validator(max_length = 200))] credit_range_json: Query<
            Option<String>,
        >,
    ) -> Result<Json<AdminUserPageEnvelope>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let sort = match sort_by.0.as_deref().filter(|s| !s.is_empty()) {
            None => UserSort::default(),
            Some(key) => UserSort::from_key(key)
                .ok_or_else(|| AppError::validation("sortBy", format!("cannot sort by `{key}`")))?,
        };
        let (min_balance, max_balance) = credit_range(credit_range_json.0.as_deref())?;
        let filter = UserFilter {
            search: search.0,
            status: status.0.map(|s| match s {
                ActiveFilter::Active => UserStatus::Active,
                ActiveFilter::Inactive => UserStatus::Suspended,
            }),
            role: role.0,
            created_from: registered_start.0.or(registered_from.0),
            created_to: registered_end.0.or(registered_to.0),
            min_balance,
            max_balance,
            sort,
            descending: UpperSortOrder::descending(sort_order.0, true),
        };
        let (rows, total) = service::list(&self.services.db, &filter, page.0, limit.0).await?;
        let ids: Vec<Uuid> = rows.iter().map(|u| u.id).collect();
        let mut figures = user_figures::of_users(&self.services.db, &ids).await?;
        let users = rows
            .into_iter()
            .map(|u| {
                let f = figures.remove(&u.id).unwrap_or_default();
                AdminUserRow::of(u, f)
            })
            .collect();
        let users: Vec<AdminUserRow> = users;
        Ok(Json(AdminUserPageEnvelope {
            success: true,
            users: users.clone(),
            data: AdminUserPage {
                users,
                total,
                page: page.0,
                limit: limit.0,
                total_pages: total.div_ceil(limit.0).max(1),
            },
        }))
    }

    /// A user's account and activity
    ///
    /// The detail modal: the account, its statistics (from the call counters), its agents with
    /// their calls, and its recent calls, credits and admin actions.
    #[oai(path = "/users/:id", method = "get")]
    async fn user(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
    ) -> Result<Json<AdminUserDetailEnvelope>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let d = service::detail(&self.services.db, id.0).await?;
        let f = d.figures;
        Ok(Json(AdminUserDetailEnvelope {
            success: true,
            data: AdminUserDetail {
                statistics: AdminUserStatistics {
                    agent_count: f.agents,
                    total_agents: f.agents,
                    total_calls: f.calls,
                    total_credits_used: f.credits_used,
                    success_rate: f.success_rate(),
                    average_call_duration: f.average_duration_secs(),
                },
                user: AdminUserRow::of(d.user, f),
                agents: d.agents.into_iter().map(Into::into).collect(),
                recent_activity: d.activity.into_iter().map(Into::into).collect(),
            },
        }))
    }

    /// Edit a user
    ///
    /// The editor's `name`, `email` (409 `email_taken` when another account has it), `phone`,
    /// `subscriptionTier`, `role` and `isActive` (false suspends: the account's sessions end and
    /// its next request is refused), applied and audited as one change. An admin cannot suspend
    /// or demote themself or the last active admin (409).
    #[oai(path = "/users/:id", method = "put")]
    async fn edit_user(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
        body: Json<AdminUserEdit>,
    ) -> Result<Json<AdminUserEnvelope>, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let b = body.0;
        let edit = AdminEdit {
            name: b.name,
            email: b.email,
            phone: b.phone,
            subscription_tier: b.subscription_tier,
            role: b.role,
            is_active: b.is_active,
        };
        let user = service::edit(&self.services.db, &actor, id.0, edit).await?;
        Ok(Json(AdminUserEnvelope {
            success: true,
            data: row_of(&self.services, user).await?,
            message: "User updated".into(),
        }))
    }

    /// Suspend or reactivate a user
    ///
    /// `is_active: false` suspends the account (its sessions end at once; its next request is
    /// 403 `account_suspended`), `true` reactivates it. Not oneself, not the last active admin.
    #[oai(path = "/users/:id/status", method = "patch")]
    async fn set_status(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
        body: Json<AdminStatusChange>,
    ) -> Result<Json<AdminUserEnvelope>, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let b = body.0;
        let user = service::set_active(
            &self.services.db,
            &actor,
            id.0,
            b.is_active,
            b.reason.as_deref(),
        )
        .await?;
        let message = if b.is_active {
            "User activated"
        } else {
            "User deactivated"
        };
        Ok(Json(AdminUserEnvelope {
            success: true,
            data: row_of(&self.services, user).await?,
            message: message.into(),
        }))
    }

    /// Adjust a user's credits
    ///
    /// Adds or subtracts whole credits (1 to 10,000) with a `reason` (or `description`): one
    /// `admin_adjustment` ledger entry with the admin as actor, audited. A subtraction that
    /// would take the balance below zero is refused (400, `details.amount`). With an
    /// `idempotencyKey`, a repeat returns the same entry and changes nothing.
    #[oai(path = "/users/:id/credits", method = "post")]
    async fn adjust_credits(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
        body: Json<AdminCreditRequest>,
    ) -> Result<Json<AdminCreditEnvelope>, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let b = body.0;
        if b.user_id.is_some_and(|u| u != id.0) {
            return Err(AppError::validation("userId", "must be the user of the path").into());
        }
        if b.amount.fract() != 0.0 || b.amount < 1.0 {
            return Err(AppError::validation(
                "amount",
                "must be a whole number of credits from 1 to 10,000",
            )
            .into());
        }
        let reason = b
            .reason
            .or(b.description)
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .ok_or_else(|| AppError::validation("reason", "is required"))?;
        let amount = b.amount as i64;
        let signed = match b.kind {
            AdjustmentType::Add => amount,
            AdjustmentType::Subtract => -amount,
        };
        let key = b
            .idempotency_key
            .unwrap_or_else(|| shared::platform::ids::next().to_string());
        let applied =
            service::adjust_credits(&self.services.db, &actor, id.0, signed, &reason, &key).await?;
        let user = shared::accounts::users::get(&self.services.db, id.0).await?;
        let new_balance = applied.row.balance_after;
        let message = match b.kind {
            AdjustmentType::Add => format!("Added {amount} credits"),
            AdjustmentType::Subtract => format!("Subtracted {amount} credits"),
        };
        Ok(Json(AdminCreditEnvelope {
            success: true,
            data: AdminCreditResult {
                new_balance,
                transaction_id: applied.row.id,
                adjustment: CreditChange {
                    amount: applied.row.amount,
                    description: reason,
                    previous_balance: new_balance - applied.row.amount,
                    new_balance,
                },
                user: row_of(&self.services, user).await?,
            },
            message,
        }))
    }

    /// A user's concurrent-call limit
    ///
    /// The calls the account has in flight, its limit (an admin's, else the platform's
    /// `MAX_CONCURRENT_CALLS`) and the slots left: what every call start checks.
    #[oai(path = "/users/:id/concurrency", method = "get")]
    async fn concurrency(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
    ) -> Result<Json<CallLimitEnvelope>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let user = shared::accounts::users::get(&self.services.db, id.0).await?;
        Ok(Json(self.concurrency_of(&user).await?))
    }

    /// Set a user's concurrent-call limit
    ///
    /// `user_limit` from 1 to 100, or null for the platform's limit; calls already in flight
    /// go on. Audited.
    #[oai(path = "/users/:id/concurrency", method = "put")]
    async fn set_concurrency(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
        body: Json<CallLimitChange>,
    ) -> Result<Json<CallLimitEnvelope>, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let user =
            service::set_call_limit(&self.services.db, &actor, id.0, body.0.user_limit).await?;
        Ok(Json(self.concurrency_of(&user).await?))
    }
}

/// The table's own page size.
fn table_page() -> u64 {
    20
}
