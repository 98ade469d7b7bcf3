//! The AIMA agent runtime.
//!
//! - [`config`]: layered configuration (defaults, config file, `AIMA_*`
//!   environment variables), unknown keys rejected.
//! - [`store`]: the repository layer over SQLite (default) and PostgreSQL
//!   (sqlx); every query is scoped by organization.
//!
//! Supervision, the tool registry, the state graph engine, LLM providers, the
//! event stream and the vector store adapters land here with issue 3.

pub mod config;
pub mod store;
