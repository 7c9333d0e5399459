//! The Overview screen: KPIs against the previous period (OverviewKPIs), charts
//! (OverviewCharts) and the latest activity.

use chrono::{DateTime, NaiveDate, Utc};
use poem_openapi::{
    Enum, Object, OpenApi,
    param::{Header, Query},
    payload::Json,
};
use shared::admin::features;
use shared::{
    Services,
    calls::history,
    contacts::import,
    dashboard::{
        self as service, Counters, Granularity, Period, PeriodName, Scope,
        period::parse_tz,
        rollups::{CTAS, SCORE_COLUMNS, SCORE_RANGES},
        screen::{self, COLORS, QUALITY},
    },
    entities::call_rollups::Column as C,
};
use uuid::Uuid;

use crate::{
    api_errors,
    billing::Purchase,
    calls::{CallListRow, LeadAnalytics},
    contact_imports::ContactImport,
    security::Auth,
    tags::Tag,
    wire::Timestamp,
};

#[derive(Debug, Clone, Copy, Enum)]
pub enum PeriodParam {
    #[oai(rename = "today")]
    Today,
    #[oai(rename = "7d")]
    Days7,
    #[oai(rename = "30d")]
    Days30,
    #[oai(rename = "90d")]
    Days90,
    #[oai(rename = "custom")]
    Custom,
}

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum GranularityParam {
    Hour,
    Day,
}

/// A KPI and its change against the previous period of the same length.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Metric {
    pub value: f64,
    pub previous: f64,
    /// `value - previous`.
    pub change: f64,
    /// Relative change in percent; null when the previous value is 0.
    pub change_pct: Option<f64>,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn metric(now: &Counters, before: &Counters, f: impl Fn(&Counters) -> f64) -> Metric {
    let (value, previous) = (round2(f(now)), round2(f(before)));
    Metric {
        value,
        previous,
        change: round2(value - previous),
        change_pct: (previous != 0.0).then(|| round2((value - previous) / previous * 100.0)),
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PeriodInfo {
    /// `today`, `7d`, `30d`, `90d` or `custom`.
    pub period: String,
    /// First and last local day, inclusive.
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// The instants covered: `[from, to)`.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// IANA time zone the days are in.
    pub timezone: String,
}

impl From<&Period> for PeriodInfo {
    fn from(p: &Period) -> Self {
        Self {
            period: p.name.as_str().into(),
            first_day: p.first_day,
            last_day: p.last_day,
            from: p.from,
            to: p.to,
            timezone: p.tz.name().into(),
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LeadsByTag {
    pub hot: Metric,
    pub warm: Metric,
    pub cold: Metric,
}

/// Shares of scored calls with each CTA, in percent.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Conversion {
    pub pricing_rate: Metric,
    pub demo_rate: Metric,
    pub followup_rate: Metric,
    pub sample_rate: Metric,
    pub escalation_rate: Metric,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Overview {
    pub period: PeriodInfo,
    pub previous_period: PeriodInfo,
    /// Finished calls: connected plus failed.
    pub total_calls: Metric,
    pub connected_calls: Metric,
    pub failed_calls: Metric,
    /// Successful calls (ElevenLabs' evaluation) per connected call, in percent.
    pub success_rate: Metric,
    pub total_minutes: Metric,
    /// Per connected call.
    pub average_minutes: Metric,
    pub credits_used: Metric,
    /// The balance now.
    pub credits_remaining: i64,
    pub scored_calls: Metric,
    pub leads_by_tag: LeadsByTag,
    /// Mean total score (0–15) of the scored calls.
    pub average_lead_score: Metric,
    pub conversion: Conversion,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SeriesPoint {
    /// `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM` for hourly charts, in the user's zone.
    pub bucket: String,
    pub start: DateTime<Utc>,
    pub calls: i64,
    pub connected_calls: i64,
    pub successful_calls: i64,
    pub failed_calls: i64,
    pub minutes: f64,
    pub credits: i64,
    pub average_score: Option<f64>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ScoreBucket {
    /// e.g. `4-6`.
    pub range: String,
    pub min: i32,
    pub max: i32,
    pub count: i64,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TagCount {
    /// `Hot`, `Warm`, `Cold` or `Other`.
    pub tag: String,
    pub count: i64,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AgentPerformance {
    /// Null for calls whose agent was deleted.
    pub agent_id: Option<Uuid>,
    pub name: Option<String>,
    pub calls: i64,
    pub connected_calls: i64,
    pub successful_calls: i64,
    /// Percent of connected calls.
    pub success_rate: f64,
    pub minutes: f64,
    pub credits: i64,
    pub average_score: Option<f64>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FunnelStage {
    /// `scored_calls`, then one stage per CTA (`pricing_clicked`, …).
    pub stage: String,
    pub count: i64,
    /// Percent of scored calls.
    pub rate: f64,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Analytics {
    pub period: PeriodInfo,
    /// `hour` or `day`.
    pub granularity: String,
    pub series: Vec<SeriesPoint>,
    pub score_distribution: Vec<ScoreBucket>,
    pub tag_distribution: Vec<TagCount>,
    /// Busiest first.
    pub agents: Vec<AgentPerformance>,
    pub cta_funnel: Vec<FunnelStage>,
}

/// A KPI card's value: a count, or a figure already formatted (`"8.4"`, `"87.5%"`). Typed by
/// hand: poem-openapi's `Union` labels even a union of primitives `type: object`.
#[derive(Debug)]
pub enum KpiValue {
    Number(f64),
    Text(String),
}

impl poem_openapi::types::Type for KpiValue {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> std::borrow::Cow<'static, str> {
        "number_or_string".into()
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            any_of: vec![f64::schema_ref(), String::schema_ref()],
            ..MetaSchema::ANY
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl poem_openapi::types::ToJSON for KpiValue {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(match self {
            KpiValue::Number(n) => serde_json::json!(n),
            KpiValue::Text(t) => serde_json::Value::String(t.clone()),
        })
    }
}

impl poem_openapi::types::ParseFromJSON for KpiValue {
    fn parse_from_json(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        match value {
            Some(serde_json::Value::Number(n)) => {
                Ok(KpiValue::Number(n.as_f64().unwrap_or_default()))
            }
            Some(serde_json::Value::String(s)) => Ok(KpiValue::Text(s)),
            other => Err(poem_openapi::types::ParseError::expected_type(
                other.unwrap_or_default(),
            )),
        }
    }
}

/// One card of the Overview's KPI grid.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct Kpi {
    pub label: String,
    pub value: KpiValue,
    /// The card's tooltip.
    pub description: String,
    /// Change against the previous period of the same length, in percent; absent when the
    /// previous period had nothing to compare with.
    pub delta: Option<f64>,
    /// A share shown next to the value, in percent.
    pub percentage: Option<f64>,
    /// What the change is measured against, e.g. `vs previous 30 days`.
    pub compare: String,
}

impl From<screen::Kpi> for Kpi {
    fn from(k: screen::Kpi) -> Self {
        Self {
            label: k.label.into(),
            value: match k.value {
                screen::KpiValue::Number(n) => KpiValue::Number(n),
                screen::KpiValue::Text(t) => KpiValue::Text(t),
            },
            description: k.description,
            delta: k.delta,
            percentage: k.percentage,
            compare: k.compare,
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct OverviewCredits {
    /// The balance now.
    pub current: i64,
    /// Credits the period's calls and chats used.
    pub used_this_month: i64,
    pub remaining: i64,
}

#[derive(Debug, Object)]
pub struct AgentTally {
    pub total: i64,
    pub active: i64,
    pub draft: i64,
}

/// The Overview: the frontend's KPI cards, with the detailed metrics besides.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OverviewData {
    pub kpis: Vec<Kpi>,
    pub credits: OverviewCredits,
    pub agents: AgentTally,
    #[oai(flatten)]
    pub metrics: Overview,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct OverviewEnvelope {
    pub success: bool,
    pub data: OverviewData,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct LeadsPoint {
    /// `YYYY-MM-DD` (or `YYYY-MM-DDTHH:MM` for hourly charts) in the user's zone.
    pub date: String,
    pub chat_leads: i64,
    pub call_leads: i64,
    pub total: i64,
}

#[derive(Debug, Object)]
pub struct InteractionsPoint {
    pub date: String,
    pub chat: i64,
    pub call: i64,
    pub total: i64,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct LeadQuality {
    /// `Hot`, `Warm` or `Cold`.
    pub name: String,
    pub chat_count: i64,
    pub call_count: i64,
    pub color: String,
}

#[derive(Debug, Object)]
pub struct FunnelStep {
    /// `Leads Captured`, `Interacted`, `Qualified`, `Demo Booked`, `Converted`.
    pub name: String,
    pub value: i64,
    pub fill: String,
}

#[derive(Debug, Object)]
pub struct SourceSlice {
    /// `Inbound` or `Outbound`.
    pub name: String,
    /// The word the frontend's source filter compares with (`inbound`, `outbound`).
    pub source: String,
    pub value: i64,
    pub color: String,
}

/// The Overview's charts, with the detailed breakdown besides.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct AnalyticsData {
    pub leads_over_time_data: Vec<LeadsPoint>,
    pub interactions_over_time_data: Vec<InteractionsPoint>,
    pub lead_quality_data: Vec<LeadQuality>,
    pub engagement_funnel_data: Vec<FunnelStep>,
    pub source_breakdown_data: Vec<SourceSlice>,
    /// When these figures were read.
    pub last_refresh: Timestamp,
    #[oai(flatten)]
    pub breakdown: Analytics,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct AnalyticsEnvelope {
    pub success: bool,
    pub data: AnalyticsData,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RecentLead {
    pub contact_id: Option<Uuid>,
    pub contact_name: Option<String>,
    pub lead_analytics: LeadAnalytics,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct RecentActivity {
    pub calls: Vec<CallListRow>,
    pub leads: Vec<RecentLead>,
    pub imports: Vec<ContactImport>,
    pub purchases: Vec<Purchase>,
}

api_errors!(DashboardErrors {
    400 => BadRequest: "Malformed query (`invalid_parameter`), or an invalid field (`validation_error`; `details` maps each field to its message).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`), or an admin switched the feature off for it (`feature_disabled`).",
    404 => NotFound: "`agentId` (or `X-Agent-ID`) names no agent of the caller's (`agent_not_found`).",
});

fn percent(c: &Counters, part: C, whole: C) -> f64 {
    c.ratio(part, whole) * 100.0
}

/// The detailed metrics of a period against the one before it.
fn metrics(period: &Period, now: &Counters, before: &Counters, balance: i64) -> Overview {
    let m = |f: &dyn Fn(&Counters) -> f64| metric(now, before, f);
    let count = |column: C| move |c: &Counters| c.get(column) as f64;
    let cta_rate = |column: C| move |c: &Counters| percent(c, column, C::Scored);
    Overview {
        period: period.into(),
        previous_period: (&period.previous()).into(),
        total_calls: m(&count(C::Calls)),
        connected_calls: m(&count(C::Connected)),
        failed_calls: m(&count(C::Failed)),
        success_rate: m(&|c| percent(c, C::Successful, C::Connected)),
        total_minutes: m(&Counters::minutes),
        average_minutes: m(&Counters::average_minutes),
        credits_used: m(&count(C::Credits)),
        credits_remaining: balance,
        scored_calls: m(&count(C::Scored)),
        leads_by_tag: LeadsByTag {
            hot: m(&count(C::Hot)),
            warm: m(&count(C::Warm)),
            cold: m(&count(C::Cold)),
        },
        average_lead_score: m(&|c| c.average_score().unwrap_or(0.0)),
        conversion: Conversion {
            pricing_rate: m(&cta_rate(C::CtaPricing)),
            demo_rate: m(&cta_rate(C::CtaDemo)),
            followup_rate: m(&cta_rate(C::CtaFollowup)),
            sample_rate: m(&cta_rate(C::CtaSample)),
            escalation_rate: m(&cta_rate(C::CtaEscalated)),
        },
    }
}

pub struct DashboardApi {
    pub services: Services,
}

impl DashboardApi {
    fn period(
        me: &shared::entities::users::Model,
        period: Option<PeriodParam>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        tz: Option<&str>,
        default: PeriodParam,
    ) -> shared::AppResult<Period> {
        let tz = parse_tz(tz.unwrap_or(&me.timezone))?;
        let name = match period.unwrap_or(default) {
            PeriodParam::Today => PeriodName::Today,
            PeriodParam::Days7 => PeriodName::Days7,
            PeriodParam::Days30 => PeriodName::Days30,
            PeriodParam::Days90 => PeriodName::Days90,
            PeriodParam::Custom => PeriodName::Custom,
        };
        Period::resolve(name, (from, to), tz, Utc::now())
    }
}

/// The caller's counters, or one of the caller's agents' when the frontend names one
/// (`agentId`, else the `X-Agent-ID` header); another user's agent is not found.
pub(crate) async fn scope(
    services: &Services,
    me: &shared::accounts::auth::CurrentUser,
    query: Option<Uuid>,
    header: Option<Uuid>,
) -> shared::AppResult<Scope> {
    let agent = query.or(header);
    if let Some(id) = agent {
        shared::agents::get(services, me, id).await?;
    }
    Ok(Scope {
        owner: me.id,
        agent,
    })
}

/// Which conversations a dashboard counts.
#[derive(Debug, Clone, Copy, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum ChannelParam {
    /// Phone calls.
    Call,
    /// Chat agents' conversations.
    Chat,
    /// Both (the default).
    All,
}

fn channel_of(channel: Option<ChannelParam>) -> Option<shared::calls::Channel> {
    match channel {
        Some(ChannelParam::Call) => Some(shared::calls::Channel::Call),
        Some(ChannelParam::Chat) => Some(shared::calls::Channel::Chat),
        Some(ChannelParam::All) | None => None,
    }
}

#[OpenApi(prefix_path = "/api/dashboard", tag = "Tag::Dashboard")]
impl DashboardApi {
    /// Overview KPIs
    ///
    /// The Overview's KPI cards (`kpis`: label, value, description, delta, percentage,
    /// compare), credits and agent counts, and the detailed metrics, each with its value in the
    /// previous period of the same length. The period is whole days in the user's time zone
    /// (`tz`, default the profile's): the last 30 days by default (as the client's earlier
    /// backend), `today`, `7d`, `90d`, or `custom` with `from` and `to` (days, inclusive).
    #[oai(path = "/overview", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn overview(
        &self,
        auth: Auth,
        period: Query<Option<PeriodParam>>,
        from: Query<Option<NaiveDate>>,
        to: Query<Option<NaiveDate>>,
        #[oai(validator(max_length = 64))] tz: Query<Option<String>>,
        channel: Query<Option<ChannelParam>>,
        /// Only this agent's figures (one of the caller's).
        #[oai(name = "agentId")]
        agent_id: Query<Option<Uuid>>,
        /// As `agentId`, for requests that carry it as a header.
        #[oai(name = "X-Agent-ID")]
        agent_header: Header<Option<Uuid>>,
    ) -> Result<Json<OverviewEnvelope>, DashboardErrors> {
        let me = auth.account(&self.services).await?;
        let scope = scope(
            &self.services,
            &shared::accounts::auth::CurrentUser::from(&me),
            agent_id.0,
            agent_header.0,
        )
        .await?;
        let db = &self.services.db;
        let period = Self::period(
            &me,
            period.0,
            from.0,
            to.0,
            tz.0.as_deref(),
            PeriodParam::Days30,
        )?;
        let inputs = screen::kpi_inputs(db, scope, &period).await?;
        // The cards already read both channels' totals; only a channel filter needs its own.
        let (now, before) = match channel_of(channel.0) {
            None => (inputs.now, inputs.before),
            Some(only) => service::overview(db, scope, &period, Some(only)).await?,
        };
        let tally = service::agent_tally(db, me.id).await?;
        Ok(Json(OverviewEnvelope {
            success: true,
            data: OverviewData {
                kpis: screen::kpis(&inputs, period.days())
                    .into_iter()
                    .map(Into::into)
                    .collect(),
                credits: OverviewCredits {
                    current: me.credits,
                    used_this_month: inputs.now.get(C::Credits),
                    remaining: me.credits,
                },
                agents: AgentTally {
                    total: tally.total,
                    active: tally.active,
                    draft: tally.draft,
                },
                metrics: metrics(&period, &now, &before, me.credits),
            },
        }))
    }

    /// Overview charts
    ///
    /// Calls, minutes, successful calls and average score per day (per hour for periods of up
    /// to two days, or with `granularity`), in the user's time zone; score and tag
    /// distributions, per-agent performance and the CTA funnel over the period. Same period
    /// parameters as the overview.
    #[oai(path = "/analytics", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn analytics(
        &self,
        auth: Auth,
        period: Query<Option<PeriodParam>>,
        from: Query<Option<NaiveDate>>,
        to: Query<Option<NaiveDate>>,
        #[oai(validator(max_length = 64))] tz: Query<Option<String>>,
        granularity: Query<Option<GranularityParam>>,
        channel: Query<Option<ChannelParam>>,
        /// Only this agent's figures (one of the caller's).
        #[oai(name = "agentId")]
        agent_id: Query<Option<Uuid>>,
        /// As `agentId`, for requests that carry it as a header.
        #[oai(name = "X-Agent-ID")]
        agent_header: Header<Option<Uuid>>,
    ) -> Result<Json<AnalyticsEnvelope>, DashboardErrors> {
        let me = auth.account(&self.services).await?;
        features::require(&self.services, features::DASHBOARD_KPIS, me.id).await?;
        let scope = scope(
            &self.services,
            &shared::accounts::auth::CurrentUser::from(&me),
            agent_id.0,
            agent_header.0,
        )
        .await?;
        let period = Self::period(
            &me,
            period.0,
            from.0,
            to.0,
            tz.0.as_deref(),
            PeriodParam::Days7,
        )?;
        let granularity = period.granularity(granularity.0.map(|g| match g {
            GranularityParam::Hour => Granularity::Hour,
            GranularityParam::Day => Granularity::Day,
        }))?;
        let a = service::analytics(
            &self.services.db,
            scope,
            &period,
            granularity,
            channel_of(channel.0),
        )
        .await?;
        let points = screen::by_channel(&self.services.db, scope, &period, a.granularity).await?;
        let total = &a.total;
        let mut funnel = vec![FunnelStage {
            stage: "scored_calls".into(),
            count: total.get(C::Scored),
            rate: if total.get(C::Scored) > 0 { 100.0 } else { 0.0 },
        }];
        funnel.extend(CTAS.iter().map(|(name, column)| FunnelStage {
            stage: (*name).into(),
            count: total.get(*column),
            rate: round2(percent(total, *column, C::Scored)),
        }));
        let breakdown = Analytics {
            period: (&period).into(),
            granularity: a.granularity.as_str().into(),
            series: a
                .series
                .iter()
                .map(|(bucket, c)| SeriesPoint {
                    bucket: bucket.label.clone(),
                    start: bucket.start,
                    calls: c.get(C::Calls),
                    connected_calls: c.get(C::Connected),
                    successful_calls: c.get(C::Successful),
                    failed_calls: c.get(C::Failed),
                    minutes: round2(c.minutes()),
                    credits: c.get(C::Credits),
                    average_score: c.average_score().map(round2),
                })
                .collect(),
            score_distribution: SCORE_RANGES
                .iter()
                .zip(SCORE_COLUMNS)
                .map(|((min, max), column)| ScoreBucket {
                    range: format!("{min}-{max}"),
                    min: *min,
                    max: *max,
                    count: total.get(column),
                })
                .collect(),
            tag_distribution: [
                ("Hot", C::Hot),
                ("Warm", C::Warm),
                ("Cold", C::Cold),
                ("Other", C::OtherTag),
            ]
            .into_iter()
            .map(|(tag, column)| TagCount {
                tag: tag.into(),
                count: total.get(column),
            })
            .collect(),
            agents: a
                .agents
                .into_iter()
                .map(|agent| {
                    let c = &agent.counters;
                    AgentPerformance {
                        agent_id: agent.agent_id,
                        name: agent.name,
                        calls: c.get(C::Calls),
                        connected_calls: c.get(C::Connected),
                        successful_calls: c.get(C::Successful),
                        success_rate: round2(percent(c, C::Successful, C::Connected)),
                        minutes: round2(c.minutes()),
                        credits: c.get(C::Credits),
                        average_score: c.average_score().map(round2),
                    }
                })
                .collect(),
            cta_funnel: funnel,
        };
        Ok(Json(AnalyticsEnvelope {
            success: true,
            data: charts(&points, breakdown),
        }))
    }

    /// Recent activity
    ///
    /// The latest calls, lead scores, contact imports and purchases (`limit` of each).
    #[oai(path = "/recent-activity", method = "get")]
    async fn recent_activity(
        &self,
        auth: Auth,
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "50"))
        )]
        limit: Query<u64>,
    ) -> Result<Json<RecentActivity>, DashboardErrors> {
        let me = auth.user(&self.services).await?;
        let db = &self.services.db;
        let n = limit.0;
        let calls = history::latest(db, me.id, n).await?;
        let leads = service::latest_leads(db, me.id, n).await?;
        let (imports, _) = import::list(db, me.id, 1, n).await?;
        let (purchases, _) =
            shared::money::billing::list_purchases(&self.services, me.id, 1, n).await?;
        Ok(Json(RecentActivity {
            calls: calls.into_iter().map(Into::into).collect(),
            leads: leads
                .into_iter()
                .map(|l| RecentLead {
                    contact_id: l.lead.contact_id,
                    contact_name: l.contact.map(|c| c.name),
                    lead_analytics: l.lead.into(),
                })
                .collect(),
            imports: imports.into_iter().map(Into::into).collect(),
            purchases: purchases.into_iter().map(Into::into).collect(),
        }))
    }
}

/// The frontend's seven charts (five computed; see `screen`) from the per-channel buckets.
fn charts(points: &[screen::ChannelPoint], breakdown: Analytics) -> AnalyticsData {
    let (call, chat) = screen::total_of(points);
    let both = call.plus(&chat);
    let colored = |i: usize| COLORS[i % COLORS.len()].to_string();
    AnalyticsData {
        leads_over_time_data: points
            .iter()
            .map(|p| LeadsPoint {
                date: p.bucket.label.clone(),
                chat_leads: p.chat.get(C::Scored),
                call_leads: p.call.get(C::Scored),
                total: p.chat.get(C::Scored) + p.call.get(C::Scored),
            })
            .collect(),
        interactions_over_time_data: points
            .iter()
            .map(|p| InteractionsPoint {
                date: p.bucket.label.clone(),
                chat: p.chat.get(C::Calls),
                call: p.call.get(C::Calls),
                total: p.chat.get(C::Calls) + p.call.get(C::Calls),
            })
            .collect(),
        lead_quality_data: QUALITY
            .iter()
            .enumerate()
            .map(|(i, (name, column))| LeadQuality {
                name: (*name).into(),
                chat_count: chat.get(*column),
                call_count: call.get(*column),
                color: colored(i),
            })
            .collect(),
        engagement_funnel_data: screen::funnel(&both)
            .into_iter()
            .enumerate()
            .map(|(i, (name, value))| FunnelStep {
                name: name.into(),
                value,
                fill: colored(i),
            })
            .collect(),
        source_breakdown_data: screen::sources(&both)
            .into_iter()
            .enumerate()
            .map(|(i, (name, source, value))| SourceSlice {
                name: name.into(),
                source: source.into(),
                value,
                color: colored(i),
            })
            .collect(),
        last_refresh: Timestamp::now(),
        breakdown,
    }
}

fn default_limit() -> u64 {
    10
}
