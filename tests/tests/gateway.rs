//! The gateway's own surface: health, readiness, the OpenAPI document, docs, request ids,
//! CORS, and the common error body for routing and size errors.

use tests::{Backend, TestApp, on_both_backends};

async fn assert_error_body(resp: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(resp.status().as_u16(), status);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "error bodies are JSON"
    );
    let body: serde_json::Value = resp.json().await.expect("json error body");
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let ts = error["timestamp"].as_str().expect("timestamp");
    chrono::DateTime::parse_from_rfc3339(ts).expect("ISO-8601 timestamp");
    body
}

on_both_backends!(
    health_ready_and_request_ids,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let resp = app.client.get(app.url("/health")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers().contains_key("x-request-id"));
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["status"], "ok");

        let resp = app
            .client
            .get(app.url("/ready"))
            .header("x-request-id", "trace-abc-123")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["x-request-id"],
            "trace-abc-123",
            "a sane incoming id is kept"
        );
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({"status": "ready", "database": "ok", "queue": "ok"})
        );

        let resp = app
            .client
            .get(app.url("/health"))
            .header("x-request-id", "bad id with spaces")
            .send()
            .await
            .unwrap();
        assert_ne!(resp.headers()["x-request-id"], "bad id with spaces");
    }
);

on_both_backends!(openapi_document_and_docs, |backend: Backend| async move {
    let app = TestApp::spawn(backend).await;
    let spec: serde_json::Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(spec["info"]["title"], "Switchboard API");
    for path in ["/health", "/ready"] {
        assert!(spec["paths"][path]["get"].is_object(), "{path} documented");
    }
    assert!(spec["paths"]["/ready"]["get"]["responses"]["503"].is_object());
    assert_eq!(
        spec.to_string(),
        api::openapi_json(&app.services)
            .parse::<serde_json::Value>()
            .unwrap()
            .to_string()
    );

    let docs = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().to_lowercase().contains("<html"));
});

on_both_backends!(
    unknown_routes_and_methods_get_the_error_body,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let resp = app
            .client
            .get(app.url("/no/such/route"))
            .send()
            .await
            .unwrap();
        assert_error_body(resp, 404, "route_not_found").await;
        let resp = app.client.delete(app.url("/health")).send().await.unwrap();
        assert_error_body(resp, 405, "method_not_allowed").await;
    }
);

on_both_backends!(
    oversized_bodies_are_refused_with_413,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let limit = app.config().max_body_bytes;
        let big = vec![b'a'; limit + 1];
        let resp = app
            .client
            .post(app.url("/health"))
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        let body = assert_error_body(resp, 413, "payload_too_large").await;
        assert_eq!(body["error"]["details"]["limit_bytes"], limit);

        // Chunked, so the size is only known while reading.
        let stream = futures::stream::iter(
            big.chunks(4096)
                .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                .collect::<Vec<_>>(),
        );
        let resp = app
            .client
            .post(app.url("/health"))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .unwrap();
        assert_error_body(resp, 413, "payload_too_large").await;
    }
);

on_both_backends!(
    cors_allows_only_configured_origins,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let preflight = |origin: &'static str| {
            app.client
                .request(reqwest::Method::OPTIONS, app.url("/health"))
                .header("origin", origin)
                .header("access-control-request-method", "GET")
                .send()
        };
        let ok = preflight("http://localhost:8080").await.unwrap();
        assert_eq!(
            ok.headers()["access-control-allow-origin"],
            "http://localhost:8080"
        );
        let evil = preflight("https://evil.example").await.unwrap();
        assert!(!evil.headers().contains_key("access-control-allow-origin"));
    }
);
