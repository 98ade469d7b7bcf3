//! Pure analytics and machine-learning models for AIMA, with no I/O.
//!
//! Behavioural features, RFM, the fingerprint transformer, clustering,
//! BG/NBD + Gamma-Gamma, survival, the marketing mix model and optimizer,
//! aspect sentiment, brand voice and the campaign predictor will live here.
//!
//! Nothing is implemented yet: the first models land with issue 4.
