//! `/ws/chat`: the planner over a WebSocket. The client sends JSON
//! commands, the server sends the planner's protocol events (one JSON text
//! frame each, `runtime/schema/events.v1.json`) and, for a command it
//! refuses, the API's error shape `{"error": {"code", "message", "field"}}`
//! with the command's `ref` when it gave one.
//!
//! Commands (`type`):
//! - `ask` `{message, thread_id?}`: a question (viewer or above);
//! - `approve` `{thread_id, arguments?}`, `reject` `{thread_id, reason?}`:
//!   decide a paused step (analyst or above);
//! - `resume` `{thread_id, after_seq}`: replay the thread's events after
//!   `after_seq` (what a reconnecting client missed) and follow a turn still
//!   running to its end.
//!
//! The upgrade request authenticates like the API (`Authorization: Bearer`
//! or the session cookie); an `Origin` other than the server's own host is
//! refused.

use aima_actors::planner::Approval;
use aima_runtime::events::Event;
use aima_runtime::store::Role;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::api::planner_error;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::{Api, Op};
use crate::state::AppState;
use crate::turns;

pub(crate) fn routes(api: Api) -> Api {
    api.add(
        Op::get("/ws/chat", "agent", "The planner over a WebSocket")
            .describe(
                "Upgrade to a WebSocket. Send JSON commands: `{\"type\": \"ask\", \"message\", \
                 \"thread_id\"?}`, `{\"type\": \"approve\", \"thread_id\", \"arguments\"?}`, \
                 `{\"type\": \"reject\", \"thread_id\", \"reason\"?}`, `{\"type\": \"resume\", \
                 \"thread_id\", \"after_seq\"}` (each may carry a `ref` echoed in its error). \
                 Receive the planner's events as JSON text frames; refused commands answer \
                 `{\"error\": {...}, \"ref\"}`.",
            )
            .role(Role::Viewer)
            .returns_text("application/json"),
        get(upgrade),
    )
}

/// A client command.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Command {
    Ask {
        message: String,
        #[serde(default)]
        thread_id: Option<Uuid>,
        #[serde(default, rename = "ref")]
        reference: Option<Value>,
    },
    Approve {
        thread_id: Uuid,
        #[serde(default)]
        arguments: Option<Value>,
        #[serde(default, rename = "ref")]
        reference: Option<Value>,
    },
    Reject {
        thread_id: Uuid,
        #[serde(default)]
        reason: Option<String>,
        #[serde(default, rename = "ref")]
        reference: Option<Value>,
    },
    Resume {
        thread_id: Uuid,
        #[serde(default)]
        after_seq: u64,
        #[serde(default, rename = "ref")]
        reference: Option<Value>,
    },
}

/// `Origin`, when sent, must name the host the request was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .split_once("://")
        .map_or(origin, |(_, rest)| rest)
        .trim_end_matches('/');
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// `caller` is extracted first: a request without a key is a 401 whether
/// or not it is a WebSocket handshake.
async fn upgrade(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    if !same_origin(&headers) {
        return Err(ApiError::BadRequest {
            message: "the WebSocket's Origin is not this server".to_owned(),
            field: Some("Origin".to_owned()),
        });
    }
    Ok(ws.on_upgrade(move |socket| session(socket, state, caller)))
}

/// One connection: commands in, events out (a writer task drains `out`).
async fn session(socket: WebSocket, state: AppState, caller: Caller) {
    use futures::{SinkExt, StreamExt};
    let (mut sink, mut stream) = socket.split();
    let (out, mut outgoing) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        while let Some(text) = outgoing.recv().await {
            if sink.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    while let Some(Ok(message)) = stream.next().await {
        let text = match message {
            Message::Text(t) => t.to_string(),
            Message::Close(_) => break,
            _ => continue,
        };
        match serde_json::from_str::<Command>(&text) {
            Ok(command) => handle(&state, caller, command, &out),
            Err(e) => send_error(
                &out,
                &ApiError::Invalid {
                    message: format!("not a command: {e}"),
                    field: None,
                },
                None,
            ),
        }
    }
    drop(out);
    let _ = writer.await;
}

fn send_error(out: &mpsc::UnboundedSender<String>, error: &ApiError, reference: Option<Value>) {
    let mut body = serde_json::to_value(error.body()).unwrap_or_default();
    if let (Some(r), Some(obj)) = (reference, body.as_object_mut()) {
        obj.insert("ref".to_owned(), r);
    }
    let _ = out.send(body.to_string());
}

fn send_event(out: &mpsc::UnboundedSender<String>, event: &Event) -> bool {
    serde_json::to_string(event).is_ok_and(|text| out.send(text).is_ok())
}

fn handle(state: &AppState, caller: Caller, command: Command, out: &mpsc::UnboundedSender<String>) {
    let org = caller.organization_id;
    let planner = state.planner().clone();
    match command {
        Command::Ask {
            message,
            thread_id,
            reference,
        } => follow(state, caller, Role::Viewer, out, reference, move |tx| {
            Box::pin(async move { planner.ask(org, thread_id, &message, &tx).await })
        }),
        Command::Approve {
            thread_id,
            arguments,
            reference,
        } => follow(state, caller, Role::Analyst, out, reference, move |tx| {
            Box::pin(async move {
                let decision = Approval::Approve { arguments };
                let outcome = planner.resume(org, thread_id, decision, &tx).await?;
                Ok((thread_id, outcome))
            })
        }),
        Command::Reject {
            thread_id,
            reason,
            reference,
        } => follow(state, caller, Role::Analyst, out, reference, move |tx| {
            Box::pin(async move {
                let decision = Approval::Reject { reason };
                let outcome = planner.resume(org, thread_id, decision, &tx).await?;
                Ok((thread_id, outcome))
            })
        }),
        Command::Resume {
            thread_id,
            after_seq,
            reference,
        } => resume(state, org, thread_id, after_seq, reference, out),
    }
}

/// Runs a turn and sends its events; a turn refused before it started
/// sends the error instead.
fn follow(
    state: &AppState,
    caller: Caller,
    needed: Role,
    out: &mpsc::UnboundedSender<String>,
    reference: Option<Value>,
    turn: impl FnOnce(mpsc::UnboundedSender<Event>) -> turns::TurnFuture,
) {
    if let Err(e) = caller.require(needed) {
        return send_error(out, &e, reference);
    }
    let (mut rx, task) = turns::start(state, caller.organization_id, turn);
    let out = out.clone();
    tokio::spawn(async move {
        let mut sent = 0usize;
        // A client gone away stops receiving; the turn runs to its end.
        while let Some(event) = rx.recv().await {
            sent += 1;
            let _ = send_event(&out, &event);
        }
        if sent == 0 {
            let error = match task.await {
                Ok(Err(e)) => planner_error(e),
                Ok(Ok(_)) => ApiError::internal("the planner", &"a turn sent no event"),
                Err(e) => ApiError::internal("the planner task", &e),
            };
            send_error(&out, &error, reference);
        }
    });
}

/// Replays what the hub kept of `thread` after `after_seq`, then follows a
/// turn still running to its end.
fn resume(
    state: &AppState,
    org: Uuid,
    thread: Uuid,
    after_seq: u64,
    reference: Option<Value>,
    out: &mpsc::UnboundedSender<String>,
) {
    let Some(turns::Resume { missed, live }) =
        state.hub().resume(org, &thread.to_string(), after_seq)
    else {
        let error = ApiError::NotFound {
            what: format!(
                "recent events of thread {thread} (its messages: GET /api/v1/agent/threads/{thread})"
            ),
        };
        return send_error(out, &error, reference);
    };
    let mut last = after_seq;
    for event in &missed {
        send_event(out, event);
        last = last.max(event.seq);
    }
    let Some(mut live) = live else {
        return;
    };
    let out = out.clone();
    tokio::spawn(async move {
        loop {
            match live.recv().await {
                Ok(event) if event.seq <= last => {}
                Ok(event) => {
                    last = event.seq;
                    if !send_event(&out, &event) || event.body.ends_turn() {
                        break;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}
