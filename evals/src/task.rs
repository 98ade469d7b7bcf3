//! Task files: a directory of `*.json` files, each holding one task object
//! or a list of them (format in `evals/README.md`).
//!
//! Turn texts and expected strings may name a world customer with
//! `{{C00017.name}}` (also `.first_name`, `.email`, `.city`, `.country`),
//! so a task reads naturally and still follows its seed's world; expected
//! values may name an oracle [`Fact`] instead of a literal.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::EvalError;
use crate::oracle::{Fact, FactValue};
use crate::world::World;

/// Task categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// One tool answers it.
    SingleTool,
    /// Several tools in one question.
    MultiTool,
    /// The answer depends on an earlier turn.
    FollowUp,
    /// One intent worded several ways (tasks share a `family`).
    Paraphrase,
    /// Outside what AIMA can answer: it must say so and call no tool.
    Unanswerable,
    /// A side-effecting step must be proposed and paused.
    Approval,
    /// The analytics against the world's ground truth.
    AnalyticsTruth,
}

impl Category {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Category::SingleTool => "single_tool",
            Category::MultiTool => "multi_tool",
            Category::FollowUp => "follow_up",
            Category::Paraphrase => "paraphrase",
            Category::Unanswerable => "unanswerable",
            Category::Approval => "approval",
            Category::AnalyticsTruth => "analytics_truth",
        }
    }
}

/// A user turn: a question, or a decision on a paused call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Turn {
    /// A question.
    Say(String),
    /// `{"approve": true, "arguments": {...}?}` or `{"reject": "reason"}`.
    Decide(Decision),
}

/// A decision on a paused side-effecting call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Approve it.
    #[serde(default)]
    pub approve: bool,
    /// With these arguments instead of the model's.
    #[serde(default)]
    pub arguments: Option<Value>,
    /// Reject it with this reason.
    #[serde(default)]
    pub reject: Option<String>,
}

/// A tool call that must (or must not) happen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolExpect {
    /// The tool's name.
    pub name: String,
    /// Arguments that must match (a subset; strings compare
    /// case-insensitively with `_`/`-` as spaces; `null` means absent).
    #[serde(default)]
    pub args: Map<String, Value>,
    /// Only in this turn (0-based); any turn when absent.
    #[serde(default)]
    pub turn: Option<usize>,
}

/// A literal or an oracle fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Expected<T> {
    /// An oracle fact.
    Fact(Fact),
    /// A literal.
    Value(T),
}

/// `number`: some number in the answer is within tolerance of the value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberExpect {
    /// The value (literal or fact).
    pub value: Expected<f64>,
    /// Relative tolerance [default 0.001].
    #[serde(default)]
    pub rel_tol: Option<f64>,
    /// Absolute tolerance [default 0.01].
    #[serde(default)]
    pub abs_tol: Option<f64>,
}

/// What a `set` names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetKind {
    /// Customers (found by e-mail or full name; compared by e-mail).
    #[default]
    Customer,
    /// Products (by name).
    Product,
}

/// Where a `set`'s predicted items are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetSource {
    /// The final answer's text.
    #[default]
    Answer,
    /// The tool results of the whole task.
    ToolResults,
}

/// `set`: the items named in the source against the expected ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetExpect {
    /// Expected items (literal ids/e-mails/names, or a fact).
    pub items: Expected<Vec<String>>,
    /// What the items are.
    #[serde(default)]
    pub kind: SetKind,
    /// Where to read the prediction.
    #[serde(default)]
    pub source: SetSource,
    /// Minimum precision [default 0].
    #[serde(default)]
    pub min_precision: f64,
    /// Minimum recall [default 0].
    #[serde(default)]
    pub min_recall: f64,
}

/// `approval`: the task's last turn paused on this tool, which never ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalExpect {
    /// The side-effecting tool.
    pub tool: String,
    /// Arguments that must match (subset).
    #[serde(default)]
    pub args: Map<String, Value>,
}

/// How the final answer is judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AnswerExpect {
    /// A number.
    Number(NumberExpect),
    /// A set of customers or products.
    Set(SetExpect),
    /// Strings (or text facts) that must all appear (case-insensitive).
    Contains(Vec<Expected<String>>),
    /// Says it cannot answer and calls no tool (`true`).
    Refuse(bool),
    /// A side-effecting call proposed and paused, not executed.
    Approval(ApprovalExpect),
}

/// What a task expects.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Calls that must happen.
    #[serde(default)]
    pub tools: Vec<ToolExpect>,
    /// Calls that must not happen.
    #[serde(default)]
    pub forbidden: Vec<ToolExpect>,
    /// The answer's check.
    #[serde(default)]
    pub answer: Option<AnswerExpect>,
}

/// One task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Unique id.
    pub id: String,
    /// Category.
    pub category: Category,
    /// Seed of the world it was written for.
    pub seed: u64,
    /// Paraphrase family (tasks of one intent).
    #[serde(default)]
    pub family: Option<String>,
    /// The user's turns, in order (the first is a question).
    pub turns: Vec<Turn>,
    /// Expectations.
    #[serde(default)]
    pub expect: Expect,
    /// Free text for people.
    #[serde(default)]
    pub notes: Option<String>,
}

/// A task as loaded, with the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedTask {
    /// The file.
    pub path: PathBuf,
    /// The task.
    pub task: Task,
}

fn task_err(path: &Path, task: Option<&str>, message: impl Into<String>) -> EvalError {
    EvalError::Task {
        path: path.to_path_buf(),
        task: task.map(str::to_owned),
        message: message.into(),
    }
}

/// Loads every `*.json` file of `dir` (sorted by name), checks ids are
/// unique, every task has turns starting with a question and names only
/// tools of `known_tools`.
///
/// # Errors
/// [`EvalError::Task`] naming the file, the task and the field.
pub fn load_dir(dir: &Path, known_tools: &[String]) -> Result<Vec<LoadedTask>, EvalError> {
    let entries = std::fs::read_dir(dir).map_err(|source| EvalError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(task_err(
            dir,
            None,
            "no *.json task files in this directory",
        ));
    }
    let mut out = Vec::new();
    let mut ids = BTreeSet::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| EvalError::Io {
            path: path.clone(),
            source,
        })?;
        for task in parse(&path, &text)? {
            check(&path, &task, known_tools)?;
            if !ids.insert(task.id.clone()) {
                return Err(task_err(&path, Some(&task.id), "duplicate task id"));
            }
            out.push(LoadedTask {
                path: path.clone(),
                task,
            });
        }
    }
    Ok(out)
}

/// Parses one file's text: a task object or a list of them.
///
/// # Errors
/// [`EvalError::Task`] with serde's message (field, line and column) and,
/// for a list, the failing element's index and id.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Task>, EvalError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| task_err(path, None, format!("not valid JSON: {e}")))?;
    let items = match value {
        Value::Array(items) => items,
        one @ Value::Object(_) => vec![one],
        _ => {
            return Err(task_err(
                path,
                None,
                "expected a task object or a list of tasks",
            ));
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let id = v.get("id").and_then(Value::as_str).map(str::to_owned);
            if let Some(e) = v.get("expect").and_then(|e| check_facts(e, "expect")) {
                return Err(task_err(
                    path,
                    Some(&id.clone().unwrap_or_else(|| format!("#{i}"))),
                    e,
                ));
            }
            serde_json::from_value::<Task>(v).map_err(|e| {
                task_err(
                    path,
                    Some(&id.clone().unwrap_or_else(|| format!("#{i}"))),
                    e.to_string(),
                )
            })
        })
        .collect()
}

/// The first fact object under `v` (at `at`) with an unknown name or key.
fn check_facts(v: &Value, at: &str) -> Option<String> {
    match v {
        Value::Object(o) => {
            if let Some(name) = o.get("fact") {
                let Some(name) = name.as_str() else {
                    return Some(format!("`{at}.fact` must be a string"));
                };
                let Some(keys) = crate::oracle::fact_keys(name) else {
                    return Some(format!("`{at}.fact`: unknown fact '{name}'"));
                };
                if let Some(k) = o
                    .keys()
                    .find(|k| *k != "fact" && !keys.contains(&k.as_str()))
                {
                    return Some(format!(
                        "`{at}.{k}`: fact '{name}' takes only {}",
                        if keys.is_empty() {
                            "no other key".to_owned()
                        } else {
                            keys.join(", ")
                        }
                    ));
                }
                return None;
            }
            o.iter()
                .find_map(|(k, x)| check_facts(x, &format!("{at}.{k}")))
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| check_facts(x, &format!("{at}[{i}]"))),
        _ => None,
    }
}

fn check(path: &Path, task: &Task, known_tools: &[String]) -> Result<(), EvalError> {
    let err = |m: String| task_err(path, Some(&task.id), m);
    if task.id.trim().is_empty() {
        return Err(err("`id` is empty".into()));
    }
    match task.turns.first() {
        None => return Err(err("`turns` is empty".into())),
        Some(Turn::Decide(_)) => return Err(err("`turns[0]` must be a question".into())),
        Some(Turn::Say(_)) => {}
    }
    for (i, t) in task.turns.iter().enumerate() {
        if let Turn::Decide(d) = t
            && d.approve == d.reject.is_some()
        {
            return Err(err(format!(
                "`turns[{i}]`: a decision is either {{\"approve\": true}} or {{\"reject\": \"reason\"}}"
            )));
        }
    }
    let known = |name: &str| known_tools.iter().any(|t| t == name);
    for (field, list) in [
        ("expect.tools", &task.expect.tools),
        ("expect.forbidden", &task.expect.forbidden),
    ] {
        for (i, t) in list.iter().enumerate() {
            if !known(&t.name) {
                return Err(err(format!(
                    "`{field}[{i}].name`: unknown tool '{}'",
                    t.name
                )));
            }
            if t.turn.is_some_and(|n| n >= task.turns.len()) {
                return Err(err(format!("`{field}[{i}].turn` is past the last turn")));
            }
        }
    }
    if let Some(AnswerExpect::Approval(a)) = &task.expect.answer
        && !known(&a.tool)
    {
        return Err(err(format!(
            "`expect.answer.approval.tool`: unknown tool '{}'",
            a.tool
        )));
    }
    if task.category == Category::Paraphrase && task.family.is_none() {
        return Err(err("a paraphrase task needs a `family`".into()));
    }
    Ok(())
}

/// `text` with every `{{C00017.field}}` replaced from `world`.
///
/// # Errors
/// A message naming the unknown customer or field.
pub fn expand(text: &str, world: &World) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("unclosed placeholder in '{text}'"))?;
        let inner = after[..end].trim();
        let (id, field) = inner
            .split_once('.')
            .ok_or_else(|| format!("placeholder '{{{{{inner}}}}}' is not ID.field"))?;
        let c = world
            .customer(id)
            .ok_or_else(|| format!("placeholder names unknown customer '{id}'"))?;
        out.push_str(&match field {
            "name" => c.full_name(),
            "first_name" => c.first_name.clone(),
            "last_name" => c.last_name.clone(),
            "email" => c.email.clone(),
            "city" => c.city.clone(),
            "country" => c.country.clone(),
            "phone" => c.phone.clone(),
            other => return Err(format!("placeholder field '{other}' is unknown")),
        });
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn expand_value(v: &Value, world: &World) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => Value::String(expand(s, world)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| expand_value(x, world))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), expand_value(x, world)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// A task with its placeholders expanded and its facts computed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolved {
    /// The task as written.
    pub task: Task,
    /// The turns to send.
    pub turns: Vec<Turn>,
    /// The tool expectations, expanded.
    pub tools: Vec<ToolExpect>,
    /// The forbidden calls, expanded.
    pub forbidden: Vec<ToolExpect>,
    /// The answer check with concrete values.
    pub answer: Option<ResolvedAnswer>,
}

/// An answer expectation with concrete values.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolvedAnswer {
    /// Number within `max(abs_tol, rel_tol × |value|)`.
    Number {
        /// Expected.
        value: f64,
        /// Relative tolerance.
        rel_tol: f64,
        /// Absolute tolerance.
        abs_tol: f64,
    },
    /// Set with floors.
    Set {
        /// Expected canonical items (customer e-mails or product names).
        items: Vec<String>,
        /// What they are.
        kind: SetKind,
        /// Where the prediction is read.
        source: SetSource,
        /// Floor.
        min_precision: f64,
        /// Floor.
        min_recall: f64,
    },
    /// All must appear.
    Contains(Vec<String>),
    /// Refusal.
    Refuse,
    /// Paused call.
    Approval {
        /// Tool.
        tool: String,
        /// Argument subset.
        args: Map<String, Value>,
    },
}

fn expand_tools(list: &[ToolExpect], world: &World) -> Result<Vec<ToolExpect>, String> {
    list.iter()
        .map(|t| {
            Ok(ToolExpect {
                name: t.name.clone(),
                args: match expand_value(&Value::Object(t.args.clone()), world)? {
                    Value::Object(o) => o,
                    _ => Map::new(),
                },
                turn: t.turn,
            })
        })
        .collect()
}

/// Resolves `loaded` against `world`.
///
/// # Errors
/// [`EvalError::Task`] naming the file and task: a placeholder or fact that
/// the world cannot answer, or a fact of the wrong kind.
pub fn resolve(loaded: &LoadedTask, world: &World) -> Result<Resolved, EvalError> {
    let task = &loaded.task;
    let err = |m: String| task_err(&loaded.path, Some(&task.id), m);
    let turns = task
        .turns
        .iter()
        .map(|t| match t {
            Turn::Say(s) => expand(s, world).map(Turn::Say),
            other => Ok(other.clone()),
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| err(format!("`turns`: {m}")))?;
    let tools =
        expand_tools(&task.expect.tools, world).map_err(|m| err(format!("`expect.tools`: {m}")))?;
    let forbidden = expand_tools(&task.expect.forbidden, world)
        .map_err(|m| err(format!("`expect.forbidden`: {m}")))?;
    let fact = |f: &Fact| {
        f.eval(world)
            .map_err(|e| err(format!("`expect.answer`: {e}")))
    };
    let answer = match &task.expect.answer {
        None => None,
        Some(AnswerExpect::Number(n)) => {
            let value = match &n.value {
                Expected::Value(v) => *v,
                Expected::Fact(f) => match fact(f)? {
                    FactValue::Number(v) => v,
                    _ => return Err(err(format!("fact '{}' is not a number", f.name()))),
                },
            };
            Some(ResolvedAnswer::Number {
                value,
                rel_tol: n.rel_tol.unwrap_or(0.001),
                abs_tol: n.abs_tol.unwrap_or(0.01),
            })
        }
        Some(AnswerExpect::Set(s)) => {
            let raw = match &s.items {
                Expected::Value(v) => v.clone(),
                Expected::Fact(f) => match fact(f)? {
                    FactValue::Set(v) => v,
                    _ => return Err(err(format!("fact '{}' is not a set", f.name()))),
                },
            };
            let mut items = Vec::with_capacity(raw.len());
            for r in raw {
                let r = expand(&r, world).map_err(|m| err(format!("`expect.answer.set`: {m}")))?;
                items.push(match s.kind {
                    SetKind::Customer => {
                        world.customer(&r).map(|c| c.email.clone()).ok_or_else(|| {
                            err(format!("`expect.answer.set`: unknown customer '{r}'"))
                        })?
                    }
                    SetKind::Product => world
                        .products
                        .iter()
                        .find(|p| p.name.eq_ignore_ascii_case(&r) || p.product_id == r)
                        .map(|p| p.name.clone())
                        .ok_or_else(|| {
                            err(format!("`expect.answer.set`: unknown product '{r}'"))
                        })?,
                });
            }
            Some(ResolvedAnswer::Set {
                items,
                kind: s.kind,
                source: s.source,
                min_precision: s.min_precision,
                min_recall: s.min_recall,
            })
        }
        Some(AnswerExpect::Contains(list)) => {
            let mut out = Vec::new();
            for c in list {
                out.push(match c {
                    Expected::Value(s) => expand(s, world)
                        .map_err(|m| err(format!("`expect.answer.contains`: {m}")))?,
                    Expected::Fact(f) => match fact(f)? {
                        FactValue::Text(t) => t,
                        _ => return Err(err(format!("fact '{}' is not text", f.name()))),
                    },
                });
            }
            Some(ResolvedAnswer::Contains(out))
        }
        Some(AnswerExpect::Refuse(true)) => Some(ResolvedAnswer::Refuse),
        Some(AnswerExpect::Refuse(false)) => None,
        Some(AnswerExpect::Approval(a)) => Some(ResolvedAnswer::Approval {
            tool: a.tool.clone(),
            args: match expand_value(&Value::Object(a.args.clone()), world)
                .map_err(|m| err(format!("`expect.answer.approval`: {m}")))?
            {
                Value::Object(o) => o,
                _ => Map::new(),
            },
        }),
    };
    Ok(Resolved {
        task: task.clone(),
        turns,
        tools,
        forbidden,
        answer,
    })
}
