//! OpenAPI tags, one per area of the API.

use poem_openapi::Tags;

#[derive(Tags)]
pub enum Tag {
    /// Sign-up, sign-in and session management for built-in accounts.
    Auth,
    /// The signed-in user's own profile, settings and balance.
    Account,
    /// Voice and chat agents on ElevenLabs.
    Agents,
    /// Contacts: who agents call and who calls in; imports and exports.
    Contacts,
    /// Phone calls: starting them, the call list, transcripts and recordings.
    Calls,
    /// Campaigns: an agent calling a list of contacts within windows, caps and credits.
    Campaigns,
    /// Lead intelligence: contacts that talked to an agent, their scores and next actions.
    Leads,
    /// The Overview screen: KPIs, charts and recent activity.
    Dashboard,
    /// Callbacks ElevenLabs makes during calls, and the secrets they authenticate with.
    Integrations,
    /// Credits: purchases through Stripe, the ledger, usage.
    Billing,
    /// Provider webhooks (Stripe, ElevenLabs): verified, stored, applied in the background.
    Webhooks,
    /// The admin area: accounts, credits, audit log (admins only).
    Admin,
    /// Health, readiness and other operational endpoints.
    Operations,
}
