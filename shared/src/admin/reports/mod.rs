//! Reports admins build on the Reports screen: a data source, the metrics to include and a
//! date range, previewed as tables, saved as templates, or generated as a CSV, Excel or PDF
//! file behind a download link that needs no bearer token (the screen opens it as a plain
//! link). Every metric is a small table computed from the counters and aggregates — a day
//! per row at most, [`analytics::MAX_DAYS`](super::analytics::MAX_DAYS) of them — so a report
//! costs the same memory on a platform of a million calls as on a small one.

pub mod metrics;
pub mod render;
pub mod schedules;
pub mod shares;
pub mod store;

use chrono::{Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    entities::reports::ReportFormat,
    platform::error::{AppError, AppResult},
};

/// Where a report's metrics come from (the screen's data sources).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    Users,
    Agents,
    Calls,
    Billing,
    System,
    Audit,
}

impl DataSource {
    pub const ALL: [DataSource; 6] = [
        DataSource::Users,
        DataSource::Agents,
        DataSource::Calls,
        DataSource::Billing,
        DataSource::System,
        DataSource::Audit,
    ];

    pub fn key(self) -> &'static str {
        match self {
            DataSource::Users => "users",
            DataSource::Agents => "agents",
            DataSource::Calls => "calls",
            DataSource::Billing => "billing",
            DataSource::System => "system",
            DataSource::Audit => "audit",
        }
    }

    fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key.trim())
    }
}

/// A metric a report may hold: its id (what the screen sends), source and title.
#[derive(Debug)]
pub struct Metric {
    pub id: &'static str,
    pub source: DataSource,
    pub title: &'static str,
}

const fn metric(id: &'static str, source: DataSource, title: &'static str) -> Metric {
    Metric { id, source, title }
}

/// Every metric, by source, in the screen's order.
pub const METRICS: &[Metric] = &[
    metric("total_users", DataSource::Users, "Total users"),
    metric("active_users", DataSource::Users, "Active users"),
    metric("new_registrations", DataSource::Users, "New registrations"),
    metric("user_retention", DataSource::Users, "User retention rate"),
    metric(
        "users_by_tier",
        DataSource::Users,
        "Users by subscription tier",
    ),
    metric("total_agents", DataSource::Agents, "Total agents"),
    metric("active_agents", DataSource::Agents, "Active agents"),
    metric("agent_performance", DataSource::Agents, "Agent performance"),
    metric("agents_by_type", DataSource::Agents, "Agents by type"),
    metric(
        "agent_utilization",
        DataSource::Agents,
        "Agent utilization rate",
    ),
    metric("total_calls", DataSource::Calls, "Total calls"),
    metric("call_success_rate", DataSource::Calls, "Call success rate"),
    metric(
        "average_duration",
        DataSource::Calls,
        "Average call duration",
    ),
    metric("calls_by_hour", DataSource::Calls, "Calls by hour"),
    metric("call_costs", DataSource::Calls, "Call costs"),
    metric("total_revenue", DataSource::Billing, "Total revenue"),
    metric("monthly_revenue", DataSource::Billing, "Monthly revenue"),
    metric("revenue_by_tier", DataSource::Billing, "Revenue by tier"),
    metric("payment_methods", DataSource::Billing, "Payment methods"),
    metric("churn_rate", DataSource::Billing, "Churn rate"),
    metric("system_uptime", DataSource::System, "System uptime"),
    metric("response_times", DataSource::System, "API response times"),
    metric("error_rates", DataSource::System, "Error rates"),
    metric("resource_usage", DataSource::System, "Resource usage"),
    metric("concurrent_users", DataSource::System, "Concurrent users"),
    metric("admin_actions", DataSource::Audit, "Admin actions"),
    metric("login_attempts", DataSource::Audit, "Sign-ins"),
    metric("security_events", DataSource::Audit, "Security events"),
    metric("data_access", DataSource::Audit, "Data access"),
    metric("system_changes", DataSource::Audit, "System changes"),
];

pub fn find_metric(id: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.id == id)
}

/// Default range: the last 30 days, today included.
pub const DEFAULT_DAYS: u64 = 30;
/// Longest name and description.
const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 2_000;

/// A filter as the screen sends it: a label the admin typed, a type and a value.
#[derive(Debug, Clone, Default)]
pub struct FilterInput {
    pub label: String,
    pub kind: String,
    pub value: serde_json::Value,
}

/// The report configuration as the screen sends it; [`ReportSpec::parse`] checks it.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub data_source: Option<String>,
    pub metrics: Vec<String>,
    pub filters: Vec<FilterInput>,
    pub group_by: Vec<String>,
    /// `(column, descending)`.
    pub sort_by: Vec<(String, bool)>,
    pub format: Option<ReportFormat>,
    pub include_charts: bool,
    pub include_raw_data: bool,
}

/// A checked report definition, stored with templates and generated reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSpec {
    pub name: String,
    pub description: String,
    pub source: DataSource,
    /// Metric ids, each of `source`, without repeats, in the order asked.
    pub metrics: Vec<String>,
    /// UTC days, both included.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Columns to order each table by (`true`: descending), where a table has them.
    pub sort_by: Vec<(String, bool)>,
    pub format: ReportFormat,
    pub include_charts: bool,
    /// Adds the day-by-day table of the range to sources that have one.
    pub include_raw_data: bool,
}

fn parse_date(field: &str, value: &serde_json::Value) -> AppResult<Option<NaiveDate>> {
    let text = match value {
        serde_json::Value::Null => return Ok(None),
        serde_json::Value::String(s) if s.trim().is_empty() => return Ok(None),
        serde_json::Value::String(s) => s.trim(),
        _ => return Err(AppError::validation(field, "must be a date (YYYY-MM-DD)")),
    };
    // A date, or the date part of an ISO timestamp the date pickers send.
    let day = text.get(..10).unwrap_or(text);
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| AppError::validation(field, format!("`{text}` is not a date (YYYY-MM-DD)")))
}

/// Which end of the range a filter's label names, if any.
fn range_end(label: &str) -> Option<bool> {
    let label = label.trim().to_lowercase();
    let starts = ["from", "start", "since", "start date", "date from", "begin"];
    let ends = ["to", "end", "until", "end date", "date to"];
    if starts.contains(&label.as_str()) {
        Some(false)
    } else if ends.contains(&label.as_str()) {
        Some(true)
    } else {
        None
    }
}

impl ReportSpec {
    /// Checks what the screen sent. `need_name`: generating and saving need a name, a
    /// preview does not. `today` anchors the default range.
    pub fn parse(input: ReportInput, need_name: bool, today: NaiveDate) -> AppResult<Self> {
        let name = input.name.unwrap_or_default().trim().to_string();
        if need_name && name.is_empty() {
            return Err(AppError::validation("name", "give the report a name"));
        }
        if name.chars().count() > MAX_NAME {
            return Err(AppError::validation(
                "name",
                format!("at most {MAX_NAME} characters"),
            ));
        }
        let description = input.description.unwrap_or_default().trim().to_string();
        if description.chars().count() > MAX_DESCRIPTION {
            return Err(AppError::validation(
                "description",
                format!("at most {MAX_DESCRIPTION} characters"),
            ));
        }
        let source_key = input.data_source.unwrap_or_default();
        let source = DataSource::parse(&source_key).ok_or_else(|| {
            AppError::validation(
                "dataSource",
                "choose a data source: users, agents, calls, billing, system or audit",
            )
        })?;
        if input.metrics.is_empty() {
            return Err(AppError::validation(
                "metrics",
                "choose at least one metric",
            ));
        }
        let mut metrics: Vec<String> = Vec::new();
        for id in &input.metrics {
            let id = id.trim();
            match find_metric(id) {
                Some(m) if m.source == source => {
                    if !metrics.iter().any(|x| x == m.id) {
                        metrics.push(m.id.to_string());
                    }
                }
                Some(_) => {
                    return Err(AppError::validation(
                        "metrics",
                        format!("`{id}` is not a metric of `{}`", source.key()),
                    ));
                }
                None => {
                    return Err(AppError::validation(
                        "metrics",
                        format!("`{id}` is not a metric reports know"),
                    ));
                }
            }
        }
        let (mut from, mut to) = (None, None);
        for f in &input.filters {
            let empty = match &f.value {
                serde_json::Value::Null => true,
                serde_json::Value::String(s) => s.trim().is_empty(),
                _ => false,
            };
            // The screen adds an empty "New Filter" row first: nothing asked yet.
            if empty {
                continue;
            }
            match range_end(&f.label) {
                Some(false) => from = parse_date("filters", &f.value)?,
                Some(true) => to = parse_date("filters", &f.value)?,
                None => {
                    return Err(AppError::validation(
                        "filters",
                        format!(
                            "`{}` is not a filter reports know: use a date filter labelled From or To",
                            f.label.trim()
                        ),
                    ));
                }
            }
        }
        let to = to.unwrap_or(today);
        let from = from.unwrap_or_else(|| to - Days::new(DEFAULT_DAYS - 1));
        if to < from {
            return Err(AppError::validation(
                "filters",
                "the To date is before the From date",
            ));
        }
        if (to - from).num_days() as u64 + 1 > super::analytics::MAX_DAYS {
            return Err(AppError::validation(
                "filters",
                format!(
                    "a report covers at most {} days",
                    super::analytics::MAX_DAYS
                ),
            ));
        }
        if let Some(g) = input
            .group_by
            .iter()
            .find(|g| !matches!(g.trim(), "date" | "day"))
        {
            return Err(AppError::validation(
                "groupBy",
                format!("`{g}`: reports are grouped by day"),
            ));
        }
        if input.sort_by.len() > 5 {
            return Err(AppError::validation("sortBy", "at most 5 columns"));
        }
        let sort_by = input
            .sort_by
            .into_iter()
            .map(|(field, desc)| (field.trim().to_string(), desc))
            .filter(|(field, _)| !field.is_empty())
            .collect();
        Ok(Self {
            name,
            description,
            source,
            metrics,
            from,
            to,
            sort_by,
            format: input.format.unwrap_or(ReportFormat::Pdf),
            include_charts: input.include_charts,
            include_raw_data: input.include_raw_data,
        })
    }

    pub fn today() -> NaiveDate {
        Utc::now().date_naive()
    }

    pub fn title_of(id: &str) -> &'static str {
        find_metric(id).map(|m| m.title).unwrap_or("Metric")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ReportInput {
        ReportInput {
            name: Some("Weekly".into()),
            data_source: Some("calls".into()),
            metrics: vec![
                "total_calls".into(),
                "calls_by_hour".into(),
                "total_calls".into(),
            ],
            ..Default::default()
        }
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn defaults_to_the_last_thirty_days_without_repeats() {
        let spec = ReportSpec::parse(input(), true, day("2026-12-02")).unwrap();
        assert_eq!(spec.metrics, ["total_calls", "calls_by_hour"]);
        assert_eq!((spec.from, spec.to), (day("2026-11-03"), day("2026-12-02")));
        assert_eq!(spec.format, ReportFormat::Pdf);
    }

    #[test]
    fn reads_date_filters_and_skips_the_empty_new_filter_row() {
        let mut i = input();
        i.filters = vec![
            FilterInput {
                label: "New Filter".into(),
                kind: "text".into(),
                value: "".into(),
            },
            FilterInput {
                label: "From".into(),
                kind: "date".into(),
                value: "2026-10-01T00:00:00.000Z".into(),
            },
            FilterInput {
                label: " to ".into(),
                kind: "date".into(),
                value: "2026-10-31".into(),
            },
        ];
        let spec = ReportSpec::parse(i, true, day("2026-12-02")).unwrap();
        assert_eq!((spec.from, spec.to), (day("2026-10-01"), day("2026-10-31")));
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        let field = |i: ReportInput| {
            ReportSpec::parse(i, true, day("2026-12-02"))
                .unwrap_err()
                .details()
                .unwrap()
        };
        let mut i = input();
        i.metrics = vec!["total_users".into()];
        assert!(
            field(i)["metrics"]
                .as_str()
                .unwrap()
                .contains("not a metric of `calls`")
        );
        let mut i = input();
        i.data_source = Some("weather".into());
        assert!(field(i).get("dataSource").is_some());
        let mut i = input();
        i.name = None;
        assert!(field(i).get("name").is_some());
        let mut i = input();
        i.filters = vec![FilterInput {
            label: "Region".into(),
            kind: "text".into(),
            value: "EU".into(),
        }];
        assert!(field(i)["filters"].as_str().unwrap().contains("Region"));
        let mut i = input();
        i.filters = vec![FilterInput {
            label: "From".into(),
            kind: "date".into(),
            value: "2024-01-01".into(),
        }];
        assert!(field(i)["filters"].as_str().unwrap().contains("at most"));
        let mut i = input();
        i.group_by = vec!["agent".into()];
        assert!(field(i).get("groupBy").is_some());
        // A preview needs no name.
        let mut i = input();
        i.name = None;
        assert!(ReportSpec::parse(i, false, day("2026-12-02")).is_ok());
    }
}
