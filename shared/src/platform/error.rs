//! The one domain error. Each variant has a fine-grained `reason` (e.g. `agent_not_found`), the
//! public [`ErrorCode`] clients switch on, an HTTP status the gateway maps it to, and a message
//! safe to show a user.

use serde_json::Value;

pub use crate::platform::error_code::ErrorCode;

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is not well-formed (400).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// A field failed validation (400); `field` names it, `code` says what kind of value it
    /// is (the client shows some kinds' messages as they are).
    #[error("{message}")]
    Validation {
        code: ErrorCode,
        field: String,
        message: String,
    },
    /// Well-formed but unusable content, e.g. an upload that is no spreadsheet (422).
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    #[error("insufficient credits: {message}")]
    InsufficientCredits { message: String },
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// Unknown ids, and ids owned by another tenant, are both simply "not found".
    #[error("{resource} not found")]
    NotFound { resource: &'static str },
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        details: Option<Value>,
    },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// Too many requests (429); `code` is `rate_limited` or a more specific reason.
    #[error("{message}")]
    RateLimited {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    /// A third party failed or refused (502); the message is the provider's, minus secrets.
    #[error("{message}")]
    Provider { code: &'static str, message: String },
    /// A dependency (database, queue, provider configuration) is not available (503).
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// A bug or an unexpected state; details go to the log, never to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation_as(ErrorCode::ValidationError, field, message)
    }

    /// A validation failure of a kind the client knows (`WEAK_PASSWORD`, `INVALID_EMAIL`, …).
    pub fn validation_as(
        code: ErrorCode,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Validation {
            code,
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(resource: &'static str) -> Self {
        Self::NotFound { resource }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unavailable {
            code,
            message: message.into(),
        }
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self::RateLimited {
            code: "rate_limited",
            message: format!("too many requests; retry in {retry_after_secs} s"),
            retry_after_secs,
        }
    }

    /// Seconds a client should wait before retrying, for the `Retry-After` header.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::Internal(message.to_string())
    }

    /// The public code clients switch on: one of the client's own codes, classified once.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Validation { code, .. } => *code,
            other => ErrorCode::classify(other.status(), &other.reason()),
        }
    }

    /// The fine-grained, stable reason (`agent_not_found`, `email_taken`, …): sent beside the
    /// code for API clients and logs.
    pub fn reason(&self) -> String {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. }
            | Self::Provider { code, .. }
            | Self::Unavailable { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::RateLimited { code, .. } => (*code).to_string(),
            Self::Validation { .. } => "validation_error".into(),
            Self::InsufficientCredits { .. } => "insufficient_credits".into(),
            Self::NotFound { resource } => format!("{resource}_not_found"),
            Self::PayloadTooLarge { .. } => "payload_too_large".into(),
            Self::Database(e) if is_unreachable(e) => "database_unavailable".into(),
            Self::Database(_) | Self::Internal(_) => "internal_error".into(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest { .. } | Self::Validation { .. } => 400,
            Self::Unauthorized { .. } => 401,
            Self::InsufficientCredits { .. } => 402,
            Self::Forbidden { .. } => 403,
            Self::NotFound { .. } => 404,
            Self::Conflict { .. } => 409,
            Self::PayloadTooLarge { .. } => 413,
            Self::Unprocessable { .. } => 422,
            Self::RateLimited { .. } => 429,
            Self::Provider { .. } => 502,
            Self::Unavailable { .. } => 503,
            Self::Database(e) if is_unreachable(e) => 503,
            Self::Database(_) | Self::Internal(_) => 500,
        }
    }

    /// What a client may read. Internal failures get a generic sentence; the detail is logged.
    pub fn public_message(&self) -> String {
        match self {
            Self::Database(e) if is_unreachable(e) => "the database is not reachable".into(),
            Self::Database(_) | Self::Internal(_) => "an internal error occurred".into(),
            // The message alone ("must be at most 120 characters") needs its subject.
            Self::Validation { field, message, .. } => {
                format!("{} {message}", field.replace('_', " "))
            }
            other => other.to_string(),
        }
    }

    pub fn details(&self) -> Option<Value> {
        match self {
            // The client maps `{<field>: message}` onto its form inputs.
            Self::Validation { field, message, .. } => {
                Some(serde_json::json!({ field.clone(): message }))
            }
            Self::Conflict { details, .. } => details.clone(),
            Self::PayloadTooLarge { limit } => Some(serde_json::json!({ "limit_bytes": limit })),
            Self::RateLimited {
                retry_after_secs, ..
            } => Some(serde_json::json!({ "retry_after_secs": retry_after_secs })),
            _ => None,
        }
    }
}

/// Whether a database error means "cannot reach the database" rather than "bad query".
pub(crate) fn is_unreachable(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx::Error};
    match e {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
        // A connection lost mid-request (the server restarting, failing over, the network):
        // SQLSTATE classes 08 (connection exception) and 57P (shutdown), or the socket itself.
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => {
                    true
                }
                Error::Database(db) => db
                    .code()
                    .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
                _ => false,
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_are_stable() {
        let cases = [
            (AppError::not_found("agent"), "agent_not_found", 404),
            (
                AppError::validation("email", "bad"),
                "validation_error",
                400,
            ),
            (AppError::rate_limited(3), "rate_limited", 429),
            (AppError::internal("boom"), "internal_error", 500),
            (
                AppError::PayloadTooLarge { limit: 10 },
                "payload_too_large",
                413,
            ),
        ];
        for (err, code, status) in cases {
            assert_eq!(err.reason(), code);
            assert_eq!(err.status(), status);
        }
    }

    #[test]
    fn internal_details_never_reach_the_client() {
        let err = AppError::internal("password=hunter2 in query");
        assert!(!err.public_message().contains("hunter2"));
    }
}
