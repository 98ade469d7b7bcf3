//! The planner (M7) over HTTP: ask a question, approve or reject a paused
//! step, list threads and read one. A turn answers as JSON (every event of
//! the turn, then how it ended) or, with `Accept: text/event-stream`, as
//! Server-Sent Events while it happens: one `event:` per protocol event
//! (`runtime/schema/events.v1.json`).

use std::convert::Infallible;

use aima_actors::planner::{Approval, PlannerError, TurnOutcome};
use aima_runtime::events::Event;
use aima_runtime::store::{Conversation, Role, StoredMessage};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{self, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{ApiJson, ApiPath, ApiQuery, page_limit, wants_sse};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::{Api, Op};
use crate::state::AppState;
use crate::turns::{self, TurnFuture};

pub(super) fn routes(api: Api) -> Api {
    let streams = "With `Accept: text/event-stream` the events stream as Server-Sent Events \
                   (event name = the event's `type`, data = the event as JSON) and the stream \
                   ends with the turn; otherwise the response is the whole turn as JSON.";
    api.add(
        Op::post("/api/v1/agent/chat", "agent", "Ask the planner a question")
            .describe(format!(
                "Starts a new thread, or continues `thread_id`. The planner answers from the \
                 tools; a side-effecting step pauses the thread for approval. {streams}"
            ))
            .role(Role::Viewer)
            .json_body::<ChatRequest>()
            .returns::<TurnResult>(200),
        post(chat),
    )
    .add(
        Op::post(
            "/api/v1/agent/threads/{id}/approve",
            "agent",
            "Approve the paused step (optionally with edited arguments)",
        )
        .describe(streams)
        .role(Role::Analyst)
        .json_body::<ApproveRequest>()
        .returns::<TurnResult>(200),
        post(approve),
    )
    .add(
        Op::post(
            "/api/v1/agent/threads/{id}/reject",
            "agent",
            "Reject the paused step",
        )
        .describe(streams)
        .role(Role::Analyst)
        .json_body::<RejectRequest>()
        .returns::<TurnResult>(200),
        post(reject),
    )
    .add(
        Op::get(
            "/api/v1/agent/threads",
            "agent",
            "Conversation threads, most recent first",
        )
        .role(Role::Viewer)
        .query::<ThreadsQuery>()
        .returns::<Vec<Conversation>>(200),
        get(threads),
    )
    .add(
        Op::get(
            "/api/v1/agent/threads/{id}",
            "agent",
            "One thread's history",
        )
        .role(Role::Viewer)
        .returns::<ThreadHistory>(200),
        get(thread),
    )
}

/// A question.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChatRequest {
    /// The question (not blank).
    #[schemars(length(min = 1))]
    pub message: String,
    /// The thread to continue; absent or null: a new thread.
    #[serde(default)]
    pub thread_id: Option<Uuid>,
}

/// Approval of a paused step.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApproveRequest {
    /// Run the step with these arguments instead of the model's.
    #[serde(default)]
    pub arguments: Option<Value>,
}

/// Rejection of a paused step.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RejectRequest {
    /// Why (passed to the planner).
    #[serde(default)]
    pub reason: Option<String>,
}

/// A whole turn.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TurnResult {
    /// The thread (pass as `thread_id` to follow up).
    pub thread_id: Uuid,
    /// How the turn ended.
    pub outcome: TurnOutcome,
    /// Every event of the turn, in order.
    pub events: Vec<Event>,
}

/// Query of the thread list.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ThreadsQuery {
    /// Most threads, 1 to 100 (default 20).
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
}

/// A thread and its messages.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ThreadHistory {
    /// The thread.
    pub thread: Conversation,
    /// Its messages, oldest first.
    pub messages: Vec<StoredMessage>,
}

/// The API error of a turn that could not start.
pub(crate) fn planner_error(e: PlannerError) -> ApiError {
    let message = e.to_string();
    match e {
        PlannerError::EmptyQuestion => ApiError::invalid("/message", message),
        PlannerError::UnknownThread { thread } => ApiError::NotFound {
            what: format!("thread {thread}"),
        },
        PlannerError::Paused { .. } | PlannerError::NotPaused { .. } => {
            ApiError::Conflict { message }
        }
        PlannerError::Graph { .. } | PlannerError::Store(_) => {
            ApiError::internal("the planner", &message)
        }
    }
}

/// Runs a turn ([`turns::start`]) and answers with its events. A turn that
/// cannot start is an error response, not a stream.
async fn run_turn(
    state: &AppState,
    org: Uuid,
    sse: bool,
    start: impl FnOnce(mpsc::UnboundedSender<Event>) -> TurnFuture,
) -> Result<Response, ApiError> {
    let (mut rx, task) = turns::start(state, org, start);
    let Some(first) = rx.recv().await else {
        // No event: the turn was refused before it started.
        return match task.await {
            Ok(Err(e)) => Err(planner_error(e)),
            Ok(Ok(_)) => Err(ApiError::internal("the planner", &"a turn sent no event")),
            Err(e) => Err(ApiError::internal("the planner task", &e)),
        };
    };
    if sse {
        let stream = futures::stream::unfold((Some(first), rx), |(first, mut rx)| async move {
            let event = match first {
                Some(e) => e,
                None => rx.recv().await?,
            };
            Some((Ok::<_, Infallible>(sse_event(&event)), (None, rx)))
        });
        return Ok(Sse::new(stream)
            .keep_alive(KeepAlive::default())
            .into_response());
    }
    let mut events = vec![first];
    while let Some(event) = rx.recv().await {
        events.push(event);
    }
    let (thread_id, outcome) = task
        .await
        .map_err(|e| ApiError::internal("the planner task", &e))?
        .map_err(planner_error)?;
    Ok(Json(TurnResult {
        thread_id,
        outcome,
        events,
    })
    .into_response())
}

/// One SSE message: `event: <type>`, `id: <seq>`, `data: <event JSON>`.
fn sse_event(event: &Event) -> sse::Event {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".to_owned());
    sse::Event::default()
        .event(event.body.kind())
        .id(event.seq.to_string())
        .data(data)
}

async fn chat(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(request): ApiJson<ChatRequest>,
) -> Result<Response, ApiError> {
    let planner = state.planner().clone();
    let org = caller.organization_id;
    run_turn(&state, org, wants_sse(&headers), move |tx| {
        Box::pin(async move {
            planner
                .ask(org, request.thread_id, &request.message, &tx)
                .await
        })
    })
    .await
}

async fn resume(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    thread: Uuid,
    decision: Approval,
) -> Result<Response, ApiError> {
    let planner = state.planner().clone();
    let org = caller.organization_id;
    run_turn(state, org, wants_sse(headers), move |tx| {
        Box::pin(async move {
            let outcome = planner.resume(org, thread, decision, &tx).await?;
            Ok((thread, outcome))
        })
    })
    .await
}

async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(thread): ApiPath<Uuid>,
    ApiJson(request): ApiJson<ApproveRequest>,
) -> Result<Response, ApiError> {
    let decision = Approval::Approve {
        arguments: request.arguments,
    };
    resume(&state, &caller, &headers, thread, decision).await
}

async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(thread): ApiPath<Uuid>,
    ApiJson(request): ApiJson<RejectRequest>,
) -> Result<Response, ApiError> {
    let decision = Approval::Reject {
        reason: request.reason,
    };
    resume(&state, &caller, &headers, thread, decision).await
}

async fn threads(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ThreadsQuery>,
) -> Result<Json<Vec<Conversation>>, ApiError> {
    let limit = page_limit(query.limit, 20, 100)?;
    Ok(Json(
        state
            .store()
            .conversations(caller.organization_id, limit)
            .await?,
    ))
}

async fn thread(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ThreadHistory>, ApiError> {
    let org = caller.organization_id;
    let Some(thread) = state.store().conversation(org, id).await? else {
        return Err(ApiError::NotFound {
            what: format!("thread {id}"),
        });
    };
    let messages = state.store().conversation_messages(org, id).await?;
    Ok(Json(ThreadHistory { thread, messages }))
}
