//! Reports generated and emailed on a schedule (Reports > Scheduler). Each run covers as
//! many days as the report's range, up to the day before the run, and emails every recipient
//! a download link that works for [`SCHEDULED_LINK_DAYS`]. A due schedule is claimed by moving
//! `next_run_at` on (compare-and-set) in the transaction that records the report and queues its
//! emails: a run happens once however many workers sweep, and a crash leaves it due.

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use lettre::message::Mailbox;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{ReportInput, ReportSpec, store};
use crate::{
    Services,
    accounts::audit::{self, Actor},
    entities::report_schedules::{self as schedules, Frequency},
    platform::{
        after_commit::AfterCommit,
        email::{OutgoingEmail, queue_email_in},
        error::{AppError, AppResult},
    },
};

/// How long an emailed link works.
pub const SCHEDULED_LINK_DAYS: i64 = 7;
pub const MAX_RECIPIENTS: usize = 20;
pub const MAX_SCHEDULES: u64 = 200;

/// The scheduler's form; `None` leaves a field as it is (on creation: the default).
#[derive(Debug, Clone, Default)]
pub struct ScheduleInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub report: Option<ReportInput>,
    pub frequency: Option<Frequency>,
    pub time: Option<String>,
    pub day_of_week: Option<i64>,
    pub day_of_month: Option<i64>,
    pub timezone: Option<String>,
    pub recipients: Option<Vec<String>>,
    pub is_active: Option<bool>,
}

fn checked_time(t: &str) -> AppResult<NaiveTime> {
    NaiveTime::parse_from_str(t.trim(), "%H:%M")
        .map_err(|_| AppError::validation("schedule.time", "must be HH:MM (24-hour)"))
}

fn checked_recipients(list: &[String]) -> AppResult<Vec<String>> {
    let list: Vec<String> = list
        .iter()
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect();
    if list.is_empty() || list.len() > MAX_RECIPIENTS {
        return Err(AppError::validation(
            "recipients",
            format!("1 to {MAX_RECIPIENTS} email addresses"),
        ));
    }
    for r in &list {
        if r.parse::<Mailbox>().is_err() {
            return Err(AppError::validation(
                "recipients",
                format!("`{r}` is not an email address"),
            ));
        }
    }
    Ok(list)
}

/// The first run strictly after `after`.
pub fn next_run(s: &schedules::Model, after: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    let tz = crate::dashboard::period::parse_tz(&s.timezone)?;
    let time = checked_time(&s.time_of_day)?;
    let today = after.with_timezone(&tz).date_naive();
    for offset in 0..=62u64 {
        let day = today + Days::new(offset);
        let due = match s.frequency {
            Frequency::Daily => true,
            Frequency::Weekly => {
                i64::from(day.weekday().num_days_from_sunday())
                    == i64::from(s.day_of_week.unwrap_or(1))
            }
            Frequency::Monthly => {
                let last = last_day(day);
                u32::from(s.day_of_month.unwrap_or(1).clamp(1, 31) as u16).min(last) == day.day()
            }
        };
        if !due {
            continue;
        }
        // A time skipped by a clock change runs an hour later.
        let local = day.and_time(time);
        let at = tz.from_local_datetime(&local).earliest().or_else(|| {
            tz.from_local_datetime(&(local + Duration::hours(1)))
                .earliest()
        });
        if let Some(at) = at.map(|a| a.with_timezone(&Utc))
            && at > after
        {
            return Ok(at);
        }
    }
    Err(AppError::internal("no run within two months"))
}

fn last_day(day: NaiveDate) -> u32 {
    let first_next = if day.month() == 12 {
        NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(day.year(), day.month() + 1, 1)
    };
    first_next.map_or(28, |d| (d - Days::new(1)).day())
}

fn spec_of(s: &schedules::Model) -> AppResult<ReportSpec> {
    serde_json::from_str(&s.definition).map_err(AppError::internal)
}

fn snapshot(s: &schedules::Model) -> serde_json::Value {
    json!({"name": s.name, "frequency": s.frequency, "time": s.time_of_day,
           "day_of_week": s.day_of_week, "day_of_month": s.day_of_month, "timezone": s.timezone,
           "recipients": serde_json::from_str::<serde_json::Value>(&s.recipients).unwrap_or_default(),
           "is_active": s.is_active})
}

/// Applies `input` to `s` (a new schedule or a stored one) and checks the result.
fn apply(s: &mut schedules::Model, input: ScheduleInput) -> AppResult<()> {
    if let Some(name) = input.name {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AppError::validation("name", "must be 1 to 200 characters"));
        }
        s.name = name.into();
    }
    if let Some(d) = input.description {
        if d.chars().count() > 2000 {
            return Err(AppError::validation(
                "description",
                "at most 2000 characters",
            ));
        }
        s.description = d.trim().into();
    }
    if let Some(mut report) = input.report {
        if report.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            report.name = Some(s.name.clone());
        }
        let spec = ReportSpec::parse(report, true, ReportSpec::today())
            .map_err(|e| AppError::validation("reportConfig", e.public_message()))?;
        s.definition = serde_json::to_string(&spec).map_err(AppError::internal)?;
    }
    if let Some(f) = input.frequency {
        s.frequency = f;
    }
    if let Some(t) = input.time {
        s.time_of_day = checked_time(&t)?.format("%H:%M").to_string();
    }
    if let Some(d) = input.day_of_week {
        if !(0..=6).contains(&d) {
            return Err(AppError::validation(
                "schedule.dayOfWeek",
                "must be 0 (Sunday) to 6",
            ));
        }
        s.day_of_week = Some(d as i16);
    }
    if let Some(d) = input.day_of_month {
        if !(1..=31).contains(&d) {
            return Err(AppError::validation(
                "schedule.dayOfMonth",
                "must be 1 to 31",
            ));
        }
        s.day_of_month = Some(d as i16);
    }
    if let Some(tz) = input.timezone {
        crate::dashboard::period::parse_tz(tz.trim())
            .map_err(|_| AppError::validation("schedule.timezone", "not an IANA time zone"))?;
        s.timezone = tz.trim().into();
    }
    if let Some(r) = input.recipients {
        s.recipients =
            serde_json::to_string(&checked_recipients(&r)?).map_err(AppError::internal)?;
    }
    if let Some(on) = input.is_active {
        s.is_active = on;
    }
    if s.definition.is_empty() {
        return Err(AppError::validation(
            "reportConfig",
            "build the report to schedule first",
        ));
    }
    if s.recipients == "[]" || s.recipients.is_empty() {
        return Err(AppError::validation(
            "recipients",
            "add at least one email address",
        ));
    }
    s.next_run_at = if s.is_active {
        Some(next_run(s, Utc::now())?)
    } else {
        None
    };
    Ok(())
}

pub async fn list(services: &Services) -> AppResult<Vec<schedules::Model>> {
    Ok(schedules::Entity::find()
        .order_by_desc(schedules::Column::CreatedAt)
        .limit(MAX_SCHEDULES)
        .all(&services.db)
        .await?)
}

async fn find(services: &Services, id: Uuid) -> AppResult<schedules::Model> {
    schedules::Entity::find_by_id(id)
        .one(&services.db)
        .await?
        .ok_or(AppError::not_found("report_schedule"))
}

pub async fn create(
    services: &Services,
    actor: &Actor,
    input: ScheduleInput,
) -> AppResult<schedules::Model> {
    if input.name.is_none() {
        return Err(AppError::validation("name", "give the schedule a name"));
    }
    let now = Utc::now();
    let mut s = schedules::Model {
        id: crate::platform::ids::next(),
        name: String::new(),
        description: String::new(),
        definition: String::new(),
        frequency: Frequency::Weekly,
        time_of_day: "09:00".into(),
        day_of_week: None,
        day_of_month: None,
        timezone: "UTC".into(),
        recipients: "[]".into(),
        is_active: true,
        next_run_at: None,
        last_run_at: None,
        last_error: None,
        created_by: actor.id,
        created_at: now,
        updated_at: now,
    };
    apply(&mut s, input)?;
    let txn = services.db.begin().await?;
    let saved = schedules::ActiveModel::from(s).insert(&txn).await?;
    audit::record_in(
        &txn,
        actor,
        "report_schedule.created",
        ("report_schedule", saved.id.to_string()),
        json!(null),
        snapshot(&saved),
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

pub async fn update(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    input: ScheduleInput,
) -> AppResult<schedules::Model> {
    let before = find(services, id).await?;
    let mut after = before.clone();
    apply(&mut after, input)?;
    after.updated_at = Utc::now();
    let txn = services.db.begin().await?;
    let mut active = before.clone().into_active_model();
    active.name = Set(after.name.clone());
    active.description = Set(after.description.clone());
    active.definition = Set(after.definition.clone());
    active.frequency = Set(after.frequency);
    active.time_of_day = Set(after.time_of_day.clone());
    active.day_of_week = Set(after.day_of_week);
    active.day_of_month = Set(after.day_of_month);
    active.timezone = Set(after.timezone.clone());
    active.recipients = Set(after.recipients.clone());
    active.is_active = Set(after.is_active);
    active.next_run_at = Set(after.next_run_at);
    active.updated_at = Set(after.updated_at);
    let saved = active.update(&txn).await?;
    audit::record_in(
        &txn,
        actor,
        "report_schedule.updated",
        ("report_schedule", id.to_string()),
        snapshot(&before),
        snapshot(&saved),
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

pub async fn delete(services: &Services, actor: &Actor, id: Uuid) -> AppResult<()> {
    let before = find(services, id).await?;
    let txn = services.db.begin().await?;
    schedules::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record_in(
        &txn,
        actor,
        "report_schedule.deleted",
        ("report_schedule", id.to_string()),
        snapshot(&before),
        json!(null),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// What one run produced.
#[derive(Debug)]
pub struct Run {
    pub report_id: Uuid,
    pub download_url: String,
    pub recipients: Vec<String>,
}

/// Runs the schedule now: records the report over the days up to yesterday and queues an
/// email to every recipient, in one transaction. `claim`: the `next_run_at` the sweeper saw,
/// so a run another worker made first is skipped (`Ok(None)`).
async fn run(
    services: &Services,
    s: &schedules::Model,
    claim: Option<DateTime<Utc>>,
    actor: &Actor,
) -> AppResult<Option<Run>> {
    let mut spec = spec_of(s)?;
    let span = (spec.to - spec.from).num_days().max(0) as u64;
    spec.to = Utc::now().date_naive() - Days::new(1);
    spec.from = spec.to - Days::new(span);
    let recipients: Vec<String> =
        serde_json::from_str(&s.recipients).map_err(AppError::internal)?;
    let config = services.settings().await;
    let now = Utc::now();
    let next = if s.is_active {
        Some(next_run(s, now)?)
    } else {
        None
    };
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let mut moved = schedules::Entity::update_many()
        .col_expr(schedules::Column::LastRunAt, Expr::value(Some(now)))
        .col_expr(
            schedules::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .filter(schedules::Column::Id.eq(s.id));
    if let Some(seen) = claim {
        moved = moved
            .col_expr(schedules::Column::NextRunAt, Expr::value(next))
            .filter(schedules::Column::NextRunAt.eq(seen));
    }
    if moved.exec(&txn).await?.rows_affected == 0 {
        return Ok(None);
    }
    let generated =
        store::generate_in(&txn, actor, &spec, Duration::days(SCHEDULED_LINK_DAYS)).await?;
    let url = store::download_url(&config, generated.report.id, &generated.token);
    let mut after = AfterCommit::default();
    for to in &recipients {
        let (_, job) = queue_email_in(
            &txn,
            &config,
            OutgoingEmail {
                user_id: None,
                to: to.clone(),
                subject: format!("Report: {}", s.name),
                text_body: format!(
                    "Your scheduled report \"{}\" for {} to {} (UTC) is ready:\n\n{url}\n\nThe link works for {SCHEDULED_LINK_DAYS} days.\n",
                    s.name, spec.from, spec.to
                ),
                html_body: None,
            },
        )
        .await?;
        after.ring(job);
    }
    after.commit(services, txn).await?;
    Ok(Some(Run {
        report_id: generated.report.id,
        download_url: url,
        recipients,
    }))
}

/// "Run now" from the scheduler (the schedule keeps its next run).
pub async fn run_now(services: &Services, actor: &Actor, id: Uuid) -> AppResult<Run> {
    let s = find(services, id).await?;
    run(services, &s, None, actor)
        .await?
        .ok_or(AppError::not_found("report_schedule"))
}

/// Runs up to `limit` due schedules; returns how many ran. Called by the worker's sweeper.
pub async fn run_due(services: &Services, limit: u64) -> AppResult<usize> {
    let due = schedules::Entity::find()
        .filter(schedules::Column::IsActive.eq(true))
        .filter(schedules::Column::NextRunAt.lte(Utc::now()))
        .order_by_asc(schedules::Column::NextRunAt)
        .limit(limit)
        .all(&services.db)
        .await?;
    let mut ran = 0;
    for s in due {
        // Runs are recorded in the log as their author's, from the scheduler.
        let actor = Actor {
            id: s.created_by,
            ip: None,
            request_id: Some(format!("report_schedule:{}", s.id)),
        };
        match run(services, &s, s.next_run_at, &actor).await {
            Ok(Some(_)) => ran += 1,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(schedule = %s.id, error = %e, "scheduled report failed");
                // Keep the error for the screen and try again at the next occurrence.
                let next = next_run(&s, Utc::now()).ok();
                schedules::Entity::update_many()
                    .col_expr(
                        schedules::Column::LastError,
                        Expr::value(Some(e.public_message())),
                    )
                    .col_expr(schedules::Column::NextRunAt, Expr::value(next))
                    .filter(schedules::Column::Id.eq(s.id))
                    .filter(schedules::Column::NextRunAt.eq(s.next_run_at))
                    .exec(&services.db)
                    .await?;
            }
        }
    }
    Ok(ran)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(frequency: Frequency, time: &str, tz: &str) -> schedules::Model {
        schedules::Model {
            id: Uuid::nil(),
            name: "r".into(),
            description: String::new(),
            definition: String::new(),
            frequency,
            time_of_day: time.into(),
            day_of_week: Some(1),
            day_of_month: Some(31),
            timezone: tz.into(),
            recipients: "[]".into(),
            is_active: true,
            next_run_at: None,
            last_run_at: None,
            last_error: None,
            created_by: Uuid::nil(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn runs_fall_on_the_local_day_and_time() {
        // Wednesday 2 December 2026, 10:00 UTC.
        let now = at("2026-12-02T10:00:00Z");
        let daily = schedule(Frequency::Daily, "09:00", "UTC");
        assert_eq!(next_run(&daily, now).unwrap(), at("2026-12-03T09:00:00Z"));
        // 09:00 in New York is 14:00 UTC: still today.
        let ny = schedule(Frequency::Daily, "09:00", "America/New_York");
        assert_eq!(next_run(&ny, now).unwrap(), at("2026-12-02T14:00:00Z"));
        // Mondays.
        let weekly = schedule(Frequency::Weekly, "08:30", "UTC");
        assert_eq!(next_run(&weekly, now).unwrap(), at("2026-12-07T08:30:00Z"));
        // The 31st, or the month's last day.
        let monthly = schedule(Frequency::Monthly, "00:00", "UTC");
        assert_eq!(next_run(&monthly, now).unwrap(), at("2026-12-31T00:00:00Z"));
        assert_eq!(
            next_run(&monthly, at("2027-01-31T01:00:00Z")).unwrap(),
            at("2027-02-28T00:00:00Z")
        );
    }
}
