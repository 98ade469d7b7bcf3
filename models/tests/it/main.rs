//! Integration tests of `aima-models` (some read ../shared/data).
mod fingerprint;
