//! Integration tests of `aima-models` (some read ../shared/data).
mod clv;
mod evaluation;
mod features;
mod metrics;
mod rfm;
mod survival;
