//! The Calling Agent → Analytics tab (`CallAnalytics`): seven `/api/call-analytics/*`
//! endpoints in the shapes the charts read, every figure from the hourly counters
//! (`shared::dashboard::call_analytics` defines them).

use chrono::{DateTime, Utc};
use poem_openapi::{Object, OpenApi, param::Query, payload::Json};
use shared::admin::features;
use shared::{
    AppError, AppResult, Services,
    calls::presentation::CallSource,
    dashboard::{
        Counters, Period, PeriodName, Scope,
        call_analytics::{self as figures, SourceFigures, percent},
        period::parse_tz,
    },
    entities::call_rollups::Column as C,
};
use uuid::Uuid;

use crate::{api_errors, security::Auth, tags::Tag};

/// The tab's palette, in its order.
const COLOURS: [&str; 5] = ["#1A6262", "#91C499", "#E1A940", "#FF6700", "#a855f7"];

/// A KPI card.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct KpiCard {
    pub title: String,
    /// The figure as printed.
    pub value: String,
    /// The change against the previous period, in the figure's unit, signed.
    pub change: String,
    /// The change in percent (the card prints it after the arrow).
    pub change_value: String,
    /// Whether the change is good news (the arrow's colour).
    pub positive: bool,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct KpiData {
    /// Total Calls Made, Successful Conversations, Call Connection Rate, Avg. Call Duration,
    /// Call-to-Lead Conversion, Pending Follow-ups.
    pub kpi_data: Vec<KpiCard>,
    /// Not Connected, Demo Scheduled, Hot Leads Generated.
    pub additional_metrics: Vec<KpiCard>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct KpiEnvelope {
    pub success: bool,
    pub data: KpiData,
}

/// A slice of a pie: `value` is its share in percent.
#[derive(Debug, Object)]
pub struct Slice {
    pub name: String,
    pub value: f64,
    pub count: i64,
    pub color: String,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct SliceEnvelope {
    pub success: bool,
    pub data: Vec<Slice>,
}

#[derive(Debug, Object)]
pub struct CallFunnelStage {
    pub name: String,
    pub value: i64,
    pub fill: String,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct CallFunnelEnvelope {
    pub success: bool,
    pub data: Vec<CallFunnelStage>,
}

/// A point of the intent-against-budget chart: the scored calls in one cell (each axis 0–10,
/// the centre of a third of the score).
#[derive(Debug, Object)]
pub struct IntentBudgetPoint {
    pub intent: f64,
    pub budget: f64,
    pub leads: i64,
    pub name: String,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct IntentBudgetEnvelope {
    pub success: bool,
    pub data: Vec<IntentBudgetPoint>,
}

/// One source's row of the breakdown and its pie slice.
#[derive(Debug, Object)]
pub struct SourceRow {
    /// `Phone` or `Internet`.
    pub name: String,
    /// Share of the period's calls, in percent.
    pub value: f64,
    pub count: i64,
    pub color: String,
    /// Successful per connected call, in percent.
    pub success_rate: f64,
    /// Minutes per connected call.
    pub avg_duration: f64,
    /// Calls that produced a lead score.
    pub leads_generated: i64,
    /// Hot leads per call, in percent.
    pub conversion_rate: f64,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct SourceEnvelope {
    pub success: bool,
    pub data: Vec<SourceRow>,
}

#[derive(Debug, Object)]
pub struct SourceMetrics {
    pub total_calls: i64,
    pub successful_calls: i64,
    pub failed_calls: i64,
    /// Calls are never cancelled here: always 0.
    pub cancelled_calls: i64,
    /// Minutes per connected call.
    pub avg_duration: f64,
    pub total_credits_used: i64,
    pub leads_generated: i64,
    pub hot_leads: i64,
    pub demos_scheduled: i64,
    pub success_rate: f64,
    pub conversion_rate: f64,
    /// Credits per lead.
    pub cost_per_lead: f64,
}

#[derive(Debug, Object)]
pub struct SourceChanges {
    pub calls_change: i64,
    pub calls_change_percent: f64,
    /// Change in success rate, in points.
    pub success_change: f64,
    pub leads_change: i64,
    pub leads_change_percent: f64,
}

#[derive(Debug, Object)]
pub struct SourceAnalytics {
    /// `phone` or `internet`.
    pub call_source: String,
    pub metrics: SourceMetrics,
    pub changes: SourceChanges,
}

#[derive(Debug, Object)]
pub struct SourceAnalyticsData {
    pub source_analytics: Vec<SourceAnalytics>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct SourceAnalyticsEnvelope {
    pub success: bool,
    pub data: SourceAnalyticsData,
}

/// The tab's header: what is left to spend and the last 30 days at a glance.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Summary {
    /// Credits left, one per started call minute ("Minutes Remaining").
    pub minutes: i64,
    pub total_calls: i64,
    pub total_minutes: f64,
    pub hot_leads: i64,
    pub demos_scheduled: i64,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct SummaryEnvelope {
    pub success: bool,
    pub data: Summary,
}

api_errors!(CallAnalyticsErrors {
    400 => BadRequest: "Malformed query (`invalid_parameter`) or a range that ends before it starts or spans more than 366 days (`validation_error`).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`), or an admin switched the feature off for it (`feature_disabled`).",
    404 => NotFound: "`agentId` names no agent of the caller's (`agent_not_found`).",
});

fn signed(x: f64, unit: &str) -> String {
    if x > 0.0 {
        format!("+{x}{unit}")
    } else {
        format!("{x}{unit}")
    }
}

/// The relative change from `before` to `now` in percent (one decimal), unsigned for the card.
fn change_percent(now: f64, before: f64) -> f64 {
    if before == 0.0 {
        if now == 0.0 { 0.0 } else { 100.0 }
    } else {
        (((now - before) / before).abs() * 1000.0).round() / 10.0
    }
}

fn mm_ss(secs: f64) -> String {
    let secs = secs.max(0.0).round() as i64;
    format!("{}m {}s", secs / 60, secs % 60)
}

/// A card comparing a figure with the previous period's; `lower_is_better` flips the arrow's
/// colour (fewer unconnected calls is good news).
fn card(
    title: &str,
    (now, before): (f64, f64),
    show: impl Fn(f64) -> String,
    unit: &str,
    lower_is_better: bool,
) -> KpiCard {
    let diff = ((now - before) * 10.0).round() / 10.0;
    KpiCard {
        title: title.into(),
        value: show(now),
        change: signed(diff, unit),
        change_value: format!("{}%", change_percent(now, before)),
        positive: if lower_is_better {
            diff <= 0.0
        } else {
            diff >= 0.0
        },
    }
}

fn count(n: f64) -> String {
    format!("{}", n as i64)
}

fn rate(x: f64) -> String {
    format!("{x}%")
}

fn kpis(now: &Counters, before: &Counters) -> KpiData {
    let both = |f: &dyn Fn(&Counters) -> f64| (f(now), f(before));
    let get = |c: C| move |x: &Counters| x.get(c) as f64;
    let connection = |x: &Counters| percent(x.get(C::Connected), x.get(C::Calls));
    let average = |x: &Counters| {
        let connected = x.get(C::Connected);
        if connected == 0 {
            0.0
        } else {
            x.get(C::DurationSecs) as f64 / connected as f64
        }
    };
    let conversion = |x: &Counters| percent(x.get(C::Hot) + x.get(C::Warm), x.get(C::Calls));
    KpiData {
        kpi_data: vec![
            card("Total Calls Made", both(&get(C::Calls)), count, "", false),
            card(
                "Successful Conversations",
                both(&get(C::Successful)),
                count,
                "",
                false,
            ),
            card("Call Connection Rate", both(&connection), rate, "%", false),
            card("Avg. Call Duration", both(&average), mm_ss, "s", false),
            card(
                "Call-to-Lead Conversion",
                both(&conversion),
                rate,
                "%",
                false,
            ),
            card(
                "Pending Follow-ups",
                both(&get(C::CtaFollowup)),
                count,
                "",
                false,
            ),
        ],
        additional_metrics: vec![
            card("Not Connected", both(&get(C::Failed)), count, "", true),
            card("Demo Scheduled", both(&get(C::Demos)), count, "", false),
            card("Hot Leads Generated", both(&get(C::Hot)), count, "", false),
        ],
    }
}

fn source_name(s: CallSource) -> &'static str {
    s.platform()
}

fn source_rows(c: &Counters) -> Vec<SourceRow> {
    let total = c.get(C::Calls);
    figures::by_source(c)
        .into_iter()
        .enumerate()
        .filter(|(_, (_, f))| f.calls > 0)
        .map(|(i, (source, f))| SourceRow {
            name: source_name(source).into(),
            value: percent(f.calls, total),
            count: f.calls,
            color: COLOURS[i].into(),
            success_rate: f.success_rate(),
            avg_duration: (f.average_minutes() * 100.0).round() / 100.0,
            leads_generated: f.leads,
            conversion_rate: f.conversion_rate(),
        })
        .collect()
}

fn source_analytics(now: &Counters, before: &Counters) -> Vec<SourceAnalytics> {
    let previous = figures::by_source(before);
    figures::by_source(now)
        .into_iter()
        .zip(previous)
        .filter(|((_, f), (_, b))| f.calls > 0 || b.calls > 0)
        .map(
            |((source, f), (_, b)): ((CallSource, SourceFigures), _)| SourceAnalytics {
                call_source: source.as_str().into(),
                metrics: SourceMetrics {
                    total_calls: f.calls,
                    successful_calls: f.successful,
                    failed_calls: f.failed(),
                    cancelled_calls: 0,
                    avg_duration: (f.average_minutes() * 100.0).round() / 100.0,
                    total_credits_used: f.credits,
                    leads_generated: f.leads,
                    hot_leads: f.hot,
                    demos_scheduled: f.demos,
                    success_rate: f.success_rate(),
                    conversion_rate: f.conversion_rate(),
                    cost_per_lead: (f.cost_per_lead() * 100.0).round() / 100.0,
                },
                changes: SourceChanges {
                    calls_change: f.calls - b.calls,
                    calls_change_percent: percent(f.calls - b.calls, b.calls),
                    success_change: ((f.success_rate() - b.success_rate()) * 10.0).round() / 10.0,
                    leads_change: f.leads - b.leads,
                    leads_change_percent: percent(f.leads - b.leads, b.leads),
                },
            },
        )
        .collect()
}

fn lead_quality(c: &Counters) -> Vec<Slice> {
    let scored = c.get(C::Hot) + c.get(C::Warm) + c.get(C::Cold);
    if scored == 0 {
        return Vec::new();
    }
    [
        ("Hot Leads", C::Hot, "#FF6700"),
        ("Warm Leads", C::Warm, "#E1A940"),
        ("Cold Leads", C::Cold, "#1A6262"),
    ]
    .into_iter()
    .map(|(name, column, color)| Slice {
        name: name.into(),
        value: percent(c.get(column), scored),
        count: c.get(column),
        color: color.into(),
    })
    .collect()
}

fn funnel(c: &Counters) -> Vec<CallFunnelStage> {
    figures::funnel(c)
        .into_iter()
        .enumerate()
        .map(|(i, (name, value))| CallFunnelStage {
            name: name.into(),
            value,
            fill: COLOURS[i % COLOURS.len()].into(),
        })
        .collect()
}

fn intent_budget(c: &Counters) -> Vec<IntentBudgetPoint> {
    // The centre of each third on the chart's 0–10 axes.
    const CENTRES: [f64; 3] = [1.7, 5.0, 8.3];
    figures::intent_budget(c)
        .into_iter()
        .map(|(i, j, n)| IntentBudgetPoint {
            intent: CENTRES[i],
            budget: CENTRES[j],
            leads: n,
            name: format!(
                "{} intent, {} budget",
                figures::THIRDS[i],
                figures::THIRDS[j].to_lowercase()
            ),
        })
        .collect()
}

pub struct CallAnalyticsApi {
    pub services: Services,
}

impl CallAnalyticsApi {
    /// The period and scope a request asks for: `dateFrom`..`dateTo` as the user's local days
    /// (the last 30 days by default), the caller's call agents or one of them.
    async fn counters(
        &self,
        auth: Auth,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        agent: Option<Uuid>,
    ) -> AppResult<(Counters, Counters)> {
        let account = auth.account(&self.services).await?;
        features::require(&self.services, features::AGENT_ANALYTICS, account.id).await?;
        let me = shared::accounts::auth::CurrentUser::from(&account);
        let scope: Scope = crate::dashboard::scope(&self.services, &me, agent, None).await?;
        let tz = parse_tz(&account.timezone)?;
        let now = Utc::now();
        let period = match (from, to) {
            (None, None) => Period::resolve(PeriodName::Days30, (None, None), tz, now)?,
            (from, to) => {
                let day = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();
                let to = to.unwrap_or(now);
                let from = from.unwrap_or(to - chrono::TimeDelta::days(29));
                if from > to {
                    return Err(AppError::validation(
                        "dateFrom",
                        "must not be after `dateTo`",
                    ));
                }
                Period::resolve(
                    PeriodName::Custom,
                    (Some(day(from)), Some(day(to))),
                    tz,
                    now,
                )
                .map_err(|_| {
                    AppError::validation("dateTo", "the range may span at most 366 days")
                })?
            }
        };
        figures::figures(&self.services.db, scope, &period).await
    }
}

#[OpenApi(prefix_path = "/api/call-analytics", tag = "Tag::Dashboard")]
impl CallAnalyticsApi {
    /// KPI cards
    ///
    /// Six cards and three more metrics for the call agents (or `agentId`) over
    /// `dateFrom`..`dateTo` (the last 30 days by default), each against the period before.
    #[oai(path = "/kpis", method = "get")]
    async fn kpis(
        &self,
        auth: Auth,
        #[oai(name = "dateFrom")] date_from: Query<Option<DateTime<Utc>>>,
        #[oai(name = "dateTo")] date_to: Query<Option<DateTime<Utc>>>,
        #[oai(name = "agentId")] agent_id: Query<Option<Uuid>>,
    ) -> Result<Json<KpiEnvelope>, CallAnalyticsErrors> {
        let (now, before) = self
            .counters(auth, date_from.0, date_to.0, agent_id.0)
            .await?;
        Ok(Json(KpiEnvelope {
            success: true,
            data: kpis(&now, &before),
        }))
    }

    /// Lead quality
    ///
    /// The scored calls' shares by tag (Hot, Warm, Cold), in percent; empty without any.
    #[oai(path = "/lead-quality", method = "get")]
    async fn lead_quality(
        &self,
        auth: Auth,
        #[oai(name = "dateFrom")] date_from: Query<Option<DateTime<Utc>>>,
        #[oai(name = "dateTo")] date_to: Query<Option<DateTime<Utc>>>,
        #[oai(name = "agentId")] agent_id: Query<Option<Uuid>>,
    ) -> Result<Json<SliceEnvelope>, CallAnalyticsErrors> {
        let (now, _) = self
            .counters(auth, date_from.0, date_to.0, agent_id.0)
            .await?;
        Ok(Json(SliceEnvelope {
            success: true,
            data: lead_quality(&now),
        }))
    }

    /// Conversion funnel
    ///
    /// Calls, connected, qualified (Hot or Warm), Hot, demos booked.
    #[oai(path = "/funnel", method = "get")]
    async fn funnel(
        &self,
        auth: Auth,
        #[oai(name = "dateFrom")] date_from: Query<Option<DateTime<Utc>>>,
        #[oai(name = "dateTo")] date_to: Query<Option<DateTime<Utc>>>,
        #[oai(name = "agentId")] agent_id: Query<Option<Uuid>>,
    ) -> Result<Json<CallFunnelEnvelope>, CallAnalyticsErrors> {
        let (now, _) = self
            .counters(auth, date_from.0, date_to.0, agent_id.0)
            .await?;
        Ok(Json(CallFunnelEnvelope {
            success: true,
            data: funnel(&now),
        }))
    }

    /// Intent against budget
    ///
    /// The scored calls by third of their intent and budget scores.
    #[oai(path = "/intent-budget", method = "get")]
    async fn intent_budget(
        &self,
        auth: Auth,
        #[oai(name = "dateFrom")] date_from: Query<Option<DateTime<Utc>>>,
        #[oai(name = "dateTo")] date_to: Query<Option<DateTime<Utc>>>,
        #[oai(name = "agentId")] agent_id: Query<Option<Uuid>>,
    ) -> Result<Json<IntentBudgetEnvelope>, CallAnalyticsErrors> {
        let (now, _) = self
            .counters(auth, date_from.0, date_to.0, agent_id.0)
            .await?;
        Ok(Json(IntentBudgetEnvelope {
            success: true,
            data: intent_budget(&now),
        }))
    }

    /// Source breakdown
    ///
    /// Phone calls against calls from the web widget (`Internet`): share, success, minutes,
    /// leads and conversion; sources without calls are left out.
    #[oai(path = "/source-breakdown", method = "get")]
    async fn source_breakdown(
        &self,
        auth: Auth,
        #[oai(name = "dateFrom")] date_from: Query<Option<DateTime<Utc>>>,
        #[oai(name = "dateTo")] date_to: Query<Option<DateTime<Utc>>>,
        #[oai(name = "agentId")] agent_id: Query<Option<Uuid>>,
    ) -> Result<Json<SourceEnvelope>, CallAnalyticsErrors> {
        let (now, _) = self
            .counters(auth, date_from.0, date_to.0, agent_id.0)
            .await?;
        Ok(Json(SourceEnvelope {
            success: true,
            data: source_rows(&now),
        }))
    }

    /// Call-source analytics
    ///
    /// The export's figures per source with their change against the previous period.
    #[oai(path = "/call-source-analytics", method = "get")]
    async fn call_source_analytics(
        &self,
        auth: Auth,
        #[oai(name = "dateFrom")] date_from: Query<Option<DateTime<Utc>>>,
        #[oai(name = "dateTo")] date_to: Query<Option<DateTime<Utc>>>,
        #[oai(name = "agentId")] agent_id: Query<Option<Uuid>>,
    ) -> Result<Json<SourceAnalyticsEnvelope>, CallAnalyticsErrors> {
        let (now, before) = self
            .counters(auth, date_from.0, date_to.0, agent_id.0)
            .await?;
        Ok(Json(SourceAnalyticsEnvelope {
            success: true,
            data: SourceAnalyticsData {
                source_analytics: source_analytics(&now, &before),
            },
        }))
    }

    /// Summary
    ///
    /// The credits left ("Minutes Remaining") and the last 30 days' calls, minutes, hot leads
    /// and demos.
    #[oai(path = "/summary", method = "get")]
    async fn summary(&self, auth: Auth) -> Result<Json<SummaryEnvelope>, CallAnalyticsErrors> {
        let account = auth.account(&self.services).await?;
        features::require(&self.services, features::AGENT_ANALYTICS, account.id).await?;
        let balance = shared::money::credits::balance(&self.services.db, account.id).await?;
        let tz = parse_tz(&account.timezone)?;
        let period = Period::resolve(PeriodName::Days30, (None, None), tz, Utc::now())?;
        let (now, _) =
            figures::figures(&self.services.db, Scope::owner(account.id), &period).await?;
        Ok(Json(SummaryEnvelope {
            success: true,
            data: Summary {
                minutes: balance,
                total_calls: now.get(C::Calls),
                total_minutes: (now.minutes() * 10.0).round() / 10.0,
                hot_leads: now.get(C::Hot),
                demos_scheduled: now.get(C::Demos),
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_say_the_change_in_the_figures_unit_and_in_percent() {
        let c = card("Calls", (12.0, 8.0), count, "", false);
        assert_eq!(
            (c.value.as_str(), c.change.as_str(), c.change_value.as_str()),
            ("12", "+4", "50%")
        );
        assert!(c.positive);
        let fewer_failures = card("Not Connected", (2.0, 5.0), count, "", true);
        assert!(fewer_failures.positive);
        assert_eq!(fewer_failures.change, "-3");
        assert_eq!(mm_ss(125.4), "2m 5s");
        assert_eq!(card("x", (3.0, 0.0), count, "", false).change_value, "100%");
        assert_eq!(card("x", (0.0, 0.0), count, "", false).change_value, "0%");
    }
}
