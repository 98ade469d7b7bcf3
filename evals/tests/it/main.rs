//! AIMA-Bench integration tests: the world's determinism and truth, the
//! oracle on hand-computed cases, the scorers, the shipped task files, and
//! the shipped suite on the offline provider against a floor.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod oracle;
mod runner;
mod scorers;
mod suite;
mod tasks;
mod world;
