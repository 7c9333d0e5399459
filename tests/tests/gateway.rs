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
    assert_eq!(error["reason"], code, "{body}");
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

/// What the frontend team reads in `/docs`: every operation has a summary, a description and
/// a tag; every JSON body it sends or receives has an example (on its schema, or in the
/// description for bodies that are a provider's own JSON); every error response names the codes
/// it carries, each one listed in the description's error table.
#[tokio::test]
async fn every_operation_is_documented_with_examples_and_error_codes() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let spec: serde_json::Value = serde_json::from_str(&api::openapi_json(&app.services)).unwrap();
    let schemas = &spec["components"]["schemas"];
    let has_example = |schema: &serde_json::Value| {
        let schema = if schema["type"] == "array" {
            &schema["items"]
        } else {
            schema
        };
        match schema["$ref"].as_str() {
            Some(r) => {
                schemas[r.trim_start_matches("#/components/schemas/")]["example"].is_object()
            }
            None => false,
        }
    };
    let catalogue: std::collections::HashSet<&str> = api::error::REASONS
        .iter()
        .map(|(_, code, _)| *code)
        .collect();
    // Backticked snake_case words: `agent_not_found`, not `Retry-After` or `details.field`.
    let codes_in = |text: &str| -> Vec<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .filter(|w| w.contains('_') && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .map(str::to_string)
            .collect()
    };
    let listed = |code: &str| {
        catalogue.contains(code)
            || api::error::REASONS
                .iter()
                .any(|(_, _, meaning)| meaning.contains(&format!("`{code}`")))
    };
    // Statuses poem documents itself for a streamed file (the recording), and the readiness
    // probe's 503, whose body is the readiness report.
    let own_words = |path: &str, status: &str| {
        (["/api/calls/{id}/recording", "/api/calls/{id}/audio"].contains(&path)
            && ["400", "404", "412", "416", "500"].contains(&status))
            || (path == "/ready" && status == "503")
    };
    let mut problems = Vec::new();
    let mut operations = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let at = format!("{} {path}", method.to_uppercase());
            let description = op["description"].as_str().unwrap_or_default();
            if op["summary"].as_str().unwrap_or_default().is_empty() || description.is_empty() {
                problems.push(format!("{at}: summary and description"));
            }
            if op["tags"].as_array().is_none_or(|t| t.is_empty()) {
                problems.push(format!("{at}: tag"));
            }
            let json_bodies = op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|b| ("request", b))
                .chain(
                    op["responses"]
                        .as_object()
                        .unwrap()
                        .iter()
                        .filter(|(s, _)| s.starts_with('2'))
                        .flat_map(|(_, r)| {
                            r["content"]
                                .as_object()
                                .into_iter()
                                .flatten()
                                .map(|b| ("response", b))
                        }),
                )
                .filter(|(_, (content_type, _))| content_type.starts_with("application/json"));
            for (which, (_, body)) in json_bodies {
                if !has_example(&body["schema"]) && !description.contains("```json") {
                    problems.push(format!("{at}: {which} example"));
                }
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if !(status.starts_with('4') || status.starts_with('5')) || own_words(path, status)
                {
                    continue;
                }
                let text = response["description"].as_str().unwrap_or_default();
                let codes = codes_in(text);
                if codes.is_empty() {
                    problems.push(format!("{at} {status}: no error code named"));
                }
                for code in codes.iter().filter(|c| !listed(c)) {
                    problems.push(format!("{at} {status}: `{code}` is not in the error table"));
                }
            }
        }
    }
    assert!(operations > 80, "{operations} operations");
    assert!(
        problems.is_empty(),
        "{} gaps:\n{}",
        problems.len(),
        problems.join("\n")
    );
    let description = spec["info"]["description"].as_str().unwrap();
    assert!(description.contains("| 404 | `<resource>_not_found` |"));
}

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
        assert_eq!(resp.headers()["allow"], "GET");
        assert_error_body(resp, 405, "method_not_allowed").await;
        let resp = app
            .client
            .request(
                reqwest::Method::TRACE,
                app.url(&format!("/api/contacts/{}", uuid::Uuid::new_v4())),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["allow"], "DELETE, GET, PATCH, PUT");
        assert_error_body(resp, 405, "method_not_allowed").await;
    }
);

on_both_backends!(
    oversized_bodies_are_refused_with_413,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let limit = app.config().server.max_body_bytes;
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
