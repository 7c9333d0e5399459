//! The PDF receipt of a paid purchase.

use printpdf::{BuiltinFont, Mm, PdfDocument};

use crate::{
    entities::{purchases, users},
    platform::error::{AppError, AppResult},
};

use super::PurchaseStatus;

/// Renders an A4 receipt. Only paid (or since refunded) purchases have one.
pub fn render(purchase: &purchases::Model, user: &users::Model) -> AppResult<Vec<u8>> {
    if purchase.status != PurchaseStatus::Paid && purchase.status != PurchaseStatus::Refunded {
        return Err(AppError::conflict(
            "purchase_not_paid",
            "only paid purchases have a receipt",
        ));
    }
    let paid_at = purchase.paid_at.unwrap_or(purchase.updated_at);
    let (doc, page, layer) = PdfDocument::new(
        format!("Switchboard receipt {}", purchase.id),
        Mm(210.0),
        Mm(297.0),
        "receipt",
    );
    let pdf_error = |e: printpdf::Error| AppError::internal(format!("pdf: {e}"));
    let regular = doc
        .add_builtin_font(BuiltinFont::Helvetica)
        .map_err(pdf_error)?;
    let bold = doc
        .add_builtin_font(BuiltinFont::HelveticaBold)
        .map_err(pdf_error)?;
    let layer = doc.get_page(page).get_layer(layer);
    let amount = super::format_amount(purchase.amount_cents, &purchase.currency);
    layer.use_text("Switchboard", 24.0, Mm(20.0), Mm(270.0), &bold);
    layer.use_text(
        "Receipt for call credits",
        14.0,
        Mm(20.0),
        Mm(258.0),
        &regular,
    );
    let lines = [
        ("Receipt number", purchase.id.to_string()),
        (
            "Date paid",
            paid_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        ),
        ("Billed to", ascii(&user.email)),
        ("Credits", purchase.credits.to_string()),
        ("Amount paid", amount),
        (
            "Payment reference",
            purchase
                .stripe_payment_intent_id
                .clone()
                .unwrap_or_else(|| "-".into()),
        ),
        ("Status", purchase.status.to_string()),
    ];
    for (i, (label, value)) in lines.iter().enumerate() {
        let y = Mm(235.0 - 10.0 * i as f32);
        layer.use_text(*label, 11.0, Mm(20.0), y, &bold);
        layer.use_text(value.as_str(), 11.0, Mm(75.0), y, &regular);
    }
    if purchase.refunded_credits > 0 {
        let note = format!(
            "{} credits of this purchase were refunded.",
            purchase.refunded_credits
        );
        layer.use_text(note, 11.0, Mm(20.0), Mm(160.0), &regular);
    }
    layer.use_text(
        "One credit pays for one started minute of calls.",
        9.0,
        Mm(20.0),
        Mm(20.0),
        &regular,
    );
    doc.save_to_bytes().map_err(pdf_error)
}

/// The built-in PDF fonts only cover Latin-1; anything else is replaced.
fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii() { c } else { '?' })
        .collect()
}
