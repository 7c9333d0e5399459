//! Switchboard's domain crate: configuration, errors, entities, services and job payloads,
//! shared by the gateway, the worker and the tests. One folder per part of the domain; the
//! README's "Where things live" maps them.

/// What every feature stands on: configuration, database, errors, ids, jobs, live events,
/// storage, mail, the webhook inbox, logs and metrics. Imports no feature.
pub mod platform;

/// Sign-in and accounts: authentication, users, notifications, the audit log, per-user keys.
pub mod accounts;
/// Admins' views and actions over every account.
pub mod admin;
/// Agents and their ElevenLabs copies.
pub mod agents;
/// Calls and chats: dialing, the post-call pipeline, history, transcripts.
pub mod calls;
/// Campaigns: a call agent dialling a list of numbers within windows, caps and credits.
pub mod campaigns;
/// Contacts, their imports and exports, phone numbers, lead intelligence.
pub mod contacts;
/// The Overview's counters and charts.
pub mod dashboard;
/// The database's tables as sea-orm entities.
pub mod entities;
/// Credits and what buys them: the ledger, purchases, Stripe events.
pub mod money;
pub mod services;
/// Process start-up: connect, migrate and prepare, assemble `Services`.
pub mod startup;

pub use platform::{
    config::Config,
    error::{AppError, AppResult, ErrorCode},
};
pub use services::Services;
