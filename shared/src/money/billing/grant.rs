//! The one way a paid purchase becomes credits. Stripe may tell us a payment succeeded several
//! ways — a Checkout Session's completion, a PaymentIntent's success, the buyer's own
//! confirmation — in any order, any number of times, concurrently. The purchase's move from
//! pending, failed (a card may succeed on a second try) or expired (Stripe does not order its
//! events: a session's `expired` may be applied before the payment that preceded it, and money
//! received is always owed) to paid is a conditional update, so
//! exactly one of them wins, and only the winner writes the ledger row (reference
//! `purchase:<id>`, unique in the ledger as a second guard).

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};

use super::PurchaseStatus;
use crate::{
    Config,
    entities::purchases,
    money::credits::{self, Applied, Entry, TxKind},
    platform::after_commit::AfterCommit,
    platform::email::{self, OutgoingEmail},
    platform::error::AppResult,
};

/// Stripe's ids of the payment, as far as the caller knows them.
#[derive(Debug, Clone, Default)]
pub struct Payment {
    pub checkout_session: Option<String>,
    pub payment_intent: Option<String>,
}

/// Grants `purchase`'s credits in `txn` unless it is already paid; `Some` when this call did.
/// The caller commits `after` (the balance's live event and the receipt e-mail).
pub async fn grant_in<C: ConnectionTrait>(
    txn: &C,
    config: &Config,
    purchase: &purchases::Model,
    payment: Payment,
    after: &mut AfterCommit,
) -> AppResult<Option<Applied>> {
    let now = Utc::now();
    let mut claim = purchases::Entity::update_many()
        .col_expr(purchases::Column::Status, Expr::value(PurchaseStatus::Paid))
        .col_expr(purchases::Column::PaidAt, Expr::value(now))
        .col_expr(purchases::Column::UpdatedAt, Expr::value(now));
    if let Some(session) = &payment.checkout_session {
        claim = claim.col_expr(
            purchases::Column::StripeCheckoutSessionId,
            Expr::value(session.clone()),
        );
    }
    if let Some(intent) = &payment.payment_intent {
        claim = claim.col_expr(
            purchases::Column::StripePaymentIntentId,
            Expr::value(intent.clone()),
        );
    }
    let claimed = claim
        .filter(purchases::Column::Id.eq(purchase.id))
        .filter(purchases::Column::Status.is_in([
            PurchaseStatus::Pending,
            PurchaseStatus::Failed,
            PurchaseStatus::Expired,
        ]))
        .exec(txn)
        .await?
        .rows_affected;
    if claimed == 0 {
        return Ok(None);
    }
    let mut entry = Entry::new(
        purchase.user_id,
        TxKind::Purchase,
        purchase.credits,
        format!("purchase:{}", purchase.id),
    )
    .describe(format!("Purchase of {} credits", purchase.credits));
    entry.purchase_id = Some(purchase.id);
    entry.stripe_payment_id = payment
        .payment_intent
        .clone()
        .or(purchase.stripe_payment_intent_id.clone());
    let applied = credits::apply_in(txn, entry).await?;
    after.publish(applied.live_event());
    if applied.created {
        let user = crate::accounts::users::get_in(txn, purchase.user_id).await?;
        let amount = super::format_amount(purchase.amount_cents, &purchase.currency);
        let (_, job) = email::queue_email_in(
            txn,
            config,
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
    Ok(Some(applied))
}
