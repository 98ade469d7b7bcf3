//! What the actor runtime reports as it runs: actors going down and coming
//! back, jobs finishing. Subscribe with [`crate::Runtime::subscribe`].

use std::time::Duration;

use aima_runtime::store::JobStatus;
use uuid::Uuid;

/// One thing that happened in the actor runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum RuntimeEvent {
    /// A supervised actor failed or stopped; calls to it fail fast with
    /// `Unavailable` until it is back.
    ActorDown {
        /// The actor's name (`data`, `m1`, `ingest`, `scheduler`, ...).
        actor: String,
        /// Why it went down (the panic or error text, or `killed`).
        reason: String,
        /// How long the supervisor waits before restarting it.
        restart_in: Duration,
    },
    /// A supervised actor was restarted and accepts calls again.
    ActorRestarted {
        /// The actor's name.
        actor: String,
        /// Failures in a row that led to this restart (1 after a first
        /// failure; reset once an actor stays up).
        failures_in_a_row: u32,
    },
    /// A job started running (an import, or a queued job claimed by its
    /// actor).
    JobStarted {
        /// The job's id in the jobs table.
        id: Uuid,
        /// Its stored kind.
        kind: String,
        /// Its organization (`None`: system-wide).
        organization_id: Option<Uuid>,
    },
    /// An import has read `rows_done` of the file's `rows_total` data rows
    /// (reported every 10,000 rows and at the end of the read).
    ImportProgress {
        /// The import's job id.
        job_id: Uuid,
        /// Rows read so far.
        rows_done: u64,
        /// Data rows in the file.
        rows_total: u64,
    },
    /// A running job reports how far it has come: `done` of `total` units of
    /// its current `stage` (at most about 50 reports per stage).
    JobProgress {
        /// The job's id in the jobs table.
        id: Uuid,
        /// Its stored kind.
        kind: String,
        /// Its organization (`None`: system-wide).
        organization_id: Option<Uuid>,
        /// What it is doing, e.g. `fingerprint training`.
        stage: String,
        /// Units done, at most `total`.
        done: u64,
        /// Units in the stage.
        total: u64,
    },
    /// A job reached a final state (`succeeded` or `failed`).
    JobFinished {
        /// The job's id in the jobs table.
        id: Uuid,
        /// Its stored kind.
        kind: String,
        /// Its organization (`None`: system-wide).
        organization_id: Option<Uuid>,
        /// `Succeeded` or `Failed`.
        status: JobStatus,
        /// The error text of a failed job.
        error: Option<String>,
    },
    /// The store refused a write the runtime needed (the job table could not
    /// be updated); the job it concerns is left as it was.
    StoreError {
        /// What the runtime was doing.
        context: String,
        /// The store's error text.
        message: String,
    },
}
