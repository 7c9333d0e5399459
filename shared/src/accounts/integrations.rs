//! Callbacks from ElevenLabs during a call: the conversation-initiation webhook (who is
//! calling: the contact's fields as the agent's dynamic variables) and a contact lookup for
//! agent tools. They authenticate with a per-user secret in a header, stored as a SHA-256
//! (the secret is 256 random bits, so a fast hash is enough); two may be active for rotation.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, sea_query::Expr,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::{
    accounts::auth::tokens::{hash_token, random_token},
    contacts,
    entities::{agents, contacts as contact_rows, integration_keys},
    platform::error::{AppError, AppResult},
};

/// The header ElevenLabs is configured to send.
pub const SECRET_HEADER: &str = "x-switchboard-secret";
const KEY_PREFIX: &str = "sbk_";
/// Active secrets per user: the new one and the one being rotated out.
const MAX_ACTIVE: usize = 2;

/// Creates a secret (shown once); the oldest beyond the two newest is revoked.
pub async fn create_key(
    db: &DatabaseConnection,
    user_id: Uuid,
) -> AppResult<(integration_keys::Model, String)> {
    let secret = format!("{KEY_PREFIX}{}", random_token());
    let txn = crate::platform::db::begin_write(db).await?;
    let row = integration_keys::ActiveModel {
        id: Set(crate::platform::ids::next()),
        user_id: Set(user_id),
        key_hash: Set(hash_token(&secret)),
        prefix: Set(secret.chars().take(KEY_PREFIX.len() + 6).collect()),
        last_used_at: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    let keys = integration_keys::Entity::find()
        .filter(integration_keys::Column::UserId.eq(user_id))
        .order_by_desc(integration_keys::Column::CreatedAt)
        .order_by_desc(integration_keys::Column::Id)
        .all(&txn)
        .await?;
    let stale: Vec<Uuid> = keys.iter().skip(MAX_ACTIVE).map(|k| k.id).collect();
    if !stale.is_empty() {
        integration_keys::Entity::delete_many()
            .filter(integration_keys::Column::Id.is_in(stale))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok((row, secret))
}

pub async fn list_keys(
    db: &DatabaseConnection,
    user_id: Uuid,
) -> AppResult<Vec<integration_keys::Model>> {
    Ok(integration_keys::Entity::find()
        .filter(integration_keys::Column::UserId.eq(user_id))
        .order_by_desc(integration_keys::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn revoke_key(db: &DatabaseConnection, user_id: Uuid, id: Uuid) -> AppResult<()> {
    let deleted = integration_keys::Entity::delete_many()
        .filter(integration_keys::Column::Id.eq(id))
        .filter(integration_keys::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(AppError::not_found("integration_key"));
    }
    Ok(())
}

/// The user a presented secret belongs to.
pub async fn authenticate(db: &DatabaseConnection, secret: Option<&str>) -> AppResult<Uuid> {
    let invalid = || {
        AppError::unauthorized(
            "invalid_integration_secret",
            format!("send a valid integration secret in the {SECRET_HEADER} header"),
        )
    };
    let secret = secret
        .filter(|s| s.starts_with(KEY_PREFIX))
        .ok_or_else(invalid)?;
    let key = integration_keys::Entity::find()
        .filter(integration_keys::Column::KeyHash.eq(hash_token(secret)))
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    // Written at most once a minute, to keep the lookup a single read while a call rings.
    let now = Utc::now();
    if key
        .last_used_at
        .is_none_or(|t| now - t > Duration::seconds(60))
    {
        let _ = integration_keys::Entity::update_many()
            .col_expr(integration_keys::Column::LastUsedAt, Expr::value(now))
            .filter(integration_keys::Column::Id.eq(key.id))
            .exec(db)
            .await;
    }
    Ok(key.user_id)
}

/// The `{{variable}}` placeholders in an agent's stored configuration (prompt, first message,
/// …), without ElevenLabs' own `system__` ones.
pub fn placeholders(config: &Value) -> BTreeSet<String> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::String(s) => {
                let mut rest = s.as_str();
                while let Some(start) = rest.find("{{") {
                    let after = &rest[start + 2..];
                    let Some(end) = after.find("}}") else { break };
                    let name = after[..end].trim();
                    let valid = !name.is_empty()
                        && name.len() <= 64
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if valid && !name.starts_with("system__") {
                        out.insert(name.to_string());
                    }
                    rest = &after[end + 2..];
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => map.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(config, &mut out);
    out
}

/// The answer to ElevenLabs' conversation-initiation webhook for `user_id`: every variable
/// the agent uses, filled from the caller's contact when known, else empty strings. Never an
/// error: a failed lookup must not break the call.
pub async fn conversation_init(db: &DatabaseConnection, user_id: Uuid, request: &Value) -> Value {
    let agent_id = request.get("agent_id").and_then(Value::as_str);
    let caller = request.get("caller_id").and_then(Value::as_str);
    let lookup = async {
        let agent = match agent_id {
            Some(id) => {
                agents::Entity::find()
                    .filter(agents::Column::UserId.eq(user_id))
                    .filter(agents::Column::ElevenlabsAgentId.eq(id))
                    .one(db)
                    .await?
            }
            None => None,
        };
        let contact = match caller {
            Some(raw) => find_by_phone(db, user_id, raw).await?,
            None => None,
        };
        Ok::<_, AppError>((agent, contact))
    };
    let (agent, contact) = match lookup.await {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(%error, "caller lookup failed; answering without variables");
            (None, None)
        }
    };
    let mut variables: Map<String, Value> = contacts::VARIABLES
        .iter()
        .map(|k| ((*k).to_string(), json!("")))
        .collect();
    if let Some(agent) = &agent {
        for name in placeholders(&agent.config) {
            variables.entry(name).or_insert_with(|| json!(""));
        }
    }
    if let Some(contact) = &contact {
        variables.extend(contacts::dynamic_variables(contact));
    }
    if let Some(raw) = caller {
        variables.insert("caller_id".into(), json!(raw));
    }
    tracing::info!(
        known_agent = agent.is_some(),
        known_caller = contact.is_some(),
        "caller lookup"
    );
    json!({
        "type": "conversation_initiation_client_data",
        "dynamic_variables": variables,
    })
}

/// The user's contact with this number, written in any format.
pub async fn find_by_phone(
    db: &DatabaseConnection,
    user_id: Uuid,
    raw: &str,
) -> AppResult<Option<contact_rows::Model>> {
    let region = contacts::region_of(db, user_id).await?;
    let Ok(phone) = crate::contacts::phone::normalize("phone", raw, &region) else {
        return Ok(None);
    };
    contacts::by_phone(db, user_id, &phone).await
}

/// Most numbers one batch lookup takes.
pub const MAX_LOOKUP_BATCH: usize = 100;

/// The contact-lookup tools' answer for one number: the contact, none, or why the number
/// cannot be read.
pub type Lookup = Result<Option<contact_rows::Model>, AppError>;

/// The user's contacts with these numbers (in any format), in one query; each number's answer
/// in the order given.
pub async fn lookup_phones(
    db: &DatabaseConnection,
    user_id: Uuid,
    raws: &[String],
) -> AppResult<Vec<Lookup>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    if raws.is_empty() || raws.len() > MAX_LOOKUP_BATCH {
        return Err(AppError::validation(
            "phones",
            format!("give 1 to {MAX_LOOKUP_BATCH} phone numbers"),
        ));
    }
    let region = contacts::region_of(db, user_id).await?;
    let numbers: Vec<AppResult<String>> = raws
        .iter()
        .map(|raw| crate::contacts::phone::normalize("phone", raw, &region))
        .collect();
    let wanted: Vec<&String> = numbers.iter().filter_map(|n| n.as_ref().ok()).collect();
    let found: std::collections::HashMap<String, contact_rows::Model> = if wanted.is_empty() {
        Default::default()
    } else {
        contact_rows::Entity::find()
            .filter(contact_rows::Column::UserId.eq(user_id))
            .filter(contact_rows::Column::PhoneE164.is_in(wanted.iter().map(|s| s.as_str())))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.phone_e164.clone(), c))
            .collect()
    };
    Ok(numbers
        .into_iter()
        .map(|n| n.map(|phone| found.get(&phone).cloned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_anywhere_in_the_config() {
        let config = json!({"conversation_config": {"agent": {
            "first_message": "Hi {{contact_name}}, about {{ plan }}?",
            "prompt": {"prompt": "Caller {{system__caller_id}} at {{company}}; {{bad name}} {{unclosed"}
        }}});
        let found: Vec<String> = placeholders(&config).into_iter().collect();
        assert_eq!(found, ["company", "contact_name", "plan"]);
    }
}
