//! This process's traffic over the last five minutes, for the admin dashboard's system tile:
//! requests, server errors, mean latency and requests in flight. Kept in one bucket per second
//! (a fixed ring, so memory does not grow with traffic); Prometheus has the long view.

use std::sync::{
    Mutex,
    atomic::{AtomicI64, Ordering},
};
use std::time::{Duration, Instant};

/// The window the figures cover.
pub const WINDOW_SECS: u64 = 300;

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// The second (since the process started) this bucket holds; older contents are stale.
    second: u64,
    requests: u64,
    errors: u64,
    micros: u64,
}

struct Ring {
    started: Instant,
    buckets: Vec<Bucket>,
}

fn ring() -> &'static Mutex<Ring> {
    static RING: std::sync::OnceLock<Mutex<Ring>> = std::sync::OnceLock::new();
    RING.get_or_init(|| {
        Mutex::new(Ring {
            started: Instant::now(),
            buckets: vec![Bucket::default(); WINDOW_SECS as usize],
        })
    })
}

static IN_FLIGHT: AtomicI64 = AtomicI64::new(0);

/// Counts a request as in flight until dropped.
pub struct InFlight(());

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A request started; hold the guard until it is answered.
pub fn started() -> InFlight {
    IN_FLIGHT.fetch_add(1, Ordering::Relaxed);
    InFlight(())
}

/// A request answered with `status` after `elapsed`.
pub fn finished(status: u16, elapsed: Duration) {
    let Ok(mut ring) = ring().lock() else { return };
    let second = ring.started.elapsed().as_secs();
    let slot = &mut ring.buckets[(second % WINDOW_SECS) as usize];
    if slot.second != second {
        *slot = Bucket {
            second,
            ..Bucket::default()
        };
    }
    slot.requests += 1;
    slot.errors += u64::from(status >= 500);
    slot.micros += elapsed.as_micros().min(u128::from(u64::MAX)) as u64;
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Traffic {
    pub requests: u64,
    /// Answered with a 5xx.
    pub errors: u64,
    /// Mean latency in milliseconds (0 without requests).
    pub mean_ms: f64,
    /// Requests being answered now.
    pub in_flight: i64,
    /// How long this process has been up.
    pub up_for: Duration,
}

impl Traffic {
    /// Server errors as a fraction of requests (0 without requests).
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }
}

/// The last [`WINDOW_SECS`] seconds.
pub fn traffic() -> Traffic {
    let in_flight = IN_FLIGHT.load(Ordering::Relaxed).max(0);
    let Ok(ring) = ring().lock() else {
        return Traffic {
            in_flight,
            ..Traffic::default()
        };
    };
    let now = ring.started.elapsed().as_secs();
    let live = ring
        .buckets
        .iter()
        .filter(|b| b.requests > 0 && now.saturating_sub(b.second) < WINDOW_SECS);
    let (requests, errors, micros) = live.fold((0, 0, 0), |(r, e, m), b| {
        (r + b.requests, e + b.errors, m + b.micros)
    });
    Traffic {
        requests,
        errors,
        mean_ms: if requests == 0 {
            0.0
        } else {
            (micros as f64 / requests as f64 / 100.0).round() / 10.0
        },
        in_flight,
        up_for: ring.started.elapsed(),
    }
}
