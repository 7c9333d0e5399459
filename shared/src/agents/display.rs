//! What the agent manager shows of an agent's ElevenLabs configuration and its calls.

use serde_json::Value;

use super::AgentStats;

/// The agent's language code as ElevenLabs holds it (`en`, `pt-br`).
pub fn language_code(config: &Value) -> Option<&str> {
    config
        .pointer("/conversation_config/agent/language")
        .and_then(Value::as_str)
}

/// The English name of a language code (`en` → `English`, `pt-br` → `Portuguese`); the code
/// itself when ISO 639-1 does not know it.
pub fn language_name(code: &str) -> String {
    let base = code.split(['-', '_']).next().unwrap_or(code);
    isolang::Language::from_639_1(&base.to_ascii_lowercase())
        .map(|l| l.to_name().to_string())
        .unwrap_or_else(|| code.to_string())
}

/// The ElevenLabs code for a language given by its English name (`English`, any case) or by
/// its code (`en`, `pt-BR`, region kept); `None` for neither.
pub fn language_from(value: &str) -> Option<String> {
    let value = value.trim();
    let code = value.to_ascii_lowercase().replace('_', "-");
    let mut parts = code.splitn(2, '-');
    let base = parts.next().unwrap_or_default();
    let region_ok = parts
        .next()
        .is_none_or(|r| (2..=4).contains(&r.len()) && r.chars().all(|c| c.is_ascii_alphanumeric()));
    if base.len() == 2 && region_ok && isolang::Language::from_639_1(base).is_some() {
        return Some(code);
    }
    isolang::Language::from_name_lowercase(&value.to_ascii_lowercase())
        .and_then(|l| l.to_639_1())
        .map(str::to_string)
}

/// The LLM the agent's prompt runs on, when its configuration names one.
pub fn model(config: &Value) -> Option<&str> {
    config
        .pointer("/conversation_config/agent/prompt/llm")
        .and_then(Value::as_str)
}

/// Successful share of the agent's completed calls as a whole percent (0 without any).
pub fn success_percent(stats: &AgentStats) -> i64 {
    stats.success_rate.map_or(0, |r| (r * 100.0).round() as i64)
}

/// Average call length as the agent manager prints it: minutes with one decimal, `1.5m`.
pub fn average_duration(stats: &AgentStats) -> String {
    let minutes = if stats.calls == 0 {
        0.0
    } else {
        stats.minutes / stats.calls as f64
    };
    format!("{minutes:.1}m")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_by_name() {
        assert_eq!(language_name("en"), "English");
        assert_eq!(language_name("pt-br"), "Portuguese");
        assert_eq!(language_name("xx"), "xx");
    }

    #[test]
    fn languages_from_the_form_or_the_api() {
        assert_eq!(language_from("English").as_deref(), Some("en"));
        assert_eq!(language_from(" spanish ").as_deref(), Some("es"));
        assert_eq!(language_from("pt-BR").as_deref(), Some("pt-br"));
        assert_eq!(language_from("en").as_deref(), Some("en"));
        assert_eq!(language_from("Klingon"), None);
        assert_eq!(language_from("xx"), None);
        assert_eq!(language_from(""), None);
    }
}
