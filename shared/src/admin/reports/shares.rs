//! Reports shared by link, email or embed (Reports > Sharing). A share's link carries a token
//! that is an HMAC of the share's id, so the list shows the link again without storing it, and
//! revoking the share is what stops it. Who may open it: anyone with the link (public), a
//! signed-in allowed user or domain (`requires_auth`), or anyone with the link otherwise; a
//! password, when set, on top. Every opening is counted.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use uuid::Uuid;

use super::store::{self, File};
use crate::{
    Services,
    accounts::{
        audit::{self, Actor},
        auth::passwords,
    },
    entities::{
        report_shares::{self as shares, AccessLevel, ShareType},
        reports, users,
    },
    platform::{
        after_commit::AfterCommit,
        email::{OutgoingEmail, queue_email_in},
        error::{AppError, AppResult},
    },
};

/// What the link token is an HMAC of, besides the id.
const PURPOSE: &str = "report-share";
pub const MAX_ALLOWED: usize = 50;
/// Live shares of one report.
pub const MAX_SHARES: u64 = 100;
pub const MAX_DAYS: i64 = 366;

/// The sharing form.
#[derive(Debug, Clone)]
pub struct ShareInput {
    pub report_id: Uuid,
    pub share_type: ShareType,
    pub access_level: AccessLevel,
    pub is_public: bool,
    pub requires_auth: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub password: Option<String>,
    pub allowed_users: Vec<String>,
    pub allowed_domains: Vec<String>,
    pub email_subject: Option<String>,
    pub email_message: Option<String>,
}

/// A share as the screen lists it: the row, its report's name and its link.
#[derive(Debug, Clone)]
pub struct Share {
    pub share: shares::Model,
    pub report_name: String,
    pub url: String,
    pub allowed_users: Vec<String>,
    pub allowed_domains: Vec<String>,
}

impl Share {
    /// The `<iframe>` an embed share is pasted as.
    pub fn embed_code(&self) -> Option<String> {
        (self.share.share_type == ShareType::Embed).then(|| {
            format!(
                "<iframe src=\"{}\" title=\"{}\" width=\"100%\" height=\"600\" style=\"border:0\"></iframe>",
                self.url,
                self.report_name.replace('"', "&quot;").replace('<', "&lt;")
            )
        })
    }
}

fn checked_users(list: &[String]) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for raw in list.iter().map(|u| u.trim()).filter(|u| !u.is_empty()) {
        let email = crate::accounts::users::normalize_email(raw).map_err(|_| {
            AppError::validation("allowedUsers", format!("`{raw}` is not an email address"))
        })?;
        if !out.contains(&email) {
            out.push(email);
        }
    }
    if out.len() > MAX_ALLOWED {
        return Err(AppError::validation(
            "allowedUsers",
            format!("at most {MAX_ALLOWED} addresses"),
        ));
    }
    Ok(out)
}

/// Domains as `acme.example`: lowercase, without a leading `@`, with a dot, DNS characters.
fn checked_domains(list: &[String]) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for raw in list.iter().map(|d| d.trim()).filter(|d| !d.is_empty()) {
        let domain = raw.trim_start_matches('@').to_lowercase();
        let valid = domain.len() <= 253
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid {
            return Err(AppError::validation(
                "allowedDomains",
                format!("`{raw}` is not a domain like acme.example"),
            ));
        }
        if !out.contains(&domain) {
            out.push(domain);
        }
    }
    if out.len() > MAX_ALLOWED {
        return Err(AppError::validation(
            "allowedDomains",
            format!("at most {MAX_ALLOWED} domains"),
        ));
    }
    Ok(out)
}

fn optional_text(
    value: Option<String>,
    field: &'static str,
    max: usize,
) -> AppResult<Option<String>> {
    let value = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    if value.as_ref().is_some_and(|v| v.chars().count() > max) {
        return Err(AppError::validation(
            field,
            format!("at most {max} characters"),
        ));
    }
    Ok(value)
}

/// The share's link under `PUBLIC_BASE_URL`.
pub fn share_url(services: &Services, config: &crate::Config, id: Uuid) -> String {
    format!(
        "{}/api/report-shares/{id}?token={}",
        config.server.public_base_url.trim_end_matches('/'),
        services.auth.access.link_token(PURPOSE, id)
    )
}

fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

async fn present(services: &Services, share: shares::Model, report_name: String) -> Share {
    let config = services.settings().await;
    Share {
        url: share_url(services, &config, share.id),
        allowed_users: json_list(&share.allowed_users),
        allowed_domains: json_list(&share.allowed_domains),
        report_name,
        share,
    }
}

fn snapshot(s: &shares::Model) -> serde_json::Value {
    json!({"report_id": s.report_id, "share_type": s.share_type, "access_level": s.access_level,
           "is_public": s.is_public, "requires_auth": s.requires_auth,
           "password": s.password_hash.is_some(), "expires_at": s.expires_at,
           "allowed_users": json_list(&s.allowed_users),
           "allowed_domains": json_list(&s.allowed_domains)})
}

async fn report(services: &Services, id: Uuid) -> AppResult<reports::Model> {
    reports::Entity::find_by_id(id)
        .one(&services.db)
        .await?
        .ok_or(AppError::not_found("report"))
}

/// A live (not revoked) share.
async fn live(services: &Services, id: Uuid) -> AppResult<shares::Model> {
    shares::Entity::find_by_id(id)
        .filter(shares::Column::RevokedAt.is_null())
        .one(&services.db)
        .await?
        .ok_or(AppError::not_found("report_share"))
}

/// Queues the share's email to each allowed user inside `txn`.
async fn queue_emails<C: sea_orm::ConnectionTrait>(
    txn: &C,
    services: &Services,
    share: &Share,
    subject: Option<&str>,
    message: Option<&str>,
    after: &mut AfterCommit,
) -> AppResult<usize> {
    let config = services.settings().await;
    let subject = subject
        .map(str::to_string)
        .unwrap_or_else(|| format!("Report shared with you: {}", share.report_name));
    let mut body = String::new();
    if let Some(message) = message {
        body.push_str(message);
        body.push_str("\n\n");
    }
    body.push_str(&format!(
        "The report \"{}\" was shared with you:\n\n{}\n",
        share.report_name, share.url
    ));
    if let Some(expires) = share.share.expires_at {
        body.push_str(&format!(
            "\nThe link works until {} (UTC).\n",
            expires.format("%Y-%m-%d %H:%M")
        ));
    }
    if share.share.password_hash.is_some() {
        body.push_str("\nIt is protected by a password, which the sender will give you.\n");
    }
    for to in &share.allowed_users {
        let (_, job) = queue_email_in(
            txn,
            &config,
            OutgoingEmail {
                user_id: None,
                to: to.clone(),
                subject: subject.clone(),
                text_body: body.clone(),
                html_body: None,
            },
        )
        .await?;
        after.ring(job);
    }
    Ok(share.allowed_users.len())
}

/// Shares a report; an email share emails its allowed users at once. Audited.
pub async fn create(services: &Services, actor: &Actor, input: ShareInput) -> AppResult<Share> {
    let report = report(services, input.report_id).await?;
    let allowed_users = checked_users(&input.allowed_users)?;
    let allowed_domains = checked_domains(&input.allowed_domains)?;
    // The form keeps "require authentication" on when the share is made public.
    let requires_auth = input.requires_auth && !input.is_public;
    if requires_auth && allowed_users.is_empty() && allowed_domains.is_empty() {
        return Err(AppError::validation(
            "allowedUsers",
            "name the users or domains who may open a private share",
        ));
    }
    if input.share_type == ShareType::Email && allowed_users.is_empty() {
        return Err(AppError::validation(
            "allowedUsers",
            "an email share needs at least one recipient",
        ));
    }
    let now = Utc::now();
    if let Some(at) = input.expires_at
        && (at <= now || at > now + Duration::days(MAX_DAYS))
    {
        return Err(AppError::validation(
            "expiresAt",
            format!("must be in the future, within {MAX_DAYS} days"),
        ));
    }
    let password = input.password.filter(|p| !p.is_empty());
    if password
        .as_ref()
        .is_some_and(|p| !(6..=128).contains(&p.chars().count()))
    {
        return Err(AppError::validation("password", "6 to 128 characters"));
    }
    let email_subject = optional_text(input.email_subject, "emailSubject", 200)?;
    let email_message = optional_text(input.email_message, "emailMessage", 5000)?;
    let live_shares = shares::Entity::find()
        .filter(shares::Column::ReportId.eq(report.id))
        .filter(shares::Column::RevokedAt.is_null())
        .count(&services.db)
        .await?;
    if live_shares >= MAX_SHARES {
        return Err(AppError::conflict(
            "share_limit_reached",
            format!("a report has at most {MAX_SHARES} live shares; revoke one first"),
        ));
    }
    let password_hash = match &password {
        Some(p) => Some(passwords::hash(p).await?),
        None => None,
    };
    let row = shares::ActiveModel {
        id: Set(crate::platform::ids::next()),
        report_id: Set(report.id),
        share_type: Set(input.share_type),
        access_level: Set(input.access_level),
        is_public: Set(input.is_public),
        requires_auth: Set(requires_auth),
        password_hash: Set(password_hash),
        allowed_users: Set(serde_json::to_string(&allowed_users).map_err(AppError::internal)?),
        allowed_domains: Set(serde_json::to_string(&allowed_domains).map_err(AppError::internal)?),
        email_subject: Set(email_subject.clone()),
        email_message: Set(email_message.clone()),
        expires_at: Set(input.expires_at),
        access_count: Set(0),
        last_accessed_at: Set(None),
        revoked_at: Set(None),
        created_by: Set(actor.id),
        created_at: Set(now),
    };
    let txn = services.db.begin().await?;
    let saved = row.insert(&txn).await?;
    audit::record_in(
        &txn,
        actor,
        "report_share.created",
        ("report_share", saved.id.to_string()),
        json!(null),
        snapshot(&saved),
    )
    .await?;
    let share = present(services, saved, report.name).await;
    let mut after = AfterCommit::default();
    if share.share.share_type == ShareType::Email {
        queue_emails(
            &txn,
            services,
            &share,
            email_subject.as_deref(),
            email_message.as_deref(),
            &mut after,
        )
        .await?;
    }
    after.commit(services, txn).await?;
    Ok(share)
}

/// A report's live shares, newest first.
pub async fn list(services: &Services, report_id: Uuid) -> AppResult<Vec<Share>> {
    let report = report(services, report_id).await?;
    let rows = shares::Entity::find()
        .filter(shares::Column::ReportId.eq(report_id))
        .filter(shares::Column::RevokedAt.is_null())
        .order_by_desc(shares::Column::CreatedAt)
        .limit(MAX_SHARES)
        .all(&services.db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(present(services, row, report.name.clone()).await);
    }
    Ok(out)
}

/// Revokes a share: its link answers 404 from now on. Audited.
pub async fn revoke(services: &Services, actor: &Actor, id: Uuid) -> AppResult<()> {
    let before = live(services, id).await?;
    let txn = services.db.begin().await?;
    // Only a live share is revoked, so two revocations record one.
    let done = shares::Entity::update_many()
        .col_expr(shares::Column::RevokedAt, Expr::value(Some(Utc::now())))
        .filter(shares::Column::Id.eq(id))
        .filter(shares::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if done.rows_affected == 0 {
        return Err(AppError::not_found("report_share"));
    }
    audit::record_in(
        &txn,
        actor,
        "report_share.revoked",
        ("report_share", id.to_string()),
        snapshot(&before),
        json!({"revoked": true}),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Emails the share's link to its allowed users again; returns how many. Audited.
pub async fn email(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    subject: Option<String>,
    message: Option<String>,
) -> AppResult<usize> {
    let row = live(services, id).await?;
    let subject = optional_text(subject, "subject", 200)?.or(row.email_subject.clone());
    let message = optional_text(message, "message", 5000)?.or(row.email_message.clone());
    let name = report(services, row.report_id).await?.name;
    let share = present(services, row, name).await;
    if share.allowed_users.is_empty() {
        return Err(AppError::conflict(
            "share_has_no_recipients",
            "this share names no users to email",
        ));
    }
    let txn = services.db.begin().await?;
    let mut after = AfterCommit::default();
    let sent = queue_emails(
        &txn,
        services,
        &share,
        subject.as_deref(),
        message.as_deref(),
        &mut after,
    )
    .await?;
    audit::record_in(
        &txn,
        actor,
        "report_share.emailed",
        ("report_share", id.to_string()),
        json!(null),
        json!({"recipients": share.allowed_users, "subject": subject}),
    )
    .await?;
    after.commit(services, txn).await?;
    Ok(sent)
}

/// An opened share: the file and how it may be used.
#[derive(Debug)]
pub struct Opened {
    pub file: File,
    pub access_level: AccessLevel,
    pub share_type: ShareType,
}

/// Opens a share's link. A wrong token, a revoked or an expired share all answer the same
/// 404, so links cannot be probed; `viewer` is the signed-in caller, if any.
pub async fn open(
    services: &Services,
    id: Uuid,
    token: &str,
    password: Option<&str>,
    viewer: Option<&users::Model>,
) -> AppResult<Opened> {
    if !services.auth.access.verify_link_token(PURPOSE, id, token) {
        return Err(AppError::not_found("report_share"));
    }
    let share = live(services, id).await?;
    if share.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(AppError::not_found("report_share"));
    }
    if share.requires_auth {
        let viewer = viewer.ok_or_else(|| {
            AppError::unauthorized("sign_in_required", "sign in to open this shared report")
        })?;
        let email = viewer.email.to_lowercase();
        let domain = email.rsplit('@').next().unwrap_or_default().to_string();
        let allowed = viewer.role.is_admin()
            || json_list(&share.allowed_users).contains(&email)
            || json_list(&share.allowed_domains).contains(&domain);
        if !allowed {
            return Err(AppError::forbidden(
                "share_not_allowed",
                "this report was not shared with your account",
            ));
        }
    }
    if let Some(phc) = &share.password_hash {
        let given = password.filter(|p| !p.is_empty()).ok_or_else(|| {
            AppError::unauthorized(
                "share_password_required",
                "this shared report needs its password",
            )
        })?;
        if !passwords::verify(given, phc).await {
            return Err(AppError::forbidden(
                "share_password_invalid",
                "the password is not this shared report's",
            ));
        }
    }
    let report = report(services, share.report_id).await?;
    let file = store::render_report(services, &report).await?;
    // Counted in the database, so concurrent openings all count.
    shares::Entity::update_many()
        .col_expr(
            shares::Column::AccessCount,
            Expr::col(shares::Column::AccessCount).add(1),
        )
        .col_expr(
            shares::Column::LastAccessedAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(shares::Column::Id.eq(id))
        .exec(&services.db)
        .await?;
    Ok(Opened {
        file,
        access_level: share.access_level,
        share_type: share.share_type,
    })
}
