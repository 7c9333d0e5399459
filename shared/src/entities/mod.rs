//! One module per table, mirroring the migration column for column.

pub mod agents;
pub mod audit_log;
pub mod auth_tokens;
pub mod background_jobs;
pub mod call_rollups;
pub mod calls;
pub mod contact_imports;
pub mod contacts;
pub mod credit_transactions;
pub mod email_outbox;
pub mod integration_keys;
pub mod lead_analytics;
pub mod live_events;
pub mod notifications;
pub mod purchases;
pub mod refresh_tokens;
pub mod system_config;
pub mod transcripts;
pub mod users;
pub mod webhook_events;

/// Logs and labels show a vocabulary word as it is stored.
macro_rules! display_as_stored {
    ($($word:ty),* $(,)?) => {$(
        impl std::fmt::Display for $word {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&sea_orm::ActiveEnum::to_value(self))
            }
        }
    )*};
}

display_as_stored!(
    agents::AgentStatus,
    agents::SyncState,
    auth_tokens::TokenPurpose,
    background_jobs::JobKind,
    background_jobs::JobStatus,
    calls::CallStatus,
    calls::Channel,
    calls::Direction,
    contact_imports::Format,
    contact_imports::ImportStatus,
    credit_transactions::TxKind,
    live_events::LiveKind,
    email_outbox::EmailStatus,
    notifications::NotificationKind,
    purchases::PurchaseStatus,
    users::Role,
    users::UserStatus,
    webhook_events::InboxStatus,
);
