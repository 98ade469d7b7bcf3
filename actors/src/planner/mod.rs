//! M7, the conversational planner: a state graph over the tool registry and
//! an LLM provider, streaming its work as [`Event`]s.
//!
//! The graph (one superstep per node):
//!
//! ```text
//! START -> route -> plan -+-> act -> observe -+-> synthesize -> persist -> END
//!                         |    ^              |
//!                         +-> approve         +-> approve / act (next round)
//! ```
//!
//! - Before any work, the turn's first event (`step` of the pseudo-node
//!   [`TURN`], started) tells the client its thread and that the question
//!   was accepted.
//! - `route` opens the turn: it finds the date relative periods are read
//!   against (the organization's latest order, else today) and resets the
//!   turn's fields.
//! - `plan` and `observe` ask the model (the conversation so far, earlier
//!   turns included, and the catalog) for tool calls or an answer. The
//!   answer's text streams as `token` events as the model writes it.
//! - `approve` pauses the thread ([`Event`] `interrupt`) before any
//!   side-effecting call; it resumes with [`Approval`] (approve, possibly
//!   with edited arguments, or reject). Read-only calls never pause.
//! - `act` runs the round's calls in parallel through the registry (so
//!   through the module actors), each announced by `tool_call` and ended by
//!   `tool_result`.
//! - `synthesize` fixes the answer and the tool results it cites;
//!   `persist` writes the question and the answer to the conversation's
//!   history.
//!
//! Tool results are data, never instructions: they reach the model only as
//! tool messages, and nothing side-effecting runs without a person's
//! approval, whatever a result says.

mod nodes;

use std::sync::Arc;

use aima_runtime::events::{Citation, Event, EventBody, StepStatus, Usage};
use aima_runtime::graph::{
    CompiledGraph, END, GraphError, Node, Reducer, Resume, RunOptions, RunOutcome, START,
    StateGraph, StateSchema, StoreCheckpointer, StreamEvent, StreamMode, TaskStatus,
};
use aima_runtime::llm::{LlmProvider, Message, ToolCall};
use aima_runtime::registry::Registry;
use aima_runtime::store::{Store, StoreError};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;
use uuid::Uuid;

/// The node name of a turn's first event (`step`, `started`), sent as soon
/// as a question or an approval decision is accepted, before any work.
pub const TURN: &str = "turn";

/// Most model calls in one turn before the planner stops and says so.
pub const DEFAULT_MAX_ROUNDS: u32 = 6;

/// The planner graph's state (one per conversation thread).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlannerState {
    /// The whole conversation, oldest first (appended by every node).
    pub messages: Vec<Message>,
    /// Where this turn's messages begin (the turn's user message).
    pub turn_start: usize,
    /// Tool calls the model asked for and not yet run.
    pub pending: Vec<ToolCall>,
    /// Model calls made this turn.
    pub rounds: u32,
    /// The answer, once the model gave one.
    pub answer: Option<String>,
    /// The tool results the answer is based on.
    pub citations: Vec<Citation>,
    /// Token accounting for the turn.
    pub usage: Usage,
    /// The date relative periods are read against.
    pub reference_date: Option<NaiveDate>,
}

/// A person's decision on a paused side-effecting call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Approval {
    /// Run it, with `arguments` instead of the model's when given.
    Approve {
        /// Edited arguments (validated like the model's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        arguments: Option<Value>,
    },
    /// Do not run it.
    Reject {
        /// Why, passed to the model.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// How a turn ended (serialized as `{"status": "answered", "answer": ...}`
/// and so on).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TurnOutcome {
    /// The answer was given (`final` event sent).
    Answered {
        /// The answer text.
        answer: String,
    },
    /// Paused for approval (`interrupt` event sent); resume with
    /// [`Planner::resume`].
    Paused {
        /// The pause's id.
        interrupt_id: String,
    },
    /// The turn failed (`error` event sent).
    Failed {
        /// The error's code.
        code: String,
    },
}

/// Errors that prevent a turn from starting (anything after the start ends
/// in an `error` event instead).
#[derive(Debug, thiserror::Error)]
pub enum PlannerError {
    /// The question is empty.
    #[error("the question is empty")]
    EmptyQuestion,
    /// The thread belongs to another organization or does not exist.
    #[error("thread {thread} not found in this organization")]
    UnknownThread {
        /// The thread id.
        thread: Uuid,
    },
    /// The thread is paused for an approval; a new question must wait until
    /// the pause is approved or rejected.
    #[error(
        "thread {thread} is waiting for approval of a side-effecting call: approve or reject it first"
    )]
    Paused {
        /// The thread id.
        thread: Uuid,
    },
    /// The thread has no pause to resume.
    #[error("thread {thread} is not waiting for an approval")]
    NotPaused {
        /// The thread id.
        thread: Uuid,
    },
    /// The graph could not be built (a bug).
    #[error("the planner graph does not build: {source}")]
    Graph {
        /// The build error.
        #[source]
        source: GraphError,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Shared by the graph's nodes.
pub(crate) struct Deps {
    pub(crate) registry: Arc<Registry>,
    pub(crate) provider: Arc<dyn LlmProvider>,
    pub(crate) store: Store,
    pub(crate) max_rounds: u32,
}

/// The planner: build once, then [`Planner::ask`] per question.
pub struct Planner {
    graph: CompiledGraph<PlannerState>,
    store: Store,
}

impl std::fmt::Debug for Planner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planner").finish_non_exhaustive()
    }
}

impl Planner {
    /// A planner answering with `provider` over `registry`'s tools, keeping
    /// threads (checkpoints, so they survive restarts) and history in
    /// `store`.
    ///
    /// Errors: [`PlannerError::Graph`] if the graph does not build (a bug).
    pub fn new(
        store: Store,
        registry: Arc<Registry>,
        provider: Arc<dyn LlmProvider>,
    ) -> Result<Planner, PlannerError> {
        let deps = Arc::new(Deps {
            registry,
            provider,
            store: store.clone(),
            max_rounds: DEFAULT_MAX_ROUNDS,
        });
        let schema = StateSchema::new().reducer("messages", Reducer::Append);
        let mut g = StateGraph::new(schema);
        let d = deps.clone();
        g.add_node(Node::new(
            "route",
            [
                "turn_start",
                "pending",
                "rounds",
                "answer",
                "citations",
                "usage",
                "reference_date",
            ],
            move |s, ctx| nodes::route(d.clone(), s, ctx),
        ));
        for name in ["plan", "observe"] {
            let d = deps.clone();
            g.add_node(Node::new(
                name,
                ["messages", "pending", "rounds", "answer", "usage"],
                move |s, ctx| nodes::model(d.clone(), s, ctx),
            ));
        }
        let d = deps.clone();
        g.add_node(Node::new(
            "approve",
            ["messages", "pending"],
            move |s, ctx| nodes::approve(d.clone(), s, ctx),
        ));
        let d = deps.clone();
        g.add_node(Node::new("act", ["messages", "pending"], move |s, ctx| {
            nodes::act(d.clone(), s, ctx)
        }));
        g.add_node(Node::new(
            "synthesize",
            ["answer", "citations"],
            nodes::synthesize,
        ));
        let d = deps.clone();
        // persist writes to the store only, no state key.
        g.add_node(Node::new(
            "persist",
            std::iter::empty::<&str>(),
            move |s, ctx| nodes::persist(d.clone(), s, ctx),
        ));
        let after_model = {
            let d = deps.clone();
            move |s: &PlannerState| nodes::after_model(&d, s)
        };
        g.add_edge(START, "route")
            .add_edge("route", "plan")
            .add_conditional_edge(
                "plan",
                ["approve", "act", "synthesize"],
                after_model.clone(),
            )
            .add_edge("approve", "act")
            .add_edge("act", "observe")
            .add_conditional_edge("observe", ["approve", "act", "synthesize"], after_model)
            .add_edge("synthesize", "persist")
            .add_edge("persist", END)
            .recursion_limit(4 * DEFAULT_MAX_ROUNDS + 8)
            .compact_after(64);
        let graph = g
            .compile(Arc::new(StoreCheckpointer::new(store.clone())))
            .map_err(|source| PlannerError::Graph { source })?;
        Ok(Planner { graph, store })
    }

    /// Asks `question` in thread `thread` of `org` (a new thread when
    /// `None`), sending the turn's events to `events` as they happen. Returns
    /// the thread id and how the turn ended; the last event sent is `final`,
    /// `interrupt` or `error`.
    ///
    /// Errors: [`PlannerError`] when the turn cannot start (empty question,
    /// unknown thread, store down).
    pub async fn ask(
        &self,
        org: Uuid,
        thread: Option<Uuid>,
        question: &str,
        events: &mpsc::UnboundedSender<Event>,
    ) -> Result<(Uuid, TurnOutcome), PlannerError> {
        let question = question.trim();
        if question.is_empty() {
            return Err(PlannerError::EmptyQuestion);
        }
        let (id, last_seq) = match thread {
            Some(id) => {
                let Some(conversation) = self.store.conversation(org, id).await? else {
                    return Err(PlannerError::UnknownThread { thread: id });
                };
                if self.is_paused(org, id).await {
                    return Err(PlannerError::Paused { thread: id });
                }
                (id, conversation.last_seq)
            }
            None => (Uuid::now_v7(), 0),
        };
        // The turn is accepted before anything is written: the client learns
        // the thread (and where its numbering stands) at once.
        let mut out = Emitter::new(id, last_seq, events);
        out.accepted("question accepted");
        if thread.is_none() {
            let title: String = question.chars().take(80).collect();
            self.store.ensure_conversation(org, id, &title).await?;
        }
        let input = aima_runtime::graph::Update::new().set("messages", [Message::user(question)]);
        let (options, rx) = stream_options();
        let thread_text = id.to_string();
        let run = self.graph.invoke(org, &thread_text, input, options);
        let outcome = self.drive(org, id, out, run, rx).await?;
        Ok((id, outcome))
    }

    /// Resumes thread `thread` of `org`, paused for approval, with
    /// `decision`, streaming the rest of the turn to `events`.
    ///
    /// Errors: [`PlannerError::UnknownThread`], [`PlannerError::NotPaused`].
    pub async fn resume(
        &self,
        org: Uuid,
        thread: Uuid,
        decision: Approval,
        events: &mpsc::UnboundedSender<Event>,
    ) -> Result<TurnOutcome, PlannerError> {
        let Some(conversation) = self.store.conversation(org, thread).await? else {
            return Err(PlannerError::UnknownThread { thread });
        };
        if !self.is_paused(org, thread).await {
            return Err(PlannerError::NotPaused { thread });
        }
        let mut out = Emitter::new(thread, conversation.last_seq, events);
        out.accepted("decision accepted");
        let value = serde_json::to_value(&decision).unwrap_or(Value::Null);
        let (options, rx) = stream_options();
        let thread_text = thread.to_string();
        let run = self
            .graph
            .resume(org, &thread_text, Resume::Value(value), options);
        self.drive(org, thread, out, run, rx).await
    }

    /// Drives one invoke/resume of the graph, forwarding its stream as
    /// numbered events, then sends the terminal event.
    async fn drive(
        &self,
        org: Uuid,
        thread: Uuid,
        out: Emitter,
        run: impl Future<Output = Result<RunOutcome<PlannerState>, GraphError>>,
        mut rx: mpsc::UnboundedReceiver<StreamEvent>,
    ) -> Result<TurnOutcome, PlannerError> {
        let forward = async move {
            let mut out = out;
            while let Some(event) = rx.recv().await {
                if let Some(body) = stream_body(event) {
                    out.send(body);
                }
            }
            out
        };
        let (outcome, mut out) = tokio::join!(run, forward);
        let result = match outcome {
            Ok(RunOutcome::Done { state, .. }) => {
                let answer = state.answer.unwrap_or_default();
                out.send(EventBody::Final {
                    answer: answer.clone(),
                    citations: state.citations,
                    usage: Some(state.usage),
                });
                TurnOutcome::Answered { answer }
            }
            Ok(RunOutcome::Interrupted { interrupts, .. }) => {
                let first = interrupts.first().map(|i| i.id.clone()).unwrap_or_default();
                for interrupt in interrupts {
                    let p = &interrupt.payload;
                    let text = |k: &str| p[k].as_str().unwrap_or_default().to_string();
                    out.send(EventBody::Interrupt {
                        interrupt_id: interrupt.id.clone(),
                        call_id: text("call_id"),
                        tool: text("tool"),
                        arguments: p["arguments"].clone(),
                        reason: text("reason"),
                    });
                }
                TurnOutcome::Paused {
                    interrupt_id: first,
                }
            }
            Err(e) => {
                let code = e.code().to_string();
                out.send(EventBody::Error {
                    code: code.clone(),
                    message: e.to_string(),
                    retryable: e.is_retryable(),
                });
                TurnOutcome::Failed { code }
            }
        };
        self.store
            .set_conversation_seq(org, thread, i64::try_from(out.seq).unwrap_or(i64::MAX))
            .await?;
        Ok(result)
    }

    /// Whether `thread` waits for an approval.
    async fn is_paused(&self, org: Uuid, thread: Uuid) -> bool {
        self.graph
            .get_state(org, &thread.to_string())
            .await
            .ok()
            .flatten()
            .is_some_and(|s| !s.interrupts.is_empty())
    }

    /// Deletes the saved state (checkpoints) of every thread of every
    /// organization whose last step is older than `cutoff`; their message
    /// history stays readable, but they can no longer be continued.
    /// Returns how many threads were pruned.
    ///
    /// Errors: [`PlannerError::Graph`] when the store refuses.
    pub async fn prune(&self, cutoff: chrono::DateTime<chrono::Utc>) -> Result<u64, PlannerError> {
        self.graph
            .prune(cutoff)
            .await
            .map_err(|source| PlannerError::Graph { source })
    }

    /// The conversation's state (for tests and the history API).
    pub async fn state(&self, org: Uuid, thread: Uuid) -> Option<PlannerState> {
        self.graph
            .get_state(org, &thread.to_string())
            .await
            .ok()
            .flatten()
            .map(|s| s.values)
    }
}

/// Run options streaming what the planner forwards, and the stream's receiver.
fn stream_options() -> (RunOptions, mpsc::UnboundedReceiver<StreamEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let options = RunOptions::new().stream(
        tx,
        [StreamMode::Tokens, StreamMode::Custom, StreamMode::Tasks],
    );
    (options, rx)
}

/// Numbers events and sends them.
struct Emitter {
    thread: String,
    seq: u64,
    events: mpsc::UnboundedSender<Event>,
}

impl Emitter {
    /// Numbers events of `thread` after `last_seq`.
    fn new(thread: Uuid, last_seq: i64, events: &mpsc::UnboundedSender<Event>) -> Emitter {
        Emitter {
            thread: thread.to_string(),
            seq: u64::try_from(last_seq).unwrap_or(0),
            events: events.clone(),
        }
    }

    /// The turn's first event: `step` of the pseudo-node [`TURN`], started.
    fn accepted(&mut self, detail: &str) {
        self.send(EventBody::Step {
            node: TURN.to_string(),
            status: StepStatus::Started,
            detail: Some(detail.to_string()),
        });
    }

    fn send(&mut self, body: EventBody) {
        self.seq += 1;
        // A caller that stopped listening does not stop the turn.
        let _ = self
            .events
            .send(Event::new(self.thread.clone(), self.seq, body));
    }
}

/// The protocol event for a graph stream event, if any: node tasks become
/// `step`, tokens `token`, and custom events carry protocol bodies.
fn stream_body(event: StreamEvent) -> Option<EventBody> {
    match event {
        StreamEvent::TaskStarted { node, .. } => Some(EventBody::Step {
            node,
            status: StepStatus::Started,
            detail: None,
        }),
        StreamEvent::TaskFinished {
            node,
            status,
            error,
            ..
        } => Some(EventBody::Step {
            node,
            status: StepStatus::Finished,
            detail: match status {
                TaskStatus::Done => None,
                other => Some(match error {
                    Some(e) => format!("{other:?}: {e}"),
                    None => format!("{other:?}"),
                }),
            },
        }),
        StreamEvent::Token { token, .. } => Some(EventBody::Token { text: token }),
        StreamEvent::Custom { payload, .. } => serde_json::from_value(payload).ok(),
        StreamEvent::Values { .. } | StreamEvent::Updates { .. } => None,
    }
}
