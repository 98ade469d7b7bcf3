//! Integration tests of `aima-models` (some read ../shared/data).
mod cluster;
mod clv;
mod evaluation;
mod features;
mod fingerprint;
mod metrics;
mod rfm;
mod survival;
