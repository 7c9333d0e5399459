//! Provider webhooks: verify, store in the inbox, answer. Processing happens in the worker.

use poem_openapi::{ApiResponse, Object, OpenApi, param::Header, payload::Json};
use shared::{
    Services,
    calls::conversations,
    money::billing::stripe_events,
    platform::inbox::{self, Delivery},
    platform::jobs::JobKind,
};

use crate::{api_errors, raw_json::RawJson, tags::Tag};

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
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
    400 => Rejected: "Missing, forged or stale signature (`missing_signature`, `invalid_signature`, `stale_signature`), or not a Stripe event (`invalid_event`, `invalid_payload`); nothing is stored.",
    503 => Unavailable: "Webhook secret not configured (`webhook_not_configured`), or the database is down (`database_unavailable`); Stripe retries.",
});

api_errors!(ElevenLabsWebhookErrors {
    400 => Rejected: "Not an ElevenLabs post-call event (`invalid_event`); nothing is stored.",
    401 => Unauthorized: "Missing, forged or stale signature (`missing_signature`, `invalid_signature`, `stale_signature`); nothing is stored (ElevenLabs does not retry).",
    413 => TooLarge: "Body over `RECORDING_MAX_BYTES` (`payload_too_large`); nothing is stored.",
    503 => Unavailable: "Webhook secret not configured (`webhook_not_configured`), or the database is down (`database_unavailable`); ElevenLabs retries.",
});

/// Names the event on the request's log line (`event`, with `dup:` for a duplicate).
fn record_event(key: &str, new: bool) {
    let span = tracing::Span::current();
    if new {
        span.record("event", key);
    } else {
        span.record("event", format!("dup:{key}"));
    }
}

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
    ///
    /// Example (headers `ElevenLabs-Signature: t=1763647661,v0=<hex HMAC-SHA256 of "t.body">`):
    /// ```json
    /// {"type": "post_call_transcription", "event_timestamp": 1763647660,
    ///  "data": {"agent_id": "agent_01jbq7w3y4d5e6f7g8h9j0k1m2",
    ///    "conversation_id": "conv_01jbq8x4z5e6f7g8h9j0k1m2n3", "status": "done",
    ///    "transcript": [{"role": "agent", "message": "Hi Jordan…", "time_in_call_secs": 0}],
    ///    "metadata": {"start_time_unix_secs": 1763647392, "call_duration_secs": 268},
    ///    "analysis": {"call_successful": "success", "transcript_summary": "…",
    ///      "data_collection_results": {}}}}
    /// ```
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
        // Named on the request's own log line: one line per webhook.
        record_event(&intake.key, intake.new);
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
    ///
    /// Example (header `Stripe-Signature: t=1763647661,v1=<hex HMAC-SHA256 of "t.body">`):
    /// ```json
    /// {"id": "evt_1QxYz2AbCdEfGhIj", "object": "event", "type": "checkout.session.completed",
    ///  "created": 1763647661, "livemode": false,
    ///  "data": {"object": {"id": "cs_test_a1B2c3D4", "object": "checkout.session",
    ///    "client_reference_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c65",
    ///    "payment_status": "paid", "amount_total": 5000, "currency": "usd"}}}
    /// ```
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
        let new = inbox::receive(
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
        record_event(&envelope.id, new);
        Ok(ReceivedResponse::Ok(Json(Received {
            received: true,
            new,
        })))
    }
}
