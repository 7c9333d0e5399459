//! What admins do to accounts: find them, see their activity, change their role, suspend and
//! reactivate them, adjust their credits. Every change is audited in its own transaction, and
//! no admin can lock the platform out (themself, or the last admin).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    Services,
    accounts::audit::{self, Actor},
    accounts::auth::CurrentUser,
    accounts::users::{Role, UserStatus},
    agents::{AgentInput, Applied},
    agents::{AgentStatus, Channel, SyncState},
    contacts::{like_pattern, lower_like},
    entities::{agents, calls, credit_transactions, purchases, users},
    money::credits::{self, Entry, TxKind},
    platform::error::{AppError, AppResult},
};

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
}

pub async fn list(
    db: &DatabaseConnection,
    f: &UserFilter,
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<users::Model>, u64)> {
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
    let sorted = q
        .order_by_desc(users::Column::CreatedAt)
        .order_by_desc(users::Column::Id);
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

/// An account with what an admin looks at first.
#[derive(Debug, Clone)]
pub struct UserDetail {
    pub user: users::Model,
    pub agents: u64,
    pub calls: u64,
    /// Credits spent on calls and chats, all time.
    pub credits_used: i64,
    /// The latest ten.
    pub purchases: Vec<purchases::Model>,
    pub last_call_at: Option<DateTime<Utc>>,
}

pub async fn detail(db: &DatabaseConnection, id: Uuid) -> AppResult<UserDetail> {
    let user = crate::accounts::users::get(db, id).await?;
    let agents = agents::Entity::find()
        .filter(agents::Column::UserId.eq(id))
        .count(db)
        .await?;
    let calls_n = calls::Entity::find()
        .filter(calls::Column::UserId.eq(id))
        .count(db)
        .await?;
    let used: Option<i64> = credit_transactions::Entity::find()
        .select_only()
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(-amount), 0) AS BIGINT)"),
            "used",
        )
        .filter(credit_transactions::Column::UserId.eq(id))
        .filter(credit_transactions::Column::Kind.eq(TxKind::Usage))
        .into_tuple()
        .one(db)
        .await?;
    let last_call_at: Option<Option<DateTime<Utc>>> = calls::Entity::find()
        .select_only()
        .column_as(Expr::col(calls::Column::CreatedAt).max(), "last")
        .filter(calls::Column::UserId.eq(id))
        .into_tuple()
        .one(db)
        .await?;
    let purchases = purchases::Entity::find()
        .filter(purchases::Column::UserId.eq(id))
        .order_by_desc(purchases::Column::CreatedAt)
        .limit(10)
        .all(db)
        .await?;
    Ok(UserDetail {
        user,
        agents,
        calls: calls_n,
        credits_used: used.unwrap_or(0),
        purchases,
        last_call_at: last_call_at.flatten(),
    })
}

fn snapshot(u: &users::Model) -> serde_json::Value {
    json!({
        "email": u.email, "name": u.name, "company": u.company, "phone": u.phone,
        "timezone": u.timezone, "role": u.role, "status": u.status,
        "suspended_reason": u.suspended_reason, "credits": u.credits,
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
    if target.role == Role::Admin && target.status == UserStatus::Active {
        let others = users::Entity::find()
            .filter(users::Column::Role.eq(Role::Admin))
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

/// One audited change to a user, in one transaction with the row locked. `change` says what
/// to write (`None`: nothing to do) and whether the change touches access, which is refused for
/// oneself and for the last active admin.
async fn change_user(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    action: &str,
    change: impl FnOnce(&users::Model) -> AppResult<Option<(bool, users::ActiveModel)>>,
) -> AppResult<users::Model> {
    let txn = crate::platform::db::begin_write(db).await?;
    let user = locked(&txn, id).await?;
    let Some((touches_access, mut active)) = change(&user)? else {
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

/// Changes a user's role and profile fields together (the profile with the checks the user's
/// own edit has). Demoting is refused for oneself and the last active admin.
pub async fn update_user(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    role: Option<Role>,
    profile: crate::accounts::users::ProfileUpdate,
) -> AppResult<users::Model> {
    if role == Some(Role::SuperAdmin) {
        return Err(AppError::validation("role", "must be `user` or `admin`"));
    }
    let profile_changes = profile.name.is_some()
        || profile.company.is_some()
        || profile.phone.is_some()
        || profile.timezone.is_some()
        || profile.default_region.is_some()
        || profile.notifications.is_some();
    let action = match (&role, profile_changes) {
        (Some(_), false) => "user.role_changed",
        (None, _) => "user.profile_updated",
        (Some(_), true) => "user.updated",
    };
    change_user(db, actor, id, action, |user| {
        let new_role = role.filter(|r| *r != user.role);
        if new_role.is_none() && !profile_changes {
            return Ok(None);
        }
        let mut active = crate::accounts::users::profile_change(user, profile)?;
        let demotes = new_role == Some(Role::User);
        if let Some(role) = new_role {
            active.role = Set(role);
        }
        Ok(Some((demotes, active)))
    })
    .await
}

/// Suspends an account: its sessions end at once (the session epoch moves) and every request
/// it makes is refused until it is reactivated.
pub async fn suspend(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    reason: &str,
) -> AppResult<users::Model> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::validation("reason", "is required"));
    }
    change_user(db, actor, id, "user.suspended", |user| {
        Ok((user.status != UserStatus::Suspended).then(|| {
            let mut active: users::ActiveModel = user.clone().into();
            active.status = Set(UserStatus::Suspended);
            active.suspended_reason = Set(Some(reason.into()));
            active.session_epoch = Set(user.session_epoch + 1);
            (true, active)
        }))
    })
    .await
}

pub async fn reactivate(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
) -> AppResult<users::Model> {
    change_user(db, actor, id, "user.reactivated", |user| {
        Ok((user.status != UserStatus::Active).then(|| {
            let mut active: users::ActiveModel = user.clone().into();
            active.status = Set(UserStatus::Active);
            active.suspended_reason = Set(None);
            (false, active)
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

#[derive(Debug, Clone, Default)]
pub struct AgentFilter {
    pub owner_id: Option<Uuid>,
    pub kind: Option<Channel>,
    pub status: Option<AgentStatus>,
    pub sync_state: Option<SyncState>,
}

/// Every tenant's agents with their owners' emails, newest first.
pub async fn agents(
    db: &DatabaseConnection,
    f: &AgentFilter,
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<(agents::Model, Option<String>)>, u64)> {
    let mut q = agents::Entity::find();
    if let Some(owner) = f.owner_id {
        q = q.filter(agents::Column::UserId.eq(owner));
    }
    if let Some(kind) = &f.kind {
        q = q.filter(agents::Column::Kind.eq(*kind));
    }
    if let Some(status) = &f.status {
        q = q.filter(agents::Column::Status.eq(*status));
    }
    if let Some(sync) = &f.sync_state {
        q = q.filter(agents::Column::SyncState.eq(*sync));
    }
    let sorted = q
        .order_by_desc(agents::Column::CreatedAt)
        .order_by_desc(agents::Column::Id);
    let (rows, total) = crate::platform::db::page_of(
        db,
        sorted,
        agents::Column::Id,
        |a| a.id,
        false,
        crate::platform::db::Window::page(page, per_page),
    )
    .await?;
    let owners: std::collections::HashMap<Uuid, String> = users::Entity::find()
        .filter(users::Column::Id.is_in(rows.iter().map(|a| a.user_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    Ok((
        rows.into_iter()
            .map(|a| {
                let email = owners.get(&a.user_id).cloned();
                (a, email)
            })
            .collect(),
        total,
    ))
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
