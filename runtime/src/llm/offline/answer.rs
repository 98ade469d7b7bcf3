//! The offline provider's written answers, rendered from the templates in
//! `aima-prompts` with every number quoted exactly as the tool returned it.

use std::sync::LazyLock;

use aima_tools::{Effect, ToolSpec};
use minijinja::{Environment, Value as V, context};
use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value};

use super::super::{LlmError, ToolCall};

static ENV: LazyLock<Result<Environment<'static>, String>> =
    LazyLock::new(|| aima_prompts::environment().map_err(|e| e.to_string()));

fn ser<T: Serialize>(value: T) -> V {
    V::from(minijinja::value::Serde(value))
}

fn env() -> Result<&'static Environment<'static>, LlmError> {
    ENV.as_ref().map_err(|e| LlmError::Template {
        template: "(environment)".into(),
        message: e.clone(),
    })
}

fn render(name: &str, ctx: minijinja::Value) -> Result<String, LlmError> {
    let err = |e: minijinja::Error| LlmError::Template {
        template: name.to_owned(),
        message: e.to_string(),
    };
    env()?
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map(|s| s.trim().to_owned())
        .map_err(err)
}

/// `v` with every number replaced by its exact JSON text, so templates
/// print "1234.50"-style values digit for digit.
pub(crate) fn exact(v: &Value) -> Value {
    match v {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Array(a) => Value::Array(a.iter().map(exact).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), exact(v))).collect()),
        other => other.clone(),
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("none".into()),
        _ => None,
    }
}

fn item_text(v: &Value) -> String {
    match v {
        Value::Object(o) => o
            .iter()
            .filter_map(|(k, v)| {
                scalar_text(v)
                    .filter(|_| !v.is_null())
                    .map(|s| format!("{k}: {s}"))
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => scalar_text(other).unwrap_or_else(|| other.to_string()),
    }
}

#[derive(Serialize)]
struct Field {
    key: String,
    value: String,
}

#[derive(Serialize)]
struct List {
    key: String,
    count: usize,
    items: Vec<String>,
}

fn generic(tool: &str, result: &Value) -> Result<String, LlmError> {
    let mut fields = Vec::new();
    let mut lists = Vec::new();
    if let Value::Object(o) = result {
        for (k, v) in o {
            match v {
                Value::Array(items) => lists.push(List {
                    key: k.clone(),
                    count: items.len(),
                    items: items.iter().take(10).map(item_text).collect(),
                }),
                Value::Object(inner) => {
                    for (ik, iv) in inner {
                        fields.push(Field {
                            key: format!("{k}.{ik}"),
                            value: scalar_text(iv).unwrap_or_else(|| iv.to_string()),
                        });
                    }
                }
                other => fields.push(Field {
                    key: k.clone(),
                    value: scalar_text(other).unwrap_or_default(),
                }),
            }
        }
    }
    render(
        "offline/answers/generic.j2",
        context! { tool, fields => ser(&fields), lists => ser(&lists), raw => result.to_string() },
    )
}

/// The top-level result keys a per-tool template reads (`r.<key>`).
fn template_keys(src: &str) -> Vec<String> {
    static KEY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\br\.([a-z_][a-z0-9_]*)").unwrap_or_else(|e| panic!("{e}")));
    let mut keys: Vec<String> = KEY.captures_iter(src).map(|c| c[1].to_owned()).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// One tool's result as text: the tool's own template when the result has
/// every key that template reads, else the generic one.
fn one_result(call: &ToolCall, result: &Value) -> Result<String, LlmError> {
    let name = format!("offline/answers/{}.j2", call.name);
    if let (Some(src), Value::Object(obj)) = (aima_prompts::source(&name), result)
        && template_keys(src).iter().all(|k| obj.contains_key(k))
    {
        return render(
            &name,
            context! { r => ser(exact(result)), args => ser(exact(&call.arguments)) },
        );
    }
    generic(&call.name, result)
}

fn args_text(args: &Value) -> String {
    args.as_object()
        .map(|o| {
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| match v {
                    Value::Array(a) => format!(
                        "{k} {}",
                        a.iter().map(item_text).collect::<Vec<_>>().join(", ")
                    ),
                    other => format!("{k} {}", scalar_text(other).unwrap_or_default()),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

#[derive(Serialize)]
struct Rendered {
    tool: String,
    text: String,
    error: Option<String>,
    args_text: String,
}

/// The answer for one turn's results: `(call, Ok(result) | Err(error))`.
pub(crate) fn answer(results: &[(ToolCall, Result<Value, String>)]) -> Result<String, LlmError> {
    let mut rendered = Vec::with_capacity(results.len());
    for (call, result) in results {
        let (text, error) = match result {
            Ok(v) => (one_result(call, v)?, None),
            Err(e) => (String::new(), Some(e.clone())),
        };
        rendered.push(Rendered {
            tool: call.name.clone(),
            text,
            error,
            args_text: args_text(&call.arguments),
        });
    }
    render("offline/answer.j2", context! { results => ser(&rendered) })
}

#[derive(Serialize)]
struct Capability {
    name: String,
    summary: String,
    example: Option<String>,
    side_effecting: bool,
}

/// "I can't answer that with the tools I have", with what the tools can do.
pub(crate) fn out_of_scope(tools: &[ToolSpec], reason: Option<&str>) -> Result<String, LlmError> {
    let tools: Vec<Capability> = tools
        .iter()
        .map(|t| Capability {
            name: t.name.clone(),
            summary: aima_tools::describe::first_sentence(&t.description),
            example: t.examples.first().cloned(),
            side_effecting: t.effect == Effect::SideEffecting,
        })
        .collect();
    render(
        "offline/out_of_scope.j2",
        context! { tools => ser(&tools), reason },
    )
}

/// Asks for the required arguments that could not be read from the question.
pub(crate) fn missing_slot(spec: &ToolSpec, missing: &[String]) -> Result<String, LlmError> {
    let props = spec
        .input_schema
        .get("properties")
        .and_then(Value::as_object);
    let hints: Vec<String> = missing
        .iter()
        .filter_map(|m| {
            props
                .and_then(|p| p.get(m))
                .and_then(|p| p.get("description"))
                .and_then(Value::as_str)
                .map(|d| format!("{m}: {d}"))
        })
        .collect();
    render(
        "offline/missing_slot.j2",
        context! {
            tool => spec.name.clone(),
            missing => missing.to_vec(),
            hints,
            example => spec.examples.first().cloned(),
        },
    )
}

/// Arguments as a JSON object (an empty one for anything else).
pub(crate) fn as_object(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}
