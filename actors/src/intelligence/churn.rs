//! Which churn model an organization is served (M6): BG/NBD or a DeepHit
//! survival network, chosen per organization on a time split of its own
//! history.
//!
//! # The split
//! With `E` the organization's last purchase day and `H` =
//! [`ChurnOptions::holdout_days`] (default [`HOLDOUT_DAYS`] = 90, the
//! longest churn horizon), calibration ends at `C = E - H` and the holdout
//! is `(C, E]`. DeepHit needs labels, and they must come from before the
//! holdout too, so it is trained one window earlier: features as of the end
//! of day `T = C - H`, label = days from `T` to the customer's first
//! purchase in `(T, C]` (censored at `H` without one), over the customers
//! with a purchase by `T` (an evenly spaced subset of at most
//! [`ChurnOptions::max_train_customers`]). It then scores the customers with
//! a purchase by `C` from their features as of `C`. BG/NBD is fitted (as in
//! production: penalized maximum likelihood) on the same customers'
//! purchases up to `C`.
//!
//! Features are the 70 behavioural features of `aima_models::features`
//! through [`survival_inputs`] (a signed log transform); the fingerprints
//! are not used, because the stored ones are computed as of the data end
//! and would leak the holdout.
//!
//! # The scores (on the customers with a purchase by `C`)
//! - `auc`: ROC AUC of the predicted P(no purchase within `H` days) for the
//!   label "no purchase in the holdout";
//! - `concordance`: Antolini's time-dependent concordance of each model's
//!   curve S(t) = P(no purchase within t days) against the days to the first
//!   holdout purchase (censored at `H`), on an evenly spaced subset of at
//!   most [`ChurnOptions::max_concordance_customers`] (the metric is
//!   quadratic in the customers);
//! - `ibs`: the integrated Brier score of the same curves over weekly times
//!   inside the holdout (lower is better).
//!
//! # The rule
//! DeepHit is served when it is strictly better than BG/NBD on at least two
//! of the three scores (higher AUC, higher concordance, lower IBS), the rule
//! `aima evaluate clv` uses; otherwise, ties included, BG/NBD is served
//! ([`choose_served`]). [`ChurnOptions::serve`] can force a model (the
//! comparison is still recorded).
//!
//! # Too little data
//! The comparison needs, with `n` = [`ChurnOptions::min_holdout_customers`]
//! (default [`MIN_HOLDOUT_CUSTOMERS`] = 200): at least `n` customers with a
//! purchase by `T` (DeepHit's training set) and at least one of them buying
//! in `(T, C]`; at least `n` customers with a purchase by `C`, some buying in
//! the holdout and some not, and [`super::MIN_REPEAT_CUSTOMERS`] of them with
//! a repeat purchase by `C`. An organization with less (for example one
//! whose history is shorter than `2 H` days) is served BG/NBD, and the
//! reason is recorded. So is any failure of the comparison itself (a model
//! that does not fit or train).
//!
//! # Serving DeepHit
//! The served network is trained again one window later, on the whole
//! history: features as of `C`, labels from `(C, E]`, over the customers
//! with a purchase by `C`; it predicts every purchaser from their features
//! as of `E`. Churn at 30/60/90 days = S(30/60/90). The CLV stays BG/NBD +
//! Gamma-Gamma's (the network predicts the time to the next purchase, not
//! the number or value of purchases). The weights are stored with the
//! registry entry ([`Store::save_model_artifact`], safetensors) and the
//! configuration and feature standardization in its metrics; see
//! [`served_deephit`], which rebuilds the served network in any process
//! without training. The churn job itself trains afresh on every run: its
//! windows move with the data, and training is cheap (on the demo
//! organization, 23,500 customers, the whole job took 4 to 6 s in a debug
//! build on a busy 2-core machine, against 2.5 to 4 s for BG/NBD alone).

use std::collections::BTreeSet;

use aima_models::clv::{BgNbd, BgNbdParams, RepeatSummary, Transaction, summarize};
use aima_models::evaluation::survival_inputs;
use aima_models::features::{self, OrgData};
use aima_models::metrics;
use aima_models::survival::{DeepHit, DeepHitConfig, SavedDeepHit, SurvivalCurve, SurvivalData};
use aima_runtime::store::{Store, StoreError};
use chrono::{Days, NaiveDate};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::jobs::Progress;

use super::{BGNBD_PENALTY, CHURN_MODEL, MIN_REPEAT_CUSTOMERS};

/// Length of the holdout, days: the longest churn horizon.
pub const HOLDOUT_DAYS: u32 = 90;
/// Fewest customers in DeepHit's training set and in the evaluated set.
pub const MIN_HOLDOUT_CUSTOMERS: usize = 200;
/// The format name of served DeepHit weights in the model registry.
pub const DEEPHIT_WEIGHTS_FORMAT: &str = "safetensors";
/// Stage name of the network's training epochs in job progress.
pub const CHURN_TRAINING_STAGE: &str = "churn model training";

/// Settings of the churn model choice (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct ChurnOptions {
    /// Length `H` of the holdout and of DeepHit's label window, days
    /// (values under 21 are taken as 21, so the Brier grid has weekly
    /// points). Default [`HOLDOUT_DAYS`].
    pub holdout_days: u32,
    /// Fewest customers in each of DeepHit's training set and the evaluated
    /// set. Default [`MIN_HOLDOUT_CUSTOMERS`].
    pub min_holdout_customers: usize,
    /// Most customers DeepHit is trained on (an evenly spaced subset), to
    /// bound the job's time on very large organizations. Default 50,000 (on
    /// the demo organization, training on all 23,500 purchasers instead of
    /// 10,000 raised the network's holdout AUC from 0.812 to 0.827).
    pub max_train_customers: usize,
    /// Most customers the concordance is computed on. Default 5,000.
    pub max_concordance_customers: usize,
    /// The network. Default: weekly bins over 13 weeks (91 days, covering
    /// 30/60/90), one hidden layer of 32, one member, at most 20 epochs
    /// (patience 3), seed 7; see [`ChurnOptions::default`].
    pub deephit: DeepHitConfig,
    /// Serve this model whatever the comparison says (`None`: the better
    /// one, by [`choose_served`]).
    pub serve: Option<ServedModel>,
}

impl Default for ChurnOptions {
    fn default() -> Self {
        ChurnOptions {
            holdout_days: HOLDOUT_DAYS,
            min_holdout_customers: MIN_HOLDOUT_CUSTOMERS,
            max_train_customers: 50_000,
            max_concordance_customers: 5_000,
            deephit: DeepHitConfig {
                bin_width_days: 7.0,
                num_bins: 13,
                hidden: vec![32],
                max_epochs: 20,
                patience: 3,
                ensemble_size: 1,
                seed: 7,
                ..DeepHitConfig::default()
            },
            serve: None,
        }
    }
}

/// The churn model an organization is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServedModel {
    /// BG/NBD (P(no purchase within h | history)).
    Bgnbd,
    /// The DeepHit survival network.
    Deephit,
}

impl ServedModel {
    /// The name in registry metrics and tool outputs: `bgnbd` or `deephit`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServedModel::Bgnbd => "bgnbd",
            ServedModel::Deephit => "deephit",
        }
    }
}

/// One model's holdout scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HoldoutScores {
    /// ROC AUC for "no purchase in the holdout", 0 to 1 (higher is better).
    pub auc: f64,
    /// Time-dependent concordance, 0 to 1 (higher is better).
    pub concordance: f64,
    /// Integrated Brier score (lower is better).
    pub ibs: f64,
}

/// The comparison of the two models on an organization's holdout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoldoutComparison {
    /// `T`: DeepHit's features are as of this day's end.
    pub training_as_of: NaiveDate,
    /// `C`: the last calibration day.
    pub calibration_end: NaiveDate,
    /// `E`: the last holdout day (the last purchase day).
    pub holdout_end: NaiveDate,
    /// `H`, days.
    pub holdout_days: u32,
    /// Customers scored (a purchase by `C`).
    pub customers: usize,
    /// Of them, those without a purchase in the holdout.
    pub customers_without_purchase: usize,
    /// Customers the concordance was computed on.
    pub concordance_customers: usize,
    /// Customers DeepHit was trained on.
    pub deephit_training_customers: usize,
    /// DeepHit's epoch with the lowest validation loss.
    pub deephit_best_epoch: usize,
    /// BG/NBD's scores.
    pub bgnbd: HoldoutScores,
    /// DeepHit's scores.
    pub deephit: HoldoutScores,
    /// DeepHit's scores minus BG/NBD's (positive AUC and concordance and a
    /// negative IBS favour DeepHit).
    pub deephit_minus_bgnbd: HoldoutScores,
    /// The better model by [`choose_served`].
    pub better: ServedModel,
    /// Why, in words with the margins.
    pub reason: String,
}

/// The better of two models' holdout scores: DeepHit when it is strictly
/// better on at least two of AUC (higher), concordance (higher) and IBS
/// (lower), else BG/NBD (ties included). Returns it with a sentence giving
/// the scores and margins.
pub fn choose_served(bgnbd: &HoldoutScores, deephit: &HoldoutScores) -> (ServedModel, String) {
    let wins = [
        deephit.auc > bgnbd.auc,
        deephit.concordance > bgnbd.concordance,
        deephit.ibs < bgnbd.ibs,
    ]
    .into_iter()
    .filter(|w| *w)
    .count();
    let served = if wins >= 2 {
        ServedModel::Deephit
    } else {
        ServedModel::Bgnbd
    };
    let reason = format!(
        "{} is served: DeepHit is better on {wins} of 3 holdout scores (2 needed): \
         AUC {:.4} vs BG/NBD {:.4} ({:+.4}), concordance {:.4} vs {:.4} ({:+.4}), \
         IBS {:.4} vs {:.4} ({:+.4}; lower is better)",
        served.as_str(),
        deephit.auc,
        bgnbd.auc,
        deephit.auc - bgnbd.auc,
        deephit.concordance,
        bgnbd.concordance,
        deephit.concordance - bgnbd.concordance,
        deephit.ibs,
        bgnbd.ibs,
        deephit.ibs - bgnbd.ibs,
    );
    (served, reason)
}

/// The purchase data the churn models read, by customer index.
pub(crate) struct PurchaseData<'a> {
    /// Feature input of every customer of the organization.
    pub(crate) data: &'a OrgData,
    /// Purchases (customer = index into the organization's customers).
    pub(crate) transactions: &'a [Transaction<u32>],
}

/// Each customer's purchase days, sorted and deduplicated.
fn purchase_days(p: &PurchaseData<'_>) -> Vec<Vec<NaiveDate>> {
    let mut days: Vec<BTreeSet<NaiveDate>> = vec![BTreeSet::new(); p.data.customers];
    for t in p.transactions {
        if let Some(d) = days.get_mut(t.customer as usize) {
            d.insert(t.date);
        }
    }
    days.into_iter().map(|d| d.into_iter().collect()).collect()
}

/// Unix seconds of the last second of `day` (UTC): features "as of the end
/// of the day" see every purchase of that day.
fn end_of_day(day: NaiveDate) -> i64 {
    day.and_hms_opt(23, 59, 59)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or(i64::MAX)
}

fn minus_days(day: NaiveDate, days: u32) -> Option<NaiveDate> {
    day.checked_sub_days(Days::new(u64::from(days)))
}

/// `k` evenly spaced items of `items` (all when `k >= len`).
fn evenly_spaced<T: Copy>(items: &[T], k: usize) -> Vec<T> {
    if k >= items.len() {
        return items.to_vec();
    }
    (0..k).map(|j| items[j * items.len() / k]).collect()
}

/// Days from `as_of` to the first purchase in `(as_of, as_of + h]`, or `h`
/// censored: `(duration, event)`.
fn label(days: &[NaiveDate], as_of: NaiveDate, h: u32) -> (f64, bool) {
    let next = days.partition_point(|d| *d <= as_of);
    match days.get(next) {
        Some(d) if (*d - as_of).num_days() <= i64::from(h) => {
            ((*d - as_of).num_days() as f64, true)
        }
        _ => (f64::from(h), false),
    }
}

/// The network's input rows of `customers` as of the end of `as_of`.
fn inputs(
    p: &PurchaseData<'_>,
    as_of: NaiveDate,
    customers: &[u32],
) -> Result<Vec<Vec<f64>>, String> {
    let matrix = features::compute(p.data, end_of_day(as_of))
        .map_err(|e| format!("features as of {as_of}: {e}"))?;
    let mut all = survival_inputs(&matrix);
    Ok(customers
        .iter()
        .map(|&c| std::mem::take(&mut all[c as usize]))
        .collect())
}

/// A trained network and what it was trained on.
pub(crate) struct Trained {
    pub(crate) model: DeepHit,
    pub(crate) customers: usize,
    pub(crate) best_epoch: usize,
}

/// Trains DeepHit on the customers with a purchase by `as_of` (an evenly
/// spaced subset), features as of the end of `as_of`, labels from
/// `(as_of, as_of + h]`. `Err` says why it could not.
pub(crate) fn train_deephit(
    p: &PurchaseData<'_>,
    days: &[Vec<NaiveDate>],
    as_of: NaiveDate,
    options: &ChurnOptions,
    progress: &Progress,
) -> Result<Trained, String> {
    let h = options.holdout_days;
    let eligible: Vec<u32> = (0..days.len() as u32)
        .filter(|&c| days[c as usize].first().is_some_and(|d| *d <= as_of))
        .collect();
    if eligible.len() < options.min_holdout_customers {
        return Err(format!(
            "{} customers had a purchase by {as_of}; the network needs at least {} to train on",
            eligible.len(),
            options.min_holdout_customers
        ));
    }
    let chosen = evenly_spaced(&eligible, options.max_train_customers.max(4));
    let (durations, events): (Vec<f64>, Vec<bool>) = chosen
        .iter()
        .map(|&c| label(&days[c as usize], as_of, h))
        .unzip();
    if !events.contains(&true) {
        return Err(format!(
            "none of the {} customers with a purchase by {as_of} bought again in the next {h} days",
            chosen.len()
        ));
    }
    let x = inputs(p, as_of, &chosen)?;
    let max_epochs = options.deephit.max_epochs as u64;
    let (model, report) = DeepHit::fit(
        &options.deephit,
        SurvivalData {
            features: &x,
            durations_days: &durations,
            events: &events,
        },
        &mut |e| progress.report(CHURN_TRAINING_STAGE, e.epoch as u64, max_epochs),
    )
    .map_err(|e| format!("DeepHit could not be trained: {e}"))?;
    Ok(Trained {
        model,
        customers: chosen.len(),
        best_epoch: report.members.first().map_or(0, |m| m.best_epoch),
    })
}

/// The network's predicted curves for `customers` from their features as of
/// the end of `as_of`.
pub(crate) fn predict_deephit(
    p: &PurchaseData<'_>,
    model: &DeepHit,
    as_of: NaiveDate,
    customers: &[u32],
) -> Result<Vec<SurvivalCurve>, String> {
    let x = inputs(p, as_of, customers)?;
    model
        .predict(&x)
        .map_err(|e| format!("DeepHit could not predict: {e}"))
}

/// Scores of curves `s(i, day)` (day = 0..=h) of the evaluated customers.
fn scores(
    table: &[Vec<f64>],
    durations: &[f64],
    events: &[bool],
    subset: &[usize],
    h: u32,
) -> Result<HoldoutScores, String> {
    let metric = |name: &'static str| move |e: metrics::MetricsError| format!("{name}: {e}");
    let h = h as usize;
    let s_end: Vec<f64> = table.iter().map(|row| row[h]).collect();
    let no_purchase: Vec<bool> = events.iter().map(|e| !e).collect();
    let auc = metrics::roc_auc(&s_end, &no_purchase).map_err(metric("auc"))?;
    let sub_d: Vec<f64> = subset.iter().map(|&i| durations[i]).collect();
    let sub_e: Vec<bool> = subset.iter().map(|&i| events[i]).collect();
    // Durations are whole days in 1..=h, so the curves are read exactly.
    let concordance = metrics::concordance_td(&sub_d, &sub_e, |j, t| {
        table[subset[j]][(t.max(0.0) as usize).min(h)]
    })
    .map_err(metric("concordance"))?;
    let grid: Vec<usize> = (1..).map(|w| w * 7).take_while(|d| *d < h).collect();
    let on_grid: Vec<Vec<f64>> = table
        .iter()
        .map(|row| grid.iter().map(|&d| row[d]).collect())
        .collect();
    let grid_days: Vec<f64> = grid.iter().map(|&d| d as f64).collect();
    let ibs = metrics::integrated_brier_score(&on_grid, durations, events, &grid_days)
        .map_err(metric("ibs"))?;
    Ok(HoldoutScores {
        auc,
        concordance,
        ibs,
    })
}

/// Compares BG/NBD and DeepHit on the organization's holdout (see the module
/// docs). `Err` says why the comparison could not be made. Blocking.
pub(crate) fn compare(
    p: &PurchaseData<'_>,
    end: NaiveDate,
    options: &ChurnOptions,
    progress: &Progress,
) -> Result<HoldoutComparison, String> {
    let h = options.holdout_days.max(21);
    let (Some(c), Some(t)) = (minus_days(end, h), minus_days(end, 2 * h)) else {
        return Err("the data's dates are too early for a holdout".into());
    };
    let days = purchase_days(p);
    let histories = summarize(p.transactions, c, end).map_err(|e| format!("summaries: {e}"))?;
    let n = histories.len();
    if n < options.min_holdout_customers {
        return Err(format!(
            "{n} customers had a purchase by {c} (the last {h} days held out); the comparison \
             needs at least {}",
            options.min_holdout_customers
        ));
    }
    let repeaters = histories.iter().filter(|x| x.summary.x > 0).count();
    if repeaters < MIN_REPEAT_CUSTOMERS {
        return Err(format!(
            "{repeaters} customers had a repeat purchase by {c}; BG/NBD needs at least \
             {MIN_REPEAT_CUSTOMERS}"
        ));
    }
    let evaluated: Vec<u32> = histories.iter().map(|x| x.customer).collect();
    let (durations, events): (Vec<f64>, Vec<bool>) = evaluated
        .iter()
        .map(|&i| label(&days[i as usize], c, h))
        .unzip();
    let buyers = events.iter().filter(|e| **e).count();
    if buyers == 0 || buyers == n {
        return Err(format!(
            "{buyers} of the {n} customers bought in the holdout ({c} to {end}); the scores \
             need some who did and some who did not"
        ));
    }

    // BG/NBD on the calibration purchases.
    let summaries: Vec<RepeatSummary> = histories.iter().map(|x| x.summary).collect();
    let bg: BgNbdParams = BgNbd::fit_penalized(&summaries, BGNBD_PENALTY)
        .map_err(|e| format!("BG/NBD could not be fitted on the calibration period: {e}"))?
        .params();
    let bg_table = summaries
        .iter()
        .map(|s| {
            (0..=h)
                .map(|d| {
                    bg.prob_no_purchase(s, f64::from(d) / 7.0)
                        .map(|v| v.clamp(0.0, 1.0))
                })
                .collect::<Result<Vec<f64>, _>>()
        })
        .collect::<Result<Vec<Vec<f64>>, _>>()
        .map_err(|e| format!("BG/NBD curves: {e}"))?;

    // DeepHit one window earlier, applied as of C.
    let trained = train_deephit(p, &days, t, options, progress)?;
    let curves = predict_deephit(p, &trained.model, c, &evaluated)?;
    let dh_table: Vec<Vec<f64>> = curves
        .iter()
        .map(|curve| (0..=h).map(|d| curve.survival_at(f64::from(d))).collect())
        .collect();

    let positions: Vec<usize> = (0..n).collect();
    let subset = evenly_spaced(&positions, options.max_concordance_customers.max(2));
    let bgnbd = scores(&bg_table, &durations, &events, &subset, h)?;
    let deephit = scores(&dh_table, &durations, &events, &subset, h)?;
    let (better, reason) = choose_served(&bgnbd, &deephit);
    Ok(HoldoutComparison {
        training_as_of: t,
        calibration_end: c,
        holdout_end: end,
        holdout_days: h,
        customers: n,
        customers_without_purchase: n - buyers,
        concordance_customers: subset.len(),
        deephit_training_customers: trained.customers,
        deephit_best_epoch: trained.best_epoch,
        deephit_minus_bgnbd: HoldoutScores {
            auc: deephit.auc - bgnbd.auc,
            concordance: deephit.concordance - bgnbd.concordance,
            ibs: deephit.ibs - bgnbd.ibs,
        },
        bgnbd,
        deephit,
        better,
        reason,
    })
}

/// The served network trained on the whole history (see the module docs)
/// and its churn probabilities at `horizons` (days) for `customers`, as of
/// `end`. Blocking.
pub(crate) fn serve_deephit(
    p: &PurchaseData<'_>,
    end: NaiveDate,
    customers: &[u32],
    horizons: &[i64],
    options: &ChurnOptions,
    progress: &Progress,
) -> Result<(Trained, Vec<Vec<f64>>), String> {
    let h = options.holdout_days.max(21);
    let c = minus_days(end, h).ok_or("the data's dates are too early for a holdout")?;
    let days = purchase_days(p);
    let trained = train_deephit(p, &days, c, options, progress)?;
    let curves = predict_deephit(p, &trained.model, end, customers)?;
    let probabilities = curves
        .iter()
        .map(|curve| {
            horizons
                .iter()
                .map(|d| curve.churn_probability(*d as f64).clamp(0.0, 1.0))
                .collect()
        })
        .collect();
    Ok((trained, probabilities))
}

/// The registry metrics that rebuild a served network with its stored
/// weights: configuration and feature standardization.
pub(crate) fn deephit_metrics(model: &DeepHit) -> Result<(Value, Vec<u8>), String> {
    let saved = model
        .to_saved()
        .map_err(|e| format!("DeepHit weights could not be serialized: {e}"))?;
    Ok((
        json!({
            "config": saved.config,
            "feature_means": saved.feature_means,
            "feature_stds": saved.feature_stds,
            "features": "aima_models::features (70) through a signed log transform",
        }),
        saved.weights,
    ))
}

/// The DeepHit network serving `org`'s churn predictions, rebuilt from the
/// latest [`CHURN_MODEL`] registry entry with stored weights; `None` when
/// the latest churn run served BG/NBD or no weights are stored.
///
/// # Errors
/// [`StoreError`] of the reads; [`StoreError::InvalidData`] when the stored
/// configuration or weights do not rebuild a network.
pub async fn served_deephit(store: &Store, org: Uuid) -> Result<Option<DeepHit>, StoreError> {
    let Some(latest) = store.latest_model(Some(org), CHURN_MODEL).await? else {
        return Ok(None);
    };
    if latest.metrics.get("served_model").and_then(Value::as_str)
        != Some(ServedModel::Deephit.as_str())
    {
        return Ok(None);
    }
    let Some(artifact) = store.load_model_artifact(org, latest.id).await? else {
        return Ok(None);
    };
    let invalid = |reason: String| StoreError::InvalidData {
        field: "model_artifacts.bytes",
        reason,
    };
    let saved = latest
        .metrics
        .get("deephit")
        .cloned()
        .ok_or_else(|| invalid("the churn entry has no deephit metrics".into()))?;
    let field = |name: &str| saved.get(name).cloned().unwrap_or(Value::Null);
    let parse = |name: &str| serde_json::from_value::<Vec<f64>>(field(name));
    let saved = SavedDeepHit {
        config: serde_json::from_value(field("config"))
            .map_err(|e| invalid(format!("deephit config: {e}")))?,
        feature_means: parse("feature_means").map_err(|e| invalid(format!("means: {e}")))?,
        feature_stds: parse("feature_stds").map_err(|e| invalid(format!("stds: {e}")))?,
        weights: artifact.bytes,
    };
    DeepHit::from_saved(&saved)
        .map(Some)
        .map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn s(auc: f64, concordance: f64, ibs: f64) -> HoldoutScores {
        HoldoutScores {
            auc,
            concordance,
            ibs,
        }
    }

    #[test]
    fn deephit_needs_two_of_three_scores() {
        let bg = s(0.80, 0.70, 0.10);
        assert_eq!(
            choose_served(&bg, &s(0.81, 0.71, 0.11)).0,
            ServedModel::Deephit
        );
        assert_eq!(
            choose_served(&bg, &s(0.79, 0.71, 0.09)).0,
            ServedModel::Deephit
        );
        assert_eq!(
            choose_served(&bg, &s(0.81, 0.69, 0.11)).0,
            ServedModel::Bgnbd
        );
        // Ties go to BG/NBD.
        assert_eq!(choose_served(&bg, &bg).0, ServedModel::Bgnbd);
        assert_eq!(
            choose_served(&bg, &s(0.80, 0.70, 0.09)).0,
            ServedModel::Bgnbd
        );
        let (_, reason) = choose_served(&bg, &s(0.85, 0.72, 0.09));
        assert!(reason.starts_with("deephit is served"), "{reason}");
        assert!(reason.contains("+0.0500"), "{reason}");
    }

    #[test]
    fn labels_and_days() {
        let d = |n: u64| NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + Days::new(n);
        let days = [d(0), d(10), d(40)];
        assert_eq!(label(&days, d(0), 30), (10.0, true));
        assert_eq!(label(&days, d(10), 30), (30.0, true));
        assert_eq!(label(&days, d(11), 20), (20.0, false));
        assert_eq!(label(&days, d(40), 30), (30.0, false));
        assert_eq!(evenly_spaced(&[1, 2, 3, 4], 2), vec![1, 3]);
        assert_eq!(end_of_day(d(0)) + 1, end_of_day(d(1)) - 86_399);
    }
}
