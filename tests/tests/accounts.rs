//! Built-in accounts end to end, with mail through a real SMTP sink: register, verify, sign in,
//! refresh rotation and reuse detection, reset, lockout, rate limits, change password/email.

use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use shared::entities::{credit_transactions, users};
use tests::{
    Backend, TestApp, WorkerMode, expect_error, on_both_backends,
    users::{PASSWORD, register},
};

const WAIT: Duration = Duration::from_secs(30);

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post(
        "/api/auth/login",
        json!({"email": email, "password": password}),
        None,
    )
    .await
}

fn token(session: &Value, key: &str) -> String {
    session[key].as_str().expect("token").to_string()
}

on_both_backends!(the_whole_builtin_flow, |backend: Backend| async move {
    let app = TestApp::spawn(backend).await;

    // Register: a session, 15 welcome credits, a verification email.
    let session = register(&app, "  Ada@Example.COM ").await;
    assert_eq!(session["token_type"], "Bearer");
    assert_eq!(session["user"]["email"], "ada@example.com");
    assert_eq!(session["user"]["credits"], 15);
    assert_eq!(session["user"]["email_verified"], false);
    assert_eq!(session["user"]["auth_provider"], "email");
    let mails = app.smtp.wait_for(1, WAIT).await;
    assert_eq!(mails[0].to, vec!["ada@example.com".to_string()]);
    assert!(
        mails[0]
            .decoded()
            .contains("http://switchboard.test/api/auth/verify-email?token=")
    );

    // Verify through the emailed link; the link works once.
    let link = mails[0].link_token();
    let verified = app
        .get(&format!("/api/auth/verify-email?token={link}"), None)
        .await;
    assert_eq!(verified.status(), 200);
    let again = app
        .get(&format!("/api/auth/verify-email?token={link}"), None)
        .await;
    expect_error(again, 400, "invalid_token").await;

    // Sign in; the profile shows the verified email and the balance.
    let session = login(&app, "ada@example.com", PASSWORD)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let access = token(&session, "access_token");
    let profile: Value = app
        .get("/api/user/profile", Some(&access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(profile["email_verified"], true);
    assert_eq!(profile["credits"], 15);
    let credits: Value = app
        .get("/api/user/credits", Some(&access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(credits, json!({"credits": 15}));

    // Refresh rotates; the spent token is refused and takes its whole family down.
    let first_refresh = token(&session, "refresh_token");
    let rotated = app
        .post(
            "/api/auth/refresh",
            json!({"refresh_token": first_refresh}),
            None,
        )
        .await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    let second_refresh = token(&rotated, "refresh_token");
    assert_ne!(first_refresh, second_refresh);
    let reuse = app
        .post(
            "/api/auth/refresh",
            json!({"refresh_token": first_refresh}),
            None,
        )
        .await;
    expect_error(reuse, 401, "refresh_token_reused").await;
    let after = app
        .post(
            "/api/auth/refresh",
            json!({"refresh_token": second_refresh}),
            None,
        )
        .await;
    expect_error(after, 401, "refresh_token_reused").await;

    // A new session, then a password reset by email ends it.
    let session = login(&app, "ada@example.com", PASSWORD)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let (old_access, old_refresh) = (
        token(&session, "access_token"),
        token(&session, "refresh_token"),
    );
    let forgot = app
        .post(
            "/api/auth/forgot-password",
            json!({"email": "ada@example.com"}),
            None,
        )
        .await;
    assert_eq!(forgot.status(), 202);
    let mails = app.smtp.wait_for(2, WAIT).await;
    let reset_token = mails[1].link_token();
    assert!(mails[1].decoded().contains("/reset-password?token="));
    let weak = app
        .post(
            "/api/auth/reset-password",
            json!({"token": reset_token, "new_password": "short"}),
            None,
        )
        .await;
    let body = expect_error(weak, 422, "validation_error").await;
    assert_eq!(body["error"]["details"]["field"], "password");
    let reset = app
        .post(
            "/api/auth/reset-password",
            json!({"token": reset_token, "new_password": "a brand new passphrase"}),
            None,
        )
        .await;
    assert_eq!(reset.status(), 204);
    expect_error(
        app.get("/api/user/profile", Some(&old_access)).await,
        401,
        "session_revoked",
    )
    .await;
    let stale = app
        .post(
            "/api/auth/refresh",
            json!({"refresh_token": old_refresh}),
            None,
        )
        .await;
    expect_error(stale, 401, "refresh_token_reused").await;
    expect_error(
        login(&app, "ada@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    let session = login(&app, "ada@example.com", "a brand new passphrase").await;
    assert_eq!(session.status(), 200);
    let session: Value = session.json().await.unwrap();

    // Signing out ends that session's refresh token; signing out again is harmless.
    let refresh = token(&session, "refresh_token");
    let out = app
        .post("/api/auth/logout", json!({"refresh_token": refresh}), None)
        .await;
    assert_eq!(out.status(), 204);
    let again = app
        .post("/api/auth/logout", json!({"refresh_token": refresh}), None)
        .await;
    assert_eq!(again.status(), 204);
    let after = app
        .post("/api/auth/refresh", json!({"refresh_token": refresh}), None)
        .await;
    expect_error(after, 401, "refresh_token_reused").await;

    // Exactly one welcome grant in the ledger.
    let grants = credit_transactions::Entity::find()
        .count(&app.services.db)
        .await
        .unwrap();
    assert_eq!(grants, 1);
});

on_both_backends!(
    registration_is_validated_and_unique,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        register(&app, "grace@example.com").await;
        let dup = app
            .post(
                "/api/auth/register",
                json!({"email": "GRACE@example.com", "password": PASSWORD}),
                None,
            )
            .await;
        expect_error(dup, 409, "email_taken").await;
        for (body, field) in [
            (
                json!({"email": "not-an-email", "password": PASSWORD}),
                "email",
            ),
            (
                json!({"email": "x@example.com", "password": "password123"}),
                "password",
            ),
            (
                json!({"email": "x@example.com", "password": "short"}),
                "password",
            ),
        ] {
            let resp = app.post("/api/auth/register", body, None).await;
            let err = expect_error(resp, 422, "validation_error").await;
            assert_eq!(err["error"]["details"]["field"], field);
        }
        let wrong_type = app
            .post(
                "/api/auth/register",
                json!({"email": 5, "password": PASSWORD}),
                None,
            )
            .await;
        expect_error(wrong_type, 422, "validation_error").await;
        let malformed = app
            .client
            .post(app.url("/api/auth/register"))
            .header("content-type", "application/json")
            .body("{\"email\": \"x@example.com\",")
            .send()
            .await
            .unwrap();
        expect_error(malformed, 400, "malformed_json").await;
        // Only the first registration wrote anything.
        assert_eq!(
            users::Entity::find().count(&app.services.db).await.unwrap(),
            1
        );
        assert_eq!(
            credit_transactions::Entity::find()
                .count(&app.services.db)
                .await
                .unwrap(),
            1
        );
    }
);

on_both_backends!(
    repeated_failures_lock_the_account,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        register(&app, "lin@example.com").await;
        app.smtp.wait_for(1, WAIT).await;
        for _ in 0..3 {
            expect_error(
                login(&app, "lin@example.com", "wrong password!!").await,
                401,
                "invalid_credentials",
            )
            .await;
        }
        // Locked: the right password gets the same answer as a wrong one.
        let right = login(&app, "lin@example.com", PASSWORD).await;
        assert!(right.headers().contains_key("retry-after"));
        expect_error(right, 429, "account_locked").await;
        expect_error(
            login(&app, "lin@example.com", "wrong password!!").await,
            429,
            "account_locked",
        )
        .await;
        let mails = app.smtp.wait_for(2, WAIT).await;
        assert!(mails[1].header("Subject").unwrap().contains("locked"));
        // Unknown accounts look like wrong passwords.
        expect_error(
            login(&app, "nobody@example.com", PASSWORD).await,
            401,
            "invalid_credentials",
        )
        .await;
    }
);

on_both_backends!(
    sign_in_endpoints_are_rate_limited,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.auth_rate_per_email_per_min = 2
        })
        .await;
        for _ in 0..2 {
            let resp = app
                .post(
                    "/api/auth/forgot-password",
                    json!({"email": "eve@example.com"}),
                    None,
                )
                .await;
            assert_eq!(resp.status(), 202, "same answer for unknown accounts");
        }
        let limited = app
            .post(
                "/api/auth/forgot-password",
                json!({"email": "eve@example.com"}),
                None,
            )
            .await;
        let retry_after: u64 = limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry_after >= 1);
        expect_error(limited, 429, "rate_limited").await;
        // Nothing was sent for an account that does not exist.
        app.wait_for_jobs(WAIT).await;
        assert!(app.smtp.received().is_empty());
    }
);

on_both_backends!(change_password_and_email, |backend: Backend| async move {
    let app = TestApp::spawn(backend).await;
    let session = register(&app, "kat@example.com").await;
    let access = token(&session, "access_token");

    let wrong = app
        .post("/api/auth/change-password", json!({"current_password": "nope nope nope", "new_password": "another long passphrase"}), Some(&access))
        .await;
    expect_error(wrong, 403, "wrong_password").await;
    let changed = app
        .post(
            "/api/auth/change-password",
            json!({"current_password": PASSWORD, "new_password": "another long passphrase"}),
            Some(&access),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let fresh: Value = changed.json().await.unwrap();
    expect_error(
        app.get("/api/user/profile", Some(&access)).await,
        401,
        "session_revoked",
    )
    .await;
    let access = token(&fresh, "access_token");
    assert_eq!(
        app.get("/api/user/profile", Some(&access)).await.status(),
        200
    );

    register(&app, "taken@example.com").await;
    let taken = app
        .post(
            "/api/auth/change-email",
            json!({"new_email": "taken@example.com", "password": "another long passphrase"}),
            Some(&access),
        )
        .await;
    expect_error(taken, 409, "email_taken").await;
    let started = app
        .post(
            "/api/auth/change-email",
            json!({"new_email": "kat.new@example.com", "password": "another long passphrase"}),
            Some(&access),
        )
        .await;
    assert_eq!(started.status(), 202);
    let mails = app.smtp.wait_for(3, WAIT).await;
    let mail = mails
        .iter()
        .find(|m| m.to == vec!["kat.new@example.com".to_string()])
        .expect("mail to the new address");
    let verified = app
        .post(
            "/api/auth/verify-email",
            json!({"token": mail.link_token()}),
            None,
        )
        .await;
    assert_eq!(verified.status(), 200);
    let profile: Value = app
        .get("/api/user/profile", Some(&access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(profile["email"], "kat.new@example.com");
});

on_both_backends!(
    profile_updates_are_validated,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let session = register(&app, "pat@example.com").await;
        let access = token(&session, "access_token");
        let patch = |body: Value| {
            app.client
                .patch(app.url("/api/user/profile"))
                .bearer_auth(&access)
                .json(&body)
                .send()
        };
        for (body, field) in [
            (json!({"timezone": "Mars/Olympus"}), "timezone"),
            (json!({"phone": "12"}), "phone"),
            (json!({"default_region": "ZZ"}), "default_region"),
        ] {
            let err = expect_error(patch(body).await.unwrap(), 422, "validation_error").await;
            assert_eq!(err["error"]["details"]["field"], field);
        }
        let ok = patch(json!({
        "name": "Pat Doe", "company": "Acme", "timezone": "Europe/Paris", "default_region": "FR",
        "phone": "06 12 34 56 78",
        "notifications": {"call_summaries": false, "low_balance": true, "weekly_report": false, "product_updates": true}
    }))
    .await
    .unwrap();
        assert_eq!(ok.status(), 200);
        let profile: Value = ok.json().await.unwrap();
        assert_eq!(profile["phone"], "+33612345678");
        assert_eq!(profile["timezone"], "Europe/Paris");
        assert_eq!(profile["notifications"]["call_summaries"], false);

        let anonymous = app
            .client
            .patch(app.url("/api/user/profile"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        expect_error(anonymous, 401, "missing_token").await;
    }
);

on_both_backends!(
    bad_access_tokens_are_refused_with_distinct_codes,
    |backend: Backend| async move {
        use jsonwebtoken::{Algorithm, EncodingKey, Header};
        let app = TestApp::spawn(backend).await;
        let session = register(&app, "tok@example.com").await;
        let id = session["user"]["id"].as_str().unwrap().to_string();
        let secret = app.config().jwt_secret.clone().unwrap();
        let now = chrono::Utc::now().timestamp();
        let mint = |claims: Value, secret: &str| {
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(secret.as_bytes()),
            )
            .unwrap()
        };
        let good = json!({"sub": id, "iat": now, "exp": now + 60, "iss": "switchboard", "aud": "switchboard-api", "epoch": 0});
        assert_eq!(
            app.get("/api/user/profile", Some(&mint(good.clone(), &secret)))
                .await
                .status(),
            200
        );

        let mut expired = good.clone();
        expired["exp"] = json!(now - 120);
        let mut audience = good.clone();
        audience["aud"] = json!("someone-else");
        let es256 = tests::jwt::EcKey::generate("k").sign(&good);
        let cases = [
            (mint(expired, &secret), "token_expired"),
            (mint(audience, &secret), "invalid_audience"),
            (
                mint(good.clone(), "another-secret-another-secret-xyz"),
                "invalid_signature",
            ),
            (tests::jwt::unsigned(&good), "unsigned_token"),
            (es256, "invalid_algorithm"),
            ("garbage".into(), "malformed_token"),
        ];
        for (token, code) in cases {
            expect_error(app.get("/api/user/profile", Some(&token)).await, 401, code).await;
        }
        let stack_header = app
            .client
            .get(app.url("/api/user/profile"))
            .header("x-stack-access-token", mint(good, &secret))
            .send()
            .await
            .unwrap();
        expect_error(stack_header, 401, "unsupported_token").await;
    }
);

on_both_backends!(
    admins_come_only_from_admin_emails_or_the_cli,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.admin_emails = vec!["Boss@Example.com".into()];
        })
        .await;
        // Registering the listed address is not enough: it must be verified first.
        let session = register(&app, "boss@example.com").await;
        let access = token(&session, "access_token");
        let profile: Value = app
            .get("/api/user/profile", Some(&access))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(profile["role"], "user");
        let mails = app.smtp.wait_for(1, WAIT).await;
        app.get(
            &format!("/api/auth/verify-email?token={}", mails[0].link_token()),
            None,
        )
        .await;
        let profile: Value = app
            .get("/api/user/profile", Some(&access))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(profile["role"], "admin");

        // `api create-admin` promotes an existing account, and fails clearly for an unknown one.
        register(&app, "ops@example.com").await;
        let out = app
            .command(env!("CARGO_BIN_EXE_test-api"))
            .args(["create-admin", "--email", "OPS@example.com"])
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ops = users::Entity::find()
            .filter(users::Column::Email.eq("ops@example.com"))
            .one(&app.services.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ops.role, "admin");
        let missing = app
            .command(env!("CARGO_BIN_EXE_test-api"))
            .args(["create-admin", "--email", "ghost@example.com"])
            .output()
            .await
            .unwrap();
        assert!(!missing.status.success());
        assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
    }
);

on_both_backends!(
    suspended_users_are_refused_everywhere,
    |backend: Backend| async move {
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};
        let app = TestApp::spawn(backend).await;
        let session = register(&app, "sus@example.com").await;
        let access = token(&session, "access_token");
        let refresh = token(&session, "refresh_token");
        let user = users::Entity::find()
            .one(&app.services.db)
            .await
            .unwrap()
            .unwrap();
        let mut active: users::ActiveModel = user.into();
        active.status = Set("suspended".into());
        active.update(&app.services.db).await.unwrap();

        for path in ["/api/user/profile", "/api/user/credits"] {
            expect_error(app.get(path, Some(&access)).await, 403, "account_suspended").await;
        }
        let patch = app
            .client
            .patch(app.url("/api/user/profile"))
            .bearer_auth(&access)
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap();
        expect_error(patch, 403, "account_suspended").await;
        let refreshed = app
            .post("/api/auth/refresh", json!({"refresh_token": refresh}), None)
            .await;
        expect_error(refreshed, 403, "account_suspended").await;
        expect_error(
            login(&app, "sus@example.com", PASSWORD).await,
            403,
            "account_suspended",
        )
        .await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contract_documents_auth_endpoints_and_schemes() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let spec: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["BearerToken"]["scheme"], "bearer");
    assert_eq!(schemes["StackToken"]["name"], "x-stack-access-token");
    for (path, method, statuses) in [
        (
            "/api/auth/register",
            "post",
            &["201", "409", "422", "429"][..],
        ),
        ("/api/auth/login", "post", &["200", "401", "429"][..]),
        ("/api/auth/refresh", "post", &["200", "401"][..]),
        ("/api/user/profile", "get", &["200", "401", "403"][..]),
        ("/api/user/profile", "patch", &["200", "401", "422"][..]),
        ("/api/user/credits", "get", &["200", "401"][..]),
    ] {
        let op = &spec["paths"][path][method];
        assert!(op.is_object(), "{method} {path} documented");
        for status in statuses {
            assert!(
                op["responses"][status].is_object(),
                "{method} {path} documents {status}"
            );
        }
    }
    assert!(spec["paths"]["/api/user/profile"]["get"]["security"].is_array());
}
