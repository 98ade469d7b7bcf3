//! The tool registry: the catalog of [`ToolSpec`]s and a handler for each.
//!
//! [`Registry::call`] validates the arguments against the tool's input schema
//! before dispatch, so a handler only ever sees arguments that match its
//! contract; a bad call gets [`ToolError::InvalidArguments`] naming the field
//! and what was expected (the message a model reads to correct itself).

use std::collections::BTreeMap;
use std::sync::Arc;

use aima_tools::{Module, ToolSpec};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Who is calling: every tool call is scoped to one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolContext {
    /// The organization whose data the tool may read or write.
    pub organization_id: Uuid,
    /// The conversation thread the call belongs to, if any.
    pub thread_id: Option<String>,
}

/// Why a tool call failed. Every variant's message is written for the caller
/// (a person or a model) and names the tool.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ToolError {
    /// No tool has this name.
    #[error("unknown tool `{name}`")]
    UnknownTool {
        /// The name that was called.
        name: String,
    },
    /// The arguments do not match the input schema.
    #[error("invalid arguments for `{tool}`: {field}: {expected}")]
    InvalidArguments {
        /// The tool called.
        tool: String,
        /// JSON pointer of the offending field (`/limit`), or `(root)`.
        field: String,
        /// What was expected there, in words.
        expected: String,
    },
    /// The module that answers the tool does not exist yet.
    #[error("`{tool}` is not available yet: {module} has not been built")]
    NotImplemented {
        /// The tool called.
        tool: String,
        /// The module's title.
        module: String,
    },
    /// The answering actor is down or restarting; the call was not run and
    /// may be retried.
    #[error("`{tool}` is unavailable ({reason}); retry")]
    Unavailable {
        /// The tool called.
        tool: String,
        /// What is wrong, e.g. "actor m1 restarting".
        reason: String,
    },
    /// No answer within the call timeout.
    #[error("`{tool}` timed out after {after_ms} ms")]
    Timeout {
        /// The tool called.
        tool: String,
        /// The timeout that expired, in milliseconds.
        after_ms: u64,
    },
    /// The tool ran and failed (bad data, store error ...).
    #[error("`{tool}` failed: {message}")]
    Failed {
        /// The tool called.
        tool: String,
        /// What went wrong.
        message: String,
    },
}

/// Answers calls of one or more tools. Arguments have already been validated
/// against the tool's input schema; the result must match its output schema.
#[async_trait]
pub trait ToolHandler: Send + Sync {
    /// Runs tool `name` with `args` for `ctx`'s organization.
    async fn call(&self, ctx: &ToolContext, name: &str, args: Value) -> Result<Value, ToolError>;
}

struct Entry {
    spec: ToolSpec,
    handler: Arc<dyn ToolHandler>,
}

/// Tools by name, each with its handler.
#[derive(Default)]
pub struct Registry {
    tools: BTreeMap<String, Entry>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("tools", &self.tools.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds (or replaces) `spec` answered by `handler`.
    pub fn register(&mut self, spec: ToolSpec, handler: Arc<dyn ToolHandler>) {
        self.tools
            .insert(spec.name.clone(), Entry { spec, handler });
    }

    /// The catalog, sorted by name.
    pub fn specs(&self) -> impl Iterator<Item = &ToolSpec> {
        self.tools.values().map(|e| &e.spec)
    }

    /// The spec of tool `name`.
    pub fn spec(&self, name: &str) -> Option<&ToolSpec> {
        self.tools.get(name).map(|e| &e.spec)
    }

    /// The tools answered by `module`.
    pub fn module_specs(&self, module: Module) -> impl Iterator<Item = &ToolSpec> {
        self.specs().filter(move |s| s.module == module)
    }

    /// Validates `args` against tool `name`'s input schema, then dispatches.
    pub async fn call(
        &self,
        ctx: &ToolContext,
        name: &str,
        args: Value,
    ) -> Result<Value, ToolError> {
        let entry = self.tools.get(name).ok_or_else(|| ToolError::UnknownTool {
            name: name.to_string(),
        })?;
        entry.handler.call(ctx, name, args).await
    }
}
