//! A DeepHit-style discrete-time survival network (Lee, Zame, Yoon & van der
//! Schaar 2018, single risk), trained with candle on the CPU.
//!
//! # Model
//! Time from the as-of date is measured in days and cut into `K` bins of
//! `w` days (`K = num_bins`, `w = bin_width_days`): bin `j` (0-based) holds
//! the times `T` in `(j w, (j + 1) w]`, and a final bin `K` holds
//! `T > K w` ("beyond the horizon"). A multilayer perceptron (ReLU hidden
//! layers with dropout) over standardized features ends in a softmax over the
//! `K + 1` bins: `p_i(j) = P(T_i in bin j)`. The cumulative incidence is
//! `F_i(k) = sum_{j <= k} p_i(j)` and the survival at a bin edge is
//! `S_i(m w) = 1 - F_i(m - 1) = sum_{j >= m} p_i(j)`; between edges it is
//! interpolated linearly (the event time taken uniform inside its bin), so
//! [`SurvivalCurve::survival_at`] is continuous, non-increasing and in
//! `[0, 1]` by construction.
//!
//! # Loss
//! For a mini-batch of `B` observations:
//! - likelihood term: an event at day `d` falls in bin `k = ceil(d / w) - 1`
//!   (clamped to `[0, K]`) and contributes `-log p(k)`; a censoring at day `d`
//!   says `T > d`; with `m = floor(d / w)` whole bins elapsed (clamped to
//!   `K`) it contributes `-log S(m w) = -log(1 - F(m - 1))`, the probability
//!   of surviving those whole bins (nothing when `m = 0`). Summed and divided
//!   by `B`.
//! - ranking term (DeepHit's L2, single risk): over the pairs (i, j) of the
//!   batch with `i` an observed event inside the horizon and `d_i < d_j`,
//!   the mean of `exp(-(F_i(k_i) - F_j(k_i)) / sigma)`.
//!
//! `loss = likelihood + beta * ranking`. Features are standardized with the
//! mean and standard deviation of all training rows. Training uses Adam
//! (candle's AdamW with the configured weight decay; 0 gives plain Adam),
//! shuffled mini-batches, dropout masks drawn from a seeded ChaCha8
//! generator, and early stopping on a seeded validation split: the weights
//! of the epoch with the lowest validation loss are kept. Optionally `M`
//! networks are trained with seeds `seed..seed + M` and their bin
//! probabilities averaged (an ensemble; still a distribution, so `S` stays
//! monotone). The same data, configuration and seed give bit-identical
//! weights.
//!
//! For churn, the event is the customer's next purchase measured from the
//! as-of date, so `S(h)` is the probability of no purchase within `h` days:
//! the churn probability at horizon `h`.

use std::collections::HashMap;

use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Errors of the survival network.
#[derive(Debug, thiserror::Error)]
pub enum SurvivalError {
    /// A configuration field is out of its range.
    #[error("invalid config field {field}: {reason}")]
    InvalidConfig {
        /// The offending field of [`DeepHitConfig`].
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Parallel inputs have different lengths.
    #[error("{what} has length {got}, expected {expected}")]
    LengthMismatch {
        /// The input with the wrong length.
        what: &'static str,
        /// The length required.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// A feature row has the wrong number of columns.
    #[error("feature row {row} has {got} columns, expected {expected}")]
    FeatureCount {
        /// Index of the row (customer).
        row: usize,
        /// Number of features the model expects.
        expected: usize,
        /// Number given.
        got: usize,
    },
    /// A feature or duration is NaN/infinite, or a duration is negative.
    #[error("{what} at row {row}, column {column} is invalid: {value}")]
    InvalidValue {
        /// `"features"` or `"durations_days"`.
        what: &'static str,
        /// Row (customer) index.
        row: usize,
        /// Column index (0 for durations).
        column: usize,
        /// The value.
        value: f64,
    },
    /// Too few observations to split off a validation set and train.
    #[error("need at least {needed} observations to train, got {got}")]
    TooFewObservations {
        /// The minimum.
        needed: usize,
        /// The number given.
        got: usize,
    },
    /// Saved weights are missing a tensor or have the wrong shape.
    #[error("saved weights: tensor {name}: {reason}")]
    BadWeights {
        /// The tensor name (`layer{i}.weight` / `layer{i}.bias`).
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// An error of the tensor library (candle) or of safetensors.
    #[error("tensor library: {message}")]
    Tensor {
        /// The underlying message.
        message: String,
    },
}

impl From<candle_core::Error> for SurvivalError {
    fn from(e: candle_core::Error) -> Self {
        Self::Tensor {
            message: e.to_string(),
        }
    }
}

/// Hyper-parameters of [`DeepHit`]. All times are in days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeepHitConfig {
    /// Width `w` of a time bin in days; `> 0`. Default 7 (weekly).
    pub bin_width_days: f64,
    /// Number `K >= 1` of bins inside the horizon; the horizon is
    /// `K * bin_width_days` days and one more bin holds "beyond". Default 26
    /// (26 weeks, covering the 30/60/90-day churn horizons).
    pub num_bins: usize,
    /// Sizes of the hidden layers (each ReLU + dropout); may be empty
    /// (a linear softmax model). Default `[32, 32]`.
    pub hidden: Vec<usize>,
    /// Dropout probability after each hidden layer, in `[0, 1)`. Default 0.1.
    pub dropout: f64,
    /// Weight `beta >= 0` of the ranking loss. Default 1. (On the CDNOW
    /// holdout, sigma 1 kept the discrimination of sigma 0.1 with a better
    /// integrated Brier score.)
    pub ranking_weight: f64,
    /// Scale `sigma > 0` of the ranking loss `exp(-diff / sigma)`. Default 1.
    pub ranking_sigma: f64,
    /// Adam learning rate, `> 0`. Default 2e-3.
    pub learning_rate: f64,
    /// Decoupled weight decay (AdamW), `>= 0`. Default 1e-4.
    pub weight_decay: f64,
    /// Mini-batch size, `>= 2`. Default 256.
    pub batch_size: usize,
    /// Maximum number of epochs, `>= 1`. Default 50.
    pub max_epochs: usize,
    /// Early stopping: stop after this many epochs without a lower
    /// validation loss, `>= 1`. Default 5.
    pub patience: usize,
    /// Fraction of the observations held out for validation, in `(0, 1)`.
    /// Default 0.2.
    pub validation_fraction: f64,
    /// Seed of the weight initialization, the split, the batch order and the
    /// dropout masks. Default 42.
    pub seed: u64,
    /// Worker threads for the tensor library, `>= 1`. Default 1: the
    /// matrices here are small, and more threads mostly cost synchronization
    /// (on a busy 2-core machine, 15x slower than one thread). The weights
    /// do not depend on it (checked by a test for 1 and 2 threads).
    #[serde(default = "one")]
    pub threads: usize,
    /// Number `M >= 1` of networks trained (member `m` with seed
    /// `seed + m`: its own initialization, validation split, batch order and
    /// dropout); predictions average their bin probabilities, which lowers
    /// the variance of the estimate. Default 3.
    #[serde(default = "one")]
    pub ensemble_size: usize,
}

fn one() -> usize {
    1
}

impl Default for DeepHitConfig {
    fn default() -> Self {
        Self {
            bin_width_days: 7.0,
            num_bins: 26,
            hidden: vec![32, 32],
            dropout: 0.1,
            ranking_weight: 1.0,
            ranking_sigma: 1.0,
            learning_rate: 2e-3,
            weight_decay: 1e-4,
            batch_size: 256,
            max_epochs: 50,
            patience: 5,
            validation_fraction: 0.2,
            seed: 42,
            threads: 1,
            ensemble_size: 3,
        }
    }
}

impl DeepHitConfig {
    /// Checks every field's range.
    ///
    /// # Errors
    /// [`SurvivalError::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<(), SurvivalError> {
        let bad = |field: &'static str, reason: &str| {
            Err(SurvivalError::InvalidConfig {
                field,
                reason: reason.to_string(),
            })
        };
        if !(self.bin_width_days.is_finite() && self.bin_width_days > 0.0) {
            return bad("bin_width_days", "must be a positive number of days");
        }
        if self.num_bins == 0 {
            return bad("num_bins", "must be at least 1");
        }
        if self.hidden.contains(&0) {
            return bad("hidden", "layer sizes must be at least 1");
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", "must be in [0, 1)");
        }
        if !(self.ranking_weight.is_finite() && self.ranking_weight >= 0.0) {
            return bad("ranking_weight", "must be >= 0");
        }
        if !(self.ranking_sigma.is_finite() && self.ranking_sigma > 0.0) {
            return bad("ranking_sigma", "must be > 0");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning_rate", "must be > 0");
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad("weight_decay", "must be >= 0");
        }
        if self.batch_size < 2 {
            return bad("batch_size", "must be at least 2");
        }
        if self.max_epochs == 0 {
            return bad("max_epochs", "must be at least 1");
        }
        if self.patience == 0 {
            return bad("patience", "must be at least 1");
        }
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 1.0) {
            return bad("validation_fraction", "must be in (0, 1)");
        }
        if self.threads == 0 {
            return bad("threads", "must be at least 1");
        }
        if self.ensemble_size == 0 {
            return bad("ensemble_size", "must be at least 1");
        }
        Ok(())
    }

    /// The horizon `K * w` in days.
    pub fn horizon_days(&self) -> f64 {
        self.num_bins as f64 * self.bin_width_days
    }

    /// The bin of an event observed at `days`: `ceil(days / w) - 1`, clamped
    /// to `[0, K]` (`K` = beyond the horizon).
    pub fn event_bin(&self, days: f64) -> usize {
        let k = (days / self.bin_width_days).ceil() - 1.0;
        if k <= 0.0 {
            0
        } else {
            (k as usize).min(self.num_bins)
        }
    }

    /// The number `m` of whole bins survived by an observation censored at
    /// `days`: `floor(days / w)`, clamped to `[0, K]`; its likelihood term is
    /// `S(m w)`.
    pub fn bins_survived(&self, days: f64) -> usize {
        let m = (days / self.bin_width_days).floor();
        if m <= 0.0 {
            0
        } else {
            (m as usize).min(self.num_bins)
        }
    }
}

/// Progress of one training epoch, passed to the progress callback.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochProgress {
    /// 0-based ensemble member being trained (see
    /// [`DeepHitConfig::ensemble_size`]).
    pub member: usize,
    /// 1-based epoch number within that member's training.
    pub epoch: usize,
    /// Mean training loss over the epoch's mini-batches.
    pub train_loss: f64,
    /// Loss on the validation split (no dropout), averaged over its batches.
    pub validation_loss: f64,
}

/// Summary of a training run: one [`MemberReport`] per ensemble member.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    /// The members' reports, in order.
    pub members: Vec<MemberReport>,
}

/// Summary of the training of one ensemble member.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberReport {
    /// Every epoch run, in order.
    pub history: Vec<EpochProgress>,
    /// The epoch (1-based) whose weights were kept (lowest validation loss).
    pub best_epoch: usize,
    /// Its validation loss.
    pub best_validation_loss: f64,
    /// Observations used for training (the rest validated).
    pub train_size: usize,
    /// Observations in the validation split.
    pub validation_size: usize,
}

/// A predicted discrete-time event distribution for one customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurvivalCurve {
    /// Bin width `w` in days.
    pub bin_width_days: f64,
    /// `probabilities[j]` = P(T in bin j), `j = 0..=K`; the last entry is
    /// P(T beyond the horizon). Non-negative, sums to 1.
    pub probabilities: Vec<f64>,
}

impl SurvivalCurve {
    /// `S(t) = P(T > t)` at `t` days: `1 - F` at bin edges, linear inside a
    /// bin; 1 for `t <= 0`. Beyond the horizon `K w` the model has no
    /// resolution and this returns `P(T > K w)` (an upper bound of the true
    /// value). Non-increasing in `t`, in `[0, 1]`.
    pub fn survival_at(&self, t_days: f64) -> f64 {
        if t_days.is_nan() || t_days <= 0.0 {
            return 1.0;
        }
        let k = self.probabilities.len() - 1;
        let pos = t_days / self.bin_width_days;
        let mut s = 1.0;
        for (j, p) in self.probabilities[..k].iter().enumerate() {
            let start = j as f64;
            if pos >= start + 1.0 {
                s -= p;
            } else {
                s -= p * (pos - start);
                break;
            }
        }
        s.clamp(0.0, 1.0)
    }

    /// Churn probability at `horizon_days`: P(no purchase within that many
    /// days) = `S(horizon_days)`.
    pub fn churn_probability(&self, horizon_days: f64) -> f64 {
        self.survival_at(horizon_days)
    }

    /// Churn probabilities at 30, 60 and 90 days.
    pub fn churn_30_60_90(&self) -> [f64; 3] {
        [30.0, 60.0, 90.0].map(|h| self.survival_at(h))
    }

    /// The restricted mean time to the event over the horizon, in days:
    /// `integral_0^{K w} S(t) dt` (exact for the piecewise-linear `S`:
    /// `sum_j w (S(j w) + S((j + 1) w)) / 2`), in `[0, K w]`. For churn, the
    /// expected number of the next `K w` days before the next purchase.
    pub fn restricted_mean_days(&self) -> f64 {
        let w = self.bin_width_days;
        let mut s = 1.0;
        let mut total = 0.0;
        for p in &self.probabilities[..self.probabilities.len() - 1] {
            let next = (s - p).max(0.0);
            total += w * (s + next) / 2.0;
            s = next;
        }
        total
    }
}

/// Training data: parallel inputs, one entry per customer.
#[derive(Debug, Clone, Copy)]
pub struct SurvivalData<'a> {
    /// Feature rows (raw; the model standardizes them), all of equal length.
    pub features: &'a [Vec<f64>],
    /// Days from the as-of date to the event or to censoring, `>= 0`.
    pub durations_days: &'a [f64],
    /// `true` when the event was observed at `durations_days[i]`.
    pub events: &'a [bool],
}

/// A trained DeepHit network (or ensemble of networks) with its feature
/// standardization.
#[derive(Debug, Clone)]
pub struct DeepHit {
    config: DeepHitConfig,
    means: Vec<f64>,
    stds: Vec<f64>,
    /// Per member: (weight `in x out`, bias `1 x out`) per layer.
    members: Vec<Vec<(Tensor, Tensor)>>,
}

/// A trained model as plain data for the model registry: the configuration,
/// the standardization, and the weights as safetensors bytes (tensors
/// `member{m}.layer{i}.weight` of shape `in x out` and
/// `member{m}.layer{i}.bias` of shape `1 x out`, f32).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedDeepHit {
    /// The hyper-parameters it was trained with.
    pub config: DeepHitConfig,
    /// Per-feature means subtracted before the network.
    pub feature_means: Vec<f64>,
    /// Per-feature standard deviations divided by (1 for constant features).
    pub feature_stds: Vec<f64>,
    /// safetensors serialization of the weights.
    pub weights: Vec<u8>,
}

fn validate_features(features: &[Vec<f64>], n_features: usize) -> Result<(), SurvivalError> {
    for (row, f) in features.iter().enumerate() {
        if f.len() != n_features {
            return Err(SurvivalError::FeatureCount {
                row,
                expected: n_features,
                got: f.len(),
            });
        }
        if let Some(column) = f.iter().position(|v| !v.is_finite()) {
            return Err(SurvivalError::InvalidValue {
                what: "features",
                row,
                column,
                value: f[column],
            });
        }
    }
    Ok(())
}

/// Rows per forward pass in [`DeepHit::predict`].
const PREDICT_CHUNK: usize = 1024;

/// Per-batch targets built on the host.
struct BatchTargets {
    /// One-hot of the event bin (events only), `B x (K+1)`.
    event_mask: Tensor,
    /// One-hot at column `m - 1` for censored rows with `m >= 1` bins
    /// survived, `B x K` (indexes the tail sums `S(m w)`).
    censor_mask: Tensor,
    /// Ranking terms, when the batch has an event inside the horizon.
    ranking: Option<RankTargets>,
}

/// The ranking loss only involves rows `i` with an event inside the
/// horizon, so its pair matrices are `E x B` (E such rows), not `B x B`.
/// (Keeping them small also keeps candle's element-wise kernels on the
/// calling thread: it fans tensors of 64 Ki elements or more out to a
/// spinning worker pool, which is slow on a busy machine.)
struct RankTargets {
    /// Batch positions of the event rows, `E`.
    rows: Tensor,
    /// One-hot of their event bins, `E x (K+1)`.
    onehot: Tensor,
    /// `R[e][j] = 1` when `d_{rows[e]} < d_j`, `E x B`.
    pair_mask: Tensor,
    /// Number of pairs (>= 1).
    pairs: f64,
}

struct Trainer<'a> {
    config: &'a DeepHitConfig,
    device: Device,
    /// `(K+1) x (K+1)`, `U[j][k] = 1 if j <= k`: `F = p U`.
    cumulative: Tensor,
    /// `(K+1) x K`, `L[j][m] = 1 if j > m`: tail `S((m+1) w) = p L`.
    tail: Tensor,
}

impl Trainer<'_> {
    fn targets(
        &self,
        rows: &[usize],
        durations: &[f64],
        events: &[bool],
    ) -> Result<BatchTargets, SurvivalError> {
        let k1 = self.config.num_bins + 1;
        let kk = self.config.num_bins;
        let b = rows.len();
        let mut event_mask = vec![0f32; b * k1];
        let mut censor_mask = vec![0f32; b * kk];
        let mut rank_rows = Vec::new();
        let mut onehot = Vec::new();
        let mut pair_mask = Vec::new();
        let mut pairs = 0usize;
        for (r, &i) in rows.iter().enumerate() {
            let d = durations[i];
            if events[i] {
                let k = self.config.event_bin(d);
                event_mask[r * k1 + k] = 1.0;
                if k < kk {
                    rank_rows.push(r as u32);
                    onehot.extend((0..k1).map(|c| if c == k { 1f32 } else { 0.0 }));
                    for &j in rows {
                        let later = d < durations[j];
                        pair_mask.push(if later { 1f32 } else { 0.0 });
                        pairs += usize::from(later);
                    }
                }
            } else {
                let m = self.config.bins_survived(d);
                if m >= 1 {
                    censor_mask[r * kk + m - 1] = 1.0;
                }
            }
        }
        let dev = &self.device;
        let e = rank_rows.len();
        let ranking = if e > 0 && pairs > 0 {
            Some(RankTargets {
                rows: Tensor::from_vec(rank_rows, e, dev)?,
                onehot: Tensor::from_vec(onehot, (e, k1), dev)?,
                pair_mask: Tensor::from_vec(pair_mask, (e, b), dev)?,
                pairs: pairs as f64,
            })
        } else {
            None
        };
        Ok(BatchTargets {
            event_mask: Tensor::from_vec(event_mask, (b, k1), dev)?,
            censor_mask: Tensor::from_vec(censor_mask, (b, kk), dev)?,
            ranking,
        })
    }

    fn loss(&self, logits: &Tensor, t: &BatchTargets) -> Result<Tensor, SurvivalError> {
        let b = logits.dim(0)? as f64;
        let log_p = candle_nn::ops::log_softmax(logits, D::Minus1)?;
        let p = log_p.exp()?;
        let ll_event = (&t.event_mask * &log_p)?.sum_all()?;
        let tail = p.matmul(&self.tail)?;
        let log_tail = (tail + 1e-7)?.log()?;
        let ll_cens = (&t.censor_mask * log_tail)?.sum_all()?;
        let nll = ((ll_event + ll_cens)? * (-1.0 / b))?;
        let Some(r) = t
            .ranking
            .as_ref()
            .filter(|_| self.config.ranking_weight > 0.0)
        else {
            return Ok(nll);
        };
        let f = p.matmul(&self.cumulative)?;
        // a[e][j] = F_j(k_e); own[e] = F_e(k_e).
        let a = r.onehot.matmul(&f.t()?)?;
        let own = (&r.onehot * f.index_select(&r.rows, 0)?)?.sum_keepdim(1)?;
        let diff = own.broadcast_sub(&a)?;
        let eta = (diff * (-1.0 / self.config.ranking_sigma))?.exp()?;
        let rank = ((&r.pair_mask * eta)?.sum_all()? * (1.0 / r.pairs))?;
        Ok((nll + (rank * self.config.ranking_weight)?)?)
    }
}

fn forward(
    layers: &[(Tensor, Tensor)],
    x: &Tensor,
    dropout: Option<(f64, &mut ChaCha8Rng)>,
) -> Result<Tensor, SurvivalError> {
    let mut h = x.clone();
    let last = layers.len() - 1;
    let mut dropout = dropout;
    for (l, (w, b)) in layers.iter().enumerate() {
        h = h.matmul(w)?.broadcast_add(b)?;
        if l < last {
            h = h.relu()?;
            if let Some((p, rng)) = dropout.as_mut()
                && *p > 0.0
            {
                let (rows, cols) = h.dims2()?;
                let keep = 1.0 - *p;
                let scale = (1.0 / keep) as f32;
                let mask: Vec<f32> = (0..rows * cols)
                    .map(|_| {
                        if rng.random::<f64>() < keep {
                            scale
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let mask = Tensor::from_vec(mask, (rows, cols), h.device())?;
                h = (h * mask)?;
            }
        }
    }
    Ok(h)
}

impl DeepHit {
    /// Trains a network (or `ensemble_size` networks) on `data` with
    /// `config`, calling `progress` after every epoch. Each member's
    /// validation split is `validation_fraction` of the observations chosen
    /// by its seed; the returned model holds, per member, the weights of the
    /// epoch with the lowest validation loss. Runs on the calling thread
    /// plus `config.threads - 1` helpers; call it from a blocking context.
    ///
    /// # Errors
    /// [`SurvivalError::InvalidConfig`], [`SurvivalError::LengthMismatch`],
    /// [`SurvivalError::FeatureCount`], [`SurvivalError::InvalidValue`]
    /// (non-finite feature, negative or non-finite duration),
    /// [`SurvivalError::TooFewObservations`] (fewer than 4), and
    /// [`SurvivalError::Tensor`] from candle.
    pub fn fit(
        config: &DeepHitConfig,
        data: SurvivalData<'_>,
        progress: &mut (dyn FnMut(&EpochProgress) + Send),
    ) -> Result<(Self, TrainReport), SurvivalError> {
        config.validate()?;
        thread_pool(config.threads)?.install(|| Self::fit_in_pool(config, data, progress))
    }

    fn fit_in_pool(
        config: &DeepHitConfig,
        data: SurvivalData<'_>,
        progress: &mut (dyn FnMut(&EpochProgress) + Send),
    ) -> Result<(Self, TrainReport), SurvivalError> {
        let n = data.features.len();
        if n < 4 {
            return Err(SurvivalError::TooFewObservations { needed: 4, got: n });
        }
        for (what, got) in [
            ("durations_days", data.durations_days.len()),
            ("events", data.events.len()),
        ] {
            if got != n {
                return Err(SurvivalError::LengthMismatch {
                    what,
                    expected: n,
                    got,
                });
            }
        }
        let n_features = data.features[0].len();
        validate_features(data.features, n_features)?;
        if let Some(row) = data
            .durations_days
            .iter()
            .position(|d| !d.is_finite() || *d < 0.0)
        {
            return Err(SurvivalError::InvalidValue {
                what: "durations_days",
                row,
                column: 0,
                value: data.durations_days[row],
            });
        }

        // Standardization over all rows (features only, no labels).
        let mut means = vec![0.0; n_features];
        let mut stds = vec![0.0; n_features];
        for row in data.features {
            for (m, v) in means.iter_mut().zip(row) {
                *m += v;
            }
        }
        let nf = n as f64;
        means.iter_mut().for_each(|m| *m /= nf);
        for row in data.features {
            for ((s, v), m) in stds.iter_mut().zip(row).zip(&means) {
                *s += (v - m) * (v - m);
            }
        }
        for s in &mut stds {
            *s = (*s / nf).sqrt();
            if *s < 1e-12 {
                *s = 1.0;
            }
        }

        let device = Device::Cpu;
        let x_all = standardize(data.features, &means, &stds, &device)?;
        let k1 = config.num_bins + 1;
        let kk = config.num_bins;
        let cumulative: Vec<f32> = (0..k1 * k1)
            .map(|e| if e / k1 <= e % k1 { 1.0 } else { 0.0 })
            .collect();
        let tail: Vec<f32> = (0..k1 * kk)
            .map(|e| if e / kk > e % kk { 1.0 } else { 0.0 })
            .collect();
        let trainer = Trainer {
            config,
            cumulative: Tensor::from_vec(cumulative, (k1, k1), &device)?,
            tail: Tensor::from_vec(tail, (k1, kk), &device)?,
            device: device.clone(),
        };
        let mut members = Vec::with_capacity(config.ensemble_size);
        let mut reports = Vec::with_capacity(config.ensemble_size);
        for member in 0..config.ensemble_size {
            let (layers, report) = train_member(&trainer, &x_all, data, member, progress)?;
            members.push(layers);
            reports.push(report);
        }
        Ok((
            Self {
                config: config.clone(),
                means,
                stds,
                members,
            },
            TrainReport { members: reports },
        ))
    }

    /// The configuration the model was trained with.
    pub fn config(&self) -> &DeepHitConfig {
        &self.config
    }

    /// Number of input features.
    pub fn num_features(&self) -> usize {
        self.means.len()
    }

    /// Predicted event distributions, one [`SurvivalCurve`] per feature row.
    ///
    /// # Errors
    /// [`SurvivalError::FeatureCount`] / [`SurvivalError::InvalidValue`] for a
    /// bad row, [`SurvivalError::Tensor`] from candle.
    pub fn predict(&self, features: &[Vec<f64>]) -> Result<Vec<SurvivalCurve>, SurvivalError> {
        thread_pool(self.config.threads)?.install(|| self.predict_in_pool(features))
    }

    fn predict_in_pool(&self, features: &[Vec<f64>]) -> Result<Vec<SurvivalCurve>, SurvivalError> {
        validate_features(features, self.means.len())?;
        if features.is_empty() {
            return Ok(Vec::new());
        }
        let device = Device::Cpu;
        let mut sum = vec![vec![0.0f64; self.config.num_bins + 1]; features.len()];
        // Chunks bound the memory and keep each tensor small (see
        // `RankTargets`).
        for (rows, acc_rows) in features
            .chunks(PREDICT_CHUNK)
            .zip(sum.chunks_mut(PREDICT_CHUNK))
        {
            let x = standardize(rows, &self.means, &self.stds, &device)?;
            for layers in &self.members {
                let logits = forward(layers, &x, None)?;
                let p = candle_nn::ops::softmax_last_dim(&logits)?.to_vec2::<f32>()?;
                for (acc, row) in acc_rows.iter_mut().zip(p) {
                    for (a, v) in acc.iter_mut().zip(row) {
                        *a += f64::from(v);
                    }
                }
            }
        }
        let m = self.members.len() as f64;
        Ok(sum
            .into_iter()
            .map(|row| SurvivalCurve {
                bin_width_days: self.config.bin_width_days,
                probabilities: row.into_iter().map(|v| v / m).collect(),
            })
            .collect())
    }

    /// The model as plain data for the registry (weights as safetensors).
    ///
    /// # Errors
    /// [`SurvivalError::Tensor`] when serialization fails.
    pub fn to_saved(&self) -> Result<SavedDeepHit, SurvivalError> {
        let mut tensors = Vec::new();
        for (m, layers) in self.members.iter().enumerate() {
            for (l, (w, b)) in layers.iter().enumerate() {
                tensors.push((format!("member{m}.layer{l}.weight"), w.clone()));
                tensors.push((format!("member{m}.layer{l}.bias"), b.clone()));
            }
        }
        let weights = safetensors::serialize(tensors, None).map_err(|e| SurvivalError::Tensor {
            message: e.to_string(),
        })?;
        Ok(SavedDeepHit {
            config: self.config.clone(),
            feature_means: self.means.clone(),
            feature_stds: self.stds.clone(),
            weights,
        })
    }

    /// Rebuilds a model saved by [`DeepHit::to_saved`].
    ///
    /// # Errors
    /// [`SurvivalError::InvalidConfig`] for a bad configuration,
    /// [`SurvivalError::LengthMismatch`] when means and stds differ in length,
    /// [`SurvivalError::BadWeights`] for a missing tensor or a wrong shape,
    /// [`SurvivalError::Tensor`] for unreadable safetensors bytes.
    pub fn from_saved(saved: &SavedDeepHit) -> Result<Self, SurvivalError> {
        saved.config.validate()?;
        if saved.feature_stds.len() != saved.feature_means.len() {
            return Err(SurvivalError::LengthMismatch {
                what: "feature_stds",
                expected: saved.feature_means.len(),
                got: saved.feature_stds.len(),
            });
        }
        let mut tensors: HashMap<String, Tensor> =
            candle_core::safetensors::load_buffer(&saved.weights, &Device::Cpu)?;
        let mut sizes = vec![saved.feature_means.len()];
        sizes.extend(&saved.config.hidden);
        sizes.push(saved.config.num_bins + 1);
        let mut members = Vec::new();
        for m in 0..saved.config.ensemble_size {
            let mut layers = Vec::new();
            for l in 0..sizes.len() - 1 {
                let mut take = |name: String, shape: (usize, usize)| {
                    let t = tensors
                        .remove(&name)
                        .ok_or_else(|| SurvivalError::BadWeights {
                            name: name.clone(),
                            reason: "missing".into(),
                        })?;
                    if t.dims() != [shape.0, shape.1] || t.dtype() != DType::F32 {
                        return Err(SurvivalError::BadWeights {
                            name,
                            reason: format!(
                                "expected f32 {shape:?}, found {:?} {:?}",
                                t.dtype(),
                                t.dims()
                            ),
                        });
                    }
                    Ok(t)
                };
                let w = take(
                    format!("member{m}.layer{l}.weight"),
                    (sizes[l], sizes[l + 1]),
                )?;
                let b = take(format!("member{m}.layer{l}.bias"), (1, sizes[l + 1]))?;
                layers.push((w, b));
            }
            members.push(layers);
        }
        Ok(Self {
            config: saved.config.clone(),
            means: saved.feature_means.clone(),
            stds: saved.feature_stds.clone(),
            members,
        })
    }
}

/// Trains ensemble member `member` (seed `config.seed + member`) and
/// returns the weights of its epoch with the lowest validation loss.
fn train_member(
    trainer: &Trainer<'_>,
    x_all: &Tensor,
    data: SurvivalData<'_>,
    member: usize,
    progress: &mut (dyn FnMut(&EpochProgress) + Send),
) -> Result<(Vec<(Tensor, Tensor)>, MemberReport), SurvivalError> {
    let config = trainer.config;
    let device = &trainer.device;
    let n = data.features.len();
    let n_features = x_all.dim(1)?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed.wrapping_add(member as u64));
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    let n_val = ((n as f64 * config.validation_fraction).round() as usize).clamp(1, n - 2);
    let (val_idx, train_idx) = order.split_at(n_val);
    let mut train_idx = train_idx.to_vec();
    let val_idx = val_idx.to_vec();

    // He-uniform initialization for ReLU layers, Glorot for the output.
    let mut sizes = vec![n_features];
    sizes.extend(&config.hidden);
    sizes.push(config.num_bins + 1);
    let mut vars = Vec::new();
    let mut layers = Vec::new();
    for l in 0..sizes.len() - 1 {
        let (fan_in, fan_out) = (sizes[l], sizes[l + 1]);
        let bound = if l + 2 == sizes.len() {
            (6.0 / (fan_in + fan_out) as f64).sqrt()
        } else {
            (6.0 / fan_in as f64).sqrt()
        };
        let w: Vec<f32> = (0..fan_in * fan_out)
            .map(|_| rng.random_range(-bound..bound) as f32)
            .collect();
        let w = Var::from_vec(w, (fan_in, fan_out), device)?;
        let b = Var::zeros((1, fan_out), DType::F32, device)?;
        layers.push((w.as_tensor().clone(), b.as_tensor().clone()));
        vars.push(w);
        vars.push(b);
    }
    let mut opt = AdamW::new(
        vars.clone(),
        ParamsAdamW {
            lr: config.learning_rate,
            weight_decay: config.weight_decay,
            ..ParamsAdamW::default()
        },
    )?;
    let snapshot = |vars: &[Var]| -> Result<Vec<(Tensor, Tensor)>, SurvivalError> {
        vars.chunks(2)
            .map(|c| Ok((c[0].as_tensor().copy()?, c[1].as_tensor().copy()?)))
            .collect()
    };
    let mut best = snapshot(&vars)?;
    let mut best_loss = f64::INFINITY;
    let mut best_epoch = 0;
    let mut history = Vec::new();
    for epoch in 1..=config.max_epochs {
        train_idx.shuffle(&mut rng);
        let mut total = 0.0;
        let mut batches = 0usize;
        for rows in train_idx.chunks(config.batch_size) {
            if rows.len() < 2 {
                continue;
            }
            let idx = Tensor::from_vec(
                rows.iter().map(|r| *r as u32).collect::<Vec<_>>(),
                rows.len(),
                device,
            )?;
            let x = x_all.index_select(&idx, 0)?;
            let targets = trainer.targets(rows, data.durations_days, data.events)?;
            let logits = forward(&layers, &x, Some((config.dropout, &mut rng)))?;
            let loss = trainer.loss(&logits, &targets)?;
            opt.backward_step(&loss)?;
            total += f64::from(loss.to_scalar::<f32>()?);
            batches += 1;
        }
        let train_loss = total / batches.max(1) as f64;
        let validation_loss =
            evaluate_loss(trainer, &layers, x_all, &val_idx, data, config.batch_size)?;
        let p = EpochProgress {
            member,
            epoch,
            train_loss,
            validation_loss,
        };
        progress(&p);
        history.push(p);
        if validation_loss < best_loss {
            best_loss = validation_loss;
            best_epoch = epoch;
            best = snapshot(&vars)?;
        } else if epoch - best_epoch >= config.patience {
            break;
        }
    }
    let report = MemberReport {
        history,
        best_epoch,
        best_validation_loss: best_loss,
        train_size: train_idx.len(),
        validation_size: val_idx.len(),
    };
    Ok((best, report))
}

/// A dedicated rayon pool: candle's CPU kernels and its matrix products run
/// in the pool they are called from.
fn thread_pool(threads: usize) -> Result<rayon::ThreadPool, SurvivalError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| SurvivalError::Tensor {
            message: format!("thread pool: {e}"),
        })
}

fn standardize(
    features: &[Vec<f64>],
    means: &[f64],
    stds: &[f64],
    device: &Device,
) -> Result<Tensor, SurvivalError> {
    let n_features = means.len();
    let mut flat = Vec::with_capacity(features.len() * n_features);
    for row in features {
        for ((v, m), s) in row.iter().zip(means).zip(stds) {
            flat.push(((v - m) / s) as f32);
        }
    }
    Ok(Tensor::from_vec(
        flat,
        (features.len(), n_features),
        device,
    )?)
}

fn evaluate_loss(
    trainer: &Trainer<'_>,
    layers: &[(Tensor, Tensor)],
    x_all: &Tensor,
    rows: &[usize],
    data: SurvivalData<'_>,
    batch_size: usize,
) -> Result<f64, SurvivalError> {
    let mut total = 0.0;
    let mut weight = 0.0;
    for chunk in rows.chunks(batch_size) {
        let idx = Tensor::from_vec(
            chunk.iter().map(|r| *r as u32).collect::<Vec<_>>(),
            chunk.len(),
            x_all.device(),
        )?;
        let x = x_all.index_select(&idx, 0)?;
        let targets = trainer.targets(chunk, data.durations_days, data.events)?;
        let logits = forward(layers, &x, None)?;
        let loss = trainer.loss(&logits, &targets)?;
        total += f64::from(loss.to_scalar::<f32>()?) * chunk.len() as f64;
        weight += chunk.len() as f64;
    }
    Ok(total / weight.max(1.0))
}

/// A seeded synthetic churn data set with known truth, for tests and
/// benchmarks: `n` customers with features `x = (x0, x1, x2)` uniform in
/// `[-1, 1]` (x2 is pure noise) and an exponential time to next purchase
/// with rate `lambda = exp(-3.5 + 1.2 x0 - 0.8 x1)` per day (mean about 33
/// days at x = 0); administratively censored at `censor_days`.
/// Returns `(features, durations_days, events, lambdas)`.
pub fn synthetic_exponential(
    n: usize,
    censor_days: f64,
    seed: u64,
) -> (Vec<Vec<f64>>, Vec<f64>, Vec<bool>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut features = Vec::with_capacity(n);
    let mut durations = Vec::with_capacity(n);
    let mut events = Vec::with_capacity(n);
    let mut lambdas = Vec::with_capacity(n);
    for _ in 0..n {
        let x: Vec<f64> = (0..3).map(|_| rng.random_range(-1.0..1.0)).collect();
        let lambda = (-3.5 + 1.2 * x[0] - 0.8 * x[1]).exp();
        let u: f64 = rng.random();
        let t = -(1.0 - u).ln() / lambda;
        if t <= censor_days {
            durations.push(t);
            events.push(true);
        } else {
            durations.push(censor_days);
            events.push(false);
        }
        features.push(x);
        lambdas.push(lambda);
    }
    (features, durations, events, lambdas)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn curve(p: &[f64]) -> SurvivalCurve {
        SurvivalCurve {
            bin_width_days: 7.0,
            probabilities: p.to_vec(),
        }
    }

    #[test]
    fn bins_follow_the_documented_edges() {
        let c = DeepHitConfig {
            num_bins: 3,
            ..DeepHitConfig::default()
        };
        // Bin j holds (7j, 7(j+1)]; beyond 21 days is bin 3.
        assert_eq!(c.event_bin(0.0), 0);
        assert_eq!(c.event_bin(7.0), 0);
        assert_eq!(c.event_bin(7.5), 1);
        assert_eq!(c.event_bin(21.0), 2);
        assert_eq!(c.event_bin(21.5), 3);
        assert_eq!(c.event_bin(500.0), 3);
        assert_eq!(c.bins_survived(6.9), 0);
        assert_eq!(c.bins_survived(14.0), 2);
        assert_eq!(c.bins_survived(100.0), 3);
        assert_eq!(c.horizon_days(), 21.0);
    }

    #[test]
    fn curve_is_one_minus_cumulative_incidence_with_linear_interpolation() {
        let s = curve(&[0.1, 0.2, 0.3, 0.4]);
        assert_eq!(s.survival_at(0.0), 1.0);
        assert!((s.survival_at(7.0) - 0.9).abs() < 1e-12);
        assert!((s.survival_at(14.0) - 0.7).abs() < 1e-12);
        assert!((s.survival_at(17.5) - 0.55).abs() < 1e-12);
        assert!((s.survival_at(21.0) - 0.4).abs() < 1e-12);
        // Beyond the horizon: P(T > horizon).
        assert!((s.survival_at(90.0) - 0.4).abs() < 1e-12);
        // Trapezoids over S = 1, 0.9, 0.7, 0.4 at 0, 7, 14, 21 days.
        let rmst = 7.0 * (1.9 + 1.6 + 1.1) / 2.0;
        assert!((s.restricted_mean_days() - rmst).abs() < 1e-12);
        let monthly = SurvivalCurve {
            bin_width_days: 30.0,
            probabilities: vec![0.1, 0.2, 0.3, 0.4],
        };
        let churn = monthly.churn_30_60_90();
        for (got, want) in churn.iter().zip([0.9, 0.7, 0.4]) {
            assert!((got - want).abs() < 1e-12);
        }
        let mut prev = 1.0;
        for t in 0..200 {
            let v = s.survival_at(t as f64 * 0.37);
            assert!(v <= prev + 1e-15 && (0.0..=1.0).contains(&v));
            prev = v;
        }
    }

    #[test]
    fn config_validation_names_the_field() {
        let bad = DeepHitConfig {
            dropout: 1.0,
            ..DeepHitConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(SurvivalError::InvalidConfig {
                field: "dropout",
                ..
            })
        ));
        let bad = DeepHitConfig {
            bin_width_days: 0.0,
            ..DeepHitConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(SurvivalError::InvalidConfig {
                field: "bin_width_days",
                ..
            })
        ));
        assert!(DeepHitConfig::default().validate().is_ok());
    }

    #[test]
    fn loss_matches_hand_computation() {
        let config = DeepHitConfig {
            num_bins: 2,
            ranking_weight: 0.5,
            ranking_sigma: 0.1,
            ..DeepHitConfig::default()
        };
        let device = Device::Cpu;
        let k1 = 3;
        let kk = 2;
        let cumulative: Vec<f32> = (0..k1 * k1)
            .map(|e| if e / k1 <= e % k1 { 1.0 } else { 0.0 })
            .collect();
        let tail: Vec<f32> = (0..k1 * kk)
            .map(|e| if e / kk > e % kk { 1.0 } else { 0.0 })
            .collect();
        let trainer = Trainer {
            config: &config,
            cumulative: Tensor::from_vec(cumulative, (k1, k1), &device).unwrap(),
            tail: Tensor::from_vec(tail, (k1, kk), &device).unwrap(),
            device: device.clone(),
        };
        let logits = [[0.5f64, 0.1, -0.3], [-0.2, 0.7, 0.0], [0.0, 0.3, 0.9]];
        let durations = [3.0, 10.0, 15.0];
        let events = [true, true, false];
        let t = trainer.targets(&[0, 1, 2], &durations, &events).unwrap();
        let flat: Vec<f32> = logits.iter().flatten().map(|v| *v as f32).collect();
        let lt = Tensor::from_vec(flat, (3, 3), &device).unwrap();
        let got = f64::from(trainer.loss(&lt, &t).unwrap().to_scalar::<f32>().unwrap());

        let p: Vec<Vec<f64>> = logits
            .iter()
            .map(|row| {
                let z: f64 = row.iter().map(|v| v.exp()).sum();
                row.iter().map(|v| v.exp() / z).collect()
            })
            .collect();
        // Event at 3 days: bin 0; event at 10 days: bin 1; censored at 15
        // days: 2 whole bins survived -> S(14) = p_2(2).
        let nll = -(p[0][0].ln() + p[1][1].ln() + (p[2][2] + 1e-7).ln()) / 3.0;
        let f = |i: usize, k: usize| -> f64 { p[i][..=k].iter().sum() };
        // Pairs: (0,1), (0,2) at k=0; (1,2) at k=1.
        let eta = |i: usize, j: usize, k: usize| (-(f(i, k) - f(j, k)) / 0.1).exp();
        let rank = (eta(0, 1, 0) + eta(0, 2, 0) + eta(1, 2, 1)) / 3.0;
        let want = nll + 0.5 * rank;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }

    fn small_config(seed: u64) -> DeepHitConfig {
        DeepHitConfig {
            ensemble_size: 1,
            num_bins: 13,
            hidden: vec![16],
            max_epochs: 15,
            batch_size: 128,
            learning_rate: 3e-3,
            seed,
            ..DeepHitConfig::default()
        }
    }

    #[test]
    fn training_is_deterministic_for_a_seed() {
        let (x, d, e, _) = synthetic_exponential(500, 91.0, 7);
        let data = SurvivalData {
            features: &x,
            durations_days: &d,
            events: &e,
        };
        let config = |seed| DeepHitConfig {
            max_epochs: 3,
            ..small_config(seed)
        };
        let mut epochs = Vec::new();
        let (model, report) =
            DeepHit::fit(&config(1), data, &mut |p| epochs.push(p.epoch)).unwrap();
        assert_eq!(epochs, vec![1, 2, 3]);
        assert_eq!(report.members[0].history.len(), 3);
        assert_eq!(
            report.members[0].train_size + report.members[0].validation_size,
            500
        );
        let (again, _) = DeepHit::fit(&config(1), data, &mut |_| {}).unwrap();
        let a = model.to_saved().unwrap();
        assert_eq!(a, again.to_saved().unwrap());
        let (other, _) = DeepHit::fit(&config(2), data, &mut |_| {}).unwrap();
        assert_ne!(a.weights, other.to_saved().unwrap().weights);
        let two_threads = DeepHitConfig {
            threads: 2,
            ..config(1)
        };
        let (parallel, _) = DeepHit::fit(&two_threads, data, &mut |_| {}).unwrap();
        assert_eq!(a.weights, parallel.to_saved().unwrap().weights);
    }

    #[test]
    fn training_recovers_the_risk_order_and_calibration() {
        let (x, d, e, _) = synthetic_exponential(3000, 91.0, 7);
        let data = SurvivalData {
            features: &x,
            durations_days: &d,
            events: &e,
        };
        let config = DeepHitConfig {
            max_epochs: 60,
            patience: 10,
            ..small_config(1)
        };
        let (model, report) = DeepHit::fit(&config, data, &mut |_| {}).unwrap();
        let r = &report.members[0];
        assert!(r.best_validation_loss < r.history[0].validation_loss);

        // Fresh customers: the predicted churn ordering follows the true rate.
        let (xt, _, _, lt) = synthetic_exponential(400, 91.0, 8);
        let curves = model.predict(&xt).unwrap();
        let s30: Vec<f64> = curves.iter().map(|c| c.churn_probability(30.0)).collect();
        // Higher true rate = earlier purchase = lower churn: the AUC of
        // "rate above the median" scored by 1 - S(30) must be high.
        let mut sorted = lt.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        let labels: Vec<bool> = lt.iter().map(|l| *l > median).collect();
        let score: Vec<f64> = s30.iter().map(|s| 1.0 - s).collect();
        let auc = crate::metrics::roc_auc(&score, &labels).unwrap();
        assert!(auc > 0.9, "auc {auc}");
        // Calibration: the mean predicted S(30) is close to the true mean
        // exp(-lambda * 30), and so for S(60).
        for h in [30.0, 60.0] {
            let truth: f64 = lt.iter().map(|l| (-l * h).exp()).sum::<f64>() / lt.len() as f64;
            let pred: f64 =
                curves.iter().map(|c| c.survival_at(h)).sum::<f64>() / curves.len() as f64;
            assert!((truth - pred).abs() < 0.03, "h={h}: {truth} vs {pred}");
        }
    }

    #[test]
    fn an_ensemble_averages_its_members() {
        let (x, d, e, _) = synthetic_exponential(400, 91.0, 4);
        let data = SurvivalData {
            features: &x,
            durations_days: &d,
            events: &e,
        };
        let single = |seed| DeepHitConfig {
            max_epochs: 2,
            ..small_config(seed)
        };
        let pair = DeepHitConfig {
            ensemble_size: 2,
            ..single(10)
        };
        let mut seen = Vec::new();
        let (ens, report) = DeepHit::fit(&pair, data, &mut |p| seen.push(p.member)).unwrap();
        assert_eq!(seen, vec![0, 0, 1, 1]);
        assert_eq!(report.members.len(), 2);
        let (a, _) = DeepHit::fit(&single(10), data, &mut |_| {}).unwrap();
        let (b, _) = DeepHit::fit(&single(11), data, &mut |_| {}).unwrap();
        let (pe, pa, pb) = (
            ens.predict(&x[..10]).unwrap(),
            a.predict(&x[..10]).unwrap(),
            b.predict(&x[..10]).unwrap(),
        );
        for i in 0..10 {
            for j in 0..pe[i].probabilities.len() {
                let mean = (pa[i].probabilities[j] + pb[i].probabilities[j]) / 2.0;
                assert!((pe[i].probabilities[j] - mean).abs() < 1e-9);
            }
        }
        let loaded = DeepHit::from_saved(&ens.to_saved().unwrap()).unwrap();
        assert_eq!(loaded.predict(&x[..10]).unwrap(), pe);
    }

    #[test]
    fn all_censored_data_trains_and_predicts_no_event() {
        // Nobody bought within 91 days: no ranking pairs, only censoring
        // terms; the model must learn a high S(91).
        let (x, _, _, _) = synthetic_exponential(300, 91.0, 9);
        let d = vec![91.0; 300];
        let e = vec![false; 300];
        let data = SurvivalData {
            features: &x,
            durations_days: &d,
            events: &e,
        };
        let config = DeepHitConfig {
            max_epochs: 100,
            patience: 100,
            learning_rate: 1e-2,
            ..small_config(3)
        };
        let (model, report) = DeepHit::fit(&config, data, &mut |_| {}).unwrap();
        let h = &report.members[0].history;
        assert!(h[h.len() - 1].validation_loss < h[0].validation_loss);
        for c in model.predict(&x[..20]).unwrap() {
            assert!(c.survival_at(91.0) > 0.8, "{}", c.survival_at(91.0));
        }
        let short = SurvivalData {
            features: &x[..3],
            durations_days: &d[..3],
            events: &e[..3],
        };
        assert!(matches!(
            DeepHit::fit(&small_config(3), short, &mut |_| {}),
            Err(SurvivalError::TooFewObservations { needed: 4, got: 3 })
        ));
        let bad = SurvivalData {
            durations_days: &[-1.0; 300],
            ..data
        };
        assert!(matches!(
            DeepHit::fit(&small_config(3), bad, &mut |_| {}),
            Err(SurvivalError::InvalidValue {
                what: "durations_days",
                row: 0,
                ..
            })
        ));
    }

    #[test]
    fn saved_model_round_trips() {
        let (x, d, e, _) = synthetic_exponential(300, 91.0, 3);
        let config = DeepHitConfig {
            max_epochs: 2,
            ..small_config(5)
        };
        let data = SurvivalData {
            features: &x,
            durations_days: &d,
            events: &e,
        };
        let (model, _) = DeepHit::fit(&config, data, &mut |_| {}).unwrap();
        let saved = model.to_saved().unwrap();
        let loaded = DeepHit::from_saved(&saved).unwrap();
        assert_eq!(
            model.predict(&x[..20]).unwrap(),
            loaded.predict(&x[..20]).unwrap()
        );
        for c in model.predict(&x[..20]).unwrap() {
            let total: f64 = c.probabilities.iter().sum();
            assert!((total - 1.0).abs() < 1e-5);
        }
        let mut broken = saved.clone();
        broken.config.hidden = vec![17];
        assert!(matches!(
            DeepHit::from_saved(&broken),
            Err(SurvivalError::BadWeights { .. })
        ));
        assert!(matches!(
            model.predict(&[vec![1.0, 2.0]]),
            Err(SurvivalError::FeatureCount {
                row: 0,
                expected: 3,
                got: 2
            })
        ));
        assert!(matches!(
            model.predict(&[vec![1.0, f64::NAN, 0.0]]),
            Err(SurvivalError::InvalidValue { column: 1, .. })
        ));
    }
}
