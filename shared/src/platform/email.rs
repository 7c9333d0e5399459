//! Outgoing email: queue a message (an `email_outbox` row plus its `send_email` job, in one
//! transaction) and deliver it with lettre — over SMTP, or into files in the embedded mode.

pub use crate::entities::email_outbox::EmailStatus;

use std::{path::PathBuf, sync::Arc, time::Duration};

use chrono::Utc;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart, SinglePart, header::ContentType},
    transport::smtp::authentication::Credentials,
};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait};
use uuid::Uuid;

use crate::{
    Services,
    entities::{background_jobs, email_outbox},
    platform::after_commit::AfterCommit,
    platform::config::{Config, MailTransport, SmtpTls},
    platform::error::{AppError, AppResult},
    platform::jobs::{self, JobError, JobKind},
};

/// An email to queue.
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    pub user_id: Option<Uuid>,
    pub to: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: Option<String>,
}

/// Stores the message and its `send_email` job inside the caller's transaction. The caller
/// rings the returned job once the transaction is committed.
pub async fn queue_email_in<C: ConnectionTrait>(
    txn: &C,
    config: &Config,
    email: OutgoingEmail,
) -> AppResult<(email_outbox::Model, background_jobs::Model)> {
    if email.to.parse::<Mailbox>().is_err() {
        return Err(AppError::validation("to", "not a valid email address"));
    }
    let row = email_outbox::ActiveModel {
        id: Set(crate::platform::ids::next()),
        user_id: Set(email.user_id),
        to_address: Set(email.to),
        subject: Set(email.subject),
        text_body: Set(email.text_body),
        html_body: Set(email.html_body),
        status: Set(EmailStatus::Pending),
        provider_message_id: Set(None),
        sent_at: Set(None),
        created_at: Set(Utc::now()),
    };
    let row = email_outbox::Entity::insert(row)
        .exec_with_returning(txn)
        .await?;
    let job = jobs::create(txn, config, JobKind::SendEmail, row.id).await?;
    Ok((row, job))
}

/// Stores the message and its job in one transaction, then rings the queue.
pub async fn queue_email(
    services: &Services,
    email: OutgoingEmail,
) -> AppResult<email_outbox::Model> {
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let config = services.settings().await;
    let (row, job) = queue_email_in(&txn, &config, email).await?;
    AfterCommit::ringing(job).commit(services, txn).await?;
    Ok(row)
}

/// Where messages go.
#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    /// The embedded default: `<dir>/<outbox id>.eml`, readable without a mail server.
    File { dir: PathBuf, from: Mailbox },
}

/// The mailer for the settings in force, rebuilt when an admin changes them (its SMTP pool
/// belongs to the old settings and is dropped with them).
#[derive(Default)]
pub struct Mailers {
    current: std::sync::Mutex<Option<(Arc<Config>, Arc<Mailer>)>>,
}

impl Mailers {
    pub async fn get(&self, services: &crate::Services) -> AppResult<Arc<Mailer>> {
        let config = services.settings().await;
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((built_for, mailer)) = current.as_ref()
            && Arc::ptr_eq(built_for, &config)
        {
            return Ok(mailer.clone());
        }
        let mailer = Arc::new(Mailer::from_config(&config)?);
        *current = Some((config, mailer.clone()));
        Ok(mailer)
    }
}

impl Mailer {
    pub fn from_config(config: &Config) -> AppResult<Self> {
        let from: Mailbox = config
            .mail
            .from
            .parse()
            .map_err(|e| AppError::internal(format!("MAIL_FROM: {e}")))?;
        match config.mail.transport {
            MailTransport::File => Ok(Mailer::File {
                dir: config.outbox_dir(),
                from,
            }),
            MailTransport::Smtp => {
                let host = config.mail.smtp_host.as_deref().unwrap_or_default();
                let smtp_error = |e: lettre::transport::smtp::Error| {
                    AppError::internal(format!("SMTP_HOST: {e}"))
                };
                let mut builder = match config.mail.smtp_tls {
                    SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                        .map_err(smtp_error)?,
                    SmtpTls::Tls => {
                        AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(smtp_error)?
                    }
                    SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
                };
                builder = builder
                    .port(config.mail.smtp_port)
                    .timeout(Some(Duration::from_secs(config.mail.smtp_timeout_secs)));
                if let (Some(user), Some(pass)) =
                    (&config.mail.smtp_username, &config.mail.smtp_password)
                {
                    builder = builder
                        .credentials(Credentials::new(user.clone(), pass.expose().to_string()));
                }
                Ok(Mailer::Smtp {
                    transport: builder.build(),
                    from,
                })
            }
        }
    }

    fn from(&self) -> &Mailbox {
        match self {
            Mailer::Smtp { from, .. } | Mailer::File { from, .. } => from,
        }
    }

    /// Builds the MIME message. Its Message-ID derives from the outbox id, so a redelivery
    /// after a crash is recognisable as the same message.
    pub fn build(&self, row: &email_outbox::Model) -> Result<Message, JobError> {
        let to: Mailbox = row
            .to_address
            .parse()
            .map_err(|e| JobError::Permanent(format!("invalid recipient: {e}")))?;
        let domain = self.from().email.domain().to_string();
        let builder = Message::builder()
            .from(self.from().clone())
            .to(to)
            .subject(row.subject.clone())
            .message_id(Some(format!("<{}@{}>", row.id, domain)));
        let message = match &row.html_body {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                row.text_body.clone(),
                html.clone(),
            )),
            None => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(row.text_body.clone()),
            ),
        };
        message.map_err(|e| JobError::Permanent(format!("cannot build message: {e}")))
    }

    /// Delivers one message; returns the provider's answer to keep on the row.
    pub async fn send(&self, row: &email_outbox::Model) -> Result<String, JobError> {
        let message = self.build(row)?;
        match self {
            Mailer::Smtp { transport, .. } => {
                let response = transport.send(message).await.map_err(|e| {
                    if e.is_permanent() {
                        JobError::Permanent(format!("smtp: {e}"))
                    } else {
                        JobError::Retryable(format!("smtp: {e}"))
                    }
                })?;
                Ok(response.message().collect::<Vec<_>>().join(" "))
            }
            Mailer::File { dir, .. } => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| JobError::Retryable(format!("outbox dir: {e}")))?;
                let path = dir.join(format!("{}.eml", row.id));
                tokio::fs::write(&path, message.formatted())
                    .await
                    .map_err(|e| JobError::Retryable(format!("outbox file: {e}")))?;
                tracing::info!(
                    email_id = %row.id,
                    subject = %row.subject,
                    path = %path.display(),
                    "email written to the outbox directory"
                );
                Ok(format!("file:{}", path.display()))
            }
        }
    }
}

/// Sends an outbox row unless it already went out; the `send_email` job calls this.
pub async fn deliver(
    db: &DatabaseConnection,
    mailer: &Mailer,
    email_id: Uuid,
) -> Result<(), JobError> {
    let Some(row) = email_outbox::Entity::find_by_id(email_id).one(db).await? else {
        return Err(JobError::Permanent(format!(
            "email {email_id} does not exist"
        )));
    };
    if row.status == EmailStatus::Sent {
        return Ok(());
    }
    let answer = mailer.send(&row).await?;
    let mut active: email_outbox::ActiveModel = row.into();
    active.status = Set(EmailStatus::Sent);
    active.provider_message_id = Set(Some(answer));
    active.sent_at = Set(Some(Utc::now()));
    email_outbox::Entity::update(active).exec(db).await?;
    Ok(())
}
