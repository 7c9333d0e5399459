//! Property tests of the parsers that read what strangers send: signature headers, webhook
//! bodies, the lead analytics inside them, and spreadsheet uploads. Whatever the input, they
//! answer (a value or a clear error) and never panic; signed bodies verify and altered ones
//! do not. The case count is bounded (`PROPTEST_CASES`, default 256 per property) so CI's
//! time stays fixed.

use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use serde_json::{Value, json};
use sha2::Sha256;
use shared::{
    Config,
    calls::conversations::{self, Envelope, lead},
    contacts::sheet::{self, Format},
    money::billing::stripe_events,
};

const SECRET: &str = "wsec_property_test_secret";

fn config() -> Config {
    let mut config = Config::default();
    config.elevenlabs.webhook_secrets = vec![SECRET.into()];
    config.billing.stripe_webhook_secret = Some("whsec_property".into());
    config
}

fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Arbitrary JSON, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::hash_map("[a-z_]{1,20}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_elevenlabs_signature_header_is_answered(header in ".{0,200}", body in prop::collection::vec(any::<u8>(), 0..256)) {
        let now = 1_764_000_000;
        prop_assert!(conversations::verify(&config(), Some(&header), &body, now).is_err());
    }

    #[test]
    fn signed_elevenlabs_bodies_verify_and_altered_ones_do_not(
        body in prop::collection::vec(any::<u8>(), 1..512),
        flip in any::<prop::sample::Index>(),
        skew in -1_700i64..250,
    ) {
        let now = 1_764_000_000;
        let t = now + skew;
        let header = format!("t={t},v0={}", sign(SECRET, t, &body));
        prop_assert!(conversations::verify(&config(), Some(&header), &body, now).is_ok());
        let mut altered = body.clone();
        let i = flip.index(altered.len());
        altered[i] ^= 0x01;
        prop_assert!(conversations::verify(&config(), Some(&header), &altered, now).is_err());
        let forged = format!("t={t},v0={}", sign("wsec_someone_else", t, &body));
        prop_assert!(conversations::verify(&config(), Some(&forged), &body, now).is_err());
    }

    #[test]
    fn stale_or_future_elevenlabs_signatures_are_refused(
        body in prop::collection::vec(any::<u8>(), 1..64),
        offset in prop_oneof![1_801i64..100_000, -100_000i64..-301],
    ) {
        let now = 1_764_000_000;
        let t = now - offset;
        let header = format!("t={t},v0={}", sign(SECRET, t, &body));
        let err = conversations::verify(&config(), Some(&header), &body, now).unwrap_err();
        prop_assert_eq!(err.reason(), "stale_signature");
    }

    #[test]
    fn any_stripe_signature_header_is_answered(header in ".{0,200}", body in ".{0,256}") {
        let result = stripe_events::verify(&config(), body.as_bytes(), Some(&header));
        prop_assert!(result.is_err());
        prop_assert!(result.unwrap_err().status() < 500);
    }

    #[test]
    fn any_webhook_body_gets_an_envelope_or_a_clear_refusal(body in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Err(e) = Envelope::parse(&body) {
            prop_assert_eq!(e.reason(), "invalid_event");
        }
    }

    #[test]
    fn json_webhook_bodies_of_any_shape_are_answered(value in json_value()) {
        let body = serde_json::to_vec(&value).unwrap();
        if let Err(e) = Envelope::parse(&body) {
            prop_assert_eq!(e.reason(), "invalid_event");
        }
    }

    #[test]
    fn lead_analytics_of_any_shape_stay_in_range(results in json_value(), field in "[a-z_]{1,20}") {
        for analysis in [
            json!({"data_collection_results": results.clone()}),
            json!({"data_collection_results": {field.clone(): {"value": results.clone()}}}),
            json!({"data_collection_results": {field: {"value": results.to_string()}}}),
            results.clone(),
        ] {
            let scores = lead::parse(&analysis);
            prop_assert!(scores.scores.iter().all(|s| (0..=3).contains(s)), "{:?}", scores.scores);
            prop_assert!((0..=15).contains(&scores.total));
            prop_assert!(!scores.tag.is_empty());
        }
    }

    #[test]
    fn any_upload_is_read_or_refused_with_a_code(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        format in prop_oneof![Just(Format::Csv), Just(Format::Xlsx), Just(Format::Xls), Just(Format::Ods)],
    ) {
        match sheet::read(format, &bytes, 1_000) {
            Ok((rows, _)) => prop_assert!(rows.len() <= 1_001),
            Err(e) => prop_assert_eq!(e.status(), 422, "{}", e.reason()),
        }
    }

    #[test]
    fn csv_text_of_any_shape_is_read_or_refused(text in "(.{0,30}[,;\t\n]){0,60}") {
        match sheet::read(Format::Csv, text.as_bytes(), 1_000) {
            Ok((rows, _)) => prop_assert!(rows.len() <= 1_001),
            Err(e) => prop_assert_eq!(e.status(), 422, "{}", e.reason()),
        }
    }
}
