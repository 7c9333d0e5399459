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
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let span = tracing::info_span!(
            "http",
            request_id = %id,
            %method,
            %path,
            user_id = tracing::field::Empty
        );
        // Handlers that record what they did (the audit log) name the request.
        req.extensions_mut().insert(RequestIdValue(id.clone()));
        async move {
            let started = Instant::now();
            let mut resp = match self.0.call(req).await {
                Ok(resp) => resp.into_response(),
                Err(err) => crate::error::from_poem_error(err),
            };
            let status = resp.status().as_u16();
            let elapsed = started.elapsed();
            shared::monitoring::http_request(method.as_str(), &path, status, elapsed);
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
                            ErrorBody::new("unreadable_body", e.to_string()),
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
