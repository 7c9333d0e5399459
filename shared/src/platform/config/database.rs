//! The database every process shares.

use serde::{Deserialize, Serialize};

use super::{ConfigError, bad};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Database {
    /// `sqlite://…` (embedded default) or `postgres://…`.
    #[serde(rename = "database_url")]
    pub url: String,
    #[serde(rename = "database_max_connections")]
    pub max_connections: u32,
    /// Apply pending migrations at start-up (serialised across replicas on PostgreSQL).
    pub auto_migrate: bool,
}

impl Default for Database {
    fn default() -> Self {
        Self {
            url: "sqlite://./data/switchboard.db?mode=rwc".into(),
            max_connections: 10,
            auto_migrate: true,
        }
    }
}

impl Database {
    pub fn is_sqlite(&self) -> bool {
        self.url.starts_with("sqlite:")
    }

    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres://") || self.url.starts_with("postgresql://")
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if !(self.is_sqlite() || self.is_postgres()) {
            return bad("DATABASE_URL", "must start with sqlite:// or postgres://");
        }
        if self.max_connections == 0 {
            return bad("DATABASE_MAX_CONNECTIONS", "must be at least 1");
        }
        Ok(())
    }
}
