//! Test support for the LLM providers: a tool catalog shaped like the real
//! one and the routing table (the scripted OpenAI-compatible server is
//! `aima_runtime::llm::scripted`).

pub mod catalog;
pub mod paraphrases;
