//! The campaign dialer loop: a round every `CAMPAIGN_DIAL_INTERVAL_MS` (claims under the caps,
//! then places the dials), and the recovery of dials whose worker died mid-dial. Safe in every
//! replica: claiming is serialized by the database (see `shared::campaigns::dialer`).
//!
//! A call that ends frees a slot: the loop also wakes on the live events the call lifecycle
//! publishes when a call completes or fails (the doorbell; the interval remains the clock that
//! catches a lost one), so a freed slot is refilled in about a round's time rather than waiting
//! for the next tick. Ends arriving together make one round.

use std::{sync::Arc, time::Duration};

use shared::{
    campaigns::dialer,
    platform::live::{LiveEvent, LiveHub, LiveKind},
};
use tokio::sync::broadcast::{Receiver, error::RecvError};
use tokio_util::sync::CancellationToken;

use crate::WorkerState;

/// Ends arriving within this long of the first make one round.
const GATHER: Duration = Duration::from_millis(20);

pub async fn run(state: Arc<WorkerState>, shutdown: CancellationToken) {
    let interval = match state.services.config.jobs.campaign_dial_interval_ms {
        0 => {
            tracing::info!("campaign dialing is off in this worker (CAMPAIGN_DIAL_INTERVAL_MS=0)");
            return;
        }
        ms => Duration::from_millis(ms.max(50)),
    };
    let hub = LiveHub::new(state.services.clone(), shutdown.clone());
    let mut ends = hub.subscribe().await;
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
            _ = call_ended(&mut ends) => tokio::time::sleep(GATHER).await,
        }
        // What rang meanwhile is part of the round about to run.
        while ends.try_recv().is_ok() {}
    }
}

/// Resolves when a call completes or fails (or events were missed); never when the events end.
async fn call_ended(ends: &mut Receiver<Arc<LiveEvent>>) {
    loop {
        match ends.recv().await {
            Ok(e) if matches!(e.kind, LiveKind::CallCompleted | LiveKind::CallFailed) => return,
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => return,
            Err(RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}
