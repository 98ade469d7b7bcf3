//! `aima_models::metrics` against reference implementations.
//!
//! The expected values below were computed once with Python (scikit-survival
//! 0.28.0 `concordance_index_censored`, `brier_score`,
//! `integrated_brier_score` with the same data as train and test;
//! lifelines 0.30.3 `KaplanMeierFitter`; scikit-learn `roc_auc_score`) on
//! exactly these inputs, and pasted here. The project does not depend on
//! Python.

#![allow(clippy::unwrap_used)]

use aima_models::metrics::{
    KaplanMeier, brier_score, concordance_td, harrell_c, integrated_brier_score, roc_auc,
};

const TIME: [f64; 12] = [
    2.0, 3.5, 4.0, 5.5, 6.0, 7.0, 8.5, 9.0, 10.0, 11.5, 12.0, 14.0,
];
const EVENT: [bool; 12] = [
    true, true, false, true, false, true, true, false, true, false, true, false,
];
/// Weibull scale of each observation's predicted curve
/// `S_i(t) = exp(-(t / lam_i)^1.5)`.
const LAM: [f64; 12] = [
    3.0, 9.0, 5.0, 6.0, 12.0, 4.0, 8.0, 15.0, 9.5, 7.0, 10.0, 20.0,
];
const GRID: [f64; 5] = [3.0, 5.0, 7.0, 9.0, 11.0];

fn weibull(i: usize, t: f64) -> f64 {
    (-(t / LAM[i]).powf(1.5)).exp()
}

#[test]
fn harrell_matches_scikit_survival() {
    let risk: Vec<f64> = LAM.iter().map(|l| 1.0 / l).collect();
    let c = harrell_c(&risk, &TIME, &EVENT).unwrap();
    assert!((c - 0.8181818181818182).abs() < 1e-12, "{c}");
    // Same-shape curves never cross, so C^td equals Harrell's C here.
    let ctd = concordance_td(&TIME, &EVENT, weibull).unwrap();
    assert!((ctd - c).abs() < 1e-12, "{ctd}");
}

#[test]
fn brier_and_ibs_match_scikit_survival() {
    let expected = [
        0.06639232995617327,
        0.17617359914699396,
        0.16065018624134314,
        0.20193599040004676,
        0.19617146501172802,
    ];
    for (t, want) in GRID.iter().zip(expected) {
        let pred: Vec<f64> = (0..12).map(|i| weibull(i, *t)).collect();
        let bs = brier_score(&pred, &TIME, &EVENT, *t).unwrap();
        assert!((bs - want).abs() < 1e-12, "t={t}: {bs} vs {want}");
    }
    let pred: Vec<Vec<f64>> = (0..12)
        .map(|i| GRID.iter().map(|t| weibull(i, *t)).collect())
        .collect();
    let ibs = integrated_brier_score(&pred, &TIME, &EVENT, &GRID).unwrap();
    assert!((ibs - 0.16751041831808364).abs() < 1e-12, "{ibs}");
}

#[test]
fn kaplan_meier_matches_lifelines() {
    let km = KaplanMeier::fit(&TIME, &EVENT).unwrap();
    let expected = [
        (1.0, 1.0),
        (2.0, 0.9166666666666667),
        (5.5, 0.7407407407407406),
        (8.0, 0.6349206349206348),
        (10.0, 0.3968253968253968),
        (13.0, 0.19841269841269837),
    ];
    for (t, want) in expected {
        assert!((km.survival_at(t) - want).abs() < 1e-12, "t={t}");
    }
    // Monotone non-increasing and in [0, 1].
    assert!(km.survival.windows(2).all(|w| w[1] <= w[0]));
    assert!(km.survival.iter().all(|s| (0.0..=1.0).contains(s)));
}

#[test]
fn auc_matches_scikit_learn_with_ties() {
    let scores = [0.1, 0.4, 0.35, 0.8, 0.4, 0.7, 0.2, 0.9, 0.55, 0.4];
    let labels = [
        false, false, true, true, true, false, false, true, true, false,
    ];
    let auc = roc_auc(&scores, &labels).unwrap();
    assert!((auc - 0.76).abs() < 1e-12, "{auc}");
}
