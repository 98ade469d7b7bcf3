//! Background jobs: what kinds exist, which actor runs each, and the
//! [`JobRunner`] a module provides to run them.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use aima_tools::Module;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The stored `kind` of an import job (run by the ingest actor, never on a
/// schedule).
pub const IMPORT_JOB_KIND: &str = "import";

/// A kind of scheduled (or manually triggered) background job: the original
/// product's six.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Pull new data from every configured connector (ingest; every 30 min).
    ConnectorSync,
    /// Recompute behavioral features (M1; every 6 h).
    Features,
    /// Score churn risk and CLV (M6; daily 02:00).
    Churn,
    /// Score new brand mentions by aspect (M4; every 15 min).
    BrandSentiment,
    /// Check segment and feature drift (M1; daily 06:00).
    Drift,
    /// Write the weekly report (M7 planner; Monday 08:00).
    WeeklyReport,
}

impl JobKind {
    /// Every kind, in order.
    pub const ALL: [JobKind; 6] = [
        JobKind::ConnectorSync,
        JobKind::Features,
        JobKind::Churn,
        JobKind::BrandSentiment,
        JobKind::Drift,
        JobKind::WeeklyReport,
    ];

    /// The stored name (`connector_sync`, `features`, ...), as in the jobs
    /// table's `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::ConnectorSync => "connector_sync",
            JobKind::Features => "features",
            JobKind::Churn => "churn",
            JobKind::BrandSentiment => "brand_sentiment",
            JobKind::Drift => "drift",
            JobKind::WeeklyReport => "weekly_report",
        }
    }

    /// The actor that runs it.
    pub fn worker(self) -> WorkerId {
        match self {
            JobKind::ConnectorSync => WorkerId::Ingest,
            JobKind::Features | JobKind::Drift => WorkerId::Module(Module::M1),
            JobKind::Churn => WorkerId::Module(Module::M6),
            JobKind::BrandSentiment => WorkerId::Module(Module::M4),
            JobKind::WeeklyReport => WorkerId::Planner,
        }
    }

    /// The default schedule: a five-field cron pattern (minute hour
    /// day-of-month month day-of-week), read in the scheduler's time zone.
    pub fn default_cron(self) -> &'static str {
        match self {
            JobKind::ConnectorSync => "*/30 * * * *",
            JobKind::Features => "0 */6 * * *",
            JobKind::Churn => "0 2 * * *",
            JobKind::BrandSentiment => "*/15 * * * *",
            JobKind::Drift => "0 6 * * *",
            JobKind::WeeklyReport => "0 8 * * MON",
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job kind name that is not one of [`JobKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown job kind {name:?} (expected one of: connector_sync, features, churn, brand_sentiment, drift, weekly_report)"
)]
pub struct UnknownJobKind {
    /// The name given.
    pub name: String,
}

impl FromStr for JobKind {
    type Err = UnknownJobKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownJobKind { name: s.to_owned() })
    }
}

/// One supervised worker actor: a module actor, the ingest actor or the
/// planner's job actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerId {
    /// The actor of an analytics module (or the data module): answers that
    /// module's tools and runs its jobs.
    Module(Module),
    /// The ingest actor: file imports and connector syncs.
    Ingest,
    /// The M7 planner's job actor (the weekly report).
    Planner,
}

impl WorkerId {
    /// Every worker, in order: the modules of [`Module::ALL`], then ingest
    /// and planner.
    pub fn all() -> impl Iterator<Item = WorkerId> {
        Module::ALL
            .into_iter()
            .map(WorkerId::Module)
            .chain([WorkerId::Ingest, WorkerId::Planner])
    }

    /// A short name for messages and actor names (`data`, `m1`, `ingest`,
    /// `planner`).
    pub fn name(self) -> &'static str {
        match self {
            WorkerId::Module(Module::Data) => "data",
            WorkerId::Module(Module::M1) => "m1",
            WorkerId::Module(Module::M2) => "m2",
            WorkerId::Module(Module::M3) => "m3",
            WorkerId::Module(Module::M4) => "m4",
            WorkerId::Module(Module::M5) => "m5",
            WorkerId::Module(Module::M6) => "m6",
            WorkerId::Ingest => "ingest",
            WorkerId::Planner => "planner",
        }
    }

    /// A human title ("M6 CLV and churn", "ingest", "M7 planner").
    pub fn title(self) -> &'static str {
        match self {
            WorkerId::Module(m) => m.title(),
            WorkerId::Ingest => "ingest",
            WorkerId::Planner => "M7 planner",
        }
    }

    /// The stored job kinds this worker runs.
    pub fn job_kinds(self) -> Vec<&'static str> {
        let mut kinds: Vec<&'static str> = JobKind::ALL
            .into_iter()
            .filter(|k| k.worker() == self)
            .map(JobKind::as_str)
            .collect();
        if self == WorkerId::Ingest {
            kinds.push(IMPORT_JOB_KIND);
        }
        kinds
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// Why a job run failed; its text is stored as the job's error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JobFailure {
    /// What went wrong, for the person reading the jobs list.
    pub message: String,
}

/// Where a long job reports how far it has come: `done` of `total` units of
/// its current `stage` (training steps, customers, ...). The runtime turns
/// each report into a [`crate::RuntimeEvent::JobProgress`]; outside the
/// runtime ([`Progress::none`]) reports go nowhere. Cheap to clone.
#[derive(Clone, Default)]
pub struct Progress {
    sink: Option<Arc<ProgressSink>>,
}

/// Receives `(stage, done, total)`.
type ProgressSink = dyn Fn(&str, u64, u64) + Send + Sync;

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Progress")
            .field("reported", &self.sink.is_some())
            .finish()
    }
}

impl Progress {
    /// Reports go nowhere.
    pub fn none() -> Progress {
        Progress::default()
    }

    /// Reports go to `sink(stage, done, total)`.
    pub fn new(sink: impl Fn(&str, u64, u64) + Send + Sync + 'static) -> Progress {
        Progress {
            sink: Some(Arc::new(sink)),
        }
    }

    /// `done` (at most `total`) of `total` units of `stage` are done.
    pub fn report(&self, stage: &str, done: u64, total: u64) {
        if let Some(sink) = &self.sink {
            sink(stage, done.min(total), total);
        }
    }

    /// Runs `step` as one unit of `stage`: 0 of 1 before, 1 of 1 after it
    /// succeeds.
    pub async fn stage<T, E>(
        &self,
        stage: &str,
        step: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        self.report(stage, 0, 1);
        let out = step.await?;
        self.report(stage, 1, 1);
        Ok(out)
    }

    /// Reports step `done` of `total` of `stage` only when it completes
    /// another 2 % (and at the first and last step), so a loop of many
    /// thousand steps sends about 50 reports.
    pub fn report_step(&self, stage: &str, done: u64, total: u64) {
        let every = (total / 50).max(1);
        if done == 0 || done >= total || done.is_multiple_of(every) {
            self.report(stage, done, total);
        }
    }
}

/// Runs jobs of one or more [`JobKind`]s; provided by a module when it is
/// built. A kind with no runner is "waiting for its module": it is not run on
/// schedule and a manual trigger of it is refused.
#[async_trait]
pub trait JobRunner: Send + Sync {
    /// Runs one job of `kind` for `org` (`None`: every organization, as the
    /// scheduler's runs are), reporting how far it has come to `progress`.
    /// `Ok(details)` is stored with the job.
    async fn run(
        &self,
        kind: JobKind,
        org: Option<Uuid>,
        progress: Progress,
    ) -> Result<Value, JobFailure>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_belong_to_one_worker() {
        for kind in JobKind::ALL {
            assert_eq!(kind.as_str().parse::<JobKind>(), Ok(kind));
            assert!(kind.worker().job_kinds().contains(&kind.as_str()));
        }
        assert!("segments".parse::<JobKind>().is_err());
        assert_eq!(
            WorkerId::Module(Module::M1).job_kinds(),
            vec!["features", "drift"]
        );
        assert_eq!(
            WorkerId::Ingest.job_kinds(),
            vec!["connector_sync", IMPORT_JOB_KIND]
        );
        assert!(WorkerId::Module(Module::Data).job_kinds().is_empty());
        assert_eq!(WorkerId::all().count(), 9);
    }
}
