//! The JSON-schema tool surface of AIMA.
//!
//! Argument and result types for every tool (deriving `schemars::JsonSchema`),
//! the catalog of [`ToolSpec`]s, and its exports: OpenAI function definitions
//! in strict mode and MCP tool descriptors. This crate holds types only: tools
//! are answered by the module actors (`aima-actors`) through the registry in
//! `aima-runtime`.

pub mod spec;

pub use spec::{Effect, Module, ToolSpec};
