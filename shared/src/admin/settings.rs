//! Admins' view of the run-time settings: every setting with its value in force and where it
//! comes from, and changes applied in one transaction with their audit record. The catalogue,
//! the checks and the per-process cache are the platform's (`platform::settings`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    Config, Services,
    accounts::audit::{self, Actor},
    platform::error::{AppError, AppResult},
    platform::settings::{CATALOGUE, Setting, find, overlay},
    platform::system_config,
};

/// One setting as admins see it.
#[derive(Debug, Clone)]
pub struct SettingView {
    pub setting: &'static Setting,
    /// Masked for secrets; `None` when unset.
    pub value: Option<Value>,
    /// `stored` (set by an admin) or `startup` (environment, file or default).
    pub source: &'static str,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<Uuid>,
}

/// The start-up configuration's values by key, unset ones (null, empty list) left out.
fn startup_values(startup: &Config) -> Map<String, Value> {
    startup
        .to_flat()
        .into_iter()
        .filter(|(_, v)| !(v.is_null() || v.as_array().is_some_and(Vec::is_empty)))
        .collect()
}

/// Every setting with its value in force.
pub async fn list(services: &Services) -> AppResult<Vec<SettingView>> {
    let startup = &services.config;
    let defaults = startup_values(startup);
    let rows: BTreeMap<_, _> = system_config::rows(&services.db)
        .await?
        .into_iter()
        .map(|row| (row.key.clone(), row))
        .collect();
    CATALOGUE
        .iter()
        .map(|setting| {
            let view = match rows.get(setting.key) {
                Some(row) => SettingView {
                    setting,
                    value: Some(setting.shown(&system_config::decode(startup, row)?)),
                    source: "stored",
                    updated_at: Some(row.updated_at),
                    updated_by: row.updated_by,
                },
                None => SettingView {
                    setting,
                    value: defaults.get(setting.key).map(|v| setting.shown(v)),
                    source: "startup",
                    updated_at: None,
                    updated_by: None,
                },
            };
            Ok(view)
        })
        .collect()
}

/// Applies `changes` (a value, or `null` to return to the start-up value) in one transaction
/// with its audit record, after checking each value and the resulting configuration.
pub async fn update(
    services: &Services,
    actor: &Actor,
    changes: BTreeMap<String, Value>,
) -> AppResult<Vec<SettingView>> {
    if changes.is_empty() {
        return Err(AppError::validation("values", "name at least one setting"));
    }
    let mut checked = Vec::with_capacity(changes.len());
    for (key, value) in &changes {
        let setting = find(key).ok_or_else(|| {
            AppError::validation(key.clone(), "is not a setting admins can change")
        })?;
        if !value.is_null() {
            setting
                .check(value)
                .map_err(|why| AppError::validation(key.clone(), why))?;
        }
        checked.push((setting, value));
    }
    let startup = &services.config;
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let mut stored = BTreeMap::new();
    for row in system_config::rows(&txn).await? {
        if find(&row.key).is_some() {
            let value = system_config::decode(startup, &row)?;
            stored.insert(row.key, value);
        }
    }
    let mut next = stored.clone();
    for (setting, value) in &checked {
        if value.is_null() {
            next.remove(setting.key);
        } else {
            next.insert(setting.key.to_string(), (*value).clone());
        }
    }
    overlay(startup, &next)?;
    let defaults = startup_values(startup);
    let (mut before, mut after) = (Map::new(), Map::new());
    for (setting, value) in &checked {
        let was = stored
            .get(setting.key)
            .cloned()
            .or_else(|| defaults.get(setting.key).cloned())
            .unwrap_or(Value::Null);
        before.insert(setting.key.into(), setting.shown(&was));
        if value.is_null() {
            system_config::remove(&txn, setting.key).await?;
            let restored = defaults.get(setting.key).cloned().unwrap_or(Value::Null);
            after.insert(setting.key.into(), setting.shown(&restored));
        } else {
            system_config::put(
                &txn,
                startup,
                setting.key,
                value,
                setting.secret,
                Some(actor.id),
            )
            .await?;
            after.insert(setting.key.into(), setting.shown(value));
        }
    }
    let keys: Vec<&str> = checked.iter().map(|(s, _)| s.key).collect();
    audit::record_in(
        &txn,
        actor,
        "settings.changed",
        ("settings", keys.join(",")),
        Value::Object(before),
        Value::Object(after),
    )
    .await?;
    txn.commit().await?;
    services.settings.invalidate();
    tracing::info!(admin = %actor.id, keys = ?keys, "settings changed by an admin");
    list(services).await
}
