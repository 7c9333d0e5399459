//! The collected analytics arrive as text an LLM wrote: strict JSON when it obeys the prompt,
//! often a Python literal (`{'intent_score': 3, 'demo': True, 'notes': None}`), sometimes in a
//! Markdown code fence, and now and then with an apostrophe inside a single-quoted string
//! (`'the lead's budget'`), which no parser accepts as it stands. This reads all of them into a
//! JSON object, or says it could not.

use serde_json::{Map, Number, Value};

/// Reads `text` as a JSON object: JSON first, then a Python literal, then a Python literal
/// whose stray apostrophes were escaped. `None` when none of them is an object.
pub fn object(text: &str) -> Option<Map<String, Value>> {
    let text = unfenced(text.trim());
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) {
        return Some(map);
    }
    let python = |t: &str| match t.parse::<py_literal::Value>().ok().map(to_json)? {
        Some(Value::Object(map)) => Some(map),
        _ => None,
    };
    python(text).or_else(|| python(&escape_inner_apostrophes(text)))
}

/// The text inside a Markdown code fence (```json … ```), or the text itself.
fn unfenced(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let body = rest.split_once('\n').map_or(rest, |(_, body)| body);
    body.trim_end().strip_suffix("```").unwrap_or(body).trim()
}

/// A Python literal as JSON: dict keys become strings, tuples and sets lists, big or complex
/// numbers strings. `None` for a value JSON cannot hold (NaN).
fn to_json(value: py_literal::Value) -> Option<Value> {
    use py_literal::Value as P;
    Some(match value {
        P::String(s) => Value::String(s),
        P::Bytes(b) => Value::String(String::from_utf8_lossy(&b).into_owned()),
        P::Integer(i) => match i64::try_from(&i) {
            Ok(n) => Value::Number(n.into()),
            Err(_) => Value::String(i.to_string()),
        },
        P::Float(f) => Value::Number(Number::from_f64(f)?),
        P::Complex(c) => Value::String(format!("{c}")),
        P::Boolean(b) => Value::Bool(b),
        P::None => Value::Null,
        P::Tuple(items) | P::List(items) | P::Set(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Option<_>>()?)
        }
        P::Dict(pairs) => {
            let mut map = Map::new();
            for (k, v) in pairs {
                let key = match k {
                    P::String(s) => s,
                    other => match to_json(other)? {
                        Value::String(s) => s,
                        json => json.to_string(),
                    },
                };
                map.insert(key, to_json(v)?);
            }
            Value::Object(map)
        }
    })
}

/// Escapes apostrophes that sit between two letters inside a single-quoted string (`lead's`,
/// `don't`): what an LLM writes when it hand-makes a Python literal. Quotes that open or close
/// a string have a delimiter, a space or a bracket beside them, so they are left alone.
fn escape_inner_apostrophes(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                out.push(c);
            }
            Some(q) => {
                if c == '\\' {
                    out.push(c);
                    if let Some(next) = chars.get(i + 1) {
                        out.push(*next);
                    }
                    i += 2;
                    continue;
                }
                let between_letters = i > 0
                    && chars[i - 1].is_alphanumeric()
                    && chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
                if c == '\'' && q == '\'' && between_letters {
                    out.push_str("\\'");
                } else {
                    if c == q {
                        quote = None;
                    }
                    out.push(c);
                }
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn json_python_fenced_and_apostrophes() {
        let expected = json!({"a": 1, "ok": true, "none": null, "s": "x"});
        for text in [
            r#"{"a": 1, "ok": true, "none": null, "s": "x"}"#,
            "{'a': 1, 'ok': True, 'none': None, 's': 'x'}",
            "```json\n{\"a\": 1, \"ok\": true, \"none\": null, \"s\": \"x\"}\n```",
            "```\n{'a': 1, 'ok': True, 'none': None, 's': 'x'}\n```",
        ] {
            assert_eq!(Value::Object(object(text).unwrap()), expected, "{text}");
        }
        let text =
            "{'reasoning': {'budget': 'The lead's budget isn't approved'}, 'name': \"O'Brien\"}";
        let map = object(text).unwrap();
        assert_eq!(
            map["reasoning"]["budget"],
            "The lead's budget isn't approved"
        );
        assert_eq!(map["name"], "O'Brien");
        assert_eq!(
            Value::Object(object("{'t': (1, 2), 5: 'five', 'f': 1.5}").unwrap()),
            json!({"t": [1, 2], "5": "five", "f": 1.5})
        );
    }

    #[test]
    fn what_is_not_an_object_is_none() {
        for text in ["", "Hot", "42", "[1, 2]", "{'a': ", "{'a': nan}", "None"] {
            assert!(object(text).is_none(), "{text}");
        }
    }

    /// A Python `repr` of a JSON-like value, as an LLM copying Python would write it.
    pub(in crate::calls::conversations::lead) fn python_repr(v: &Value) -> String {
        match v {
            Value::Null => "None".into(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => {
                if s.contains('\'') && !s.contains('"') {
                    format!("\"{s}\"")
                } else {
                    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
                }
            }
            Value::Array(items) => format!(
                "[{}]",
                items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
            ),
            Value::Object(map) => format!(
                "{{{}}}",
                map.iter()
                    .map(|(k, v)| format!("{}: {}", python_repr(&json!(k)), python_repr(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-1000i64..1000).prop_map(|n| json!(n)),
            "[A-Za-z0-9 ,.:!?'-]{0,24}".prop_map(Value::String),
        ]
    }

    fn analytics() -> impl Strategy<Value = Map<String, Value>> {
        let nested = leaf().prop_recursive(2, 12, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        prop::collection::btree_map("[a-z_]{1,16}", nested, 1..8)
            .prop_map(|m| m.into_iter().collect())
    }

    proptest! {
        #[test]
        fn json_and_its_python_repr_read_the_same(map in analytics()) {
            let value = Value::Object(map.clone());
            prop_assert_eq!(object(&value.to_string()), Some(map.clone()));
            prop_assert_eq!(object(&python_repr(&value)), Some(map));
        }

        #[test]
        fn any_text_is_read_or_refused_without_panicking(text in "\\PC{0,200}") {
            let _ = object(&text);
        }
    }
}
