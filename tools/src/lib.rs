//! The JSON-schema tool surface of AIMA.
//!
//! Argument and result types for every tool (deriving `schemars::JsonSchema`),
//! and the catalog exports: OpenAI function definitions in strict mode and MCP
//! tool descriptors. This crate holds types only, no behaviour.
//!
//! Nothing is defined yet: the first tools land with the agent runtime (issue 3).
