//! BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way",
//! Marketing Science 24(2)).
//!
//! While active, a customer buys as a Poisson process with rate λ per week;
//! after each purchase they become inactive with probability p. Across
//! customers λ ~ Gamma(shape r, rate α) and p ~ Beta(a, b). Time is in weeks.

use super::optim::minimize;
use super::special::{hyp2f1, ln_beta, ln_gamma};
use super::{ClvError, RepeatSummary, validate_summaries};

/// BG/NBD parameters: λ ~ Gamma(shape `r`, rate `alpha` per week) and
/// p ~ Beta(`a`, `b`). All finite and > 0.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BgNbdParams {
    /// Gamma shape of the purchase rate.
    pub r: f64,
    /// Gamma rate of the purchase rate (weeks).
    pub alpha: f64,
    /// First Beta parameter of the dropout probability.
    pub a: f64,
    /// Second Beta parameter of the dropout probability.
    pub b: f64,
}

/// Maximum-likelihood BG/NBD fit.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BgNbdFit {
    /// Gamma shape of the purchase rate.
    pub r: f64,
    /// Gamma rate of the purchase rate (weeks).
    pub alpha: f64,
    /// First Beta parameter of the dropout probability.
    pub a: f64,
    /// Second Beta parameter of the dropout probability.
    pub b: f64,
    /// Maximized log-likelihood (natural log, summed over customers).
    pub log_likelihood: f64,
    /// Nelder-Mead iterations spent.
    pub iterations: u64,
    /// Number of customers fitted.
    pub customers: usize,
}

/// Entry point for fitting BG/NBD.
#[derive(Debug, Clone, Copy, Default)]
pub struct BgNbd;

/// Customers grouped for fast likelihood evaluation: identical (x, t_x, t)
/// rows are merged with a weight; x and t values are indexed so the
/// parameter-dependent terms are computed once per distinct value.
struct Compressed {
    /// Distinct x values.
    xs: Vec<u32>,
    /// Distinct t values.
    ts: Vec<f64>,
    /// (x index, t index, t_x, weight).
    rows: Vec<(usize, usize, f64, f64)>,
}

impl Compressed {
    fn new(data: &[RepeatSummary]) -> Self {
        let mut keyed: Vec<(u32, u64, u64)> = data
            .iter()
            .map(|s| (s.x, s.t.to_bits(), s.t_x.to_bits()))
            .collect();
        keyed.sort_unstable();
        let mut xs: Vec<u32> = keyed.iter().map(|k| k.0).collect();
        xs.dedup();
        let mut ts: Vec<u64> = keyed.iter().map(|k| k.1).collect();
        ts.sort_unstable();
        ts.dedup();
        let mut rows: Vec<(usize, usize, f64, f64)> = Vec::new();
        let mut prev = None;
        for k in keyed {
            if prev == Some(k) {
                if let Some(last) = rows.last_mut() {
                    last.3 += 1.0;
                }
                continue;
            }
            prev = Some(k);
            let xi = xs.partition_point(|&x| x < k.0);
            let ti = ts.partition_point(|&t| t < k.1);
            rows.push((xi, ti, f64::from_bits(k.2), 1.0));
        }
        Compressed {
            xs,
            ts: ts.into_iter().map(f64::from_bits).collect(),
            rows,
        }
    }

    /// Σ log-likelihood at (r, α, a, b), all assumed > 0 (see
    /// [`BgNbdParams::log_likelihood`] for the formula).
    fn log_likelihood(&self, p: &BgNbdParams) -> f64 {
        let BgNbdParams { r, alpha, a, b } = *p;
        let base = r * alpha.ln() - ln_gamma(r) - ln_beta(a, b);
        // Per x: constant part and ln(a / (b + x − 1)).
        let per_x: Vec<(f64, f64)> = self
            .xs
            .iter()
            .map(|&x| {
                let xf = f64::from(x);
                let c = base + ln_gamma(r + xf) + ln_beta(a, b + xf);
                let k = if x > 0 {
                    (a / (b + xf - 1.0)).ln()
                } else {
                    0.0
                };
                (c, k)
            })
            .collect();
        let ln_at: Vec<f64> = self.ts.iter().map(|&t| (alpha + t).ln()).collect();
        let mut ll = 0.0;
        for &(xi, ti, t_x, w) in &self.rows {
            let x = self.xs[xi];
            let rx = r + f64::from(x);
            let (c, k) = per_x[xi];
            let t1 = -rx * ln_at[ti];
            let row = if x > 0 {
                let t2 = k - rx * (alpha + t_x).ln();
                t1.max(t2) + (-(t1 - t2).abs()).exp().ln_1p()
            } else {
                t1
            };
            ll += w * (c + row);
        }
        ll
    }
}

impl BgNbd {
    /// Fits BG/NBD by maximum likelihood (Nelder-Mead on ln r, ln α, ln a,
    /// ln b, restarted until stable; starting point r = a = b = 1, α = mean
    /// `t`). Same as [`BgNbd::fit_penalized`] with penalty 0.
    ///
    /// # Errors
    /// As [`BgNbd::fit_penalized`]. Small samples (tens of customers) often
    /// have no interior maximum (a, b → ∞ or → 0) and fail with
    /// [`ClvError::NoConvergence`]; use a small penalty for them.
    pub fn fit(data: &[RepeatSummary]) -> Result<BgNbdFit, ClvError> {
        Self::fit_penalized(data, 0.0)
    }

    /// Fits BG/NBD by penalized maximum likelihood: minimizes
    /// −LL/n + `penalty` · Σ (ln θ)² over θ = (r, α, a, b), n customers — a
    /// ridge on the log-parameters that pulls them toward 1 and keeps the
    /// optimum finite on small or degenerate samples. `penalty` = 0 is plain
    /// maximum likelihood; 0.001–0.1 are typical regularizing values. The
    /// reported `log_likelihood` is the unpenalized LL at the optimum.
    ///
    /// # Errors
    /// [`ClvError::InvalidParameter`] when `penalty` is not finite or < 0;
    /// [`ClvError::InvalidSummary`] naming the first invalid customer;
    /// [`ClvError::NoData`] when `data` is empty or nobody has a repeat
    /// transaction (the likelihood then has no interior maximum);
    /// [`ClvError::NoConvergence`] when the optimizer does not converge.
    pub fn fit_penalized(data: &[RepeatSummary], penalty: f64) -> Result<BgNbdFit, ClvError> {
        if !penalty.is_finite() || penalty < 0.0 {
            return Err(ClvError::InvalidParameter {
                name: "penalty",
                value: penalty,
                reason: "must be finite and >= 0",
            });
        }
        validate_summaries(data)?;
        if data.is_empty() {
            return Err(ClvError::NoData {
                model: "BG/NBD",
                reason: "no customers",
            });
        }
        if data.iter().all(|s| s.x == 0) {
            return Err(ClvError::NoData {
                model: "BG/NBD",
                reason: "needs at least one customer with a repeat transaction",
            });
        }
        let rows = Compressed::new(data);
        let n = data.len() as f64;
        let mean_t = data.iter().map(|s| s.t).sum::<f64>() / n;
        let theta0 = [0.0, mean_t.max(1.0).ln(), 0.0, 0.0];
        let params = |th: &[f64]| BgNbdParams {
            r: th[0].exp(),
            alpha: th[1].exp(),
            a: th[2].exp(),
            b: th[3].exp(),
        };
        // Scaled by 1/n only when penalized, so plain ML keeps its tolerances.
        let scale = if penalty > 0.0 { 1.0 / n } else { 1.0 };
        let objective = |th: &[f64]| {
            -rows.log_likelihood(&params(th)) * scale
                + penalty * th.iter().map(|t| t * t).sum::<f64>()
        };
        let m = minimize(objective, &theta0, "BG/NBD")?;
        let fitted = params(&m.theta);
        Ok(BgNbdFit {
            r: fitted.r,
            alpha: fitted.alpha,
            a: fitted.a,
            b: fitted.b,
            log_likelihood: rows.log_likelihood(&fitted),
            iterations: m.iterations,
            customers: data.len(),
        })
    }
}

/// Evaluates `f(a)`; at the removable singularity a = 1 of the expectation
/// formulas (|a − 1| < 1e-7) it averages f(1 − 1e-5) and f(1 + 1e-5), whose
/// error is O(1e-10) relative.
fn near_one<F: Fn(f64) -> Result<f64, ClvError>>(a: f64, f: F) -> Result<f64, ClvError> {
    const H: f64 = 1e-5;
    if (a - 1.0).abs() < 1e-7 {
        Ok(0.5 * (f(1.0 - H)? + f(1.0 + H)?))
    } else {
        f(a)
    }
}

fn check_horizon(t: f64) -> Result<(), ClvError> {
    if t.is_finite() && t >= 0.0 {
        Ok(())
    } else {
        Err(ClvError::InvalidParameter {
            name: "t",
            value: t,
            reason: "horizon must be finite and >= 0 weeks",
        })
    }
}

impl BgNbdParams {
    /// Builds parameters, checking each is finite and > 0.
    ///
    /// # Errors
    /// [`ClvError::InvalidParameter`] naming the first bad parameter.
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self, ClvError> {
        super::check_positive(&[("r", r), ("alpha", alpha), ("a", a), ("b", b)])?;
        Ok(BgNbdParams { r, alpha, a, b })
    }

    /// Total log-likelihood of `data` (FHL 2005 eq. 6):
    ///
    /// L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
    ///   + 1{x>0} · B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x)),
    ///
    /// summed as ln L over customers.
    ///
    /// # Errors
    /// [`ClvError::InvalidSummary`] naming the first invalid customer.
    pub fn log_likelihood(&self, data: &[RepeatSummary]) -> Result<f64, ClvError> {
        validate_summaries(data)?;
        Ok(Compressed::new(data).log_likelihood(self))
    }

    /// P(alive | x, t_x, T) = 1 / (1 + 1{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
    /// (FHL 2005 eq. 11 via the 2005 note). In [0, 1]; 1 when x = 0.
    pub fn p_alive(&self, s: &RepeatSummary) -> f64 {
        if s.x == 0 {
            return 1.0;
        }
        let x = f64::from(s.x);
        let ln_odds = (self.a / (self.b + x - 1.0)).ln()
            + (self.r + x) * ((self.alpha + s.t).ln() - (self.alpha + s.t_x).ln());
        1.0 / (1.0 + ln_odds.exp())
    }

    /// Expected number of transactions in the next `t` weeks after the end of
    /// calibration, given the history (FHL 2005 eq. 10):
    ///
    /// E[Y(t) | x, t_x, T] = (a+b+x−1)/(a−1)
    ///   · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; t/(α+T+t))]
    ///   · P(alive | x, t_x, T).
    ///
    /// # Errors
    /// [`ClvError::InvalidParameter`] when `t` is not finite or < 0;
    /// [`ClvError::Hypergeometric`] when 2F1 does not converge.
    pub fn conditional_expected_transactions(
        &self,
        s: &RepeatSummary,
        t: f64,
    ) -> Result<f64, ClvError> {
        check_horizon(t)?;
        if t == 0.0 {
            return Ok(0.0);
        }
        let x = f64::from(s.x);
        let (r, alpha, b) = (self.r, self.alpha, self.b);
        let z = t / (alpha + s.t + t);
        let head = near_one(self.a, |a| {
            let f = hyp2f1(r + x, b + x, a + b + x - 1.0, z)?;
            let lead = ((alpha + s.t) / (alpha + s.t + t)).powf(r + x);
            Ok((a + b + x - 1.0) / (a - 1.0) * (1.0 - lead * f))
        })?;
        Ok(head * self.p_alive(s))
    }

    /// Expected number of transactions in the first `t` weeks after a
    /// customer's first purchase (repeat transactions only; FHL 2005 eq. 9):
    ///
    /// E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r · 2F1(r, b; a+b−1; t/(α+t))].
    ///
    /// # Errors
    /// [`ClvError::InvalidParameter`] when `t` is not finite or < 0;
    /// [`ClvError::Hypergeometric`] when 2F1 does not converge (t/α beyond
    /// about 10⁶).
    pub fn expected_transactions(&self, t: f64) -> Result<f64, ClvError> {
        check_horizon(t)?;
        if t == 0.0 {
            return Ok(0.0);
        }
        let (r, alpha, b) = (self.r, self.alpha, self.b);
        let z = t / (alpha + t);
        near_one(self.a, |a| {
            let f = hyp2f1(r, b, a + b - 1.0, z)?;
            Ok((a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + t)).powf(r) * f))
        })
    }

    /// Probability of no purchase in the next `t` weeks after the end of
    /// calibration, given the history.
    ///
    /// Under BG/NBD a customer drops out only right after a purchase, so an
    /// active customer makes no purchase in (T, T+t] with probability e^(−λt).
    /// Given the history and being alive at T the posterior of λ is
    /// Gamma(r+x, α+T) (the alive term of the likelihood is
    /// λ^x e^(−λT) (1−p)^x), and E[e^(−λt)] under it is
    /// ((α+T)/(α+T+t))^(r+x). Hence
    ///
    /// P(no purchase in t) = 1 − P(alive) + P(alive) · ((α+T)/(α+T+t))^(r+x).
    ///
    /// In [0, 1], 1 at t = 0, non-increasing in t.
    ///
    /// # Errors
    /// [`ClvError::InvalidParameter`] when `t` is not finite or < 0.
    pub fn prob_no_purchase(&self, s: &RepeatSummary, t: f64) -> Result<f64, ClvError> {
        check_horizon(t)?;
        let alive = self.p_alive(s);
        let x = f64::from(s.x);
        let quiet = ((self.alpha + s.t) / (self.alpha + s.t + t)).powf(self.r + x);
        Ok(1.0 - alive + alive * quiet)
    }
}

impl BgNbdFit {
    /// The fitted parameters.
    pub fn params(&self) -> BgNbdParams {
        BgNbdParams {
            r: self.r,
            alpha: self.alpha,
            a: self.a,
            b: self.b,
        }
    }

    /// See [`BgNbdParams::p_alive`].
    pub fn p_alive(&self, s: &RepeatSummary) -> f64 {
        self.params().p_alive(s)
    }

    /// See [`BgNbdParams::conditional_expected_transactions`] (`t` in weeks).
    ///
    /// # Errors
    /// As [`BgNbdParams::conditional_expected_transactions`].
    pub fn conditional_expected_transactions(
        &self,
        s: &RepeatSummary,
        t: f64,
    ) -> Result<f64, ClvError> {
        self.params().conditional_expected_transactions(s, t)
    }

    /// See [`BgNbdParams::expected_transactions`] (`t` in weeks).
    ///
    /// # Errors
    /// As [`BgNbdParams::expected_transactions`].
    pub fn expected_transactions(&self, t: f64) -> Result<f64, ClvError> {
        self.params().expected_transactions(t)
    }

    /// See [`BgNbdParams::prob_no_purchase`] (`t` in weeks).
    ///
    /// # Errors
    /// As [`BgNbdParams::prob_no_purchase`].
    pub fn prob_no_purchase(&self, s: &RepeatSummary, t: f64) -> Result<f64, ClvError> {
        self.params().prob_no_purchase(s, t)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn s(x: u32, t_x: f64, t: f64) -> RepeatSummary {
        RepeatSummary {
            x,
            t_x,
            t,
            zbar: 0.0,
        }
    }

    const P: BgNbdParams = BgNbdParams {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };

    #[test]
    fn single_customer_likelihood_by_hand() {
        // x = 0: L = B(a,b)/B(a,b) · α^r/(α+T)^r = (α/(α+T))^r
        let ll = P.log_likelihood(&[s(0, 0.0, 10.0)]).unwrap();
        assert!((ll - P.r * (P.alpha / (P.alpha + 10.0)).ln()).abs() < 1e-12);
        // x = 1, t_x = 2, T = 10, with a = b = r = α = 1:
        // B(1,2)/B(1,1) = 1/2, Γ(2)/Γ(1) = 1, so L = 1/2·1/11² + B(2,1)/B(1,1)·1/3² = 1/242 + 1/18.
        let q = BgNbdParams::new(1.0, 1.0, 1.0, 1.0).unwrap();
        let ll = q.log_likelihood(&[s(1, 2.0, 10.0)]).unwrap();
        let want = (1.0_f64 / 242.0 + 1.0 / 18.0).ln();
        assert!((ll - want).abs() < 1e-12, "{ll} vs {want}");
    }

    #[test]
    fn likelihood_is_permutation_invariant_and_additive() {
        let data = [
            s(0, 0.0, 30.0),
            s(3, 20.0, 30.0),
            s(1, 5.0, 12.0),
            s(0, 0.0, 30.0),
        ];
        let all = P.log_likelihood(&data).unwrap();
        let sum: f64 = data.iter().map(|d| P.log_likelihood(&[*d]).unwrap()).sum();
        assert!((all - sum).abs() < 1e-10);
        let mut rev = data;
        rev.reverse();
        assert!((P.log_likelihood(&rev).unwrap() - all).abs() < 1e-10);
    }

    #[test]
    fn p_alive_properties() {
        assert_eq!(P.p_alive(&s(0, 0.0, 30.0)), 1.0);
        // A recent last purchase means more likely alive; a longer silence less.
        let recent = P.p_alive(&s(3, 29.0, 30.0));
        let old = P.p_alive(&s(3, 5.0, 30.0));
        let older = P.p_alive(&s(3, 5.0, 60.0));
        assert!(recent > old && old > older, "{recent} {old} {older}");
        assert!((0.0..=1.0).contains(&older));
        // t_x = T: odds are a/(b+x−1).
        let at = P.p_alive(&s(2, 30.0, 30.0));
        assert!((at - 1.0 / (1.0 + P.a / (P.b + 1.0))).abs() < 1e-12);
    }

    #[test]
    fn expected_transactions_small_t_and_monotone() {
        // E[X(t)] ≈ (r/α)·t for small t (everyone alive, mean rate r/α).
        let t = 1e-4;
        let e = P.expected_transactions(t).unwrap();
        assert!((e / t - P.r / P.alpha).abs() < 1e-3 * P.r / P.alpha, "{e}");
        let mut prev = 0.0;
        for k in 1..=20 {
            let e = P.expected_transactions(f64::from(k) * 10.0).unwrap();
            assert!(e > prev);
            prev = e;
        }
        assert!(P.expected_transactions(-1.0).is_err());
    }

    #[test]
    fn conditional_expectation_for_new_customer_equals_unconditional() {
        // x = 0, T = 0: the history carries no information.
        let e = P
            .conditional_expected_transactions(&s(0, 0.0, 0.0), 25.0)
            .unwrap();
        let u = P.expected_transactions(25.0).unwrap();
        assert!((e - u).abs() < 1e-10 * u, "{e} vs {u}");
    }

    #[test]
    fn a_equal_one_is_handled() {
        let q = BgNbdParams { a: 1.0, ..P };
        let lo = BgNbdParams { a: 1.0 - 1e-3, ..P };
        let hi = BgNbdParams { a: 1.0 + 1e-3, ..P };
        let (e, el, eh) = (
            q.expected_transactions(39.0).unwrap(),
            lo.expected_transactions(39.0).unwrap(),
            hi.expected_transactions(39.0).unwrap(),
        );
        assert!(
            e.is_finite() && (e - 0.5 * (el + eh)).abs() < 1e-5,
            "{e} {el} {eh}"
        );
        let c = q
            .conditional_expected_transactions(&s(2, 10.0, 30.0), 39.0)
            .unwrap();
        assert!(c.is_finite() && c > 0.0);
    }

    #[test]
    fn prob_no_purchase_properties() {
        let h = s(2, 10.0, 39.0);
        assert!((P.prob_no_purchase(&h, 0.0).unwrap() - 1.0).abs() < 1e-15);
        let mut prev = 1.0;
        for k in 1..=10 {
            let p = P.prob_no_purchase(&h, f64::from(k) * 8.0).unwrap();
            assert!(p < prev && p >= 1.0 - P.p_alive(&h));
            prev = p;
        }
    }

    #[test]
    fn params_are_validated() {
        assert!(BgNbdParams::new(0.0, 1.0, 1.0, 1.0).is_err());
        assert!(matches!(
            BgNbdParams::new(1.0, f64::NAN, 1.0, 1.0),
            Err(ClvError::InvalidParameter { name: "alpha", .. })
        ));
    }

    #[test]
    fn penalty_keeps_small_samples_finite() {
        // Three customers: the plain likelihood has no interior maximum or a
        // far-away one; a ridge gives finite, moderate estimates, and a
        // stronger ridge pulls harder toward 1.
        let data = [s(0, 0.0, 30.0), s(2, 20.0, 30.0), s(5, 28.0, 30.0)];
        let weak = BgNbd::fit_penalized(&data, 0.01).unwrap();
        let strong = BgNbd::fit_penalized(&data, 1.0).unwrap();
        for f in [&weak, &strong] {
            assert!(
                [f.r, f.alpha, f.a, f.b]
                    .iter()
                    .all(|v| v.is_finite() && *v > 0.0)
            );
            assert!(f.log_likelihood < 0.0);
        }
        let dist = |f: &BgNbdFit| {
            [f.r, f.alpha, f.a, f.b]
                .iter()
                .map(|v| v.ln().powi(2))
                .sum::<f64>()
        };
        assert!(dist(&strong) < dist(&weak));
        assert!(weak.log_likelihood > strong.log_likelihood);
        assert!(BgNbd::fit_penalized(&data, -1.0).is_err());
    }

    #[test]
    fn fit_rejects_degenerate_data() {
        assert!(matches!(BgNbd::fit(&[]), Err(ClvError::NoData { .. })));
        assert!(matches!(
            BgNbd::fit(&[s(0, 0.0, 5.0)]),
            Err(ClvError::NoData { .. })
        ));
        assert!(matches!(
            BgNbd::fit(&[s(0, 0.0, 5.0), s(1, 6.0, 5.0)]),
            Err(ClvError::InvalidSummary { customer: 1, .. })
        ));
    }
}
