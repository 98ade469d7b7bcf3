//! LLM providers: one trait, [`LlmProvider`], and two implementations.
//!
//! - [`offline::OfflineProvider`] (the default): no network, deterministic.
//!   Routes the latest user message to tools of the given catalog by intent
//!   and slot extraction, and writes final answers from the templates in
//!   `aima-prompts`, quoting tool results exactly.
//! - [`openai::OpenAiProvider`]: any OpenAI-compatible chat-completions
//!   endpoint (OpenAI, Ollama, vLLM, llama.cpp server) with streaming,
//!   parallel tool calls, strict function definitions and cost accounting.
//!
//! A provider answers one model call: given the conversation so far and the
//! tool catalog it returns either tool calls (to run, possibly in parallel)
//! or a final text, streaming text deltas through a [`TokenSink`] as they
//! come. Tool results are data, never instructions: neither provider lets
//! text inside a tool result choose a tool.

pub mod offline;
pub mod openai;
#[cfg(feature = "testing")]
pub mod scripted;

use std::sync::Arc;
use std::time::Duration;

use aima_tools::ToolSpec;
use async_trait::async_trait;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Config;
pub use crate::events::Usage;

/// One tool call chosen by a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Call id, unique within the conversation; tool results refer to it.
    pub id: String,
    /// Tool name (one of the catalog's names).
    pub name: String,
    /// Arguments object (a JSON object).
    pub arguments: Value,
}

/// One message of the conversation, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    /// Instructions from the application.
    System {
        /// The instructions.
        content: String,
    },
    /// What the person asked.
    User {
        /// The question.
        content: String,
    },
    /// What the model answered: text, tool calls, or both.
    Assistant {
        /// Text (absent when the turn only called tools).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<String>,
        /// Tool calls made in this turn (empty for a plain answer).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
    },
    /// The result of one tool call: data, never instructions.
    Tool {
        /// The [`ToolCall::id`] this answers.
        tool_call_id: String,
        /// The tool's name.
        name: String,
        /// The tool's result (`null` when it failed).
        content: Value,
        /// The error message when the call failed (e.g. the module is not
        /// built yet); `None` on success.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

impl Message {
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message::User {
            content: content.into(),
        }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Message::System {
            content: content.into(),
        }
    }

    /// An assistant message that called tools.
    pub fn assistant_calls(tool_calls: Vec<ToolCall>) -> Self {
        Message::Assistant {
            content: None,
            tool_calls,
        }
    }

    /// An assistant message with a final text.
    pub fn assistant_text(content: impl Into<String>) -> Self {
        Message::Assistant {
            content: Some(content.into()),
            tool_calls: Vec::new(),
        }
    }

    /// A successful tool result.
    pub fn tool_result(call: &ToolCall, content: Value) -> Self {
        Message::Tool {
            tool_call_id: call.id.clone(),
            name: call.name.clone(),
            content,
            error: None,
        }
    }

    /// A failed tool call, with the error as the tool reported it.
    pub fn tool_error(call: &ToolCall, error: impl Into<String>) -> Self {
        Message::Tool {
            tool_call_id: call.id.clone(),
            name: call.name.clone(),
            content: Value::Null,
            error: Some(error.into()),
        }
    }
}

/// Per-call options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmOptions {
    /// The date relative periods ("last month", "this year") are resolved
    /// against: the planner passes the data's latest order date or today.
    /// `None` means today (UTC) — only the offline provider reads it.
    pub reference_date: Option<NaiveDate>,
    /// Sampling temperature for real models (0..=2); `None` = the endpoint's
    /// default.
    pub temperature: Option<f32>,
    /// Upper bound on completion tokens for real models.
    pub max_completion_tokens: Option<u32>,
}

/// One model call: the conversation so far and the tools it may call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LlmRequest {
    /// The conversation, oldest first, including earlier turns.
    pub messages: Vec<Message>,
    /// The tools the model may call this turn.
    pub tools: Vec<ToolSpec>,
    /// Options.
    pub options: LlmOptions,
}

/// What a model call produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LlmOutput {
    /// Tools to run (in parallel when there are several), then call the
    /// model again with their results.
    ToolCalls {
        /// The calls, in the order the model gave them.
        calls: Vec<ToolCall>,
        /// Text the model wrote alongside the calls (often none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// The answer for the person.
    Final {
        /// The answer text (Markdown).
        text: String,
    },
}

/// A model call's output and its token/cost accounting.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmResponse {
    /// Tool calls or a final text.
    pub output: LlmOutput,
    /// Tokens and cost of this call (the offline provider uses none).
    pub usage: Usage,
}

/// Where streamed text deltas go (tokens of the final answer, as they come).
/// A sink whose receiver was dropped silently discards deltas.
#[derive(Debug, Clone, Default)]
pub struct TokenSink(Option<tokio::sync::mpsc::Sender<String>>);

impl TokenSink {
    /// A sink sending deltas to `tx`.
    pub fn new(tx: tokio::sync::mpsc::Sender<String>) -> Self {
        Self(Some(tx))
    }

    /// A sink that discards deltas.
    pub fn none() -> Self {
        Self(None)
    }

    /// Sends one delta (waits while the channel is full; never fails).
    pub async fn send(&self, delta: &str) {
        if let Some(tx) = &self.0
            && !delta.is_empty()
        {
            let _ = tx.send(delta.to_owned()).await;
        }
    }
}

/// Errors of a model call. Messages say what happened and, where it helps,
/// what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// No answer within a time limit.
    #[error("the model timed out: {what} after {after_ms} ms")]
    Timeout {
        /// Which limit: "request" (whole call) or "stall" (gap between
        /// streamed chunks).
        what: &'static str,
        /// The limit, in milliseconds.
        after_ms: u64,
    },
    /// The endpoint answered with an HTTP error status.
    #[error("the model endpoint answered HTTP {status}: {message}")]
    Http {
        /// HTTP status code.
        status: u16,
        /// The endpoint's error message.
        message: String,
    },
    /// The endpoint could not be reached or the connection broke.
    #[error("cannot reach the model endpoint {endpoint}: {message}")]
    Transport {
        /// Base URL.
        endpoint: String,
        /// What failed.
        message: String,
    },
    /// The model called a tool with arguments that are not a JSON object.
    #[error(
        "the model sent malformed arguments for tool {tool} (call {id}): {message}; arguments were: {arguments}"
    )]
    MalformedToolCall {
        /// Tool name.
        tool: String,
        /// Call id.
        id: String,
        /// The parse error.
        message: String,
        /// The raw arguments text (truncated to 200 characters).
        arguments: String,
    },
    /// The model called a tool that is not in the catalog it was given.
    #[error("the model called unknown tool '{name}'; available tools: {available}")]
    UnknownTool {
        /// The name the model used.
        name: String,
        /// The catalog's names, comma-separated.
        available: String,
    },
    /// The stream or response did not follow the chat-completions protocol.
    #[error("the model endpoint broke the protocol: {message}")]
    Protocol {
        /// What was wrong.
        message: String,
    },
    /// The provider is configured wrongly.
    #[error("LLM provider configuration: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// A prompt or answer template failed to render.
    #[error("template {template} failed: {message}")]
    Template {
        /// Template name.
        template: String,
        /// The rendering error.
        message: String,
    },
}

/// A language model that plans tool calls and writes answers.
#[async_trait]
pub trait LlmProvider: Send + Sync {
    /// Provider name as reported in [`Usage::provider`] (`offline`, `openai`).
    fn name(&self) -> &str;

    /// Model name as reported in [`Usage::model`].
    fn model(&self) -> &str;

    /// Runs one model call. Text of a final answer is streamed through
    /// `sink` as it is produced and also returned whole in the output.
    ///
    /// Errors: see [`LlmError`]; a call never hangs past the configured
    /// timeouts.
    async fn complete(
        &self,
        request: &LlmRequest,
        sink: &TokenSink,
    ) -> Result<LlmResponse, LlmError>;
}

/// Prices in US dollars per one million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Prices {
    /// Dollars per 1M prompt tokens (`None` = unknown).
    pub prompt_per_mtok: Option<f64>,
    /// Dollars per 1M completion tokens (`None` = unknown).
    pub completion_per_mtok: Option<f64>,
}

impl Prices {
    /// Cost in dollars of the given token counts; `None` unless both prices
    /// are configured.
    pub fn cost(&self, prompt_tokens: u64, completion_tokens: u64) -> Option<f64> {
        let (p, c) = (self.prompt_per_mtok?, self.completion_per_mtok?);
        Some((prompt_tokens as f64 * p + completion_tokens as f64 * c) / 1_000_000.0)
    }
}

/// Which provider to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// The deterministic offline provider.
    Offline,
    /// An OpenAI-compatible endpoint.
    OpenAi,
}

impl std::str::FromStr for ProviderKind {
    type Err = LlmError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "offline" => Ok(ProviderKind::Offline),
            "openai" => Ok(ProviderKind::OpenAi),
            other => Err(LlmError::Config {
                message: format!("unknown llm_provider '{other}'; use offline or openai"),
            }),
        }
    }
}

/// Everything a provider needs from the configuration.
#[derive(Clone, PartialEq)]
pub struct LlmConfig {
    /// Which provider.
    pub provider: ProviderKind,
    /// Base URL of the OpenAI-compatible API (e.g. `http://127.0.0.1:11434/v1`).
    pub base_url: String,
    /// Model name sent to the endpoint.
    pub model: String,
    /// API key (`None` sends no key, as local servers expect).
    pub api_key: Option<String>,
    /// Limit on a whole model call.
    pub request_timeout: Duration,
    /// Limit on the wait for the first and each next streamed chunk.
    pub stall_timeout: Duration,
    /// Token prices for cost accounting.
    pub prices: Prices,
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("request_timeout", &self.request_timeout)
            .field("stall_timeout", &self.stall_timeout)
            .field("prices", &self.prices)
            .finish()
    }
}

impl LlmConfig {
    /// The LLM settings of a loaded [`Config`].
    ///
    /// Errors: [`LlmError::Config`] for an unknown provider name.
    pub fn from_config(config: &Config) -> Result<Self, LlmError> {
        Ok(Self {
            provider: config.llm_provider.parse()?,
            base_url: config.llm_base_url.clone(),
            model: config.llm_model.clone(),
            api_key: config.llm_api_key.clone(),
            request_timeout: Duration::from_secs(config.llm_timeout_secs),
            stall_timeout: Duration::from_secs(config.llm_stall_timeout_secs),
            prices: Prices {
                prompt_per_mtok: config.llm_price_prompt_per_mtok,
                completion_per_mtok: config.llm_price_completion_per_mtok,
            },
        })
    }
}

/// Builds the configured provider.
///
/// Errors: [`LlmError::Config`] when the openai provider cannot be set up.
pub fn build_provider(config: &LlmConfig) -> Result<Arc<dyn LlmProvider>, LlmError> {
    Ok(match config.provider {
        ProviderKind::Offline => Arc::new(offline::OfflineProvider::new()),
        ProviderKind::OpenAi => Arc::new(openai::OpenAiProvider::new(config.clone())?),
    })
}
