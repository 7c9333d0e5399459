//! The common error body and the one mapping from errors to HTTP. Every error a client sees —
//! from a handler, from request parsing, an unknown route or an oversized body — has the shape
//! `{ "success": false, "message", "error": { "code", "reason", "message", "details"?, "timestamp" } }`:
//! `code` is one of the client's own codes ([`ErrorCode`]), `reason` the fine-grained cause.

use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{Object, payload::Json};
use shared::{AppError, ErrorCode};

use crate::wire::Timestamp;

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ErrorDetail {
    /// What went wrong, in the client's vocabulary (see the error-code table).
    pub code: ErrorCode,
    /// The fine-grained, stable cause, e.g. `agent_not_found` (see the reason table).
    pub reason: String,
    /// Human-readable explanation.
    pub message: String,
    /// For invalid fields `{<field>: message}`; otherwise extra structured information
    /// (a limit, a retry delay, …).
    #[oai(skip_serializing_if_is_none)]
    pub details: Option<serde_json::Value>,
    pub timestamp: Timestamp,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ErrorBody {
    /// Always false.
    pub success: bool,
    /// `error.message` again, for the client's readers that take a top-level string (the
    /// audio player's `body.message || body.error`).
    pub message: String,
    pub error: ErrorDetail,
}

impl ErrorBody {
    /// A body for an error raised at the edge, classified like every domain error.
    pub fn new(status: StatusCode, reason: impl Into<String>, message: impl Into<String>) -> Self {
        let reason = reason.into();
        Self::coded(
            ErrorCode::classify(status.as_u16(), &reason),
            reason,
            message,
        )
    }

    fn coded(code: ErrorCode, reason: String, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            success: false,
            message: message.clone(),
            error: ErrorDetail {
                code,
                reason,
                message,
                details: None,
                timestamp: Timestamp::now(),
            },
        }
    }

    pub fn with_details(mut self, details: Option<serde_json::Value>) -> Self {
        self.error.details = details;
        self
    }
}

impl From<&AppError> for ErrorBody {
    fn from(e: &AppError) -> Self {
        if e.status() >= 500 {
            tracing::error!(error = %e, reason = %e.reason(), "request failed");
        }
        ErrorBody::coded(e.code(), e.reason(), e.public_message()).with_details(e.details())
    }
}

/// A complete error response outside poem-openapi's typed responses (middleware, fallbacks).
pub fn error_response(status: StatusCode, body: ErrorBody) -> Response {
    let mut resp = Json(body).into_response();
    resp.set_status(status);
    resp
}

/// Declares an endpoint's error responses: each listed status becomes a documented response
/// with the common body (and `Retry-After` when the error has one), and any other status (a
/// database outage, a bug) falls into `Other`, so the spec stays honest and no error escapes
/// the body shape.
#[macro_export]
macro_rules! api_errors {
    ($(#[$meta:meta])* $name:ident { $($status:literal => $variant:ident : $doc:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, poem_openapi::ApiResponse)]
        pub enum $name {
            $(
                #[doc = $doc]
                #[oai(status = $status)]
                $variant(
                    poem_openapi::payload::Json<$crate::error::ErrorBody>,
                    /// Seconds to wait before retrying (429 only).
                    #[oai(header = "Retry-After")] Option<u64>,
                ),
            )*
            /// Unexpected failure (`internal_error`, `database_unavailable`, …).
            Other(
                poem::http::StatusCode,
                poem_openapi::payload::Json<$crate::error::ErrorBody>,
            ),
        }

        impl From<shared::AppError> for $name {
            fn from(e: shared::AppError) -> Self {
                let body = poem_openapi::payload::Json($crate::error::ErrorBody::from(&e));
                let retry_after = e.retry_after();
                match e.status() {
                    $($status => Self::$variant(body, retry_after),)*
                    other => Self::Other(
                        poem::http::StatusCode::from_u16(other)
                            .unwrap_or(poem::http::StatusCode::INTERNAL_SERVER_ERROR),
                        body,
                    ),
                }
            }
        }
    };
}

/// Turns any error that reached the edge (routing, parsing, middleware) into the common body.
pub fn from_poem_error(err: poem::Error) -> Response {
    use poem::error::{MethodNotAllowedError, NotFoundError};
    use poem_openapi::error::{
        AuthorizationError, ContentTypeError, ParseParamError, ParsePathError,
        ParseRequestPayloadError,
    };

    // A typed error response from a handler already has the common body.
    if err.is_from_response() {
        return err.into_response();
    }
    let status = err.status();
    let (status, code, message) = if err.is::<NotFoundError>() {
        (
            StatusCode::NOT_FOUND,
            "route_not_found",
            "no such route".to_string(),
        )
    } else if err.is::<MethodNotAllowedError>() || status == StatusCode::METHOD_NOT_ALLOWED {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed on this route".to_string(),
        )
    } else if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        // A body that is JSON but of the wrong shape is a validation failure; one that is
        // not JSON at all is malformed (serde_json's syntax errors name a line and column).
        let text = e.to_string();
        if text.contains("failed to parse \"") || text.contains("(occurred while parsing") {
            (StatusCode::BAD_REQUEST, "validation_error", text)
        } else {
            (StatusCode::BAD_REQUEST, "malformed_json", text)
        }
    } else if err.is::<ParseParamError>() || err.is::<ParsePathError>() {
        (
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            err.to_string(),
        )
    } else if err.is::<ContentTypeError>() {
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            err.to_string(),
        )
    } else if err.is::<AuthorizationError>() {
        (
            StatusCode::UNAUTHORIZED,
            "missing_token",
            "sign in first: send Authorization: Bearer <token>".to_string(),
        )
    } else if status == StatusCode::PAYLOAD_TOO_LARGE {
        (
            status,
            "payload_too_large",
            "request body is too large".to_string(),
        )
    } else if status.is_server_error() {
        tracing::error!(error = %err, "unhandled error");
        (
            status,
            "internal_error",
            "an internal error occurred".to_string(),
        )
    } else {
        (status, "bad_request", err.to_string())
    };
    error_response(status, ErrorBody::new(status, code, message))
}

/// Every `reason` a client can receive, by status, for the API description. The document test
/// holds each reason an endpoint documents to this list.
pub const REASONS: &[(u16, &str, &str)] = &[
    (
        400,
        "invalid_parameter",
        "A path or query value is malformed (not a UUID, not a number, …).",
    ),
    (400, "malformed_json", "The body is not JSON."),
    (400, "bad_request", "Any other unreadable request."),
    (
        400,
        "invalid_token",
        "An email link token is unknown or already used.",
    ),
    (400, "token_expired", "An email link token has expired."),
    (
        400,
        "already_verified",
        "A sign-up link used again: the address is verified.",
    ),
    (
        400,
        "invalid_range",
        "A `Range` header that cannot be served.",
    ),
    (
        400,
        "invalid_event",
        "A webhook body that is not an event of its provider.",
    ),
    (
        400,
        "invalid_payload",
        "A webhook body that is not UTF-8 JSON.",
    ),
    (
        400,
        "unreadable_body",
        "The body could not be read to the end.",
    ),
    (
        400,
        "missing_signature",
        "Stripe: no `Stripe-Signature` header.",
    ),
    (
        400,
        "invalid_signature",
        "Stripe: the signature does not match.",
    ),
    (
        400,
        "stale_signature",
        "Stripe: the signed timestamp is too old.",
    ),
    (
        400,
        "wrong_password",
        "The current password is wrong (changing the password).",
    ),
    (
        400,
        "google_sign_in_failed",
        "Google sign-in: the state, the code or Google's answer was not valid.",
    ),
    (401, "missing_token", "No access token was sent."),
    (
        401,
        "invalid_token",
        "The access token's signature or claims are wrong.",
    ),
    (401, "malformed_token", "The access token is not a JWT."),
    (401, "unsigned_token", "The access token is not signed."),
    (
        401,
        "invalid_algorithm",
        "The access token uses an algorithm we do not accept.",
    ),
    (
        401,
        "unsupported_token",
        "The access token is of an issuer we do not accept.",
    ),
    (
        401,
        "unknown_key",
        "The access token names a signing key we do not know.",
    ),
    (
        401,
        "session_revoked",
        "The session was signed out or the password changed.",
    ),
    (401, "invalid_credentials", "Wrong email or password."),
    (401, "invalid_refresh_token", "Unknown refresh token."),
    (
        401,
        "refresh_token_expired",
        "The refresh token has expired.",
    ),
    (
        401,
        "refresh_token_reused",
        "The refresh token was already used; the session is revoked.",
    ),
    (
        401,
        "invalid_integration_secret",
        "Caller lookup: wrong or revoked `X-Switchboard-Secret`.",
    ),
    (
        401,
        "missing_signature",
        "ElevenLabs: no `ElevenLabs-Signature` header.",
    ),
    (
        401,
        "invalid_signature",
        "ElevenLabs: the signature matches no configured secret.",
    ),
    (
        401,
        "stale_signature",
        "ElevenLabs: the signed timestamp is too old or in the future.",
    ),
    (
        401,
        "sign_in_required",
        "A shared report for signed-in users was opened without a bearer token.",
    ),
    (
        401,
        "share_password_required",
        "A password-protected shared report was opened without its password.",
    ),
    (402, "insufficient_credits", "The balance is not positive."),
    (403, "account_suspended", "An admin suspended the account."),
    (403, "admin_required", "The route is for admins."),
    (
        403,
        "super_admin_required",
        "The route is for super admins (Configuration).",
    ),
    (
        403,
        "builtin_auth_disabled",
        "Built-in accounts are off (Stack Auth only).",
    ),
    (403, "email_not_verified", "Verify the email address first."),
    (
        403,
        "share_not_allowed",
        "The shared report names neither the viewer's address nor their domain.",
    ),
    (
        403,
        "share_password_invalid",
        "The password is not the shared report's.",
    ),
    (
        403,
        "feature_disabled",
        "An admin switched this feature off for the account (Configuration > Feature flags).",
    ),
    (404, "route_not_found", "No such route."),
    (
        404,
        "<resource>_not_found",
        "No such resource for this user (another tenant's id too): `agent_not_found`, `analytics_not_found` (a call never scored), `api_key_not_found`, `audit_entry_not_found`, `call_not_found`, `campaign_not_found`, `chat_not_found`, `contact_not_found`, `customer_not_found`, `do_not_call_number_not_found`, `follow_up_not_found`, `import_not_found`, `lead_not_found`, `notification_not_found`, `feature_flag_not_found`, `phone_number_not_found`, `purchase_not_found`, `report_not_found`, `report_schedule_not_found`, `report_share_not_found` (also a shared link's wrong token, revoked or expired), `integration_key_not_found`, `recording_not_found`, `user_not_found`, `webhook_event_not_found`.",
    ),
    (
        405,
        "method_not_allowed",
        "The route does not take this method.",
    ),
    (
        409,
        "duplicate_contact",
        "A contact with this phone number exists.",
    ),
    (409, "email_taken", "The email is already registered."),
    (
        409,
        "idempotency_key_reused",
        "The idempotency key was used with other values.",
    ),
    (409, "agent_inactive", "The agent is a draft."),
    (
        409,
        "campaign_state",
        "The campaign's status does not allow the button (start a pending one, pause an active one, …).",
    ),
    (
        409,
        "campaign_running",
        "An active or paused campaign cannot be deleted: cancel it first.",
    ),
    (
        409,
        "call_has_no_number",
        "The call has no phone number to put on the do-not-call list.",
    ),
    (
        409,
        "agent_already_registered",
        "An admin registered this ElevenLabs agent already.",
    ),
    (409, "agent_not_callable", "The agent is a chat agent."),
    (
        409,
        "agent_not_synced",
        "The agent is not on ElevenLabs yet.",
    ),
    (
        409,
        "agent_has_no_phone_number",
        "The call agent has no phone number.",
    ),
    (
        409,
        "contact_do_not_call",
        "The contact is marked do-not-call.",
    ),
    (
        409,
        "already_customer",
        "The lead is a customer already (`details.customer_id`).",
    ),
    (
        409,
        "not_a_chat_agent",
        "A chat session was asked of a call agent.",
    ),
    (
        409,
        "share_limit_reached",
        "The report has 100 live shares; revoke one first.",
    ),
    (
        409,
        "share_has_no_recipients",
        "The share names no users to email.",
    ),
    (
        409,
        "phone_number_taken",
        "The phone number is on the platform already.",
    ),
    (
        409,
        "phone_number_inactive",
        "The phone number is switched off; activate it first.",
    ),
    (
        409,
        "phone_number_unknown",
        "The agent's phone number no longer exists on ElevenLabs.",
    ),
    (
        409,
        "purchase_not_paid",
        "The purchase has no receipt yet, or was closed without its credits.",
    ),
    (
        409,
        "payment_not_completed",
        "Stripe does not report the PaymentIntent as succeeded (`details.status`).",
    ),
    (
        409,
        "payment_mismatch",
        "The PaymentIntent's amount or currency is not the purchase's.",
    ),
    (
        409,
        "still_pending",
        "The webhook event is still waiting for its job.",
    ),
    (
        409,
        "already_processed",
        "The webhook event was applied; nothing to replay.",
    ),
    (
        409,
        "not_replayable",
        "Events of this provider are not replayed.",
    ),
    (
        409,
        "cannot_change_self",
        "Admins cannot suspend or demote themselves.",
    ),
    (
        409,
        "last_admin",
        "The last admin cannot be demoted or suspended.",
    ),
    (
        413,
        "payload_too_large",
        "The body is over the route's limit (`details.limit_bytes`).",
    ),
    (
        415,
        "unsupported_media_type",
        "The body's content type is not accepted.",
    ),
    (
        400,
        "validation_error",
        "A field is invalid (`validation_error`; `details` maps each field to its message).",
    ),
    (422, "empty_file", "The import file has no data rows."),
    (
        422,
        "no_phone_column",
        "The import file has no phone column.",
    ),
    (
        422,
        "too_many_rows",
        "The import file has more rows than allowed.",
    ),
    (422, "corrupt_file", "The import file is damaged."),
    (
        422,
        "file_too_complex",
        "The spreadsheet expands to far more data than a contact list holds.",
    ),
    (422, "invalid_encoding", "The CSV file is not UTF-8 text."),
    (
        422,
        "encrypted_file",
        "The import file is password-protected.",
    ),
    (
        422,
        "unsupported_file",
        "The import file is not a spreadsheet or CSV.",
    ),
    (
        422,
        "mislabelled_file",
        "The import file's content does not match its extension.",
    ),
    (429, "rate_limited", "Too many requests; see `Retry-After`."),
    (
        429,
        "account_locked",
        "Too many failed sign-ins; wait before trying again.",
    ),
    (429, "concurrency_limit", "Too many calls in flight."),
    (429, "too_many_streams", "Too many live event streams open."),
    (
        429,
        "provider_rate_limited",
        "ElevenLabs is rate limiting; see `Retry-After`.",
    ),
    (
        500,
        "internal_error",
        "A bug; the log has the detail under the request id.",
    ),
    (
        502,
        "provider_error",
        "ElevenLabs refused the request (its message is passed on).",
    ),
    (502, "provider_unavailable", "ElevenLabs did not answer."),
    (
        502,
        "payment_provider_error",
        "Stripe refused or did not answer.",
    ),
    (
        503,
        "database_unavailable",
        "The database is not reachable; retry.",
    ),
    (503, "queue_unavailable", "Redis is not reachable; retry."),
    (
        503,
        "provider_not_configured",
        "No ElevenLabs API key is configured.",
    ),
    (503, "payments_not_configured", "Stripe is not configured."),
    (
        503,
        "google_not_configured",
        "Google sign-in is not configured.",
    ),
    (
        503,
        "webhook_not_configured",
        "No webhook secret is configured.",
    ),
    (
        503,
        "encryption_not_configured",
        "Secret settings need `CONFIG_ENCRYPTION_KEY`.",
    ),
];

/// The error tables of the API description (markdown): the codes, generated from
/// [`ErrorCode`], then the reasons.
pub fn error_code_table() -> String {
    let mut table = String::from("| Status | Code | Meaning |\n|---|---|---|\n");
    for code in ErrorCode::ALL {
        table.push_str(&format!(
            "| {} | `{code}` | {} |\n",
            code.status(),
            code.meaning()
        ));
    }
    table.push_str("\nReasons (`error.reason`):\n\n| Status | Reason | Meaning |\n|---|---|---|\n");
    for (status, reason, meaning) in REASONS {
        table.push_str(&format!("| {status} | `{reason}` | {meaning} |\n"));
    }
    table
}
