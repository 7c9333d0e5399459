//! Error reports from the client's frontend (its error boundaries post what crashed). They are
//! accepted, bounded (the body limit, the API's request budget, a length cap per field),
//! logged with the user when a valid token came along, and never stored or echoed back.

use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use shared::Services;

use crate::{admin::AdminAuth, api_errors, security::optional_claims, tags::Tag, wire::Done};

/// Longest text kept from any one field of a report.
const FIELD_CHARS: usize = 2_000;

/// What an error boundary sends; other fields are ignored. The lengths keep a report well
/// under the body limit.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase")]
#[oai(skip_serializing_if_is_none)]
pub struct ClientErrorReport {
    #[oai(nullable, validator(max_length = 2000))]
    pub message: Option<String>,
    #[oai(nullable, validator(max_length = 16000))]
    pub stack: Option<String>,
    #[oai(nullable, validator(max_length = 16000))]
    pub component_stack: Option<String>,
    #[oai(nullable, validator(max_length = 2000))]
    pub url: Option<String>,
    #[oai(nullable, validator(max_length = 500))]
    pub user_agent: Option<String>,
}

#[derive(Debug, ApiResponse)]
pub enum Accepted {
    /// Logged.
    #[oai(status = 202)]
    Accepted(Json<Done>),
}

api_errors!(ReportErrors {
    400 => Invalid: "The body is not a report (`malformed_json`, `validation_error`).",
});

api_errors!(AdminReportErrors {
    400 => Invalid: "The body is not a report (`malformed_json`, `validation_error`).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, …).",
    403 => Forbidden: "Not an admin (`admin_required`).",
});

pub struct ClientErrorApi {
    pub services: Services,
}

impl ClientErrorApi {
    fn record(&self, req: &poem::Request, report: ClientErrorReport, area: &str) -> Accepted {
        let user = optional_claims(&self.services, req).map(|c| c.sub);
        let text = |value: &Option<String>| {
            value
                .as_deref()
                .map(|s| s.chars().take(FIELD_CHARS).collect::<String>())
                .unwrap_or_default()
        };
        tracing::warn!(
            area,
            user_id = user.map(|u| u.to_string()).unwrap_or_default(),
            message = %text(&report.message),
            url = %text(&report.url),
            stack = %text(&report.stack),
            "client error reported"
        );
        Accepted::Accepted(Json(Done::new("Error report received")))
    }
}

#[OpenApi(tag = "Tag::Account")]
impl ClientErrorApi {
    /// Report a client error
    ///
    /// What the frontend's error boundary caught, e.g.
    /// `{"message": "…", "stack": "…", "url": "…"}`; logged (with the user when a valid token
    /// comes along), not stored, never echoed.
    #[oai(path = "/api/errors", method = "post")]
    async fn report(
        &self,
        req: &poem::Request,
        body: Json<ClientErrorReport>,
    ) -> Result<Accepted, ReportErrors> {
        Ok(self.record(req, body.0, "app"))
    }

    /// Report an admin-area client error
    ///
    /// What the admin area's error boundary caught; for admins, like every admin path.
    #[oai(path = "/api/admin/errors", method = "post")]
    async fn report_admin(
        &self,
        auth: AdminAuth,
        req: &poem::Request,
        body: Json<ClientErrorReport>,
    ) -> Result<Accepted, AdminReportErrors> {
        auth.admin(&self.services, req).await?;
        Ok(self.record(req, body.0, "admin"))
    }
}
