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

/// What an agent's lookup tool learns of a caller: enough to greet them, nothing more.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct ContactMatch {
    pub found: bool,
    pub name: Option<String>,
    pub company: Option<String>,
    pub has_email: Option<bool>,
    pub has_notes: Option<bool>,
    /// Why nothing was found.
    pub message: Option<String>,
}

impl ContactMatch {
    fn of(contact: Option<shared::entities::contacts::Model>) -> Self {
        match contact {
            Some(c) => Self {
                found: true,
                has_email: Some(c.email.is_some()),
                has_notes: Some(c.notes.as_deref().is_some_and(|n| !n.trim().is_empty())),
                name: Some(c.name),
                company: c.company,
                message: None,
            },
            None => Self {
                found: false,
                name: None,
                company: None,
                has_email: None,
                has_notes: None,
                message: Some("No contact found for this phone number".into()),
            },
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ContactMatchEnvelope {
    pub success: bool,
    pub data: ContactMatch,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct BatchLookupRequest {
    /// 1 to 100 numbers in any format.
    pub phones: Vec<String>,
}

/// One number's answer in a batch.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct PhoneMatch {
    pub phone: String,
    #[oai(flatten)]
    pub contact: ContactMatch,
    /// Set when the number cannot be read.
    pub error: Option<String>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct BatchSummary {
    pub total: u64,
    pub found: u64,
    pub not_found: u64,
}

#[derive(Debug, Object)]
pub struct BatchLookup {
    pub results: Vec<PhoneMatch>,
    pub summary: BatchSummary,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct BatchLookupEnvelope {
    pub success: bool,
    pub data: BatchLookup,
}

api_errors!(LookupErrors {
    400 => BadRequest: "A number that cannot be read (`validation_error`: 'Invalid phone number format'), or 0 or over 100 numbers in a batch.",
    401 => Unauthorized: "Missing or unknown integration secret in `X-Switchboard-Secret` or `X-API-Key` (`invalid_integration_secret`).",
});

pub struct IntegrationApi {
    pub services: Services,
}

impl IntegrationApi {
    /// The account whose integration secret came in either header.
    async fn tool_owner(
        &self,
        secret: Option<String>,
        api_key: Option<String>,
    ) -> Result<Uuid, shared::AppError> {
        integrations::authenticate(&self.services.db, secret.or(api_key).as_deref()).await
    }

    async fn match_one(&self, owner: Uuid, phone: &str) -> Result<ContactMatch, LookupErrors> {
        let answer = integrations::lookup_phones(&self.services.db, owner, &[phone.to_string()])
            .await?
            .pop()
            .unwrap_or(Ok(None));
        match answer {
            Ok(contact) => Ok(ContactMatch::of(contact)),
            Err(_) => {
                Err(shared::AppError::validation("phone", "Invalid phone number format").into())
            }
        }
    }
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

    /// Contact lookup (agent tool)
    ///
    /// What the client's earlier agents' lookup tool calls: whether the number (any format;
    /// URL-encode the `+`) is one of the secret owner's contacts, and the little a greeting
    /// needs. Always 200 for a readable number; never looks beyond the owner's contacts.
    #[oai(path = "/api/contacts/lookup/:phone", method = "get")]
    async fn lookup(
        &self,
        #[oai(name = "X-Switchboard-Secret")] secret: Header<Option<String>>,
        #[oai(name = "X-API-Key")] api_key: Header<Option<String>>,
        phone: Path<String>,
    ) -> Result<Json<ContactMatchEnvelope>, LookupErrors> {
        let owner = self.tool_owner(secret.0, api_key.0).await?;
        Ok(Json(ContactMatchEnvelope {
            success: true,
            data: self.match_one(owner, &phone.0).await?,
        }))
    }

    /// Contact lookup (ElevenLabs-era path)
    ///
    /// The same as `GET /api/contacts/lookup/{phone}`, at the path the client's ElevenLabs
    /// tools were first configured with.
    #[oai(path = "/api/webhooks/contact-lookup/:phone", method = "get")]
    async fn webhook_lookup(
        &self,
        #[oai(name = "X-Switchboard-Secret")] secret: Header<Option<String>>,
        #[oai(name = "X-API-Key")] api_key: Header<Option<String>>,
        phone: Path<String>,
    ) -> Result<Json<ContactMatchEnvelope>, LookupErrors> {
        self.lookup(secret, api_key, phone).await
    }

    /// Contact lookup for many numbers
    ///
    /// Up to 100 numbers in one request and one query; a number that cannot be read gets an
    /// `error` of its own.
    #[oai(path = "/api/contacts/lookup/batch", method = "post")]
    async fn batch_lookup(
        &self,
        #[oai(name = "X-Switchboard-Secret")] secret: Header<Option<String>>,
        #[oai(name = "X-API-Key")] api_key: Header<Option<String>>,
        body: Json<BatchLookupRequest>,
    ) -> Result<Json<BatchLookupEnvelope>, LookupErrors> {
        let owner = self.tool_owner(secret.0, api_key.0).await?;
        let phones = body.0.phones;
        let answers = integrations::lookup_phones(&self.services.db, owner, &phones).await?;
        let results: Vec<PhoneMatch> = phones
            .into_iter()
            .zip(answers)
            .map(|(phone, answer)| match answer {
                Ok(contact) => PhoneMatch {
                    phone,
                    contact: ContactMatch::of(contact),
                    error: None,
                },
                Err(_) => PhoneMatch {
                    phone,
                    contact: ContactMatch::of(None),
                    error: Some("Invalid phone number format".into()),
                },
            })
            .collect();
        let found = results.iter().filter(|r| r.contact.found).count() as u64;
        let total = results.len() as u64;
        Ok(Json(BatchLookupEnvelope {
            success: true,
            data: BatchLookup {
                results,
                summary: BatchSummary {
                    total,
                    found,
                    not_found: total - found,
                },
            },
        }))
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
