//! The graph engine's errors.

use serde_json::Value;

use crate::store::StoreError;

/// Why a node attempt failed. Nodes return it; the engine adds
/// [`NodeError::Timeout`] and turns [`NodeError::Interrupt`] into a paused
/// thread.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NodeError {
    /// The node asked for human input ([`super::NodeContext::interrupt`]).
    /// Propagate it with `?`; it is never retried.
    #[error("interrupted: {payload}")]
    Interrupt {
        /// What the node shows the person asked (JSON).
        payload: Value,
    },
    /// The node failed.
    #[error("{message}")]
    Failed {
        /// What went wrong, for people.
        message: String,
        /// Whether another attempt may succeed (the default retry predicate
        /// retries exactly these).
        retryable: bool,
    },
    /// The attempt ran past the node's timeout.
    #[error("timed out after {after_ms} ms")]
    Timeout {
        /// The timeout, in milliseconds.
        after_ms: u64,
    },
}

impl NodeError {
    /// A failure worth retrying (e.g. an unavailable service).
    pub fn transient(message: impl Into<String>) -> NodeError {
        NodeError::Failed {
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure that another attempt would repeat (e.g. a bad argument).
    pub fn fatal(message: impl Into<String>) -> NodeError {
        NodeError::Failed {
            message: message.into(),
            retryable: false,
        }
    }
}

/// Errors of the checkpointers.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The store failed.
    #[error("checkpoint store: {source}")]
    Store {
        /// The store's error.
        #[from]
        source: StoreError,
    },
    /// A step was written out of order or concurrently: the thread's last
    /// step is not the one the writer started from.
    #[error("thread {thread:?} moved on concurrently: expected to write step {step}")]
    Conflict {
        /// The thread.
        thread: String,
        /// The step that could not be written.
        step: u64,
    },
    /// A stored checkpoint could not be read back.
    #[error("thread {thread:?} step {step}: unreadable checkpoint: {reason}")]
    Corrupt {
        /// The thread.
        thread: String,
        /// The step.
        step: u64,
        /// What was wrong.
        reason: String,
    },
}

/// Everything that can go wrong building or running a graph.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// Two nodes were added under one name, or a node used a reserved name
    /// (`__start__`, `__end__`) or an empty one.
    #[error("invalid node name {name:?}: {reason}")]
    InvalidNodeName {
        /// The name.
        name: String,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// An edge names a node that does not exist.
    #[error("edge {from:?} -> {to:?} refers to the unknown node {missing:?}")]
    UnknownNode {
        /// The edge's source.
        from: String,
        /// The edge's target.
        to: String,
        /// Which of them is missing.
        missing: String,
    },
    /// A node has both a conditional edge and another outgoing edge kind that
    /// the engine cannot combine, or two conditional edges.
    #[error("node {node:?} has more than one conditional edge")]
    DuplicateRouter {
        /// The node.
        node: String,
    },
    /// Nothing leaves START.
    #[error("the graph has no entry: add an edge from START")]
    NoEntry,
    /// A node (other than END) cannot be left: it has no outgoing edge.
    #[error("node {node:?} has no outgoing edge (add one, to END if it finishes)")]
    DeadEnd {
        /// The node.
        node: String,
    },
    /// A node declares a write to a key the state does not have, or the
    /// schema declares a reducer for one.
    #[error("{owner} refers to {key:?}, which is not a key of the state")]
    UndeclaredKey {
        /// `node "x"` or `the schema`.
        owner: String,
        /// The key.
        key: String,
    },
    /// Two nodes that can run in the same superstep both write `key`, whose
    /// reducer is `Replace`: the graph refuses to build.
    #[error(
        "nodes {first:?} and {second:?} can run in the same superstep and both write {key:?}, \
         which has no reducer: declare one (Append, Merge, Sum or Custom) in the StateSchema"
    )]
    ConflictingWrites {
        /// The key.
        key: String,
        /// One writer.
        first: String,
        /// The other writer.
        second: String,
    },
    /// The state type does not serialize to a JSON object, or a reduced
    /// state no longer deserializes into it.
    #[error("state shape: {reason}")]
    StateShape {
        /// What was wrong.
        reason: String,
    },
    /// A node's update writes a key it did not declare.
    #[error("node {node:?} wrote {key:?}, which it did not declare among its writes")]
    UndeclaredWrite {
        /// The node.
        node: String,
        /// The key.
        key: String,
    },
    /// An update names a key the state does not have.
    #[error("node {node:?} wrote the unknown state key {key:?}")]
    UnknownKey {
        /// The node (or `__input__`).
        node: String,
        /// The key.
        key: String,
    },
    /// A reducer rejected an update value.
    #[error("node {node:?} wrote an invalid value for {key:?}: {reason}")]
    InvalidUpdate {
        /// The node (or `__input__`).
        node: String,
        /// The key.
        key: String,
        /// The reducer's reason.
        reason: String,
    },
    /// A router returned a node that its edge did not declare.
    #[error("the router of {node:?} chose {chosen:?}, which is not among its declared targets")]
    InvalidRoute {
        /// The routing node.
        node: String,
        /// What it chose.
        chosen: String,
    },
    /// A run went past its superstep budget (a loop that does not end).
    #[error("recursion limit of {limit} supersteps reached without finishing")]
    RecursionLimit {
        /// The limit.
        limit: u32,
    },
    /// A node failed after its retry policy gave up.
    #[error("node {node:?} failed after {attempts} attempt(s): {source}")]
    NodeFailed {
        /// The node.
        node: String,
        /// Attempts made (>= 1).
        attempts: u32,
        /// The last attempt's error.
        source: NodeError,
    },
    /// A node's task panicked.
    #[error("node {node:?} panicked: {message}")]
    NodePanicked {
        /// The node.
        node: String,
        /// The panic message, when it was text.
        message: String,
    },
    /// `invoke` on a thread that waits for a resume.
    #[error("thread {thread:?} is interrupted: resume it instead")]
    ThreadInterrupted {
        /// The thread.
        thread: String,
    },
    /// `resume` on a thread that does not exist or has nothing to resume.
    #[error("thread {thread:?} has nothing to resume")]
    NothingToResume {
        /// The thread.
        thread: String,
    },
    /// A resume value does not match the pending interrupts.
    #[error("resume of thread {thread:?}: {reason}")]
    InvalidResume {
        /// The thread.
        thread: String,
        /// What did not match.
        reason: String,
    },
    /// The thread's checkpoint schedules a node this graph does not have (it
    /// was written by another version of the graph).
    #[error("thread {thread:?} is waiting to run node {node:?}, which this graph does not have")]
    StaleCheckpoint {
        /// The thread.
        thread: String,
        /// The missing node.
        node: String,
    },
    /// The checkpointer failed.
    #[error("{source}")]
    Checkpoint {
        /// The checkpointer's error.
        #[from]
        source: CheckpointError,
    },
}

impl GraphError {
    /// A stable machine-readable code (for the event protocol's
    /// `error.code`): `graph_invalid`, `state_shape`, `invalid_update`,
    /// `invalid_route`, `recursion_limit`, `node_timeout`, `node_failed`,
    /// `node_panicked`, `thread_interrupted`, `nothing_to_resume`,
    /// `invalid_resume`, `checkpoint_conflict` or `checkpoint`.
    pub fn code(&self) -> &'static str {
        match self {
            GraphError::InvalidNodeName { .. }
            | GraphError::UnknownNode { .. }
            | GraphError::DuplicateRouter { .. }
            | GraphError::NoEntry
            | GraphError::DeadEnd { .. }
            | GraphError::UndeclaredKey { .. }
            | GraphError::ConflictingWrites { .. } => "graph_invalid",
            GraphError::StateShape { .. } => "state_shape",
            GraphError::UndeclaredWrite { .. }
            | GraphError::UnknownKey { .. }
            | GraphError::InvalidUpdate { .. } => "invalid_update",
            GraphError::InvalidRoute { .. } => "invalid_route",
            GraphError::RecursionLimit { .. } => "recursion_limit",
            GraphError::NodeFailed {
                source: NodeError::Timeout { .. },
                ..
            } => "node_timeout",
            GraphError::NodeFailed { .. } => "node_failed",
            GraphError::NodePanicked { .. } => "node_panicked",
            GraphError::ThreadInterrupted { .. } => "thread_interrupted",
            GraphError::NothingToResume { .. } => "nothing_to_resume",
            GraphError::InvalidResume { .. } => "invalid_resume",
            GraphError::Checkpoint {
                source: CheckpointError::Conflict { .. },
            } => "checkpoint_conflict",
            GraphError::Checkpoint { .. } | GraphError::StaleCheckpoint { .. } => "checkpoint",
        }
    }

    /// Whether running the same request again may succeed: a node failure
    /// its error marks retryable (or a timeout), a checkpoint conflict, or a
    /// store failure.
    pub fn is_retryable(&self) -> bool {
        match self {
            GraphError::NodeFailed { source, .. } => matches!(
                source,
                NodeError::Failed {
                    retryable: true,
                    ..
                } | NodeError::Timeout { .. }
            ),
            GraphError::Checkpoint { source } => matches!(
                source,
                CheckpointError::Conflict { .. } | CheckpointError::Store { .. }
            ),
            _ => false,
        }
    }
}
