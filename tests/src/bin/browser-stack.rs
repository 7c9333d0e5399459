//! The backend the browser suite drives: the real gateway on a fixed port (the frontend is
//! built for it), with ElevenLabs and Stripe faked on loopback and mail caught by the SMTP
//! sink. `postgres` runs PostgreSQL + Redis with the real worker binary as a separate process
//! (production's shape); `sqlite` the embedded default with its in-process worker.
//!
//! A small control server on `CONTROL_PORT` lets the journeys read what a person would find in
//! their inbox: `GET /mail?to=<address>` answers the messages sent there (subject, text and
//! links), and `POST /google` with `{sub, email, email_verified, name}` says who is signed in at
//! the fake Google. `POST /conversations` with `{email, conversations: [{chat, total, tag,
//! ctas, successful, number, name, secs, value, key, web, failed, audio, title, agent}]}` delivers ElevenLabs' post-call reports for that user's agents (a call
//! agent and a chat agent, created on first use) as signed webhooks, and answers once the jobs
//! they started have finished. `POST /elevenlabs/agents` with `{agent_id, name}` makes an agent
//! exist at the fake ElevenLabs (as one made in its own dashboard), for an admin to register.
//! `GET /spreadsheet` answers a CRM export as an .xlsx (a title and blank rows above the header,
//! "Full Name", "Mobile No.", "Email ID", "Organisation", a number Excel stored without its
//! `+`, a repeat, a contact the user may already have, a bad number). `POST /calls/finish` with
//! `{email}` makes ElevenLabs report every call that user started and that is still open (the
//! agent's note `Callback requested` on each), and answers how many once they are processed.
//! `POST /super-admin` with `{email}` makes that account a super admin (what `api create-admin
//! --super-admin` does), and `GET /elevenlabs/last-key` answers the `xi-api-key` ElevenLabs last
//! accepted (it accepts the stack's key and one to rotate to).
//! `ADMIN_EMAIL` (`root@switchboard.test`) is an admin once registered. It prints `ready` once both listen; SIGTERM or Ctrl-C stops it.
//!
//! `browser-stack <postgres|sqlite>`; `API_PORT` (3900), `CONTROL_PORT` (3901),
//! `FRONTEND_URL` (http://localhost:8080), `ACCESS_TOKEN_TTL_SECS` (the default 900; with 330 the
//! frontend refreshes 30 s after each sign-in, before every request, in parallel).

use std::sync::Arc;

use poem::{
    EndpointExt, Route, Server, get, handler,
    listener::TcpListener,
    web::{Data, Json, Query},
};
use serde_json::{Value, json};
use tests::{
    Backend, TestApp, WorkerMode,
    elevenlabs::{self, FakeElevenLabs},
    google::{FakeGoogle, GoogleAccount},
    post_call,
    smtp::SmtpSink,
    stripe::{self, FakeStripe},
};

#[derive(serde::Deserialize)]
struct MailQuery {
    to: String,
}

/// The messages sent to one address, oldest first, as a person reads them.
#[handler]
fn mail(Query(q): Query<MailQuery>, sink: Data<&Arc<SmtpSink>>) -> Json<Value> {
    let to = q.to.trim().to_lowercase();
    let messages: Vec<Value> = sink
        .received()
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(&to)))
        .map(|m| {
            let text = m.decoded();
            let links: Vec<String> = text
                .split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
                .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
                .map(str::to_string)
                .collect();
            json!({ "subject": m.header("Subject"), "links": links, "text": text })
        })
        .collect();
    Json(json!(messages))
}

#[derive(serde::Deserialize)]
struct GoogleAs {
    sub: String,
    email: String,
    #[serde(default = "yes")]
    email_verified: bool,
    name: String,
}

fn yes() -> bool {
    true
}

/// Who signs in at the fake Google's consent page from now on.
#[handler]
fn google_as(Json(who): Json<GoogleAs>, google: Data<&Arc<FakeGoogle>>) -> &'static str {
    google.sign_in_as(GoogleAccount {
        sub: who.sub,
        email: who.email,
        email_verified: who.email_verified,
        name: who.name,
    });
    "ok"
}

#[derive(serde::Deserialize)]
struct Conversations {
    email: String,
    conversations: Vec<Conversation>,
}

#[derive(serde::Deserialize)]
struct Conversation {
    #[serde(default)]
    chat: bool,
    #[serde(default)]
    total: i64,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    ctas: Vec<String>,
    #[serde(default)]
    successful: bool,
    /// The caller's number (`+14155550399` unless given).
    number: Option<String>,
    /// The name the agent was given for the caller (`Browser Lead` unless given; empty for
    /// an unknown caller).
    name: Option<String>,
    /// Seconds talked (95 unless given).
    secs: Option<i64>,
    /// The lead data exactly as the agent wrote it (strict JSON or a Python literal), under
    /// `key` (`default`), instead of one built from `total`, `tag` and `ctas`.
    value: Option<String>,
    key: Option<String>,
    /// From the web widget: no phone call, caller id `internal`.
    #[serde(default)]
    web: bool,
    /// The call never connected (ElevenLabs' `call_initiation_failure`).
    #[serde(default)]
    failed: bool,
    /// ElevenLabs also sends the recording (a short silent MP3).
    #[serde(default)]
    audio: bool,
    /// The call summary's title.
    title: Option<String>,
    /// Another call agent of the user's with this name (created on first use) instead of the
    /// default one.
    agent: Option<String>,
}

/// A short silent MP3: MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, mono) whose side
/// information is all zero, which every decoder plays as silence. 2.6 seconds.
fn silent_mp3() -> Vec<u8> {
    let mut frame = vec![0u8; 417];
    frame[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
    frame.repeat(100)
}

/// The stack's user with this address, or 404.
async fn user_by_email(
    db: &sea_orm::DatabaseConnection,
    email: &str,
) -> poem::Result<shared::entities::users::Model> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use shared::entities::users;
    users::Entity::find()
        .filter(users::Column::Email.eq(email.to_lowercase()))
        .one(db)
        .await
        .map_err(poem::error::InternalServerError)?
        .ok_or_else(|| poem::Error::from_string("no such user", poem::http::StatusCode::NOT_FOUND))
}

/// Delivers one user's conversations as ElevenLabs reports them, signed, to the gateway.
#[handler]
async fn conversations(
    Json(req): Json<Conversations>,
    app: Data<&Arc<TestApp>>,
) -> poem::Result<Json<Value>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use shared::entities::agents;
    let db = &app.services.db;
    let internal = poem::error::InternalServerError;
    let user = user_by_email(db, &req.email).await?;
    let (call_agent, chat_agent) = (
        format!("agent_{}_call", user.id.simple()),
        format!("agent_{}_chat", user.id.simple()),
    );
    let known = |id: String| async move {
        agents::Entity::find()
            .filter(agents::Column::ElevenlabsAgentId.eq(id))
            .one(db)
            .await
            .map(|a| a.is_some())
    };
    if !known(call_agent.clone()).await.map_err(internal)? {
        post_call::insert_agent(&app, user.id, &call_agent).await;
        post_call::insert_chat_agent(&app, user.id, &chat_agent).await;
    }
    for c in &req.conversations {
        let named;
        let agent = match &c.agent {
            Some(name) => {
                named = format!(
                    "agent_{}_{}",
                    user.id.simple(),
                    name.to_lowercase()
                        .replace(|ch: char| !ch.is_ascii_alphanumeric(), "_")
                );
                if !known(named.clone()).await.map_err(internal)? {
                    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
                    let row = post_call::insert_agent(&app, user.id, &named).await;
                    let mut renamed: agents::ActiveModel = row.into();
                    renamed.name = Set(name.clone());
                    renamed.update(db).await.map_err(internal)?;
                }
                &named
            }
            None if c.chat => &chat_agent,
            None => &call_agent,
        };
        let conversation = format!("conv_{}", shared::platform::ids::next().simple());
        let mut events = Vec::new();
        if c.failed {
            events.push(post_call::initiation_failure(agent, &conversation, "busy"));
        } else {
            let ctas: Vec<&str> = c.ctas.iter().map(String::as_str).collect();
            let mut event = post_call::scored_transcription(
                agent,
                &conversation,
                post_call::Scored {
                    number: c.number.as_deref().unwrap_or("+14155550399"),
                    name: c.name.as_deref().unwrap_or("Browser Lead"),
                    total: c.total,
                    tag: &c.tag,
                    ctas: &ctas,
                    successful: c.successful,
                    secs: c.secs.unwrap_or(95),
                },
            );
            let data = &mut event["data"];
            if let Some(value) = &c.value {
                let key = c.key.as_deref().unwrap_or("default");
                data["analysis"]["data_collection_results"] = json!({
                    key: {"data_collection_id": key, "value": value, "rationale": ""}
                });
            }
            if let Some(title) = &c.title {
                data["analysis"]["call_summary_title"] = json!(title);
            }
            if c.web {
                if let Some(metadata) = data["metadata"].as_object_mut() {
                    metadata.remove("phone_call");
                }
                data["conversation_initiation_client_data"]["dynamic_variables"] =
                    json!({"system__caller_id": "internal"});
            } else if c.name.as_deref() == Some("") {
                data["conversation_initiation_client_data"]["dynamic_variables"] = json!({});
            }
            events.push(if c.chat {
                post_call::into_chat(event)
            } else {
                event
            });
            if c.audio {
                events.push(post_call::audio(agent, &conversation, &silent_mp3()));
            }
        }
        for event in &events {
            let status = post_call::deliver(&app, event, None).await.status();
            if status != 200 {
                return Err(poem::Error::from_string(
                    format!("the webhook answered {status}"),
                    poem::http::StatusCode::BAD_GATEWAY,
                ));
            }
        }
    }
    app.wait_for_jobs(std::time::Duration::from_secs(60)).await;
    Ok(Json(json!({ "delivered": req.conversations.len() })))
}

/// A CRM export as people have them (see the module's note).
#[handler]
fn spreadsheet() -> poem::Response {
    use tests::sheets::{self, Cell::*};
    let bytes = sheets::xlsx(&[
        vec![Text("Leads export — November")],
        vec![],
        vec![
            Text("Full Name"),
            Text("Mobile No."),
            Text("Email ID"),
            Text("Organisation"),
        ],
        vec![],
        vec![
            Text("Dana Reyes"),
            Number(447911123456.0),
            Text("dana@northwind.example"),
            Text("Northwind"),
        ],
        vec![
            Text("Ana Lima"),
            Text("+1 415 555 0102"),
            Text(""),
            Text("Lima Co"),
        ],
        vec![
            Text("Ana Twice"),
            Text("(415) 555-0102"),
            Text(""),
            Text(""),
        ],
        vec![
            Text("Omar Haddad"),
            Number(919845011111.0),
            Text(""),
            Text(""),
        ],
        vec![Text("No Number"), Text("call me"), Text(""), Text("")],
    ]);
    poem::Response::builder()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .body(bytes)
}

#[derive(serde::Deserialize)]
struct Finish {
    email: String,
}

/// ElevenLabs reports the user's open outbound calls as finished (a scored call with a note).
#[handler]
async fn finish_calls(
    Json(req): Json<Finish>,
    app: Data<&Arc<TestApp>>,
) -> poem::Result<Json<Value>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use shared::entities::{agents, calls};
    let db = &app.services.db;
    let internal = poem::error::InternalServerError;
    let user = user_by_email(db, &req.email).await?;
    let open = calls::Entity::find()
        .filter(calls::Column::UserId.eq(user.id))
        .filter(calls::Column::Status.is_in([
            shared::calls::CallStatus::Initiated,
            shared::calls::CallStatus::InProgress,
        ]))
        .all(db)
        .await
        .map_err(internal)?;
    let mut finished = 0;
    for call in &open {
        // A campaign's dial is a call row before ElevenLabs answers with its conversation:
        // there is nothing to report for it yet.
        let (Some(conversation), Some(agent_id)) =
            (&call.elevenlabs_conversation_id, call.agent_id)
        else {
            continue;
        };
        let agent = agents::Entity::find_by_id(agent_id)
            .one(db)
            .await
            .map_err(internal)?
            .and_then(|a| a.elevenlabs_agent_id)
            .unwrap_or_default();
        let mut event = post_call::scored_transcription(
            &agent,
            conversation,
            post_call::Scored {
                number: call.phone_number.as_deref().unwrap_or_default(),
                name: "",
                total: 12,
                tag: "Hot",
                ctas: &[],
                successful: true,
                secs: 75,
            },
        );
        let field =
            &mut event["data"]["analysis"]["data_collection_results"]["lead_analysis"]["value"];
        if let Some(mut value) = field
            .as_str()
            .and_then(|v| serde_json::from_str::<Value>(v).ok())
        {
            value["extraction"] = json!({"smartnotification": "Callback requested"});
            *field = json!(value.to_string());
        }
        let status = post_call::deliver(&app, &event, None).await.status();
        if status != 200 {
            return Err(poem::Error::from_string(
                format!("the webhook answered {status}"),
                poem::http::StatusCode::BAD_GATEWAY,
            ));
        }
        finished += 1;
    }
    app.wait_for_jobs(std::time::Duration::from_secs(60)).await;
    Ok(Json(json!({ "finished": finished })))
}

#[derive(serde::Deserialize)]
struct ElevenLabsAgent {
    agent_id: String,
    name: String,
}

/// The `xi-api-key` the fake ElevenLabs last accepted.
#[handler]
fn last_key(seen: Data<&Arc<std::sync::Mutex<Option<String>>>>) -> Json<Value> {
    Json(json!({"key": *seen.lock().unwrap_or_else(|e| e.into_inner())}))
}

#[derive(serde::Deserialize)]
struct Promotion {
    email: String,
}

/// Makes an account a super admin, as `api create-admin --super-admin` does.
#[handler]
async fn super_admin(
    Json(p): Json<Promotion>,
    app: Data<&Arc<TestApp>>,
) -> poem::Result<&'static str> {
    shared::accounts::users::promote_admin(
        &app.services.db,
        &p.email,
        shared::accounts::users::Role::SuperAdmin,
    )
    .await
    .map_err(poem::error::InternalServerError)?;
    Ok("ok")
}

/// An agent made in ElevenLabs' own dashboard.
#[handler]
fn elevenlabs_agent(
    Json(a): Json<ElevenLabsAgent>,
    agents: Data<&Arc<std::sync::Mutex<std::collections::HashMap<String, Value>>>>,
) -> &'static str {
    agents.lock().unwrap_or_else(|e| e.into_inner()).insert(
        a.agent_id.clone(),
        json!({
            "agent_id": a.agent_id, "name": a.name,
            "conversation_config": {"agent": {"language": "es", "prompt": {"prompt": "Hola", "llm": "gpt-4o-mini"}}},
            "platform_settings": {}, "metadata": {"created_at_unix_secs": 1_700_000_000}, "tags": []
        }),
    );
    "ok"
}

#[handler]
fn health() -> &'static str {
    "ok"
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let backend = match std::env::args().nth(1).as_deref() {
        Some("postgres") => Backend::Postgres,
        Some("sqlite") => Backend::Sqlite,
        other => anyhow::bail!("usage: browser-stack <postgres|sqlite> (got {other:?})"),
    };
    let port = std::env::var("API_PORT").unwrap_or_else(|_| "3900".into());
    let control_port = std::env::var("CONTROL_PORT").unwrap_or_else(|_| "3901".into());
    let frontend = std::env::var("FRONTEND_URL").unwrap_or_else(|_| "http://localhost:8080".into());
    let access_ttl: Option<u64> = std::env::var("ACCESS_TOKEN_TTL_SECS")
        .ok()
        .and_then(|v| v.parse().ok());
    let el = FakeElevenLabs::start().await;
    let pay = FakeStripe::start().await;
    let google = Arc::new(FakeGoogle::start().await);
    let (el_base, pay_base) = (el.uri(), pay.api_base());
    let worker = match backend {
        Backend::Postgres => WorkerMode::None,
        Backend::Sqlite => WorkerMode::InProcess,
    };
    let app = TestApp::spawn_at(&format!("127.0.0.1:{port}"), backend, worker, |c| {
        c.server.frontend_url = frontend.clone();
        c.server.cors_origins = vec![frontend.clone()];
        c.server.public_base_url = format!("http://localhost:{port}");
        c.elevenlabs.api_key = Some(elevenlabs::API_KEY.into());
        // Secrets admins store (settings, Configuration's API keys) are sealed under it.
        c.settings.encryption_key = Some("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into());
        c.elevenlabs.api_base = el_base;
        c.elevenlabs.webhook_secrets = vec![post_call::SECRET.into()];
        c.billing.stripe_secret_key = Some(stripe::SECRET_KEY.into());
        c.billing.stripe_webhook_secret = Some(stripe::WEBHOOK_SECRET.into());
        c.billing.stripe_api_base = pay_base;
        google.configure(c);
        if let Some(ttl) = access_ttl {
            c.auth.access_token_ttl_secs = ttl;
        }
        // A real deployment's per-email sign-in budget; the per-IP one is larger because every
        // journey (and its direct registrations) comes from the same loopback address.
        c.limits.auth_rate_per_ip_per_min = 600;
        c.limits.auth_rate_per_email_per_min = 5;
        c.auth.admin_emails =
            vec![std::env::var("ADMIN_EMAIL").unwrap_or_else(|_| "root@switchboard.test".into())];
    })
    .await;
    // Production's shape: the gateway only enqueues; the worker binary beside this one runs.
    let _worker = match backend {
        Backend::Postgres => {
            let exe = std::env::current_exe()?;
            let binary = exe.with_file_name("test-worker");
            Some(app.start_worker_process(binary.to_str().unwrap_or("test-worker")))
        }
        Backend::Sqlite => None,
    };
    let sink = Arc::new(app.smtp.clone());
    let app = Arc::new(app);
    let control = Route::new()
        .at("/mail", get(mail))
        .at("/google", poem::post(google_as))
        .at("/conversations", poem::post(conversations))
        .at("/elevenlabs/agents", poem::post(elevenlabs_agent))
        .at("/spreadsheet", get(spreadsheet))
        .at("/calls/finish", poem::post(finish_calls))
        .at("/elevenlabs/last-key", get(last_key))
        .at("/super-admin", poem::post(super_admin))
        .at("/health", get(health))
        .data(sink)
        .data(google.clone())
        .data(app.clone())
        .data(el.agents.clone())
        .data(el.last_key.clone());
    let listener = TcpListener::bind(format!("127.0.0.1:{control_port}"));
    let mut server = tokio::spawn(Server::new(listener).run(control));
    println!(
        "ready {} control http://127.0.0.1:{control_port}",
        app.address
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = &mut server => {}
    }
    // The control server holds the app too: stop it first, then the app gracefully.
    server.abort();
    let _ = server.await;
    if let Ok(app) = Arc::try_unwrap(app) {
        app.stop().await;
    }
    Ok(())
}
