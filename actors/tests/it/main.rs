//! Integration tests of aima-actors: supervision, the scheduler, job
//! recovery, imports through the ingest actor, and the actor-hop benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod beans;
mod bench;
mod churn_models;
mod fingerprints;
mod ingest;
mod intelligence;
mod jobs;
mod planner;
mod scheduler;
mod store_jobs;
mod supervision;
mod support;
