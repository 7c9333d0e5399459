//! Campaigns: an account's call agent calling a list of numbers inside a daily window in each
//! recipient's local time, under three caps (the campaign's, the account's, the platform's) and
//! the account's credits. The rules live here; the dialer (`dialer`) claims each dial in the
//! database before ElevenLabs is asked, so nothing is dialled twice.

pub mod dialer;
pub mod dials;
pub mod dnc;
pub mod estimate;
pub mod outcome;
pub mod progress;
pub mod window;
pub mod zones;

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    Services,
    accounts::auth::CurrentUser,
    agents::AgentStatus,
    entities::{
        calls::Channel,
        campaign_targets::{self as targets, TargetOutcome, TargetState},
        campaigns::{self, CampaignStatus, PauseReason},
        contacts,
    },
    platform::{
        db::Window as Page,
        error::{AppError, AppResult},
        ids,
        owned::{self, Owned},
    },
};
pub use window::Window;

impl Owned for campaigns::Entity {
    const WHAT: &'static str = "campaign";
    fn owner_column() -> Self::Column {
        campaigns::Column::UserId
    }
}

/// At most this many numbers in one campaign.
pub const MAX_TARGETS: usize = 10_000;
/// Attempts per number unless the campaign says otherwise (busy, no answer and failed calls are
/// tried again; a call that connected never is).
pub const DEFAULT_MAX_ATTEMPTS: i32 = 3;
/// Seconds between a number's attempts unless the campaign says otherwise.
pub const DEFAULT_RETRY_DELAY_SECS: i32 = 3_600;

/// What the Create Campaign form sends (the numbers come separately).
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub name: String,
    pub agent_id: Uuid,
    pub max_concurrent_calls: i32,
    pub first_call_time: String,
    pub last_call_time: String,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub next_action: String,
    pub priority: Option<i32>,
    pub max_attempts: Option<i32>,
    pub retry_delay_secs: Option<i32>,
}

/// A number to call, from a contact of the account's.
#[derive(Debug, Clone)]
struct Recipient {
    contact_id: Option<Uuid>,
    phone_e164: String,
    /// The contact asked not to be called.
    do_not_call: bool,
}

/// What creating a campaign did with its numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targeted {
    /// Numbers the campaign will call.
    pub queued: u64,
    /// Numbers it keeps but will not call (do-not-call).
    pub do_not_call: u64,
    /// A number given again (the same contact twice, or two contacts sharing it): called once.
    pub duplicates: u64,
}

const NEXT_ACTIONS: [&str; 3] = ["call", "message", "email"];

/// The checked form of a new campaign.
struct Checked {
    name: String,
    agent: crate::entities::agents::Model,
    window: Window,
    concurrency: i32,
    priority: i32,
    max_attempts: i32,
    retry_delay_secs: i32,
    next_action: String,
}

async fn checked(services: &Services, user: &CurrentUser, new: &NewCampaign) -> AppResult<Checked> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::validation("name", "a name of 1-200 characters"));
    }
    let agent = crate::agents::get(services, user, new.agent_id).await?;
    if agent.kind != Channel::Call {
        return Err(AppError::conflict(
            "agent_not_callable",
            "chat agents cannot place phone calls",
        ));
    }
    if agent.status != AgentStatus::Active {
        return Err(AppError::conflict(
            "agent_inactive",
            "activate the agent before it takes calls",
        ));
    }
    let limit = crate::calls::capacity(services, user.id).await?.limit;
    if new.max_concurrent_calls < 1 || new.max_concurrent_calls as u64 > limit {
        return Err(AppError::validation(
            "max_concurrent_calls",
            format!("between 1 and your limit of {limit} calls at once"),
        ));
    }
    let window = Window::new(
        window::parse_time("first_call_time", &new.first_call_time)?,
        window::parse_time("last_call_time", &new.last_call_time)?,
        new.start_date,
        new.end_date,
    )?;
    let next_action = new.next_action.trim().to_ascii_lowercase();
    if !NEXT_ACTIONS.contains(&next_action.as_str()) {
        return Err(AppError::validation(
            "next_action",
            "one of call, message, email",
        ));
    }
    let priority = new.priority.unwrap_or(5);
    if !(1..=10).contains(&priority) {
        return Err(AppError::validation("priority", "between 1 and 10"));
    }
    let max_attempts = new.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
    if !(1..=10).contains(&max_attempts) {
        return Err(AppError::validation("max_attempts", "between 1 and 10"));
    }
    let retry_delay_secs = new.retry_delay_secs.unwrap_or(DEFAULT_RETRY_DELAY_SECS);
    if !(60..=7 * 86_400).contains(&retry_delay_secs) {
        return Err(AppError::validation(
            "retry_delay_secs",
            "between 60 seconds and 7 days",
        ));
    }
    Ok(Checked {
        name: name.to_string(),
        agent,
        window,
        concurrency: new.max_concurrent_calls,
        priority,
        max_attempts,
        retry_delay_secs,
        next_action,
    })
}

/// A campaign calls 1 to `MAX_TARGETS` numbers.
fn check_size(numbers: usize) -> AppResult<()> {
    if numbers == 0 {
        return Err(AppError::validation(
            "contact_ids",
            "the campaign has no numbers to call: select at least one contact",
        ));
    }
    if numbers > MAX_TARGETS {
        return Err(AppError::validation(
            "contact_ids",
            format!("at most {MAX_TARGETS} numbers in one campaign"),
        ));
    }
    Ok(())
}

/// The account's contacts `ids` as recipients, in the order given (a contact listed twice, or
/// two contacts with one number, is counted as a duplicate at insert); an id that is not the
/// account's is a 404, so nothing is created from a list with another tenant's contact in it.
async fn recipients_of(
    db: &DatabaseConnection,
    user: &CurrentUser,
    ids: &[Uuid],
) -> AppResult<Vec<Recipient>> {
    check_size(ids.len())?;
    let wanted: HashSet<Uuid> = ids.iter().copied().collect();
    let mut found: HashMap<Uuid, contacts::Model> = HashMap::with_capacity(wanted.len());
    for chunk in wanted.iter().copied().collect::<Vec<_>>().chunks(500) {
        for contact in owned::of::<contacts::Entity>(user.owner())
            .filter(contacts::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            found.insert(contact.id, contact);
        }
    }
    if found.len() != wanted.len() {
        return Err(AppError::not_found("contact"));
    }
    Ok(ids
        .iter()
        .filter_map(|id| found.get(id))
        .map(|c| Recipient {
            contact_id: Some(c.id),
            phone_e164: c.phone_e164.clone(),
            do_not_call: c.do_not_call,
        })
        .collect())
}

/// Creates a `pending` campaign calling the account's contacts `contact_ids`, in one
/// transaction: the fields are checked first, then the contacts (another tenant's is a 404).
pub async fn create_from_contacts(
    services: &Services,
    user: &CurrentUser,
    new: NewCampaign,
    contact_ids: &[Uuid],
) -> AppResult<(campaigns::Model, Targeted)> {
    let c = checked(services, user, &new).await?;
    let recipients = recipients_of(&services.db, user, contact_ids).await?;
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let made = insert(&txn, user, c, recipients).await?;
    txn.commit().await?;
    Ok(made)
}

/// Creates a `pending` campaign calling the numbers of an uploaded file, read by the contact
/// importer's rules (new numbers become contacts), all in one transaction: a bad field or an
/// unreadable file changes nothing.
pub async fn create_from_file(
    services: &Services,
    user: &CurrentUser,
    new: NewCampaign,
    filename: &str,
    bytes: Vec<u8>,
) -> AppResult<(campaigns::Model, Targeted, crate::contacts::import::ReadNow)> {
    let c = checked(services, user, &new).await?;
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let read =
        crate::contacts::import::read_now(&txn, services, user.id, filename, bytes, MAX_TARGETS)
            .await?;
    let recipients = read
        .contacts
        .iter()
        .map(|(id, phone, dnc)| Recipient {
            contact_id: Some(*id),
            phone_e164: phone.clone(),
            do_not_call: *dnc,
        })
        .collect();
    let (campaign, targeted) = insert(&txn, user, c, recipients).await?;
    txn.commit().await?;
    Ok((campaign, targeted, read))
}

/// Writes the campaign and its numbers in the caller's transaction.
async fn insert<C: ConnectionTrait>(
    txn: &C,
    user: &CurrentUser,
    c: Checked,
    recipients: Vec<Recipient>,
) -> AppResult<(campaigns::Model, Targeted)> {
    check_size(recipients.len())?;
    let profile = crate::accounts::users::get_in(txn, user.id).await?;
    let account_zone: Tz = profile.timezone.parse().unwrap_or(chrono_tz::UTC);
    let blocked = dnc::numbers_of(txn, user.id).await?;
    let now = Utc::now();
    let id = ids::next();
    let mut targeted = Targeted::default();
    let mut numbers = HashSet::new();
    let mut rows = Vec::with_capacity(recipients.len());
    for r in recipients {
        if !numbers.insert(r.phone_e164.clone()) {
            targeted.duplicates += 1;
            continue;
        }
        let refused = r.do_not_call || blocked.contains(&r.phone_e164);
        if refused {
            targeted.do_not_call += 1;
        } else {
            targeted.queued += 1;
        }
        let zone = zones::of_number(&r.phone_e164).unwrap_or(account_zone);
        rows.push(targets::ActiveModel {
            id: Set(ids::next()),
            campaign_id: Set(id),
            user_id: Set(user.id),
            contact_id: Set(r.contact_id),
            phone_e164: Set(r.phone_e164),
            timezone: Set(zone.name().to_string()),
            state: Set(if refused {
                TargetState::Done
            } else {
                TargetState::Queued
            }),
            outcome: Set(refused.then_some(TargetOutcome::DoNotCall)),
            attempts: Set(0),
            next_attempt_at: Set(None),
            last_call_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        });
    }
    let campaign = campaigns::ActiveModel {
        id: Set(id),
        user_id: Set(user.id),
        agent_id: Set(c.agent.id),
        name: Set(c.name),
        status: Set(CampaignStatus::Pending),
        pause_reason: Set(None),
        priority: Set(c.priority),
        max_concurrent_calls: Set(c.concurrency),
        first_call_time: Set(c.window.first.format("%H:%M").to_string()),
        last_call_time: Set(c.window.last.format("%H:%M").to_string()),
        start_date: Set(c.window.start_date),
        end_date: Set(c.window.end_date),
        timezone: Set(account_zone.name().to_string()),
        next_action: Set(c.next_action),
        max_attempts: Set(c.max_attempts),
        retry_delay_secs: Set(c.retry_delay_secs),
        total_contacts: Set(rows.len() as i32),
        created_at: Set(now),
        started_at: Set(None),
        completed_at: Set(None),
        updated_at: Set(now),
    };
    let campaign = campaign.insert(txn).await?;
    // 13 values a row: 500 rows stay under SQLite's limit on bound values.
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(500).collect();
        targets::Entity::insert_many(chunk).exec(txn).await?;
    }
    tracing::info!(campaign = %campaign.id, queued = targeted.queued, do_not_call = targeted.do_not_call, "campaign created");
    Ok((campaign, targeted))
}

/// One of the account's campaigns.
pub async fn get(
    db: &DatabaseConnection,
    user: &CurrentUser,
    id: Uuid,
) -> AppResult<campaigns::Model> {
    owned::find::<campaigns::Entity, _>(db, user.owner(), id).await
}

/// The account's campaigns, newest first, with how many there are.
pub async fn list(
    db: &DatabaseConnection,
    user: &CurrentUser,
    status: Option<CampaignStatus>,
    page: Page,
) -> AppResult<(Vec<campaigns::Model>, u64)> {
    let mut q = owned::of::<campaigns::Entity>(user.owner());
    if let Some(status) = status {
        q = q.filter(campaigns::Column::Status.eq(status));
    }
    let total = q.clone().count(db).await?;
    let rows = q
        .order_by_desc(campaigns::Column::CreatedAt)
        .order_by_desc(campaigns::Column::Id)
        .offset(page.offset)
        .limit(page.limit)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// A change of a campaign's status from the screen's buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Pause,
    Resume,
    Cancel,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Cancel => "cancel",
        }
    }
}

/// Moves a campaign along: pending → active (start), active ⇄ paused, any unfinished one →
/// cancelled. Pause and cancel stop new dials at once (the dialer reads the status in the
/// transaction that claims a dial); calls in flight finish and are counted.
pub async fn act(
    services: &Services,
    user: &CurrentUser,
    id: Uuid,
    action: Action,
) -> AppResult<campaigns::Model> {
    use CampaignStatus as S;
    let db = &services.db;
    let txn = crate::platform::db::begin_write(db).await?;
    let campaign = crate::platform::db::one_for_update(
        &txn,
        campaigns::Entity::find_by_id(id).filter(campaigns::Column::UserId.eq(user.id)),
    )
    .await?
    .ok_or_else(|| AppError::not_found("campaign"))?;
    let next = match (action, campaign.status) {
        (Action::Start, S::Pending) | (Action::Resume, S::Paused) => S::Active,
        (Action::Pause, S::Active) => S::Paused,
        (Action::Cancel, S::Pending | S::Active | S::Paused) => S::Cancelled,
        (_, current) => {
            return Err(AppError::conflict(
                "campaign_state",
                format!("a {current} campaign cannot {}", action.verb()),
            ));
        }
    };
    if next == S::Active {
        // Starting into an empty balance would only pause it again at the first dial.
        crate::money::credits::require_positive_balance(&txn, user.id).await?;
    }
    let now = Utc::now();
    let mut row: campaigns::ActiveModel = campaign.clone().into();
    row.status = Set(next);
    row.pause_reason = Set((next == S::Paused).then_some(PauseReason::ByUser));
    row.updated_at = Set(now);
    if action == Action::Start {
        row.started_at = Set(Some(now));
        // Every queued number is due now; the dialer moves those outside their window to
        // its next opening the first time it looks at them.
        targets::Entity::update_many()
            .col_expr(targets::Column::NextAttemptAt, Expr::value(Some(now)))
            .filter(targets::Column::CampaignId.eq(id))
            .filter(targets::Column::State.eq(TargetState::Queued))
            .exec(&txn)
            .await?;
    }
    if next == S::Cancelled {
        row.completed_at = Set(Some(now));
        end_queued(
            &txn,
            targets::Column::CampaignId.eq(id),
            TargetOutcome::NotCalled,
        )
        .await?;
    }
    let campaign = row.update(&txn).await?;
    txn.commit().await?;
    tracing::info!(campaign = %id, status = %campaign.status, "campaign {}", action.verb());
    Ok(campaign)
}

/// Ends the queued numbers that `which` selects with `outcome`: nothing more is dialled to
/// them. A number being dialled is left to its call's end.
pub(crate) async fn end_queued<C: ConnectionTrait>(
    txn: &C,
    which: impl sea_orm::sea_query::IntoCondition,
    outcome: TargetOutcome,
) -> AppResult<()> {
    targets::Entity::update_many()
        .col_expr(targets::Column::State, Expr::value(TargetState::Done))
        .col_expr(targets::Column::Outcome, Expr::value(Some(outcome)))
        .col_expr(
            targets::Column::NextAttemptAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(targets::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(which)
        .filter(targets::Column::State.eq(TargetState::Queued))
        .exec(txn)
        .await?;
    Ok(())
}

/// Deletes a campaign that is not running (pending, completed or cancelled) with its numbers;
/// its calls stay in the call logs.
pub async fn delete(services: &Services, user: &CurrentUser, id: Uuid) -> AppResult<()> {
    let campaign = get(&services.db, user, id).await?;
    let running =
        || AppError::conflict("campaign_running", "cancel the campaign before deleting it");
    if matches!(
        campaign.status,
        CampaignStatus::Active | CampaignStatus::Paused
    ) {
        return Err(running());
    }
    // Only if it is still not running: a start that raced this delete wins.
    let deleted = campaigns::Entity::delete_many()
        .filter(campaigns::Column::Id.eq(id))
        .filter(campaigns::Column::UserId.eq(user.id))
        .filter(
            campaigns::Column::Status.is_not_in([CampaignStatus::Active, CampaignStatus::Paused]),
        )
        .exec(&services.db)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(running());
    }
    Ok(())
}
