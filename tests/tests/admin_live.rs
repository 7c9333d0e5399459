//! The admin WebSocket: refused before the upgrade to anyone but an admin, it pushes the
//! platform's figures at once and on request, and new activity as it happens; it is cut off
//! when the admin is suspended.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tests::{Backend, TestApp, on_both_backends, users::signed_in};
use tokio_tungstenite::tungstenite::{self, Message};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn ws_url(app: &TestApp, token: &str) -> String {
    format!(
        "{}?token={token}",
        app.url("/admin/ws").replacen("http", "ws", 1)
    )
}

async fn refused(app: &TestApp, token: &str) -> u16 {
    match tokio_tungstenite::connect_async(ws_url(app, token)).await {
        Err(tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
}

/// The next message of `kind`, skipping others.
async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let m: Value = serde_json::from_str(&text).unwrap();
                    if m["type"] == kind {
                        return m;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("socket ended: {other:?}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no `{kind}` message"))
}

on_both_backends!(
    admins_watch_the_platform_live,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (root, _) = tests::users::signed_in_admin(&app, "root@example.com").await;
        let (member, _) = signed_in(&app, "member@example.com").await;

        assert_eq!(refused(&app, "").await, 401);
        assert_eq!(refused(&app, "not-a-token").await, 401);
        assert_eq!(refused(&app, &member).await, 403);

        // As a browser opens it: with the frontend's origin.
        let mut request =
            tungstenite::client::IntoClientRequest::into_client_request(ws_url(&app, &root))
                .unwrap();
        request
            .headers_mut()
            .insert("origin", "http://localhost:8080".parse().unwrap());
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("an admin connects");
        let metrics = next_of(&mut socket, "metrics").await;
        assert_eq!(metrics["data"]["activeUsers"], 2);
        assert!(metrics["data"]["errorRate"].is_number());
        let status = next_of(&mut socket, "system_status").await;
        assert_eq!(status["data"]["database"], "healthy");
        let agents = next_of(&mut socket, "agent_status").await;
        assert_eq!(agents["data"]["active"], 0);

        // A sign-up reaches the socket as activity.
        signed_in(&app, "newcomer@example.com").await;
        socket
            .send(Message::Text(
                json!({"type": "request_metrics"}).to_string().into(),
            ))
            .await
            .unwrap();
        let seen = next_of(&mut socket, "user_activity").await;
        assert_eq!(seen["data"]["userEmail"], "newcomer@example.com");

        // An admin suspended by another is cut off at the next push.
        let (ops, ops_id) = tests::users::signed_in_admin(&app, "ops@example.com").await;
        let (mut socket, _) = tokio_tungstenite::connect_async(ws_url(&app, &ops))
            .await
            .expect("an admin connects");
        next_of(&mut socket, "metrics").await;
        app.send(
            reqwest::Method::PATCH,
            &format!("/api/admin/users/{ops_id}/status"),
            Some(json!({"is_active": false, "reason": "left the company"})),
            Some(&root),
        )
        .await
        .error_for_status()
        .unwrap();
        socket
            .send(Message::Text(
                json!({"type": "request_metrics"}).to_string().into(),
            ))
            .await
            .unwrap();
        let closed = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                match socket.next().await {
                    Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                    Some(Ok(_)) => {}
                    _ => return None,
                }
            }
        })
        .await
        .expect("the socket closes");
        assert_eq!(closed, Some(1008));
    }
);
