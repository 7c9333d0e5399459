//! Built-in accounts end to end, with mail through a real SMTP sink: register, verify, sign in,
//! refresh rotation and reuse detection, reset, lockout, rate limits, change password/email.

use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use shared::entities::{credit_transactions, users};
use tests::{
    Backend, Decode, TestApp, WorkerMode, expect_error, on_both_backends,
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

/// A grace window short enough to wait out: a spent refresh token replayed within it gets the
/// same pair, after it revokes the family.
const GRACE_SECS: u64 = 2;

on_both_backends!(the_whole_builtin_flow, |backend: Backend| async move {
    let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
        c.auth.refresh_reuse_grace_secs = GRACE_SECS
    })
    .await;

    // Register: a session in the client's shape, 15 welcome credits, a verification email
    // linking to the frontend's page.
    let session = register(&app, "  Ada@Example.COM ").await;
    assert!(
        session["token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3)
    );
    assert!(session["refreshToken"].as_str().is_some());
    assert!(session["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(session["user"]["email"], "ada@example.com");
    assert_eq!(session["user"]["credits"], 15);
    assert_eq!(session["user"]["emailVerified"], false);
    assert_eq!(session["user"]["isActive"], true);
    assert_eq!(session["user"]["role"], "user");
    assert_eq!(session["user"]["authProvider"], "email");
    let mails = app.smtp.wait_for(1, WAIT).await;
    assert_eq!(mails[0].to, vec!["ada@example.com".to_string()]);
    assert!(mails[0].decoded().contains(&format!(
        "{}/verify-email?token=",
        app.config().server.frontend_url
    )));

    // The gate's "Resend" sends a second link; verify through it; a link works once.
    let access = token(&session, "token");
    let resent = app
        .post("/api/email/send-verification", json!({}), Some(&access))
        .await;
    assert_eq!(resent.status(), 200);
    let mails = app.smtp.wait_for(2, WAIT).await;
    let link = mails[1].link_token();
    // Posted several times at once: one success; the others say the address is verified.
    let answers = futures::future::join_all(
        (0..3).map(|_| app.post("/api/email/verify", json!({ "token": link }), None)),
    )
    .await;
    let mut verified = Value::Null;
    for answer in answers {
        if answer.status() == 200 {
            assert!(verified.is_null(), "one success");
            verified = answer.json().await.unwrap();
        } else {
            let err = expect_error(answer, 400, "already_verified").await;
            assert!(
                err["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("already verified")
            );
        }
    }
    assert_eq!(verified["user"]["emailVerified"], true);
    // The page posts the token again (and people click twice): it says so.
    let again = app
        .post("/api/email/verify", json!({ "token": link }), None)
        .await;
    expect_error(again, 400, "already_verified").await;
    // A link that was never issued is refused in the client's vocabulary.
    let made_up = app
        .post("/api/email/verify", json!({ "token": "not-a-link" }), None)
        .await;
    let err = expect_error(made_up, 400, "invalid_token").await;
    assert_eq!(err["error"]["code"], "VALIDATION_ERROR");
    let validated: Value = app
        .get("/api/auth/validate", Some(&access))
        .await
        .success_json()
        .await;
    assert_eq!(validated["user"]["emailVerified"], true);

    // Sign in; the profile shows the verified email and the balance.
    let session = login(&app, "ada@example.com", PASSWORD)
        .await
        .success_json::<Value>()
        .await;
    let access = token(&session, "token");
    let profile: Value = app
        .get("/api/user/profile", Some(&access))
        .await
        .success_json()
        .await;
    assert_eq!(profile["user"]["emailVerified"], true);
    assert_eq!(profile["user"]["credits"], 15);
    let credits: Value = app
        .get("/api/user/credits", Some(&access))
        .await
        .success_json()
        .await;
    assert_eq!(credits["credits"], 15);

    // Refresh rotates. The client refreshes in parallel with one token: every one of those
    // requests gets the same new pair.
    let first_refresh = token(&session, "refreshToken");
    let parallel = futures::future::join_all((0..4).map(|_| {
        app.post(
            "/api/auth/refresh",
            json!({"refreshToken": first_refresh}),
            None,
        )
    }))
    .await;
    let mut pairs = Vec::new();
    for resp in parallel {
        let body: Value = resp.expect_json(200).await;
        pairs.push((token(&body, "token"), token(&body, "refreshToken")));
    }
    assert!(pairs.windows(2).all(|w| w[0] == w[1]), "{pairs:?}");
    let second_refresh = pairs[0].1.clone();
    assert_ne!(first_refresh, second_refresh);
    // The same token once more within the window: the same pair again.
    let replay: Value = app
        .post(
            "/api/auth/refresh",
            json!({"refreshToken": first_refresh}),
            None,
        )
        .await
        .success_json()
        .await;
    assert_eq!(token(&replay, "refreshToken"), second_refresh);
    // The client refreshed again with the new token meanwhile: a late replay of the first one
    // gets where the chain is now, not a spent pair.
    let third: Value = app
        .post(
            "/api/auth/refresh",
            json!({"refreshToken": second_refresh}),
            None,
        )
        .await
        .success_json()
        .await;
    let third_refresh = token(&third, "refreshToken");
    let late: Value = app
        .post(
            "/api/auth/refresh",
            json!({"refreshToken": first_refresh}),
            None,
        )
        .await
        .success_json()
        .await;
    assert_eq!(token(&late, "refreshToken"), third_refresh);
    // After the window, a replay is a reuse and takes the whole family down.
    tokio::time::sleep(Duration::from_millis(GRACE_SECS * 1000 + 300)).await;
    let reuse = app
        .post(
            "/api/auth/refresh",
            json!({"refreshToken": first_refresh}),
            None,
        )
        .await;
    expect_error(reuse, 401, "refresh_token_reused").await;
    let after = app
        .post(
            "/api/auth/refresh",
            json!({"refreshToken": third_refresh}),
            None,
        )
        .await;
    let err = expect_error(after, 401, "refresh_token_reused").await;
    assert_eq!(err["error"]["code"], "UNAUTHORIZED");

    // A new session, then a password reset by email ends it.
    let session = login(&app, "ada@example.com", PASSWORD)
        .await
        .success_json::<Value>()
        .await;
    let (old_access, old_refresh) = (token(&session, "token"), token(&session, "refreshToken"));
    let forgot = app
        .post(
            "/api/email/send-password-reset",
            json!({"email": "ada@example.com"}),
            None,
        )
        .await;
    assert_eq!(forgot.status(), 200);
    let mails = app.smtp.wait_for(3, WAIT).await;
    let reset_token = mails[2].link_token();
    assert!(mails[2].decoded().contains("/reset-password?token="));
    // The reset page checks the token first, without spending it.
    for _ in 0..2 {
        let check: Value = app
            .post(
                "/api/email/validate-reset-token",
                json!({ "token": reset_token }),
                None,
            )
            .await
            .success_json()
            .await;
        assert_eq!(check, json!({"success": true, "valid": true}));
    }
    expect_error(
        app.post(
            "/api/email/validate-reset-token",
            json!({ "token": "made-up" }),
            None,
        )
        .await,
        400,
        "invalid_token",
    )
    .await;
    let weak = app
        .post(
            "/api/email/reset-password",
            json!({"token": reset_token, "newPassword": "short"}),
            None,
        )
        .await;
    let body = expect_error(weak, 400, "validation_error").await;
    assert_eq!(body["error"]["code"], "WEAK_PASSWORD");
    assert!(body["error"]["details"]["password"].is_string(), "{body}");
    let reset = app
        .post(
            "/api/email/reset-password",
            json!({"token": reset_token, "newPassword": "a brand new passphrase"}),
            None,
        )
        .await;
    let reset: Value = reset.expect_json(200).await;
    assert_eq!(reset["success"], true);
    expect_error(
        app.get("/api/user/profile", Some(&old_access)).await,
        401,
        "session_revoked",
    )
    .await;
    let stale = app
        .post(
            "/api/auth/refresh",
            json!({"refreshToken": old_refresh}),
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
    let session: Value = session.expect_json(200).await;

    // Signing out as the client does (`{}`, no token) answers 200 and changes nothing; with
    // the access token it ends that session; signing out again is harmless.
    let (access, refresh) = (token(&session, "token"), token(&session, "refreshToken"));
    let anonymous = app.post("/api/auth/logout", json!({}), None).await;
    assert_eq!(anonymous.status(), 200);
    let out = app.post("/api/auth/logout", json!({}), Some(&access)).await;
    assert_eq!(out.status(), 200);
    let again = app
        .post("/api/auth/logout", json!({"refreshToken": refresh}), None)
        .await;
    assert_eq!(again.status(), 200);
    let after = app
        .post("/api/auth/refresh", json!({"refreshToken": refresh}), None)
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
        let err = expect_error(dup, 409, "email_taken").await;
        // The sign-up form recognises a duplicate by these words.
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains("already exists")
        );
        assert_eq!(err["error"]["code"], "ALREADY_EXISTS");
        for (body, field, code) in [
            (
                json!({"email": "not-an-email", "password": PASSWORD}),
                "email",
                "INVALID_EMAIL",
            ),
            (
                json!({"email": "x@example.com", "password": "Password123"}),
                "password",
                "WEAK_PASSWORD",
            ),
            (
                json!({"email": "x@example.com", "password": "Short1"}),
                "password",
                "WEAK_PASSWORD",
            ),
        ] {
            let resp = app.post("/api/auth/register", body, None).await;
            let err = expect_error(resp, 400, "validation_error").await;
            assert!(err["error"]["details"][field].is_string(), "{err}");
            assert_eq!(err["error"]["code"], code);
        }
        let wrong_type = app
            .post(
                "/api/auth/register",
                json!({"email": 5, "password": PASSWORD}),
                None,
            )
            .await;
        expect_error(wrong_type, 400, "validation_error").await;
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
            let err = expect_error(
                login(&app, "lin@example.com", "wrong password!!").await,
                401,
                "invalid_credentials",
            )
            .await;
            // The sign-in form's own code and wording.
            assert_eq!(err["error"]["code"], "INVALID_CREDENTIALS");
            assert_eq!(err["error"]["message"], "Invalid email or password");
        }
        // Locked: the right password gets the same answer as a wrong one.
        let right = login(&app, "lin@example.com", PASSWORD).await;
        assert!(right.headers().contains_key("retry-after"));
        let err = expect_error(right, 429, "account_locked").await;
        assert_eq!(err["error"]["code"], "ACCOUNT_LOCKED");
        assert!(err["error"]["message"].as_str().unwrap().contains("locked"));
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
            c.limits.auth_rate_per_email_per_min = 2
        })
        .await;
        tests::within_one_rate_window(15).await;
        for _ in 0..2 {
            let resp = app
                .post(
                    "/api/email/send-password-reset",
                    json!({"email": "eve@example.com"}),
                    None,
                )
                .await;
            assert_eq!(resp.status(), 200, "same answer for unknown accounts");
        }
        let limited = app
            .post(
                "/api/email/send-password-reset",
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
    let (access, refresh) = (token(&session, "token"), token(&session, "refreshToken"));
    // A second session of the same account (another browser).
    let other: Value = login(&app, "kat@example.com", PASSWORD)
        .await
        .success_json()
        .await;
    let change = |current: &str| {
        app.send(
            reqwest::Method::PUT,
            "/api/user/password",
            Some(json!({"currentPassword": current, "newPassword": "another long passphrase"})),
            Some(&access),
        )
    };
    let wrong = change("nope nope nope").await;
    let err = expect_error(wrong, 400, "wrong_password").await;
    // The settings form shows this message as it is.
    assert_eq!(err["error"]["message"], "Current password is incorrect");
    let changed = change(PASSWORD).await;
    let changed: Value = changed.expect_json(200).await;
    // The caller's session lives on: the new access token (which the client's response
    // interceptor stores) works and its refresh token still refreshes; the other session ends.
    let access = token(&changed, "token");
    assert_eq!(
        app.get("/api/user/profile", Some(&access)).await.status(),
        200
    );
    let refreshed = app
        .post("/api/auth/refresh", json!({"refreshToken": refresh}), None)
        .await;
    assert_eq!(refreshed.status(), 200);
    expect_error(
        app.get("/api/user/profile", Some(&token(&other, "token")))
            .await,
        401,
        "session_revoked",
    )
    .await;
    expect_error(
        app.post(
            "/api/auth/refresh",
            json!({"refreshToken": token(&other, "refreshToken")}),
            None,
        )
        .await,
        401,
        "refresh_token_reused",
    )
    .await;

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
    assert_eq!(started.status(), 200);
    let mails = app.smtp.wait_for(3, WAIT).await;
    let mail = mails
        .iter()
        .find(|m| m.to == vec!["kat.new@example.com".to_string()])
        .expect("mail to the new address");
    let verified = app
        .post(
            "/api/email/verify",
            json!({"token": mail.link_token()}),
            None,
        )
        .await;
    assert_eq!(verified.status(), 200);
    let profile: Value = app
        .get("/api/user/profile", Some(&access))
        .await
        .success_json()
        .await;
    assert_eq!(profile["user"]["email"], "kat.new@example.com");
});

on_both_backends!(
    profile_updates_are_validated,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let session = register(&app, "pat@example.com").await;
        let access = token(&session, "token");
        let put = |body: Value| {
            app.client
                .put(app.url("/api/user/profile"))
                .bearer_auth(&access)
                .json(&body)
                .send()
        };
        for (body, field) in [
            (json!({"timezone": "Mars/Olympus"}), "timezone"),
            (json!({"phone": "12"}), "phone"),
            (json!({"defaultRegion": "ZZ"}), "default_region"),
            (json!({"website": "not a site"}), "website"),
            (json!({"email": "someone.else@example.com"}), "email"),
        ] {
            let err = expect_error(put(body).await.unwrap(), 400, "validation_error").await;
            assert!(err["error"]["details"][field].is_string(), "{err}");
        }
        // Nothing of the refused edits was written.
        let untouched: Value = app
            .get("/api/user/profile", Some(&access))
            .await
            .success_json()
            .await;
        assert_eq!(untouched["user"]["email"], "pat@example.com");
        assert_eq!(untouched["user"]["timezone"], "UTC");
        assert_eq!(untouched["user"]["defaultRegion"], "US");
        for absent in ["phone", "website"] {
            assert!(untouched["user"].get(absent).is_none(), "{untouched}");
        }
        // What the settings form sends: every field, empty ones as null.
        let ok = put(json!({
            "name": "Pat Doe", "email": "pat@example.com", "company": "Acme",
            "website": "https://acme.example", "location": "Lyon", "bio": "Sells solar.",
            "phone": "+33612345678"
        }))
        .await
        .unwrap();
        let saved: Value = ok.expect_json(200).await;
        assert_eq!(saved["success"], true);
        assert_eq!(saved["data"]["phone"], "+33612345678");
        assert_eq!(saved["data"]["website"], "https://acme.example");
        assert_eq!(saved["data"]["bio"], "Sells solar.");
        // `null` clears, an absent field stays (the OAuth page sends only the company).
        let cleared: Value = put(json!({"location": null, "company": "Acme SAS"}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(cleared["data"].get("location").is_none(), "{cleared}");
        assert_eq!(cleared["data"]["company"], "Acme SAS");
        assert_eq!(cleared["data"]["name"], "Pat Doe");
        let profile: Value = app
            .get("/api/user/profile", Some(&access))
            .await
            .success_json()
            .await;
        assert_eq!(profile["user"]["website"], "https://acme.example");

        // Notification preferences, as the settings page reads and writes them.
        let prefs: Value = app
            .get("/api/user-notifications/preferences", Some(&access))
            .await
            .success_json()
            .await;
        assert_eq!(prefs["preferences"]["low_credit_alerts"], true);
        let changed: Value = app
            .send(
                reqwest::Method::PUT,
                "/api/user-notifications/preferences",
                Some(json!({"low_credit_alerts": false, "campaign_summary_emails": true})),
                Some(&access),
            )
            .await
            .success_json()
            .await;
        assert_eq!(changed["preferences"]["low_credit_alerts"], false);
        assert_eq!(changed["preferences"]["credits_added_emails"], true);

        // The settings page's OpenAI prompt card: nothing chosen, then an id kept, a bad one
        // refused.
        let prompts: Value = app
            .get("/api/openai-prompts/my-prompts", Some(&access))
            .await
            .success_json()
            .await;
        assert!(
            prompts["data"]["openai_individual_prompt_id"].is_null(),
            "{prompts}"
        );
        let put_prompts = |body: Value| {
            app.send(
                reqwest::Method::PUT,
                "/api/openai-prompts/my-prompts",
                Some(body),
                Some(&access),
            )
        };
        let kept: Value = put_prompts(json!({"openai_individual_prompt_id": "pmpt_68b1c2d3"}))
            .await
            .success_json()
            .await;
        assert_eq!(kept["data"]["openai_individual_prompt_id"], "pmpt_68b1c2d3");
        let bad = put_prompts(json!({"openai_complete_prompt_id": "DROP TABLE"})).await;
        let err = expect_error(bad, 400, "validation_error").await;
        assert!(
            err["error"]["details"]["openai_complete_prompt_id"].is_string(),
            "{err}"
        );

        let anonymous = app
            .client
            .put(app.url("/api/user/profile"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        expect_error(anonymous, 401, "missing_token").await;
    }
);

on_both_backends!(
    credit_widgets_read_the_balance_and_its_warnings,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let session = register(&app, "cw@example.com").await;
        let access = token(&session, "token");
        let get = |path: &'static str| {
            let access = access.clone();
            let app = &app;
            async move {
                let resp = app.get(path, Some(&access)).await;
                assert_eq!(resp.status(), 200, "{path}");
                resp.json::<Value>().await.unwrap()
            }
        };
        let status = get("/api/user/credit-status").await;
        assert_eq!(status["credits"]["current"], 15);
        assert_eq!(status["credits"]["status"], "warning");
        assert_eq!(status["warnings"]["showBanner"], false);
        assert_eq!(status["capabilities"]["canInitiateCalls"], true);
        let login_status = get("/api/user/login-status").await;
        assert_eq!(login_status["loginWarnings"]["type"], "info");
        assert_eq!(login_status["user"]["credits"], 15);
        let badge = get("/api/billing/credits").await;
        assert_eq!(badge["data"]["credits"], 15);
        let stats = get("/api/billing/stats").await;
        assert_eq!(stats["data"]["currentBalance"], 15);
        assert_eq!(stats["data"]["totalBonus"], 15);
        assert_eq!(stats["data"]["transactionCount"], 1);
        let history = get("/api/billing/history").await;
        assert_eq!(history["data"]["total"], 1);
        assert_eq!(history["data"]["transactions"][0]["type"], "bonus");
        assert_eq!(history["data"]["transactions"][0]["balanceAfter"], 15);
    }
);

on_both_backends!(
    bad_access_tokens_are_refused_with_distinct_codes,
    |backend: Backend| async move {
        use jsonwebtoken::{Algorithm, EncodingKey, Header};
        let app = TestApp::spawn(backend).await;
        let session = register(&app, "tok@example.com").await;
        let id = session["user"]["id"].as_str().unwrap().to_string();
        let secret = app
            .config()
            .auth
            .jwt_secret
            .clone()
            .unwrap()
            .expose()
            .to_string();
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
            c.auth.admin_emails = vec!["Boss@Example.com".into()];
        })
        .await;
        // Registering the listed address is not enough: it must be verified first.
        let session = register(&app, "boss@example.com").await;
        let access = token(&session, "token");
        let profile: Value = app
            .get("/api/user/profile", Some(&access))
            .await
            .success_json()
            .await;
        assert_eq!(profile["user"]["role"], "user");
        let mails = app.smtp.wait_for(1, WAIT).await;
        app.post(
            "/api/email/verify",
            json!({ "token": mails[0].link_token() }),
            None,
        )
        .await;
        let profile: Value = app
            .get("/api/user/profile", Some(&access))
            .await
            .success_json()
            .await;
        assert_eq!(profile["user"]["role"], "admin");

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
        assert_eq!(ops.role, shared::entities::users::Role::Admin);
        // A super admin: the role the frontend's Configuration menu needs, an admin everywhere.
        let (root, _) = tests::users::signed_in(&app, "root@example.com").await;
        let out = app
            .command(env!("CARGO_BIN_EXE_test-api"))
            .args([
                "create-admin",
                "--email",
                "root@example.com",
                "--super-admin",
            ])
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let me: Value = app
            .get("/api/auth/validate", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(me["user"]["role"], "super_admin");
        assert_eq!(
            app.get("/api/admin/users", Some(&root)).await.status(),
            200,
            "a super admin is an admin"
        );
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
        let access = token(&session, "token");
        let refresh = token(&session, "refreshToken");
        let user = users::Entity::find()
            .one(&app.services.db)
            .await
            .unwrap()
            .unwrap();
        let mut active: users::ActiveModel = user.into();
        active.status = Set(shared::entities::users::UserStatus::Suspended);
        active.update(&app.services.db).await.unwrap();

        for path in ["/api/user/profile", "/api/user/credits"] {
            expect_error(app.get(path, Some(&access)).await, 403, "account_suspended").await;
        }
        let patch = app
            .client
            .put(app.url("/api/user/profile"))
            .bearer_auth(&access)
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap();
        expect_error(patch, 403, "account_suspended").await;
        let refreshed = app
            .post("/api/auth/refresh", json!({"refreshToken": refresh}), None)
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
    let spec: Value = app.get("/openapi.json", None).await.success_json().await;
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["BearerToken"]["scheme"], "bearer");
    assert_eq!(schemes["StackToken"]["name"], "x-stack-access-token");
    for (path, method, statuses) in [
        (
            "/api/auth/register",
            "post",
            &["201", "400", "409", "429"][..],
        ),
        ("/api/auth/login", "post", &["200", "400", "401", "429"][..]),
        ("/api/auth/validate", "get", &["200", "401"][..]),
        ("/api/auth/refresh", "post", &["200", "401"][..]),
        ("/api/auth/logout", "post", &["200"][..]),
        ("/api/email/send-verification", "post", &["200", "401"][..]),
        ("/api/email/verify", "post", &["200", "400"][..]),
        (
            "/api/email/send-password-reset",
            "post",
            &["200", "429"][..],
        ),
        (
            "/api/email/validate-reset-token",
            "post",
            &["200", "400"][..],
        ),
        ("/api/email/reset-password", "post", &["200", "400"][..]),
        ("/api/user/profile", "get", &["200", "401", "403"][..]),
        ("/api/user/profile", "put", &["200", "400", "401"][..]),
        ("/api/user/password", "put", &["200", "400", "401"][..]),
        ("/api/user/credits", "get", &["200", "401"][..]),
        ("/api/user/credit-status", "get", &["200", "401"][..]),
        ("/api/user/login-status", "get", &["200", "401"][..]),
        ("/api/billing/credits", "get", &["200", "401"][..]),
        ("/api/billing/stats", "get", &["200", "401"][..]),
        ("/api/billing/history", "get", &["200", "401"][..]),
        (
            "/api/user-notifications/preferences",
            "get",
            &["200", "401"][..],
        ),
        (
            "/api/user-notifications/preferences",
            "put",
            &["200", "401"][..],
        ),
        ("/api/errors", "post", &["202", "400"][..]),
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
    // The old paths of these flows are gone, not a second API.
    for (path, method) in [
        ("/api/auth/verify-email", "get"),
        ("/api/auth/resend-verification", "post"),
        ("/api/auth/forgot-password", "post"),
        ("/api/auth/reset-password", "post"),
        ("/api/auth/change-password", "post"),
        ("/api/user/profile", "patch"),
    ] {
        assert!(
            spec["paths"][path][method].is_null(),
            "{method} {path} is gone"
        );
    }
    // Error codes are the client's: an enum in the document.
    let codes = spec["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode enum");
    assert!(codes.iter().any(|c| c == "INVALID_CREDENTIALS"));
    assert!(codes.iter().all(|c| {
        c.as_str()
            .unwrap()
            .chars()
            .all(|ch| ch.is_ascii_uppercase() || ch == '_')
    }));
    assert!(spec["paths"]["/api/user/profile"]["get"]["security"].is_array());
}
