//! Settings admins change at run time. Each is a field of `Config`: a value stored in
//! `system_config` overrides what the process started with. Every process keeps the resulting
//! configuration and re-reads the table at most every `SETTINGS_REFRESH_MS`, so a change
//! reaches every gateway and worker replica within that time, without a restart; the process
//! that made the change sees it at once.

use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use sea_orm::DatabaseConnection;
use serde_json::Value;

use crate::{
    Config,
    platform::error::{AppError, AppResult},
    platform::system_config::{self, mask_value},
};

/// What a setting holds.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Text without surrounding spaces; `prefix` when it must look like a provider's key.
    Text {
        max: usize,
        prefix: Option<&'static [&'static str]>,
    },
    Integer {
        min: i64,
        max: i64,
    },
    /// Secrets valid side by side (a rotation): one or two entries.
    List {
        max_items: usize,
    },
    Choice(&'static [&'static str]),
}

#[derive(Debug)]
pub struct Setting {
    pub key: &'static str,
    pub secret: bool,
    pub kind: Kind,
    pub description: &'static str,
}

const fn text(max: usize) -> Kind {
    Kind::Text { max, prefix: None }
}

const fn int(min: i64, max: i64) -> Kind {
    Kind::Integer { min, max }
}

/// Every setting admins may change, in the order they are shown.
pub const CATALOGUE: &[Setting] = &[
    Setting {
        key: "elevenlabs_api_key",
        secret: true,
        kind: text(200),
        description: "ElevenLabs API key (xi-api-key) used for agents and calls",
    },
    Setting {
        key: "elevenlabs_webhook_secrets",
        secret: true,
        kind: Kind::List { max_items: 2 },
        description: "Secrets of the ElevenLabs post-call webhook; two while rotating",
    },
    Setting {
        key: "stripe_secret_key",
        secret: true,
        kind: Kind::Text {
            max: 255,
            prefix: Some(&["sk_test_", "sk_live_", "rk_test_", "rk_live_"]),
        },
        description: "Stripe secret or restricted key (sk_live_…)",
    },
    Setting {
        key: "stripe_webhook_secret",
        secret: true,
        kind: Kind::Text {
            max: 255,
            prefix: Some(&["whsec_"]),
        },
        description: "Signing secret of the Stripe webhook endpoint (whsec_…)",
    },
    Setting {
        key: "mail_transport",
        secret: false,
        kind: Kind::Choice(&["smtp", "file"]),
        description: "How email leaves: smtp, or file (written to the outbox directory)",
    },
    Setting {
        key: "mail_from",
        secret: false,
        kind: text(320),
        description: "Sender of every email, e.g. `Switchboard <no-reply@example.com>`",
    },
    Setting {
        key: "smtp_host",
        secret: false,
        kind: text(253),
        description: "SMTP relay host",
    },
    Setting {
        key: "smtp_port",
        secret: false,
        kind: int(1, 65_535),
        description: "SMTP relay port",
    },
    Setting {
        key: "smtp_tls",
        secret: false,
        kind: Kind::Choice(&["starttls", "tls", "none"]),
        description: "SMTP transport security",
    },
    Setting {
        key: "smtp_username",
        secret: false,
        kind: text(320),
        description: "SMTP user name (set together with the password)",
    },
    Setting {
        key: "smtp_password",
        secret: true,
        kind: text(1024),
        description: "SMTP password",
    },
    Setting {
        key: "credit_price_cents",
        secret: false,
        kind: int(1, 1_000_000),
        description: "Price of one credit in the currency's minor unit",
    },
    Setting {
        key: "credit_currency",
        secret: false,
        kind: text(3),
        description: "ISO 4217 currency of purchases, lower case",
    },
    Setting {
        key: "purchase_min_credits",
        secret: false,
        kind: int(1, 10_000_000),
        description: "Fewest credits one purchase may buy",
    },
    Setting {
        key: "purchase_max_credits",
        secret: false,
        kind: int(1, 10_000_000),
        description: "Most credits one purchase may buy",
    },
    Setting {
        key: "chat_billing",
        secret: false,
        kind: Kind::Choice(&["per_minute", "per_conversation", "free"]),
        description: "How chats use credits: per started minute, one per conversation, or free",
    },
    Setting {
        key: "free_credits",
        secret: false,
        kind: int(0, 100_000),
        description: "Credits granted once to every new account",
    },
    Setting {
        key: "low_balance_threshold",
        secret: false,
        kind: int(0, 10_000_000),
        description: "A balance falling to this many credits or fewer sends one warning",
    },
    Setting {
        key: "import_max_rows",
        secret: false,
        kind: int(1, 1_000_000),
        description: "Most contacts one import file may hold",
    },
    Setting {
        key: "import_max_bytes",
        secret: false,
        kind: int(1_024, 1 << 30),
        description: "Largest contact import file, in bytes",
    },
    Setting {
        key: "import_wait_secs",
        secret: false,
        kind: int(0, 300),
        description: "Seconds the Contacts upload waits for its import before answering with the counts so far",
    },
    Setting {
        key: "recording_max_bytes",
        secret: false,
        kind: int(1 << 20, 1 << 31),
        description: "Largest ElevenLabs webhook body (call audio), in bytes",
    },
];

pub fn find(key: &str) -> Option<&'static Setting> {
    CATALOGUE.iter().find(|s| s.key == key)
}

impl Setting {
    /// Whether `value` has this setting's shape; the message is for the admin.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        match self.kind {
            Kind::Text { max, prefix } => {
                let s = value.as_str().ok_or("must be a string")?;
                if s.is_empty() || s.trim() != s {
                    return Err("must not be empty or start or end with spaces".into());
                }
                if s.chars().count() > max {
                    return Err(format!("must be at most {max} characters"));
                }
                if s.chars().any(char::is_control) {
                    return Err("must not contain control characters".into());
                }
                if let Some(prefixes) = prefix
                    && !prefixes.iter().any(|p| s.starts_with(p))
                {
                    return Err(format!("must start with one of {}", prefixes.join(", ")));
                }
                Ok(())
            }
            Kind::Integer { min, max } => match value.as_i64() {
                Some(n) if (min..=max).contains(&n) => Ok(()),
                _ => Err(format!("must be a whole number from {min} to {max}")),
            },
            Kind::List { max_items } => {
                let items = value.as_array().ok_or("must be a list of strings")?;
                if items.is_empty() || items.len() > max_items {
                    return Err(format!("must hold 1 to {max_items} entries"));
                }
                for item in items {
                    let s = item.as_str().ok_or("must be a list of strings")?;
                    if s.len() < 8
                        || s.len() > 255
                        || s.chars().any(|c| c.is_whitespace() || c == ',')
                    {
                        return Err(
                            "each entry must be 8 to 255 characters without spaces or commas"
                                .into(),
                        );
                    }
                }
                Ok(())
            }
            Kind::Choice(options) => match value.as_str() {
                Some(s) if options.contains(&s) => Ok(()),
                _ => Err(format!("must be one of {}", options.join(", "))),
            },
        }
    }

    /// How the value is shown: masked for secrets.
    pub fn shown(&self, value: &Value) -> Value {
        if self.secret {
            mask_value(value)
        } else {
            value.clone()
        }
    }
}

/// The start-up configuration with `overrides` applied and checked as a whole (a minimum above
/// a maximum, a user name without a password, …). The error names the setting to fix.
pub fn overlay(startup: &Config, overrides: &BTreeMap<String, Value>) -> Result<Config, AppError> {
    let mut fields = startup.to_flat();
    for (key, value) in overrides {
        fields.insert(key.clone(), value.clone());
    }
    let config = Config::from_flat(fields)
        // serde's message may quote the value, which may be a secret.
        .map_err(|_| AppError::validation("values", "a value does not fit its setting"))?;
    config.validate().map_err(|e| {
        // `VAR: why` → the setting's key and why.
        let (var, why) = e.0.split_once(": ").unwrap_or(("values", e.0.as_str()));
        AppError::validation(var.to_ascii_lowercase(), why.to_string())
    })?;
    Ok(config)
}

/// The configuration in force in one process, refreshed from `system_config`.
pub struct Settings {
    startup: Arc<Config>,
    refresh: Duration,
    snapshot: RwLock<Snapshot>,
    reloading: tokio::sync::Mutex<()>,
    /// Moved by `invalidate`: a re-read that began before a change must not count as fresh.
    changes: std::sync::atomic::AtomicU64,
}

#[derive(Clone)]
struct Snapshot {
    config: Arc<Config>,
    overrides: Arc<BTreeMap<String, Value>>,
    loaded_at: Option<Instant>,
}

impl Settings {
    pub fn new(startup: Arc<Config>) -> Self {
        Self {
            refresh: Duration::from_millis(startup.settings.refresh_ms),
            snapshot: RwLock::new(Snapshot {
                config: startup.clone(),
                overrides: Arc::default(),
                loaded_at: None,
            }),
            startup,
            reloading: tokio::sync::Mutex::new(()),
            changes: Default::default(),
        }
    }

    /// The configuration as last loaded, without waiting for the database.
    pub fn cached(&self) -> Arc<Config> {
        self.read().config
    }

    fn read(&self) -> Snapshot {
        self.snapshot
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The configuration in force: re-read when older than the refresh interval. The same
    /// `Arc` comes back until a value changes, so holders can tell when to rebuild (`ptr_eq`).
    /// If the database cannot be read, the last configuration stays in force.
    ///
    /// One caller re-reads; the others meanwhile get the configuration as last loaded rather
    /// than wait, so callers rarely queue for a database connection behind the re-read —
    /// except right after this process changed a setting, when the last configuration is
    /// known to be stale. Never call it holding a transaction.
    pub async fn current(&self, db: &DatabaseConnection) -> Arc<Config> {
        let fresh = |s: &Snapshot| s.loaded_at.is_some_and(|t| t.elapsed() < self.refresh);
        let snapshot = self.read();
        if fresh(&snapshot) {
            return snapshot.config;
        }
        let _one_reader = match self.reloading.try_lock() {
            Ok(guard) => guard,
            // Never read yet, or changed by this process: the last configuration is known to
            // be out of date, so wait for the re-read (never done inside a transaction).
            Err(_) if snapshot.loaded_at.is_none() => self.reloading.lock().await,
            Err(_) => return snapshot.config,
        };
        let snapshot = self.read();
        if fresh(&snapshot) {
            return snapshot.config;
        }
        let changes_before = self.changes.load(std::sync::atomic::Ordering::SeqCst);
        let overrides = match self.load(db).await {
            Ok(overrides) => overrides,
            Err(e) => {
                tracing::warn!(error = %e, "settings could not be re-read; keeping the last ones");
                return snapshot.config;
            }
        };
        let config = if overrides == *snapshot.overrides {
            snapshot.config
        } else {
            match overlay(&self.startup, &overrides) {
                Ok(config) => {
                    tracing::info!(keys = ?overrides.keys().collect::<Vec<_>>(), "settings changed");
                    Arc::new(config)
                }
                Err(e) => {
                    tracing::error!(error = %e, "stored settings are invalid; keeping the last ones");
                    snapshot.config
                }
            }
        };
        *self
            .snapshot
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Snapshot {
            config: config.clone(),
            overrides: Arc::new(overrides),
            // A change made while reading may be missing from what was read: read again next.
            loaded_at: (self.changes.load(std::sync::atomic::Ordering::SeqCst) == changes_before)
                .then(Instant::now),
        };
        config
    }

    /// Makes the next `current` re-read the table (after this process changed it).
    pub fn invalidate(&self) {
        self.changes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.snapshot
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .loaded_at = None;
    }

    /// The stored values of known settings; a value that cannot be opened (a lost key) is
    /// left out with an error in the log, so the start-up value applies.
    async fn load(&self, db: &DatabaseConnection) -> AppResult<BTreeMap<String, Value>> {
        let mut overrides = BTreeMap::new();
        for row in system_config::rows(db).await? {
            if find(&row.key).is_none() {
                continue;
            }
            match system_config::decode(&self.startup, &row) {
                Ok(value) => {
                    overrides.insert(row.key, value);
                }
                Err(e) => tracing::error!(key = %row.key, error = %e, "stored setting ignored"),
            }
        }
        Ok(overrides)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_setting_is_a_configuration_field() {
        let keys: Vec<_> = Config::keys().collect();
        for setting in CATALOGUE {
            assert!(keys.contains(&setting.key), "{}", setting.key);
        }
    }

    #[test]
    fn values_are_checked_by_shape_and_as_a_whole() {
        let stripe = find("stripe_secret_key").unwrap();
        assert!(stripe.check(&json!("sk_live_abc123")).is_ok());
        assert!(stripe.check(&json!("pk_live_abc123")).is_err());
        assert!(
            find("credit_price_cents")
                .unwrap()
                .check(&json!(0))
                .is_err()
        );
        assert!(
            find("credit_price_cents")
                .unwrap()
                .check(&json!("5"))
                .is_err()
        );
        assert!(find("smtp_tls").unwrap().check(&json!("ssl")).is_err());
        let secrets = find("elevenlabs_webhook_secrets").unwrap();
        assert!(secrets.check(&json!(["wsec_12345678"])).is_ok());
        assert!(secrets.check(&json!(["a", "b", "c"])).is_err());

        let startup = Config::default();
        let mut overrides = BTreeMap::new();
        overrides.insert("purchase_min_credits".to_string(), json!(500));
        overrides.insert("purchase_max_credits".to_string(), json!(100));
        let err = overlay(&startup, &overrides).unwrap_err();
        assert!(err.details().unwrap()["purchase_max_credits"].is_string());
        overrides.insert("purchase_max_credits".to_string(), json!(1000));
        let config = overlay(&startup, &overrides).unwrap();
        assert_eq!(config.billing.purchase_min_credits, 500);
    }
}
