//! AIMA-Bench: a simulated world, tasks, scorers and reports for evaluating
//! the planner and the analytics modules.
//!
//! Nothing is implemented yet: the benchmark lands with issue 6.
