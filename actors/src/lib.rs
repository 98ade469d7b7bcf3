//! Module actors for AIMA.
//!
//! One supervised actor per module will live here (M1 customer intelligence,
//! M2 campaign prediction, M3 content studio, M4 brand monitor, M5 attribution,
//! M6 CLV and churn, M7 planner), plus the ingest and scheduler actors. Each
//! owns its module's state, answers tool calls and job messages with a timeout,
//! and is restarted with backoff by a root supervisor.
//!
//! Nothing is implemented yet: the actors land with the agent runtime (issue 3).

pub mod data;
