//! What the admin area asks when an admin signs in: whether the session has admin access and
//! who the admin is (the frontend's `AdminContext`; its "Register agent" tab waits on both).

use poem::Request;
use poem_openapi::{Object, OpenApi, payload::Json};
use shared::{
    Services,
    entities::users::{Role, UserStatus},
};
use uuid::Uuid;

use crate::{
    admin::{AdminAuth, AdminErrors},
    tags::Tag,
    wire::Timestamp,
};

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct AdminAccess {
    /// Always true in a 200: a session without admin access is 403 `admin_required`.
    pub has_access: bool,
    pub is_admin: bool,
    /// `admin` or `super_admin`.
    pub role: Role,
    pub user_id: Uuid,
    pub email: String,
}

/// `GET /api/admin/validate`.
#[derive(Debug, Object)]
#[oai(example)]
pub struct AdminAccessEnvelope {
    pub success: bool,
    pub data: AdminAccess,
    pub timestamp: Timestamp,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct AdminProfile {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub created_at: Timestamp,
    /// When the admin was last seen signed in.
    pub last_login: Option<Timestamp>,
    pub is_active: bool,
}

/// `GET /api/admin/profile`.
#[derive(Debug, Object)]
#[oai(example)]
pub struct AdminProfileEnvelope {
    pub success: bool,
    pub data: AdminProfile,
}

pub struct AdminSessionApi {
    pub services: Services,
}

#[OpenApi(prefix_path = "/api/admin", tag = "Tag::Admin")]
impl AdminSessionApi {
    /// Check admin access
    ///
    /// Whether this session may use the admin area; anyone else is 403 `admin_required`.
    #[oai(path = "/validate", method = "get")]
    async fn validate(
        &self,
        auth: AdminAuth,
        req: &Request,
    ) -> Result<Json<AdminAccessEnvelope>, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let admin = shared::accounts::users::get(&self.services.db, actor.id).await?;
        Ok(Json(AdminAccessEnvelope {
            success: true,
            data: AdminAccess {
                has_access: true,
                is_admin: true,
                role: admin.role,
                user_id: admin.id,
                email: admin.email,
            },
            timestamp: Timestamp::now(),
        }))
    }

    /// The signed-in admin
    ///
    /// Who the admin area is open for: name, role, since when, last seen.
    #[oai(path = "/profile", method = "get")]
    async fn profile(
        &self,
        auth: AdminAuth,
        req: &Request,
    ) -> Result<Json<AdminProfileEnvelope>, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let admin = shared::accounts::users::get(&self.services.db, actor.id).await?;
        Ok(Json(AdminProfileEnvelope {
            success: true,
            data: AdminProfile {
                id: admin.id,
                email: admin.email,
                name: admin.name,
                role: admin.role,
                created_at: admin.created_at.into(),
                last_login: admin.last_seen_at.map(Into::into),
                is_active: admin.status == UserStatus::Active,
            },
        }))
    }
}
