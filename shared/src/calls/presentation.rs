//! How a call reads on the client's screens: where it came from, its status word and its
//! duration in the forms the call logs print.

use crate::entities::calls::{self, CallStatus, Direction};

/// Where a conversation came from: the telephone network, or the web widget (`internet` in
/// the client's vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallSource {
    Phone,
    Internet,
    /// An inbound conversation from before the source was recorded.
    Unknown,
}

impl CallSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CallSource::Phone => "phone",
            CallSource::Internet => "internet",
            CallSource::Unknown => "unknown",
        }
    }

    /// `Phone` / `Internet`, as the lead timelines print the platform.
    pub fn platform(self) -> &'static str {
        match self {
            CallSource::Internet => "Internet",
            _ => "Phone",
        }
    }
}

/// The post-call handler records `metadata.source` (`phone` when ElevenLabs saw a caller id,
/// else `web`); calls we dialled are phone calls whatever the metadata says.
pub fn source(call: &calls::Model) -> CallSource {
    if call.direction == Direction::Outbound {
        return CallSource::Phone;
    }
    match call.metadata.get("source").and_then(|s| s.as_str()) {
        Some("phone") => CallSource::Phone,
        Some("web") | Some("internet") => CallSource::Internet,
        _ => CallSource::Unknown,
    }
}

/// The client knows `completed`, `failed`, `in_progress` and `cancelled`; a call that is
/// still dialling is in progress as far as a person is concerned.
pub fn status_word(status: CallStatus) -> &'static str {
    match status {
        CallStatus::Initiated | CallStatus::InProgress => "in_progress",
        CallStatus::Completed => "completed",
        CallStatus::Failed => "failed",
    }
}

/// `2 min 5 sec`, `45 sec`.
pub fn spoken_duration(secs: i32) -> String {
    let secs = secs.max(0);
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s} sec"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} sec"),
    }
}

/// `MM:SS`, as the lead timeline prints a duration.
pub fn padded_clock(secs: i32) -> String {
    let secs = secs.max(0);
    format!("{:02}:{:02}", secs / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_the_call_logs_words() {
        assert_eq!(spoken_duration(125), "2 min 5 sec");
        assert_eq!(spoken_duration(45), "45 sec");
        assert_eq!(spoken_duration(120), "2 min");
        assert_eq!(spoken_duration(-3), "0 sec");
        assert_eq!(padded_clock(65), "01:05");
        assert_eq!(padded_clock(3600), "60:00");
    }
}
