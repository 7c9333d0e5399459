//! Sign-in with Google against a fake Google on loopback: the whole redirect dance as a
//! browser follows it (state cookie, consent, callback), accounts created once, linked by a
//! Google-verified email, refused when the address is not verified, and every failure sent
//! back to the frontend as `?error=<reason>`.

use sea_orm::{EntityTrait, PaginatorTrait};
use shared::entities::users;
use tests::{
    Backend, Decode, TestApp, WorkerMode,
    google::{FakeGoogle, GoogleAccount},
    on_both_backends,
    users::register,
};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(resp: &reqwest::Response) -> url::Url {
    assert_eq!(resp.status(), 302, "a redirect");
    url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap()
}

/// Follows the flow from the frontend's button to the frontend's callback page; returns the
/// last redirect (the frontend's page with its query).
async fn sign_in_with_google(app: &TestApp, tamper_state: bool) -> url::Url {
    let client = no_redirects();
    let start = client
        .get(app.url("/api/auth/google"))
        .send()
        .await
        .unwrap();
    let cookie = start.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let consent = location(&start);
    let back = client.get(consent.as_str()).send().await.unwrap();
    // Google redirects to the public address; here that is the test's gateway.
    let mut callback = location(&back);
    let local = url::Url::parse(&app.address).unwrap();
    callback.set_host(local.host_str()).unwrap();
    callback.set_port(local.port()).unwrap();
    if tamper_state {
        let pairs: Vec<(String, String)> = callback
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "state" {
                    "forged".to_string()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        callback.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let value = cookie.split(';').next().unwrap().to_string();
    let done = client
        .get(callback.as_str())
        .header("cookie", value)
        .send()
        .await
        .unwrap();
    location(&done)
}

fn param(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

on_both_backends!(
    google_sign_in_creates_links_and_refuses,
    |backend: Backend| async move {
        let google = FakeGoogle::start().await;
        let app =
            TestApp::spawn_with(backend, WorkerMode::InProcess, |c| google.configure(c)).await;
        google.sign_in_as(GoogleAccount {
            sub: "1070001".into(),
            email: "Gina@Example.com".into(),
            email_verified: true,
            name: "Gina Lopez".into(),
        });

        // A new Google user: an account with the welcome credits and a verified address,
        // handed to the frontend's callback page, which asks for the company.
        let landed = sign_in_with_google(&app, false).await;
        assert_eq!(landed.path(), "/oauth/callback", "{landed}");
        assert_eq!(param(&landed, "email").as_deref(), Some("gina@example.com"));
        assert_eq!(param(&landed, "name").as_deref(), Some("Gina Lopez"));
        assert_eq!(param(&landed, "needsCompany").as_deref(), Some("true"));
        let token = param(&landed, "token").unwrap();
        assert!(param(&landed, "refreshToken").is_some());
        let me: serde_json::Value = app
            .get("/api/auth/validate", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(me["user"]["authProvider"], "google");
        assert_eq!(me["user"]["emailVerified"], true);
        assert_eq!(me["user"]["credits"], 15);
        assert_eq!(param(&landed, "userId").unwrap(), me["user"]["id"]);

        // The same Google account again: the same user, no second grant.
        let again = sign_in_with_google(&app, false).await;
        assert_eq!(param(&again, "userId").unwrap(), me["user"]["id"]);
        assert_eq!(
            users::Entity::find().count(&app.services.db).await.unwrap(),
            1
        );

        // An existing password account with the address Google verified: linked.
        let existing = register(&app, "hal@example.com").await;
        google.sign_in_as(GoogleAccount {
            sub: "1070002".into(),
            email: "hal@example.com".into(),
            email_verified: true,
            name: "Hal".into(),
        });
        let linked = sign_in_with_google(&app, false).await;
        assert_eq!(param(&linked, "userId").unwrap(), existing["user"]["id"]);
        assert_eq!(
            users::Entity::find().count(&app.services.db).await.unwrap(),
            2
        );

        // An address Google has not verified does not take over an account.
        register(&app, "ivy@example.com").await;
        google.sign_in_as(GoogleAccount {
            sub: "1070003".into(),
            email: "ivy@example.com".into(),
            email_verified: false,
            name: "Not Ivy".into(),
        });
        let refused = sign_in_with_google(&app, false).await;
        assert_eq!(refused.path(), "/");
        assert_eq!(param(&refused, "error").as_deref(), Some("email_taken"));

        // A forged state is refused; nothing is created.
        google.sign_in_as(GoogleAccount {
            sub: "1070004".into(),
            email: "jo@example.com".into(),
            email_verified: true,
            name: "Jo".into(),
        });
        let forged = sign_in_with_google(&app, true).await;
        assert_eq!(
            param(&forged, "error").as_deref(),
            Some("google_sign_in_failed")
        );
        assert_eq!(
            users::Entity::find().count(&app.services.db).await.unwrap(),
            3
        );

        // The user declining at Google comes back with Google's word for it.
        let declined = no_redirects()
            .get(app.url("/api/auth/google/callback?error=access_denied"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            param(&location(&declined), "error").as_deref(),
            Some("access_denied")
        );
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_google_configured_the_button_says_so() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let resp = no_redirects()
        .get(app.url("/api/auth/google"))
        .send()
        .await
        .unwrap();
    let to = location(&resp);
    assert!(
        to.as_str().starts_with(&app.config().server.frontend_url),
        "{to}"
    );
    assert_eq!(
        param(&to, "error").as_deref(),
        Some("google_not_configured")
    );
}
