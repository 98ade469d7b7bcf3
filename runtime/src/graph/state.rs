//! State, partial updates and per-key reducers.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::GraphError;

/// What a graph state must be: a struct that serializes to a JSON object
/// whose fields are the state's keys. Every field must always serialize (no
/// `skip_serializing_if`): the keys of `S::default()` are the keys nodes may
/// write.
pub trait GraphState:
    Serialize + DeserializeOwned + Clone + Default + Send + Sync + 'static
{
}

impl<T> GraphState for T where
    T: Serialize + DeserializeOwned + Clone + Default + Send + Sync + 'static
{
}

/// A partial update: state key -> the value to reduce into that key.
///
/// Build one with [`Update::new`] and [`Update::set`]; keys absent from an
/// update leave the state unchanged.
///
/// Serialized as the JSON object of its entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Update {
    map: Map<String, Value>,
    /// The first key whose value could not be serialized, and why.
    #[serde(skip)]
    invalid: Option<(String, String)>,
}

impl Update {
    /// An empty update (changes nothing).
    pub fn new() -> Update {
        Update::default()
    }

    /// Adds `key = value` (serialized to JSON). A value that cannot be
    /// serialized (a map with non-string keys, a failing `Serialize` impl)
    /// is left out and the error is reported when the update is applied, as
    /// [`GraphError::InvalidUpdate`] for this key.
    pub fn set(mut self, key: impl Into<String>, value: impl Serialize) -> Update {
        let key = key.into();
        match serde_json::to_value(value) {
            Ok(v) => {
                self.map.insert(key, v);
            }
            Err(e) => {
                if self.invalid.is_none() {
                    self.invalid = Some((key, e.to_string()));
                }
            }
        }
        self
    }

    /// The update made of a struct's serialized fields (a typed update):
    /// every field it serializes is set, so mark optional fields
    /// `#[serde(skip_serializing_if = "Option::is_none")]` to leave them out.
    /// A value that does not serialize to a JSON object is
    /// [`super::NodeError::Failed`] (not retryable).
    pub fn from_struct(value: &impl Serialize) -> Result<Update, super::NodeError> {
        match serde_json::to_value(value) {
            Ok(Value::Object(map)) => Ok(Update::from(map)),
            Ok(other) => Err(super::NodeError::fatal(format!(
                "an update must serialize to a JSON object, not {other}"
            ))),
            Err(e) => Err(super::NodeError::fatal(format!(
                "the update cannot be serialized: {e}"
            ))),
        }
    }

    /// Whether the update sets no key.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && self.invalid.is_none()
    }

    /// The value set for `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    /// The keys set (in the order of `serde_json::Map`).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    /// The entries as a JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.map
    }
}

impl From<Map<String, Value>> for Update {
    fn from(map: Map<String, Value>) -> Update {
        Update { map, invalid: None }
    }
}

/// A custom reducer: `(current, update) -> new value`, or a reason the update
/// is rejected. Must be pure and deterministic: loading a thread replays the
/// stored updates through it.
pub type ReducerFn = Arc<dyn Fn(Value, Value) -> Result<Value, String> + Send + Sync>;

/// How an update to one key combines with the key's current value.
#[derive(Clone, Default)]
pub enum Reducer {
    /// The update replaces the value (the default). A key with this reducer
    /// must not be written by two nodes that can run in the same superstep.
    #[default]
    Replace,
    /// For lists: an array update is appended element by element, any other
    /// value is pushed as one element. The current value must be an array
    /// (or `null`, treated as empty).
    Append,
    /// For maps: the update (an object) is merged key by key into the
    /// current object (shallow; the update's entries win). `null` current
    /// is treated as empty.
    Merge,
    /// For numbers: the update is added. Integers stay integers while both
    /// sides are integers and the sum fits in `i64`; otherwise `f64`.
    Sum,
    /// A caller-supplied function (see [`ReducerFn`]).
    Custom(ReducerFn),
}

impl fmt::Debug for Reducer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reducer::Replace => "Replace",
            Reducer::Append => "Append",
            Reducer::Merge => "Merge",
            Reducer::Sum => "Sum",
            Reducer::Custom(_) => "Custom",
        })
    }
}

impl Reducer {
    /// A custom reducer from a closure (see [`ReducerFn`]).
    pub fn custom(
        f: impl Fn(Value, Value) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Reducer {
        Reducer::Custom(Arc::new(f))
    }

    /// Whether this reducer combines concurrent writes (anything but
    /// [`Reducer::Replace`]).
    pub fn combines(&self) -> bool {
        !matches!(self, Reducer::Replace)
    }

    /// Reduces `update` into `current` (consumed, so lists and maps grow in
    /// place); `Err(reason)` when the value shapes do not fit the reducer.
    pub fn apply(&self, current: Value, update: Value) -> Result<Value, String> {
        match self {
            Reducer::Replace => Ok(update),
            Reducer::Append => {
                let mut list = match current {
                    Value::Array(a) => a,
                    Value::Null => Vec::new(),
                    other => return Err(format!("append needs a list, the state holds {other}")),
                };
                match update {
                    Value::Array(items) => list.extend(items),
                    item => list.push(item),
                }
                Ok(Value::Array(list))
            }
            Reducer::Merge => {
                let mut map = match current {
                    Value::Object(m) => m,
                    Value::Null => Map::new(),
                    other => return Err(format!("merge needs a map, the state holds {other}")),
                };
                match update {
                    Value::Object(entries) => map.extend(entries),
                    other => return Err(format!("merge needs a map update, got {other}")),
                }
                Ok(Value::Object(map))
            }
            Reducer::Sum => sum(&current, &update),
            Reducer::Custom(f) => f(current, update),
        }
    }
}

fn sum(current: &Value, update: &Value) -> Result<Value, String> {
    let current = if current.is_null() {
        &Value::from(0)
    } else {
        current
    };
    let (Value::Number(a), Value::Number(b)) = (current, update) else {
        return Err(format!("sum needs numbers, got {current} and {update}"));
    };
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64())
        && let Some(s) = x.checked_add(y)
    {
        return Ok(Value::from(s));
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => serde_json::Number::from_f64(x + y)
            .map(Value::Number)
            .ok_or_else(|| format!("sum of {x} and {y} is not a finite number")),
        _ => Err(format!("sum cannot add {a} and {b}")),
    }
}

/// The per-key reducers of a state. Keys without an entry use
/// [`Reducer::Replace`].
#[derive(Debug, Clone, Default)]
pub struct StateSchema {
    reducers: HashMap<String, Reducer>,
}

impl StateSchema {
    /// A schema where every key is replaced by updates.
    pub fn new() -> StateSchema {
        StateSchema::default()
    }

    /// Declares `reducer` for `key` (a later call for the same key wins).
    /// Unknown keys are reported when the graph is compiled.
    pub fn reducer(mut self, key: impl Into<String>, reducer: Reducer) -> StateSchema {
        self.reducers.insert(key.into(), reducer);
        self
    }

    /// The reducer of `key` ([`Reducer::Replace`] when none was declared).
    pub fn reducer_of(&self, key: &str) -> &Reducer {
        static REPLACE: Reducer = Reducer::Replace;
        self.reducers.get(key).unwrap_or(&REPLACE)
    }

    /// The keys with a declared reducer.
    pub(crate) fn declared_keys(&self) -> impl Iterator<Item = &str> {
        self.reducers.keys().map(String::as_str)
    }

    /// Applies `update` (written by `node`) to `state` key by key. Every key
    /// must already exist in `state` ([`GraphError::UnknownKey`]); a reducer
    /// rejecting a value is [`GraphError::InvalidUpdate`]. On error `state`
    /// may be partially updated: callers apply to a copy.
    pub(crate) fn apply(
        &self,
        state: &mut Map<String, Value>,
        node: &str,
        update: &Update,
    ) -> Result<(), GraphError> {
        if let Some((key, reason)) = &update.invalid {
            return Err(GraphError::InvalidUpdate {
                node: node.to_string(),
                key: key.clone(),
                reason: format!("the value cannot be serialized: {reason}"),
            });
        }
        for (key, value) in &update.map {
            let Some(current) = state.get_mut(key) else {
                return Err(GraphError::UnknownKey {
                    node: node.to_string(),
                    key: key.clone(),
                });
            };
            let next = self
                .reducer_of(key)
                .apply(std::mem::take(current), value.clone())
                .map_err(|reason| GraphError::InvalidUpdate {
                    node: node.to_string(),
                    key: key.clone(),
                    reason,
                })?;
            *current = next;
        }
        Ok(())
    }
}

/// `state` as a JSON object (the representation reducers work on).
pub(crate) fn to_map<S: GraphState>(state: &S) -> Result<Map<String, Value>, GraphError> {
    match serde_json::to_value(state) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(GraphError::StateShape {
            reason: format!("the state must serialize to a JSON object, not {other}"),
        }),
        Err(e) => Err(GraphError::StateShape {
            reason: format!("the state cannot be serialized: {e}"),
        }),
    }
}

/// The typed state of a JSON object (deserialized from a borrow, no copy).
pub(crate) fn from_map<S: GraphState>(map: &Map<String, Value>) -> Result<S, GraphError> {
    S::deserialize(map).map_err(|e| GraphError::StateShape {
        reason: format!("the reduced state does not fit the state type: {e}"),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn builtin_reducers() {
        assert_eq!(
            Reducer::Append.apply(json!([1]), json!([2, 3])),
            Ok(json!([1, 2, 3]))
        );
        assert_eq!(Reducer::Append.apply(json!(null), json!(4)), Ok(json!([4])));
        assert!(Reducer::Append.apply(json!(1), json!(2)).is_err());
        assert_eq!(
            Reducer::Merge.apply(json!({"a": 1, "b": 2}), json!({"b": 3, "c": 4})),
            Ok(json!({"a": 1, "b": 3, "c": 4}))
        );
        assert!(Reducer::Merge.apply(json!({}), json!([1])).is_err());
        assert_eq!(Reducer::Sum.apply(json!(2), json!(3)), Ok(json!(5)));
        assert_eq!(Reducer::Sum.apply(json!(2), json!(0.5)), Ok(json!(2.5)));
        assert_eq!(
            Reducer::Sum.apply(json!(i64::MAX), json!(1)),
            Ok(json!(i64::MAX as f64 + 1.0))
        );
        assert!(Reducer::Sum.apply(json!("a"), json!(1)).is_err());
        assert_eq!(Reducer::Replace.apply(json!(1), json!("x")), Ok(json!("x")));
        let max =
            Reducer::custom(|a, b| Ok(json!(a.as_i64().unwrap_or(0).max(b.as_i64().unwrap_or(0)))));
        assert_eq!(max.apply(json!(7), json!(3)), Ok(json!(7)));
    }

    #[test]
    fn apply_rejects_unknown_keys_and_bad_values() {
        let schema = StateSchema::new().reducer("n", Reducer::Sum);
        let mut state = json!({"n": 1, "s": "a"}).as_object().unwrap().clone();
        schema
            .apply(&mut state, "x", &Update::new().set("n", 2).set("s", "b"))
            .unwrap();
        assert_eq!(Value::Object(state.clone()), json!({"n": 3, "s": "b"}));
        let err = schema
            .apply(&mut state, "x", &Update::new().set("typo", 1))
            .unwrap_err();
        assert!(matches!(err, GraphError::UnknownKey { ref key, .. } if key == "typo"));
        let err = schema
            .apply(&mut state, "x", &Update::new().set("n", "three"))
            .unwrap_err();
        assert!(matches!(err, GraphError::InvalidUpdate { ref key, .. } if key == "n"));
        let mut bad = HashMap::new();
        bad.insert((1, 2), 3);
        let err = schema
            .apply(&mut state, "x", &Update::new().set("s", bad))
            .unwrap_err();
        assert!(matches!(err, GraphError::InvalidUpdate { ref key, .. } if key == "s"));
    }
}
