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

/// What credits cost now (admins may change it at any time).
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Pricing {
    /// Price of one credit in the currency's minor unit (cents).
    pub credit_price_cents: i64,
    /// ISO 4217, lower case.
    pub currency: String,
    pub min_credits: i64,
    pub max_credits: i64,
    /// Whether purchases can be made (Stripe is configured).
    pub available: bool,
}

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

#[OpenApi(prefix_path = "/api/billing", tag = "Tag::Billing")]
impl BillingApi {
    /// Credit price and purchase limits
    ///
    /// The price in force (an admin may change it without a restart), the currency and the
    /// allowed credits per purchase; `available` is false when payments are not configured.
    #[oai(path = "/pricing", method = "get")]
    async fn pricing(&self, auth: Auth) -> Result<Json<Pricing>, ListErrors> {
        auth.user(&self.services).await?;
        let config = self.services.settings().await;
        Ok(Json(Pricing {
            credit_price_cents: config.billing.credit_price_cents,
            currency: config.billing.credit_currency.clone(),
            min_credits: config.billing.purchase_min_credits,
            max_credits: config.billing.purchase_max_credits,
            available: config.billing.stripe_secret_key.is_some(),
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
