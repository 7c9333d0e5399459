//! Admin > Phone numbers: the ElevenLabs workspace's numbers brought onto the platform and
//! assigned to agents. A number is added by its E.164 form and must be one of the
//! workspace's (ElevenLabs imports numbers from Twilio or a SIP trunk with credentials this
//! screen does not ask for). Assigning sets the agent's outbound number here and its inbound
//! routing on ElevenLabs; ElevenLabs is told first, so a failure there changes nothing here and
//! a repeat converges. Every change is audited.

use chrono::Utc;
use reqwest::Method;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    Services,
    accounts::audit::{self, Actor},
    agents::elevenlabs::{ElevenLabs, Retry},
    entities::{agents, phone_numbers as numbers, users},
    platform::error::{AppError, AppResult},
};

/// Most numbers one page lists.
pub const MAX_PAGE: u64 = 100;

#[derive(Debug, Clone, Default)]
pub struct NumberQuery {
    /// Part of the name or the number.
    pub search: Option<String>,
    pub active: Option<bool>,
    pub assigned: Option<bool>,
    pub created_by: Option<Uuid>,
    pub page: u64,
    pub limit: u64,
}

/// A number with its agent, the agent's owner and the admin who added it.
#[derive(Debug, Clone)]
pub struct NumberView {
    pub number: numbers::Model,
    pub agent: Option<agents::Model>,
    pub owner: Option<users::Model>,
    pub created_by: Option<users::Model>,
}

fn checked_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::validation("name", "must be 1 to 100 characters"));
    }
    Ok(name.to_string())
}

fn checked_number(raw: &str) -> AppResult<String> {
    let raw = raw.trim();
    // The screen asks for E.164; a number pasted without its `+` is still read as one.
    let plus = if raw.starts_with('+') {
        raw.to_string()
    } else {
        format!("+{raw}")
    };
    let digits = plus[1..].chars().filter(char::is_ascii_digit).count();
    let clean = plus[1..]
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.'));
    if !clean || !(2..=15).contains(&digits) || plus[1..].starts_with('0') {
        return Err(AppError::validation(
            "phone_number",
            "must be an E.164 number such as +14155550100",
        ));
    }
    Ok(format!(
        "+{}",
        plus[1..]
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
    ))
}

/// The workspace number with this E.164 form: its id and provider.
async fn in_workspace(services: &Services, e164: &str) -> AppResult<(String, String)> {
    let client = ElevenLabs::for_services(services).await?;
    let listed = client
        .request(
            Method::GET,
            "/v1/convai/phone-numbers",
            None,
            Retry::Idempotent,
            "phone_number",
        )
        .await?;
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    listed
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| {
            n.get("phone_number")
                .and_then(Value::as_str)
                .is_some_and(|p| digits(p) == digits(e164))
        })
        .and_then(|n| {
            Some((
                n.get("phone_number_id")?.as_str()?.to_string(),
                n.get("provider")
                    .and_then(Value::as_str)
                    .unwrap_or("twilio")
                    .to_string(),
            ))
        })
        .ok_or_else(|| {
            AppError::validation(
                "phone_number",
                "is not one of the ElevenLabs workspace's phone numbers; import it there first",
            )
        })
}

async fn taken<C: ConnectionTrait>(db: &C, e164: &str, except: Option<Uuid>) -> AppResult<()> {
    let mut q = numbers::Entity::find().filter(numbers::Column::PhoneNumber.eq(e164));
    if let Some(id) = except {
        q = q.filter(numbers::Column::Id.ne(id));
    }
    if q.count(db).await? > 0 {
        return Err(AppError::conflict(
            "phone_number_taken",
            "this number is already on the platform",
        ));
    }
    Ok(())
}

fn snapshot(n: &numbers::Model) -> Value {
    json!({"name": n.name, "phone_number": n.phone_number, "assigned_agent_id": n.assigned_agent_id,
           "is_active": n.is_active})
}

async fn find(services: &Services, id: Uuid) -> AppResult<numbers::Model> {
    numbers::Entity::find_by_id(id)
        .one(&services.db)
        .await?
        .ok_or(AppError::not_found("phone_number"))
}

async fn view_of(services: &Services, n: numbers::Model) -> AppResult<NumberView> {
    Ok(views(services, vec![n]).await?.remove(0))
}

async fn views(services: &Services, rows: Vec<numbers::Model>) -> AppResult<Vec<NumberView>> {
    let db = &services.db;
    let agent_ids: Vec<Uuid> = rows.iter().filter_map(|n| n.assigned_agent_id).collect();
    let agents: std::collections::HashMap<Uuid, agents::Model> = agents::Entity::find()
        .filter(agents::Column::Id.is_in(agent_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let user_ids: Vec<Uuid> = agents
        .values()
        .map(|a| a.user_id)
        .chain(rows.iter().map(|n| n.created_by))
        .collect();
    let people: std::collections::HashMap<Uuid, users::Model> = users::Entity::find()
        .filter(users::Column::Id.is_in(user_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(rows
        .into_iter()
        .map(|n| {
            let agent = n.assigned_agent_id.and_then(|a| agents.get(&a).cloned());
            NumberView {
                owner: agent.as_ref().and_then(|a| people.get(&a.user_id).cloned()),
                created_by: people.get(&n.created_by).cloned(),
                agent,
                number: n,
            }
        })
        .collect())
}

pub async fn list(services: &Services, q: &NumberQuery) -> AppResult<(Vec<NumberView>, u64)> {
    let mut find = numbers::Entity::find();
    if let Some(s) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        find = find.filter(
            Condition::any()
                .add(numbers::Column::Name.contains(s))
                .add(numbers::Column::PhoneNumber.contains(s)),
        );
    }
    if let Some(active) = q.active {
        find = find.filter(numbers::Column::IsActive.eq(active));
    }
    match q.assigned {
        Some(true) => find = find.filter(numbers::Column::AssignedAgentId.is_not_null()),
        Some(false) => find = find.filter(numbers::Column::AssignedAgentId.is_null()),
        None => {}
    }
    if let Some(by) = q.created_by {
        find = find.filter(numbers::Column::CreatedBy.eq(by));
    }
    let limit = q.limit.clamp(1, MAX_PAGE);
    let pages = find
        .order_by_desc(numbers::Column::CreatedAt)
        .order_by_desc(numbers::Column::Id)
        .paginate(&services.db, limit);
    let total = pages.num_items().await?;
    let rows = pages.fetch_page(q.page.max(1) - 1).await?;
    Ok((views(services, rows).await?, total))
}

/// Tells ElevenLabs which agent answers the number (`None`: none).
async fn route(
    services: &Services,
    n: &numbers::Model,
    agent: Option<&agents::Model>,
) -> AppResult<()> {
    let client = match agent {
        Some(a) => ElevenLabs::for_owner(services, a.user_id).await?,
        None => ElevenLabs::for_services(services).await?,
    };
    client
        .request(
            Method::PATCH,
            &format!("/v1/convai/phone-numbers/{}", n.elevenlabs_phone_number_id),
            Some(&json!({"agent_id": agent.and_then(|a| a.elevenlabs_agent_id.clone())})),
            Retry::Idempotent,
            "phone_number",
        )
        .await?;
    Ok(())
}

/// Points `agent` at the number here (and clears whatever it or the number had before).
async fn attach<C: ConnectionTrait>(
    txn: &C,
    n: &numbers::Model,
    agent: Option<&agents::Model>,
) -> AppResult<numbers::Model> {
    // The agent the number had stops calling from it.
    if let Some(previous) = n.assigned_agent_id {
        agents::Entity::update_many()
            .col_expr(
                agents::Column::PhoneNumberId,
                sea_orm::sea_query::Expr::value(Option::<String>::None),
            )
            .filter(agents::Column::Id.eq(previous))
            .filter(agents::Column::PhoneNumberId.eq(n.elevenlabs_phone_number_id.clone()))
            .exec(txn)
            .await?;
    }
    if let Some(a) = agent {
        // A number the agent had before is free again.
        numbers::Entity::update_many()
            .col_expr(
                numbers::Column::AssignedAgentId,
                sea_orm::sea_query::Expr::value(Option::<Uuid>::None),
            )
            .filter(numbers::Column::AssignedAgentId.eq(a.id))
            .filter(numbers::Column::Id.ne(n.id))
            .exec(txn)
            .await?;
        let mut active = a.clone().into_active_model();
        active.phone_number_id = Set(Some(n.elevenlabs_phone_number_id.clone()));
        active.updated_at = Set(Utc::now());
        active.update(txn).await?;
    }
    let mut active = n.clone().into_active_model();
    active.assigned_agent_id = Set(agent.map(|a| a.id));
    active.updated_at = Set(Utc::now());
    Ok(active.update(txn).await?)
}

async fn agent_for_number(services: &Services, id: Uuid) -> AppResult<agents::Model> {
    let agent = agents::Entity::find_by_id(id)
        .one(&services.db)
        .await?
        .ok_or(AppError::not_found("agent"))?;
    if agent.elevenlabs_agent_id.is_none() {
        return Err(AppError::conflict(
            "agent_not_synced",
            "the agent is not on ElevenLabs yet; retry once it is",
        ));
    }
    Ok(agent)
}

/// Adds a workspace number, optionally assigned at once.
pub async fn create(
    services: &Services,
    actor: &Actor,
    name: &str,
    phone_number: &str,
    agent_id: Option<Uuid>,
) -> AppResult<NumberView> {
    let name = checked_name(name)?;
    let e164 = checked_number(phone_number)?;
    taken(&services.db, &e164, None).await?;
    let agent = match agent_id {
        Some(id) => Some(agent_for_number(services, id).await?),
        None => None,
    };
    let (el_id, provider) = in_workspace(services, &e164).await?;
    let now = Utc::now();
    let model = numbers::Model {
        id: crate::platform::ids::next(),
        name,
        phone_number: e164,
        elevenlabs_phone_number_id: el_id.clone(),
        provider,
        assigned_agent_id: None,
        is_active: true,
        created_by: actor.id,
        created_at: now,
        updated_at: now,
    };
    if numbers::Entity::find()
        .filter(numbers::Column::ElevenlabsPhoneNumberId.eq(el_id))
        .count(&services.db)
        .await?
        > 0
    {
        return Err(AppError::conflict(
            "phone_number_taken",
            "this number is already on the platform",
        ));
    }
    if let Some(a) = &agent {
        route(services, &model, Some(a)).await?;
    }
    let txn = services.db.begin().await?;
    let mut saved = numbers::ActiveModel::from(model).insert(&txn).await?;
    if let Some(a) = &agent {
        saved = attach(&txn, &saved, Some(a)).await?;
    }
    audit::record_in(
        &txn,
        actor,
        "phone_number.created",
        ("phone_number", saved.id.to_string()),
        Value::Null,
        snapshot(&saved),
    )
    .await?;
    txn.commit().await?;
    view_of(services, saved).await
}

/// Renames a number or moves it to another workspace number (its agent follows).
pub async fn update(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    name: Option<&str>,
    phone_number: Option<&str>,
) -> AppResult<NumberView> {
    let current = find(services, id).await?;
    let mut active = current.clone().into_active_model();
    if let Some(name) = name {
        active.name = Set(checked_name(name)?);
    }
    let mut moved = None;
    if let Some(raw) = phone_number {
        let e164 = checked_number(raw)?;
        if e164 != current.phone_number {
            taken(&services.db, &e164, Some(id)).await?;
            let (el_id, provider) = in_workspace(services, &e164).await?;
            active.phone_number = Set(e164);
            active.elevenlabs_phone_number_id = Set(el_id.clone());
            active.provider = Set(provider);
            moved = Some(el_id);
        }
    }
    let agent = match current.assigned_agent_id {
        Some(a) => agents::Entity::find_by_id(a).one(&services.db).await?,
        None => None,
    };
    if let (Some(el_id), Some(a)) = (&moved, &agent) {
        let mut next = current.clone();
        next.elevenlabs_phone_number_id = el_id.clone();
        route(services, &next, Some(a)).await?;
        route(services, &current, None).await?;
    }
    active.updated_at = Set(Utc::now());
    let txn = services.db.begin().await?;
    let saved = active.update(&txn).await?;
    if let (Some(el_id), Some(a)) = (&moved, &agent) {
        let mut a = a.clone().into_active_model();
        a.phone_number_id = Set(Some(el_id.clone()));
        a.updated_at = Set(Utc::now());
        a.update(&txn).await?;
    }
    audit::record_in(
        &txn,
        actor,
        "phone_number.updated",
        ("phone_number", id.to_string()),
        snapshot(&current),
        snapshot(&saved),
    )
    .await?;
    txn.commit().await?;
    view_of(services, saved).await
}

/// Assigns the number to an agent of any account: it calls from it and answers it.
pub async fn assign(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    agent_id: Uuid,
) -> AppResult<NumberView> {
    let current = find(services, id).await?;
    if !current.is_active {
        return Err(AppError::conflict(
            "phone_number_inactive",
            "activate the number before assigning it",
        ));
    }
    let agent = agent_for_number(services, agent_id).await?;
    route(services, &current, Some(&agent)).await?;
    let txn = services.db.begin().await?;
    let saved = attach(&txn, &current, Some(&agent)).await?;
    audit::record_in(
        &txn,
        actor,
        "phone_number.assigned",
        ("phone_number", id.to_string()),
        snapshot(&current),
        snapshot(&saved),
    )
    .await?;
    txn.commit().await?;
    view_of(services, saved).await
}

/// Takes the number off its agent (and off its inbound routing).
pub async fn unassign(services: &Services, actor: &Actor, id: Uuid) -> AppResult<NumberView> {
    let current = find(services, id).await?;
    change(services, actor, current, "phone_number.unassigned", None).await
}

/// Switches a number on or off; off also takes it off its agent, so nothing calls from it.
pub async fn set_active(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    on: bool,
) -> AppResult<NumberView> {
    let current = find(services, id).await?;
    let action = if on {
        "phone_number.activated"
    } else {
        "phone_number.deactivated"
    };
    change(services, actor, current, action, Some(on)).await
}

async fn change(
    services: &Services,
    actor: &Actor,
    current: numbers::Model,
    action: &str,
    active: Option<bool>,
) -> AppResult<NumberView> {
    let unassigning = active != Some(true) && current.assigned_agent_id.is_some();
    if unassigning {
        route(services, &current, None).await?;
    }
    let txn = services.db.begin().await?;
    let mut saved = if unassigning {
        attach(&txn, &current, None).await?
    } else {
        current.clone()
    };
    if let Some(on) = active
        && saved.is_active != on
    {
        let mut a = saved.into_active_model();
        a.is_active = Set(on);
        a.updated_at = Set(Utc::now());
        saved = a.update(&txn).await?;
    }
    audit::record_in(
        &txn,
        actor,
        action,
        ("phone_number", current.id.to_string()),
        snapshot(&current),
        snapshot(&saved),
    )
    .await?;
    txn.commit().await?;
    view_of(services, saved).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_read_as_e164() {
        assert_eq!(
            super::checked_number("+1 (415) 555-0100").unwrap(),
            "+14155550100"
        );
        assert_eq!(
            super::checked_number("14155550100").unwrap(),
            "+14155550100"
        );
        for bad in [
            "",
            "+0123",
            "+1",
            "+1415555010012345",
            "call me",
            "+1 415 555 01OO",
        ] {
            assert!(super::checked_number(bad).is_err(), "{bad}");
        }
    }
}
