//! Special functions: log-gamma (from `libm`) and the Gauss hypergeometric
//! function 2F1 by its power series.

use super::ClvError;

/// ln Γ(x) for x > 0.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    libm::lgamma_r(x).0
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), for a, b > 0.
pub(crate) fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// Most series terms [`hyp2f1`] sums before reporting non-convergence.
const MAX_TERMS: usize = 5_000_000;
/// Relative accuracy target of [`hyp2f1`].
const REL_TOL: f64 = 1e-15;

/// Gauss hypergeometric function 2F1(a, b; c; z) for 0 ≤ z < 1 by its power
/// series Σₙ (a)ₙ(b)ₙ / ((c)ₙ n!) zⁿ.
///
/// Summation stops once the remaining tail is bounded below 1e-15 of the
/// partial sum: with term ratio ρₙ = |(a+n)(b+n)/((c+n)(n+1))|·z < 1, the
/// tail after term n is at most |termₙ₊₁| / (1 − max(ρₙ, z)) (valid once the
/// ratio is monotone, which holds for all large n). The series terminates
/// exactly when a or b is a non-positive integer.
///
/// # Errors
/// [`ClvError::Hypergeometric`] when z is outside [0, 1), any argument is not
/// finite, c is a non-positive integer, or the series has not converged
/// within 5,000,000 terms (z extremely close to 1).
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Result<f64, ClvError> {
    hyp2f1_capped(a, b, c, z, MAX_TERMS)
}

/// [`hyp2f1`] summing at most `max_terms` terms.
pub(crate) fn hyp2f1_capped(
    a: f64,
    b: f64,
    c: f64,
    z: f64,
    max_terms: usize,
) -> Result<f64, ClvError> {
    let fail = |terms| ClvError::Hypergeometric { a, b, c, z, terms };
    let finite = a.is_finite() && b.is_finite() && c.is_finite() && z.is_finite();
    if !finite || !(0.0..1.0).contains(&z) || (c <= 0.0 && c.fract() == 0.0) {
        return Err(fail(0));
    }
    if z == 0.0 {
        return Ok(1.0);
    }
    let mut term = 1.0_f64;
    let mut sum = 1.0_f64;
    for n in 0..max_terms {
        let nf = n as f64;
        let ratio = (a + nf) * (b + nf) / ((c + nf) * (nf + 1.0)) * z;
        term *= ratio;
        sum += term;
        if term == 0.0 {
            return Ok(sum);
        }
        let rho = ratio.abs();
        if rho < 1.0 {
            let bound = rho.max(z);
            // The tail after this term is ≤ |term| · bound / (1 − bound).
            if term.abs() * bound / (1.0 - bound) <= REL_TOL * sum.abs() {
                return Ok(sum);
            }
        }
        if !sum.is_finite() {
            return Err(fail(n + 1));
        }
    }
    Err(fail(max_terms))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn hyp2f1_matches_closed_forms() {
        for &z in &[0.0, 0.1, 0.5, 0.9, 0.99, 0.999] {
            // 2F1(1, 1; 2; z) = −ln(1 − z) / z
            let got = hyp2f1(1.0, 1.0, 2.0, z).unwrap();
            let want = if z == 0.0 { 1.0 } else { -(1.0 - z).ln() / z };
            assert!((got - want).abs() <= 1e-12 * want, "z={z}: {got} vs {want}");
            // 2F1(a, b; b; z) = (1 − z)^(−a)
            let got = hyp2f1(0.37, 2.5, 2.5, z).unwrap();
            let want = (1.0 - z).powf(-0.37);
            assert!((got - want).abs() <= 1e-12 * want, "z={z}: {got} vs {want}");
            // 2F1(1/2, 1; 3/2; z²)... use z: artanh(√z)/√z
            if z > 0.0 {
                let got = hyp2f1(0.5, 1.0, 1.5, z).unwrap();
                let want = z.sqrt().atanh() / z.sqrt();
                assert!((got - want).abs() <= 1e-12 * want, "z={z}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn hyp2f1_terminating_series_is_a_polynomial() {
        // 2F1(−2, b; c; z) = 1 − 2bz/c + b(b+1)z²/(c(c+1))
        let (b, c, z) = (1.5, 2.25, 0.7);
        let want = 1.0 - 2.0 * b * z / c + b * (b + 1.0) * z * z / (c * (c + 1.0));
        let got = hyp2f1(-2.0, b, c, z).unwrap();
        assert!((got - want).abs() < 1e-14);
    }

    #[test]
    fn hyp2f1_rejects_bad_arguments() {
        assert!(hyp2f1(1.0, 1.0, 2.0, 1.0).is_err());
        assert!(hyp2f1(1.0, 1.0, 2.0, -0.1).is_err());
        assert!(hyp2f1(1.0, 1.0, -1.0, 0.5).is_err());
        assert!(hyp2f1(f64::NAN, 1.0, 2.0, 0.5).is_err());
    }

    #[test]
    fn ln_gamma_known_values() {
        assert!((ln_gamma(5.0) - 24.0_f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
        assert!((ln_beta(2.0, 3.0) - (1.0_f64 / 12.0).ln()).abs() < 1e-13);
    }
}
