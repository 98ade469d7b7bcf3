//! Dimensionality reduction and density clustering of fingerprints.
//!
//! [`cluster`] runs two steps on `n` row-major vectors of dimension `dim`:
//!
//! 1. **PCA** to [`ClusterConfig::reduce_dims`] dimensions ([`Pca`]): the
//!    covariance matrix `C = X_cᵀ X_c / n` of the centred data is
//!    diagonalised by cyclic Jacobi rotations (exact, deterministic, no seed;
//!    `dim` is small, 128 in the product) and rows are projected onto the
//!    leading eigenvectors. This stands in for UMAP: the maintained Rust UMAP
//!    (`umap-rs`) needs an external approximate-nearest-neighbour graph and
//!    runs Hogwild SGD (not reproducible), while PCA is linear, exact and
//!    keeps 100,000 x 128 well inside the time budget. PCA preserves global
//!    distances rather than UMAP's local neighbourhoods, so density clusters
//!    must be separated in the leading components to be found.
//! 2. **HDBSCAN** (`petal-clustering`, Borůvka minimum spanning tree over a
//!    ball tree, excess-of-mass cluster selection) on the reduced vectors.
//!    Its cost grows faster than linearly (about 2 minutes of CPU for
//!    100,000 points in 10 dimensions), so above
//!    [`ClusterConfig::max_hdbscan_points`] it runs on a uniform sample of
//!    that many points drawn with [`ClusterConfig::seed`] (with
//!    `min_cluster_size` scaled by the sampling fraction, at least 2), and
//!    every other point joins the cluster whose sampled centroid (reduced
//!    space) is nearest **if** it lies within that cluster's envelope (the
//!    distance of its farthest sampled member from the centroid), otherwise
//!    it is noise. Their outlier score is that distance over the envelope
//!    radius (1 outside every envelope). This suits compact clusters; a
//!    strongly non-convex cluster can lose or gain edge points.
//!
//! Results ([`Clustering`]) carry labels (`None` = noise), clusters numbered
//! `0..k` by decreasing size (ties: smallest member index first), each
//! cluster's size and centroid **in the original fingerprint space** (the
//! plain mean of its members, not renormalised), GLOSH outlier scores, and
//! for every point the Euclidean distance (fingerprint space) to its own
//! centroid and to the nearest other centroid: the inputs of a drift alert
//! ("a fingerprint moving past a threshold toward another cluster").
//!
//! Everything is deterministic for a seed: only the sample draws random
//! numbers (ChaCha8 seeded with [`ClusterConfig::seed`]); at or below
//! `max_hdbscan_points` nothing is random at all.
//!
//! Inputs with fewer than `max(min_cluster_size, min_samples + 1)` points
//! give the documented degenerate result: every point is noise and there are
//! no clusters (the PCA is still fitted). Empty input is an error.

use ndarray::{Array2, Axis};
use petal_clustering::{Fit, HDbscan};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Errors of the clustering module.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No points were given.
    #[error("no points to cluster")]
    Empty,
    /// `data.len()` is not a multiple of `dim`, or `dim` is 0.
    #[error("data length {len} is not a positive multiple of dim {dim}")]
    Shape {
        /// Length of the flat data slice.
        len: usize,
        /// The declared dimension.
        dim: usize,
    },
    /// A value is NaN or infinite.
    #[error("point {row} coordinate {col} is not finite")]
    NonFinite {
        /// Row (point index).
        row: usize,
        /// Column (coordinate index).
        col: usize,
    },
    /// A configuration value is out of range.
    #[error("invalid cluster config: {field} {reason}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A cluster id does not exist.
    #[error("cluster {id} does not exist ({count} clusters)")]
    UnknownCluster {
        /// The id asked for.
        id: usize,
        /// How many clusters there are.
        count: usize,
    },
    /// The clustering library failed on this input.
    #[error("HDBSCAN failed: {reason}")]
    Hdbscan {
        /// The library's panic message.
        reason: String,
    },
}

/// Result alias of this module.
pub type Result<T> = std::result::Result<T, ClusterError>;

/// Parameters of [`cluster`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterConfig {
    /// PCA output dimension, at least 1 (clamped to `dim`).
    pub reduce_dims: usize,
    /// Smallest group HDBSCAN reports as a cluster, at least 2.
    pub min_cluster_size: usize,
    /// Neighbours defining a point's core distance (density), at least 1.
    pub min_samples: usize,
    /// Most points HDBSCAN itself sees; larger inputs are sampled (see the
    /// module docs). At least `max(min_cluster_size, min_samples + 1)`.
    pub max_hdbscan_points: usize,
    /// Seed of the sample.
    pub seed: u64,
}

impl Default for ClusterConfig {
    /// 5 PCA dimensions, clusters of at least 50 customers, 10 neighbours,
    /// HDBSCAN on at most 10,000 points, seed 0.
    fn default() -> Self {
        Self {
            reduce_dims: 5,
            min_cluster_size: 50,
            min_samples: 10,
            max_hdbscan_points: 10_000,
            seed: 0,
        }
    }
}

/// A fitted principal component analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pca {
    /// Input dimension.
    pub dim: usize,
    /// Mean of the fitted data (`dim` values).
    pub mean: Vec<f32>,
    /// `k` unit-norm principal axes, row-major (`k * dim`), by decreasing
    /// variance; each axis's largest-magnitude coordinate is positive.
    pub components: Vec<f32>,
    /// Variance along each axis (population variance, input units squared).
    pub explained_variance: Vec<f64>,
    /// `explained_variance / total variance`, each in [0, 1] (all 0 when the
    /// data have no variance).
    pub explained_variance_ratio: Vec<f64>,
}

/// Eigen-decomposition of a symmetric `d x d` matrix (row-major) by cyclic
/// Jacobi rotations. Returns (eigenvalues, eigenvectors as columns of a
/// row-major matrix).
fn jacobi_eigen(mut a: Vec<f64>, d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    let scale: f64 = a
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j] * a[i * d + j])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-13 * scale {
            break;
        }
        for p in 0..d {
            for q in (p + 1)..d {
                let apq = a[p * d + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}

fn check_data(data: &[f32], dim: usize) -> Result<usize> {
    if dim == 0 || !data.len().is_multiple_of(dim) {
        return Err(ClusterError::Shape {
            len: data.len(),
            dim,
        });
    }
    if data.is_empty() {
        return Err(ClusterError::Empty);
    }
    if let Some(i) = data.iter().position(|x| !x.is_finite()) {
        return Err(ClusterError::NonFinite {
            row: i / dim,
            col: i % dim,
        });
    }
    Ok(data.len() / dim)
}

impl Pca {
    /// Fits `k` components (clamped to `1..=dim`) to `n` row-major points.
    /// Errors: empty data, bad shape, non-finite values.
    pub fn fit(data: &[f32], dim: usize, k: usize) -> Result<Self> {
        let n = check_data(data, dim)?;
        let k = k.clamp(1, dim);
        let mut mean = vec![0f64; dim];
        for row in data.chunks_exact(dim) {
            for (m, &x) in mean.iter_mut().zip(row) {
                *m += f64::from(x);
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        // Upper triangle of the scatter matrix, accumulated in f64.
        let mut cov = vec![0f64; dim * dim];
        let mut centred = vec![0f64; dim];
        for row in data.chunks_exact(dim) {
            for ((c, &x), m) in centred.iter_mut().zip(row).zip(&mean) {
                *c = f64::from(x) - m;
            }
            for i in 0..dim {
                let ci = centred[i];
                let dst = &mut cov[i * dim + i..(i + 1) * dim];
                for (o, &cj) in dst.iter_mut().zip(&centred[i..]) {
                    *o += ci * cj;
                }
            }
        }
        for i in 0..dim {
            for j in i..dim {
                let v = cov[i * dim + j] / n as f64;
                cov[i * dim + j] = v;
                cov[j * dim + i] = v;
            }
        }
        let (vals, vecs) = jacobi_eigen(cov, dim);
        let mut order: Vec<usize> = (0..dim).collect();
        order.sort_by(|&a, &b| vals[b].total_cmp(&vals[a]).then(a.cmp(&b)));
        let total: f64 = vals.iter().map(|v| v.max(0.0)).sum();
        let mut components = Vec::with_capacity(k * dim);
        let mut explained_variance = Vec::with_capacity(k);
        for &c in order.iter().take(k) {
            let mut axis: Vec<f64> = (0..dim).map(|r| vecs[r * dim + c]).collect();
            let big = axis
                .iter()
                .copied()
                .fold(0.0f64, |b, x| if x.abs() > b.abs() { x } else { b });
            if big < 0.0 {
                axis.iter_mut().for_each(|x| *x = -*x);
            }
            components.extend(axis.iter().map(|&x| x as f32));
            explained_variance.push(vals[c].max(0.0));
        }
        let explained_variance_ratio = explained_variance
            .iter()
            .map(|v| if total > 0.0 { v / total } else { 0.0 })
            .collect();
        Ok(Self {
            dim,
            mean: mean.iter().map(|&m| m as f32).collect(),
            components,
            explained_variance,
            explained_variance_ratio,
        })
    }

    /// Number of components.
    pub fn k(&self) -> usize {
        self.explained_variance.len()
    }

    /// Projects row-major points of dimension `dim` onto the components:
    /// `y = (x - mean) · axis`, giving `n * k` values. Errors: bad shape,
    /// non-finite values.
    pub fn transform(&self, data: &[f32]) -> Result<Vec<f32>> {
        let n = check_data(data, self.dim)?;
        let k = self.k();
        let mut out = Vec::with_capacity(n * k);
        let mut centred = vec![0f32; self.dim];
        for row in data.chunks_exact(self.dim) {
            for ((c, &x), m) in centred.iter_mut().zip(row).zip(&self.mean) {
                *c = x - m;
            }
            for axis in self.components.chunks_exact(self.dim) {
                out.push(axis.iter().zip(&centred).map(|(a, c)| a * c).sum());
            }
        }
        Ok(out)
    }
}

/// One cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    /// Cluster id (`0..k`, by decreasing size).
    pub id: usize,
    /// Number of members.
    pub size: usize,
    /// Mean of the members' vectors in the input (fingerprint) space.
    pub centroid: Vec<f32>,
}

/// A point's distances to cluster centroids (Euclidean, fingerprint space).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CentroidDistances {
    /// Distance to the centroid of its own cluster; `None` for noise.
    pub own: Option<f32>,
    /// The nearest centroid of any *other* cluster (id, distance); for noise,
    /// the nearest centroid of all. `None` when there is no such cluster.
    pub nearest_other: Option<(usize, f32)>,
}

/// The result of [`cluster`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clustering {
    /// Input dimension.
    pub dim: usize,
    /// Per point (input order): its cluster id, or `None` for noise.
    pub labels: Vec<Option<usize>>,
    /// Clusters by id.
    pub clusters: Vec<Cluster>,
    /// Per point: distances to its own and the nearest other centroid.
    pub distances: Vec<CentroidDistances>,
    /// Per point: GLOSH outlier score in [0, 1] for points HDBSCAN saw, the
    /// envelope ratio for sampled-out points (see the module docs); higher
    /// = more outlying; 0 when every point is noise by the degenerate rule.
    pub outlier_scores: Vec<f32>,
    /// The fitted reduction (apply it to new fingerprints with
    /// [`Pca::transform`]).
    pub pca: Pca,
}

fn dist64<'a>(a: &[f64], b: impl Iterator<Item = &'a f64>) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// Runs library code that may panic on degenerate input, turning a panic
/// into [`ClusterError::Hdbscan`].
fn catch<T>(f: impl FnOnce() -> T) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| ClusterError::Hdbscan {
        reason: p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into()),
    })
}

fn dist(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

impl Clustering {
    /// Number of points labelled noise.
    pub fn noise_count(&self) -> usize {
        self.labels.iter().filter(|l| l.is_none()).count()
    }

    /// Distances of any vector (e.g. a customer's new fingerprint) to the
    /// centroid of cluster `own` (or none) and the nearest other centroid.
    /// Errors: wrong length, non-finite values, unknown `own`.
    pub fn distances_for(&self, v: &[f32], own: Option<usize>) -> Result<CentroidDistances> {
        check_data(v, self.dim)?;
        if v.len() != self.dim {
            return Err(ClusterError::Shape {
                len: v.len(),
                dim: self.dim,
            });
        }
        if let Some(id) = own.filter(|&id| id >= self.clusters.len()) {
            return Err(ClusterError::UnknownCluster {
                id,
                count: self.clusters.len(),
            });
        }
        Ok(centroid_distances(&self.clusters, v, own))
    }
}

fn centroid_distances(clusters: &[Cluster], v: &[f32], own: Option<usize>) -> CentroidDistances {
    let mut nearest: Option<(usize, f32)> = None;
    let mut own_d = None;
    for c in clusters {
        let d = dist(v, &c.centroid);
        if Some(c.id) == own {
            own_d = Some(d);
        } else if nearest.is_none_or(|(_, b)| d < b) {
            nearest = Some((c.id, d));
        }
    }
    CentroidDistances {
        own: own_d,
        nearest_other: nearest,
    }
}

/// Reduces `n` row-major vectors of dimension `dim` with PCA and clusters
/// them with HDBSCAN (see the module docs). Errors: empty input, bad shape,
/// non-finite values, invalid config, or a failure inside the HDBSCAN
/// library (reported, never a panic).
pub fn cluster(data: &[f32], dim: usize, config: &ClusterConfig) -> Result<Clustering> {
    if config.reduce_dims == 0 {
        return Err(ClusterError::InvalidConfig {
            field: "reduce_dims",
            reason: "must be at least 1".into(),
        });
    }
    if config.min_cluster_size < 2 {
        return Err(ClusterError::InvalidConfig {
            field: "min_cluster_size",
            reason: "must be at least 2".into(),
        });
    }
    if config.min_samples == 0 {
        return Err(ClusterError::InvalidConfig {
            field: "min_samples",
            reason: "must be at least 1".into(),
        });
    }
    let min_points = config.min_cluster_size.max(config.min_samples + 1);
    if config.max_hdbscan_points < min_points {
        return Err(ClusterError::InvalidConfig {
            field: "max_hdbscan_points",
            reason: format!("must be at least {min_points}"),
        });
    }
    let n = check_data(data, dim)?;
    let pca = Pca::fit(data, dim, config.reduce_dims)?;
    let k = pca.k();
    if n < min_points {
        return Ok(Clustering {
            dim,
            labels: vec![None; n],
            clusters: Vec::new(),
            distances: vec![
                CentroidDistances {
                    own: None,
                    nearest_other: None
                };
                n
            ],
            outlier_scores: vec![0.0; n],
            pca,
        });
    }
    let reduced: Vec<f64> = pca.transform(data)?.iter().map(|&x| f64::from(x)).collect();
    let all = Array2::from_shape_vec((n, k), reduced).map_err(|e| ClusterError::Hdbscan {
        reason: e.to_string(),
    })?;
    // The points HDBSCAN sees: all, or a seeded sample (sorted indices).
    let sample: Vec<usize> = if n > config.max_hdbscan_points {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut idx: Vec<usize> = (0..n).collect();
        for i in 0..config.max_hdbscan_points {
            let j = rng.random_range(i..n);
            idx.swap(i, j);
        }
        idx.truncate(config.max_hdbscan_points);
        idx.sort_unstable();
        idx
    } else {
        (0..n).collect()
    };
    let m = sample.len();
    let input = all.select(Axis(0), &sample);
    let min_cluster_size = if m < n {
        ((config.min_cluster_size as f64 * m as f64 / n as f64).round() as usize).max(2)
    } else {
        config.min_cluster_size
    };
    // Euclidean metric, alpha 1, Borůvka MST (the library's defaults).
    let mut hdb: HDbscan<f64, _> = HDbscan {
        min_samples: config.min_samples,
        min_cluster_size,
        boruvka: true,
        ..HDbscan::default()
    };
    let (found, _noise, sample_scores) = catch(|| hdb.fit(&input, None))?;
    let mut sample_label: Vec<Option<usize>> = vec![None; m];
    for (c, members) in &found {
        for &i in members {
            if let Some(l) = sample_label.get_mut(i) {
                *l = Some(*c);
            }
        }
    }
    // Map every point to a raw HDBSCAN label and a score.
    let mut raw: Vec<Option<usize>> = vec![None; n];
    let mut scores = vec![0f64; n];
    if m == n {
        raw = sample_label;
        for (s, &v) in scores.iter_mut().zip(&sample_scores) {
            *s = v;
        }
    } else {
        // Centroid and radius (farthest sampled member) of each sampled
        // cluster in the reduced space.
        let mut ids: Vec<usize> = found.keys().copied().collect();
        ids.sort_unstable();
        let mut cents: Vec<(usize, Vec<f64>, f64)> = Vec::with_capacity(ids.len());
        for &c in &ids {
            let members = &found[&c];
            let mut cent = vec![0f64; k];
            for &j in members {
                for (x, y) in cent.iter_mut().zip(input.row(j)) {
                    *x += y;
                }
            }
            cent.iter_mut()
                .for_each(|x| *x /= members.len().max(1) as f64);
            let radius = members
                .iter()
                .map(|&j| dist64(&cent, input.row(j).iter()))
                .fold(0.0, f64::max);
            cents.push((c, cent, radius));
        }
        let mut in_sample = vec![usize::MAX; n];
        for (j, &i) in sample.iter().enumerate() {
            in_sample[i] = j;
        }
        for i in 0..n {
            let j = in_sample[i];
            if j != usize::MAX {
                raw[i] = sample_label[j];
                scores[i] = sample_scores.get(j).copied().unwrap_or(0.0);
                continue;
            }
            let mut best: Option<(usize, f64, f64)> = None;
            for (c, cent, radius) in &cents {
                let d = dist64(cent, all.row(i).iter());
                if best.is_none_or(|(_, bd, _)| d < bd) {
                    best = Some((*c, d, *radius));
                }
            }
            match best {
                Some((c, d, radius)) if d <= radius => {
                    raw[i] = Some(c);
                    scores[i] = if radius > 0.0 { d / radius } else { 0.0 };
                }
                _ => scores[i] = 1.0,
            }
        }
    }
    let mut by_raw: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (i, l) in raw.iter().enumerate() {
        if let Some(c) = l {
            by_raw.entry(*c).or_default().push(i);
        }
    }
    let found = by_raw;
    // Deterministic ids: by size descending, then smallest member index.
    let mut groups: Vec<Vec<usize>> = found.into_values().filter(|m| !m.is_empty()).collect();
    groups.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    let mut labels = vec![None; n];
    let mut clusters = Vec::with_capacity(groups.len());
    for (id, members) in groups.iter().enumerate() {
        let mut centroid = vec![0f64; dim];
        for &i in members {
            labels[i] = Some(id);
            for (c, &x) in centroid.iter_mut().zip(&data[i * dim..(i + 1) * dim]) {
                *c += f64::from(x);
            }
        }
        clusters.push(Cluster {
            id,
            size: members.len(),
            centroid: centroid
                .iter()
                .map(|c| (c / members.len() as f64) as f32)
                .collect(),
        });
    }
    let distances = (0..n)
        .map(|i| centroid_distances(&clusters, &data[i * dim..(i + 1) * dim], labels[i]))
        .collect();
    let outlier_scores = (0..n)
        .map(|i| scores.get(i).map_or(0.0, |&s| s as f32))
        .collect();
    Ok(Clustering {
        dim,
        labels,
        clusters,
        distances,
        outlier_scores,
        pca,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_diagonalises_a_known_matrix() {
        // [[2,1],[1,2]] has eigenvalues 3 and 1 with axes (1,1)/√2, (1,-1)/√2.
        let (vals, vecs) = jacobi_eigen(vec![2.0, 1.0, 1.0, 2.0], 2);
        let mut v = vals.clone();
        v.sort_by(f64::total_cmp);
        assert!((v[0] - 1.0).abs() < 1e-12 && (v[1] - 3.0).abs() < 1e-12);
        let big = if vals[0] > vals[1] { 0 } else { 1 };
        let (x, y) = (vecs[big], vecs[2 + big]);
        assert!((x.abs() - y.abs()).abs() < 1e-12 && x * y > 0.0);
    }

    #[test]
    fn pca_finds_the_long_axis() {
        // Points along (3, 4)/5 with small noise across it.
        let mut data = Vec::new();
        for i in 0..=200 {
            let t = (i as f32 - 100.0) / 10.0;
            let e = if i % 2 == 0 { 0.05 } else { -0.05 };
            data.extend([
                3.0 / 5.0 * t - 4.0 / 5.0 * e + 1.0,
                4.0 / 5.0 * t + 3.0 / 5.0 * e - 2.0,
            ]);
        }
        let pca = Pca::fit(&data, 2, 2).expect("pca");
        assert!(
            (pca.components[0] - 0.6).abs() < 1e-4,
            "{:?}",
            pca.components
        );
        assert!((pca.components[1] - 0.8).abs() < 1e-4);
        assert!(pca.explained_variance_ratio[0] > 0.999);
        let sum: f64 = pca.explained_variance_ratio.iter().sum();
        assert!((sum - 1.0).abs() < 1e-9);
        assert!((pca.mean[0] - 1.0).abs() < 1e-3 && (pca.mean[1] + 2.0).abs() < 1e-3);
        // Projection variance equals the explained variance.
        let y = pca.transform(&data).expect("transform");
        let v0: f64 = y.chunks(2).map(|r| f64::from(r[0]).powi(2)).sum::<f64>() / 201.0;
        assert!((v0 - pca.explained_variance[0]).abs() < 1e-3 * v0);
    }

    #[test]
    fn shape_and_value_errors_name_the_input() {
        assert!(matches!(Pca::fit(&[], 3, 2), Err(ClusterError::Empty)));
        assert!(matches!(
            Pca::fit(&[1.0; 5], 2, 1),
            Err(ClusterError::Shape { len: 5, dim: 2 })
        ));
        assert!(matches!(
            Pca::fit(&[1.0, 2.0, f32::NAN, 1.0], 2, 1),
            Err(ClusterError::NonFinite { row: 1, col: 0 })
        ));
    }
}
