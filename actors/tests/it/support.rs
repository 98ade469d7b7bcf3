//! Test tool handlers and job runners, and waiting for runtime events.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aima_actors::{JobFailure, JobKind, JobRunner, Progress, RuntimeEvent};
use aima_runtime::registry::{ToolContext, ToolError, ToolHandler};
use aima_runtime::store::Store;
use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

/// Tools for supervision tests:
/// - `echo`: answers its arguments and the organization;
/// - `slow`: reports that it started, then never answers;
/// - `boom`: reports that it started, then panics (on the actor's first
///   poll of the call);
/// - `late_boom`: reports that it started, yields once (so the call goes on
///   in a task of its own), then panics.
pub struct TestTools {
    pub started: mpsc::UnboundedSender<String>,
}

impl TestTools {
    pub fn new() -> (Arc<TestTools>, mpsc::UnboundedReceiver<String>) {
        let (started, rx) = mpsc::unbounded_channel();
        (Arc::new(TestTools { started }), rx)
    }
}

#[async_trait]
impl ToolHandler for TestTools {
    async fn call(&self, ctx: &ToolContext, name: &str, args: Value) -> Result<Value, ToolError> {
        match name {
            "echo" => Ok(json!({ "args": args, "org": ctx.organization_id })),
            "slow" => {
                let _ = self.started.send(name.to_owned());
                std::future::pending::<()>().await;
                unreachable!()
            }
            "boom" => {
                let _ = self.started.send(name.to_owned());
                panic!("boom: a bug in the handler");
            }
            "late_boom" => {
                let _ = self.started.send(name.to_owned());
                tokio::task::yield_now().await;
                panic!("late_boom: a bug in the handler");
            }
            other => Err(ToolError::UnknownTool {
                name: other.to_owned(),
            }),
        }
    }
}

/// What a test runner does on its n-th run (1-based).
pub enum Behaviour {
    /// Succeed with `{"run": n}`.
    Succeed,
    /// Fail with a message.
    Fail(&'static str),
    /// Panic on the first `n` runs, then succeed.
    PanicFirst(u32),
}

/// A job runner that counts its runs.
pub struct TestRunner {
    pub runs: AtomicU32,
    pub behaviour: Behaviour,
}

impl TestRunner {
    pub fn new(behaviour: Behaviour) -> Arc<TestRunner> {
        Arc::new(TestRunner {
            runs: AtomicU32::new(0),
            behaviour,
        })
    }

    pub fn runs(&self) -> u32 {
        self.runs.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl JobRunner for TestRunner {
    async fn run(
        &self,
        kind: JobKind,
        org: Option<Uuid>,
        _progress: Progress,
    ) -> Result<Value, JobFailure> {
        let n = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
        match self.behaviour {
            Behaviour::Succeed => Ok(json!({ "kind": kind.as_str(), "org": org, "run": n })),
            Behaviour::Fail(message) => Err(JobFailure {
                message: message.to_owned(),
            }),
            Behaviour::PanicFirst(k) if n <= k => panic!("job {kind} crashed on run {n}"),
            Behaviour::PanicFirst(_) => Ok(json!({ "run": n })),
        }
    }
}

/// Waits (at most 30 s, a guard against hangs) for the first event that
/// `pick` accepts, skipping others.
pub async fn wait_for<T>(
    events: &mut broadcast::Receiver<RuntimeEvent>,
    mut pick: impl FnMut(&RuntimeEvent) -> Option<T>,
) -> T {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Some(found) = pick(&event) {
                        return found;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => panic!("missed {n} events"),
                Err(broadcast::error::RecvError::Closed) => panic!("event stream closed"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("the awaited runtime event never came")
}

/// A migrated SQLite store in a temporary directory (kept alive by the
/// returned guard).
pub async fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(None, dir.path()).await.unwrap();
    store.migrate().await.unwrap();
    (store, dir)
}

pub fn ctx() -> ToolContext {
    ToolContext {
        organization_id: Uuid::now_v7(),
        thread_id: None,
    }
}
