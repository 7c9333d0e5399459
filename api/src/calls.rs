//! Calls: starting outbound calls.

use chrono::{DateTime, Utc};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use shared::{
    Services,
    calls::{self as service, StartCall},
    entities::calls,
};
use uuid::Uuid;

use crate::{api_errors, security::Auth, tags::Tag};

#[derive(Debug, Object)]
pub struct StartCallRequest {
    /// An active call agent with a phone number.
    pub agent_id: Uuid,
    /// Call this contact (its fields become the agent's dynamic variables)…
    pub contact_id: Option<Uuid>,
    /// …or this number (read with the user's default region; stored as E.164).
    #[oai(validator(max_length = 32))]
    pub to_number: Option<String>,
    /// Extra variables for the agent (string, number or boolean values).
    pub dynamic_variables: Option<std::collections::HashMap<String, serde_json::Value>>,
}

/// A call as the call tables show it.
#[derive(Debug, Object)]
pub struct Call {
    pub id: Uuid,
    pub agent_id: Option<Uuid>,
    pub user_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub elevenlabs_conversation_id: Option<String>,
    pub phone_number: Option<String>,
    /// `outbound` or `inbound`.
    pub direction: String,
    /// `initiated`, `in_progress`, `completed` or `failed`.
    pub status: String,
    pub failure_reason: Option<String>,
    pub duration_secs: i32,
    /// Started minutes, as charged.
    pub duration_minutes: i64,
    pub credits_charged: i64,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<calls::Model> for Call {
    fn from(c: calls::Model) -> Self {
        Self {
            id: c.id,
            agent_id: c.agent_id,
            user_id: c.user_id,
            contact_id: c.contact_id,
            elevenlabs_conversation_id: c.elevenlabs_conversation_id,
            phone_number: c.phone_number,
            direction: c.direction,
            status: c.status,
            failure_reason: c.failure_reason,
            duration_minutes: (i64::from(c.duration_secs) + 59) / 60,
            duration_secs: c.duration_secs,
            credits_charged: c.credits_charged,
            created_at: c.created_at,
            completed_at: c.completed_at,
        }
    }
}

#[derive(Debug, ApiResponse)]
pub enum CallStarted {
    /// ElevenLabs is dialling; the post-call webhook completes the call.
    #[oai(status = 201)]
    Started(Json<Call>),
}

api_errors!(StartCallErrors {
    401 => Unauthorized: "Missing or invalid access token.",
    402 => NoCredits: "The balance is not positive (`insufficient_credits`).",
    403 => Forbidden: "Email not verified (`email_not_verified`) or account suspended.",
    404 => NotFound: "No such agent or contact for this user.",
    409 => Conflict: "Draft or chat agent, no phone number, or a do-not-call contact.",
    422 => Invalid: "Invalid number or variables; `details.field` names it.",
    429 => TooMany: "Too many calls in flight (`concurrency_limit`) or ElevenLabs rate limiting.",
    502 => Provider: "ElevenLabs refused or failed.",
    503 => NotConfigured: "ElevenLabs is not configured.",
});

pub struct CallApi {
    pub services: Services,
}

#[OpenApi(prefix_path = "/api/calls", tag = "Tag::Calls")]
impl CallApi {
    /// Start an outbound call
    ///
    /// Needs a verified email, a positive balance and an active call agent with a phone
    /// number. The call is recorded as `initiated` with ElevenLabs' conversation id.
    #[oai(path = "/", method = "post")]
    async fn start(
        &self,
        auth: Auth,
        body: Json<StartCallRequest>,
    ) -> Result<CallStarted, StartCallErrors> {
        let me = auth.user(&self.services).await?;
        let body = body.0;
        let call = service::start(
            &self.services,
            &me,
            StartCall {
                agent_id: body.agent_id,
                contact_id: body.contact_id,
                to_number: body.to_number,
                dynamic_variables: body
                    .dynamic_variables
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
            },
        )
        .await?;
        Ok(CallStarted::Started(Json(call.into())))
    }
}
