//! Password hashing (argon2id) and the strength rules for new passwords.

use std::{collections::HashSet, sync::LazyLock};

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};

use crate::platform::error::{AppError, AppResult};

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common_passwords.txt")
        .lines()
        .map(str::trim)
        .collect()
});

/// Longest password accepted: argon2 handles any length, but unbounded input is a DoS lever.
const MAX_LENGTH: usize = 256;

/// Rejects passwords that are short, absurdly long, trivially common or the email itself.
pub fn check_strength(password: &str, email: &str, min_length: usize) -> AppResult<()> {
    // The sign-up form shows this message as it is (a `WEAK_PASSWORD` code is not its generic
    // "check your input" case), so it says what to change.
    let weak = |msg: &str| {
        Err(AppError::validation_as(
            crate::ErrorCode::WeakPassword,
            "password",
            msg,
        ))
    };
    let length = password.chars().count();
    if length < min_length {
        return weak(&format!("must be at least {min_length} characters"));
    }
    if length > MAX_LENGTH {
        return weak(&format!("must be at most {MAX_LENGTH} characters"));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return weak("is too common; choose another");
    }
    let local = email.split('@').next().unwrap_or_default();
    if lower == email || (!local.is_empty() && lower == local) {
        return weak("must not be your email address");
    }
    if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(c))
    {
        return weak("must not be one repeated character");
    }
    Ok(())
}

/// Argon2id with the crate's defaults (19 MiB, 2 passes), in a PHC string with its own salt.
/// Runs on the blocking pool: hashing takes tens of milliseconds of CPU.
pub async fn hash(password: &str) -> AppResult<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::internal(format!("argon2: {e}")))
    })
    .await
    .map_err(AppError::internal)?
}

/// Whether `password` matches `phc`. A malformed stored hash counts as a mismatch.
pub async fn verify(password: &str, phc: &str) -> bool {
    let (password, phc) = (password.to_owned(), phc.to_owned());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A real hash to verify against when the account does not exist, so that "no such user"
/// takes as long as "wrong password".
pub static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    Argon2::default()
        .hash_password(b"not-a-real-password-0f8e2c")
        .map(|h| h.to_string())
        .unwrap_or_default()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength_rules() {
        let email = "ada@example.com";
        assert!(check_strength("correct horse battery", email, 10).is_ok());
        assert!(check_strength("short", email, 10).is_err());
        assert!(
            check_strength("Password123", email, 10).is_err(),
            "common, any case"
        );
        assert!(check_strength("ada@example.com", email, 10).is_err());
        assert!(check_strength("aaaaaaaaaaaa", email, 10).is_err());
        assert!(check_strength(&"x".repeat(300), email, 10).is_err());
    }

    #[tokio::test]
    async fn hashes_verify_and_are_salted() {
        let a = hash("correct horse battery").await.unwrap();
        let b = hash("correct horse battery").await.unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &a).await);
        assert!(!verify("wrong horse battery", &a).await);
        assert!(!verify("anything", "not a phc string").await);
    }
}
