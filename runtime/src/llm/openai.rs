//! The `openai` provider: any OpenAI-compatible chat-completions endpoint
//! (OpenAI, Ollama, vLLM, llama.cpp server) through async-openai.
//!
//! Every call streams (SSE): text deltas go to the [`TokenSink`] as they
//! come, tool-call deltas are assembled across chunks by their index, token
//! usage comes from the final chunk (`stream_options.include_usage`) and is
//! priced with the configured [`Prices`]. A call is bounded by the request
//! timeout as a whole and by the stall timeout between chunks (the first
//! included), so it ends in a result or an error, never a hang.

use std::collections::BTreeMap;
use std::time::Duration;

use aima_tools::ToolSpec;
use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestAssistantMessageContent,
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestSystemMessageContent, ChatCompletionRequestToolMessage,
    ChatCompletionRequestToolMessageContent, ChatCompletionRequestUserMessage,
    ChatCompletionRequestUserMessageContent, ChatCompletionStreamOptions, ChatCompletionTool,
    ChatCompletionTools, CreateChatCompletionRequest, FunctionCall, FunctionObject,
};
use async_trait::async_trait;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{
    LlmConfig, LlmError, LlmOutput, LlmProvider, LlmRequest, LlmResponse, Message, TokenSink,
    ToolCall, Usage,
};

/// A provider talking to an OpenAI-compatible endpoint.
#[derive(Debug)]
pub struct OpenAiProvider {
    client: Client<OpenAIConfig>,
    config: LlmConfig,
}

impl OpenAiProvider {
    /// A provider for `config` (base URL, model, key, timeouts, prices).
    /// Installs rustls' ring crypto provider as the process default when
    /// none is installed yet (reqwest needs one to build a client, even for
    /// plain-http endpoints).
    ///
    /// Errors: [`LlmError::Config`] for a base URL that is not http(s).
    pub fn new(config: LlmConfig) -> Result<Self, LlmError> {
        if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
            return Err(LlmError::Config {
                message: format!("base URL '{}' is not an http(s) URL", config.base_url),
            });
        }
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Another thread may win the race; either way a provider is set.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let mut oa = OpenAIConfig::new().with_api_base(config.base_url.trim_end_matches('/'));
        // An empty key sends no Authorization header (local servers need none).
        oa = oa.with_api_key(config.api_key.clone().unwrap_or_default());
        let client = Client::with_config(oa);
        Ok(Self { client, config })
    }

    /// The request body for `request`: our system prompt first unless the
    /// conversation starts with its own, every message, the catalog as
    /// strict functions, streaming with usage.
    fn chat_request(&self, request: &LlmRequest) -> Result<CreateChatCompletionRequest, LlmError> {
        let mut messages = Vec::with_capacity(request.messages.len() + 1);
        if !matches!(request.messages.first(), Some(Message::System { .. })) {
            let reference = request
                .options
                .reference_date
                .unwrap_or_else(|| chrono::Utc::now().date_naive());
            messages.push(system(&render_system_prompt(reference)?));
        }
        for m in &request.messages {
            messages.push(match m {
                Message::System { content } => system(content),
                Message::User { content } => {
                    ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
                        content: ChatCompletionRequestUserMessageContent::Text(content.clone()),
                        name: None,
                    })
                }
                Message::Assistant {
                    content,
                    tool_calls,
                } => {
                    let mut a = ChatCompletionRequestAssistantMessage {
                        content: content
                            .clone()
                            .map(ChatCompletionRequestAssistantMessageContent::Text),
                        ..Default::default()
                    };
                    if !tool_calls.is_empty() {
                        a.tool_calls = Some(
                            tool_calls
                                .iter()
                                .map(|c| {
                                    ChatCompletionMessageToolCalls::Function(
                                        ChatCompletionMessageToolCall {
                                            id: c.id.clone(),
                                            function: FunctionCall {
                                                name: c.name.clone(),
                                                arguments: c.arguments.to_string(),
                                            },
                                        },
                                    )
                                })
                                .collect(),
                        );
                    }
                    ChatCompletionRequestMessage::Assistant(a)
                }
                Message::Tool {
                    tool_call_id,
                    content,
                    error,
                    ..
                } => {
                    // Results travel as JSON data; failures as an error object.
                    let body = match error {
                        Some(e) => json!({ "error": e }).to_string(),
                        None => content.to_string(),
                    };
                    ChatCompletionRequestMessage::Tool(ChatCompletionRequestToolMessage {
                        content: ChatCompletionRequestToolMessageContent::Text(body),
                        tool_call_id: tool_call_id.clone(),
                    })
                }
            });
        }
        let tools: Vec<ChatCompletionTools> = request
            .tools
            .iter()
            .map(|spec| {
                ChatCompletionTools::Function(ChatCompletionTool {
                    function: FunctionObject {
                        name: spec.name.clone(),
                        description: Some(spec.description.clone()),
                        parameters: Some(aima_tools::strict_schema(&spec.input_schema)),
                        strict: Some(true),
                    },
                })
            })
            .collect();
        let has_tools = !tools.is_empty();
        Ok(CreateChatCompletionRequest {
            messages,
            model: self.config.model.clone(),
            stream: Some(true),
            stream_options: Some(ChatCompletionStreamOptions {
                include_usage: Some(true),
                include_obfuscation: None,
            }),
            tools: has_tools.then_some(tools),
            parallel_tool_calls: has_tools.then_some(true),
            temperature: request.options.temperature,
            max_completion_tokens: request.options.max_completion_tokens,
            ..Default::default()
        })
    }

    fn map_error(&self, e: OpenAIError) -> LlmError {
        match e {
            OpenAIError::ApiError(api) => LlmError::Http {
                status: api.status_code.as_u16(),
                message: error_message(&api.api_error.message),
            },
            OpenAIError::Reqwest(e) => {
                if let Some(status) = e.status() {
                    LlmError::Http {
                        status: status.as_u16(),
                        message: e.to_string(),
                    }
                } else {
                    LlmError::Transport {
                        endpoint: self.config.base_url.clone(),
                        message: error_chain(&e),
                    }
                }
            }
            OpenAIError::JSONDeserialize(err, content) => LlmError::Protocol {
                message: format!(
                    "cannot parse a response chunk ({err}): {}",
                    truncate(&content, 200)
                ),
            },
            OpenAIError::StreamError(e) => LlmError::Protocol {
                message: format!("event stream failed: {e}"),
            },
            other => LlmError::Protocol {
                message: other.to_string(),
            },
        }
    }
}

fn system(content: &str) -> ChatCompletionRequestMessage {
    ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage {
        content: ChatCompletionRequestSystemMessageContent::Text(content.to_owned()),
        name: None,
    })
}

/// The system prompt (`prompts/templates/system.j2`) for a reference date.
///
/// Errors: [`LlmError::Template`] when the template fails to render.
pub fn render_system_prompt(reference_date: chrono::NaiveDate) -> Result<String, LlmError> {
    let template_err = |e: minijinja::Error| LlmError::Template {
        template: "system.j2".into(),
        message: e.to_string(),
    };
    let env = aima_prompts::environment().map_err(template_err)?;
    env.get_template("system.j2")
        .and_then(|t| {
            t.render(minijinja::context! {
                reference_date => reference_date.format("%Y-%m-%d").to_string(),
            })
        })
        .map_err(template_err)
}

/// The `error.message` of an OpenAI-style error body, or the text as is.
fn error_message(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| truncate(text, 500))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

#[derive(Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

#[async_trait]
impl LlmProvider for OpenAiProvider {
    fn name(&self) -> &str {
        "openai"
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    async fn complete(
        &self,
        request: &LlmRequest,
        sink: &TokenSink,
    ) -> Result<LlmResponse, LlmError> {
        let body = self.chat_request(request)?;
        let deadline = Instant::now() + self.config.request_timeout;
        let wait = |deadline: Instant| -> (Duration, &'static str) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < self.config.stall_timeout {
                (left, "request")
            } else {
                (self.config.stall_timeout, "stall")
            }
        };
        let timeout_err = |what: &'static str| LlmError::Timeout {
            what,
            after_ms: if what == "request" {
                self.config.request_timeout.as_millis() as u64
            } else {
                self.config.stall_timeout.as_millis() as u64
            },
        };

        let chat = self.client.chat();
        let (limit, what) = wait(deadline);
        let mut stream = tokio::time::timeout(limit, chat.create_stream(body))
            .await
            .map_err(|_| timeout_err(what))?
            .map_err(|e| self.map_error(e))?;

        let mut text = String::new();
        let mut calls: BTreeMap<u32, PartialCall> = BTreeMap::new();
        let mut usage: Option<(u64, u64)> = None;
        loop {
            let (limit, what) = wait(deadline);
            let next = tokio::time::timeout(limit, stream.next())
                .await
                .map_err(|_| timeout_err(what))?;
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(|e| self.map_error(e))?;
            if let Some(u) = &chunk.usage {
                usage = Some((u.prompt_tokens.into(), u.completion_tokens.into()));
            }
            for choice in chunk.choices.iter().filter(|c| c.index == 0) {
                if let Some(delta) = &choice.delta.content {
                    text.push_str(delta);
                    sink.send(delta).await;
                }
                for tc in choice.delta.tool_calls.iter().flatten() {
                    let entry = calls.entry(tc.index).or_default();
                    if let Some(id) = &tc.id {
                        entry.id.clone_from(id);
                    }
                    if let Some(f) = &tc.function {
                        if let Some(n) = &f.name {
                            entry.name.push_str(n);
                        }
                        if let Some(a) = &f.arguments {
                            entry.arguments.push_str(a);
                        }
                    }
                }
            }
        }

        let (prompt_tokens, completion_tokens) = usage.unwrap_or((0, 0));
        let usage = Usage {
            provider: "openai".into(),
            model: self.config.model.clone(),
            prompt_tokens,
            completion_tokens,
            cost_usd: usage.and_then(|(p, c)| self.config.prices.cost(p, c)),
        };
        let output = if calls.is_empty() {
            LlmOutput::Final { text }
        } else {
            LlmOutput::ToolCalls {
                calls: finish_calls(calls, &request.tools)?,
                text: (!text.is_empty()).then_some(text),
            }
        };
        Ok(LlmResponse { output, usage })
    }
}

fn finish_calls(
    calls: BTreeMap<u32, PartialCall>,
    tools: &[ToolSpec],
) -> Result<Vec<ToolCall>, LlmError> {
    let mut out = Vec::with_capacity(calls.len());
    for (index, c) in calls {
        if !tools.iter().any(|t| t.name == c.name) {
            return Err(LlmError::UnknownTool {
                name: c.name,
                available: tools
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let id = if c.id.is_empty() {
            format!("call_{index}")
        } else {
            c.id
        };
        let raw = c.arguments.trim();
        let arguments = if raw.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_str::<Value>(raw).map_err(|e| LlmError::MalformedToolCall {
                tool: c.name.clone(),
                id: id.clone(),
                message: e.to_string(),
                arguments: truncate(raw, 200),
            })?
        };
        if !arguments.is_object() {
            return Err(LlmError::MalformedToolCall {
                tool: c.name,
                id,
                message: "arguments are not a JSON object".into(),
                arguments: truncate(raw, 200),
            });
        }
        out.push(ToolCall {
            id,
            name: c.name,
            arguments,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::Prices;

    #[test]
    fn cost_needs_both_prices() {
        let p = Prices {
            prompt_per_mtok: Some(0.15),
            completion_per_mtok: Some(0.60),
        };
        assert_eq!(p.cost(1_000_000, 500_000), Some(0.45));
        let half = Prices {
            prompt_per_mtok: Some(1.0),
            completion_per_mtok: None,
        };
        assert_eq!(half.cost(10, 10), None);
    }
}
