//! What a writer does once its transaction has committed: ring the jobs it created and publish
//! the live events it caused. Writers collect both in an [`AfterCommit`] while they write, and
//! [`AfterCommit::commit`] commits and then flushes them, so neither can happen before the
//! commit (a worker finding no row, a screen refetching old data) or be forgotten (a job left
//! to the sweeper's next round). Both are best effort: the rows are the truth, the sweeper
//! re-rings, and a client that misses an event refetches.

use sea_orm::DatabaseTransaction;

use crate::{
    Services,
    entities::background_jobs,
    platform::{error::AppResult, jobs, live::LiveEvent},
};

#[derive(Debug, Default)]
#[must_use = "commit it: the jobs are not rung and the events not published otherwise"]
pub struct AfterCommit {
    jobs: Vec<background_jobs::Model>,
    events: Vec<LiveEvent>,
}

impl AfterCommit {
    pub fn new() -> Self {
        Self::default()
    }

    /// One job to ring: the commonest case, a write that queues one piece of work.
    pub fn ringing(job: background_jobs::Model) -> Self {
        let mut after = Self::new();
        after.ring(job);
        after
    }

    /// Rings `job` once the transaction that created it has committed.
    pub fn ring(&mut self, job: background_jobs::Model) {
        self.jobs.push(job);
    }

    /// Rings each of `jobs` (none, or the one a write may have queued).
    pub fn ring_all(&mut self, jobs: impl IntoIterator<Item = background_jobs::Model>) {
        self.jobs.extend(jobs);
    }

    /// Publishes `events` once the transaction that caused them has committed.
    pub fn publish(&mut self, events: impl IntoIterator<Item = LiveEvent>) {
        self.events.extend(events);
    }

    /// Takes over what another writer collected (a helper's share of one transaction).
    pub fn absorb(&mut self, other: AfterCommit) {
        self.jobs.extend(other.jobs);
        self.events.extend(other.events);
    }

    /// Commits `txn`, then rings and publishes what was collected.
    pub async fn commit(self, services: &Services, txn: DatabaseTransaction) -> AppResult<()> {
        txn.commit().await?;
        self.flush(services).await;
        Ok(())
    }

    /// Rings and publishes what was collected, for work whose writes already committed.
    pub async fn flush(self, services: &Services) {
        for job in &self.jobs {
            jobs::ring(&services.db, &services.queue, job).await;
        }
        crate::platform::live::publish(services, self.events).await;
    }
}
