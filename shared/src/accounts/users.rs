//! Users: creation (with the one-time free credits), profiles and settings, roles.

pub use crate::entities::users::{Role, SubscriptionTier, UserStatus};

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, sea_query::OnConflict,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    Config,
    entities::users,
    money::credits::{self, Entry, TxKind},
    platform::error::{AppError, AppResult},
};

/// Lower-cased and trimmed; rejects what is not an email address.
pub fn normalize_email(email: &str) -> AppResult<String> {
    let email = email.trim().to_lowercase();
    if email.len() > 254 || email.parse::<lettre::Address>().is_err() {
        return Err(AppError::validation_as(
            crate::ErrorCode::InvalidEmail,
            "email",
            "is not a valid email address",
        ));
    }
    Ok(email)
}

/// Notification preferences the settings pages toggle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Notifications {
    pub call_summaries: bool,
    /// Emails when the balance runs low (the frontend's `low_credit_alerts`).
    pub low_balance: bool,
    pub weekly_report: bool,
    pub product_updates: bool,
    pub credits_added_emails: bool,
    pub campaign_summary_emails: bool,
    pub email_verification_reminders: bool,
}

impl Default for Notifications {
    fn default() -> Self {
        Self {
            call_summaries: true,
            low_balance: true,
            weekly_report: true,
            product_updates: false,
            credits_added_emails: true,
            campaign_summary_emails: true,
            email_verification_reminders: true,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub notifications: Notifications,
    pub openai_prompts: OpenAiPrompts,
}

/// The OpenAI stored-prompt ids a user chose for their call analysis (`pmpt_…`), from the
/// settings page. Kept as the user's choice; nothing in the pipeline calls OpenAI yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OpenAiPrompts {
    pub individual: Option<String>,
    pub complete: Option<String>,
}

impl OpenAiPrompts {
    /// Each id empty (cleared) or an OpenAI prompt id: `pmpt_` and letters, digits, `_`, `-`.
    pub fn checked(self) -> AppResult<Self> {
        let check = |field: &str, id: Option<String>| -> AppResult<Option<String>> {
            let Some(id) = id.map(|i| i.trim().to_string()).filter(|i| !i.is_empty()) else {
                return Ok(None);
            };
            let ok = id.len() <= 100
                && id.strip_prefix("pmpt_").is_some_and(|rest| {
                    !rest.is_empty()
                        && rest
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                });
            if ok {
                Ok(Some(id))
            } else {
                Err(AppError::validation(
                    field,
                    "must be an OpenAI prompt id like pmpt_68b1c2…",
                ))
            }
        };
        Ok(Self {
            individual: check("openai_individual_prompt_id", self.individual)?,
            complete: check("openai_complete_prompt_id", self.complete)?,
        })
    }
}

impl Settings {
    pub fn of(user: &users::Model) -> Self {
        serde_json::from_value(user.settings.clone()).unwrap_or_default()
    }
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub external_id: Option<String>,
    /// `email` for built-in accounts; the identity provider's name otherwise.
    pub auth_provider: String,
    pub password_hash: Option<String>,
    pub name: Option<String>,
    pub email_verified: bool,
    /// The Google account (`sub`) of a user who signs up with Google.
    pub google_subject: Option<String>,
}

/// Inserts the user unless one with the same email or external id exists, inside the caller's
/// transaction; a new user gets the free credits (`signup:<id>`) in the same transaction, so
/// the row and the grant exist together or not at all. Returns the row and whether it is new.
pub async fn create_in<C: ConnectionTrait>(
    txn: &C,
    config: &Config,
    new: NewUser,
) -> AppResult<(users::Model, bool)> {
    let now = Utc::now();
    let id = crate::platform::ids::next();
    let row = users::ActiveModel {
        id: Set(id),
        email: Set(new.email.clone()),
        external_id: Set(new.external_id.clone()),
        auth_provider: Set(new.auth_provider),
        password_hash: Set(new.password_hash),
        name: Set(new.name),
        company: Set(None),
        phone: Set(None),
        timezone: Set("UTC".into()),
        default_region: Set("US".into()),
        settings: Set(serde_json::to_value(Settings::default()).unwrap_or_default()),
        role: Set(Role::User),
        status: Set(UserStatus::Active),
        suspended_reason: Set(None),
        email_verified_at: Set(new.email_verified.then_some(now)),
        failed_logins: Set(0),
        locked_until: Set(None),
        credits: Set(0),
        last_seen_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        session_epoch: Set(0),
        website: Set(None),
        location: Set(None),
        bio: Set(None),
        google_subject: Set(new.google_subject.clone()),
        subscription_tier: Set(users::SubscriptionTier::Free),
        concurrent_calls_limit: Set(None),
    };
    // No conflict target: a clash on the email or on the external id both mean "exists".
    let created = match users::Entity::insert(row)
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .exec(txn)
        .await
    {
        Ok(_) => true,
        Err(sea_orm::DbErr::RecordNotInserted) => false,
        Err(e) => return Err(e.into()),
    };
    let user = match &new.external_id {
        Some(ext) => {
            users::Entity::find()
                .filter(users::Column::ExternalId.eq(ext.as_str()))
                .one(txn)
                .await?
        }
        None => {
            users::Entity::find()
                .filter(users::Column::Email.eq(new.email.as_str()))
                .one(txn)
                .await?
        }
    };
    let user = user.ok_or_else(|| {
        // The email belongs to another account than this external id.
        AppError::conflict("email_taken", "an account with this email already exists")
    })?;
    if created && config.billing.free_credits > 0 {
        credits::apply_in(
            txn,
            Entry::new(
                user.id,
                TxKind::Bonus,
                config.billing.free_credits,
                format!("signup:{}", user.id),
            )
            .describe("Welcome credits"),
        )
        .await?;
        let granted = users::Entity::find_by_id(user.id).one(txn).await?;
        return Ok((granted.unwrap_or(user), true));
    }
    Ok((user, created))
}

/// Finds or creates the user of an external identity (Stack Auth). Safe under concurrent first
/// requests: one row, one grant.
pub async fn ensure_external(
    db: &DatabaseConnection,
    config: &Config,
    new: NewUser,
) -> AppResult<users::Model> {
    let ext = new
        .external_id
        .clone()
        .ok_or_else(|| AppError::internal("external id required"))?;
    if let Some(user) = users::Entity::find()
        .filter(users::Column::ExternalId.eq(ext.as_str()))
        .one(db)
        .await?
    {
        return Ok(user);
    }
    let txn = crate::platform::db::begin_write(db).await?;
    let (user, _) = create_in(&txn, config, new).await?;
    txn.commit().await?;
    Ok(user)
}

pub async fn get_in<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<users::Model> {
    users::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("user"))
}

pub async fn get(db: &DatabaseConnection, id: Uuid) -> AppResult<users::Model> {
    users::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("user"))
}

/// Changes a user's profile fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    pub name: Option<String>,
    pub company: Option<String>,
    pub website: Option<String>,
    pub location: Option<String>,
    pub bio: Option<String>,
    pub phone: Option<String>,
    pub timezone: Option<String>,
    pub default_region: Option<String>,
    pub notifications: Option<Notifications>,
    pub openai_prompts: Option<OpenAiPrompts>,
}

fn bounded(field: &str, value: String, max: usize) -> AppResult<Option<String>> {
    let value = value.trim().to_string();
    if value.chars().count() > max {
        return Err(AppError::validation(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok((!value.is_empty()).then_some(value))
}

pub async fn update_profile(
    db: &DatabaseConnection,
    user_id: Uuid,
    update: ProfileUpdate,
) -> AppResult<users::Model> {
    let user = get(db, user_id).await?;
    Ok(profile_change(&user, update)?.update(db).await?)
}

/// `update` checked and applied to `user`, ready to save (the owner's edit and an admin's).
pub fn profile_change(user: &users::Model, update: ProfileUpdate) -> AppResult<users::ActiveModel> {
    let region = update
        .default_region
        .clone()
        .unwrap_or_else(|| user.default_region.clone());
    let mut active: users::ActiveModel = user.clone().into();
    if let Some(name) = update.name {
        active.name = Set(bounded("name", name, 120)?);
    }
    if let Some(company) = update.company {
        active.company = Set(bounded("company", company, 120)?);
    }
    if let Some(website) = update.website {
        let website = bounded("website", website, 200)?;
        if let Some(site) = &website {
            let ok = url_like(site);
            if !ok {
                return Err(AppError::validation(
                    "website",
                    "must be a web address like https://example.com",
                ));
            }
        }
        active.website = Set(website);
    }
    if let Some(location) = update.location {
        active.location = Set(bounded("location", location, 100)?);
    }
    if let Some(bio) = update.bio {
        active.bio = Set(bounded("bio", bio, 500)?);
    }
    if let Some(region) = &update.default_region {
        let region = region.trim().to_ascii_uppercase();
        if region.parse::<phonenumber::country::Id>().is_err() {
            return Err(AppError::validation(
                "default_region",
                "must be an ISO 3166 country code like US or GB",
            ));
        }
        active.default_region = Set(region);
    }
    if let Some(phone) = update.phone {
        let phone = phone.trim();
        active.phone = Set(if phone.is_empty() {
            None
        } else {
            Some(crate::contacts::phone::normalize("phone", phone, &region)?)
        });
    }
    if let Some(tz) = update.timezone {
        if tz.parse::<chrono_tz::Tz>().is_err() {
            return Err(AppError::validation(
                "timezone",
                "must be an IANA time zone like Europe/Paris",
            ));
        }
        active.timezone = Set(tz);
    }
    if update.notifications.is_some() || update.openai_prompts.is_some() {
        let mut settings = Settings::of(user);
        if let Some(notifications) = update.notifications {
            settings.notifications = notifications;
        }
        if let Some(prompts) = update.openai_prompts {
            settings.openai_prompts = prompts.checked()?;
        }
        active.settings = Set(serde_json::to_value(settings).unwrap_or_default());
    }
    active.updated_at = Set(Utc::now());
    Ok(active)
}

/// An http(s) address with a host that has a dot and no spaces.
fn url_like(site: &str) -> bool {
    let rest = site
        .strip_prefix("https://")
        .or_else(|| site.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        host.contains('.') && !host.starts_with('.') && !rest.contains(char::is_whitespace)
    })
}

/// Whether `ADMIN_EMAILS` names this user. Only a verified address counts: otherwise anyone
/// could register an admin's address first.
pub fn listed_as_admin(config: &Config, user: &users::Model) -> bool {
    !user.role.is_admin()
        && user.email_verified_at.is_some()
        && config
            .auth
            .admin_emails
            .iter()
            .any(|a| a.trim().eq_ignore_ascii_case(&user.email))
}

/// Sets the admin role (from `ADMIN_EMAILS` on authentication).
pub async fn make_admin(db: &DatabaseConnection, user: users::Model) -> AppResult<users::Model> {
    let mut active: users::ActiveModel = user.into();
    active.role = Set(Role::Admin);
    active.updated_at = Set(Utc::now());
    let user = active.update(db).await?;
    tracing::info!(user_id = %user.id, "promoted to admin by ADMIN_EMAILS");
    Ok(user)
}

/// Gives the account with this email an admin role, `admin` or `super_admin` (the
/// `api create-admin` command).
pub async fn promote_admin(
    db: &DatabaseConnection,
    email: &str,
    role: Role,
) -> AppResult<users::Model> {
    if !role.is_admin() {
        return Err(AppError::validation("role", "must be admin or super_admin"));
    }
    let email = normalize_email(email)?;
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    let mut active: users::ActiveModel = user.into();
    active.role = Set(role);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}
