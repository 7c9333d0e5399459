//! The client's wire conventions, built once: timestamps as JavaScript writes them
//! (`2026-12-01T08:04:06.698Z`), the `{success, data}` envelope, and the `message`/`timestamp`
//! pair its auth and account answers carry.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use poem_openapi::{
    Object,
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

/// An instant in UTC with millisecond precision and a `Z`, the shape `Date.toJSON()` writes
/// and every browser parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Self(Utc::now())
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Self(t)
    }
}

impl Type for Timestamp {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date-time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time")))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ToJSON for Timestamp {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(
            self.0.to_rfc3339_opts(SecondsFormat::Millis, true),
        ))
    }
}

impl ParseFromJSON for Timestamp {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(s)) => DateTime::parse_from_rfc3339(&s)
                .map(|t| Self(t.with_timezone(&Utc)))
                .map_err(|e| ParseError::custom(e.to_string())),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

/// An optional timestamp as the client reads it.
pub fn ts(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.map(Timestamp)
}

/// `{ success: true, message }` and the time: what the client's account answers carry.
#[derive(Debug, Clone, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Done {
    pub success: bool,
    pub message: String,
    pub timestamp: Timestamp,
}

impl Done {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            success: true,
            message: message.into(),
            timestamp: Timestamp::now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_written_as_javascript_writes_them() {
        let t = DateTime::parse_from_rfc3339("2026-12-01T08:04:06.698208899+00:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            Timestamp(t).to_json(),
            Some(Value::String("2026-12-01T08:04:06.698Z".into()))
        );
        let back =
            Timestamp::parse_from_json(Some(Value::String("2026-12-01T09:04:06.698+01:00".into())))
                .unwrap();
        assert_eq!(back.0.timestamp_millis(), t.timestamp_millis());
    }
}
