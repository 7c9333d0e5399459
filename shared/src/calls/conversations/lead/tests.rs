use proptest::prelude::*;
use serde_json::{Value, json};

use super::literal::tests::python_repr;
use super::*;

fn analysis(key: &str, value: Value) -> Value {
    json!({"data_collection_results": {key: {"data_collection_id": key, "value": value}}})
}

/// What the frontend's prompt asks for, as strict JSON text.
const PROMPT_JSON: &str = r#"{"intent_level": "High", "intent_score": 3, "urgency_level": "Medium", "urgency_score": 2, "budget_constraint": "No", "budget_score": 3, "fit_alignment": "High", "fit_score": 3, "engagement_health": "Medium", "engagement_score": 2, "cta_pricing_clicked": "Yes", "cta_demo_clicked": "Yes", "cta_followup_clicked": "No", "cta_sample_clicked": "No", "cta_website_clicked": "Yes", "cta_escalated_to_human": "No", "total_score": 13, "lead_status_tag": "Hot", "demo_book_datetime": "2026-12-03T10:00:00+05:30", "reasoning": {"intent": "Asked for pricing twice.", "urgency": "This quarter.", "budget": "Approved.", "fit": "40 seats.", "engagement": "Detailed answers.", "cta_behavior": "Booked a demo."}, "extraction": {"name": "Dana Reyes", "email_address": "Dana@Northwind.io", "company_name": "Northwind", "smartnotification": "Dana booked a demo for Thursday"}}"#;

/// The same lead as an LLM writes it in Python: single quotes, `True`/`None`, apostrophes.
const PROMPT_PYTHON: &str = "{'intent_level': 'High', 'intent_score': 3, 'urgency_level': 'Medium', 'urgency_score': 2, 'budget_constraint': 'No', 'budget_score': 3, 'fit_alignment': 'High', 'fit_score': 3, 'engagement_health': 'Medium', 'engagement_score': 2, 'cta_pricing_clicked': 'Yes', 'cta_demo_clicked': True, 'cta_followup_clicked': 'No', 'cta_sample_clicked': None, 'cta_website_clicked': 'Yes', 'cta_escalated_to_human': False, 'total_score': 13, 'lead_status_tag': 'Hot', 'demo_book_datetime': '2026-12-03T10:00:00+05:30', 'reasoning': {'intent': 'Asked for pricing twice.', 'budget': 'The lead's budget is approved', 'fit': \"Dana's team: 40 seats.\"}, 'extraction': {'name': 'Dana Reyes', 'email_address': 'Dana@Northwind.io', 'company_name': 'Northwind', 'smartnotification': 'Dana booked a demo for Thursday'}}";

#[test]
fn the_prompts_json_is_read_on_a_0_to_100_scale() {
    let s = parse(&analysis("default", json!(PROMPT_JSON)));
    assert!(s.is_scored());
    assert_eq!(s.scores, [100, 67, 100, 100, 67]);
    assert_eq!((s.total, s.tag.as_str()), (87, "Hot"));
    assert_eq!(s.levels[0].as_deref(), Some("High"));
    assert_eq!(s.levels[2].as_deref(), Some("No"));
    assert_eq!(s.cta["pricing_clicked"], true);
    assert_eq!(s.cta["website_clicked"], true);
    assert_eq!(s.cta["followup_clicked"], false);
    assert_eq!(s.reasoning["cta_behavior"], "Booked a demo.");
    assert_eq!(
        s.extracted,
        Extracted {
            name: Some("Dana Reyes".into()),
            email: Some("dana@northwind.io".into()),
            company: Some("Northwind".into()),
            notification: Some("Dana booked a demo for Thursday".into()),
        }
    );
    assert_eq!(s.demo_at.unwrap().to_rfc3339(), "2026-12-03T04:30:00+00:00");
    assert_eq!(s.raw["value"], PROMPT_JSON, "kept verbatim");
    assert_eq!(s.raw["key"], "default");
    assert_eq!(s.raw["scale"], "5-15");
}

#[test]
fn a_python_literal_reads_like_the_json() {
    let json = parse(&analysis("default", json!(PROMPT_JSON)));
    let python = parse(&analysis("default", json!(PROMPT_PYTHON)));
    assert!(python.is_scored());
    assert_eq!(
        (python.scores, python.total, python.tag.as_str()),
        (json.scores, json.total, json.tag.as_str())
    );
    assert_eq!(python.cta["demo_clicked"], true);
    assert_eq!(python.cta["sample_clicked"], false);
    assert_eq!(python.reasoning["budget"], "The lead's budget is approved");
    assert_eq!(python.reasoning["fit"], "Dana's team: 40 seats.");
    assert_eq!(python.extracted, json.extracted);
    assert_eq!(python.raw["value"], PROMPT_PYTHON, "kept verbatim");
}

#[test]
fn earlier_agents_scored_out_of_100_under_other_keys() {
    for (total, tag) in [(85, "Hot"), (45, "Cold"), (64, "Warm")] {
        let value = format!(
            "{{'intent_score': 3, 'total_score': {total}, 'lead_status_tag': '{tag}', 'reasoning': 'Spoke about pricing'}}"
        );
        let s = parse(&analysis("Basic CTA", json!(value)));
        assert_eq!((s.total, s.tag.as_str()), (total, tag), "{value}");
        assert_eq!(s.raw["scale"], "0-100");
        assert_eq!(s.raw["key"], "Basic CTA");
        assert_eq!(s.reasoning, json!({"summary": "Spoke about pricing"}));
    }
    // A low total with a tag that fits only a score out of 100.
    let s = parse(&analysis(
        "main",
        json!({"total_score": 10, "lead_status_tag": "Cold"}),
    ));
    assert_eq!((s.total, s.tag.as_str()), (10, "Cold"));
}

#[test]
fn the_served_tag_is_the_band_of_the_score() {
    // The agent said Hot but scored 10/15: Warm is what 67/100 is, and what it said is kept.
    let s = parse(&analysis(
        "default",
        json!("{\"total_score\": 10, \"lead_status_tag\": \"Hot\"}"),
    ));
    assert_eq!((s.total, s.tag.as_str()), (67, "Warm"));
    assert_eq!(s.raw["tag_sent"], "Hot");
}

#[test]
fn an_unreadable_value_is_kept_and_unscored() {
    let sent = "{'intent_score': 3, 'total_score': 12, 'reasoning': 'cut off mid-sent";
    let s = parse(&analysis("default", json!(sent)));
    assert_eq!(s.status, ScoreStatus::Unreadable);
    assert_eq!((s.total, s.tag.as_str()), (0, UNSCORED));
    assert_eq!(s.raw["value"], sent);
    // Prose where the object should be.
    let s = parse(&analysis("default", json!("The lead seemed interested.")));
    assert_eq!(s.status, ScoreStatus::Unreadable);
    assert_eq!(s.raw["value"], "The lead seemed interested.");
}

#[test]
fn nothing_collected_is_unscored_not_made_up() {
    let s = parse(
        &json!({"call_successful": "success", "evaluation_criteria_results": {"a": {"result": "success"}}}),
    );
    assert_eq!(s.status, ScoreStatus::NotCollected);
    assert_eq!((s.total, s.tag.as_str()), (0, UNSCORED));
    let s = parse(&json!({"data_collection_results": {"budget": {"value": "about 5k"}}}));
    assert_eq!(s.status, ScoreStatus::NotCollected);
    assert_eq!(s.raw["collected"]["budget"]["value"], "about 5k");
}

#[test]
fn one_field_per_item_is_one_object() {
    let s = parse(&json!({"data_collection_results": {
        "intent_score": {"value": 2}, "fit_score": {"value": "1"}, "urgency_level": {"value": "Low"}
    }}));
    assert!(s.is_scored());
    assert_eq!(s.total, 20, "3 out of 15");
    assert_eq!(s.tag, "Cold");
    assert_eq!(s.levels[1].as_deref(), Some("Low"));
}

#[test]
fn placeholders_are_not_people() {
    let s = parse(&analysis(
        "default",
        json!(
            "{'total_score': 6, 'extraction': {'name': 'Unknown', 'email_address': 'unknown@example.com', 'company_name': 'N/A', 'smartnotification': ''}, 'demo_book_datetime': None}"
        ),
    ));
    assert_eq!(s.extracted, Extracted::default());
    assert_eq!(s.demo_at, None);
}

fn prompt_lead() -> impl Strategy<Value = Value> {
    (
        prop::array::uniform5(1u8..=3),
        prop::array::uniform6(any::<bool>()),
        "[A-Za-z ']{0,30}",
    )
        .prop_map(|(dims, ctas, note)| {
            let total: u8 = dims.iter().sum();
            let tag = match total {
                t if t >= 12 => "Hot",
                t if t >= 9 => "Warm",
                _ => "Cold",
            };
            let yes = |b: bool| if b { "Yes" } else { "No" };
            json!({
                "intent_score": dims[0], "urgency_score": dims[1], "budget_score": dims[2],
                "fit_score": dims[3], "engagement_score": dims[4], "total_score": total,
                "lead_status_tag": tag,
                "cta_pricing_clicked": yes(ctas[0]), "cta_demo_clicked": yes(ctas[1]),
                "cta_followup_clicked": yes(ctas[2]), "cta_sample_clicked": yes(ctas[3]),
                "cta_website_clicked": yes(ctas[4]), "cta_escalated_to_human": yes(ctas[5]),
                "reasoning": {"intent": note}, "demo_book_datetime": null
            })
        })
}

proptest! {
    #[test]
    fn any_prompt_lead_keeps_its_tag_in_json_and_python(lead in prompt_lead()) {
        let from_json = parse(&analysis("default", json!(lead.to_string())));
        let from_python = parse(&analysis("default", json!(python_repr(&lead))));
        prop_assert!(from_json.is_scored());
        prop_assert_eq!(from_json.tag.as_str(), lead["lead_status_tag"].as_str().unwrap());
        prop_assert_eq!(scale::band(from_json.total), from_json.tag.as_str());
        prop_assert_eq!(from_python.total, from_json.total);
        prop_assert_eq!(from_python.scores, from_json.scores);
        prop_assert_eq!(&from_python.cta, &from_json.cta);
        prop_assert_eq!(&from_python.reasoning, &from_json.reasoning);
    }

    #[test]
    fn any_value_is_kept_verbatim(text in "\\PC{0,120}") {
        let s = parse(&analysis("default", json!(text)));
        prop_assert_eq!(s.raw["value"].as_str(), Some(text.as_str()));
        if !s.is_scored() {
            prop_assert_eq!(s.total, 0);
            prop_assert_eq!(s.tag.as_str(), UNSCORED);
        }
    }
}
