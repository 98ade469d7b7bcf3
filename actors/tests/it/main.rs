//! Integration tests of aima-actors.
