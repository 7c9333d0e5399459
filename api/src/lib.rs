//! Switchboard's gateway: the poem-openapi HTTP API, webhook intake and the CLI. Handlers are
//! thin: parse, authorize, call one `shared` service, map the result.

pub mod admin;
pub mod admin_agents;
pub mod admin_analytics;
pub mod admin_audit;
pub mod admin_dashboard;
pub mod admin_session;
pub mod admin_settings;
pub mod admin_users;
pub mod agents;
pub mod app;
pub mod auth;
pub mod billing;
pub mod billing_summary;
pub mod call_analytics;
pub mod call_logs;
pub mod calls;
pub mod chats;
pub mod cli;
pub mod client_errors;
pub mod contact_imports;
pub mod contacts;
pub mod credits;
pub mod customers;
pub mod dashboard;
pub mod download;
pub mod error;
pub mod events;
mod examples;
pub mod health;
pub mod integrations;
pub mod lead_intelligence;
pub mod lead_rows;
pub mod leads;
pub mod metrics;
pub mod middleware;
pub mod notifications;
pub mod pagination;
pub mod rate_limit;
pub mod raw_json;
pub mod security;
pub mod tags;
pub mod user;
pub mod webhooks;
pub mod wire;

pub use app::{build_app, openapi_json, serve};
