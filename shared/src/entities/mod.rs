//! One module per table, mirroring the migration column for column.

/// Declares a word list of the typed vocabulary (a status, a kind, a role): stored as its
/// snake_case word in a text column, read and written by the API as that same word, iterable,
/// and shown by `Display` as it is stored (logs and labels).
macro_rules! vocabulary {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            sea_orm::EnumIter,
            sea_orm::DeriveActiveEnum,
            serde::Serialize,
            serde::Deserialize,
            poem_openapi::Enum,
        )]
        #[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
        #[serde(rename_all = "snake_case")]
        #[oai(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),*
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&sea_orm::ActiveEnum::to_value(self))
            }
        }
    };
}

pub mod agents;
pub mod audit_log;
pub mod auth_tokens;
pub mod background_jobs;
pub mod call_rollups;
pub mod calls;
pub mod campaign_targets;
pub mod campaigns;
pub mod contact_imports;
pub mod contacts;
pub mod credit_transactions;
pub mod customers;
pub mod dial_attempts;
pub mod dnc_numbers;
pub mod email_outbox;
pub mod feature_flags;
pub mod integration_keys;
pub mod lead_analytics;
pub mod lead_tasks;
pub mod live_events;
pub mod notifications;
pub mod phone_numbers;
pub mod platform_rollups;
pub mod provider_api_key_users;
pub mod provider_api_keys;
pub mod purchases;
pub mod refresh_tokens;
pub mod report_schedules;
pub mod report_shares;
pub mod reports;
pub mod system_config;
pub mod transcripts;
pub mod users;
pub mod webhook_events;
