//! The signed-in user's own account: profile, settings and credit balance.

use chrono::{DateTime, Utc};
use poem_openapi::{Object, OpenApi, payload::Json};
use shared::{
    Services,
    entities::users as user_rows,
    users::{self, Notifications, ProfileUpdate, Settings},
};
use uuid::Uuid;

use crate::{api_errors, security::Auth, tags::Tag};

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
    /// `user` or `admin`.
    pub role: String,
    /// `active` or `suspended`.
    pub status: String,
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
            is_active: u.status == users::STATUS_ACTIVE,
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
            phone: body.phone,
            timezone: body.timezone,
            default_region: body.default_region,
            notifications: body.notifications.map(Into::into),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct CreditBalance {
    pub credits: i64,
}

api_errors!(ReadErrors {
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
});

api_errors!(UpdateErrors {
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    422 => Invalid: "A field is invalid (`validation_error`; `details.field` names it).",
});

pub struct UserApi {
    pub services: Services,
}

#[OpenApi(tag = "Tag::Account")]
impl UserApi {
    /// Own profile
    ///
    /// The signed-in user with their settings and credit balance.
    #[oai(path = "/api/user/profile", method = "get")]
    async fn profile(&self, auth: Auth) -> Result<Json<User>, ReadErrors> {
        Ok(Json(auth.account(&self.services).await?.into()))
    }

    /// Update own profile
    ///
    /// Changes name, company, phone (stored as E.164), time zone, default region and
    /// notification preferences.
    #[oai(path = "/api/user/profile", method = "patch")]
    async fn update_profile(
        &self,
        auth: Auth,
        body: Json<UpdateProfile>,
    ) -> Result<Json<User>, UpdateErrors> {
        let me = auth.user(&self.services).await?;
        let body = body.0;
        let update = ProfileUpdate::from(body);
        Ok(Json(
            users::update_profile(&self.services.db, me.id, update)
                .await?
                .into(),
        ))
    }

    /// Credit balance
    ///
    /// The signed-in user's current balance (one credit per started call minute).
    #[oai(path = "/api/user/credits", method = "get")]
    async fn credits(&self, auth: Auth) -> Result<Json<CreditBalance>, ReadErrors> {
        let me = auth.user(&self.services).await?;
        let credits = shared::credits::balance(&self.services.db, me.id).await?;
        Ok(Json(CreditBalance { credits }))
    }
}
