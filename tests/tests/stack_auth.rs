//! Stack Auth mode: ES256 tokens verified against a JWKS served on loopback; every rejection
//! with its own code, key rotation, a JWKS outage, and concurrent first requests.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use shared::{
    entities::{credit_transactions, users},
    platform::config::AuthMode,
};
use tests::{
    Backend, Decode, TestApp, WorkerMode, expect_error,
    fake_http::{Mock, MockServer, ResponseTemplate, matchers},
    jwt::{EcKey, jwks, now, unsigned},
    on_both_backends,
};

const PROJECT: &str = "proj_switchboard_test";

fn issuer() -> String {
    format!("https://api.stack-auth.com/api/v1/projects/{PROJECT}")
}

fn claims(sub: &str) -> Value {
    json!({
        "sub": sub, "iss": issuer(), "aud": PROJECT, "iat": now(), "exp": now() + 600,
        "email": format!("{sub}@example.com"), "email_verified": true, "name": "Stack User"
    })
}

async fn serve_jwks(server: &MockServer, keys: &[&EcKey]) {
    server.reset().await;
    Mock::given(matchers::method("GET"))
        .and(matchers::path("/jwks.json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks(keys)))
        .mount(server)
        .await;
}

async fn stack_app(backend: Backend, jwks_server: &MockServer) -> TestApp {
    let url = format!("{}/jwks.json", jwks_server.uri());
    TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
        c.auth.mode = AuthMode::StackAuth;
        c.stack.project_id = Some(PROJECT.into());
        c.stack.jwks_url = Some(url);
        c.stack.jwks_min_refetch_secs = 0;
    })
    .await
}

async fn profile_with_stack_header(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .get(app.url("/api/user/profile"))
        .header("x-stack-access-token", token)
        .send()
        .await
        .unwrap()
}

on_both_backends!(
    stack_tokens_sign_users_in_once,
    |backend: Backend| async move {
        let jwks_server = MockServer::start().await;
        let key = EcKey::generate("key-1");
        serve_jwks(&jwks_server, &[&key]).await;
        let app = stack_app(backend, &jwks_server).await;

        let token = key.sign(&claims("user_a"));
        let resp = profile_with_stack_header(&app, &token).await;
        let body: Value = resp.expect_json(200).await;
        let profile = &body["user"];
        assert_eq!(profile["email"], "user_a@example.com");
        assert_eq!(profile["authProvider"], "stack");
        assert_eq!(profile["emailVerified"], true);
        assert_eq!(profile["credits"], 15);
        // The same token as a bearer token works too.
        assert_eq!(
            app.get("/api/user/profile", Some(&token)).await.status(),
            200
        );

        // Twenty concurrent first requests of a new user: one row, one grant.
        let token = key.sign(&claims("user_b"));
        let requests = (0..20).map(|_| profile_with_stack_header(&app, &token));
        for resp in futures::future::join_all(requests).await {
            assert_eq!(resp.status(), 200);
        }
        let rows = users::Entity::find()
            .filter(users::Column::ExternalId.eq("user_b"))
            .all(&app.services.db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].credits, 15);
        let grants = credit_transactions::Entity::find()
            .filter(credit_transactions::Column::Reference.eq(format!("signup:{}", rows[0].id)))
            .count(&app.services.db)
            .await
            .unwrap();
        assert_eq!(grants, 1);

        // Built-in sign-up is closed in this mode.
        let register = app
            .post(
                "/api/auth/register",
                json!({"email": "x@example.com", "password": "correct horse battery"}),
                None,
            )
            .await;
        expect_error(register, 403, "builtin_auth_disabled").await;
    }
);

on_both_backends!(
    every_bad_stack_token_is_refused_with_its_own_code,
    |backend: Backend| async move {
        let jwks_server = MockServer::start().await;
        let key = EcKey::generate("key-1");
        let stranger = EcKey::generate("key-x");
        serve_jwks(&jwks_server, &[&key]).await;
        let app = stack_app(backend, &jwks_server).await;

        let mut expired = claims("u1");
        expired["exp"] = json!(now() - 3600);
        expired["iat"] = json!(now() - 7200);
        let mut anonymous = claims("u1");
        anonymous["aud"] = json!(format!("{PROJECT}:anon"));
        let mut foreign = claims("u1");
        foreign["iss"] = json!("https://api.stack-auth.com/api/v1/projects/someone-else");
        let mut early = claims("u1");
        early["nbf"] = json!(now() + 3600);

        let cases = [
            (key.sign(&expired), "token_expired"),
            (key.sign(&anonymous), "invalid_audience"),
            (key.sign(&foreign), "invalid_issuer"),
            (key.sign(&early), "token_not_yet_valid"),
            (
                stranger.sign_as("key-1", &claims("u1")),
                "invalid_signature",
            ),
            (stranger.sign(&claims("u1")), "unknown_key"),
            (unsigned(&claims("u1")), "unsigned_token"),
            (
                key.hs256_with_public_key(&claims("u1")),
                "invalid_algorithm",
            ),
            ("not-a-token".to_string(), "malformed_token"),
        ];
        for (token, code) in cases {
            let body = expect_error(profile_with_stack_header(&app, &token).await, 401, code).await;
            assert!(
                !body.to_string().contains("key-1"),
                "no key details leak: {body}"
            );
        }
        expect_error(
            app.get("/api/user/profile", None).await,
            401,
            "missing_token",
        )
        .await;
        assert_eq!(
            users::Entity::find().count(&app.services.db).await.unwrap(),
            0,
            "nothing written"
        );
    }
);

on_both_backends!(
    rotated_keys_are_picked_up_and_outages_ridden_out,
    |backend: Backend| async move {
        let jwks_server = MockServer::start().await;
        let old = EcKey::generate("key-old");
        serve_jwks(&jwks_server, &[&old]).await;
        let app = stack_app(backend, &jwks_server).await;
        assert_eq!(
            profile_with_stack_header(&app, &old.sign(&claims("r1")))
                .await
                .status(),
            200
        );

        // The provider rotates: a token under the new kid triggers a refetch.
        let new = EcKey::generate("key-new");
        serve_jwks(&jwks_server, &[&old, &new]).await;
        assert_eq!(
            profile_with_stack_header(&app, &new.sign(&claims("r1")))
                .await
                .status(),
            200
        );

        // The JWKS host goes down: cached keys keep working.
        jwks_server.reset().await;
        Mock::given(matchers::any())
            .respond_with(ResponseTemplate::new(503))
            .mount(&jwks_server)
            .await;
        assert_eq!(
            profile_with_stack_header(&app, &old.sign(&claims("r1")))
                .await
                .status(),
            200
        );
        assert_eq!(
            profile_with_stack_header(&app, &new.sign(&claims("r1")))
                .await
                .status(),
            200
        );
        let unknown = EcKey::generate("key-unknown");
        expect_error(
            profile_with_stack_header(&app, &unknown.sign(&claims("r1"))).await,
            401,
            "unknown_key",
        )
        .await;
    }
);
