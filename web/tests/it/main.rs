//! The web edge through the app factory (`oneshot`), on SQLite and
//! PostgreSQL: tenancy and roles on every documented endpoint, the error
//! shape, customer paging, imports, the planner over HTTP and SSE, and the
//! OpenAPI document.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod browser;
mod session;
mod support;
mod tenancy;
mod ws;
