//! The root supervisor: starts every worker and the scheduler, and restarts
//! any of them that fails or stops, with exponential backoff.
//!
//! ractor's default `handle_supervisor_evt` stops the supervisor when a child
//! exits; this one instead marks the child down (callers fail fast), waits
//! until the dead worker's tasks are gone, recovers the jobs it was running
//! (re-queued, or failed after too many crashes) and restarts it after a
//! backoff delay.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aima_runtime::store::{JobStatus, Store};
use async_trait::async_trait;
use ractor::{
    Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SpawnErr,
    SupervisionEvent,
};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::event::RuntimeEvent;
use crate::jobs::{IMPORT_JOB_KIND, WorkerId};
use crate::scheduler::{SchedMsg, Scheduler};
use crate::slot::Slot;
use crate::worker::{TasksGone, Worker, WorkerMsg, liveness};

/// The longest wait for a dead worker's aborted tasks to end before its jobs
/// are recovered anyway.
const TASKS_GONE_WAIT: Duration = Duration::from_secs(30);

/// How long to wait before restarting a failed actor.
///
/// The n-th failure in a row waits `initial * 2^(n-1)`, at most `max`; an
/// actor that stayed up for `reset_after` starts again from `initial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// Wait after a first failure (default 50 ms).
    pub initial: Duration,
    /// Longest wait (default 10 s).
    pub max: Duration,
    /// Uptime after which the failure count resets (default 30 s).
    pub reset_after: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(10),
            reset_after: Duration::from_secs(30),
        }
    }
}

impl BackoffPolicy {
    /// The wait before restarting after `failures_in_a_row` (>= 1) failures.
    pub fn delay(&self, failures_in_a_row: u32) -> Duration {
        let doublings = failures_in_a_row.saturating_sub(1).min(32);
        self.initial
            .checked_mul(1u32 << doublings.min(31))
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// The failure count after a failure of an actor that was up for
    /// `uptime`, given `previous` failures in a row.
    pub fn next_failure_count(&self, previous: u32, uptime: Duration) -> u32 {
        if uptime >= self.reset_after {
            1
        } else {
            previous.saturating_add(1)
        }
    }
}

/// Which child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Child {
    Worker(WorkerId),
    Scheduler,
}

impl Child {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Child::Worker(w) => w.name(),
            Child::Scheduler => "scheduler",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Child::Worker(w) => w.title(),
            Child::Scheduler => "scheduler",
        }
    }
}

/// A started child: its actor and, for a worker, what resolves once the
/// tasks of this incarnation are gone.
pub(crate) struct Started {
    cell: ActorCell,
    tasks_gone: Option<TasksGone>,
}

/// How to (re)start one child.
#[async_trait]
pub(crate) trait ChildSpec: Send + Sync {
    /// Spawns the child linked to `supervisor` and publishes it.
    async fn start(&self, supervisor: ActorCell) -> Result<Started, SpawnErr>;
    /// Marks it down: calls fail fast with `reason`.
    fn mark_down(&self, reason: String);
}

pub(crate) struct WorkerChild {
    pub(crate) actor: Worker,
    pub(crate) slot: Arc<Slot<WorkerMsg>>,
}

#[async_trait]
impl ChildSpec for WorkerChild {
    async fn start(&self, supervisor: ActorCell) -> Result<Started, SpawnErr> {
        let (alive, tasks_gone) = liveness();
        let (actor, _) = Actor::spawn_linked(None, self.actor.clone(), alive, supervisor).await?;
        self.slot.set_running(actor.clone());
        // Jobs queued while it was down (or by an earlier process) run now;
        // a job queued after this point is also sent to it directly, and the
        // store's claim makes sure each runs once.
        let _ = actor.cast(WorkerMsg::Recover);
        Ok(Started {
            cell: actor.get_cell(),
            tasks_gone: Some(tasks_gone),
        })
    }

    fn mark_down(&self, reason: String) {
        self.slot.set_down(reason);
    }
}

pub(crate) struct SchedulerChild {
    pub(crate) actor: Scheduler,
    pub(crate) slot: Arc<Slot<SchedMsg>>,
}

#[async_trait]
impl ChildSpec for SchedulerChild {
    async fn start(&self, supervisor: ActorCell) -> Result<Started, SpawnErr> {
        let (actor, _) = Actor::spawn_linked(None, self.actor.clone(), (), supervisor).await?;
        self.slot.set_running(actor.clone());
        Ok(Started {
            cell: actor.get_cell(),
            tasks_gone: None,
        })
    }

    fn mark_down(&self, reason: String) {
        self.slot.set_down(reason);
    }
}

/// Messages to the supervisor.
pub(crate) enum SupMsg {
    /// Restart `child` if it is still down in `generation` (sent after the
    /// backoff delay).
    Restart { child: Child, generation: u64 },
    /// Restart `child` now if it is down, skipping what is left of the delay.
    RestartNow(Child),
    /// The tasks of `child`'s incarnation that went down in `generation`
    /// (for `reason`) are gone: recover its jobs, then restart it if due.
    TasksGone {
        child: Child,
        generation: u64,
        reason: String,
    },
    /// The running actor of `child`, if any.
    Cell(Child, RpcReplyPort<Option<ActorCell>>),
    /// Stop every child, then the supervisor.
    Shutdown(RpcReplyPort<()>),
}

pub(crate) struct Supervisor {
    pub(crate) store: Store,
    pub(crate) events: broadcast::Sender<RuntimeEvent>,
    pub(crate) backoff: BackoffPolicy,
    /// A job that was running when its actor failed this many times is
    /// marked failed instead of being re-run.
    pub(crate) max_job_crashes: u32,
}

pub(crate) struct SupArgs {
    pub(crate) children: Vec<(Child, Box<dyn ChildSpec>)>,
}

struct ChildState {
    spec: Box<dyn ChildSpec>,
    cell: Option<ActorCell>,
    /// Resolves once the running incarnation's tasks are gone.
    tasks_gone: Option<TasksGone>,
    started: Instant,
    failures_in_a_row: u32,
    generation: u64,
    /// Down, and its jobs not yet recovered (its tasks may still run): a
    /// restart waits for the recovery.
    recovering: bool,
    /// A restart came due while recovering.
    restart_due: bool,
}

pub(crate) struct SupState {
    children: BTreeMap<Child, ChildState>,
    by_actor: HashMap<ActorId, Child>,
    /// Crashes per job of a worker (forgotten once the job is finished).
    job_crashes: HashMap<Uuid, (WorkerId, u32)>,
    shutting_down: bool,
}

impl Supervisor {
    /// Starts `child`, or, while its jobs are still being recovered,
    /// remembers that a restart is due.
    async fn start_child(
        &self,
        myself: &ActorRef<SupMsg>,
        state: &mut SupState,
        child: Child,
    ) -> Result<(), ActorProcessingErr> {
        let Some(entry) = state.children.get_mut(&child) else {
            return Ok(());
        };
        if entry.recovering {
            entry.restart_due = true;
            return Ok(());
        }
        match entry.spec.start(myself.get_cell()).await {
            Ok(Started { cell, tasks_gone }) => {
                state.by_actor.insert(cell.get_id(), child);
                entry.cell = Some(cell);
                entry.tasks_gone = tasks_gone;
                entry.started = Instant::now();
                if entry.failures_in_a_row > 0 {
                    let _ = self.events.send(RuntimeEvent::ActorRestarted {
                        actor: child.name().to_owned(),
                        failures_in_a_row: entry.failures_in_a_row,
                    });
                }
                Ok(())
            }
            Err(e) => {
                self.child_down(myself, state, child, format!("it failed to start: {e}"))
                    .await;
                Ok(())
            }
        }
    }

    /// `child` is gone: mark it down, schedule a restart and, once the dead
    /// incarnation's tasks are gone, recover its jobs.
    async fn child_down(
        &self,
        myself: &ActorRef<SupMsg>,
        state: &mut SupState,
        child: Child,
        reason: String,
    ) {
        let Some(entry) = state.children.get_mut(&child) else {
            return;
        };
        if let Some(cell) = entry.cell.take() {
            state.by_actor.remove(&cell.get_id());
        }
        entry.failures_in_a_row = self
            .backoff
            .next_failure_count(entry.failures_in_a_row, entry.started.elapsed());
        entry.generation += 1;
        let delay = self.backoff.delay(entry.failures_in_a_row);
        entry
            .spec
            .mark_down(format!("the {} actor is restarting", child.title()));
        let generation = entry.generation;
        let tasks_gone = entry.tasks_gone.take();
        entry.recovering = tasks_gone.is_some();
        entry.restart_due = false;
        myself.send_after(delay, move || SupMsg::Restart { child, generation });
        let _ = self.events.send(RuntimeEvent::ActorDown {
            actor: child.name().to_owned(),
            reason: reason.clone(),
            restart_in: delay,
        });
        match tasks_gone {
            // Waiting here would hold up every other child's supervision.
            Some(tasks_gone) => {
                let me = myself.clone();
                tokio::spawn(async move {
                    // Aborted tasks go at their next await; one stuck in a
                    // loop that never yields is given up on after a while.
                    let _ = tokio::time::timeout(TASKS_GONE_WAIT, tasks_gone.wait()).await;
                    let _ = me.cast(SupMsg::TasksGone {
                        child,
                        generation,
                        reason,
                    });
                });
            }
            None => {
                if let Child::Worker(worker) = child {
                    self.recover_jobs(state, worker, &reason).await;
                }
            }
        }
    }

    /// Jobs `worker` was running when it went down: re-queued to run again
    /// after the restart, or failed (imports, which cannot be re-run, and
    /// jobs that brought the actor down `max_job_crashes` times).
    async fn recover_jobs(&self, state: &mut SupState, worker: WorkerId, reason: &str) {
        let kinds = worker.job_kinds();
        let jobs = match self.store.unfinished_jobs(&kinds).await {
            Ok(jobs) => jobs,
            Err(e) => {
                let _ = self.events.send(RuntimeEvent::StoreError {
                    context: format!("recover the {} actor's jobs", worker.name()),
                    message: e.to_string(),
                });
                return;
            }
        };
        // Forget the counts of this worker's jobs that have finished since.
        state
            .job_crashes
            .retain(|id, (w, _)| *w != worker || jobs.iter().any(|j| j.id == *id));
        for job in jobs.into_iter().filter(|j| j.status == JobStatus::Running) {
            let (_, crashes) = state.job_crashes.entry(job.id).or_insert((worker, 0));
            *crashes += 1;
            let crashes = *crashes;
            let failure = if job.kind == IMPORT_JOB_KIND {
                Some(format!(
                    "the {} actor stopped during the import ({reason}); the import is one \
                     transaction, so nothing was written; run it again",
                    worker.title()
                ))
            } else if crashes >= self.max_job_crashes {
                Some(format!(
                    "the job stopped the {} actor {crashes} times; last: {reason}",
                    worker.title()
                ))
            } else {
                None
            };
            let result = match &failure {
                Some(message) => {
                    state.job_crashes.remove(&job.id);
                    self.store.finish_job(job.id, Err(message.clone())).await
                }
                None => self.store.requeue_job(job.id).await.map(|_| ()),
            };
            match result {
                Err(e) => {
                    let _ = self.events.send(RuntimeEvent::StoreError {
                        context: format!("recover job {}", job.id),
                        message: e.to_string(),
                    });
                }
                Ok(()) => {
                    if let Some(error) = failure {
                        let _ = self.events.send(RuntimeEvent::JobFinished {
                            id: job.id,
                            kind: job.kind,
                            organization_id: job.organization_id,
                            status: JobStatus::Failed,
                            error: Some(error),
                        });
                    }
                }
            }
        }
    }
}

impl Actor for Supervisor {
    type Msg = SupMsg;
    type State = SupState;
    type Arguments = SupArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<SupMsg>,
        args: SupArgs,
    ) -> Result<SupState, ActorProcessingErr> {
        let mut state = SupState {
            children: BTreeMap::new(),
            by_actor: HashMap::new(),
            job_crashes: HashMap::new(),
            shutting_down: false,
        };
        for (child, spec) in args.children {
            let Started { cell, tasks_gone } = match spec.start(myself.get_cell()).await {
                Ok(started) => started,
                Err(e) => {
                    // Do not leave the children started so far running
                    // under a supervisor that never started.
                    for started in state.children.values().filter_map(|c| c.cell.as_ref()) {
                        started.kill();
                    }
                    return Err(e.into());
                }
            };
            state.by_actor.insert(cell.get_id(), child);
            state.children.insert(
                child,
                ChildState {
                    spec,
                    cell: Some(cell),
                    tasks_gone,
                    started: Instant::now(),
                    failures_in_a_row: 0,
                    generation: 0,
                    recovering: false,
                    restart_due: false,
                },
            );
        }
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<SupMsg>,
        message: SupMsg,
        state: &mut SupState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SupMsg::Restart { child, generation } => {
                let due = state
                    .children
                    .get(&child)
                    .is_some_and(|c| c.cell.is_none() && c.generation == generation);
                if due && !state.shutting_down {
                    self.start_child(&myself, state, child).await?;
                }
            }
            SupMsg::RestartNow(child) => {
                let down = state.children.get(&child).is_some_and(|c| c.cell.is_none());
                if down && !state.shutting_down {
                    self.start_child(&myself, state, child).await?;
                }
            }
            SupMsg::TasksGone {
                child,
                generation,
                reason,
            } => {
                let current = state
                    .children
                    .get(&child)
                    .is_some_and(|c| c.recovering && c.generation == generation);
                if current && !state.shutting_down {
                    if let Child::Worker(worker) = child {
                        self.recover_jobs(state, worker, &reason).await;
                    }
                    if let Some(entry) = state.children.get_mut(&child) {
                        entry.recovering = false;
                        if std::mem::take(&mut entry.restart_due) {
                            self.start_child(&myself, state, child).await?;
                        }
                    }
                }
            }
            SupMsg::Cell(child, reply) => {
                let cell = state.children.get(&child).and_then(|c| c.cell.clone());
                let _ = reply.send(cell);
            }
            SupMsg::Shutdown(reply) => {
                state.shutting_down = true;
                for (child, entry) in &mut state.children {
                    entry
                        .spec
                        .mark_down(format!("the {} actor has shut down", child.title()));
                    entry.cell = None;
                }
                myself
                    .stop_children_and_wait(
                        Some("shutdown".to_owned()),
                        Some(Duration::from_secs(10)),
                    )
                    .await;
                let _ = reply.send(());
                myself.stop(Some("shutdown".to_owned()));
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<SupMsg>,
        event: SupervisionEvent,
        state: &mut SupState,
    ) -> Result<(), ActorProcessingErr> {
        let (cell, reason) = match event {
            SupervisionEvent::ActorFailed(cell, error) => (cell, error.to_string()),
            SupervisionEvent::ActorTerminated(cell, last_state, reason) => {
                // The last state owns the actor's tasks: dropping it aborts
                // them, so their callers hear at once.
                drop(last_state);
                (cell, reason.unwrap_or_else(|| "it stopped".to_owned()))
            }
            _ => return Ok(()),
        };
        if state.shutting_down {
            return Ok(());
        }
        let Some(child) = state.by_actor.get(&cell.get_id()).copied() else {
            return Ok(());
        };
        self.child_down(&myself, state, child, reason).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_and_resets_after_uptime() {
        let policy = BackoffPolicy {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(1),
            reset_after: Duration::from_secs(30),
        };
        let delays: Vec<u128> = (1..=7).map(|n| policy.delay(n).as_millis()).collect();
        assert_eq!(delays, vec![50, 100, 200, 400, 800, 1000, 1000]);
        assert_eq!(policy.delay(u32::MAX), Duration::from_secs(1));
        assert_eq!(policy.next_failure_count(3, Duration::from_secs(1)), 4);
        assert_eq!(policy.next_failure_count(3, Duration::from_secs(30)), 1);
        assert_eq!(policy.next_failure_count(0, Duration::ZERO), 1);
    }
}
