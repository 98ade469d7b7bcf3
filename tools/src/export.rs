//! Exports of the catalog for other agents: OpenAI function definitions in
//! strict mode and MCP tool descriptors.

use serde_json::{Map, Value, json};

use crate::spec::{Effect, ToolSpec};

/// Keywords OpenAI's strict mode (Structured Outputs) accepts; every other
/// keyword (`default`, `title`, `minLength`, `$schema`, ...) is removed.
const STRICT_KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "description",
    "format",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
];

/// String formats strict mode accepts; other `format`s are removed.
const STRICT_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// How deep `$ref`s are followed when inlining (our types are not recursive;
/// this only stops a runaway).
const MAX_REF_DEPTH: usize = 32;

/// The catalog as OpenAI function definitions in strict mode, one per tool:
/// `{"type":"function","function":{"name","description","parameters","strict":true}}`.
///
/// `parameters` is the tool's input schema rewritten for strict mode:
/// `$ref`s inlined (no `$defs` left), every object closed
/// (`additionalProperties: false`) with every property listed in `required`,
/// properties that were optional made nullable (a model passes `null` for
/// "absent"; the registry accepts `null` for every optional argument), `oneOf`
/// turned into `anyOf` (string constants into one `enum`), and keywords strict
/// mode rejects removed.
pub fn openai_functions(specs: &[ToolSpec]) -> Value {
    Value::Array(
        specs
            .iter()
            .map(|spec| {
                json!({
                    "type": "function",
                    "function": {
                        "name": spec.name,
                        "description": spec.description,
                        "parameters": strict_schema(&spec.input_schema),
                        "strict": true,
                    }
                })
            })
            .collect(),
    )
}

/// `schema` rewritten for OpenAI strict mode (see [`openai_functions`]).
pub fn strict_schema(schema: &Value) -> Value {
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let inlined = inline_refs(schema, &defs, 0);
    strictify(&inlined)
}

/// The catalog as MCP tool descriptors (the `tools` array of a `tools/list`
/// result): `name`, `title`, `description`, `inputSchema`, `outputSchema`
/// (always of type object: a non-object result is wrapped as
/// `{"result": ...}`) and `annotations` (`readOnlyHint`; `destructiveHint`
/// true for every side-effecting tool, since a spec does not say whether its
/// writes are only additive; `openWorldHint` false: tools touch only the
/// organization's own data).
pub fn mcp_tools(specs: &[ToolSpec]) -> Value {
    Value::Array(
        specs
            .iter()
            .map(|spec| {
                let title = title_of(&spec.name);
                let read_only = spec.effect == Effect::ReadOnly;
                json!({
                    "name": spec.name,
                    "title": title,
                    "description": spec.description,
                    "inputSchema": object_schema(&spec.input_schema),
                    "outputSchema": object_schema(&spec.output_schema),
                    "annotations": {
                        "title": title,
                        "readOnlyHint": read_only,
                        "destructiveHint": !read_only,
                        "idempotentHint": read_only,
                        "openWorldHint": false,
                    }
                })
            })
            .collect(),
    )
}

/// A human title from a snake_case name: `revenue_over_time` -> "Revenue over time".
pub fn title_of(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `schema` if it describes an object, else `{"type":"object",
/// "properties":{"result": schema},"required":["result"]}` with `$defs` kept
/// at the root (MCP requires object schemas).
fn object_schema(schema: &Value) -> Value {
    if schema.get("type").and_then(Value::as_str) == Some("object") {
        return schema.clone();
    }
    let mut inner = schema.clone();
    let mut wrapper = Map::new();
    if let Some(obj) = inner.as_object_mut() {
        for key in ["$schema", "$defs"] {
            if let Some(v) = obj.remove(key) {
                wrapper.insert(key.to_string(), v);
            }
        }
    }
    wrapper.insert("type".into(), json!("object"));
    wrapper.insert("properties".into(), json!({ "result": inner }));
    wrapper.insert("required".into(), json!(["result"]));
    wrapper.insert("additionalProperties".into(), json!(false));
    Value::Object(wrapper)
}

/// `v` with every local `$ref` (`#/$defs/Name`) replaced by the definition
/// (sibling keywords such as `description` win over the definition's), and
/// `$defs`/`$schema` removed.
fn inline_refs(v: &Value, defs: &Map<String, Value>, depth: usize) -> Value {
    match v {
        Value::Object(obj) => {
            let target = obj
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
                .and_then(|name| defs.get(name));
            let mut out = match target {
                Some(def) if depth < MAX_REF_DEPTH => match inline_refs(def, defs, depth + 1) {
                    Value::Object(m) => m,
                    other => {
                        let mut m = Map::new();
                        m.insert("allOf".into(), Value::Array(vec![other]));
                        m
                    }
                },
                _ => Map::new(),
            };
            for (k, child) in obj {
                if k == "$defs" || k == "$schema" || (k == "$ref" && target.is_some()) {
                    continue;
                }
                out.insert(k.clone(), inline_refs(child, defs, depth));
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|i| inline_refs(i, defs, depth)).collect())
        }
        other => other.clone(),
    }
}

/// One (already inlined) schema made strict; see [`openai_functions`].
fn strictify(v: &Value) -> Value {
    let Some(obj) = v.as_object() else {
        return v.clone();
    };
    let mut out = Map::new();
    for (k, child) in obj {
        match k.as_str() {
            "properties" => {
                let props = child
                    .as_object()
                    .map(|p| {
                        p.iter()
                            .map(|(name, s)| (name.clone(), strictify(s)))
                            .collect::<Map<_, _>>()
                    })
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Object(props));
            }
            "items" => {
                out.insert(k.clone(), strictify(child));
            }
            "anyOf" | "oneOf" => {
                let branches = child
                    .as_array()
                    .map(|b| b.iter().map(strictify).collect::<Vec<_>>())
                    .unwrap_or_default();
                merge_branches(&mut out, branches);
            }
            "format" if child.as_str().is_some_and(|f| STRICT_FORMATS.contains(&f)) => {
                out.insert(k.clone(), child.clone());
            }
            "format" => {}
            _ if STRICT_KEYWORDS.contains(&k.as_str()) => {
                out.insert(k.clone(), child.clone());
            }
            _ => {}
        }
    }
    let is_object =
        out.contains_key("properties") || out.get("type").and_then(Value::as_str) == Some("object");
    if is_object {
        let was_required: Vec<String> = out
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let mut props = match out.remove("properties") {
            Some(Value::Object(p)) => p,
            _ => Map::new(),
        };
        // Sorted: the map's own order depends on serde_json's
        // `preserve_order` (on wherever qdrant-edge is linked).
        let mut names: Vec<String> = props.keys().cloned().collect();
        names.sort_unstable();
        for name in &names {
            if !was_required.contains(name)
                && let Some(p) = props.get_mut(name)
            {
                *p = nullable(p.take());
            }
        }
        out.insert("type".into(), json!("object"));
        out.insert("properties".into(), Value::Object(props));
        out.insert(
            "required".into(),
            Value::Array(names.into_iter().map(Value::String).collect()),
        );
        out.insert("additionalProperties".into(), json!(false));
    }
    Value::Object(out)
}

/// Puts `branches` (of an `anyOf`/`oneOf`) into `out`: string constants
/// become one `{"type":"string","enum":[...]}`, a nested lone `anyOf` is
/// flattened, anything else stays an `anyOf`.
fn merge_branches(out: &mut Map<String, Value>, branches: Vec<Value>) {
    let consts: Option<Vec<Value>> = branches
        .iter()
        .map(|b| {
            let c = b.get("const")?;
            c.is_string().then(|| c.clone())
        })
        .collect();
    if let Some(values) = consts
        && !values.is_empty()
    {
        out.insert("type".into(), json!("string"));
        out.insert("enum".into(), Value::Array(values));
        return;
    }
    let mut flat = Vec::new();
    for b in branches {
        match b.as_object() {
            // A branch that is only an `anyOf` (plus a description) adds its
            // alternatives; a branch that is only an enum keeps them.
            Some(o)
                if o.keys().all(|k| k == "anyOf" || k == "description")
                    && o.get("anyOf").is_some_and(Value::is_array) =>
            {
                if let Some(Value::Array(inner)) = o.get("anyOf") {
                    flat.extend(inner.iter().cloned());
                }
            }
            _ => flat.push(b),
        }
    }
    if flat.len() == 1 {
        if let Some(Value::Object(only)) = flat.pop() {
            for (k, v) in only {
                out.entry(k).or_insert(v);
            }
        }
    } else {
        out.insert("anyOf".into(), Value::Array(flat));
    }
}

/// Whether `schema` (strict, inlined) already admits `null`.
fn admits_null(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "null"),
        _ => schema
            .get("anyOf")
            .and_then(Value::as_array)
            .is_some_and(|bs| bs.iter().any(admits_null)),
    }
}

/// `schema` made to admit `null` as well (the strict-mode form of an
/// optional property).
fn nullable(schema: Value) -> Value {
    if admits_null(&schema) {
        return schema;
    }
    let Value::Object(mut obj) = schema else {
        return schema;
    };
    if let Some(Value::Array(branches)) = obj.get_mut("anyOf") {
        branches.push(json!({"type": "null"}));
        return Value::Object(obj);
    }
    if obj.contains_key("const") {
        let description = obj.remove("description");
        let mut wrapped = Map::new();
        if let Some(d) = description {
            wrapped.insert("description".into(), d);
        }
        wrapped.insert(
            "anyOf".into(),
            json!([Value::Object(obj), {"type": "null"}]),
        );
        return Value::Object(wrapped);
    }
    match obj.get("type").cloned() {
        Some(Value::String(t)) => {
            obj.insert("type".into(), json!([t, "null"]));
            if let Some(Value::Array(values)) = obj.get_mut("enum")
                && !values.contains(&Value::Null)
            {
                values.push(Value::Null);
            }
            Value::Object(obj)
        }
        Some(Value::Array(mut ts)) => {
            ts.push(json!("null"));
            obj.insert("type".into(), Value::Array(ts));
            if let Some(Value::Array(values)) = obj.get_mut("enum")
                && !values.contains(&Value::Null)
            {
                values.push(Value::Null);
            }
            Value::Object(obj)
        }
        _ => {
            let description = obj.remove("description");
            let mut wrapped = Map::new();
            if let Some(d) = description {
                wrapped.insert("description".into(), d);
            }
            wrapped.insert(
                "anyOf".into(),
                json!([Value::Object(obj), {"type": "null"}]),
            );
            Value::Object(wrapped)
        }
    }
}
