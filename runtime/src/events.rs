//! The event stream: one versioned JSON protocol for everything the planner
//! tells its clients (browser, SSE, Slack, Discord, `aima ask --format jsonl`,
//! AIMA-Bench).
//!
//! Every event is one JSON object with the envelope fields `v` (the protocol
//! version, [`PROTOCOL_VERSION`]), `thread_id`, `seq` (1, 2, ... per thread,
//! so a client that reconnects asks for the events after the last `seq` it
//! saw) and `at` (RFC 3339, UTC), plus a `type` and that type's fields
//! ([`EventBody`]). The JSON Schema is published at `runtime/schema/events.v1.json`
//! and a test keeps it equal to [`schema`].

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The protocol version carried in every event's `v`. Bumped on any change a
/// client could notice (a renamed or removed field or type); adding an
/// optional field or a new type is not a change of version.
pub const PROTOCOL_VERSION: u32 = 1;

/// One event of a thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    /// Protocol version ([`PROTOCOL_VERSION`]).
    pub v: u32,
    /// The conversation thread.
    pub thread_id: String,
    /// Position in the thread's stream: 1 for its first event, then +1.
    pub seq: u64,
    /// When the event was emitted.
    pub at: DateTime<Utc>,
    /// The event's type and fields.
    #[serde(flatten)]
    pub body: EventBody,
}

impl Event {
    /// An event of the current protocol version stamped now.
    pub fn new(thread_id: impl Into<String>, seq: u64, body: EventBody) -> Event {
        Event {
            v: PROTOCOL_VERSION,
            thread_id: thread_id.into(),
            seq,
            at: Utc::now(),
            body,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    /// The planner's plan for the question: the tool calls it intends to make.
    Plan {
        /// The steps, in order (steps with the same `parallel_group` run
        /// together).
        steps: Vec<PlanStep>,
    },
    /// A graph node started or finished.
    Step {
        /// The node's name (`route`, `plan`, `act`, ...).
        node: String,
        /// Started or finished.
        status: StepStatus,
        /// A short human description, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A tool is being called.
    ToolCall {
        /// Identifies the call; its `tool_result` carries the same id.
        call_id: String,
        /// The tool's name.
        tool: String,
        /// The arguments, as validated against the tool's input schema.
        arguments: Value,
    },
    /// A tool call ended.
    ToolResult {
        /// The `call_id` of the matching `tool_call`.
        call_id: String,
        /// The tool's name.
        tool: String,
        /// Whether the call succeeded.
        ok: bool,
        /// The result (matching the tool's output schema) when `ok`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<Value>,
        /// What went wrong when not `ok`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A piece of the answer's text as it is written.
    Token {
        /// The text to append.
        text: String,
    },
    /// The thread is paused until a person approves or rejects a
    /// side-effecting tool call.
    Interrupt {
        /// Identifies the pause; the resume names it.
        interrupt_id: String,
        /// The call waiting for approval.
        call_id: String,
        /// The tool's name.
        tool: String,
        /// The arguments it would run with (the approver may edit them).
        arguments: Value,
        /// Why approval is needed.
        reason: String,
    },
    /// The answer. The thread's stream for this turn ends here.
    Final {
        /// The whole answer text (the concatenation of this turn's tokens).
        answer: String,
        /// The tool results the answer used.
        citations: Vec<Citation>,
        /// Model usage for the turn, when the provider reports it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
    },
    /// The turn failed. The thread's stream for this turn ends here.
    Error {
        /// A stable machine-readable code (`llm_timeout`, `tool_unavailable`,
        /// `recursion_limit`, ...).
        code: String,
        /// What went wrong, for a person.
        message: String,
        /// Whether sending the same message again may succeed.
        retryable: bool,
    },
}

impl EventBody {
    /// Whether this event ends a turn (`final` or `error`).
    pub fn is_terminal(&self) -> bool {
        matches!(self, EventBody::Final { .. } | EventBody::Error { .. })
    }

    /// Whether this is a turn's last event: `final`, `error`, or an
    /// `interrupt` (the thread then waits for an approval decision).
    pub fn ends_turn(&self) -> bool {
        self.is_terminal() || matches!(self, EventBody::Interrupt { .. })
    }

    /// The event's `type` in the protocol (`plan`, `tool_call`, `final` ...).
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::Plan { .. } => "plan",
            EventBody::Step { .. } => "step",
            EventBody::ToolCall { .. } => "tool_call",
            EventBody::ToolResult { .. } => "tool_result",
            EventBody::Token { .. } => "token",
            EventBody::Interrupt { .. } => "interrupt",
            EventBody::Final { .. } => "final",
            EventBody::Error { .. } => "error",
        }
    }
}

/// One intended tool call of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanStep {
    /// The tool to call.
    pub tool: String,
    /// The arguments it will be called with.
    pub arguments: Value,
    /// Why, in a few words.
    pub purpose: String,
    /// Steps sharing a group run in parallel.
    pub parallel_group: u32,
}

/// Whether a graph node started or finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// The node began running.
    Started,
    /// The node returned.
    Finished,
}

/// A tool result an answer is based on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Citation {
    /// The `call_id` of the tool call.
    pub call_id: String,
    /// The tool's name.
    pub tool: String,
}

/// Token and cost accounting for one turn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Usage {
    /// The provider (`offline`, `openai`).
    pub provider: String,
    /// The model name.
    pub model: String,
    /// Prompt tokens over all model calls of the turn.
    pub prompt_tokens: u64,
    /// Completion tokens over all model calls of the turn.
    pub completion_tokens: u64,
    /// Cost in US dollars from the configured prices, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

/// The protocol's JSON Schema (the content of `runtime/schema/events.v1.json`).
pub fn schema() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Event)).unwrap_or(Value::Null);
    if let Some(obj) = schema.as_object_mut() {
        obj.insert(
            "$id".into(),
            Value::String("https://aima.local/schema/events.v1.json".into()),
        );
        obj.insert(
            "title".into(),
            Value::String(format!("AIMA event stream, protocol v{PROTOCOL_VERSION}")),
        );
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_schema_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/events.v1.json");
        let generated = serde_json::to_string_pretty(&schema()).expect("schema serializes") + "\n";
        if std::env::var_os("AIMA_UPDATE_SCHEMA").is_some() {
            std::fs::write(path, &generated).expect("write schema");
        }
        let published = std::fs::read_to_string(path).unwrap_or_default();
        // Compared as JSON values: key order depends on whether serde_json's
        // `preserve_order` is on in this build (qdrant-edge turns it on).
        let published: Value = serde_json::from_str(&published).unwrap_or_default();
        assert_eq!(
            published,
            schema(),
            "runtime/schema/events.v1.json is stale: rerun with AIMA_UPDATE_SCHEMA=1"
        );
    }

    #[test]
    fn events_serialize_flat_with_type_tag() {
        let e = Event::new(
            "t1",
            3,
            EventBody::ToolResult {
                call_id: "c1".into(),
                tool: "customer_count".into(),
                ok: true,
                result: Some(serde_json::json!({"count": 12})),
                error: None,
            },
        );
        let v = serde_json::to_value(&e).expect("serializes");
        assert_eq!(v["type"], "tool_result");
        assert_eq!(v["v"], 1);
        assert_eq!(v["seq"], 3);
        assert_eq!(v["result"]["count"], 12);
        assert!(v.get("error").is_none());
        let back: Event = serde_json::from_value(v).expect("round-trips");
        assert_eq!(back, e);
        assert!(!back.body.is_terminal());
        assert!(!back.body.ends_turn());
        assert_eq!(back.body.kind(), "tool_result");
    }

    #[test]
    fn published_schema_validates_events() {
        let validator = jsonschema::validator_for(&schema()).expect("schema compiles");
        let good = serde_json::to_value(Event::new(
            "t",
            1,
            EventBody::Final {
                answer: "42".into(),
                citations: vec![],
                usage: None,
            },
        ))
        .expect("serializes");
        assert!(validator.is_valid(&good));
        let mut bad = good.clone();
        bad["type"] = "shout".into();
        assert!(!validator.is_valid(&bad));
    }
}
