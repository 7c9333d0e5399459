//! Buying credits with a Stripe PaymentIntent: what the client's purchase modal does. The
//! purchase is created with its PaymentIntent; the browser confirms the payment with Stripe.js
//! and then asks us to confirm it, while Stripe also sends `payment_intent.succeeded`. Either
//! grants the credits, once (see `grant`): the confirmation reads the PaymentIntent from Stripe
//! itself, so a client can never claim a payment that did not happen.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use stripe::{IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_core::payment_intent::{
    CreatePaymentIntent, CreatePaymentIntentAutomaticPaymentMethods, RetrievePaymentIntent,
};
use uuid::Uuid;

use super::{
    PurchaseStatus,
    grant::{Payment, grant_in},
    provider_error, stripe_client,
};
use crate::{
    Services,
    accounts::auth::CurrentUser,
    entities::{credit_transactions as ledger, purchases},
    money::credits::TxKind,
    platform::after_commit::AfterCommit,
    platform::error::{AppError, AppResult},
};

/// A purchase waiting for its payment, and what Stripe.js needs to take it.
#[derive(Debug, Clone)]
pub struct OpenIntent {
    pub purchase: purchases::Model,
    pub client_secret: String,
}

/// Checks the credits asked for against the limits in force.
pub(super) fn check_credits(config: &crate::Config, credits: i64) -> AppResult<i64> {
    if credits < config.billing.purchase_min_credits
        || credits > config.billing.purchase_max_credits
    {
        return Err(AppError::validation(
            "amount",
            format!(
                "buy between {} and {} credits",
                config.billing.purchase_min_credits, config.billing.purchase_max_credits
            ),
        ));
    }
    credits
        .checked_mul(config.billing.credit_price_cents)
        .ok_or_else(|| AppError::validation("amount", "amount too large"))
}

/// Starts a purchase of `credits` with a PaymentIntent of its price.
pub async fn open(services: &Services, user: &CurrentUser, credits: i64) -> AppResult<OpenIntent> {
    let config = services.settings().await;
    user.require_verified_email()?;
    let amount = check_credits(&config, credits)?;
    let client = stripe_client(services).await?;
    let currency: stripe_types::Currency = config
        .billing
        .credit_currency
        .parse()
        .map_err(|_| AppError::internal("CREDIT_CURRENCY is not a Stripe currency"))?;
    let purchase = super::pending(
        services,
        user.id,
        credits,
        amount,
        &config.billing.credit_currency,
    )
    .await?;
    let metadata = HashMap::from([
        ("purchase_id".to_string(), purchase.id.to_string()),
        ("user_id".to_string(), user.id.to_string()),
        ("credits".to_string(), credits.to_string()),
    ]);
    let key = IdempotencyKey::new(format!("purchase-intent-{}", purchase.id))
        .map_err(|e| AppError::internal(format!("idempotency key: {e}")))?;
    let sent = std::time::Instant::now();
    let intent = CreatePaymentIntent::new(amount, currency)
        .automatic_payment_methods(CreatePaymentIntentAutomaticPaymentMethods::new(true))
        .description(format!("{credits} Switchboard call credits"))
        .receipt_email(user.email.clone())
        .metadata(metadata)
        .customize()
        .request_strategy(RequestStrategy::Idempotent(key))
        .send(&client)
        .await;
    crate::platform::monitoring::provider_request(
        "stripe",
        if intent.is_ok() { "2xx" } else { "error" }.into(),
        sent.elapsed(),
    );
    let mut active: purchases::ActiveModel = purchase.into();
    active.updated_at = Set(Utc::now());
    match intent {
        Ok(intent) => {
            let client_secret = intent.client_secret.clone().ok_or_else(|| {
                AppError::internal("Stripe answered a PaymentIntent without a client secret")
            })?;
            active.stripe_payment_intent_id = Set(Some(intent.id.to_string()));
            Ok(OpenIntent {
                purchase: active.update(&services.db).await?,
                client_secret,
            })
        }
        Err(e) => {
            active.status = Set(PurchaseStatus::Failed);
            active.update(&services.db).await?;
            Err(provider_error(e))
        }
    }
}

/// Whether a PaymentIntent (as an event carries it) pays exactly this purchase.
pub fn pays_for(intent: &Value, purchase: &purchases::Model) -> bool {
    let amount = intent
        .get("amount_received")
        .or_else(|| intent.get("amount"))
        .and_then(Value::as_i64);
    let currency = intent.get("currency").and_then(Value::as_str);
    amount == Some(purchase.amount_cents)
        && currency.is_some_and(|c| c.eq_ignore_ascii_case(&purchase.currency))
}

/// The outcome of a buyer's confirmation.
#[derive(Debug, Clone)]
pub struct Confirmed {
    pub purchase: purchases::Model,
    /// The ledger row of the purchase's credits.
    pub transaction_id: Uuid,
    /// False when the webhook (or an earlier confirmation) had granted them already.
    pub newly_granted: bool,
}

/// The buyer says their payment went through: Stripe is asked, and a succeeded PaymentIntent
/// of the buyer's purchase is granted (once). Another user's PaymentIntent is not found.
pub async fn confirm(
    services: &Services,
    user: &CurrentUser,
    payment_intent_id: &str,
) -> AppResult<Confirmed> {
    let purchase = purchases::Entity::find()
        .filter(purchases::Column::UserId.eq(user.id))
        .filter(purchases::Column::StripePaymentIntentId.eq(payment_intent_id))
        .one(&services.db)
        .await?
        .ok_or(AppError::not_found("purchase"))?;
    let client = stripe_client(services).await?;
    let sent = std::time::Instant::now();
    let intent = RetrievePaymentIntent::new(payment_intent_id)
        .send(&client)
        .await;
    crate::platform::monitoring::provider_request(
        "stripe",
        if intent.is_ok() { "2xx" } else { "error" }.into(),
        sent.elapsed(),
    );
    let intent = intent.map_err(provider_error)?;
    if intent.status != stripe_shared::PaymentIntentStatus::Succeeded {
        return Err(AppError::Conflict {
            code: "payment_not_completed",
            message: format!(
                "the payment is not complete yet (Stripe says `{}`)",
                intent.status.as_str()
            ),
            details: Some(serde_json::json!({"status": intent.status.as_str()})),
        });
    }
    let received = intent.amount_received;
    if received != purchase.amount_cents
        || !intent
            .currency
            .to_string()
            .eq_ignore_ascii_case(&purchase.currency)
    {
        return Err(AppError::Conflict {
            code: "payment_mismatch",
            message: "the payment does not match the purchase".into(),
            details: None,
        });
    }
    let config = services.settings().await;
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let mut after = AfterCommit::new();
    let payment = Payment {
        checkout_session: None,
        payment_intent: Some(payment_intent_id.to_string()),
    };
    let granted = grant_in(&txn, &config, &purchase, payment, &mut after).await?;
    let (transaction_id, newly_granted) = match granted {
        Some(applied) => (applied.row.id, applied.created),
        None => (granted_row(&txn, purchase.id).await?, false),
    };
    let purchase = purchases::Entity::find_by_id(purchase.id)
        .one(&txn)
        .await?
        .ok_or(AppError::not_found("purchase"))?;
    after.commit(services, txn).await?;
    Ok(Confirmed {
        purchase,
        transaction_id,
        newly_granted,
    })
}

/// The ledger row that granted a paid purchase.
async fn granted_row<C: sea_orm::ConnectionTrait>(txn: &C, purchase_id: Uuid) -> AppResult<Uuid> {
    ledger::Entity::find()
        .filter(ledger::Column::PurchaseId.eq(purchase_id))
        .filter(ledger::Column::Kind.eq(TxKind::Purchase))
        .one(txn)
        .await?
        .map(|row| row.id)
        .ok_or_else(|| AppError::Conflict {
            code: "purchase_not_paid",
            message: "the purchase is closed without its credits (refunded or expired)".into(),
            details: None,
        })
}
