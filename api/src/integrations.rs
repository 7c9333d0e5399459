//! ElevenLabs' callbacks during a call (caller lookup, contact lookup for agent tools),
//! authenticated by a per-user secret header, and the management of those secrets.

use chrono::{DateTime, Utc};
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Header, Path},
    payload::Json,
};
use shared::{Services, accounts::integrations, entities::integration_keys};
use uuid::Uuid;

use crate::{api_errors, contacts::Contact, raw_json::RawJson, security::Auth, tags::Tag};

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct IntegrationKey {
    pub id: Uuid,
    /// The first characters of the secret, to tell keys apart.
    pub prefix: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<integration_keys::Model> for IntegrationKey {
    fn from(k: integration_keys::Model) -> Self {
        Self {
            id: k.id,
            prefix: k.prefix,
            last_used_at: k.last_used_at,
            created_at: k.created_at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct NewIntegrationKey {
    pub key: IntegrationKey,
    /// Shown once: configure it in ElevenLabs as the `X-Switchboard-Secret` header.
    pub secret: String,
}

#[derive(ApiResponse)]
pub enum KeyCreated {
    #[oai(status = 201)]
    Created(Json<NewIntegrationKey>),
}

#[derive(ApiResponse)]
pub enum KeyDeleted {
    #[oai(status = 204)]
    Deleted,
}

api_errors!(KeyErrors {
    400 => BadRequest: "Malformed path (`invalid_parameter`).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    404 => NotFound: "No such key of this user (`integration_key_not_found`).",
});

api_errors!(CallbackErrors {
    400 => BadRequest: "Malformed path (`invalid_parameter`).",
    401 => Unauthorized: "Missing or unknown `X-Switchboard-Secret` (`invalid_integration_secret`).",
    404 => NotFound: "No contact with this number (`contact_not_found`).",
});

pub struct IntegrationApi {
    pub services: Services,
}

#[OpenApi(tag = "Tag::Integrations")]
impl IntegrationApi {
    /// ElevenLabs caller lookup
    ///
    /// Set as the agent's conversation-initiation client-data webhook, with the header
    /// `X-Switchboard-Secret`. ElevenLabs posts `{caller_id, agent_id, called_number,
    /// call_sid}` while the phone rings; the answer fills every variable the agent's prompt
    /// uses from the caller's contact (empty strings when unknown). Any body is answered 200
    /// once the secret is valid, so a lookup can never break a call.
    ///
    /// Request (ElevenLabs):
    /// ```json
    /// {"caller_id": "+14155550123", "agent_id": "agent_01jbq7w3y4d5e6f7g8h9j0k1m2",
    ///  "called_number": "+14155550199", "call_sid": "CA5f1e2d3c4b5a69788796a5b4c3d2e1f0"}
    /// ```
    /// Response:
    /// ```json
    /// {"type": "conversation_initiation_client_data",
    ///  "dynamic_variables": {"contact_name": "Jordan Lee", "contact_phone": "+14155550123",
    ///    "contact_email": "jordan@example.com", "contact_company": "Lee Bakery",
    ///    "roof_type": "tile", "caller_id": "+14155550123"}}
    /// ```
    #[oai(
        path = "/api/integrations/elevenlabs/conversation-init",
        method = "post"
    )]
    async fn conversation_init(
        &self,
        #[oai(name = "X-Switchboard-Secret")] secret: Header<Option<String>>,
        body: RawJson,
    ) -> Result<Json<serde_json::Value>, CallbackErrors> {
        let db = &self.services.db;
        let user = integrations::authenticate(db, secret.0.as_deref()).await?;
        let request = body
            .bytes()
            .await
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_else(|| serde_json::json!({}));
        Ok(Json(
            integrations::conversation_init(db, user, &request).await,
        ))
    }

    /// Contact lookup for agent tools
    ///
    /// The caller's contact by phone number in any format (URL-encode the `+`), with the same
    /// `X-Switchboard-Secret` header.
    #[oai(path = "/api/contact-lookup/:phone", method = "get")]
    async fn contact_lookup(
        &self,
        #[oai(name = "X-Switchboard-Secret")] secret: Header<Option<String>>,
        phone: Path<String>,
    ) -> Result<Json<Contact>, CallbackErrors> {
        let db = &self.services.db;
        let user = integrations::authenticate(db, secret.0.as_deref()).await?;
        let contact = integrations::find_by_phone(db, user, &phone.0)
            .await?
            .ok_or_else(|| shared::AppError::not_found("contact"))?;
        Ok(Json(Contact::of(contact)))
    }

    /// List integration secrets
    ///
    /// The user's caller-lookup secrets (at most two: current and previous), shown by prefix
    /// with their last use; the secret itself is only shown at creation.
    #[oai(path = "/api/integrations/keys", method = "get")]
    async fn list_keys(&self, auth: Auth) -> Result<Json<Vec<IntegrationKey>>, KeyErrors> {
        let me = auth.user(&self.services).await?;
        let keys = integrations::list_keys(&self.services.db, me.id).await?;
        Ok(Json(keys.into_iter().map(Into::into).collect()))
    }

    /// Create an integration secret
    ///
    /// The secret is returned once. The previous one stays valid (for a rotation without
    /// downtime); creating a third revokes the oldest.
    #[oai(path = "/api/integrations/keys", method = "post")]
    async fn create_key(&self, auth: Auth) -> Result<KeyCreated, KeyErrors> {
        let me = auth.user(&self.services).await?;
        let (key, secret) = integrations::create_key(&self.services.db, me.id).await?;
        Ok(KeyCreated::Created(Json(NewIntegrationKey {
            key: key.into(),
            secret,
        })))
    }

    /// Revoke an integration secret
    ///
    /// Lookups with it are refused (401 `invalid_integration_secret`) from now on.
    #[oai(path = "/api/integrations/keys/:id", method = "delete")]
    async fn revoke_key(&self, auth: Auth, id: Path<Uuid>) -> Result<KeyDeleted, KeyErrors> {
        let me = auth.user(&self.services).await?;
        integrations::revoke_key(&self.services.db, me.id, id.0).await?;
        Ok(KeyDeleted::Deleted)
    }
}
