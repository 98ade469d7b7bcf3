//! Running a compiled graph: supersteps, checkpoints, interrupts, streaming.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::builder::{END, Node, Routes, START};
use super::checkpoint::{Checkpoint, Delta, DeltaKind, Interrupt, TaskSpec, Write};
use super::state::from_map;
use super::{Checkpointer, GraphError, GraphState, NodeError, StateSchema, Update};

/// Label of a run's input checkpoint and writer name of its update.
pub const INPUT: &str = "__input__";
const INTERRUPT_LABEL: &str = "__interrupt__";
const SNAPSHOT_LABEL: &str = "__snapshot__";

/// What a run streams (choose any set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamMode {
    /// [`StreamEvent::Values`]: the full state after the input and after
    /// each completed superstep.
    Values,
    /// [`StreamEvent::Updates`]: each node's update as the node finishes.
    Updates,
    /// [`StreamEvent::Token`]: LLM tokens nodes emit.
    Tokens,
    /// [`StreamEvent::Custom`]: JSON events nodes emit.
    Custom,
    /// [`StreamEvent::TaskStarted`] and [`StreamEvent::TaskFinished`]: a
    /// node's task starting (before its first attempt) and ending.
    Tasks,
}

/// How a node's task ended ([`StreamEvent::TaskFinished`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// It returned an update.
    Done,
    /// It paused on an interrupt.
    Interrupted,
    /// It failed after its retries (the run fails).
    Failed,
}

/// One streamed event. `step` is the checkpoint step the superstep will be
/// (or was) recorded under.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The full state (JSON object).
    Values {
        /// Checkpoint step.
        step: u64,
        /// The state.
        state: Map<String, Value>,
    },
    /// A node finished with this update (applied when the superstep completes).
    Updates {
        /// Checkpoint step.
        step: u64,
        /// The node.
        node: String,
        /// Its update.
        update: Update,
    },
    /// A token from a node ([`NodeContext::emit_token`]).
    Token {
        /// Checkpoint step.
        step: u64,
        /// The node.
        node: String,
        /// The token text.
        token: String,
    },
    /// A node's task is starting (nodes whose writes are pending from an
    /// interrupted superstep do not start again).
    TaskStarted {
        /// Checkpoint step.
        step: u64,
        /// The node.
        node: String,
    },
    /// A node's task ended.
    TaskFinished {
        /// Checkpoint step.
        step: u64,
        /// The node.
        node: String,
        /// How it ended.
        status: TaskStatus,
        /// Attempts made, for a failed task.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attempts: Option<u32>,
        /// The last error, for a failed task.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A custom event from a node ([`NodeContext::emit_custom`]).
    Custom {
        /// Checkpoint step.
        step: u64,
        /// The node.
        node: String,
        /// The payload.
        payload: Value,
    },
}

#[derive(Debug)]
struct Sink {
    tx: UnboundedSender<StreamEvent>,
    modes: HashSet<StreamMode>,
}

impl Sink {
    fn wants(&self, mode: StreamMode) -> bool {
        self.modes.contains(&mode)
    }

    fn send(&self, event: StreamEvent) {
        // A receiver that went away stops listening; the run goes on.
        let _ = self.tx.send(event);
    }
}

/// Per-call options of [`CompiledGraph::invoke`] and [`CompiledGraph::resume`].
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    recursion_limit: Option<u32>,
    sink: Option<Arc<Sink>>,
}

impl RunOptions {
    /// No streaming, the graph's recursion limit.
    pub fn new() -> RunOptions {
        RunOptions::default()
    }

    /// Streams the events of `modes` to `tx` (unbounded: the run never waits
    /// for the reader; a dropped receiver is ignored).
    pub fn stream(
        mut self,
        tx: UnboundedSender<StreamEvent>,
        modes: impl IntoIterator<Item = StreamMode>,
    ) -> RunOptions {
        self.sink = Some(Arc::new(Sink {
            tx,
            modes: modes.into_iter().collect(),
        }));
        self
    }

    /// At most `limit` supersteps in this call (overrides the graph's).
    pub fn recursion_limit(mut self, limit: u32) -> RunOptions {
        self.recursion_limit = Some(limit);
        self
    }
}

/// What a node gets besides the state: who it runs for, streaming, and
/// interrupts. Cheap to clone.
#[derive(Debug, Clone)]
pub struct NodeContext {
    org: Uuid,
    thread: Arc<str>,
    node: Arc<str>,
    arg: Option<Arc<Value>>,
    step: u64,
    attempt: u32,
    resume: Arc<Vec<Value>>,
    interrupts: Arc<AtomicUsize>,
    sink: Option<Arc<Sink>>,
}

impl NodeContext {
    /// The organization the thread belongs to.
    pub fn organization_id(&self) -> Uuid {
        self.org
    }

    /// The thread id.
    pub fn thread_id(&self) -> &str {
        &self.thread
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The argument of a task started by a [`super::SendTo`] (`None` for a
    /// task scheduled by an edge).
    pub fn arg(&self) -> Option<&Value> {
        self.arg.as_deref()
    }

    /// [`NodeContext::arg`] deserialized into `T`; a missing or unfitting
    /// argument is [`NodeError::Failed`] (not retryable).
    pub fn arg_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, NodeError> {
        let arg = self.arg.as_deref().ok_or_else(|| {
            NodeError::fatal(format!("node {:?} was not sent an argument", self.node))
        })?;
        T::deserialize(arg).map_err(|e| {
            NodeError::fatal(format!(
                "node {:?}: the argument does not fit: {e}",
                self.node
            ))
        })
    }

    /// The checkpoint step this superstep is recorded under.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The attempt number (1 for the first, then per retry).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Pauses the thread for human input (LangGraph's `interrupt()`).
    ///
    /// The `n`-th call within this node's task returns the `n`-th resume
    /// value given to this node, when there is one; otherwise it returns
    /// [`NodeError::Interrupt`] carrying `payload`, which the node
    /// propagates with `?`. The run then returns
    /// [`RunOutcome::Interrupted`]; [`CompiledGraph::resume`] re-runs the
    /// node from its start, and this time the call returns the value. Code
    /// before the call therefore runs again on resume: keep side effects
    /// after it. Do not swallow the error (the pause would be lost).
    pub fn interrupt(&self, payload: impl Serialize) -> Result<Value, NodeError> {
        let index = self.interrupts.fetch_add(1, Ordering::SeqCst);
        if let Some(value) = self.resume.get(index) {
            return Ok(value.clone());
        }
        let payload = serde_json::to_value(payload)
            .unwrap_or_else(|e| Value::String(format!("unserializable interrupt payload: {e}")));
        Err(NodeError::Interrupt { payload })
    }

    /// [`NodeContext::interrupt`] with the resume value deserialized into
    /// `T` (e.g. an approval decision with edited arguments). A value that
    /// does not fit `T` is [`NodeError::Failed`] (not retryable) naming the
    /// interrupt.
    pub fn interrupt_as<T: serde::de::DeserializeOwned>(
        &self,
        payload: impl Serialize,
    ) -> Result<T, NodeError> {
        let value = self.interrupt(payload)?;
        serde_json::from_value(value).map_err(|e| {
            NodeError::fatal(format!(
                "node {:?}: the resume value does not fit: {e}",
                self.node
            ))
        })
    }

    /// Streams an LLM token ([`StreamMode::Tokens`]).
    pub fn emit_token(&self, token: impl Into<String>) {
        if let Some(sink) = &self.sink
            && sink.wants(StreamMode::Tokens)
        {
            sink.send(StreamEvent::Token {
                step: self.step,
                node: self.node.to_string(),
                token: token.into(),
            });
        }
    }

    /// Streams a custom JSON event ([`StreamMode::Custom`]); a payload that
    /// cannot be serialized is sent as its error text.
    pub fn emit_custom(&self, payload: impl Serialize) {
        if let Some(sink) = &self.sink
            && sink.wants(StreamMode::Custom)
        {
            let payload = serde_json::to_value(payload)
                .unwrap_or_else(|e| Value::String(format!("unserializable custom event: {e}")));
            sink.send(StreamEvent::Custom {
                step: self.step,
                node: self.node.to_string(),
                payload,
            });
        }
    }
}

/// How a run ended (errors aside).
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome<S> {
    /// The graph reached END on every branch.
    Done {
        /// The final state.
        state: S,
        /// The thread's last checkpoint step.
        step: u64,
    },
    /// Nodes paused for input; resume with [`CompiledGraph::resume`].
    Interrupted {
        /// The state before the paused superstep (its finished nodes' writes
        /// are kept pending, not applied).
        state: S,
        /// The interrupt checkpoint's step.
        step: u64,
        /// What the thread waits on, in task order.
        interrupts: Vec<Interrupt>,
    },
}

/// The value(s) a resume delivers.
#[derive(Debug, Clone, PartialEq)]
pub enum Resume {
    /// The value for the one pending interrupt.
    Value(Value),
    /// A value per pending interrupt id (all of them).
    ById(HashMap<String, Value>),
    /// No value: re-runs the pending superstep of a thread that has no
    /// pending interrupt (e.g. after a node failed or the process died
    /// mid-step).
    Continue,
}

/// Where a thread stands.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadState<S> {
    /// The state (pending writes not applied).
    pub values: S,
    /// The last checkpoint step.
    pub step: u64,
    /// The nodes of the next superstep's tasks, in order (a sent node once
    /// per task; empty: finished).
    pub next: Vec<String>,
    /// Pending interrupts.
    pub interrupts: Vec<Interrupt>,
    /// When the last checkpoint was written.
    pub updated_at: DateTime<Utc>,
}

pub(crate) struct Inner<S> {
    pub(crate) schema: StateSchema,
    pub(crate) nodes: Vec<Node<S>>,
    pub(crate) index: HashMap<String, usize>,
    pub(crate) routes: HashMap<String, Routes<S>>,
    pub(crate) default_state: Map<String, Value>,
    pub(crate) checkpointer: Arc<dyn Checkpointer>,
    pub(crate) recursion_limit: u32,
    pub(crate) compact_after: Option<u64>,
}

/// A checked, runnable graph. Cheap to clone; runs on different threads
/// proceed concurrently (two concurrent runs of one thread: the second to
/// write a step fails with a checkpoint conflict).
pub struct CompiledGraph<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for CompiledGraph<S> {
    fn clone(&self) -> Self {
        CompiledGraph {
            inner: self.inner.clone(),
        }
    }
}

/// A thread's position, replayed from its checkpoints.
struct Position<S> {
    state: Map<String, Value>,
    /// `state` deserialized, when already known.
    typed: Option<Arc<S>>,
    /// Checkpoints since (and including) the last snapshot.
    records: u64,
    step: Option<u64>,
    next: Vec<TaskSpec>,
    pending_writes: Vec<Write>,
    interrupts: Vec<Interrupt>,
    resume: BTreeMap<String, Vec<Value>>,
    updated_at: DateTime<Utc>,
}

/// What a node's task ended with.
enum TaskEnd {
    Done(Update),
    Interrupted(Value, usize),
    Failed(NodeError, u32),
}

impl<S: GraphState> CompiledGraph<S> {
    pub(crate) fn from_inner(inner: Inner<S>) -> CompiledGraph<S> {
        CompiledGraph {
            inner: Arc::new(inner),
        }
    }

    /// The checkpointer the graph persists through.
    pub fn checkpointer(&self) -> &Arc<dyn Checkpointer> {
        &self.inner.checkpointer
    }

    /// Starts a run on thread `(org, thread)`: `input` is reduced into the
    /// thread's state (`S::default()` for a new thread) through the
    /// reducers, recorded as checkpoint kind `input`, and the graph runs from
    /// START until every branch reaches END, a node interrupts, or an error.
    ///
    /// Errors: [`GraphError::ThreadInterrupted`] when the thread waits for a
    /// resume; [`GraphError::UnknownKey`]/[`GraphError::InvalidUpdate`] for
    /// a bad input; any run error (see [`GraphError`]).
    pub async fn invoke(
        &self,
        org: Uuid,
        thread: &str,
        input: Update,
        options: RunOptions,
    ) -> Result<RunOutcome<S>, GraphError> {
        let pos = self.load(org, thread).await?;
        if let Some(pos) = &pos
            && !pos.interrupts.is_empty()
        {
            return Err(GraphError::ThreadInterrupted {
                thread: thread.to_string(),
            });
        }
        let parent = pos.as_ref().and_then(|p| p.step);
        let records = pos.as_ref().map_or(0, |p| p.records) + 1;
        let mut state = match pos {
            Some(p) => p.state,
            None => self.inner.default_state.clone(),
        };
        self.inner.schema.apply(&mut state, INPUT, &input)?;
        let typed: S = from_map(&state)?;
        let next = self.route(START, &typed, &mut Vec::new())?;
        let step = parent.map_or(0, |s| s + 1);
        let mut delta = Delta::new(DeltaKind::Input);
        delta.writes.push(Write {
            node: INPUT.to_string(),
            task: None,
            update: input,
        });
        delta.next = next.clone();
        self.put(org, thread, step, parent, INPUT, delta).await?;
        if let Some(sink) = &options.sink
            && sink.wants(StreamMode::Values)
        {
            sink.send(StreamEvent::Values {
                step,
                state: state.clone(),
            });
        }
        let pos = Position {
            state,
            typed: Some(Arc::new(typed)),
            records,
            step: Some(step),
            next,
            pending_writes: Vec::new(),
            interrupts: Vec::new(),
            resume: BTreeMap::new(),
            updated_at: Utc::now(),
        };
        self.run_loop(org, thread, pos, &options).await
    }

    /// Continues an interrupted thread (LangGraph's `Command(resume=...)`):
    /// the resume value(s) go to the interrupted nodes, which re-run from
    /// their start and get the value from their `interrupt` call; nodes of
    /// the same superstep that had finished keep their pending writes and do
    /// not run again.
    ///
    /// Errors: [`GraphError::NothingToResume`] for an unknown or finished
    /// thread; [`GraphError::InvalidResume`] when the value(s) do not match
    /// the pending interrupts (one `Value` for exactly one interrupt,
    /// `ById` covering every pending id, `Continue` only without
    /// interrupts); any run error.
    pub async fn resume(
        &self,
        org: Uuid,
        thread: &str,
        resume: Resume,
        options: RunOptions,
    ) -> Result<RunOutcome<S>, GraphError> {
        let nothing = || GraphError::NothingToResume {
            thread: thread.to_string(),
        };
        let invalid = |reason: String| GraphError::InvalidResume {
            thread: thread.to_string(),
            reason,
        };
        let mut pos = self.load(org, thread).await?.ok_or_else(nothing)?;
        if pos.next.is_empty() {
            return Err(nothing());
        }
        let pending = std::mem::take(&mut pos.interrupts);
        match resume {
            Resume::Continue if pending.is_empty() => {}
            Resume::Continue => {
                return Err(invalid(format!(
                    "{} interrupt(s) wait for a value",
                    pending.len()
                )));
            }
            _ if pending.is_empty() => {
                return Err(invalid("no interrupt is pending".to_string()));
            }
            Resume::Value(value) => {
                let [only] = pending.as_slice() else {
                    return Err(invalid(format!(
                        "{} interrupts are pending: resume them by id",
                        pending.len()
                    )));
                };
                pos.resume
                    .entry(only.task.clone().unwrap_or_else(|| only.node.clone()))
                    .or_default()
                    .push(value);
            }
            Resume::ById(mut values) => {
                for i in &pending {
                    let value = values
                        .remove(&i.id)
                        .ok_or_else(|| invalid(format!("no value for interrupt {:?}", i.id)))?;
                    pos.resume
                        .entry(i.task.clone().unwrap_or_else(|| i.node.clone()))
                        .or_default()
                        .push(value);
                }
                if let Some(id) = values.keys().next() {
                    return Err(invalid(format!("interrupt {id:?} is not pending")));
                }
            }
        }
        self.run_loop(org, thread, pos, &options).await
    }

    /// Where thread `(org, thread)` stands, or `None` if it does not exist.
    pub async fn get_state(
        &self,
        org: Uuid,
        thread: &str,
    ) -> Result<Option<ThreadState<S>>, GraphError> {
        let Some(pos) = self.load(org, thread).await? else {
            return Ok(None);
        };
        Ok(Some(ThreadState {
            values: from_map(&pos.state)?,
            step: pos.step.unwrap_or(0),
            next: pos.next.iter().map(|t| t.node().to_string()).collect(),
            interrupts: pos.interrupts,
            updated_at: pos.updated_at,
        }))
    }

    /// Replaces the thread's checkpoints by one snapshot of its current
    /// state at its last step (pending writes, interrupts and resume values
    /// kept), so later loads replay one record instead of every step. Call
    /// it while no run is in flight on the thread. Returns whether the thread
    /// existed.
    pub async fn compact(&self, org: Uuid, thread: &str) -> Result<bool, GraphError> {
        let list = self.inner.checkpointer.list(org, thread).await?;
        let Some(pos) = self.replay(&list)? else {
            return Ok(false);
        };
        let Some(last) = list.last() else {
            return Ok(false);
        };
        let mut delta = last.delta.clone();
        delta.kind = DeltaKind::Snapshot;
        delta.snapshot = Some(pos.state);
        delta.writes.clear();
        let snapshot = Checkpoint {
            step: last.step,
            parent_step: None,
            label: SNAPSHOT_LABEL.to_string(),
            delta,
            created_at: Utc::now(),
        };
        self.inner
            .checkpointer
            .compact(org, thread, &snapshot)
            .await?;
        Ok(true)
    }

    /// Deletes thread `(org, thread)`; whether it existed.
    pub async fn delete_thread(&self, org: Uuid, thread: &str) -> Result<bool, GraphError> {
        Ok(self.inner.checkpointer.delete_thread(org, thread).await?)
    }

    /// Deletes every thread whose last checkpoint is older than `cutoff`;
    /// returns how many.
    pub async fn prune(&self, cutoff: DateTime<Utc>) -> Result<u64, GraphError> {
        Ok(self.inner.checkpointer.prune(cutoff).await?)
    }

    async fn load(&self, org: Uuid, thread: &str) -> Result<Option<Position<S>>, GraphError> {
        let list = self.inner.checkpointer.list(org, thread).await?;
        self.replay(&list)
    }

    /// Replays checkpoints through the reducers.
    fn replay(&self, list: &[Checkpoint]) -> Result<Option<Position<S>>, GraphError> {
        let Some(last) = list.last() else {
            return Ok(None);
        };
        let mut state = self.inner.default_state.clone();
        for c in list {
            if let Some(snapshot) = &c.delta.snapshot {
                state = snapshot.clone();
            }
            for w in &c.delta.writes {
                self.inner.schema.apply(&mut state, &w.node, &w.update)?;
            }
        }
        let since_snapshot = list
            .iter()
            .rev()
            .position(|c| c.delta.kind == DeltaKind::Snapshot)
            .map_or(list.len(), |i| i + 1);
        Ok(Some(Position {
            state,
            typed: None,
            records: u64::try_from(since_snapshot).unwrap_or(u64::MAX),
            step: Some(last.step),
            next: last.delta.next.clone(),
            pending_writes: last.delta.pending_writes.clone(),
            interrupts: last.delta.interrupts.clone(),
            resume: last.delta.resume.clone(),
            updated_at: last.created_at,
        }))
    }

    async fn put(
        &self,
        org: Uuid,
        thread: &str,
        step: u64,
        parent_step: Option<u64>,
        label: &str,
        delta: Delta,
    ) -> Result<(), GraphError> {
        let checkpoint = Checkpoint {
            step,
            parent_step,
            label: label.to_string(),
            delta,
            created_at: Utc::now(),
        };
        Ok(self
            .inner
            .checkpointer
            .put(org, thread, &checkpoint)
            .await?)
    }

    /// The tasks `from` leads to given `state`, appended to `out` (END
    /// dropped; a node scheduled by edges appears once, sent tasks each
    /// time). Returns a copy of `out` for convenience.
    fn route(
        &self,
        from: &str,
        state: &S,
        out: &mut Vec<TaskSpec>,
    ) -> Result<Vec<TaskSpec>, GraphError> {
        if let Some(routes) = self.inner.routes.get(from) {
            let mut chosen: Vec<TaskSpec> =
                routes.statics.iter().cloned().map(TaskSpec::Node).collect();
            if let Some(router) = &routes.router {
                for task in (router.f)(state) {
                    if !router.targets.iter().any(|t| t == task.node()) {
                        return Err(GraphError::InvalidRoute {
                            node: from.to_string(),
                            chosen: task.node().to_string(),
                        });
                    }
                    chosen.push(task);
                }
            }
            for task in chosen {
                if task.node() == END || (matches!(task, TaskSpec::Node(_)) && out.contains(&task))
                {
                    continue;
                }
                out.push(task);
            }
        }
        Ok(out.clone())
    }

    async fn run_loop(
        &self,
        org: Uuid,
        thread: &str,
        mut pos: Position<S>,
        options: &RunOptions,
    ) -> Result<RunOutcome<S>, GraphError> {
        let limit = options
            .recursion_limit
            .unwrap_or(self.inner.recursion_limit);
        let thread_arc: Arc<str> = Arc::from(thread);
        let mut supersteps = 0u32;
        loop {
            let last_step = pos.step.unwrap_or(0);
            if pos.next.is_empty() {
                if let Some(limit) = self.inner.compact_after
                    && pos.records > limit
                    && let Some(step) = pos.step
                {
                    let mut delta = Delta::new(DeltaKind::Snapshot);
                    delta.snapshot = Some(pos.state.clone());
                    let snapshot = Checkpoint {
                        step,
                        parent_step: None,
                        label: SNAPSHOT_LABEL.to_string(),
                        delta,
                        created_at: Utc::now(),
                    };
                    self.inner
                        .checkpointer
                        .compact(org, thread, &snapshot)
                        .await?;
                }
                let state = match pos.typed.take() {
                    Some(typed) => Arc::unwrap_or_clone(typed),
                    None => from_map(&pos.state)?,
                };
                return Ok(RunOutcome::Done {
                    state,
                    step: last_step,
                });
            }
            if supersteps >= limit {
                return Err(GraphError::RecursionLimit { limit });
            }
            supersteps += 1;
            let step = pos.step.map_or(0, |s| s + 1);
            let typed = match pos.typed.take() {
                Some(typed) => typed,
                None => Arc::new(from_map::<S>(&pos.state)?),
            };
            let done: HashMap<String, Update> = pos
                .pending_writes
                .iter()
                .map(|w| (w.task_key().to_string(), w.update.clone()))
                .collect();
            let mut tasks = JoinSet::new();
            let mut task_keys = HashMap::new();
            for (ti, spec) in pos.next.iter().enumerate() {
                let key = spec.key(ti);
                let name = spec.node();
                if done.contains_key(&key) {
                    continue;
                }
                let Some(&i) = self.inner.index.get(name) else {
                    // A checkpoint written by another version of the graph.
                    return Err(GraphError::StaleCheckpoint {
                        thread: thread.to_string(),
                        node: name.to_string(),
                    });
                };
                let ctx = NodeContext {
                    org,
                    thread: thread_arc.clone(),
                    node: Arc::from(name),
                    arg: match spec {
                        TaskSpec::Send { arg, .. } => Some(Arc::new(arg.clone())),
                        TaskSpec::Node(_) => None,
                    },
                    step,
                    attempt: 1,
                    resume: Arc::new(pos.resume.get(&key).cloned().unwrap_or_default()),
                    interrupts: Arc::new(AtomicUsize::new(0)),
                    sink: options.sink.clone(),
                };
                if let Some(sink) = &options.sink
                    && sink.wants(StreamMode::Tasks)
                {
                    sink.send(StreamEvent::TaskStarted {
                        step,
                        node: name.to_string(),
                    });
                }
                let inner = self.inner.clone();
                let state = typed.clone();
                let handle =
                    tasks.spawn(async move { run_node(&inner.nodes[i], state, ctx).await });
                task_keys.insert(handle.id(), (key, name.to_string()));
            }
            let mut ended: HashMap<String, TaskEnd> = HashMap::new();
            while let Some(joined) = tasks.join_next_with_id().await {
                match joined {
                    Ok((id, end)) => {
                        let (key, node) = task_keys.get(&id).cloned().unwrap_or_default();
                        if let Some(sink) = &options.sink {
                            if let TaskEnd::Done(update) = &end
                                && sink.wants(StreamMode::Updates)
                            {
                                sink.send(StreamEvent::Updates {
                                    step,
                                    node: node.clone(),
                                    update: update.clone(),
                                });
                            }
                            if sink.wants(StreamMode::Tasks) {
                                let (status, attempts, error) = match &end {
                                    TaskEnd::Done(_) => (TaskStatus::Done, None, None),
                                    TaskEnd::Interrupted(..) => {
                                        (TaskStatus::Interrupted, None, None)
                                    }
                                    TaskEnd::Failed(e, n) => {
                                        (TaskStatus::Failed, Some(*n), Some(e.to_string()))
                                    }
                                };
                                sink.send(StreamEvent::TaskFinished {
                                    step,
                                    node: node.clone(),
                                    status,
                                    attempts,
                                    error,
                                });
                            }
                        }
                        if let TaskEnd::Failed(source, attempts) = end {
                            // Dropping the JoinSet aborts the superstep's other tasks.
                            return Err(GraphError::NodeFailed {
                                node,
                                attempts,
                                source,
                            });
                        }
                        ended.insert(key, end);
                    }
                    Err(e) => {
                        let node = task_keys
                            .get(&e.id())
                            .map(|(_, node)| node.clone())
                            .unwrap_or_default();
                        let message = match e.try_into_panic() {
                            Ok(panic) => panic
                                .downcast_ref::<&str>()
                                .map(|s| s.to_string())
                                .or_else(|| panic.downcast_ref::<String>().cloned())
                                .unwrap_or_else(|| "non-text panic".to_string()),
                            Err(e) => e.to_string(),
                        };
                        return Err(GraphError::NodePanicked { node, message });
                    }
                }
            }
            let mut writes: Vec<Write> = Vec::new();
            let mut interrupts: Vec<Interrupt> = Vec::new();
            for (ti, spec) in pos.next.iter().enumerate() {
                let key = spec.key(ti);
                let name = spec.node();
                // The task key is stored only where it differs from the node.
                let task = matches!(spec, TaskSpec::Send { .. }).then(|| key.clone());
                if let Some(update) = done.get(&key) {
                    writes.push(Write {
                        node: name.to_string(),
                        task,
                        update: update.clone(),
                    });
                    continue;
                }
                match ended.remove(&key) {
                    Some(TaskEnd::Done(update)) => {
                        if let Some(&i) = self.inner.index.get(name)
                            && let Some(k) = update
                                .keys()
                                .find(|k| !self.inner.nodes[i].writes.contains(*k))
                        {
                            return Err(GraphError::UndeclaredWrite {
                                node: name.to_string(),
                                key: k.to_string(),
                            });
                        }
                        writes.push(Write {
                            node: name.to_string(),
                            task,
                            update,
                        });
                    }
                    Some(TaskEnd::Interrupted(payload, index)) => interrupts.push(Interrupt {
                        id: format!("{step}:{key}:{index}"),
                        node: name.to_string(),
                        task,
                        payload,
                    }),
                    Some(TaskEnd::Failed(source, attempts)) => {
                        return Err(GraphError::NodeFailed {
                            node: name.to_string(),
                            attempts,
                            source,
                        });
                    }
                    None => {}
                }
            }
            if !interrupts.is_empty() {
                let mut delta = Delta::new(DeltaKind::Interrupt);
                delta.next = pos.next.clone();
                delta.pending_writes = writes;
                delta.interrupts = interrupts.clone();
                delta.resume = pos.resume.clone();
                self.put(org, thread, step, pos.step, INTERRUPT_LABEL, delta)
                    .await?;
                return Ok(RunOutcome::Interrupted {
                    state: S::clone(&typed),
                    step,
                    interrupts,
                });
            }
            drop(typed);
            let mut state = std::mem::take(&mut pos.state);
            let mut replaced: HashMap<&str, &str> = HashMap::new();
            for w in &writes {
                for key in w.update.keys() {
                    if self.inner.schema.reducer_of(key).combines() {
                        continue;
                    }
                    if let Some(first) = replaced.insert(key, &w.node) {
                        return Err(GraphError::ConflictingWrites {
                            key: key.to_string(),
                            first: first.to_string(),
                            second: w.node.clone(),
                        });
                    }
                }
                self.inner.schema.apply(&mut state, &w.node, &w.update)?;
            }
            let typed: S = from_map(&state)?;
            // Each node that ran routes once, however many tasks it had.
            let mut ran: Vec<&str> = Vec::new();
            for spec in &pos.next {
                if !ran.contains(&spec.node()) {
                    ran.push(spec.node());
                }
            }
            let mut next = Vec::new();
            for name in &ran {
                self.route(name, &typed, &mut next)?;
            }
            let label = ran.join(",");
            let mut delta = Delta::new(DeltaKind::Step);
            delta.writes = writes;
            delta.next = next.clone();
            self.put(org, thread, step, pos.step, &label, delta).await?;
            if let Some(sink) = &options.sink
                && sink.wants(StreamMode::Values)
            {
                sink.send(StreamEvent::Values {
                    step,
                    state: state.clone(),
                });
            }
            pos = Position {
                state,
                typed: Some(Arc::new(typed)),
                records: pos.records + 1,
                step: Some(step),
                next,
                pending_writes: Vec::new(),
                interrupts: Vec::new(),
                resume: BTreeMap::new(),
                updated_at: Utc::now(),
            };
        }
    }
}

/// Runs one node's task: attempts with timeout and retry.
async fn run_node<S: GraphState>(node: &Node<S>, state: Arc<S>, ctx: NodeContext) -> TaskEnd {
    let mut attempt = 1u32;
    loop {
        let ctx = NodeContext {
            attempt,
            interrupts: Arc::new(AtomicUsize::new(0)),
            ..ctx.clone()
        };
        let counter = ctx.interrupts.clone();
        let fut = (node.run)(state.clone(), ctx);
        let result = match node.timeout {
            Some(t) => tokio::time::timeout(t, fut).await.unwrap_or_else(|_| {
                Err(NodeError::Timeout {
                    after_ms: u64::try_from(t.as_millis()).unwrap_or(u64::MAX),
                })
            }),
            None => fut.await,
        };
        match result {
            Ok(update) => return TaskEnd::Done(update),
            Err(NodeError::Interrupt { payload }) => {
                let index = counter.load(Ordering::SeqCst).saturating_sub(1);
                return TaskEnd::Interrupted(payload, index);
            }
            Err(e) if attempt < node.retry.max_attempts && (node.retry.retry_on)(&e) => {
                tokio::time::sleep(node.retry.backoff_after(attempt)).await;
                attempt += 1;
            }
            Err(e) => return TaskEnd::Failed(e, attempt),
        }
    }
}
