//! Configuration > Feature flags (`/api/admin/config/feature-flags`, super admins only): the
//! platform's flags with who each applies to.

use poem::Request;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};
use shared::{
    admin::features::{self as service, FlagChange, FlagView},
    entities::{feature_flags::FlagScope, users::SubscriptionTier},
};
use uuid::Uuid;

use crate::{
    admin::{AdminAuth, AdminErrors},
    tags::Tag,
};

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct FeatureFlagConfig {
    pub id: String,
    pub name: String,
    pub description: String,
    pub is_enabled: bool,
    /// `global` (everyone), `user` (`targetUsers`) or `tier` (`targetTiers`).
    pub scope: FlagScope,
    pub target_users: Vec<Uuid>,
    pub target_tiers: Vec<SubscriptionTier>,
    /// The share of the accounts in scope that get the feature, 0–100.
    pub rollout_percentage: u8,
}

impl From<FlagView> for FeatureFlagConfig {
    fn from(v: FlagView) -> Self {
        Self {
            id: v.id.into(),
            name: v.name,
            description: v.description,
            is_enabled: v.is_enabled,
            scope: v.scope,
            target_users: v.target_users,
            target_tiers: v.target_tiers,
            rollout_percentage: v.rollout_percentage,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct FeatureFlagListEnvelope {
    pub success: bool,
    pub data: Vec<FeatureFlagConfig>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct FeatureFlagEnvelope {
    pub success: bool,
    pub data: FeatureFlagConfig,
}

/// The toggle (`isEnabled` alone) or the edit dialog (every field).
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct FeatureFlagForm {
    #[oai(validator(max_length = 100))]
    pub name: Option<String>,
    #[oai(validator(max_length = 500))]
    pub description: Option<String>,
    pub is_enabled: Option<bool>,
    pub scope: Option<FlagScope>,
    /// User ids (scope `user`).
    #[oai(validator(max_items = 1000))]
    pub target_users: Option<Vec<String>>,
    #[oai(validator(max_items = 4))]
    pub target_tiers: Option<Vec<SubscriptionTier>>,
    /// 0–100 (the screen's slider).
    #[oai(validator(minimum(value = "0"), maximum(value = "100")))]
    pub rollout_percentage: Option<f64>,
}

pub struct AdminFeatureFlagsApi {
    pub services: shared::Services,
}

#[OpenApi(prefix_path = "/api/admin/config", tag = "Tag::Admin")]
impl AdminFeatureFlagsApi {
    /// List the feature flags
    ///
    /// Super admins only (403 `super_admin_required`). Every flag the platform checks, on for
    /// everyone until changed: `dashboard_kpis` (the user's dashboard figures),
    /// `agent_analytics` (the Analytics tab) and `advanced_reports` (the report builder).
    #[oai(path = "/feature-flags", method = "get")]
    async fn list(
        &self,
        auth: AdminAuth,
        req: &Request,
    ) -> Result<Json<FeatureFlagListEnvelope>, AdminErrors> {
        auth.super_admin(&self.services, req).await?;
        let flags = service::list(&self.services).await?;
        Ok(Json(FeatureFlagListEnvelope {
            success: true,
            data: flags.into_iter().map(Into::into).collect(),
        }))
    }

    /// Change a feature flag
    ///
    /// Any of `isEnabled`, `scope` with `targetUsers` or `targetTiers`, `rolloutPercentage`,
    /// `name` and `description`. An account the flag no longer applies to is refused the
    /// feature (403 `feature_disabled`) in every process within the settings refresh interval.
    /// Audited.
    #[oai(path = "/feature-flags/:id", method = "put")]
    async fn update(
        &self,
        auth: AdminAuth,
        req: &Request,
        #[oai(validator(max_length = 64))] id: Path<String>,
        body: Json<FeatureFlagForm>,
    ) -> Result<Json<FeatureFlagEnvelope>, AdminErrors> {
        let actor = auth.super_admin(&self.services, req).await?;
        let f = body.0;
        let change = FlagChange {
            name: f.name,
            description: f.description,
            is_enabled: f.is_enabled,
            scope: f.scope,
            target_users: f.target_users,
            target_tiers: f.target_tiers,
            rollout_percentage: f.rollout_percentage.map(|p| p.round() as i64),
        };
        let flag = service::update(&self.services, &actor, &id.0, change).await?;
        Ok(Json(FeatureFlagEnvelope {
            success: true,
            data: flag.into(),
        }))
    }
}
