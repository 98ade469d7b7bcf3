//! Integration tests of aima-runtime (one binary).
//!
//! Store tests run on both backends: SQLite in a temporary directory, and
//! PostgreSQL in a fresh database per test created through
//! `AIMA_TEST_DATABASE_URL` (skipped with a printed reason when it is unset,
//! failing instead when `CI=true`).

#![allow(clippy::unwrap_used, missing_docs)]

mod connectors;
mod graph;
mod harness;
mod intelligence;
mod llm;
mod llm_support;
mod registry;
mod store;
mod vectors;
