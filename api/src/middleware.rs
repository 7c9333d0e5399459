//! Cross-cutting HTTP concerns: request ids and access logs, and the request body limit.

use std::time::Instant;

use poem::{
    Body, Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{HeaderValue, StatusCode},
};
use shared::{Config, Services};
use tracing::Instrument;

use crate::error::{ErrorBody, error_response};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Gives every request an id (the caller's `x-request-id` when it is sane, else a new one),
/// logs the request under it and returns it in the response header.
pub struct RequestId;

impl<E: Endpoint> Middleware<E> for RequestId {
    type Output = RequestIdEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RequestIdEndpoint(ep)
    }
}

pub struct RequestIdEndpoint<E>(E);

/// The request's id, as the response header and the logs carry it.
#[derive(Debug, Clone)]
pub struct RequestIdValue(pub String);

fn acceptable_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
}

impl<E: Endpoint> Endpoint for RequestIdEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let id = req
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| acceptable_id(v))
            .map(String::from)
            .unwrap_or_else(|| shared::platform::ids::next().to_string());
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let span = tracing::info_span!(
            "http",
            request_id = %id,
            %method,
            %path,
            user_id = tracing::field::Empty,
            event = tracing::field::Empty
        );
        // Handlers that record what they did (the audit log) name the request.
        req.extensions_mut().insert(RequestIdValue(id.clone()));
        async move {
            let started = Instant::now();
            let in_flight = shared::platform::monitoring::recent::started();
            let mut resp = match self.0.call(req).await {
                Ok(resp) => resp.into_response(),
                Err(err) => crate::error::from_poem_error(err),
            };
            let status = resp.status().as_u16();
            let elapsed = started.elapsed();
            shared::platform::monitoring::http_request(method.as_str(), &path, status, elapsed);
            shared::platform::monitoring::recent::finished(status, elapsed);
            drop(in_flight);
            let latency_ms = elapsed.as_secs_f64() * 1000.0;
            if status >= 500 {
                tracing::error!(status, latency_ms, "request");
            } else {
                tracing::info!(status, latency_ms, "request");
            }
            if let Ok(value) = HeaderValue::from_str(&id) {
                resp.headers_mut().insert(REQUEST_ID_HEADER, value);
            }
            Ok(resp)
        }
        .instrument(span)
        .await
    }
}

/// Rejects bodies over `limit` bytes with 413, whether the size is announced in
/// `Content-Length` or only discovered while reading a chunked body. Some paths have their own
/// limit: a larger one (uploads), or none here because the handler streams and counts.
pub struct BodyLimit {
    pub limit: usize,
    pub routes: Vec<(&'static str, RouteLimit)>,
    /// Where `RouteLimit::Setting` limits are read, so an admin's change applies at once.
    pub services: Services,
}

#[derive(Debug, Clone, Copy)]
pub enum RouteLimit {
    /// A limit taken from the settings in force.
    Setting(fn(&Config) -> usize),
    /// The handler streams the body and enforces its own limit.
    Streamed,
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        BodyLimitEndpoint {
            inner: ep,
            limit: self.limit,
            routes: self.routes.clone(),
            services: self.services.clone(),
        }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    limit: usize,
    routes: Vec<(&'static str, RouteLimit)>,
    services: Services,
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let route = self
            .routes
            .iter()
            .find(|(path, _)| *path == req.uri().path())
            .map(|(_, limit)| *limit);
        let limit = match route {
            Some(RouteLimit::Streamed) => {
                return self.inner.call(req).await.map(IntoResponse::into_response);
            }
            Some(RouteLimit::Setting(limit_of)) => limit_of(&*self.services.settings().await),
            None => self.limit,
        };
        let too_large = || {
            error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorBody::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("request body is larger than {} bytes", limit),
                )
                .with_details(Some(serde_json::json!({ "limit_bytes": limit }))),
            )
        };
        let announced = req
            .headers()
            .get(poem::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        match announced {
            Some(len) if len > limit as u64 => {
                // Reading a moderately oversized body first lets the client finish sending
                // and see the 413; a huge one is refused without reading.
                if len <= 2 * limit as u64 {
                    let _ = read_limited(req.take_body(), limit).await;
                }
                return Ok(too_large());
            }
            Some(_) => {}
            None if req
                .headers()
                .contains_key(poem::http::header::TRANSFER_ENCODING) =>
            {
                // Unknown length: read at most limit + 1 bytes to find out.
                match read_limited(req.take_body(), limit).await {
                    Ok(Some(bytes)) => req.set_body(Body::from(bytes)),
                    Ok(None) => return Ok(too_large()),
                    Err(e) => {
                        return Ok(error_response(
                            StatusCode::BAD_REQUEST,
                            ErrorBody::new(
                                StatusCode::BAD_REQUEST,
                                "unreadable_body",
                                e.to_string(),
                            ),
                        ));
                    }
                }
            }
            None => {}
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

/// Reads a body of unknown length; `None` when it exceeds `limit`. Past the limit the rest is
/// read and dropped (up to another `limit` bytes), so a client still sending receives the 413
/// rather than a reset connection, while an endless body cannot hold the request open.
async fn read_limited(body: Body, limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    use tokio::io::AsyncReadExt;
    let mut reader = body.into_async_read();
    let mut data = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    let mut total = 0usize;
    loop {
        let n = reader.read(&mut chunk).await?;
        if n == 0 {
            return Ok((total <= limit).then_some(data));
        }
        total += n;
        if total <= limit {
            data.extend_from_slice(&chunk[..n]);
        } else {
            data = Vec::new();
            if total > limit.saturating_mul(2) {
                return Ok(None);
            }
        }
    }
}

/// The `sha256-…` sources of a page's inline scripts, so its Content-Security-Policy can allow
/// exactly them and nothing else.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find("<script") {
        let after = &rest[open..];
        let Some(start) = after.find('>') else { break };
        let body = &after[start + 1..];
        let Some(end) = body.find("</script>") else {
            break;
        };
        let digest = Sha256::digest(&body.as_bytes()[..end]);
        hashes.push(format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        ));
        rest = &body[end..];
    }
    hashes
}

/// Headers every response carries: no MIME sniffing, no referrer, no framing, a
/// Content-Security-Policy that allows nothing for API responses and only the documentation's
/// own inline scripts for its pages, HSTS when configured (behind TLS), and no `Server` banner.
pub struct SecurityHeaders {
    pub hsts: bool,
    /// The documentation pages' policy.
    pub docs_policy: String,
}

impl<E: Endpoint> Middleware<E> for SecurityHeaders {
    type Output = SecurityHeadersEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        SecurityHeadersEndpoint {
            inner: ep,
            hsts: self.hsts,
            docs_policy: HeaderValue::from_str(&self.docs_policy)
                .unwrap_or(HeaderValue::from_static("default-src 'none'")),
        }
    }
}

pub struct SecurityHeadersEndpoint<E> {
    inner: E,
    hsts: bool,
    docs_policy: HeaderValue,
}

impl<E: Endpoint> Endpoint for SecurityHeadersEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let docs = ["/docs", "/swagger"]
            .iter()
            .any(|p| req.uri().path().starts_with(p));
        let mut resp = self.inner.call(req).await?.into_response();
        let headers = resp.headers_mut();
        headers.remove(poem::http::header::SERVER);
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        // A response that states its own policy keeps it: an embeddable shared report.
        if !headers.contains_key("content-security-policy") {
            headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
            headers.insert(
                "content-security-policy",
                if docs {
                    self.docs_policy.clone()
                } else {
                    HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'")
                },
            );
        }
        if self.hsts {
            headers.insert(
                "strict-transport-security",
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
        Ok(resp)
    }
}

/// Answers 503 `request_timeout` when a request takes longer than `0` to produce its response.
/// Routes whose bodies stream for as long as the client sends or reads (webhook audio, file
/// uploads, exports, live events) are not timed: their streams have their own limits.
pub struct RequestTimeout(pub std::time::Duration);

const UNTIMED: [&str; 4] = [
    "/webhooks/elevenlabs",
    "/api/contacts/imports",
    "/export",
    "/api/events",
];

impl<E: Endpoint> Middleware<E> for RequestTimeout {
    type Output = RequestTimeoutEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RequestTimeoutEndpoint {
            inner: ep,
            limit: self.0,
        }
    }
}

pub struct RequestTimeoutEndpoint<E> {
    inner: E,
    limit: std::time::Duration,
}

impl<E: Endpoint> Endpoint for RequestTimeoutEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let path = req.uri().path();
        if UNTIMED
            .iter()
            .any(|p| path.starts_with(p) || path.ends_with(p))
        {
            return Ok(self.inner.call(req).await?.into_response());
        }
        match tokio::time::timeout(self.limit, self.inner.call(req)).await {
            Ok(resp) => Ok(resp?.into_response()),
            Err(_) => {
                tracing::warn!(limit_secs = self.limit.as_secs(), "request timed out");
                Ok(error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorBody::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "request_timeout",
                        "the request took too long; retry",
                    ),
                ))
            }
        }
    }
}

/// Adds `Allow` to 405 answers: the methods the OpenAPI document lists for the path.
pub struct AllowedMethods {
    /// Each documented path as segments (`{…}` matches any segment), with its methods.
    pub routes: std::sync::Arc<Vec<(Vec<String>, String)>>,
}

impl AllowedMethods {
    pub fn from_spec(spec: &str) -> Self {
        let spec: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        let routes = spec["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(path, ops)| {
                let segments = path.split('/').map(String::from).collect();
                let methods: Vec<String> = ops
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(m, _)| m.to_uppercase())
                    .collect();
                (segments, methods.join(", "))
            })
            .collect();
        Self {
            routes: std::sync::Arc::new(routes),
        }
    }
}

impl<E: Endpoint> Middleware<E> for AllowedMethods {
    type Output = AllowedMethodsEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        AllowedMethodsEndpoint {
            inner: ep,
            routes: self.routes.clone(),
        }
    }
}

pub struct AllowedMethodsEndpoint<E> {
    inner: E,
    routes: std::sync::Arc<Vec<(Vec<String>, String)>>,
}

impl<E: Endpoint> Endpoint for AllowedMethodsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let path: Vec<String> = req.uri().path().split('/').map(String::from).collect();
        let mut resp = self.inner.call(req).await?.into_response();
        if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
            let allowed = self.routes.iter().find(|(segments, _)| {
                segments.len() == path.len()
                    && segments
                        .iter()
                        .zip(&path)
                        .all(|(s, p)| s == p || (s.starts_with('{') && !p.is_empty()))
            });
            if let Some(value) = allowed.and_then(|(_, m)| HeaderValue::from_str(m).ok()) {
                resp.headers_mut().insert(poem::http::header::ALLOW, value);
            }
        }
        Ok(resp)
    }
}

/// Refuses NUL characters in paths, query strings and JSON bodies: valid in URLs and JSON, but
/// PostgreSQL stores them in no text column, so they would fail deep inside a request (a 500)
/// instead of at its door. Webhook bodies (a provider's own JSON, cleaned where it is read)
/// and file uploads (cleaned by the sheet reader) pass.
pub struct NoNul;

impl<E: Endpoint> Middleware<E> for NoNul {
    type Output = NoNulEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        NoNulEndpoint(ep)
    }
}

pub struct NoNulEndpoint<E>(E);

/// Whether JSON text holds a `\u0000` escape (an escaped backslash before `u0000` is text).
fn has_nul_escape(json: &[u8]) -> bool {
    let needle = b"u0000";
    json.windows(needle.len() + 1).enumerate().any(|(i, w)| {
        w[0] == b'\\'
            && w[1..].eq_ignore_ascii_case(needle)
            && json[..i].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 0
    }) || json.contains(&0)
}

impl<E: Endpoint> Endpoint for NoNulEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let uri = req.uri().to_string().to_ascii_lowercase();
        if uri.contains("%00") {
            return Ok(error_response(
                StatusCode::BAD_REQUEST,
                ErrorBody::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_parameter",
                    "NUL characters are not allowed in paths or parameters",
                ),
            ));
        }
        let json = req
            .content_type()
            .is_some_and(|t| t.starts_with("application/json"));
        if json && !req.uri().path().starts_with("/webhooks/") {
            let body = req.take_body().into_bytes().await?;
            if has_nul_escape(&body) {
                return Ok(error_response(
                    StatusCode::BAD_REQUEST,
                    ErrorBody::new(
                        StatusCode::BAD_REQUEST,
                        "validation_error",
                        "text must not contain NUL characters",
                    )
                    .with_details(Some(
                        serde_json::json!({ "body": "must not contain NUL characters" }),
                    )),
                ));
            }
            req.set_body(Body::from(body));
        }
        self.0.call(req).await.map(IntoResponse::into_response)
    }
}
