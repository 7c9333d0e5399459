//! The examples `/docs` and `/openapi.json` show for request and response bodies. Each is
//! written as the JSON a client sends or receives and parsed into its type when the document
//! is built, so an example that no longer fits its type fails every test that builds the
//! document instead of drifting from the API.

use poem_openapi::types::{Example, ParseFromJSON, ToJSON};
use serde_json::{Value, json};

use crate::{
    admin::{AdminAgentEdit, Agent, SystemHealth, WebhookEvent, WebhookEventDetail},
    admin_agents::{
        AdminAgentListEnvelope, AdminAgentPage, AdminAgentRow, AgentHealthDetail,
        AgentHealthReport, AgentMonitoring, AgentPagination, AgentRegistration, AssignedEnvelope,
        Assignment, BulkEnvelope, BulkFailure, BulkRequest, BulkResult, HealthEnvelope, HourUse,
        MonitoringEnvelope, TopPerformer,
    },
    admin_analytics::{
        AnalyticsAgents, AnalyticsCalls, AnalyticsCredits, AnalyticsSystem, AnalyticsUsers,
        ChartSlice, HourlyUse, PlatformAnalytics, SystemAnalytics, SystemAnalyticsEnvelope,
        UsageDay,
    },
    admin_api_keys::{
        ApiKeyConfig, ApiKeyDeleted, ApiKeyEnvelope, ApiKeyForm, ApiKeyListEnvelope, KeyUsage,
    },
    admin_audit::{
        AuditEntry, AuditEntryEnvelope, AuditExportFilters, AuditExportRequest, AuditListEnvelope,
        AuditPagination,
    },
    admin_dashboard::{
        DashboardActivity, DashboardEnvelope, DashboardMetrics, PlatformAgents, PlatformAlert,
        PlatformCalls, PlatformCredits, PlatformSystem, PlatformUsers, SystemStats,
        SystemStatsEnvelope,
    },
    admin_feature_flags::{
        FeatureFlagConfig, FeatureFlagEnvelope, FeatureFlagForm, FeatureFlagListEnvelope,
    },
    admin_phone_numbers::{
        PhoneNumberAssignment, PhoneNumberChange, PhoneNumberEnvelope, PhoneNumberForm,
        PhoneNumberListEnvelope, PhoneNumberPagination, PhoneNumberRow,
    },
    admin_report_schedules::{
        ScheduleDeleted, ScheduleRun, ScheduleRunEnvelope, ScheduleTiming, ScheduleTimingForm,
        ScheduledReport, ScheduledReportForm,
    },
    admin_report_shares::{
        ShareEmailForm, ShareEmailed, ShareForm, ShareOpenForm, ShareRevoked, SharedReport,
    },
    admin_reports::{
        GeneratedReport, ReportConfigForm, ReportFilterForm, ReportPreview, ReportSort,
        ReportTable, ReportTemplate, ReportTemplateEnvelope,
    },
    admin_session::{AdminAccess, AdminAccessEnvelope, AdminProfile, AdminProfileEnvelope},
    admin_settings::{SettingsChange, SettingsList},
    admin_users::{
        AdminCreditEnvelope, AdminCreditRequest, AdminCreditResult, AdminStatusChange,
        AdminUserActivity, AdminUserAgent, AdminUserDetail, AdminUserDetailEnvelope, AdminUserEdit,
        AdminUserEnvelope, AdminUserPage, AdminUserPageEnvelope, AdminUserRow, AdminUserStatistics,
        CallLimit, CallLimitChange, CallLimitEnvelope, CreditChange,
    },
    agents::{
        AgentEnvelope, AgentList, AgentRequest, ChatSession, ConnectionTest, ManagedAgent,
        PhoneNumber, StatusChange, Voice, VoiceList,
    },
    auth::{
        ChangeEmailRequest, EmailRequest, LoginRequest, LogoutRequest, RefreshRequest,
        RegisterRequest, ResetPasswordRequest, Session, TokenRequest, TokenValid, Validated,
        VerificationSent, Verified, VerifiedUser,
    },
    billing::{
        ConfirmRequest, ConfirmedEnvelope, IntentRequest, OpenedIntentEnvelope,
        PaymentHistoryEnvelope, Pricing, PricingEnvelope, Purchase, PurchaseRequest,
    },
    billing_summary::{
        BalanceData, BalanceEnvelope, CreditStats, HistoryEnvelope, HistoryPage, HistorySummary,
        StatsEnvelope, Transaction,
    },
    call_analytics::{
        CallFunnelEnvelope, IntentBudgetEnvelope, KpiEnvelope, SliceEnvelope,
        SourceAnalyticsEnvelope, SourceEnvelope, SummaryEnvelope,
    },
    call_logs::{CallDetailEnvelope, CallLogItem, TranscriptEnvelope},
    calls::{
        Call, CallListRow, InitiateCall, InitiatedEnvelope, LeadAnalytics, StartCallRequest,
        Transcript,
    },
    campaigns::{
        Campaign, CampaignAnalytics, CampaignCreated, CampaignCreditWarnings, CampaignDeleted,
        CampaignEnvelope, CampaignListEnvelope, CampaignSkippedRow, CampaignTagCount,
        CreditAffordability, CreditCheck, CreditCheckRequest, CreditEstimate, CreditFormatted,
        CreditRecommendations, NewCampaignRequest, UploadedCampaign,
    },
    chats::ChatDetail,
    client_errors::ClientErrorReport,
    contact_imports::{ContactImport, UploadEnvelope},
    contacts::{
        BulkDelete, Contact, ContactCounts, ContactEnvelope, ContactForm, ContactListEnvelope,
        ContactStatsEnvelope, Deleted, UpdateContact,
    },
    credits::{CreditTransaction, UsageSummary},
    customers::{
        ConvertRequest, Customer, CustomerDetailEnvelope, CustomerEnvelope, CustomerInteraction,
        CustomerListEnvelope, CustomerUpdate, DemoRequest, FollowUpListEnvelope, FollowUpRequest,
        FollowUpStatusRequest, FollowUpUpdate, FollowUpsChanged, LeadTask, LeadTaskEnvelope,
    },
    dashboard::{Analytics, AnalyticsEnvelope, Overview, OverviewEnvelope, RecentActivity},
    do_not_call::{
        BlockNumber, DoNotCallEnvelope, DoNotCallList, DoNotCallNumber, DoNotCallRemoved, OptOut,
    },
    events::LiveMessage,
    health::{Health, Readiness},
    integrations::{
        BatchLookupEnvelope, BatchLookupRequest, ContactMatch, ContactMatchEnvelope,
        IntegrationKey, NewIntegrationKey,
    },
    lead_intelligence::{CallAnalyticsEnvelope, LeadGroupRow, TimelineEntry},
    lead_rows::{
        LeadItem, LeadList, LeadProfileEnvelope, LeadProfileView, LeadTimelineEnvelope,
        LeadTimelineItem,
    },
    leads::{Lead, LeadProfile},
    notifications::{MarkedAllRead, MarkedRead, Notification, NotificationEnvelope},
    pagination::Page,
    user::{
        Capabilities, ConcurrencyEnvelope, CreditBalance, CreditState, CreditStatus,
        CreditWarnings, LoginStatus, LoginStatusUser, LoginWarnings, NotificationPreferences,
        PasswordChange, PasswordChanged, PreferencesChange, PreferencesEnvelope, ProfileEnvelope,
        ProfileForm, ProfileSaved, PromptChange, PromptConfig, PromptDefaults, PromptEnvelope,
        SessionUser, TopUpAdvice, UpdateProfile, User,
    },
    webhooks::Received,
    wire::Done,
};

const USER: &str = "3f6c2a7e-8a51-4b0e-9d7a-2c1f5e9b8a01";
const ADMIN: &str = "0b9e2d4c-6a8f-4c1e-b3d5-7f9a1c3e5b20";
const AGENT: &str = "7b1d9c4e-2f3a-4e8b-a6c5-0d9e8f7a6b52";
const CONTACT: &str = "c2a4e6f8-1b3d-4f5a-8c7e-9d0b1a2c3e43";
const CALL: &str = "e5f7a9b1-3c5d-4e7f-9a1b-2c3d4e5f6a74";
const PURCHASE: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c65";
const CAMPAIGN: &str = "4d2b8f6a-0c1e-4a3b-9d5f-7e6c8a0b2d19";
const CONVERSATION: &str = "conv_01jbq8x4z5e6f7g8h9j0k1m2n3";
const ELEVENLABS_AGENT: &str = "agent_01jbq7w3y4d5e6f7g8h9j0k1m2";
const AT: &str = "2026-11-20T14:03:12Z";
const LATER: &str = "2026-11-20T14:07:40Z";

/// The example's JSON parsed into its type; a mismatch is a bug in this file. Parsing ignores
/// unknown fields, so the parsed value must also give every field back: a misspelt field
/// fails here instead of vanishing from the document.
fn parse<T: ParseFromJSON + ToJSON>(value: Value) -> T {
    let name = std::any::type_name::<T>();
    let parsed = T::parse_from_json(Some(value.clone())).unwrap_or_else(|e| {
        panic!(
            "the OpenAPI example of {name} does not fit it: {}",
            e.into_message()
        )
    });
    if let Some(missing) = lost_field(&value, &parsed.to_json().unwrap_or(Value::Null), "") {
        panic!("the OpenAPI example of {name} has a field its type does not: {missing}");
    }
    parsed
}

/// The path of a non-null field of `sent` that `kept` lacks.
fn lost_field(sent: &Value, kept: &Value, at: &str) -> Option<String> {
    match (sent, kept) {
        (Value::Object(sent), Value::Object(kept)) => sent.iter().find_map(|(key, value)| {
            let path = format!("{at}.{key}");
            match kept.get(key) {
                None if !value.is_null() => Some(path),
                None => None,
                Some(kept) => lost_field(value, kept, &path),
            }
        }),
        (Value::Array(sent), Value::Array(kept)) => sent
            .iter()
            .zip(kept)
            .enumerate()
            .find_map(|(i, (sent, kept))| lost_field(sent, kept, &format!("{at}[{i}]"))),
        _ => None,
    }
}

/// Another type's example as JSON, to build a larger example around it.
fn of<T: Example + ToJSON>() -> Value {
    T::example().to_json().unwrap_or(Value::Null)
}

/// `base` with `extra`'s fields added (for flattened types).
fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

macro_rules! examples {
    ($($ty:ty => $json:expr;)*) => {
        $(impl Example for $ty {
            fn example() -> Self {
                parse($json)
            }
        })*
    };
}

impl<T: Example + ParseFromJSON + ToJSON + Send + Sync> Example for Page<T> {
    fn example() -> Self {
        Page {
            items: vec![T::example()],
            page: 1,
            per_page: 25,
            total: 1,
        }
    }
}

fn notification_settings() -> Value {
    json!({
        "call_summaries": true, "low_balance": true,
        "weekly_report": false, "product_updates": false
    })
}

fn call() -> Value {
    json!({
        "id": CALL, "agent_id": AGENT, "user_id": USER, "contact_id": CONTACT,
        "elevenlabs_conversation_id": CONVERSATION, "phone_number": "+14155550123",
        "direction": "outbound", "status": "completed", "duration_secs": 268,
        "duration_minutes": 5, "credits_charged": 5, "created_at": AT, "completed_at": LATER,
        "summary": "Asked about pricing for 20 seats; wants a demo next Tuesday.",
        "summary_title": "Pricing and demo request", "call_successful": "success",
        "recording_url": format!("/api/calls/{CALL}/recording")
    })
}

examples! {
    Health => json!({ "status": "ok", "version": "0.1.0" });
    Readiness => json!({ "status": "ready", "database": "ok", "queue": "ok" });

    RegisterRequest => json!({
        "email": "ana@acme.example", "password": "correct horse battery staple", "name": "Ana Ruiz"
    });
    LoginRequest => json!({ "email": "ana@acme.example", "password": "correct horse battery staple" });
    RefreshRequest => json!({ "refreshToken": "rt_6f2b9c1d8e7a4f3b2c1d0e9f8a7b6c5d" });
    LogoutRequest => json!({});
    TokenRequest => json!({ "token": "vt_1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f" });
    EmailRequest => json!({ "email": "ana@acme.example" });
    ResetPasswordRequest => json!({
        "token": "rp_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b", "newPassword": "a new long passphrase"
    });
    ChangeEmailRequest => json!({ "new_email": "ana.ruiz@acme.example", "password": "correct horse battery staple" });
    Done => json!({ "success": true, "message": "Signed out", "timestamp": "2026-11-20T14:03:12.000Z" });
    User => json!({
        "id": USER, "email": "ana@acme.example", "name": "Ana Ruiz", "credits": 120,
        "created_at": "2026-10-02T09:15:00Z", "updated_at": AT, "is_active": true,
        "auth_provider": "password", "role": "user", "status": "active", "email_verified": true,
        "company": "Acme Solar", "phone": "+14155550100", "timezone": "America/Los_Angeles",
        "default_region": "US", "notifications": notification_settings()
    });
    SessionUser => json!({
        "id": USER, "email": "ana@acme.example", "name": "Ana Ruiz", "displayName": "Ana Ruiz",
        "credits": 120, "emailVerified": true, "isActive": true, "role": "user",
        "authProvider": "email", "createdAt": "2026-10-02T09:15:00.000Z",
        "updatedAt": "2026-11-20T14:03:12.000Z", "lastLogin": "2026-11-20T14:03:12.000Z",
        "company": "Acme Solar", "website": "https://acme.example", "location": "Oakland, CA",
        "bio": "Runs outbound for Acme Solar.", "phone": "+14155550100",
        "timezone": "America/Los_Angeles", "defaultRegion": "US"
    });
    Session => json!({
        "message": "Signed in",
        "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzZjZjMmE3ZSJ9.c2lnbmF0dXJl",
        "refreshToken": "rt_6f2b9c1d8e7a4f3b2c1d0e9f8a7b6c5d", "expiresIn": 900,
        "user": of::<SessionUser>(), "timestamp": "2026-11-20T14:03:12.000Z"
    });
    Validated => json!({ "user": of::<SessionUser>(), "timestamp": "2026-11-20T14:03:12.000Z" });
    VerifiedUser => json!({ "id": USER, "email": "ana@acme.example", "emailVerified": true });
    Verified => json!({
        "success": true, "message": "Email verified", "user": of::<VerifiedUser>(),
        "timestamp": "2026-11-20T14:03:12.000Z"
    });
    VerificationSent => json!({
        "success": true, "message": "Verification email sent", "email": "ana@acme.example",
        "timestamp": "2026-11-20T14:03:12.000Z"
    });
    TokenValid => json!({ "success": true, "valid": true });
    ClientErrorReport => json!({
        "message": "Cannot read properties of undefined (reading 'length')",
        "stack": "TypeError: Cannot read properties of undefined\n    at UserDetailModal (index.js:1:2)",
        "url": "http://localhost:8080/admin/users", "userAgent": "Mozilla/5.0"
    });
    ProfileEnvelope => json!({ "user": of::<SessionUser>() });
    ProfileForm => json!({
        "name": "Ana Ruiz", "email": "ana@acme.example", "company": "Acme Solar",
        "website": "https://acme.example", "location": "Oakland, CA",
        "bio": "Runs outbound for Acme Solar.", "phone": "+14155550100"
    });
    ProfileSaved => json!({ "success": true, "data": of::<SessionUser>() });
    PasswordChange => json!({
        "currentPassword": "correct horse battery staple", "newPassword": "a new long passphrase"
    });
    PasswordChanged => json!({
        "success": true, "message": "Password updated successfully",
        "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzZjZjMmE3ZSJ9.c2lnbmF0dXJl",
        "timestamp": "2026-11-20T14:03:12.000Z"
    });
    UpdateProfile => json!({
        "name": "Ana Ruiz", "company": "Acme Solar", "timezone": "America/Los_Angeles",
        "notifications": notification_settings()
    });
    CreditBalance => json!({ "success": true, "credits": 120, "timestamp": "2026-11-20T14:03:12.000Z" });
    CreditState => json!({ "current": 4, "status": "critical", "color": "orange", "warningLevel": 2 });
    Capabilities => json!({ "canInitiateCalls": true, "canCreateCampaigns": true, "canStartCampaigns": true });
    CreditWarnings => json!({ "showBanner": false, "bannerType": "info", "isDismissible": true });
    TopUpAdvice => json!({ "suggestedTopUp": 46, "urgency": "high" });
    CreditStatus => json!({
        "success": true, "credits": of::<CreditState>(), "capabilities": of::<Capabilities>(),
        "warnings": of::<CreditWarnings>(), "recommendations": of::<TopUpAdvice>(),
        "timestamp": "2026-11-20T14:03:12.000Z"
    });
    LoginStatusUser => json!({ "id": USER, "email": "ana@acme.example", "name": "Ana Ruiz", "credits": 4 });
    LoginWarnings => json!({
        "showBanner": true, "message": "Welcome back! You have 4 credits remaining. Consider topping up soon.",
        "type": "warning", "autoHide": false, "duration": 8000
    });
    LoginStatus => json!({
        "success": true, "user": of::<LoginStatusUser>(), "loginWarnings": of::<LoginWarnings>(),
        "timestamp": "2026-11-20T14:03:12.000Z"
    });
    NotificationPreferences => json!({
        "low_credit_alerts": true, "credits_added_emails": true,
        "campaign_summary_emails": false, "email_verification_reminders": true
    });
    PreferencesChange => json!({ "low_credit_alerts": false, "campaign_summary_emails": true });
    ConcurrencyEnvelope => json!({ "success": true, "settings": {
        "user_concurrent_calls_limit": 5, "user_active_calls": 1, "user_available_slots": 4
    }});
    PreferencesEnvelope => json!({ "success": true, "preferences": of::<NotificationPreferences>() });
    PromptDefaults => json!({ "individual": null, "complete": null });
    PromptConfig => json!({
        "openai_individual_prompt_id": "pmpt_68b1c2d3e4f5", "openai_complete_prompt_id": null,
        "system_defaults": of::<PromptDefaults>()
    });
    PromptEnvelope => json!({ "success": true, "data": of::<PromptConfig>() });
    PromptChange => json!({ "openai_individual_prompt_id": "pmpt_68b1c2d3e4f5" });
    BalanceData => json!({ "credits": 120, "userId": USER });
    BalanceEnvelope => json!({ "success": true, "data": of::<BalanceData>() });
    CreditStats => json!({
        "currentBalance": 120, "totalPurchased": 500, "totalUsed": 395, "totalBonus": 15,
        "totalAdjustments": 0, "transactionCount": 212, "averageUsagePerDay": 13.17,
        "projectedRunoutDate": "2026-11-29T17:00:00.000Z"
    });
    StatsEnvelope => json!({ "success": true, "data": of::<CreditStats>() });
    Transaction => json!({
        "id": "5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7f80", "userId": USER, "type": "usage",
        "amount": -5, "balanceAfter": 120, "description": "Call with +14155550123",
        "callId": CALL, "createdAt": "2026-11-20T14:07:40.000Z"
    });
    HistorySummary => json!({ "totalPurchased": 500, "totalUsed": 395, "totalBonus": 15, "totalAdjustments": 0 });
    HistoryPage => json!({
        "transactions": [of::<Transaction>()], "total": 212, "page": 1, "limit": 20,
        "totalPages": 11, "summary": of::<HistorySummary>()
    });
    HistoryEnvelope => json!({ "success": true, "data": of::<HistoryPage>() });

    AgentRequest => json!({
        "name": "Solar qualifier", "type": "CallAgent", "agentType": "call", "status": "active",
        "description": "Calls inbound leads back within the hour.", "language": "English",
        "voice_id": "21m00Tcm4TlvDq8ikWAM", "llm": "gpt-4o-mini",
        "system_prompt": "You are Maya from Acme Solar. Qualify the lead's roof, budget and timing.",
        "first_message": "Hi {{name}}, this is Maya from Acme Solar. Is now a good time?",
        "lead_questions": [
            { "id": "roof_type", "type": "string", "description": "Roof material" },
            { "id": "monthly_bill", "type": "number", "description": "Monthly electricity bill in USD" }
        ],
        "data_collection": {
            "default": { "type": "string", "description": "Score the lead 0-100 on budget, authority, need and timing; answer as JSON." }
        },
        "phone_number_id": "phnum_01jbq9a1b2c3d4e5f6g7h8j9k0"
    });
    ManagedAgent => json!({
        "id": AGENT, "userId": USER, "name": "Solar qualifier",
        "description": "Calls inbound leads back within the hour.", "type": "CallAgent",
        "agentType": "call", "status": "active", "isActive": true, "language": "English",
        "languageCode": "en", "model": "gpt-4o-mini", "conversations": 412,
        "creditsRemaining": 1200, "created": "Oct 02, 2026",
        "createdAt": "2026-10-02T09:20:00.000Z", "updatedAt": "2026-11-20T14:03:12.000Z",
        "successRate": 58, "avgDuration": "3.7m", "elevenlabsAgentId": ELEVENLABS_AGENT,
        "syncStatus": "synced", "phoneNumberId": "phnum_01jbq9a1b2c3d4e5f6g7h8j9k0",
        "minutes": 1530.5, "creditsUsed": 1702, "lastCallAt": "2026-11-20T14:03:12.000Z",
        "averageLeadScore": 61.4
    });
    AgentList => json!({
        "success": true, "data": [of::<ManagedAgent>()],
        "pagination": { "total": 1, "limit": 100, "offset": 0, "hasMore": false }, "stale": false
    });
    ConnectionTest => json!({ "success": true, "data": { "connected": true } });
    AgentRegistration => json!({
        "bolna_agent_id": ELEVENLABS_AGENT, "name": "Solar qualifier",
        "description": "Calls inbound leads back within the hour.", "agent_type": "call",
        "is_active": true, "assignToUserId": USER
    });
    Assignment => json!({ "userId": USER });
    AgentEnvelope => json!({ "success": true, "data": of::<ManagedAgent>() });
    StatusChange => json!({ "status": "draft" });
    AdminAccess => json!({
        "hasAccess": true, "isAdmin": true, "role": "admin", "userId": USER,
        "email": "ops@switchboard.example"
    });
    AdminAccessEnvelope => json!({
        "success": true, "data": of::<AdminAccess>(), "timestamp": "2026-11-20T14:03:12.000Z"
    });
    AdminProfile => json!({
        "id": USER, "email": "ops@switchboard.example", "name": "Olivia Ops", "role": "admin",
        "createdAt": "2026-01-05T08:00:00.000Z", "lastLogin": "2026-11-20T14:03:12.000Z",
        "isActive": true
    });
    AdminProfileEnvelope => json!({ "success": true, "data": of::<AdminProfile>() });
    AssignedEnvelope => json!({ "success": true, "data": { "assigned": true } });
    ChatSession => json!({
        "agent_id": AGENT, "elevenlabs_agent_id": ELEVENLABS_AGENT,
        "signed_url": "wss://api.elevenlabs.io/v1/convai/conversation?agent_id=agent_01jbq7w3y4d5e6f7g8h9j0k1m2&conversation_signature=cvtkn_01jbqa",
        "conversation_token": "eyJhbGciOiJIUzI1NiJ9.eyJyb29tIjoiY29udmFpIn0.c2ln"
    });
    Voice => json!({
        "voice_id": "21m00Tcm4TlvDq8ikWAM", "name": "Rachel", "category": "premade",
        "labels": { "accent": "american", "gender": "female" },
        "description": "Calm, young American voice for narration and conversation.",
        "preview_url": "https://storage.googleapis.com/eleven-public-prod/premade/voices/21m00Tcm4TlvDq8ikWAM/preview.mp3"
    });
    VoiceList => json!({ "success": true, "data": [of::<Voice>()] });
    PhoneNumber => json!({
        "phone_number_id": "phnum_01jbq9a1b2c3d4e5f6g7h8j9k0", "phone_number": "+14155550199",
        "label": "Sales line", "provider": "twilio"
    });

    StartCallRequest => json!({
        "agent_id": AGENT, "contact_id": CONTACT,
        "dynamic_variables": { "name": "Jordan", "offer": "free roof survey" }
    });
    Call => call();
    LeadAnalytics => json!({
        "id": "5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7f81", "call_id": CALL,
        "intent_level": "high", "intent_score": 22, "urgency_level": "medium", "urgency_score": 14,
        "budget_constraint": "flexible", "budget_score": 15, "fit_alignment": "strong",
        "fit_score": 17, "engagement_health": "healthy", "engagement_score": 8,
        "total_score": 76, "lead_status_tag": "Hot",
        "reasoning": {
            "intent": "Asked for pricing and a demo unprompted.",
            "urgency": "Wants panels before summer.",
            "budget": "Has financing pre-approved.",
            "fit": "Owns a south-facing house.",
            "engagement": "Long, two-way conversation.",
            "cta_behavior": "Accepted the demo invitation."
        },
        "cta_interactions": {
            "pricing_clicked": true, "demo_clicked": true, "followup_clicked": false,
            "sample_clicked": false, "escalated_to_human": false
        },
        "score_status": "scored", "demo_at": "2026-12-03T04:30:00Z", "created_at": LATER
    });
    CallListRow => with(call(), json!({
        "duration": "4:28", "contact_name": "Jordan Lee", "contact_phone": "+14155550123",
        "agent_name": "Solar qualifier", "lead_score": 76, "lead_status_tag": "Hot",
        "has_recording": true
    }));
    CallLogItem => json!({
        "id": CALL, "userId": USER, "agentId": AGENT, "contactId": CONTACT,
        "phoneNumber": "+14155550123", "contactName": "Dana Whitfield",
        "contactEmail": "dana@brightpath.example", "agentName": "Solar qualifier",
        "status": "completed", "direction": "outbound", "durationSeconds": 268,
        "durationMinutes": 5, "displayDuration": "4 min 28 sec", "creditsUsed": 5,
        "callSource": "phone", "createdAt": "2026-11-20T14:03:12.000Z",
        "completedAt": "2026-11-20T14:07:40.000Z", "totalScore": 76, "leadTag": "Warm",
        "hasTranscript": true, "hasRecording": true,
        "recordingUrl": format!("/api/calls/{CALL}/audio"),
        "summary": "Asked about pricing for 20 seats; wants a demo next Tuesday.",
        "summaryTitle": "Pricing and demo request", "callSuccessful": "success",
        "elevenlabsConversationId": CONVERSATION
    });
    Transcript => json!({
        "id": "8c9d0e1f-2a3b-4c4d-9e5f-6a7b8c9d0e12", "call_id": CALL,
        "content": "agent: Hi Jordan, this is Maya from Acme Solar.\nuser: Hi, what would 20 panels cost?",
        "speaker_segments": [
            { "speaker": "agent", "text": "Hi Jordan, this is Maya from Acme Solar.", "timestamp": 0 },
            { "speaker": "user", "text": "Hi, what would 20 panels cost?", "timestamp": 4 }
        ],
        "matches": [{
            "segment": 1, "speaker": "user", "timestamp": 4,
            "parts": [
                { "text": "Hi, what would 20 panels ", "match": false },
                { "text": "cost", "match": true },
                { "text": "?", "match": false }
            ]
        }],
        "created_at": LATER, "updated_at": LATER
    });
    CallDetailEnvelope => json!({
        "success": true,
        "data": with(of::<CallLogItem>(), json!({
            "leadAnalytics": of::<LeadAnalytics>(), "problems": []
        }))
    });
    TranscriptEnvelope => json!({ "success": true, "data": of::<Transcript>() });
    KpiEnvelope => json!({ "success": true, "data": {
        "kpiData": [
            { "title": "Total Calls Made", "value": "120", "change": "+12", "changeValue": "11.1%", "positive": true },
            { "title": "Call Connection Rate", "value": "86.7%", "change": "+2.1%", "changeValue": "2.5%", "positive": true }
        ],
        "additionalMetrics": [
            { "title": "Not Connected", "value": "16", "change": "-3", "changeValue": "15.8%", "positive": true }
        ]
    }});
    SliceEnvelope => json!({ "success": true, "data": [
        { "name": "Hot Leads", "value": 25.0, "count": 18, "color": "#FF6700" },
        { "name": "Warm Leads", "value": 41.7, "count": 30, "color": "#E1A940" },
        { "name": "Cold Leads", "value": 33.3, "count": 24, "color": "#1A6262" }
    ]});
    CallFunnelEnvelope => json!({ "success": true, "data": [
        { "name": "Total Calls", "value": 120, "fill": "#1A6262" },
        { "name": "Connected", "value": 104, "fill": "#91C499" }
    ]});
    IntentBudgetEnvelope => json!({ "success": true, "data": [
        { "intent": 8.3, "budget": 5.0, "leads": 9, "name": "High intent, medium budget" }
    ]});
    SourceEnvelope => json!({ "success": true, "data": [{
        "name": "Phone", "value": 80.0, "count": 96, "color": "#1A6262", "success_rate": 72.5,
        "avg_duration": 3.2, "leads_generated": 70, "conversion_rate": 14.6
    }]});
    SourceAnalyticsEnvelope => json!({ "success": true, "data": { "source_analytics": [{
        "call_source": "phone",
        "metrics": {
            "total_calls": 96, "successful_calls": 60, "failed_calls": 13, "cancelled_calls": 0,
            "avg_duration": 3.2, "total_credits_used": 310, "leads_generated": 70,
            "hot_leads": 14, "demos_scheduled": 6, "success_rate": 72.3,
            "conversion_rate": 14.6, "cost_per_lead": 4.43
        },
        "changes": {
            "calls_change": 8, "calls_change_percent": 9.1, "success_change": 1.5,
            "leads_change": 5, "leads_change_percent": 7.7
        }
    }]}});
    SummaryEnvelope => json!({ "success": true, "data": {
        "minutes": 120, "totalCalls": 96, "totalMinutes": 307.2, "hotLeads": 14, "demosScheduled": 6
    }});
    LeadItem => json!({
        "id": CALL, "name": "Dana Whitfield", "phone": "+14155550123",
        "email": "dana@brightpath.example", "company": "BrightPath", "platform": "Phone",
        "leadType": "outbound", "useCase": "Pricing and demo request", "leadTag": "Hot",
        "totalScore": 87, "duration": "4:28", "engagementLevel": "High", "intentLevel": "High",
        "budgetConstraint": "No", "timelineUrgency": "Medium",
        "demoScheduled": "2026-11-24T17:00:00.000Z", "agent": "Solar qualifier",
        "interactionDate": "2026-11-20", "isLatestInteraction": true
    });
    LeadList => json!({
        "success": true, "data": [of::<LeadItem>()],
        "pagination": { "total": 1, "limit": 20, "offset": 0, "hasMore": false }
    });
    LeadProfileView => json!({
        "id": CALL, "contactId": CONTACT, "name": "Dana Whitfield",
        "email": "dana@brightpath.example", "phone": "+14155550123", "company": "BrightPath",
        "leadType": "outbound", "leadTag": "Hot", "agentType": "CallAgent", "interactions": 2,
        "engagementLevel": "High", "intentLevel": "High", "budgetConstraint": "No",
        "timelineUrgency": "Medium", "fitAlignment": "High",
        "useCase": "Pricing and demo request", "demoScheduled": "2026-11-24T17:00:00.000Z",
        "totalScore": 87,
        "scores": { "intent": 100, "urgency": 67, "budget": 100, "fit": 100, "engagement": 67 },
        "ctaInteractions": { "pricing_clicked": true, "demo_clicked": true },
        "reasoning": { "intent": "Asked for a quote for 20 panels" }
    });
    LeadProfileEnvelope => json!({ "success": true, "data": of::<LeadProfileView>() });
    LeadTimelineItem => json!({
        "id": CALL, "type": "call", "interactionAgent": "Solar qualifier",
        "interactionDate": "2026-11-20T14:07:40.000Z", "platform": "Phone",
        "leadType": "outbound", "status": "Hot", "useCase": "Pricing and demo request",
        "duration": "4:28", "engagementLevel": "High", "intentLevel": "High",
        "budgetConstraint": "No", "timelineUrgency": "Medium",
        "demoScheduled": "2026-11-24T17:00:00.000Z", "recording": true,
        "transcript": "agent: Hi Dana\nuser: What would 20 panels cost?", "date": "2026-11-20"
    });
    LeadTimelineEnvelope => json!({ "success": true, "data": {
        "timeline": [of::<LeadTimelineItem>()], "totalInteractions": 1
    }});
    LeadGroupRow => json!({
        "id": "phone_+14155550123", "name": "Dana Whitfield", "email": "dana@brightpath.example",
        "phone": "+14155550123", "company": "BrightPath", "leadType": "inbound",
        "recentLeadTag": "Hot", "recentEngagementLevel": "High", "recentIntentLevel": "High",
        "recentBudgetConstraint": "No", "recentTimelineUrgency": "Medium",
        "recentFitAlignment": "High", "escalatedToHuman": false,
        "interactedAgents": ["Solar qualifier"], "interactions": 2,
        "lastContact": "2026-11-20T14:07:40.000Z", "followUpScheduled": null,
        "followUpStatus": null, "demoScheduled": "2026-11-24T17:00:00.000Z", "groupType": "phone"
    });
    TimelineEntry => json!({
        "id": CALL, "interactionAgent": "Solar qualifier",
        "interactionDate": "2026-11-20T14:07:40.000Z", "platform": "Phone",
        "companyName": "BrightPath", "status": "Hot", "useCase": "Pricing and demo request",
        "duration": "04:28", "engagementLevel": "High", "intentLevel": "High",
        "budgetConstraint": "No", "timelineUrgency": "Medium", "fitAlignment": "High"
    });
    CallAnalyticsEnvelope => json!({ "success": true, "data": {
        "call_id": CALL,
        "overall": { "total_score": 87, "lead_status_tag": "Hot", "score_status": "scored" },
        "scores": {
            "intent": { "level": "High", "score": 100, "reasoning": "Asked for a quote for 20 panels" },
            "urgency": { "level": "Medium", "score": 67, "reasoning": "Wants it before summer" },
            "budget": { "constraint": "No", "score": 100, "reasoning": "Budget approved" },
            "fit": { "alignment": "High", "score": 100, "reasoning": "Owns a south-facing roof" },
            "engagement": { "health": "High", "score": 100, "reasoning": "Asked many questions" }
        },
        "interactions": {
            "cta_behavior_reasoning": "Asked about pricing and booked a demo",
            "cta_summary": ["Asked about pricing", "Asked for a demo"],
            "engagement_indicators": ["Talked for 4 min 28 sec", "Engagement: High"]
        },
        "recommendations": ["Schedule the demo"],
        "demo_scheduled": "2026-11-24T17:00:00.000Z",
        "data_collection": { "key": "default", "scale": "percent" }
    }});
    ChatDetail => with(call(), json!({
        "direction": "inbound", "phone_number": null, "recording_url": null,
        "visitor": { "name": "Jordan Lee", "email": "jordan@example.com" },
        "lead_analytics": of::<LeadAnalytics>(),
        "messages": [
            { "speaker": "user", "text": "Do you install in Oakland?", "timestamp": 0 },
            { "speaker": "agent", "text": "Yes — would you like a free roof survey?", "timestamp": 3 }
        ]
    }));

    Contact => json!({
        "id": CONTACT, "user_id": USER, "name": "Jordan Lee", "phone_number": "+1 415-555-0123",
        "phone_e164": "+14155550123", "phone_raw": "(415) 555-0123", "email": "jordan@example.com", "company": "Lee Bakery",
        "tags": ["homeowner", "spring-campaign"], "notes": "Prefers calls after 5pm.",
        "custom_fields": { "roof_type": "tile" }, "do_not_call": false,
        "last_call_summary": "Asked about pricing for 20 panels; wants a demo next Tuesday.",
        "last_interaction_at": LATER, "lead_status_tag": "Hot", "total_score": 76,
        "is_auto_created": false, "call_link_type": "manually_linked",
        "linked_call_id": "0193a5e2-8b1c-7d4e-9f00-1a2b3c4d5e6f",
        "call_created_at": "2026-11-03T09:12:00Z",
        "created_at": "2026-11-01T10:00:00Z", "updated_at": LATER
    });
    InitiateCall => json!({
        "contactId": CONTACT, "agentId": "5b0f6a3e-2d4c-4e8a-9b1f-7c6d5e4f3a21",
        "phoneNumber": "+14155550123"
    });
    InitiatedEnvelope => json!({ "success": true, "call": {
        "id": "0193a5e2-8b1c-7d4e-9f00-1a2b3c4d5e6f", "execution_id": "conv_01jd8x4k2m",
        "status": "initiated", "recipient": "+14155550123"
    }});
    ContactMatch => json!({
        "found": true, "name": "Jordan Lee", "company": "Lee Bakery", "hasEmail": true, "hasNotes": true
    });
    ContactMatchEnvelope => json!({ "success": true, "data": of::<ContactMatch>() });
    BatchLookupRequest => json!({ "phones": ["+14155550123", "(415) 555-0199", "call me"] });
    BatchLookupEnvelope => json!({ "success": true, "data": {
        "results": [
            { "phone": "+14155550123", "found": true, "name": "Jordan Lee", "company": "Lee Bakery",
              "hasEmail": true, "hasNotes": true },
            { "phone": "(415) 555-0199", "found": false, "message": "No contact found for this phone number" },
            { "phone": "call me", "found": false, "message": "No contact found for this phone number",
              "error": "Invalid phone number format" }
        ],
        "summary": { "total": 3, "found": 1, "notFound": 2 }
    }});
    Customer => json!({
        "id": "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b", "customer_reference_number": "CUST-2026-0001",
        "contact_id": CONTACT, "name": "Priya Shah", "email": "priya@brightlane.co.uk",
        "phone": "+447911123456", "company": "Brightlane", "status": "Active",
        "conversion_date": "2026-12-02T10:00:00.000Z", "notes": "Annual plan, 40 seats",
        "assigned_sales_rep": "Ana Ruiz", "original_lead_source": "Lead Intelligence",
        "created_at": "2026-12-02T10:00:00.000Z", "updated_at": "2026-12-02T10:00:00.000Z",
        "latest_interaction_date": "2026-12-04T09:30:00.000Z",
        "last_interaction_date": "2026-12-04T09:30:00.000Z", "interactions_since_conversion": 1
    });
    CustomerEnvelope => json!({ "success": true, "data": of::<Customer>() });
    CustomerListEnvelope => json!({ "success": true, "data": {
        "customers": [of::<Customer>()],
        "pagination": { "total": 1, "limit": 100, "offset": 0, "hasMore": false }
    }});
    CustomerInteraction => with(of::<TimelineEntry>(), json!({
        "interaction_date": "2026-11-20T14:07:40.000Z", "interaction_type": "call",
        "call_status": "completed", "agent_name": "Solar qualifier", "duration_minutes": 4.47,
        "lead_status_tag": "Hot", "total_score": 13, "cta_pricing_clicked": true,
        "cta_demo_clicked": true, "cta_followup_clicked": false, "cta_sample_clicked": false,
        "cta_escalated_to_human": false
    }));
    CustomerDetailEnvelope => json!({ "success": true, "data": {
        "customer": of::<Customer>(), "timeline": [of::<CustomerInteraction>()]
    } });
    ConvertRequest => json!({
        "contactId": "phone_+447911123456", "name": "Priya Shah", "email": "priya@brightlane.co.uk",
        "phone": "+447911123456", "company": "Brightlane", "originalLeadSource": "Lead Intelligence",
        "assignedSalesRep": "Ana Ruiz", "notes": "Annual plan, 40 seats"
    });
    CustomerUpdate => json!({ "status": "On Hold" });
    LeadTask => json!({
        "id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "kind": "follow_up",
        "dueAt": "2026-12-09T12:00:00.000Z", "remark": "Send the pricing sheet first",
        "status": "pending", "leadName": "Priya Shah", "leadPhone": "+447911123456",
        "leadEmail": "priya@brightlane.co.uk", "contactId": CONTACT,
        "createdAt": "2026-12-02T10:00:00.000Z"
    });
    LeadTaskEnvelope => json!({ "success": true, "data": of::<LeadTask>() });
    FollowUpListEnvelope => json!({
        "success": true, "data": [of::<LeadTask>()],
        "pagination": { "total": 1, "limit": 100, "offset": 0, "hasMore": false }
    });
    FollowUpUpdate => json!({ "followUpDate": "2026-12-11", "remark": "Call after the board meeting" });
    FollowUpRequest => json!({
        "leadPhone": "+447911123456", "leadEmail": "priya@brightlane.co.uk", "leadName": "Priya Shah",
        "followUpDate": "2026-12-09", "remark": "Send the pricing sheet first"
    });
    FollowUpStatusRequest => json!({ "leadPhone": "+447911123456", "status": "completed" });
    FollowUpsChanged => json!({ "success": true, "message": "1 follow-ups updated", "updated": 1 });
    DemoRequest => json!({
        "contactId": "phone_+447911123456", "demoDate": "2026-12-09T15:00:00Z",
        "leadPhone": "+447911123456"
    });
    ContactForm => json!({
        "name": "Jordan Lee", "phoneNumber": "+1 415 555 0123", "email": "jordan@example.com",
        "company": "Lee Bakery", "notes": "Prefers calls after 5pm."
    });
    ContactEnvelope => json!({ "success": true, "data": of::<Contact>() });
    ContactListEnvelope => json!({ "success": true, "data": {
        "contacts": [of::<Contact>()],
        "pagination": { "total": 1, "limit": 50, "offset": 0, "hasMore": false }
    }});
    ContactCounts => json!({
        "totalContacts": 1240, "recentContacts": 36, "contactsWithCalls": 810,
        "autoCreatedContacts": 95, "manuallyCreatedContacts": 1145
    });
    ContactStatsEnvelope => json!({ "success": true, "data": { "stats": of::<ContactCounts>() } });
    UpdateContact => json!({ "tags": ["homeowner", "spring-campaign"], "do_not_call": false });
    UploadEnvelope => json!({
        "success": true, "message": "Imported 1184 of 1200 contacts (12 duplicates, 4 failed)",
        "data": {
            "success": true, "message": "Imported 1184 of 1200 contacts (12 duplicates, 4 failed)",
            "summary": { "totalProcessed": 1200, "successful": 1184, "failed": 4, "duplicates": 12 },
            "errors": [
                { "row": 17, "error": "invalid phone number", "data": { "name": "Sam Ortiz", "phone_number": "555-01" } },
                { "row": 42, "error": "a contact with this number already exists",
                  "data": { "name": "Jordan Lee", "phone_number": "(415) 555-0123" } }
            ],
            "importId": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c56", "status": "completed"
        }
    });
    BulkDelete => json!({ "ids": [CONTACT, "d3b5f7a9-2c4e-4a6b-9d8f-0e1c2b3d4f54"] });
    Deleted => json!({ "deleted": 2 });
    ContactImport => json!({
        "id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c56", "filename": "spring-leads.xlsx",
        "format": "xlsx", "status": "completed", "total_rows": 1200, "processed_rows": 1200,
        "imported": 1184, "duplicates": 12, "invalid": 4,
        "report": [{ "row": 17, "value": "555-01", "name": "Sam Ortiz", "reason": "invalid phone number" }],
        "created_at": AT, "updated_at": LATER, "completed_at": LATER
    });

    Lead => json!({
        "id": CONTACT, "contact": of::<Contact>(), "lead_analytics": of::<LeadAnalytics>(),
        "total_score": 76, "lead_status_tag": "Hot", "interaction_count": 3, "call_count": 2,
        "chat_count": 1, "last_interaction_at": LATER,
        "agents": [{ "id": AGENT, "name": "Solar qualifier" }]
    });
    LeadProfile => with(of::<Lead>(), json!({
        "score_history": [
            { "call_id": "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9", "total_score": 48,
              "lead_status_tag": "Warm", "created_at": "2026-11-12T16:30:00Z" },
            { "call_id": CALL, "total_score": 76, "lead_status_tag": "Hot", "created_at": LATER }
        ],
        "timeline": [{
            "type": "call", "call": call(), "agent_name": "Solar qualifier", "duration": "4:28",
            "total_score": 76, "lead_status_tag": "Hot",
            "cta_interactions": { "pricing_clicked": true, "demo_clicked": true }
        }],
        "timeline_total": 3,
        "next_actions": [{
            "action": "Book the demo", "reason": "Accepted the demo invitation on the last call.",
            "priority": "high"
        }]
    }));

    Overview => {
        let metric = |value: f64, previous: f64| json!({
            "value": value, "previous": previous, "change": value - previous,
            "change_pct": if previous == 0.0 { Value::Null } else { json!((value - previous) / previous * 100.0) }
        });
        json!({
            "period": { "period": "7d", "first_day": "2026-11-14", "last_day": "2026-11-20",
                        "from": "2026-11-14T08:00:00Z", "to": "2026-11-21T08:00:00Z",
                        "timezone": "America/Los_Angeles" },
            "previous_period": { "period": "7d", "first_day": "2026-11-07", "last_day": "2026-11-13",
                                 "from": "2026-11-07T08:00:00Z", "to": "2026-11-14T08:00:00Z",
                                 "timezone": "America/Los_Angeles" },
            "total_calls": metric(120.0, 100.0), "connected_calls": metric(96.0, 80.0),
            "failed_calls": metric(24.0, 20.0), "success_rate": metric(55.0, 50.0),
            "total_minutes": metric(410.0, 350.0), "average_minutes": metric(4.3, 4.4),
            "credits_used": metric(452.0, 390.0), "credits_remaining": 120,
            "scored_calls": metric(90.0, 75.0),
            "leads_by_tag": { "hot": metric(18.0, 12.0), "warm": metric(40.0, 35.0), "cold": metric(32.0, 28.0) },
            "average_lead_score": metric(58.2, 54.0),
            "conversion": {
                "pricing_rate": metric(30.0, 25.0), "demo_rate": metric(15.0, 12.0),
                "followup_rate": metric(10.0, 9.0), "sample_rate": metric(4.0, 5.0),
                "escalation_rate": metric(2.0, 2.0)
            }
        })
    };
    Analytics => json!({
        "period": { "period": "7d", "first_day": "2026-11-14", "last_day": "2026-11-20",
                    "from": "2026-11-14T08:00:00Z", "to": "2026-11-21T08:00:00Z",
                    "timezone": "America/Los_Angeles" },
        "granularity": "day",
        "series": [{
            "bucket": "2026-11-20", "start": "2026-11-20T08:00:00Z", "calls": 18,
            "connected_calls": 15, "successful_calls": 9, "failed_calls": 3, "minutes": 61.5,
            "credits": 68, "average_score": 59.3
        }],
        "score_distribution": [{ "range": "60-79", "min": 60, "max": 79, "count": 21 }],
        "tag_distribution": [{ "tag": "Hot", "count": 18 }],
        "agents": [{
            "agent_id": AGENT, "name": "Solar qualifier", "calls": 120, "connected_calls": 96,
            "successful_calls": 66, "success_rate": 0.55, "minutes": 410.0, "credits": 452,
            "average_score": 58.2
        }],
        "cta_funnel": [
            { "stage": "connected", "count": 96, "rate": 1.0 },
            { "stage": "pricing", "count": 29, "rate": 0.3 },
            { "stage": "demo", "count": 14, "rate": 0.15 }
        ]
    });
    OverviewEnvelope => json!({ "success": true, "data": with(of::<Overview>(), json!({
        "kpis": [
            { "label": "Total Unique Leads", "value": 90.0, "delta": 20.0, "compare": "vs previous 30 days",
              "description": "Conversations of the last 30 days that produced a lead score" },
            { "label": "Leads Converted", "value": 18.0, "percentage": 20.0, "delta": 50.0,
              "compare": "vs previous 30 days", "description": "Leads tagged Hot; the share is of all scored leads" },
            { "label": "Call Success Rate", "value": "68.8%", "delta": 10.0, "compare": "vs previous 30 days",
              "description": "Connected phone calls ElevenLabs evaluated as successful" }
        ],
        "credits": { "current": 120, "usedThisMonth": 452, "remaining": 120 },
        "agents": { "total": 3, "active": 2, "draft": 1 }
    })) });
    AnalyticsEnvelope => json!({ "success": true, "data": with(of::<Analytics>(), json!({
        "leadsOverTimeData": [{ "date": "2026-11-20", "chatLeads": 4, "callLeads": 11, "total": 15 }],
        "interactionsOverTimeData": [{ "date": "2026-11-20", "chat": 5, "call": 18, "total": 23 }],
        "leadQualityData": [
            { "name": "Hot", "chatCount": 1, "callCount": 3, "color": "#1A6262" },
            { "name": "Warm", "chatCount": 2, "callCount": 5, "color": "#91C499" },
            { "name": "Cold", "chatCount": 1, "callCount": 3, "color": "#E1A940" }
        ],
        "engagementFunnelData": [
            { "name": "Leads Captured", "value": 23, "fill": "#1A6262" },
            { "name": "Interacted", "value": 20, "fill": "#91C499" },
            { "name": "Qualified", "value": 11, "fill": "#E1A940" },
            { "name": "Demo Booked", "value": 3, "fill": "#FF6700" },
            { "name": "Converted", "value": 4, "fill": "#6366f1" }
        ],
        "sourceBreakdownData": [
            { "name": "Inbound", "source": "inbound", "value": 9, "color": "#1A6262" },
            { "name": "Outbound", "source": "outbound", "value": 14, "color": "#91C499" }
        ],
        "lastRefresh": LATER
    })) });
    RecentActivity => json!({
        "calls": [of::<CallListRow>()],
        "leads": [{ "contact_id": CONTACT, "contact_name": "Jordan Lee", "lead_analytics": of::<LeadAnalytics>() }],
        "imports": [of::<ContactImport>()],
        "purchases": [of::<Purchase>()]
    });

    PurchaseRequest => json!({ "credits": 500 });
    Purchase => json!({
        "id": PURCHASE, "credits": 500, "amount_cents": 5000, "currency": "usd", "status": "paid",
        "receipt_url": "https://pay.stripe.com/receipts/payment/CAcaFwoVYWNjdF8x", "refunded_credits": 0,
        "created_at": AT, "paid_at": "2026-11-20T14:04:02Z"
    });
    Pricing => json!({
        "pricePerCredit": 0.1, "creditPriceCents": 10, "currency": "usd",
        "minimumPurchase": 10, "maximumPurchase": 100000,
        "examples": [{ "credits": 10, "price": 1.0 }, { "credits": 100, "price": 10.0 }],
        "available": true
    });
    PricingEnvelope => json!({ "success": true, "data": of::<Pricing>() });
    IntentRequest => json!({ "amount": 500 });
    OpenedIntentEnvelope => json!({ "success": true, "data": {
        "clientSecret": "pi_3QxYz2AbCdEfGh_secret_4kLmNoPqRsTuV", "paymentIntentId": "pi_3QxYz2AbCdEfGh",
        "purchaseId": "c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f",
        "pricing": { "credits": 500, "pricePerCredit": 0.1, "totalPrice": 50.0, "currency": "usd" }
    }});
    ConfirmRequest => json!({ "paymentIntentId": "pi_3QxYz2AbCdEfGh" });
    ConfirmedEnvelope => json!({ "success": true, "data": {
        "userId": USER, "purchaseId": "c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f", "creditsAdded": 500,
        "newlyGranted": true, "transactionId": "b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d01",
        "message": "500 credits added"
    }});
    PaymentHistoryEnvelope => json!({ "success": true, "data": {
        "payments": [{ "id": "c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f", "amount": 5000, "currency": "usd",
            "status": "paid", "created": AT, "description": "Purchase of 500 credits", "credits": 500 }],
        "total": 1
    }});
    CreditTransaction => json!({
        "id": "b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d01", "user_id": USER, "type": "usage",
        "amount": -5, "balance_after": 120, "description": "Call of 4:28 (5 minutes)",
        "reference": format!("call:{CONVERSATION}"), "agent_id": AGENT, "call_id": CALL,
        "created_at": LATER
    });
    UsageSummary => json!({
        "from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z", "total_credits": 452,
        "per_day": [{ "date": "2026-11-20", "credits": 68 }],
        "per_agent": [{ "agent_id": AGENT, "credits": 452 }]
    });

    IntegrationKey => json!({
        "id": "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8", "prefix": "sbk_4e5f6a7b",
        "last_used_at": LATER, "created_at": "2026-11-02T12:00:00Z"
    });
    NewIntegrationKey => json!({
        "key": of::<IntegrationKey>(), "secret": "sbk_4e5f6a7b.Xq2vN8rT5wK1mZ7pL3cF9hJ6dS4gB0aY"
    });
    Notification => json!({
        "id": "6f7a8b9c-0d1e-4f2a-b3c4-d5e6f7a8b9c0", "kind": "lead_note",
        "smartNotification": "Wants a demo for 40 seats; call back Thursday after 3pm.",
        "title": "Priya Shah", "isRead": false, "totalScore": 85, "leadType": "Hot",
        "phoneNumber": "+447911123456", "email": "priya@brightlane.co.uk",
        "demoBookDateTime": "2026-12-03T04:30:00.000Z",
        "leadId": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f", "callId": CALL,
        "data": { "call_id": CALL, "lead_id": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
                  "total_score": 85, "lead_status_tag": "Hot", "phone": "+447911123456",
                  "email": "priya@brightlane.co.uk", "demo_at": "2026-12-03T04:30:00Z" },
        "createdAt": "2026-12-01T10:15:00.000Z"
    });
    NotificationEnvelope => json!({ "success": true, "data": {
        "notifications": [of::<Notification>()], "unreadCount": 1, "total": 1
    }});
    MarkedRead => json!({ "success": true, "message": "Notification marked as read", "data": with(
        of::<Notification>(), json!({ "isRead": true, "readAt": "2026-12-01T10:20:00.000Z" })) });
    MarkedAllRead => json!({ "success": true, "message": "3 notifications marked as read", "updated": 3 });
    LiveMessage => json!({
        "type": "call_completed",
        "data": { "call_id": CALL, "status": "completed", "duration_secs": 268, "credits_charged": 5 }
    });
    Received => json!({ "received": true, "new": true });

    AdminUserRow => json!({
        "id": USER, "name": "Ana Ruiz", "email": "ana@acme.example", "role": "user",
        "is_active": true, "isActive": true, "credits": 1240, "agentCount": 2, "callCount": 412,
        "creditsUsed": 1702, "created_at": "2026-01-05T08:00:00.000Z",
        "registrationDate": "2026-01-05T08:00:00.000Z", "last_login": "2026-11-20T14:03:12.000Z",
        "lastLogin": "2026-11-20T14:03:12.000Z", "phone": "+14155550123",
        "subscriptionTier": "pro"
    });
    AdminUserPage => json!({
        "users": [of::<AdminUserRow>()], "total": 1, "page": 1, "limit": 20, "totalPages": 1
    });
    AdminUserPageEnvelope => json!({
        "success": true, "data": of::<AdminUserPage>(), "users": [of::<AdminUserRow>()]
    });
    AdminUserStatistics => json!({
        "agentCount": 2, "totalAgents": 2, "totalCalls": 412, "totalCreditsUsed": 1702,
        "successRate": 61.4, "averageCallDuration": 187
    });
    AdminUserAgent => json!({
        "id": AGENT, "name": "Solar qualifier", "type": "call", "status": "active",
        "callCount": 380, "lastUsed": "2026-11-20T14:00:00.000Z"
    });
    AdminUserActivity => json!({
        "id": CALL, "type": "call", "description": "call completed with +14155550123 (4m 28s)",
        "timestamp": "2026-11-20T14:03:12.000Z"
    });
    AdminUserDetail => json!({
        "user": of::<AdminUserRow>(), "statistics": of::<AdminUserStatistics>(),
        "agents": [of::<AdminUserAgent>()], "recentActivity": [of::<AdminUserActivity>()]
    });
    AdminUserDetailEnvelope => json!({ "success": true, "data": of::<AdminUserDetail>() });
    AdminUserEdit => json!({
        "name": "Ana Ruiz", "email": "ana@acme.example", "isActive": true,
        "phone": "+1 415 555 0123", "subscriptionTier": "pro"
    });
    AdminStatusChange => json!({ "is_active": false, "reason": "Chargeback on the last two purchases." });
    AdminUserEnvelope => json!({
        "success": true, "data": of::<AdminUserRow>(), "message": "User updated"
    });
    AdminCreditRequest => json!({
        "userId": USER, "amount": 50, "type": "add",
        "reason": "Goodwill: calls dropped during the carrier outage."
    });
    CreditChange => json!({
        "amount": 50, "description": "Goodwill: calls dropped during the carrier outage.",
        "previous_balance": 1190, "new_balance": 1240
    });
    AdminCreditResult => json!({
        "newBalance": 1240, "transactionId": "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f",
        "user": of::<AdminUserRow>(), "adjustment": of::<CreditChange>()
    });
    AdminCreditEnvelope => json!({
        "success": true, "data": of::<AdminCreditResult>(), "message": "Added 50 credits"
    });
    AuditEntry => json!({
        "id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", "timestamp": "2026-11-20T14:07:40.000Z",
        "adminUserId": ADMIN, "adminUserEmail": "ops@switchboard.example",
        "action": "user.credits_adjusted",
        "description": "Adjusted credits by +50: 1190 → 1240 (Goodwill: calls dropped during the carrier outage.)",
        "resourceType": "user", "resourceId": USER, "targetUserId": USER,
        "targetUserEmail": "ana@acme.example",
        "details": { "before": { "credits": 1190 }, "after": { "credits": 1240, "amount": 50,
            "reason": "Goodwill: calls dropped during the carrier outage." } },
        "ipAddress": "203.0.113.7", "requestId": "01JBQB2C3D4E5F6G7H8J9K0M1N", "success": true
    });
    AuditPagination => json!({ "total": 1, "totalPages": 1, "page": 1, "limit": 20 });
    AuditListEnvelope => json!({
        "success": true, "data": [of::<AuditEntry>()], "pagination": of::<AuditPagination>()
    });
    AuditEntryEnvelope => json!({ "success": true, "data": of::<AuditEntry>() });
    AuditExportFilters => json!({
        "action": "user.suspended", "dateRangeStart": "2026-11-01T00:00:00.000Z"
    });
    DashboardActivity => json!({
        "id": CALL, "type": "call_completed", "message": "Call with +14155550123 ended after 4m 28s",
        "timestamp": "2026-11-20T14:07:40.000Z", "userId": USER, "agentId": AGENT
    });
    DashboardMetrics => json!({
        "totalUsers": 340, "activeUsers": 188, "totalAgents": 97, "activeAgents": 81,
        "totalCalls": 120455, "callsToday": 912, "systemHealth": "healthy",
        "recentActivity": [of::<DashboardActivity>()]
    });
    DashboardEnvelope => json!({ "success": true, "data": of::<DashboardMetrics>() });
    PlatformUsers => json!({
        "total": 340, "active": 188, "suspended": 3, "newToday": 4, "newThisWeek": 19,
        "newThisMonth": 41, "byTier": { "free": 250, "pro": 80, "enterprise": 10 }
    });
    PlatformAgents => json!({
        "total": 97, "active": 81, "byType": { "call": 90, "chat": 7 }, "healthyPercentage": 97.9
    });
    PlatformCalls => json!({
        "total": 120455, "today": 912, "totalThisMonth": 9120, "successRate": 0.614,
        "averageDuration": 187.0, "costThisMonth": 33240
    });
    PlatformCredits => json!({ "inSystem": 402110, "used": 1290551 });
    PlatformSystem => json!({
        "uptime": 100.0, "responseTime": 12.4, "errorRate": 0.0, "activeConnections": 3,
        "processUptimeSecs": 86400, "requests": 5120
    });
    PlatformAlert => json!({ "level": "warning", "message": "88.0% of agents are in step with ElevenLabs" });
    SystemStats => json!({
        "users": of::<PlatformUsers>(), "agents": of::<PlatformAgents>(),
        "calls": of::<PlatformCalls>(), "credits": of::<PlatformCredits>(),
        "system": of::<PlatformSystem>(), "alerts": [of::<PlatformAlert>()]
    });
    SystemStatsEnvelope => json!({ "success": true, "data": of::<SystemStats>() });
    KeyUsage => json!({ "totalCalls": 9120, "remainingQuota": 0, "costThisMonth": 3324.0 });
    ApiKeyConfig => json!({
        "id": "6d7e8f9a-0b1c-4d2e-8f3a-4b5c6d7e8f90", "name": "Production", "key": "sk_…9f2c",
        "isDefault": true, "assignedUsers": [USER], "usageStats": of::<KeyUsage>(), "status": "active"
    });
    ApiKeyListEnvelope => json!({ "success": true, "data": [of::<ApiKeyConfig>()] });
    ApiKeyEnvelope => json!({ "success": true, "data": of::<ApiKeyConfig>() });
    ApiKeyForm => json!({
        "name": "Production", "key": "sk_3f1e0c9a8b7d6e5f4a3b2c1d9f2c", "isDefault": true,
        "assignedUsers": [], "status": "active"
    });
    ApiKeyDeleted => json!({ "success": true, "message": "API key deleted" });
    AdminAgentEdit => json!({ "name": "Solar qualifier", "description": "Calls inbound leads back.", "is_active": true });
    AdminAgentRow => json!({
        "id": AGENT, "name": "Solar qualifier", "description": "Calls inbound leads back within the hour.",
        "status": "active", "type": "call", "user_id": USER, "userEmail": "ana@acme.example",
        "userName": "Ana Ruiz", "callCount": 380, "lastCallAt": "2026-11-20T14:00:00.000Z",
        "created_at": "2026-10-02T09:20:00.000Z", "updated_at": "2026-11-20T14:03:12.000Z",
        "healthStatus": "healthy", "elevenlabsStatus": "active",
        "elevenlabs_agent_id": ELEVENLABS_AGENT, "sync_status": "synced"
    });
    AdminAgentPage => json!({ "agents": [of::<AdminAgentRow>()], "total": 1, "page": 1, "limit": 20, "totalPages": 1 });
    AgentPagination => json!({ "total": 1 });
    AdminAgentListEnvelope => json!({
        "success": true, "data": of::<AdminAgentPage>(), "pagination": of::<AgentPagination>()
    });
    BulkRequest => json!({ "agentIds": [AGENT], "action": "deactivate" });
    BulkFailure => json!({ "agentId": AGENT, "error": "agent not found" });
    BulkResult => json!({ "successful": 3, "failed": [of::<BulkFailure>()] });
    BulkEnvelope => json!({ "success": true, "data": of::<BulkResult>() });
    TopPerformer => json!({
        "agentId": AGENT, "agentName": "Solar qualifier", "userId": USER,
        "userEmail": "ana@acme.example", "callCount": 120, "successRate": 61.7, "averageDuration": 187
    });
    HourUse => json!({ "hour": 14, "callCount": 42 });
    AgentMonitoring => json!({
        "timeframe": "24h", "totalCalls": 912, "successfulCalls": 560, "failedCalls": 88,
        "averageCallDuration": 174, "topPerformingAgents": [of::<TopPerformer>()],
        "errorRates": { "failed": 9.6, "not_connected": 14.2 }, "usageByHour": [of::<HourUse>()]
    });
    MonitoringEnvelope => json!({ "success": true, "data": of::<AgentMonitoring>() });
    AgentHealthDetail => json!({
        "agentId": AGENT, "agentName": "Solar qualifier", "userId": USER, "status": "healthy",
        "lastChecked": "2026-11-20T14:03:12.000Z"
    });
    AgentHealthReport => json!({
        "totalAgents": 1, "healthyAgents": 1, "unhealthyAgents": 0, "unreachableAgents": 0,
        "stale": false, "healthDetails": [of::<AgentHealthDetail>()]
    });
    HealthEnvelope => json!({ "success": true, "data": of::<AgentHealthReport>() });
    AnalyticsUsers => json!({
        "total": 340, "active": 188, "newThisMonth": 41, "growthRate": 13.7,
        "byTier": { "free": 250, "pro": 80, "enterprise": 10 }
    });
    AnalyticsAgents => json!({
        "total": 97, "active": 81, "healthyPercentage": 97.9, "byType": { "call": 90, "chat": 7 }
    });
    AnalyticsCalls => json!({ "totalThisMonth": 9120, "successRate": 61.4, "averageDuration": 187.0 });
    AnalyticsCredits => json!({
        "revenueInRange": 1250.0, "estimatedMonthlyRevenue": 1250.0, "soldInRange": 12500,
        "consumedInRange": 33240
    });
    AnalyticsSystem => json!({ "uptime": 100.0, "responseTime": 12.4, "errorRate": 0.0, "activeConnections": 3 });
    UsageDay => json!({ "date": "2026-11-20", "users": 41, "calls": 912, "agents": 0, "revenue": 49.0 });
    ChartSlice => json!({ "name": "free", "value": 250, "color": "#14b8a6" });
    HourlyUse => json!({ "hour": "14:00", "calls": 42, "users": 9 });
    SystemAnalytics => json!({
        "users": of::<AnalyticsUsers>(), "agents": of::<AnalyticsAgents>(),
        "calls": of::<AnalyticsCalls>(), "credits": of::<AnalyticsCredits>(),
        "system": of::<AnalyticsSystem>(), "usage": [of::<UsageDay>()],
        "userTiers": [of::<ChartSlice>()], "agentTypes": [of::<ChartSlice>()],
        "hourlyUsage": [of::<HourlyUse>()], "alerts": []
    });
    SystemAnalyticsEnvelope => json!({ "success": true, "data": of::<SystemAnalytics>() });
    CallLimit => json!({
        "user_concurrent_calls_limit": 8, "user_active_calls": 3, "user_available_slots": 5,
        "platform_limit": 5, "custom": true
    });
    CallLimitEnvelope => json!({ "success": true, "settings": of::<CallLimit>() });
    CallLimitChange => json!({ "user_limit": 8 });
    AuditExportRequest => json!({
        "type": "audit_logs", "format": "csv", "filters": of::<AuditExportFilters>()
    });
    WebhookEvent => json!({
        "id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "provider": "elevenlabs",
        "event_type": "post_call_transcription", "external_id": CONVERSATION,
        "status": "processed", "user_id": USER, "payload_bytes": 18234, "received_at": LATER,
        "processed_at": "2026-11-20T14:07:41Z"
    });
    WebhookEventDetail => with(of::<WebhookEvent>(), json!({
        "payload": { "type": "post_call_transcription", "event_timestamp": 1763647660,
                     "data": { "agent_id": ELEVENLABS_AGENT, "conversation_id": CONVERSATION } }
    }));
    SystemHealth => json!({
        "database": "ok", "queue": "ok",
        "queues": [{ "kind": "conversation_event", "queued": 0, "running": 1, "failed": 0 }],
        "webhooks": [{ "provider": "elevenlabs", "status": "processed", "count": 4120 }],
        "last_webhooks": [{ "provider": "elevenlabs", "received_at": LATER }]
    });
    Agent => json!({
        "id": AGENT, "user_id": USER, "elevenlabs_agent_id": ELEVENLABS_AGENT,
        "name": "Solar qualifier", "description": "Calls inbound leads back within the hour.",
        "type": "call", "status": "active", "is_active": true, "sync_status": "synced",
        "phone_number_id": "phnum_01jbq9a1b2c3d4e5f6g7h8j9k0",
        "created_at": "2026-10-02T09:20:00Z", "updated_at": AT
    });
    PlatformAnalytics => {
        let revenue = json!([{ "currency": "usd", "amount_cents": 125000 }]);
        json!({
            "from": "2026-11-01", "to": "2026-11-20", "users_total": 340, "users_new": 41,
            "users_active": 188, "calls": 9120, "minutes": 30110.5, "credits_sold": 12500,
            "credits_consumed": 33240, "revenue": revenue,
            "days": [{
                "date": "2026-11-20", "new_users": 3, "active_users": 97, "calls": 512,
                "minutes": 1688.0, "credits_sold": 500, "credits_consumed": 1870, "revenue": revenue
            }],
            "top_users": [{ "user_id": USER, "email": "ana@acme.example", "calls": 412,
                            "minutes": 1530.5, "credits_consumed": 1702 }],
            "top_agents": [{ "agent_id": AGENT, "name": "Solar qualifier",
                             "owner_email": "ana@acme.example", "calls": 412, "minutes": 1530.5 }]
        })
    };
    SettingsList => json!({
        "settings": [
            { "key": "credit_price_cents", "description": "Price of one credit in the currency's smallest unit.",
              "secret": false, "kind": "integer", "options": [], "value": 12, "source": "stored",
              "updated_at": AT, "updated_by": ADMIN },
            { "key": "stripe_secret_key", "description": "Stripe secret API key.", "secret": true,
              "kind": "text", "options": [], "value": "sk_…0042", "source": "environment" }
        ]
    });
    SettingsChange => json!({
        "values": { "credit_price_cents": 12, "low_balance_threshold": 10, "smtp_password": null }
    });
    ReportSort => json!({ "field": "calls", "direction": "desc" });
    ReportFilterForm => json!({ "id": "filter_1733140000000", "type": "date", "label": "From", "value": "2026-11-01" });
    ReportConfigForm => json!({
        "name": "November calls", "description": "Calls for the board", "dataSource": "calls",
        "metrics": ["total_calls", "calls_by_hour"], "filters": [of::<ReportFilterForm>()],
        "format": "csv", "includeCharts": true, "includeRawData": false
    });
    ReportTable => json!({
        "metric": "total_calls", "title": "Total calls", "columns": ["calls", "minutes"],
        "rows": [[912, 2650.5]]
    });
    ReportPreview => json!({
        "success": true, "data": { "total_calls": [{ "calls": 912, "minutes": 2650.5 }] },
        "totalRows": 1, "tables": [of::<ReportTable>()], "from": "2026-11-01", "to": "2026-11-30"
    });
    GeneratedReport => json!({
        "success": true, "reportId": CALL,
        "downloadUrl": format!("https://api.switchboard.example/api/report-downloads/{CALL}?token=q8Jx3yKp0sT1vW2zA4bC6dE8fG0hI2jK4lM6nO8pQ0r"),
        "expiresAt": LATER, "format": "csv"
    });
    ReportTemplate => json!({
        "id": CALL, "name": "November calls", "dataSource": "calls",
        "metrics": ["total_calls", "calls_by_hour"], "format": "csv", "createdAt": AT
    });
    ReportTemplateEnvelope => json!({ "success": true, "data": of::<ReportTemplate>() });
    PhoneNumberRow => json!({
        "id": CONTACT, "name": "Sales line", "phone_number": "+14155550100",
        "assigned_to_agent_id": AGENT, "created_by_admin_id": ADMIN, "is_active": true,
        "created_at": AT, "updated_at": LATER, "elevenlabs_phone_number_id": "phnum_01jbq9",
        "provider": "twilio", "agent_name": "Solar qualifier", "agent_type": "call",
        "agent_is_active": true, "user_name": "Ana Ruiz", "user_email": "ana@acme.example",
        "created_by_admin_name": "Root", "created_by_admin_email": "root@switchboard.example"
    });
    PhoneNumberPagination => json!({ "page": 1, "limit": 20, "total": 1, "totalPages": 1 });
    PhoneNumberListEnvelope => json!({
        "success": true, "data": [of::<PhoneNumberRow>()], "pagination": of::<PhoneNumberPagination>()
    });
    PhoneNumberEnvelope => json!({ "success": true, "data": of::<PhoneNumberRow>(), "message": "Phone number assigned" });
    PhoneNumberForm => json!({ "name": "Sales line", "phone_number": "+14155550100", "assigned_to_agent_id": null });
    PhoneNumberChange => json!({ "name": "Sales line (US)" });
    PhoneNumberAssignment => json!({ "agent_id": AGENT });
    FeatureFlagConfig => json!({
        "id": "agent_analytics", "name": "Agent analytics",
        "description": "The Calling Agent > Analytics tab: call analytics by agent, source and hour.",
        "isEnabled": true, "scope": "tier", "targetUsers": [], "targetTiers": ["pro", "enterprise"],
        "rolloutPercentage": 100
    });
    FeatureFlagListEnvelope => json!({ "success": true, "data": [of::<FeatureFlagConfig>()] });
    FeatureFlagEnvelope => json!({ "success": true, "data": of::<FeatureFlagConfig>() });
    FeatureFlagForm => json!({ "isEnabled": false });
    ScheduleTiming => json!({ "frequency": "weekly", "time": "09:00", "dayOfWeek": 1, "timezone": "Europe/Madrid" });
    ScheduleTimingForm => json!({ "frequency": "weekly", "time": "09:00", "dayOfWeek": 1, "timezone": "Europe/Madrid" });
    ScheduledReport => json!({
        "id": CALL, "name": "Weekly calls", "description": "For the Monday meeting",
        "reportConfig": { "name": "Weekly calls", "source": "calls", "metrics": ["total_calls"] },
        "schedule": of::<ScheduleTiming>(), "recipients": ["board@acme.example"], "isActive": true,
        "lastRun": AT, "nextRun": LATER, "status": "active", "createdAt": AT, "createdBy": ADMIN
    });
    ScheduledReportForm => json!({
        "name": "Weekly calls", "description": "For the Monday meeting",
        "reportConfig": of::<ReportConfigForm>(), "schedule": of::<ScheduleTimingForm>(),
        "recipients": ["board@acme.example"], "isActive": true
    });
    ScheduleRun => json!({
        "reportId": CALL, "recipients": ["board@acme.example"],
        "downloadUrl": format!("https://api.switchboard.example/api/report-downloads/{CALL}?token=q8Jx3yKp0sT1vW2zA4bC6dE8fG0hI2jK4lM6nO8pQ0r")
    });
    ScheduleRunEnvelope => json!({ "success": true, "data": of::<ScheduleRun>() });
    ScheduleDeleted => json!({ "success": true, "message": "Scheduled report deleted" });
    SharedReport => json!({
        "id": CALL, "reportId": CALL, "reportName": "Weekly calls", "shareType": "link",
        "accessLevel": "view", "isPublic": false, "requiresAuth": true, "hasPassword": false,
        "expiresAt": LATER, "allowedUsers": ["board@acme.example"], "allowedDomains": ["acme.example"],
        "shareUrl": format!("https://api.switchboard.example/api/report-shares/{CALL}?token=5f2c9a0d7e41b8c3a6f09d2e7b1c4a8f5e3d2c1b0a9f8e7d6c5b4a3928170615"),
        "accessCount": 3, "lastAccessed": AT, "createdAt": AT, "createdBy": ADMIN
    });
    ShareForm => json!({
        "reportId": CALL, "reportName": "Weekly calls", "shareType": "email", "accessLevel": "download",
        "isPublic": false, "requiresAuth": true, "expiresAt": LATER,
        "allowedUsers": ["board@acme.example"], "allowedDomains": [],
        "emailSubject": "This week's calls", "emailMessage": "Numbers for Monday."
    });
    ShareEmailForm => json!({ "subject": "This week's calls", "message": "Numbers for Monday." });
    ShareEmailed => json!({ "success": true, "sent": 1 });
    ShareRevoked => json!({ "success": true, "message": "Report share revoked" });
    ShareOpenForm => json!({ "token": "5f2c9a0d7e41b8c3a6f09d2e7b1c4a8f5e3d2c1b0a9f8e7d6c5b4a3928170615", "password": "north-star-42" });
    Campaign => json!({
        "id": CAMPAIGN, "name": "Q4 outreach", "agent_id": AGENT, "status": "active",
        "pause_reason": null, "priority": 5, "max_concurrent_calls": 3, "total_contacts": 120,
        "completed_calls": 48, "successful_calls": 31, "failed_calls": 17, "pending_calls": 69,
        "waiting_for_window": 40, "in_progress": 3, "do_not_call": 2,
        "first_call_time": "09:00", "last_call_time": "17:00", "start_date": "2026-11-20",
        "end_date": "2026-11-30", "timezone": "America/New_York", "next_action": "call",
        "max_attempts": 3, "retry_delay_secs": 3600, "created_at": AT, "started_at": LATER,
        "completed_at": null
    });
    CampaignListEnvelope => json!({
        "success": true, "campaigns": [of::<Campaign>()], "total": 1,
        "pagination": of::<crate::pagination::Pagination>()
    });
    NewCampaignRequest => json!({
        "name": "Q4 outreach", "agent_id": AGENT, "max_concurrent_calls": 3,
        "contact_ids": [CONTACT], "first_call_time": "09:00", "last_call_time": "17:00",
        "start_date": "2026-11-20", "end_date": "2026-11-30", "next_action": "call"
    });
    CampaignCreated => json!({
        "success": true, "message": "Campaign created", "campaign": of::<Campaign>(),
        "queued": 118, "do_not_call": 2, "duplicates": 0
    });
    CampaignSkippedRow => json!({ "row": 7, "phone": "+1 415 555 0123", "reason": "a contact with this number already exists" });
    UploadedCampaign => json!({
        "success": true, "campaignId": CAMPAIGN, "totalRows": 120, "contactsCreated": 100,
        "contactsSkipped": 18, "invalidRows": 2, "campaignContacts": 118,
        "skippedContacts": [of::<CampaignSkippedRow>()]
    });
    CampaignEnvelope => json!({ "success": true, "message": "Campaign paused", "campaign": of::<Campaign>() });
    CampaignDeleted => json!({ "success": true, "message": "Campaign deleted" });
    DoNotCallNumber => json!({
        "phone_number": "+14155552671", "reason": "asked not to be called",
        "created_at": "2026-12-01T10:15:00.000Z"
    });
    DoNotCallList => json!({
        "success": true,
        "numbers": [{ "phone_number": "+14155552671", "reason": "asked not to be called",
            "created_at": "2026-12-01T10:15:00.000Z" }],
        "total": 1,
        "pagination": { "total": 1, "limit": 100, "offset": 0, "hasMore": false }
    });
    BlockNumber => json!({ "phone_number": "+1 415 555 2671", "reason": "asked not to be called" });
    OptOut => json!({ "reason": "asked not to be called again" });
    DoNotCallEnvelope => json!({
        "success": true,
        "number": { "phone_number": "+14155552671", "reason": "asked not to be called again",
            "created_at": "2026-12-01T10:15:00.000Z" },
        "contact_id": CONTACT
    });
    DoNotCallRemoved => json!({ "success": true, "message": "Number removed from the do-not-call list" });
    CampaignTagCount => json!({ "tag": "Hot", "count": 9 });
    CampaignAnalytics => json!({
        "success": true, "campaign_id": CAMPAIGN, "status": "active",
        "average_duration": "2 min 5 sec", "average_duration_secs": 125, "pending_calls": 69,
        "waiting_for_window": 40, "in_progress": 3, "contacts_called": 48, "remaining": 72,
        "connected": 31, "busy": 6, "no_answer": 8, "failed": 3, "do_not_call": 2,
        "not_called": 0, "attempts": 71, "successful_calls": 24, "success_rate": 64.58,
        "total_minutes": 64.6, "credits_used": 80, "lead_tags": [of::<CampaignTagCount>()]
    });
    CreditCheckRequest => json!({ "contactCount": 120, "estimateOnly": false });
    CreditEstimate => json!({
        "contactCount": 120, "minimumCreditsNeeded": 120, "averageCreditsPerCall": 2.4,
        "estimatedTotalCredits": 288, "userCurrentCredits": 250, "canAfford": false,
        "shortfall": 38, "hasHistoricalData": true,
        "warning": "Your 250 credits cover about 104 of 120 calls; the campaign pauses when they run out.",
        "recommendation": "Buy 40 credits to cover the estimate."
    });
    CreditFormatted => json!({
        "estimatedRange": "120-288 credits", "averagePerCall": "2.4 credits",
        "confidenceLevel": "Medium", "recommendation": "Buy 40 credits to cover the estimate."
    });
    CreditAffordability => json!({ "canAfford": false, "shortfall": 38, "remainingAfter": 0, "canProceed": true });
    CampaignCreditWarnings => json!({
        "type": "warning", "showWarning": true,
        "message": "Your 250 credits cover about 104 of 120 calls; the campaign pauses when they run out."
    });
    CreditRecommendations => json!({ "suggestedTopUp": 40 });
    CreditCheck => json!({
        "success": true, "currentCredits": 250, "estimate": of::<CreditEstimate>(),
        "formatted": of::<CreditFormatted>(), "affordability": of::<CreditAffordability>(),
        "warnings": of::<CampaignCreditWarnings>(), "recommendations": of::<CreditRecommendations>(),
        "timestamp": AT
    });
}
