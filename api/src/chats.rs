//! `/api/chats`: conversations of chat agents (text, no telephony), listed and read like calls
//! and kept in the same table under channel `chat`.

use chrono::{DateTime, Utc};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use shared::calls::CallStatus;
use shared::{
    Services,
    calls::history,
    calls::{self as service, Channel},
};
use uuid::Uuid;

use crate::{
    api_errors,
    calls::{
        Call, CallListRow, CallParams, CallSortBy, LeadAnalytics, SpeakerSegment, TranscriptMatch,
        call_filter, matches_in, segments,
    },
    pagination::{Page, SortOrder, default_page, default_per_page},
    security::Auth,
    tags::Tag,
};

/// Who the visitor said they were (from the widget or what the agent collected).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Visitor {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct ChatDetail {
    #[oai(flatten)]
    pub chat: Call,
    pub visitor: Visitor,
    pub lead_analytics: Option<LeadAnalytics>,
    /// The messages in order: `agent` or `user`, text, seconds into the conversation.
    pub messages: Vec<SpeakerSegment>,
    /// With `?q=`: the messages containing it, cut into parts for highlighting.
    pub matches: Option<Vec<TranscriptMatch>>,
}

api_errors!(ChatErrors {
    400 => BadRequest: "Malformed path or query (`invalid_parameter`), or an invalid field (`validation_error`; `details` maps each field to its message).",
    401 => Unauthorized: "Missing or invalid access token (`missing_token`, `invalid_token`, `malformed_token`, `session_revoked`, …).",
    403 => Forbidden: "The account is suspended (`account_suspended`).",
    404 => NotFound: "No such chat for this user (`chat_not_found`).",
});

pub struct ChatApi {
    pub services: Services,
}

#[OpenApi(prefix_path = "/api/chats", tag = "Tag::Calls")]
impl ChatApi {
    /// List chats
    ///
    /// The conversations of the user's chat agents, with the call list's filters (except
    /// direction), search over the visitor's contact and the messages, sorting and pages.
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: Auth,
        from: Query<Option<DateTime<Utc>>>,
        to: Query<Option<DateTime<Utc>>>,
        agent_id: Query<Option<Uuid>>,
        contact_id: Query<Option<Uuid>>,
        status: Query<Option<CallStatus>>,
        #[oai(validator(max_length = 20))] lead_status: Query<Option<String>>,
        #[oai(validator(minimum(value = "0"), maximum(value = "100")))] min_score: Query<
            Option<i32>,
        >,
        #[oai(validator(minimum(value = "0"), maximum(value = "100")))] max_score: Query<
            Option<i32>,
        >,
        #[oai(validator(minimum(value = "0")))] min_duration: Query<Option<i32>>,
        #[oai(validator(minimum(value = "0")))] max_duration: Query<Option<i32>>,
        #[oai(validator(max_length = 200))] q: Query<Option<String>>,
        sort: Query<Option<CallSortBy>>,
        order: Query<Option<SortOrder>>,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        page: Query<u64>,
        #[oai(
            default = "default_per_page",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        per_page: Query<u64>,
    ) -> Result<Json<Page<CallListRow>>, ChatErrors> {
        let me = auth.user(&self.services).await?;
        let filter = call_filter(CallParams {
            channel: Channel::Chat,
            from: from.0,
            to: to.0,
            agent_id: agent_id.0,
            contact_id: contact_id.0,
            status: status.0,
            direction: None,
            lead_status: lead_status.0,
            min_score: min_score.0,
            max_score: max_score.0,
            min_duration: min_duration.0,
            max_duration: max_duration.0,
            q: q.0,
            sort: sort.0,
            order: order.0,
        })?;
        let window = shared::platform::db::Window::page(page.0, per_page.0);
        let (rows, total) = history::list(&self.services.db, me.id, &filter, window).await?;
        Ok(Json(Page::of(rows, page.0, per_page.0, total)))
    }

    /// Get a chat
    ///
    /// The chat with the visitor, its lead analytics and its messages; `q` also returns the
    /// messages that contain it.
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        auth: Auth,
        id: Path<Uuid>,
        #[oai(validator(max_length = 200))] q: Query<Option<String>>,
    ) -> Result<Json<ChatDetail>, ChatErrors> {
        let me = auth.user(&self.services).await?;
        let db = &self.services.db;
        let chat = service::of_channel(db, me.owner(), id.0, Channel::Chat).await?;
        let lead = service::lead_of(db, chat.id).await?;
        let turns = shared::calls::transcripts::turns(db, chat.id).await?;
        let matches = q.0.as_deref().map(|q| matches_in(&turns, q));
        let visitor = &chat.metadata["visitor"];
        let field = |k: &str| visitor.get(k).and_then(|v| v.as_str()).map(String::from);
        Ok(Json(ChatDetail {
            visitor: Visitor {
                name: field("name"),
                email: field("email"),
                phone: field("phone"),
            },
            lead_analytics: lead.map(Into::into),
            messages: segments(turns),
            matches,
            chat: chat.into(),
        }))
    }
}
