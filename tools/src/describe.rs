//! Short, human summaries of a tool's arguments (for `aima tools list`, help
//! pages and prompts).

use serde_json::Value;

use crate::spec::ToolSpec;

/// One argument of a tool, summarized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argument {
    /// The argument's name.
    pub name: String,
    /// Whether it must be given (optional ones may be absent or null).
    pub required: bool,
    /// Its type in a few characters: `string`, `date`, `integer 1..=100`,
    /// `day|week|month`, `[string]`.
    pub kind: String,
    /// Its description (first line of the schema's).
    pub description: String,
}

impl std::fmt::Display for Argument {
    /// `name: kind` or `name?: kind`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mark = if self.required { "" } else { "?" };
        write!(f, "{}{mark}: {}", self.name, self.kind)
    }
}

/// The arguments of `spec` (the properties of its input schema), sorted by
/// name, required ones first.
pub fn arguments(spec: &ToolSpec) -> Vec<Argument> {
    let root = &spec.input_schema;
    let required: Vec<&str> = root
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut args: Vec<Argument> = root
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, schema)| Argument {
            name: name.clone(),
            required: required.contains(&name.as_str()),
            kind: kind(root, schema, 0),
            description: schema
                .get("description")
                .and_then(Value::as_str)
                .map(one_line)
                .unwrap_or_default(),
        })
        .collect();
    args.sort_by(|a, b| b.required.cmp(&a.required).then(a.name.cmp(&b.name)));
    args
}

/// `text` with its whitespace (line breaks included) collapsed to single
/// spaces.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first sentence of `text` (up to the first ". " that does not end an
/// abbreviation such as "e.g."), on one line.
pub fn first_sentence(text: &str) -> String {
    const ABBREVIATIONS: [&str; 4] = ["e.g", "i.e", "etc", "vs"];
    let line = one_line(text);
    let end = line.match_indices(". ").map(|(i, _)| i).find(|&i| {
        !ABBREVIATIONS
            .iter()
            .any(|a| line[..i].to_lowercase().ends_with(a))
    });
    match end {
        Some(i) => line[..=i].to_string(),
        None => line,
    }
}

fn kind(root: &Value, schema: &Value, depth: usize) -> String {
    if depth > 8 {
        return "value".to_string();
    }
    if let Some(target) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|p| root.pointer(p))
    {
        return kind(root, target, depth + 1);
    }
    if let Some(branches) = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
    {
        let parts: Vec<String> = branches
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
            .map(|b| match b.get("const") {
                Some(Value::String(c)) => c.clone(),
                _ => kind(root, b, depth + 1),
            })
            .collect();
        return parts.join("|");
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("|");
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ => "value",
    };
    match ty {
        "string" => match schema.get("format").and_then(Value::as_str) {
            Some("date") => "date".to_string(),
            Some("date-time") => "date-time".to_string(),
            Some("uuid") => "uuid".to_string(),
            _ => "string".to_string(),
        },
        "integer" | "number" => {
            let bound = |k: &str| {
                schema
                    .get(k)
                    .filter(|v| v.is_number())
                    .map(Value::to_string)
            };
            match (bound("minimum"), bound("maximum")) {
                (Some(lo), Some(hi)) => format!("{ty} {lo}..={hi}"),
                (Some(lo), None) if lo != "0" => format!("{ty} >= {lo}"),
                _ => ty.to_string(),
            }
        }
        "array" => format!(
            "[{}]",
            schema
                .get("items")
                .map(|i| kind(root, i, depth + 1))
                .unwrap_or_else(|| "value".to_string())
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tool;
    use crate::data::{RevenueOverTime, TagCustomers};

    #[test]
    fn summarizes_arguments() {
        let args: Vec<String> = arguments(&RevenueOverTime::spec())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            args,
            ["end?: date", "granularity?: day|week|month", "start?: date"]
        );
        let args: Vec<String> = arguments(&TagCustomers::spec())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(args, ["customers: [string]", "tag: string"]);
        let limit = arguments(&crate::data::CustomerSearch::spec())
            .into_iter()
            .find(|a| a.name == "limit")
            .map(|a| a.to_string());
        assert_eq!(limit.as_deref(), Some("limit?: integer 1..=100"));
    }

    #[test]
    fn first_sentences() {
        assert_eq!(first_sentence("One thing.\nTwo. Three"), "One thing.");
        assert_eq!(first_sentence("No dot"), "No dot");
        assert_eq!(
            first_sentence("Lists one segment (e.g. Champions). More."),
            "Lists one segment (e.g. Champions)."
        );
    }
}
