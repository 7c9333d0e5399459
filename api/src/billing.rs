//! Credit purchases through Stripe Checkout and the purchase history.

use chrono::{DateTime, Utc};
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use shared::entities::purchases::PurchaseStatus;
use shared::{Services, entities::purchases, money::billing};
use uuid::Uuid;

use crate::{
    api_errors,
    pagination::{Page, default_page, default_per_page},
    security::Auth,
    tags::Tag,
};

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct PurchaseRequest {
    /// Credits to buy (see `PURCHASE_MIN_CREDITS` / `PURCHASE_MAX_CREDITS`).
    pub credits: i64,
}

/// A credit purchase.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Purchase {
    pub id: Uuid,
    pub credits: i64,
    /// In the currency's minor unit (cents).
    pub amount_cents: i64,
    pub currency: String,
    pub status: PurchaseStatus,
    /// Stripe Checkout page to send the buyer to (while pending).
    pub checkout_url: Option<String>,
    pub receipt_url: Option<String>,
    pub refunded_credits: i64,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
}

impl From<purchases::Model> for Purchase {
    fn from(p: purchases::Model) -> Self {
        Self {
            id: p.id,
            credits: p.credits,
            amount_cents: p.amount_cents,
            currency: p.currency,
            status: p.status,
            checkout_url: p.checkout_url,
            receipt_url: p.receipt_url,
            refunded_credits: p.refunded_credits,
            created_at: p.created_at,
            paid_at: p.paid_at,
        }
    }
}

/// What a number of credits costs.
#[derive(Debug, Object)]
pub struct PriceExample {
    pub credits: i64,
    /// In the currency's major unit (dollars).
    pub price: f64,
}

/// What credits cost now (admins may change it at any time).
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct Pricing {
    /// Price of one credit in the currency's major unit (dollars), as the purchase modal shows it.
    pub price_per_credit: f64,
    /// The same price in the minor unit (cents): what Stripe charges.
    pub credit_price_cents: i64,
    /// ISO 4217, lower case.
    pub currency: String,
    /// Fewest and most credits one purchase may buy.
    pub minimum_purchase: i64,
    pub maximum_purchase: i64,
    pub examples: Vec<PriceExample>,
    /// Whether purchases can be made (Stripe is configured).
    pub available: bool,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct PricingEnvelope {
    pub success: bool,
    pub data: Pricing,
}

/// Major units of a minor-unit amount (cents → dollars).
fn major(minor: i64) -> f64 {
    minor as f64 / 100.0
}

/// What the purchase modal sends.
#[derive(Debug, Object)]
#[oai(example)]
pub struct IntentRequest {
    /// Credits to buy.
    pub amount: i64,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct IntentPricing {
    pub credits: i64,
    pub price_per_credit: f64,
    /// In the currency's major unit (dollars).
    pub total_price: f64,
    pub currency: String,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct OpenedIntent {
    /// For Stripe.js `confirmCardPayment`/`confirmPayment`.
    pub client_secret: String,
    pub payment_intent_id: String,
    pub purchase_id: Uuid,
    pub pricing: IntentPricing,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct OpenedIntentEnvelope {
    pub success: bool,
    pub data: OpenedIntent,
}

#[derive(Debug, ApiResponse)]
pub enum IntentCreated {
    /// The purchase waits for its payment; confirm it with Stripe.js, then with `…/confirm`.
    #[oai(status = 201)]
    Created(Json<OpenedIntentEnvelope>),
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct ConfirmRequest {
    #[oai(validator(min_length = 3, max_length = 255))]
    pub payment_intent_id: String,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct ConfirmedPayment {
    pub user_id: Uuid,
    pub purchase_id: Uuid,
    /// The purchase's credits (in the balance, whichever confirmation granted them).
    pub credits_added: i64,
    /// Whether this confirmation granted them (false when Stripe's webhook came first).
    pub newly_granted: bool,
    /// The ledger row of the credits.
    pub transaction_id: Uuid,
    pub message: String,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ConfirmedEnvelope {
    pub success: bool,
    pub data: ConfirmedPayment,
}

/// One payment as the payment history lists it.
#[derive(Debug, Object)]
pub struct PaymentRow {
    pub id: Uuid,
    /// In the currency's minor unit (cents).
    pub amount: i64,
    pub currency: String,
    pub status: PurchaseStatus,
    pub created: DateTime<Utc>,
    pub description: String,
    pub credits: i64,
}

#[derive(Debug, Object)]
pub struct PaymentHistory {
    pub payments: Vec<PaymentRow>,
    pub total: u64,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct PaymentHistoryEnvelope {
    pub success: bool,
    pub data: PaymentHistory,
}

api_errors!(ConfirmErrors {
    400 => Invalid: "No `paymentIntentId` (`validation_error`).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    404 => NotFound: "No purchase of this user has this PaymentIntent (`purchase_not_found`).",
    409 => NotPaid: "Stripe does not report the payment as succeeded (`payment_not_completed`, `details.status`), it does not match the purchase (`payment_mismatch`), or the purchase was refunded (`purchase_not_paid`).",
    502 => Provider: "Stripe refused or failed (`payment_provider_error`).",
    503 => NotConfigured: "Payments are not configured (`payments_not_configured`).",
});

#[derive(Debug, ApiResponse)]
pub enum PurchaseCreated {
    /// The purchase is pending; send the buyer to `checkout_url`.
    #[oai(status = 201)]
    Created(Json<Purchase>),
}

api_errors!(CreatePurchaseErrors {
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "Email not verified (`email_not_verified`) or account suspended.",
    400 => Invalid: "Credits outside the allowed range, or not an integer (`validation_error`).",
    502 => Provider: "Stripe refused or failed (`payment_provider_error`).",
    503 => NotConfigured: "Payments are not configured (`payments_not_configured`).",
});

api_errors!(ListErrors {
    400 => BadQuery: "Malformed query parameters (`invalid_parameter`).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
});

api_errors!(GetErrors {
    400 => BadId: "The id is not a UUID (`invalid_parameter`).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    404 => NotFound: "No such purchase for this user (`purchase_not_found`).",
});

#[derive(Debug, ApiResponse)]
pub enum ReceiptResponse {
    /// The receipt as a PDF document.
    #[oai(status = 200, content_type = "application/pdf")]
    Pdf(
        poem_openapi::payload::Binary<Vec<u8>>,
        #[oai(header = "Content-Disposition")] String,
    ),
}

api_errors!(ReceiptErrors {
    400 => BadId: "The id is not a UUID (`invalid_parameter`).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    404 => NotFound: "No such purchase for this user (`purchase_not_found`).",
    409 => NotPaid: "The purchase is not paid (`purchase_not_paid`).",
});

pub struct BillingApi {
    pub services: Services,
}

/// Payments the history lists when the request names no `limit`.
fn default_payment_limit() -> u64 {
    10
}

#[OpenApi(prefix_path = "/api/billing", tag = "Tag::Billing")]
impl BillingApi {
    /// Credit price and purchase limits
    ///
    /// The price in force (an admin may change it without a restart), the currency and the
    /// allowed credits per purchase; `available` is false when payments are not configured.
    #[oai(path = "/pricing", method = "get")]
    async fn pricing(&self, auth: Auth) -> Result<Json<PricingEnvelope>, ListErrors> {
        auth.user(&self.services).await?;
        let config = self.services.settings().await;
        let b = &config.billing;
        let examples = [b.purchase_min_credits, 100, 500, 1_000]
            .into_iter()
            .filter(|c| (b.purchase_min_credits..=b.purchase_max_credits).contains(c))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|credits| PriceExample {
                credits,
                price: major(credits.saturating_mul(b.credit_price_cents)),
            })
            .collect();
        Ok(Json(PricingEnvelope {
            success: true,
            data: Pricing {
                price_per_credit: major(b.credit_price_cents),
                credit_price_cents: b.credit_price_cents,
                currency: b.credit_currency.clone(),
                minimum_purchase: b.purchase_min_credits,
                maximum_purchase: b.purchase_max_credits,
                examples,
                available: b.stripe_secret_key.is_some(),
            },
        }))
    }

    /// Buy credits (PaymentIntent)
    ///
    /// What the purchase modal sends: a pending purchase of `amount` credits and its Stripe
    /// PaymentIntent, whose `clientSecret` Stripe.js confirms. The credits are granted once,
    /// by `POST /api/billing/purchase/confirm` or Stripe's `payment_intent.succeeded`,
    /// whichever comes first.
    #[oai(path = "/purchase", method = "post")]
    async fn open_intent(
        &self,
        auth: Auth,
        body: Json<IntentRequest>,
    ) -> Result<IntentCreated, CreatePurchaseErrors> {
        let me = auth.user(&self.services).await?;
        let open = billing::payment_intents::open(&self.services, &me, body.amount).await?;
        let p = &open.purchase;
        Ok(IntentCreated::Created(Json(OpenedIntentEnvelope {
            success: true,
            data: OpenedIntent {
                client_secret: open.client_secret.clone(),
                payment_intent_id: p.stripe_payment_intent_id.clone().unwrap_or_default(),
                purchase_id: p.id,
                pricing: IntentPricing {
                    credits: p.credits,
                    price_per_credit: major(p.amount_cents) / p.credits.max(1) as f64,
                    total_price: major(p.amount_cents),
                    currency: p.currency.clone(),
                },
            },
        })))
    }

    /// Confirm a payment
    ///
    /// After Stripe.js confirmed the PaymentIntent: we ask Stripe, and a succeeded payment of
    /// the caller's purchase is granted once (a repeat, or a webhook that came first, answers
    /// the same credits with `newlyGranted: false`).
    #[oai(path = "/purchase/confirm", method = "post")]
    async fn confirm(
        &self,
        auth: Auth,
        body: Json<ConfirmRequest>,
    ) -> Result<Json<ConfirmedEnvelope>, ConfirmErrors> {
        let me = auth.user(&self.services).await?;
        let done =
            billing::payment_intents::confirm(&self.services, &me, &body.payment_intent_id).await?;
        Ok(Json(ConfirmedEnvelope {
            success: true,
            data: ConfirmedPayment {
                user_id: me.id,
                purchase_id: done.purchase.id,
                credits_added: done.purchase.credits,
                newly_granted: done.newly_granted,
                transaction_id: done.transaction_id,
                message: if done.newly_granted {
                    format!("{} credits added", done.purchase.credits)
                } else {
                    format!("{} credits were already added", done.purchase.credits)
                },
            },
        }))
    }

    /// Confirm a payment (former path)
    ///
    /// The same as `POST /api/billing/purchase/confirm`.
    #[oai(path = "/confirm-payment", method = "post")]
    async fn confirm_payment(
        &self,
        auth: Auth,
        body: Json<ConfirmRequest>,
    ) -> Result<Json<ConfirmedEnvelope>, ConfirmErrors> {
        self.confirm(auth, body).await
    }

    /// Payment history
    ///
    /// The user's purchases, newest first (`limit`, default 10), amounts in cents.
    #[oai(path = "/payment-history", method = "get")]
    async fn payment_history(
        &self,
        auth: Auth,
        #[oai(
            default = "default_payment_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<u64>,
    ) -> Result<Json<PaymentHistoryEnvelope>, ListErrors> {
        let me = auth.user(&self.services).await?;
        let (rows, total) = billing::list_purchases(&self.services, me.id, 1, limit.0).await?;
        let payments = rows
            .into_iter()
            .map(|p| PaymentRow {
                id: p.id,
                amount: p.amount_cents,
                description: format!("Purchase of {} credits", p.credits),
                currency: p.currency,
                status: p.status,
                created: p.created_at,
                credits: p.credits,
            })
            .collect();
        Ok(Json(PaymentHistoryEnvelope {
            success: true,
            data: PaymentHistory { payments, total },
        }))
    }

    /// Buy credits
    ///
    /// Creates a pending purchase and a Stripe Checkout Session. Credits are added only when
    /// Stripe confirms the payment through the webhook.
    #[oai(path = "/purchases", method = "post")]
    async fn create(
        &self,
        auth: Auth,
        body: Json<PurchaseRequest>,
    ) -> Result<PurchaseCreated, CreatePurchaseErrors> {
        let me = auth.user(&self.services).await?;
        let purchase = billing::create_purchase(&self.services, &me, body.credits).await?;
        Ok(PurchaseCreated::Created(Json(purchase.into())))
    }

    /// Purchase history
    ///
    /// The user's purchases, newest first, with status (`pending`, `paid`, `failed`, `expired`,
    /// `refunded`) and refunded credits.
    #[oai(path = "/purchases", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        page: Query<u64>,
        #[oai(
            default = "default_per_page",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        per_page: Query<u64>,
    ) -> Result<Json<Page<Purchase>>, ListErrors> {
        let me = auth.user(&self.services).await?;
        let (rows, total) =
            billing::list_purchases(&self.services, me.id, page.0, per_page.0).await?;
        Ok(Json(Page::of(rows, page.0, per_page.0, total)))
    }

    /// Purchase receipt (PDF)
    ///
    /// A receipt we generate for a paid purchase (Stripe also emails its own receipt).
    #[oai(path = "/purchases/:id/receipt.pdf", method = "get")]
    async fn receipt(&self, auth: Auth, id: Path<Uuid>) -> Result<ReceiptResponse, ReceiptErrors> {
        let me = auth.user(&self.services).await?;
        let pdf = billing::receipt_pdf(&self.services, me.id, id.0).await?;
        let disposition = format!("inline; filename=\"switchboard-receipt-{}.pdf\"", id.0);
        Ok(ReceiptResponse::Pdf(
            poem_openapi::payload::Binary(pdf),
            disposition,
        ))
    }

    /// One purchase
    ///
    /// Poll this after the Stripe Checkout redirect: the status turns `paid` when Stripe's
    /// webhook has been applied. Another user's purchase is 404.
    #[oai(path = "/purchases/:id", method = "get")]
    async fn get(&self, auth: Auth, id: Path<Uuid>) -> Result<Json<Purchase>, GetErrors> {
        let me = auth.user(&self.services).await?;
        Ok(Json(
            billing::get_purchase(&self.services, me.owner(), id.0)
                .await?
                .into(),
        ))
    }
}
