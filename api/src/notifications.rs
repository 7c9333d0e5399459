//! The signed-in user's in-app notifications, as the bell in the top navigation reads them:
//! the agents' notes on leads after a conversation (`smartnotification`) and the account's own
//! notices (low balance, a failed or incomplete call, a purchase).

use chrono::{DateTime, Utc};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use shared::entities::notifications::NotificationKind;
use shared::{
    Services, accounts::notifications, entities::notifications as rows, platform::db::Window,
};
use uuid::Uuid;

use crate::{api_errors, security::Auth, tags::Tag, wire::Timestamp};

/// Notifications the bell shows when the request names no `limit`.
fn default_notification_limit() -> u64 {
    20
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct Notification {
    pub id: Uuid,
    pub kind: NotificationKind,
    /// The line the bell shows: the agent's note on the lead, or the notice.
    pub smart_notification: String,
    /// Who the note is about, or the notice's headline.
    pub title: String,
    pub is_read: bool,
    /// The lead's score out of 100 (lead notes of scored conversations only).
    pub total_score: Option<i32>,
    /// `Hot`, `Warm` or `Cold` for a lead note; the notice's kind otherwise.
    pub lead_type: String,
    pub phone_number: Option<String>,
    pub email: Option<String>,
    /// The demo the caller booked, if any.
    pub demo_book_date_time: Option<Timestamp>,
    /// The conversation the note is about (Lead Intelligence opens on click).
    pub lead_id: Option<Uuid>,
    pub call_id: Option<Uuid>,
    /// What the notification is about (ids, figures), as stored.
    pub data: serde_json::Value,
    pub read_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl From<rows::Model> for Notification {
    fn from(n: rows::Model) -> Self {
        let text = |key: &str| n.data[key].as_str().map(str::to_string);
        let id = |key: &str| text(key).and_then(|s| s.parse().ok());
        let lead_type = match n.kind {
            NotificationKind::LeadNote => text("lead_status_tag").unwrap_or_else(|| "Lead".into()),
            NotificationKind::LowBalance => "Low balance".into(),
            NotificationKind::CallIncomplete => "Incomplete call".into(),
            NotificationKind::CallFailed => "Failed call".into(),
            NotificationKind::CreditsPurchased => "Credits".into(),
            NotificationKind::CampaignPaused => "Campaign".into(),
        };
        Self {
            id: n.id,
            kind: n.kind,
            smart_notification: n.body.clone(),
            total_score: n.data["total_score"].as_i64().map(|s| s as i32),
            lead_type,
            phone_number: text("phone"),
            email: text("email"),
            demo_book_date_time: text("demo_at")
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| Timestamp(t.with_timezone(&Utc))),
            lead_id: id("lead_id"),
            call_id: id("call_id"),
            title: n.title,
            is_read: n.read_at.is_some(),
            read_at: n.read_at.map(Timestamp),
            created_at: Timestamp(n.created_at),
            data: n.data,
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct NotificationList {
    pub notifications: Vec<Notification>,
    /// The user's unread notifications in all (the bell's badge).
    pub unread_count: u64,
    /// Notifications in all (with `unread=true`, the unread ones).
    pub total: u64,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct NotificationEnvelope {
    pub success: bool,
    pub data: NotificationList,
}

/// A notification marked read.
#[derive(Debug, Object)]
#[oai(example)]
pub struct MarkedRead {
    pub success: bool,
    pub message: String,
    pub data: Notification,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct MarkedAllRead {
    pub success: bool,
    pub message: String,
    /// How many notifications changed from unread to read.
    pub updated: u64,
}

api_errors!(NotificationErrors {
    400 => BadRequest: "Malformed path or query parameters (`invalid_parameter`).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    404 => NotFound: "No such notification of this user (`notification_not_found`).",
});

pub struct NotificationApi {
    pub services: Services,
}

impl NotificationApi {
    async fn read_one(&self, auth: Auth, id: Uuid) -> Result<Json<MarkedRead>, NotificationErrors> {
        let me = auth.user(&self.services).await?;
        let row = notifications::mark_read(&self.services.db, me.owner(), id).await?;
        Ok(Json(MarkedRead {
            success: true,
            message: "Notification marked as read".into(),
            data: row.into(),
        }))
    }
}

#[OpenApi(prefix_path = "/api/notifications", tag = "Tag::Account")]
impl NotificationApi {
    /// List notifications
    ///
    /// Newest first, `limit` (default 20, at most 100) from `offset`; `unread=true` lists only
    /// unread ones. `unreadCount` is always the user's total unread.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        #[oai(default)] unread: Query<bool>,
        #[oai(
            default = "default_notification_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<u64>,
        #[oai(default, validator(maximum(value = "10000000")))] offset: Query<u64>,
    ) -> Result<Json<NotificationEnvelope>, NotificationErrors> {
        let me = auth.user(&self.services).await?;
        let window = Window {
            offset: offset.0,
            limit: limit.0,
        };
        let (rows, total, unread_count) =
            notifications::list(&self.services.db, me.id, unread.0, window).await?;
        Ok(Json(NotificationEnvelope {
            success: true,
            data: NotificationList {
                notifications: rows.into_iter().map(Into::into).collect(),
                unread_count,
                total,
            },
        }))
    }

    /// Mark one read
    ///
    /// What the bell sends when a notification is clicked. Idempotent: marking a read
    /// notification again keeps its first `readAt`.
    #[oai(path = "/:id/read", method = "patch")]
    async fn mark_read(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<MarkedRead>, NotificationErrors> {
        self.read_one(auth, id.0).await
    }

    /// Mark one read (POST)
    ///
    /// The same as `PATCH /api/notifications/{id}/read`.
    #[oai(path = "/:id/read", method = "post")]
    async fn mark_read_post(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<MarkedRead>, NotificationErrors> {
        self.read_one(auth, id.0).await
    }

    /// Mark all read
    ///
    /// Marks every unread notification of the user read; `updated` says how many changed.
    #[oai(path = "/read-all", method = "post")]
    async fn mark_all_read(&self, auth: Auth) -> Result<Json<MarkedAllRead>, NotificationErrors> {
        let me = auth.user(&self.services).await?;
        let updated = notifications::mark_all_read(&self.services.db, me.id).await?;
        Ok(Json(MarkedAllRead {
            success: true,
            message: format!("{updated} notifications marked as read"),
            updated,
        }))
    }
}
