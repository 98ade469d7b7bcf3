//! AIMA-Bench: a reproducible benchmark for the planner (does it pick the
//! right tools with the right arguments and answer correctly?) and for the
//! analytics (do they recover a known truth?).
//!
//! - [`world`]: a seeded simulated shop with ground truth (latent purchase
//!   rates, dropout and spend per customer; channels, campaigns and reviews
//!   with known effects); [`export`] writes it as CSV.
//! - [`oracle`]: facts computed from the world alone (never from AIMA's
//!   code): revenue in a month, customers in a city, truly churned
//!   customers...
//! - [`task`]: the task files (JSON) and their expectations.
//! - [`score`]: the scorers (tools, number, set, contains, refuse,
//!   approval) over a task's transcript of planner events.
//! - [`load`]: the world written into a store as an organization, with the
//!   analyses run as `aima demo` runs them.
//! - [`runner`]: runs tasks against the planner (any provider) and
//!   [`report`]s pass@1, pass^k, latency, tool calls, tokens and cost.
//!
//! See `evals/README.md` for the file formats.

pub mod error;
pub mod export;
pub mod load;
pub mod oracle;
pub mod report;
pub mod runner;
pub mod score;
pub mod task;
pub mod world;

pub use error::EvalError;
