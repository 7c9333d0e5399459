//! Buying credits through Stripe Checkout or a PaymentIntent, and the purchase history. Credits
//! are granted only by what Stripe says — a verified event, or the PaymentIntent read back from
//! Stripe — never by the buyer's word, and once per purchase (see `grant`).

pub use crate::entities::purchases::PurchaseStatus;

pub mod grant;
pub mod payment_intents;
pub mod receipt;
pub mod stripe_events;

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use stripe::{IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    CreateCheckoutSessionPaymentIntentData, ProductData,
};
use uuid::Uuid;

use crate::{
    Services,
    accounts::auth::CurrentUser,
    entities::purchases,
    platform::error::{AppError, AppResult},
    platform::ids::UserId,
    platform::owned,
    platform::secret::Secret,
};

async fn stripe_client(services: &Services) -> AppResult<stripe::Client> {
    let config = services.settings().await;
    let key = config
        .billing
        .stripe_secret_key
        .as_ref()
        .map(Secret::expose)
        .ok_or_else(|| {
            AppError::unavailable(
                "payments_not_configured",
                "credit purchases are not available yet",
            )
        })?;
    let mut base = config.billing.stripe_api_base.clone();
    if !base.ends_with('/') {
        base.push('/');
    }
    stripe::ClientBuilder::new(key)
        .url(base)
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| AppError::internal(format!("stripe client: {e}")))
}

/// Stripe's refusal as our 502; the key never appears in it.
fn provider_error(e: stripe::StripeError) -> AppError {
    let message = match &e {
        stripe::StripeError::Stripe(errors, status) => format!(
            "Stripe refused the request ({status}): {}",
            errors
                .message
                .clone()
                .unwrap_or_else(|| "no message".into())
        ),
        stripe::StripeError::Timeout => "Stripe did not answer in time".into(),
        _ => "Stripe could not be reached".into(),
    };
    tracing::warn!(error = %e, "stripe request failed");
    AppError::Provider {
        code: "payment_provider_error",
        message,
    }
}

/// A new `pending` purchase of `credits` for `amount` (minor units), before Stripe is asked.
pub(super) async fn pending(
    services: &Services,
    user_id: Uuid,
    credits: i64,
    amount: i64,
    currency: &str,
) -> AppResult<purchases::Model> {
    let now = Utc::now();
    Ok(purchases::ActiveModel {
        id: Set(crate::platform::ids::next()),
        user_id: Set(user_id),
        credits: Set(credits),
        amount_cents: Set(amount),
        currency: Set(currency.to_string()),
        status: Set(PurchaseStatus::Pending),
        stripe_checkout_session_id: Set(None),
        stripe_payment_intent_id: Set(None),
        stripe_charge_id: Set(None),
        checkout_url: Set(None),
        receipt_url: Set(None),
        refunded_credits: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        paid_at: Set(None),
    }
    .insert(&services.db)
    .await?)
}

/// Starts a purchase of `credits`: a `pending` purchase and a Stripe Checkout Session whose
/// URL the buyer is sent to.
pub async fn create_purchase(
    services: &Services,
    user: &CurrentUser,
    credits: i64,
) -> AppResult<purchases::Model> {
    let config = services.settings().await;
    user.require_verified_email()?;
    let amount = payment_intents::check_credits(&config, credits).map_err(|_| {
        AppError::validation(
            "credits",
            format!(
                "must be between {} and {}",
                config.billing.purchase_min_credits, config.billing.purchase_max_credits
            ),
        )
    })?;
    let client = stripe_client(services).await?;
    let purchase = pending(
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
    let currency: stripe_types::Currency = config
        .billing
        .credit_currency
        .parse()
        .map_err(|_| AppError::internal("CREDIT_CURRENCY is not a Stripe currency"))?;
    let mut price = CreateCheckoutSessionLineItemsPriceData::new(currency);
    price.unit_amount = Some(config.billing.credit_price_cents);
    price.product_data = Some(ProductData::new("Switchboard call credits"));
    let mut line = CreateCheckoutSessionLineItems::new();
    line.price_data = Some(price);
    line.quantity = Some(credits as u64);
    let mut intent = CreateCheckoutSessionPaymentIntentData::new();
    intent.metadata = Some(metadata.clone());
    let frontend = config.server.frontend_url.trim_end_matches('/');
    let success = config
        .billing
        .checkout_success_url
        .clone()
        .unwrap_or_else(|| {
            format!("{frontend}/credits?checkout=success&session_id={{CHECKOUT_SESSION_ID}}")
        });
    let cancel = config
        .billing
        .checkout_cancel_url
        .clone()
        .unwrap_or_else(|| format!("{frontend}/credits?checkout=cancelled"));
    let key = IdempotencyKey::new(format!("purchase-{}", purchase.id))
        .map_err(|e| AppError::internal(format!("idempotency key: {e}")))?;
    let request = CreateCheckoutSession::new()
        .mode(stripe_shared::CheckoutSessionMode::Payment)
        .line_items(vec![line])
        .client_reference_id(purchase.id.to_string())
        .customer_email(user.email.clone())
        .metadata(metadata)
        .payment_intent_data(intent)
        .success_url(success)
        .cancel_url(cancel);
    let sent = std::time::Instant::now();
    let session = request
        .customize()
        .request_strategy(RequestStrategy::Idempotent(key))
        .send(&client)
        .await;
    crate::platform::monitoring::provider_request(
        "stripe",
        match &session {
            Ok(_) => "2xx".into(),
            Err(_) => "error".into(),
        },
        sent.elapsed(),
    );
    let mut active: purchases::ActiveModel = purchase.into();
    active.updated_at = Set(Utc::now());
    match session {
        Ok(session) => {
            active.stripe_checkout_session_id = Set(Some(session.id.to_string()));
            active.checkout_url = Set(session.url.clone());
            Ok(active.update(&services.db).await?)
        }
        Err(e) => {
            active.status = Set(PurchaseStatus::Failed);
            active.update(&services.db).await?;
            Err(provider_error(e))
        }
    }
}

/// One page of the user's purchases, newest first.
pub async fn list_purchases(
    services: &Services,
    user_id: Uuid,
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<purchases::Model>, u64)> {
    let paginator = purchases::Entity::find()
        .filter(purchases::Column::UserId.eq(user_id))
        .order_by_desc(purchases::Column::CreatedAt)
        .paginate(&services.db, per_page);
    let total = paginator.num_items().await?;
    Ok((paginator.fetch_page(page.saturating_sub(1)).await?, total))
}

/// One purchase of the user; another user's purchase is not found.
pub async fn get_purchase(
    services: &Services,
    owner: UserId,
    id: Uuid,
) -> AppResult<purchases::Model> {
    owned::find::<purchases::Entity, _>(&services.db, owner, id).await
}

/// The PDF receipt of one of the user's paid purchases.
pub async fn receipt_pdf(services: &Services, user_id: Uuid, id: Uuid) -> AppResult<Vec<u8>> {
    let purchase = get_purchase(services, UserId(user_id), id).await?;
    let user = crate::accounts::users::get(&services.db, user_id).await?;
    receipt::render(&purchase, &user)
}

/// `1234` cents of `usd` → `12.34 USD`.
pub fn format_amount(minor_units: i64, currency: &str) -> String {
    format!(
        "{}.{:02} {}",
        minor_units / 100,
        (minor_units % 100).abs(),
        currency.to_uppercase()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn amounts_are_formatted_in_major_units() {
        assert_eq!(super::format_amount(500, "usd"), "5.00 USD");
        assert_eq!(super::format_amount(1234, "eur"), "12.34 EUR");
        assert_eq!(super::format_amount(7, "usd"), "0.07 USD");
    }
}
