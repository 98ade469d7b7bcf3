//! The `offline` provider: deterministic, no network.
//!
//! Planning: the latest user message is split into clauses at conjunctions
//! (never inside a period like "between X and Y"); each clause is routed to
//! the best tool of the given catalog — keyword evidence from the tool's
//! name, description and examples plus hashed-embedding similarity — and its
//! arguments are filled from the tool's input schema (dates and periods,
//! enum words, counts, e-mails, quoted strings, names, places, segment
//! names). Several clauses give several tool calls, meant to run in
//! parallel. A message that routes nowhere but carries a new slot ("and
//! last month?", "what about the Champions?") re-runs the previous turn's
//! calls with that slot changed. Anything else gets an honest "I can't
//! answer that with the tools I have" listing what the tools can do.
//!
//! Answering: once tool results follow the calls, the answer is rendered
//! from templates, quoting numbers exactly and naming the tools used;
//! failed tools are reported as failed. Only user messages are ever routed:
//! text inside tool results never makes this provider call a tool.

mod answer;
mod dates;
mod embed;
mod route;
mod slots;
mod text;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use aima_tools::ToolSpec;
use async_trait::async_trait;
use serde_json::Value;

use super::{
    LlmError, LlmOutput, LlmProvider, LlmRequest, LlmResponse, Message, TokenSink, ToolCall, Usage,
};
use route::ToolIndex;

/// Model name reported in usage.
pub const MODEL: &str = "offline-router-v1";

/// The deterministic offline provider.
#[derive(Default)]
pub struct OfflineProvider {
    // Prepared catalogs by fingerprint (catalogs rarely change).
    indexes: Mutex<HashMap<u64, Arc<ToolIndex>>>,
}

impl std::fmt::Debug for OfflineProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineProvider").finish_non_exhaustive()
    }
}

/// What the offline provider decided for a message (for tests and traces).
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Call these tools.
    Calls(Vec<ToolCall>),
    /// Answer with this text (out of scope, or a required argument missing).
    Say(String),
}

impl OfflineProvider {
    /// A provider with an empty catalog cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn index(&self, tools: &[ToolSpec]) -> Arc<ToolIndex> {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for t in tools {
            for part in [t.name.as_str(), t.description.as_str()]
                .into_iter()
                .chain(t.examples.iter().map(String::as_str))
            {
                for b in part.bytes().chain([0u8]) {
                    h ^= u64::from(b);
                    h = h.wrapping_mul(0x0100_0000_01b3);
                }
            }
            for b in t.input_schema.to_string().bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        let mut cache = self.indexes.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() > 16 {
            cache.clear();
        }
        cache
            .entry(h)
            .or_insert_with(|| Arc::new(ToolIndex::new(tools)))
            .clone()
    }

    /// Plans the response to the latest user message of `request` (the
    /// routing half of [`LlmProvider::complete`]).
    ///
    /// Errors: [`LlmError::Template`] if an answer template fails.
    pub fn plan(&self, request: &LlmRequest) -> Result<Plan, LlmError> {
        let reference = request
            .options
            .reference_date
            .unwrap_or_else(|| chrono::Utc::now().date_naive());
        let turn = request
            .messages
            .iter()
            .filter(|m| matches!(m, Message::User { .. }))
            .count();
        let Some((last_user, question)) =
            request
                .messages
                .iter()
                .enumerate()
                .rev()
                .find_map(|(i, m)| match m {
                    Message::User { content } => Some((i, content.as_str())),
                    _ => None,
                })
        else {
            return Ok(Plan::Say(answer::out_of_scope(
                &request.tools,
                Some("There is no question to answer."),
            )?));
        };
        let index = self.index(&request.tools);
        let whole = slots::extract(question, reference);
        // The calls of the previous turn, for follow-ups.
        let previous = request.messages[..last_user]
            .iter()
            .rev()
            .find_map(|m| match m {
                Message::Assistant { tool_calls, .. } if !tool_calls.is_empty() => {
                    Some(tool_calls.clone())
                }
                _ => None,
            });

        // 0. Subjects outside the store's own data (share prices, the
        // weather, competitors' figures, calendars) get an honest refusal,
        // even where a word of them matches a tool.
        // Quoted text (a subject line "Back in stock") is not the question.
        let unquoted = whole
            .quoted
            .iter()
            .fold(question.to_owned(), |q, s| q.replace(s.as_str(), " "));
        if let Some(why) = text::outside_domain(&unquoted) {
            return Ok(Plan::Say(answer::out_of_scope(
                &request.tools,
                Some(&format!(
                    "{why}: I can only answer from this organization's own customers, orders, events and models."
                )),
            )?));
        }
        // "And the month before?", "the same month last year?": the
        // previous calls, their period moved (the shift's own "last year"
        // is not a period of its own).
        if let Some(previous) = &previous
            && let Some(shift) = dates::shift_of(question)
        {
            let calls: Vec<ToolCall> = previous
                .iter()
                .filter_map(|prev| shift_period(prev, shift))
                .enumerate()
                .map(|(i, mut c)| {
                    c.id = format!("call_{turn}_{}", i + 1);
                    c
                })
                .collect();
            if !calls.is_empty() {
                return Ok(Plan::Calls(calls));
            }
        }
        // A person the question points back to ("them", "this customer"):
        // named earlier in this message, or in the previous turn's calls.
        let referent = whole
            .emails
            .first()
            .or(whole.names.first())
            .cloned()
            .or_else(|| previous.as_deref().and_then(person_in_calls));
        // A group it points back to ("how many of them will churn?" after
        // the Champions, "list them" after customers in Sydney).
        let group_referent = whole
            .segments
            .first()
            .map(|s| Group::Segment(s.clone()))
            .or_else(|| previous.as_deref().and_then(group_in_calls));

        // 1. Route each clause.
        // A clause that routes nowhere ("... and amy@example.com") belongs
        // to the clause before it.
        let mut routed: Vec<(usize, String)> = Vec::new();
        let with_referent = |clause: &str| {
            let mut e = slots::extract(clause, reference);
            let unnamed = e.emails.is_empty() && e.names.is_empty();
            if unnamed && text::points_back(clause) {
                if let Some(r) = &referent {
                    if r.contains('@') {
                        e.emails.push(r.clone());
                    } else {
                        e.names.push(r.clone());
                    }
                } else if e.segments.is_empty() && e.places.is_empty() {
                    match &group_referent {
                        Some(Group::Segment(s)) => e.segments.push(s.clone()),
                        Some(Group::Place(p)) => e.places.push(p.clone()),
                        None => {}
                    }
                }
            } else if unnamed {
                e.context_person = referent.clone();
            }
            e
        };
        for clause in route::clauses(question, &whole.protected) {
            let e = with_referent(&clause);
            match index.best(&e) {
                Some(best) => routed.push((best.tool, clause)),
                None => {
                    // Routed again as one: "customers in Mumbai? how many
                    // are there?" asks for a count; but not to a tool that
                    // would drop an entity ("customers called Okafor? how
                    // many?" stays a search: the count has no name filter).
                    if let Some((tool, prev)) = routed.last_mut() {
                        prev.push_str(" and ");
                        prev.push_str(&clause);
                        let e = with_referent(prev);
                        if let Some(best) = index.best(&e)
                            && slots::entity_fit(&index.specs[best.tool].input_schema, &e).dropped
                                == 0
                        {
                            *tool = best.tool;
                        }
                    }
                }
            }
        }
        let entities: Vec<slots::Entities> = routed.iter().map(|(_, c)| with_referent(c)).collect();
        share_parallel_tools(&index, &mut routed, &entities);
        // A period shared by clauses ("revenue by month and the top 3
        // products in 2023") applies to clauses without one, unless the
        // clause holding it is a question of its own ("..., and what were
        // sales last quarter?").
        // The first clause's period always carries forward ("revenue last
        // month and the top products").
        let shared = routed
            .iter()
            .enumerate()
            .map(|(i, (_, clause))| (i, clause, slots::extract(clause, reference).period))
            .find(|(_, _, p)| p.is_some())
            .filter(|(i, clause, _)| *i == 0 || !starts_question(clause))
            .and_then(|(_, _, p)| p);
        let mut routed: Vec<(usize, slots::Entities)> = routed
            .into_iter()
            .map(|(tool, clause)| {
                let mut e = with_referent(&clause);
                if e.period.is_none() {
                    e.period = shared;
                }
                (tool, e)
            })
            .collect();
        if routed.is_empty() {
            let mut e = with_referent(question);
            e.protected = whole.protected.clone();
            if let Some(best) = index.best(&e) {
                routed.push((best.tool, e));
            }
        }

        if !routed.is_empty() {
            let mut calls: Vec<ToolCall> = Vec::new();
            let mut first_missing: Option<(usize, Vec<String>)> = None;
            for (tool, e) in &routed {
                let spec = &index.specs[*tool];
                // "2025 versus the first half of 2026", "Sydney versus
                // Melbourne": one call per period or place compared.
                for e in slots::compared(&spec.input_schema, e) {
                    let filled = slots::fill(&spec.input_schema, &e);
                    if !filled.missing.is_empty() {
                        first_missing.get_or_insert((*tool, filled.missing));
                        continue;
                    }
                    let arguments = Value::Object(filled.args);
                    if calls
                        .iter()
                        .any(|c| c.name == spec.name && c.arguments == arguments)
                    {
                        continue;
                    }
                    calls.push(ToolCall {
                        id: format!("call_{turn}_{}", calls.len() + 1),
                        name: spec.name.clone(),
                        arguments,
                    });
                }
            }
            // "what about revenue?" after "top products last month": a
            // follow-up naming a new tool keeps the earlier period; the same
            // tool asked again ("rank them by units instead") keeps the
            // earlier arguments the new question does not set.
            if whole.period.is_none()
                && let Some(previous) = &previous
            {
                let follow_up = is_follow_up(question);
                for call in &mut calls {
                    if let Some(prev) = previous.iter().find(|p| p.name == call.name) {
                        inherit_arguments(call, prev);
                    } else if follow_up {
                        inherit_period(call, previous);
                    }
                }
            }
            if !calls.is_empty() {
                return Ok(Plan::Calls(calls));
            }
            if let Some((tool, missing)) = first_missing {
                return Ok(Plan::Say(answer::missing_slot(
                    &index.specs[tool],
                    &missing,
                )?));
            }
        }

        // 2. A follow-up: re-run the previous turn's calls with the new slots.
        if let Some(previous) = previous {
            let mut calls = Vec::new();
            for prev in previous {
                let Some(spec) = index.specs.iter().find(|s| s.name == prev.name) else {
                    continue;
                };
                let changes = slots::overrides(&spec.input_schema, &whole);
                if changes.is_empty() {
                    continue;
                }
                let mut args = answer::as_object(&prev.arguments);
                for (k, v) in changes {
                    if v.is_null() {
                        args.remove(&k);
                    } else {
                        args.insert(k, v);
                    }
                }
                calls.push(ToolCall {
                    id: format!("call_{turn}_{}", calls.len() + 1),
                    name: prev.name.clone(),
                    arguments: Value::Object(args),
                });
            }
            if !calls.is_empty() {
                return Ok(Plan::Calls(calls));
            }
        }

        Ok(Plan::Say(answer::out_of_scope(&request.tools, None)?))
    }
}

/// Whether a message reads as a follow-up ("and ...", "what about ...").
fn is_follow_up(question: &str) -> bool {
    let q = question.trim_start().to_lowercase();
    [
        "and ",
        "what about",
        "how about",
        "same for",
        "same but",
        "now ",
        "also ",
    ]
    .iter()
    .any(|cue| q.starts_with(cue))
}

/// Fills the arguments `call` leaves out from `previous`, a call of the same
/// tool in the previous turn.
fn inherit_arguments(call: &mut ToolCall, previous: &ToolCall) {
    let (Some(args), Some(prev)) = (
        call.arguments.as_object_mut(),
        previous.arguments.as_object(),
    ) else {
        return;
    };
    for (k, v) in prev {
        args.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

/// The person a call was about: its `customer`, `email` or first
/// `customers` argument.
fn person_in_calls(calls: &[ToolCall]) -> Option<String> {
    calls.iter().find_map(|c| {
        let args = c.arguments.as_object()?;
        ["customer", "email", "customer_id"]
            .iter()
            .find_map(|k| args.get(*k).and_then(Value::as_str))
            .or_else(|| {
                args.get("customers")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .and_then(Value::as_str)
            })
            .map(str::to_owned)
    })
}

/// A group of customers a follow-up can point back to ("them").
enum Group {
    /// A persona segment, as named.
    Segment(String),
    /// A city or country, as named.
    Place(String),
}

/// The first segment, city or country among the arguments of `calls`.
fn group_in_calls(calls: &[ToolCall]) -> Option<Group> {
    let arg = |k: &str| {
        calls
            .iter()
            .find_map(|c| c.arguments.get(k).and_then(Value::as_str))
            .map(str::to_owned)
    };
    arg("segment")
        .map(Group::Segment)
        .or_else(|| arg("city").or_else(|| arg("country")).map(Group::Place))
}

/// Parallel clauses ask the same thing of different entities: "customers in
/// Berlin and customers in Munich: how many each?". A clause whose words are
/// a strict subset of another's, short of only the shape of the answer ("how
/// many", "list"), goes to the fuller clause's tool when that tool is
/// read-only and takes the clause's entities. `entities[i]` belongs to
/// `routed[i]`.
fn share_parallel_tools(
    index: &ToolIndex,
    routed: &mut [(usize, String)],
    entities: &[slots::Entities],
) {
    let words: Vec<HashSet<String>> = entities
        .iter()
        .map(|e| text::content_tokens(&e.rest).into_iter().collect())
        .collect();
    for i in 0..routed.len() {
        let fuller = (0..routed.len()).find(|&j| {
            let tool = routed[j].0;
            j != i
                && tool != routed[i].0
                && index.specs[tool].effect != aima_tools::Effect::SideEffecting
                && words[i].len() < words[j].len()
                && words[i].is_subset(&words[j])
                && words[j].difference(&words[i]).all(|w| text::is_operator(w))
                && slots::entity_fit(&index.specs[tool].input_schema, &entities[i]).dropped == 0
        });
        if let Some(j) = fuller {
            routed[i].0 = routed[j].0;
        }
    }
}

/// `call` with its `start`/`end` period moved by `shift`; `None` when the
/// call has no bounded period.
fn shift_period(call: &ToolCall, shift: dates::Shift) -> Option<ToolCall> {
    let args = call.arguments.as_object()?;
    let day = |k: &str| {
        args.get(k)
            .and_then(Value::as_str)
            .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    };
    let period = dates::Period {
        start: Some(day("start")?),
        end: Some(day("end")?),
    };
    let moved = shift.apply(period)?;
    let mut out = args.clone();
    for (k, d) in [("start", moved.start), ("end", moved.end)] {
        if let Some(d) = d {
            out.insert(k.to_owned(), Value::String(d.to_string()));
        }
    }
    Some(ToolCall {
        id: call.id.clone(),
        name: call.name.clone(),
        arguments: Value::Object(out),
    })
}

/// Copies the previous turn's period arguments (same names, e.g. `start`,
/// `end`) into a call that has none of its own.
fn inherit_period(call: &mut ToolCall, previous: &[ToolCall]) {
    const PERIOD_KEYS: [&str; 6] = ["start", "end", "from", "to", "start_date", "end_date"];
    let Some(args) = call.arguments.as_object_mut() else {
        return;
    };
    if PERIOD_KEYS.iter().any(|k| args.contains_key(*k)) {
        return;
    }
    for prev in previous {
        if let Some(prev_args) = prev.arguments.as_object() {
            for k in PERIOD_KEYS {
                if let Some(v) = prev_args.get(k) {
                    args.insert(k.to_owned(), v.clone());
                }
            }
        }
    }
}

/// Whether a clause opens a question of its own ("what were sales ...").
fn starts_question(clause: &str) -> bool {
    let first = clause
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    matches!(
        first.as_str(),
        "what"
            | "whats"
            | "how"
            | "which"
            | "who"
            | "when"
            | "where"
            | "did"
            | "do"
            | "does"
            | "is"
            | "are"
            | "was"
            | "were"
            | "can"
            | "could"
            | "would"
            | "will"
    )
}

/// The tool calls of the current turn and their results, when the
/// conversation ends with results (the answer phase).
fn results_of_turn(messages: &[Message]) -> Option<Vec<(ToolCall, Result<Value, String>)>> {
    let last_user = messages
        .iter()
        .rposition(|m| matches!(m, Message::User { .. }))?;
    let after = &messages[last_user + 1..];
    if !matches!(after.last(), Some(Message::Tool { .. })) {
        return None;
    }
    let mut out: Vec<(ToolCall, Result<Value, String>)> = Vec::new();
    for m in after {
        if let Message::Assistant { tool_calls, .. } = m {
            for c in tool_calls {
                out.retain(|(o, _)| o.id != c.id);
                out.push((c.clone(), Err("no result came back".into())));
            }
        }
        if let Message::Tool {
            tool_call_id,
            name,
            content,
            error,
        } = m
        {
            let result = match error {
                Some(e) => Err(e.clone()),
                None => Ok(content.clone()),
            };
            match out.iter_mut().find(|(c, _)| &c.id == tool_call_id) {
                Some(slot) => slot.1 = result,
                None => out.push((
                    ToolCall {
                        id: tool_call_id.clone(),
                        name: name.clone(),
                        arguments: Value::Object(Default::default()),
                    },
                    result,
                )),
            }
        }
    }
    Some(out)
}

async fn stream_text(sink: &TokenSink, text: &str) {
    let mut start = 0;
    for (i, ch) in text.char_indices() {
        if ch == ' ' || ch == '\n' {
            sink.send(&text[start..=i]).await;
            start = i + 1;
        }
    }
    sink.send(&text[start..]).await;
}

#[async_trait]
impl LlmProvider for OfflineProvider {
    fn name(&self) -> &str {
        "offline"
    }

    fn model(&self) -> &str {
        MODEL
    }

    async fn complete(
        &self,
        request: &LlmRequest,
        sink: &TokenSink,
    ) -> Result<LlmResponse, LlmError> {
        let usage = Usage {
            provider: "offline".into(),
            model: MODEL.into(),
            prompt_tokens: 0,
            completion_tokens: 0,
            cost_usd: Some(0.0),
        };
        let output = if let Some(results) = results_of_turn(&request.messages) {
            let text = answer::answer(&results)?;
            stream_text(sink, &text).await;
            LlmOutput::Final { text }
        } else {
            match self.plan(request)? {
                Plan::Calls(calls) => LlmOutput::ToolCalls { calls, text: None },
                Plan::Say(text) => {
                    stream_text(sink, &text).await;
                    LlmOutput::Final { text }
                }
            }
        };
        Ok(LlmResponse { output, usage })
    }
}
