//! The tool registry: the catalog of [`ToolSpec`]s and a handler for each.
//!
//! [`Registry::call`] validates the arguments against the tool's input schema
//! before dispatch, so a handler only ever sees arguments that match its
//! contract; a bad call gets [`ToolError::InvalidArguments`] naming the field
//! and what was expected (the message a model reads to correct itself).
//!
//! Schemas are compiled once, at [`Registry::register`]. `null` arguments
//! count as `{}`. In debug builds (and so in tests) a handler's result is
//! checked against the tool's output schema too; a mismatch is a
//! [`ToolError::Failed`] naming the offending field.

use std::collections::BTreeMap;
use std::sync::Arc;

use aima_tools::{Module, ToolSpec};
use async_trait::async_trait;
use jsonschema::Validator;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
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

/// Why a spec cannot be registered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegistryError {
    /// The input or output schema is not a valid JSON Schema (a programming
    /// error in the tool's types).
    #[error("`{tool}`: invalid {which} schema: {reason}")]
    InvalidSchema {
        /// The tool.
        tool: String,
        /// `input` or `output`.
        which: &'static str,
        /// What the schema compiler said.
        reason: String,
    },
}

struct Entry {
    spec: ToolSpec,
    handler: Arc<dyn ToolHandler>,
    /// The compiled input schema, or why it does not compile.
    input: Result<Validator, RegistryError>,
    /// The compiled output schema (checked in debug builds only).
    output: Result<Validator, RegistryError>,
}

fn compile(spec: &ToolSpec, which: &'static str) -> Result<Validator, RegistryError> {
    let schema = match which {
        "input" => &spec.input_schema,
        _ => &spec.output_schema,
    };
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| RegistryError::InvalidSchema {
            tool: spec.name.clone(),
            which,
            reason: e.to_string(),
        })
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

    /// Adds (or replaces) `spec` answered by `handler`, compiling its
    /// schemas. A schema that does not compile is a programming error: the
    /// tool is still listed, and every call of it fails with
    /// [`ToolError::Failed`] saying why (use [`Registry::try_register`] to
    /// get the error instead; the catalog's schemas are checked by tests).
    pub fn register(&mut self, spec: ToolSpec, handler: Arc<dyn ToolHandler>) {
        let input = compile(&spec, "input");
        let output = compile(&spec, "output");
        self.tools.insert(
            spec.name.clone(),
            Entry {
                spec,
                handler,
                input,
                output,
            },
        );
    }

    /// Like [`Registry::register`], but a schema that does not compile is an
    /// error and nothing is registered.
    pub fn try_register(
        &mut self,
        spec: ToolSpec,
        handler: Arc<dyn ToolHandler>,
    ) -> Result<(), RegistryError> {
        let input = compile(&spec, "input")?;
        let output = compile(&spec, "output")?;
        self.tools.insert(
            spec.name.clone(),
            Entry {
                spec,
                handler,
                input: Ok(input),
                output: Ok(output),
            },
        );
        Ok(())
    }

    /// Whether tool `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.tools.contains_key(name)
    }

    /// Number of registered tools.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether no tool is registered.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
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

    /// Checks `args` against tool `name`'s input schema without calling it
    /// and returns them as the handler would get them (`null` becomes `{}`).
    ///
    /// Errors: [`ToolError::UnknownTool`]; [`ToolError::InvalidArguments`]
    /// for the first violation, with `field` the JSON pointer of the offending
    /// value (for an unknown or missing field, the pointer of that field) or
    /// `(root)`, and `expected` in words ("integer between 1 and 100", "one of
    /// day, week, month, or null", "unknown field `foo` (known fields: ...)",
    /// "required field `customer` missing"); [`ToolError::Failed`] when the
    /// tool's own schema is invalid.
    pub fn check_arguments(&self, name: &str, args: Value) -> Result<Value, ToolError> {
        let entry = self.entry(name)?;
        check_arguments(entry, args)
    }

    /// Validates `args` against tool `name`'s input schema (see
    /// [`Registry::check_arguments`]), then dispatches to the handler. In
    /// debug builds the result is checked against the output schema; a
    /// mismatch is [`ToolError::Failed`] naming the field.
    pub async fn call(
        &self,
        ctx: &ToolContext,
        name: &str,
        args: Value,
    ) -> Result<Value, ToolError> {
        let entry = self.entry(name)?;
        let args = check_arguments(entry, args)?;
        let result = entry.handler.call(ctx, name, args).await?;
        if cfg!(debug_assertions) {
            check_output(entry, &result)?;
        }
        Ok(result)
    }

    fn entry(&self, name: &str) -> Result<&Entry, ToolError> {
        self.tools.get(name).ok_or_else(|| ToolError::UnknownTool {
            name: name.to_string(),
        })
    }
}

fn check_arguments(entry: &Entry, args: Value) -> Result<Value, ToolError> {
    let tool = &entry.spec.name;
    let validator = entry.input.as_ref().map_err(|e| ToolError::Failed {
        tool: tool.clone(),
        message: e.to_string(),
    })?;
    let args = if args.is_null() {
        Value::Object(Map::new())
    } else {
        args
    };
    if let Err(error) = validator.validate(&args) {
        let (field, expected) = explain(&entry.spec.input_schema, &args, &error);
        return Err(ToolError::InvalidArguments {
            tool: tool.clone(),
            field,
            expected,
        });
    }
    Ok(args)
}

/// Checks a handler's `result` against the output schema.
fn check_output(entry: &Entry, result: &Value) -> Result<(), ToolError> {
    let tool = &entry.spec.name;
    let validator = entry.output.as_ref().map_err(|e| ToolError::Failed {
        tool: tool.clone(),
        message: e.to_string(),
    })?;
    if let Err(error) = validator.validate(result) {
        let (field, expected) = explain(&entry.spec.output_schema, result, &error);
        return Err(ToolError::Failed {
            tool: tool.clone(),
            message: format!(
                "its result does not match its output schema at {field}: expected {expected}"
            ),
        });
    }
    Ok(())
}

/// `(field, expected)` for a validation error of `instance` against `root`.
fn explain(
    root: &Value,
    instance: &Value,
    error: &jsonschema::ValidationError<'_>,
) -> (String, String) {
    let at = error.instance_path().as_str().to_string();
    let pointer = |p: &str| {
        if p.is_empty() {
            "(root)".to_string()
        } else {
            p.to_string()
        }
    };
    let schema_path = error.schema_path().as_str();
    // The schema holding the failed keyword: the keyword's location minus
    // the keyword itself.
    let holder = schema_path
        .rsplit_once('/')
        .map(|(parent, _)| parent)
        .unwrap_or("");
    let subschema = resolve(root, holder);
    // Sorted: the map's own order depends on serde_json's `preserve_order`.
    let mut known: Vec<&str> = subschema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    known.sort_unstable();
    let unknown_field = |first: &str, at: &str| {
        let expected = if known.is_empty() {
            format!("unknown field `{first}` (this object takes no fields)")
        } else {
            format!(
                "unknown field `{first}` (known fields: {})",
                known.join(", ")
            )
        };
        (format!("{at}/{}", escape_pointer(first)), expected)
    };
    match error.kind() {
        // `additionalProperties: false` without `properties` compiles to a
        // false schema per extra property: find the first extra key.
        ValidationErrorKind::FalseSchema if schema_path.ends_with("/additionalProperties") => {
            let object_at = if instance.pointer(&at).is_some_and(Value::is_object) {
                at.clone()
            } else {
                at.rsplit_once('/')
                    .map(|(parent, _)| parent.to_string())
                    .unwrap_or_default()
            };
            let extra = instance
                .pointer(&object_at)
                .and_then(Value::as_object)
                .and_then(|o| o.keys().find(|k| !known.contains(&k.as_str())).cloned())
                .unwrap_or_default();
            unknown_field(&extra, &object_at)
        }
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let first = unexpected.first().map(String::as_str).unwrap_or("");
            unknown_field(first, &at)
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            (
                format!("{at}/{}", escape_pointer(name)),
                format!("required field `{name}` missing"),
            )
        }
        ValidationErrorKind::Type { kind } => {
            let words = subschema
                .map(|s| describe(root, s, 0))
                .unwrap_or_else(|| match kind {
                    TypeKind::Single(t) => t.to_string(),
                    TypeKind::Multiple(ts) => format!("{ts:?}"),
                });
            (pointer(&at), words)
        }
        ValidationErrorKind::AnyOf { .. }
        | ValidationErrorKind::OneOfNotValid { .. }
        | ValidationErrorKind::Enum { .. }
        | ValidationErrorKind::Constant { .. }
        | ValidationErrorKind::Format { .. }
        | ValidationErrorKind::Minimum { .. }
        | ValidationErrorKind::Maximum { .. }
        | ValidationErrorKind::ExclusiveMinimum { .. }
        | ValidationErrorKind::ExclusiveMaximum { .. }
        | ValidationErrorKind::MinLength { .. }
        | ValidationErrorKind::MaxLength { .. }
        | ValidationErrorKind::MinItems { .. }
        | ValidationErrorKind::MaxItems { .. }
        | ValidationErrorKind::Pattern { .. }
        | ValidationErrorKind::MultipleOf { .. } => {
            let words = subschema
                .map(|s| describe(root, s, 0))
                .unwrap_or_else(|| error.to_string());
            (pointer(&at), words)
        }
        _ => (pointer(&at), error.to_string()),
    }
}

/// Escapes a property name for a JSON pointer (`~` -> `~0`, `/` -> `~1`).
fn escape_pointer(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// The subschema of `root` at JSON pointer `pointer`, following `$ref`s met
/// on the way (as `$ref` segments or at the end).
fn resolve<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    let mut current = root;
    if !pointer.is_empty() {
        for raw in pointer.trim_start_matches('/').split('/') {
            let segment = raw.replace("~1", "/").replace("~0", "~");
            if segment == "$ref" {
                current = follow_ref(root, current)?;
                continue;
            }
            current = match current {
                Value::Object(obj) => obj.get(&segment)?,
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
    }
    Some(current)
}

/// The target of `schema`'s local `$ref`, if it has one.
fn follow_ref<'a>(root: &'a Value, schema: &Value) -> Option<&'a Value> {
    let reference = schema.get("$ref")?.as_str()?;
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}

/// What `schema` accepts, in words: "integer between 1 and 100, or null",
/// "one of day, week, month", "date (YYYY-MM-DD)".
fn describe(root: &Value, schema: &Value, depth: usize) -> String {
    if depth > 8 {
        return "a valid value".to_string();
    }
    if let Some(target) = follow_ref(root, schema) {
        return describe(root, target, depth + 1);
    }
    let branches = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array);
    if let Some(branches) = branches {
        let mut nullable = false;
        let mut consts = Vec::new();
        let mut others = Vec::new();
        for b in branches {
            let b = follow_ref(root, b).unwrap_or(b);
            if b.get("type").and_then(Value::as_str) == Some("null") {
                nullable = true;
            } else if let Some(c) = b.get("const") {
                consts.push(plain(c));
            } else if let Some(values) = b.get("enum").and_then(Value::as_array) {
                consts.extend(values.iter().filter(|v| !v.is_null()).map(plain));
            } else if let Some(nested) = b.get("oneOf").or_else(|| b.get("anyOf")) {
                let nested = serde_json::json!({ "anyOf": nested });
                others.push(describe(root, &nested, depth + 1));
            } else {
                others.push(describe(root, b, depth + 1));
            }
        }
        if !consts.is_empty() {
            others.insert(0, format!("one of {}", consts.join(", ")));
        }
        let mut words = others.join(" or ");
        if nullable {
            words.push_str(", or null");
        }
        return words;
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let nullable = values.iter().any(Value::is_null);
        let listed: Vec<String> = values.iter().filter(|v| !v.is_null()).map(plain).collect();
        let mut words = format!("one of {}", listed.join(", "));
        if nullable {
            words.push_str(", or null");
        }
        return words;
    }
    if let Some(c) = schema.get("const") {
        return format!("exactly {}", plain(c));
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let nullable = types.contains(&"null");
    let parts: Vec<String> = types
        .iter()
        .filter(|t| **t != "null")
        .map(|t| describe_type(root, schema, t, depth))
        .collect();
    let mut words = if parts.is_empty() {
        "a valid value".to_string()
    } else {
        parts.join(" or ")
    };
    if nullable {
        words.push_str(", or null");
    }
    words
}

fn describe_type(root: &Value, schema: &Value, ty: &str, depth: usize) -> String {
    let num = |k: &str| schema.get(k).filter(|v| v.is_number()).map(plain);
    let count = |k: &str| schema.get(k).and_then(Value::as_u64);
    match ty {
        "integer" | "number" => {
            let noun = if ty == "integer" { "integer" } else { "number" };
            match (num("minimum"), num("maximum")) {
                (Some(lo), Some(hi)) => format!("{noun} between {lo} and {hi}"),
                (Some(lo), None) => format!("{noun} of at least {lo}"),
                (None, Some(hi)) => format!("{noun} of at most {hi}"),
                (None, None) => match (num("exclusiveMinimum"), num("exclusiveMaximum")) {
                    (Some(lo), _) => format!("{noun} greater than {lo}"),
                    (_, Some(hi)) => format!("{noun} less than {hi}"),
                    _ => noun.to_string(),
                },
            }
        }
        "string" => match schema.get("format").and_then(Value::as_str) {
            Some("date") => "date (YYYY-MM-DD)".to_string(),
            Some("date-time") => "date and time (RFC 3339, e.g. 2024-01-31T12:00:00Z)".to_string(),
            Some("uuid") => "UUID".to_string(),
            Some("email") => "e-mail address".to_string(),
            _ => match (count("minLength"), count("maxLength")) {
                (Some(lo), Some(hi)) => format!("string of {lo} to {hi} characters"),
                (Some(1), None) => "non-empty string".to_string(),
                (Some(lo), None) => format!("string of at least {lo} characters"),
                (None, Some(hi)) => format!("string of at most {hi} characters"),
                (None, None) => "string".to_string(),
            },
        },
        "array" => {
            let items = schema
                .get("items")
                .map(|i| describe(root, i, depth + 1))
                .unwrap_or_else(|| "values".to_string());
            let size = match (count("minItems"), count("maxItems")) {
                (Some(lo), Some(hi)) => format!(" ({lo} to {hi} items)"),
                (Some(lo), None) => format!(" (at least {lo} item{})", plural(lo)),
                (None, Some(hi)) => format!(" (at most {hi} item{})", plural(hi)),
                (None, None) => String::new(),
            };
            format!("array of {items}{size}")
        }
        "object" => "object".to_string(),
        "boolean" => "boolean (true or false)".to_string(),
        other => other.to_string(),
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A JSON value in words: strings without quotes.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
