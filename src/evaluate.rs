//! `aima evaluate`: the models on real reference data that ships inside the
//! binary, printed for people or as JSON with stable keys.

use aima_models::evaluation::{
    ClvHoldoutReport, FingerprintOptions, HoldoutConfig, Purchase, clv_holdout,
    fingerprint_clusters, segment_quality,
};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::Format;

/// The embedded CDNOW transactions.
fn cdnow() -> Result<Vec<Purchase>> {
    Ok(aima_ingest::demo::cdnow_purchases()?
        .into_iter()
        .map(|p| Purchase {
            customer: p.customer_id,
            date: p.date,
            amount: p.dollars,
            quantity: f64::from(p.cds),
        })
        .collect())
}

fn spinner() -> Result<ProgressBar> {
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg}").context("progress style")?);
    Ok(bar)
}

/// `aima evaluate clv`: the CDNOW holdout table.
pub fn clv(format: Format) -> Result<()> {
    let purchases = cdnow()?;
    let sample = aima_ingest::demo::cdnow_sample_ids()?;
    let bar = spinner()?;
    bar.set_message("fitting BG/NBD, Pareto/NBD and Gamma-Gamma");
    let report = clv_holdout(&purchases, &sample, &HoldoutConfig::cdnow(), &mut |p| {
        bar.set_message(format!(
            "training the survival network: member {} epoch {} (validation loss {:.4})",
            p.member + 1,
            p.epoch + 1,
            p.validation_loss
        ));
        bar.tick();
    })
    .context("the CDNOW holdout evaluation failed")?;
    bar.finish_and_clear();
    match format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&report)?)?,
        Format::Text => print_table(&report)?,
    }
    Ok(())
}

fn print_table(r: &ClvHoldoutReport) -> std::io::Result<()> {
    let h = &r.holdout;
    outln!(
        "CDNOW holdout: {} customers of the published sample, calibration weeks 1-39, holdout weeks 40-78",
        h.customers
    )?;
    outln!(
        "(the survival network trained on the other {} customers of the cohort)\n",
        h.survival_training_customers
    )?;
    outln!(
        "BG/NBD      r {:.4}  alpha {:.4}  a {:.4}  b {:.4}  LL {:.2}   (published 0.243, 4.414, 0.793, 2.426, LL -9582.4)",
        r.bgnbd.r,
        r.bgnbd.alpha,
        r.bgnbd.a,
        r.bgnbd.b,
        r.bgnbd.log_likelihood
    )?;
    outln!(
        "Pareto/NBD  r {:.4}  alpha {:.4}  s {:.4}  beta {:.4}  LL {:.2}",
        r.pareto_nbd.r,
        r.pareto_nbd.alpha,
        r.pareto_nbd.s,
        r.pareto_nbd.beta,
        r.pareto_nbd.log_likelihood
    )?;
    outln!(
        "Gamma-Gamma p {:.4}  q {:.4}  gamma {:.4}  on {} repeat buyers   (published 6.25, 3.74, 15.44)\n",
        r.gamma_gamma.p,
        r.gamma_gamma.q,
        r.gamma_gamma.gamma,
        r.gamma_gamma.customers
    )?;
    outln!(
        "Holdout repeat transactions: actual {}; {} of {} customers bought nothing",
        h.actual_transactions,
        h.customers_without_purchase,
        h.customers
    )?;
    outln!(
        "{:<12} {:>12} {:>8} {:>8} {:>12} {:>8}",
        "model",
        "predicted",
        "MAE",
        "AUC",
        "concordance",
        "IBS"
    )?;
    let opt = |v: Option<f64>, digits: usize| match v {
        Some(v) => format!("{v:.digits$}"),
        None => "n/a".to_owned(),
    };
    for (name, m) in &h.models {
        outln!(
            "{:<12} {:>12} {:>8} {:>8.4} {:>12.4} {:>8.4}",
            name,
            opt(m.predicted_transactions, 1),
            opt(m.mae, 4),
            m.auc,
            m.concordance,
            m.ibs
        )?;
    }
    outln!(
        "{:<12} {:>12} {:>8} {:>8} {:>12} {:>8.4}",
        "kaplan-meier",
        "",
        "",
        "",
        "",
        h.kaplan_meier_ibs
    )?;
    outln!("\nPublished holdout forecasts: BG/NBD 1,664, Pareto/NBD 1,743 (unconditional).")?;
    outln!(
        "AUC: \"no purchase in the holdout\"; concordance: time-dependent C^td; IBS: integrated Brier score (lower is better)."
    )?;
    outln!("Served: {} ({})", r.served_model, r.served_reason)
}

/// The purchases and time split `aima evaluate segments` works on.
pub struct SegmentData {
    /// What the data is, in words.
    pub label: String,
    /// Every purchase.
    pub purchases: Vec<Purchase>,
    /// The split (only its dates are used).
    pub config: HoldoutConfig,
}

impl SegmentData {
    /// CDNOW: segmented as of week 39, scored on weeks 40-78.
    pub fn cdnow() -> Result<SegmentData> {
        Ok(SegmentData {
            label: "CDNOW, segmented as of 1997-09-30, outcome: revenue in weeks 40-78".into(),
            purchases: cdnow()?,
            config: HoldoutConfig::cdnow(),
        })
    }

    /// An organization's purchases (`aima_actors::intelligence::is_purchase`;
    /// quantity = the order's units),
    /// segmented as of its last order date minus `holdout_days`.
    pub async fn of_org(
        store: &aima_runtime::store::Store,
        org: &aima_runtime::store::Organization,
        holdout_days: u32,
    ) -> Result<SegmentData> {
        let input = store.analytics_input(org.id).await?;
        let mut units = vec![0.0; input.orders.len()];
        for item in &input.items {
            if let Some(u) = units.get_mut(item.order as usize) {
                *u += item.quantity;
            }
        }
        let purchases: Vec<Purchase> = input
            .orders
            .iter()
            .zip(&units)
            .filter(|(o, _)| aima_actors::intelligence::is_purchase(o))
            .map(|(o, u)| Purchase {
                customer: o.customer,
                date: o.ordered_at.date_naive(),
                amount: o.amount,
                quantity: if *u > 0.0 { *u } else { 1.0 },
            })
            .collect();
        let end = purchases
            .iter()
            .map(|p| p.date)
            .max()
            .with_context(|| format!("organization '{}' has no purchases", org.slug))?;
        let calibration_end = end - chrono::Days::new(u64::from(holdout_days));
        if !purchases.iter().any(|p| p.date <= calibration_end) {
            anyhow::bail!(
                "organization '{}': no purchase before {calibration_end} ({holdout_days} days before its last order on {end}); use a shorter --holdout-days",
                org.slug
            );
        }
        Ok(SegmentData {
            label: format!(
                "organization '{}', segmented as of {calibration_end}, outcome: revenue in the {holdout_days} days to {end}",
                org.slug
            ),
            purchases,
            config: HoldoutConfig {
                calibration_end,
                holdout_end: end,
                ..HoldoutConfig::cdnow()
            },
        })
    }
}

/// `aima evaluate segments`: segment quality on a time split, RFM personas
/// beside fingerprint clusters.
pub fn segments(
    data: &SegmentData,
    format: Format,
    train_customers: usize,
    epochs: usize,
) -> Result<()> {
    let bar = spinner()?;
    bar.set_message("training the fingerprint transformer");
    let options = FingerprintOptions {
        train_customers,
        epochs,
        ..FingerprintOptions::default()
    };
    let (clusters, run) = fingerprint_clusters(&data.purchases, &data.config, &options, &mut |p| {
        bar.set_message(format!(
            "training the fingerprint transformer: step {} of {} (loss {:.3})",
            p.step + 1,
            p.total_steps,
            p.loss
        ));
        bar.tick();
    })
    .context("fingerprint clustering failed")?;
    bar.set_message("scoring segments");
    let report = segment_quality(
        &data.purchases,
        &data.config,
        &[("fingerprint_clusters".to_owned(), clusters)],
    )
    .context("segment quality failed")?;
    bar.finish_and_clear();
    match format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "data": data.label,
                "customers": report.customers,
                "next_period_revenue": report.next_period_revenue,
                "groupings": report.groupings,
                "fingerprints": run,
            }))?
        )?,
        Format::Text => {
            outln!(
                "Segment quality on {}: {} customers; next-period revenue {:.2}",
                data.label,
                report.customers,
                report.next_period_revenue
            )?;
            outln!(
                "{:<22} {:>9} {:>20} {:>10}",
                "grouping",
                "segments",
                "variance explained",
                "adjusted"
            )?;
            for (name, g) in &report.groupings {
                outln!(
                    "{:<22} {:>9} {:>19.1}% {:>9.1}%",
                    name,
                    g.segments,
                    100.0 * g.variance_explained,
                    100.0 * g.variance_explained_adjusted
                )?;
            }
            outln!(
                "\nFingerprints: transformer trained on {} customers (final loss {:.3}, masked-event accuracy {:.2}); {} clusters, {:.1}% noise (noise counts as one segment).",
                run.train_customers,
                run.final_loss,
                run.masked_kind_accuracy,
                run.clusters,
                100.0 * run.noise_share
            )?;
        }
    }
    Ok(())
}
