//! The queue consumers: one apalis worker per job kind (each on its own explicit queue), each
//! under a supervisor that starts a fresh one when its backend fails, plus the sweeper and the
//! promoter beside them, and a graceful stop that lets in-flight jobs finish.

use sea_orm::Iterable;
use std::{sync::Arc, time::Duration};

use apalis::prelude::*;
use shared::platform::jobs::{JobKind, JobMessage, JobQueue};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{WorkerState, promoter, runner, sweeper};

/// First and longest pause before a failed consumer is replaced.
const RESTART_PAUSE: Duration = Duration::from_millis(200);
const MAX_RESTART_PAUSE: Duration = Duration::from_secs(5);
/// A consumer that ran this long before failing starts the backoff over.
const HEALTHY_RUN: Duration = Duration::from_secs(30);

/// Post-call events waiting to be applied together, each with its job slot.
type Waiting = (uuid::Uuid, tokio::sync::OwnedSemaphorePermit);

/// Most post-call events applied in one transaction, and how many such batches run at once:
/// few batches, so events that arrive while one runs gather into the next.
const MAX_BATCH: usize = 64;
const BATCHES_AT_ONCE: usize = 2;

/// The apalis task function: the message only names a job row; the runner does the rest.
/// Always `Ok`: retries come from the row, so apalis never re-runs or dead-letters a task.
async fn handle(
    message: JobMessage,
    state: Data<Arc<WorkerState>>,
    kind: Data<JobKind>,
    batches: Data<mpsc::UnboundedSender<Waiting>>,
) -> Result<(), BoxDynError> {
    // The queue only delivers: once a slot is free the job runs on its own task and the
    // message is done. A consumer torn down (shutdown, Redis failure) cannot drop a job
    // halfway, and apalis never holds its backend waiting on our work; the stop waits for the
    // job through `in_flight`.
    let permit = Arc::clone(&state.job_slots).acquire_owned().await?;
    if *kind == JobKind::ConversationEvent {
        // Closed only at shutdown: the job stays due and the sweeper delivers it again.
        let _ = batches.send((message.job_id, permit));
        return Ok(());
    }
    let st = Arc::clone(&state);
    state.in_flight.spawn(async move {
        runner::process(&st, message.job_id).await;
        drop(permit);
    });
    Ok(())
}

/// Gathers delivered post-call events into batches: a batch takes every event waiting when a
/// batch slot frees up, so under load batches grow and when idle an event goes alone at once.
async fn gather(
    state: Arc<WorkerState>,
    mut waiting: mpsc::UnboundedReceiver<Waiting>,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(BATCHES_AT_ONCE));
    loop {
        let first = tokio::select! {
            first = waiting.recv() => first,
            _ = shutdown.cancelled() => None,
        };
        let Some(first) = first else { break };
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let st = state.clone();
        state.in_flight.spawn(async move {
            let (ids, permits): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
            runner::process_many(&st, &ids).await;
            drop(permits);
            drop(slot);
        });
    }
    // Stopping: what was delivered but not started yet still runs (the stop waits for it).
    waiting.close();
    let mut rest = Vec::new();
    while let Ok((id, permit)) = waiting.try_recv() {
        rest.push(id);
        drop(permit);
    }
    for ids in rest.chunks(MAX_BATCH) {
        let (st, ids) = (state.clone(), ids.to_vec());
        state
            .in_flight
            .spawn(async move { runner::process_many(&st, &ids).await });
    }
}

/// Runs until `shutdown` is cancelled, then stops taking jobs and waits (up to
/// `SHUTDOWN_TIMEOUT_SECS`) for those in flight.
pub async fn run(state: Arc<WorkerState>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let config = state.services.config.clone();
    tracing::info!(worker_id = %state.worker_id, queue = ?state.services.queue, "worker starting");

    // Before the first fetch: a backlog left in the scheduled set would fail it.
    for kind in JobKind::iter() {
        let _ = state.services.queue.promote_due(kind).await;
    }
    let (batches, waiting) = mpsc::unbounded_channel();
    let gatherer = tokio::spawn(gather(state.clone(), waiting, shutdown.clone()));
    let sweeper = tokio::spawn(sweeper::run(state.clone(), shutdown.clone()));
    let promoter = tokio::spawn(promoter::run(state.clone(), shutdown.clone()));
    let dialer = tokio::spawn(crate::dialer::run(state.clone(), shutdown.clone()));
    let consumers: Vec<_> = JobKind::iter()
        .map(|kind| {
            tokio::spawn(supervise(
                state.clone(),
                kind,
                batches.clone(),
                shutdown.clone(),
            ))
        })
        .collect();

    shutdown.cancelled().await;
    let grace = Duration::from_secs(config.jobs.shutdown_timeout_secs);
    let _ = tokio::time::timeout(grace, futures::future::join_all(consumers)).await;
    let _ = sweeper.await;
    let _ = promoter.await;
    let _ = dialer.await;
    drop(batches);
    let _ = gatherer.await;
    state.in_flight.close();
    if tokio::time::timeout(grace, state.in_flight.wait())
        .await
        .is_err()
    {
        tracing::warn!("jobs still running at the shutdown timeout; their leases will expire");
    }
    tracing::info!(worker_id = %state.worker_id, "worker stopped");
    Ok(())
}

/// Keeps one consumer of `kind` running. apalis ends a worker whose backend fails (Redis
/// restarting, a failed fetch) and refuses to re-register the same name until its heartbeat
/// lapses, so each replacement gets a new name.
async fn supervise(
    state: Arc<WorkerState>,
    kind: JobKind,
    batches: mpsc::UnboundedSender<Waiting>,
    shutdown: CancellationToken,
) {
    let mut pause = RESTART_PAUSE;
    for generation in 0u64.. {
        let started = tokio::time::Instant::now();
        let result = consume(&state, kind, generation, &batches, shutdown.clone()).await;
        if shutdown.is_cancelled() {
            return;
        }
        if started.elapsed() > HEALTHY_RUN {
            pause = RESTART_PAUSE;
        }
        match result {
            Ok(()) => tracing::warn!(
                kind = kind.to_string(),
                ?pause,
                "queue consumer stopped; restarting"
            ),
            Err(error) => {
                tracing::warn!(kind = kind.to_string(), %error, ?pause, "queue consumer failed; restarting")
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(MAX_RESTART_PAUSE);
    }
}

/// The consumers' poll clock. apalis' interval strategy re-arms its timer after a tick without
/// polling it, so after a tick that found no work only some other event (another timer, a
/// finished task, the 30 s heartbeat on SQLite) wakes the consumer again. This stream arms the
/// next tick before it yields the current one, so a consumer looks at least once a period
/// whatever else happens. (`BENCH_ONLY=latency` measures enqueue-to-start on both backends.)
pub struct Ticks {
    period: Duration,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl Ticks {
    pub fn every(period: Duration) -> Self {
        Self {
            period,
            sleep: Box::pin(tokio::time::sleep(period)),
        }
    }
}

impl futures::Stream for Ticks {
    type Item = ();

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<()>> {
        if self.sleep.as_mut().poll(cx).is_pending() {
            return std::task::Poll::Pending;
        }
        let next = tokio::time::Instant::now() + self.period;
        self.sleep.as_mut().reset(next);
        // Registers this task's waker with the next tick.
        let _ = self.sleep.as_mut().poll(cx);
        std::task::Poll::Ready(Some(()))
    }
}

/// Boxed so the spawned supervisor's future is `Send` without naming apalis' layer types.
fn consume(
    state: &Arc<WorkerState>,
    kind: JobKind,
    generation: u64,
    batches: &mpsc::UnboundedSender<Waiting>,
    shutdown: CancellationToken,
) -> futures::future::BoxFuture<'static, Result<(), WorkerError>> {
    let config = &state.services.config;
    let name = format!("{}:{}:{generation}", state.worker_id, kind);
    let poll = Duration::from_millis(config.jobs.queue_poll_interval_ms);
    let signal = async move {
        shutdown.cancelled().await;
        Ok::<(), std::io::Error>(())
    };
    // The two backends are different types with the same worker shape.
    macro_rules! run {
        ($backend:expr) => {
            Box::pin(
                WorkerBuilder::new(name)
                    .backend($backend.poll_with_stream(Ticks::every(poll)))
                    .data(state.clone())
                    .data(kind)
                    .data(batches.clone())
                    .concurrency(config.jobs.worker_concurrency)
                    .catch_panic()
                    .build(handle)
                    .run_until(signal),
            )
        };
    }
    let queue = &state.services.queue;
    match queue {
        JobQueue::Redis { .. } => run!(queue.redis_storage(kind).expect("redis queue")),
        JobQueue::Sqlite { .. } => run!(queue.sqlite_storage(kind).expect("sqlite queue")),
    }
}

#[cfg(test)]
mod tests {
    use std::{
        pin::Pin,
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        },
        task::Context,
    };

    use futures::{Stream, task::ArcWake};

    use super::*;

    struct Wakes(AtomicUsize);

    impl ArcWake for Wakes {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The consumer is polled only when woken: after a tick that found nothing, the clock
    /// itself must wake it a period later (apalis' own interval leaves that to other events).
    #[tokio::test(start_paused = true)]
    async fn every_tick_arms_the_next_one() {
        let wakes = Arc::new(Wakes(AtomicUsize::new(0)));
        let waker = futures::task::waker(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let mut ticks = Ticks::every(Duration::from_millis(250));
        assert!(Pin::new(&mut ticks).poll_next(&mut cx).is_pending());
        tokio::time::advance(Duration::from_millis(251)).await;
        assert!(Pin::new(&mut ticks).poll_next(&mut cx).is_ready());
        let before = wakes.0.load(Ordering::SeqCst);
        // Nobody polls now: only the armed timer can wake the consumer.
        tokio::time::advance(Duration::from_millis(251)).await;
        tokio::task::yield_now().await;
        assert!(
            wakes.0.load(Ordering::SeqCst) > before,
            "the next tick woke the consumer"
        );
    }
}
