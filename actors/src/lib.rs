//! Module actors for AIMA.
//!
//! A root supervisor (ractor) runs one actor per module ([`Module::ALL`]:
//! the data module and M1..M6), the ingest actor, the M7 planner's job actor
//! and the scheduler. A module actor answers its module's tool calls through
//! the module's [`ToolHandler`] (a module not built yet answers
//! `NotImplemented`) and runs its jobs through [`JobRunner`]s. Every call has
//! a timeout. A failed actor is restarted with exponential backoff; calls to
//! it meanwhile, and calls in flight when it died, fail at once with
//! `ToolError::Unavailable` ("... restarting; retry"). Accepted jobs are
//! recorded in the jobs table before they run and are re-run after a restart
//! (or marked failed) — never silently dropped.
//!
//! Entry point: [`Runtime::start`], then [`Runtime::registry`] for the tool
//! registry, [`Runtime::scheduler`] for triggers and schedules,
//! [`Runtime::ingest`] for imports. [`Handlers::standard`] plugs in every
//! module built so far ([`data::DataTools`]). The M7 planner
//! ([`planner::Planner`]) answers questions over that registry.
//!
//! [`Module::ALL`]: aima_tools::Module::ALL
//! [`ToolHandler`]: aima_runtime::registry::ToolHandler

pub mod connectors;
pub mod data;
mod event;
mod handler;
mod ingest;
pub mod intelligence;
mod jobs;
pub mod planner;
mod runtime;
mod schedule;
mod scheduler;
mod slot;
mod supervisor;
mod worker;

pub use event::RuntimeEvent;
pub use handler::{ActorToolHandler, NotBuilt};
pub use ingest::{ImportError, IngestHandle};
pub use jobs::{
    IMPORT_JOB_KIND, JobFailure, JobKind, JobRunner, Progress, UnknownJobKind, WorkerId,
};
pub use runtime::{Handlers, Runtime, RuntimeError, RuntimeOptions};
pub use schedule::{Clock, ManualClock, Schedule, ScheduleError, SystemClock};
pub use scheduler::{Fired, ScheduleState, ScheduleStatus, SchedulerError, SchedulerHandle};
pub use supervisor::BackoffPolicy;
pub use worker::ImportDone;
