//! The scheduler actor: fires each job kind on its cron schedule and on
//! manual triggers, records every run in the jobs table (queued, then running
//! and finished by the worker that runs it), and hands it to that worker.
//!
//! A kind whose module has no [`crate::JobRunner`] yet is "waiting for its
//! module": it is not fired on schedule and a manual trigger is refused.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use aima_runtime::store::{JobStatus, Store};
use chrono::{DateTime, Utc};
use ractor::rpc::CallResult;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde::Serialize;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::jobs::{JobKind, WorkerId};
use crate::schedule::{Clock, Schedule};
use crate::slot::Slot;
use crate::worker::WorkerMsg;

/// Why the scheduler refused or could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedulerError {
    /// The job's module has not been built, so the job cannot run.
    #[error("`{kind}` cannot run yet: {module} has not been built")]
    ModuleNotBuilt {
        /// The job kind.
        kind: JobKind,
        /// The title of the module that would run it.
        module: String,
    },
    /// The job could not be recorded in the jobs table.
    #[error("the jobs table could not be updated: {message}")]
    Store {
        /// The store's error text.
        message: String,
    },
    /// The scheduler actor is down or restarting; retry.
    #[error("the scheduler is unavailable ({reason}); retry")]
    Unavailable {
        /// What is wrong.
        reason: String,
    },
    /// No answer within the call timeout.
    #[error("the scheduler did not answer within {after_ms} ms")]
    Timeout {
        /// The timeout, in milliseconds.
        after_ms: u64,
    },
}

/// Whether a schedule fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ScheduleState {
    /// It fires on schedule.
    Active,
    /// Its module has not been built; it does not fire.
    WaitingForModule {
        /// The module's title.
        module: String,
    },
}

/// One schedule as the scheduler sees it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleStatus {
    /// The job kind.
    pub kind: JobKind,
    /// Its cron pattern.
    pub pattern: String,
    /// The pattern's time zone (IANA name).
    pub time_zone: String,
    /// When it fires next (whether or not it is waiting).
    pub next_fire: Option<DateTime<Utc>>,
    /// Active or waiting for its module.
    pub state: ScheduleState,
}

/// What one due schedule did when the scheduler checked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Fired {
    /// A job was queued (and handed to its worker).
    Queued {
        /// The job kind.
        kind: JobKind,
        /// The new job's id.
        job_id: Uuid,
    },
    /// Not run: its module has not been built.
    Waiting {
        /// The job kind.
        kind: JobKind,
    },
    /// Not run: the previous run has not finished (a previous run still
    /// queued is handed to its worker again).
    StillRunning {
        /// The job kind.
        kind: JobKind,
        /// The unfinished run.
        job_id: Uuid,
    },
    /// Not run: the jobs table could not be read or written.
    StoreError {
        /// The job kind.
        kind: JobKind,
        /// The store's error text.
        message: String,
    },
}

/// Messages to the scheduler.
pub(crate) enum SchedMsg {
    /// Fire every schedule that is due at the clock's now.
    Tick(Option<RpcReplyPort<Vec<Fired>>>),
    /// Queue one job now.
    Trigger {
        kind: JobKind,
        org: Option<Uuid>,
        trigger: String,
        reply: RpcReplyPort<Result<Uuid, SchedulerError>>,
    },
    /// The schedules and their next fire times.
    List(RpcReplyPort<Vec<ScheduleStatus>>),
}

/// The scheduler actor; cloned by the supervisor for every restart.
#[derive(Clone)]
pub(crate) struct Scheduler {
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) schedules: Arc<Vec<Schedule>>,
    /// Kinds with a runner (their module is built).
    pub(crate) runnable: Arc<BTreeSet<JobKind>>,
    pub(crate) workers: Arc<BTreeMap<WorkerId, Arc<Slot<WorkerMsg>>>>,
    /// Arm a timer for the next fire time (off in tests that tick by hand).
    pub(crate) auto_tick: bool,
}

pub(crate) struct SchedState {
    next_due: Vec<Option<DateTime<Utc>>>,
    timer: Option<JoinHandle<Result<(), ractor::MessagingErr<SchedMsg>>>>,
}

impl Drop for SchedState {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.take() {
            timer.abort();
        }
    }
}

impl Scheduler {
    fn arm(&self, myself: &ActorRef<SchedMsg>, state: &mut SchedState) {
        if let Some(timer) = state.timer.take() {
            timer.abort();
        }
        if !self.auto_tick {
            return;
        }
        if let Some(next) = state.next_due.iter().flatten().min() {
            let wait = (*next - self.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO);
            state.timer = Some(myself.send_after(wait, || SchedMsg::Tick(None)));
        }
    }

    /// Queues a job of `kind` and hands it to its worker. While the worker is
    /// down the job stays queued; the worker runs it when it is back.
    async fn queue(
        &self,
        kind: JobKind,
        org: Option<Uuid>,
        trigger: &str,
    ) -> Result<Uuid, SchedulerError> {
        let id = self
            .store
            .enqueue_job(org, kind.as_str(), trigger)
            .await
            .map_err(|e| SchedulerError::Store {
                message: e.to_string(),
            })?;
        self.dispatch(kind, id, org);
        Ok(id)
    }

    /// Hands queued job `id` to its worker, if it is up (if not, the worker
    /// runs it when it is back).
    fn dispatch(&self, kind: JobKind, id: Uuid, org: Option<Uuid>) {
        if let Some(Ok(worker)) = self.workers.get(&kind.worker()).map(|s| s.get()) {
            let _ = worker.cast(WorkerMsg::RunJob {
                id,
                kind: kind.as_str().to_owned(),
                org,
            });
        }
    }

    async fn fire(&self, kind: JobKind) -> Fired {
        if !self.runnable.contains(&kind) {
            return Fired::Waiting { kind };
        }
        let unfinished = match self.store.unfinished_jobs(&[kind.as_str()]).await {
            Ok(jobs) => jobs,
            Err(e) => {
                return Fired::StoreError {
                    kind,
                    message: e.to_string(),
                };
            }
        };
        if let Some(job) = unfinished.iter().find(|j| j.organization_id.is_none()) {
            if job.status == JobStatus::Queued {
                // Still waiting (its hand-over may have been lost to a store
                // error): hand it over again; the store's claim runs it once.
                self.dispatch(kind, job.id, None);
            }
            return Fired::StillRunning {
                kind,
                job_id: job.id,
            };
        }
        match self.queue(kind, None, "schedule").await {
            Ok(job_id) => Fired::Queued { kind, job_id },
            Err(e) => Fired::StoreError {
                kind,
                message: e.to_string(),
            },
        }
    }
}

impl Actor for Scheduler {
    type Msg = SchedMsg;
    type State = SchedState;
    type Arguments = ();

    async fn pre_start(
        &self,
        myself: ActorRef<SchedMsg>,
        _args: (),
    ) -> Result<SchedState, ActorProcessingErr> {
        let now = self.clock.now();
        let mut state = SchedState {
            next_due: self.schedules.iter().map(|s| s.next_after(now)).collect(),
            timer: None,
        };
        self.arm(&myself, &mut state);
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<SchedMsg>,
        message: SchedMsg,
        state: &mut SchedState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SchedMsg::Tick(reply) => {
                let now = self.clock.now();
                let mut fired = Vec::new();
                for (schedule, due) in self.schedules.iter().zip(state.next_due.iter_mut()) {
                    if due.is_some_and(|t| t <= now) {
                        fired.push(self.fire(schedule.kind).await);
                        *due = schedule.next_after(now);
                    }
                }
                self.arm(&myself, state);
                if let Some(reply) = reply {
                    let _ = reply.send(fired);
                }
            }
            SchedMsg::Trigger {
                kind,
                org,
                trigger,
                reply,
            } => {
                let result = if self.runnable.contains(&kind) {
                    self.queue(kind, org, &trigger).await
                } else {
                    Err(SchedulerError::ModuleNotBuilt {
                        kind,
                        module: kind.worker().title().to_owned(),
                    })
                };
                let _ = reply.send(result);
            }
            SchedMsg::List(reply) => {
                let list = self
                    .schedules
                    .iter()
                    .zip(&state.next_due)
                    .map(|(s, due)| ScheduleStatus {
                        kind: s.kind,
                        pattern: s.pattern.clone(),
                        time_zone: s.time_zone.name().to_owned(),
                        next_fire: *due,
                        state: if self.runnable.contains(&s.kind) {
                            ScheduleState::Active
                        } else {
                            ScheduleState::WaitingForModule {
                                module: s.kind.worker().title().to_owned(),
                            }
                        },
                    })
                    .collect();
                let _ = reply.send(list);
            }
        }
        Ok(())
    }
}

/// Talks to the scheduler actor. Cheap to clone.
#[derive(Clone)]
pub struct SchedulerHandle {
    pub(crate) slot: Arc<Slot<SchedMsg>>,
    pub(crate) timeout: Duration,
}

impl std::fmt::Debug for SchedulerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulerHandle")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SchedulerHandle {
    async fn ask<T: Send + 'static>(
        &self,
        build: impl FnOnce(RpcReplyPort<T>) -> SchedMsg,
    ) -> Result<T, SchedulerError> {
        let actor = self
            .slot
            .get()
            .map_err(|reason| SchedulerError::Unavailable { reason })?;
        match actor.call(build, Some(self.timeout)).await {
            Ok(CallResult::Success(answer)) => Ok(answer),
            Ok(CallResult::Timeout) => Err(SchedulerError::Timeout {
                after_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            }),
            Ok(CallResult::SenderError) | Err(_) => Err(SchedulerError::Unavailable {
                reason: "the scheduler actor is restarting".to_owned(),
            }),
        }
    }

    /// Queues a run of `kind` now for `org` (`None`: system-wide, as the
    /// schedule runs it) and returns the job's id; the job is recorded before
    /// this returns and runs on its module's actor. A kind whose module is
    /// not built is [`SchedulerError::ModuleNotBuilt`].
    pub async fn trigger(&self, kind: JobKind, org: Option<Uuid>) -> Result<Uuid, SchedulerError> {
        self.ask(|reply| SchedMsg::Trigger {
            kind,
            org,
            trigger: "manual".to_owned(),
            reply,
        })
        .await?
    }

    /// Every schedule with its next fire time and whether it is active or
    /// waiting for its module.
    pub async fn schedules(&self) -> Result<Vec<ScheduleStatus>, SchedulerError> {
        self.ask(SchedMsg::List).await
    }

    /// Fires every schedule due at the scheduler clock's current time now
    /// (what the scheduler's timer does), and says what each did.
    pub async fn tick(&self) -> Result<Vec<Fired>, SchedulerError> {
        self.ask(|reply| SchedMsg::Tick(Some(reply))).await
    }
}
