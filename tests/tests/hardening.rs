//! The gateway's defences: security headers, request budgets (per IP, per session, per email,
//! for uploads and webhooks; shared by replicas through Redis) and the request timeout.

use std::time::Duration;

use serde_json::{Value, json};
use tests::{
    Backend, Decode, TestApp, WorkerMode,
    elevenlabs::{self, FakeElevenLabs},
    expect_error, on_both_backends, post_call,
    users::register,
};

async fn token(app: &TestApp, email: &str) -> String {
    register(app, email).await["token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn_with(Backend::Sqlite, WorkerMode::InProcess, |c| {
        c.server.hsts = true
    })
    .await;
    for path in ["/health", "/api/agents", "/no/such/route"] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        let headers = resp.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(
            headers["content-security-policy"], "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
        assert!(
            headers["strict-transport-security"]
                .to_str()
                .unwrap()
                .starts_with("max-age=")
        );
        assert!(
            headers.get("server").is_none(),
            "no server banner on {path}"
        );
    }
    // The documentation runs its own inline scripts, and only those.
    for path in ["/docs", "/swagger"] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let policy = resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(policy.contains("script-src 'sha256-"), "{policy}");
        assert!(!policy.contains("script-src 'unsafe-inline'"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"));
    }
    // Without HSTS configured (plain HTTP), no HSTS header.
    let plain = TestApp::spawn(Backend::Sqlite).await;
    let resp = plain.client.get(plain.url("/health")).send().await.unwrap();
    assert!(resp.headers().get("strict-transport-security").is_none());
}

/// The answer after a budget ran out.
async fn assert_limited(resp: reqwest::Response) {
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(resp.headers()["ratelimit-remaining"], "0");
    expect_error(resp, 429, "rate_limited").await;
}

on_both_backends!(
    request_budgets_are_enforced_per_ip_session_email_upload_and_webhook,
    |backend: Backend| async move {
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.limits.api_rate_per_user_per_min = 5;
            c.limits.api_rate_per_ip_per_min = 12;
            c.limits.upload_rate_per_min = 1;
            c.limits.webhook_rate_per_ip_per_min = 3;
            c.limits.auth_rate_per_ip_per_min = 4;
            c.limits.auth_rate_per_email_per_min = 2;
            c.elevenlabs.webhook_secrets = vec![post_call::SECRET.into()];
        })
        .await;
        tests::within_one_rate_window(25).await;
        // Sign-in endpoints: two registrations (the IP's budget is four).
        let first = token(&app, "first@example.com").await;
        let second = token(&app, "second@example.com").await;

        // Per session: the sixth request of a minute is refused, with the budget's headers on
        // every answer; another session still has its own.
        for n in 0..5 {
            let resp = app.get("/api/user/profile", Some(&first)).await;
            assert_eq!(resp.status(), 200);
            assert_eq!(
                resp.headers()["ratelimit-remaining"],
                (4 - n).to_string().as_str()
            );
            assert_eq!(resp.headers()["ratelimit-limit"], "5");
        }
        assert_limited(app.get("/api/user/profile", Some(&first)).await).await;
        assert_eq!(
            app.get("/api/user/profile", Some(&second)).await.status(),
            200
        );

        // Per IP: every session shares the address's budget (twelve; seven spent).
        for _ in 0..4 {
            assert_eq!(
                app.get("/api/user/profile", Some(&second)).await.status(),
                200
            );
        }
        assert_limited(app.get("/api/user/profile", Some(&second)).await).await;

        // Sign-in: per email (two: the registration and one login), then per IP (four).
        let login = |email: &str| json!({"email": email, "password": "wrong password 123"});
        let resp = app
            .post("/api/auth/login", login("first@example.com"), None)
            .await;
        assert_eq!(resp.status(), 401);
        assert_limited(
            app.post("/api/auth/login", login("first@example.com"), None)
                .await,
        )
        .await;
        assert_limited(
            app.post("/api/auth/login", login("other@example.com"), None)
                .await,
        )
        .await;
        // A made-up token does not buy the API's larger budget on sign-in endpoints.
        let resp = app
            .client
            .post(app.url("/api/auth/login"))
            .bearer_auth("made-up")
            .json(&login("other@example.com"))
            .send()
            .await
            .unwrap();
        assert_limited(resp).await;

        // Webhooks: per sending IP (three).
        for n in 0..4 {
            let event = post_call::transcription("agent_unknown", &format!("conv_rl_{n}"));
            let resp = post_call::deliver(&app, &event, None).await;
            if n < 3 {
                assert_eq!(resp.status(), 200);
            } else {
                assert_limited(resp).await;
            }
        }
        // Probes are not budgeted.
        for _ in 0..20 {
            assert_eq!(
                app.client
                    .get(app.url("/health"))
                    .send()
                    .await
                    .unwrap()
                    .status(),
                200
            );
        }
    }
);

/// Every gateway replica counts against the same budgets: a second limiter over the same Redis
/// sees what the first gateway counted.
#[tokio::test]
async fn budgets_are_shared_by_replicas_through_redis() {
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::InProcess, |c| {
        c.limits.api_rate_per_user_per_min = 3;
    })
    .await;
    let session = token(&app, "shared@example.com").await;
    for _ in 0..3 {
        assert_eq!(
            app.get("/api/user/profile", Some(&session)).await.status(),
            200
        );
    }
    let replica = api::rate_limit::RateLimiter::new(&app.services);
    let subject = api::rate_limit::subject(format!("Bearer {session}").as_bytes());
    let verdict = replica.hit("api-user", &subject, 3).await;
    assert!(
        !verdict.allowed,
        "the replica saw the three requests: {verdict:?}"
    );
}

/// A large budget (the webhooks') is counted in leases: each replica takes a hundredth of it
/// from Redis at once and numbers its requests itself, so Redis sees one `INCRBY` per block, the
/// replicas still share the budget, and it is refused once the shared count is spent.
#[tokio::test]
async fn large_budgets_are_counted_in_leased_blocks_shared_by_replicas() {
    use api::rate_limit::{LEASE_FROM, RateLimiter};
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::None, |_| {}).await;
    let limit = LEASE_FROM;
    let block = limit / 100;
    let subject = format!("lease-{}", uuid::Uuid::new_v4().simple());
    // The key of this minute's window.
    tests::within_one_rate_window(10).await;
    let now = tests::unix_now;
    let key = format!(
        "{}:ratelimit:webhook:{subject}:{}",
        app.services.config.jobs.queue_prefix,
        now() - now() % 60
    );
    let mut redis = app.services.redis.clone().expect("redis");
    let count = |mut redis: redis::aio::ConnectionManager| {
        let key = key.clone();
        async move {
            redis::cmd("GET")
                .arg(&key)
                .query_async::<Option<u32>>(&mut redis)
                .await
                .unwrap()
        }
    };
    let (first, second) = (
        RateLimiter::new(&app.services),
        RateLimiter::new(&app.services),
    );
    for n in 1..=block {
        let verdict = first.hit("webhook", &subject, limit).await;
        assert!(verdict.allowed);
        assert_eq!(verdict.remaining, limit - n);
    }
    assert_eq!(count(redis.clone()).await, Some(block), "one block taken");
    // The other replica takes the next block.
    let verdict = second.hit("webhook", &subject, limit).await;
    assert_eq!(verdict.remaining, limit - block - 1);
    assert_eq!(count(redis.clone()).await, Some(2 * block));
    // Other replicas have spent the budget but ten.
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(limit - 10)
        .query_async(&mut redis)
        .await
        .unwrap();
    for n in 1..=10 {
        let verdict = first.hit("webhook", &subject, limit).await;
        assert!(verdict.allowed, "request {n} of the last ten");
    }
    let verdict = first.hit("webhook", &subject, limit).await;
    assert!(!verdict.allowed, "{verdict:?}");
    assert_eq!(verdict.remaining, 0);
    assert_eq!(count(redis.clone()).await, Some(limit - 10 + block));
}

#[tokio::test]
async fn uploads_have_their_own_budget() {
    let app = TestApp::spawn_with(Backend::Sqlite, WorkerMode::None, |c| {
        c.limits.upload_rate_per_min = 1;
    })
    .await;
    let session = token(&app, "uploader@example.com").await;
    let upload = || {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"name,phone\nAda,+14155550123\n".to_vec())
                .file_name("contacts.csv"),
        );
        app.client
            .post(app.url("/api/contacts/imports"))
            .bearer_auth(&session)
            .multipart(form)
            .send()
    };
    assert_eq!(upload().await.unwrap().status(), 202);
    assert_limited(upload().await.unwrap()).await;
    // The rest of the API is not spent by it.
    assert_eq!(app.get("/api/contacts", Some(&session)).await.status(), 200);
}

#[tokio::test]
async fn a_slow_request_is_answered_503_at_the_timeout() {
    let fake = FakeElevenLabs::start().await;
    let base = fake.uri();
    let app = TestApp::spawn_with(Backend::Sqlite, WorkerMode::InProcess, |c| {
        c.elevenlabs.api_key = Some(elevenlabs::API_KEY.into());
        c.elevenlabs.api_base = base;
        c.server.request_timeout_secs = 1;
    })
    .await;
    let session = token(&app, "patient@example.com").await;
    fake.fail_next(
        5,
        elevenlabs::server_error().set_delay(Duration::from_secs(3)),
    )
    .await;
    let started = std::time::Instant::now();
    let resp = app.get("/api/agents/voices", Some(&session)).await;
    assert!(started.elapsed() < Duration::from_millis(2_500));
    let body: Value = expect_error(resp, 503, "request_timeout").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("retry"));
}

// Hostile input gets a clear 4xx, writes nothing, and leaves the service answering.
on_both_backends!(
    injection_and_malformed_input_are_refused_cleanly,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let session = token(&app, "hostile@example.com").await;
        let count = |app: &TestApp| {
            let session = session.clone();
            let app_url = app.url("/api/contacts");
            let client = app.client.clone();
            async move {
                let page: Value = client
                    .get(app_url)
                    .bearer_auth(session)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                page["data"]["pagination"]["total"].as_u64().unwrap()
            }
        };
        let raw = |body: Vec<u8>, content_type: &str| {
            app.client
                .post(app.url("/api/contacts"))
                .bearer_auth(&session)
                .header("content-type", content_type)
                .body(body)
                .send()
        };
        let json_type = "application/json";
        let nested = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        let cases: Vec<(&str, Vec<u8>, &str, u16)> = vec![
            (
                "NUL in a string",
                br#"{"name":"a\u0000b","phone_number":"+14155550101"}"#.to_vec(),
                json_type,
                400,
            ),
            (
                "invalid UTF-8",
                b"{\"name\":\"\xff\xfe\",\"phone_number\":\"+14155550101\"}".to_vec(),
                json_type,
                400,
            ),
            ("deeply nested", nested.into_bytes(), json_type, 400),
            (
                "not JSON",
                b"name=x&phone_number=1".to_vec(),
                "application/x-www-form-urlencoded",
                415,
            ),
            (
                "truncated",
                br#"{"name":"x","phone_"#.to_vec(),
                json_type,
                400,
            ),
            (
                "wrong types",
                br#"{"name":["x"],"phone_number":14155550101}"#.to_vec(),
                json_type,
                400,
            ),
            (
                "huge string",
                format!(
                    r#"{{"name":"{}","phone_number":"+14155550101"}}"#,
                    "x".repeat(50_000)
                )
                .into_bytes(),
                json_type,
                400,
            ),
            (
                "over the body limit",
                format!(r#"{{"name":"{}"}}"#, "x".repeat(70_000)).into_bytes(),
                json_type,
                413,
            ),
            (
                "SQL in a phone number",
                br#"{"name":"x","phone_number":"1'; DROP TABLE contacts;--"}"#.to_vec(),
                json_type,
                400,
            ),
        ];
        for (what, body, content_type, status) in cases {
            let resp = raw(body, content_type).await.unwrap();
            assert_eq!(resp.status().as_u16(), status, "{what}");
            let body: Value = resp
                .json()
                .await
                .unwrap_or_else(|_| panic!("{what}: JSON error body"));
            assert!(body["error"]["code"].is_string(), "{what}: {body}");
        }
        assert_eq!(count(&app).await, 0, "nothing was written");

        // Duplicate keys: the last one counts (serde), and what is stored is exactly that.
        let resp = raw(
            br#"{"name":"first","name":"Robert'); DROP TABLE contacts;--","phone_number":"+14155550102"}"#.to_vec(),
            json_type,
        )
        .await
        .unwrap();
        let stored: Value = resp.expect_json(201).await;
        assert_eq!(stored["data"]["name"], "Robert'); DROP TABLE contacts;--");

        // SQL metacharacters and NULs in query parameters; negative and huge numbers.
        for query in [
            "search=%27%20OR%201%3D1--",
            "search=%25%5F%5C",
            "sortBy=name;DROP",
            "offset=-1",
            "offset=99999999999999999999",
            "limit=0",
            "search=a%00b",
        ] {
            let resp = app
                .get(&format!("/api/contacts?{query}"), Some(&session))
                .await;
            let status = resp.status().as_u16();
            if query.starts_with("search=%2") {
                // Searched as text: nothing matches, nothing breaks.
                assert_eq!(status, 200, "{query}");
                let page: Value = resp.json().await.unwrap();
                assert_eq!(page["data"]["pagination"]["total"], 0, "{query}");
            } else {
                assert!((400..500).contains(&status), "{query}: {status}");
            }
        }
        assert_eq!(count(&app).await, 1, "only the stored contact");
        let resp = app.client.get(app.url("/ready")).send().await.unwrap();
        assert_eq!(resp.status(), 200, "still healthy");
    }
);
