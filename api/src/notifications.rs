//! The signed-in user's in-app notifications.

use chrono::{DateTime, Utc};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use shared::entities::notifications::NotificationKind;
use shared::{Services, accounts::notifications, entities::notifications as rows};
use uuid::Uuid;

use crate::{
    api_errors,
    pagination::{default_page, default_per_page},
    security::Auth,
    tags::Tag,
};

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Notification {
    pub id: Uuid,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    /// What the notification is about (ids, figures).
    pub data: serde_json::Value,
    pub read: bool,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<rows::Model> for Notification {
    fn from(n: rows::Model) -> Self {
        Self {
            id: n.id,
            kind: n.kind,
            title: n.title,
            body: n.body,
            data: n.data,
            read: n.read_at.is_some(),
            read_at: n.read_at,
            created_at: n.created_at,
        }
    }
}

/// A page of notifications with the user's unread count (for the bell badge).
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
    pub unread_count: u64,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct MarkedRead {
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

#[OpenApi(prefix_path = "/api/notifications", tag = "Tag::Account")]
impl NotificationApi {
    /// List notifications
    ///
    /// Newest first; `unread=true` lists only unread ones. `unread_count` is always the
    /// user's total unread.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        #[oai(default)] unread: Query<bool>,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        page: Query<u64>,
        #[oai(
            default = "default_per_page",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        per_page: Query<u64>,
    ) -> Result<Json<NotificationPage>, NotificationErrors> {
        let me = auth.user(&self.services).await?;
        let (rows, total, unread_count) =
            notifications::list(&self.services.db, me.id, unread.0, page.0, per_page.0).await?;
        Ok(Json(NotificationPage {
            items: rows.into_iter().map(Into::into).collect(),
            page: page.0,
            per_page: per_page.0,
            total,
            unread_count,
        }))
    }

    /// Mark one read
    ///
    /// Idempotent: marking a read notification again keeps its first `read_at`.
    #[oai(path = "/:id/read", method = "post")]
    async fn mark_read(
        &self,
        auth: Auth,
        id: Path<Uuid>,
    ) -> Result<Json<Notification>, NotificationErrors> {
        let me = auth.user(&self.services).await?;
        let row = notifications::mark_read(&self.services.db, me.owner(), id.0).await?;
        Ok(Json(row.into()))
    }

    /// Mark all read
    ///
    /// Marks every unread notification of the user read; `updated` says how many changed.
    #[oai(path = "/read-all", method = "post")]
    async fn mark_all_read(&self, auth: Auth) -> Result<Json<MarkedRead>, NotificationErrors> {
        let me = auth.user(&self.services).await?;
        let updated = notifications::mark_all_read(&self.services.db, me.id).await?;
        Ok(Json(MarkedRead { updated }))
    }
}
