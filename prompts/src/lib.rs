//! Prompt templates (minijinja) for AIMA's planner and content studio,
//! versioned with the code.
//!
//! No templates exist yet: they land with the planner (issue 3).
