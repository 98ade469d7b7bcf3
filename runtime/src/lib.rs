//! The AIMA agent runtime.
//!
//! - [`config`]: layered configuration (defaults, config file, `AIMA_*`
//!   environment variables), unknown keys rejected.
//! - [`store`]: the repository layer over SQLite (default) and PostgreSQL
//!   (sqlx); every query is scoped by organization.
//!
//! - [`registry`]: the tool registry (catalog + handlers, arguments validated
//!   against each tool's input schema before dispatch).
//! - [`events`]: the versioned event protocol every client consumes.
//! - [`geo`]: country names and ISO codes.
//! - [`graph`]: the state graph engine (reducers, supersteps, checkpointed
//!   threads, interrupts, streaming).
//! - [`llm`]: the LLM provider trait and its two providers, `offline`
//!   (deterministic, no network) and `openai` (any OpenAI-compatible endpoint).
//!
//! The vector store itself is the `aima-vectors` crate (embedded Qdrant Edge,
//! or a Qdrant server when `qdrant_url` is set); [`store`] attaches it ([`store::Store::with_vector_index`]) and keeps it in
//! step with the fingerprints table.

pub mod config;
pub mod events;
pub mod geo;
pub mod graph;
pub mod llm;
pub mod registry;
pub mod store;
