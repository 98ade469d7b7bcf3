//! Pareto/NBD (Schmittlein, Morrison & Colombo 1987), in the likelihood form
//! of Fader, Hardie & Lee (2005, "A note on deriving the Pareto/NBD model
//! and related expressions").
//!
//! While alive a customer buys as a Poisson process with rate λ per week and
//! dies after an exponential lifetime with rate μ per week; across customers
//! λ ~ Gamma(shape r, rate α) and μ ~ Gamma(shape s, rate β). Time is in
//! weeks.

use super::optim::minimize;
use super::special::{hyp2f1_capped, ln_gamma};
use super::{ClvError, RepeatSummary, validate_summaries};

/// Most 2F1 series terms per evaluation of A₀: enough for
/// |α−β| / (max(α, β) + t_x) up to about 0.998; beyond that the likelihood
/// and P(alive) report [`ClvError::Hypergeometric`] (and the fit treats the
/// point as infeasible) instead of summing for seconds.
const MAX_TERMS: usize = 20_000;

/// Pareto/NBD parameters, all finite and > 0.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ParetoNbdParams {
    /// Gamma shape of the purchase rate λ.
    pub r: f64,
    /// Gamma rate of λ (weeks).
    pub alpha: f64,
    /// Gamma shape of the dropout rate μ.
    pub s: f64,
    /// Gamma rate of μ (weeks).
    pub beta: f64,
}

/// Maximum-likelihood Pareto/NBD fit.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ParetoNbdFit {
    /// Gamma shape of the purchase rate λ.
    pub r: f64,
    /// Gamma rate of λ (weeks).
    pub alpha: f64,
    /// Gamma shape of the dropout rate μ.
    pub s: f64,
    /// Gamma rate of μ (weeks).
    pub beta: f64,
    /// Maximized log-likelihood (natural log, summed over customers).
    pub log_likelihood: f64,
    /// Nelder-Mead iterations spent.
    pub iterations: u64,
    /// Number of customers fitted.
    pub customers: usize,
}

/// Entry point for fitting Pareto/NBD.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParetoNbd;

impl ParetoNbd {
    /// Fits Pareto/NBD by maximum likelihood (Nelder-Mead on ln r, ln α,
    /// ln s, ln β, restarted until stable; start r = s = 1, α = β = mean
    /// `t`).
    ///
    /// # Errors
    /// [`ClvError::InvalidSummary`] naming the first invalid customer;
    /// [`ClvError::NoData`] when `data` is empty or nobody has a repeat
    /// transaction; [`ClvError::NoConvergence`] when the optimizer does not
    /// converge or the likelihood cannot be evaluated at the optimum.
    pub fn fit(data: &[RepeatSummary]) -> Result<ParetoNbdFit, ClvError> {
        validate_summaries(data)?;
        if data.is_empty() || data.iter().all(|s| s.x == 0) {
            return Err(ClvError::NoData {
                model: "Pareto/NBD",
                reason: "needs customers, at least one with a repeat transaction",
            });
        }
        let mean_t = data.iter().map(|s| s.t).sum::<f64>() / data.len() as f64;
        let lt = mean_t.max(1.0).ln();
        // Identical (x, t_x, t) histories share one likelihood evaluation.
        let mut sorted: Vec<&RepeatSummary> = data.iter().collect();
        sorted.sort_unstable_by_key(|d| (d.x, d.t.to_bits(), d.t_x.to_bits()));
        let mut rows: Vec<(RepeatSummary, f64)> = Vec::new();
        for d in sorted {
            match rows.last_mut() {
                Some((last, w)) if last.x == d.x && last.t == d.t && last.t_x == d.t_x => {
                    *w += 1.0;
                }
                _ => rows.push((*d, 1.0)),
            }
        }
        let objective = |th: &[f64]| {
            let p = ParetoNbdParams {
                r: th[0].exp(),
                alpha: th[1].exp(),
                s: th[2].exp(),
                beta: th[3].exp(),
            };
            // Non-finite (including a 2F1 failure far from the optimum)
            // becomes +∞ in the optimizer.
            let mut ll = 0.0;
            for (d, w) in &rows {
                match p.ln_likelihood_one(d) {
                    Ok(v) => ll += w * v,
                    Err(_) => return f64::INFINITY,
                }
            }
            -ll
        };
        let m = minimize(objective, &[0.0, lt, 0.0, lt], "Pareto/NBD")?;
        Ok(ParetoNbdFit {
            r: m.theta[0].exp(),
            alpha: m.theta[1].exp(),
            s: m.theta[2].exp(),
            beta: m.theta[3].exp(),
            log_likelihood: -m.value,
            iterations: m.iterations,
            customers: data.len(),
        })
    }
}

impl ParetoNbdFit {
    /// The fitted parameters (all predictions live on [`ParetoNbdParams`]).
    pub fn params(&self) -> ParetoNbdParams {
        ParetoNbdParams {
            r: self.r,
            alpha: self.alpha,
            s: self.s,
            beta: self.beta,
        }
    }
}

impl ParetoNbdParams {
    /// Builds parameters, checking each is finite and > 0.
    ///
    /// # Errors
    /// [`ClvError::InvalidParameter`] naming the first bad parameter.
    pub fn new(r: f64, alpha: f64, s: f64, beta: f64) -> Result<Self, ClvError> {
        super::check_positive(&[("r", r), ("alpha", alpha), ("s", s), ("beta", beta)])?;
        Ok(ParetoNbdParams { r, alpha, s, beta })
    }

    /// ln A₀ (FHL 2005 note, eq. 19-20), −∞ when t_x = T. With
    /// m = max(α, β), k = s + 1 if α ≥ β else r + x, and
    /// F(u) = 2F1(r+s+x, k; r+s+x+1; |α−β|/(m+u)) / (m+u)^(r+s+x):
    /// A₀ = F(t_x) − F(T).
    fn ln_a0(&self, d: &RepeatSummary) -> Result<f64, ClvError> {
        let x = f64::from(d.x);
        let rsx = self.r + self.s + x;
        let (m, k) = if self.alpha >= self.beta {
            (self.alpha, self.s + 1.0)
        } else {
            (self.beta, self.r + x)
        };
        let diff = (self.alpha - self.beta).abs();
        let ln_f = |u: f64| -> Result<f64, ClvError> {
            let z = diff / (m + u);
            Ok(hyp2f1_capped(rsx, k, rsx + 1.0, z, MAX_TERMS)?.ln() - rsx * (m + u).ln())
        };
        let (f1, f2) = (ln_f(d.t_x)?, ln_f(d.t)?);
        Ok(if f2 >= f1 {
            f64::NEG_INFINITY
        } else {
            f1 + (-(f2 - f1).exp_m1()).ln()
        })
    }

    /// ln of the individual likelihood:
    ///
    /// L = Γ(r+x) α^r β^s / Γ(r) · [1/((α+T)^(r+x) (β+T)^s) + s/(r+s+x) · A₀].
    fn ln_likelihood_one(&self, d: &RepeatSummary) -> Result<f64, ClvError> {
        let x = f64::from(d.x);
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let head = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln();
        let t1 = -(r + x) * (alpha + d.t).ln() - s * (beta + d.t).ln();
        let t2 = (s / (r + s + x)).ln() + self.ln_a0(d)?;
        let mx = t1.max(t2);
        Ok(head + mx + ((t1 - mx).exp() + (t2 - mx).exp()).ln())
    }

    /// Total log-likelihood of `data` (see the module docs for the model).
    ///
    /// # Errors
    /// [`ClvError::InvalidSummary`] naming the first invalid customer;
    /// [`ClvError::Hypergeometric`] when 2F1 does not converge.
    pub fn log_likelihood(&self, data: &[RepeatSummary]) -> Result<f64, ClvError> {
        validate_summaries(data)?;
        data.iter().map(|d| self.ln_likelihood_one(d)).sum()
    }

    /// P(alive at T | x, t_x, T) =
    /// 1 / (1 + s/(r+s+x) · (α+T)^(r+x) (β+T)^s · A₀), in [0, 1].
    ///
    /// # Errors
    /// [`ClvError::Hypergeometric`] when 2F1 does not converge.
    pub fn p_alive(&self, d: &RepeatSummary) -> Result<f64, ClvError> {
        let x = f64::from(d.x);
        let ln_odds = (self.s / (self.r + self.s + x)).ln()
            + (self.r + x) * (self.alpha + d.t).ln()
            + self.s * (self.beta + d.t).ln()
            + self.ln_a0(d)?;
        Ok(1.0 / (1.0 + ln_odds.exp()))
    }

    /// Expected transactions in the next `t` weeks given the history:
    ///
    /// E[Y(t) | x, t_x, T] = (r+x)(β+T) / ((α+T)(s−1))
    ///   · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive),
    ///
    /// with the removable singularity at s = 1 averaged as in BG/NBD.
    ///
    /// # Errors
    /// [`ClvError::InvalidParameter`] when `t` is not finite or < 0;
    /// [`ClvError::Hypergeometric`] from P(alive).
    pub fn conditional_expected_transactions(
        &self,
        d: &RepeatSummary,
        t: f64,
    ) -> Result<f64, ClvError> {
        check_horizon(t)?;
        let x = f64::from(d.x);
        let bt = self.beta + d.t;
        let head = avoid_one(self.s, |s| {
            (self.r + x) * bt / ((self.alpha + d.t) * (s - 1.0))
                * (1.0 - (bt / (bt + t)).powf(s - 1.0))
        });
        Ok(head * self.p_alive(d)?)
    }

    /// Probability of no purchase in the next `t` weeks given the history.
    ///
    /// Given alive at T, the posterior is λ ~ Gamma(r+x, α+T) and
    /// μ ~ Gamma(s, β+T), independent (the alive term of the likelihood is
    /// λ^x e^(−λT) e^(−μT)), and "no purchase in (T, T+t]" is the event whose
    /// probability the likelihood of a new customer with x = 0 over a window
    /// t gives. Hence
    ///
    /// P(no purchase in t) = 1 − P(alive) + P(alive) · L(x=0, t_x=0, T=t;
    /// r+x, α+T, s, β+T).
    ///
    /// In [0, 1], 1 at t = 0.
    ///
    /// # Errors
    /// [`ClvError::InvalidParameter`] when `t` is not finite or < 0;
    /// [`ClvError::Hypergeometric`] when 2F1 does not converge.
    pub fn prob_no_purchase(&self, d: &RepeatSummary, t: f64) -> Result<f64, ClvError> {
        check_horizon(t)?;
        let alive = self.p_alive(d)?;
        if t == 0.0 {
            return Ok(1.0);
        }
        let x = f64::from(d.x);
        let posterior = ParetoNbdParams {
            r: self.r + x,
            alpha: self.alpha + d.t,
            s: self.s,
            beta: self.beta + d.t,
        };
        let quiet = posterior
            .ln_likelihood_one(&RepeatSummary {
                x: 0,
                t_x: 0.0,
                t,
                zbar: 0.0,
            })?
            .exp();
        Ok((1.0 - alive + alive * quiet).clamp(0.0, 1.0))
    }

    /// Expected repeat transactions in the first `t` weeks after the first
    /// purchase: E[X(t)] = rβ/(α(s−1)) · [1 − (β/(β+t))^(s−1)].
    ///
    /// # Errors
    /// [`ClvError::InvalidParameter`] when `t` is not finite or < 0.
    pub fn expected_transactions(&self, t: f64) -> Result<f64, ClvError> {
        check_horizon(t)?;
        let (r, alpha, beta) = (self.r, self.alpha, self.beta);
        Ok(avoid_one(self.s, |s| {
            r * beta / (alpha * (s - 1.0)) * (1.0 - (beta / (beta + t)).powf(s - 1.0))
        }))
    }
}

/// f(s), averaging f(1 ± 1e-5) at the removable singularity |s − 1| < 1e-7.
fn avoid_one<F: Fn(f64) -> f64>(s: f64, f: F) -> f64 {
    if (s - 1.0).abs() < 1e-7 {
        0.5 * (f(1.0 - 1e-5) + f(1.0 + 1e-5))
    } else {
        f(s)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const P: ParetoNbdParams = ParetoNbdParams {
        r: 0.5533,
        alpha: 10.578,
        s: 0.6062,
        beta: 11.668,
    };

    fn h(x: u32, t_x: f64, t: f64) -> RepeatSummary {
        RepeatSummary {
            x,
            t_x,
            t,
            zbar: 0.0,
        }
    }

    #[test]
    fn x_zero_likelihood_by_hand() {
        // With α = β, no purchase in (0, T] has probability, given λ and μ,
        // e^(−(λ+μ)T) + μ/(λ+μ)·(1 − e^(−(λ+μ)T)); λ+μ ~ Gamma(r+s, α) is
        // independent of μ/(λ+μ) ~ Beta(s, r), so the mixture is
        // φ + s/(r+s)·(1 − φ) with φ = (α/(α+T))^(r+s).
        let q = ParetoNbdParams { beta: P.alpha, ..P };
        let t = 20.0;
        let rs = q.r + q.s;
        let phi = (q.alpha / (q.alpha + t)).powf(rs);
        let want = phi + q.s / rs * (1.0 - phi);
        let got = q.log_likelihood(&[h(0, 0.0, t)]).unwrap();
        assert!((got - want.ln()).abs() < 1e-12, "{got} vs {}", want.ln());
    }

    #[test]
    fn prob_no_purchase_properties() {
        let d = h(2, 10.0, 39.0);
        assert_eq!(P.prob_no_purchase(&d, 0.0).unwrap(), 1.0);
        let floor = 1.0 - P.p_alive(&d).unwrap();
        let mut prev = 1.0;
        for k in 1..=10 {
            let p = P.prob_no_purchase(&d, f64::from(k) * 8.0).unwrap();
            assert!(p < prev && p >= floor, "{p} {prev} {floor}");
            prev = p;
        }
        // A brand-new customer: the x = 0 likelihood itself.
        let fresh = h(0, 0.0, 0.0);
        let want = P.log_likelihood(&[h(0, 0.0, 30.0)]).unwrap().exp();
        assert!((P.prob_no_purchase(&fresh, 30.0).unwrap() - want).abs() < 1e-12);
    }

    #[test]
    fn branches_agree_across_alpha_equal_beta() {
        let d = h(3, 12.0, 30.0);
        let lo = ParetoNbdParams {
            alpha: 10.0 - 1e-7,
            beta: 10.0,
            ..P
        };
        let hi = ParetoNbdParams {
            alpha: 10.0 + 1e-7,
            beta: 10.0,
            ..P
        };
        let (a, b) = (
            lo.log_likelihood(&[d]).unwrap(),
            hi.log_likelihood(&[d]).unwrap(),
        );
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }

    #[test]
    fn p_alive_and_expectations() {
        assert!(P.p_alive(&h(0, 0.0, 0.0)).unwrap() > 0.999_999);
        let recent = P.p_alive(&h(4, 29.0, 30.0)).unwrap();
        let old = P.p_alive(&h(4, 5.0, 30.0)).unwrap();
        assert!(recent > old && old > 0.0 && recent <= 1.0);
        let e = P
            .conditional_expected_transactions(&h(0, 0.0, 0.0), 25.0)
            .unwrap();
        let u = P.expected_transactions(25.0).unwrap();
        assert!((e - u).abs() < 1e-9 * u, "{e} vs {u}");
        let t = 1e-4;
        let small = P.expected_transactions(t).unwrap();
        assert!((small / t - P.r / P.alpha).abs() < 1e-3 * P.r / P.alpha);
    }
}
