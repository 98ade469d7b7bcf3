//! Checkpoints: the delta format and the [`Checkpointer`] backends.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{CheckpointError, Update};
use crate::store::{Store, StoreError};

/// Version of the delta document written today.
pub const DELTA_VERSION: u32 = 1;

/// What a checkpoint records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeltaKind {
    /// A run's input, reduced into the state before the first superstep.
    Input,
    /// A completed superstep: its nodes' writes.
    Step,
    /// A superstep that paused on interrupts: nothing applied yet; the writes
    /// of the nodes that finished wait in `pending_writes`.
    Interrupt,
    /// A compaction: `snapshot` is the full state at this step.
    Snapshot,
}

/// One node's update within a step, in the order it was applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Write {
    /// The node that wrote it (`__input__` for a run's input).
    pub node: String,
    /// The writing task's key when it differs from `node` (a task started
    /// by [`super::SendTo`]: `"{node}#{index}"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// The update.
    pub update: Update,
}

impl Write {
    /// The key of the task that wrote it (`task`, else `node`).
    pub fn task_key(&self) -> &str {
        self.task.as_deref().unwrap_or(&self.node)
    }
}

/// One task of a superstep: a node, and the argument a [`super::SendTo`]
/// gave it. Stored as the node's name when there is no argument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TaskSpec {
    /// The node, scheduled by an edge (at most once per superstep).
    Node(String),
    /// The node with an argument, scheduled by a [`super::SendTo`] (as many
    /// times as sent).
    Send {
        /// The node.
        node: String,
        /// Its argument ([`super::NodeContext::arg`]).
        arg: Value,
    },
}

impl TaskSpec {
    /// The node it runs.
    pub fn node(&self) -> &str {
        match self {
            TaskSpec::Node(node) | TaskSpec::Send { node, .. } => node,
        }
    }

    /// Its key within a superstep whose task list holds it at `index`: the
    /// node's name, or `"{node}#{index}"` for a sent task.
    pub fn key(&self, index: usize) -> String {
        match self {
            TaskSpec::Node(node) => node.clone(),
            TaskSpec::Send { node, .. } => format!("{node}#{index}"),
        }
    }
}

/// A pending interrupt: a node paused for human input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interrupt {
    /// Stable id: `"{step}:{task}:{index}"` where `task` is the task key
    /// (the node's name, or `"{node}#{i}"` for a sent task) and `index`
    /// counts the task's `interrupt` calls (0 for the first).
    pub id: String,
    /// The node that paused.
    pub node: String,
    /// The paused task's key when it differs from `node` (see
    /// [`TaskSpec::key`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// What it asked (the node's payload).
    pub payload: Value,
}

/// The delta document of one checkpoint (the `delta` column).
///
/// Replaying a thread: start from `S::default()`; for each checkpoint in step
/// order, replace the state by `snapshot` if present, then apply `writes` in
/// order through the reducers. The last checkpoint's `next`,
/// `pending_writes`, `interrupts` and `resume` say where the thread stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// Format version ([`DELTA_VERSION`]).
    pub v: u32,
    /// What this checkpoint records.
    pub kind: DeltaKind,
    /// The full state (only for [`DeltaKind::Snapshot`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Map<String, Value>>,
    /// The updates applied at this step, in application order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<Write>,
    /// The tasks of the next superstep (empty: the thread is finished).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next: Vec<TaskSpec>,
    /// Writes of tasks of the next superstep that already finished (kept
    /// while others are interrupted; they do not run again on resume).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_writes: Vec<Write>,
    /// The interrupts the thread waits on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interrupts: Vec<Interrupt>,
    /// Resume values given so far to the tasks of the next superstep, per
    /// task key, in the order of their `interrupt` calls.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resume: BTreeMap<String, Vec<Value>>,
}

impl Delta {
    /// An empty delta of `kind`.
    pub fn new(kind: DeltaKind) -> Delta {
        Delta {
            v: DELTA_VERSION,
            kind,
            snapshot: None,
            writes: Vec::new(),
            next: Vec::new(),
            pending_writes: Vec::new(),
            interrupts: Vec::new(),
            resume: BTreeMap::new(),
        }
    }
}

/// One stored checkpoint of a thread.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Step number (0 for a thread's first checkpoint, then +1 each).
    pub step: u64,
    /// The previous step, `None` for the first (or a snapshot).
    pub parent_step: Option<u64>,
    /// What ran: the node names joined by `,`, or `__input__`,
    /// `__interrupt__`, `__snapshot__`.
    pub label: String,
    /// The delta.
    pub delta: Delta,
    /// When it was written (set by the checkpointer).
    pub created_at: DateTime<Utc>,
}

/// Where a graph's threads are persisted. Threads are keyed by
/// `(organization, thread id)`; no method reads another organization's rows.
#[async_trait]
pub trait Checkpointer: Send + Sync + 'static {
    /// Appends `checkpoint` to the thread. A step that already exists (or is
    /// not after the thread's last) is [`CheckpointError::Conflict`].
    async fn put(
        &self,
        org: Uuid,
        thread: &str,
        checkpoint: &Checkpoint,
    ) -> Result<(), CheckpointError>;

    /// The thread's checkpoints, oldest step first (empty for an unknown thread).
    async fn list(&self, org: Uuid, thread: &str) -> Result<Vec<Checkpoint>, CheckpointError>;

    /// Replaces every checkpoint with a step `<= snapshot.step` by `snapshot`.
    async fn compact(
        &self,
        org: Uuid,
        thread: &str,
        snapshot: &Checkpoint,
    ) -> Result<(), CheckpointError>;

    /// Deletes a thread; whether it existed.
    async fn delete_thread(&self, org: Uuid, thread: &str) -> Result<bool, CheckpointError>;

    /// Deletes every thread (of every organization) whose latest checkpoint
    /// was written before `cutoff`; returns how many.
    async fn prune(&self, cutoff: DateTime<Utc>) -> Result<u64, CheckpointError>;
}

/// Checkpoints in memory (lost with the process): for tests and for graphs
/// that need no persistence.
#[derive(Debug, Default)]
pub struct MemoryCheckpointer {
    threads: Mutex<HashMap<(Uuid, String), Vec<Checkpoint>>>,
}

impl MemoryCheckpointer {
    /// An empty checkpointer.
    pub fn new() -> MemoryCheckpointer {
        MemoryCheckpointer::default()
    }

    fn threads(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, String), Vec<Checkpoint>>> {
        // A panic while holding the lock cannot leave a half-written Vec
        // behind (every mutation is one push/replace), so poisoning is ignored.
        self.threads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Checkpointer for MemoryCheckpointer {
    async fn put(
        &self,
        org: Uuid,
        thread: &str,
        checkpoint: &Checkpoint,
    ) -> Result<(), CheckpointError> {
        let mut threads = self.threads();
        let list = threads.entry((org, thread.to_string())).or_default();
        if list.last().is_some_and(|last| last.step >= checkpoint.step) {
            return Err(CheckpointError::Conflict {
                thread: thread.to_string(),
                step: checkpoint.step,
            });
        }
        list.push(checkpoint.clone());
        Ok(())
    }

    async fn list(&self, org: Uuid, thread: &str) -> Result<Vec<Checkpoint>, CheckpointError> {
        Ok(self
            .threads()
            .get(&(org, thread.to_string()))
            .cloned()
            .unwrap_or_default())
    }

    async fn compact(
        &self,
        org: Uuid,
        thread: &str,
        snapshot: &Checkpoint,
    ) -> Result<(), CheckpointError> {
        let mut threads = self.threads();
        let list = threads.entry((org, thread.to_string())).or_default();
        list.retain(|c| c.step > snapshot.step);
        list.insert(0, snapshot.clone());
        Ok(())
    }

    async fn delete_thread(&self, org: Uuid, thread: &str) -> Result<bool, CheckpointError> {
        Ok(self.threads().remove(&(org, thread.to_string())).is_some())
    }

    async fn prune(&self, cutoff: DateTime<Utc>) -> Result<u64, CheckpointError> {
        let mut threads = self.threads();
        let before = threads.len();
        threads.retain(|_, list| list.last().is_some_and(|c| c.created_at >= cutoff));
        Ok((before - threads.len()) as u64)
    }
}

/// Checkpoints in the AIMA database (`graph_checkpoints`, SQLite or
/// PostgreSQL) through [`Store`]: threads survive a restart.
#[derive(Debug, Clone)]
pub struct StoreCheckpointer {
    store: Store,
}

impl StoreCheckpointer {
    /// A checkpointer over `store` (which must be migrated).
    pub fn new(store: Store) -> StoreCheckpointer {
        StoreCheckpointer { store }
    }
}

fn to_i64(thread: &str, step: u64) -> Result<i64, CheckpointError> {
    i64::try_from(step).map_err(|_| CheckpointError::Corrupt {
        thread: thread.to_string(),
        step,
        reason: "step number beyond i64".to_string(),
    })
}

fn delta_json(thread: &str, c: &Checkpoint) -> Result<Value, CheckpointError> {
    serde_json::to_value(&c.delta).map_err(|e| CheckpointError::Corrupt {
        thread: thread.to_string(),
        step: c.step,
        reason: e.to_string(),
    })
}

#[async_trait]
impl Checkpointer for StoreCheckpointer {
    async fn put(
        &self,
        org: Uuid,
        thread: &str,
        checkpoint: &Checkpoint,
    ) -> Result<(), CheckpointError> {
        let step = to_i64(thread, checkpoint.step)?;
        let parent = checkpoint
            .parent_step
            .map(|p| to_i64(thread, p))
            .transpose()?;
        let delta = delta_json(thread, checkpoint)?;
        match self
            .store
            .append_graph_checkpoint(org, thread, step, parent, &checkpoint.label, &delta)
            .await
        {
            Err(StoreError::Conflict { .. }) => Err(CheckpointError::Conflict {
                thread: thread.to_string(),
                step: checkpoint.step,
            }),
            other => Ok(other?),
        }
    }

    async fn list(&self, org: Uuid, thread: &str) -> Result<Vec<Checkpoint>, CheckpointError> {
        let rows = self.store.graph_checkpoints(org, thread).await?;
        rows.into_iter()
            .map(|row| {
                let step = u64::try_from(row.step).unwrap_or_default();
                let delta: Delta =
                    serde_json::from_value(row.delta).map_err(|e| CheckpointError::Corrupt {
                        thread: thread.to_string(),
                        step,
                        reason: e.to_string(),
                    })?;
                if delta.v > DELTA_VERSION {
                    return Err(CheckpointError::Corrupt {
                        thread: thread.to_string(),
                        step,
                        reason: format!(
                            "delta version {} is newer than this build reads ({DELTA_VERSION})",
                            delta.v
                        ),
                    });
                }
                Ok(Checkpoint {
                    step,
                    parent_step: row.parent_step.and_then(|p| u64::try_from(p).ok()),
                    label: row.node,
                    delta,
                    created_at: row.created_at,
                })
            })
            .collect()
    }

    async fn compact(
        &self,
        org: Uuid,
        thread: &str,
        snapshot: &Checkpoint,
    ) -> Result<(), CheckpointError> {
        let step = to_i64(thread, snapshot.step)?;
        let delta = delta_json(thread, snapshot)?;
        Ok(self
            .store
            .compact_graph_thread(org, thread, step, &snapshot.label, &delta)
            .await?)
    }

    async fn delete_thread(&self, org: Uuid, thread: &str) -> Result<bool, CheckpointError> {
        Ok(self.store.delete_graph_thread(org, thread).await?)
    }

    async fn prune(&self, cutoff: DateTime<Utc>) -> Result<u64, CheckpointError> {
        Ok(self.store.prune_graph_threads(cutoff).await?)
    }
}
