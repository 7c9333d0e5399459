//! The signed-in user's own account, in the client's shapes: the session user (§3.6 of the
//! frontend contract), profile and password, balance and its warnings, notification
//! preferences.

use chrono::{DateTime, Utc};
use poem_openapi::{Object, OpenApi, payload::Json, types::MaybeUndefined};
use shared::entities::users::{Role, UserStatus};
use shared::{
    Services,
    accounts::users::{self, Notifications, ProfileUpdate, Settings},
    entities::users as user_rows,
};
use uuid::Uuid;

use crate::{
    api_errors,
    security::Auth,
    tags::Tag,
    wire::{Timestamp, ts},
};

/// Notification preferences.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NotificationSettings {
    pub call_summaries: bool,
    pub low_balance: bool,
    pub weekly_report: bool,
    pub product_updates: bool,
}

impl From<Notifications> for NotificationSettings {
    fn from(n: Notifications) -> Self {
        Self {
            call_summaries: n.call_summaries,
            low_balance: n.low_balance,
            weekly_report: n.weekly_report,
            product_updates: n.product_updates,
        }
    }
}

impl From<NotificationSettings> for Notifications {
    fn from(n: NotificationSettings) -> Self {
        Self {
            call_summaries: n.call_summaries,
            low_balance: n.low_balance,
            weekly_report: n.weekly_report,
            product_updates: n.product_updates,
            ..Notifications::default()
        }
    }
}

/// A user as the frontend shows it.
#[derive(Debug, Clone, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    /// Current credit balance (may be negative after a long call).
    pub credits: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// False when the account is suspended.
    pub is_active: bool,
    /// `email` for built-in accounts; `stack` (or the social provider) otherwise.
    pub auth_provider: String,
    pub role: Role,
    pub status: UserStatus,
    pub email_verified: bool,
    pub company: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    /// IANA time zone, e.g. `Europe/Paris`.
    pub timezone: String,
    /// ISO 3166 country used to read phone numbers written without a country code.
    pub default_region: String,
    pub notifications: NotificationSettings,
}

impl From<user_rows::Model> for User {
    fn from(u: user_rows::Model) -> Self {
        let notifications = Settings::of(&u).notifications.into();
        Self {
            id: u.id,
            is_active: u.status == users::UserStatus::Active,
            email_verified: u.email_verified_at.is_some(),
            email: u.email,
            name: u.name,
            credits: u.credits,
            created_at: u.created_at,
            updated_at: u.updated_at,
            auth_provider: u.auth_provider,
            role: u.role,
            status: u.status,
            company: u.company,
            phone: u.phone,
            timezone: u.timezone,
            default_region: u.default_region,
            notifications,
        }
    }
}

/// Fields to change; absent fields stay as they are, empty strings clear optional ones.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct UpdateProfile {
    #[oai(validator(max_length = 120))]
    pub name: Option<String>,
    #[oai(validator(max_length = 120))]
    pub company: Option<String>,
    #[oai(validator(max_length = 32))]
    pub phone: Option<String>,
    #[oai(validator(max_length = 64))]
    pub timezone: Option<String>,
    #[oai(validator(max_length = 2, min_length = 2))]
    pub default_region: Option<String>,
    pub notifications: Option<NotificationSettings>,
}

impl From<UpdateProfile> for ProfileUpdate {
    fn from(body: UpdateProfile) -> Self {
        ProfileUpdate {
            name: body.name,
            company: body.company,
            website: None,
            location: None,
            bio: None,
            phone: body.phone,
            timezone: body.timezone,
            default_region: body.default_region,
            notifications: body.notifications.map(Into::into),
            openai_prompts: None,
        }
    }
}

/// The signed-in user as the client keeps it (register, login, refresh, validate, profile).
#[derive(Debug, Clone, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct SessionUser {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    /// What the top navigation greets the user with: the name, else the email.
    pub display_name: String,
    /// Current credit balance (may be negative after a long call).
    pub credits: i64,
    /// The verification gate stays shut while false.
    pub email_verified: bool,
    /// False when the account is suspended.
    pub is_active: bool,
    pub role: Role,
    /// `email`, `google` or `stack`.
    pub auth_provider: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_login: Option<Timestamp>,
    pub company: Option<String>,
    pub website: Option<String>,
    pub location: Option<String>,
    pub bio: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    /// IANA time zone the dashboards use, e.g. `Europe/Paris`.
    pub timezone: String,
    /// ISO 3166 country used to read phone numbers written without a country code.
    pub default_region: String,
}

impl From<user_rows::Model> for SessionUser {
    fn from(u: user_rows::Model) -> Self {
        Self {
            id: u.id,
            is_active: u.status == users::UserStatus::Active,
            email_verified: u.email_verified_at.is_some(),
            display_name: u.name.clone().unwrap_or_else(|| u.email.clone()),
            email: u.email,
            name: u.name,
            credits: u.credits,
            role: u.role,
            auth_provider: u.auth_provider,
            created_at: u.created_at.into(),
            updated_at: u.updated_at.into(),
            last_login: ts(u.last_seen_at),
            company: u.company,
            website: u.website,
            location: u.location,
            bio: u.bio,
            phone: u.phone,
            timezone: u.timezone,
            default_region: u.default_region,
        }
    }
}

/// `GET /api/user/profile`.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct ProfileEnvelope {
    pub user: SessionUser,
}

/// The settings form: every field it has. Absent fields stay as they are; `null` or an empty
/// string clears an optional one. `email` may only repeat the current address: changing the
/// sign-in address needs the password and a link to the new one.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct ProfileForm {
    #[oai(nullable, validator(max_length = 120))]
    pub name: MaybeUndefined<String>,
    #[oai(nullable, validator(max_length = 254))]
    pub email: MaybeUndefined<String>,
    #[oai(nullable, validator(max_length = 120))]
    pub company: MaybeUndefined<String>,
    #[oai(nullable, validator(max_length = 200))]
    pub website: MaybeUndefined<String>,
    #[oai(nullable, validator(max_length = 100))]
    pub location: MaybeUndefined<String>,
    #[oai(nullable, validator(max_length = 500))]
    pub bio: MaybeUndefined<String>,
    #[oai(nullable, validator(max_length = 32))]
    pub phone: MaybeUndefined<String>,
    #[oai(nullable, validator(max_length = 64))]
    pub timezone: MaybeUndefined<String>,
    #[oai(nullable, validator(max_length = 2, min_length = 2))]
    pub default_region: MaybeUndefined<String>,
}

/// `Some(value)`, `Some("")` to clear, `None` to keep.
fn field(value: MaybeUndefined<String>) -> Option<String> {
    match value {
        MaybeUndefined::Value(v) => Some(v),
        MaybeUndefined::Null => Some(String::new()),
        MaybeUndefined::Undefined => None,
    }
}

/// `PUT /api/user/profile`: the saved user replaces the form's data.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct ProfileSaved {
    pub success: bool,
    pub data: SessionUser,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct PasswordChange {
    #[oai(validator(max_length = 256))]
    pub current_password: String,
    #[oai(validator(max_length = 256))]
    pub new_password: String,
}

/// The password changed. `token` is the caller's new access token: the client's response
/// interceptor stores any top-level `token`, so the session that changed the password lives
/// on while every other one ends.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct PasswordChanged {
    pub success: bool,
    pub message: String,
    pub token: String,
    pub timestamp: Timestamp,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct CreditBalance {
    pub success: bool,
    pub credits: i64,
    pub timestamp: Timestamp,
}

/// The balance's state, as the credit banner and widget colour it.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct CreditState {
    pub current: i64,
    /// `healthy` (> 15), `warning` (> 5), `critical` (> 0) or `depleted`.
    pub status: String,
    /// `green`, `yellow`, `orange` or `red`.
    pub color: String,
    /// 0 (healthy) to 3 (depleted).
    pub warning_level: u8,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct Capabilities {
    pub can_initiate_calls: bool,
    pub can_create_campaigns: bool,
    pub can_start_campaigns: bool,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct CreditWarnings {
    pub show_banner: bool,
    pub banner_message: Option<String>,
    /// `info`, `warning` or `error`.
    pub banner_type: String,
    pub is_dismissible: bool,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct TopUpAdvice {
    pub suggested_top_up: i64,
    /// `low`, `medium` or `high`.
    pub urgency: String,
}

/// `GET /api/user/credit-status`: the site-wide banner and the Overview widget.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct CreditStatus {
    pub success: bool,
    pub credits: CreditState,
    pub capabilities: Capabilities,
    pub warnings: CreditWarnings,
    pub recommendations: TopUpAdvice,
    pub timestamp: Timestamp,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct LoginStatusUser {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub credits: i64,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct LoginWarnings {
    pub show_banner: bool,
    pub message: Option<String>,
    /// `info`, `warning` or `error`.
    #[oai(rename = "type")]
    pub kind: String,
    pub auto_hide: bool,
    /// Milliseconds the banner stays up when it hides itself.
    pub duration: u32,
}

/// `GET /api/user/login-status`: the Overview's welcome banner.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct LoginStatus {
    pub success: bool,
    pub user: LoginStatusUser,
    pub login_warnings: LoginWarnings,
    pub timestamp: Timestamp,
}

/// The client's notification switches (snake_case, as its settings components send them).
#[derive(Debug, Clone, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct NotificationPreferences {
    pub low_credit_alerts: bool,
    pub credits_added_emails: bool,
    pub campaign_summary_emails: bool,
    pub email_verification_reminders: bool,
}

impl From<&Notifications> for NotificationPreferences {
    fn from(n: &Notifications) -> Self {
        Self {
            low_credit_alerts: n.low_balance,
            credits_added_emails: n.credits_added_emails,
            campaign_summary_emails: n.campaign_summary_emails,
            email_verification_reminders: n.email_verification_reminders,
        }
    }
}

/// The switches to change; absent ones stay as they are.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct PreferencesChange {
    pub low_credit_alerts: Option<bool>,
    pub credits_added_emails: Option<bool>,
    pub campaign_summary_emails: Option<bool>,
    pub email_verification_reminders: Option<bool>,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct PreferencesEnvelope {
    pub success: bool,
    pub preferences: NotificationPreferences,
}

/// The OpenAI prompt ids of the settings page's card (snake_case, as it sends them).
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct PromptConfig {
    pub openai_individual_prompt_id: Option<String>,
    pub openai_complete_prompt_id: Option<String>,
    /// The platform's own defaults (none on this deployment).
    pub system_defaults: PromptDefaults,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct PromptDefaults {
    pub individual: Option<String>,
    pub complete: Option<String>,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct PromptEnvelope {
    pub success: bool,
    pub data: PromptConfig,
}

/// The ids to keep; `null` or `""` clears one, an absent one stays.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct PromptChange {
    #[oai(nullable, validator(max_length = 100))]
    pub openai_individual_prompt_id: MaybeUndefined<String>,
    #[oai(nullable, validator(max_length = 100))]
    pub openai_complete_prompt_id: MaybeUndefined<String>,
}

fn prompt_config(prompts: shared::accounts::users::OpenAiPrompts) -> PromptEnvelope {
    PromptEnvelope {
        success: true,
        data: PromptConfig {
            openai_individual_prompt_id: prompts.individual,
            openai_complete_prompt_id: prompts.complete,
            system_defaults: PromptDefaults {
                individual: None,
                complete: None,
            },
        },
    }
}

/// The banner's state for a balance (the client's earlier backend's thresholds).
fn credit_status(credits: i64) -> CreditStatus {
    let (status, color, level) = match credits {
        c if c > 15 => ("healthy", "green", 0),
        c if c > 5 => ("warning", "yellow", 1),
        c if c > 0 => ("critical", "orange", 2),
        _ => ("depleted", "red", 3),
    };
    let banner_message = match credits {
        c if c < 0 => Some(format!(
            "Your credit balance is negative ({c}). Buy credits to keep calling."
        )),
        0 => Some("Your credit balance is zero. Buy credits to start calling.".to_string()),
        _ => None,
    };
    CreditStatus {
        success: true,
        credits: CreditState {
            current: credits,
            status: status.into(),
            color: color.into(),
            warning_level: level,
        },
        capabilities: Capabilities {
            can_initiate_calls: credits > 0,
            can_create_campaigns: credits >= 0,
            can_start_campaigns: credits > 0,
        },
        warnings: CreditWarnings {
            show_banner: banner_message.is_some(),
            banner_message,
            banner_type: if level == 3 { "error" } else { "info" }.into(),
            is_dismissible: level < 3,
        },
        recommendations: TopUpAdvice {
            suggested_top_up: if credits <= 5 {
                (50 - credits).max(20)
            } else {
                0
            },
            urgency: match level {
                2.. => "high",
                1 => "medium",
                _ => "low",
            }
            .into(),
        },
        timestamp: Timestamp::now(),
    }
}

fn login_warnings(credits: i64) -> LoginWarnings {
    let (show, message, kind) = match credits {
        c if c <= 0 => (
            true,
            Some("Welcome back! Your credit balance is zero. Buy credits to start calling.".into()),
            "error",
        ),
        c if c <= 5 => (
            true,
            Some(format!(
                "Welcome back! You have {c} credits remaining. Consider topping up soon."
            )),
            "warning",
        ),
        c if c <= 15 => (
            true,
            Some(format!("Welcome back! You have {c} credits remaining.")),
            "info",
        ),
        _ => (false, None, "info"),
    };
    LoginWarnings {
        show_banner: show,
        message,
        kind: kind.into(),
        auto_hide: kind == "info",
        duration: 8000,
    }
}

/// The user's calls in flight against their limit (the campaign screens read it).
#[derive(Debug, Object)]
pub struct Concurrency {
    /// Calls the user may have in flight at once.
    pub user_concurrent_calls_limit: u64,
    /// Calls dialled and not finished.
    pub user_active_calls: u64,
    pub user_available_slots: u64,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ConcurrencyEnvelope {
    pub success: bool,
    pub settings: Concurrency,
}

api_errors!(ReadErrors {
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
});

api_errors!(UpdateErrors {
    400 => Invalid: "A field is invalid (`validation_error`, `wrong_password`, a weak password; `details` maps each field to its message).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`) or has no password (`builtin_auth_disabled`).",
});

pub struct UserApi {
    pub services: Services,
}

#[OpenApi(tag = "Tag::Account")]
impl UserApi {
    /// Own profile
    ///
    /// The signed-in user with every profile field and the credit balance.
    #[oai(path = "/api/user/profile", method = "get")]
    async fn profile(&self, auth: Auth) -> Result<Json<ProfileEnvelope>, ReadErrors> {
        Ok(Json(ProfileEnvelope {
            user: auth.account(&self.services).await?.into(),
        }))
    }

    /// Save own profile
    ///
    /// The settings form: name, company, website, location, bio, phone (stored as E.164) and,
    /// beyond the form, time zone and default region.
    #[oai(path = "/api/user/profile", method = "put")]
    async fn update_profile(
        &self,
        auth: Auth,
        body: Json<ProfileForm>,
    ) -> Result<Json<ProfileSaved>, UpdateErrors> {
        let me = auth.account(&self.services).await?;
        let body = body.0;
        if let Some(email) = field(body.email).filter(|e| !e.trim().is_empty())
            && !email.trim().eq_ignore_ascii_case(&me.email)
        {
            return Err(shared::AppError::validation(
                "email",
                "cannot be changed here: a new sign-in address needs your password and a link sent to it",
            )
            .into());
        }
        let update = ProfileUpdate {
            name: field(body.name),
            company: field(body.company),
            website: field(body.website),
            location: field(body.location),
            bio: field(body.bio),
            phone: field(body.phone),
            timezone: field(body.timezone).filter(|t| !t.is_empty()),
            default_region: field(body.default_region).filter(|r| !r.is_empty()),
            notifications: None,
            openai_prompts: None,
        };
        let saved = users::update_profile(&self.services.db, me.id, update).await?;
        Ok(Json(ProfileSaved {
            success: true,
            data: saved.into(),
        }))
    }

    /// Change own password
    ///
    /// Needs the current password. The caller's session lives on (the answer's `token` is its
    /// new access token); every other session ends.
    #[oai(path = "/api/user/password", method = "put")]
    async fn change_password(
        &self,
        auth: Auth,
        body: Json<PasswordChange>,
    ) -> Result<Json<PasswordChanged>, UpdateErrors> {
        let session = auth.session_id(&self.services);
        let me = auth.user(&self.services).await?;
        let token = shared::accounts::auth::accounts::change_password(
            &self.services,
            me.id,
            session,
            &body.current_password,
            &body.new_password,
        )
        .await?;
        Ok(Json(PasswordChanged {
            success: true,
            message: "Password updated successfully".into(),
            token,
            timestamp: Timestamp::now(),
        }))
    }

    /// Credit balance
    ///
    /// The signed-in user's current balance (one credit per started call minute).
    #[oai(path = "/api/user/credits", method = "get")]
    async fn credits(&self, auth: Auth) -> Result<Json<CreditBalance>, ReadErrors> {
        let me = auth.account(&self.services).await?;
        Ok(Json(CreditBalance {
            success: true,
            credits: me.credits,
            timestamp: Timestamp::now(),
        }))
    }

    /// Call concurrency
    ///
    /// How many calls the user has in flight, how many they may have at once, and how many
    /// more they can start now (the Contacts screen's campaign dialog and the campaign
    /// settings read it).
    #[oai(path = "/api/settings/concurrency", method = "get")]
    async fn concurrency(&self, auth: Auth) -> Result<Json<ConcurrencyEnvelope>, ReadErrors> {
        let me = auth.account(&self.services).await?;
        let c = shared::calls::capacity(&self.services, me.id).await?;
        Ok(Json(ConcurrencyEnvelope {
            success: true,
            settings: Concurrency {
                user_concurrent_calls_limit: c.limit,
                user_active_calls: c.in_flight,
                user_available_slots: c.available(),
            },
        }))
    }

    /// Credit status
    ///
    /// The balance with its warning level, what it allows, the banner to show and a
    /// suggested top-up (healthy above 15 credits, warning above 5, critical above 0).
    #[oai(path = "/api/user/credit-status", method = "get")]
    async fn credit_status(&self, auth: Auth) -> Result<Json<CreditStatus>, ReadErrors> {
        let me = auth.account(&self.services).await?;
        Ok(Json(credit_status(me.credits)))
    }

    /// Sign-in status
    ///
    /// The welcome banner after signing in: a warning while the balance is low.
    #[oai(path = "/api/user/login-status", method = "get")]
    async fn login_status(&self, auth: Auth) -> Result<Json<LoginStatus>, ReadErrors> {
        let me = auth.account(&self.services).await?;
        Ok(Json(LoginStatus {
            success: true,
            login_warnings: login_warnings(me.credits),
            user: LoginStatusUser {
                id: me.id,
                email: me.email,
                name: me.name,
                credits: me.credits,
            },
            timestamp: Timestamp::now(),
        }))
    }

    /// Notification preferences
    ///
    /// The switches of the settings pages (snake_case, as the client sends them).
    #[oai(path = "/api/user-notifications/preferences", method = "get")]
    async fn preferences(&self, auth: Auth) -> Result<Json<PreferencesEnvelope>, ReadErrors> {
        let me = auth.account(&self.services).await?;
        Ok(Json(PreferencesEnvelope {
            success: true,
            preferences: (&Settings::of(&me).notifications).into(),
        }))
    }

    /// Change notification preferences
    ///
    /// Switches left out stay as they are.
    #[oai(path = "/api/user-notifications/preferences", method = "put")]
    async fn update_preferences(
        &self,
        auth: Auth,
        body: Json<PreferencesChange>,
    ) -> Result<Json<PreferencesEnvelope>, UpdateErrors> {
        let me = auth.account(&self.services).await?;
        let mut notifications = Settings::of(&me).notifications;
        let body = body.0;
        let set = |slot: &mut bool, value: Option<bool>| {
            if let Some(v) = value {
                *slot = v;
            }
        };
        set(&mut notifications.low_balance, body.low_credit_alerts);
        set(
            &mut notifications.credits_added_emails,
            body.credits_added_emails,
        );
        set(
            &mut notifications.campaign_summary_emails,
            body.campaign_summary_emails,
        );
        set(
            &mut notifications.email_verification_reminders,
            body.email_verification_reminders,
        );
        let update = ProfileUpdate {
            notifications: Some(notifications),
            ..ProfileUpdate::default()
        };
        let saved = users::update_profile(&self.services.db, me.id, update).await?;
        Ok(Json(PreferencesEnvelope {
            success: true,
            preferences: (&Settings::of(&saved).notifications).into(),
        }))
    }

    /// OpenAI prompts
    ///
    /// The OpenAI stored-prompt ids the user chose for call analysis on the settings page
    /// (kept as their choice: nothing here calls OpenAI yet).
    #[oai(path = "/api/openai-prompts/my-prompts", method = "get")]
    async fn prompts(&self, auth: Auth) -> Result<Json<PromptEnvelope>, ReadErrors> {
        let me = auth.account(&self.services).await?;
        Ok(Json(prompt_config(Settings::of(&me).openai_prompts)))
    }

    /// Change OpenAI prompts
    ///
    /// Each id must look like an OpenAI prompt id (`pmpt_…`); `null` clears it.
    #[oai(path = "/api/openai-prompts/my-prompts", method = "put")]
    async fn update_prompts(
        &self,
        auth: Auth,
        body: Json<PromptChange>,
    ) -> Result<Json<PromptEnvelope>, UpdateErrors> {
        let me = auth.account(&self.services).await?;
        let mut prompts = Settings::of(&me).openai_prompts;
        let body = body.0;
        for (slot, value) in [
            (&mut prompts.individual, body.openai_individual_prompt_id),
            (&mut prompts.complete, body.openai_complete_prompt_id),
        ] {
            if let Some(value) = field(value) {
                *slot = Some(value);
            }
        }
        let update = ProfileUpdate {
            openai_prompts: Some(prompts),
            ..ProfileUpdate::default()
        };
        let saved = users::update_profile(&self.services.db, me.id, update).await?;
        Ok(Json(prompt_config(Settings::of(&saved).openai_prompts)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_status_follows_the_clients_thresholds() {
        let at = |c| {
            let s = credit_status(c);
            (
                s.credits.status,
                s.warnings.show_banner,
                s.recommendations.suggested_top_up,
            )
        };
        assert_eq!(at(16), ("healthy".into(), false, 0));
        assert_eq!(at(6), ("warning".into(), false, 0));
        assert_eq!(at(5), ("critical".into(), false, 45));
        assert_eq!(at(0), ("depleted".into(), true, 50));
        assert_eq!(at(-3), ("depleted".into(), true, 53));
        assert!(!credit_status(0).warnings.is_dismissible);
        assert!(!credit_status(0).capabilities.can_initiate_calls);
    }
}
