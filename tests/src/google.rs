//! A fake Google on loopback, speaking the OAuth 2 authorization-code flow as Google does:
//! the consent page (which "signs in" the configured person at once and redirects back with a
//! code and the state), the token endpoint (client id and secret by HTTP Basic, the code once,
//! a PKCE verifier that matches the challenge) and the OpenID userinfo endpoint.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::{Digest, Sha256};
use wiremock::{Mock, MockServer, Request, ResponseTemplate, matchers};

pub const CLIENT_ID: &str = "switchboard-test.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "GOCSPX-switchboard-test";

/// Who is signed in at the fake Google.
#[derive(Debug, Clone)]
pub struct GoogleAccount {
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
}

#[derive(Default)]
struct State {
    account: Option<GoogleAccount>,
    /// Issued codes: code → (PKCE challenge, redirect URI).
    codes: HashMap<String, (String, String)>,
    /// Access tokens → the account they stand for.
    tokens: HashMap<String, GoogleAccount>,
    issued: usize,
}

pub struct FakeGoogle {
    pub server: MockServer,
    state: Arc<Mutex<State>>,
}

fn query(req: &Request) -> HashMap<String, String> {
    req.url.query_pairs().into_owned().collect()
}

impl FakeGoogle {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state: Arc<Mutex<State>> = Arc::default();

        let s = state.clone();
        Mock::given(matchers::method("GET"))
            .and(matchers::path("/o/oauth2/v2/auth"))
            .respond_with(move |req: &Request| {
                let q = query(req);
                let mut st = s.lock().unwrap();
                let ok = q.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                    && q.get("response_type").map(String::as_str) == Some("code")
                    && q.get("code_challenge_method").map(String::as_str) == Some("S256");
                let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
                if st.account.is_none() || !ok {
                    return ResponseTemplate::new(400).set_body_string("invalid_request");
                }
                st.issued += 1;
                let code = format!("4/fake-code-{}", st.issued);
                st.codes.insert(
                    code.clone(),
                    (
                        q.get("code_challenge").cloned().unwrap_or_default(),
                        redirect.clone(),
                    ),
                );
                let mut back = url::Url::parse(&redirect).expect("redirect_uri");
                back.query_pairs_mut()
                    .append_pair("code", &code)
                    .append_pair("state", q.get("state").map(String::as_str).unwrap_or(""))
                    .append_pair("scope", "openid email profile");
                ResponseTemplate::new(302).insert_header("location", back.as_str())
            })
            .mount(&server)
            .await;

        let s = state.clone();
        Mock::given(matchers::method("POST"))
            .and(matchers::path("/token"))
            .respond_with(move |req: &Request| {
                let basic = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
                );
                let form: HashMap<String, String> = url::form_urlencoded::parse(&req.body)
                    .into_owned()
                    .collect();
                let authorized = req
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    == Some(basic.as_str());
                let mut st = s.lock().unwrap();
                let code = form.get("code").cloned().unwrap_or_default();
                let Some((challenge, redirect)) = st.codes.remove(&code) else {
                    return ResponseTemplate::new(400)
                        .set_body_json(json!({"error": "invalid_grant"}));
                };
                let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                let derived = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                if !authorized
                    || derived != challenge
                    || form.get("redirect_uri") != Some(&redirect)
                    || form.get("grant_type").map(String::as_str) != Some("authorization_code")
                {
                    return ResponseTemplate::new(400)
                        .set_body_json(json!({"error": "invalid_grant"}));
                }
                let Some(account) = st.account.clone() else {
                    return ResponseTemplate::new(400)
                        .set_body_json(json!({"error": "invalid_grant"}));
                };
                let token = format!("ya29.fake-{}", st.issued);
                st.tokens.insert(token.clone(), account);
                ResponseTemplate::new(200).set_body_json(json!({
                    "access_token": token, "expires_in": 3599, "token_type": "Bearer",
                    "scope": "openid email profile", "id_token": "not.checked.here"
                }))
            })
            .mount(&server)
            .await;

        let s = state.clone();
        Mock::given(matchers::method("GET"))
            .and(matchers::path("/v1/userinfo"))
            .respond_with(move |req: &Request| {
                let token = req
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .unwrap_or_default()
                    .to_string();
                let st = s.lock().unwrap();
                match st.tokens.get(&token) {
                    Some(a) => ResponseTemplate::new(200).set_body_json(json!({
                        "sub": a.sub, "email": a.email, "email_verified": a.email_verified,
                        "name": a.name, "given_name": a.name.split(' ').next(),
                        "picture": "https://lh3.googleusercontent.com/a/fake"
                    })),
                    None => {
                        ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_token"}))
                    }
                }
            })
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// The person who signs in at the consent page from now on.
    pub fn sign_in_as(&self, account: GoogleAccount) {
        self.state.lock().unwrap().account = Some(account);
    }

    pub fn auth_url(&self) -> String {
        format!("{}/o/oauth2/v2/auth", self.server.uri())
    }

    pub fn token_url(&self) -> String {
        format!("{}/token", self.server.uri())
    }

    pub fn userinfo_url(&self) -> String {
        format!("{}/v1/userinfo", self.server.uri())
    }

    /// Points a configuration at this fake.
    pub fn configure(&self, c: &mut shared::Config) {
        c.google.client_id = Some(CLIENT_ID.into());
        c.google.client_secret = Some(CLIENT_SECRET.into());
        c.google.auth_url = self.auth_url();
        c.google.token_url = self.token_url();
        c.google.userinfo_url = self.userinfo_url();
    }
}
