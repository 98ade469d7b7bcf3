//! Renders the planner's event stream for a person (`aima ask --format
//! text`): the plan, each tool call and its outcome, the answer as it is
//! written, and interrupts or errors.

use aima_runtime::events::{EventBody, StepStatus};
use serde_json::Value;

/// Arguments as `key=value` pairs in key order; `null` values left out.
fn arguments(args: &Value) -> String {
    match args {
        Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A one-line summary of a tool result: the size of its lists and its
/// top-level scalar fields, so the person sees what came back without the
/// whole JSON.
fn summary(result: &Value) -> String {
    match result {
        Value::Object(map) => map
            .iter()
            .filter_map(|(k, v)| match v {
                Value::Array(items) => Some(format!("{k}: {} item(s)", items.len())),
                Value::Object(_) | Value::Null => None,
                Value::String(s) => Some(format!("{k}: {s}")),
                other => Some(format!("{k}: {other}")),
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// The text to print for `body`, or `None` for events a person need not see
/// (graph steps, and `final` when its tokens were already printed). Token
/// text is returned as-is (no newline) so the answer appears as it is
/// written; the caller ends the last line.
pub fn text(body: &EventBody, streamed_tokens: bool) -> Option<String> {
    match body {
        EventBody::Plan { steps } if steps.is_empty() => None,
        EventBody::Plan { steps } => {
            let mut out = String::from("Plan:\n");
            for (i, step) in steps.iter().enumerate() {
                out.push_str(&format!(
                    "  {}. {}({}) - {}\n",
                    i + 1,
                    step.tool,
                    arguments(&step.arguments),
                    step.purpose
                ));
            }
            Some(out)
        }
        EventBody::Step {
            status: StepStatus::Started | StepStatus::Finished,
            ..
        } => None,
        EventBody::ToolCall {
            tool, arguments: a, ..
        } => Some(format!("-> {tool}({})\n", arguments(a))),
        EventBody::ToolResult {
            tool,
            ok: true,
            result,
            ..
        } => Some(format!(
            "<- {tool}: {}\n",
            result.as_ref().map(summary).unwrap_or_default()
        )),
        EventBody::ToolResult {
            tool,
            ok: false,
            error,
            ..
        } => Some(format!(
            "<- {tool} failed: {}\n",
            error.as_deref().unwrap_or("no reason given")
        )),
        EventBody::Token { text } => Some(text.clone()),
        EventBody::Interrupt {
            interrupt_id,
            tool,
            arguments: a,
            reason,
            ..
        } => Some(format!(
            "\nPaused for approval ({interrupt_id}): {tool}({}) - {reason}\n",
            arguments(a)
        )),
        EventBody::Final { .. } if streamed_tokens => None,
        EventBody::Final { answer, .. } => Some(format!("\n{answer}\n")),
        EventBody::Error {
            code,
            message,
            retryable,
        } => Some(format!(
            "\nerror ({code}{}): {message}\n",
            if *retryable { ", retryable" } else { "" }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aima_runtime::events::PlanStep;
    use serde_json::json;

    #[test]
    fn plan_and_calls_show_arguments_without_nulls() {
        let plan = EventBody::Plan {
            steps: vec![PlanStep {
                tool: "revenue_over_time".into(),
                arguments: json!({"granularity": "month", "start": null}),
                purpose: "revenue by month".into(),
                parallel_group: 0,
            }],
        };
        assert_eq!(
            text(&plan, false).as_deref(),
            Some("Plan:\n  1. revenue_over_time(granularity=month) - revenue by month\n")
        );
        let result = EventBody::ToolResult {
            call_id: "c".into(),
            tool: "top_products".into(),
            ok: true,
            result: Some(json!({"products": [1, 2, 3], "total": 7.5})),
            error: None,
        };
        assert_eq!(
            text(&result, false).as_deref(),
            Some("<- top_products: products: 3 item(s), total: 7.5\n")
        );
    }

    #[test]
    fn final_is_printed_once_whether_or_not_tokens_streamed() {
        let fin = EventBody::Final {
            answer: "Revenue was 10.".into(),
            citations: vec![],
            usage: None,
        };
        assert_eq!(text(&fin, true), None);
        assert_eq!(text(&fin, false).as_deref(), Some("\nRevenue was 10.\n"));
        let step = EventBody::Step {
            node: "plan".into(),
            status: StepStatus::Started,
            detail: None,
        };
        assert_eq!(text(&step, false), None);
    }
}
