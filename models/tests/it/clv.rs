//! BG/NBD and Gamma-Gamma on the CDNOW sample against the published figures
//! (Fader, Hardie & Lee 2005; ../shared/data/cdnow/SOURCE.txt), and
//! parameter recovery on seeded synthetic data.

#![allow(clippy::unwrap_used)]

use aima_models::clv::{
    BgNbd, BgNbdParams, CustomerHistory, GammaGamma, ParetoNbd, ParetoNbdParams, RepeatSummary,
    Transaction, cohort_expected_transactions, customer_lifetime_value,
    frequency_value_correlation, simulate_bgnbd, simulate_gamma_gamma, simulate_pareto_nbd,
    summarize,
};
use chrono::NaiveDate;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/cdnow/");

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// cdnow_customers_summary_with_transactions.csv: ID,x,t_x,T,zbar.
fn summary_file() -> Vec<RepeatSummary> {
    let text = std::fs::read_to_string(format!(
        "{DATA}cdnow_customers_summary_with_transactions.csv"
    ))
    .unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            RepeatSummary {
                x: f[1].parse().unwrap(),
                t_x: f[2].parse().unwrap(),
                t: f[3].parse().unwrap(),
                zbar: f[4].parse().unwrap(),
            }
        })
        .collect()
}

/// CDNOW_sample.txt: master_id sample_id yyyymmdd cds dollars.
fn sample_transactions() -> Vec<Transaction<u32>> {
    let text = std::fs::read_to_string(format!("{DATA}CDNOW_sample.txt")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            Transaction {
                customer: f[1].parse().unwrap(),
                date: NaiveDate::parse_from_str(f[2], "%Y%m%d").unwrap(),
                amount: f[4].parse().unwrap(),
            }
        })
        .collect()
}

fn sample_histories() -> Vec<CustomerHistory<u32>> {
    summarize(&sample_transactions(), date(1997, 9, 30), date(1998, 6, 30)).unwrap()
}

fn rel(got: f64, want: f64) -> f64 {
    ((got - want) / want).abs()
}

/// scipy MLE on the summary file (SOURCE.txt) and FHL 2005's published values.
fn assert_cdnow_bgnbd(fit: &aima_models::clv::BgNbdFit) {
    for (name, got, scipy, published) in [
        ("r", fit.r, 0.2426, 0.243),
        ("alpha", fit.alpha, 4.4135, 4.414),
        ("a", fit.a, 0.7929, 0.793),
        ("b", fit.b, 2.4258, 2.426),
    ] {
        assert!(rel(got, scipy) < 1e-3, "{name}: {got} vs scipy {scipy}");
        assert!(
            rel(got, published) < 2.5e-3,
            "{name}: {got} vs published {published}"
        );
    }
    assert!(
        (fit.log_likelihood - -9582.4).abs() < 0.1,
        "LL {}",
        fit.log_likelihood
    );
}

#[test]
fn clv_bgnbd_reproduces_published_fit_from_summary_file() {
    let data = summary_file();
    assert_eq!(data.len(), 2357);
    let fit = BgNbd::fit(&data).unwrap();
    eprintln!("summary file: {fit:?}");
    assert_cdnow_bgnbd(&fit);
    assert_eq!(fit.customers, 2357);
    // The published parameters give the published log-likelihood.
    let published = BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap();
    let ll = published.log_likelihood(&data).unwrap();
    assert!((ll - -9582.4).abs() < 0.2, "{ll}");
    assert!(ll <= fit.log_likelihood);
}

#[test]
fn clv_summarize_sample_matches_summary_file() {
    let hist = sample_histories();
    let file = summary_file();
    assert_eq!(hist.len(), 2357);
    // Sample ids 1..=2357 in the order of the summary file.
    for (i, (h, f)) in hist.iter().zip(&file).enumerate() {
        assert_eq!(h.customer as usize, i + 1);
        assert_eq!(h.summary.x, f.x, "customer {}", i + 1);
        assert!(
            (h.summary.t_x - f.t_x).abs() <= 0.0051,
            "customer {}",
            i + 1
        );
        assert!((h.summary.t - f.t).abs() <= 0.0051, "customer {}", i + 1);
        assert!(
            (h.summary.zbar - f.zbar).abs() <= 0.0051,
            "customer {}",
            i + 1
        );
    }
    let calibration: u32 = hist.iter().map(|h| h.summary.x).sum();
    let holdout: u32 = hist.iter().map(|h| h.holdout_transactions).sum();
    assert_eq!(calibration, 2457);
    assert_eq!(holdout, 1882);
    assert_eq!(file.iter().filter(|s| s.x > 0).count(), 946);
}

#[test]
fn clv_bgnbd_reproduces_published_fit_from_raw_transactions() {
    let hist = sample_histories();
    let data: Vec<RepeatSummary> = hist.iter().map(|h| h.summary).collect();
    let fit = BgNbd::fit(&data).unwrap();
    assert_cdnow_bgnbd(&fit);
}

#[test]
fn clv_bgnbd_holdout_forecasts_match_fhl_2005() {
    let hist = sample_histories();
    let data: Vec<RepeatSummary> = hist.iter().map(|h| h.summary).collect();
    let fit = BgNbd::fit(&data).unwrap();
    let start = date(1997, 1, 1);
    // FHL 2005 count whole weeks from 1 Jan 1997: calibration is weeks 1-39
    // (days 0-272, so it ends at the close of day 272 = 39 weeks) and the
    // holdout weeks 40-78 (ending at 546 days = 78 weeks). Each customer's
    // clock starts at their first purchase, s weeks after 1 Jan 1997.
    let cal_end = 39.0;
    let hold_end = 78.0;
    let offsets: Vec<f64> = hist
        .iter()
        .map(|h| (h.first_purchase - start).num_days() as f64 / 7.0)
        .collect();
    let cum_end = cohort_expected_transactions(&fit.params(), &offsets, 0.0, hold_end).unwrap();
    let cum_cal = cohort_expected_transactions(&fit.params(), &offsets, 0.0, cal_end).unwrap();
    // FHL 2005 tracking plot / SOURCE.txt: 4,165.7 at week 78, holdout 1,664.
    eprintln!(
        "BG/NBD cohort forecast: cumulative {cum_end:.1}, holdout {:.1}",
        cum_end - cum_cal
    );
    assert!((cum_end - 4165.7).abs() < 1.0, "cumulative {cum_end}");
    assert!(
        (cum_end - cum_cal - 1664.0).abs() < 1.0,
        "holdout {}",
        cum_end - cum_cal
    );

    // Per-customer conditional expectations over the 39-week holdout.
    let horizon = hold_end - cal_end;
    let mut sum = 0.0;
    let mut abs_err = 0.0;
    for h in &hist {
        let e = fit
            .conditional_expected_transactions(&h.summary, horizon)
            .unwrap();
        assert!(e >= 0.0 && e.is_finite());
        sum += e;
        abs_err += (e - f64::from(h.holdout_transactions)).abs();
    }
    let mae = abs_err / hist.len() as f64;
    eprintln!("BG/NBD conditional holdout sum {sum:.1} (actual 1882), per-customer MAE {mae:.4}");
    // By the law of total expectation the conditional expectations add up to
    // about the unconditional holdout forecast (both under-forecast the
    // actual 1,882 by ~12%, as FHL 2005 report for the aggregate).
    let holdout_part = cum_end - cum_cal;
    assert!(
        (sum - holdout_part).abs() < 0.02 * holdout_part,
        "{sum} vs {holdout_part}"
    );
    assert!(mae > 0.0 && mae < 1.5, "{mae}");

    // "No purchase in the holdout": P(no purchase) must rank the quiet
    // customers above the buyers (Mann-Whitney AUC).
    let scored: Vec<(f64, bool)> = hist
        .iter()
        .map(|h| {
            let p = fit.prob_no_purchase(&h.summary, horizon).unwrap();
            assert!((0.0..=1.0).contains(&p));
            (p, h.holdout_transactions == 0)
        })
        .collect();
    let auc = mann_whitney_auc(&scored);
    let quiet = scored.iter().filter(|s| s.1).count() as f64;
    let predicted_quiet: f64 = scored.iter().map(|s| s.0).sum();
    eprintln!(
        "BG/NBD no-purchase AUC {auc:.4}; predicted quiet {predicted_quiet:.1}, actual {quiet}"
    );
    assert!(auc > 0.7, "{auc}");
    assert!((predicted_quiet - quiet).abs() < 0.05 * quiet);
}

/// AUC of `score` for the positive label, ties counted half.
fn mann_whitney_auc(scored: &[(f64, bool)]) -> f64 {
    let mut pairs = 0.0;
    let mut wins = 0.0;
    for &(sp, lp) in scored {
        if !lp {
            continue;
        }
        for &(sn, ln) in scored {
            if ln {
                continue;
            }
            pairs += 1.0;
            if sp > sn {
                wins += 1.0;
            } else if sp == sn {
                wins += 0.5;
            }
        }
    }
    wins / pairs
}

#[test]
fn clv_gamma_gamma_reproduces_published_fit() {
    for (source, data) in [
        ("summary file", summary_file()),
        (
            "raw transactions",
            sample_histories().iter().map(|h| h.summary).collect(),
        ),
    ] {
        let fit = GammaGamma::fit(&data).unwrap();
        eprintln!("{source}: {fit:?}");
        assert_eq!(fit.customers, 946);
        for (name, got, scipy, published) in [
            ("p", fit.p, 6.249, 6.25),
            ("q", fit.q, 3.745, 3.74),
            ("gamma", fit.gamma, 15.448, 15.44),
        ] {
            assert!(rel(got, scipy) < 1e-3, "{source} {name}: {got} vs {scipy}");
            assert!(
                rel(got, published) < 2.5e-3,
                "{source} {name}: {got} vs {published}"
            );
        }
        let mean = fit.mean_value().unwrap();
        assert!((mean - 35.17).abs() < 0.05, "{source} E[M] {mean}");
        // The independence check: corr(x, zbar) = 0.11 (Fader & Hardie).
        let corr = frequency_value_correlation(&data).unwrap();
        eprintln!("{source}: corr(x, zbar) = {corr:.4}");
        assert!((corr - 0.11).abs() < 0.01, "{source}: {corr}");
        let ll = GammaGamma::log_likelihood(6.25, 3.74, 15.44, &data).unwrap();
        assert!(ll <= fit.log_likelihood + 1e-9);
    }
}

#[test]
fn clv_lifetime_value_on_cdnow() {
    let data = summary_file();
    let bg = BgNbd::fit(&data).unwrap().params();
    let gg = GammaGamma::fit(&data).unwrap();
    let clv: Vec<f64> = data
        .iter()
        .map(|s| customer_lifetime_value(&bg, &gg, s, 12, 0.01).unwrap())
        .collect();
    assert!(clv.iter().all(|&v| v.is_finite() && v >= 0.0));
    // Customer 1 (x=2, t_x=30.43, T=38.86, zbar=22.35) is worth more than a
    // one-time buyer from the same week, and CLV grows with the horizon.
    assert!(clv[0] > clv[2], "{} vs {}", clv[0], clv[2]);
    let longer = customer_lifetime_value(&bg, &gg, &data[0], 24, 0.01).unwrap();
    assert!(longer > clv[0]);
    let total: f64 = clv.iter().sum();
    eprintln!("CDNOW sample 12-month CLV (1%/month): total {total:.0}");
}

#[test]
fn clv_bgnbd_recovers_simulated_parameters() {
    let truth = BgNbdParams::new(0.5, 6.0, 0.7, 2.5).unwrap();
    // Staggered cohorts, 20–52 weeks of calibration.
    let windows: Vec<f64> = (0..20_000).map(|i| 20.0 + f64::from(i % 33)).collect();
    let sim = simulate_bgnbd(&truth, &windows, 39.0, 7).unwrap();
    let data: Vec<RepeatSummary> = sim.iter().map(|c| c.summary).collect();
    let fit = BgNbd::fit(&data).unwrap();
    eprintln!("recovered {fit:?}");
    for (name, got, want, tol) in [
        ("r", fit.r, truth.r, 0.08),
        ("alpha", fit.alpha, truth.alpha, 0.10),
        ("a", fit.a, truth.a, 0.15),
        ("b", fit.b, truth.b, 0.20),
    ] {
        assert!(rel(got, want) < tol, "{name}: {got} vs {want}");
    }
    // Inside the 99.9% likelihood-ratio region (chi2, 4 df).
    let lr = 2.0 * (fit.log_likelihood - truth.log_likelihood(&data).unwrap());
    assert!((0.0..18.47).contains(&lr), "LR {lr}");
    // With the true parameters the model's predictions match the simulated
    // holdout: expected counts, and the share with no holdout purchase.
    let actual: u32 = sim.iter().map(|c| c.holdout_transactions).sum();
    let predicted: f64 = sim
        .iter()
        .map(|c| {
            truth
                .conditional_expected_transactions(&c.summary, 39.0)
                .unwrap()
        })
        .sum();
    assert!(
        rel(predicted, f64::from(actual)) < 0.03,
        "{predicted} vs {actual}"
    );
    let quiet = sim.iter().filter(|c| c.holdout_transactions == 0).count() as f64;
    let p_quiet: f64 = sim
        .iter()
        .map(|c| truth.prob_no_purchase(&c.summary, 39.0).unwrap())
        .sum();
    assert!(rel(p_quiet, quiet) < 0.02, "{p_quiet} vs {quiet}");
    // Unconditional E[X(t)] against the simulated calibration counts.
    let expected: f64 = windows
        .iter()
        .map(|&t| truth.expected_transactions(t).unwrap())
        .sum();
    let observed: u32 = data.iter().map(|s| s.x).sum();
    assert!(
        rel(expected, f64::from(observed)) < 0.03,
        "{expected} vs {observed}"
    );
}

#[test]
fn clv_gamma_gamma_recovers_simulated_parameters() {
    // 6,000 spenders with 1-12 repeat transactions each.
    let mut data: Vec<RepeatSummary> = (0..6_000)
        .map(|i| RepeatSummary {
            x: 1 + i % 12,
            t_x: 10.0,
            t: 52.0,
            zbar: 0.0,
        })
        .collect();
    simulate_gamma_gamma(5.0, 4.0, 20.0, &mut data, 20).unwrap();
    let fit = GammaGamma::fit(&data).unwrap();
    assert_eq!(fit.customers, 6_000);
    assert!(rel(fit.p, 5.0) < 0.1, "p {}", fit.p);
    assert!(rel(fit.q, 4.0) < 0.1, "q {}", fit.q);
    assert!(rel(fit.gamma, 20.0) < 0.15, "gamma {}", fit.gamma);
    let mean = fit.mean_value().unwrap();
    assert!(rel(mean, 5.0 * 20.0 / 3.0) < 0.03, "E[M] {mean}");
    // The truth lies inside the 99.9% likelihood-ratio region (chi2, 3 df)
    // and never beats the maximum.
    let truth_ll = GammaGamma::log_likelihood(5.0, 4.0, 20.0, &data).unwrap();
    let lr = 2.0 * (fit.log_likelihood - truth_ll);
    assert!((0.0..16.27).contains(&lr), "LR {lr}");
}

#[test]
fn clv_pareto_nbd_reproduces_published_fit_and_forecast() {
    let hist = sample_histories();
    let data: Vec<RepeatSummary> = hist.iter().map(|h| h.summary).collect();
    let fit = ParetoNbd::fit(&data).unwrap();
    let p = fit.params();
    eprintln!("Pareto/NBD {fit:?}");
    for (name, got, want) in [
        ("r", p.r, 0.5533),
        ("alpha", p.alpha, 10.578),
        ("s", p.s, 0.6062),
        ("beta", p.beta, 11.668),
    ] {
        assert!(rel(got, want) < 1e-3, "{name}: {got} vs {want}");
    }
    assert!(
        (fit.log_likelihood - -9594.97).abs() < 0.05,
        "LL {}",
        fit.log_likelihood
    );
    // Unconditional cohort forecast as for BG/NBD (weeks 39 and 78 since
    // 1 Jan 1997): 4,275.4 cumulative, 1,742.6 in the holdout (SOURCE.txt).
    let start = date(1997, 1, 1);
    let offsets: Vec<f64> = hist
        .iter()
        .map(|h| (h.first_purchase - start).num_days() as f64 / 7.0)
        .collect();
    let cum_end = cohort_expected_transactions(&p, &offsets, 0.0, 78.0).unwrap();
    let cum_cal = cohort_expected_transactions(&p, &offsets, 0.0, 39.0).unwrap();
    let mut cond = 0.0;
    for h in &hist {
        let alive = p.p_alive(&h.summary).unwrap();
        assert!((0.0..=1.0).contains(&alive));
        cond += p
            .conditional_expected_transactions(&h.summary, 39.0)
            .unwrap();
    }
    let mae = hist
        .iter()
        .map(|h| {
            let e = p
                .conditional_expected_transactions(&h.summary, 39.0)
                .unwrap();
            (e - f64::from(h.holdout_transactions)).abs()
        })
        .sum::<f64>()
        / hist.len() as f64;
    let scored: Vec<(f64, bool)> = hist
        .iter()
        .map(|h| {
            let q = p.prob_no_purchase(&h.summary, 39.0).unwrap();
            assert!((0.0..=1.0).contains(&q));
            (q, h.holdout_transactions == 0)
        })
        .collect();
    let auc = mann_whitney_auc(&scored);
    let quiet = scored.iter().filter(|s| s.1).count() as f64;
    let predicted_quiet: f64 = scored.iter().map(|s| s.0).sum();
    eprintln!(
        "Pareto/NBD conditional holdout sum {cond:.1} (actual 1882), MAE {mae:.4}, \
         no-purchase AUC {auc:.4}, predicted quiet {predicted_quiet:.1} (actual {quiet})"
    );
    assert!(auc > 0.7, "{auc}");
    // Pareto/NBD under-forecasts holdout purchases on CDNOW, so it
    // over-forecasts the quiet customers (by ~10%); the formula itself is
    // checked against simulation below.
    assert!((predicted_quiet - quiet).abs() < 0.15 * quiet);
    // CLV works with either transaction model.
    let gg = GammaGamma::fit(&data).unwrap();
    let clv_p = customer_lifetime_value(&p, &gg, &data[0], 12, 0.01).unwrap();
    let clv_b = customer_lifetime_value(
        &BgNbd::fit(&data).unwrap().params(),
        &gg,
        &data[0],
        12,
        0.01,
    )
    .unwrap();
    assert!(
        clv_p > 0.0 && (clv_p / clv_b - 1.0).abs() < 0.5,
        "{clv_p} vs {clv_b}"
    );
    assert!((cum_end - 4275.4).abs() < 1.0, "cumulative {cum_end}");
    assert!(
        (cum_end - cum_cal - 1742.6).abs() < 1.0,
        "holdout {}",
        cum_end - cum_cal
    );
    // The conditional expectations under-forecast the actual 1,882 too.
    assert!(cond > 1500.0 && cond < cum_end - cum_cal, "{cond}");
}

#[test]
fn clv_pareto_nbd_recovers_simulated_parameters() {
    let truth = ParetoNbdParams::new(0.6, 8.0, 0.8, 12.0).unwrap();
    let windows: Vec<f64> = (0..6_000).map(|i| 20.0 + f64::from(i % 33)).collect();
    let sim = simulate_pareto_nbd(&truth, &windows, 39.0, 5).unwrap();
    let data: Vec<RepeatSummary> = sim.iter().map(|c| c.summary).collect();
    let fit = ParetoNbd::fit(&data).unwrap();
    eprintln!("recovered {fit:?}");
    let truth_ll = truth.log_likelihood(&data).unwrap();
    let lr = 2.0 * (fit.log_likelihood - truth_ll);
    // Inside the 99.9% likelihood-ratio region (chi2, 4 df).
    assert!((0.0..18.47).contains(&lr), "LR {lr}");
    // The true model's conditional expectations match the simulated holdout
    // (a larger sample, not fitted).
    let sim = simulate_pareto_nbd(&truth, &windows.repeat(5), 39.0, 6).unwrap();
    let data: Vec<RepeatSummary> = sim.iter().map(|c| c.summary).collect();
    let actual: u32 = sim.iter().map(|c| c.holdout_transactions).sum();
    let predicted: f64 = sim
        .iter()
        .map(|c| {
            truth
                .conditional_expected_transactions(&c.summary, 39.0)
                .unwrap()
        })
        .sum();
    assert!(
        rel(predicted, f64::from(actual)) < 0.03,
        "{predicted} vs {actual}"
    );
    let quiet = sim.iter().filter(|c| c.holdout_transactions == 0).count() as f64;
    let p_quiet: f64 = sim
        .iter()
        .map(|c| truth.prob_no_purchase(&c.summary, 39.0).unwrap())
        .sum();
    assert!(rel(p_quiet, quiet) < 0.02, "{p_quiet} vs {quiet}");
    let expected: f64 = data
        .iter()
        .map(|s| truth.expected_transactions(s.t).unwrap())
        .sum();
    let observed: u32 = data.iter().map(|s| s.x).sum();
    assert!(
        rel(expected, f64::from(observed)) < 0.03,
        "{expected} vs {observed}"
    );
}

/// Benchmark (release): `cargo test --release -p aima-models --test it
/// clv_bench -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark"]
fn clv_bench_bgnbd_fit_cdnow() {
    let data: Vec<RepeatSummary> = sample_histories().iter().map(|h| h.summary).collect();
    // Min and median of repeated runs (the minimum is the least disturbed
    // by other load on the machine).
    fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, f64, T) {
        let mut ms = Vec::with_capacity(runs);
        let mut last = None;
        for _ in 0..runs {
            let start = std::time::Instant::now();
            last = Some(f());
            ms.push(start.elapsed().as_secs_f64() * 1e3);
        }
        ms.sort_by(f64::total_cmp);
        (ms[0], ms[runs / 2], last.unwrap())
    }
    let (min, med, fit) = time(30, || BgNbd::fit(&data).unwrap());
    eprintln!("BG/NBD fit on CDNOW sample: min {min:.2} ms, median {med:.2} ms ({fit:?})");
    let (min, med, _) = time(30, || GammaGamma::fit(&data).unwrap());
    eprintln!("Gamma-Gamma fit on CDNOW sample: min {min:.2} ms, median {med:.2} ms");
    let (min, med, fit) = time(5, || ParetoNbd::fit(&data).unwrap());
    eprintln!("Pareto/NBD fit on CDNOW sample: min {min:.1} ms, median {med:.1} ms ({fit:?})");

    // The full cohort (CDNOW_master.txt: 23,570 customers, 69,659 rows).
    let text = std::fs::read_to_string(format!("{DATA}CDNOW_master.txt")).unwrap();
    let txs: Vec<Transaction<u32>> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            Transaction {
                customer: f[0].parse().unwrap(),
                date: NaiveDate::parse_from_str(f[1], "%Y%m%d").unwrap(),
                amount: f[3].parse().unwrap(),
            }
        })
        .collect();
    let (min, _, hist) = time(5, || {
        summarize(&txs, date(1997, 9, 30), date(1998, 6, 30)).unwrap()
    });
    assert_eq!(hist.len(), 23_570);
    eprintln!(
        "summarize CDNOW_master ({} rows): min {min:.1} ms",
        txs.len()
    );
    let full: Vec<RepeatSummary> = hist.iter().map(|h| h.summary).collect();
    let (min, med, fit) = time(5, || BgNbd::fit(&full).unwrap());
    eprintln!("BG/NBD fit on CDNOW_master: min {min:.1} ms, median {med:.1} ms ({fit:?})");
}
