//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005, JMR "RFM and CLV";
//! Fader & Hardie 2013, "The Gamma-Gamma model of monetary value") and
//! customer lifetime value.
//!
//! A customer's transaction values are Gamma(shape p, rate ν) with
//! ν ~ Gamma(shape q, rate γ) across customers, independent of the
//! transaction process. The model is fitted on the customers with at least
//! one repeat transaction, using their mean repeat value `zbar`.

use super::optim::minimize;
use super::special::ln_gamma;
use super::{ClvError, RepeatPurchaseModel, RepeatSummary, validate_summaries};

/// Weeks per month used by [`customer_lifetime_value`]: 365.25 / 12 / 7
/// ≈ 4.348.
pub const WEEKS_PER_MONTH: f64 = 365.25 / 12.0 / 7.0;

/// Maximum-likelihood Gamma-Gamma fit.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GammaGammaFit {
    /// Gamma shape of individual transaction values (> 0).
    pub p: f64,
    /// Gamma shape of the customers' rate ν (> 0).
    pub q: f64,
    /// Gamma rate of ν (> 0, currency units).
    pub gamma: f64,
    /// Maximized log-likelihood over the fitted customers (natural log;
    /// `zbar` densities, so it depends on the currency unit).
    pub log_likelihood: f64,
    /// Nelder-Mead iterations spent.
    pub iterations: u64,
    /// Customers fitted (those with x > 0).
    pub customers: usize,
}

/// Entry point for fitting Gamma-Gamma.
#[derive(Debug, Clone, Copy, Default)]
pub struct GammaGamma;

/// ln density of `zbar` for one customer with x > 0 and zbar > 0:
///
/// ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln zbar + px ln x
///   − (px+q) ln(γ + x·zbar).
fn ln_density(p: f64, q: f64, gamma: f64, x: f64, zbar: f64) -> f64 {
    let px = p * x;
    ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q)
        + q * gamma.ln()
        + (px - 1.0) * zbar.ln()
        + px * x.ln()
        - (px + q) * (gamma + x * zbar).ln()
}

/// The customers Gamma-Gamma is fitted on: (x, zbar) for x > 0.
fn spenders(data: &[RepeatSummary]) -> Result<Vec<(f64, f64)>, ClvError> {
    validate_summaries(data)?;
    let mut out = Vec::new();
    for (customer, s) in data.iter().enumerate() {
        if s.x == 0 {
            continue;
        }
        if s.zbar <= 0.0 {
            return Err(ClvError::InvalidSummary {
                customer,
                field: "zbar",
                value: s.zbar,
                reason: "must be > 0 when x > 0",
            });
        }
        out.push((f64::from(s.x), s.zbar));
    }
    Ok(out)
}

impl GammaGamma {
    /// Fits Gamma-Gamma by maximum likelihood on the customers with x > 0
    /// (Nelder-Mead on ln p, ln q, ln γ from p = q = 1, γ = mean zbar).
    ///
    /// # Errors
    /// [`ClvError::InvalidSummary`] naming an invalid customer (including
    /// zbar = 0 with x > 0); [`ClvError::NoData`] when nobody has x > 0;
    /// [`ClvError::NoConvergence`] when the optimizer does not converge.
    pub fn fit(data: &[RepeatSummary]) -> Result<GammaGammaFit, ClvError> {
        let rows = spenders(data)?;
        if rows.is_empty() {
            return Err(ClvError::NoData {
                model: "Gamma-Gamma",
                reason: "needs customers with a repeat transaction",
            });
        }
        let mean = rows.iter().map(|r| r.1).sum::<f64>() / rows.len() as f64;
        // Terms that depend on x only are computed once per distinct x.
        let mut xs: Vec<u64> = rows.iter().map(|r| r.0.to_bits()).collect();
        xs.sort_unstable();
        xs.dedup();
        let xs: Vec<f64> = xs.into_iter().map(f64::from_bits).collect();
        let prepared: Vec<(usize, f64, f64, f64)> = rows
            .iter()
            .map(|&(x, z)| (xs.partition_point(|&v| v < x), x, z, z.ln()))
            .collect();
        let objective = |th: &[f64]| {
            let (p, q, g) = (th[0].exp(), th[1].exp(), th[2].exp());
            let base = q * g.ln() - ln_gamma(q);
            let per_x: Vec<f64> = xs
                .iter()
                .map(|&x| base + ln_gamma(p * x + q) - ln_gamma(p * x) + p * x * x.ln())
                .collect();
            -prepared
                .iter()
                .map(|&(xi, x, z, ln_z)| {
                    let px = p * x;
                    per_x[xi] + (px - 1.0) * ln_z - (px + q) * (g + x * z).ln()
                })
                .sum::<f64>()
        };
        let m = minimize(objective, &[0.0, 0.0, mean.ln()], "Gamma-Gamma")?;
        Ok(GammaGammaFit {
            p: m.theta[0].exp(),
            q: m.theta[1].exp(),
            gamma: m.theta[2].exp(),
            log_likelihood: -m.value,
            iterations: m.iterations,
            customers: rows.len(),
        })
    }

    /// Log-likelihood of the customers with x > 0 at (p, q, γ) (formula in
    /// the module source: the Gamma-Gamma density of `zbar`).
    ///
    /// # Errors
    /// [`ClvError::InvalidParameter`] for a parameter not finite and > 0;
    /// [`ClvError::InvalidSummary`] as in [`GammaGamma::fit`].
    pub fn log_likelihood(
        p: f64,
        q: f64,
        gamma: f64,
        data: &[RepeatSummary],
    ) -> Result<f64, ClvError> {
        super::check_positive(&[("p", p), ("q", q), ("gamma", gamma)])?;
        Ok(spenders(data)?
            .iter()
            .map(|&(x, z)| ln_density(p, q, gamma, x, z))
            .sum())
    }
}

/// Pearson correlation between the number of repeat transactions `x` and
/// their mean value `zbar` over the customers with x > 0 — the check of the
/// Gamma-Gamma assumption that spend is independent of the transaction
/// process (it should be near 0; Fader & Hardie report 0.11 on CDNOW).
/// In [−1, 1].
///
/// # Errors
/// [`ClvError::InvalidSummary`] as in [`GammaGamma::fit`];
/// [`ClvError::NoData`] with fewer than two such customers or no variation
/// in x or zbar.
pub fn frequency_value_correlation(data: &[RepeatSummary]) -> Result<f64, ClvError> {
    let rows = spenders(data)?;
    let n = rows.len() as f64;
    let none = ClvError::NoData {
        model: "Gamma-Gamma",
        reason: "correlation needs two or more spenders with varying x and zbar",
    };
    if rows.len() < 2 {
        return Err(none);
    }
    let (mx, mz) = (
        rows.iter().map(|r| r.0).sum::<f64>() / n,
        rows.iter().map(|r| r.1).sum::<f64>() / n,
    );
    let (mut sxz, mut sxx, mut szz) = (0.0, 0.0, 0.0);
    for &(x, z) in &rows {
        sxz += (x - mx) * (z - mz);
        sxx += (x - mx) * (x - mx);
        szz += (z - mz) * (z - mz);
    }
    if sxx == 0.0 || szz == 0.0 {
        return Err(none);
    }
    Ok((sxz / (sxx * szz).sqrt()).clamp(-1.0, 1.0))
}

impl GammaGammaFit {
    /// Population mean transaction value E\[M\] = pγ/(q−1); `None` when q ≤ 1
    /// (infinite mean).
    pub fn mean_value(&self) -> Option<f64> {
        (self.q > 1.0).then(|| self.p * self.gamma / (self.q - 1.0))
    }

    /// Conditional expected average transaction value given x repeat
    /// transactions with mean `zbar`:
    ///
    /// E[M | x, zbar] = p(γ + x·zbar) / (px + q − 1)
    ///   = (q−1)/(px+q−1) · pγ/(q−1) + px/(px+q−1) · zbar,
    ///
    /// a weighted average of the population mean and the customer's own
    /// mean; for x = 0 it is the population mean.
    ///
    /// # Errors
    /// [`ClvError::InvalidParameter`] (`q`) when px + q ≤ 1 (the mean does
    /// not exist); [`ClvError::InvalidSummary`] for an invalid summary.
    pub fn conditional_expected_value(&self, s: &RepeatSummary) -> Result<f64, ClvError> {
        s.validate(0)?;
        let x = f64::from(s.x);
        let den = self.p * x + self.q - 1.0;
        if den <= 0.0 {
            return Err(ClvError::InvalidParameter {
                name: "q",
                value: self.q,
                reason: "p·x + q must exceed 1 for a finite expected value",
            });
        }
        Ok(self.p * (self.gamma + x * s.zbar) / den)
    }
}

/// Customer lifetime value over the next `horizon_months` months after the
/// end of calibration, as lifetimes' `customer_lifetime_value`:
///
/// CLV = Σ_{m=1..H} (E[Y(m·w)] − E[Y((m−1)·w)]) · E[M | x, zbar] / (1+d)^m,
///
/// where E[Y(t)] is the transaction model's (BG/NBD or Pareto/NBD)
/// conditional expected transactions in the next
/// t weeks, w = [`WEEKS_PER_MONTH`], E[M | x, zbar] is the Gamma-Gamma
/// conditional expected value and d the monthly discount rate (e.g. 0.01).
/// Currency units of `zbar`; 0 for H = 0.
///
/// # Errors
/// [`ClvError::InvalidParameter`] (`monthly_discount_rate`) when d is not
/// finite or < 0; errors of the two models' expectations.
pub fn customer_lifetime_value<M: RepeatPurchaseModel + ?Sized>(
    model: &M,
    gamma_gamma: &GammaGammaFit,
    s: &RepeatSummary,
    horizon_months: u32,
    monthly_discount_rate: f64,
) -> Result<f64, ClvError> {
    let d = monthly_discount_rate;
    if !d.is_finite() || d < 0.0 {
        return Err(ClvError::InvalidParameter {
            name: "monthly_discount_rate",
            value: d,
            reason: "must be finite and >= 0",
        });
    }
    let value = gamma_gamma.conditional_expected_value(s)?;
    let mut clv = 0.0;
    let mut prev = 0.0;
    for m in 1..=horizon_months {
        let cum = model.conditional_expected_transactions(s, f64::from(m) * WEEKS_PER_MONTH)?;
        clv += (cum - prev) * value / (1.0 + d).powf(f64::from(m));
        prev = cum;
    }
    Ok(clv)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::clv::BgNbdParams;

    fn s(x: u32, zbar: f64) -> RepeatSummary {
        RepeatSummary {
            x,
            t_x: if x > 0 { 10.0 } else { 0.0 },
            t: 20.0,
            zbar,
        }
    }

    const GG: GammaGammaFit = GammaGammaFit {
        p: 6.25,
        q: 3.74,
        gamma: 15.44,
        log_likelihood: f64::NAN,
        iterations: 0,
        customers: 0,
    };

    #[test]
    fn density_by_hand() {
        // p = q = γ = 1, x = 1: zbar | ν ~ Exp(ν), ν ~ Exp(1) ⇒ f(z) = 1/(1+z)².
        let ll = GammaGamma::log_likelihood(1.0, 1.0, 1.0, &[s(1, 1.0), s(0, 0.0)]).unwrap();
        assert!((ll - 0.25_f64.ln()).abs() < 1e-12);
        assert!(GammaGamma::log_likelihood(1.0, -1.0, 1.0, &[s(1, 1.0)]).is_err());
    }

    #[test]
    fn conditional_value_shrinks_toward_population_mean() {
        let mean = GG.mean_value().unwrap();
        assert!((GG.conditional_expected_value(&s(0, 0.0)).unwrap() - mean).abs() < 1e-12);
        let few = GG.conditional_expected_value(&s(1, 100.0)).unwrap();
        let many = GG.conditional_expected_value(&s(20, 100.0)).unwrap();
        assert!(
            mean < few && few < many && many < 100.0,
            "{mean} {few} {many}"
        );
        let low = GammaGammaFit { q: 0.5, ..GG };
        assert!(low.mean_value().is_none());
        assert!(low.conditional_expected_value(&s(0, 0.0)).is_err());
    }

    #[test]
    fn clv_discounting_and_horizon() {
        let bg = BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap();
        let h = s(3, 40.0);
        let c0 = customer_lifetime_value(&bg, &GG, &h, 0, 0.01).unwrap();
        let c12 = customer_lifetime_value(&bg, &GG, &h, 12, 0.01).unwrap();
        let c24 = customer_lifetime_value(&bg, &GG, &h, 24, 0.01).unwrap();
        let undiscounted = customer_lifetime_value(&bg, &GG, &h, 12, 0.0).unwrap();
        assert_eq!(c0, 0.0);
        assert!(0.0 < c12 && c12 < c24 && c12 < undiscounted);
        // Undiscounted CLV = expected transactions × expected value.
        let e = bg
            .conditional_expected_transactions(&h, 12.0 * WEEKS_PER_MONTH)
            .unwrap();
        let m = GG.conditional_expected_value(&h).unwrap();
        assert!((undiscounted - e * m).abs() < 1e-9 * undiscounted);
        assert!(customer_lifetime_value(&bg, &GG, &h, 12, -0.5).is_err());
    }

    #[test]
    fn correlation_by_hand() {
        // zbar = 10·x on the spenders: correlation 1; x = 0 rows are ignored.
        let data = [s(1, 10.0), s(2, 20.0), s(0, 0.0), s(4, 40.0)];
        assert!((frequency_value_correlation(&data).unwrap() - 1.0).abs() < 1e-12);
        // (1,3), (2,1), (3,2): r = -0.5.
        let data = [s(1, 3.0), s(2, 1.0), s(3, 2.0)];
        assert!((frequency_value_correlation(&data).unwrap() + 0.5).abs() < 1e-12);
        assert!(frequency_value_correlation(&[s(1, 3.0)]).is_err());
        assert!(frequency_value_correlation(&[s(1, 3.0), s(1, 5.0)]).is_err());
    }

    #[test]
    fn fit_needs_spenders() {
        assert!(matches!(
            GammaGamma::fit(&[s(0, 0.0)]),
            Err(ClvError::NoData { .. })
        ));
        assert!(matches!(
            GammaGamma::fit(&[s(0, 0.0), s(2, 0.0)]),
            Err(ClvError::InvalidSummary {
                customer: 1,
                field: "zbar",
                ..
            })
        ));
    }
}
