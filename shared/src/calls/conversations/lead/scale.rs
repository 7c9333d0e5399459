//! One 0–100 lead score whichever scale the agent used. The frontend's own prompt scores each
//! dimension 1–3 and the lead 5–15 in total (Cold 5–8, Warm 9–11, Hot 12–15); the client's
//! earlier agents sent totals out of 100. The screens print "out of 100" and colour Hot ≥ 80,
//! Warm ≥ 60, so the prompt's scale is stretched to 100 — `total × 100 / 15` puts its band
//! edges exactly on those (9 → 60, 12 → 80) — and the tag is the band of the figure served.

use serde::Serialize;

/// Which scale the agent scored on (kept with the raw value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Scale {
    /// Dimensions 1–3, total 5–15: the frontend's prompt.
    #[serde(rename = "5-15")]
    Prompt,
    /// Total (and dimensions) out of 100.
    #[serde(rename = "0-100")]
    Hundred,
}

pub const PROMPT_DIMENSION_MAX: f64 = 3.0;
pub const PROMPT_TOTAL_MAX: f64 = 15.0;

/// The band a 0–100 score falls in, as the screens colour it.
pub fn band(score: i64) -> &'static str {
    match score {
        s if s >= 80 => "Hot",
        s if s >= 60 => "Warm",
        _ => "Cold",
    }
}

/// The band the prompt gives a 5–15 total.
fn prompt_band(total: f64) -> &'static str {
    match total.round() as i64 {
        t if t >= 12 => "Hot",
        t if t >= 9 => "Warm",
        _ => "Cold",
    }
}

/// The scale of a sent total and dimensions. Anything above the prompt's maxima is out of 100;
/// within them it is the prompt's, unless the agent's own tag only fits a total out of 100 (a
/// `Cold` lead with 10 is 10/100, not 10/15).
pub fn detect(total: Option<f64>, dimensions: &[f64], tag: Option<&str>) -> Scale {
    let above = total.is_some_and(|t| t > PROMPT_TOTAL_MAX)
        || dimensions.iter().any(|d| *d > PROMPT_DIMENSION_MAX);
    if above {
        return Scale::Hundred;
    }
    match (total, tag) {
        (Some(t), Some(tag))
            if !prompt_band(t).eq_ignore_ascii_case(tag)
                && band(t.round() as i64).eq_ignore_ascii_case(tag) =>
        {
            Scale::Hundred
        }
        _ => Scale::Prompt,
    }
}

/// A dimension's score out of 100.
pub fn dimension(score: f64, scale: Scale) -> i64 {
    let out_of_100 = match scale {
        Scale::Prompt => score * 100.0 / PROMPT_DIMENSION_MAX,
        Scale::Hundred => score,
    };
    out_of_100.round().clamp(0.0, 100.0) as i64
}

/// The total out of 100; without a sent total, the dimensions' sum (prompt) or mean (out of
/// 100).
pub fn total(sent: Option<f64>, dimensions: &[f64], scale: Scale) -> i64 {
    let raw = sent.unwrap_or_else(|| match scale {
        Scale::Prompt => dimensions.iter().sum(),
        Scale::Hundred if dimensions.is_empty() => 0.0,
        Scale::Hundred => dimensions.iter().sum::<f64>() / dimensions.len() as f64,
    });
    let out_of_100 = match scale {
        Scale::Prompt => raw * 100.0 / PROMPT_TOTAL_MAX,
        Scale::Hundred => raw,
    };
    out_of_100.round().clamp(0.0, 100.0) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_prompts_bands_land_on_the_screens_bands() {
        for (sent, tag) in [
            (5, "Cold"),
            (8, "Cold"),
            (9, "Warm"),
            (11, "Warm"),
            (12, "Hot"),
            (15, "Hot"),
        ] {
            let t = f64::from(sent);
            let scale = detect(Some(t), &[], Some(tag));
            assert_eq!(scale, Scale::Prompt);
            assert_eq!(band(total(Some(t), &[], scale)), tag, "{sent}");
        }
        assert_eq!(total(Some(9.0), &[], Scale::Prompt), 60);
        assert_eq!(total(Some(12.0), &[], Scale::Prompt), 80);
        assert_eq!(dimension(2.0, Scale::Prompt), 67);
    }

    #[test]
    fn totals_out_of_100_stay_as_sent() {
        assert_eq!(detect(Some(85.0), &[3.0], Some("Hot")), Scale::Hundred);
        assert_eq!(total(Some(45.0), &[], Scale::Hundred), 45);
        assert_eq!(band(45), "Cold");
        // Low totals are ambiguous; the agent's tag decides.
        assert_eq!(detect(Some(10.0), &[], Some("Cold")), Scale::Hundred);
        assert_eq!(detect(Some(10.0), &[], Some("Warm")), Scale::Prompt);
        assert_eq!(detect(Some(10.0), &[], None), Scale::Prompt);
        assert_eq!(total(None, &[80.0, 60.0], Scale::Hundred), 70);
        assert_eq!(total(None, &[3.0, 3.0, 2.0, 2.0, 2.0], Scale::Prompt), 80);
    }

    proptest! {
        #[test]
        fn a_prompt_total_keeps_its_band(sent in 5u8..=15) {
            let t = f64::from(sent);
            let tag = prompt_band(t);
            let scale = detect(Some(t), &[], Some(tag));
            prop_assert_eq!(band(total(Some(t), &[], scale)), tag);
        }

        #[test]
        fn every_total_is_a_score_out_of_100(sent in -50.0f64..500.0, tag in prop::option::of(prop_oneof![Just("Hot"), Just("Warm"), Just("Cold")])) {
            let scale = detect(Some(sent), &[], tag);
            let score = total(Some(sent), &[], scale);
            prop_assert!((0..=100).contains(&score));
            if sent > 15.0 {
                prop_assert_eq!(scale, Scale::Hundred);
                prop_assert_eq!(score, sent.round().clamp(0.0, 100.0) as i64);
            }
        }
    }
}
