//! `aima bench ...`: benchmarks that print their figures beside a baseline
//! measured in the same run.
//!
//! - [`import`]: the import pipeline against `sqlite3 .import` / `psql \copy`.
//! - [`agent`]: the agent runtime: a tool call through an actor against a
//!   direct call, a checkpointed graph step against a direct node call, and
//!   many concurrent planner conversations against one at a time.
//! - [`models`]: the customer-intelligence models at 100,000 customers.
//! - [`api`]: the REST API and the WebSocket chat under load from a second
//!   process.
//! - [`world`] and [`run`]: AIMA-Bench (the simulated world's export and
//!   the task runner; the work is in `aima-evals`).

pub mod agent;
pub mod api;
pub mod import;
pub mod models;
pub mod run;
pub mod world;

/// Peak resident set size of this process in MiB (Linux), if known.
pub(crate) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
