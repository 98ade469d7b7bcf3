//! Integration tests of `aima-models` (some read ../shared/data).
mod features;
mod metrics;
mod rfm;
mod survival;
