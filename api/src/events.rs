//! The signed-in user's live event stream (Server-Sent Events).

use std::time::Duration;

use futures::StreamExt;
use poem::web::sse::Event;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::EventStream};
use shared::{
    Services,
    platform::live::{LiveHub, LiveKind},
};

use crate::{api_errors, security::Auth, tags::Tag};

/// One event: its SSE `event:` name is `type`.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct LiveMessage {
    /// `resync`: this connection lost events, refetch.
    #[oai(rename = "type")]
    pub kind: LiveKind,
    pub data: serde_json::Value,
}

type LiveStream = futures::stream::BoxStream<'static, LiveMessage>;

#[derive(ApiResponse)]
pub enum EventsResponse {
    /// `text/event-stream`; a comment every 15 s keeps proxies from closing it.
    #[oai(status = 200)]
    Stream(EventStream<LiveStream>),
}

api_errors!(EventErrors {
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    429 => TooMany: "Too many streams open for this user (`too_many_streams`).",
});

pub struct EventsApi {
    pub services: Services,
    pub hub: LiveHub,
}

#[OpenApi(prefix_path = "/api", tag = "Tag::Account")]
impl EventsApi {
    /// Live events
    ///
    /// A Server-Sent Events stream of the caller's own events, across all gateway replicas:
    /// calls completing or failing, lead scores, balance changes, import progress and new
    /// notifications. The first event is `ready`; each event's `data` is the JSON of
    /// `LiveMessage`. Send the access token in a header (use a fetch-based SSE client;
    /// `EventSource` cannot set headers). After a reconnect or a `resync`, refetch.
    #[oai(path = "/events", method = "get")]
    async fn events(&self, auth: Auth) -> Result<EventsResponse, EventErrors> {
        let me = auth.user(&self.services).await?;
        let stream = self.hub.user_stream(me.id).await?;
        let stream = stream
            .map(|event| LiveMessage {
                kind: event.kind,
                data: event.data,
            })
            .boxed();
        Ok(EventsResponse::Stream(
            EventStream::new(stream)
                .keep_alive(Duration::from_secs(15))
                .to_event(|message| {
                    let kind = message.kind;
                    let json = serde_json::json!({"type": message.kind, "data": message.data});
                    Event::message(json.to_string()).event_type(kind.to_string())
                }),
        ))
    }
}
