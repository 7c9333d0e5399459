//! `/api/admin/settings`: the platform settings admins change at run time (provider keys,
//! mail, prices and limits). Secrets are write-only: they come back masked.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::{Object, OpenApi, payload::Json};
use shared::{
    Services,
    admin::settings::{self, SettingView},
    platform::settings::Kind,
};
use uuid::Uuid;

use crate::{
    admin::{AdminAuth, AdminErrors},
    tags::Tag,
};

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SettingItem {
    pub key: String,
    pub description: String,
    /// Secrets are shown masked (`sk_…a1b2`) and never returned in clear.
    pub secret: bool,
    /// `text`, `integer`, `list` or `choice`.
    pub kind: String,
    /// The allowed values of a `choice`.
    pub options: Vec<String>,
    /// The value in force (masked for secrets); absent when unset.
    pub value: Option<serde_json::Value>,
    /// `stored` (set here) or `startup` (environment, file or default).
    pub source: String,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<Uuid>,
}

impl From<SettingView> for SettingItem {
    fn from(v: SettingView) -> Self {
        let (kind, options) = match v.setting.kind {
            Kind::Text { .. } => ("text", Vec::new()),
            Kind::Integer { .. } => ("integer", Vec::new()),
            Kind::List { .. } => ("list", Vec::new()),
            Kind::Choice(options) => ("choice", options.iter().map(|o| o.to_string()).collect()),
        };
        SettingItem {
            key: v.setting.key.into(),
            description: v.setting.description.into(),
            secret: v.setting.secret,
            kind: kind.into(),
            options,
            value: v.value,
            source: v.source.into(),
            updated_at: v.updated_at,
            updated_by: v.updated_by,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct SettingsList {
    pub settings: Vec<SettingItem>,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct SettingsChange {
    /// Setting key → new value; `null` returns a setting to its start-up value. All changes
    /// apply together or not at all.
    pub values: BTreeMap<String, serde_json::Value>,
}

pub struct AdminSettingsApi {
    pub services: Services,
}

#[OpenApi(prefix_path = "/api/admin", tag = "Tag::Admin")]
impl AdminSettingsApi {
    /// Platform settings
    ///
    /// Every setting admins may change, with the value in force (secrets masked) and where it
    /// comes from.
    #[oai(path = "/settings", method = "get")]
    async fn settings(
        &self,
        auth: AdminAuth,
        req: &Request,
    ) -> Result<Json<SettingsList>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let settings = settings::list(&self.services).await?;
        Ok(Json(SettingsList {
            settings: settings.into_iter().map(Into::into).collect(),
        }))
    }

    /// Change platform settings
    ///
    /// Checked one by one (a Stripe key must look like one, a price must be positive, …) and
    /// as a whole (the purchase minimum not above the maximum, …): any problem is a 422 naming
    /// the setting and nothing changes. Every gateway and worker applies the change within
    /// `SETTINGS_REFRESH_MS`, without a restart; the audit log records it with secrets masked.
    #[oai(path = "/settings", method = "patch")]
    async fn update(
        &self,
        auth: AdminAuth,
        req: &Request,
        body: Json<SettingsChange>,
    ) -> Result<Json<SettingsList>, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let settings = settings::update(&self.services, &actor, body.0.values).await?;
        Ok(Json(SettingsList {
            settings: settings.into_iter().map(Into::into).collect(),
        }))
    }
}
