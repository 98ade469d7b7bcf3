//! Behavioural fingerprints: a Temporal Behavioural Transformer (candle, CPU).
//!
//! Each customer is a time-ordered sequence of events ([`SeqEvent`]); the
//! model reads the last [`FingerprintConfig::max_len`] of them and returns a
//! [`FingerprintConfig::out_dim`]-dimensional, **L2-normalised** vector (unit
//! Euclidean norm, so cosine similarity is a dot product and Euclidean
//! distances lie in `[0, 2]`).
//!
//! # Tokens
//! Sequence layout: `[CLS, e_1, ..., e_n, PAD...]` (oldest event first).
//! Event token `i` is the sum of
//! - a learned embedding of its kind ([`EventKind`] ids, `0..vocab_size`; id
//!   `vocab_size` is the reserved MASK id used in training),
//! - a linear projection of [`TOKEN_FEATURES`] numeric features:
//!   `ln(1 + max(amount, 0))`, `ln(1 + max(quantity, 0))`, the log time gap
//!   `g = ln(1 + gap_days)` to the previous event in the window (0 for the
//!   first), `sin(f_k g)` and `cos(f_k g)` for `f_k` in [`GAP_FREQUENCIES`],
//!   and a first-in-window flag,
//! - a learned position embedding (position 0 is the CLS token).
//!
//! The CLS token is a learned vector plus a projection of the recency gap
//! `r = ln(1 + (as_of - at_last) days)` encoded the same way (`r`, `sin(f_k r)`,
//! `cos(f_k r)`), so "how long since this customer last did anything" is part
//! of the fingerprint, not only the shape of the history.
//!
//! # Encoder
//! `n_layers` pre-norm encoder layers: `x += W_o MHA(LN(x))` with a padding
//! mask on the keys, then `x += W_2 GELU(W_1 LN(x))`; a final LayerNorm; the CLS
//! output projected by a linear layer to `out_dim` and L2-normalised.
//!
//! # Self-supervised training ([`train`])
//! Two objectives that cannot be met by a constant output:
//! - **masked-event prediction**: a fraction [`TrainConfig::mask_prob`] of the
//!   events (at least one per sequence) has kind, amount, quantity and gap
//!   hidden; the model predicts the kind (cross-entropy) and the three log
//!   values (mean squared error) from the token's output;
//! - **contrastive (InfoNCE)** between two augmented views of each sequence
//!   (history truncation keeping 50-100 % of the most recent events, and
//!   dropping up to 20 % of events at random, gaps recomputed), with in-batch
//!   negatives at temperature [`TrainConfig::temperature`]: a collapsed
//!   embedding scores `ln(batch)` and cannot improve.
//!
//! Training is seeded end to end (initialisation, shuffling, masking,
//! augmentation): the same data, configs and seed give the same weights.
//! [`fine_tune`] continues training from existing weights (e.g. loaded from
//! the model registry) with the same objectives.
//! Weights travel as safetensors bytes ([`FingerprintModel::to_safetensors`],
//! [`FingerprintModel::from_safetensors`]) with the [`FingerprintConfig`]
//! (serde) stored beside them by the caller; this crate does no file I/O.

use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::{Embedding, Linear, Module, Optimizer, VarBuilder, VarMap};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The event kinds of the default vocabulary (ids `0..EventKind::COUNT`).
///
/// Callers may use a larger vocabulary by raising
/// [`FingerprintConfig::vocab_size`]; ids are plain `u16`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u16)]
pub enum EventKind {
    /// A completed order (amount = order value, quantity = items).
    Order = 0,
    /// An email or message opened.
    Open = 1,
    /// A click in an email, ad or message.
    Click = 2,
    /// A site or store visit / session.
    Visit = 3,
    /// An item added to the cart.
    CartAdd = 4,
    /// A cart abandoned without checkout (amount = cart value).
    CartAbandon = 5,
    /// A refund or return (amount = refunded value, positive).
    Refund = 6,
    /// Any other tracked event.
    Other = 7,
}

impl EventKind {
    /// Number of kinds in the default vocabulary.
    pub const COUNT: usize = 8;

    /// The vocabulary id of this kind.
    pub fn id(self) -> u16 {
        self as u16
    }
}

/// One event of a customer's history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeqEvent {
    /// Vocabulary id (see [`EventKind`]); must be `< vocab_size`.
    pub kind: u16,
    /// Monetary amount in the organisation's currency (0 when not monetary;
    /// negative values are treated as 0).
    pub amount: f32,
    /// Item quantity (0 when not applicable; negative values treated as 0).
    pub quantity: f32,
    /// Time of the event in days since any fixed epoch (fractional days
    /// allowed). Events of one customer must be in non-decreasing order.
    pub at: f64,
}

/// Frequencies `f_k` of the sinusoidal encoding of log gaps (radians per
/// unit of `ln(1 + days)`).
pub const GAP_FREQUENCIES: [f32; 4] = [0.5, 1.0, 2.0, 4.0];

/// Width of the numeric part of an event token (see the module docs).
pub const TOKEN_FEATURES: usize = 3 + 2 * GAP_FREQUENCIES.len() + 1;

/// Width of the recency encoding added to the CLS token.
pub const RECENCY_FEATURES: usize = 1 + 2 * GAP_FREQUENCIES.len();

/// Errors of the fingerprint model.
#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    /// A configuration value is out of range.
    #[error("invalid fingerprint config: {field} {reason}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A customer has no events (there is nothing to fingerprint).
    #[error("customer {customer} has no events")]
    EmptySequence {
        /// Index of the customer in the input slice.
        customer: usize,
    },
    /// An event has a non-finite field.
    #[error("customer {customer} event {event}: {field} is not finite")]
    NonFinite {
        /// Index of the customer in the input slice.
        customer: usize,
        /// Index of the event in the customer's slice.
        event: usize,
        /// `"amount"`, `"quantity"` or `"at"`.
        field: &'static str,
    },
    /// Events are not in non-decreasing time order.
    #[error("customer {customer} event {event} is earlier than the event before it")]
    Unsorted {
        /// Index of the customer in the input slice.
        customer: usize,
        /// Index of the first out-of-order event.
        event: usize,
    },
    /// An event happens after the reference time `as_of`.
    #[error("customer {customer} event {event} at {at} is after as_of {as_of}")]
    AfterAsOf {
        /// Index of the customer in the input slice.
        customer: usize,
        /// Index of the event.
        event: usize,
        /// The event time (days).
        at: f64,
        /// The reference time (days).
        as_of: f64,
    },
    /// An event kind is outside the vocabulary.
    #[error("customer {customer} event {event}: kind {kind} >= vocab_size {vocab_size}")]
    KindOutOfRange {
        /// Index of the customer in the input slice.
        customer: usize,
        /// Index of the event.
        event: usize,
        /// The kind id.
        kind: u16,
        /// The configured vocabulary size.
        vocab_size: usize,
    },
    /// Training needs at least two customers (contrastive negatives).
    #[error("training needs at least 2 customers, got {n}")]
    TooFewCustomers {
        /// Number of customers given.
        n: usize,
    },
    /// The weights bytes do not match the configuration.
    #[error("weights do not match the config: {reason}")]
    Weights {
        /// What is missing or mismatched.
        reason: String,
    },
    /// A tensor operation failed (shape bug or allocation failure).
    #[error("tensor operation failed: {source}")]
    Candle {
        /// The candle error.
        #[from]
        source: candle_core::Error,
    },
}

/// Result alias of this module.
pub type Result<T> = std::result::Result<T, FingerprintError>;

/// Architecture of the transformer. Stored with the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FingerprintConfig {
    /// Number of event kinds (ids `0..vocab_size`), at least 1.
    pub vocab_size: usize,
    /// How many of the most recent events are read (L), at least 1.
    pub max_len: usize,
    /// Model width; a multiple of `n_heads`.
    pub d_model: usize,
    /// Attention heads per layer, at least 1.
    pub n_heads: usize,
    /// Encoder layers, at least 1.
    pub n_layers: usize,
    /// Hidden width of the feed-forward blocks, at least 1.
    pub d_ff: usize,
    /// Fingerprint dimension (128 in the product), at least 2.
    pub out_dim: usize,
}

impl Default for FingerprintConfig {
    /// The product configuration: default vocabulary, L = 32, d_model 64,
    /// 4 heads, 2 layers, FF 128, 128-d fingerprints (about 80,000
    /// parameters; sized so inference, reduction and clustering of 100,000
    /// customers fit in a minute on 2 cores).
    fn default() -> Self {
        Self {
            vocab_size: EventKind::COUNT,
            max_len: 32,
            d_model: 64,
            n_heads: 4,
            n_layers: 2,
            d_ff: 128,
            out_dim: 128,
        }
    }
}

impl FingerprintConfig {
    /// Checks every field; errors name the first bad one.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, reason: &str| {
            Err(FingerprintError::InvalidConfig {
                field,
                reason: reason.to_string(),
            })
        };
        if self.vocab_size == 0 || self.vocab_size > u16::MAX as usize {
            return bad("vocab_size", "must be in 1..=65535");
        }
        if self.max_len == 0 {
            return bad("max_len", "must be at least 1");
        }
        if self.n_heads == 0 {
            return bad("n_heads", "must be at least 1");
        }
        if self.d_model == 0 || !self.d_model.is_multiple_of(self.n_heads) {
            return bad("d_model", "must be a positive multiple of n_heads");
        }
        if self.n_layers == 0 {
            return bad("n_layers", "must be at least 1");
        }
        if self.d_ff == 0 {
            return bad("d_ff", "must be at least 1");
        }
        if self.out_dim < 2 {
            return bad("out_dim", "must be at least 2");
        }
        Ok(())
    }
}

/// Hyper-parameters of self-supervised training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the customers, at least 1.
    pub epochs: usize,
    /// Customers per step, at least 2.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Fraction of events masked for masked-event prediction, in (0, 1).
    pub mask_prob: f32,
    /// Weight of the contrastive loss relative to the masked losses (>= 0).
    pub contrastive_weight: f32,
    /// InfoNCE temperature (> 0).
    pub temperature: f32,
    /// Seed of initialisation, shuffling, masking and augmentation.
    pub seed: u64,
}

impl Default for TrainConfig {
    /// 10 epochs, batches of 64, lr 1e-3, 15 % masking, contrastive weight 1,
    /// temperature 0.1, seed 0.
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 64,
            learning_rate: 1e-3,
            mask_prob: 0.15,
            contrastive_weight: 1.0,
            temperature: 0.1,
            seed: 0,
        }
    }
}

/// One progress report, sent after every optimisation step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainProgress {
    /// Epoch, starting at 0.
    pub epoch: usize,
    /// Step within all of training, starting at 0.
    pub step: usize,
    /// Steps in all of training.
    pub total_steps: usize,
    /// Total loss of this step.
    pub loss: f32,
}

/// Metrics of a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainMetrics {
    /// Mean total loss of each epoch, in order.
    pub epoch_losses: Vec<f32>,
    /// Mean masked-kind cross-entropy (nats) over the last epoch.
    pub final_kind_loss: f32,
    /// Mean masked regression MSE over the last epoch (log units squared).
    pub final_regression_loss: f32,
    /// Mean InfoNCE loss over the last epoch (nats; `ln(batch)` = chance).
    pub final_contrastive_loss: f32,
    /// Fraction of masked events whose kind was predicted exactly, over the
    /// last epoch, in [0, 1].
    pub masked_kind_accuracy: f32,
    /// Optimisation steps taken.
    pub steps: usize,
}

/// Fingerprints of many customers, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprints {
    /// Vector dimension (`out_dim`).
    pub dim: usize,
    /// `n * dim` values; row `i` is customer `i` (input order), unit norm.
    pub data: Vec<f32>,
}

impl Fingerprints {
    /// Number of customers.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    /// True when there are no fingerprints.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Customer `i`'s fingerprint; `None` past the end.
    pub fn row(&self, i: usize) -> Option<&[f32]> {
        self.data.get(i * self.dim..(i + 1) * self.dim)
    }
}

/// Layer norm whose training path is differentiable (candle's fused kernel
/// has no backward pass).
struct Norm {
    weight: Tensor,
    bias: Tensor,
}

impl Norm {
    fn new(d: usize, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            weight: vb.get_with_hints(d, "weight", candle_nn::Init::Const(1.0))?,
            bias: vb.get_with_hints(d, "bias", candle_nn::Init::Const(0.0))?,
        })
    }

    fn forward(&self, x: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        if train {
            candle_nn::ops::layer_norm_slow(x, &self.weight, &self.bias, 1e-5)
        } else {
            candle_nn::ops::layer_norm(&x.contiguous()?, &self.weight, &self.bias, 1e-5)
        }
    }
}

struct Layer {
    ln1: Norm,
    qkv: Linear,
    out: Linear,
    ln2: Norm,
    ff1: Linear,
    ff2: Linear,
}

struct Net {
    kind_emb: Embedding,
    num_proj: Linear,
    pos_emb: Embedding,
    cls: Tensor,
    recency_proj: Linear,
    layers: Vec<Layer>,
    ln_f: Norm,
    head: Linear,
    kind_head: Linear,
    reg_head: Linear,
}

/// A trained (or freshly initialised) fingerprint transformer.
pub struct FingerprintModel {
    config: FingerprintConfig,
    varmap: VarMap,
    net: Net,
}

impl std::fmt::Debug for FingerprintModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FingerprintModel")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A prepared batch (tensors on the CPU).
struct Batch {
    /// (B, T-1) u32 kinds of the event positions (MASK id where masked).
    kinds: Tensor,
    /// (B, T-1, TOKEN_FEATURES).
    nums: Tensor,
    /// (B, RECENCY_FEATURES).
    recency: Tensor,
    /// (B, 1, 1, T) additive key mask (0 or -1e9).
    mask: Tensor,
    /// T including CLS.
    t: usize,
}

fn gap_features(g: f32, out: &mut Vec<f32>) {
    out.push(g);
    for f in GAP_FREQUENCIES {
        out.push((f * g).sin());
        out.push((f * g).cos());
    }
}

fn log1p_pos(x: f32) -> f32 {
    x.max(0.0).ln_1p()
}

/// Token features of one (possibly augmented) sequence, oldest first.
fn token_features(events: &[SeqEvent], out: &mut Vec<f32>) {
    let mut prev: Option<f64> = None;
    for e in events {
        out.push(log1p_pos(e.amount));
        out.push(log1p_pos(e.quantity));
        let g = prev.map_or(0.0, |p| ((e.at - p).max(0.0) as f32).ln_1p());
        gap_features(g, out);
        out.push(if prev.is_none() { 1.0 } else { 0.0 });
        prev = Some(e.at);
    }
}

fn recency_log(events: &[SeqEvent], as_of: f64) -> f32 {
    let last = events.last().map_or(as_of, |e| e.at);
    ((as_of - last).max(0.0) as f32).ln_1p()
}

/// Masked targets of one sequence: (position in window, kind, [log amount,
/// log quantity, log gap]).
type Masked = (usize, u32, [f32; 3]);

impl Net {
    fn new(c: &FingerprintConfig, vb: VarBuilder) -> candle_core::Result<Self> {
        let d = c.d_model;
        let mut layers = Vec::with_capacity(c.n_layers);
        for i in 0..c.n_layers {
            let v = vb.pp(format!("layer{i}"));
            layers.push(Layer {
                ln1: Norm::new(d, v.pp("ln1"))?,
                qkv: candle_nn::linear(d, 3 * d, v.pp("qkv"))?,
                out: candle_nn::linear(d, d, v.pp("out"))?,
                ln2: Norm::new(d, v.pp("ln2"))?,
                ff1: candle_nn::linear(d, c.d_ff, v.pp("ff1"))?,
                ff2: candle_nn::linear(c.d_ff, d, v.pp("ff2"))?,
            });
        }
        Ok(Self {
            kind_emb: candle_nn::embedding(c.vocab_size + 1, d, vb.pp("kind_emb"))?,
            num_proj: candle_nn::linear(TOKEN_FEATURES, d, vb.pp("num_proj"))?,
            pos_emb: candle_nn::embedding(c.max_len + 1, d, vb.pp("pos_emb"))?,
            cls: vb.get_with_hints(d, "cls", candle_nn::Init::Const(0.0))?,
            recency_proj: candle_nn::linear(RECENCY_FEATURES, d, vb.pp("recency_proj"))?,
            layers,
            ln_f: Norm::new(d, vb.pp("ln_f"))?,
            head: candle_nn::linear(d, c.out_dim, vb.pp("head"))?,
            kind_head: candle_nn::linear(d, c.vocab_size, vb.pp("kind_head"))?,
            reg_head: candle_nn::linear(d, 3, vb.pp("reg_head"))?,
        })
    }

    /// Encoder output (B, T, d).
    fn encode(&self, c: &FingerprintConfig, b: &Batch, train: bool) -> candle_core::Result<Tensor> {
        let (bsz, t) = (b.mask.dim(0)?, b.t);
        let d = c.d_model;
        let ev = (self.kind_emb.forward(&b.kinds)? + self.num_proj.forward(&b.nums)?)?;
        let cls = self
            .recency_proj
            .forward(&b.recency)?
            .broadcast_add(&self.cls)?
            .unsqueeze(1)?;
        let x = Tensor::cat(&[&cls, &ev], 1)?;
        let pos = Tensor::arange(0u32, t as u32, x.device())?;
        let mut x = x.broadcast_add(&self.pos_emb.forward(&pos)?)?;
        let h = c.n_heads;
        let dh = d / h;
        let scale = 1.0 / (dh as f64).sqrt();
        for l in &self.layers {
            let y = l.ln1.forward(&x, train)?;
            let qkv = l.qkv.forward(&y)?;
            let split = |i: usize| -> candle_core::Result<Tensor> {
                qkv.narrow(2, i * d, d)?
                    .reshape((bsz, t, h, dh))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let (q, k, v) = (split(0)?, split(1)?, split(2)?);
            let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&b.mask)?;
            let att = if train {
                candle_nn::ops::softmax(&scores, D::Minus1)?
            } else {
                candle_nn::ops::softmax_last_dim(&scores)?
            };
            let o = att
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((bsz, t, d))?;
            x = (x + l.out.forward(&o)?)?;
            let y = l.ln2.forward(&x, train)?;
            let y = l.ff2.forward(&l.ff1.forward(&y)?.gelu_erf()?)?;
            x = (x + y)?;
        }
        self.ln_f.forward(&x, train)
    }

    /// L2-normalised fingerprints (B, out_dim) from the encoder output.
    fn fingerprint(&self, enc: &Tensor) -> candle_core::Result<Tensor> {
        let z = self.head.forward(&enc.narrow(1, 0, 1)?.squeeze(1)?)?;
        let norm = (z.sqr()?.sum_keepdim(1)? + 1e-12)?.sqrt()?;
        z.broadcast_div(&norm)
    }
}

/// Builds a batch from (already validated, already windowed) sequences.
/// `masks[i]` lists masked window positions of sequence `i` (may be empty).
fn make_batch(
    c: &FingerprintConfig,
    seqs: &[&[SeqEvent]],
    as_of: f64,
    masks: Option<&[Vec<usize>]>,
) -> candle_core::Result<(Batch, Vec<Vec<Masked>>)> {
    let bsz = seqs.len();
    let n = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
    let t = n + 1;
    let mask_id = c.vocab_size as u32;
    let mut kinds = vec![0u32; bsz * n];
    let mut nums = vec![0f32; bsz * n * TOKEN_FEATURES];
    let mut recency = Vec::with_capacity(bsz * RECENCY_FEATURES);
    let mut keymask = vec![-1e9f32; bsz * t];
    let mut targets = Vec::with_capacity(bsz);
    let mut feats = Vec::with_capacity(n * TOKEN_FEATURES);
    for (i, s) in seqs.iter().enumerate() {
        feats.clear();
        token_features(s, &mut feats);
        nums[i * n * TOKEN_FEATURES..][..feats.len()].copy_from_slice(&feats);
        for (j, e) in s.iter().enumerate() {
            kinds[i * n + j] = u32::from(e.kind);
        }
        gap_features(recency_log(s, as_of), &mut recency);
        for m in &mut keymask[i * t..i * t + s.len() + 1] {
            *m = 0.0;
        }
        let mut tg = Vec::new();
        if let Some(ms) = masks.and_then(|m| m.get(i)) {
            for &p in ms {
                let f = &mut nums[(i * n + p) * TOKEN_FEATURES..][..TOKEN_FEATURES];
                tg.push((p, kinds[i * n + p], [f[0], f[1], f[2]]));
                f.iter_mut().for_each(|v| *v = 0.0);
                kinds[i * n + p] = mask_id;
            }
        }
        targets.push(tg);
    }
    let dev = Device::Cpu;
    Ok((
        Batch {
            kinds: Tensor::from_vec(kinds, (bsz, n), &dev)?,
            nums: Tensor::from_vec(nums, (bsz, n, TOKEN_FEATURES), &dev)?,
            recency: Tensor::from_vec(recency, (bsz, RECENCY_FEATURES), &dev)?,
            mask: Tensor::from_vec(keymask, (bsz, 1, 1, t), &dev)?,
            t,
        },
        targets,
    ))
}

/// Checks every customer's events; errors name the customer and event.
pub fn validate_sequences(
    config: &FingerprintConfig,
    seqs: &[&[SeqEvent]],
    as_of: f64,
) -> Result<()> {
    for (ci, s) in seqs.iter().enumerate() {
        if s.is_empty() {
            return Err(FingerprintError::EmptySequence { customer: ci });
        }
        let mut prev = f64::NEG_INFINITY;
        for (ei, e) in s.iter().enumerate() {
            let nf = |field| FingerprintError::NonFinite {
                customer: ci,
                event: ei,
                field,
            };
            if !e.amount.is_finite() {
                return Err(nf("amount"));
            }
            if !e.quantity.is_finite() {
                return Err(nf("quantity"));
            }
            if !e.at.is_finite() {
                return Err(nf("at"));
            }
            if usize::from(e.kind) >= config.vocab_size {
                return Err(FingerprintError::KindOutOfRange {
                    customer: ci,
                    event: ei,
                    kind: e.kind,
                    vocab_size: config.vocab_size,
                });
            }
            if e.at < prev {
                return Err(FingerprintError::Unsorted {
                    customer: ci,
                    event: ei,
                });
            }
            if e.at > as_of {
                return Err(FingerprintError::AfterAsOf {
                    customer: ci,
                    event: ei,
                    at: e.at,
                    as_of,
                });
            }
            prev = e.at;
        }
    }
    Ok(())
}

/// The last `max_len` events.
fn window(s: &[SeqEvent], max_len: usize) -> &[SeqEvent] {
    &s[s.len().saturating_sub(max_len)..]
}

/// FNV-1a, for per-tensor initialisation seeds independent of map order.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl FingerprintModel {
    /// A freshly initialised model: linear weights and biases uniform in
    /// `±1/sqrt(fan_in)`, embeddings uniform in `±0.1`, layer norms at
    /// (1, 0), CLS at 0; every tensor drawn from ChaCha8 seeded with
    /// `seed` and the tensor's name, so the result depends on the seed only.
    pub fn new(config: FingerprintConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let net = Net::new(&config, vb)?;
        let model = Self {
            config,
            varmap,
            net,
        };
        model.reinit(seed)?;
        Ok(model)
    }

    fn named_vars(&self) -> Result<Vec<(String, Var)>> {
        let data = self
            .varmap
            .data()
            .lock()
            .map_err(|_| FingerprintError::Weights {
                reason: "variable map lock poisoned".into(),
            })?;
        let mut v: Vec<(String, Var)> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(v)
    }

    fn reinit(&self, seed: u64) -> Result<()> {
        for (name, var) in self.named_vars()? {
            let dims = var.dims().to_vec();
            let count: usize = dims.iter().product();
            let is_norm = name.contains("ln");
            let bound = if name.ends_with("cls") || is_norm {
                continue;
            } else if name.contains("emb") {
                0.1
            } else {
                // Linear: weight (out, in) and bias (out,) use fan_in = in.
                let fan_in = self.linear_fan_in(&name, &dims);
                1.0 / (fan_in as f32).sqrt()
            };
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ name_hash(&name));
            let vals: Vec<f32> = (0..count)
                .map(|_| rng.random_range(-bound..bound))
                .collect();
            var.set(&Tensor::from_vec(vals, dims, &Device::Cpu)?)?;
        }
        Ok(())
    }

    fn linear_fan_in(&self, name: &str, dims: &[usize]) -> usize {
        if dims.len() == 2 {
            return dims[1].max(1);
        }
        // A bias: its fan-in is the input width of the matching weight.
        let prefix = name.trim_end_matches("bias");
        self.varmap
            .data()
            .lock()
            .ok()
            .and_then(|d| d.get(&format!("{prefix}weight")).map(|w| w.dims().to_vec()))
            .and_then(|d| d.get(1).copied())
            .unwrap_or(1)
            .max(1)
    }

    /// The architecture.
    pub fn config(&self) -> &FingerprintConfig {
        &self.config
    }

    /// Number of trainable parameters.
    pub fn num_parameters(&self) -> usize {
        self.varmap.all_vars().iter().map(|v| v.elem_count()).sum()
    }

    /// Serialises every weight as safetensors bytes (f32, names sorted).
    /// The config is not inside; store it beside the bytes.
    pub fn to_safetensors(&self) -> Result<Vec<u8>> {
        let tensors: Vec<(String, Tensor)> = self
            .named_vars()?
            .into_iter()
            .map(|(k, v)| (k, v.as_tensor().clone()))
            .collect();
        safetensors::serialize(tensors, None).map_err(|e| FingerprintError::Weights {
            reason: e.to_string(),
        })
    }

    /// Rebuilds a model from `config` and bytes written by
    /// [`Self::to_safetensors`]. Errors: invalid config; bytes that are not
    /// safetensors, or lack a tensor, or have a tensor of another shape.
    pub fn from_safetensors(config: FingerprintConfig, bytes: &[u8]) -> Result<Self> {
        let model = Self::new(config, 0)?;
        let loaded = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)?;
        let vars = model.named_vars()?;
        if loaded.len() != vars.len() {
            return Err(FingerprintError::Weights {
                reason: format!("{} tensors, expected {}", loaded.len(), vars.len()),
            });
        }
        for (name, var) in vars {
            let t = loaded.get(&name).ok_or_else(|| FingerprintError::Weights {
                reason: format!("missing tensor {name}"),
            })?;
            if t.dims() != var.dims() {
                return Err(FingerprintError::Weights {
                    reason: format!("{name} has shape {:?}, expected {:?}", t.dims(), var.dims()),
                });
            }
            var.set(&t.to_dtype(DType::F32)?)?;
        }
        Ok(model)
    }

    /// Fingerprints of every customer at reference time `as_of` (days, same
    /// epoch as [`SeqEvent::at`]; no event may be later), computed in
    /// batches of `batch_size` customers of similar length. Only the last
    /// `max_len` events of each customer are read. Output rows follow the
    /// input order and have unit L2 norm. A batch of 128-256 is fastest on
    /// CPU (larger batches spend their time allocating). Errors: see
    /// [`validate_sequences`]; `batch_size` 0.
    pub fn embed(
        &self,
        seqs: &[&[SeqEvent]],
        as_of: f64,
        batch_size: usize,
    ) -> Result<Fingerprints> {
        if batch_size == 0 {
            return Err(FingerprintError::InvalidConfig {
                field: "batch_size",
                reason: "must be at least 1".into(),
            });
        }
        validate_sequences(&self.config, seqs, as_of)?;
        let dim = self.config.out_dim;
        let mut data = vec![0f32; seqs.len() * dim];
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&i| (seqs[i].len().min(self.config.max_len), i));
        for chunk in order.chunks(batch_size) {
            let batch: Vec<&[SeqEvent]> = chunk
                .iter()
                .map(|&i| window(seqs[i], self.config.max_len))
                .collect();
            let (b, _) = make_batch(&self.config, &batch, as_of, None)?;
            let enc = self.net.encode(&self.config, &b, false)?;
            let z = self.net.fingerprint(&enc)?.to_vec2::<f32>()?;
            for (row, &i) in z.iter().zip(chunk) {
                data[i * dim..(i + 1) * dim].copy_from_slice(row);
            }
        }
        Ok(Fingerprints { dim, data })
    }
}

/// A random augmented view: keep the most recent 50-100 % of the window,
/// then drop up to 20 % of the events (at least one event survives).
fn augment(s: &[SeqEvent], rng: &mut ChaCha8Rng) -> Vec<SeqEvent> {
    let n = s.len();
    let keep = ((n as f32 * rng.random_range(0.5f32..=1.0)).ceil() as usize).clamp(1, n);
    let tail = &s[n - keep..];
    let drop_p = rng.random_range(0.0f32..0.2);
    let mut out: Vec<SeqEvent> = tail
        .iter()
        .filter(|_| rng.random::<f32>() >= drop_p)
        .copied()
        .collect();
    if out.is_empty() {
        out.push(tail[tail.len() - 1]);
    }
    out
}

fn choose_masks(len: usize, p: f32, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut m: Vec<usize> = (0..len).filter(|_| rng.random::<f32>() < p).collect();
    if m.is_empty() {
        m.push(rng.random_range(0..len));
    }
    m
}

/// Sum of losses of one step and the parts for metrics.
struct StepOut {
    total: Tensor,
    kind: f32,
    reg: f32,
    con: f32,
    correct: usize,
    masked: usize,
}

fn train_step(
    model: &FingerprintModel,
    tc: &TrainConfig,
    seqs: &[&[SeqEvent]],
    as_of: f64,
    rng: &mut ChaCha8Rng,
) -> Result<StepOut> {
    let c = &model.config;
    let view_a: Vec<Vec<SeqEvent>> = seqs.iter().map(|s| augment(s, rng)).collect();
    let view_b: Vec<Vec<SeqEvent>> = seqs.iter().map(|s| augment(s, rng)).collect();
    let masks: Vec<Vec<usize>> = view_a
        .iter()
        .map(|s| choose_masks(s.len(), tc.mask_prob, rng))
        .collect();
    let a_refs: Vec<&[SeqEvent]> = view_a.iter().map(|v| v.as_slice()).collect();
    let b_refs: Vec<&[SeqEvent]> = view_b.iter().map(|v| v.as_slice()).collect();
    let (ba, targets) = make_batch(c, &a_refs, as_of, Some(&masks))?;
    let (bb, _) = make_batch(c, &b_refs, as_of, None)?;
    let enc_a = model.net.encode(c, &ba, true)?;
    let enc_b = model.net.encode(c, &bb, true)?;

    // Masked-event prediction on view A.
    let mut idx = Vec::new();
    let mut kind_t = Vec::new();
    let mut reg_t = Vec::new();
    for (i, tg) in targets.iter().enumerate() {
        for &(p, k, r) in tg {
            idx.push((i * ba.t + 1 + p) as u32);
            kind_t.push(k);
            reg_t.extend_from_slice(&r);
        }
    }
    let m = idx.len();
    let dev = Device::Cpu;
    let flat = enc_a.reshape((seqs.len() * ba.t, c.d_model))?;
    let hm = flat.index_select(&Tensor::from_vec(idx, m, &dev)?, 0)?;
    let logits = model.net.kind_head.forward(&hm)?;
    let kind_targets = Tensor::from_vec(kind_t, m, &dev)?;
    let kind_loss = candle_nn::loss::cross_entropy(&logits, &kind_targets)?;
    let pred = logits.argmax(1)?;
    let correct = pred
        .eq(&kind_targets)?
        .to_dtype(DType::F32)?
        .sum_all()?
        .to_scalar::<f32>()? as usize;
    let reg = model.net.reg_head.forward(&hm)?;
    let reg_loss = candle_nn::loss::mse(&reg, &Tensor::from_vec(reg_t, (m, 3), &dev)?)?;

    // InfoNCE between the two views (symmetric).
    let za = model.net.fingerprint(&enc_a)?;
    let zb = model.net.fingerprint(&enc_b)?;
    let sim = (za.matmul(&zb.t()?)? / f64::from(tc.temperature))?;
    let labels = Tensor::arange(0u32, seqs.len() as u32, &dev)?;
    let con = ((candle_nn::loss::cross_entropy(&sim, &labels)?
        + candle_nn::loss::cross_entropy(&sim.t()?, &labels)?)?
        * 0.5)?;
    let total = ((&kind_loss + &reg_loss)? + (&con * f64::from(tc.contrastive_weight))?)?;
    Ok(StepOut {
        kind: kind_loss.to_scalar::<f32>()?,
        reg: reg_loss.to_scalar::<f32>()?,
        con: con.to_scalar::<f32>()?,
        total,
        correct,
        masked: m,
    })
}

/// The ranges of a [`TrainConfig`]; errors name the first bad field.
fn check_train_config(train: &TrainConfig) -> Result<()> {
    let bad = |field, reason: &str| FingerprintError::InvalidConfig {
        field,
        reason: reason.to_string(),
    };
    if train.epochs == 0 {
        return Err(bad("epochs", "must be at least 1"));
    }
    if train.batch_size < 2 {
        return Err(bad("batch_size", "must be at least 2"));
    }
    if !(train.mask_prob > 0.0 && train.mask_prob < 1.0) {
        return Err(bad("mask_prob", "must be in (0, 1)"));
    }
    if !(train.temperature > 0.0 && train.temperature.is_finite()) {
        return Err(bad("temperature", "must be positive"));
    }
    if !(train.contrastive_weight >= 0.0 && train.contrastive_weight.is_finite()) {
        return Err(bad("contrastive_weight", "must be >= 0"));
    }
    if !(train.learning_rate > 0.0 && train.learning_rate.is_finite()) {
        return Err(bad("learning_rate", "must be positive"));
    }
    Ok(())
}

/// Trains a fresh model on `seqs` (customers' events, see
/// [`validate_sequences`]) at reference time `as_of` (days) with Adam
/// (no weight decay), calling `progress` after every step. The seed in
/// `train` fixes everything random. Errors: invalid configs, fewer than two
/// customers, invalid sequences.
pub fn train(
    config: FingerprintConfig,
    train: &TrainConfig,
    seqs: &[&[SeqEvent]],
    as_of: f64,
    progress: &mut dyn FnMut(TrainProgress),
) -> Result<(FingerprintModel, TrainMetrics)> {
    check_train_config(train)?;
    let model = FingerprintModel::new(config, train.seed)?;
    fine_tune(model, train, seqs, as_of, progress)
}

/// Continues training `model` (e.g. weights loaded with
/// [`FingerprintModel::from_safetensors`]) on `seqs` exactly as [`train`]
/// trains a fresh one: `train.epochs` epochs of the same objectives, a fresh
/// Adam state, batch order, masks and augmentations drawn from `train.seed`
/// (the initialisation is the given weights, so the seed does not reset
/// them). Deterministic for the same weights, data and configs. Errors: as
/// [`train`].
pub fn fine_tune(
    model: FingerprintModel,
    train: &TrainConfig,
    seqs: &[&[SeqEvent]],
    as_of: f64,
    progress: &mut dyn FnMut(TrainProgress),
) -> Result<(FingerprintModel, TrainMetrics)> {
    check_train_config(train)?;
    if seqs.len() < 2 {
        return Err(FingerprintError::TooFewCustomers { n: seqs.len() });
    }
    validate_sequences(&model.config, seqs, as_of)?;
    let windows: Vec<&[SeqEvent]> = seqs
        .iter()
        .map(|s| window(s, model.config.max_len))
        .collect();
    let mut opt = candle_nn::AdamW::new(
        model.varmap.all_vars(),
        candle_nn::ParamsAdamW {
            lr: train.learning_rate,
            weight_decay: 0.0,
            ..Default::default()
        },
    )?;
    let mut rng = ChaCha8Rng::seed_from_u64(train.seed.wrapping_add(0x5eed));
    let steps_per_epoch = seqs.len().div_ceil(train.batch_size);
    let total_steps = steps_per_epoch * train.epochs;
    let mut metrics = TrainMetrics {
        epoch_losses: Vec::with_capacity(train.epochs),
        final_kind_loss: 0.0,
        final_regression_loss: 0.0,
        final_contrastive_loss: 0.0,
        masked_kind_accuracy: 0.0,
        steps: 0,
    };
    let mut order: Vec<usize> = (0..seqs.len()).collect();
    for epoch in 0..train.epochs {
        // Fisher-Yates with the seeded generator.
        for i in (1..order.len()).rev() {
            let j = rng.random_range(0..=i);
            order.swap(i, j);
        }
        let (mut sum, mut sk, mut sr, mut sc) = (0f32, 0f32, 0f32, 0f32);
        let (mut correct, mut masked, mut nb) = (0usize, 0usize, 0usize);
        for chunk in order.chunks(train.batch_size) {
            if chunk.len() < 2 {
                continue; // a lone customer has no contrastive negatives
            }
            let batch: Vec<&[SeqEvent]> = chunk.iter().map(|&i| windows[i]).collect();
            let out = train_step(&model, train, &batch, as_of, &mut rng)?;
            opt.backward_step(&out.total)?;
            let loss = out.total.to_scalar::<f32>()?;
            progress(TrainProgress {
                epoch,
                step: metrics.steps,
                total_steps,
                loss,
            });
            metrics.steps += 1;
            sum += loss;
            sk += out.kind;
            sr += out.reg;
            sc += out.con;
            correct += out.correct;
            masked += out.masked;
            nb += 1;
        }
        let nbf = nb.max(1) as f32;
        metrics.epoch_losses.push(sum / nbf);
        metrics.final_kind_loss = sk / nbf;
        metrics.final_regression_loss = sr / nbf;
        metrics.final_contrastive_loss = sc / nbf;
        metrics.masked_kind_accuracy = correct as f32 / masked.max(1) as f32;
    }
    Ok((model, metrics))
}

/// Behaviour types of [`synthetic_population`].
pub const SYNTHETIC_TYPES: [&str; 4] = [
    "frequent small buyer",
    "rare big buyer",
    "browser who never buys",
    "lapsed buyer",
];

/// A seeded synthetic population for tests and benchmarks: `n` customers,
/// type `i % 4` (see [`SYNTHETIC_TYPES`]), each with between 3 and
/// `max_events` (>= 3) events ending before `as_of` = 1000 days:
/// - 0: orders every ~7 days of 15-45 (1-3 items) amid opens/clicks/visits,
///   active until near `as_of`;
/// - 1: orders every ~60 days of 200-600 (1 item), each after a visit;
/// - 2: visits, opens, clicks, cart adds and abandons every ~3 days, no order;
/// - 3: like type 0 but the last event is 200-400 days before `as_of`.
///
/// Returns (sequences, types, as_of).
pub fn synthetic_population(
    n: usize,
    max_events: usize,
    seed: u64,
) -> (Vec<Vec<SeqEvent>>, Vec<usize>, f64) {
    let as_of = 1000.0;
    let max_events = max_events.max(3);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seqs = Vec::with_capacity(n);
    let mut types = Vec::with_capacity(n);
    for i in 0..n {
        let ty = i % 4;
        let len = rng.random_range(3..=max_events);
        let mut ev: Vec<SeqEvent> = Vec::with_capacity(len);
        let exp = |rng: &mut ChaCha8Rng, mean: f64| -mean * (1.0 - rng.random::<f64>()).ln();
        let push =
            |kind: EventKind, amount: f32, quantity: f32, gap: f64, ev: &mut Vec<SeqEvent>| {
                ev.push(SeqEvent {
                    kind: kind.id(),
                    amount,
                    quantity,
                    at: gap,
                });
            };
        while ev.len() < len {
            match ty {
                0 | 3 => {
                    let r: f32 = rng.random();
                    if r < 0.4 {
                        let q = rng.random_range(1..=3) as f32;
                        push(
                            EventKind::Order,
                            rng.random_range(15.0..45.0),
                            q,
                            exp(&mut rng, 7.0),
                            &mut ev,
                        );
                    } else {
                        let k = [EventKind::Open, EventKind::Click, EventKind::Visit]
                            [rng.random_range(0..3)];
                        push(k, 0.0, 0.0, exp(&mut rng, 2.0), &mut ev);
                    }
                }
                1 => {
                    push(EventKind::Visit, 0.0, 0.0, exp(&mut rng, 60.0), &mut ev);
                    push(
                        EventKind::Order,
                        rng.random_range(200.0..600.0),
                        1.0,
                        rng.random_range(0.0..0.2),
                        &mut ev,
                    );
                }
                _ => {
                    let k = [
                        EventKind::Visit,
                        EventKind::Open,
                        EventKind::Click,
                        EventKind::CartAdd,
                        EventKind::CartAbandon,
                    ][rng.random_range(0..5)];
                    let amount = if k == EventKind::CartAbandon {
                        rng.random_range(20.0..150.0)
                    } else {
                        0.0
                    };
                    push(k, amount, 0.0, exp(&mut rng, 3.0), &mut ev);
                }
            }
        }
        ev.truncate(len);
        // Gaps -> times, ending `end_gap` days before as_of.
        let end_gap = if ty == 3 {
            rng.random_range(200.0..400.0)
        } else {
            exp(&mut rng, 5.0)
        };
        let total: f64 = ev.iter().skip(1).map(|e| e.at).sum();
        let mut t = as_of - end_gap - total;
        for (j, e) in ev.iter_mut().enumerate() {
            if j > 0 {
                t += e.at;
            }
            e.at = t;
        }
        seqs.push(ev);
        types.push(ty);
    }
    (seqs, types, as_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> FingerprintConfig {
        FingerprintConfig {
            max_len: 16,
            d_model: 16,
            n_heads: 2,
            n_layers: 1,
            d_ff: 32,
            out_dim: 8,
            ..Default::default()
        }
    }

    #[test]
    fn token_features_encode_log_gaps_and_first_flag() {
        let ev = [
            SeqEvent {
                kind: 0,
                amount: 9.0,
                quantity: 1.0,
                at: 10.0,
            },
            SeqEvent {
                kind: 1,
                amount: -5.0,
                quantity: 0.0,
                at: 13.0,
            },
        ];
        let mut f = Vec::new();
        token_features(&ev, &mut f);
        assert_eq!(f.len(), 2 * TOKEN_FEATURES);
        assert!((f[0] - 10f32.ln()).abs() < 1e-6);
        assert!((f[1] - 2f32.ln()).abs() < 1e-6);
        assert_eq!(f[2], 0.0);
        assert_eq!(f[TOKEN_FEATURES - 1], 1.0);
        let g = &f[TOKEN_FEATURES..];
        assert_eq!(g[0], 0.0, "negative amount counts as 0");
        assert!((g[2] - 4f32.ln()).abs() < 1e-6, "gap of 3 days -> ln 4");
        assert!((g[3] - (0.5 * 4f32.ln()).sin()).abs() < 1e-6);
        assert_eq!(g[TOKEN_FEATURES - 1], 0.0);
    }

    #[test]
    fn validation_names_the_customer_and_event() {
        let c = small();
        let ok = [SeqEvent {
            kind: 0,
            amount: 1.0,
            quantity: 1.0,
            at: 1.0,
        }];
        let unsorted = [
            SeqEvent {
                kind: 0,
                amount: 1.0,
                quantity: 1.0,
                at: 2.0,
            },
            SeqEvent {
                kind: 0,
                amount: 1.0,
                quantity: 1.0,
                at: 1.0,
            },
        ];
        let e = validate_sequences(&c, &[&ok, &unsorted], 5.0);
        assert!(matches!(
            e,
            Err(FingerprintError::Unsorted {
                customer: 1,
                event: 1
            })
        ));
        let bad_kind = [SeqEvent {
            kind: 8,
            amount: 1.0,
            quantity: 1.0,
            at: 1.0,
        }];
        assert!(matches!(
            validate_sequences(&c, &[&bad_kind], 5.0),
            Err(FingerprintError::KindOutOfRange {
                customer: 0,
                event: 0,
                kind: 8,
                ..
            })
        ));
        assert!(matches!(
            validate_sequences(&c, &[&ok], 0.5),
            Err(FingerprintError::AfterAsOf { customer: 0, .. })
        ));
        assert!(matches!(
            validate_sequences(&c, &[&ok, &[]], 5.0),
            Err(FingerprintError::EmptySequence { customer: 1 })
        ));
        let nan = [SeqEvent {
            kind: 0,
            amount: f32::NAN,
            quantity: 1.0,
            at: 1.0,
        }];
        assert!(matches!(
            validate_sequences(&c, &[&nan], 5.0),
            Err(FingerprintError::NonFinite {
                field: "amount",
                ..
            })
        ));
    }

    #[test]
    fn config_validation_rejects_bad_heads() {
        let c = FingerprintConfig {
            d_model: 10,
            n_heads: 4,
            ..Default::default()
        };
        assert!(matches!(
            c.validate(),
            Err(FingerprintError::InvalidConfig {
                field: "d_model",
                ..
            })
        ));
        assert!(FingerprintConfig::default().validate().is_ok());
    }

    #[test]
    fn embedding_is_unit_norm_and_batch_independent() {
        let m = FingerprintModel::new(small(), 3).expect("model");
        let (seqs, _, as_of) = synthetic_population(10, 20, 1);
        let refs: Vec<&[SeqEvent]> = seqs.iter().map(|s| s.as_slice()).collect();
        let a = m.embed(&refs, as_of, 3).expect("embed");
        let b = m.embed(&refs, as_of, 64).expect("embed");
        assert_eq!(a.len(), 10);
        for i in 0..10 {
            let (ra, rb) = (a.row(i).expect("row"), b.row(i).expect("row"));
            let n: f32 = ra.iter().map(|x| x * x).sum();
            assert!((n - 1.0).abs() < 1e-4, "norm^2 {n}");
            for (x, y) in ra.iter().zip(rb) {
                assert!((x - y).abs() < 1e-4, "padding changed the fingerprint");
            }
        }
        // A single customer alone gives the same row as in a batch.
        let one = m.embed(&refs[4..5], as_of, 1).expect("embed");
        for (x, y) in one.data.iter().zip(a.row(4).expect("row")) {
            assert!((x - y).abs() < 1e-4);
        }
    }

    fn ev(kind: u16, amount: f32, at: f64) -> SeqEvent {
        SeqEvent {
            kind,
            amount,
            quantity: 1.0,
            at,
        }
    }

    fn dist(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f32>()
            .sqrt()
    }

    #[test]
    fn gaps_recency_and_window_shape_the_fingerprint() {
        let m = FingerprintModel::new(small(), 4).expect("model");
        // Same kinds, amounts and positions; only the time gaps differ.
        let daily: Vec<SeqEvent> = (0..6).map(|i| ev(0, 30.0, 100.0 + f64::from(i))).collect();
        let monthly: Vec<SeqEvent> = (0..6)
            .map(|i| ev(0, 30.0, 100.0 - 150.0 + 30.0 * f64::from(i)))
            .collect();
        // Same history, shifted 200 days further from as_of.
        let old: Vec<SeqEvent> = daily
            .iter()
            .map(|e| SeqEvent {
                at: e.at - 200.0,
                ..*e
            })
            .collect();
        // More than max_len (16) events: only the last 16 are read.
        let long: Vec<SeqEvent> = (0..40)
            .map(|i| ev((i % 3) as u16, 5.0, f64::from(i)))
            .collect();
        let tail = long[24..].to_vec();
        let seqs: Vec<&[SeqEvent]> = vec![&daily, &monthly, &old, &long, &tail];
        let f = m.embed(&seqs, 110.0, 8).expect("embed");
        let row = |i| f.row(i).expect("row");
        assert!(dist(row(0), row(1)) > 1e-3, "gaps are encoded");
        assert!(dist(row(0), row(2)) > 1e-3, "recency is encoded");
        assert!(dist(row(3), row(4)) < 1e-5, "only the window is read");
    }

    #[test]
    fn safetensors_round_trip_and_shape_check() {
        let m = FingerprintModel::new(small(), 9).expect("model");
        let bytes = m.to_safetensors().expect("save");
        let m2 = FingerprintModel::from_safetensors(small(), &bytes).expect("load");
        let (seqs, _, as_of) = synthetic_population(5, 12, 2);
        let refs: Vec<&[SeqEvent]> = seqs.iter().map(|s| s.as_slice()).collect();
        assert_eq!(
            m.embed(&refs, as_of, 8).expect("a").data,
            m2.embed(&refs, as_of, 8).expect("b").data
        );
        let other = FingerprintConfig {
            d_model: 32,
            ..small()
        };
        assert!(matches!(
            FingerprintModel::from_safetensors(other, &bytes),
            Err(FingerprintError::Weights { .. })
        ));
        assert!(FingerprintModel::from_safetensors(small(), b"not safetensors").is_err());
    }

    #[test]
    fn same_seed_same_weights_other_seed_other_weights() {
        let a = FingerprintModel::new(small(), 1)
            .expect("a")
            .to_safetensors()
            .expect("a");
        let b = FingerprintModel::new(small(), 1)
            .expect("b")
            .to_safetensors()
            .expect("b");
        let c = FingerprintModel::new(small(), 2)
            .expect("c")
            .to_safetensors()
            .expect("c");
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
