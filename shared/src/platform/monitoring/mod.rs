//! Prometheus metrics. Counters and histograms are recorded where things happen (requests, jobs,
//! provider calls, webhook intake); queue depth and ledger totals are read from the database
//! when `/metrics` is scraped, so every replica reports the same, current figures for them.

pub mod recent;
mod scrape;

pub use scrape::render;

use std::{sync::OnceLock, time::Duration};

use metrics::{counter, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets (seconds) for requests, jobs and provider calls.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's recorder, installed on first use (one per process, shared by every gateway
/// and worker it runs).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
            .map(|b| b.build_recorder())
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        // Another recorder (a test harness's) may already be installed; ours still renders.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// A path as a route label: ids become `{id}`, so the label set stays small.
pub fn route_label(path: &str, status: u16) -> String {
    if status == 404 || status == 405 {
        // Unknown paths would otherwise add a series each.
        return "unmatched".into();
    }
    path.split('/')
        .map(|part| {
            let is_id = uuid::Uuid::parse_str(part).is_ok()
                || (!part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
            if is_id { "{id}" } else { part }
        })
        .collect::<Vec<_>>()
        .join("/")
}

pub fn http_request(method: &str, path: &str, status: u16, elapsed: Duration) {
    let route = route_label(path, status);
    counter!("http_requests_total", "method" => method.to_string(), "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    histogram!("http_request_duration_seconds", "method" => method.to_string(), "route" => route)
        .record(elapsed.as_secs_f64());
}

/// A job attempt's end: `succeeded`, `retried` or `failed`.
pub fn job_finished(
    kind: crate::platform::jobs::JobKind,
    outcome: &'static str,
    elapsed: Duration,
) {
    counter!("jobs_total", "kind" => kind.to_string(), "outcome" => outcome).increment(1);
    histogram!("job_duration_seconds", "kind" => kind.to_string()).record(elapsed.as_secs_f64());
}

/// One request to a provider: `outcome` is the status class (`2xx`, `4xx`, `5xx`) or `error`.
pub fn provider_request(provider: &'static str, outcome: String, elapsed: Duration) {
    counter!("provider_requests_total", "provider" => provider, "outcome" => outcome).increment(1);
    histogram!("provider_request_duration_seconds", "provider" => provider)
        .record(elapsed.as_secs_f64());
}

pub fn status_class(status: u16) -> String {
    format!("{}xx", status / 100)
}

/// A webhook delivery accepted: `stored` (new) or `duplicate`.
pub fn webhook_received(provider: &str, result: &'static str) {
    counter!("webhooks_received_total", "provider" => provider.to_string(), "result" => result)
        .increment(1);
}

#[cfg(test)]
mod tests {
    use super::route_label;

    #[test]
    fn ids_do_not_make_new_routes() {
        assert_eq!(
            route_label(
                "/api/calls/01a2198b-861b-7415-8ed7-608134a9620c/transcript",
                200
            ),
            "/api/calls/{id}/transcript"
        );
        assert_eq!(route_label("/api/anything/else", 404), "unmatched");
    }
}
