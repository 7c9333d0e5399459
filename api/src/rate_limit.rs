//! Request budgets: per client IP and per signed-in session, with separate budgets for the
//! sign-in endpoints (also per email address), contact-file uploads, provider webhooks and the
//! rest of the API. Fixed one-minute windows, counted in Redis (one pipelined `INCR` + `EXPIRE`)
//! so every gateway replica shares them, or in process memory in the embedded mode. A large
//! budget (from [`LEASE_FROM`] a minute, such as the webhooks') is counted in leases instead:
//! a replica takes a block of a hundredth of it (at most [`MAX_LEASE`]) with one `INCRBY` and
//! numbers its requests from that block itself — a round trip to Redis per request was a third
//! of the webhook intake's cost. The shared count then runs ahead of the requests by at most
//! one block per replica, so such a budget refuses at most that much early. Every
//! limited response says where its budget stands (`RateLimit-Limit`, `RateLimit-Remaining`,
//! `RateLimit-Reset`); a refusal is 429 `rate_limited` with `Retry-After`.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{SystemTime, UNIX_EPOCH},
};

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{HeaderValue, Method, StatusCode},
};
use sha2::{Digest, Sha256};
use shared::{AppError, AppResult, Services};

use crate::error::{ErrorBody, error_response};

const WINDOW_SECS: u64 = 60;
/// Budgets of at least this many requests a minute are counted in leases.
pub const LEASE_FROM: u32 = 6_000;
/// The largest block a replica takes at once.
pub const MAX_LEASE: u32 = 1_000;

/// A block of a budget's window taken by this replica: numbers `next..=end` are its to give.
#[derive(Debug, Clone, Copy)]
struct Lease {
    window: u64,
    next: u32,
    end: u32,
}

fn lease_block(limit: u32) -> u32 {
    (limit / 100).clamp(1, MAX_LEASE)
}

tokio::task_local! {
    /// A budget a handler spent itself (the per-email one), for the middleware's headers.
    static SPENT_IN_HANDLER: std::cell::Cell<Option<Verdict>>;
}

/// Where one budget stands after a request was counted against it.
#[derive(Debug, Clone, Copy)]
pub struct Verdict {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window ends.
    pub reset: u64,
    pub allowed: bool,
}

impl Verdict {
    pub fn into_error(self) -> AppError {
        AppError::rate_limited(self.reset.max(1))
    }
}

enum Store {
    Redis {
        conn: redis::aio::ConnectionManager,
        prefix: String,
        /// This replica's leases of large budgets, by Redis key.
        leases: Mutex<HashMap<String, Lease>>,
    },
    /// Window start and count per key; keys of past windows are dropped as the map grows.
    Local(Mutex<HashMap<String, (u64, u32)>>),
}

pub struct RateLimiter {
    store: Store,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl RateLimiter {
    pub fn new(services: &Services) -> Self {
        let store = match &services.redis {
            Some(conn) => Store::Redis {
                conn: conn.clone(),
                prefix: services.config.jobs.queue_prefix.clone(),
                leases: Mutex::default(),
            },
            None => Store::Local(Mutex::default()),
        };
        Self { store }
    }

    /// Counts one request of `subject` against `budget` (`limit` per minute).
    pub async fn hit(&self, budget: &str, subject: &str, limit: u32) -> Verdict {
        let now = now_secs();
        let window = now - now % WINDOW_SECS;
        let reset = window + WINDOW_SECS - now;
        let count = match &self.store {
            Store::Redis {
                conn,
                prefix,
                leases,
            } => {
                let key = format!("{prefix}:ratelimit:{budget}:{subject}:{window}");
                let leased = limit >= LEASE_FROM;
                if leased && let Some(count) = take_leased(leases, &key, window) {
                    return verdict(limit, count, reset);
                }
                let block = if leased { lease_block(limit) } else { 1 };
                let mut conn = conn.clone();
                let counted: redis::RedisResult<(u32,)> = redis::pipe()
                    .atomic()
                    .incr(&key, block)
                    .expire(&key, (WINDOW_SECS + 1) as i64)
                    .ignore()
                    .query_async(&mut conn)
                    .await;
                match counted {
                    Ok((end,)) if leased => give_lease(leases, key, window, block, end),
                    Ok((count,)) => count,
                    Err(error) => {
                        // Refusing everyone while Redis is down would turn its outage into
                        // ours; requests pass uncounted until it is back.
                        tracing::warn!(%error, "rate limit not counted: Redis unavailable");
                        0
                    }
                }
            }
            Store::Local(counts) => {
                let mut counts = counts.lock().unwrap_or_else(|p| p.into_inner());
                if counts.len() > 100_000 {
                    counts.retain(|_, (start, _)| *start == window);
                }
                let entry = counts
                    .entry(format!("{budget}:{subject}"))
                    .or_insert((window, 0));
                if entry.0 != window {
                    *entry = (window, 0);
                }
                entry.1 = entry.1.saturating_add(1);
                entry.1
            }
        };
        verdict(limit, count, reset)
    }

    /// The sign-in endpoints' budget per email address (the per-IP one is the middleware's).
    pub async fn check_email(&self, limit: u32, email: &str) -> AppResult<()> {
        let key = subject(email.trim().to_lowercase().as_bytes());
        let verdict = self.hit("auth-email", &key, limit).await;
        let _ = SPENT_IN_HANDLER.try_with(|spent| spent.set(Some(verdict)));
        if verdict.allowed {
            Ok(())
        } else {
            Err(verdict.into_error())
        }
    }
}

fn verdict(limit: u32, count: u32, reset: u64) -> Verdict {
    Verdict {
        limit,
        remaining: limit.saturating_sub(count),
        reset,
        allowed: count <= limit,
    }
}

/// The next number of this replica's lease on `key` in `window`, if one is left.
fn take_leased(leases: &Mutex<HashMap<String, Lease>>, key: &str, window: u64) -> Option<u32> {
    let mut leases = leases.lock().unwrap_or_else(|p| p.into_inner());
    let lease = leases.get_mut(key)?;
    if lease.window != window || lease.next > lease.end {
        return None;
    }
    lease.next += 1;
    Some(lease.next - 1)
}

/// Keeps the block that ends at `end` (Redis's count after taking it) and gives its first
/// number. A block taken by a racing request replaces the rest of an older one (their
/// numbers stay counted in Redis: the budget errs on the early side).
fn give_lease(
    leases: &Mutex<HashMap<String, Lease>>,
    key: String,
    window: u64,
    block: u32,
    end: u32,
) -> u32 {
    let first = end.saturating_sub(block) + 1;
    let mut leases = leases.lock().unwrap_or_else(|p| p.into_inner());
    if leases.len() > 10_000 {
        leases.retain(|_, lease| lease.window == window);
    }
    leases.insert(
        key,
        Lease {
            window,
            next: first + 1,
            end,
        },
    );
    first
}

/// How a budget names what it counts when that is personal (an email, a session's token):
/// a short hash, so neither reaches Redis.
pub fn subject(personal: &[u8]) -> String {
    hex::encode(&Sha256::digest(personal)[..12])
}

/// The client's address as the socket saw it.
pub fn client_ip(req: &Request) -> Option<IpAddr> {
    match req.remote_addr() {
        poem::web::RemoteAddr(poem::Addr::SocketAddr(addr)) => Some(addr.ip()),
        _ => None,
    }
}

/// Which budgets a request spends: (name, per-minute limit, subject) for each.
fn budgets(req: &Request, services: &Services) -> Vec<(&'static str, u32, String)> {
    let config = services.settings.cached();
    let path = req.uri().path();
    let ip = client_ip(req).map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    // A session is its bearer token (hashed): the user behind it is only known once the token
    // is verified, and an unverified claim must not spend someone else's budget.
    let session = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)
        .or_else(|| req.headers().get("x-stack-access-token"))
        .map(|token| subject(token.as_bytes()));
    if path.starts_with("/webhooks/") {
        return vec![("webhook", config.limits.webhook_rate_per_ip_per_min, ip)];
    }
    if !path.starts_with("/api/") {
        // Probes, metrics and the documentation are not budgeted.
        return Vec::new();
    }
    // Where a password can be guessed or mail can be sent to someone. Emailed tokens (256
    // random bits) cannot be guessed, and refreshing and signing out are not sign-ins: the
    // frontend refreshes in parallel and its verification page posts its token again and again,
    // so those must not exhaust the sign-in budget.
    let guessable = matches!(
        path,
        "/api/auth/login"
            | "/api/auth/register"
            | "/api/auth/change-email"
            | "/api/email/send-password-reset"
            | "/api/email/send-verification"
    );
    if guessable && req.method() == Method::POST {
        // Always the sign-in budget, with a token or without: a made-up bearer header must not
        // trade it for the API's larger one.
        let mut spent = vec![("auth", config.limits.auth_rate_per_ip_per_min, ip)];
        if let Some(session) = session {
            spent.push(("api-user", config.limits.api_rate_per_user_per_min, session));
        }
        return spent;
    }
    let mut spent = vec![("api", config.limits.api_rate_per_ip_per_min, ip.clone())];
    if let Some(session) = &session {
        spent.push((
            "api-user",
            config.limits.api_rate_per_user_per_min,
            session.clone(),
        ));
    }
    if path == "/api/contacts/imports" && req.method() == Method::POST {
        spent.push((
            "upload",
            config.limits.upload_rate_per_min,
            session.unwrap_or(ip),
        ));
    }
    spent
}

/// Spends the request's budgets before it runs and reports the tightest on the response.
pub struct RateLimit {
    pub services: Services,
    pub limiter: std::sync::Arc<RateLimiter>,
}

impl<E: Endpoint> Middleware<E> for RateLimit {
    type Output = RateLimitEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RateLimitEndpoint {
            inner: ep,
            services: self.services.clone(),
            limiter: self.limiter.clone(),
        }
    }
}

pub struct RateLimitEndpoint<E> {
    inner: E,
    services: Services,
    limiter: std::sync::Arc<RateLimiter>,
}

fn set_headers(resp: &mut Response, verdict: &Verdict) {
    let headers = resp.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", verdict.limit as u64),
        ("ratelimit-remaining", verdict.remaining as u64),
        ("ratelimit-reset", verdict.reset),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
}

impl<E: Endpoint> Endpoint for RateLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let mut tightest: Option<Verdict> = None;
        for (budget, limit, subject) in budgets(&req, &self.services) {
            let verdict = self.limiter.hit(budget, &subject, limit).await;
            if !verdict.allowed {
                tracing::warn!(budget, "rate limited");
                let error = verdict.into_error();
                let mut resp =
                    error_response(StatusCode::TOO_MANY_REQUESTS, ErrorBody::from(&error));
                resp.headers_mut()
                    .insert("retry-after", HeaderValue::from(verdict.reset.max(1)));
                set_headers(&mut resp, &verdict);
                return Ok(resp);
            }
            if tightest.is_none_or(|t| verdict.remaining < t.remaining) {
                tightest = Some(verdict);
            }
        }
        let (resp, in_handler) = SPENT_IN_HANDLER
            .scope(std::cell::Cell::new(None), async {
                let resp = self.inner.call(req).await;
                (resp, SPENT_IN_HANDLER.with(|spent| spent.get()))
            })
            .await;
        // Errors become their response here (as the outer catch-all would make them) so they
        // carry the budget's headers too.
        let mut resp = match resp {
            Ok(resp) => resp.into_response(),
            Err(err) => crate::error::from_poem_error(err),
        };
        if let Some(verdict) = in_handler
            && tightest.is_none_or(|t| verdict.remaining < t.remaining)
        {
            tightest = Some(verdict);
        }
        if let Some(verdict) = tightest {
            set_headers(&mut resp, &verdict);
        }
        Ok(resp)
    }
}
