//! The platform's feature flags (Configuration > Feature flags). The flags are defined here,
//! each guarding a part of the product; admins switch them on or off for everyone, for named
//! accounts or for subscription tiers, to a share of those accounts. A flag nobody changed is on
//! for everyone. Every process keeps the flags and re-reads them at most every
//! `SETTINGS_REFRESH_MS`, like the settings, so checking one costs no query on a hot path.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, TransactionTrait,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    Services,
    accounts::audit::{self, Actor},
    entities::{
        feature_flags::{self as flags, FlagScope},
        users::{self, SubscriptionTier},
    },
    platform::error::{AppError, AppResult},
};

/// A flag the code checks.
#[derive(Debug)]
pub struct Flag {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

pub const DASHBOARD_KPIS: &Flag = &Flag {
    id: "dashboard_kpis",
    name: "Dashboard KPIs",
    description: "The figures of the user's dashboard (calls, leads, conversion).",
};
pub const AGENT_ANALYTICS: &Flag = &Flag {
    id: "agent_analytics",
    name: "Agent analytics",
    description: "The Calling Agent > Analytics tab: call analytics by agent, source and hour.",
};
pub const ADVANCED_REPORTS: &Flag = &Flag {
    id: "advanced_reports",
    name: "Advanced reports",
    description: "The admin report builder: previews and generated CSV, Excel and PDF reports.",
};

/// Every flag, in the order the screen lists them.
pub const FLAGS: &[&Flag] = &[DASHBOARD_KPIS, AGENT_ANALYTICS, ADVANCED_REPORTS];

/// Most accounts one flag names.
pub const MAX_TARGET_USERS: usize = 1_000;

/// A flag as admins see it: the definition with its state.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagView {
    pub id: &'static str,
    pub name: String,
    pub description: String,
    pub is_enabled: bool,
    pub scope: FlagScope,
    pub target_users: Vec<Uuid>,
    pub target_tiers: Vec<SubscriptionTier>,
    pub rollout_percentage: u8,
}

fn view(flag: &'static Flag, row: Option<&flags::Model>) -> FlagView {
    match row {
        None => FlagView {
            id: flag.id,
            name: flag.name.into(),
            description: flag.description.into(),
            is_enabled: true,
            scope: FlagScope::Global,
            target_users: vec![],
            target_tiers: vec![],
            rollout_percentage: 100,
        },
        Some(r) => FlagView {
            id: flag.id,
            name: r.name.clone().unwrap_or_else(|| flag.name.into()),
            description: r
                .description
                .clone()
                .unwrap_or_else(|| flag.description.into()),
            is_enabled: r.is_enabled,
            scope: r.scope,
            target_users: serde_json::from_str(&r.target_users).unwrap_or_default(),
            target_tiers: serde_json::from_str(&r.target_tiers).unwrap_or_default(),
            rollout_percentage: r.rollout_percentage.clamp(0, 100) as u8,
        },
    }
}

fn find_flag(id: &str) -> AppResult<&'static Flag> {
    FLAGS
        .iter()
        .copied()
        .find(|f| f.id == id)
        .ok_or(AppError::not_found("feature_flag"))
}

/// The flags by id.
type Flags = Arc<HashMap<String, FlagView>>;

/// The flags as last read, per process.
pub struct FlagCache {
    refresh: Duration,
    snapshot: RwLock<Option<(Instant, Flags)>>,
}

impl FlagCache {
    pub fn new(refresh: Duration) -> Self {
        Self {
            refresh,
            snapshot: RwLock::new(None),
        }
    }

    fn invalidate(&self) {
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The flags in force; if the table cannot be read, the last ones (or all on).
    async fn current(&self, db: &DatabaseConnection) -> Flags {
        let last = self
            .snapshot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some((at, flags)) = &last
            && at.elapsed() < self.refresh
        {
            return flags.clone();
        }
        match load(db).await {
            Ok(views) => {
                let views: Flags =
                    Arc::new(views.into_iter().map(|v| (v.id.to_string(), v)).collect());
                *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) =
                    Some((Instant::now(), views.clone()));
                views
            }
            Err(e) => {
                tracing::warn!(error = %e, "feature flags could not be re-read; keeping the last ones");
                last.map(|(_, f)| f).unwrap_or_else(|| {
                    Arc::new(
                        FLAGS
                            .iter()
                            .map(|f| (f.id.to_string(), view(f, None)))
                            .collect(),
                    )
                })
            }
        }
    }
}

async fn load(db: &DatabaseConnection) -> AppResult<Vec<FlagView>> {
    let rows: HashMap<String, flags::Model> = flags::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    Ok(FLAGS.iter().map(|f| view(f, rows.get(f.id))).collect())
}

pub async fn list(services: &Services) -> AppResult<Vec<FlagView>> {
    load(&services.db).await
}

/// Whether `user` (of `tier`) is in the flag's share: the same accounts every time for a
/// given percentage, and more of them as it grows.
fn in_rollout(flag: &str, user: Uuid, percentage: u8) -> bool {
    if percentage >= 100 {
        return true;
    }
    let digest = Sha256::digest(format!("{flag}:{user}").as_bytes());
    let bucket = u16::from_be_bytes([digest[0], digest[1]]) % 100;
    bucket < u16::from(percentage)
}

pub fn applies(v: &FlagView, user: Uuid, tier: SubscriptionTier) -> bool {
    if !v.is_enabled {
        return false;
    }
    let in_scope = match v.scope {
        FlagScope::Global => true,
        FlagScope::User => v.target_users.contains(&user),
        FlagScope::Tier => v.target_tiers.contains(&tier),
    };
    in_scope && in_rollout(v.id, user, v.rollout_percentage)
}

/// Refuses `user` a switched-off feature with 403 `feature_disabled`.
pub async fn require(services: &Services, flag: &'static Flag, user: Uuid) -> AppResult<()> {
    let flags = services.features.current(&services.db).await;
    let Some(v) = flags.get(flag.id) else {
        return Ok(());
    };
    // Only a narrowed flag needs the account's tier.
    let tier = if v.is_enabled && v.scope == FlagScope::Tier {
        use sea_orm::QuerySelect;
        users::Entity::find_by_id(user)
            .select_only()
            .column(users::Column::SubscriptionTier)
            .into_tuple::<SubscriptionTier>()
            .one(&services.db)
            .await?
            .unwrap_or(SubscriptionTier::Free)
    } else {
        SubscriptionTier::Free
    };
    if applies(v, user, tier) {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "feature_disabled",
            format!("{} is switched off for this account", v.name),
        ))
    }
}

/// A change from the screen; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct FlagChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_enabled: Option<bool>,
    pub scope: Option<FlagScope>,
    pub target_users: Option<Vec<String>>,
    pub target_tiers: Option<Vec<SubscriptionTier>>,
    pub rollout_percentage: Option<i64>,
}

fn snapshot(v: &FlagView) -> serde_json::Value {
    json!({"name": v.name, "is_enabled": v.is_enabled, "scope": v.scope,
           "target_users": v.target_users, "target_tiers": v.target_tiers,
           "rollout_percentage": v.rollout_percentage})
}

/// Applies one audited change; every process sees it within the refresh interval.
pub async fn update(
    services: &Services,
    actor: &Actor,
    id: &str,
    change: FlagChange,
) -> AppResult<FlagView> {
    let flag = find_flag(id)?;
    let db = &services.db;
    let row = flags::Entity::find_by_id(flag.id).one(db).await?;
    let before = view(flag, row.as_ref());
    let mut after = before.clone();
    if let Some(name) = change.name {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::validation("name", "must be 1 to 100 characters"));
        }
        after.name = name.into();
    }
    if let Some(d) = change.description {
        if d.chars().count() > 500 {
            return Err(AppError::validation(
                "description",
                "at most 500 characters",
            ));
        }
        after.description = d.trim().into();
    }
    if let Some(on) = change.is_enabled {
        after.is_enabled = on;
    }
    if let Some(scope) = change.scope {
        after.scope = scope;
    }
    if let Some(p) = change.rollout_percentage {
        if !(0..=100).contains(&p) {
            return Err(AppError::validation(
                "rolloutPercentage",
                "must be 0 to 100",
            ));
        }
        after.rollout_percentage = p as u8;
    }
    if let Some(tiers) = change.target_tiers {
        let unique: HashSet<SubscriptionTier> = tiers.into_iter().collect();
        let mut tiers: Vec<SubscriptionTier> = unique.into_iter().collect();
        tiers.sort_by_key(|t| t.to_string());
        after.target_tiers = tiers;
    }
    if let Some(ids) = change.target_users {
        if ids.len() > MAX_TARGET_USERS {
            return Err(AppError::validation(
                "targetUsers",
                format!("at most {MAX_TARGET_USERS} accounts"),
            ));
        }
        let mut parsed = HashSet::new();
        for id in &ids {
            parsed.insert(id.trim().parse::<Uuid>().map_err(|_| {
                AppError::validation("targetUsers", format!("`{id}` is not a user id"))
            })?);
        }
        let found = users::Entity::find()
            .filter(users::Column::Id.is_in(parsed.iter().copied()))
            .count(db)
            .await?;
        if found != parsed.len() as u64 {
            return Err(AppError::validation("targetUsers", "names an unknown user"));
        }
        let mut users: Vec<Uuid> = parsed.into_iter().collect();
        users.sort();
        after.target_users = users;
    }
    if after.scope == FlagScope::User && after.is_enabled && after.target_users.is_empty() {
        return Err(AppError::validation(
            "targetUsers",
            "name at least one account for a flag scoped to users",
        ));
    }
    if after.scope == FlagScope::Tier && after.is_enabled && after.target_tiers.is_empty() {
        return Err(AppError::validation(
            "targetTiers",
            "name at least one tier for a flag scoped to tiers",
        ));
    }
    if after == before {
        return Ok(after);
    }
    let values = flags::Model {
        id: flag.id.into(),
        name: (after.name != flag.name).then(|| after.name.clone()),
        description: (after.description != flag.description).then(|| after.description.clone()),
        is_enabled: after.is_enabled,
        scope: after.scope,
        target_users: serde_json::to_string(&after.target_users).map_err(AppError::internal)?,
        target_tiers: serde_json::to_string(&after.target_tiers).map_err(AppError::internal)?,
        rollout_percentage: i32::from(after.rollout_percentage),
        updated_by: Some(actor.id),
        updated_at: Utc::now(),
    };
    let txn = db.begin().await?;
    match row {
        Some(r) => {
            let mut active = r.into_active_model();
            active.name = Set(values.name);
            active.description = Set(values.description);
            active.is_enabled = Set(values.is_enabled);
            active.scope = Set(values.scope);
            active.target_users = Set(values.target_users);
            active.target_tiers = Set(values.target_tiers);
            active.rollout_percentage = Set(values.rollout_percentage);
            active.updated_by = Set(values.updated_by);
            active.updated_at = Set(values.updated_at);
            active.update(&txn).await?;
        }
        None => {
            flags::ActiveModel::from(values).insert(&txn).await?;
        }
    }
    audit::record_in(
        &txn,
        actor,
        "feature_flag.updated",
        ("feature_flag", flag.id.to_string()),
        snapshot(&before),
        snapshot(&after),
    )
    .await?;
    txn.commit().await?;
    services.features.invalidate();
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollout_is_stable_and_grows() {
        let users: Vec<Uuid> = (0..2000).map(|_| Uuid::new_v4()).collect();
        let share = |p: u8| users.iter().filter(|u| in_rollout("f", **u, p)).count();
        assert_eq!(share(0), 0);
        assert_eq!(share(100), 2000);
        let quarter = share(25);
        assert!((350..650).contains(&quarter), "{quarter}");
        // Everyone in at 25% stays in at 50%.
        assert!(
            users
                .iter()
                .filter(|u| in_rollout("f", **u, 25))
                .all(|u| in_rollout("f", *u, 50))
        );
    }

    #[test]
    fn scope_and_switch_decide() {
        let user = Uuid::new_v4();
        let mut v = view(DASHBOARD_KPIS, None);
        assert!(applies(&v, user, SubscriptionTier::Free));
        v.scope = FlagScope::Tier;
        v.target_tiers = vec![SubscriptionTier::Pro];
        assert!(!applies(&v, user, SubscriptionTier::Free));
        assert!(applies(&v, user, SubscriptionTier::Pro));
        v.scope = FlagScope::User;
        v.target_users = vec![user];
        assert!(applies(&v, user, SubscriptionTier::Free));
        v.is_enabled = false;
        assert!(!applies(&v, user, SubscriptionTier::Free));
    }
}
