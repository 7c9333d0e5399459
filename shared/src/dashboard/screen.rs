//! The Overview screen's own figures: the KPI cards and the seven charts of the client's
//! frontend, each defined once here from the hourly counters (so a recount of the calls and
//! chats gives the same numbers, and the cost follows the period, not the account).
//!
//! Definitions (documented in the README):
//! - an *interaction* is a finished call or chat (completed or failed);
//! - a *lead* is an interaction that produced a lead score (one per conversation: a
//!   redelivered webhook scores nothing twice);
//! - a lead is *qualified* when tagged Hot or Warm and *converted* when tagged Hot;
//! - *Call Success Rate* is ElevenLabs' `success` evaluation per connected phone call.

use sea_orm::DatabaseConnection;

use super::{Bucket, Counters, Granularity, Period, Scope};
use crate::{
    entities::{call_rollups::Column as C, calls::Channel},
    platform::error::AppResult,
};

/// What the frontend shows as a KPI's value: a count, or an already formatted figure.
#[derive(Debug, Clone, PartialEq)]
pub enum KpiValue {
    Number(f64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Kpi {
    pub label: &'static str,
    pub value: KpiValue,
    /// The tooltip.
    pub description: String,
    /// Change against the previous period of the same length, in percent (one decimal);
    /// `None` when the previous period had nothing to compare with.
    pub delta: Option<f64>,
    /// A share shown next to the value, in percent.
    pub percentage: Option<f64>,
    pub compare: String,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Percent change from `before` to `now`; none from zero.
fn delta(now: f64, before: f64) -> Option<f64> {
    (before != 0.0).then(|| round1((now - before) / before * 100.0))
}

/// The counters of a period and its predecessor, in total and for phone calls alone.
pub struct KpiInputs {
    pub now: Counters,
    pub before: Counters,
    pub calls_now: Counters,
    pub calls_before: Counters,
    /// Hours of the period (and of the previous one) with at least one interaction.
    pub active_hours: (i64, i64),
}

pub async fn kpi_inputs(
    db: &DatabaseConnection,
    scope: Scope,
    period: &Period,
) -> AppResult<KpiInputs> {
    let previous = period.previous();
    let (now, before) = super::overview(db, scope, period, None).await?;
    let (calls_now, calls_before) = super::overview(db, scope, period, Some(Channel::Call)).await?;
    let active_hours = (
        super::active_hours(db, scope, period).await?,
        super::active_hours(db, scope, &previous).await?,
    );
    Ok(KpiInputs {
        now,
        before,
        calls_now,
        calls_before,
        active_hours,
    })
}

/// The KPI cards. With no interaction in the period, the three the frontend shows for a new
/// account, at zero with its "No … yet" wording.
pub fn kpis(inputs: &KpiInputs, days: u64) -> Vec<Kpi> {
    let KpiInputs {
        now,
        before,
        calls_now,
        calls_before,
        active_hours,
    } = inputs;
    let compare = format!("vs previous {days} days");
    let count = |column: C| {
        let (n, b) = (now.get(column) as f64, before.get(column) as f64);
        (n, delta(n, b))
    };
    let kpi = |label, value, description: String, delta, percentage| Kpi {
        label,
        value,
        description,
        delta,
        percentage,
        compare: compare.clone(),
    };
    let (leads, leads_delta) = count(C::Scored);
    let (interactions, interactions_delta) = count(C::Calls);
    let (converted, converted_delta) = count(C::Hot);
    if interactions == 0.0 {
        return vec![
            kpi(
                "Total Unique Leads",
                KpiValue::Number(0.0),
                "No leads yet".into(),
                leads_delta,
                None,
            ),
            kpi(
                "Total Interactions",
                KpiValue::Number(0.0),
                "No interactions yet".into(),
                interactions_delta,
                None,
            ),
            kpi(
                "Leads Converted",
                KpiValue::Number(0.0),
                "No conversions yet".into(),
                converted_delta,
                None,
            ),
        ];
    }
    let per_hour = |c: &Counters, hours: i64| {
        if hours == 0 {
            0.0
        } else {
            c.get(C::Calls) as f64 / hours as f64
        }
    };
    let rate_now = per_hour(now, active_hours.0);
    let rate_before = per_hour(before, active_hours.1);
    let score_now = now.average_score();
    let score_before = before.average_score();
    let success = |c: &Counters| c.ratio(C::Successful, C::Connected) * 100.0;
    let has_calls = calls_now.get(C::Connected) > 0;
    let mut cards = vec![
        kpi(
            "Total Unique Leads",
            KpiValue::Number(leads),
            format!("Conversations of the last {days} days that produced a lead score"),
            leads_delta,
            None,
        ),
        kpi(
            "Total Interactions",
            KpiValue::Number(interactions),
            format!("Calls and chats that ended in the last {days} days"),
            interactions_delta,
            None,
        ),
        kpi(
            "Leads Converted",
            KpiValue::Number(converted),
            "Leads tagged Hot; the share is of all scored leads".into(),
            converted_delta,
            Some(round1(now.ratio(C::Hot, C::Scored) * 100.0)),
        ),
        kpi(
            "Avg. Conversations per Hour",
            KpiValue::Number(round1(rate_now)),
            "Interactions per hour, over the hours that had any".into(),
            delta(rate_now, rate_before),
            None,
        ),
    ];
    if let Some(score) = score_now {
        cards.push(kpi(
            "Avg. Lead Score",
            KpiValue::Text(format!("{score:.1}")),
            "Mean total lead score (0–15) of the scored conversations".into(),
            score_before.and_then(|b| delta(score, b)),
            None,
        ));
    }
    if has_calls {
        let before_rate = (calls_before.get(C::Connected) > 0).then(|| success(calls_before));
        cards.push(kpi(
            "Call Success Rate",
            KpiValue::Text(format!("{:.1}%", success(calls_now))),
            "Connected phone calls ElevenLabs evaluated as successful".into(),
            before_rate.and_then(|b| delta(success(calls_now), b)),
            None,
        ));
    }
    cards
}

/// One bucket of the charts split by channel.
#[derive(Debug, Clone)]
pub struct ChannelPoint {
    pub bucket: Bucket,
    pub call: Counters,
    pub chat: Counters,
}

/// The period's buckets with the counters of phone calls and of chats in each.
pub async fn by_channel(
    db: &DatabaseConnection,
    scope: Scope,
    period: &Period,
    granularity: Granularity,
) -> AppResult<Vec<ChannelPoint>> {
    let call = super::series(db, scope, period, granularity, Some(Channel::Call)).await?;
    let chat = super::series(db, scope, period, granularity, Some(Channel::Chat)).await?;
    Ok(period
        .buckets(granularity)
        .into_iter()
        .zip(call.into_iter().zip(chat))
        .map(|(bucket, (call, chat))| ChannelPoint { bucket, call, chat })
        .collect())
}

/// The chart colours of the client's earlier backend.
pub const COLORS: [&str; 5] = ["#1A6262", "#91C499", "#E1A940", "#FF6700", "#6366f1"];

/// Lead quality, by tag, as the frontend names them.
pub const QUALITY: [(&str, C); 3] = [("Hot", C::Hot), ("Warm", C::Warm), ("Cold", C::Cold)];

/// The engagement funnel's stages with their counts over `total`.
pub fn funnel(total: &Counters) -> Vec<(&'static str, i64)> {
    vec![
        ("Leads Captured", total.get(C::Calls)),
        ("Interacted", total.get(C::Connected)),
        ("Qualified", total.get(C::Hot) + total.get(C::Warm)),
        ("Demo Booked", total.get(C::CtaDemo)),
        ("Converted", total.get(C::Hot)),
    ]
}

/// Where interactions came from: (display name, the frontend's filter word, count).
pub fn sources(total: &Counters) -> Vec<(&'static str, &'static str, i64)> {
    vec![
        ("Inbound", "inbound", total.get(C::Inbound)),
        ("Outbound", "outbound", total.get(C::Outbound)),
    ]
}

/// Sums a channel split back into one set of counters.
pub fn total_of(points: &[ChannelPoint]) -> (Counters, Counters) {
    points.iter().fold(
        (Counters::default(), Counters::default()),
        |(call, chat), p| (call.plus(&p.call), chat.plus(&p.chat)),
    )
}
