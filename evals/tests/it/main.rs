//! AIMA-Bench integration tests.
