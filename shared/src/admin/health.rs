//! What an operator checks first: are the database and the queue answering, how deep is each
//! job queue and how old its oldest waiting job, how many jobs gave up, what state the webhook
//! inbox is in, and when each provider last delivered.

use chrono::{DateTime, Utc};

use crate::{Services, platform::error::AppResult};
pub use crate::{platform::inbox::InboxCount, platform::jobs::QueueHealth};

#[derive(Debug, Clone)]
pub struct SystemHealth {
    /// `Err` carries why the database or the queue did not answer.
    pub database: Result<(), String>,
    pub queue: Result<(), String>,
    pub queues: Vec<QueueHealth>,
    pub inbox: Vec<InboxCount>,
    /// Provider and when it last delivered.
    pub last_webhooks: Vec<(String, DateTime<Utc>)>,
}

pub async fn check(services: &Services) -> AppResult<SystemHealth> {
    let (database, queue) = services.readiness().await;
    let db = &services.db;
    let queues = crate::platform::jobs::depths(db).await?;
    let inbox = crate::platform::inbox::counts(db).await?;
    let last_webhooks = crate::platform::inbox::last_deliveries(db).await?;
    Ok(SystemHealth {
        database,
        queue,
        queues,
        inbox,
        last_webhooks,
    })
}
