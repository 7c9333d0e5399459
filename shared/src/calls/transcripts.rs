//! A call's transcript as the call page shows it, and finding words in it.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::{
    entities::{calls, transcripts},
    platform::error::AppResult,
};

/// The call's turns in order.
pub async fn turns(db: &DatabaseConnection, call_id: Uuid) -> AppResult<Vec<transcripts::Model>> {
    Ok(transcripts::Entity::find()
        .filter(transcripts::Column::CallId.eq(call_id))
        .order_by_asc(transcripts::Column::Seq)
        .all(db)
        .await?)
}

/// A piece of a turn's text, marked when it matches the search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub text: String,
    pub matched: bool,
}

/// `text` cut around every case-insensitive occurrence of `query`; `None` when there is none.
/// Parts (rather than markup) leave rendering to the client, so nothing needs escaping.
pub fn highlight(text: &str, query: &str) -> Option<Vec<Part>> {
    let query = query.trim();
    if query.is_empty() {
        return None;
    }
    let chars: Vec<char> = text.chars().collect();
    let lower: Vec<char> = chars.iter().flat_map(|c| c.to_lowercase()).collect();
    let needle: Vec<char> = query.chars().flat_map(|c| c.to_lowercase()).collect();
    // Lower-casing can change lengths (rarely); then only whole-text equality is safe.
    if lower.len() != chars.len() || needle.is_empty() || needle.len() > lower.len() {
        return None;
    }
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + needle.len() <= lower.len() {
        if lower[i..i + needle.len()] == needle[..] {
            if i > start {
                parts.push(Part {
                    text: chars[start..i].iter().collect(),
                    matched: false,
                });
            }
            parts.push(Part {
                text: chars[i..i + needle.len()].iter().collect(),
                matched: true,
            });
            i += needle.len();
            start = i;
        } else {
            i += 1;
        }
    }
    if parts.is_empty() {
        return None;
    }
    if start < chars.len() {
        parts.push(Part {
            text: chars[start..].iter().collect(),
            matched: false,
        });
    }
    Some(parts)
}

/// Where a call's recording would be served from, if it has one.
pub fn recording_url(call: &calls::Model) -> Option<String> {
    call.recording_key
        .as_ref()
        .map(|_| format!("/api/calls/{}/recording", call.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_are_cut_out_in_any_case() {
        let parts = highlight("Budget is approved, BUDGET yes", "budget").unwrap();
        let matched: Vec<&str> = parts
            .iter()
            .filter(|p| p.matched)
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(matched, ["Budget", "BUDGET"]);
        let whole: String = parts.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(whole, "Budget is approved, BUDGET yes");
        assert!(highlight("nothing here", "budget").is_none());
        assert!(highlight("x", "  ").is_none());
    }
}
