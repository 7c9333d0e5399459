//! Provider webhooks: verify, store in the inbox, answer. Processing happens in the worker.

use poem_openapi::{ApiResponse, Object, OpenApi, param::Header, payload::Json};
use shared::{
    Services,
    billing::stripe_events,
    conversations,
    jobs::JobKind,
    webhooks::{self, Delivery},
};

use crate::{api_errors, raw_json::RawJson, tags::Tag};

#[derive(Debug, Object)]
pub struct Received {
    /// Always true: the event is stored (now or at an earlier delivery).
    pub received: bool,
    /// False when this delivery repeated one already stored.
    pub new: bool,
}

#[derive(Debug, ApiResponse)]
pub enum ReceivedResponse {
    /// Stored (or already stored); it will be applied in the background.
    #[oai(status = 200)]
    Ok(Json<Received>),
}

api_errors!(StripeWebhookErrors {
    400 => Rejected: "Missing, forged or stale signature, or not a Stripe event; nothing is stored.",
    503 => Unavailable: "Webhook secret not configured, or the database is down (Stripe retries).",
});

api_errors!(ElevenLabsWebhookErrors {
    400 => Rejected: "Not an ElevenLabs post-call event; nothing is stored.",
    401 => Unauthorized: "Missing, forged or stale signature; nothing is stored (ElevenLabs does not retry).",
    413 => TooLarge: "Body over `RECORDING_MAX_BYTES`; nothing is stored.",
    503 => Unavailable: "Webhook secret not configured, or the database is down (ElevenLabs retries).",
});

pub struct WebhookApi {
    pub services: Services,
}

#[OpenApi(prefix_path = "/webhooks", tag = "Tag::Webhooks")]
impl WebhookApi {
    #[oai(path = "/elevenlabs", method = "post")]
    /// ElevenLabs post-call events
    ///
    /// Set this URL as the post-call webhook of the ElevenLabs workspace (events
    /// `post_call_transcription`, `post_call_audio` and `call_initiation_failure`) with one of
    /// `ELEVENLABS_WEBHOOK_SECRETS`. The `ElevenLabs-Signature` header is verified over the raw
    /// body as it streams in; each type + conversation is stored once and applied in the
    /// background. Bodies up to `RECORDING_MAX_BYTES` are accepted (audio is large).
    async fn elevenlabs(
        &self,
        #[oai(name = "ElevenLabs-Signature")] signature: Header<Option<String>>,
        body: RawJson,
    ) -> Result<ReceivedResponse, ElevenLabsWebhookErrors> {
        let intake = conversations::receive(
            &self.services,
            signature.0.as_deref(),
            body.0.into_async_read(),
        )
        .await?;
        tracing::info!(event = %intake.key, new = intake.new, bytes = intake.bytes, "elevenlabs event received");
        Ok(ReceivedResponse::Ok(Json(Received {
            received: true,
            new: intake.new,
        })))
    }

    /// Stripe events
    ///
    /// Point a Stripe webhook endpoint here with the events `checkout.session.completed`,
    /// `checkout.session.async_payment_succeeded`, `checkout.session.async_payment_failed`,
    /// `checkout.session.expired`, `charge.succeeded` and `charge.refunded`. The `Stripe-Signature` header is
    /// verified over the raw body with `STRIPE_WEBHOOK_SECRET`; each event id is stored once.
    #[oai(path = "/stripe", method = "post")]
    async fn stripe(
        &self,
        #[oai(name = "Stripe-Signature")] signature: Header<Option<String>>,
        body: RawJson,
    ) -> Result<ReceivedResponse, StripeWebhookErrors> {
        let body = body.bytes().await?;
        let envelope = stripe_events::verify(
            &*self.services.settings().await,
            &body,
            signature.0.as_deref(),
        )?;
        let new = webhooks::receive(
            &self.services,
            JobKind::StripeEvent,
            Delivery {
                provider: "stripe",
                external_id: &envelope.id,
                event_type: &envelope.event_type,
                payload: &body,
            },
        )
        .await?;
        tracing::info!(event = %envelope.id, kind = %envelope.event_type, new, "stripe event received");
        Ok(ReceivedResponse::Ok(Json(Received {
            received: true,
            new,
        })))
    }
}
