//! Short-lived copies of slow-changing provider answers.

/// Answers of slow-changing listings (ElevenLabs voices, phone numbers, agent names) by request,
/// with when they were fetched. One per process, held by `Services`; readers decide how old an
/// answer may be.
pub type ListingCache = std::sync::Arc<
    std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, serde_json::Value)>>,
>;
