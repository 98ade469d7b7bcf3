//! The web edge of AIMA (axum): REST API with OpenAPI, WebSocket chat and SSE,
//! the server-rendered dashboard, Slack/Discord adapters and the MCP endpoint.
//!
//! Nothing is served yet: the web layer lands with issue 5. Until then
//! `aima serve` says so plainly.
