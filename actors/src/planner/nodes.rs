//! The planner graph's nodes and its router.

use std::sync::Arc;

use aima_runtime::events::{Citation, EventBody, PlanStep, Usage};
use aima_runtime::graph::{NodeContext, NodeError, Update};
use aima_runtime::llm::{LlmOptions, LlmOutput, LlmRequest, Message, TokenSink, ToolCall};
use aima_runtime::registry::ToolContext;
use aima_tools::Effect;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Approval, Deps, PlannerState};

type NodeResult = Result<Update, NodeError>;

/// Opens a turn: the reference date and fresh per-turn fields.
pub(super) async fn route(deps: Arc<Deps>, s: Arc<PlannerState>, ctx: NodeContext) -> NodeResult {
    let latest = deps
        .store
        .latest_order_at(ctx.organization_id())
        .await
        .map_err(|e| NodeError::transient(format!("reading the latest order date: {e}")))?;
    let reference = latest
        .map(|t| t.date_naive())
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    Ok(Update::new()
        .set("turn_start", s.messages.len().saturating_sub(1))
        .set("pending", Vec::<ToolCall>::new())
        .set("rounds", 0)
        .set("answer", Value::Null)
        .set("citations", Vec::<Citation>::new())
        .set(
            "usage",
            Usage {
                provider: deps.provider.name().to_string(),
                model: deps.provider.model().to_string(),
                ..Usage::default()
            },
        )
        .set("reference_date", reference))
}

/// Asks the model for tool calls or the answer (`plan` and `observe`).
pub(super) async fn model(deps: Arc<Deps>, s: Arc<PlannerState>, ctx: NodeContext) -> NodeResult {
    if s.rounds >= deps.max_rounds {
        let text = format!(
            "I stopped after {} rounds of tool calls without reaching an answer; \
             try a narrower question.",
            s.rounds
        );
        ctx.emit_token(text.clone());
        return Ok(Update::new()
            .set("answer", text)
            .set("pending", Vec::<ToolCall>::new()));
    }
    let request = LlmRequest {
        messages: s.messages.clone(),
        tools: deps.registry.specs().cloned().collect(),
        options: LlmOptions {
            reference_date: s.reference_date,
            ..LlmOptions::default()
        },
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(256);
    let sink = TokenSink::new(tx);
    let provider = deps.provider.clone();
    let complete = async move {
        let response = provider.complete(&request, &sink).await;
        drop(sink);
        response
    };
    let forward = async {
        let mut streamed = false;
        while let Some(token) = rx.recv().await {
            streamed = true;
            ctx.emit_token(token);
        }
        streamed
    };
    let (response, streamed) = tokio::join!(complete, forward);
    let response = response.map_err(|e| NodeError::fatal(format!("the model failed: {e}")))?;
    let usage = Usage {
        provider: s.usage.provider.clone(),
        model: s.usage.model.clone(),
        prompt_tokens: s.usage.prompt_tokens + response.usage.prompt_tokens,
        completion_tokens: s.usage.completion_tokens + response.usage.completion_tokens,
        cost_usd: match (s.usage.cost_usd, response.usage.cost_usd) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        },
    };
    let update = Update::new()
        .set("rounds", s.rounds + 1)
        .set("usage", usage);
    Ok(match response.output {
        LlmOutput::ToolCalls { calls, text } => {
            let steps: Vec<PlanStep> = calls
                .iter()
                .map(|c| PlanStep {
                    tool: c.name.clone(),
                    arguments: c.arguments.clone(),
                    purpose: purpose(&deps, &c.name),
                    parallel_group: s.rounds,
                })
                .collect();
            ctx.emit_custom(EventBody::Plan { steps });
            update
                .set(
                    "messages",
                    [Message::Assistant {
                        content: text,
                        tool_calls: calls.clone(),
                    }],
                )
                .set("pending", calls)
        }
        LlmOutput::Final { text } => {
            if !streamed {
                ctx.emit_token(text.clone());
            }
            update
                .set("messages", [Message::assistant_text(text.clone())])
                .set("answer", text)
                .set("pending", Vec::<ToolCall>::new())
        }
    })
}

/// The first sentence of a tool's description, as a plan step's purpose.
fn purpose(deps: &Deps, tool: &str) -> String {
    deps.registry
        .spec(tool)
        .map(|spec| aima_tools::describe::first_sentence(&spec.description))
        .unwrap_or_else(|| format!("{tool} (not in the catalog)"))
}

fn side_effecting(deps: &Deps, tool: &str) -> bool {
    deps.registry
        .spec(tool)
        .is_some_and(|spec| spec.effect == Effect::SideEffecting)
}

/// Where to go after a model call.
pub(super) fn after_model(deps: &Deps, s: &PlannerState) -> &'static str {
    if s.answer.is_some() || s.pending.is_empty() {
        "synthesize"
    } else if s.pending.iter().any(|c| side_effecting(deps, &c.name)) {
        "approve"
    } else {
        "act"
    }
}

/// Pauses for a person's decision on every side-effecting call of the round.
pub(super) async fn approve(deps: Arc<Deps>, s: Arc<PlannerState>, ctx: NodeContext) -> NodeResult {
    let mut run = Vec::new();
    let mut rejected = Vec::new();
    for call in &s.pending {
        if !side_effecting(&deps, &call.name) {
            run.push(call.clone());
            continue;
        }
        let decision: Approval = ctx.interrupt_as(json!({
            "call_id": call.id,
            "tool": call.name,
            "arguments": call.arguments,
            "reason": format!("{} changes data; it runs only if you approve", call.name),
        }))?;
        match decision {
            Approval::Approve { arguments } => {
                let mut call = call.clone();
                if let Some(arguments) = arguments {
                    call.arguments = arguments;
                }
                run.push(call);
            }
            Approval::Reject { reason } => {
                let why = reason.unwrap_or_else(|| "no reason given".into());
                let error = format!("the user rejected this call ({why}); it did not run");
                ctx.emit_custom(EventBody::ToolResult {
                    call_id: call.id.clone(),
                    tool: call.name.clone(),
                    ok: false,
                    result: None,
                    error: Some(error.clone()),
                });
                rejected.push(Message::tool_error(call, error));
            }
        }
    }
    Ok(Update::new().set("pending", run).set("messages", rejected))
}

/// Runs the round's calls in parallel through the registry.
pub(super) async fn act(deps: Arc<Deps>, s: Arc<PlannerState>, ctx: NodeContext) -> NodeResult {
    let tool_ctx = ToolContext {
        organization_id: ctx.organization_id(),
        thread_id: Some(ctx.thread_id().to_string()),
    };
    let calls = s.pending.iter().map(|call| {
        let (deps, tool_ctx, ctx) = (&deps, &tool_ctx, &ctx);
        async move {
            ctx.emit_custom(EventBody::ToolCall {
                call_id: call.id.clone(),
                tool: call.name.clone(),
                arguments: call.arguments.clone(),
            });
            let result = deps
                .registry
                .call(tool_ctx, &call.name, call.arguments.clone())
                .await;
            let (ok, result, error) = match result {
                Ok(value) => (true, Some(value), None),
                Err(e) => (false, None, Some(e.to_string())),
            };
            ctx.emit_custom(EventBody::ToolResult {
                call_id: call.id.clone(),
                tool: call.name.clone(),
                ok,
                result: result.clone(),
                error: error.clone(),
            });
            match error {
                Some(error) => Message::tool_error(call, error),
                None => Message::tool_result(call, result.unwrap_or(Value::Null)),
            }
        }
    });
    let messages = futures::future::join_all(calls).await;
    Ok(Update::new()
        .set("messages", messages)
        .set("pending", Vec::<ToolCall>::new()))
}

/// Fixes the answer and the successful tool results of the turn it cites.
pub(super) async fn synthesize(s: Arc<PlannerState>, _ctx: NodeContext) -> NodeResult {
    let citations: Vec<Citation> = s
        .messages
        .iter()
        .skip(s.turn_start)
        .filter_map(|m| match m {
            Message::Tool {
                tool_call_id,
                name,
                error: None,
                ..
            } => Some(Citation {
                call_id: tool_call_id.clone(),
                tool: name.clone(),
            }),
            _ => None,
        })
        .collect();
    let answer = s
        .answer
        .clone()
        .unwrap_or_else(|| "I have no answer to give.".to_string());
    Ok(Update::new()
        .set("answer", answer)
        .set("citations", citations))
}

/// Writes the turn's question and answer to the conversation's history.
pub(super) async fn persist(deps: Arc<Deps>, s: Arc<PlannerState>, ctx: NodeContext) -> NodeResult {
    let org = ctx.organization_id();
    let conversation = Uuid::parse_str(ctx.thread_id())
        .map_err(|e| NodeError::fatal(format!("thread id is not a conversation id: {e}")))?;
    let question = match s.messages.get(s.turn_start) {
        Some(Message::User { content }) => content.clone(),
        _ => String::new(),
    };
    let tools: Vec<&str> = s
        .messages
        .iter()
        .skip(s.turn_start)
        .filter_map(|m| match m {
            Message::Tool { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let store = &deps.store;
    let failed = |e| NodeError::transient(format!("saving the conversation: {e}"));
    store
        .append_message(org, conversation, "user", &question, &json!({}))
        .await
        .map_err(failed)?;
    store
        .append_message(
            org,
            conversation,
            "assistant",
            s.answer.as_deref().unwrap_or_default(),
            &json!({"tools": tools, "citations": s.citations, "usage": s.usage}),
        )
        .await
        .map_err(failed)?;
    Ok(Update::new())
}
