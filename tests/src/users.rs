//! Signing users up through the real endpoints.

use std::time::Duration;

use serde_json::{Value, json};

use crate::TestApp;

pub const PASSWORD: &str = "correct horse battery";

/// Registers a built-in account; returns the session (`token`, `refreshToken`, `user`).
pub async fn register(app: &TestApp, email: &str) -> Value {
    let resp = app
        .post(
            "/api/auth/register",
            json!({"email": email, "password": PASSWORD, "name": "Ada"}),
            None,
        )
        .await;
    assert_eq!(resp.status(), 201);
    resp.json().await.expect("session")
}

/// Registers an account; returns its access token and user id.
pub async fn signed_in(app: &TestApp, email: &str) -> (String, uuid::Uuid) {
    let session = register(app, email).await;
    (
        session["token"].as_str().expect("token").to_string(),
        session["user"]["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("user id"),
    )
}

/// Registers and verifies (through the emailed link) an account; returns its access token and
/// user id.
/// A signed-in account promoted to `role` (what `api create-admin` does).
pub async fn signed_in_as(
    app: &TestApp,
    email: &str,
    role: shared::accounts::users::Role,
) -> (String, uuid::Uuid) {
    let (token, id) = signed_in(app, email).await;
    shared::accounts::users::promote_admin(&app.services.db, email, role)
        .await
        .expect("promote");
    (token, id)
}

/// A signed-in admin.
pub async fn signed_in_admin(app: &TestApp, email: &str) -> (String, uuid::Uuid) {
    signed_in_as(app, email, shared::accounts::users::Role::Admin).await
}

pub async fn verified_user(app: &TestApp, email: &str) -> (String, String) {
    let session = register(app, email).await;
    let mail = app
        .smtp
        .wait_for_to(
            email.trim().to_lowercase().as_str(),
            1,
            Duration::from_secs(30),
        )
        .await;
    let verified = app
        .post(
            "/api/email/verify",
            json!({ "token": mail.link_token() }),
            None,
        )
        .await;
    assert_eq!(verified.status(), 200);
    (
        session["token"].as_str().expect("token").to_string(),
        session["user"]["id"].as_str().expect("id").to_string(),
    )
}

/// The admin audit log (newest first) and its actions, as an admin reads them.
pub async fn audit_log(app: &TestApp, admin_token: &str) -> (serde_json::Value, Vec<String>) {
    let log: serde_json::Value = app
        .get("/api/admin/audit?limit=100", Some(admin_token))
        .await
        .json()
        .await
        .expect("audit log");
    let actions = log["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_string())
        .collect();
    (log, actions)
}
