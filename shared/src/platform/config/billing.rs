//! Credits: what they cost, what a purchase may be, what is free, and the Stripe keys.

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, bad};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Billing {
    /// Stripe secret key (`sk_…`); purchases answer 503 without it.
    pub stripe_secret_key: Option<Secret>,
    /// Signing secret of the Stripe webhook endpoint (`whsec_…`).
    pub stripe_webhook_secret: Option<Secret>,
    /// Stripe's API (tests point it at a fake).
    pub stripe_api_base: String,
    /// Price of one credit in the currency's minor unit (cents).
    pub credit_price_cents: i64,
    /// ISO 4217 currency of purchases, lower case.
    pub credit_currency: String,
    pub purchase_min_credits: i64,
    pub purchase_max_credits: i64,
    /// Where Checkout sends the buyer after paying or cancelling.
    pub checkout_success_url: Option<String>,
    pub checkout_cancel_url: Option<String>,
    /// Credits granted once to every new user.
    pub free_credits: i64,
    /// A balance dropping to this many credits or fewer triggers one low-balance email.
    pub low_balance_threshold: i64,
}

impl Default for Billing {
    fn default() -> Self {
        Self {
            stripe_secret_key: None,
            stripe_webhook_secret: None,
            stripe_api_base: "https://api.stripe.com/".into(),
            credit_price_cents: 10,
            credit_currency: "usd".into(),
            purchase_min_credits: 50,
            purchase_max_credits: 100_000,
            checkout_success_url: None,
            checkout_cancel_url: None,
            free_credits: 15,
            low_balance_threshold: 5,
        }
    }
}

impl Billing {
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.credit_price_cents < 1 {
            return bad("CREDIT_PRICE_CENTS", "must be at least 1");
        }
        if self.credit_currency.len() != 3
            || !self.credit_currency.chars().all(|c| c.is_ascii_lowercase())
        {
            return bad(
                "CREDIT_CURRENCY",
                "must be a lower-case ISO 4217 code such as usd",
            );
        }
        if self.purchase_min_credits < 1 || self.purchase_max_credits < self.purchase_min_credits {
            return bad(
                "PURCHASE_MAX_CREDITS",
                "must be at least PURCHASE_MIN_CREDITS, itself at least 1",
            );
        }
        if self.free_credits < 0 {
            return bad("FREE_CREDITS", "must not be negative");
        }
        if let Some(key) = &self.stripe_secret_key
            && !(key.expose().starts_with("sk_") || key.expose().starts_with("rk_"))
        {
            return bad("STRIPE_SECRET_KEY", "must be a Stripe secret key (sk_…)");
        }
        if let Some(secret) = &self.stripe_webhook_secret
            && !secret.expose().starts_with("whsec_")
        {
            return bad(
                "STRIPE_WEBHOOK_SECRET",
                "must be a webhook signing secret (whsec_…)",
            );
        }
        Ok(())
    }
}
