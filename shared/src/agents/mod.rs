//! Agents: a user's voice (`call`) and text (`chat`) agents. ElevenLabs holds the full
//! configuration; we keep the owner, type, status, a cached name and description, and the
//! ElevenLabs agent id. Every query is scoped to the owner.

pub use crate::entities::agents::{AgentStatus, SyncState};
pub use crate::entities::calls::Channel;

pub mod elevenlabs;

use chrono::Utc;
use reqwest::Method;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, ModelTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::{
    Services,
    accounts::auth::CurrentUser,
    agents::elevenlabs::{ElevenLabs, Retry},
    entities::agents,
    platform::after_commit::AfterCommit,
    platform::error::{AppError, AppResult},
};

/// Whether a change was applied on ElevenLabs now, or deferred to a job because ElevenLabs
/// was unavailable (the API answers 202 for those).
#[derive(Debug)]
pub enum Applied<T> {
    Now(T),
    Deferred(T),
}

/// ElevenLabs down after our retries: the change is kept and retried by a job.
fn unavailable(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Provider {
            code: "provider_unavailable",
            ..
        }
    )
}

/// Records the job that will push the agent to ElevenLabs, in the caller's transaction.
async fn schedule_sync<C: sea_orm::ConnectionTrait>(
    txn: &C,
    services: &Services,
    agent_id: Uuid,
) -> AppResult<crate::entities::background_jobs::Model> {
    Ok(crate::platform::jobs::rearm(
        txn,
        &services.config,
        crate::platform::jobs::JobKind::AgentSync,
        agent_id,
    )
    .await?)
}

/// A question the agent collects an answer to (ElevenLabs `data_collection`).
#[derive(Debug, Clone)]
pub struct LeadQuestion {
    pub id: String,
    /// `string`, `number`, `integer` or `boolean`.
    pub value_type: String,
    pub description: String,
}

/// Fields of a create or an update; `None` leaves a field as it is (or ElevenLabs' default).
#[derive(Debug, Clone, Default)]
pub struct AgentInput {
    pub name: Option<String>,
    pub kind: Option<Channel>,
    pub status: Option<AgentStatus>,
    pub description: Option<String>,
    pub language: Option<String>,
    pub voice_id: Option<String>,
    pub llm: Option<String>,
    pub system_prompt: Option<String>,
    pub first_message: Option<String>,
    pub lead_questions: Option<Vec<LeadQuestion>>,
    /// Passed through to ElevenLabs, under the typed fields.
    pub conversation_config: Option<Value>,
    pub platform_settings: Option<Value>,
    /// The ElevenLabs phone number the agent calls from (Twilio or SIP trunk).
    pub phone_number_id: Option<String>,
}

impl AgentInput {
    /// The fields this input sets (what an audit record names).
    pub fn field_names(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("type", self.kind.is_some()),
            ("status", self.status.is_some()),
            ("description", self.description.is_some()),
            ("language", self.language.is_some()),
            ("voice_id", self.voice_id.is_some()),
            ("llm", self.llm.is_some()),
            ("system_prompt", self.system_prompt.is_some()),
            ("first_message", self.first_message.is_some()),
            ("lead_questions", self.lead_questions.is_some()),
            ("conversation_config", self.conversation_config.is_some()),
            ("platform_settings", self.platform_settings.is_some()),
            ("phone_number_id", self.phone_number_id.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

fn check_len(field: &str, value: &Option<String>, min: usize, max: usize) -> AppResult<()> {
    if let Some(v) = value {
        let n = v.trim().chars().count();
        if n < min || n > max {
            return Err(AppError::validation(
                field,
                format!("must be {min} to {max} characters"),
            ));
        }
    }
    Ok(())
}

fn validate(input: &AgentInput, creating: bool) -> AppResult<()> {
    if creating && input.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(AppError::validation("name", "is required"));
    }
    check_len("name", &input.name, 1, 120)?;
    check_len("description", &input.description, 0, 2_000)?;
    check_len("system_prompt", &input.system_prompt, 0, 50_000)?;
    check_len("first_message", &input.first_message, 0, 2_000)?;
    check_len("voice_id", &input.voice_id, 1, 100)?;
    check_len("llm", &input.llm, 1, 100)?;
    check_len("phone_number_id", &input.phone_number_id, 0, 100)?;
    if let Some(lang) = &input.language
        && !(2..=8).contains(&lang.len())
    {
        return Err(AppError::validation(
            "language",
            "must be a language code such as en or pt-br",
        ));
    }
    for (field, value) in [
        ("conversation_config", &input.conversation_config),
        ("platform_settings", &input.platform_settings),
    ] {
        if let Some(v) = value
            && !v.is_object()
        {
            return Err(AppError::validation(field, "must be an object"));
        }
    }
    if let Some(questions) = &input.lead_questions {
        if questions.len() > 50 {
            return Err(AppError::validation(
                "lead_questions",
                "at most 50 questions",
            ));
        }
        for q in questions {
            let id_ok = !q.id.is_empty()
                && q.id.len() <= 64
                && q.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !id_ok {
                return Err(AppError::validation(
                    "lead_questions",
                    "ids are 1-64 letters, digits or _",
                ));
            }
            if !["string", "number", "integer", "boolean"].contains(&q.value_type.as_str()) {
                return Err(AppError::validation(
                    "lead_questions",
                    "type must be string, number, integer or boolean",
                ));
            }
        }
    }
    Ok(())
}

/// Sets `value` at `path` inside `root`, creating objects on the way.
fn set_path(root: &mut Value, path: &[&str], value: Value) {
    let mut node = root;
    for key in &path[..path.len() - 1] {
        if !node.get(*key).is_some_and(Value::is_object) {
            node[*key] = Value::Object(Map::new());
        }
        node = &mut node[*key];
    }
    node[path[path.len() - 1]] = value;
}

/// The ElevenLabs body for the input: the raw pass-through first, the typed fields over it.
fn elevenlabs_body(input: &AgentInput, kind: Option<Channel>) -> Value {
    let mut config = input
        .conversation_config
        .clone()
        .unwrap_or_else(|| json!({}));
    let typed: [(&[&str], &Option<String>); 5] = [
        (&["agent", "first_message"], &input.first_message),
        (&["agent", "language"], &input.language),
        (&["agent", "prompt", "prompt"], &input.system_prompt),
        (&["agent", "prompt", "llm"], &input.llm),
        (&["tts", "voice_id"], &input.voice_id),
    ];
    for (path, value) in typed {
        if let Some(v) = value {
            set_path(&mut config, path, json!(v));
        }
    }
    if let Some(kind) = kind {
        set_path(
            &mut config,
            &["conversation", "text_only"],
            json!(kind == Channel::Chat),
        );
    }
    let mut body = json!({});
    if config.as_object().is_some_and(|o| !o.is_empty()) {
        body["conversation_config"] = config;
    }
    let mut platform = input.platform_settings.clone().unwrap_or_else(|| json!({}));
    if let Some(questions) = &input.lead_questions {
        let collection: Map<String, Value> = questions
            .iter()
            .map(|q| {
                (
                    q.id.clone(),
                    json!({"type": q.value_type, "description": q.description}),
                )
            })
            .collect();
        set_path(
            &mut platform,
            &["data_collection"],
            Value::Object(collection),
        );
    }
    if platform.as_object().is_some_and(|o| !o.is_empty()) {
        body["platform_settings"] = platform;
    }
    if let Some(name) = &input.name {
        body["name"] = json!(name.trim());
    }
    body
}

async fn client(services: &Services) -> AppResult<ElevenLabs> {
    ElevenLabs::for_services(services).await
}

/// Creates the agent on ElevenLabs, then here. If ElevenLabs refuses, nothing is stored; if it
/// is unavailable, the agent is stored `pending` and a job creates it there later.
pub async fn create(
    services: &Services,
    user: &CurrentUser,
    input: AgentInput,
) -> AppResult<Applied<agents::Model>> {
    validate(&input, true)?;
    let kind = input.kind.unwrap_or(Channel::Call);
    let mut body = elevenlabs_body(&input, Some(kind));
    if body.get("conversation_config").is_none() {
        body["conversation_config"] = json!({});
    }
    let created = client(services)
        .await?
        .request(
            Method::POST,
            "/v1/convai/agents/create",
            Some(&body),
            Retry::OnlyIfUnsent,
            "agent",
        )
        .await;
    let el_id = match created {
        Ok(created) => Some(
            created
                .get("agent_id")
                .and_then(Value::as_str)
                .ok_or_else(|| AppError::Provider {
                    code: "provider_error",
                    message: "ElevenLabs returned no agent id".into(),
                })?
                .to_string(),
        ),
        Err(e) if unavailable(&e) => None,
        Err(e) => return Err(e),
    };
    let now = Utc::now();
    let row = agents::ActiveModel {
        id: Set(crate::platform::ids::next()),
        user_id: Set(user.id),
        elevenlabs_agent_id: Set(el_id.clone()),
        kind: Set(kind),
        status: Set(input.status.unwrap_or(AgentStatus::Active)),
        name: Set(input.name.clone().unwrap_or_default().trim().to_string()),
        description: Set(input.description.clone()),
        config: Set(body),
        sync_state: Set(if el_id.is_some() {
            SyncState::Synced
        } else {
            SyncState::Pending
        }),
        sync_error: Set(None),
        phone_number_id: Set(input
            .phone_number_id
            .clone()
            .filter(|p| !p.trim().is_empty())),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let saved = async {
        let row = row.insert(&txn).await?;
        let job = match el_id {
            Some(_) => None,
            None => Some(schedule_sync(&txn, services, row.id).await?),
        };
        Ok::<_, AppError>((row, job))
    }
    .await;
    match saved {
        Ok((row, job)) => {
            let deferred = job.is_some();
            let mut after = AfterCommit::new();
            after.ring_all(job);
            after.commit(services, txn).await?;
            if deferred {
                tracing::warn!(agent_id = %row.id, "ElevenLabs unavailable; agent creation deferred");
                Ok(Applied::Deferred(row))
            } else {
                Ok(Applied::Now(row))
            }
        }
        Err(e) => {
            drop(txn);
            // Do not leave an orphan on ElevenLabs when our insert fails.
            if let Some(el_id) = el_id {
                let _ = client(services)
                    .await?
                    .request(
                        Method::DELETE,
                        &format!("/v1/convai/agents/{el_id}"),
                        None,
                        Retry::Idempotent,
                        "agent",
                    )
                    .await;
            }
            Err(e)
        }
    }
}

/// The user's agent; another user's is not found.
pub async fn get(services: &Services, user: &CurrentUser, id: Uuid) -> AppResult<agents::Model> {
    agents::Entity::find_by_id(id)
        .filter(agents::Column::UserId.eq(user.id))
        .one(&services.db)
        .await?
        .ok_or_else(|| AppError::not_found("agent"))
}

pub async fn list(
    services: &Services,
    user: &CurrentUser,
    kind: Option<Channel>,
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<agents::Model>, u64)> {
    let mut query = agents::Entity::find().filter(agents::Column::UserId.eq(user.id));
    if let Some(kind) = kind {
        query = query.filter(agents::Column::Kind.eq(kind));
    }
    let paginator = query
        .order_by_desc(agents::Column::CreatedAt)
        .paginate(&services.db, per_page);
    let total = paginator.num_items().await?;
    Ok((paginator.fetch_page(page.saturating_sub(1)).await?, total))
}

/// The live ElevenLabs configuration of the agent.
pub async fn live_config(services: &Services, user: &CurrentUser, id: Uuid) -> AppResult<Value> {
    let agent = get(services, user, id).await?;
    let el_id = agent
        .elevenlabs_agent_id
        .ok_or_else(|| AppError::not_found("agent"))?;
    client(services)
        .await?
        .request(
            Method::GET,
            &format!("/v1/convai/agents/{el_id}"),
            None,
            Retry::Idempotent,
            "agent",
        )
        .await
}

/// Pushes the changed fields to ElevenLabs (PATCH), then refreshes our cache. If ElevenLabs is
/// unavailable the change is kept as a pending patch and a job applies it later.
pub async fn update(
    services: &Services,
    user: &CurrentUser,
    id: Uuid,
    input: AgentInput,
) -> AppResult<Applied<agents::Model>> {
    validate(&input, false)?;
    if input.kind.is_some() {
        return Err(AppError::validation(
            "type",
            "cannot be changed; create a new agent",
        ));
    }
    let agent = get(services, user, id).await?;
    if agent.sync_state == SyncState::Deleting {
        return Err(AppError::not_found("agent"));
    }
    let patch = elevenlabs_body(&input, None);
    let has_patch = patch.as_object().is_some_and(|o| !o.is_empty());
    let mut deferred = agent.sync_state == SyncState::Pending;
    if has_patch && !deferred {
        let el_id = agent
            .elevenlabs_agent_id
            .clone()
            .ok_or_else(|| AppError::not_found("agent"))?;
        match client(services)
            .await?
            .request(
                Method::PATCH,
                &format!("/v1/convai/agents/{el_id}"),
                Some(&patch),
                Retry::Idempotent,
                "agent",
            )
            .await
        {
            Ok(_) => {}
            Err(e) if unavailable(&e) => deferred = true,
            Err(e) => return Err(e),
        }
    }
    let mut active: agents::ActiveModel = agent.clone().into();
    if let Some(name) = input.name {
        active.name = Set(name.trim().to_string());
    }
    if let Some(description) = input.description {
        active.description = Set(Some(description));
    }
    if let Some(status) = input.status {
        active.status = Set(status);
    }
    if let Some(number) = input.phone_number_id {
        active.phone_number_id = Set(Some(number).filter(|p| !p.trim().is_empty()));
    }
    active.updated_at = Set(Utc::now());
    if !(deferred && has_patch) {
        return Ok(Applied::Now(active.update(&services.db).await?));
    }
    // Keep the change for the sync job: merged into the pending patch.
    let mut config = agent.config.clone();
    let mut pending = config
        .get("pending_patch")
        .cloned()
        .unwrap_or_else(|| json!({}));
    merge(&mut pending, &patch);
    config["pending_patch"] = pending;
    active.config = Set(config);
    active.sync_state = Set(SyncState::Pending);
    let txn = crate::platform::db::begin_write(&services.db).await?;
    let row = active.update(&txn).await?;
    let job = schedule_sync(&txn, services, row.id).await?;
    AfterCommit::ringing(job).commit(services, txn).await?;
    Ok(Applied::Deferred(row))
}

/// Deep-merges `patch` into `target`.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// Deletes the agent on ElevenLabs (already gone there is fine) and here. If ElevenLabs is
/// unavailable the agent is marked `deleting` and a job finishes the deletion.
pub async fn delete(services: &Services, user: &CurrentUser, id: Uuid) -> AppResult<Applied<()>> {
    let agent = get(services, user, id).await?;
    if let Some(el_id) = &agent.elevenlabs_agent_id {
        match delete_remote(services, el_id).await {
            Ok(()) => {}
            Err(e) if unavailable(&e) => {
                let mut active: agents::ActiveModel = agent.into();
                active.sync_state = Set(SyncState::Deleting);
                active.updated_at = Set(Utc::now());
                let txn = crate::platform::db::begin_write(&services.db).await?;
                let row = active.update(&txn).await?;
                let job = schedule_sync(&txn, services, row.id).await?;
                AfterCommit::ringing(job).commit(services, txn).await?;
                return Ok(Applied::Deferred(()));
            }
            Err(e) => return Err(e),
        }
    }
    agent.delete(&services.db).await?;
    Ok(Applied::Now(()))
}

async fn delete_remote(services: &Services, el_id: &str) -> AppResult<()> {
    match client(services)
        .await?
        .request(
            Method::DELETE,
            &format!("/v1/convai/agents/{el_id}"),
            None,
            Retry::Idempotent,
            "agent",
        )
        .await
    {
        Ok(_) | Err(AppError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The `agent_sync` job: pushes a pending create, patch or delete to ElevenLabs. Unavailable
/// or rate limited is retried; a refusal, or the last attempt, marks the agent `failed`.
pub async fn sync(
    services: &Services,
    agent_id: Uuid,
    last_attempt: bool,
) -> Result<(), crate::platform::jobs::JobError> {
    use crate::platform::jobs::JobError;
    let Some(agent) = agents::Entity::find_by_id(agent_id)
        .one(&services.db)
        .await?
    else {
        return Ok(());
    };
    let outcome = push(services, &agent).await;
    let Err(e) = outcome else { return Ok(()) };
    let message = e.public_message();
    let error = JobError::from(e);
    if !error.is_retryable() || last_attempt {
        let mut active: agents::ActiveModel = agent.into();
        active.sync_state = Set(SyncState::Failed);
        active.sync_error = Set(Some(message));
        active.updated_at = Set(Utc::now());
        active.update(&services.db).await?;
    }
    Err(error)
}

async fn push(services: &Services, agent: &agents::Model) -> AppResult<()> {
    match agent.sync_state {
        SyncState::Deleting => {
            if let Some(el_id) = &agent.elevenlabs_agent_id {
                delete_remote(services, el_id).await?;
            }
            agent.clone().delete(&services.db).await?;
        }
        SyncState::Pending => {
            let mut config = agent.config.clone();
            let pending = config
                .as_object_mut()
                .and_then(|o| o.remove("pending_patch"));
            let el_id = match &agent.elevenlabs_agent_id {
                Some(id) => id.clone(),
                None => {
                    let created = client(services)
                        .await?
                        .request(
                            Method::POST,
                            "/v1/convai/agents/create",
                            Some(&config),
                            Retry::OnlyIfUnsent,
                            "agent",
                        )
                        .await?;
                    let id = created
                        .get("agent_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    // Kept at once, so a failing patch below does not create it twice.
                    agents::Entity::update_many()
                        .col_expr(
                            agents::Column::ElevenlabsAgentId,
                            sea_orm::sea_query::Expr::value(id.clone()),
                        )
                        .filter(agents::Column::Id.eq(agent.id))
                        .exec(&services.db)
                        .await?;
                    id
                }
            };
            if let Some(patch) = &pending {
                client(services)
                    .await?
                    .request(
                        Method::PATCH,
                        &format!("/v1/convai/agents/{el_id}"),
                        Some(patch),
                        Retry::Idempotent,
                        "agent",
                    )
                    .await?;
                merge(&mut config, patch);
            }
            let mut active: agents::ActiveModel = agent.clone().into();
            active.elevenlabs_agent_id = Set(Some(el_id));
            active.config = Set(config);
            active.sync_state = Set(SyncState::Synced);
            active.sync_error = Set(None);
            active.updated_at = Set(Utc::now());
            active.update(&services.db).await?;
        }
        _ => {}
    }
    Ok(())
}

/// What an agent card shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentStats {
    pub calls: i64,
    /// Sum of the calls' durations, in (possibly fractional) minutes.
    pub minutes: f64,
    pub credits_used: i64,
    pub last_call_at: Option<chrono::DateTime<Utc>>,
    pub average_lead_score: Option<f64>,
    /// Share of completed calls ElevenLabs judged successful, 0 to 1.
    pub success_rate: Option<f64>,
}

/// One grouped row of `stats`.
#[derive(Debug, sea_orm::FromQueryResult)]
struct StatsRow {
    agent_id: Option<Uuid>,
    calls: i64,
    secs: Option<i64>,
    credits: Option<i64>,
    last_call: Option<chrono::DateTime<Utc>>,
    successes: Option<i64>,
    completed: Option<i64>,
}

/// Stats of the given agents, aggregated by the database (two grouped queries whatever the
/// number of calls).
pub async fn stats(
    services: &Services,
    agent_ids: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, AgentStats>> {
    use sea_orm::{
        ConnectionTrait, QuerySelect,
        sea_query::{Alias, Expr, ExprTrait, Query},
    };

    use crate::entities::{calls, lead_analytics};
    let mut out = std::collections::HashMap::new();
    if agent_ids.is_empty() {
        return Ok(out);
    }
    let db = &services.db;
    let rows: Vec<StatsRow> = calls::Entity::find()
        .select_only()
        .column(calls::Column::AgentId)
        .column_as(Expr::cust("COUNT(*)"), "calls")
        .column_as(Expr::cust("CAST(SUM(duration_secs) AS BIGINT)"), "secs")
        .column_as(
            Expr::cust("CAST(SUM(credits_charged) AS BIGINT)"),
            "credits",
        )
        .column_as(Expr::cust("MAX(created_at)"), "last_call")
        .column_as(
            Expr::cust(
                "CAST(SUM(CASE WHEN call_successful = 'success' THEN 1 ELSE 0 END) AS BIGINT)",
            ),
            "successes",
        )
        .column_as(
            Expr::cust("CAST(SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS BIGINT)"),
            "completed",
        )
        .filter(calls::Column::AgentId.is_in(agent_ids.iter().copied()))
        .group_by(calls::Column::AgentId)
        .into_model::<StatsRow>()
        .all(db)
        .await?;
    for row in rows {
        let Some(agent) = row.agent_id else { continue };
        let (calls_n, secs, credits, last, successes, completed) = (
            row.calls,
            row.secs,
            row.credits,
            row.last_call,
            row.successes,
            row.completed,
        );
        let completed = completed.unwrap_or(0);
        out.insert(
            agent,
            AgentStats {
                calls: calls_n,
                minutes: secs.unwrap_or(0) as f64 / 60.0,
                credits_used: credits.unwrap_or(0),
                last_call_at: last,
                average_lead_score: None,
                success_rate: (completed > 0)
                    .then(|| successes.unwrap_or(0) as f64 / completed as f64),
            },
        );
    }
    let query = Query::select()
        .column((calls::Entity, calls::Column::AgentId))
        .expr_as(
            Expr::cust("CAST(AVG(lead_analytics.total_score) AS DOUBLE PRECISION)"),
            Alias::new("score"),
        )
        .from(lead_analytics::Entity)
        .inner_join(
            calls::Entity,
            Expr::col((calls::Entity, calls::Column::Id))
                .equals((lead_analytics::Entity, lead_analytics::Column::CallId)),
        )
        .and_where(
            Expr::col((calls::Entity, calls::Column::AgentId)).is_in(agent_ids.iter().copied()),
        )
        .group_by_col((calls::Entity, calls::Column::AgentId))
        .to_owned();
    for row in db.query_all(&query).await? {
        let agent: Option<Uuid> = row.try_get("", "agent_id")?;
        let score: Option<f64> = row.try_get("", "score")?;
        if let Some(agent) = agent {
            out.entry(agent).or_default().average_lead_score = score;
        }
    }
    Ok(out)
}

/// Names of the user's agents as ElevenLabs has them now (the list shows these when they
/// differ from our copy). `None` when ElevenLabs cannot be asked: the list is then stale.
pub async fn live_names(services: &Services) -> Option<std::collections::HashMap<String, String>> {
    let answer = client(services)
        .await
        .ok()?
        .cached_get(
            "/v1/convai/agents?page_size=100",
            std::time::Duration::from_secs(30),
            "agent",
        )
        .await
        .ok()?;
    Some(
        answer
            .get("agents")?
            .as_array()?
            .iter()
            .filter_map(|a| {
                Some((
                    a.get("agent_id")?.as_str()?.to_string(),
                    a.get("name")?.as_str()?.to_string(),
                ))
            })
            .collect(),
    )
}

/// How long voice and phone-number listings are reused.
const LISTING_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Voices the agents can speak with: `{voice_id, name, category, labels, preview_url}`.
pub async fn voices(services: &Services) -> AppResult<Vec<Value>> {
    let answer = client(services)
        .await?
        .cached_get("/v1/voices", LISTING_TTL, "voice")
        .await?;
    Ok(answer
        .get("voices")
        .and_then(Value::as_array)
        .map(|voices| {
            voices
                .iter()
                .map(|v| {
                    json!({
                        "voice_id": v.get("voice_id"), "name": v.get("name"),
                        "category": v.get("category"), "labels": v.get("labels"),
                        "preview_url": v.get("preview_url")
                    })
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Phone numbers agents can call from: `{phone_number_id, phone_number, label, provider}`.
pub async fn phone_numbers(services: &Services) -> AppResult<Vec<Value>> {
    let answer = client(services)
        .await?
        .cached_get("/v1/convai/phone-numbers", LISTING_TTL, "phone_number")
        .await?;
    Ok(answer
        .as_array()
        .map(|numbers| {
            numbers
                .iter()
                .map(|n| {
                    json!({
                        "phone_number_id": n.get("phone_number_id"), "phone_number": n.get("phone_number"),
                        "label": n.get("label"), "provider": n.get("provider")
                    })
                })
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_fields_override_the_pass_through() {
        let input = AgentInput {
            name: Some(" Sales ".into()),
            language: Some("en".into()),
            voice_id: Some("voice-1".into()),
            system_prompt: Some("Be brief".into()),
            first_message: Some("Hi!".into()),
            lead_questions: Some(vec![LeadQuestion {
                id: "budget".into(),
                value_type: "number".into(),
                description: "Budget".into(),
            }]),
            conversation_config: Some(
                json!({"agent": {"language": "fr", "max_duration": 60}, "tts": {"stability": 0.5}}),
            ),
            ..Default::default()
        };
        let body = elevenlabs_body(&input, Some(Channel::Chat));
        assert_eq!(body["name"], "Sales");
        assert_eq!(body["conversation_config"]["agent"]["language"], "en");
        assert_eq!(body["conversation_config"]["agent"]["max_duration"], 60);
        assert_eq!(
            body["conversation_config"]["agent"]["prompt"]["prompt"],
            "Be brief"
        );
        assert_eq!(
            body["conversation_config"]["tts"],
            json!({"stability": 0.5, "voice_id": "voice-1"})
        );
        assert_eq!(
            body["conversation_config"]["conversation"]["text_only"],
            true
        );
        assert_eq!(
            body["platform_settings"]["data_collection"]["budget"]["type"],
            "number"
        );
    }
}

/// What a web widget needs to open a conversation with a chat agent.
#[derive(Debug, Clone)]
pub struct ChatSession {
    pub agent_id: Uuid,
    pub elevenlabs_agent_id: String,
    /// For a WebSocket conversation (`get-signed-url`); valid for a short time.
    pub signed_url: String,
    /// For a WebRTC conversation (`conversation/token`).
    pub conversation_token: String,
}

/// Opens a chat for an active chat agent of the user's, if they have credits to pay for it.
pub async fn chat_session(
    services: &Services,
    user: &CurrentUser,
    id: Uuid,
) -> AppResult<ChatSession> {
    let agent = get(services, user, id).await?;
    if agent.kind != Channel::Chat {
        return Err(AppError::conflict(
            "not_a_chat_agent",
            "this is a call agent; chat sessions need a chat agent",
        ));
    }
    if agent.status != AgentStatus::Active {
        return Err(AppError::conflict(
            "agent_inactive",
            "activate the agent before opening chats with it",
        ));
    }
    let el_id = agent
        .elevenlabs_agent_id
        .clone()
        .filter(|_| agent.sync_state == SyncState::Synced)
        .ok_or_else(|| {
            AppError::conflict(
                "agent_not_synced",
                "the agent is not on ElevenLabs yet; try again shortly",
            )
        })?;
    crate::money::credits::require_positive_balance(&services.db, user.id).await?;
    let client = client(services).await?;
    let signed_path = format!("/v1/convai/conversation/get-signed-url?agent_id={el_id}");
    let token_path = format!("/v1/convai/conversation/token?agent_id={el_id}");
    let (signed, token) = tokio::try_join!(
        client.request(Method::GET, &signed_path, None, Retry::Idempotent, "agent"),
        client.request(Method::GET, &token_path, None, Retry::Idempotent, "agent"),
    )?;
    let field = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .map(String::from)
            .ok_or_else(|| AppError::Provider {
                code: "provider_error",
                message: format!("ElevenLabs answered without `{key}`"),
            })
    };
    Ok(ChatSession {
        agent_id: agent.id,
        elevenlabs_agent_id: el_id,
        signed_url: field(&signed, "signed_url")?,
        conversation_token: field(&token, "token")?,
    })
}
