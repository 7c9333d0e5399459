//! Lead Intelligence: the people who talked to the user's agents, grouped as the client's
//! screen groups them (by phone number, else e-mail, else one group per conversation), each
//! with its newest score and its timeline of conversations.
//!
//! Every caller with a number becomes a contact when the conversation is processed, so a
//! contact that has interacted is a group keyed by its number (or its e-mail when it has no
//! number); a conversation with nobody to attach it to (a web visitor who left no details)
//! is a group of its own.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Func},
};
use uuid::Uuid;

use super::leads::{self, LeadFilter, LeadRow};
use crate::{
    calls::{CallStatus, history},
    entities::{calls, contacts, lead_analytics},
    platform::{
        error::{AppError, AppResult},
        ids::UserId,
    },
};

/// The most groups the screen lists (the most recently active); it has no paging.
pub const GROUP_LIMIT: u64 = 1000;
/// The most conversations a group's timeline lists (the newest).
pub const TIMELINE_LIMIT: u64 = 200;

/// How a group is keyed, as its id's prefix says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKey {
    Phone(String),
    Email(String),
    Individual(Uuid),
}

impl GroupKey {
    /// `phone_<number>`, `email_<address>` or `individual_<call id>`; the key itself may
    /// contain `_`.
    pub fn parse(id: &str) -> AppResult<GroupKey> {
        let not_found = || AppError::not_found("lead");
        let (prefix, key) = id.split_once('_').ok_or_else(not_found)?;
        match prefix {
            "phone" if !key.is_empty() => Ok(GroupKey::Phone(key.to_string())),
            "email" if !key.is_empty() => Ok(GroupKey::Email(key.to_string())),
            "individual" => key
                .parse()
                .map(GroupKey::Individual)
                .map_err(|_| not_found()),
            _ => Err(not_found()),
        }
    }

    pub fn id(&self) -> String {
        match self {
            GroupKey::Phone(p) => format!("phone_{p}"),
            GroupKey::Email(e) => format!("email_{e}"),
            GroupKey::Individual(c) => format!("individual_{c}"),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            GroupKey::Phone(_) => "phone",
            GroupKey::Email(_) => "email",
            GroupKey::Individual(_) => "individual",
        }
    }
}

/// One lead group with what the row shows.
#[derive(Debug, Clone)]
pub struct LeadGroup {
    pub key: GroupKey,
    pub contact: Option<contacts::Model>,
    /// The newest conversation's lead score, if it was scored.
    pub latest: Option<lead_analytics::Model>,
    /// The newest conversation.
    pub last_call: Option<calls::Model>,
    pub agents: Vec<String>,
    pub interactions: i64,
    pub last_contact: DateTime<Utc>,
}

fn key_of(contact: &contacts::Model, fallback_call: Option<Uuid>) -> GroupKey {
    if !contact.phone_e164.trim().is_empty() {
        GroupKey::Phone(contact.phone_e164.clone())
    } else if let Some(email) = contact.email.as_ref().filter(|e| !e.trim().is_empty()) {
        GroupKey::Email(email.clone())
    } else {
        GroupKey::Individual(fallback_call.unwrap_or(contact.id))
    }
}

/// The user's lead groups, most recently active first, at most `GROUP_LIMIT`.
pub async fn groups(db: &DatabaseConnection, owner: UserId) -> AppResult<Vec<LeadGroup>> {
    let filter = LeadFilter {
        descending: true,
        ..Default::default()
    };
    let (rows, _) = leads::list(db, owner.0, &filter, 1, GROUP_LIMIT).await?;
    let last_calls = newest_calls(db, owner, &rows).await?;
    let mut out: Vec<LeadGroup> = rows
        .into_iter()
        .map(
            |LeadRow {
                 contact,
                 latest,
                 agents,
             }| {
                let last_call = last_calls.get(&contact.id).cloned();
                LeadGroup {
                    key: key_of(&contact, last_call.as_ref().map(|c| c.id)),
                    interactions: i64::from(contact.interaction_count),
                    last_contact: contact.last_interaction_at.unwrap_or(contact.updated_at),
                    agents: agents.into_iter().map(|(_, name)| name).collect(),
                    latest,
                    last_call,
                    contact: Some(contact),
                }
            },
        )
        .collect();
    // Conversations nobody could be attached to: a group each.
    let loose = calls::Entity::find()
        .filter(calls::Column::UserId.eq(owner))
        .filter(calls::Column::ContactId.is_null())
        .filter(calls::Column::Status.eq(CallStatus::Completed))
        .order_by_desc(calls::Column::CreatedAt)
        .order_by_desc(calls::Column::Id)
        .limit(GROUP_LIMIT)
        .all(db)
        .await?;
    for row in history::rows_of(db, loose).await? {
        out.push(LeadGroup {
            key: GroupKey::Individual(row.call.id),
            contact: None,
            latest: row.lead,
            agents: row.agent_name.into_iter().collect(),
            interactions: 1,
            last_contact: row.call.completed_at.unwrap_or(row.call.created_at),
            last_call: Some(row.call),
        });
    }
    // Converted leads are on the Customers tab, not here.
    let contact_ids: Vec<Uuid> = out
        .iter()
        .filter_map(|g| g.contact.as_ref().map(|c| c.id))
        .collect();
    let converted: std::collections::HashSet<Uuid> = if contact_ids.is_empty() {
        Default::default()
    } else {
        crate::entities::customers::Entity::find()
            .filter(crate::entities::customers::Column::UserId.eq(owner))
            .filter(crate::entities::customers::Column::ContactId.is_in(contact_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|c| c.contact_id)
            .collect()
    };
    out.retain(|g| {
        g.contact
            .as_ref()
            .is_none_or(|c| !converted.contains(&c.id))
    });
    out.sort_by_key(|g| std::cmp::Reverse(g.last_contact));
    out.truncate(GROUP_LIMIT as usize);
    Ok(out)
}

/// Each contact's newest finished conversation, in one query per page of contacts.
async fn newest_calls(
    db: &DatabaseConnection,
    owner: UserId,
    rows: &[LeadRow],
) -> AppResult<HashMap<Uuid, calls::Model>> {
    let latest_call_ids: Vec<Uuid> = rows
        .iter()
        .filter_map(|r| r.latest.as_ref().map(|l| l.call_id))
        .collect();
    let mut by_contact: HashMap<Uuid, calls::Model> = HashMap::new();
    for call in calls::Entity::find()
        .filter(calls::Column::UserId.eq(owner))
        .filter(calls::Column::Id.is_in(latest_call_ids))
        .all(db)
        .await?
    {
        if let Some(contact) = call.contact_id {
            by_contact.insert(contact, call);
        }
    }
    Ok(by_contact)
}

/// The conversations of a group, newest first, at most `TIMELINE_LIMIT`; another user's group
/// (or one that does not exist) is not found.
pub async fn timeline(
    db: &DatabaseConnection,
    owner: UserId,
    key: &GroupKey,
) -> AppResult<Vec<history::CallRow>> {
    if let GroupKey::Individual(call) = key {
        let call = crate::platform::owned::find::<calls::Entity, _>(db, owner, *call).await?;
        return history::rows_of(db, vec![call]).await;
    }
    let contact = contact_of_group(db, owner, key)
        .await?
        .ok_or_else(|| AppError::not_found("lead"))?;
    conversations_of(db, owner, contact.id).await
}

/// The contact a lead group stands for: by number, by e-mail (any case), or the one call's
/// contact; none for a visitor who left neither.
pub async fn contact_of_group(
    db: &DatabaseConnection,
    owner: UserId,
    key: &GroupKey,
) -> AppResult<Option<contacts::Model>> {
    let mine = contacts::Entity::find().filter(contacts::Column::UserId.eq(owner));
    Ok(match key {
        GroupKey::Individual(call) => {
            let call = crate::platform::owned::find::<calls::Entity, _>(db, owner, *call).await?;
            match call.contact_id {
                Some(id) => mine.filter(contacts::Column::Id.eq(id)).one(db).await?,
                None => None,
            }
        }
        GroupKey::Phone(phone) => {
            mine.filter(contacts::Column::PhoneE164.eq(phone.as_str()))
                .one(db)
                .await?
        }
        GroupKey::Email(email) => {
            mine.filter(ExprTrait::eq(
                Expr::expr(Func::lower(Expr::col(contacts::Column::Email))),
                email.to_lowercase(),
            ))
            .one(db)
            .await?
        }
    })
}

/// A contact's finished conversations, newest first, at most `TIMELINE_LIMIT`.
pub async fn conversations_of(
    db: &DatabaseConnection,
    owner: UserId,
    contact: Uuid,
) -> AppResult<Vec<history::CallRow>> {
    let calls = calls::Entity::find()
        .filter(calls::Column::UserId.eq(owner))
        .filter(calls::Column::ContactId.eq(contact))
        .filter(calls::Column::Status.eq(CallStatus::Completed))
        .order_by_desc(calls::Column::CreatedAt)
        .order_by_desc(calls::Column::Id)
        .limit(TIMELINE_LIMIT)
        .all(db)
        .await?;
    history::rows_of(db, calls).await
}

/// A lead as the lead profile opens it: one of the user's conversations by its id, or a
/// contact that has interacted by its id (then its newest conversation), with the contact.
pub async fn lead_by_id(
    db: &DatabaseConnection,
    owner: UserId,
    id: Uuid,
) -> AppResult<history::CallRow> {
    let call = match crate::platform::owned::find::<calls::Entity, _>(db, owner, id).await {
        Ok(call) => call,
        Err(AppError::NotFound { .. }) => {
            let contact = crate::platform::owned::find::<contacts::Entity, _>(db, owner, id)
                .await
                .map_err(|_| AppError::not_found("lead"))?;
            calls::Entity::find()
                .filter(calls::Column::UserId.eq(owner))
                .filter(calls::Column::ContactId.eq(contact.id))
                .filter(calls::Column::Status.eq(CallStatus::Completed))
                .order_by_desc(calls::Column::CreatedAt)
                .order_by_desc(calls::Column::Id)
                .one(db)
                .await?
                .ok_or_else(|| AppError::not_found("lead"))?
        }
        Err(e) => return Err(e),
    };
    history::rows_of(db, vec![call])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("lead"))
}

/// What the analytics of one conversation say, as the interaction details show them.
#[derive(Debug, Clone)]
pub struct CallInsight {
    pub call: calls::Model,
    pub lead: lead_analytics::Model,
    /// The CTAs the caller took, in words.
    pub cta_summary: Vec<String>,
    /// Signals of how engaged the caller was, from the call and its analytics.
    pub engagement_indicators: Vec<String>,
    /// The next steps (the agent's own recommendations when it gave some).
    pub recommendations: Vec<String>,
}

/// The CTA flags with the words the details use for them.
const CTA_WORDS: [(&str, &str); 6] = [
    ("pricing_clicked", "Asked about pricing"),
    ("demo_clicked", "Asked for a demo"),
    ("followup_clicked", "Agreed to a follow-up"),
    ("sample_clicked", "Asked for a sample"),
    ("website_clicked", "Visited the website"),
    ("escalated_to_human", "Asked to speak to a person"),
];

/// A reasoning the agent wrote: a string as it is; an object or list (some prompts nest
/// them) as its parts joined; nothing as empty.
pub fn reasoning_text(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(reasoning_text)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("; "),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k, reasoning_text(v)))
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// The analytics of one of the user's conversations; another user's, or one never scored, is
/// not found.
pub async fn call_insight(
    db: &DatabaseConnection,
    owner: UserId,
    call_id: Uuid,
) -> AppResult<CallInsight> {
    let call = crate::platform::owned::find::<calls::Entity, _>(db, owner, call_id).await?;
    let lead = crate::calls::lead_of(db, call.id)
        .await?
        .ok_or_else(|| AppError::not_found("analytics"))?;
    let contact = match call.contact_id {
        Some(id) => contacts::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let cta_summary = CTA_WORDS
        .iter()
        .filter(|(key, _)| lead.clicked(key))
        .map(|(_, words)| words.to_string())
        .collect();
    let mut engagement_indicators = Vec::new();
    if call.duration_secs > 0 {
        engagement_indicators.push(format!(
            "Talked for {}",
            crate::calls::presentation::spoken_duration(call.duration_secs)
        ));
    }
    for (label, level) in [
        ("Engagement", &lead.engagement_health),
        ("Intent", &lead.intent_level),
        ("Urgency", &lead.urgency_level),
    ] {
        if let Some(level) = level.as_ref().filter(|l| !l.trim().is_empty()) {
            engagement_indicators.push(format!("{label}: {level}"));
        }
    }
    if let Some(demo) = lead.demo_at {
        engagement_indicators.push(format!("Booked a demo for {}", demo.to_rfc3339()));
    }
    let recommendations = match &contact {
        Some(contact) => leads::next_actions(contact, Some(&lead))
            .into_iter()
            .map(|a| a.action)
            .collect(),
        None => Vec::new(),
    };
    Ok(CallInsight {
        call,
        lead,
        cta_summary,
        engagement_indicators,
        recommendations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_ids_round_trip_and_keys_may_hold_underscores() {
        let call = Uuid::nil();
        for key in [
            GroupKey::Phone("+14155550101".into()),
            GroupKey::Email("ana_ruiz@acme.example".into()),
            GroupKey::Individual(call),
        ] {
            assert_eq!(GroupKey::parse(&key.id()).unwrap(), key);
        }
        for bad in ["", "phone_", "nope_1", "individual_12", "plain"] {
            assert!(GroupKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reasoning_reads_as_text_whatever_its_shape() {
        use serde_json::json;
        assert_eq!(reasoning_text(&json!("Clear need")), "Clear need");
        assert_eq!(
            reasoning_text(&json!({"summary": "Wants it", "detail": ["soon", null]})),
            "detail: soon; summary: Wants it"
        );
        assert_eq!(reasoning_text(&json!(null)), "");
        assert_eq!(reasoning_text(&json!(3)), "3");
    }
}
