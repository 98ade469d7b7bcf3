//! Holdout evaluation of the CLV and churn models, side by side.
//!
//! [`clv_holdout`] splits a transaction log in time (calibration up to
//! `calibration_end`, holdout up to `holdout_end`) and scores every model on
//! the same evaluated customers:
//!
//! - **BG/NBD** and **Pareto/NBD** are fitted by maximum likelihood on the
//!   evaluated customers' calibration summaries (they need no labels), and
//!   **Gamma-Gamma** on those with repeat purchases;
//! - the **DeepHit** survival network ([`crate::survival`]) is trained on the
//!   *other* customers (features as of `calibration_end`, label = days to
//!   their first purchase after it, censored at `holdout_end`) and applied to
//!   the evaluated ones, so no evaluated customer's holdout is seen in
//!   training.
//!
//! Scores (all on the evaluated customers):
//! - `predicted_transactions`: the sum over customers of the expected number
//!   of transactions in the holdout given the calibration history, beside
//!   the actual count; `mae`: the mean absolute error of those per-customer
//!   expectations. The survival network predicts the time to the next
//!   purchase, not a count, so it has neither (`None`).
//! - `auc`: ROC AUC for "no purchase in the holdout", scored by each model's
//!   probability of no purchase over the whole holdout (S(holdout) for
//!   DeepHit, `prob_no_purchase` for the repeat-purchase models).
//! - `concordance`: Antolini's time-dependent C^td of each model's curve
//!   S(t) = P(no purchase within t days) against the days to the first
//!   holdout purchase (censored at the end of the holdout). The
//!   repeat-purchase models' curves are computed weekly and interpolated
//!   linearly in between.
//! - `ibs`: the integrated Brier score of the same curves over weekly times
//!   (IPCW, Graf et al. 1999); lower is better.
//!
//! The served model is the one that wins more of AUC, concordance and IBS
//! (ties broken by AUC); the report says by how much.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use serde::Serialize;

use crate::clv::{
    BgNbd, ClvError, CustomerHistory, GammaGamma, ParetoNbd, RepeatPurchaseModel, RepeatSummary,
    Transaction, summarize,
};
use crate::features::{self, FeatureError, OrderRow, OrderStatus, OrgData};
use crate::metrics::{self, MetricsError};
use crate::survival::{DeepHit, DeepHitConfig, EpochProgress, SurvivalData, SurvivalError};

/// One purchase of a transaction log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Purchase {
    /// The customer's key in the source.
    pub customer: u32,
    /// The day of the purchase.
    pub date: NaiveDate,
    /// Its value (currency units, >= 0).
    pub amount: f64,
    /// Units bought (e.g. CDs), >= 0.
    pub quantity: f64,
}

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvaluationError {
    /// A repeat-purchase model could not be fitted or evaluated.
    #[error("{model}: {source}")]
    Clv {
        /// "bgnbd", "pareto_nbd" or "gamma_gamma".
        model: &'static str,
        /// The model's error.
        #[source]
        source: ClvError,
    },
    /// The features of the survival network could not be computed.
    #[error("features: {0}")]
    Features(#[from] FeatureError),
    /// The survival network could not be trained or applied.
    #[error("survival network: {0}")]
    Survival(#[from] SurvivalError),
    /// The fingerprint transformer could not be trained or applied.
    #[error("fingerprints: {0}")]
    Fingerprint(#[from] crate::fingerprint::FingerprintError),
    /// The fingerprints could not be clustered.
    #[error("clustering: {0}")]
    Cluster(#[from] crate::cluster::ClusterError),
    /// A metric could not be computed.
    #[error("metric {metric}: {source}")]
    Metric {
        /// The metric's name.
        metric: &'static str,
        /// The metric's error.
        #[source]
        source: MetricsError,
    },
    /// The split leaves a side empty.
    #[error("{what}")]
    EmptySplit {
        /// What is missing, in words.
        what: String,
    },
}

/// The time split and the survival network's settings.
#[derive(Debug, Clone)]
pub struct HoldoutConfig {
    /// Last day of calibration (inclusive).
    pub calibration_end: NaiveDate,
    /// Last day of the holdout (inclusive); after `calibration_end`.
    pub holdout_end: NaiveDate,
    /// The survival network's hyper-parameters.
    pub deephit: DeepHitConfig,
}

impl HoldoutConfig {
    /// The CDNOW split of Fader, Hardie & Lee (2005): calibration weeks 1-39
    /// (to 1997-09-30), holdout weeks 40-78 (to 1998-06-30), and a DeepHit
    /// with weekly bins over the 39-week holdout.
    pub fn cdnow() -> HoldoutConfig {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN);
        HoldoutConfig {
            calibration_end: date(1997, 9, 30),
            holdout_end: date(1998, 6, 30),
            deephit: DeepHitConfig {
                num_bins: 39,
                max_epochs: 25,
                patience: 4,
                seed: 7,
                ..DeepHitConfig::default()
            },
        }
    }
}

/// BG/NBD parameters (weeks).
#[derive(Debug, Clone, Serialize)]
pub struct BgNbdReport {
    /// Shape of the transaction-rate gamma.
    pub r: f64,
    /// Scale of the transaction-rate gamma (weeks).
    pub alpha: f64,
    /// Dropout beta shape a.
    pub a: f64,
    /// Dropout beta shape b.
    pub b: f64,
    /// Log-likelihood at the optimum.
    pub log_likelihood: f64,
}

/// Pareto/NBD parameters (weeks).
#[derive(Debug, Clone, Serialize)]
pub struct ParetoNbdReport {
    /// Shape of the transaction-rate gamma.
    pub r: f64,
    /// Scale of the transaction-rate gamma (weeks).
    pub alpha: f64,
    /// Shape of the dropout-rate gamma.
    pub s: f64,
    /// Scale of the dropout-rate gamma (weeks).
    pub beta: f64,
    /// Log-likelihood at the optimum.
    pub log_likelihood: f64,
}

/// Gamma-Gamma spend parameters.
#[derive(Debug, Clone, Serialize)]
pub struct GammaGammaReport {
    /// Shape p of the per-transaction gamma.
    pub p: f64,
    /// Shape q of the gamma of the scale.
    pub q: f64,
    /// Scale gamma of the gamma of the scale.
    pub gamma: f64,
    /// Log-likelihood at the optimum.
    pub log_likelihood: f64,
    /// Customers with repeat purchases it was fitted on.
    pub customers: usize,
    /// Population mean transaction value p·gamma/(q-1), when q > 1.
    pub mean_value: Option<f64>,
}

/// One model's holdout scores.
#[derive(Debug, Clone, Serialize)]
pub struct ModelScores {
    /// Sum of expected holdout transactions (None: the model predicts no count).
    pub predicted_transactions: Option<f64>,
    /// Mean absolute error of the per-customer expectations.
    pub mae: Option<f64>,
    /// ROC AUC for "no purchase in the holdout", in [0, 1].
    pub auc: f64,
    /// Antolini's time-dependent concordance, in [0, 1].
    pub concordance: f64,
    /// Integrated Brier score over weekly times (lower is better).
    pub ibs: f64,
}

/// The holdout part of the report.
#[derive(Debug, Clone, Serialize)]
pub struct HoldoutReport {
    /// Evaluated customers.
    pub customers: usize,
    /// Customers the survival network was trained on.
    pub survival_training_customers: usize,
    /// Holdout weeks (days / 7).
    pub weeks: f64,
    /// Actual repeat transactions (purchase days) in the holdout.
    pub actual_transactions: u64,
    /// Evaluated customers with no purchase in the holdout.
    pub customers_without_purchase: usize,
    /// Scores per model: "bgnbd", "pareto_nbd", "deephit".
    pub models: BTreeMap<String, ModelScores>,
    /// The IBS of one Kaplan-Meier curve (of the training customers) for all,
    /// the baseline a useful model beats.
    pub kaplan_meier_ibs: f64,
}

/// The whole evaluation; its JSON keys are stable (see `aima evaluate clv`).
#[derive(Debug, Clone, Serialize)]
pub struct ClvHoldoutReport {
    /// BG/NBD fitted on the evaluated customers' calibration data.
    pub bgnbd: BgNbdReport,
    /// Pareto/NBD fitted on the same data.
    pub pareto_nbd: ParetoNbdReport,
    /// Gamma-Gamma fitted on the evaluated customers with repeat purchases.
    pub gamma_gamma: GammaGammaReport,
    /// The holdout scores.
    pub holdout: HoldoutReport,
    /// The model that wins more of AUC, concordance and IBS.
    pub served_model: String,
    /// Why it is served, in words with the margins.
    pub served_reason: String,
}

/// Runs the evaluation on `purchases`, scoring the customers in `evaluated`
/// (those first seen by `calibration_end`); the survival network trains on
/// every other customer first seen by then. `progress` receives the
/// network's training epochs.
///
/// # Errors
/// [`EvaluationError`] naming the model or metric that failed, or an empty
/// side of the split.
pub fn clv_holdout(
    purchases: &[Purchase],
    evaluated: &HashSet<u32>,
    config: &HoldoutConfig,
    progress: &mut (dyn FnMut(&EpochProgress) + Send),
) -> Result<ClvHoldoutReport, EvaluationError> {
    let clv_err = |model| move |source| EvaluationError::Clv { model, source };
    let metric_err = |metric| move |source| EvaluationError::Metric { metric, source };
    let transactions: Vec<Transaction<u32>> = purchases
        .iter()
        .map(|p| Transaction {
            customer: p.customer,
            date: p.date,
            amount: p.amount,
        })
        .collect();
    let histories = summarize(&transactions, config.calibration_end, config.holdout_end)
        .map_err(clv_err("summary"))?;
    let (test, train): (Vec<&CustomerHistory<u32>>, Vec<&CustomerHistory<u32>>) = histories
        .iter()
        .partition(|h| evaluated.contains(&h.customer));
    if test.is_empty() || train.is_empty() {
        return Err(EvaluationError::EmptySplit {
            what: format!(
                "{} evaluated and {} training customers first bought by {}; both must be non-empty",
                test.len(),
                train.len(),
                config.calibration_end
            ),
        });
    }
    let summaries: Vec<RepeatSummary> = test.iter().map(|h| h.summary).collect();
    let holdout_days = (config.holdout_end - config.calibration_end).num_days() as f64;
    let weeks = holdout_days / 7.0;

    // Repeat-purchase models.
    let bg = BgNbd::fit(&summaries).map_err(clv_err("bgnbd"))?;
    let pareto = ParetoNbd::fit(&summaries).map_err(clv_err("pareto_nbd"))?;
    let gg = GammaGamma::fit(&summaries).map_err(clv_err("gamma_gamma"))?;

    // Labels of the evaluated customers: days to the first holdout purchase.
    let first_after = first_purchase_after(purchases, config);
    let label = |h: &CustomerHistory<u32>| match first_after.get(&h.customer) {
        Some(days) => (*days as f64, true),
        None => (holdout_days, false),
    };
    let (durations, events): (Vec<f64>, Vec<bool>) = test.iter().map(|h| label(h)).unzip();
    let no_purchase: Vec<bool> = events.iter().map(|e| !e).collect();
    let actual: Vec<f64> = test
        .iter()
        .map(|h| f64::from(h.holdout_transactions))
        .collect();
    let grid: Vec<f64> = (1..(weeks.floor() as i64))
        .map(|w| w as f64 * 7.0)
        .collect();

    let mut models = BTreeMap::new();
    let bg_params = bg.params();
    let pareto_params = pareto.params();
    for (name, model) in [
        ("bgnbd", &bg_params as &dyn RepeatPurchaseModel),
        ("pareto_nbd", &pareto_params as &dyn RepeatPurchaseModel),
    ] {
        let err = clv_err(name);
        let expected = summaries
            .iter()
            .map(|s| model.conditional_expected_transactions(s, weeks))
            .collect::<Result<Vec<f64>, _>>()
            .map_err(err)?;
        let curves = summaries
            .iter()
            .map(|s| {
                grid.iter()
                    .chain(std::iter::once(&holdout_days))
                    .map(|t| model.prob_no_purchase(s, t / 7.0))
                    .collect::<Result<Vec<f64>, _>>()
            })
            .collect::<Result<Vec<Vec<f64>>, _>>()
            .map_err(err)?;
        let curve_at = |j: usize, t: f64| interpolate(&grid, holdout_days, &curves[j], t);
        models.insert(
            name.to_owned(),
            score(
                Some(&expected),
                &actual,
                &curves,
                curve_at,
                &durations,
                &events,
                &no_purchase,
                &grid,
            )?,
        );
    }

    // The survival network, trained on the other customers.
    let ids: Vec<u32> = histories.iter().map(|h| h.customer).collect();
    let inputs = survival_inputs(&feature_rows(purchases, &ids, config)?);
    let (mut train_x, mut train_d, mut train_e, mut test_x) = (vec![], vec![], vec![], vec![]);
    for (h, x) in histories.iter().zip(inputs) {
        if evaluated.contains(&h.customer) {
            test_x.push(x);
        } else {
            let (d, e) = label(h);
            train_x.push(x);
            train_d.push(d);
            train_e.push(e);
        }
    }
    let (net, _) = DeepHit::fit(
        &config.deephit,
        SurvivalData {
            features: &train_x,
            durations_days: &train_d,
            events: &train_e,
        },
        progress,
    )?;
    let predicted = net.predict(&test_x)?;
    let curves: Vec<Vec<f64>> = predicted
        .iter()
        .map(|c| {
            grid.iter()
                .chain(std::iter::once(&holdout_days))
                .map(|t| c.survival_at(*t))
                .collect()
        })
        .collect();
    let deephit = score(
        None,
        &actual,
        &curves,
        |j, t| predicted[j].survival_at(t),
        &durations,
        &events,
        &no_purchase,
        &grid,
    )?;
    models.insert("deephit".to_owned(), deephit);

    let km = metrics::KaplanMeier::fit(&train_d, &train_e).map_err(metric_err("kaplan_meier"))?;
    let km_row: Vec<f64> = grid.iter().map(|t| km.survival_at(*t)).collect();
    let kaplan_meier_ibs =
        metrics::integrated_brier_score(&vec![km_row; durations.len()], &durations, &events, &grid)
            .map_err(metric_err("ibs"))?;

    let (served_model, served_reason) = choose_served(&models);
    Ok(ClvHoldoutReport {
        bgnbd: BgNbdReport {
            r: bg.r,
            alpha: bg.alpha,
            a: bg.a,
            b: bg.b,
            log_likelihood: bg.log_likelihood,
        },
        pareto_nbd: ParetoNbdReport {
            r: pareto.r,
            alpha: pareto.alpha,
            s: pareto.s,
            beta: pareto.beta,
            log_likelihood: pareto.log_likelihood,
        },
        gamma_gamma: GammaGammaReport {
            p: gg.p,
            q: gg.q,
            gamma: gg.gamma,
            log_likelihood: gg.log_likelihood,
            customers: gg.customers,
            mean_value: gg.mean_value(),
        },
        holdout: HoldoutReport {
            customers: test.len(),
            survival_training_customers: train_x.len(),
            weeks,
            actual_transactions: test.iter().map(|h| u64::from(h.holdout_transactions)).sum(),
            customers_without_purchase: no_purchase.iter().filter(|n| **n).count(),
            models,
            kaplan_meier_ibs,
        },
        served_model,
        served_reason,
    })
}

/// The survival network's inputs from a feature matrix: every feature
/// through the signed log transform sign(x)·ln(1 + |x|), which tames the
/// heavy tails of money and counts before the network standardizes them.
pub fn survival_inputs(matrix: &features::FeatureMatrix) -> Vec<Vec<f64>> {
    (0..matrix.n_customers)
        .map(|c| {
            matrix
                .row(c)
                .unwrap_or(&[])
                .iter()
                .map(|x| x.signum() * x.abs().ln_1p())
                .collect()
        })
        .collect()
}

/// Features as of the end of `calibration_end` for the customers `ids`
/// (in that order), from their purchases (dates at 00:00 UTC).
fn feature_rows(
    purchases: &[Purchase],
    ids: &[u32],
    config: &HoldoutConfig,
) -> Result<features::FeatureMatrix, FeatureError> {
    let index: BTreeMap<u32, u32> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i as u32))
        .collect();
    let orders = purchases
        .iter()
        .filter_map(|p| {
            Some(OrderRow {
                customer: *index.get(&p.customer)?,
                at: unix_day(p.date),
                amount: p.amount,
                quantity: p.quantity,
                discount: 0.0,
                status: OrderStatus::Completed,
                channel: None,
            })
        })
        .collect();
    let org = OrgData {
        customers: ids.len(),
        orders,
        ..OrgData::default()
    };
    features::compute(&org, unix_day(config.calibration_end))
}

fn unix_day(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or(0)
}

/// Days from `calibration_end` to each customer's first purchase in the
/// holdout.
fn first_purchase_after(purchases: &[Purchase], config: &HoldoutConfig) -> BTreeMap<u32, i64> {
    let mut first = BTreeMap::new();
    for p in purchases {
        if p.date > config.calibration_end && p.date <= config.holdout_end {
            let days = (p.date - config.calibration_end).num_days();
            first
                .entry(p.customer)
                .and_modify(|d: &mut i64| *d = (*d).min(days))
                .or_insert(days);
        }
    }
    first
}

/// A curve known at `grid` and at `end`, linear in between, 1 at t = 0.
fn interpolate(grid: &[f64], end: f64, values: &[f64], t: f64) -> f64 {
    let mut prev = (0.0, 1.0);
    for (x, y) in grid.iter().chain(std::iter::once(&end)).zip(values) {
        if t <= *x {
            let (x0, y0) = prev;
            return y0 + (y - y0) * (t - x0) / (x - x0).max(f64::EPSILON);
        }
        prev = (*x, *y);
    }
    prev.1
}

#[allow(clippy::too_many_arguments)]
fn score(
    expected: Option<&[f64]>,
    actual: &[f64],
    curves: &[Vec<f64>],
    curve_at: impl Fn(usize, f64) -> f64,
    durations: &[f64],
    events: &[bool],
    no_purchase: &[bool],
    grid: &[f64],
) -> Result<ModelScores, EvaluationError> {
    let metric_err = |metric| move |source| EvaluationError::Metric { metric, source };
    // The last column of each curve is S(end of holdout).
    let s_end: Vec<f64> = curves
        .iter()
        .map(|c| c.last().copied().unwrap_or(1.0))
        .collect();
    let auc = metrics::roc_auc(&s_end, no_purchase).map_err(metric_err("auc"))?;
    let concordance =
        metrics::concordance_td(durations, events, curve_at).map_err(metric_err("concordance"))?;
    let on_grid: Vec<Vec<f64>> = curves.iter().map(|c| c[..grid.len()].to_vec()).collect();
    let ibs = metrics::integrated_brier_score(&on_grid, durations, events, grid)
        .map_err(metric_err("ibs"))?;
    let (predicted_transactions, mae) = match expected {
        Some(e) => (
            Some(e.iter().sum()),
            Some(metrics::mean_absolute_error(e, actual).map_err(metric_err("mae"))?),
        ),
        None => (None, None),
    };
    Ok(ModelScores {
        predicted_transactions,
        mae,
        auc,
        concordance,
        ibs,
    })
}

/// The model winning more of AUC (higher), concordance (higher) and IBS
/// (lower); ties by AUC.
fn choose_served(models: &BTreeMap<String, ModelScores>) -> (String, String) {
    let best = |f: &dyn Fn(&ModelScores) -> f64| {
        models
            .iter()
            .max_by(|a, b| f(a.1).total_cmp(&f(b.1)))
            .map(|(n, _)| n.clone())
            .unwrap_or_default()
    };
    let winners = [
        best(&|m| m.auc),
        best(&|m| m.concordance),
        best(&|m| -m.ibs),
    ];
    let wins = |name: &str| winners.iter().filter(|w| *w == name).count();
    let served = models
        .keys()
        .max_by(|a, b| {
            wins(a)
                .cmp(&wins(b))
                .then(models[*a].auc.total_cmp(&models[*b].auc))
        })
        .cloned()
        .unwrap_or_default();
    let s = &models[&served];
    let runner_up = |f: &dyn Fn(&ModelScores) -> f64| {
        models
            .iter()
            .filter(|(n, _)| **n != served)
            .map(|(_, m)| f(m))
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let reason = format!(
        "{served} wins {} of 3 metrics: AUC {:.4} ({:+.4} vs the best other model), concordance {:.4} ({:+.4}), IBS {:.4} ({:+.4})",
        wins(&served),
        s.auc,
        s.auc - runner_up(&|m| m.auc),
        s.concordance,
        s.concordance - runner_up(&|m| m.concordance),
        s.ibs,
        s.ibs + runner_up(&|m| -m.ibs),
    );
    (served, reason)
}

/// How well one grouping of customers separates their next-period revenue.
#[derive(Debug, Clone, Serialize)]
pub struct GroupingQuality {
    /// Groups with at least one customer (unsegmented customers count as one).
    pub segments: usize,
    /// Share of the variance of next-period revenue explained by the groups
    /// ([`metrics::variance_explained`]), in [0, 1].
    pub variance_explained: f64,
    /// The same, adjusted for the number of segments:
    /// 1 - (1 - η²)(n - 1)/(n - k), so that many small segments do not look
    /// better by chance (can be slightly negative).
    pub variance_explained_adjusted: f64,
}

/// Segment quality on a time split; JSON keys are stable.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentQualityReport {
    /// Customers first seen by the end of calibration.
    pub customers: usize,
    /// Their total revenue in the next period (the holdout).
    pub next_period_revenue: f64,
    /// Per grouping: "rfm_personas" always, plus those passed in.
    pub groupings: BTreeMap<String, GroupingQuality>,
}

/// The customers first seen by `calibration_end`, in ascending key order:
/// the row order of [`segment_quality`]'s groupings.
pub fn calibration_customers(purchases: &[Purchase], calibration_end: NaiveDate) -> Vec<u32> {
    let ids: std::collections::BTreeSet<u32> = purchases
        .iter()
        .filter(|p| p.date <= calibration_end)
        .map(|p| p.customer)
        .collect();
    ids.into_iter().collect()
}

/// Segment quality: how much of the variance of each customer's revenue in
/// the holdout (`calibration_end`, `holdout_end`] the RFM personas computed
/// as of `calibration_end` explain, beside any other `groupings` (e.g.
/// fingerprint clusters), each a group per customer of
/// [`calibration_customers`] (None = unsegmented).
///
/// # Errors
/// [`EvaluationError::Features`], [`EvaluationError::Metric`] (e.g. nobody
/// spent anything in the holdout), [`EvaluationError::EmptySplit`] when no
/// customer bought during calibration or a grouping has the wrong length.
pub fn segment_quality(
    purchases: &[Purchase],
    config: &HoldoutConfig,
    groupings: &[(String, Vec<Option<usize>>)],
) -> Result<SegmentQualityReport, EvaluationError> {
    let ids = calibration_customers(purchases, config.calibration_end);
    if ids.is_empty() {
        return Err(EvaluationError::EmptySplit {
            what: format!("no customer bought by {}", config.calibration_end),
        });
    }
    let index: BTreeMap<u32, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut next = vec![0.0; ids.len()];
    for p in purchases {
        if p.date > config.calibration_end
            && p.date <= config.holdout_end
            && let Some(i) = index.get(&p.customer)
        {
            next[*i] += p.amount;
        }
    }
    let matrix = feature_rows(purchases, &ids, config)?;
    let personas: Vec<Option<usize>> = crate::rfm::personas(&matrix)
        .into_iter()
        .map(|p| p.map(|p| p as usize))
        .collect();
    let mut out = BTreeMap::new();
    for (name, groups) in
        std::iter::once(("rfm_personas".to_owned(), personas)).chain(groupings.iter().cloned())
    {
        if groups.len() != ids.len() {
            return Err(EvaluationError::EmptySplit {
                what: format!(
                    "grouping {name} has {} rows for {} customers",
                    groups.len(),
                    ids.len()
                ),
            });
        }
        let variance_explained = metrics::variance_explained(&groups, &next).map_err(|source| {
            EvaluationError::Metric {
                metric: "variance_explained",
                source,
            }
        })?;
        let segments = groups.iter().collect::<HashSet<_>>().len();
        let n = ids.len() as f64;
        let k = segments as f64;
        let variance_explained_adjusted = if n > k {
            1.0 - (1.0 - variance_explained) * (n - 1.0) / (n - k)
        } else {
            0.0
        };
        out.insert(
            name,
            GroupingQuality {
                segments,
                variance_explained,
                variance_explained_adjusted,
            },
        );
    }
    Ok(SegmentQualityReport {
        customers: ids.len(),
        next_period_revenue: next.iter().sum(),
        groupings: out,
    })
}

/// How the fingerprint clusters of [`fingerprint_clusters`] are made.
#[derive(Debug, Clone)]
pub struct FingerprintOptions {
    /// Customers the transformer is trained on (an evenly spaced subset of
    /// all; every customer is then embedded and clustered).
    pub train_customers: usize,
    /// Training epochs.
    pub epochs: usize,
    /// Seed of the model and of the clustering.
    pub seed: u64,
}

impl Default for FingerprintOptions {
    /// 2,000 training customers, 2 epochs, seed 7.
    fn default() -> Self {
        FingerprintOptions {
            train_customers: 2_000,
            epochs: 2,
            seed: 7,
        }
    }
}

/// What a fingerprint clustering run did.
#[derive(Debug, Clone, Serialize)]
pub struct FingerprintRun {
    /// Customers the transformer was trained on.
    pub train_customers: usize,
    /// Loss of the last training epoch.
    pub final_loss: f32,
    /// Masked-event accuracy at the end of training.
    pub masked_kind_accuracy: f32,
    /// Clusters found (noise excluded).
    pub clusters: usize,
    /// Share of customers labelled noise, in [0, 1].
    pub noise_share: f64,
}

/// Behavioural fingerprints of the customers of [`calibration_customers`]
/// (their purchases up to `calibration_end` as order events), trained,
/// embedded and clustered (PCA + HDBSCAN); returns each customer's cluster
/// (None = noise) in that order, for [`segment_quality`].
///
/// # Errors
/// [`EvaluationError::Fingerprint`] or [`EvaluationError::Cluster`].
pub fn fingerprint_clusters(
    purchases: &[Purchase],
    config: &HoldoutConfig,
    options: &FingerprintOptions,
    progress: &mut dyn FnMut(crate::fingerprint::TrainProgress),
) -> Result<(Vec<Option<usize>>, FingerprintRun), EvaluationError> {
    use crate::fingerprint::{EventKind, FingerprintConfig, SeqEvent, TrainConfig};
    let ids = calibration_customers(purchases, config.calibration_end);
    let index: BTreeMap<u32, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let day = |d: NaiveDate| unix_day(d) as f64 / 86_400.0;
    let mut seqs: Vec<Vec<SeqEvent>> = vec![Vec::new(); ids.len()];
    for p in purchases {
        if p.date <= config.calibration_end
            && let Some(i) = index.get(&p.customer)
        {
            seqs[*i].push(SeqEvent {
                kind: EventKind::Order as u16,
                amount: p.amount as f32,
                quantity: p.quantity as f32,
                at: day(p.date),
            });
        }
    }
    for s in &mut seqs {
        s.sort_by(|a, b| a.at.total_cmp(&b.at));
    }
    let as_of = day(config.calibration_end);
    let step = (ids.len() / options.train_customers.max(1)).max(1);
    let train_set: Vec<&[SeqEvent]> = seqs.iter().step_by(step).map(Vec::as_slice).collect();
    let (model, metrics) = crate::fingerprint::train(
        FingerprintConfig::default(),
        &TrainConfig {
            epochs: options.epochs,
            seed: options.seed,
            ..TrainConfig::default()
        },
        &train_set,
        as_of,
        progress,
    )?;
    let all: Vec<&[SeqEvent]> = seqs.iter().map(Vec::as_slice).collect();
    let prints = model.embed(&all, as_of, 256)?;
    // Segments a marketer can act on: a cluster holds at least 2% of the
    // points HDBSCAN sees (at least the default 50).
    let defaults = crate::cluster::ClusterConfig::default();
    let min_cluster_size =
        (ids.len().min(defaults.max_hdbscan_points) / 50).max(defaults.min_cluster_size);
    let clustering = crate::cluster::cluster(
        &prints.data,
        prints.dim,
        &crate::cluster::ClusterConfig {
            seed: options.seed,
            min_cluster_size,
            ..defaults
        },
    )?;
    let noise = clustering.labels.iter().filter(|l| l.is_none()).count();
    let run = FingerprintRun {
        train_customers: train_set.len(),
        final_loss: metrics.epoch_losses.last().copied().unwrap_or(f32::NAN),
        masked_kind_accuracy: metrics.masked_kind_accuracy,
        clusters: clustering.clusters.len(),
        noise_share: noise as f64 / ids.len().max(1) as f64,
    };
    Ok((clustering.labels, run))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_is_linear_between_known_points() {
        let grid = [7.0, 14.0];
        let values = [0.9, 0.8, 0.5];
        assert!((interpolate(&grid, 21.0, &values, 0.0) - 1.0).abs() < 1e-12);
        assert!((interpolate(&grid, 21.0, &values, 3.5) - 0.95).abs() < 1e-12);
        assert!((interpolate(&grid, 21.0, &values, 17.5) - 0.65).abs() < 1e-12);
        assert!((interpolate(&grid, 21.0, &values, 30.0) - 0.5).abs() < 1e-12);
    }

    fn scores(auc: f64, concordance: f64, ibs: f64) -> ModelScores {
        ModelScores {
            predicted_transactions: None,
            mae: None,
            auc,
            concordance,
            ibs,
        }
    }

    #[test]
    fn the_served_model_wins_most_metrics() {
        let mut m = BTreeMap::new();
        m.insert("a".to_owned(), scores(0.80, 0.70, 0.10));
        m.insert("b".to_owned(), scores(0.79, 0.75, 0.09));
        let (served, reason) = choose_served(&m);
        assert_eq!(served, "b");
        assert!(reason.contains("wins 2 of 3"), "{reason}");
        m.insert("c".to_owned(), scores(0.81, 0.76, 0.08));
        assert_eq!(choose_served(&m).0, "c");
    }
}
