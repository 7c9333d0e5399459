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
