//! The common error body and the one mapping from errors to HTTP. Every error a client sees —
//! from a handler, from request parsing, an unknown route or an oversized body — has the shape
//! `{ "error": { "code", "message", "details"?, "timestamp" } }`.

use chrono::{DateTime, Utc};
use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{Object, payload::Json};
use shared::AppError;

#[derive(Debug, Clone, Object)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `agent_not_found`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Extra structured information (the invalid field, a limit, …).
    #[oai(skip_serializing_if_is_none)]
    pub details: Option<serde_json::Value>,
    pub timestamp: DateTime<Utc>,
}

#[derive(Debug, Clone, Object)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

impl ErrorBody {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
                details: None,
                timestamp: Utc::now(),
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
            tracing::error!(error = %e, code = %e.code(), "request failed");
        }
        ErrorBody::new(e.code(), e.public_message()).with_details(e.details())
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
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_error", text)
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
    error_response(status, ErrorBody::new(code, message))
}
