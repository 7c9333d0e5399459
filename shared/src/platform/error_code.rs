//! The public error codes: the client's frontend keeps only its own UPPERCASE codes and replaces
//! any other by one derived from the status, and several of its screens branch on them. So the
//! code list is the frontend's, each with the status it usually travels with and what it means;
//! the API description's error table and the TypeScript union are generated from this enum.
//! The fine-grained `reason` (`agent_not_found`, …) travels beside it.

/// Declares the enum once with each code's status and meaning, so the table cannot drift.
macro_rules! error_codes {
    ($($variant:ident => $status:literal, $meaning:literal;)*) => {
        /// What went wrong, in the client's vocabulary (`error.code`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, poem_openapi::Enum)]
        #[oai(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum ErrorCode {
            $(#[doc = $meaning] $variant,)*
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The status a response with this code usually has.
            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// One sentence for the API description.
            pub fn meaning(self) -> &'static str {
                match self { $(ErrorCode::$variant => $meaning,)* }
            }
        }
    };
}

error_codes! {
    ValidationError => 400, "A field or parameter is invalid; `details` maps each field to its message.";
    InvalidEmail => 400, "The email address is not valid.";
    WeakPassword => 400, "The password does not meet the password policy; the message says why.";
    InvalidPhone => 400, "The phone number is not valid.";
    Unauthorized => 401, "No valid access token (missing, invalid, revoked or expired session).";
    InvalidCredentials => 401, "Wrong email or password.";
    TokenExpired => 401, "The access token has expired; refresh the session.";
    InsufficientCredits => 402, "The credit balance does not cover the action.";
    Forbidden => 403, "Signed in, but not allowed: an admin route, a suspended account, an unverified email.";
    NotFound => 404, "No such resource for this user (another tenant's id too), or no such route.";
    Conflict => 409, "The resource is not in a state that allows the action.";
    AlreadyExists => 409, "A resource with this identity exists (an email).";
    FileTooLarge => 413, "The body or file is over the route's limit.";
    InvalidFileType => 415, "The body's or file's type is not accepted.";
    FileCorrupted => 422, "The file cannot be read (damaged, encrypted, unreadable text).";
    UploadFailed => 422, "The file was read but holds nothing importable.";
    AccountLocked => 429, "Too many failed sign-ins; the account is locked for a while.";
    RateLimited => 429, "Too many requests; see `Retry-After`.";
    BolnaQuotaExceeded => 429, "The voice provider (ElevenLabs) is rate limiting; see `Retry-After`.";
    ServerError => 500, "A bug; the log has the detail under the request id.";
    BolnaError => 502, "The voice provider (ElevenLabs) refused or did not answer.";
    PaymentFailed => 502, "The payment provider (Stripe) refused or did not answer.";
    BadGateway => 502, "Another upstream service failed.";
    ServiceUnavailable => 503, "A dependency (database, queue, provider configuration) is unavailable; retry.";
    StripeNotConfigured => 503, "Payments are not configured on this deployment.";
    TimeoutError => 503, "The request took too long; retry.";
}

impl ErrorCode {
    /// The one mapping from a status and a fine-grained reason to the public code.
    pub fn classify(status: u16, reason: &str) -> ErrorCode {
        use ErrorCode::*;
        match (status, reason) {
            (_, "invalid_credentials") => InvalidCredentials,
            (401, "token_expired") => TokenExpired,
            (_, "account_locked") => AccountLocked,
            (_, "email_taken") => AlreadyExists,
            // The contact form branches on CONFLICT for a number that is taken.
            (_, "duplicate_contact") => Conflict,
            (_, "provider_rate_limited") => BolnaQuotaExceeded,
            (_, "payment_provider_error") => PaymentFailed,
            (_, "payments_not_configured") => StripeNotConfigured,
            (_, "request_timeout") => TimeoutError,
            (_, "provider_error" | "provider_unavailable") => BolnaError,
            (_, "unsupported_file" | "mislabelled_file" | "unsupported_media_type") => {
                InvalidFileType
            }
            (_, "corrupt_file" | "encrypted_file" | "invalid_encoding" | "file_too_complex") => {
                FileCorrupted
            }
            (_, "empty_file" | "no_phone_column" | "too_many_rows") => UploadFailed,
            (401, _) => Unauthorized,
            (402, _) => InsufficientCredits,
            (403, _) => Forbidden,
            (404, _) => NotFound,
            (409, _) => Conflict,
            (413, _) => FileTooLarge,
            (415, _) => InvalidFileType,
            (429, _) => RateLimited,
            (502, _) => BadGateway,
            (503, _) => ServiceUnavailable,
            (504, _) => TimeoutError,
            (500..=599, _) => ServerError,
            // 400, 405, 422 and any other client error: the request itself is wrong.
            _ => ValidationError,
        }
    }

    /// The code as it appears on the wire (`VALIDATION_ERROR`).
    pub fn as_str(self) -> String {
        use poem_openapi::types::ToJSON;
        self.to_json()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_clients_uppercase_words() {
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(!s.is_empty() && s.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
        }
        assert_eq!(
            ErrorCode::BolnaQuotaExceeded.as_str(),
            "BOLNA_QUOTA_EXCEEDED"
        );
    }

    #[test]
    fn statuses_classify_to_their_code() {
        for status in [400, 401, 402, 403, 404, 409, 413, 429, 500, 502, 503] {
            // A status alone picks a code that travels with that status.
            assert_eq!(ErrorCode::classify(status, "x").status(), status);
        }
        assert_eq!(
            ErrorCode::classify(401, "session_revoked"),
            ErrorCode::Unauthorized
        );
        assert_eq!(
            ErrorCode::classify(409, "email_taken"),
            ErrorCode::AlreadyExists
        );
        assert_eq!(
            ErrorCode::classify(400, "invalid_token"),
            ErrorCode::ValidationError
        );
    }
}
