//! Error reports from the client's frontend (its error boundaries post what crashed). They are
//! accepted, bounded (the body limit, the API's request budget, a length cap per field),
//! logged with the user when a valid token came along, and never stored or echoed back.

use poem_openapi::{ApiResponse, OpenApi, payload::Json};
use shared::Services;

use crate::{api_errors, security::optional_claims, tags::Tag, wire::Done};

/// Longest text kept from any one field of a report.
const FIELD_CHARS: usize = 2_000;

#[derive(Debug, ApiResponse)]
pub enum Accepted {
    /// Logged.
    #[oai(status = 202)]
    Accepted(Json<Done>),
}

api_errors!(ReportErrors {
    400 => Invalid: "The body is not a JSON object (`malformed_json`, `validation_error`).",
});

pub struct ClientErrorApi {
    pub services: Services,
}

impl ClientErrorApi {
    fn record(
        &self,
        req: &poem::Request,
        report: serde_json::Value,
        area: &str,
    ) -> Result<Accepted, ReportErrors> {
        if !report.is_object() {
            return Err(shared::AppError::validation("body", "must be a JSON object").into());
        }
        let user = optional_claims(&self.services, req).map(|c| c.sub);
        let text = |key: &str| {
            report
                .get(key)
                .and_then(|v| v.as_str())
                .map(|s| s.chars().take(FIELD_CHARS).collect::<String>())
                .unwrap_or_default()
        };
        tracing::warn!(
            area,
            user_id = user.map(|u| u.to_string()).unwrap_or_default(),
            message = %text("message"),
            url = %text("url"),
            stack = %text("stack"),
            "client error reported"
        );
        Ok(Accepted::Accepted(Json(Done::new("Error report received"))))
    }
}

#[OpenApi(tag = "Tag::Account")]
impl ClientErrorApi {
    /// Report a client error
    ///
    /// What the frontend's error boundary caught; logged, not stored, never echoed.
    #[oai(path = "/api/errors", method = "post")]
    async fn report(
        &self,
        req: &poem::Request,
        body: Json<serde_json::Value>,
    ) -> Result<Accepted, ReportErrors> {
        self.record(req, body.0, "app")
    }

    /// Report an admin-area client error
    #[oai(path = "/api/admin/errors", method = "post")]
    async fn report_admin(
        &self,
        req: &poem::Request,
        body: Json<serde_json::Value>,
    ) -> Result<Accepted, ReportErrors> {
        self.record(req, body.0, "admin")
    }
}
