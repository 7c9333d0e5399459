//! Row ids. Lists, exports and the live-event replay order by id, so ids are time-ordered like
//! UUIDv7 (48 bits of milliseconds, then a per-process monotonic counter and random bits). The
//! client's frontend, though, refuses any id whose version nibble is not 1–5 before it sends a
//! request (deleting an agent, opening a call), so the version nibble says 4: every other bit
//! is what v7 would have, and v4 gives the other 122 bits no meaning a reader could rely on.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The id of the user who owns a row: what tenant scoping filters on. A type of its own so an
/// owner cannot be passed where a row's id is expected, or the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub Uuid);

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<UserId> for sea_orm::Value {
    fn from(id: UserId) -> Self {
        id.0.into()
    }
}

/// A new time-ordered id the client accepts.
pub fn next() -> Uuid {
    let mut bytes = *Uuid::now_v7().as_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    Uuid::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_pass_the_frontends_check_and_stay_ordered() {
        let re = regex::Regex::new(
            "^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        )
        .unwrap();
        let ids: Vec<Uuid> = (0..2000).map(|_| next()).collect();
        for id in &ids {
            assert!(re.is_match(&id.to_string()), "{id}");
            assert_eq!(id.get_version_num(), 4);
        }
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids are time-ordered");
    }
}
