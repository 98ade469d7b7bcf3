//! The JSON-schema tool surface of AIMA.
//!
//! Argument and result types for every tool (deriving `schemars::JsonSchema`),
//! the catalog of [`ToolSpec`]s, and its exports: OpenAI function definitions
//! in strict mode and MCP tool descriptors. This crate holds types only: tools
//! are answered by the module actors (`aima-actors`) through the registry in
//! `aima-runtime`.
//!
//! - [`Tool`]: one tool as types (name, description, effect, module,
//!   examples, input and output types); [`Tool::spec`] makes its [`ToolSpec`].
//! - [`data`]: the data tools (customers, orders, imports).
//! - [`modules`]: the tools of the analytics modules M1..M6.
//! - [`catalog`]: every tool's spec, sorted by name.
//! - [`openai_functions`], [`mcp_tools`]: the exports.
//! - [`arguments`]: a tool's arguments in short words.

pub mod data;
pub mod describe;
pub mod export;
pub mod modules;
pub mod spec;
pub mod tool;

pub use describe::{Argument, arguments};
pub use export::{mcp_tools, openai_functions, strict_schema};
pub use spec::{Effect, Module, ToolSpec};
pub use tool::{Tool, schema_of};

/// Every tool's spec (data tools and M1..M6 tools), sorted by name.
pub fn catalog() -> Vec<ToolSpec> {
    let mut specs = vec![
        data::CustomerCount::spec(),
        data::CustomerSearch::spec(),
        data::CustomerProfile::spec(),
        data::RevenueOverTime::spec(),
        data::TopProducts::spec(),
        data::ImportStatus::spec(),
        data::TagCustomers::spec(),
        modules::SegmentsOverview::spec(),
        modules::SegmentMembers::spec(),
        modules::RunSegmentation::spec(),
        modules::DriftAlerts::spec(),
        modules::PredictCampaign::spec(),
        modules::DraftMessage::spec(),
        modules::BrandSentiment::spec(),
        modules::ChannelAttribution::spec(),
        modules::ChurnPredictions::spec(),
        modules::AtRiskCustomers::spec(),
        modules::MostValuableCustomers::spec(),
        modules::ClvBySegment::spec(),
        modules::SimilarCustomers::spec(),
    ];
    specs.sort_by(|a, b| a.name.cmp(&b.name));
    specs
}

#[cfg(test)]
mod tests;
