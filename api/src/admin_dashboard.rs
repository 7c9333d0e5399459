//! The admin dashboard (`/api/admin/dashboard`, `/api/admin/stats/system`): the platform's
//! figures from the counters, the newest activity, and this process's recent traffic.

use poem::Request;
use poem_openapi::{Enum, Object, OpenApi, payload::Json};
use shared::admin::platform::{self, FeedItem, FeedKind, Kpis};
use uuid::Uuid;

use crate::{
    admin::{AdminAuth, AdminErrors},
    tags::Tag,
    wire::Timestamp,
};

/// How many entries the activity feed holds.
const FEED: u64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ActivityType {
    UserRegistered,
    AgentCreated,
    CallCompleted,
    SystemAlert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum HealthLevel {
    Healthy,
    Warning,
    Critical,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct DashboardActivity {
    pub id: Uuid,
    #[oai(rename = "type")]
    pub kind: ActivityType,
    pub message: String,
    pub timestamp: Timestamp,
    pub user_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
}

impl From<FeedItem> for DashboardActivity {
    fn from(f: FeedItem) -> Self {
        Self {
            id: f.id,
            kind: match f.kind {
                FeedKind::UserRegistered => ActivityType::UserRegistered,
                FeedKind::AgentCreated => ActivityType::AgentCreated,
                FeedKind::CallCompleted => ActivityType::CallCompleted,
            },
            message: f.message,
            timestamp: f.at.into(),
            user_id: f.user_id,
            agent_id: f.agent_id,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct DashboardMetrics {
    pub total_users: u64,
    pub active_users: u64,
    pub total_agents: u64,
    pub active_agents: u64,
    pub total_calls: i64,
    /// Since midnight UTC.
    pub calls_today: i64,
    pub system_health: HealthLevel,
    /// Newest first, at most ten.
    pub recent_activity: Vec<DashboardActivity>,
}

/// `GET /api/admin/dashboard`.
#[derive(Debug, Object)]
#[oai(example)]
pub struct DashboardEnvelope {
    pub success: bool,
    pub data: DashboardMetrics,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct PlatformUsers {
    pub total: u64,
    /// Signed in within 30 days and not suspended.
    pub active: u64,
    pub suspended: u64,
    pub new_today: u64,
    pub new_this_week: u64,
    pub new_this_month: u64,
    /// Accounts per subscription tier.
    pub by_tier: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct PlatformAgents {
    pub total: u64,
    pub active: u64,
    /// `call` and `chat` agents.
    pub by_type: std::collections::BTreeMap<String, u64>,
    /// Agents whose ElevenLabs copy has the latest configuration, percent.
    pub healthy_percentage: f64,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct PlatformCalls {
    pub total: i64,
    pub today: i64,
    pub total_this_month: i64,
    /// Successful calls this month as a FRACTION (0–1): the dashboard multiplies it by 100.
    pub success_rate: f64,
    /// Seconds, this month.
    pub average_duration: f64,
    /// Credits spent on calls this month.
    pub cost_this_month: i64,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct PlatformCredits {
    /// Held by all accounts now.
    pub in_system: i64,
    /// Spent on calls and chats, all time.
    pub used: i64,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct PlatformSystem {
    /// Requests of the last five minutes answered without a server error, percent.
    pub uptime: f64,
    /// Mean latency of the last five minutes, ms.
    pub response_time: f64,
    /// Server errors of the last five minutes, fraction.
    pub error_rate: f64,
    /// Requests being answered by this process now.
    pub active_connections: i64,
    /// Seconds since this process took its first request.
    pub process_uptime_secs: u64,
    /// Requests of the last five minutes.
    pub requests: u64,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct PlatformAlert {
    /// `warning` or `critical`.
    pub level: HealthLevel,
    pub message: String,
}

#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct SystemStats {
    pub users: PlatformUsers,
    pub agents: PlatformAgents,
    pub calls: PlatformCalls,
    pub credits: PlatformCredits,
    pub system: PlatformSystem,
    pub alerts: Vec<PlatformAlert>,
}

/// `GET /api/admin/stats/system`.
#[derive(Debug, Object)]
#[oai(example)]
pub struct SystemStatsEnvelope {
    pub success: bool,
    pub data: SystemStats,
}

fn system_of(k: &Kpis) -> PlatformSystem {
    let t = &k.traffic;
    PlatformSystem {
        uptime: ((1.0 - t.error_rate()) * 1000.0).round() / 10.0,
        response_time: t.mean_ms,
        error_rate: t.error_rate(),
        active_connections: t.in_flight,
        process_uptime_secs: t.up_for.as_secs(),
        requests: t.requests,
    }
}

/// The dashboard's own thresholds (uptime, latency, error rate).
fn health_of(s: &PlatformSystem) -> HealthLevel {
    if s.uptime > 99.5 && s.response_time < 200.0 && s.error_rate < 0.01 {
        HealthLevel::Healthy
    } else if s.uptime > 98.0 && s.response_time < 500.0 && s.error_rate < 0.05 {
        HealthLevel::Warning
    } else {
        HealthLevel::Critical
    }
}

fn alerts_of(k: &Kpis, s: &PlatformSystem) -> Vec<PlatformAlert> {
    let mut alerts = Vec::new();
    if s.error_rate >= 0.05 {
        alerts.push(PlatformAlert {
            level: HealthLevel::Critical,
            message: format!(
                "{:.1}% of the last five minutes' requests failed",
                s.error_rate * 100.0
            ),
        });
    }
    if k.agents.healthy_percentage < 90.0 {
        alerts.push(PlatformAlert {
            level: HealthLevel::Warning,
            message: format!(
                "{:.1}% of agents are in step with ElevenLabs",
                k.agents.healthy_percentage
            ),
        });
    }
    alerts
}

pub struct AdminDashboardApi {
    pub services: shared::Services,
}

#[OpenApi(prefix_path = "/api/admin", tag = "Tag::Admin")]
impl AdminDashboardApi {
    /// The admin dashboard
    ///
    /// Accounts, agents, calls (all time and since midnight UTC, from the counters), the
    /// health level the dashboard's thresholds give this process's last five minutes, and the
    /// newest sign-ups, agents and finished calls.
    #[oai(path = "/dashboard", method = "get")]
    async fn dashboard(
        &self,
        auth: AdminAuth,
        req: &Request,
    ) -> Result<Json<DashboardEnvelope>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let k = platform::kpis(&self.services.db).await?;
        let feed = platform::recent(&self.services.db, FEED).await?;
        Ok(Json(DashboardEnvelope {
            success: true,
            data: DashboardMetrics {
                total_users: k.users.total,
                active_users: k.users.active,
                total_agents: k.agents.total,
                active_agents: k.agents.active,
                total_calls: k.calls.calls,
                calls_today: k.calls.calls_today,
                system_health: health_of(&system_of(&k)),
                recent_activity: feed.into_iter().map(Into::into).collect(),
            },
        }))
    }

    /// System statistics
    ///
    /// Users (total, active in 30 days, new today/this week/this month, by tier), agents (by
    /// type, share in step with ElevenLabs), calls this month (success rate as a fraction),
    /// credits held and spent, and this process's last five minutes of traffic.
    #[oai(path = "/stats/system", method = "get")]
    async fn system_stats(
        &self,
        auth: AdminAuth,
        req: &Request,
    ) -> Result<Json<SystemStatsEnvelope>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let k = platform::kpis(&self.services.db).await?;
        let system = system_of(&k);
        Ok(Json(SystemStatsEnvelope {
            success: true,
            data: SystemStats {
                alerts: alerts_of(&k, &system),
                users: PlatformUsers {
                    total: k.users.total,
                    active: k.users.active,
                    suspended: k.users.suspended,
                    new_today: k.users.new_today,
                    new_this_week: k.users.new_this_week,
                    new_this_month: k.users.new_this_month,
                    by_tier: k.users.by_tier.iter().cloned().collect(),
                },
                agents: PlatformAgents {
                    total: k.agents.total,
                    active: k.agents.active,
                    by_type: [
                        ("call".to_string(), k.agents.calls),
                        ("chat".to_string(), k.agents.chats),
                    ]
                    .into_iter()
                    .collect(),
                    healthy_percentage: k.agents.healthy_percentage,
                },
                calls: PlatformCalls {
                    total: k.calls.calls,
                    today: k.calls.calls_today,
                    total_this_month: k.calls.calls_this_month,
                    success_rate: (k.calls.success_rate() * 1000.0).round() / 1000.0,
                    average_duration: k.calls.average_duration().round(),
                    cost_this_month: k.calls.credits_this_month,
                },
                credits: PlatformCredits {
                    in_system: k.credits_in_system,
                    used: k.calls.credits_used,
                },
                system,
            },
        }))
    }
}
