//! Configuration > API Keys (`/api/admin/config/api-keys`, super admins only): the ElevenLabs
//! keys of the platform, masked, with the accounts assigned to each and this month's use.

use poem::Request;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json};
use shared::{
    admin::api_keys::{self as service, KeyInput, KeyView},
    entities::provider_api_keys::KeyStatus,
};
use uuid::Uuid;

use crate::{
    admin::{AdminAuth, AdminErrors},
    tags::Tag,
};

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct KeyUsage {
    /// Calls this month by the accounts using the key.
    pub total_calls: i64,
    /// ElevenLabs does not report a quota per key: always 0.
    pub remaining_quota: i64,
    /// What those calls cost the accounts this month, in dollars (credits × credit price).
    pub cost_this_month: f64,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct ApiKeyConfig {
    pub id: Uuid,
    pub name: String,
    /// Masked: the first characters and the last four.
    pub key: String,
    /// The platform's key (every account without its own uses it).
    pub is_default: bool,
    /// The accounts whose ElevenLabs requests use this key.
    pub assigned_users: Vec<Uuid>,
    pub usage_stats: KeyUsage,
    pub status: KeyStatus,
}

fn config_of(v: KeyView, credit_price_cents: i64) -> ApiKeyConfig {
    ApiKeyConfig {
        usage_stats: KeyUsage {
            total_calls: v.calls_this_month,
            remaining_quota: 0,
            cost_this_month: (v.credits_this_month * credit_price_cents) as f64 / 100.0,
        },
        id: v.key.id,
        name: v.key.name,
        key: v.key.key_hint,
        is_default: v.key.is_default,
        assigned_users: v.assigned_users,
        status: v.key.status,
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ApiKeyListEnvelope {
    pub success: bool,
    pub data: Vec<ApiKeyConfig>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ApiKeyEnvelope {
    pub success: bool,
    pub data: ApiKeyConfig,
}

/// What the create and edit dialogs send (the screen adds `usageStats`, which is ignored).
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct ApiKeyForm {
    #[oai(validator(max_length = 100))]
    pub name: Option<String>,
    /// The ElevenLabs key in clear (sealed at rest, never shown again); the masked value the
    /// edit dialog sends back leaves the key as it is.
    #[oai(validator(max_length = 200))]
    pub key: Option<String>,
    pub is_default: Option<bool>,
    pub status: Option<KeyStatus>,
    /// User ids.
    #[oai(validator(max_items = 1000))]
    pub assigned_users: Option<Vec<String>>,
}

impl From<ApiKeyForm> for KeyInput {
    fn from(f: ApiKeyForm) -> Self {
        KeyInput {
            name: f.name,
            key: f.key,
            is_default: f.is_default,
            status: f.status,
            assigned_users: f.assigned_users,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ApiKeyDeleted {
    pub success: bool,
    pub message: String,
}

#[derive(ApiResponse)]
pub enum ApiKeyCreated {
    /// The key, masked.
    #[oai(status = 201)]
    Created(Json<ApiKeyEnvelope>),
}

pub struct AdminApiKeysApi {
    pub services: shared::Services,
}

impl AdminApiKeysApi {
    async fn price(&self) -> i64 {
        self.services.settings().await.billing.credit_price_cents
    }
}

#[OpenApi(prefix_path = "/api/admin/config", tag = "Tag::Admin")]
impl AdminApiKeysApi {
    /// List the ElevenLabs API keys
    ///
    /// Super admins only (403 `super_admin_required` for admins). The default first; each key
    /// masked, with its accounts and this month's calls and cost.
    #[oai(path = "/api-keys", method = "get")]
    async fn list(
        &self,
        auth: AdminAuth,
        req: &Request,
    ) -> Result<Json<ApiKeyListEnvelope>, AdminErrors> {
        auth.super_admin(&self.services, req).await?;
        let price = self.price().await;
        let keys = service::list(&self.services.db).await?;
        Ok(Json(ApiKeyListEnvelope {
            success: true,
            data: keys.into_iter().map(|k| config_of(k, price)).collect(),
        }))
    }

    /// Add an ElevenLabs API key
    ///
    /// `name` and `key` are required. `isDefault: true` makes it the platform's key: every
    /// process uses it within the settings refresh interval. `assignedUsers` moves those
    /// accounts' ElevenLabs requests to it. Audited, the key never in the log.
    #[oai(path = "/api-keys", method = "post")]
    async fn create(
        &self,
        auth: AdminAuth,
        req: &Request,
        body: Json<ApiKeyForm>,
    ) -> Result<ApiKeyCreated, AdminErrors> {
        let actor = auth.super_admin(&self.services, req).await?;
        let key = service::create(&self.services, &actor, body.0.into()).await?;
        let price = self.price().await;
        Ok(ApiKeyCreated::Created(Json(ApiKeyEnvelope {
            success: true,
            data: config_of(key, price),
        })))
    }

    /// Change an ElevenLabs API key
    ///
    /// Any of `name`, `key` (a new secret rotates it; the masked one changes nothing),
    /// `isDefault`, `status` (`inactive` stops its use) and `assignedUsers` (the full list).
    /// A change to the default key reaches every process within the settings refresh interval.
    #[oai(path = "/api-keys/:id", method = "put")]
    async fn update(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
        body: Json<ApiKeyForm>,
    ) -> Result<Json<ApiKeyEnvelope>, AdminErrors> {
        let actor = auth.super_admin(&self.services, req).await?;
        let key = service::update(&self.services, &actor, id.0, body.0.into()).await?;
        let price = self.price().await;
        Ok(Json(ApiKeyEnvelope {
            success: true,
            data: config_of(key, price),
        }))
    }

    /// Delete an ElevenLabs API key
    ///
    /// Its accounts return to the default key; deleting the default returns the platform to
    /// the start-up key (`ELEVENLABS_API_KEY`).
    #[oai(path = "/api-keys/:id", method = "delete")]
    async fn delete(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
    ) -> Result<Json<ApiKeyDeleted>, AdminErrors> {
        let actor = auth.super_admin(&self.services, req).await?;
        service::delete(&self.services, &actor, id.0).await?;
        Ok(Json(ApiKeyDeleted {
            success: true,
            message: "API key deleted".into(),
        }))
    }
}
