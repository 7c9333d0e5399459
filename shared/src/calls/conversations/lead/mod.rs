//! Lead analytics from ElevenLabs' `analysis.data_collection_results`, as the client's agents
//! really send them. The frontend's prompt asks for one item (under `default`; earlier agents
//! used `Basic CTA`, `main` or `primary`) whose value is a JSON object written as text — in
//! practice JSON or a Python literal ([`literal`]), on the prompt's 5–15 scale or out of 100
//! ([`scale`]). Agents that collect one field per item are read too.
//!
//! What was sent is kept verbatim on the row whatever happens. A value that cannot be read is
//! marked `unreadable` and the call stays unscored; nothing collected is `not_collected`. No
//! score is ever made up.

pub mod literal;
pub mod scale;

use chrono::{DateTime, NaiveDateTime, Utc};
use sea_orm::ActiveValue::Set;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::entities::lead_analytics;
pub use crate::entities::lead_analytics::ScoreStatus;

const DIMENSIONS: [(&str, &str); 5] = [
    ("intent_level", "intent_score"),
    ("urgency_level", "urgency_score"),
    ("budget_constraint", "budget_score"),
    ("fit_alignment", "fit_score"),
    ("engagement_health", "engagement_score"),
];
const CTAS: [&str; 6] = [
    "pricing_clicked",
    "demo_clicked",
    "followup_clicked",
    "sample_clicked",
    "website_clicked",
    "escalated_to_human",
];
/// Where the frontend's prompt and the client's earlier agents put the analytics, in order.
const KEYS: [&str; 4] = ["default", "Basic CTA", "main", "primary"];
/// The tag of a call without a score.
pub const UNSCORED: &str = "Unscored";

/// Who the caller said they are (`extraction` in the prompt's object).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    pub name: Option<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    /// A one-line note for the account owner (`smartnotification`).
    pub notification: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LeadScores {
    pub status: ScoreStatus,
    pub levels: [Option<String>; 5],
    /// Each dimension out of 100.
    pub scores: [i64; 5],
    /// Out of 100; 0 when unscored.
    pub total: i64,
    /// `Hot`, `Warm` or `Cold`: the band of `total`; `Unscored` without a score.
    pub tag: String,
    pub reasoning: Value,
    pub cta: Value,
    pub extracted: Extracted,
    /// The demo the caller booked.
    pub demo_at: Option<DateTime<Utc>>,
    /// What was collected, verbatim, with how it was read.
    pub raw: Value,
}

impl LeadScores {
    pub fn is_scored(&self) -> bool {
        self.status == ScoreStatus::Scored
    }
}

/// The analytics item as sent: its key, its value, and the object read from the value.
type Item<'a> = (&'a str, &'a Value, Option<Map<String, Value>>);

/// The analytics item: the first of [`KEYS`] that has a value, else any item whose value reads
/// as an object with scores.
fn item(results: &Map<String, Value>) -> Option<Item<'_>> {
    let read = |v: &Value| match v {
        Value::String(s) => literal::object(s),
        Value::Object(m) => Some(m.clone()),
        _ => None,
    };
    for key in KEYS {
        if let Some(value) = results.get(key).and_then(value_of) {
            return Some((key, value, read(value)));
        }
    }
    results.iter().find_map(|(key, item)| {
        let value = value_of(item)?;
        let map = read(value)?;
        (map.contains_key("total_score") || map.contains_key("intent_score")).then_some((
            key.as_str(),
            value,
            Some(map),
        ))
    })
}

fn value_of(item: &Value) -> Option<&Value> {
    item.get("value").filter(|v| !v.is_null())
}

/// One item per field (`intent_score: {value: 2}`, …) as one object, when it has scores.
fn per_field(results: &Map<String, Value>) -> Option<Map<String, Value>> {
    let flat: Map<String, Value> = results
        .iter()
        .filter_map(|(k, item)| Some((k.clone(), item.get("value")?.clone())))
        .collect();
    let has_scores = DIMENSIONS
        .iter()
        .any(|(_, score)| flat.contains_key(*score))
        || flat.contains_key("total_score");
    has_scores.then_some(flat)
}

/// A number as an LLM writes one: `3`, `"3"`, `"12/15"` (the numerator), `2.5`.
fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let s = s.trim();
            let head = s.split('/').next().unwrap_or(s).trim();
            head.parse::<f64>().ok()
        }
        _ => None,
    }
    .filter(|n| n.is_finite())
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "true" | "yes" | "y" | "1"
        ),
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

/// A text field, without the placeholders LLMs write for "nothing" (`Unknown`, `N/A`, …).
fn text(v: Option<&Value>) -> Option<String> {
    let s = v?.as_str()?.trim();
    let placeholder = matches!(
        s.to_ascii_lowercase().as_str(),
        "" | "unknown" | "n/a" | "na" | "none" | "null" | "not provided" | "not mentioned" | "-"
    );
    (!placeholder).then(|| s.to_string())
}

fn email(v: Option<&Value>) -> Option<String> {
    let s = text(v)?;
    let (local, domain) = s.split_once('@')?;
    let plausible = !local.is_empty()
        && domain.contains('.')
        && !s.contains(char::is_whitespace)
        && !domain.eq_ignore_ascii_case("example.com");
    plausible.then(|| s.to_ascii_lowercase())
}

/// `demo_book_datetime`: ISO 8601 with an offset (the prompt's `+05:30`), with a space instead
/// of the `T`, or without an offset (read as UTC).
fn demo_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let s = text(v)?;
    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
        return Some(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%:z",
        "%Y-%m-%d %H:%M%:z",
        "%Y-%m-%dT%H:%M%:z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(&s, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&s, f).ok())
        .map(|t| t.and_utc())
}

fn extracted(map: &Map<String, Value>) -> Extracted {
    let from = map.get("extraction").and_then(Value::as_object);
    let field = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| from.and_then(|f| f.get(*k)).or_else(|| map.get(*k)))
    };
    Extracted {
        name: text(field(&["name", "caller_name", "lead_name"])),
        email: email(field(&["email_address", "email"])),
        company: text(field(&["company_name", "company"])),
        notification: text(field(&["smartnotification", "smart_notification"])),
    }
}

/// Reads the analytics of one conversation's `analysis`.
pub fn parse(analysis: &Value) -> LeadScores {
    let Some(results) = analysis
        .get("data_collection_results")
        .and_then(Value::as_object)
    else {
        return unscored(ScoreStatus::NotCollected, json!({"collected": null}));
    };
    match item(results) {
        Some((key, sent, Some(map))) if has_scores(&map) => {
            scored(map, json!({"key": key, "value": sent}))
        }
        Some((key, sent, map)) => {
            // There is a value but no score in it: keep it, and what could be read of it.
            let mut raw = json!({"key": key, "value": sent});
            let extracted = map.as_ref().map(extracted).unwrap_or_default();
            if let Some(map) = map {
                raw["collected"] = Value::Object(map);
            }
            let mut scores = unscored(ScoreStatus::Unreadable, raw);
            scores.extracted = extracted;
            scores
        }
        None => match per_field(results) {
            Some(map) => scored(map, json!({"key": null, "value": null})),
            None => unscored(
                ScoreStatus::NotCollected,
                json!({"collected": Value::Object(results.clone())}),
            ),
        },
    }
}

fn has_scores(map: &Map<String, Value>) -> bool {
    number(map.get("total_score")).is_some()
        || DIMENSIONS
            .iter()
            .any(|(_, score)| number(map.get(*score)).is_some())
}

fn scored(map: Map<String, Value>, mut raw: Value) -> LeadScores {
    let sent_total = number(map.get("total_score"));
    let sent_dimensions: Vec<Option<f64>> = DIMENSIONS
        .iter()
        .map(|(_, score)| number(map.get(*score)))
        .collect();
    let present: Vec<f64> = sent_dimensions.iter().flatten().copied().collect();
    let sent_tag = map
        .get("lead_status_tag")
        .and_then(Value::as_str)
        .map(str::trim);
    let scale = scale::detect(sent_total, &present, sent_tag);
    let scores: [i64; 5] =
        std::array::from_fn(|i| sent_dimensions[i].map_or(0, |d| scale::dimension(d, scale)));
    let total = scale::total(sent_total, &present, scale);
    let tag = scale::band(total);
    let levels = DIMENSIONS.map(|(level, _)| text(map.get(level)));
    let cta: Map<String, Value> = CTAS
        .iter()
        .map(|c| {
            let v = map
                .get(&format!("cta_{c}"))
                .or_else(|| map.get("cta_interactions").and_then(|i| i.get(*c)));
            (c.to_string(), json!(truthy(v)))
        })
        .collect();
    let reasoning = match map.get("reasoning") {
        Some(Value::Object(r)) => Value::Object(r.clone()),
        Some(Value::String(s)) if !s.trim().is_empty() => json!({"summary": s.trim()}),
        _ => json!({}),
    };
    raw["scale"] = json!(scale);
    if let Some(sent) = sent_tag.filter(|t| !t.eq_ignore_ascii_case(tag)) {
        // The agent's tag disagreed with its own total; the band of the total is served.
        raw["tag_sent"] = json!(sent);
    }
    let extracted = extracted(&map);
    let demo_at = demo_time(map.get("demo_book_datetime"));
    raw["collected"] = Value::Object(map);
    LeadScores {
        status: ScoreStatus::Scored,
        levels,
        scores,
        total,
        tag: tag.into(),
        reasoning,
        cta: Value::Object(cta),
        extracted,
        demo_at,
        raw,
    }
}

fn unscored(status: ScoreStatus, raw: Value) -> LeadScores {
    LeadScores {
        status,
        levels: Default::default(),
        scores: [0; 5],
        total: 0,
        tag: UNSCORED.into(),
        reasoning: json!({}),
        cta: Value::Object(CTAS.iter().map(|c| (c.to_string(), json!(false))).collect()),
        extracted: Extracted::default(),
        demo_at: None,
        raw,
    }
}

impl LeadScores {
    pub fn to_row(
        &self,
        call_id: Uuid,
        user_id: Uuid,
        contact_id: Option<Uuid>,
    ) -> lead_analytics::ActiveModel {
        let [intent_l, urgency_l, budget_l, fit_l, engagement_l] = self.levels.clone();
        let [intent, urgency, budget, fit, engagement] = self.scores.map(|s| s as i32);
        lead_analytics::ActiveModel {
            id: Set(crate::platform::ids::next()),
            call_id: Set(call_id),
            user_id: Set(user_id),
            contact_id: Set(contact_id),
            intent_level: Set(intent_l),
            intent_score: Set(intent),
            urgency_level: Set(urgency_l),
            urgency_score: Set(urgency),
            budget_constraint: Set(budget_l),
            budget_score: Set(budget),
            fit_alignment: Set(fit_l),
            fit_score: Set(fit),
            engagement_health: Set(engagement_l),
            engagement_score: Set(engagement),
            total_score: Set(self.total as i32),
            lead_status_tag: Set(self.tag.clone()),
            reasoning: Set(self.reasoning.clone()),
            cta_interactions: Set(self.cta.clone()),
            data_collection: Set(self.raw.clone()),
            score_status: Set(self.status),
            demo_at: Set(self.demo_at),
            created_at: Set(Utc::now()),
        }
    }
}

#[cfg(test)]
mod tests;
