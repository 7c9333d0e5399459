//! Liveness and readiness for load balancers and orchestrators.

use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use shared::Services;

use crate::tags::Tag;

pub struct HealthApi {
    pub services: Services,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: String,
    pub version: String,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    pub status: String,
    /// `ok` or the reason the database is unreachable.
    pub database: String,
    /// `ok` or the reason the job queue is unreachable.
    pub queue: String,
}

#[derive(Debug, ApiResponse)]
pub enum ReadyResponse {
    /// Database and queue are reachable.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// At least one dependency is unreachable; the body says which.
    #[oai(status = 503)]
    Unavailable(Json<Readiness>),
}

#[OpenApi(tag = "Tag::Operations")]
impl HealthApi {
    /// Liveness
    ///
    /// Answers 200 as long as the process is up; it checks nothing else.
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> Json<Health> {
        Json(Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        })
    }

    /// Readiness
    ///
    /// 200 when the database and the job queue both answer, otherwise 503 naming the one
    /// that does not.
    #[oai(path = "/ready", method = "get")]
    async fn ready(&self) -> ReadyResponse {
        let (db, queue) = self.services.readiness().await;
        let describe = |r: &Result<(), String>| match r {
            Ok(()) => "ok".to_string(),
            Err(e) => e.clone(),
        };
        let body = Readiness {
            status: if db.is_ok() && queue.is_ok() {
                "ready"
            } else {
                "unavailable"
            }
            .into(),
            database: describe(&db),
            queue: describe(&queue),
        };
        if db.is_ok() && queue.is_ok() {
            ReadyResponse::Ready(Json(body))
        } else {
            tracing::warn!(database = %body.database, queue = %body.queue, "not ready");
            ReadyResponse::Unavailable(Json(body))
        }
    }
}
