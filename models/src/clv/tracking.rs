//! Aggregate (cohort) forecasts as in FHL 2005's tracking plots.

use super::{ClvError, RepeatPurchaseModel};

/// Expected repeat transactions of a cohort between two calendar times:
///
/// Σᵢ E[X(to − sᵢ)] − E[X(from − sᵢ)],  with E[X(u)] = 0 for u ≤ 0,
///
/// where sᵢ is customer i's first-purchase time and `from`, `to` are
/// calendar times, all in weeks since a common origin (FHL 2005 count
/// whole weeks from 1 Jan 1997: the CDNOW calibration is (0, 39], the holdout
/// (39, 78]). Customers acquired after `from` contribute from their first
/// purchase on. With `from` = 0 this is the cumulative forecast at `to`.
///
/// # Errors
/// [`ClvError::InvalidParameter`] when `from` or `to` is not finite, `to <
/// from`, or an sᵢ is not finite (named `first_purchase_weeks`); errors of
/// the model's E[X(t)].
pub fn cohort_expected_transactions<M: RepeatPurchaseModel + ?Sized>(
    model: &M,
    first_purchase_weeks: &[f64],
    from: f64,
    to: f64,
) -> Result<f64, ClvError> {
    if !from.is_finite() || !to.is_finite() || to < from {
        return Err(ClvError::InvalidParameter {
            name: "to",
            value: to,
            reason: "window must be finite with to >= from",
        });
    }
    let mut total = 0.0;
    for &s in first_purchase_weeks {
        if !s.is_finite() {
            return Err(ClvError::InvalidParameter {
                name: "first_purchase_weeks",
                value: s,
                reason: "must be finite",
            });
        }
        total += model.expected_transactions((to - s).max(0.0))?
            - model.expected_transactions((from - s).max(0.0))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::clv::BgNbdParams;

    #[test]
    fn cohort_forecast_adds_customers_and_windows() {
        let m = BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap();
        let s = [0.0, 3.5, 10.0, 50.0];
        let a = cohort_expected_transactions(&m, &s, 0.0, 39.0).unwrap();
        let b = cohort_expected_transactions(&m, &s, 39.0, 78.0).unwrap();
        let c = cohort_expected_transactions(&m, &s, 0.0, 78.0).unwrap();
        assert!((a + b - c).abs() < 1e-12);
        // The customer acquired at week 50 adds nothing before week 50.
        let early = cohort_expected_transactions(&m, &s[..3], 0.0, 39.0).unwrap();
        assert!((a - early).abs() < 1e-15);
        let one = m.expected_transactions(78.0 - 3.5).unwrap();
        let single = cohort_expected_transactions(&m, &[3.5], 0.0, 78.0).unwrap();
        assert!((one - single).abs() < 1e-15);
        assert!(cohort_expected_transactions(&m, &s, 10.0, 5.0).is_err());
        assert!(cohort_expected_transactions(&m, &[f64::NAN], 0.0, 5.0).is_err());
    }
}
