//! What admins do to accounts: find them, see their activity, change their role, suspend and
//! reactivate them, adjust their credits. Every change is audited in its own transaction, and
//! no admin can lock the platform out (themself, or the last admin).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
    sea_query::{Expr, Order},
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    Services,
    accounts::audit::{self, Actor},
    accounts::auth::CurrentUser,
    accounts::users::{Role, SubscriptionTier, UserStatus},
    admin::user_activity::{self, Activity},
    admin::user_figures::{self, AgentUse, UserFigures},
    agents::{AgentInput, Applied},
    contacts::{like_pattern, lower_like},
    entities::{agents, users},
    money::credits::{self, Entry, TxKind},
    platform::error::{AppError, AppResult},
};

/// What the Users screen sorts by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UserSort {
    #[default]
    Registered,
    Name,
    Email,
    Role,
    Active,
    Credits,
    LastLogin,
    Agents,
    Calls,
    CreditsUsed,
}

impl UserSort {
    /// The column keys the Users table sends (`sortBy`), in either casing.
    pub fn from_key(key: &str) -> Option<Self> {
        Some(match key {
            "created_at" | "createdAt" | "registrationDate" => Self::Registered,
            "name" => Self::Name,
            "email" => Self::Email,
            "role" => Self::Role,
            "is_active" | "isActive" | "status" => Self::Active,
            "credits" => Self::Credits,
            "last_login" | "lastLogin" => Self::LastLogin,
            "agentCount" | "agent_count" => Self::Agents,
            "callCount" | "call_count" => Self::Calls,
            "creditsUsed" | "credits_used" => Self::CreditsUsed,
            _ => return None,
        })
    }

    fn expr(self) -> Expr {
        let col = |c: users::Column| Expr::col((users::Entity, c));
        // The figures are summed per user from the counters, as the list shows them.
        let per_user =
            |sql: &str| Expr::cust(format!("({sql} WHERE \"user_id\" = \"users\".\"id\")"));
        match self {
            Self::Registered => col(users::Column::CreatedAt),
            Self::Name => col(users::Column::Name),
            Self::Email => col(users::Column::Email),
            Self::Role => col(users::Column::Role),
            Self::Active => col(users::Column::Status),
            Self::Credits => col(users::Column::Credits),
            Self::LastLogin => col(users::Column::LastSeenAt),
            Self::Agents => per_user("SELECT COUNT(*) FROM \"agents\""),
            Self::Calls => per_user("SELECT COALESCE(SUM(\"calls\"), 0) FROM \"call_rollups\""),
            Self::CreditsUsed => {
                per_user("SELECT COALESCE(SUM(\"credits\"), 0) FROM \"call_rollups\"")
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Part of the email or name.
    pub search: Option<String>,
    pub status: Option<UserStatus>,
    pub role: Option<Role>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub min_balance: Option<i64>,
    pub max_balance: Option<i64>,
    pub sort: UserSort,
    /// Newest (largest) first, as the screen opens.
    pub descending: bool,
}

pub async fn list(
    db: &DatabaseConnection,
    f: &UserFilter,
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<users::Model>, u64)> {
    if let (Some(lo), Some(hi)) = (f.min_balance, f.max_balance)
        && lo > hi
    {
        return Err(AppError::validation(
            "creditRange",
            "`min` must not exceed `max`",
        ));
    }
    let mut q = users::Entity::find();
    if let Some(search) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = like_pattern(search);
        q = q.filter(
            Condition::any()
                .add(lower_like((users::Entity, users::Column::Email), &pattern))
                .add(lower_like((users::Entity, users::Column::Name), &pattern)),
        );
    }
    if let Some(status) = &f.status {
        q = q.filter(users::Column::Status.eq(*status));
    }
    if let Some(role) = &f.role {
        q = q.filter(users::Column::Role.eq(*role));
    }
    if let Some(from) = f.created_from {
        q = q.filter(users::Column::CreatedAt.gte(from));
    }
    if let Some(to) = f.created_to {
        q = q.filter(users::Column::CreatedAt.lt(to));
    }
    if let Some(min) = f.min_balance {
        q = q.filter(users::Column::Credits.gte(min));
    }
    if let Some(max) = f.max_balance {
        q = q.filter(users::Column::Credits.lte(max));
    }
    let order = if f.descending {
        Order::Desc
    } else {
        Order::Asc
    };
    let sorted = q
        .order_by(f.sort.expr(), order.clone())
        .order_by(users::Column::Id, order);
    let searched = f.search.as_deref().is_some_and(|s| !s.trim().is_empty());
    Ok(crate::platform::db::page_of(
        db,
        sorted,
        users::Column::Id,
        |u| u.id,
        searched,
        crate::platform::db::Window::page(page, per_page),
    )
    .await?)
}

/// An account with what the admin's user detail shows.
#[derive(Debug, Clone)]
pub struct UserDetail {
    pub user: users::Model,
    pub figures: UserFigures,
    pub agents: Vec<AgentUse>,
    pub activity: Vec<Activity>,
}

pub async fn detail(db: &DatabaseConnection, id: Uuid) -> AppResult<UserDetail> {
    let user = crate::accounts::users::get(db, id).await?;
    let figures = user_figures::of_users(db, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(UserDetail {
        figures,
        agents: user_figures::agents_of(db, id).await?,
        activity: user_activity::recent(db, id).await?,
        user,
    })
}

fn snapshot(u: &users::Model) -> serde_json::Value {
    json!({
        "email": u.email, "name": u.name, "company": u.company, "phone": u.phone,
        "timezone": u.timezone, "role": u.role, "status": u.status,
        "suspended_reason": u.suspended_reason, "credits": u.credits,
        "subscription_tier": u.subscription_tier,
        "concurrent_calls_limit": u.concurrent_calls_limit,
    })
}

/// Refuses a change that would leave the platform without an active admin, or that an admin
/// makes to their own access.
async fn guard_access<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    target: &users::Model,
) -> AppResult<()> {
    if target.id == actor.id {
        return Err(AppError::conflict(
            "cannot_change_self",
            "admins cannot suspend or demote themselves",
        ));
    }
    if target.role.is_admin() && target.status == UserStatus::Active {
        let others = users::Entity::find()
            .filter(users::Column::Role.is_in([Role::Admin, Role::SuperAdmin]))
            .filter(users::Column::Status.eq(UserStatus::Active))
            .filter(users::Column::Id.ne(target.id))
            .count(txn)
            .await?;
        if others == 0 {
            return Err(AppError::conflict(
                "last_admin",
                "the last active admin cannot be suspended or demoted",
            ));
        }
    }
    Ok(())
}

/// The user row, locked for the change.
async fn locked(txn: &sea_orm::DatabaseTransaction, id: Uuid) -> AppResult<users::Model> {
    crate::platform::db::one_for_update(txn, users::Entity::find_by_id(id))
        .await?
        .ok_or_else(|| AppError::not_found("user"))
}

/// What one change to a user writes and how it is audited.
struct Change {
    action: &'static str,
    /// Suspending or demoting: refused for oneself and for the last active admin.
    touches_access: bool,
    active: users::ActiveModel,
}

/// One audited change to a user, in one transaction with the row locked. `change` says what
/// to write (`None`: nothing to do).
async fn change_user(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    change: impl FnOnce(&users::Model) -> AppResult<Option<Change>>,
) -> AppResult<users::Model> {
    let txn = crate::platform::db::begin_write(db).await?;
    let user = locked(&txn, id).await?;
    let Some(Change {
        action,
        touches_access,
        mut active,
    }) = change(&user)?
    else {
        return Ok(user);
    };
    if touches_access {
        guard_access(&txn, actor, &user).await?;
    }
    let before = snapshot(&user);
    active.updated_at = Set(Utc::now());
    let user = active.update(&txn).await?;
    audit::record_in(
        &txn,
        actor,
        action,
        ("user", id.to_string()),
        before,
        snapshot(&user),
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}

/// What the admin's user editor changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AdminEdit {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub subscription_tier: Option<SubscriptionTier>,
    /// `user` or `admin`.
    pub role: Option<Role>,
    /// False suspends the account (its sessions end), true reactivates it.
    pub is_active: Option<bool>,
}

/// Why an account was switched off from the editor or the status switch, which ask for none.
pub const SWITCHED_OFF: &str = "switched off by an admin";

/// Applies the editor's changes as one audited change. A changed email must be free (409
/// `email_taken`); suspending or demoting is refused for oneself and the last active admin.
pub async fn edit(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    edit: AdminEdit,
) -> AppResult<users::Model> {
    if edit.role == Some(Role::SuperAdmin) {
        return Err(AppError::validation("role", "must be `user` or `admin`"));
    }
    let email = edit
        .email
        .as_deref()
        .map(crate::accounts::users::normalize_email)
        .transpose()?;
    if let Some(email) = &email {
        let taken = users::Entity::find()
            .filter(users::Column::Email.eq(email.as_str()))
            .filter(users::Column::Id.ne(id))
            .count(db)
            .await?;
        if taken > 0 {
            return Err(AppError::conflict(
                "email_taken",
                "A user with this email already exists",
            ));
        }
    }
    let profile = crate::accounts::users::ProfileUpdate {
        name: edit.name,
        phone: edit.phone,
        ..Default::default()
    };
    change_user(db, actor, id, |user| {
        let mut active = crate::accounts::users::profile_change(user, profile)?;
        if let Some(email) = email.filter(|e| *e != user.email) {
            active.email = Set(email);
        }
        if let Some(tier) = edit.subscription_tier {
            active.subscription_tier = Set(tier);
        }
        let new_role = edit.role.filter(|r| *r != user.role);
        if let Some(role) = new_role {
            active.role = Set(role);
        }
        let was_active = user.status == UserStatus::Active;
        let switch = edit.is_active.filter(|a| *a != was_active);
        match switch {
            Some(false) => suspension(user, &mut active, SWITCHED_OFF),
            Some(true) => reactivation(&mut active),
            None => {}
        }
        if !active.is_changed() {
            return Ok(None);
        }
        let action = match switch {
            Some(false) => "user.suspended",
            Some(true) => "user.reactivated",
            None if new_role.is_some() => "user.role_changed",
            None => "user.updated",
        };
        let touches_access = switch == Some(false) || new_role == Some(Role::User);
        Ok(Some(Change {
            action,
            touches_access,
            active,
        }))
    })
    .await
}

fn suspension(user: &users::Model, active: &mut users::ActiveModel, reason: &str) {
    active.status = Set(UserStatus::Suspended);
    active.suspended_reason = Set(Some(reason.into()));
    // Every session of the account ends now.
    active.session_epoch = Set(user.session_epoch + 1);
}

fn reactivation(active: &mut users::ActiveModel) {
    active.status = Set(UserStatus::Active);
    active.suspended_reason = Set(None);
}

/// The status switch: suspends an account (its sessions end at once and every request it
/// makes is refused until it is reactivated) or reactivates it.
pub async fn set_active(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    is_active: bool,
    reason: Option<&str>,
) -> AppResult<users::Model> {
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or(SWITCHED_OFF);
    if reason.chars().count() > 500 {
        return Err(AppError::validation(
            "reason",
            "must be at most 500 characters",
        ));
    }
    change_user(db, actor, id, |user| {
        let was_active = user.status == UserStatus::Active;
        if was_active == is_active {
            return Ok(None);
        }
        let mut active: users::ActiveModel = user.clone().into();
        Ok(Some(if is_active {
            reactivation(&mut active);
            Change {
                action: "user.reactivated",
                touches_access: false,
                active,
            }
        } else {
            suspension(user, &mut active, reason);
            Change {
                action: "user.suspended",
                touches_access: true,
                active,
            }
        }))
    })
    .await
}

/// Adds (or removes, when negative) credits with a reason. `key` is the client's idempotency
/// key: the same key for the same user applies once, however often it is sent.
pub async fn adjust_credits(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    amount: i64,
    reason: &str,
    key: &str,
) -> AppResult<credits::Applied> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::validation("reason", "is required"));
    }
    if amount == 0 {
        return Err(AppError::validation("amount", "must not be zero"));
    }
    let txn = crate::platform::db::begin_write(db).await?;
    let user = locked(&txn, id).await?;
    let mut entry = Entry::new(
        id,
        TxKind::AdminAdjustment,
        amount,
        format!("admin:{id}:{key}"),
    )
    .describe(reason);
    entry.actor_id = Some(actor.id);
    let applied = credits::apply_in(&txn, entry).await?;
    if applied.created && applied.row.balance_after < 0 {
        // Dropping the transaction undoes the entry.
        return Err(AppError::validation(
            "amount",
            format!(
                "Cannot subtract more than the current balance ({} credits)",
                user.credits
            ),
        ));
    }
    if applied.created {
        audit::record_in(
            &txn,
            actor,
            "user.credits_adjusted",
            ("user", id.to_string()),
            json!({"credits": user.credits}),
            json!({"credits": applied.row.balance_after, "amount": amount, "reason": reason,
                   "transaction_id": applied.row.id}),
        )
        .await?;
    } else if applied.row.amount != amount {
        return Err(AppError::conflict(
            "idempotency_key_reused",
            "this idempotency key was used for a different amount",
        ));
    }
    txn.commit().await?;
    Ok(applied)
}

/// Takes an agent out of service (status `draft`: no calls start with it) whoever owns it.
pub async fn deactivate_agent(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
) -> AppResult<agents::Model> {
    let txn = crate::platform::db::begin_write(db).await?;
    let agent = crate::platform::db::one_for_update(&txn, agents::Entity::find_by_id(id))
        .await?
        .ok_or_else(|| AppError::not_found("agent"))?;
    if agent.status == crate::agents::AgentStatus::Draft {
        return Ok(agent);
    }
    let before = json!({"status": agent.status});
    let mut active: agents::ActiveModel = agent.into();
    active.status = Set(crate::agents::AgentStatus::Draft);
    active.updated_at = Set(Utc::now());
    let agent = active.update(&txn).await?;
    audit::record_in(
        &txn,
        actor,
        "agent.deactivated",
        ("agent", id.to_string()),
        before,
        json!({"status": agent.status, "owner_id": agent.user_id}),
    )
    .await?;
    txn.commit().await?;
    Ok(agent)
}

/// The owner of agent `id`, as the owner's own requests would name them: admins act on an
/// agent through the same service (and the same checks) its owner uses.
async fn owner_of(db: &DatabaseConnection, id: Uuid) -> AppResult<CurrentUser> {
    let agent = agents::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("agent"))?;
    let owner = crate::accounts::users::get(db, agent.user_id).await?;
    Ok(CurrentUser::from(&owner))
}

/// Any tenant's agent as ElevenLabs holds it.
pub async fn agent_config(services: &Services, id: Uuid) -> AppResult<serde_json::Value> {
    let owner = owner_of(&services.db, id).await?;
    crate::agents::live_config(services, &owner, id).await
}

/// Changes any tenant's agent as its owner would (ElevenLabs first, then our copy), and
/// records who changed which fields.
pub async fn update_agent(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    input: AgentInput,
) -> AppResult<Applied<agents::Model>> {
    let owner = owner_of(&services.db, id).await?;
    let before = crate::agents::get(services, &owner, id).await?;
    let changed = input.field_names();
    let applied = crate::agents::update(services, &owner, id, input).await?;
    let (Applied::Now(after) | Applied::Deferred(after)) = &applied;
    let row = |a: &agents::Model| {
        json!({"name": a.name, "status": a.status, "description": a.description,
               "phone_number_id": a.phone_number_id})
    };
    let mut after_json = row(after);
    after_json["owner_id"] = json!(owner.id);
    after_json["fields"] = json!(changed);
    after_json["sync_state"] = json!(after.sync_state);
    audit::record_in(
        &services.db,
        actor,
        "agent.updated",
        ("agent", id.to_string()),
        row(&before),
        after_json,
    )
    .await?;
    Ok(applied)
}

/// Deletes any tenant's agent as its owner would (on ElevenLabs first; a job finishes it when
/// ElevenLabs is unavailable), and records who deleted it.
pub async fn delete_agent(services: &Services, actor: &Actor, id: Uuid) -> AppResult<()> {
    let owner = owner_of(&services.db, id).await?;
    let before = crate::agents::get(services, &owner, id).await?;
    crate::agents::delete(services, &owner, id).await?;
    audit::record_in(
        &services.db,
        actor,
        "agent.deleted",
        ("agent", id.to_string()),
        json!({"name": before.name, "status": before.status, "owner_id": owner.id}),
        json!(null),
    )
    .await?;
    Ok(())
}

/// The most calls in flight an admin may allow one account.
pub const MAX_CALL_LIMIT: i32 = 100;

/// Sets the account's limit of calls in flight (`None`: back to the platform's), audited.
pub async fn set_call_limit(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    limit: Option<i32>,
) -> AppResult<users::Model> {
    if let Some(l) = limit
        && !(1..=MAX_CALL_LIMIT).contains(&l)
    {
        return Err(AppError::validation(
            "user_limit",
            format!("must be from 1 to {MAX_CALL_LIMIT}"),
        ));
    }
    change_user(db, actor, id, |user| {
        if user.concurrent_calls_limit == limit {
            return Ok(None);
        }
        let mut active: users::ActiveModel = user.clone().into();
        active.concurrent_calls_limit = Set(limit);
        Ok(Some(Change {
            action: "user.call_limit_changed",
            touches_access: false,
            active,
        }))
    })
    .await
}
