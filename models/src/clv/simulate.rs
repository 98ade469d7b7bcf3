//! Seeded synthetic data drawn from the BG/NBD and Gamma-Gamma models (for
//! tests of parameter recovery and for benchmarks).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma};

use super::{BgNbdParams, ClvError, ParetoNbdParams, RepeatSummary};

fn bad(name: &'static str, value: f64) -> ClvError {
    ClvError::InvalidParameter {
        name,
        value,
        reason: "must be finite and > 0",
    }
}

/// One synthetic customer from [`simulate_bgnbd`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimulatedCustomer {
    /// Calibration summary (weeks; `zbar` = 0).
    pub summary: RepeatSummary,
    /// Purchases in (T, T + holdout] weeks.
    pub holdout_transactions: u32,
}

/// Draws one customer per entry of `windows` (each an observation length T
/// in weeks, finite and ≥ 0) from BG/NBD: λ ~ Gamma(r, rate α),
/// p ~ Beta(a, b); purchases arrive as a Poisson(λ) process after the first
/// purchase at time 0 and after each purchase the customer drops out with
/// probability p. The process continues `holdout_weeks` past T to count
/// holdout purchases. Deterministic for a given `seed` (ChaCha8).
///
/// # Errors
/// [`ClvError::InvalidParameter`] for a parameter not finite and > 0 or a
/// window or holdout not finite and ≥ 0 (named `T`).
pub fn simulate_bgnbd(
    params: &BgNbdParams,
    windows: &[f64],
    holdout_weeks: f64,
    seed: u64,
) -> Result<Vec<SimulatedCustomer>, ClvError> {
    let p = BgNbdParams::new(params.r, params.alpha, params.a, params.b)?;
    let rate = Gamma::new(p.r, 1.0 / p.alpha).map_err(|_| bad("r", p.r))?;
    let dropout = Beta::new(p.a, p.b).map_err(|_| bad("a", p.a))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(windows.len());
    for &t in windows {
        if !t.is_finite() || t < 0.0 || !holdout_weeks.is_finite() || holdout_weeks < 0.0 {
            return Err(ClvError::InvalidParameter {
                name: "T",
                value: t,
                reason: "observation window must be finite and >= 0 weeks",
            });
        }
        let lambda: f64 = rate.sample(&mut rng);
        let pd: f64 = dropout.sample(&mut rng);
        let (mut x, mut t_x, mut now, mut holdout) = (0_u32, 0.0, 0.0, 0_u32);
        if lambda > 0.0 {
            let gap = Exp::new(lambda).map_err(|_| bad("lambda", lambda))?;
            loop {
                now += gap.sample(&mut rng);
                if now > t + holdout_weeks {
                    break;
                }
                if now > t {
                    holdout += 1;
                } else {
                    x += 1;
                    t_x = now;
                }
                if rng.random_bool(pd.clamp(0.0, 1.0)) {
                    break;
                }
            }
        }
        out.push(SimulatedCustomer {
            summary: RepeatSummary {
                x,
                t_x,
                t,
                zbar: 0.0,
            },
            holdout_transactions: holdout,
        });
    }
    Ok(out)
}

/// Draws one customer per entry of `windows` (observation length T in weeks)
/// from Pareto/NBD: λ ~ Gamma(r, rate α), μ ~ Gamma(s, rate β); the
/// customer's lifetime is Exp(μ) from the first purchase at time 0 and
/// purchases arrive as a Poisson(λ) process while alive. Holdout purchases
/// are counted in (T, T + `holdout_weeks`]. Deterministic for a given `seed`.
///
/// # Errors
/// [`ClvError::InvalidParameter`] for a parameter not finite and > 0 or a
/// window or holdout not finite and ≥ 0 (named `T`).
pub fn simulate_pareto_nbd(
    params: &ParetoNbdParams,
    windows: &[f64],
    holdout_weeks: f64,
    seed: u64,
) -> Result<Vec<SimulatedCustomer>, ClvError> {
    let p = ParetoNbdParams::new(params.r, params.alpha, params.s, params.beta)?;
    let rate = Gamma::new(p.r, 1.0 / p.alpha).map_err(|_| bad("r", p.r))?;
    let death = Gamma::new(p.s, 1.0 / p.beta).map_err(|_| bad("s", p.s))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(windows.len());
    for &t in windows {
        if !t.is_finite() || t < 0.0 || !holdout_weeks.is_finite() || holdout_weeks < 0.0 {
            return Err(ClvError::InvalidParameter {
                name: "T",
                value: t,
                reason: "observation window must be finite and >= 0 weeks",
            });
        }
        let lambda: f64 = rate.sample(&mut rng);
        let mu: f64 = death.sample(&mut rng);
        let lifetime: f64 = if mu > 0.0 {
            Exp::new(mu).map_err(|_| bad("mu", mu))?.sample(&mut rng)
        } else {
            f64::INFINITY
        };
        let end = lifetime.min(t + holdout_weeks);
        let (mut x, mut t_x, mut now, mut holdout) = (0_u32, 0.0, 0.0, 0_u32);
        if lambda > 0.0 {
            let gap = Exp::new(lambda).map_err(|_| bad("lambda", lambda))?;
            loop {
                now += gap.sample(&mut rng);
                if now > end {
                    break;
                }
                if now > t {
                    holdout += 1;
                } else {
                    x += 1;
                    t_x = now;
                }
            }
        }
        out.push(SimulatedCustomer {
            summary: RepeatSummary {
                x,
                t_x,
                t,
                zbar: 0.0,
            },
            holdout_transactions: holdout,
        });
    }
    Ok(out)
}

/// Fills `zbar` of every summary with x > 0 from Gamma-Gamma: the customer's
/// ν ~ Gamma(q, rate γ), then x values ~ Gamma(p, rate ν), averaged.
/// Summaries with x = 0 get `zbar` = 0. Deterministic for a given `seed`.
///
/// # Errors
/// [`ClvError::InvalidParameter`] for p, q or γ not finite and > 0.
pub fn simulate_gamma_gamma(
    p: f64,
    q: f64,
    gamma: f64,
    summaries: &mut [RepeatSummary],
    seed: u64,
) -> Result<(), ClvError> {
    for (name, value) in [("p", p), ("q", q), ("gamma", gamma)] {
        if !value.is_finite() || value <= 0.0 {
            return Err(bad(name, value));
        }
    }
    let nu_dist = Gamma::new(q, 1.0 / gamma).map_err(|_| bad("q", q))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for s in summaries.iter_mut() {
        if s.x == 0 {
            s.zbar = 0.0;
            continue;
        }
        let nu: f64 = nu_dist.sample(&mut rng);
        let value = Gamma::new(p, 1.0 / nu).map_err(|_| bad("nu", nu))?;
        let total: f64 = (0..s.x).map(|_| value.sample(&mut rng)).sum();
        s.zbar = total / f64::from(s.x);
    }
    Ok(())
}
