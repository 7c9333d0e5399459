//! A fake Stripe on loopback: the Checkout Sessions API answering with real-shaped objects,
//! and events signed exactly as Stripe signs them (`t=…,v1=hex(HMAC-SHA256(secret, "t.body"))`).

use std::sync::{Arc, Mutex};

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::{Mock, MockServer, Request, ResponseTemplate, matchers};

pub const SECRET_KEY: &str = "sk_test_switchboard_fake";
pub const WEBHOOK_SECRET: &str = "whsec_switchboard_test_secret";

/// One `POST /v1/checkout/sessions` as the fake received it.
#[derive(Debug, Clone)]
pub struct SessionRequest {
    pub form: Vec<(String, String)>,
    pub idempotency_key: Option<String>,
    pub authorization: Option<String>,
    pub session: Value,
}

impl SessionRequest {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct FakeStripe {
    pub server: MockServer,
    pub requests: Arc<Mutex<Vec<SessionRequest>>>,
    /// PaymentIntents by id, as Stripe holds them (tests move them to `succeeded`).
    pub intents: Arc<Mutex<std::collections::BTreeMap<String, Value>>>,
    /// `Idempotency-Key` of every PaymentIntent creation.
    pub intent_keys: Arc<Mutex<Vec<Option<String>>>>,
}

impl FakeStripe {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let requests: Arc<Mutex<Vec<SessionRequest>>> = Arc::default();
        let seen = requests.clone();
        Mock::given(matchers::method("POST"))
            .and(matchers::path("/v1/checkout/sessions"))
            .respond_with(move |req: &Request| {
                let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
                    .into_owned()
                    .collect();
                let header = |name: &str| {
                    req.headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(String::from)
                };
                let session = session_object(&form);
                seen.lock().unwrap().push(SessionRequest {
                    idempotency_key: header("idempotency-key"),
                    authorization: header("authorization"),
                    form,
                    session: session.clone(),
                });
                ResponseTemplate::new(200).set_body_json(session)
            })
            .mount(&server)
            .await;
        let intents: Arc<Mutex<std::collections::BTreeMap<String, Value>>> = Arc::default();
        let intent_keys: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
        let (held, keys) = (intents.clone(), intent_keys.clone());
        Mock::given(matchers::method("POST"))
            .and(matchers::path("/v1/payment_intents"))
            .respond_with(move |req: &Request| {
                let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
                    .into_owned()
                    .collect();
                keys.lock().unwrap().push(
                    req.headers
                        .get("idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .map(String::from),
                );
                let intent = intent_object(&form);
                held.lock()
                    .unwrap()
                    .insert(intent["id"].as_str().unwrap().to_string(), intent.clone());
                ResponseTemplate::new(200).set_body_json(intent)
            })
            .mount(&server)
            .await;
        let held = intents.clone();
        Mock::given(matchers::method("GET"))
            .and(matchers::path_regex("^/v1/payment_intents/[^/]+$"))
            .respond_with(move |req: &Request| {
                let id = req.url.path().rsplit('/').next().unwrap_or_default();
                match held.lock().unwrap().get(id) {
                    Some(intent) => ResponseTemplate::new(200).set_body_json(intent.clone()),
                    None => ResponseTemplate::new(404).set_body_json(json!({"error": {
                        "type": "invalid_request_error", "code": "resource_missing",
                        "message": format!("No such payment_intent: '{id}'")
                    }})),
                }
            })
            .mount(&server)
            .await;
        Self {
            server,
            requests,
            intents,
            intent_keys,
        }
    }

    /// Stripe.js confirmed the payment: the PaymentIntent has succeeded. Returns it.
    pub fn succeed(&self, id: &str) -> Value {
        let mut intents = self.intents.lock().unwrap();
        let intent = intents.get_mut(id).expect("a PaymentIntent of the fake");
        intent["status"] = json!("succeeded");
        intent["amount_received"] = intent["amount"].clone();
        intent["latest_charge"] = json!(format!("ch_test_{}", uuid::Uuid::new_v4().simple()));
        intent.clone()
    }

    /// The PaymentIntent as Stripe holds it now.
    pub fn intent(&self, id: &str) -> Value {
        self.intents.lock().unwrap()[id].clone()
    }

    /// The base URL to give the app as `STRIPE_API_BASE`.
    pub fn api_base(&self) -> String {
        format!("{}/", self.server.uri())
    }

    pub fn sessions(&self) -> Vec<SessionRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// Makes the API answer every call with Stripe's error shape.
    pub async fn fail_with(&self, status: u16, message: &str) {
        self.server.reset().await;
        Mock::given(matchers::any())
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({
                "error": {"type": "invalid_request_error", "code": "parameter_invalid", "message": message}
            })))
            .mount(&self.server)
            .await;
    }
}

/// The `metadata[<key>]` fields of a form-encoded Stripe request, as the object's metadata.
fn metadata_of(form: &[(String, String)]) -> serde_json::Map<String, Value> {
    form.iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("metadata[")
                .and_then(|r| r.strip_suffix(']'))
                .map(|key| (key.to_string(), Value::String(v.clone())))
        })
        .collect()
}

/// A Checkout Session as Stripe returns it on creation.
fn session_object(form: &[(String, String)]) -> Value {
    let get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let id = format!("cs_test_{}", uuid::Uuid::new_v4().simple());
    let now = chrono::Utc::now().timestamp();
    let metadata = metadata_of(form);
    let quantity: i64 = get("line_items[0][quantity]")
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    let unit: i64 = get("line_items[0][price_data][unit_amount]")
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    json!({
        "id": id, "object": "checkout.session", "adaptive_pricing": null, "after_expiration": null,
        "allow_promotion_codes": null, "amount_subtotal": quantity * unit, "amount_total": quantity * unit,
        "automatic_tax": {"enabled": false, "liability": null, "provider": null, "status": null},
        "billing_address_collection": null, "cancel_url": get("cancel_url"),
        "client_reference_id": get("client_reference_id"), "client_secret": null,
        "collected_information": null, "consent": null, "consent_collection": null, "created": now,
        "currency": get("line_items[0][price_data][currency]"), "currency_conversion": null,
        "custom_fields": [],
        "custom_text": {"after_submit": null, "shipping_address": null, "submit": null, "terms_of_service_acceptance": null},
        "customer": null, "customer_creation": "if_required", "customer_details": null,
        "customer_email": get("customer_email"), "discounts": [], "expires_at": now + 86400,
        "invoice": null, "invoice_creation": null, "livemode": false, "locale": null,
        "metadata": metadata, "mode": "payment", "payment_intent": null, "payment_link": null,
        "payment_method_collection": "if_required", "payment_method_configuration_details": null,
        "payment_method_options": {}, "payment_method_types": ["card"], "payment_status": "unpaid",
        "phone_number_collection": {"enabled": false}, "recovered_from": null,
        "saved_payment_method_options": null, "setup_intent": null, "shipping_address_collection": null,
        "shipping_cost": null, "shipping_options": [], "status": "open", "submit_type": null,
        "subscription": null, "success_url": get("success_url"),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted", "url": format!("https://checkout.stripe.com/c/pay/{id}")
    })
}

/// A PaymentIntent as Stripe returns it on creation (waiting for a payment method).
fn intent_object(form: &[(String, String)]) -> Value {
    let get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let id = format!("pi_test_{}", uuid::Uuid::new_v4().simple());
    let metadata = metadata_of(form);
    let amount: i64 = get("amount").and_then(|a| a.parse().ok()).unwrap_or(0);
    json!({
        "id": id, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
        "amount_received": 0, "automatic_payment_methods": {"allow_redirects": "always", "enabled": true},
        "capture_method": "automatic_async", "client_secret": format!("{id}_secret_{}", uuid::Uuid::new_v4().simple()),
        "confirmation_method": "automatic", "created": chrono::Utc::now().timestamp(),
        "currency": get("currency"), "description": get("description"), "livemode": false,
        "metadata": metadata, "payment_method_types": ["card"], "receipt_email": get("receipt_email"),
        "status": "requires_payment_method"
    })
}

/// An event envelope around `object`.
pub fn event(event_type: &str, object: Value) -> Value {
    json!({
        "id": format!("evt_{}", uuid::Uuid::new_v4().simple()),
        "object": "event", "api_version": "2025-09-30.clover",
        "created": chrono::Utc::now().timestamp(), "livemode": false, "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": event_type, "data": {"object": object}
    })
}

/// The session object of a completed (paid) checkout, as the webhook carries it.
pub fn completed_session(created: &Value, payment_intent: &str) -> Value {
    let mut session = created.clone();
    session["status"] = json!("complete");
    session["payment_status"] = json!("paid");
    session["payment_intent"] = json!(payment_intent);
    session
}

/// `Stripe-Signature` for `payload` signed at unix time `t`.
pub fn signature_at(secret: &str, payload: &str, t: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{t}.{payload}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

pub fn signature(secret: &str, payload: &str) -> String {
    signature_at(secret, payload, chrono::Utc::now().timestamp())
}
