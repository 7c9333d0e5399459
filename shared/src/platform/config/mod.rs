//! The one typed configuration, grouped by concern. Built-in defaults (the embedded mode), then
//! an optional TOML file (`SWITCHBOARD_CONFIG`), then environment variables; secrets may also
//! come from `<NAME>_FILE`. This is the only module that reads the process environment.
//!
//! Every setting keeps one flat name, its environment variable in lower case (`port`,
//! `elevenlabs_api_key`): the TOML file, the settings admins store and the error messages all
//! use it. Only the Rust side is nested (`config.server.port`, `config.elevenlabs.api_key`):
//! the flat name is each field's serde name, so the mapping is read off the types.

mod auth;
mod billing;
mod database;
mod elevenlabs;
mod google;
mod jobs;
mod limits;
mod mail;
mod server;
mod stack;
mod stored;
mod uploads;

use std::{collections::BTreeMap, path::PathBuf, sync::LazyLock};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

pub use super::secret::Secret;
pub use auth::{Auth, AuthMode, MIN_ACCESS_TOKEN_TTL_SECS};
pub use billing::Billing;
pub use database::Database;
pub use elevenlabs::{ChatBilling, ElevenLabs};
pub use google::Google;
pub use jobs::Jobs;
pub use limits::Limits;
pub use mail::{Mail, MailTransport, SmtpTls};
pub use server::{LogFormat, Server};
pub use stack::Stack;
pub use stored::StoredSettings;
pub use uploads::Uploads;

/// Variables whose value may instead be read from the file named by `<NAME>_FILE`.
const SECRET_VARS: &[&str] = &[
    "DATABASE_URL",
    "REDIS_URL",
    "SMTP_PASSWORD",
    "JWT_SECRET",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "ELEVENLABS_API_KEY",
    "ELEVENLABS_WEBHOOK_SECRETS",
    "CONFIG_ENCRYPTION_KEY",
    "CONFIG_ENCRYPTION_PREVIOUS_KEYS",
    "GOOGLE_CLIENT_SECRET",
];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub server: Server,
    pub database: Database,
    pub jobs: Jobs,
    pub limits: Limits,
    pub uploads: Uploads,
    pub mail: Mail,
    pub auth: Auth,
    pub google: Google,
    pub stack: Stack,
    pub billing: Billing,
    pub elevenlabs: ElevenLabs,
    pub settings: StoredSettings,
}

/// A configuration that cannot be used; the message names the variable to fix.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

/// Whether a URL setting names an HTTP(S) address.
fn is_http(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// A configuration error naming its variable.
fn bad(var: &str, why: &str) -> Result<(), ConfigError> {
    Err(ConfigError(format!("{var}: {why}")))
}

/// Each setting's flat name with its dotted path in `Config` (`port` → `server.port`).
static PATHS: LazyLock<BTreeMap<String, String>> = LazyLock::new(|| {
    let Ok(Value::Object(groups)) = serde_json::to_value(Config::default()) else {
        return BTreeMap::new();
    };
    let mut paths = BTreeMap::new();
    for (group, fields) in groups {
        if let Value::Object(fields) = fields {
            for key in fields.keys() {
                paths.insert(key.clone(), format!("{group}.{key}"));
            }
        }
    }
    paths
});

/// The dotted path of a setting named by its flat key (any case).
fn path_of(key: &str) -> Option<&'static str> {
    PATHS.get(&key.to_ascii_lowercase()).map(String::as_str)
}

impl Config {
    /// Loads defaults, then `SWITCHBOARD_CONFIG` (a TOML file, if set), then the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Ok(path) = std::env::var("SWITCHBOARD_CONFIG") {
            figment = Self::merge_file(figment, &path)?;
        }
        figment = figment.merge(Env::raw().filter_map(|key| path_of(key.as_str()).map(Into::into)));
        for var in SECRET_VARS {
            let file_var = format!("{var}_FILE");
            if let Ok(path) = std::env::var(&file_var) {
                let value = std::fs::read_to_string(&path)
                    .map_err(|e| ConfigError(format!("{file_var}: cannot read {path}: {e}")))?;
                let key = path_of(var).unwrap_or(var);
                figment = figment.merge(Serialized::global(key, value.trim_end()));
            }
        }
        let config: Config = figment.extract().map_err(|errors| {
            let Some(e) = errors.into_iter().next() else {
                return ConfigError("unknown error".into());
            };
            // The path ends in the flat key; operators set the upper-case variable.
            let var = e
                .path
                .last()
                .map(|k| k.to_ascii_uppercase())
                .unwrap_or_default();
            ConfigError(format!("{var}: {}", e.kind))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The TOML file's flat keys, each placed under its group; an unknown key is a mistake to
    /// point out rather than a setting to ignore.
    fn merge_file(mut figment: Figment, path: &str) -> Result<Figment, ConfigError> {
        if !std::path::Path::new(path).is_file() {
            return Err(ConfigError(format!(
                "SWITCHBOARD_CONFIG: file {path} does not exist"
            )));
        }
        let file: Map<String, Value> = Figment::from(Toml::file(path))
            .extract()
            .map_err(|e| ConfigError(format!("SWITCHBOARD_CONFIG: {e}")))?;
        for (key, value) in file {
            let Some(dotted) = path_of(&key) else {
                return Err(ConfigError(format!(
                    "SWITCHBOARD_CONFIG: {path} sets `{key}`, which is not a setting"
                )));
            };
            figment = figment.merge(Serialized::default(dotted, value));
        }
        Ok(figment)
    }

    /// Every setting's flat key, the lower-case name of its environment variable.
    pub fn keys() -> impl Iterator<Item = &'static str> {
        PATHS.keys().map(String::as_str)
    }

    /// Every setting by its flat key: the shape of the settings admins store and of the
    /// environment a child process reads.
    pub fn to_flat(&self) -> Map<String, Value> {
        let Ok(Value::Object(groups)) = serde_json::to_value(self) else {
            return Map::new();
        };
        groups
            .into_iter()
            .filter_map(|(_, fields)| match fields {
                Value::Object(fields) => Some(fields),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// The configuration from flat keys (`to_flat`'s shape); keys left out keep their
    /// defaults. The error names an unknown key, or is serde's for a value of the wrong shape.
    pub fn from_flat(fields: Map<String, Value>) -> Result<Config, String> {
        let mut groups = Map::new();
        for (key, value) in fields {
            let (group, field) = path_of(&key)
                .and_then(|p| p.split_once('.'))
                .ok_or_else(|| format!("`{key}` is not a setting"))?;
            let group = groups
                .entry(group)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(group) = group {
                group.insert(field.to_string(), value);
            }
        }
        serde_json::from_value(Value::Object(groups)).map_err(|e| e.to_string())
    }

    /// Checks what types alone cannot, group by group and then the rules that span two
    /// groups; each message names the variable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server.check()?;
        self.database.check()?;
        self.jobs.check()?;
        self.limits.check()?;
        self.uploads.check()?;
        self.mail.check()?;
        self.auth.check()?;
        self.billing.check()?;
        self.elevenlabs.check()?;
        self.settings.check()?;
        self.check_across()
    }

    fn check_across(&self) -> Result<(), ConfigError> {
        if self.database.is_postgres() && self.jobs.redis_url.is_none() {
            return bad(
                "REDIS_URL",
                "is required with a PostgreSQL DATABASE_URL (the embedded queue lives in SQLite)",
            );
        }
        if self.uploads.recording_max_bytes < self.server.max_body_bytes {
            return bad("RECORDING_MAX_BYTES", "must be at least MAX_BODY_BYTES");
        }
        if self.auth.jwt_secret.is_none()
            && self.database.is_postgres()
            && self.auth.mode == AuthMode::Builtin
        {
            return bad(
                "JWT_SECRET",
                "is required with PostgreSQL (every gateway replica must share it)",
            );
        }
        if self.auth.mode == AuthMode::StackAuth && self.stack.project_id.is_none() {
            return bad("STACK_PROJECT_ID", "is required when AUTH_MODE=stack_auth");
        }
        Ok(())
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.server.data_dir.join("outbox")
    }

    pub fn storage_dir(&self) -> PathBuf {
        self.uploads
            .storage_dir
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("files"))
    }
}

/// Accepts `a,b,c` (how an environment variable carries a list) as well as a real list.
fn comma_list<'de, D: Deserializer<'de>, T: From<String>>(d: D) -> Result<Vec<T>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        One(String),
        Many(Vec<String>),
    }
    Ok(match List::deserialize(d)? {
        List::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| T::from(s.to_string()))
            .collect(),
        List::Many(v) => v.into_iter().map(T::from).collect(),
    })
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment's own error type
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn every_variable_is_in_the_env_example() {
        let example = include_str!("../../../../.env.example");
        for key in Config::keys().map(str::to_ascii_uppercase) {
            assert!(
                example.contains(&format!("# {key}=")),
                "{key} is missing from .env.example"
            );
        }
    }

    #[test]
    fn defaults_are_the_embedded_mode() {
        Jail::expect_with(|_| {
            let c = Config::load().expect("defaults load");
            assert!(c.database.is_sqlite());
            assert!(c.jobs.runs_embedded_worker());
            assert_eq!(c.server.port, 3000);
            assert_eq!(
                c.server.cors_origins,
                vec!["http://localhost:8080".to_string()]
            );
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_and_lists() {
        Jail::expect_with(|jail| {
            jail.set_env("PORT", "4000");
            jail.set_env("CORS_ORIGINS", "http://a.test, https://b.test");
            jail.set_env("DATABASE_URL", "postgres://u@localhost/db");
            jail.set_env("REDIS_URL", "redis://127.0.0.1:6379");
            jail.set_env("JWT_SECRET", "0123456789abcdef0123456789abcdef");
            let c = Config::load().expect("loads");
            assert_eq!(c.server.port, 4000);
            assert_eq!(
                c.server.cors_origins,
                vec!["http://a.test", "https://b.test"]
            );
            assert!(!c.jobs.runs_embedded_worker());
            Ok(())
        });
    }

    #[test]
    fn file_then_env_then_secret_files() {
        Jail::expect_with(|jail| {
            jail.create_file("sb.toml", "port = 5000\nworker_concurrency = 9\n")?;
            jail.create_file("smtp-pass", "s3cret\n")?;
            jail.set_env("SWITCHBOARD_CONFIG", "sb.toml");
            jail.set_env("WORKER_CONCURRENCY", "2");
            jail.set_env("SMTP_USERNAME", "mailer");
            jail.set_env("SMTP_PASSWORD_FILE", "smtp-pass");
            let c = Config::load().expect("loads");
            assert_eq!(c.server.port, 5000);
            assert_eq!(c.jobs.worker_concurrency, 2);
            assert_eq!(
                c.mail.smtp_password.as_ref().map(Secret::expose),
                Some("s3cret")
            );
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("PORT", "not-a-port"),
            ("PORT", "0"),
            ("DATABASE_URL", "mysql://x"),
            ("LOG_FORMAT", "xml"),
            ("WORKER_CONCURRENCY", "0"),
            ("MAIL_TRANSPORT", "smtp"),
            ("JWT_SECRET", "short"),
            ("AUTH_MODE", "magic"),
            ("FREE_CREDITS", "-1"),
        ] {
            Jail::expect_with(|jail| {
                jail.set_env(var, value);
                let err = Config::load().expect_err("must be rejected").to_string();
                let named = if var == "MAIL_TRANSPORT" {
                    "SMTP_HOST"
                } else {
                    var
                };
                assert!(err.contains(named), "{var}={value}: {err}");
                Ok(())
            });
        }
    }

    #[test]
    fn postgres_needs_redis() {
        Jail::expect_with(|jail| {
            jail.set_env("DATABASE_URL", "postgres://u@localhost/db");
            let err = Config::load().expect_err("rejected").to_string();
            assert!(err.contains("REDIS_URL"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn every_flat_name_is_one_setting() {
        let Value::Object(groups) = serde_json::to_value(Config::default()).unwrap() else {
            panic!("config is an object")
        };
        let fields: usize = groups
            .values()
            .map(|g| g.as_object().map_or(0, Map::len))
            .sum();
        assert_eq!(PATHS.len(), fields, "two groups use the same flat name");
        assert_eq!(
            path_of("ELEVENLABS_API_KEY"),
            Some("elevenlabs.elevenlabs_api_key")
        );
    }

    #[test]
    fn the_flat_view_round_trips() {
        let mut config = Config::default();
        config.server.port = 4321;
        config.elevenlabs.webhook_secrets = vec![Secret::from("wsec_a".to_string())];
        let back = Config::from_flat(config.to_flat()).unwrap();
        assert_eq!(back.to_flat(), config.to_flat());
        assert!(Config::from_flat(Map::from_iter([("nope".into(), Value::Null)])).is_err());
    }

    #[test]
    fn an_unknown_file_key_is_named() {
        Jail::expect_with(|jail| {
            jail.create_file("sb.toml", "port = 5000\nprot = 1\n")?;
            jail.set_env("SWITCHBOARD_CONFIG", "sb.toml");
            let err = Config::load().expect_err("rejected").to_string();
            assert!(err.contains("`prot`"), "{err}");
            Ok(())
        });
    }
}
