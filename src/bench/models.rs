//! `aima bench models`: the issue-4 analytics at scale, each beside a
//! baseline measured in the same run:
//! - features + RFM personas for 100,000 customers / 1,000,000 orders
//!   (target < 2 s) against one pass that only sums each customer's orders;
//! - the BG/NBD fit on the CDNOW sample (target < 50 ms) against one
//!   evaluation of its log-likelihood;
//! - fingerprint inference + PCA + HDBSCAN for 100,000 customers (target
//!   < 60 s) against inference alone (with freshly initialized weights,
//!   since the cost of inference does not depend on training);
//! - peak memory of the whole run (target < 1 GiB).

use std::time::Instant;

use aima_models::cluster::{ClusterConfig, cluster};
use aima_models::clv::{BgNbd, RepeatSummary, Transaction, summarize};
use aima_models::features::{self, SYNTHETIC_END};
use aima_models::fingerprint::{
    FingerprintConfig, FingerprintModel, SeqEvent, synthetic_population,
};
use aima_models::rfm;
use anyhow::{Context, Result};

use super::peak_rss_mib;
use crate::cli::BenchModelsArgs;

fn line(label: &str, secs: f64, baseline: f64, target: &str) -> std::io::Result<()> {
    outln!(
        "  {label:<44} {:>9.3} s   {:>7.1}x the baseline ({baseline:.3} s)   target {target}",
        secs,
        secs / baseline.max(1e-9)
    )
}

/// Runs the models benchmark.
pub fn run(args: BenchModelsArgs) -> Result<()> {
    outln!(
        "models benchmark: {} customers, {} orders (seeded synthetic data); BG/NBD on the CDNOW sample",
        args.customers,
        args.orders
    )?;

    // Features + RFM.
    let org = features::synthetic(args.customers, args.orders, 20_261_125);
    let started = Instant::now();
    let mut sums = vec![0.0f64; org.customers];
    for o in &org.orders {
        if let Some(s) = sums.get_mut(o.customer as usize) {
            *s += o.amount;
        }
    }
    let baseline = started.elapsed().as_secs_f64();
    std::hint::black_box(&sums);
    let started = Instant::now();
    let matrix = features::compute(&org, SYNTHETIC_END)?;
    let personas = rfm::personas(&matrix);
    let secs = started.elapsed().as_secs_f64();
    std::hint::black_box(&personas);
    line(
        &format!("features ({}) + RFM personas", features::N_FEATURES),
        secs,
        baseline,
        "< 2 s",
    )?;
    drop((matrix, personas, org, sums));

    // BG/NBD on the CDNOW sample.
    let sample = aima_ingest::demo::cdnow_sample_ids()?;
    let transactions: Vec<Transaction<u32>> = aima_ingest::demo::cdnow_purchases()?
        .into_iter()
        .filter(|p| sample.contains(&p.customer_id))
        .map(|p| Transaction {
            customer: p.customer_id,
            date: p.date,
            amount: p.dollars,
        })
        .collect();
    let date = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).context("date");
    let summaries: Vec<RepeatSummary> =
        summarize(&transactions, date(1997, 9, 30)?, date(1998, 6, 30)?)?
            .into_iter()
            .map(|h| h.summary)
            .collect();
    let mut fits = Vec::new();
    let mut fit = None;
    for _ in 0..args.repeats.max(1) {
        let started = Instant::now();
        fit = Some(BgNbd::fit(&summaries)?);
        fits.push(started.elapsed().as_secs_f64());
    }
    fits.sort_by(f64::total_cmp);
    let fit = fit.context("no fit")?;
    let started = Instant::now();
    std::hint::black_box(fit.params().log_likelihood(&summaries)?);
    let one_ll = started.elapsed().as_secs_f64();
    line(
        &format!(
            "BG/NBD fit, {} customers (median of {})",
            summaries.len(),
            fits.len()
        ),
        fits[fits.len() / 2],
        one_ll,
        "< 0.050 s",
    )?;
    outln!(
        "    r {:.4} alpha {:.4} a {:.4} b {:.4} LL {:.2} in {} iterations",
        fit.r,
        fit.alpha,
        fit.a,
        fit.b,
        fit.log_likelihood,
        fit.iterations
    )?;

    // Fingerprints + clustering.
    let (seqs, _, as_of) = synthetic_population(args.customers, 64, 7);
    let refs: Vec<&[SeqEvent]> = seqs.iter().map(Vec::as_slice).collect();
    let model = FingerprintModel::new(FingerprintConfig::default(), 7)?;
    let started = Instant::now();
    let prints = model.embed(&refs, as_of, 256)?;
    let inference = started.elapsed().as_secs_f64();
    let clustering = cluster(&prints.data, prints.dim, &ClusterConfig::default())?;
    let secs = started.elapsed().as_secs_f64();
    line(
        "fingerprint inference + PCA + HDBSCAN",
        secs,
        inference,
        "< 60 s",
    )?;
    outln!(
        "    {} events embedded (freshly initialized weights: the cost does not depend on training); {} clusters",
        seqs.iter().map(Vec::len).sum::<usize>(),
        clustering.clusters.len()
    )?;
    if let Some(mib) = peak_rss_mib() {
        outln!("peak memory (VmHWM): {mib:.0} MiB (target < 1024 MiB)")?;
    }
    Ok(())
}
