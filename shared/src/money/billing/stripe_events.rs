//! Stripe webhooks: verification at intake, and applying stored events in the worker. Credits
//! are granted once per Checkout Session (ledger reference `stripe:<session>`), whatever the
//! number, order or concurrency of deliveries.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::PurchaseStatus;
use crate::{
    Config, Services,
    entities::{purchases, webhook_events},
    money::credits::{self, Entry, TxKind},
    platform::after_commit::AfterCommit,
    platform::email::{self, OutgoingEmail},
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
        .or_else(|| str_at(session, "client_reference_id"))
        .and_then(|id| Uuid::parse_str(id).ok());
    if let Some(id) = ours
        && let Some(p) = purchases::Entity::find_by_id(id).one(&services.db).await?
    {
        return Ok(Some(p));
    }
    let Some(session_id) = str_at(session, "id") else {
        return Ok(None);
    };
    Ok(purchases::Entity::find()
        .filter(purchases::Column::StripeCheckoutSessionId.eq(session_id))
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
    let session_id = str_at(session, "id").unwrap_or_default().to_string();
    let intent = str_at(session, "payment_intent").map(String::from);
    let config = services.settings().await;
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let mut entry = Entry::new(
        purchase.user_id,
        TxKind::Purchase,
        purchase.credits,
        format!("stripe:{session_id}"),
    )
    .describe(format!("Purchase of {} credits", purchase.credits));
    entry.purchase_id = Some(purchase.id);
    entry.stripe_payment_id = intent.clone();
    let applied = credits::apply_in(&txn, entry).await?;
    let mut after = AfterCommit::new();
    after.publish(applied.live_event());
    if applied.created {
        let mut active: purchases::ActiveModel = purchase.clone().into();
        active.status = Set(PurchaseStatus::Paid);
        active.paid_at = Set(Some(Utc::now()));
        active.stripe_checkout_session_id = Set(Some(session_id.clone()));
        active.stripe_payment_intent_id = Set(intent.or(purchase.stripe_payment_intent_id.clone()));
        active.updated_at = Set(Utc::now());
        active.update(&txn).await?;
        let user = crate::accounts::users::get_in(&txn, purchase.user_id).await?;
        let amount = super::format_amount(purchase.amount_cents, &purchase.currency);
        let (_, job) = email::queue_email_in(
            &txn,
            &config,
            OutgoingEmail {
                user_id: Some(user.id),
                to: user.email.clone(),
                subject: format!("{} credits added to your Switchboard account", purchase.credits),
                text_body: format!(
                    "Thank you for your purchase.\n\nCredits: {}\nAmount: {amount}\nNew balance: {}\nReference: {}\n",
                    purchase.credits, applied.row.balance_after, purchase.id
                ),
                html_body: None,
            },
        )
        .await?;
        after.ring(job);
    }
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

async fn close(
    services: &Services,
    row: &webhook_events::Model,
    session: &Value,
    status: PurchaseStatus,
) -> Result<(), JobError> {
    let Some(purchase) = purchase_of_session(services, session).await? else {
        return unroutable(services, row, "no purchase for this checkout session").await;
    };
    // Only a pending purchase can fail or expire: a late `expired` never undoes a payment.
    purchases::Entity::update_many()
        .col_expr(
            purchases::Column::Status,
            sea_orm::sea_query::Expr::value(status),
        )
        .col_expr(
            purchases::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(purchases::Column::Id.eq(purchase.id))
        .filter(purchases::Column::Status.eq(PurchaseStatus::Pending))
        .exec(&services.db)
        .await?;
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
