//! [`Runtime`]: starts the supervised actors and hands out what the binary
//! and the web layer use (the tool registry, the scheduler, imports, events).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use aima_runtime::registry::{Registry, ToolHandler};
use aima_runtime::store::{JobStatus, SecretKey, Store, StoreError};
use aima_tools::{Module, ToolSpec};
use chrono_tz::Tz;
use ractor::{Actor, ActorCell, ActorRef, SpawnErr};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::event::RuntimeEvent;
use crate::handler::{ActorToolHandler, NotBuilt};
use crate::ingest::IngestHandle;
use crate::jobs::{IMPORT_JOB_KIND, JobKind, JobRunner, WorkerId};
use crate::schedule::{Clock, Schedule, SystemClock};
use crate::scheduler::{SchedMsg, Scheduler, SchedulerHandle};
use crate::slot::Slot;
use crate::supervisor::{
    BackoffPolicy, Child, ChildSpec, SchedulerChild, SupArgs, SupMsg, Supervisor, WorkerChild,
};
use crate::worker::{Worker, WorkerMsg};

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// Jobs left unfinished by an earlier process could not be recovered.
    #[error("could not recover unfinished jobs: {source}")]
    Recover {
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// An actor failed to start.
    #[error("an actor failed to start: {reason}")]
    Spawn {
        /// ractor's error text.
        reason: String,
    },
}

/// What each module brings: its tool handler and its job runners. A module
/// with no tool handler answers every tool with `NotImplemented`; a job kind
/// with no runner waits for its module.
#[derive(Default, Clone)]
pub struct Handlers {
    tools: BTreeMap<Module, Arc<dyn ToolHandler>>,
    jobs: BTreeMap<JobKind, Arc<dyn JobRunner>>,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handlers")
            .field("tools", &self.tools.keys().collect::<Vec<_>>())
            .field("jobs", &self.jobs.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Handlers {
    /// No module built: every tool answers `NotImplemented`, every job waits.
    pub fn new() -> Handlers {
        Handlers::default()
    }

    /// `module`'s tools are answered by `handler` (inside `module`'s actor).
    ///
    /// The data module plugs in here once merged:
    /// `Handlers::new().with_tools(Module::Data, Arc::new(DataTools { store }))`.
    pub fn with_tools(mut self, module: Module, handler: Arc<dyn ToolHandler>) -> Handlers {
        self.tools.insert(module, handler);
        self
    }

    /// Every handler built so far over `store`: the data module's tools, the
    /// M1 and M6 tools and their jobs (features, drift, churn); M2..M5
    /// answer `NotImplemented` until their modules land.
    pub fn standard(store: Store) -> Handlers {
        let intelligence = Arc::new(crate::intelligence::IntelligenceTools::new(store.clone()));
        let mut handlers = Handlers::new()
            .with_tools(
                Module::Data,
                Arc::new(crate::data::DataTools::new(store.clone())),
            )
            .with_tools(Module::M1, intelligence.clone())
            .with_tools(Module::M6, intelligence);
        for (kind, runner) in crate::intelligence::job_runners(store) {
            handlers = handlers.with_job(kind, runner);
        }
        handlers
    }

    /// Connector syncs (`connector_sync`, see [`crate::connectors`]):
    /// credentials read with `secret`, sheet links rewritten against
    /// `sheets_export_base`.
    pub fn with_connectors(
        self,
        store: Store,
        secret: SecretKey,
        sheets_export_base: &str,
    ) -> Handlers {
        self.with_job(
            JobKind::ConnectorSync,
            crate::connectors::ConnectorSync::new(store, secret, sheets_export_base),
        )
    }

    /// Jobs of `kind` are run by `runner` (inside the actor of
    /// [`JobKind::worker`]).
    pub fn with_job(mut self, kind: JobKind, runner: Arc<dyn JobRunner>) -> Handlers {
        self.jobs.insert(kind, runner);
        self
    }
}

/// How the runtime behaves. [`RuntimeOptions::default`] is the production
/// setting.
#[derive(Clone)]
pub struct RuntimeOptions {
    /// Longest a tool call or scheduler request waits for its answer
    /// (default 30 s).
    pub call_timeout: Duration,
    /// Longest an import waits for its answer (default 1 h).
    pub import_timeout: Duration,
    /// Restart delays of failed actors.
    pub backoff: BackoffPolicy,
    /// A job running when its actor failed is re-run after the restart,
    /// until it has brought the actor down this many times; then it is
    /// marked failed (default 3).
    pub max_job_crashes: u32,
    /// The schedules (default: [`Schedule::defaults`] in UTC).
    pub schedules: Vec<Schedule>,
    /// Where the scheduler reads the time (default: the system clock).
    pub clock: Arc<dyn Clock>,
    /// Fire schedules by a timer (default true); with `false` they fire only
    /// through [`SchedulerHandle::tick`].
    pub auto_tick: bool,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            call_timeout: Duration::from_secs(30),
            import_timeout: Duration::from_secs(3600),
            backoff: BackoffPolicy::default(),
            max_job_crashes: 3,
            schedules: Schedule::defaults(Tz::UTC),
            clock: Arc::new(SystemClock),
            auto_tick: true,
        }
    }
}

impl RuntimeOptions {
    /// The same schedules (patterns unchanged) read in `time_zone` instead:
    /// `0 2 * * *` then means 02:00 there.
    pub fn with_time_zone(mut self, time_zone: Tz) -> RuntimeOptions {
        for schedule in &mut self.schedules {
            if let Ok(moved) = Schedule::new(schedule.kind, &schedule.pattern, time_zone) {
                *schedule = moved;
            }
        }
        self
    }
}

impl std::fmt::Debug for RuntimeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeOptions")
            .field("call_timeout", &self.call_timeout)
            .field("import_timeout", &self.import_timeout)
            .field("backoff", &self.backoff)
            .field("max_job_crashes", &self.max_job_crashes)
            .field("schedules", &self.schedules)
            .field("auto_tick", &self.auto_tick)
            .finish()
    }
}

/// The running actor system: a root supervisor over one actor per module,
/// the ingest actor, the planner's job actor and the scheduler.
pub struct Runtime {
    supervisor: ActorRef<SupMsg>,
    supervisor_done: Option<JoinHandle<()>>,
    tools: BTreeMap<Module, ActorToolHandler>,
    scheduler: SchedulerHandle,
    ingest: IngestHandle,
    events: broadcast::Sender<RuntimeEvent>,
    call_timeout: Duration,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

impl Runtime {
    /// Starts every actor. Jobs an earlier process left `running` are first
    /// re-queued (imports among them are marked failed: they cannot be
    /// re-run); queued jobs then run on their actors. This assumes one AIMA
    /// process per database: a second one would re-queue the first one's
    /// running jobs.
    ///
    /// Errors: [`RuntimeError::Recover`] when the jobs table cannot be read
    /// or updated, [`RuntimeError::Spawn`] when an actor does not start.
    pub async fn start(
        store: Store,
        handlers: Handlers,
        options: RuntimeOptions,
    ) -> Result<Runtime, RuntimeError> {
        let (events, _) = broadcast::channel(1024);
        recover_after_restart(&store).await?;

        let mut children: Vec<(Child, Box<dyn ChildSpec>)> = Vec::new();
        let mut slots = BTreeMap::new();
        for worker in WorkerId::all() {
            let slot = Arc::new(Slot::<WorkerMsg>::new(worker.title()));
            let tools: Option<Arc<dyn ToolHandler>> = match worker {
                WorkerId::Module(m) => Some(
                    handlers
                        .tools
                        .get(&m)
                        .cloned()
                        .unwrap_or_else(|| Arc::new(NotBuilt { module: m })),
                ),
                WorkerId::Ingest | WorkerId::Planner => None,
            };
            let jobs = handlers
                .jobs
                .iter()
                .filter(|(k, _)| k.worker() == worker)
                .map(|(k, r)| (*k, r.clone()))
                .collect();
            let actor = Worker {
                id: worker,
                tools,
                jobs: Arc::new(jobs),
                store: store.clone(),
                events: events.clone(),
            };
            children.push((
                Child::Worker(worker),
                Box::new(WorkerChild {
                    actor,
                    slot: slot.clone(),
                }),
            ));
            slots.insert(worker, slot);
        }
        let scheduler_slot = Arc::new(Slot::<SchedMsg>::new("scheduler"));
        let scheduler = Scheduler {
            store: store.clone(),
            clock: options.clock.clone(),
            schedules: Arc::new(options.schedules.clone()),
            runnable: Arc::new(handlers.jobs.keys().copied().collect::<BTreeSet<_>>()),
            workers: Arc::new(slots.clone()),
            auto_tick: options.auto_tick,
        };
        children.push((
            Child::Scheduler,
            Box::new(SchedulerChild {
                actor: scheduler,
                slot: scheduler_slot.clone(),
            }),
        ));

        let supervisor = Supervisor {
            store,
            events: events.clone(),
            backoff: options.backoff,
            max_job_crashes: options.max_job_crashes.max(1),
        };
        let (supervisor, supervisor_done) = Actor::spawn(None, supervisor, SupArgs { children })
            .await
            .map_err(|e: SpawnErr| RuntimeError::Spawn {
                reason: e.to_string(),
            })?;

        let tools = Module::ALL
            .into_iter()
            .filter_map(|m| {
                slots.get(&WorkerId::Module(m)).map(|slot| {
                    let handler = ActorToolHandler {
                        module: m,
                        slot: slot.clone(),
                        timeout: options.call_timeout,
                    };
                    (m, handler)
                })
            })
            .collect();
        let ingest = IngestHandle {
            slot: slots
                .get(&WorkerId::Ingest)
                .cloned()
                .unwrap_or_else(|| Arc::new(Slot::new("ingest"))),
            timeout: options.import_timeout,
        };
        Ok(Runtime {
            supervisor,
            supervisor_done: Some(supervisor_done),
            tools,
            scheduler: SchedulerHandle {
                slot: scheduler_slot,
                timeout: options.call_timeout,
            },
            ingest,
            events,
            call_timeout: options.call_timeout,
        })
    }

    /// The handler that forwards calls to `module`'s actor.
    pub fn tool_handler(&self, module: Module) -> Arc<dyn ToolHandler> {
        match self.tools.get(&module) {
            Some(h) => Arc::new(h.clone()),
            None => Arc::new(NotBuilt { module }),
        }
    }

    /// A registry of `specs` (the tool catalog), each tool answered by the
    /// actor of its module.
    pub fn registry(&self, specs: Vec<ToolSpec>) -> Registry {
        self.registry_with(specs, |handler| handler)
    }

    /// [`Runtime::registry`] with every module's handler passed through
    /// `wrap` first (e.g. to time the calls).
    pub fn registry_with(
        &self,
        specs: Vec<ToolSpec>,
        wrap: impl Fn(Arc<dyn ToolHandler>) -> Arc<dyn ToolHandler>,
    ) -> Registry {
        let handlers: BTreeMap<Module, Arc<dyn ToolHandler>> = Module::ALL
            .into_iter()
            .map(|m| (m, wrap(self.tool_handler(m))))
            .collect();
        let mut registry = Registry::new();
        for spec in specs {
            let handler = handlers.get(&spec.module).cloned().unwrap_or_else(|| {
                Arc::new(NotBuilt {
                    module: spec.module,
                })
            });
            registry.register(spec, handler);
        }
        registry
    }

    /// The scheduler: manual triggers and the schedules' state.
    pub fn scheduler(&self) -> SchedulerHandle {
        self.scheduler.clone()
    }

    /// File imports through the ingest actor.
    pub fn ingest(&self) -> IngestHandle {
        self.ingest.clone()
    }

    /// Actors going down and back, jobs finishing. Events sent before the
    /// subscription are not seen; a slow subscriber misses the oldest of
    /// more than 1024 unread events.
    pub fn subscribe(&self) -> broadcast::Receiver<RuntimeEvent> {
        self.events.subscribe()
    }

    /// The running actor of `worker`, if it is up (for operations and tests:
    /// `kill()` it to see supervision at work).
    pub async fn actor(&self, worker: WorkerId) -> Option<ActorCell> {
        self.ask_cell(Child::Worker(worker)).await
    }

    /// The running scheduler actor, if it is up.
    pub async fn scheduler_actor(&self) -> Option<ActorCell> {
        self.ask_cell(Child::Scheduler).await
    }

    async fn ask_cell(&self, child: Child) -> Option<ActorCell> {
        match self
            .supervisor
            .call(|reply| SupMsg::Cell(child, reply), Some(self.call_timeout))
            .await
        {
            Ok(ractor::rpc::CallResult::Success(cell)) => cell,
            _ => None,
        }
    }

    /// Restarts `worker` now if it is down, without waiting out the rest of
    /// its backoff delay. Does nothing when it is up.
    pub fn restart_now(&self, worker: WorkerId) {
        let _ = self
            .supervisor
            .cast(SupMsg::RestartNow(Child::Worker(worker)));
    }

    /// Stops every actor (calls in flight get `Unavailable`; jobs in flight
    /// stay `running` and are re-queued by the next [`Runtime::start`]) and
    /// waits for the supervisor to end.
    pub async fn shutdown(mut self) {
        let _ = self
            .supervisor
            .call(SupMsg::Shutdown, Some(Duration::from_secs(30)))
            .await;
        if let Some(done) = self.supervisor_done.take() {
            let _ = done.await;
        }
    }
}

impl Drop for Runtime {
    /// A runtime dropped without [`Runtime::shutdown`] kills its actors
    /// (ractor kills a supervisor's children with it) rather than leaving
    /// them running unreachable.
    fn drop(&mut self) {
        if self.supervisor_done.is_some() {
            self.supervisor.kill();
        }
    }
}

/// Jobs an earlier process left `running` died with it: re-queue them, or
/// fail imports (they cannot be re-run).
async fn recover_after_restart(store: &Store) -> Result<(), RuntimeError> {
    let mut kinds: Vec<&str> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
    kinds.push(IMPORT_JOB_KIND);
    let jobs = store
        .unfinished_jobs(&kinds)
        .await
        .map_err(|source| RuntimeError::Recover { source })?;
    for job in jobs.into_iter().filter(|j| j.status == JobStatus::Running) {
        let result = if job.kind == IMPORT_JOB_KIND {
            store
                .finish_job(
                    job.id,
                    Err(
                        "AIMA stopped during the import; the import is one transaction, so \
                         nothing was written; run it again"
                            .to_owned(),
                    ),
                )
                .await
        } else {
            store.requeue_job(job.id).await.map(|_| ())
        };
        result.map_err(|source| RuntimeError::Recover { source })?;
    }
    Ok(())
}
