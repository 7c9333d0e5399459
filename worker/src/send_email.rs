//! The `send_email` job: deliver one `email_outbox` row.

use shared::{email, jobs::JobError};
use uuid::Uuid;

use crate::WorkerState;

pub async fn run(state: &WorkerState, email_id: Uuid) -> Result<(), JobError> {
    email::deliver(&state.services.db, &state.mailer, email_id).await
}
