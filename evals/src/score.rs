//! Scorers: a task's transcript (the planner's events per turn) against its
//! [`Resolved`] expectations. Each gives a [`Check`]; a run passes when every
//! check passes.
//!
//! - `tools`: each expected call happened (tool name, arguments a subset; a
//!   call paused for approval counts as proposed); no forbidden call did.
//! - `number`: some number written in the final answer (`1,234.50`,
//!   `23.5%` also read as 0.235) is within tolerance, and the task called
//!   at least one tool.
//! - `set`: the customers (by e-mail or full name) or products named in the
//!   answer (or in the tool results) against the expected set: precision
//!   and recall at or above the floors, and at least one item named.
//! - `contains`: every string appears in the answer (case-insensitive).
//! - `refuse`: no tool was called and the answer says it cannot help.
//! - `approval`: the last turn ended paused on the tool (arguments a
//!   subset) and that tool never ran.

use std::collections::BTreeSet;

use aima_runtime::events::{Event, EventBody};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::task::{Resolved, ResolvedAnswer, SetKind, SetSource, ToolExpect};
use crate::world::World;

/// One turn of a run: what was sent and the events that came back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TurnRecord {
    /// The question, or the decision as JSON.
    pub input: String,
    /// The planner's events, in order (without `token` events: the
    /// `final` event holds the whole answer).
    pub events: Vec<Event>,
    /// An error that kept the turn from starting, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A scorer's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// `tools`, `forbidden`, `number`, `set`, `contains`, `refuse`,
    /// `approval`.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why, for people.
    pub detail: String,
}

fn check(name: &str, passed: bool, detail: impl Into<String>) -> Check {
    Check {
        name: name.to_owned(),
        passed,
        detail: detail.into(),
    }
}

/// A proposed or made tool call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Turn index.
    pub turn: usize,
    /// Tool name.
    pub tool: String,
    /// Arguments.
    pub arguments: Value,
}

/// Every tool call of the transcript (`tool_call` events and calls paused
/// by `interrupt`), once per call id.
pub fn calls(turns: &[TurnRecord]) -> Vec<Call> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, t) in turns.iter().enumerate() {
        for e in &t.events {
            let (id, tool, arguments) = match &e.body {
                EventBody::ToolCall {
                    call_id,
                    tool,
                    arguments,
                } => (call_id, tool, arguments),
                EventBody::Interrupt {
                    call_id,
                    tool,
                    arguments,
                    ..
                } => (call_id, tool, arguments),
                _ => continue,
            };
            if seen.insert(id.clone()) {
                out.push(Call {
                    turn: i,
                    tool: tool.clone(),
                    arguments: arguments.clone(),
                });
            }
        }
    }
    out
}

/// The final answer of the last turn (empty when it did not answer).
pub fn final_answer(turns: &[TurnRecord]) -> String {
    turns
        .last()
        .and_then(|t| {
            t.events.iter().rev().find_map(|e| match &e.body {
                EventBody::Final { answer, .. } => Some(answer.clone()),
                _ => None,
            })
        })
        .unwrap_or_default()
}

fn norm_str(s: &str) -> String {
    s.trim()
        .to_lowercase()
        .replace(['\'', '’'], "")
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `actual` satisfies `expected`: strings equal ignoring case,
/// apostrophes, `_`/`-` and extra spaces; numbers equal; arrays: every expected element
/// matches some actual one; objects: a subset; `null`: absent or null.
pub fn value_matches(expected: &Value, actual: Option<&Value>) -> bool {
    match (expected, actual) {
        (Value::Null, None | Some(Value::Null)) => true,
        (_, None) => false,
        (Value::String(e), Some(Value::String(a))) => norm_str(e) == norm_str(a),
        (Value::Number(e), Some(Value::Number(a))) => match (e.as_f64(), a.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() < 1e-9,
            _ => false,
        },
        (Value::Array(e), Some(Value::Array(a))) => e
            .iter()
            .all(|x| a.iter().any(|y| value_matches(x, Some(y)))),
        (Value::Object(e), Some(Value::Object(a))) => args_match(e, a),
        (e, Some(a)) => e == a,
    }
}

/// Whether every key of `expected` matches in `actual` ([`value_matches`]).
///
/// A `country` argument also matches its other spelling: the tools compare
/// countries by ISO code, so "France", "FRA" and "FR" are the same argument.
pub fn args_match(expected: &Map<String, Value>, actual: &Map<String, Value>) -> bool {
    expected.iter().all(|(k, v)| {
        value_matches(v, actual.get(k)) || (k == "country" && same_country(v, actual.get(k)))
    })
}

fn same_country(expected: &Value, actual: Option<&Value>) -> bool {
    let code = |v: &Value| v.as_str().and_then(aima_runtime::geo::country_code);
    matches!((code(expected), actual.and_then(code)), (Some(e), Some(a)) if e == a)
}

fn call_matches(want: &ToolExpect, call: &Call) -> bool {
    let empty = Map::new();
    call.tool == want.name
        && want.turn.is_none_or(|t| t == call.turn)
        && args_match(&want.args, call.arguments.as_object().unwrap_or(&empty))
}

fn describe(calls: &[Call]) -> String {
    if calls.is_empty() {
        return "no tool calls".into();
    }
    calls
        .iter()
        .map(|c| format!("turn {}: {}({})", c.turn, c.tool, c.arguments))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The `tools` and `forbidden` checks.
pub fn score_tools(
    expected: &[ToolExpect],
    forbidden: &[ToolExpect],
    calls: &[Call],
) -> Vec<Check> {
    let mut out = Vec::new();
    if !expected.is_empty() {
        let missing: Vec<String> = expected
            .iter()
            .filter(|w| !calls.iter().any(|c| call_matches(w, c)))
            .map(|w| format!("{}({})", w.name, Value::Object(w.args.clone())))
            .collect();
        out.push(check(
            "tools",
            missing.is_empty(),
            if missing.is_empty() {
                format!("all expected calls made: {}", describe(calls))
            } else {
                format!("missing {}; made: {}", missing.join(", "), describe(calls))
            },
        ));
    }
    if !forbidden.is_empty() {
        let hit: Vec<String> = calls
            .iter()
            .filter(|c| forbidden.iter().any(|f| call_matches(f, c)))
            .map(|c| format!("{}({})", c.tool, c.arguments))
            .collect();
        out.push(check(
            "forbidden",
            hit.is_empty(),
            if hit.is_empty() {
                "no forbidden call".to_owned()
            } else {
                format!("forbidden calls made: {}", hit.join(", "))
            },
        ));
    }
    out
}

/// Numbers written in `text`, in order: `1,234.50` reads 1234.5, a number
/// followed by `%` is also read divided by 100.
pub fn numbers_in(text: &str) -> Vec<f64> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '.'));
        if !starts {
            i += 1;
            continue;
        }
        let negative = i > 0 && chars[i - 1] == '-' && (i < 2 || !chars[i - 2].is_alphanumeric());
        let mut s = String::new();
        let mut j = i;
        let mut seen_dot = false;
        while j < chars.len() {
            let c = chars[j];
            let next_digit = chars.get(j + 1).is_some_and(char::is_ascii_digit);
            if c.is_ascii_digit() {
                s.push(c);
            } else if c == ',' && next_digit && !seen_dot {
                // thousands separator
            } else if c == '.' && next_digit && !seen_dot {
                seen_dot = true;
                s.push('.');
            } else {
                break;
            }
            j += 1;
        }
        if let Ok(mut v) = s.parse::<f64>() {
            if negative {
                v = -v;
            }
            out.push(v);
            if chars.get(j) == Some(&'%') {
                out.push(v / 100.0);
            }
        }
        i = j;
    }
    out
}

/// The `number` check.
pub fn score_number(answer: &str, value: f64, rel_tol: f64, abs_tol: f64) -> Check {
    let tol = abs_tol.max(rel_tol * value.abs());
    let found = numbers_in(answer);
    let hit = found.iter().find(|x| (*x - value).abs() <= tol);
    check(
        "number",
        hit.is_some(),
        match hit {
            Some(x) => format!("found {x} (expected {value} ± {tol})"),
            None => format!(
                "expected {value} ± {tol}; the answer has {}",
                if found.is_empty() {
                    "no numbers".to_owned()
                } else {
                    format!("{found:?}")
                }
            ),
        },
    )
}

/// Whether `needle` (lowercase) occurs in `hay` (lowercase) between word
/// boundaries.
fn contains_word(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(pos) = hay[from..].find(needle) {
        let start = from + pos;
        let end = start + needle.len();
        let before = hay[..start].chars().next_back();
        let after = hay[end..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
        if boundary(before) && boundary(after) {
            return true;
        }
        from = start + needle.len().max(1);
        while from < hay.len() && !hay.is_char_boundary(from) {
            from += 1;
        }
        if from >= hay.len() {
            break;
        }
    }
    false
}

/// The items of `kind` that `text` names (canonical: e-mails / product
/// names).
pub fn named_items(text: &str, kind: SetKind, world: &World) -> BTreeSet<String> {
    let hay = text.to_lowercase();
    match kind {
        SetKind::Customer => world
            .customers
            .iter()
            .filter(|c| {
                contains_word(&hay, &c.email) || contains_word(&hay, &c.full_name().to_lowercase())
            })
            .map(|c| c.email.clone())
            .collect(),
        SetKind::Product => world
            .products
            .iter()
            .filter(|p| contains_word(&hay, &p.name.to_lowercase()))
            .map(|p| p.name.clone())
            .collect(),
    }
}

/// The `set` check of `predicted` against `expected`.
pub fn score_set(
    predicted: &BTreeSet<String>,
    expected: &[String],
    min_precision: f64,
    min_recall: f64,
) -> Check {
    let expected: BTreeSet<&String> = expected.iter().collect();
    let hits = predicted.iter().filter(|p| expected.contains(p)).count();
    let precision = if predicted.is_empty() {
        0.0
    } else {
        hits as f64 / predicted.len() as f64
    };
    let recall = if expected.is_empty() {
        1.0
    } else {
        hits as f64 / expected.len() as f64
    };
    let passed = !predicted.is_empty() && precision >= min_precision && recall >= min_recall;
    check(
        "set",
        passed,
        format!(
            "{} named, {hits} expected among them: precision {precision:.3} (floor {min_precision}), recall {recall:.3} (floor {min_recall}) of {} expected",
            predicted.len(),
            expected.len()
        ),
    )
}

/// Phrases that say the assistant cannot do what was asked.
pub const REFUSAL_MARKERS: &[&str] = &[
    "can't",
    "cannot",
    "can not",
    "unable",
    "not able",
    "don't have",
    "do not have",
    "no tool",
    "not available",
    "outside",
    "not possible",
    "i'm sorry",
    "i am sorry",
];

/// The `refuse` check.
pub fn score_refuse(answer: &str, calls: &[Call]) -> Check {
    let lower = answer.to_lowercase().replace('’', "'");
    let says = REFUSAL_MARKERS.iter().find(|m| lower.contains(*m));
    let passed = calls.is_empty() && says.is_some();
    check(
        "refuse",
        passed,
        match (calls.is_empty(), says) {
            (true, Some(m)) => format!("no tool called; the answer says \"{m}\""),
            (false, _) => format!("tools were called: {}", describe(calls)),
            (true, None) => "no tool called, but the answer does not say it cannot help".into(),
        },
    )
}

/// The `approval` check.
pub fn score_approval(turns: &[TurnRecord], tool: &str, args: &Map<String, Value>) -> Check {
    let empty = Map::new();
    let paused = turns.last().and_then(|t| {
        t.events.iter().rev().find_map(|e| match &e.body {
            EventBody::Interrupt {
                tool: t, arguments, ..
            } => Some((t.clone(), arguments.clone())),
            _ => None,
        })
    });
    let ran = turns
        .iter()
        .flat_map(|t| &t.events)
        .any(|e| matches!(&e.body, EventBody::ToolResult { tool: t, .. } if t == tool));
    let ended_paused = turns
        .last()
        .and_then(|t| t.events.last())
        .is_some_and(|e| matches!(e.body, EventBody::Interrupt { .. }));
    let (passed, detail) = match paused {
        _ if ran => (false, format!("{tool} was executed")),
        Some((t, a)) if t == tool && ended_paused => {
            if args_match(args, a.as_object().unwrap_or(&empty)) {
                (true, format!("paused on {tool}({a})"))
            } else {
                (
                    false,
                    format!(
                        "paused on {tool}({a}) but expected arguments {}",
                        Value::Object(args.clone())
                    ),
                )
            }
        }
        Some((t, _)) => (false, format!("paused on {t}, expected {tool}")),
        None => (false, format!("no pause for approval (expected {tool})")),
    };
    check("approval", passed, detail)
}

/// Every check of `task` on `turns`.
pub fn score(task: &Resolved, turns: &[TurnRecord], world: &World) -> Vec<Check> {
    let calls = calls(turns);
    let mut out = score_tools(&task.tools, &task.forbidden, &calls);
    let answer = final_answer(turns);
    match &task.answer {
        None => {}
        Some(ResolvedAnswer::Number {
            value,
            rel_tol,
            abs_tol,
        }) => {
            // A number is only credited to an answer grounded in data: one
            // that follows no tool call (a refusal listing "30, 60 or 90
            // days") cannot pass by chance.
            let mut c = score_number(&answer, *value, *rel_tol, *abs_tol);
            if calls.is_empty() {
                c.passed = false;
                c.detail = format!("no tool was called; {}", c.detail);
            }
            out.push(c);
        }
        Some(ResolvedAnswer::Set {
            items,
            kind,
            source,
            min_precision,
            min_recall,
        }) => {
            let text = match source {
                SetSource::Answer => answer.clone(),
                SetSource::ToolResults => turns
                    .iter()
                    .flat_map(|t| &t.events)
                    .filter_map(|e| match &e.body {
                        EventBody::ToolResult {
                            result: Some(r), ..
                        } => Some(r.to_string()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            };
            let predicted = named_items(&text, *kind, world);
            out.push(score_set(&predicted, items, *min_precision, *min_recall));
        }
        Some(ResolvedAnswer::Contains(list)) => {
            let lower = answer.to_lowercase();
            let missing: Vec<&String> = list
                .iter()
                .filter(|s| !lower.contains(&s.to_lowercase()))
                .collect();
            out.push(check(
                "contains",
                missing.is_empty(),
                if missing.is_empty() {
                    "all strings present".to_owned()
                } else {
                    format!("missing {missing:?}")
                },
            ));
        }
        Some(ResolvedAnswer::Refuse) => out.push(score_refuse(&answer, &calls)),
        Some(ResolvedAnswer::Approval { tool, args }) => {
            out.push(score_approval(turns, tool, args));
        }
    }
    // A turn that failed to start or ended in an error fails the run
    // unless the task expects a pause or refusal that already judged it.
    for (i, t) in turns.iter().enumerate() {
        if let Some(e) = &t.error {
            out.push(check("turn", false, format!("turn {i} did not start: {e}")));
        }
    }
    if out.is_empty() {
        let answered = !answer.is_empty();
        out.push(check(
            "answered",
            answered,
            if answered { "answered" } else { "no answer" },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_with_separators_and_percentages() {
        assert_eq!(
            numbers_in("Revenue was $1,234.50 in 2026-05 (12.5% up), -3 items."),
            vec![1234.5, 2026.0, 5.0, 12.5, 0.125, -3.0]
        );
        assert_eq!(numbers_in("v1.2"), Vec::<f64>::new());
        assert_eq!(numbers_in("1,2"), vec![12.0]);
    }

    #[test]
    fn words_need_boundaries() {
        assert!(contains_word("hi ben chen!", "ben chen"));
        assert!(!contains_word("hi reuben chen", "ben chen"));
        assert!(!contains_word("ben cheng", "ben chen"));
    }

    #[test]
    fn values_match_loosely_but_not_wrongly() {
        use serde_json::json;
        assert!(value_matches(
            &json!("Champions"),
            Some(&json!("champions"))
        ));
        assert!(value_matches(&json!("at_risk"), Some(&json!("At Risk"))));
        assert!(value_matches(
            &json!("cant_lose_them"),
            Some(&json!("Can't Lose Them"))
        ));
        assert!(!value_matches(&json!("at_risk"), Some(&json!("lost"))));
        let args = |c: &str| {
            json!({ "country": c })
                .as_object()
                .cloned()
                .unwrap_or_default()
        };
        assert!(args_match(&args("FR"), &args("France")));
        assert!(args_match(&args("United Kingdom"), &args("gb")));
        assert!(!args_match(&args("FR"), &args("Germany")));
        assert!(value_matches(&json!(5), Some(&json!(5.0))));
        assert!(value_matches(&json!(null), None));
        assert!(!value_matches(&json!("x"), None));
        assert!(value_matches(&json!(["a"]), Some(&json!(["b", "A"]))));
    }
}
