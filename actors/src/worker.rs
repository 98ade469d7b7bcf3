//! The worker actor: one per module (and one for ingest, one for the planner's
//! jobs). It answers tool calls through its module's handler and runs jobs,
//! each in a task it owns: when the actor dies its tasks are aborted, so their
//! callers' reply ports drop and they hear `Unavailable` at once.
//!
//! A tool call is polled once inside the actor before it gets a task: one
//! that completes at once (no I/O to wait for) is answered there, without
//! the cost of a spawn and a cross-thread wake-up; one that has to wait
//! continues in its own task. A handler must therefore not compute for long
//! before its first `.await` (move heavy work to `spawn_blocking`), or it
//! holds up the actor's other messages while it does.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use aima_ingest::pipeline::{ImportOptions, ImportReport};
use aima_runtime::registry::{ToolContext, ToolError, ToolHandler};
use aima_runtime::store::{JobStatus, Store, StoreError};
use futures::FutureExt;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::event::RuntimeEvent;
use crate::jobs::{IMPORT_JOB_KIND, JobKind, JobRunner, Progress, WorkerId};

/// A finished import: its job id and what it wrote.
#[derive(Debug, Clone)]
pub struct ImportDone {
    /// The import's row in the jobs table.
    pub job_id: Uuid,
    /// What the import wrote.
    pub report: ImportReport,
}

/// Messages a worker answers.
pub(crate) enum WorkerMsg {
    /// Run tool `name`.
    Call {
        ctx: ToolContext,
        name: String,
        args: Value,
        reply: RpcReplyPort<Result<Value, ToolError>>,
    },
    /// Run job `id` (queued in the jobs table) if it can still be claimed.
    RunJob {
        id: Uuid,
        kind: String,
        org: Option<Uuid>,
    },
    /// Run every queued job of this worker's kinds (after a (re)start).
    Recover,
    /// Import a file (ingest worker only).
    Import {
        org: Uuid,
        path: PathBuf,
        options: Box<ImportOptions>,
        trigger: String,
        /// Where to send (rows done, rows total) as the file is read.
        progress: Option<tokio::sync::mpsc::UnboundedSender<(u64, u64)>>,
        reply: RpcReplyPort<Result<ImportDone, crate::ingest::ImportError>>,
    },
    /// A task of this actor panicked: the actor fails and is restarted.
    TaskPanicked { what: String, message: String },
}

/// The worker actor; cloned by the supervisor for every restart.
#[derive(Clone)]
pub(crate) struct Worker {
    pub(crate) id: WorkerId,
    pub(crate) tools: Option<Arc<dyn ToolHandler>>,
    pub(crate) jobs: Arc<BTreeMap<JobKind, Arc<dyn JobRunner>>>,
    pub(crate) store: Store,
    pub(crate) events: broadcast::Sender<RuntimeEvent>,
}

/// A worker's tasks: dropped (and so aborted) with the actor.
pub(crate) struct WorkerState {
    tasks: JoinSet<()>,
    /// Held here and by every task; see [`liveness`].
    alive: Alive,
}

/// Held by one incarnation of a worker (its state and each task it
/// spawned); [`TasksGone`] resolves once every copy is dropped.
#[derive(Clone)]
pub(crate) struct Alive {
    _sender: mpsc::Sender<Infallible>,
}

/// Resolves once a worker incarnation's state and all its tasks are gone.
///
/// ractor tells the supervisor that an actor failed before it drops the
/// actor's state, so the aborted tasks of a dead worker can still be running
/// (and claiming jobs) when the supervisor hears of it, and a claim already
/// sent to the database completes there even after its task is aborted. The
/// supervisor waits on this before it re-queues the dead worker's jobs, and
/// every claim runs in a task of its own that holds an [`Alive`].
pub(crate) struct TasksGone(mpsc::Receiver<Infallible>);

impl TasksGone {
    /// Waits until every [`Alive`] of this incarnation is dropped.
    pub(crate) async fn wait(mut self) {
        // Nothing is ever sent: `recv` returns `None` once all senders drop.
        let _ = self.0.recv().await;
    }
}

/// A fresh pair for one worker incarnation.
pub(crate) fn liveness() -> (Alive, TasksGone) {
    let (tx, rx) = mpsc::channel(1);
    (Alive { _sender: tx }, TasksGone(rx))
}

fn panic_text(panic: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".to_owned()
    }
}

impl Worker {
    /// Spawns `task` in the actor's task set; a panic in it is reported to
    /// the actor, which then fails (its state may be corrupt).
    fn spawn(
        &self,
        myself: &ActorRef<WorkerMsg>,
        state: &mut WorkerState,
        what: String,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        let me = myself.clone();
        let alive = state.alive.clone();
        state.tasks.spawn(async move {
            let _alive = alive;
            if let Err(panic) = AssertUnwindSafe(task).catch_unwind().await {
                let message = panic_text(panic);
                // The actor may already be gone; then so are its tasks.
                let _ = me.cast(WorkerMsg::TaskPanicked { what, message });
            }
        });
    }

    fn store_error(&self, context: String, message: String) {
        let _ = self
            .events
            .send(RuntimeEvent::StoreError { context, message });
    }

    /// Claims job `id` in a task of its own that holds `alive`. A claim sent
    /// to the store completes there even when the task that asked for it is
    /// aborted (the database finishes the statement), so it must finish
    /// before this incarnation counts as gone: the supervisor then sees the
    /// claim and re-queues the job, instead of re-queueing it first and
    /// having the stale claim take it afterwards with nobody left to run it.
    async fn claim(&self, id: Uuid, alive: &Alive) -> Result<bool, StoreError> {
        let store = self.store.clone();
        let alive = alive.clone();
        let claim = tokio::spawn(async move {
            let _alive = alive;
            store.claim_job(id).await
        });
        match claim.await {
            Ok(claimed) => claimed,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // The runtime is shutting down.
            Err(_) => Ok(false),
        }
    }

    /// Claims job `id` and runs it; records the outcome.
    async fn run_job(&self, id: Uuid, kind: String, org: Option<Uuid>, alive: &Alive) {
        match self.claim(id, alive).await {
            Ok(true) => {}
            Ok(false) => return, // already claimed, or finished
            Err(e) => {
                return self.store_error(format!("claim job {id}"), e.to_string());
            }
        }
        let _ = self.events.send(RuntimeEvent::JobStarted {
            id,
            kind: kind.clone(),
            organization_id: org,
        });
        let outcome = match kind.parse::<JobKind>() {
            Ok(k) if k.worker() == self.id => match self.jobs.get(&k) {
                Some(runner) => {
                    let events = self.events.clone();
                    let job_kind = kind.clone();
                    let progress = Progress::new(move |stage, done, total| {
                        let _ = events.send(RuntimeEvent::JobProgress {
                            id,
                            kind: job_kind.clone(),
                            organization_id: org,
                            stage: stage.to_owned(),
                            done,
                            total,
                        });
                    });
                    runner.run(k, org, progress).await.map_err(|e| e.message)
                }
                None => Err(format!(
                    "{} has not been built yet, so `{kind}` cannot run",
                    self.id.title()
                )),
            },
            _ => Err(format!(
                "the {} actor does not run `{kind}` jobs",
                self.id.title()
            )),
        };
        let error = outcome.as_ref().err().cloned();
        if let Err(e) = self.store.finish_job(id, outcome).await {
            return self.store_error(format!("finish job {id}"), e.to_string());
        }
        let _ = self.events.send(RuntimeEvent::JobFinished {
            id,
            kind,
            organization_id: org,
            status: if error.is_some() {
                JobStatus::Failed
            } else {
                JobStatus::Succeeded
            },
            error,
        });
    }

    async fn recover(&self, alive: &Alive) {
        let kinds = self.id.job_kinds();
        let jobs = match self.store.unfinished_jobs(&kinds).await {
            Ok(jobs) => jobs,
            Err(e) => {
                return self.store_error(
                    format!("list the {} actor's queued jobs", self.id.name()),
                    e.to_string(),
                );
            }
        };
        for job in jobs {
            if job.status == JobStatus::Queued {
                self.run_job(job.id, job.kind, job.organization_id, alive)
                    .await;
            }
        }
    }

    async fn import(
        &self,
        org: Uuid,
        path: PathBuf,
        options: ImportOptions,
        trigger: String,
        listener: Option<tokio::sync::mpsc::UnboundedSender<(u64, u64)>>,
    ) -> Result<ImportDone, crate::ingest::ImportError> {
        use crate::ingest::ImportError;
        let job_id = self
            .store
            .start_job(Some(org), IMPORT_JOB_KIND, &trigger)
            .await
            .map_err(|e| ImportError::Store {
                message: e.to_string(),
            })?;
        let _ = self.events.send(RuntimeEvent::JobStarted {
            id: job_id,
            kind: IMPORT_JOB_KIND.to_owned(),
            organization_id: Some(org),
        });
        let events = self.events.clone();
        let mut progress = move |rows_done, rows_total| {
            if let Some(l) = &listener {
                let _ = l.send((rows_done, rows_total));
            }
            let _ = events.send(RuntimeEvent::ImportProgress {
                job_id,
                rows_done,
                rows_total,
            });
        };
        let result =
            aima_ingest::pipeline::import(&self.store, org, &path, &options, &mut progress).await;
        let outcome = match &result {
            Ok(report) => Ok(serde_json::to_value(report).unwrap_or(Value::Null)),
            Err(e) => Err(e.to_string()),
        };
        let error = outcome.as_ref().err().cloned();
        if let Err(e) = self.store.finish_job(job_id, outcome).await {
            self.store_error(format!("finish import job {job_id}"), e.to_string());
        } else {
            let _ = self.events.send(RuntimeEvent::JobFinished {
                id: job_id,
                kind: IMPORT_JOB_KIND.to_owned(),
                organization_id: Some(org),
                status: if error.is_some() {
                    JobStatus::Failed
                } else {
                    JobStatus::Succeeded
                },
                error,
            });
        }
        result
            .map(|report| ImportDone { job_id, report })
            .map_err(|e| ImportError::Import {
                job_id,
                message: e.to_string(),
            })
    }
}

/// Runs `call` under the caller's timeout (carried by its reply port), so a
/// call nobody waits for any more does not keep running.
async fn with_timeout(
    tool: &str,
    timeout: Option<Duration>,
    call: impl Future<Output = Result<Value, ToolError>>,
) -> Result<Value, ToolError> {
    match timeout {
        Some(after) => tokio::time::timeout(after, call).await.unwrap_or_else(|_| {
            Err(ToolError::Timeout {
                tool: tool.to_owned(),
                after_ms: u64::try_from(after.as_millis()).unwrap_or(u64::MAX),
            })
        }),
        None => call.await,
    }
}

impl Actor for Worker {
    type Msg = WorkerMsg;
    type State = WorkerState;
    type Arguments = Alive;

    async fn pre_start(
        &self,
        _myself: ActorRef<WorkerMsg>,
        alive: Alive,
    ) -> Result<WorkerState, ActorProcessingErr> {
        Ok(WorkerState {
            tasks: JoinSet::new(),
            alive,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<WorkerMsg>,
        message: WorkerMsg,
        state: &mut WorkerState,
    ) -> Result<(), ActorProcessingErr> {
        // Forget finished tasks (panics were reported by the tasks themselves).
        while state.tasks.try_join_next().is_some() {}
        match message {
            WorkerMsg::Call {
                ctx,
                name,
                args,
                reply,
            } => {
                if reply.is_closed() {
                    // The caller gave up (timed out) while the call waited.
                    return Ok(());
                }
                let Some(tools) = self.tools.clone() else {
                    let _ = reply.send(Err(ToolError::Failed {
                        tool: name,
                        message: format!("the {} actor answers no tools", self.id.title()),
                    }));
                    return Ok(());
                };
                let what = format!("tool `{name}`");
                let timeout = reply.get_timeout();
                let mut call = Box::pin(async move {
                    with_timeout(&name, timeout, tools.call(&ctx, &name, args)).await
                });
                // One poll here first: a call that needs no I/O (or whose
                // I/O is already ready) answers without a task of its own,
                // which saves a spawn and a wake-up of another thread per
                // call. A call that has to wait goes on in a task, so it
                // never blocks the actor's other messages.
                let once = futures::future::poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx)));
                match AssertUnwindSafe(once).catch_unwind().await {
                    Ok(Poll::Ready(result)) => {
                        // The caller may have given up (timeout); nothing to do then.
                        let _ = reply.send(result);
                    }
                    Ok(Poll::Pending) => {
                        self.spawn(&myself, state, what, async move {
                            let _ = reply.send(call.await);
                        });
                    }
                    Err(panic) => {
                        return Err(format!("{what} panicked: {}", panic_text(panic)).into());
                    }
                }
            }
            WorkerMsg::RunJob { id, kind, org } => {
                let worker = self.clone();
                let alive = state.alive.clone();
                self.spawn(&myself, state, format!("job `{kind}` ({id})"), async move {
                    worker.run_job(id, kind, org, &alive).await;
                });
            }
            WorkerMsg::Recover => {
                let worker = self.clone();
                let alive = state.alive.clone();
                self.spawn(&myself, state, "job recovery".to_owned(), async move {
                    worker.recover(&alive).await;
                });
            }
            WorkerMsg::Import {
                org,
                path,
                options,
                trigger,
                progress,
                reply,
            } => {
                let worker = self.clone();
                let what = format!("import of {}", path.display());
                self.spawn(&myself, state, what, async move {
                    let result = worker.import(org, path, *options, trigger, progress).await;
                    let _ = reply.send(result);
                });
            }
            WorkerMsg::TaskPanicked { what, message } => {
                return Err(format!("{what} panicked: {message}").into());
            }
        }
        Ok(())
    }
}
