//! Switchboard's worker: one module per job, the runner that drives a job row through its
//! states, the sweeper that re-rings overdue jobs, and the apalis monitor that ties them up.

pub mod cli;
pub mod dialer;
pub mod monitor;
pub mod promoter;
pub mod runner;
pub mod send_email;
pub mod sweeper;

use sea_orm::Iterable;
use std::sync::Arc;

use shared::{
    AppResult, Services,
    platform::email::{Mailer, Mailers},
};

pub use monitor::run;

/// Everything a job needs, shared by all of this process's apalis workers.
#[derive(Clone)]
pub struct WorkerState {
    pub services: Services,
    /// Rebuilt when admins change the mail settings.
    pub mailers: Arc<Mailers>,
    /// Unique per process (name, host, random suffix): leases and apalis registrations use it.
    pub worker_id: String,
    /// Bounds how many jobs the sweeper runs itself at once.
    pub sweeper_slots: Arc<tokio::sync::Semaphore>,
    /// Bounds how many queue-delivered jobs run at once (`WORKER_CONCURRENCY` per job kind).
    pub job_slots: Arc<tokio::sync::Semaphore>,
    /// Every job being processed, from the queue or the sweeper: a graceful stop waits for
    /// them, whatever becomes of the consumer that started them.
    pub in_flight: tokio_util::task::TaskTracker,
}

impl WorkerState {
    pub fn new(services: Services) -> AppResult<Arc<Self>> {
        // Fail at start-up, not at the first email, when the mail settings are unusable.
        Mailer::from_config(&services.config)?;
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        let suffix: String = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let worker_id = format!("{}-{host}-{suffix}", services.config.jobs.worker_name);
        let sweeper_slots = Arc::new(tokio::sync::Semaphore::new(
            services.config.jobs.worker_concurrency,
        ));
        // The consumers' combined concurrency, as when each held its own jobs.
        let job_slots = Arc::new(tokio::sync::Semaphore::new(
            services.config.jobs.worker_concurrency
                * shared::platform::jobs::JobKind::iter().count(),
        ));
        Ok(Arc::new(Self {
            services,
            mailers: Arc::default(),
            worker_id,
            sweeper_slots,
            job_slots,
            in_flight: tokio_util::task::TaskTracker::new(),
        }))
    }
}
