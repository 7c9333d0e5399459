//! Saved templates and generated reports. Generating records the definition and the hash of a
//! fresh token; the download link carries the token (the screen opens it as a plain link,
//! without the bearer token) and works for [`LINK_HOURS`]. The file is rendered when the link
//! is opened, from the stored definition and its fixed date range.

use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::{ReportSpec, metrics, render};
use crate::{
    Services,
    accounts::audit::{self, Actor},
    entities::reports::{self, ReportKind},
    platform::{
        credentials::tokens::{hash_token, random_token},
        error::{AppError, AppResult},
    },
};

/// How long a download link works.
pub const LINK_HOURS: i64 = 24;

fn row(actor: &Actor, kind: ReportKind, spec: &ReportSpec) -> AppResult<reports::ActiveModel> {
    Ok(reports::ActiveModel {
        id: Set(crate::platform::ids::next()),
        kind: Set(kind),
        name: Set(spec.name.clone()),
        definition: Set(serde_json::to_string(spec).map_err(AppError::internal)?),
        format: Set(spec.format),
        created_by: Set(actor.id),
        download_token_hash: Set(None),
        expires_at: Set(None),
        created_at: Set(Utc::now()),
    })
}

/// Saves `spec` as a template, audited.
pub async fn save_template(
    services: &Services,
    actor: &Actor,
    spec: &ReportSpec,
) -> AppResult<reports::Model> {
    let txn = services.db.begin().await?;
    let saved = row(actor, ReportKind::Template, spec)?.insert(&txn).await?;
    audit::record_in(
        &txn,
        actor,
        "report.template_saved",
        ("report", saved.id.to_string()),
        json!(null),
        json!({"name": spec.name, "source": spec.source, "metrics": spec.metrics}),
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

/// A generated report and the token of its download link (shown once).
#[derive(Debug)]
pub struct Generated {
    pub report: reports::Model,
    pub token: String,
}

/// Records a report to download, audited as data access.
pub async fn generate(
    services: &Services,
    actor: &Actor,
    spec: &ReportSpec,
) -> AppResult<Generated> {
    let txn = services.db.begin().await?;
    let generated = generate_in(&txn, actor, spec, Duration::hours(LINK_HOURS)).await?;
    txn.commit().await?;
    Ok(generated)
}

/// As [`generate`], inside the caller's transaction, with a link that works for `valid`.
pub async fn generate_in<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    spec: &ReportSpec,
    valid: Duration,
) -> AppResult<Generated> {
    let token = random_token();
    let mut model = row(actor, ReportKind::Generated, spec)?;
    model.download_token_hash = Set(Some(hash_token(&token)));
    model.expires_at = Set(Some(Utc::now() + valid));
    let report = model.insert(txn).await?;
    audit::record_in(
        txn,
        actor,
        "report.generated",
        ("report", report.id.to_string()),
        json!(null),
        json!({"name": spec.name, "source": spec.source, "metrics": spec.metrics,
               "from": spec.from, "to": spec.to, "format": spec.format}),
    )
    .await?;
    Ok(Generated { report, token })
}

/// The download path of a generated report (under the public base URL).
pub fn download_path(id: Uuid, token: &str) -> String {
    format!("/api/report-downloads/{id}?token={token}")
}

/// The whole download link, under `PUBLIC_BASE_URL`.
pub fn download_url(config: &crate::Config, id: Uuid, token: &str) -> String {
    format!(
        "{}{}",
        config.server.public_base_url.trim_end_matches('/'),
        download_path(id, token)
    )
}

/// A rendered report: file name, media type and bytes.
#[derive(Debug)]
pub struct File {
    pub name: String,
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Who may download: the link's token, or an admin already checked by the caller.
pub enum Access<'a> {
    Token(&'a str),
    Admin,
}

/// Renders a generated report. A wrong token or an expired link answer the same 404 as an
/// unknown id, so a link cannot be probed.
pub async fn download(services: &Services, id: Uuid, access: Access<'_>) -> AppResult<File> {
    let report = reports::Entity::find_by_id(id)
        .one(&services.db)
        .await?
        .filter(|r| r.kind == ReportKind::Generated)
        .ok_or(AppError::not_found("report"))?;
    if let Access::Token(token) = access {
        let hashed = hash_token(token);
        let stored = report.download_token_hash.as_deref().unwrap_or_default();
        let fresh = report.expires_at.is_some_and(|e| e > Utc::now());
        // Hashes are compared, so timing reveals nothing about the token.
        if !fresh || stored != hashed {
            return Err(AppError::not_found("report"));
        }
    }
    render_report(services, &report).await
}

/// Renders a stored report (template or generated) from its definition and fixed range.
pub async fn render_report(services: &Services, report: &reports::Model) -> AppResult<File> {
    let spec: ReportSpec = serde_json::from_str(&report.definition).map_err(AppError::internal)?;
    let tables = metrics::compute(services, &spec).await?;
    let bytes = render::render(&spec, &tables)?;
    let (media_type, ext) = render::media_type(spec.format);
    Ok(File {
        name: format!("{}.{ext}", file_stem(&spec.name)),
        media_type,
        bytes,
    })
}

/// A file name safe in a Content-Disposition header.
fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    if stem.trim_matches('_').is_empty() {
        "report".into()
    } else {
        stem
    }
}
