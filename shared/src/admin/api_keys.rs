//! The ElevenLabs API keys a super admin manages in Configuration. Keys are sealed at rest like
//! the settings' secrets and never shown again in clear. The default key is the platform's key:
//! it is written to the `elevenlabs_api_key` setting in the same transaction, so every process
//! uses it within the settings refresh interval; removing or switching off the default returns
//! the platform to the start-up key. An account assigned to a key has its ElevenLabs requests
//! made with that key instead ([`key_for`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    Services,
    accounts::audit::{self, Actor},
    entities::{
        call_rollups as rollups, provider_api_key_users as assignments,
        provider_api_keys::{self as keys, KeyStatus},
        users,
    },
    platform::error::{AppError, AppResult},
    platform::system_config::{self, ELEVENLABS_API_KEY},
};

pub const PROVIDER: &str = "elevenlabs";
/// How many keys the platform keeps.
pub const MAX_KEYS: u64 = 50;
/// How many accounts one change may assign.
pub const MAX_ASSIGNED: usize = 1_000;

/// A change to a key; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct KeyInput {
    pub name: Option<String>,
    /// The secret. A value holding `*` or `…` is the masked one the screen read back: unchanged.
    pub key: Option<String>,
    pub is_default: Option<bool>,
    pub status: Option<KeyStatus>,
    pub assigned_users: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct KeyView {
    pub key: keys::Model,
    pub assigned_users: Vec<Uuid>,
    /// Calls and credits this month by the accounts using the key (the default: every account
    /// without a key of its own).
    pub calls_this_month: i64,
    pub credits_this_month: i64,
}

fn masked(secret: &str) -> bool {
    secret.contains('*') || secret.contains('…')
}

fn checked_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::validation("name", "must be 1 to 100 characters"));
    }
    Ok(name.to_string())
}

fn checked_secret(secret: &str) -> AppResult<String> {
    let secret = secret.trim();
    if secret.len() < 10 || secret.len() > 200 || secret.chars().any(char::is_whitespace) {
        return Err(AppError::validation(
            "key",
            "must be an ElevenLabs API key: 10 to 200 characters without spaces",
        ));
    }
    Ok(secret.to_string())
}

async fn checked_users<C: ConnectionTrait>(db: &C, ids: &[String]) -> AppResult<Vec<Uuid>> {
    if ids.len() > MAX_ASSIGNED {
        return Err(AppError::validation(
            "assignedUsers",
            format!("at most {MAX_ASSIGNED} accounts"),
        ));
    }
    let mut parsed = Vec::with_capacity(ids.len());
    for id in ids {
        let id: Uuid = id.trim().parse().map_err(|_| {
            AppError::validation("assignedUsers", format!("`{id}` is not a user id"))
        })?;
        parsed.push(id);
    }
    let unique: HashSet<Uuid> = parsed.iter().copied().collect();
    let found = users::Entity::find()
        .filter(users::Column::Id.is_in(unique.iter().copied()))
        .count(db)
        .await?;
    if found != unique.len() as u64 {
        return Err(AppError::validation(
            "assignedUsers",
            "names an unknown user",
        ));
    }
    let mut unique: Vec<Uuid> = unique.into_iter().collect();
    unique.sort();
    Ok(unique)
}

fn snapshot(k: &keys::Model, assigned: &[Uuid]) -> serde_json::Value {
    json!({"name": k.name, "key": k.key_hint, "is_default": k.is_default, "status": k.status,
           "assigned_users": assigned})
}

async fn assigned_of<C: ConnectionTrait>(db: &C) -> AppResult<HashMap<Uuid, Vec<Uuid>>> {
    let mut by_key: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for a in assignments::Entity::find()
        .order_by_asc(assignments::Column::UserId)
        .all(db)
        .await?
    {
        by_key.entry(a.key_id).or_default().push(a.user_id);
    }
    Ok(by_key)
}

/// Calls and credits per account since the first of the month, from the counters.
async fn usage_this_month(db: &DatabaseConnection) -> AppResult<BTreeMap<Uuid, (i64, i64)>> {
    let (_, _, month) = super::platform::day_week_month(Utc::now());
    let rows: Vec<(Uuid, i64, i64)> = rollups::Entity::find()
        .select_only()
        .column(rollups::Column::UserId)
        .column_as(super::analytics::sum("calls"), "calls")
        .column_as(super::analytics::sum("credits"), "credits")
        .filter(rollups::Column::Hour.gte(month))
        .group_by(rollups::Column::UserId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(u, c, k)| (u, (c, k))).collect())
}

/// Every key, the default first, with its accounts and this month's use.
pub async fn list(db: &DatabaseConnection) -> AppResult<Vec<KeyView>> {
    let rows = keys::Entity::find()
        .filter(keys::Column::Provider.eq(PROVIDER))
        .order_by_desc(keys::Column::IsDefault)
        .order_by_asc(keys::Column::CreatedAt)
        .all(db)
        .await?;
    let mut assigned = assigned_of(db).await?;
    let usage = usage_this_month(db).await?;
    let with_own_key: HashSet<Uuid> = assigned.values().flatten().copied().collect();
    Ok(rows
        .into_iter()
        .map(|key| {
            let users = assigned.remove(&key.id).unwrap_or_default();
            let (calls, credits) = if key.is_default {
                usage
                    .iter()
                    .filter(|(u, _)| !with_own_key.contains(u))
                    .fold((0, 0), |(c, k), (_, (uc, uk))| (c + uc, k + uk))
            } else {
                users
                    .iter()
                    .filter_map(|u| usage.get(u))
                    .fold((0, 0), |(c, k), (uc, uk)| (c + uc, k + uk))
            };
            KeyView {
                key,
                assigned_users: users,
                calls_this_month: calls,
                credits_this_month: credits,
            }
        })
        .collect())
}

async fn view(db: &DatabaseConnection, id: Uuid) -> AppResult<KeyView> {
    list(db)
        .await?
        .into_iter()
        .find(|v| v.key.id == id)
        .ok_or_else(|| AppError::not_found("api_key"))
}

/// Makes `key` the platform's (the only default) or, when it stops being the default, returns
/// the platform to its start-up key. Inside the change's transaction.
async fn apply_default<C: ConnectionTrait>(
    txn: &C,
    services: &Services,
    actor: &Actor,
    key: &keys::Model,
    secret: Option<&str>,
    was_default: bool,
) -> AppResult<()> {
    let in_force = key.is_default && key.status == KeyStatus::Active;
    if in_force {
        keys::Entity::update_many()
            .col_expr(keys::Column::IsDefault, Expr::value(false))
            .filter(keys::Column::Provider.eq(PROVIDER))
            .filter(keys::Column::Id.ne(key.id))
            .exec(txn)
            .await?;
        let plain = match secret {
            Some(s) => s.to_string(),
            None => system_config::open(&services.config, "provider_api_keys", &key.sealed_key)?,
        };
        system_config::set_secret(
            txn,
            &services.config,
            ELEVENLABS_API_KEY,
            &plain,
            Some(actor.id),
        )
        .await?;
    } else if was_default {
        system_config::remove(txn, ELEVENLABS_API_KEY).await?;
    }
    Ok(())
}

async fn assign<C: ConnectionTrait>(txn: &C, key: Uuid, users: &[Uuid]) -> AppResult<()> {
    assignments::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(assignments::Column::KeyId.eq(key))
                .add(assignments::Column::UserId.is_in(users.iter().copied())),
        )
        .exec(txn)
        .await?;
    let now = Utc::now();
    for user in users {
        assignments::ActiveModel {
            user_id: Set(*user),
            key_id: Set(key),
            assigned_at: Set(now),
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

pub async fn create(services: &Services, actor: &Actor, input: KeyInput) -> AppResult<KeyView> {
    let name = checked_name(input.name.as_deref().unwrap_or_default())?;
    let secret = checked_secret(input.key.as_deref().unwrap_or_default())?;
    if masked(&secret) {
        return Err(AppError::validation("key", "is required"));
    }
    let db = &services.db;
    let txn = crate::platform::db::begin_write(db).await?;
    let count = keys::Entity::find()
        .filter(keys::Column::Provider.eq(PROVIDER))
        .count(&txn)
        .await?;
    if count >= MAX_KEYS {
        return Err(AppError::validation(
            "key",
            format!("the platform keeps at most {MAX_KEYS} keys"),
        ));
    }
    let users = checked_users(&txn, input.assigned_users.as_deref().unwrap_or_default()).await?;
    let now = Utc::now();
    let key = keys::ActiveModel {
        id: Set(crate::platform::ids::next()),
        provider: Set(PROVIDER.into()),
        name: Set(name),
        sealed_key: Set(system_config::seal(&services.config, &secret)?),
        key_hint: Set(system_config::mask(&secret)),
        is_default: Set(input.is_default.unwrap_or(false)),
        status: Set(input.status.unwrap_or(KeyStatus::Active)),
        created_by: Set(Some(actor.id)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    assign(&txn, key.id, &users).await?;
    apply_default(&txn, services, actor, &key, Some(&secret), false).await?;
    audit::record_in(
        &txn,
        actor,
        "api_key.created",
        ("api_key", key.id.to_string()),
        json!(null),
        snapshot(&key, &users),
    )
    .await?;
    txn.commit().await?;
    services.settings.invalidate();
    view(db, key.id).await
}

pub async fn update(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    input: KeyInput,
) -> AppResult<KeyView> {
    let db = &services.db;
    let txn = crate::platform::db::begin_write(db).await?;
    let current = crate::platform::db::one_for_update(&txn, keys::Entity::find_by_id(id))
        .await?
        .filter(|k| k.provider == PROVIDER)
        .ok_or_else(|| AppError::not_found("api_key"))?;
    let before_users = assigned_of(&txn).await?.remove(&id).unwrap_or_default();
    let secret = match input.key.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() && !masked(s) => Some(checked_secret(s)?),
        _ => None,
    };
    let mut active: keys::ActiveModel = current.clone().into();
    if let Some(name) = &input.name {
        active.name = Set(checked_name(name)?);
    }
    if let Some(secret) = &secret {
        active.sealed_key = Set(system_config::seal(&services.config, secret)?);
        active.key_hint = Set(system_config::mask(secret));
    }
    if let Some(default) = input.is_default {
        active.is_default = Set(default);
    }
    if let Some(status) = input.status {
        active.status = Set(status);
    }
    let users = match &input.assigned_users {
        Some(ids) => Some(checked_users(&txn, ids).await?),
        None => None,
    };
    active.updated_at = Set(Utc::now());
    let key = active.update(&txn).await?;
    if let Some(users) = &users {
        assign(&txn, id, users).await?;
    }
    let was_default = current.is_default && current.status == KeyStatus::Active;
    let default_changed = was_default != (key.is_default && key.status == KeyStatus::Active)
        || (secret.is_some() && key.is_default);
    if default_changed {
        apply_default(&txn, services, actor, &key, secret.as_deref(), was_default).await?;
    }
    audit::record_in(
        &txn,
        actor,
        "api_key.updated",
        ("api_key", id.to_string()),
        snapshot(&current, &before_users),
        snapshot(&key, users.as_deref().unwrap_or(&before_users)),
    )
    .await?;
    txn.commit().await?;
    services.settings.invalidate();
    view(db, id).await
}

pub async fn delete(services: &Services, actor: &Actor, id: Uuid) -> AppResult<()> {
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let current = crate::platform::db::one_for_update(&txn, keys::Entity::find_by_id(id))
        .await?
        .filter(|k| k.provider == PROVIDER)
        .ok_or_else(|| AppError::not_found("api_key"))?;
    let users = assigned_of(&txn).await?.remove(&id).unwrap_or_default();
    // The assignments go with the key (their accounts fall back to the default).
    assignments::Entity::delete_many()
        .filter(assignments::Column::KeyId.eq(id))
        .exec(&txn)
        .await?;
    keys::Entity::delete_by_id(id).exec(&txn).await?;
    if current.is_default && current.status == KeyStatus::Active {
        system_config::remove(&txn, ELEVENLABS_API_KEY).await?;
    }
    audit::record_in(
        &txn,
        actor,
        "api_key.deleted",
        ("api_key", id.to_string()),
        snapshot(&current, &users),
        json!(null),
    )
    .await?;
    txn.commit().await?;
    services.settings.invalidate();
    Ok(())
}

/// The key assigned to `user`, in clear, when it is active; `None` means the platform's key.
pub async fn key_for(services: &Services, user: Uuid) -> AppResult<Option<String>> {
    let Some(assignment) = assignments::Entity::find_by_id(user)
        .one(&services.db)
        .await?
    else {
        return Ok(None);
    };
    let key = keys::Entity::find_by_id(assignment.key_id)
        .one(&services.db)
        .await?
        .filter(|k| k.status == KeyStatus::Active);
    key.map(|k| system_config::open(&services.config, "provider_api_keys", &k.sealed_key))
        .transpose()
}
