//! The [`Tool`] trait: one tool's name, contract and examples, as types.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::spec::{Effect, Module, ToolSpec};

/// One tool of the catalog, described by types: its arguments
/// ([`Tool::Input`]) and its result ([`Tool::Output`]) derive
/// `schemars::JsonSchema`, and [`Tool::spec`] turns them into a [`ToolSpec`]
/// with JSON Schemas (draft 2020-12).
///
/// Implemented by unit structs (e.g. [`crate::data::RevenueOverTime`]); this
/// crate holds no behaviour, the handlers live in `aima-actors`.
pub trait Tool {
    /// Unique snake_case name (`revenue_over_time`).
    const NAME: &'static str;
    /// What the tool answers, written for a model choosing among tools.
    const DESCRIPTION: &'static str;
    /// Read-only or side-effecting.
    const EFFECT: Effect;
    /// The module whose actor answers it.
    const MODULE: Module;
    /// Questions a user would type that this tool answers (several
    /// paraphrases; the offline router compares messages with them).
    const EXAMPLES: &'static [&'static str];
    /// The arguments object.
    type Input: JsonSchema + DeserializeOwned + Serialize;
    /// The result.
    type Output: JsonSchema + Serialize + DeserializeOwned;

    /// The tool's spec: its constants and both schemas.
    fn spec() -> ToolSpec {
        ToolSpec {
            name: Self::NAME.to_string(),
            description: Self::DESCRIPTION.to_string(),
            effect: Self::EFFECT,
            module: Self::MODULE,
            input_schema: schema_of::<Self::Input>(),
            output_schema: schema_of::<Self::Output>(),
            examples: Self::EXAMPLES.iter().map(|e| e.to_string()).collect(),
        }
    }
}

/// The JSON Schema (draft 2020-12) of `T`, as a JSON value. Types used in
/// several places are kept once under `$defs` and referenced with `$ref`.
/// Descriptions (from doc comments) are joined onto one line.
pub fn schema_of<T: JsonSchema>() -> Value {
    let mut schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    join_descriptions(&mut schema);
    schema
}

/// Replaces every string `description` in `v` by its one-line form (doc
/// comments wrap lines where the text does not).
fn join_descriptions(v: &mut Value) {
    match v {
        Value::Object(obj) => {
            for (k, child) in obj.iter_mut() {
                match child {
                    Value::String(text) if k == "description" => {
                        *text = crate::describe::one_line(text);
                    }
                    _ => join_descriptions(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(join_descriptions),
        _ => {}
    }
}
