#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::data::{Granularity, RevenueOverTimeInput};

/// Calls every object schema in `v` (recursively) with its JSON pointer.
fn walk_objects(v: &Value, path: &str, f: &mut dyn FnMut(&str, &serde_json::Map<String, Value>)) {
    match v {
        Value::Object(obj) => {
            if obj.get("type") == Some(&json!("object")) || obj.contains_key("properties") {
                f(path, obj);
            }
            for (k, child) in obj {
                walk_objects(child, &format!("{path}/{k}"), f);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk_objects(child, &format!("{path}/{i}"), f);
            }
        }
        _ => {}
    }
}

fn keys_in(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(obj) => {
            for (k, child) in obj {
                // Property names are not keywords.
                if k != "properties" {
                    out.insert(k.clone());
                    keys_in(child, out);
                } else if let Some(props) = child.as_object() {
                    for p in props.values() {
                        keys_in(p, out);
                    }
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| keys_in(i, out)),
        _ => {}
    }
}

fn admits_null(schema: &Value) -> bool {
    jsonschema::validator_for(schema)
        .expect("valid schema")
        .is_valid(&Value::Null)
}

#[test]
fn catalog_is_sorted_unique_and_complete() {
    let specs = catalog();
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(names, sorted, "sorted by name, no duplicates");
    for name in [
        "customer_count",
        "customer_search",
        "customer_profile",
        "revenue_over_time",
        "top_products",
        "import_status",
        "tag_customers",
        "segments_overview",
        "segment_members",
        "run_segmentation",
        "drift_alerts",
        "predict_campaign",
        "draft_message",
        "brand_sentiment",
        "channel_attribution",
        "churn_predictions",
        "at_risk_customers",
        "most_valuable_customers",
        "clv_by_segment",
        "similar_customers",
    ] {
        assert!(names.contains(&name), "{name} missing");
    }
    for m in Module::ALL {
        assert!(specs.iter().any(|s| s.module == m), "{m:?} has no tool");
    }
    let side: Vec<&str> = specs
        .iter()
        .filter(|s| s.effect == Effect::SideEffecting)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(side, ["run_segmentation", "tag_customers"]);
    for s in &specs {
        assert!(s.examples.len() >= 5, "{}: few examples", s.name);
        assert!(!s.description.is_empty());
        // Module tools name their module as "(<title>)", which the offline
        // router reads as a label, not as intent words.
        if s.module != Module::Data {
            let label = format!("({})", s.module.title());
            assert!(s.description.contains(&label), "{}: no {label}", s.name);
        }
    }
}

#[test]
fn every_schema_compiles_and_inputs_are_closed_objects() {
    for s in catalog() {
        jsonschema::validator_for(&s.input_schema)
            .unwrap_or_else(|e| panic!("{} input: {e}", s.name));
        jsonschema::validator_for(&s.output_schema)
            .unwrap_or_else(|e| panic!("{} output: {e}", s.name));
        assert_eq!(s.input_schema["type"], "object", "{}", s.name);
        assert_eq!(s.input_schema["additionalProperties"], false, "{}", s.name);
        // Every property is documented: the descriptions are what a model reads.
        walk_objects(&s.input_schema, "", &mut |path, obj| {
            for (name, p) in obj
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                assert!(
                    p.get("description").is_some(),
                    "{} {path}/{name}: no description",
                    s.name
                );
            }
        });
    }
}

#[test]
fn optional_arguments_accept_null_and_absence() {
    for s in catalog() {
        let required: Vec<&str> = s.input_schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let props = s.input_schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (name, p) in &props {
            if !required.contains(&name.as_str()) {
                let mut p = p.clone();
                if let Some(defs) = s.input_schema.get("$defs") {
                    p["$defs"] = defs.clone();
                }
                assert!(
                    admits_null(&p),
                    "{}: optional `{name}` rejects null",
                    s.name
                );
            }
        }
    }
}

#[test]
fn openai_export_is_strict() {
    let functions = openai_functions(&catalog());
    let functions = functions.as_array().unwrap();
    assert_eq!(functions.len(), catalog().len());
    for f in functions {
        assert_eq!(f["type"], "function");
        assert_eq!(f["function"]["strict"], true);
        let name = f["function"]["name"].as_str().unwrap();
        let params = &f["function"]["parameters"];
        assert_eq!(params["type"], "object", "{name}: root is an object");
        let mut objects = 0;
        walk_objects(params, "", &mut |path, obj| {
            objects += 1;
            assert_eq!(
                obj.get("additionalProperties"),
                Some(&json!(false)),
                "{name} {path}: not closed"
            );
            let props: BTreeSet<&String> = obj["properties"].as_object().unwrap().keys().collect();
            let required: BTreeSet<&String> = obj["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| match r {
                    Value::String(s) => s,
                    _ => panic!("{name} {path}: non-string required"),
                })
                .collect();
            assert_eq!(
                props, required,
                "{name} {path}: not all properties required"
            );
        });
        assert!(objects >= 1);
        let mut keys = BTreeSet::new();
        keys_in(params, &mut keys);
        for banned in [
            "default",
            "$ref",
            "$defs",
            "$schema",
            "oneOf",
            "title",
            "minLength",
        ] {
            assert!(
                !keys.contains(banned),
                "{name}: `{banned}` left in {params}"
            );
        }
        // Optional arguments became nullable; required ones did not.
        let spec = catalog().into_iter().find(|s| s.name == name).unwrap();
        let originally_required: Vec<&str> = spec.input_schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (prop, schema) in params["properties"].as_object().unwrap() {
            assert_eq!(
                admits_null(schema),
                !originally_required.contains(&prop.as_str()),
                "{name}.{prop}: nullable iff optional: {schema}"
            );
        }
    }
}

/// What a strict-mode model sends for an absent argument (`null`) is removed
/// before the call; the result satisfies the original schema and type.
#[test]
fn strict_call_with_nulls_maps_to_a_valid_call() {
    let spec = catalog()
        .into_iter()
        .find(|s| s.name == "revenue_over_time")
        .unwrap();
    let strict = strict_schema(&spec.input_schema);
    let strict_validator = jsonschema::validator_for(&strict).unwrap();
    let call = json!({"start": "2024-01-01", "end": null, "granularity": "week"});
    assert!(strict_validator.is_valid(&call));
    // Strict mode needs every key: a call missing one is not strict-valid.
    assert!(!strict_validator.is_valid(&json!({"start": "2024-01-01"})));
    assert!(
        !strict_validator.is_valid(&json!({"start": null, "end": null, "granularity": "year"}))
    );
    let mut mapped = call.clone();
    mapped.as_object_mut().unwrap().retain(|_, v| !v.is_null());
    let original = jsonschema::validator_for(&spec.input_schema).unwrap();
    assert!(original.is_valid(&mapped));
    assert!(
        original.is_valid(&call),
        "the original schema accepts nulls too"
    );
    let input: RevenueOverTimeInput = serde_json::from_value(mapped).unwrap();
    assert_eq!(input.granularity, Some(Granularity::Week));
    assert_eq!(input.end, None);

    // Every tool: all-null arguments for optional fields are strict-valid.
    for spec in catalog() {
        let strict = strict_schema(&spec.input_schema);
        let v = jsonschema::validator_for(&strict).unwrap();
        let required: Vec<&str> = spec.input_schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if required.is_empty() {
            let all_null: serde_json::Map<String, Value> = strict["properties"]
                .as_object()
                .unwrap()
                .keys()
                .map(|k| (k.clone(), Value::Null))
                .collect();
            assert!(v.is_valid(&Value::Object(all_null)), "{}", spec.name);
        }
    }
}

#[test]
fn mcp_export_has_object_schemas_and_hints() {
    let tools = mcp_tools(&catalog());
    for t in tools.as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        assert_eq!(t["inputSchema"]["type"], "object", "{name}");
        assert_eq!(t["outputSchema"]["type"], "object", "{name}");
        assert!(t["title"].as_str().is_some_and(|s| !s.is_empty()));
        let read_only = !["tag_customers", "run_segmentation"].contains(&name);
        assert_eq!(t["annotations"]["readOnlyHint"], read_only, "{name}");
        assert_eq!(t["annotations"]["destructiveHint"], !read_only, "{name}");
        jsonschema::validator_for(&t["outputSchema"]).unwrap();
    }
    assert_eq!(export::title_of("revenue_over_time"), "Revenue over time");
}

#[test]
fn mcp_wraps_non_object_outputs() {
    let spec = ToolSpec {
        name: "n".into(),
        description: "d".into(),
        effect: Effect::ReadOnly,
        module: Module::Data,
        input_schema: json!({"type": "object"}),
        output_schema: json!({"$defs": {"X": {"type": "integer"}}, "type": "array", "items": {"$ref": "#/$defs/X"}}),
        examples: vec![],
    };
    let tools = mcp_tools(&[spec]);
    let out = &tools[0]["outputSchema"];
    assert_eq!(out["type"], "object");
    assert_eq!(out["required"], json!(["result"]));
    let v = jsonschema::validator_for(out).unwrap();
    assert!(v.is_valid(&json!({"result": [1, 2]})));
    assert!(
        !v.is_valid(&json!({"result": ["x"]})),
        "the $ref still resolves"
    );
}

#[test]
fn nullable_covers_every_shape() {
    let schema = json!({
        "type": "object",
        "properties": {
            "a": {"type": "string", "enum": ["x", "y"]},
            "b": {"const": "k"},
            "c": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "d": {"type": "object", "properties": {"e": {"type": "integer", "default": 3}}},
            "f": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["f"]
    });
    let strict = strict_schema(&schema);
    let v = jsonschema::validator_for(&strict).unwrap();
    assert!(v.is_valid(&json!({"a": null, "b": null, "c": null, "d": null, "f": []})));
    assert!(v.is_valid(&json!({"a": "x", "b": "k", "c": 1, "d": {"e": null}, "f": ["s"]})));
    assert!(!v.is_valid(&json!({"a": null, "b": null, "c": null, "d": null, "f": null})));
    assert!(!v.is_valid(&json!({"a": "z", "b": null, "c": null, "d": null, "f": []})));
    assert!(!v.is_valid(&json!({"a": null, "b": null, "c": null, "d": {}, "f": []})));
}

#[test]
fn descriptions_are_single_lines() {
    fn check(v: &Value, tool: &str) {
        match v {
            Value::Object(obj) => {
                for (k, child) in obj {
                    if let (true, Value::String(text)) = (k == "description", child) {
                        assert!(!text.contains('\n'), "{tool}: {text:?}");
                    }
                    check(child, tool);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| check(i, tool)),
            _ => {}
        }
    }
    for s in catalog() {
        check(&s.input_schema, &s.name);
        check(&s.output_schema, &s.name);
    }
}
