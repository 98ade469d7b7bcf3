//! Maximum likelihood by Nelder-Mead (argmin) in log-parameter space, with
//! restarts until the optimum is stable.

use argmin::core::{CostFunction, Executor, State, TerminationReason};
use argmin::solver::neldermead::NelderMead;

use super::ClvError;

/// Result of [`minimize`].
pub(crate) struct Minimum {
    /// Minimizing point (log-parameters).
    pub theta: Vec<f64>,
    /// Objective value there.
    pub value: f64,
    /// Nelder-Mead iterations over all restarts.
    pub iterations: u64,
}

/// Objective adapter: non-finite values become +∞ so the simplex moves away.
struct Objective<F>(F);

impl<F: Fn(&[f64]) -> f64> CostFunction for Objective<F> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, theta: &Self::Param) -> Result<f64, argmin::core::Error> {
        let v = (self.0)(theta);
        Ok(if v.is_finite() { v } else { f64::INFINITY })
    }
}

/// Iteration cap of one Nelder-Mead run.
const MAX_ITERS: u64 = 20_000;
/// Restarts allowed before reporting non-convergence.
const MAX_RESTARTS: usize = 12;

/// Minimizes `f` from `theta0`: Nelder-Mead with an initial simplex of side
/// 1 (log units), then restarted from the best vertex with side 0.1 until a
/// restart changes neither the value (≤ 1e-9·(1+|f|)) nor any coordinate
/// (≤ 1e-7). Each run stops when the standard deviation of the simplex
/// values falls below 1e-12·(1+|f|).
///
/// # Errors
/// [`ClvError::NoConvergence`] when a run hits its iteration cap, the
/// optimum stays unstable after the restarts, the optimizer fails or the
/// objective is not finite at the optimum.
pub(crate) fn minimize<F: Fn(&[f64]) -> f64>(
    f: F,
    theta0: &[f64],
    model: &'static str,
) -> Result<Minimum, ClvError> {
    let objective = Objective(f);
    let fail = |iterations, reason: String| ClvError::NoConvergence {
        model,
        iterations,
        reason,
    };
    let mut best = theta0.to_vec();
    let mut best_value = (objective.0)(&best);
    let mut iterations = 0_u64;
    for restart in 0..=MAX_RESTARTS {
        let step = if restart == 0 { 1.0 } else { 0.1 };
        let mut simplex = vec![best.clone()];
        for i in 0..best.len() {
            let mut v = best.clone();
            v[i] += step;
            simplex.push(v);
        }
        let tol = 1e-12 * (1.0 + best_value.abs().min(1e12));
        let solver = NelderMead::new(simplex)
            .with_sd_tolerance(tol)
            .map_err(|e| fail(iterations, e.to_string()))?;
        let res = Executor::new(Objective(&objective.0), solver)
            .configure(|s| s.max_iters(MAX_ITERS))
            .run()
            .map_err(|e| fail(iterations, e.to_string()))?;
        let state = res.state();
        iterations += state.get_iter();
        if let Some(TerminationReason::MaxItersReached) = state.get_termination_reason() {
            return Err(fail(iterations, "iteration cap reached".to_string()));
        }
        let Some(theta) = state.get_best_param().cloned() else {
            return Err(fail(iterations, "no best point".to_string()));
        };
        let value = state.get_best_cost();
        if !value.is_finite() {
            return Err(fail(iterations, "objective not finite".to_string()));
        }
        let moved = theta
            .iter()
            .zip(&best)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let improved = best_value - value;
        let stable = restart > 0 && improved.abs() <= 1e-9 * (1.0 + value.abs()) && moved <= 1e-7;
        if value <= best_value || !best_value.is_finite() {
            best = theta;
            best_value = value;
        }
        if stable {
            return Ok(Minimum {
                theta: best,
                value: best_value,
                iterations,
            });
        }
    }
    Err(fail(
        iterations,
        "optimum still moving after restarts".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn minimizes_a_shifted_quadratic() {
        let f = |t: &[f64]| (t[0] - 1.5).powi(2) + 10.0 * (t[1] + 0.5).powi(2) + 3.0;
        let m = minimize(f, &[0.0, 0.0], "test").unwrap();
        assert!((m.theta[0] - 1.5).abs() < 1e-5, "{:?}", m.theta);
        assert!((m.theta[1] + 0.5).abs() < 1e-5, "{:?}", m.theta);
        assert!((m.value - 3.0).abs() < 1e-9);
        assert!(m.iterations > 0);
    }

    #[test]
    fn unbounded_objective_is_an_error() {
        let f = |t: &[f64]| -t[0];
        assert!(matches!(
            minimize(f, &[0.0], "test"),
            Err(ClvError::NoConvergence { .. })
        ));
    }
}
