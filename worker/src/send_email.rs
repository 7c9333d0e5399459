//! The `send_email` job: deliver one `email_outbox` row.

use shared::{platform::email, platform::jobs::JobError};
use uuid::Uuid;

use crate::WorkerState;

pub async fn run(state: &WorkerState, email_id: Uuid) -> Result<(), JobError> {
    let mailer = state.mailers.get(&state.services).await?;
    email::deliver(&state.services.db, &mailer, email_id).await
}
