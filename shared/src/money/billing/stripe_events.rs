//! Stripe webhooks: verification at intake, and applying stored events in the worker. Credits
//! are granted once per purchase (see `grant`), whichever of its Checkout Session and
//! PaymentIntent events arrive, in whatever number, order or concurrency.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{
    PurchaseStatus,
    grant::{Payment, grant_in},
};
use crate::{
    Config, Services,
    entities::{purchases, webhook_events},
    money::credits::{self, Entry, TxKind},
    platform::after_commit::AfterCommit,
    platform::error::{AppError, AppResult},
    platform::inbox,
    platform::jobs::JobError,
    platform::secret::Secret,
};

/// The envelope fields the intake needs.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
}

/// Verifies `Stripe-Signature` over the raw body (any `v1` may match, 300 s tolerance,
/// constant-time) with async-stripe, then reads the envelope.
pub fn verify(config: &Config, payload: &[u8], signature: Option<&str>) -> AppResult<Envelope> {
    let secret = config
        .billing
        .stripe_webhook_secret
        .as_ref()
        .map(Secret::expose)
        .ok_or_else(|| {
            AppError::unavailable(
                "payments_not_configured",
                "the Stripe webhook secret is not configured",
            )
        })?;
    let signature = signature.ok_or_else(|| {
        AppError::bad_request(
            "missing_signature",
            "the Stripe-Signature header is missing",
        )
    })?;
    let text = std::str::from_utf8(payload)
        .map_err(|_| AppError::bad_request("invalid_payload", "the body is not UTF-8 JSON"))?;
    match stripe_webhook::Webhook::construct_event(text, signature, secret) {
        // The signature matched; async-stripe's typed parse of the object is not needed here.
        Ok(_) | Err(stripe_webhook::WebhookError::BadParse(_)) => {}
        Err(stripe_webhook::WebhookError::BadTimestamp(_)) => {
            return Err(AppError::bad_request(
                "stale_signature",
                "the signature timestamp is outside the tolerance",
            ));
        }
        Err(_) => {
            return Err(AppError::bad_request(
                "invalid_signature",
                "the Stripe signature does not match",
            ));
        }
    }
    serde_json::from_str::<Envelope>(text)
        .map_err(|_| AppError::bad_request("invalid_event", "the body is not a Stripe event"))
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Applies one stored event; safe to run any number of times.
pub async fn apply(services: &Services, inbox_id: Uuid) -> Result<(), JobError> {
    let Some((row, event)) = inbox::pending(&services.db, inbox_id).await? else {
        return Ok(());
    };
    let object = &event["data"]["object"];
    match row.event_type.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            fulfil(services, &row, object).await
        }
        "checkout.session.async_payment_failed" => {
            close(services, &row, object, PurchaseStatus::Failed).await
        }
        "checkout.session.expired" => close(services, &row, object, PurchaseStatus::Expired).await,
        "payment_intent.succeeded" => intent_succeeded(services, &row, object).await,
        "payment_intent.payment_failed" | "payment_intent.canceled" => {
            intent_failed(services, &row, object).await
        }
        "charge.refunded" => refund(services, &row, object).await,
        "charge.succeeded" => receipt_url(services, &row, object).await,
        _ => inbox::settle(&services.db, &row, inbox::InboxStatus::Ignored, None, None).await,
    }
}

/// The purchase a Checkout Session belongs to: by our id in its metadata or client reference,
/// else by the session id.
async fn purchase_of_session(
    services: &Services,
    session: &Value,
) -> Result<Option<purchases::Model>, JobError> {
    let ours = session
        .get("metadata")
        .and_then(|m| str_at(m, "purchase_id"))
        .or_else(|| str_at(session, "client_reference_id"));
    purchase_named(
        services,
        ours,
        purchases::Column::StripeCheckoutSessionId,
        str_at(session, "id"),
    )
    .await
}

/// The purchase a PaymentIntent pays: by our id in its metadata, else by the intent id.
async fn purchase_of_intent(
    services: &Services,
    intent: &Value,
) -> Result<Option<purchases::Model>, JobError> {
    let ours = intent
        .get("metadata")
        .and_then(|m| str_at(m, "purchase_id"));
    purchase_named(
        services,
        ours,
        purchases::Column::StripePaymentIntentId,
        str_at(intent, "id"),
    )
    .await
}

/// Our id when the object carries one (and it exists), else the row holding Stripe's id in
/// `column`: objects created outside our flow (the dashboard, a retried session) carry only the
/// latter.
async fn purchase_named(
    services: &Services,
    ours: Option<&str>,
    column: purchases::Column,
    stripe_id: Option<&str>,
) -> Result<Option<purchases::Model>, JobError> {
    if let Some(id) = ours.and_then(|id| Uuid::parse_str(id).ok())
        && let Some(p) = purchases::Entity::find_by_id(id).one(&services.db).await?
    {
        return Ok(Some(p));
    }
    let Some(stripe_id) = stripe_id else {
        return Ok(None);
    };
    Ok(purchases::Entity::find()
        .filter(column.eq(stripe_id))
        .one(&services.db)
        .await?)
}

async fn unroutable(
    services: &Services,
    row: &webhook_events::Model,
    why: &str,
) -> Result<(), JobError> {
    tracing::warn!(event = %row.external_id, why, "stripe event names no purchase of ours");
    inbox::settle(
        &services.db,
        row,
        inbox::InboxStatus::Unroutable,
        Some(why.into()),
        None,
    )
    .await
}

async fn fulfil(
    services: &Services,
    row: &webhook_events::Model,
    session: &Value,
) -> Result<(), JobError> {
    if str_at(session, "payment_status") != Some("paid") {
        // Completed but not paid yet (a delayed method): `async_payment_succeeded` follows.
        return inbox::settle(&services.db, row, inbox::InboxStatus::Processed, None, None).await;
    }
    let Some(purchase) = purchase_of_session(services, session).await? else {
        return unroutable(services, row, "no purchase for this checkout session").await;
    };
    let payment = Payment {
        checkout_session: str_at(session, "id").map(String::from),
        payment_intent: str_at(session, "payment_intent").map(String::from),
    };
    grant_and_settle(services, row, &purchase, payment).await
}

/// Grants the purchase (once) and settles the event in one transaction.
async fn grant_and_settle(
    services: &Services,
    row: &webhook_events::Model,
    purchase: &purchases::Model,
    payment: Payment,
) -> Result<(), JobError> {
    let config = services.settings().await;
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let mut after = AfterCommit::new();
    grant_in(&txn, &config, purchase, payment, &mut after).await?;
    inbox::settle(
        &txn,
        row,
        inbox::InboxStatus::Processed,
        None,
        Some(purchase.user_id),
    )
    .await?;
    after.commit(services, txn).await?;
    Ok(())
}

/// A PaymentIntent's success (the purchase modal's flow, and every Checkout payment too): the
/// purchase named in its metadata, else the one holding its id, is granted once.
async fn intent_succeeded(
    services: &Services,
    row: &webhook_events::Model,
    intent: &Value,
) -> Result<(), JobError> {
    let Some(purchase) = purchase_of_intent(services, intent).await? else {
        return unroutable(services, row, "no purchase for this payment intent").await;
    };
    if !super::payment_intents::pays_for(intent, &purchase) {
        return Err(JobError::Permanent(format!(
            "payment intent {} does not match purchase {} (amount or currency)",
            str_at(intent, "id").unwrap_or_default(),
            purchase.id
        )));
    }
    let payment = Payment {
        checkout_session: None,
        payment_intent: str_at(intent, "id").map(String::from),
    };
    grant_and_settle(services, row, &purchase, payment).await
}

/// A PaymentIntent's failure marks a pending purchase failed (a later success still pays it).
async fn intent_failed(
    services: &Services,
    row: &webhook_events::Model,
    intent: &Value,
) -> Result<(), JobError> {
    let Some(purchase) = purchase_of_intent(services, intent).await? else {
        return unroutable(services, row, "no purchase for this payment intent").await;
    };
    close_purchase(services, row, &purchase, PurchaseStatus::Failed).await
}

/// Only a pending purchase can fail or expire: a late failure never undoes a payment.
async fn mark_if_pending(
    services: &Services,
    id: Uuid,
    status: PurchaseStatus,
) -> Result<(), JobError> {
    purchases::Entity::update_many()
        .col_expr(
            purchases::Column::Status,
            sea_orm::sea_query::Expr::value(status),
        )
        .col_expr(
            purchases::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(purchases::Column::Id.eq(id))
        .filter(purchases::Column::Status.eq(PurchaseStatus::Pending))
        .exec(&services.db)
        .await?;
    Ok(())
}

async fn close(
    services: &Services,
    row: &webhook_events::Model,
    session: &Value,
    status: PurchaseStatus,
) -> Result<(), JobError> {
    let Some(purchase) = purchase_of_session(services, session).await? else {
        return unroutable(services, row, "no purchase for this checkout session").await;
    };
    close_purchase(services, row, &purchase, status).await
}

/// Marks a still-pending purchase failed or expired and settles the event that said so. Two
/// statements, not one transaction: the mark is conditional and idempotent, so a crash between
/// them is repaired by the event's retry.
async fn close_purchase(
    services: &Services,
    row: &webhook_events::Model,
    purchase: &purchases::Model,
    status: PurchaseStatus,
) -> Result<(), JobError> {
    mark_if_pending(services, purchase.id, status).await?;
    inbox::settle(
        &services.db,
        row,
        inbox::InboxStatus::Processed,
        None,
        Some(purchase.user_id),
    )
    .await
}

/// Removes the refunded share of a purchase's credits. Stripe reports the cumulative
/// `amount_refunded`, so each level gets its own reference and partial refunds add up.
async fn refund(
    services: &Services,
    row: &webhook_events::Model,
    charge: &Value,
) -> Result<(), JobError> {
    let Some(intent) = str_at(charge, "payment_intent") else {
        return unroutable(services, row, "refunded charge has no payment intent").await;
    };
    let charge_id = str_at(charge, "id").unwrap_or_default().to_string();
    let amount = charge.get("amount").and_then(Value::as_i64).unwrap_or(0);
    let refunded = charge
        .get("amount_refunded")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if amount <= 0 || refunded <= 0 || refunded > amount {
        return Err(JobError::Permanent(format!(
            "refund amounts make no sense: {refunded} of {amount}"
        )));
    }
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let purchase = purchases::Entity::find()
        .filter(purchases::Column::StripePaymentIntentId.eq(intent))
        .one(&txn)
        .await?;
    let Some(purchase) = purchase else {
        drop(txn);
        // The payment may not be recorded yet (events arrive in any order): retry later.
        return Err(JobError::Retryable(format!(
            "no paid purchase for payment intent {intent} yet"
        )));
    };
    let target = (purchase.credits as i128 * refunded as i128 / amount as i128) as i64;
    let delta = target - purchase.refunded_credits;
    let mut events = Vec::new();
    if delta > 0 {
        let mut entry = Entry::new(
            purchase.user_id,
            TxKind::Refund,
            -delta,
            format!("refund:{charge_id}:{refunded}"),
        )
        .describe(format!("Refund of {delta} credits"));
        entry.purchase_id = Some(purchase.id);
        entry.stripe_payment_id = Some(intent.to_string());
        let applied = credits::apply_in(&txn, entry).await?;
        events.extend(applied.live_event());
        if applied.created {
            let mut active: purchases::ActiveModel = purchase.clone().into();
            active.refunded_credits = Set(target);
            active.stripe_charge_id = Set(Some(charge_id));
            if refunded == amount {
                active.status = Set(PurchaseStatus::Refunded);
            }
            active.updated_at = Set(Utc::now());
            active.update(&txn).await?;
        }
    }
    inbox::settle(
        &txn,
        row,
        inbox::InboxStatus::Processed,
        None,
        Some(purchase.user_id),
    )
    .await?;
    let mut after = AfterCommit::new();
    after.publish(events);
    after.commit(services, txn).await?;
    Ok(())
}

/// Keeps Stripe's hosted receipt of the purchase's charge.
async fn receipt_url(
    services: &Services,
    row: &webhook_events::Model,
    charge: &Value,
) -> Result<(), JobError> {
    let (Some(intent), Some(url)) = (
        str_at(charge, "payment_intent"),
        str_at(charge, "receipt_url"),
    ) else {
        return inbox::settle(&services.db, row, inbox::InboxStatus::Ignored, None, None).await;
    };
    let purchase = purchases::Entity::find()
        .filter(purchases::Column::StripePaymentIntentId.eq(intent))
        .one(&services.db)
        .await?
        .ok_or_else(|| {
            JobError::Retryable(format!("no paid purchase for payment intent {intent} yet"))
        })?;
    let mut active: purchases::ActiveModel = purchase.clone().into();
    active.receipt_url = Set(Some(url.to_string()));
    active.stripe_charge_id = Set(str_at(charge, "id")
        .map(String::from)
        .or(purchase.stripe_charge_id.clone()));
    active.updated_at = Set(Utc::now());
    active.update(&services.db).await?;
    inbox::settle(
        &services.db,
        row,
        inbox::InboxStatus::Processed,
        None,
        Some(purchase.user_id),
    )
    .await
}
