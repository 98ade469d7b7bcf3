//! Pure analytics and machine-learning models for AIMA, with no I/O.
//!
//! Every function here takes plain data (slices, structs) and returns plain
//! data; the actors in `aima-actors` load from the store and persist results.
//!
//! - [`features`]: per-customer behavioural features with documented formulas.
//! - [`rfm`]: RFM quintile scores and the standard persona map.
//! - [`clv`]: BG/NBD and Gamma-Gamma (maximum likelihood), P(alive), expected
//!   transactions and customer lifetime value.
//! - [`survival`]: a DeepHit-style discrete-time survival network (candle).
//! - [`metrics`]: evaluation metrics (AUC, concordance, Brier, MAE).
//! - [`fingerprint`]: the temporal behavioural transformer (candle).
//! - [`cluster`]: dimensionality reduction and density clustering.
//!
//! The marketing mix model, aspect sentiment, brand voice and the campaign
//! predictor land with their modules.

pub mod cluster;
pub mod clv;
pub mod evaluation;
pub mod features;
pub mod fingerprint;
pub mod metrics;
pub mod rfm;
pub mod survival;
