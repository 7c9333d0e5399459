//! Outgoing mail: the outbox directory or an SMTP relay.

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, bad};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Mail {
    /// `file` (embedded default: messages written under `<data_dir>/outbox/`) or `smtp`.
    #[serde(rename = "mail_transport")]
    pub transport: MailTransport,
    #[serde(rename = "mail_from")]
    pub from: String,
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<Secret>,
    /// `starttls` (default), `tls` or `none` (only for a local relay).
    pub smtp_tls: SmtpTls,
    pub smtp_timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    File,
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    Starttls,
    Tls,
    None,
}

impl Default for Mail {
    fn default() -> Self {
        Self {
            transport: MailTransport::File,
            from: "Switchboard <no-reply@switchboard.local>".into(),
            smtp_host: None,
            smtp_port: 587,
            smtp_username: None,
            smtp_password: None,
            smtp_tls: SmtpTls::Starttls,
            smtp_timeout_secs: 10,
        }
    }
}

impl Mail {
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return bad(
                "MAIL_FROM",
                "must be an address like `Name <user@example.com>`",
            );
        }
        if self.transport == MailTransport::Smtp && self.smtp_host.is_none() {
            return bad("SMTP_HOST", "is required when MAIL_TRANSPORT=smtp");
        }
        if self.smtp_username.is_some() != self.smtp_password.is_some() {
            return bad(
                "SMTP_PASSWORD",
                "SMTP_USERNAME and SMTP_PASSWORD must be set together",
            );
        }
        Ok(())
    }
}
