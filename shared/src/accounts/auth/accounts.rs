//! Built-in accounts: register, verify email, sign in with lockout, rotating refresh tokens
//! with reuse detection, password reset and change, email change.

pub use crate::entities::auth_tokens::TokenPurpose;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{passwords, tokens};
use crate::{
    Config, Services,
    accounts::users::{NewUser, UserStatus, normalize_email},
    entities::{auth_tokens, background_jobs, refresh_tokens, users},
    platform::after_commit::AfterCommit,
    platform::config::AuthMode,
    platform::email::{self, OutgoingEmail},
    platform::error::{AppError, AppResult},
};

/// A signed-in session: a short-lived access token and a rotating refresh token.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub user: users::Model,
}

fn require_builtin(config: &Config) -> AppResult<()> {
    match config.auth.mode {
        AuthMode::Builtin => Ok(()),
        AuthMode::StackAuth => Err(AppError::forbidden(
            "builtin_auth_disabled",
            "accounts are managed by Stack Auth on this deployment",
        )),
    }
}

/// The client's sign-in form recognises this code and wording.
fn invalid_credentials() -> AppError {
    AppError::unauthorized("invalid_credentials", "Invalid email or password")
}

fn email_taken() -> AppError {
    // The sign-up form looks for "already exists" in the message.
    AppError::conflict("email_taken", "A user with this email already exists")
}

/// Creates a single-use link token; only its hash is stored.
async fn create_link_in<C: ConnectionTrait>(
    txn: &C,
    user_id: Uuid,
    purpose: TokenPurpose,
    new_email: Option<String>,
    ttl_secs: u64,
) -> AppResult<String> {
    let token = tokens::random_token();
    let now = Utc::now();
    auth_tokens::ActiveModel {
        id: Set(crate::platform::ids::next()),
        user_id: Set(user_id),
        purpose: Set(purpose),
        token_hash: Set(tokens::hash_token(&token)),
        new_email: Set(new_email),
        expires_at: Set(now + Duration::seconds(ttl_secs as i64)),
        used_at: Set(None),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(token)
}

/// The stored row of an emailed link token, whatever its state.
async fn find_link<C: ConnectionTrait>(
    db: &C,
    token: &str,
) -> AppResult<Option<auth_tokens::Model>> {
    Ok(auth_tokens::Entity::find()
        .filter(auth_tokens::Column::TokenHash.eq(tokens::hash_token(token.trim())))
        .one(db)
        .await?)
}

fn invalid_link() -> AppError {
    AppError::bad_request(
        "invalid_token",
        "this link is invalid or has already been used",
    )
}

/// The link token if it is one of `purposes`, unused and unexpired.
async fn usable_link_in<C: ConnectionTrait>(
    db: &C,
    token: &str,
    purposes: &[TokenPurpose],
) -> AppResult<auth_tokens::Model> {
    let row = find_link(db, token)
        .await?
        .filter(|row| purposes.contains(&row.purpose) && row.used_at.is_none())
        .ok_or_else(invalid_link)?;
    if row.expires_at < Utc::now() {
        return Err(AppError::bad_request(
            "token_expired",
            "this link has expired; request a new one",
        ));
    }
    Ok(row)
}

/// Marks a link token used and returns it; fails for unknown, used, expired or
/// wrong-purpose tokens. The conditional update makes a double use impossible.
async fn consume_link_in<C: ConnectionTrait>(
    txn: &C,
    token: &str,
    purposes: &[TokenPurpose],
) -> AppResult<auth_tokens::Model> {
    let row = usable_link_in(txn, token, purposes).await?;
    let used = auth_tokens::Entity::update_many()
        .col_expr(auth_tokens::Column::UsedAt, Expr::value(Utc::now()))
        .filter(auth_tokens::Column::Id.eq(row.id))
        .filter(auth_tokens::Column::UsedAt.is_null())
        .exec(txn)
        .await?;
    if used.rows_affected == 0 {
        return Err(invalid_link());
    }
    Ok(row)
}

/// Starts a session (a new refresh-token family) or continues `family`; returns the session
/// and the new refresh token's row id.
async fn issue_session_in<C: ConnectionTrait>(
    txn: &C,
    services: &Services,
    user: users::Model,
    family: Option<Uuid>,
) -> AppResult<(Session, Uuid)> {
    let refresh = tokens::random_token();
    let now = Utc::now();
    let id = crate::platform::ids::next();
    let family = family.unwrap_or_else(crate::platform::ids::next);
    refresh_tokens::ActiveModel {
        id: Set(id),
        user_id: Set(user.id),
        family_id: Set(family),
        token_hash: Set(tokens::hash_token(&refresh)),
        expires_at: Set(now + Duration::seconds(services.config.auth.refresh_token_ttl_secs as i64)),
        revoked_at: Set(None),
        replaced_by: Set(None),
        created_at: Set(now),
        successor_sealed: Set(None),
        replaced_at: Set(None),
    }
    .insert(txn)
    .await?;
    let session = Session {
        access_token: services
            .auth
            .access
            .issue(user.id, user.session_epoch, Some(family))?,
        refresh_token: refresh,
        expires_in: services.auth.access.ttl_secs(),
        user,
    };
    Ok((session, id))
}

/// Creates a verification link for `to` and queues the email carrying it; returns the email's
/// job to ring once the transaction is committed.
async fn queue_verification_in<C: ConnectionTrait>(
    txn: &C,
    config: &Config,
    user_id: Uuid,
    to: &str,
) -> AppResult<background_jobs::Model> {
    let token = create_link_in(
        txn,
        user_id,
        TokenPurpose::VerifyEmail,
        None,
        config.auth.verification_token_ttl_secs,
    )
    .await?;
    let (_, job) =
        email::queue_email_in(txn, config, verification_email(config, user_id, to, &token)).await?;
    Ok(job)
}

fn verification_email(config: &Config, user_id: Uuid, to: &str, token: &str) -> OutgoingEmail {
    // The frontend's page verifies the token and opens its verification gate.
    let link = format!("{}/verify-email?token={token}", config.server.frontend_url);
    OutgoingEmail {
        user_id: Some(user_id),
        to: to.into(),
        subject: "Verify your email for Switchboard".into(),
        text_body: format!(
            "Welcome to Switchboard!\n\nConfirm your email address by opening this link:\n{link}\n\n\
             The link expires in {} hours. If you did not sign up, ignore this message.\n",
            config.auth.verification_token_ttl_secs / 3600
        ),
        html_body: Some(format!(
            "<p>Welcome to Switchboard!</p><p><a href=\"{link}\">Confirm your email address</a></p>\
             <p>The link expires in {} hours. If you did not sign up, ignore this message.</p>",
            config.auth.verification_token_ttl_secs / 3600
        )),
    }
}

/// Registers a built-in account: the user, the free credits, a verification link and its
/// email, and a first session — all in one transaction.
pub async fn register(
    services: &Services,
    email: &str,
    password: &str,
    name: Option<String>,
) -> AppResult<Session> {
    let config = &*services.settings().await;
    require_builtin(config)?;
    let email = normalize_email(email)?;
    passwords::check_strength(password, &email, config.auth.password_min_length)?;
    let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 120) {
        return Err(AppError::validation(
            "name",
            "must be at most 120 characters",
        ));
    }
    let hash = passwords::hash(password).await?;
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let (user, created) = crate::accounts::users::create_in(
        &txn,
        config,
        NewUser {
            email: email.clone(),
            external_id: None,
            auth_provider: "email".into(),
            password_hash: Some(hash),
            name,
            email_verified: false,
            google_subject: None,
        },
    )
    .await?;
    if !created {
        return Err(email_taken());
    }
    let job = queue_verification_in(&txn, config, user.id, &email).await?;
    let (session, _) = issue_session_in(&txn, services, user, None).await?;
    AfterCommit::ringing(job).commit(services, txn).await?;
    tracing::info!(user_id = %session.user.id, "account registered");
    Ok(session)
}

/// Whether `token` is a sign-up link already used for an address that is verified.
async fn already_verified(services: &Services, token: &str) -> AppResult<bool> {
    let Some(row) = find_link(&services.db, token).await? else {
        return Ok(false);
    };
    if row.purpose != TokenPurpose::VerifyEmail || row.used_at.is_none() {
        return Ok(false);
    }
    Ok(users::Entity::find_by_id(row.user_id)
        .one(&services.db)
        .await?
        .is_some_and(|user| user.email_verified_at.is_some()))
}

fn verified_already() -> AppError {
    AppError::bad_request(
        "already_verified",
        "This email address is already verified; continue to your dashboard",
    )
}

/// Confirms an email address (after sign-up or an email change). A sign-up link used again
/// once its address is verified says so (`already_verified`) rather than "invalid link" — the
/// frontend's page posts its token again after the first success, and people click twice. It
/// is an error on purpose: that page re-posts after every success, so a second success would
/// keep it posting until the browser's own request limit signs the user out.
pub async fn verify_email(services: &Services, token: &str) -> AppResult<users::Model> {
    if already_verified(services, token).await? {
        return Err(verified_already());
    }
    match verify_once(services, token).await {
        // A concurrent request spent the link first.
        Err(e) if e.reason() == "invalid_token" && already_verified(services, token).await? => {
            Err(verified_already())
        }
        other => other,
    }
}

async fn verify_once(services: &Services, token: &str) -> AppResult<users::Model> {
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let link = consume_link_in(
        &txn,
        token,
        &[TokenPurpose::VerifyEmail, TokenPurpose::ChangeEmail],
    )
    .await?;
    let user = users::Entity::find_by_id(link.user_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    let mut active: users::ActiveModel = user.into();
    if link.purpose == TokenPurpose::ChangeEmail {
        let new_email = link.new_email.clone().unwrap_or_default();
        let taken = users::Entity::find()
            .filter(users::Column::Email.eq(new_email.as_str()))
            .filter(users::Column::Id.ne(link.user_id))
            .one(&txn)
            .await?;
        if taken.is_some() {
            return Err(email_taken());
        }
        active.email = Set(new_email);
    }
    active.email_verified_at = Set(Some(Utc::now()));
    active.updated_at = Set(Utc::now());
    let user = active.update(&txn).await?;
    txn.commit().await?;
    Ok(user)
}

async fn find_by_email(db: &DatabaseConnection, email: &str) -> AppResult<Option<users::Model>> {
    Ok(users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .one(db)
        .await?)
}

/// Sends the signed-in user a fresh verification link (the gate's "Resend" button). Nothing is
/// sent to an address that is already verified.
pub async fn send_verification(services: &Services, user_id: Uuid) -> AppResult<users::Model> {
    let user = crate::accounts::users::get(&services.db, user_id).await?;
    if user.email_verified_at.is_some() {
        return Ok(user);
    }
    let config = &*services.settings().await;
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let job = queue_verification_in(&txn, config, user.id, &user.email).await?;
    AfterCommit::ringing(job).commit(services, txn).await?;
    Ok(user)
}

/// Signs in. After `LOGIN_MAX_FAILURES` wrong passwords in a row the account is locked for
/// `LOGIN_LOCK_SECS` and its owner is told by email; while locked the answer is the same
/// whatever the password, so it reveals nothing.
pub async fn login(services: &Services, email: &str, password: &str) -> AppResult<Session> {
    let config = &services.config;
    require_builtin(config)?;
    let Ok(email) = normalize_email(email) else {
        return Err(invalid_credentials());
    };
    let user = find_by_email(&services.db, &email).await?;
    let Some(user) = user.filter(|u| u.password_hash.is_some()) else {
        passwords::verify(password, &passwords::DUMMY_HASH).await;
        return Err(invalid_credentials());
    };
    let now = Utc::now();
    if let Some(until) = user.locked_until.filter(|until| *until > now) {
        return Err(locked(until, now));
    }
    let hash = user.password_hash.clone().unwrap_or_default();
    if !passwords::verify(password, &hash).await {
        return Err(record_failed_login(services, &user).await?);
    }
    if user.status == UserStatus::Suspended {
        return Err(AppError::forbidden(
            "account_suspended",
            "this account is suspended",
        ));
    }
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let mut active: users::ActiveModel = user.into();
    active.failed_logins = Set(0);
    active.locked_until = Set(None);
    active.last_seen_at = Set(Some(now));
    let user = active.update(&txn).await?;
    let (session, _) = issue_session_in(&txn, services, user, None).await?;
    txn.commit().await?;
    Ok(session)
}

/// A new session for a user who proved who they are elsewhere (Google).
pub async fn start_session(services: &Services, user: users::Model) -> AppResult<Session> {
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let mut active: users::ActiveModel = user.into();
    active.last_seen_at = Set(Some(Utc::now()));
    let user = active.update(&txn).await?;
    let (session, _) = issue_session_in(&txn, services, user, None).await?;
    txn.commit().await?;
    Ok(session)
}

fn locked(until: DateTime<Utc>, now: DateTime<Utc>) -> AppError {
    AppError::RateLimited {
        code: "account_locked",
        // The sign-in form looks for "locked".
        message: "Too many failed sign-in attempts: the account is temporarily locked".into(),
        retry_after_secs: std::cmp::max((until - now).num_seconds(), 1) as u64,
    }
}

/// Counts a wrong password; the failure that reaches the limit locks the account.
async fn record_failed_login(services: &Services, user: &users::Model) -> AppResult<AppError> {
    let config = &services.config;
    let txn = crate::platform::db::begin_write(&services.db).await?;
    users::Entity::update_many()
        .col_expr(
            users::Column::FailedLogins,
            Expr::col(users::Column::FailedLogins).add(1),
        )
        .filter(users::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    let failures = users::Entity::find_by_id(user.id)
        .one(&txn)
        .await?
        .map(|u| u.failed_logins)
        .unwrap_or_default();
    if failures < config.auth.login_max_failures {
        txn.commit().await?;
        return Ok(invalid_credentials());
    }
    let now = Utc::now();
    let until = now + Duration::seconds(config.auth.login_lock_secs as i64);
    users::Entity::update_many()
        .col_expr(users::Column::FailedLogins, Expr::value(0))
        .col_expr(users::Column::LockedUntil, Expr::value(until))
        .filter(users::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    let minutes = config.auth.login_lock_secs.div_ceil(60);
    let (_, job) = email::queue_email_in(
        &txn,
        config,
        OutgoingEmail {
            user_id: Some(user.id),
            to: user.email.clone(),
            subject: "Your Switchboard account was locked".into(),
            text_body: format!(
                "We locked your account for {minutes} minutes after {failures} failed sign-in attempts.\n\
                 If this was not you, reset your password: {}/forgot-password\n",
                config.server.frontend_url
            ),
            html_body: None,
        },
    )
    .await?;
    AfterCommit::ringing(job).commit(services, txn).await?;
    tracing::warn!(user_id = %user.id, "account locked after failed sign-ins");
    Ok(invalid_credentials())
}

/// The stored row of a refresh token, whatever its state.
async fn find_refresh(
    db: &DatabaseConnection,
    token: &str,
) -> AppResult<Option<refresh_tokens::Model>> {
    Ok(refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::TokenHash.eq(tokens::hash_token(token.trim())))
        .one(db)
        .await?)
}

/// Revokes every live refresh token of a family (reuse detected, or logout).
async fn revoke_family<C: ConnectionTrait>(db: &C, family: Uuid) -> AppResult<()> {
    refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_tokens::Column::FamilyId.eq(family))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Revokes a user's refresh tokens — all but the session `keep` names, if any — and
/// invalidates every access token (the epoch moves on). Returns the new epoch.
async fn end_sessions_in<C: ConnectionTrait>(
    txn: &C,
    user: &users::Model,
    keep: Option<Uuid>,
) -> AppResult<i32> {
    let mut others = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_tokens::Column::UserId.eq(user.id))
        .filter(refresh_tokens::Column::RevokedAt.is_null());
    if let Some(family) = keep {
        others = others.filter(refresh_tokens::Column::FamilyId.ne(family));
    }
    others.exec(txn).await?;
    users::Entity::update_many()
        .col_expr(
            users::Column::SessionEpoch,
            Expr::col(users::Column::SessionEpoch).add(1),
        )
        .filter(users::Column::Id.eq(user.id))
        .exec(txn)
        .await?;
    Ok(user.session_epoch + 1)
}

/// The key that seals a spent token's successor: derived from the spent token itself, which
/// only its holder has (the database keeps a different hash of it), so a database reader learns
/// nothing from the sealed pair.
fn successor_cipher(spent: &str) -> AppResult<aes_gcm::Aes256Gcm> {
    use aes_gcm::KeyInit;
    use sha2::{Digest, Sha256};
    let key = Sha256::new()
        .chain_update(b"switchboard refresh successor\0")
        .chain_update(spent.as_bytes())
        .finalize();
    aes_gcm::Aes256Gcm::new_from_slice(&key).map_err(AppError::internal)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Successor {
    access_token: String,
    refresh_token: String,
}

fn refresh_reused() -> AppError {
    AppError::unauthorized(
        "refresh_token_reused",
        "the refresh token was already used; sign in again",
    )
}

/// Successors followed at most from one replayed token.
const MAX_SUCCESSOR_HOPS: usize = 8;

/// The live pair a spent token leads to, when it is presented again within the grace window:
/// its successor, or — when that was already refreshed in turn (the client refreshes again as
/// soon as it stored the first answer) — that one's successor, and so on. Each hop needs the
/// previous token in clear, so only the holder of the replayed token can walk the chain.
/// `None` means a real reuse.
async fn successor_within_grace(
    services: &Services,
    spent: &refresh_tokens::Model,
    token: &str,
) -> AppResult<Option<Session>> {
    let grace = Duration::seconds(services.config.auth.refresh_reuse_grace_secs as i64);
    let (mut row, mut token) = (spent.clone(), token.to_string());
    for _ in 0..MAX_SUCCESSOR_HOPS {
        let (Some(sealed), Some(replaced_at), Some(next_id)) = (
            row.successor_sealed.as_deref(),
            row.replaced_at,
            row.replaced_by,
        ) else {
            return Ok(None);
        };
        if Utc::now() - replaced_at > grace {
            return Ok(None);
        }
        let Some(successor) =
            crate::platform::system_config::open_with(&successor_cipher(&token)?, sealed)
                .and_then(|plain| serde_json::from_str::<Successor>(&plain).ok())
        else {
            return Ok(None);
        };
        let Some(next) = refresh_tokens::Entity::find_by_id(next_id)
            .one(&services.db)
            .await?
        else {
            return Ok(None);
        };
        if next.revoked_at.is_none() && next.replaced_by.is_none() {
            let user = crate::accounts::users::get(&services.db, spent.user_id).await?;
            return Ok(Some(Session {
                access_token: successor.access_token,
                refresh_token: successor.refresh_token,
                expires_in: services.auth.access.ttl_secs(),
                user,
            }));
        }
        (row, token) = (next, successor.refresh_token);
    }
    Ok(None)
}

/// Exchanges a refresh token for a new pair. The old token is spent. Presented again within
/// `REFRESH_REUSE_GRACE_SECS` (the frontend sends parallel refreshes with one token), it gets
/// the same new pair; later, it means the token was stolen or replayed, so the whole family is
/// revoked.
pub async fn refresh(services: &Services, token: &str) -> AppResult<Session> {
    let token = token.trim();
    let invalid =
        || AppError::unauthorized("invalid_refresh_token", "the refresh token is not valid");
    let row = find_refresh(&services.db, token)
        .await?
        .ok_or_else(invalid)?;
    if row.revoked_at.is_some() || row.replaced_by.is_some() {
        return replayed(services, &row, token).await;
    }
    if row.expires_at < Utc::now() {
        return Err(AppError::unauthorized(
            "refresh_token_expired",
            "the refresh token has expired; sign in again",
        ));
    }
    let user = crate::accounts::users::get(&services.db, row.user_id).await?;
    if user.status == UserStatus::Suspended {
        return Err(AppError::forbidden(
            "account_suspended",
            "this account is suspended",
        ));
    }
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let (session, new_id) = issue_session_in(&txn, services, user, Some(row.family_id)).await?;
    let sealed = crate::platform::system_config::seal_with(
        &successor_cipher(token)?,
        &serde_json::to_string(&Successor {
            access_token: session.access_token.clone(),
            refresh_token: session.refresh_token.clone(),
        })
        .map_err(AppError::internal)?,
    )?;
    let now = Utc::now();
    let spent = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::ReplacedBy, Expr::value(new_id))
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(now))
        .col_expr(refresh_tokens::Column::ReplacedAt, Expr::value(now))
        .col_expr(refresh_tokens::Column::SuccessorSealed, Expr::value(sealed))
        .filter(refresh_tokens::Column::Id.eq(row.id))
        .filter(refresh_tokens::Column::ReplacedBy.is_null())
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if spent.rows_affected == 0 {
        // Spent concurrently by a parallel request, which has committed by now: the same
        // rule as a replay (its pair within the grace window, else a reuse).
        drop(txn);
        let row = find_refresh(&services.db, token)
            .await?
            .ok_or_else(invalid)?;
        return replayed(services, &row, token).await;
    }
    txn.commit().await?;
    Ok(session)
}

/// A spent or revoked token presented again: its successor within the grace window, otherwise
/// the family is revoked.
async fn replayed(
    services: &Services,
    row: &refresh_tokens::Model,
    token: &str,
) -> AppResult<Session> {
    if let Some(session) = successor_within_grace(services, row, token).await? {
        tracing::debug!(user_id = %row.user_id, "spent refresh token replayed within the grace window");
        return Ok(session);
    }
    revoke_family(&services.db, row.family_id).await?;
    tracing::warn!(user_id = %row.user_id, family = %row.family_id, "refresh token reuse; family revoked");
    Err(refresh_reused())
}

/// Ends a session: the one a refresh token belongs to and/or the one an access token names.
/// Unknown tokens are ignored: signing out always succeeds.
pub async fn logout(
    services: &Services,
    refresh_token: Option<&str>,
    session: Option<Uuid>,
) -> AppResult<()> {
    if let Some(token) = refresh_token.map(str::trim).filter(|t| !t.is_empty())
        && let Some(row) = find_refresh(&services.db, token).await?
    {
        revoke_family(&services.db, row.family_id).await?;
    }
    if let Some(family) = session {
        revoke_family(&services.db, family).await?;
    }
    Ok(())
}

/// The reset link's token, checked without spending it (the reset page asks before it shows
/// the form).
pub async fn check_reset_token(services: &Services, token: &str) -> AppResult<()> {
    usable_link_in(&services.db, token, &[TokenPurpose::ResetPassword]).await?;
    Ok(())
}

/// Emails a reset link. Answers the same whether or not the account exists.
pub async fn forgot_password(services: &Services, email: &str) -> AppResult<()> {
    let config = &services.config;
    require_builtin(config)?;
    let email = normalize_email(email)?;
    let Some(user) = find_by_email(&services.db, &email).await? else {
        return Ok(());
    };
    if user.password_hash.is_none() {
        return Ok(());
    }
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let token = create_link_in(
        &txn,
        user.id,
        TokenPurpose::ResetPassword,
        None,
        config.auth.reset_token_ttl_secs,
    )
    .await?;
    let link = format!(
        "{}/reset-password?token={token}",
        config.server.frontend_url
    );
    let (_, job) = email::queue_email_in(
        &txn,
        config,
        OutgoingEmail {
            user_id: Some(user.id),
            to: email,
            subject: "Reset your Switchboard password".into(),
            text_body: format!(
                "Someone asked to reset the password of your Switchboard account.\n\
                 Choose a new password here (the link expires in {} minutes):\n{link}\n\n\
                 Reset token: {token}\n\nIf this was not you, ignore this message.\n",
                config.auth.reset_token_ttl_secs / 60
            ),
            html_body: None,
        },
    )
    .await?;
    AfterCommit::ringing(job).commit(services, txn).await?;
    Ok(())
}

/// Sets a new password from a reset link and ends every session of the account.
pub async fn reset_password(services: &Services, token: &str, new_password: &str) -> AppResult<()> {
    let config = &services.config;
    require_builtin(config)?;
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let link = consume_link_in(&txn, token, &[TokenPurpose::ResetPassword]).await?;
    let user = users::Entity::find_by_id(link.user_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    passwords::check_strength(new_password, &user.email, config.auth.password_min_length)?;
    let hash = passwords::hash(new_password).await?;
    let mut active: users::ActiveModel = user.into();
    active.password_hash = Set(Some(hash));
    active.failed_logins = Set(0);
    active.locked_until = Set(None);
    active.updated_at = Set(Utc::now());
    // The link reached the inbox, so the address is proven as well.
    if active.email_verified_at.as_ref().is_none() {
        active.email_verified_at = Set(Some(Utc::now()));
    }
    let user = active.update(&txn).await?;
    end_sessions_in(&txn, &user, None).await?;
    txn.commit().await?;
    tracing::info!(user_id = %user.id, "password reset; all sessions ended");
    Ok(())
}

async fn check_current_password(user: &users::Model, password: &str) -> AppResult<()> {
    let hash = user.password_hash.as_deref().ok_or_else(|| {
        AppError::forbidden("builtin_auth_disabled", "this account has no password")
    })?;
    if passwords::verify(password, hash).await {
        Ok(())
    } else {
        // The settings form shows this message as it is.
        Err(AppError::bad_request(
            "wrong_password",
            "Current password is incorrect",
        ))
    }
}

/// Changes the password of a signed-in user. The caller's session (`current`, the family its
/// access token names) lives on; every other session ends. The access tokens of all sessions
/// are invalidated, so the caller gets a fresh one for its own session.
pub async fn change_password(
    services: &Services,
    user_id: Uuid,
    current_session: Option<Uuid>,
    current: &str,
    new_password: &str,
) -> AppResult<String> {
    let config = &*services.settings().await;
    require_builtin(config)?;
    let user = crate::accounts::users::get(&services.db, user_id).await?;
    check_current_password(&user, current).await?;
    passwords::check_strength(new_password, &user.email, config.auth.password_min_length)?;
    let hash = passwords::hash(new_password).await?;
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let mut active: users::ActiveModel = user.into();
    active.password_hash = Set(Some(hash));
    active.updated_at = Set(Utc::now());
    let user = active.update(&txn).await?;
    let epoch = end_sessions_in(&txn, &user, current_session).await?;
    let access = services
        .auth
        .access
        .issue(user.id, epoch, current_session)?;
    txn.commit().await?;
    tracing::info!(user_id = %user.id, "password changed; other sessions ended");
    Ok(access)
}

/// Starts an email change: a link goes to the new address, which takes effect once opened.
pub async fn change_email(
    services: &Services,
    user_id: Uuid,
    new_email: &str,
    password: &str,
) -> AppResult<()> {
    let config = &services.config;
    require_builtin(config)?;
    let new_email = normalize_email(new_email)?;
    let user = crate::accounts::users::get(&services.db, user_id).await?;
    check_current_password(&user, password).await?;
    if new_email == user.email {
        return Err(AppError::validation(
            "new_email",
            "is already your email address",
        ));
    }
    if find_by_email(&services.db, &new_email).await?.is_some() {
        return Err(email_taken());
    }
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let token = create_link_in(
        &txn,
        user.id,
        TokenPurpose::ChangeEmail,
        Some(new_email.clone()),
        config.auth.verification_token_ttl_secs,
    )
    .await?;
    let (_, job) = email::queue_email_in(
        &txn,
        config,
        verification_email(config, user.id, &new_email, &token),
    )
    .await?;
    AfterCommit::ringing(job).commit(services, txn).await?;
    Ok(())
}
