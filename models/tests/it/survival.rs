//! The DeepHit survival network on the CDNOW holdout task.
//!
//! Features per customer are computed here from the transactions up to the
//! end of calibration week 39 (1997-09-30); the label is the number of days
//! from 1997-09-30 to the customer's first purchase after it, censored at
//! 1998-06-30 (273 days = 39 weeks, the end of holdout week 78). The network
//! trains on the CDNOW_master customers that are not in the 2,357-customer
//! sample and is evaluated on the sample: AUC for "no purchase in the
//! holdout" scored by S(273 days), Antolini's C^td, and the integrated Brier
//! score over weekly times, compared with BG/NBD's figures on the same task
//! (see [`BGNBD_AUC`]) and with the Kaplan-Meier curve as a baseline.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashSet};

use aima_models::metrics::{
    KaplanMeier, concordance_td, harrell_c, integrated_brier_score, roc_auc,
};
use aima_models::survival::{DeepHit, DeepHitConfig, SurvivalCurve, SurvivalData};
use chrono::NaiveDate;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/cdnow/");
/// Days from the as-of date (1997-09-30) to the end of the holdout.
const HOLDOUT_DAYS: f64 = 273.0;

/// One customer's calibration transactions (days since 1997-01-01, dollars,
/// CDs) and the label.
#[derive(Default)]
struct Customer {
    calibration: Vec<(i64, f64, f64)>,
    first_after: Option<i64>,
}

fn day(s: &str) -> i64 {
    let date = NaiveDate::parse_from_str(s, "%Y%m%d").unwrap();
    (date - NaiveDate::from_ymd_opt(1997, 1, 1).unwrap()).num_days()
}

/// Customers of CDNOW_master keyed by master id.
fn load_master() -> BTreeMap<u32, Customer> {
    let as_of = day("19970930");
    let text = std::fs::read_to_string(format!("{DATA}CDNOW_master.txt")).unwrap();
    let mut customers: BTreeMap<u32, Customer> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let id: u32 = f[0].parse().unwrap();
        let d = day(f[1]);
        let cds: f64 = f[2].parse().unwrap();
        let dollars: f64 = f[3].parse().unwrap();
        let c = customers.entry(id).or_default();
        if d <= as_of {
            c.calibration.push((d, dollars, cds));
        } else if c.first_after.is_none_or(|x| d < x) {
            c.first_after = Some(d);
        }
    }
    customers
}

/// Master ids of the 2,357-customer sample (its first column).
fn sample_ids() -> HashSet<u32> {
    let text = std::fs::read_to_string(format!("{DATA}CDNOW_sample.txt")).unwrap();
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(|id| id.parse().unwrap())
        .collect()
}

/// Test-local features (the full feature set of `aima_models::features`
/// replaces these at integration). Times in days; same-day purchases are one
/// transaction.
fn features(c: &Customer) -> Vec<f64> {
    let as_of = day("19970930");
    let mut by_day: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for (d, dollars, cds) in &c.calibration {
        let e = by_day.entry(*d).or_default();
        e.0 += dollars;
        e.1 += cds;
    }
    let days: Vec<i64> = by_day.keys().copied().collect();
    let first = days[0];
    let last = days[days.len() - 1];
    let n = days.len() as f64;
    let frequency = n - 1.0;
    let recency = (last - first) as f64;
    let age = (as_of - first) as f64;
    let since_last = (as_of - last) as f64;
    let total: f64 = by_day.values().map(|v| v.0).sum();
    let cds: f64 = by_day.values().map(|v| v.1).sum();
    let mean_gap = if frequency > 0.0 {
        recency / frequency
    } else {
        0.0
    };
    let in_last = |window: i64| days.iter().filter(|d| as_of - **d < window).count() as f64;
    let repeat_mean = if frequency > 0.0 {
        by_day.values().skip(1).map(|v| v.0).sum::<f64>() / frequency
    } else {
        0.0
    };
    let gaps: Vec<f64> = days.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let last_gap = gaps.last().copied().unwrap_or(0.0);
    let gap_sd = if gaps.len() > 1 {
        let var = gaps.iter().map(|g| (g - mean_gap).powi(2)).sum::<f64>() / gaps.len() as f64;
        var.sqrt()
    } else {
        0.0
    };
    let early = days.iter().filter(|d| **d - first < 91).count() as f64;
    let ln = |v: f64| v.ln_1p();
    vec![
        ln(frequency),
        ln(recency),
        ln(age),
        ln(since_last),
        frequency / age.max(1.0) * 30.0,
        ln(mean_gap),
        ln(since_last / (mean_gap + 1.0)),
        if frequency > 0.0 { 1.0 } else { 0.0 },
        ln(total),
        ln(total / n),
        ln(repeat_mean),
        ln(cds / n),
        ln(in_last(30)),
        ln(in_last(91)),
        ln(in_last(182)),
        ln(last_gap),
        ln(gap_sd),
        ln(early),
    ]
}

/// Days to the first purchase after the as-of date, or censoring at the end
/// of the holdout.
fn label(c: &Customer) -> (f64, bool) {
    let as_of = day("19970930");
    match c.first_after {
        Some(d) => ((d - as_of) as f64, true),
        None => (HOLDOUT_DAYS, false),
    }
}

struct Split {
    x: Vec<Vec<f64>>,
    durations: Vec<f64>,
    events: Vec<bool>,
}

fn split() -> (Split, Split) {
    let master = load_master();
    let sample = sample_ids();
    assert_eq!(master.len(), 23_570);
    assert_eq!(sample.len(), 2_357);
    let mut train = Split {
        x: Vec::new(),
        durations: Vec::new(),
        events: Vec::new(),
    };
    let mut test = Split {
        x: Vec::new(),
        durations: Vec::new(),
        events: Vec::new(),
    };
    for (id, c) in &master {
        let s = if sample.contains(id) {
            &mut test
        } else {
            &mut train
        };
        let (d, e) = label(c);
        s.x.push(features(c));
        s.durations.push(d);
        s.events.push(e);
    }
    (train, test)
}

struct Figures {
    auc: f64,
    ctd: f64,
    harrell: f64,
    ibs: f64,
    km_ibs: f64,
    seconds: f64,
}

fn evaluate(config: &DeepHitConfig) -> Figures {
    let (train, test) = split();
    let start = std::time::Instant::now();
    let (model, report) = DeepHit::fit(
        config,
        SurvivalData {
            features: &train.x,
            durations_days: &train.durations,
            events: &train.events,
        },
        &mut |p| {
            eprintln!(
                "member {} epoch {:3}  train {:.4}  validation {:.4}",
                p.member, p.epoch, p.train_loss, p.validation_loss
            )
        },
    )
    .unwrap();
    let seconds = start.elapsed().as_secs_f64();
    for r in &report.members {
        eprintln!("best epoch {} of {}", r.best_epoch, r.history.len());
    }
    eprintln!("trained in {seconds:.1} s");
    let curves: Vec<SurvivalCurve> = model.predict(&test.x).unwrap();
    for c in &curves {
        let mut prev = 1.0;
        for w in 0..=40 {
            let s = c.survival_at(w as f64 * 7.0);
            assert!((0.0..=1.0).contains(&s) && s <= prev);
            prev = s;
        }
    }
    let no_purchase: Vec<bool> = test.events.iter().map(|e| !e).collect();
    let s_end: Vec<f64> = curves.iter().map(|c| c.survival_at(HOLDOUT_DAYS)).collect();
    let auc = roc_auc(&s_end, &no_purchase).unwrap();
    let ctd = concordance_td(&test.durations, &test.events, |j, t| {
        curves[j].survival_at(t)
    })
    .unwrap();
    let risk: Vec<f64> = s_end.iter().map(|s| -s).collect();
    let harrell = harrell_c(&risk, &test.durations, &test.events).unwrap();
    let grid: Vec<f64> = (1..39).map(|w| w as f64 * 7.0).collect();
    let pred: Vec<Vec<f64>> = curves
        .iter()
        .map(|c| grid.iter().map(|t| c.survival_at(*t)).collect())
        .collect();
    let ibs = integrated_brier_score(&pred, &test.durations, &test.events, &grid).unwrap();
    // Baseline: everyone gets the Kaplan-Meier curve of the training set.
    let km = KaplanMeier::fit(&train.durations, &train.events).unwrap();
    let km_row: Vec<f64> = grid.iter().map(|t| km.survival_at(*t)).collect();
    let km_pred = vec![km_row; test.durations.len()];
    let km_ibs = integrated_brier_score(&km_pred, &test.durations, &test.events, &grid).unwrap();
    eprintln!(
        "CDNOW sample: AUC {auc:.4}  C^td {ctd:.4}  Harrell C {harrell:.4}  IBS {ibs:.4} \
         (Kaplan-Meier {km_ibs:.4})"
    );
    Figures {
        auc,
        ctd,
        harrell,
        ibs,
        km_ibs,
        seconds,
    }
}

fn cdnow_config() -> DeepHitConfig {
    DeepHitConfig {
        bin_width_days: 7.0,
        num_bins: 39,
        hidden: vec![32, 32],
        dropout: 0.1,
        ranking_weight: 1.0,
        ranking_sigma: 1.0,
        learning_rate: 2e-3,
        weight_decay: 1e-4,
        batch_size: 256,
        max_epochs: 25,
        patience: 4,
        validation_fraction: 0.2,
        seed: 7,
        threads: 1,
        ensemble_size: 3,
    }
}

/// BG/NBD on the same task, computed once with Python lifetimes 0.11.3
/// (`BetaGeoFitter` fitted on cdnow_customers_summary.csv, weekly periods:
/// r 0.2426, alpha 4.4135, a 0.7929, b 2.4258), scoring each sample customer
/// by the expected number of holdout transactions in 39 weeks: AUC for "no
/// purchase in the holdout" 0.7725, and Harrell's C of that score against
/// the days to the first holdout purchase (lifelines `concordance_index`)
/// 0.7433.
const BGNBD_AUC: f64 = 0.7725;
const BGNBD_CONCORDANCE: f64 = 0.7433;

#[test]
fn cdnow_holdout_beats_bgnbd() {
    let f = evaluate(&cdnow_config());
    assert!(f.auc > BGNBD_AUC, "AUC {}", f.auc);
    assert!(f.ctd > BGNBD_CONCORDANCE, "C^td {}", f.ctd);
    assert!(f.harrell > BGNBD_CONCORDANCE, "Harrell {}", f.harrell);
    // Better calibrated and sharper than one population curve for all.
    assert!(
        f.ibs < f.km_ibs,
        "IBS {} vs Kaplan-Meier {}",
        f.ibs,
        f.km_ibs
    );
    let _ = f.seconds;
}

/// The result does not hinge on the seed: the 3-network ensemble beats
/// BG/NBD for seeds 1 to 5 (about 20 s of CPU; run with `--ignored
/// --nocapture`).
#[test]
#[ignore]
fn cdnow_seed_robustness() {
    for seed in 1..=5 {
        let f = evaluate(&DeepHitConfig {
            seed,
            ..cdnow_config()
        });
        println!(
            "seed {seed}: AUC {:.4} C^td {:.4} Harrell {:.4} IBS {:.4} (Kaplan-Meier {:.4}) in {:.1} s",
            f.auc, f.ctd, f.harrell, f.ibs, f.km_ibs, f.seconds
        );
        assert!(f.auc > BGNBD_AUC && f.ctd > BGNBD_CONCORDANCE && f.ibs < f.km_ibs);
    }
}

/// Benchmark (run with `cargo test --release -p aima-models --test it
/// survival_benchmark -- --ignored --nocapture`): training on 20,000
/// synthetic customers with 45 features, then scoring 100,000.
#[test]
#[ignore]
fn survival_benchmark() {
    let widen = |x: Vec<Vec<f64>>| -> Vec<Vec<f64>> {
        x.into_iter()
            .map(|r| {
                let mut w = r.clone();
                w.extend((3..45).map(|k| (k as f64 * r[0] + r[1] * r[2]).sin()));
                w
            })
            .collect()
    };
    let (x, d, e, _) = aima_models::survival::synthetic_exponential(20_000, 182.0, 1);
    let x = widen(x);
    let config = DeepHitConfig::default();
    let start = std::time::Instant::now();
    let (model, report) = DeepHit::fit(
        &config,
        SurvivalData {
            features: &x,
            durations_days: &d,
            events: &e,
        },
        &mut |_| {},
    )
    .unwrap();
    let epochs: usize = report.members.iter().map(|m| m.history.len()).sum();
    let train = start.elapsed().as_secs_f64();
    let (xs, _, _, _) = aima_models::survival::synthetic_exponential(100_000, 182.0, 2);
    let xs = widen(xs);
    let start = std::time::Instant::now();
    let curves = model.predict(&xs).unwrap();
    let churn: Vec<[f64; 3]> = curves.iter().map(|c| c.churn_30_60_90()).collect();
    let predict = start.elapsed().as_secs_f64();
    println!(
        "train 20k x 45 ({} members, {epochs} epochs in all): {train:.2} s; \
         predict + churn 100k: {predict:.2} s ({} rows)",
        report.members.len(),
        churn.len()
    );
}
