//! Lead analytics from ElevenLabs' `analysis`: the agent's data collection carries them either
//! as one field holding the whole JSON object (possibly as a string) or as one field per item.
//! Scores are clamped to their ranges; when nothing was collected a transparent fallback is
//! derived from the call's outcome and marked as such.

use chrono::Utc;
use sea_orm::ActiveValue::Set;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::entities::lead_analytics;

/// Each dimension scores 0 to 3; the total is their sum, 0 to 15.
const DIMENSION_MAX: i64 = 3;
const TOTAL_MAX: i64 = 15;
const DIMENSIONS: [(&str, &str); 5] = [
    ("intent_level", "intent_score"),
    ("urgency_level", "urgency_score"),
    ("budget_constraint", "budget_score"),
    ("fit_alignment", "fit_score"),
    ("engagement_health", "engagement_score"),
];
const CTAS: [&str; 5] = [
    "pricing_clicked",
    "demo_clicked",
    "followup_clicked",
    "sample_clicked",
    "escalated_to_human",
];

#[derive(Debug, Clone)]
pub struct LeadScores {
    pub levels: [Option<String>; 5],
    pub scores: [i64; 5],
    pub total: i64,
    pub tag: String,
    pub reasoning: Value,
    pub cta: Value,
    /// The raw collected data, and whether the scores were derived instead of collected.
    pub raw: Value,
}

/// The object holding the analytics: a field whose value is (or parses to) an object with
/// scores, else the per-field values themselves.
fn collected(analysis: &Value) -> Option<Map<String, Value>> {
    let results = analysis.get("data_collection_results")?.as_object()?;
    let value_of = |item: &Value| -> Value {
        let v = item.get("value").cloned().unwrap_or(Value::Null);
        match &v {
            Value::String(s) => serde_json::from_str::<Value>(s)
                .ok()
                .filter(Value::is_object)
                .unwrap_or(v),
            _ => v,
        }
    };
    for item in results.values() {
        if let Value::Object(map) = value_of(item)
            && (map.contains_key("total_score") || map.contains_key("intent_score"))
        {
            return Some(map);
        }
    }
    let flat: Map<String, Value> = results
        .iter()
        .map(|(k, item)| (k.clone(), value_of(item)))
        .collect();
    DIMENSIONS
        .iter()
        .any(|(_, score)| flat.contains_key(*score))
        .then_some(flat)
}

fn number(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_f64().map(|f| f.round() as i64),
        Value::String(s) => s.trim().parse::<f64>().ok().map(|f| f.round() as i64),
        _ => None,
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "1"),
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

fn tag_for(total: i64) -> &'static str {
    match total {
        t if t >= 11 => "Hot",
        t if t >= 6 => "Warm",
        _ => "Cold",
    }
}

pub fn parse(analysis: &Value) -> LeadScores {
    match collected(analysis) {
        Some(map) => {
            let levels = DIMENSIONS
                .map(|(level, _)| map.get(level).and_then(Value::as_str).map(String::from));
            let scores = DIMENSIONS
                .map(|(_, score)| number(map.get(score)).unwrap_or(0).clamp(0, DIMENSION_MAX));
            let total = number(map.get("total_score"))
                .unwrap_or_else(|| scores.iter().sum())
                .clamp(0, TOTAL_MAX);
            let tag = map
                .get("lead_status_tag")
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| tag_for(total).into());
            let cta: Map<String, Value> = CTAS
                .iter()
                .map(|c| {
                    let v = map
                        .get(&format!("cta_{c}"))
                        .or_else(|| map.get("cta_interactions").and_then(|i| i.get(*c)));
                    (c.to_string(), json!(truthy(v)))
                })
                .collect();
            LeadScores {
                levels,
                scores,
                total,
                tag,
                reasoning: map
                    .get("reasoning")
                    .cloned()
                    .filter(Value::is_object)
                    .unwrap_or_else(|| json!({})),
                cta: Value::Object(cta),
                raw: json!({"collected": Value::Object(map), "derived": false}),
            }
        }
        None => derived(analysis),
    }
}

/// Nothing collected: intent and engagement from the call outcome and the evaluation criteria
/// passed; everything else unknown (0). Marked `derived` in the raw data.
fn derived(analysis: &Value) -> LeadScores {
    let success = analysis.get("call_successful").and_then(Value::as_str) == Some("success");
    let criteria = analysis
        .get("evaluation_criteria_results")
        .and_then(Value::as_object);
    let passed = criteria
        .map(|c| {
            c.values()
                .filter(|r| r.get("result").and_then(Value::as_str) == Some("success"))
                .count()
        })
        .unwrap_or(0) as i64;
    let intent = if success { 2 } else { 0 } + passed.min(1);
    let engagement = if success { 2 } else { 1 };
    let scores = [intent.min(DIMENSION_MAX), 0, 0, 0, engagement];
    let total: i64 = scores.iter().sum();
    LeadScores {
        levels: [None, None, None, None, None],
        scores,
        total,
        tag: tag_for(total).into(),
        reasoning: json!({"intent": "derived from the call outcome and evaluation criteria", "engagement": "derived from the call outcome"}),
        cta: Value::Object(CTAS.iter().map(|c| (c.to_string(), json!(false))).collect()),
        raw: json!({"derived": true, "call_successful": analysis.get("call_successful"), "criteria_passed": passed}),
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
            created_at: Set(Utc::now()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_field_with_json_text() {
        let analysis = json!({"data_collection_results": {"lead_analysis": {"value":
            "{\"intent_level\":\"high\",\"intent_score\":3,\"urgency_score\":9,\"budget_score\":\"2\",\"fit_score\":3,\"engagement_score\":2,\"total_score\":13,\"lead_status_tag\":\"Hot\",\"cta_demo_clicked\":true,\"reasoning\":{\"intent\":\"x\"}}"}}});
        let s = parse(&analysis);
        assert_eq!(
            s.scores,
            [3, 3, 2, 3, 2],
            "urgency clamped to 3, budget read from text"
        );
        assert_eq!((s.total, s.tag.as_str()), (13, "Hot"));
        assert_eq!(s.levels[0].as_deref(), Some("high"));
        assert_eq!(s.cta["demo_clicked"], true);
        assert_eq!(s.cta["pricing_clicked"], false);
        assert_eq!(s.raw["derived"], false);
    }

    #[test]
    fn one_field_per_item_and_missing_total() {
        let analysis = json!({"data_collection_results": {
            "intent_score": {"value": 2}, "fit_score": {"value": 1}, "urgency_level": {"value": "low"}
        }});
        let s = parse(&analysis);
        assert_eq!(s.total, 3);
        assert_eq!(s.tag, "Cold");
    }

    #[test]
    fn nothing_collected_is_derived_and_marked() {
        let analysis = json!({"call_successful": "success", "evaluation_criteria_results": {"a": {"result": "success"}}});
        let s = parse(&analysis);
        assert_eq!(s.raw["derived"], true);
        assert_eq!(s.scores[0], 3);
        assert_eq!(s.total, 5);
    }
}
