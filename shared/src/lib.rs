//! Switchboard's domain crate: configuration, errors, entities, services and job payloads,
//! shared by the gateway, the worker and the tests.

pub mod admin_users;
pub mod agents;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod call_history;
pub mod calls;
pub mod config;
pub mod contacts;
pub mod conversations;
pub mod credits;
pub mod dashboard;
pub mod db;
pub mod elevenlabs;
pub mod email;
pub mod entities;
pub mod error;
pub mod error_code;
pub mod ids;
pub mod integrations;
pub mod jobs;
pub mod leads;
pub mod live;
pub mod monitoring;
pub mod notifications;
pub mod phone;
pub mod platform_analytics;
pub mod services;
pub mod settings;
pub mod storage;
pub mod system_config;
pub mod system_health;
pub mod tabular;
pub mod telemetry;
pub mod transcripts;
pub mod users;
pub mod webhook_inbox;
pub mod webhooks;

pub use config::Config;
pub use error::{AppError, AppResult, ErrorCode};
pub use services::Services;
