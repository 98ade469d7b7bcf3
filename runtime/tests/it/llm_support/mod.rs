//! Test support for the LLM providers: a local scripted OpenAI-compatible
//! server and a tool catalog shaped like the real one.

pub mod catalog;
pub mod paraphrases;
pub mod server;
