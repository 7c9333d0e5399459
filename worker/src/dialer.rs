//! The campaign dialer loop: a round every `CAMPAIGN_DIAL_INTERVAL_MS` (claims under the caps,
//! then places the dials), and the recovery of dials whose worker died mid-dial. Safe in every
//! replica: claiming is serialized by the database (see `shared::campaigns::dialer`).

use std::{sync::Arc, time::Duration};

use shared::campaigns::dialer;
use tokio_util::sync::CancellationToken;

use crate::WorkerState;

pub async fn run(state: Arc<WorkerState>, shutdown: CancellationToken) {
    let interval =
        Duration::from_millis(state.services.config.jobs.campaign_dial_interval_ms.max(50));
    loop {
        let now = chrono::Utc::now();
        match dialer::run_once(&state.services, now).await {
            Ok(round) if round.claimed + round.rescheduled + round.paused + round.completed > 0 => {
                tracing::info!(?round, "campaign dial round")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "campaign dial round failed"),
        }
        if let Err(e) = dialer::recover(&state.services, now, 50).await {
            tracing::debug!(error = %e, "campaign dial recovery skipped");
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
