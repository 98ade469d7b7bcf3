//! The state graph engine: typed state with per-key reducers, nodes, static
//! and conditional edges, parallel fan-out, retries and timeouts,
//! checkpointed threads, interrupts for human approval, and streaming.
//! Modeled on LangGraph's semantics; generic (no planner logic here).
//!
//! # Building
//!
//! The state `S` is a struct (`Serialize + DeserializeOwned + Clone +
//! Default`, see [`GraphState`]) serialized to a JSON object whose fields are
//! the state's keys. A [`StateSchema`] gives each key a [`Reducer`]:
//! `Replace` (the default), `Append` (lists), `Merge` (maps, shallow), `Sum`
//! (numbers) or `Custom` (a pure closure). Nodes ([`Node::new`]) are async
//! functions from `(Arc<S>, NodeContext)` to a partial [`Update`]; each node
//! declares the keys it may write. Edges: [`StateGraph::add_edge`] (static;
//! several from one node fan out), [`StateGraph::add_conditional_edge`] (a
//! router picks one declared target), [`StateGraph::add_fanout_edge`] (a
//! router picks any subset), [`StateGraph::add_send_edge`] (a router returns
//! [`SendTo`] tasks: one node run several times in one superstep, each task
//! with its own argument, LangGraph's `Send` for map-reduce), from [`START`]
//! and to [`END`].
//!
//! [`StateGraph::compile`] refuses a graph where two nodes that can run in
//! the same superstep both declare a write to a key whose reducer is
//! `Replace` ([`GraphError::ConflictingWrites`] naming the key and both
//! nodes). "Can run together" is a conservative fixpoint over the edges
//! (the targets of one single-choice conditional edge are alternatives;
//! everything else that may fire in one superstep counts as concurrent; a
//! send edge's target runs beside itself, so every key it writes needs a
//! combining reducer).
//! At run time an update may only contain keys its node declared.
//!
//! ```
//! use std::sync::Arc;
//! use aima_runtime::graph::*;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Clone, Default, Serialize, Deserialize)]
//! struct Chat {
//!     messages: Vec<String>,
//!     calls: i64,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), GraphError> {
//! let schema = StateSchema::new()
//!     .reducer("messages", Reducer::Append)
//!     .reducer("calls", Reducer::Sum);
//! let mut g = StateGraph::<Chat>::new(schema);
//! g.add_node(Node::new("echo", ["messages", "calls"], |s: Arc<Chat>, _ctx| async move {
//!     let last = s.messages.last().cloned().unwrap_or_default();
//!     Ok(Update::new().set("messages", [format!("echo: {last}")]).set("calls", 1))
//! }))
//! .add_edge(START, "echo")
//! .add_edge("echo", END);
//! let graph = g.compile(Arc::new(MemoryCheckpointer::new()))?;
//! let org = uuid::Uuid::now_v7();
//! let input = Update::new().set("messages", ["hi"]);
//! let RunOutcome::Done { state, .. } = graph.invoke(org, "thread-1", input, RunOptions::new()).await?
//! else {
//!     unreachable!("no node interrupts")
//! };
//! assert_eq!(state.messages, ["hi", "echo: hi"]);
//! assert_eq!(state.calls, 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Running: supersteps (Pregel / bulk-synchronous)
//!
//! [`CompiledGraph::invoke`] reduces the input into the thread's state
//! (`S::default()` for a new thread) and evaluates START's edges. Then, per
//! superstep: every scheduled task runs concurrently (each in its own tokio
//! task) on the same snapshot of the state; when all have finished, their
//! updates are applied through the reducers in the order the tasks were
//! scheduled; then the edges of every node that ran are evaluated once on
//! the new state and their targets (a node scheduled by edges once, END
//! dropped; sent tasks each time) form the next superstep. The run ends when no node is scheduled. Each `invoke`/`resume`
//! call may run at most `recursion_limit` supersteps (default 25; past it:
//! [`GraphError::RecursionLimit`], the thread keeps its last checkpoint).
//!
//! A node attempt may be bounded by a timeout ([`NodeError::Timeout`]) and
//! retried under its [`RetryPolicy`] (attempts, exponential backoff, which
//! errors). A node that still fails fails the run
//! ([`GraphError::NodeFailed`]) at once: the superstep's other tasks are
//! cancelled, nothing of that superstep is recorded, and
//! `resume(.., Resume::Continue)` re-runs the whole superstep. A new
//! `invoke` on such a thread drops the pending superstep and starts again
//! from START with its input. Dropping a run's future cancels it the same
//! way (its node tasks are aborted; the thread keeps its last checkpoint).
//!
//! Routers (conditional edges) read the state after the whole superstep has
//! been merged, not only their own node's update.
//!
//! # Checkpoints (delta format)
//!
//! A [`Checkpointer`] ([`MemoryCheckpointer`], or [`StoreCheckpointer`]
//! over SQLite/PostgreSQL) stores threads keyed by `(organization, thread
//! id)`, one record per step, numbered 0, 1, 2, ...; the record is a
//! [`Delta`] JSON document, never a copy of the state:
//!
//! ```json
//! {"v": 1, "kind": "step",
//!  "writes": [{"node": "a", "update": {"log": ["a"]}}, {"node": "b", "update": {"n": 2}}],
//!  "next": ["c"]}
//! ```
//!
//! - `input`: a run's input (`writes` = `[{"node": "__input__", ...}]`),
//!   `next` = START's targets;
//! - `next` lists tasks: a node's name, or `{"node": ..., "arg": ...}` for a
//!   sent task; a sent task's entries in `writes`, `pending_writes`,
//!   `interrupts` carry its key `"task": "{node}#{index in next}"`, and
//!   `resume` is keyed by task key (the node's name for other tasks);
//! - `step`: a completed superstep's updates in application order and the
//!   next superstep's nodes (empty or absent: finished);
//! - `interrupt`: a superstep that paused: nothing applied; `next` repeats
//!   its nodes, `pending_writes` holds the updates of those that finished,
//!   `interrupts` what the others asked, `resume` the resume values given so
//!   far per node;
//! - `snapshot`: written by [`CompiledGraph::compact`] (or automatically at
//!   the end of a run, see [`StateGraph::compact_after`]), which replaces all
//!   records up to the thread's last step by one record carrying the full
//!   state (`snapshot`) and the last record's position.
//!
//! The row's `step` is the record's number (an interrupted superstep takes
//! one number for its `interrupt` record and another when it completes);
//! `parent_step` the previous record's; `node` a label (`__input__`, the
//! superstep's nodes joined by `,`, `__interrupt__`, `__snapshot__`).
//! Appending a step that exists fails ([`CheckpointError::Conflict`]): two
//! concurrent runs of one thread cannot interleave their records.
//!
//! Loading a thread replays the records through the reducers (so custom
//! reducers must be deterministic). Threads resume after a process restart.
//! Storage is bounded two ways: [`CompiledGraph::prune`] deletes whole
//! threads whose last record is older than a cutoff, and compaction folds a
//! thread's history into one snapshot (later steps are appended as deltas
//! again).
//!
//! # Interrupts and resume
//!
//! A node calls [`NodeContext::interrupt`]`(payload)?`. The first time, the
//! call fails with [`NodeError::Interrupt`]; when the superstep's other
//! nodes have finished, the run records an `interrupt` checkpoint and
//! returns [`RunOutcome::Interrupted`] with each [`Interrupt`]'s `id`, node
//! and payload. [`CompiledGraph::resume`] with [`Resume::Value`] (or
//! [`Resume::ById`] when several are pending) re-runs the interrupted nodes
//! from their start; this time their `n`-th `interrupt` call returns the
//! `n`-th resume value. Finished nodes of that superstep do not run again.
//! Resume values are persisted only with the next checkpoint: a crash in
//! between leaves the thread interrupted, to be resumed again.
//!
//! # Streaming
//!
//! [`RunOptions::stream`] sends [`StreamEvent`]s of the chosen
//! [`StreamMode`]s to a tokio channel: `Updates` (each node's update when it
//! finishes), `Values` (the full state after the input and each completed
//! superstep), `Tokens` ([`NodeContext::emit_token`]), `Custom`
//! ([`NodeContext::emit_custom`]) and `Tasks` (each node's task starting and
//! ending, with its status).
//!
//! # Not built
//!
//! Subgraphs, static breakpoints (`interrupt_before`/`after`), and time
//! travel (forking from an older checkpoint) are not built.

mod builder;
mod checkpoint;
mod error;
mod run;
mod state;

pub use builder::{
    DEFAULT_RECURSION_LIMIT, END, Node, NodeFuture, NodeHandler, RetryPolicy, START, SendTo,
    StateGraph,
};
pub use checkpoint::{
    Checkpoint, Checkpointer, DELTA_VERSION, Delta, DeltaKind, Interrupt, MemoryCheckpointer,
    StoreCheckpointer, TaskSpec, Write,
};
pub use error::{CheckpointError, GraphError, NodeError};
pub use run::{
    CompiledGraph, INPUT, NodeContext, Resume, RunOptions, RunOutcome, StreamEvent, StreamMode,
    TaskStatus, ThreadState,
};
pub use state::{GraphState, Reducer, ReducerFn, StateSchema, Update};
