//! Behavioural fingerprints in the running system (M1): the fingerprint job
//! ([`run_fingerprints`]) trains the Temporal Behavioural Transformer of
//! `aima_models::fingerprint` on an organization's own history, embeds every
//! customer, clusters the embeddings and stores vectors and cluster labels
//! in the embedded vector store ([`Store::replace_fingerprints`]).
//!
//! # Sequences
//! Each customer's events, oldest first, in days since the Unix epoch, as of
//! the organization's data end (its latest order or event):
//! - an order with a positive amount that is not refunded/cancelled is an
//!   `Order` (amount = order total, quantity = units on its lines);
//! - a refunded order or a negative amount is a `Refund` (amount = |total|);
//! - a cancelled order is `Other`;
//! - a stored customer event is mapped by keyword of its type
//!   ([`fingerprint_kind`]).
//!
//! # Training, clustering, naming
//! The model is trained (seeded, [`FingerprintOptions`]) on an evenly spaced
//! subset of at most [`FingerprintOptions::max_train_customers`] customers
//! with events, then every customer with events is embedded. Clustering is
//! PCA + HDBSCAN (`aima_models::cluster`) with `min_cluster_size =
//! max(floor, ceil(2 % of the points HDBSCAN sees))`. Each cluster is named
//! with [`rfm::persona_of_profile`] over its members' mean R, F and M scores
//! (`rfm::from_features` on freshly computed features); a cluster none of
//! whose members has purchased has no persona.
//!
//! # Registry and drift
//! The run is registered as model [`FINGERPRINT_MODEL`] (version = the run's
//! time) with its metrics: final loss, masked-kind accuracy, the clusters
//! (id, persona, size, mean health score), the noise share, the
//! architecture (`config`) and where the weights came from (`weights`:
//! [`WeightsSource`]). The weights themselves are stored with the registry
//! entry as safetensors bytes ([`Store::save_model_artifact`]; only the
//! organization's latest weights are kept).
//!
//! # Stored weights
//! The next run loads the latest stored weights when their architecture
//! equals [`FingerprintOptions::model`] and, by
//! [`FingerprintOptions::stored_weights`], fine-tunes them for
//! [`FingerprintOptions::fine_tune_epochs`] (the default,
//! [`StoredWeights::FineTune`]), embeds with them unchanged
//! ([`StoredWeights::Reuse`]: the same data gives the very vectors of the
//! run that stored them, so `similar_customers` and drift answer from them),
//! or ignores them ([`StoredWeights::Retrain`]). Without usable weights (none
//! stored, another architecture, bytes that do not load) the run trains
//! afresh and the registry metrics say why (`weights.note`).
//!
//! Cluster ids are per run, so a move is judged by cluster *name*: a
//! customer whose previous run's cluster was named with persona `P` and
//! whose new cluster is named with a worse persona `Q` ([`rfm::is_worse`])
//! raises a [`FINGERPRINT_DRIFT_ALERT`] alert with both cluster names and
//! the customer's distances to its own and the nearest other centroid.

use std::collections::HashMap;

use aima_models::cluster::{self, ClusterConfig, ClusterError, Clustering};
use aima_models::features::{self, Feature};
use aima_models::fingerprint::{
    self, EventKind, FingerprintConfig, FingerprintModel, SeqEvent, TrainConfig, TrainMetrics,
};
use aima_models::rfm::{self, Persona};
use aima_runtime::store::{
    AnalyticsInput, NeighbourFilter, NewAlert, NewFingerprint, RFM_SEGMENT_KIND, Store, StoreError,
    StoredFingerprint,
};
use aima_tools::modules::{FingerprintClusterRow, SimilarCustomerRow};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::jobs::Progress;

use super::{
    IntelligenceError, OrderStatus, data_end, now_micros, order_status, org_data, persona_from_key,
    round2, store_err, unix,
};

/// Model name of fingerprint runs in the model registry.
pub const FINGERPRINT_MODEL: &str = "behaviour_fingerprint";
/// Alert kind of a move to a cluster named with a worse persona.
pub const FINGERPRINT_DRIFT_ALERT: &str = "fingerprint_drift";
/// Fewest customers with events the job needs.
pub const MIN_FINGERPRINT_CUSTOMERS: usize = 50;

/// Settings of one fingerprint run.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerprintOptions {
    /// Most customers trained on (an evenly spaced subset), at least 2.
    pub max_train_customers: usize,
    /// Training epochs, at least 1.
    pub epochs: usize,
    /// Smallest cluster size before the 2 % rule.
    pub min_cluster_floor: usize,
    /// Fewest customers with events; fewer is
    /// [`IntelligenceError::NotEnoughData`].
    pub min_customers: usize,
    /// Seed of training and clustering.
    pub seed: u64,
    /// Architecture of the transformer.
    pub model: FingerprintConfig,
    /// What to do with the weights an earlier run stored.
    pub stored_weights: StoredWeights,
    /// Epochs of [`StoredWeights::FineTune`], at least 1.
    pub fine_tune_epochs: usize,
}

/// What the fingerprint job does with the weights stored by an earlier run:
/// those of the organization's latest [`FINGERPRINT_MODEL`] registry entry
/// with stored weights, used only when their architecture (the entry's
/// `config`) equals [`FingerprintOptions::model`]. Without usable stored
/// weights every mode trains afresh and says why in the registry metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredWeights {
    /// Ignore them: train afresh for [`FingerprintOptions::epochs`].
    Retrain,
    /// Continue training them ([`fingerprint::fine_tune`]) for
    /// [`FingerprintOptions::fine_tune_epochs`] on the current data (the
    /// default: each run refines the last one at half the cost of a fresh
    /// training).
    FineTune,
    /// Embed with them unchanged, without training: the same data gives the
    /// same vectors as the run that stored them.
    Reuse,
}

/// Where the weights of a fingerprint run came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightsSource {
    /// `trained` (afresh), `fine_tuned` or `reused`.
    pub mode: &'static str,
    /// Registry version whose stored weights were loaded, if any.
    pub from_version: Option<String>,
    /// Why stored weights were not used, when the run trained afresh in
    /// another mode than [`StoredWeights::Retrain`].
    pub note: Option<String>,
}

impl Default for FingerprintOptions {
    /// 2,000 training customers, 2 epochs, clusters of at least 50,
    /// [`MIN_FINGERPRINT_CUSTOMERS`], seed 0, the product architecture,
    /// stored weights fine-tuned for 1 epoch.
    fn default() -> Self {
        Self {
            max_train_customers: 2_000,
            epochs: 2,
            min_cluster_floor: 50,
            min_customers: MIN_FINGERPRINT_CUSTOMERS,
            seed: 0,
            model: FingerprintConfig::default(),
            stored_weights: StoredWeights::FineTune,
            fine_tune_epochs: 1,
        }
    }
}

/// One cluster of a fingerprint run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FingerprintCluster {
    /// Cluster id of this run.
    pub id: usize,
    /// Persona key it is named with; `None` when no member has purchased.
    pub persona: Option<String>,
    /// Display name (the persona's, or "No purchases").
    pub name: String,
    /// Members.
    pub size: usize,
    /// Mean health score (0-100) of the members that have one.
    pub mean_health: Option<f64>,
}

/// What [`run_fingerprints`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FingerprintSummary {
    /// Customers embedded and stored (those with at least one event).
    pub customers: usize,
    /// Customers the model was trained on in this run (0 when stored
    /// weights were reused unchanged).
    pub trained_on: usize,
    /// Registered model version.
    pub model_version: String,
    /// Where the weights came from.
    pub weights: WeightsSource,
    /// Mean total loss of the last epoch (of the run that trained the
    /// weights, when they were reused; NaN when unknown).
    pub final_loss: f32,
    /// Masked-kind accuracy of the last epoch, 0 to 1 (as `final_loss`).
    pub masked_kind_accuracy: f32,
    /// The clusters, by id.
    pub clusters: Vec<FingerprintCluster>,
    /// Share of embedded customers in no cluster, 0 to 1.
    pub noise_share: f64,
    /// Drift alerts raised.
    pub alerts: usize,
    /// The data end the run is as of.
    pub as_of: DateTime<Utc>,
}

/// The fingerprint event kind of a stored event type, by keyword (case
/// insensitive): `abandon` -> CartAbandon, `cart` -> CartAdd, `refund` or
/// `return` -> Refund, `open` -> Open, `click` -> Click, `visit`/`view`/
/// `session` -> Visit, anything else -> Other.
pub fn fingerprint_kind(event_type: &str) -> EventKind {
    let t = event_type.to_ascii_lowercase();
    if t.contains("abandon") {
        EventKind::CartAbandon
    } else if t.contains("cart") {
        EventKind::CartAdd
    } else if t.contains("refund") || t.contains("return") {
        EventKind::Refund
    } else if t.contains("open") {
        EventKind::Open
    } else if t.contains("click") {
        EventKind::Click
    } else if t.contains("visit") || t.contains("view") || t.contains("session") {
        EventKind::Visit
    } else {
        EventKind::Other
    }
}

fn days(t: DateTime<Utc>) -> f64 {
    unix(t) as f64 / 86_400.0
}

/// Every customer's event sequence (index = customer index of `input`),
/// oldest first, times in days since the Unix epoch (see the module docs).
/// Customers without orders or events get an empty sequence.
pub fn sequences(input: &AnalyticsInput) -> Vec<Vec<SeqEvent>> {
    let mut seqs = vec![Vec::new(); input.customers.len()];
    let mut quantity = vec![0.0f64; input.orders.len()];
    for it in &input.items {
        if let Some(q) = quantity.get_mut(it.order as usize) {
            *q += it.quantity.max(0.0);
        }
    }
    for (o, q) in input.orders.iter().zip(&quantity) {
        let Some(seq) = seqs.get_mut(o.customer as usize) else {
            continue;
        };
        let status = order_status(o.status.as_deref());
        let (kind, amount) = if o.amount < 0.0 || status == OrderStatus::Refunded {
            (EventKind::Refund, o.amount.abs())
        } else if status == OrderStatus::Cancelled {
            (EventKind::Other, o.amount)
        } else {
            (EventKind::Order, o.amount)
        };
        seq.push(SeqEvent {
            kind: kind.id(),
            amount: amount as f32,
            quantity: *q as f32,
            at: days(o.ordered_at),
        });
    }
    for e in &input.events {
        if let Some(seq) = seqs.get_mut(e.customer as usize) {
            seq.push(SeqEvent {
                kind: fingerprint_kind(&e.event_type).id(),
                amount: 0.0,
                quantity: 0.0,
                at: days(e.occurred_at),
            });
        }
    }
    for s in &mut seqs {
        s.sort_by(|a, b| a.at.total_cmp(&b.at));
    }
    seqs
}

/// `k` evenly spaced indices of `0..n` (all of them when `k >= n`).
fn evenly_spaced(n: usize, k: usize) -> Vec<usize> {
    if k >= n {
        return (0..n).collect();
    }
    (0..k).map(|j| j * n / k).collect()
}

/// What the blocking part of the run computes.
struct Computed {
    /// This run's training, or the registry metrics of the run whose
    /// weights were reused without training.
    metrics: Result<TrainMetrics, Value>,
    weights: WeightsSource,
    /// The weights used, as safetensors bytes.
    bytes: Vec<u8>,
    vectors: fingerprint::Fingerprints,
    clustering: Clustering,
}

/// Stored weights a run may start from.
struct Stored {
    version: String,
    metrics: Value,
    bytes: Vec<u8>,
}

/// The format name of fingerprint weights in the model registry.
const WEIGHTS_FORMAT: &str = "safetensors";

/// The organization's latest stored fingerprint weights if their
/// architecture is `config` (`Err(reason)` when there are none usable).
async fn stored_weights(
    store: &Store,
    org: Uuid,
    config: &FingerprintConfig,
) -> Result<Result<Stored, String>, StoreError> {
    let Some(a) = store.latest_model_artifact(org, FINGERPRINT_MODEL).await? else {
        return Ok(Err("no stored weights".into()));
    };
    let stored_config = a
        .model
        .metrics
        .get("config")
        .cloned()
        .and_then(|c| serde_json::from_value::<FingerprintConfig>(c).ok());
    if a.format != WEIGHTS_FORMAT {
        return Ok(Err(format!(
            "the stored weights of version {} are {}, not {WEIGHTS_FORMAT}",
            a.model.version, a.format
        )));
    }
    if stored_config.as_ref() != Some(config) {
        return Ok(Err(format!(
            "the stored weights of version {} have another architecture",
            a.model.version
        )));
    }
    Ok(Ok(Stored {
        version: a.model.version,
        metrics: a.model.metrics,
        bytes: a.bytes,
    }))
}

/// The cluster settings for `n` embedded customers (see the module docs).
fn cluster_config(n: usize, options: &FingerprintOptions) -> ClusterConfig {
    let base = ClusterConfig::default();
    let seen = n.min(base.max_hdbscan_points);
    let two_percent = (seen * 2).div_ceil(100);
    let min_cluster_size = options.min_cluster_floor.max(two_percent).max(2);
    ClusterConfig {
        min_cluster_size,
        min_samples: base.min_samples.min(min_cluster_size - 1).max(1),
        max_hdbscan_points: base.max_hdbscan_points.max(min_cluster_size),
        seed: options.seed,
        ..base
    }
}

/// Runs the fingerprint job on `org` with the default options (see the
/// module docs).
///
/// # Errors
/// As [`run_fingerprints_with`].
pub async fn run_fingerprints(
    store: &Store,
    org: Uuid,
    progress: &Progress,
) -> Result<FingerprintSummary, IntelligenceError> {
    run_fingerprints_with(store, org, &FingerprintOptions::default(), progress).await
}

/// Runs the fingerprint job on `org` with `options`: sequences, training
/// (afresh, or from stored weights per [`FingerprintOptions::stored_weights`]),
/// embedding, clustering, naming, storage, registry (with the weights) and
/// drift alerts.
/// Reports the stages `fingerprint training` (optimisation steps),
/// `embedding` (customers) and `clustering` to `progress`.
///
/// # Errors
/// [`IntelligenceError::NotEnoughData`] when fewer than
/// `options.min_customers` customers have events;
/// [`IntelligenceError::Fingerprint`] / [`IntelligenceError::Clustering`]
/// when the model rejects the input; store and feature errors.
pub async fn run_fingerprints_with(
    store: &Store,
    org: Uuid,
    options: &FingerprintOptions,
    progress: &Progress,
) -> Result<FingerprintSummary, IntelligenceError> {
    let err = store_err(org);
    let input = store.analytics_input(org).await.map_err(&err)?;
    let all = sequences(&input);
    let with_events: Vec<usize> = (0..all.len()).filter(|&i| !all[i].is_empty()).collect();
    let as_of = match data_end(&input) {
        Some(t) if with_events.len() >= options.min_customers => t,
        _ => {
            return Err(IntelligenceError::NotEnoughData {
                org,
                job: "fingerprints",
                missing: format!(
                    "{} customers have orders or events; fingerprints need at least {}",
                    with_events.len(),
                    options.min_customers
                ),
            });
        }
    };
    let as_of_days = days(as_of);
    let train_idx = evenly_spaced(with_events.len(), options.max_train_customers);
    let trained_on = train_idx.len();
    let model_config = options.model.clone();
    let train_config = TrainConfig {
        epochs: options.epochs,
        seed: options.seed,
        ..TrainConfig::default()
    };
    let cluster_cfg = cluster_config(with_events.len(), options);
    let cfg = cluster_cfg.clone();
    let mode = options.stored_weights;
    let stored = match mode {
        StoredWeights::Retrain => Err(String::new()),
        StoredWeights::FineTune | StoredWeights::Reuse => {
            stored_weights(store, org, &options.model)
                .await
                .map_err(&err)?
        }
    };
    let fine_tune_config = TrainConfig {
        epochs: options.fine_tune_epochs,
        ..train_config.clone()
    };
    let seqs: Vec<Vec<SeqEvent>> = with_events.iter().map(|&i| all[i].clone()).collect();
    let progress = progress.clone();
    let computed = tokio::task::spawn_blocking(move || -> Result<Computed, IntelligenceError> {
        let refs: Vec<&[SeqEvent]> = seqs.iter().map(Vec::as_slice).collect();
        let train_refs: Vec<&[SeqEvent]> = train_idx.iter().map(|&j| refs[j]).collect();
        let fp_err = |source| IntelligenceError::Fingerprint { org, source };
        let mut report = |p: fingerprint::TrainProgress| {
            progress.report_step(
                "fingerprint training",
                p.step as u64 + 1,
                p.total_steps as u64,
            );
        };
        // Stored weights that load, or why there are none.
        let loaded = stored.and_then(|s| {
            FingerprintModel::from_safetensors(model_config.clone(), &s.bytes)
                .map(|m| (m, s.version.clone(), s.metrics.clone()))
                .map_err(|e| {
                    format!(
                        "the stored weights of version {} do not load: {e}",
                        s.version
                    )
                })
        });
        let (model, metrics, weights) = match (mode, loaded) {
            (StoredWeights::Reuse, Ok((m, version, stored_metrics))) => (
                m,
                Err(stored_metrics),
                WeightsSource {
                    mode: "reused",
                    from_version: Some(version),
                    note: None,
                },
            ),
            (StoredWeights::FineTune, Ok((m, version, _))) => {
                let (m, metrics) = fingerprint::fine_tune(
                    m,
                    &fine_tune_config,
                    &train_refs,
                    as_of_days,
                    &mut report,
                )
                .map_err(fp_err)?;
                (
                    m,
                    Ok(metrics),
                    WeightsSource {
                        mode: "fine_tuned",
                        from_version: Some(version),
                        note: None,
                    },
                )
            }
            (_, loaded) => {
                let (m, metrics) = fingerprint::train(
                    model_config,
                    &train_config,
                    &train_refs,
                    as_of_days,
                    &mut report,
                )
                .map_err(fp_err)?;
                let note = match (mode, loaded) {
                    (StoredWeights::Retrain, _) => None,
                    (_, Err(why)) => Some(why),
                    (_, Ok(_)) => None,
                };
                (
                    m,
                    Ok(metrics),
                    WeightsSource {
                        mode: "trained",
                        from_version: None,
                        note,
                    },
                )
            }
        };
        let bytes = model.to_safetensors().map_err(fp_err)?;
        let customers = refs.len() as u64;
        progress.report("embedding", 0, customers);
        let vectors = model.embed(&refs, as_of_days, 256).map_err(fp_err)?;
        progress.report("embedding", customers, customers);
        progress.report("clustering", 0, 1);
        let clustering = cluster::cluster(&vectors.data, vectors.dim, &cfg)
            .map_err(|source: ClusterError| IntelligenceError::Clustering { org, source })?;
        progress.report("clustering", 1, 1);
        Ok(Computed {
            metrics,
            weights,
            bytes,
            vectors,
            clustering,
        })
    })
    .await
    .map_err(|e| IntelligenceError::Task {
        org,
        job: "fingerprints",
        reason: e.to_string(),
    })??;

    // R/F/M scores and health of every customer, to name the clusters.
    let data = org_data(&input);
    let matrix = tokio::task::spawn_blocking(move || features::compute(&data, unix(as_of)))
        .await
        .map_err(|e| IntelligenceError::Task {
            org,
            job: "fingerprints",
            reason: e.to_string(),
        })?
        .map_err(|source| IntelligenceError::Features { org, source })?;
    let scores = rfm::from_features(&matrix);
    let clustering = &computed.clustering;
    let mut sums: Vec<([f64; 3], usize, Vec<f64>)> =
        vec![([0.0; 3], 0, Vec::new()); clustering.clusters.len()];
    for (j, label) in clustering.labels.iter().enumerate() {
        let (Some(c), Some(&i)) = (label, with_events.get(j)) else {
            continue;
        };
        let Some(entry) = sums.get_mut(*c) else {
            continue;
        };
        if let Some(Some(s)) = scores.get(i) {
            entry.0[0] += f64::from(s.r);
            entry.0[1] += f64::from(s.f);
            entry.0[2] += f64::from(s.m);
            entry.1 += 1;
        }
        if let Some(h) = matrix.value(i, Feature::HealthScore) {
            entry.2.push(h);
        }
    }
    let mut personas: Vec<Option<Persona>> = Vec::with_capacity(sums.len());
    let mut clusters = Vec::with_capacity(sums.len());
    for (c, (rfm_sum, scored, health)) in sums.iter().enumerate() {
        let persona = (*scored > 0)
            .then(|| {
                let n = *scored as f64;
                rfm::persona_of_profile(rfm_sum[0] / n, rfm_sum[1] / n, rfm_sum[2] / n).ok()
            })
            .flatten();
        personas.push(persona);
        clusters.push(FingerprintCluster {
            id: c,
            persona: persona.map(|p| p.key().to_string()),
            name: persona.map_or_else(|| "No purchases".to_string(), |p| p.display_name().into()),
            size: clustering.clusters.get(c).map_or(0, |k| k.size),
            mean_health: (!health.is_empty())
                .then(|| round2(health.iter().sum::<f64>() / health.len() as f64)),
        });
    }

    // The previous run, for drift: its labels and its clusters' personas.
    let previous: HashMap<Uuid, Option<i64>> = store
        .fingerprints(org)
        .await
        .map_err(&err)?
        .into_iter()
        .map(|f| (f.customer_id, f.cluster))
        .collect();
    let previous_model = store
        .latest_model(Some(org), FINGERPRINT_MODEL)
        .await
        .map_err(&err)?;
    let previous_clusters: HashMap<i64, Value> = previous_model
        .and_then(|m| m.metrics.get("clusters").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| Some((c.get("id")?.as_i64()?, c)))
        .collect();

    let now = now_micros();
    let version = now.format("%Y%m%dT%H%M%S%.6fZ").to_string();
    let rows: Vec<NewFingerprint> = with_events
        .iter()
        .enumerate()
        .map(|(j, &i)| NewFingerprint {
            customer_id: input.customers[i],
            vector: computed.vectors.row(j).unwrap_or(&[]).to_vec(),
            cluster: clustering
                .labels
                .get(j)
                .copied()
                .flatten()
                .map(|c| c as i64),
        })
        .collect();
    store
        .replace_fingerprints(org, &version, now, &rows)
        .await
        .map_err(&err)?;

    let noise_share = if rows.is_empty() {
        0.0
    } else {
        clustering.noise_count() as f64 / rows.len() as f64
    };
    // Loss and accuracy of this run's training, or of the run whose weights
    // were reused.
    let (final_loss, masked_kind_accuracy) = match &computed.metrics {
        Ok(m) => (
            m.epoch_losses.last().copied().unwrap_or(f32::NAN),
            m.masked_kind_accuracy,
        ),
        Err(stored) => {
            let metric = |key: &str| {
                stored
                    .get(key)
                    .and_then(Value::as_f64)
                    .map_or(f32::NAN, |v| v as f32)
            };
            (metric("final_loss"), metric("masked_kind_accuracy"))
        }
    };
    let trained_on = if computed.metrics.is_ok() {
        trained_on
    } else {
        0
    };
    let metrics = json!({
        "model": "Temporal Behavioural Transformer (self-supervised) + PCA/HDBSCAN",
        "final_loss": final_loss,
        "epoch_losses": computed.metrics.as_ref().map(|m| m.epoch_losses.clone()).unwrap_or_default(),
        "masked_kind_accuracy": masked_kind_accuracy,
        "steps": computed.metrics.as_ref().map_or(0, |m| m.steps),
        "customers": rows.len(),
        "trained_on": trained_on,
        "weights": computed.weights,
        "epochs": match computed.weights.mode {
            "trained" => options.epochs,
            "fine_tuned" => options.fine_tune_epochs,
            _ => 0,
        },
        "seed": options.seed,
        "config": options.model,
        "cluster_config": cluster_cfg,
        "clusters": clusters,
        "noise_share": noise_share,
        "as_of": as_of,
        "weights_stored": true,
    });
    let model_id = store
        .register_model(Some(org), FINGERPRINT_MODEL, &version, metrics, None)
        .await
        .map_err(&err)?;
    store
        .save_model_artifact(org, model_id, WEIGHTS_FORMAT, &computed.bytes)
        .await
        .map_err(&err)?;

    let mut alerts = 0;
    for (j, row) in rows.iter().enumerate() {
        let (Some(Some(old)), Some(new)) = (previous.get(&row.customer_id), row.cluster) else {
            continue;
        };
        let Some(old_cluster) = previous_clusters.get(old) else {
            continue;
        };
        let from = old_cluster
            .get("persona")
            .and_then(Value::as_str)
            .and_then(persona_from_key);
        let to = personas.get(new as usize).copied().flatten();
        let (Some(from), Some(to)) = (from, to) else {
            continue;
        };
        if !rfm::is_worse(from, to) {
            continue;
        }
        let d = clustering.distances.get(j);
        store
            .create_alert(
                org,
                NewAlert {
                    kind: FINGERPRINT_DRIFT_ALERT.into(),
                    severity: "warning".into(),
                    customer_id: Some(row.customer_id),
                    title: format!(
                        "Behaviour now resembles the {to} cluster (was {from})"
                    ),
                    details: json!({
                        "from_cluster": {"id": old, "persona": from.key(), "name": from.display_name()},
                        "to_cluster": {"id": new, "persona": to.key(), "name": to.display_name()},
                        "distance_to_own_centroid": d.and_then(|d| d.own),
                        "nearest_other_cluster": d.and_then(|d| d.nearest_other).map(|(c, dist)| json!({"id": c, "distance": dist})),
                        "previous_model_version": old_cluster.get("model_version"),
                        "model_version": version,
                        "recommended_action": to.recommended_action(),
                        "as_of": as_of,
                    }),
                },
            )
            .await
            .map_err(&err)?;
        alerts += 1;
    }

    Ok(FingerprintSummary {
        customers: rows.len(),
        trained_on,
        model_version: version,
        weights: computed.weights,
        final_loss,
        masked_kind_accuracy,
        clusters,
        noise_share,
        alerts,
        as_of,
    })
}

/// The clusters of the latest fingerprint run of `org` as registered in the
/// model registry, by id; empty when no run has happened.
///
/// # Errors
/// [`StoreError`] of the read.
pub async fn latest_clusters(
    store: &Store,
    org: Uuid,
) -> Result<Vec<FingerprintClusterRow>, StoreError> {
    let Some(model) = store.latest_model(Some(org), FINGERPRINT_MODEL).await? else {
        return Ok(Vec::new());
    };
    let clusters = model
        .metrics
        .get("clusters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(clusters
        .iter()
        .filter_map(|c| {
            Some(FingerprintClusterRow {
                cluster: c.get("id")?.as_i64()?,
                persona: c.get("persona").and_then(Value::as_str).map(str::to_string),
                name: c.get("name")?.as_str()?.to_string(),
                size: c.get("size")?.as_u64()?,
                mean_health_score: c.get("mean_health").and_then(Value::as_f64),
            })
        })
        .collect())
}

/// A customer's fingerprint neighbours with names, personas and cluster
/// names; `None` when the customer has no stored fingerprint.
pub(crate) struct Similar {
    /// The customer's own fingerprint.
    pub(crate) own: StoredFingerprint,
    /// Name of the customer's cluster, if clustered.
    pub(crate) cluster_name: Option<String>,
    /// Neighbours, most similar first.
    pub(crate) rows: Vec<SimilarCustomerRow>,
}

/// Up to `limit` neighbours of `customer` in `org` restricted by `filter`,
/// with display fields (see [`Similar`]).
pub(crate) async fn similar_customers(
    store: &Store,
    org: Uuid,
    customer: Uuid,
    limit: usize,
    filter: &NeighbourFilter,
) -> Result<Option<Similar>, StoreError> {
    let Some(own) = store.fingerprint_of(org, customer).await? else {
        return Ok(None);
    };
    let Some(near) = store
        .nearest_fingerprints(org, customer, limit, filter)
        .await?
    else {
        return Ok(None);
    };
    let names: HashMap<i64, String> = latest_clusters(store, org)
        .await?
        .into_iter()
        .map(|c| (c.cluster, c.name))
        .collect();
    let personas: HashMap<Uuid, String> = store
        .segment_assignments(org, RFM_SEGMENT_KIND)
        .await?
        .into_iter()
        .collect();
    let mut rows = Vec::with_capacity(near.len());
    for n in near {
        let c = store.get_customer(org, n.customer_id).await?;
        rows.push(SimilarCustomerRow {
            customer_id: n.customer_id,
            name: c.as_ref().and_then(|c| c.full_name.clone()),
            email: c.as_ref().and_then(|c| c.email.clone()),
            similarity: (n.similarity * 10_000.0).round() / 10_000.0,
            persona: personas.get(&n.customer_id).cloned(),
            cluster: n.cluster,
            cluster_name: n.cluster.and_then(|k| names.get(&k).cloned()),
        });
    }
    Ok(Some(Similar {
        cluster_name: own.cluster.and_then(|k| names.get(&k).cloned()),
        own,
        rows,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_spacing() {
        assert_eq!(fingerprint_kind("cart_abandoned"), EventKind::CartAbandon);
        assert_eq!(fingerprint_kind("add_to_cart"), EventKind::CartAdd);
        assert_eq!(fingerprint_kind("email_open"), EventKind::Open);
        assert_eq!(fingerprint_kind("Link Click"), EventKind::Click);
        assert_eq!(fingerprint_kind("page_view"), EventKind::Visit);
        assert_eq!(fingerprint_kind("refund_issued"), EventKind::Refund);
        assert_eq!(fingerprint_kind("signup"), EventKind::Other);
        assert_eq!(evenly_spaced(10, 4), vec![0, 2, 5, 7]);
        assert_eq!(evenly_spaced(3, 5), vec![0, 1, 2]);
    }

    #[test]
    fn cluster_size_follows_the_two_percent_rule() {
        let o = FingerprintOptions::default();
        assert_eq!(cluster_config(1_000, &o).min_cluster_size, 50);
        assert_eq!(cluster_config(5_000, &o).min_cluster_size, 100);
        // HDBSCAN sees at most 10,000 points: 2 % of those.
        assert_eq!(cluster_config(100_000, &o).min_cluster_size, 200);
    }
}
