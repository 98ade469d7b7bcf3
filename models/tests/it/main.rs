//! Integration tests of `aima-models` (some read ../shared/data).
mod cluster;
mod fingerprint;
