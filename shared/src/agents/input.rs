//! What a create or an update of an agent says: its fields, their checks, and the ElevenLabs
//! body they become.

use serde_json::{Map, Value, json};

use super::{AgentStatus, Channel, display};
use crate::platform::error::{AppError, AppResult};

/// A question the agent collects an answer to (ElevenLabs `data_collection`).
#[derive(Debug, Clone)]
pub struct LeadQuestion {
    pub id: String,
    /// `string`, `number`, `integer` or `boolean`.
    pub value_type: String,
    pub description: String,
}

/// Fields of a create or an update; `None` leaves a field as it is (or ElevenLabs' default).
#[derive(Debug, Clone, Default)]
pub struct AgentInput {
    pub name: Option<String>,
    pub kind: Option<Channel>,
    pub status: Option<AgentStatus>,
    pub description: Option<String>,
    pub language: Option<String>,
    pub voice_id: Option<String>,
    pub llm: Option<String>,
    pub system_prompt: Option<String>,
    pub first_message: Option<String>,
    pub lead_questions: Option<Vec<LeadQuestion>>,
    /// Passed through to ElevenLabs, under the typed fields.
    pub conversation_config: Option<Value>,
    pub platform_settings: Option<Value>,
    /// The ElevenLabs phone number the agent calls from (Twilio or SIP trunk).
    pub phone_number_id: Option<String>,
}

impl AgentInput {
    /// The fields this input sets (what an audit record names).
    pub fn field_names(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("type", self.kind.is_some()),
            ("status", self.status.is_some()),
            ("description", self.description.is_some()),
            ("language", self.language.is_some()),
            ("voice_id", self.voice_id.is_some()),
            ("llm", self.llm.is_some()),
            ("system_prompt", self.system_prompt.is_some()),
            ("first_message", self.first_message.is_some()),
            ("lead_questions", self.lead_questions.is_some()),
            ("conversation_config", self.conversation_config.is_some()),
            ("platform_settings", self.platform_settings.is_some()),
            ("phone_number_id", self.phone_number_id.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

fn check_len(field: &str, value: &Option<String>, min: usize, max: usize) -> AppResult<()> {
    if let Some(v) = value {
        let n = v.trim().chars().count();
        if n < min || n > max {
            return Err(AppError::validation(
                field,
                format!("must be {min} to {max} characters"),
            ));
        }
    }
    Ok(())
}

/// Checks the input and returns it with the language as ElevenLabs' code: the form sends the
/// language's English name (`English`), the API also takes the code (`en`, `pt-br`).
pub(super) fn validate(mut input: AgentInput, creating: bool) -> AppResult<AgentInput> {
    if let Some(lang) = &input.language {
        input.language = Some(display::language_from(lang).ok_or_else(|| {
            AppError::validation(
                "language",
                "must be a language such as English, or its code such as en or pt-br",
            )
        })?);
    }
    check(&input, creating)?;
    Ok(input)
}

fn check(input: &AgentInput, creating: bool) -> AppResult<()> {
    if creating && input.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(AppError::validation("name", "is required"));
    }
    check_len("name", &input.name, 1, 120)?;
    check_len("description", &input.description, 0, 2_000)?;
    check_len("system_prompt", &input.system_prompt, 0, 50_000)?;
    check_len("first_message", &input.first_message, 0, 2_000)?;
    check_len("voice_id", &input.voice_id, 1, 100)?;
    check_len("llm", &input.llm, 1, 100)?;
    check_len("phone_number_id", &input.phone_number_id, 0, 100)?;
    for (field, value) in [
        ("conversation_config", &input.conversation_config),
        ("platform_settings", &input.platform_settings),
    ] {
        if let Some(v) = value
            && !v.is_object()
        {
            return Err(AppError::validation(field, "must be an object"));
        }
    }
    if let Some(questions) = &input.lead_questions {
        if questions.len() > 50 {
            return Err(AppError::validation(
                "lead_questions",
                "at most 50 questions",
            ));
        }
        for q in questions {
            let id_ok = !q.id.is_empty()
                && q.id.len() <= 64
                && q.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !id_ok {
                return Err(AppError::validation(
                    "lead_questions",
                    "ids are 1-64 letters, digits or _",
                ));
            }
            if !["string", "number", "integer", "boolean"].contains(&q.value_type.as_str()) {
                return Err(AppError::validation(
                    "lead_questions",
                    "type must be string, number, integer or boolean",
                ));
            }
        }
    }
    Ok(())
}

/// Sets `value` at `path` inside `root`, creating objects on the way.
fn set_path(root: &mut Value, path: &[&str], value: Value) {
    let mut node = root;
    for key in &path[..path.len() - 1] {
        if !node.get(*key).is_some_and(Value::is_object) {
            node[*key] = Value::Object(Map::new());
        }
        node = &mut node[*key];
    }
    node[path[path.len() - 1]] = value;
}

/// The ElevenLabs body for the input: the raw pass-through first, the typed fields over it.
pub(super) fn elevenlabs_body(input: &AgentInput, kind: Option<Channel>) -> Value {
    let mut config = input
        .conversation_config
        .clone()
        .unwrap_or_else(|| json!({}));
    let typed: [(&[&str], &Option<String>); 5] = [
        (&["agent", "first_message"], &input.first_message),
        (&["agent", "language"], &input.language),
        (&["agent", "prompt", "prompt"], &input.system_prompt),
        (&["agent", "prompt", "llm"], &input.llm),
        (&["tts", "voice_id"], &input.voice_id),
    ];
    for (path, value) in typed {
        if let Some(v) = value {
            set_path(&mut config, path, json!(v));
        }
    }
    if let Some(kind) = kind {
        set_path(
            &mut config,
            &["conversation", "text_only"],
            json!(kind == Channel::Chat),
        );
    }
    let mut body = json!({});
    if config.as_object().is_some_and(|o| !o.is_empty()) {
        body["conversation_config"] = config;
    }
    let mut platform = input.platform_settings.clone().unwrap_or_else(|| json!({}));
    if let Some(questions) = &input.lead_questions {
        let collection: Map<String, Value> = questions
            .iter()
            .map(|q| {
                (
                    q.id.clone(),
                    json!({"type": q.value_type, "description": q.description}),
                )
            })
            .collect();
        set_path(
            &mut platform,
            &["data_collection"],
            Value::Object(collection),
        );
    }
    if platform.as_object().is_some_and(|o| !o.is_empty()) {
        body["platform_settings"] = platform;
    }
    if let Some(name) = &input.name {
        body["name"] = json!(name.trim());
    }
    body
}

/// Deep-merges `patch` into `target`.
pub(super) fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::Channel;

    #[test]
    fn typed_fields_override_the_pass_through() {
        let input = AgentInput {
            name: Some(" Sales ".into()),
            language: Some("en".into()),
            voice_id: Some("voice-1".into()),
            system_prompt: Some("Be brief".into()),
            first_message: Some("Hi!".into()),
            lead_questions: Some(vec![LeadQuestion {
                id: "budget".into(),
                value_type: "number".into(),
                description: "Budget".into(),
            }]),
            conversation_config: Some(
                json!({"agent": {"language": "fr", "max_duration": 60}, "tts": {"stability": 0.5}}),
            ),
            ..Default::default()
        };
        let body = elevenlabs_body(&input, Some(Channel::Chat));
        assert_eq!(body["name"], "Sales");
        assert_eq!(body["conversation_config"]["agent"]["language"], "en");
        assert_eq!(body["conversation_config"]["agent"]["max_duration"], 60);
        assert_eq!(
            body["conversation_config"]["agent"]["prompt"]["prompt"],
            "Be brief"
        );
        assert_eq!(
            body["conversation_config"]["tts"],
            json!({"stability": 0.5, "voice_id": "voice-1"})
        );
        assert_eq!(
            body["conversation_config"]["conversation"]["text_only"],
            true
        );
        assert_eq!(
            body["platform_settings"]["data_collection"]["budget"]["type"],
            "number"
        );
    }
}
