//! Reports > Sharing (`/api/admin/reports/shares`, `/api/admin/reports/{id}/shares`) in the
//! sharing screen's camelCase shapes (the list is a bare array, as it reads it), and the shared
//! link itself (`/api/report-shares/{id}?token=…`), which a recipient opens without an admin
//! token and so lives outside `/api/admin`.

use poem::Request;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use shared::{
    AppResult, Services,
    accounts::auth::Credential,
    admin::reports::shares::{self as service, Share, ShareInput},
    entities::{
        report_shares::{AccessLevel, ShareType},
        users,
    },
};
use uuid::Uuid;

use crate::{
    admin::{AdminAuth, AdminErrors},
    download::ReportFile,
    tags::Tag,
    wire::Timestamp,
};

/// A share as the sharing screen lists it.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct SharedReport {
    pub id: Uuid,
    pub report_id: Uuid,
    pub report_name: String,
    pub share_type: ShareType,
    pub access_level: AccessLevel,
    pub is_public: bool,
    pub requires_auth: bool,
    /// Whether opening it asks for a password (the password itself is never returned).
    pub has_password: bool,
    pub expires_at: Option<Timestamp>,
    pub allowed_users: Vec<String>,
    pub allowed_domains: Vec<String>,
    /// The link to open, copy or email.
    pub share_url: String,
    /// The `<iframe>` of an embed share.
    pub embed_code: Option<String>,
    pub access_count: i64,
    pub last_accessed: Option<Timestamp>,
    pub created_at: Timestamp,
    pub created_by: Uuid,
}

impl From<Share> for SharedReport {
    fn from(s: Share) -> Self {
        Self {
            embed_code: s.embed_code(),
            id: s.share.id,
            report_id: s.share.report_id,
            report_name: s.report_name,
            share_type: s.share.share_type,
            access_level: s.share.access_level,
            is_public: s.share.is_public,
            requires_auth: s.share.requires_auth,
            has_password: s.share.password_hash.is_some(),
            expires_at: s.share.expires_at.map(Into::into),
            allowed_users: s.allowed_users,
            allowed_domains: s.allowed_domains,
            share_url: s.url,
            access_count: s.share.access_count,
            last_accessed: s.share.last_accessed_at.map(Into::into),
            created_at: s.share.created_at.into(),
            created_by: s.share.created_by,
        }
    }
}

/// The sharing form, as the screen sends it.
#[derive(Debug, Object)]
#[oai(example, rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct ShareForm {
    /// A generated report or a saved template.
    pub report_id: Uuid,
    /// Sent by the screen; the report's own name is used.
    #[oai(validator(max_length = 200))]
    pub report_name: Option<String>,
    pub share_type: ShareType,
    pub access_level: AccessLevel,
    #[oai(default)]
    pub is_public: bool,
    /// Not public: the viewer signs in as an allowed user or domain (ignored when public).
    #[oai(default)]
    pub requires_auth: bool,
    /// In the future, within 366 days; none: until revoked.
    pub expires_at: Option<Timestamp>,
    /// 6 to 128 characters; asked for when the link is opened.
    #[oai(validator(max_length = 128))]
    pub password: Option<String>,
    /// Email addresses; an email share emails each of them.
    #[oai(default, validator(max_items = 50))]
    pub allowed_users: Vec<String>,
    /// Domains like `acme.example`: any signed-in account of the domain.
    #[oai(default, validator(max_items = 50))]
    pub allowed_domains: Vec<String>,
    #[oai(validator(max_length = 200))]
    pub email_subject: Option<String>,
    #[oai(validator(max_length = 5000))]
    pub email_message: Option<String>,
}

/// "Send email" of an email share.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct ShareEmailForm {
    /// Default: the share's own, or "Report shared with you: <name>".
    #[oai(validator(max_length = 200))]
    pub subject: Option<String>,
    #[oai(validator(max_length = 5000))]
    pub message: Option<String>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ShareEmailed {
    pub success: bool,
    /// Emails queued, one per allowed user.
    pub sent: u64,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ShareRevoked {
    pub success: bool,
    pub message: String,
}

/// Opening a password-protected share.
#[derive(Debug, Object)]
#[oai(example)]
pub struct ShareOpenForm {
    #[oai(validator(max_length = 100))]
    pub token: String,
    #[oai(validator(max_length = 128))]
    pub password: String,
}

#[derive(ApiResponse)]
pub enum ShareCreated {
    #[oai(status = 201)]
    Created(Json<SharedReport>),
}

pub struct AdminReportSharesApi {
    pub services: Services,
}

#[OpenApi(prefix_path = "/api/admin/reports", tag = "Tag::Admin")]
impl AdminReportSharesApi {
    /// List a report's shares
    ///
    /// Its live (not revoked) shares, newest first, as a bare array (what the sharing screen
    /// reads), with each link, its openings and the last one.
    #[oai(path = "/:id/shares", method = "get")]
    async fn list(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
    ) -> Result<Json<Vec<SharedReport>>, AdminErrors> {
        auth.admin(&self.services, req).await?;
        let rows = service::list(&self.services, id.0).await?;
        Ok(Json(rows.into_iter().map(Into::into).collect()))
    }

    /// Share a report
    ///
    /// A link anyone with it opens (`isPublic`), one only signed-in allowed users or domains
    /// open (`requiresAuth`), or a link for whoever it is given to; optionally with a password
    /// and an expiry. `email` shares email each allowed user at once; `embed` shares come with
    /// an `<iframe>` and may be framed by any page. `view` shows the file in the browser,
    /// `download` and `full` send it as an attachment. At most 100 live shares a report.
    /// Audited.
    #[oai(path = "/shares", method = "post")]
    async fn create(
        &self,
        auth: AdminAuth,
        req: &Request,
        body: Json<ShareForm>,
    ) -> Result<ShareCreated, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let f = body.0;
        let share = service::create(
            &self.services,
            &actor,
            ShareInput {
                report_id: f.report_id,
                share_type: f.share_type,
                access_level: f.access_level,
                is_public: f.is_public,
                requires_auth: f.requires_auth,
                expires_at: f.expires_at.map(|t| t.0),
                password: f.password,
                allowed_users: f.allowed_users,
                allowed_domains: f.allowed_domains,
                email_subject: f.email_subject,
                email_message: f.email_message,
            },
        )
        .await?;
        Ok(ShareCreated::Created(Json(share.into())))
    }

    /// Revoke a share
    ///
    /// Its link answers 404 from now on. Audited.
    #[oai(path = "/shares/:id", method = "delete")]
    async fn revoke(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
    ) -> Result<Json<ShareRevoked>, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        service::revoke(&self.services, &actor, id.0).await?;
        Ok(Json(ShareRevoked {
            success: true,
            message: "Report share revoked".into(),
        }))
    }

    /// Email a share's link
    ///
    /// Emails the link to each of the share's allowed users (409 `share_has_no_recipients`
    /// when it names none). Audited.
    #[oai(path = "/shares/:id/email", method = "post")]
    async fn email(
        &self,
        auth: AdminAuth,
        req: &Request,
        id: Path<Uuid>,
        body: Json<ShareEmailForm>,
    ) -> Result<Json<ShareEmailed>, AdminErrors> {
        let actor = auth.admin(&self.services, req).await?;
        let sent =
            service::email(&self.services, &actor, id.0, body.0.subject, body.0.message).await?;
        Ok(Json(ShareEmailed {
            success: true,
            sent: sent as u64,
        }))
    }
}

/// The shared link, opened by whoever it was given to.
pub struct ReportSharesApi {
    pub services: Services,
}

impl ReportSharesApi {
    /// The signed-in caller an `Authorization: Bearer` header names, if it carries one.
    async fn viewer(&self, req: &Request) -> AppResult<Option<users::Model>> {
        let Some(token) = req
            .headers()
            .get(poem::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
        else {
            return Ok(None);
        };
        let settings = self.services.settings().await;
        let account = self
            .services
            .auth
            .authenticate_row(
                &self.services.db,
                &settings,
                Credential::Bearer(token.trim().to_string()),
            )
            .await?;
        Ok(Some(account))
    }

    async fn open(
        &self,
        req: &Request,
        id: Uuid,
        token: &str,
        password: Option<&str>,
    ) -> Result<ReportFile, AdminErrors> {
        let viewer = self.viewer(req).await?;
        let opened = service::open(&self.services, id, token, password, viewer.as_ref()).await?;
        Ok(ReportFile::shared(
            opened.file.bytes,
            opened.file.media_type,
            &opened.file.name,
            opened.access_level == AccessLevel::View,
            opened.share_type == ShareType::Embed,
        ))
    }
}

#[OpenApi(prefix_path = "/api/report-shares", tag = "Tag::Admin")]
impl ReportSharesApi {
    /// Open a shared report
    ///
    /// The link's token authorizes it (a wrong token, a revoked or an expired share: 404
    /// `report_share_not_found`). A share for signed-in users takes the viewer's bearer token
    /// (401 `sign_in_required`, 403 `share_not_allowed`); a password-protected one is opened
    /// with POST (401 `share_password_required` here). Each opening is counted.
    #[oai(path = "/:id", method = "get")]
    async fn open_link(
        &self,
        req: &Request,
        id: Path<Uuid>,
        /// The token of the link.
        #[oai(validator(max_length = 100))]
        token: Query<String>,
    ) -> Result<ReportFile, AdminErrors> {
        self.open(req, id.0, &token.0, None).await
    }

    /// Open a password-protected shared report
    ///
    /// As the link, with the share's password in the body (403 `share_password_invalid` for
    /// another one).
    #[oai(path = "/:id", method = "post")]
    async fn open_with_password(
        &self,
        req: &Request,
        id: Path<Uuid>,
        body: Json<ShareOpenForm>,
    ) -> Result<ReportFile, AdminErrors> {
        self.open(req, id.0, &body.0.token, Some(&body.0.password))
            .await
    }
}
