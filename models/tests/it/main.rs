//! Integration tests of `aima-models` (some read ../shared/data).
mod clv;
mod features;
mod metrics;
mod rfm;
mod survival;
