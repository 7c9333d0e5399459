//! `GET /metrics`: Prometheus text format, on the API port or on `METRICS_PORT` alone.

use poem::{Endpoint, EndpointExt, Response, Route, get, handler, http::StatusCode, web::Data};
use shared::Services;

use crate::error::{ErrorBody, error_response};

#[handler]
async fn metrics(services: Data<&Services>) -> Response {
    match shared::platform::monitoring::render(&services).await {
        Ok(text) => Response::builder()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(e) => {
            tracing::warn!(error = %e, "metrics could not be read");
            error_response(
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                ErrorBody::from(&e),
            )
        }
    }
}

/// The `/metrics` handler, bound to `services`.
pub fn endpoint(services: &Services) -> impl Endpoint + 'static {
    get(metrics).data(services.clone())
}

/// A server of `/metrics` alone (for `METRICS_PORT`).
pub fn app(services: &Services) -> impl Endpoint + 'static {
    Route::new().at("/metrics", endpoint(services))
}
