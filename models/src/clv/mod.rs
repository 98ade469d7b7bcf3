//! Buy-till-you-die customer-base models: BG/NBD (Fader, Hardie & Lee 2005)
//! for repeat-transaction counts and Gamma-Gamma (Fader, Hardie & Lee 2005,
//! JMR; Fader & Hardie 2013 note) for spend per transaction, both fitted by
//! maximum likelihood, plus customer lifetime value.
//!
//! Time is measured in **weeks** (f64) throughout: a customer's history is
//! summarised by [`RepeatSummary`] (`x` repeat transactions, the time `t_x`
//! of the last one and the length `t` of the observation window, both
//! measured from the customer's first purchase). [`summarize`] builds these
//! from raw dated transactions with the CDNOW conventions.
//!
//! - [`BgNbd::fit`] -> [`BgNbdFit`]: P(alive), conditional and unconditional
//!   expected transactions, probability of no purchase in a future window.
//! - [`GammaGamma::fit`] -> [`GammaGammaFit`]: conditional expected average
//!   transaction value.
//! - [`ParetoNbd::fit`] -> [`ParetoNbdFit`]: the Pareto/NBD benchmark model
//!   (Schmittlein, Morrison & Colombo 1987) with the same predictions.
//! - [`RepeatPurchaseModel`]: the predictions BG/NBD and Pareto/NBD share,
//!   so evaluation code and [`customer_lifetime_value`] take either.
//! - [`cohort_expected_transactions`]: the aggregate tracking forecast of a
//!   cohort with staggered first purchases.
//! - [`customer_lifetime_value`]: discounted monthly CLV combining both.
//! - [`simulate_bgnbd`], [`simulate_pareto_nbd`], [`simulate_gamma_gamma`]:
//!   seeded synthetic data drawn from the models (tests and benchmarks).
//!
//! Fitting is Nelder-Mead (argmin) on the log-parameters with restarts;
//! ln Γ comes from `libm`; 2F1 is a checked power series ([`hyp2f1`]).
//!
//! Reproduces the published CDNOW estimates (tests in `tests/it/clv.rs`).

mod bgnbd;
mod gamma_gamma;
mod optim;
mod pareto_nbd;
mod simulate;
mod special;
mod summary;
mod tracking;

pub use bgnbd::{BgNbd, BgNbdFit, BgNbdParams};
pub use gamma_gamma::{
    GammaGamma, GammaGammaFit, WEEKS_PER_MONTH, customer_lifetime_value,
    frequency_value_correlation,
};
pub use pareto_nbd::{ParetoNbd, ParetoNbdFit, ParetoNbdParams};
pub use simulate::{SimulatedCustomer, simulate_bgnbd, simulate_gamma_gamma, simulate_pareto_nbd};
pub use special::hyp2f1;
pub use summary::{CustomerHistory, RepeatSummary, Transaction, summarize, validate_summaries};
pub use tracking::cohort_expected_transactions;

/// Checks that every named parameter is finite and > 0.
///
/// # Errors
/// [`ClvError::InvalidParameter`] naming the first bad parameter.
pub(crate) fn check_positive(params: &[(&'static str, f64)]) -> Result<(), ClvError> {
    match params.iter().find(|(_, v)| !v.is_finite() || *v <= 0.0) {
        Some(&(name, value)) => Err(ClvError::InvalidParameter {
            name,
            value,
            reason: "must be finite and > 0",
        }),
        None => Ok(()),
    }
}

/// Predictions shared by the repeat-transaction models ([`BgNbdParams`],
/// [`ParetoNbdParams`]), so evaluation and CLV code can treat them alike.
/// Times are in weeks; `s` is a customer's calibration history.
pub trait RepeatPurchaseModel {
    /// Model name ("BG/NBD", "Pareto/NBD").
    fn name(&self) -> &'static str;
    /// P(alive at the end of calibration | history), in [0, 1].
    ///
    /// # Errors
    /// Model-specific numerical errors ([`ClvError::Hypergeometric`]).
    fn p_alive(&self, s: &RepeatSummary) -> Result<f64, ClvError>;
    /// Expected transactions in the next `t` weeks given the history (≥ 0).
    ///
    /// # Errors
    /// [`ClvError::InvalidParameter`] for `t` not finite or < 0; numerical
    /// errors of the model.
    fn conditional_expected_transactions(&self, s: &RepeatSummary, t: f64)
    -> Result<f64, ClvError>;
    /// Expected repeat transactions in the first `t` weeks after a first
    /// purchase (≥ 0).
    ///
    /// # Errors
    /// As [`RepeatPurchaseModel::conditional_expected_transactions`].
    fn expected_transactions(&self, t: f64) -> Result<f64, ClvError>;
    /// Probability of no purchase in the next `t` weeks given the history,
    /// in [0, 1].
    ///
    /// # Errors
    /// As [`RepeatPurchaseModel::conditional_expected_transactions`].
    fn prob_no_purchase(&self, s: &RepeatSummary, t: f64) -> Result<f64, ClvError>;
}

impl RepeatPurchaseModel for BgNbdParams {
    fn name(&self) -> &'static str {
        "BG/NBD"
    }
    fn p_alive(&self, s: &RepeatSummary) -> Result<f64, ClvError> {
        Ok(BgNbdParams::p_alive(self, s))
    }
    fn conditional_expected_transactions(
        &self,
        s: &RepeatSummary,
        t: f64,
    ) -> Result<f64, ClvError> {
        BgNbdParams::conditional_expected_transactions(self, s, t)
    }
    fn expected_transactions(&self, t: f64) -> Result<f64, ClvError> {
        BgNbdParams::expected_transactions(self, t)
    }
    fn prob_no_purchase(&self, s: &RepeatSummary, t: f64) -> Result<f64, ClvError> {
        BgNbdParams::prob_no_purchase(self, s, t)
    }
}

impl RepeatPurchaseModel for ParetoNbdParams {
    fn name(&self) -> &'static str {
        "Pareto/NBD"
    }
    fn p_alive(&self, s: &RepeatSummary) -> Result<f64, ClvError> {
        ParetoNbdParams::p_alive(self, s)
    }
    fn conditional_expected_transactions(
        &self,
        s: &RepeatSummary,
        t: f64,
    ) -> Result<f64, ClvError> {
        ParetoNbdParams::conditional_expected_transactions(self, s, t)
    }
    fn expected_transactions(&self, t: f64) -> Result<f64, ClvError> {
        ParetoNbdParams::expected_transactions(self, t)
    }
    fn prob_no_purchase(&self, s: &RepeatSummary, t: f64) -> Result<f64, ClvError> {
        ParetoNbdParams::prob_no_purchase(self, s, t)
    }
}

/// Errors of the CLV models. Every variant names the offending input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClvError {
    /// A [`RepeatSummary`] field is out of range (`customer` is the index in
    /// the input slice).
    #[error("customer {customer}: invalid {field} = {value}: {reason}")]
    InvalidSummary {
        /// Index of the customer in the input slice.
        customer: usize,
        /// Field name (`t_x`, `t`, `zbar`).
        field: &'static str,
        /// The offending value.
        value: f64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A raw transaction is invalid (`index` is its position in the input).
    #[error("transaction {index} (customer {customer}): {reason}")]
    InvalidTransaction {
        /// Index of the transaction in the input slice.
        index: usize,
        /// The customer key, formatted with `Display`.
        customer: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The holdout window ends before the calibration window.
    #[error("holdout end {holdout_end} is before calibration end {calibration_end}")]
    InvalidWindow {
        /// Last day of the calibration period (inclusive).
        calibration_end: chrono::NaiveDate,
        /// Last day of the holdout period (inclusive).
        holdout_end: chrono::NaiveDate,
    },
    /// No usable customers to fit on.
    #[error("{model}: no customers to fit ({reason})")]
    NoData {
        /// Model being fitted.
        model: &'static str,
        /// Which customers were needed.
        reason: &'static str,
    },
    /// A model parameter is out of range (must be finite and > 0).
    #[error("parameter {name} = {value} is invalid: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The maximum-likelihood optimizer did not converge.
    #[error(
        "{model}: maximum likelihood did not converge after {iterations} iterations ({reason})"
    )]
    NoConvergence {
        /// Model being fitted.
        model: &'static str,
        /// Optimizer iterations spent.
        iterations: u64,
        /// Why it stopped.
        reason: String,
    },
    /// The Gauss hypergeometric series did not converge.
    #[error("2F1({a}, {b}; {c}; {z}) did not converge within {terms} terms")]
    Hypergeometric {
        /// First numerator parameter.
        a: f64,
        /// Second numerator parameter.
        b: f64,
        /// Denominator parameter.
        c: f64,
        /// Argument.
        z: f64,
        /// Terms summed before giving up.
        terms: usize,
    },
}
