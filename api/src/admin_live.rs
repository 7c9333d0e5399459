//! The admin WebSocket (`/admin/ws?token=<access token>`), which the admin pages and the
//! sidebar of admins open: the platform's figures (`metrics`), the state of its parts
//! (`system_status`), agents by state (`agent_status`), new sign-ups, agents and finished calls
//! (`user_activity`) and warnings (`notification`), every five seconds. The token is checked
//! like a bearer token before the upgrade (401 without, 403 `admin_required` for anyone but an
//! admin) and again on every push, so a suspended admin or an ended session is cut off.

use std::sync::atomic::{AtomicUsize, Ordering};

use futures::{SinkExt, StreamExt};
use poem::{
    Endpoint, FromRequest, IntoResponse, Request, Response,
    http::StatusCode,
    web::websocket::{Message, WebSocket},
};
use poem_openapi::types::ToJSON;
use serde_json::{Value, json};
use shared::{
    AppError, AppResult, Services,
    accounts::auth::Credential,
    admin::realtime::{self, Activity, ERROR_ALERT_PERCENT, Figures},
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Sockets one process holds at most.
pub const MAX_SOCKETS: usize = 200;
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// The socket's endpoint; `shutdown` ends every socket when the server stops.
pub struct AdminSocket {
    pub services: Services,
    pub shutdown: CancellationToken,
}

fn refused(e: &AppError) -> Response {
    let body = crate::error::ErrorBody::from(e);
    Response::builder()
        .status(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::FORBIDDEN))
        .content_type("application/json")
        .body(body.to_json_string())
}

/// The account behind `token` if it is an admin's live session.
async fn admin(services: &Services, token: &str) -> AppResult<Uuid> {
    let account = services
        .auth
        .authenticate_row(
            &services.db,
            &*services.settings().await,
            Credential::Bearer(token.to_string()),
        )
        .await?;
    let user = shared::accounts::auth::CurrentUser::from(&account);
    if !user.is_admin() {
        return Err(AppError::forbidden(
            "admin_required",
            "this needs an admin account",
        ));
    }
    Ok(user.id)
}

#[derive(serde::Deserialize)]
struct TokenParam {
    token: Option<String>,
}

/// Leaves the count of open sockets when the socket ends, however it ends.
struct Slot;

impl Drop for Slot {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Endpoint for AdminSocket {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let token = poem::web::Query::<TokenParam>::from_request_without_body(&req)
            .await
            .ok()
            .and_then(|q| q.0.token)
            .filter(|t| !t.trim().is_empty());
        let Some(token) = token else {
            return Ok(refused(&AppError::unauthorized(
                "missing_token",
                "add ?token=<access token>",
            )));
        };
        if let Err(e) = admin(&self.services, &token).await {
            return Ok(refused(&e));
        }
        let ws = match WebSocket::from_request_without_body(&req).await {
            Ok(ws) => ws,
            Err(_) => {
                return Ok(refused(&AppError::bad_request(
                    "websocket_required",
                    "open this with a WebSocket",
                )));
            }
        };
        if OPEN.fetch_add(1, Ordering::SeqCst) >= MAX_SOCKETS {
            OPEN.fetch_sub(1, Ordering::SeqCst);
            return Ok(refused(&AppError::unavailable(
                "too_many_sockets",
                "too many admin sockets on this server; retry shortly",
            )));
        }
        let slot = Slot;
        let services = self.services.clone();
        let shutdown = self.shutdown.clone();
        Ok(ws
            .on_upgrade(move |socket| async move {
                let _slot = slot;
                run(services, shutdown, token, socket).await;
            })
            .into_response())
    }
}

fn message(kind: &str, data: Value) -> Message {
    Message::Text(
        json!({"type": kind, "data": data, "timestamp": crate::wire::Timestamp::now().0.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)})
            .to_string(),
    )
}

fn figures(f: &Figures) -> [Message; 3] {
    let at = f.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    [
        message(
            "metrics",
            json!({"activeUsers": f.active_users, "totalCalls": f.total_calls,
                   "systemLoad": f.system_load, "errorRate": f.error_rate,
                   "responseTime": f.response_time, "timestamp": at}),
        ),
        message(
            "system_status",
            json!({"database": f.database, "api": f.api, "elevenLabs": f.elevenlabs,
                   "payments": f.payments, "timestamp": at}),
        ),
        message(
            "agent_status",
            json!({"active": f.agents_active, "idle": f.agents_idle, "error": f.agents_error}),
        ),
    ]
}

fn activity(a: &Activity) -> Message {
    message(
        "user_activity",
        json!({"userId": a.item.user_id, "userEmail": a.email.clone().unwrap_or_default(),
               "action": a.item.message,
               "timestamp": a.item.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
               "details": {"kind": format!("{:?}", a.item.kind), "agentId": a.item.agent_id}}),
    )
}

fn alert(f: &Figures) -> Message {
    message(
        "notification",
        json!({"id": Uuid::new_v4(), "type": "error", "priority": "high", "category": "system",
               "title": "Server errors",
               "message": format!("{:.1}% of the last five minutes' requests failed", f.error_rate),
               "timestamp": f.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)}),
    )
}

async fn run(
    services: Services,
    shutdown: CancellationToken,
    token: String,
    socket: poem::web::websocket::WebSocketStream,
) {
    let (mut sink, mut stream) = socket.split();
    let mut tick = tokio::time::interval(realtime::EVERY);
    // The newest activity already seen: only what follows is pushed.
    let mut seen = match realtime::activity_since(&services, None).await {
        Ok(items) => items.last().map(|a| a.item.id),
        Err(_) => None,
    };
    let mut alerting = false;
    let mut wants_system = true;
    loop {
        let push = tokio::select! {
            _ = shutdown.cancelled() => {
                let _ = sink.send(Message::Close(Some((poem::web::websocket::CloseCode::Away, "server stopping".into())))).await;
                break;
            }
            _ = tick.tick() => true,
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let asked: Value = serde_json::from_str(&text).unwrap_or_default();
                    match asked["type"].as_str() {
                        Some("request_metrics") => true,
                        Some("subscribe") => {
                            // Warnings are all `system` ones; a subscription without it mutes them.
                            wants_system = asked["categories"]
                                .as_array()
                                .is_none_or(|c| c.iter().any(|c| c == "system"));
                            false
                        }
                        _ => false,
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => false,
            },
        };
        if !push {
            continue;
        }
        // The session may have ended or the admin been suspended since the last push.
        if let Err(e) = admin(&services, &token).await {
            let _ = sink
                .send(Message::Close(Some((
                    poem::web::websocket::CloseCode::Policy,
                    e.reason(),
                ))))
                .await;
            break;
        }
        let mut out: Vec<Message> = Vec::new();
        match services.realtime.figures(&services).await {
            Ok(f) => {
                out.extend(figures(&f));
                let now_alerting = f.error_rate >= ERROR_ALERT_PERCENT;
                if now_alerting && !alerting && wants_system {
                    out.push(alert(&f));
                }
                alerting = now_alerting;
            }
            Err(e) => tracing::warn!(error = %e, "admin socket figures"),
        }
        if let Ok(items) = realtime::activity_since(&services, seen).await {
            if let Some(last) = items.last() {
                seen = Some(last.item.id);
            }
            out.extend(items.iter().map(activity));
        }
        for m in out {
            if sink.send(m).await.is_err() {
                return;
            }
        }
    }
}
