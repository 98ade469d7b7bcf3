//! Per-customer repeat-purchase summaries and their construction from raw
//! dated transactions.

use std::fmt::Display;

use chrono::NaiveDate;

use super::ClvError;

/// Days per week: all model times are `days / 7`.
const DAYS_PER_WEEK: f64 = 7.0;

/// One customer's calibration-period history, in the form BG/NBD and
/// Gamma-Gamma use.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RepeatSummary {
    /// Number of repeat transactions (purchases after the first), ≥ 0.
    pub x: u32,
    /// Time of the last repeat transaction, in weeks since the first
    /// purchase; 0 when `x` = 0. Range 0 ≤ `t_x` ≤ `t`.
    pub t_x: f64,
    /// Length of the observation window, in weeks from the first purchase to
    /// the end of calibration (`T` in the papers). Finite, ≥ 0.
    pub t: f64,
    /// Mean value of the repeat transactions (currency units); 0 when `x` = 0.
    /// Finite, ≥ 0.
    pub zbar: f64,
}

impl RepeatSummary {
    /// Checks the ranges documented on the fields; `customer` is used only to
    /// name the customer in the error.
    ///
    /// # Errors
    /// [`ClvError::InvalidSummary`] naming the field: `t` not finite or < 0,
    /// `t_x` not finite, < 0 or > `t`, `t_x` ≠ 0 when `x` = 0, `zbar` not
    /// finite or < 0.
    pub fn validate(&self, customer: usize) -> Result<(), ClvError> {
        let bad = |field, value, reason| ClvError::InvalidSummary {
            customer,
            field,
            value,
            reason,
        };
        if !self.t.is_finite() || self.t < 0.0 {
            return Err(bad("t", self.t, "must be finite and >= 0"));
        }
        if !self.t_x.is_finite() || self.t_x < 0.0 {
            return Err(bad("t_x", self.t_x, "must be finite and >= 0"));
        }
        if self.t_x > self.t {
            return Err(bad("t_x", self.t_x, "must not exceed t"));
        }
        if self.x == 0 && self.t_x != 0.0 {
            return Err(bad("t_x", self.t_x, "must be 0 when x = 0"));
        }
        if !self.zbar.is_finite() || self.zbar < 0.0 {
            return Err(bad("zbar", self.zbar, "must be finite and >= 0"));
        }
        Ok(())
    }
}

/// Validates every summary (see [`RepeatSummary::validate`]).
///
/// # Errors
/// The first [`ClvError::InvalidSummary`] found, naming the customer index.
pub fn validate_summaries(summaries: &[RepeatSummary]) -> Result<(), ClvError> {
    summaries
        .iter()
        .enumerate()
        .try_for_each(|(i, s)| s.validate(i))
}

/// One raw purchase.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction<K> {
    /// Customer key.
    pub customer: K,
    /// Purchase date.
    pub date: NaiveDate,
    /// Purchase value (currency units), finite and ≥ 0.
    pub amount: f64,
}

/// One customer's summary built by [`summarize`].
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerHistory<K> {
    /// Customer key.
    pub customer: K,
    /// Date of the first purchase (on or before the calibration end).
    pub first_purchase: NaiveDate,
    /// Calibration-period summary (weeks).
    pub summary: RepeatSummary,
    /// Value of the first purchase day (currency units).
    pub first_value: f64,
    /// Number of purchase days after the calibration end, up to and including
    /// the holdout end (all are repeat transactions).
    pub holdout_transactions: u32,
    /// Total value of those holdout purchases (currency units).
    pub holdout_value: f64,
}

/// Builds each customer's [`RepeatSummary`] and holdout counts from raw
/// transactions, with the CDNOW conventions (Fader, Hardie & Lee 2005):
///
/// - purchases by one customer on the same day are merged into one
///   transaction whose value is their sum;
/// - the customer's first purchase day starts their clock; `x` counts the
///   later purchase days up to and including `calibration_end`, `t_x` is the
///   last of those minus the first purchase and `t` is `calibration_end`
///   minus the first purchase, both in weeks (days / 7); `zbar` is the mean
///   value of the `x` repeat transactions (the first purchase excluded);
/// - holdout transactions are the purchase days strictly after
///   `calibration_end` up to and including `holdout_end`; later purchases
///   are ignored;
/// - customers whose first purchase is after `calibration_end` are not part
///   of the calibration cohort and are left out.
///
/// The output is sorted by customer key.
///
/// # Errors
/// [`ClvError::InvalidWindow`] when `holdout_end < calibration_end`;
/// [`ClvError::InvalidTransaction`] naming the transaction index and customer
/// when an amount is not finite or negative.
pub fn summarize<K: Ord + Clone + Display>(
    transactions: &[Transaction<K>],
    calibration_end: NaiveDate,
    holdout_end: NaiveDate,
) -> Result<Vec<CustomerHistory<K>>, ClvError> {
    if holdout_end < calibration_end {
        return Err(ClvError::InvalidWindow {
            calibration_end,
            holdout_end,
        });
    }
    for (index, tr) in transactions.iter().enumerate() {
        if !tr.amount.is_finite() || tr.amount < 0.0 {
            return Err(ClvError::InvalidTransaction {
                index,
                customer: tr.customer.to_string(),
                reason: "amount must be finite and >= 0",
            });
        }
    }
    let mut order: Vec<usize> = (0..transactions.len())
        .filter(|&i| transactions[i].date <= holdout_end)
        .collect();
    order.sort_by(|&i, &j| {
        let (a, b) = (&transactions[i], &transactions[j]);
        a.customer.cmp(&b.customer).then(a.date.cmp(&b.date))
    });

    let mut out = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let key = &transactions[order[start]].customer;
        let mut end = start;
        while end < order.len() && transactions[order[end]].customer == *key {
            end += 1;
        }
        // Merge same-day purchases: (date, value) per purchase day.
        let mut days: Vec<(NaiveDate, f64)> = Vec::new();
        for &i in &order[start..end] {
            let tr = &transactions[i];
            match days.last_mut() {
                Some((d, v)) if *d == tr.date => *v += tr.amount,
                _ => days.push((tr.date, tr.amount)),
            }
        }
        start = end;
        let Some(&(first, first_value)) = days.first() else {
            continue;
        };
        if first > calibration_end {
            continue;
        }
        let weeks = |d: NaiveDate| (d - first).num_days() as f64 / DAYS_PER_WEEK;
        let (mut x, mut last, mut value) = (0_u32, first, 0.0);
        let (mut holdout_transactions, mut holdout_value) = (0_u32, 0.0);
        for &(d, v) in &days[1..] {
            if d <= calibration_end {
                x += 1;
                last = d;
                value += v;
            } else {
                holdout_transactions += 1;
                holdout_value += v;
            }
        }
        out.push(CustomerHistory {
            customer: key.clone(),
            first_purchase: first,
            summary: RepeatSummary {
                x,
                t_x: weeks(last),
                t: weeks(calibration_end),
                zbar: if x > 0 { value / f64::from(x) } else { 0.0 },
            },
            first_value,
            holdout_transactions,
            holdout_value,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn tr(c: u32, date: NaiveDate, amount: f64) -> Transaction<u32> {
        Transaction {
            customer: c,
            date,
            amount,
        }
    }

    #[test]
    fn summarize_cdnow_customer_4() {
        // The first customer of CDNOW_sample.txt (summary row 1: x=2,
        // t_x=30.43, T=38.86, zbar=22.35), plus a same-day duplicate.
        let txs = vec![
            tr(4, d(1997, 1, 1), 29.33),
            tr(4, d(1997, 1, 18), 20.0),
            tr(4, d(1997, 8, 2), 14.96),
            tr(4, d(1997, 12, 12), 26.48),
            tr(4, d(1997, 1, 18), 9.73),
            tr(4, d(1998, 7, 1), 99.0), // after the holdout: ignored
        ];
        let out = summarize(&txs, d(1997, 9, 30), d(1998, 6, 30)).unwrap();
        assert_eq!(out.len(), 1);
        let h = &out[0];
        assert_eq!(h.first_purchase, d(1997, 1, 1));
        assert_eq!(h.summary.x, 2);
        assert!((h.summary.t_x - 213.0 / 7.0).abs() < 1e-12);
        assert!((h.summary.t - 272.0 / 7.0).abs() < 1e-12);
        assert!((h.summary.zbar - (29.73 + 14.96) / 2.0).abs() < 1e-12);
        assert_eq!(h.holdout_transactions, 1);
        assert!((h.holdout_value - 26.48).abs() < 1e-12);
        assert!((h.first_value - 29.33).abs() < 1e-12);
    }

    #[test]
    fn summarize_drops_late_cohort_and_sorts() {
        let txs = vec![
            tr(9, d(2020, 1, 5), 1.0),
            tr(2, d(2020, 2, 1), 1.0), // first purchase after calibration end
            tr(1, d(2020, 1, 1), 3.0),
            tr(1, d(2020, 1, 1), 4.0),
        ];
        let out = summarize(&txs, d(2020, 1, 31), d(2020, 3, 1)).unwrap();
        let keys: Vec<u32> = out.iter().map(|h| h.customer).collect();
        assert_eq!(keys, vec![1, 9]);
        assert_eq!(out[0].summary.x, 0);
        assert_eq!(out[0].summary.zbar, 0.0);
        assert!((out[0].first_value - 7.0).abs() < 1e-12);
        assert!((out[1].summary.t - 26.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn summarize_rejects_bad_input() {
        let txs = vec![tr(1, d(2020, 1, 1), 1.0), tr(7, d(2020, 1, 2), f64::NAN)];
        let err = summarize(&txs, d(2020, 2, 1), d(2020, 3, 1)).unwrap_err();
        assert!(matches!(
            err,
            ClvError::InvalidTransaction { index: 1, ref customer, .. } if customer == "7"
        ));
        let err = summarize(&txs[..1], d(2020, 2, 1), d(2020, 1, 1)).unwrap_err();
        assert!(matches!(err, ClvError::InvalidWindow { .. }));
    }

    #[test]
    fn validate_names_customer_and_field() {
        let good = RepeatSummary {
            x: 1,
            t_x: 2.0,
            t: 3.0,
            zbar: 5.0,
        };
        let bad = RepeatSummary { t_x: 4.0, ..good };
        let err = validate_summaries(&[good, bad]).unwrap_err();
        assert!(matches!(
            err,
            ClvError::InvalidSummary {
                customer: 1,
                field: "t_x",
                ..
            }
        ));
        let bad = RepeatSummary {
            x: 0,
            t_x: 1.0,
            ..good
        };
        assert!(bad.validate(0).is_err());
        let bad = RepeatSummary { zbar: -1.0, ..good };
        assert!(bad.validate(0).is_err());
        let bad = RepeatSummary {
            t: f64::INFINITY,
            ..good
        };
        assert!(bad.validate(0).is_err());
    }
}
