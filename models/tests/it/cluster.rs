//! PCA + HDBSCAN on seeded blobs in fingerprint-sized space.

use aima_models::cluster::{ClusterConfig, ClusterError, cluster};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DIM: usize = 128;

fn normal(rng: &mut ChaCha8Rng) -> f32 {
    // Box-Muller.
    let u: f64 = 1.0 - rng.random::<f64>();
    let v: f64 = rng.random();
    ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
}

/// `blobs` Gaussian blobs (sd 0.3 per coordinate, centres 4 apart or more)
/// of `per` points each, then `noise` points uniform in [-12, 12]^DIM.
/// Labels: blob index, or None for the scattered points.
fn blobs(blobs: usize, per: usize, noise: usize, seed: u64) -> (Vec<f32>, Vec<Option<usize>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres: Vec<Vec<f32>> = (0..blobs)
        .map(|_| (0..DIM).map(|_| normal(&mut rng) * 0.5).collect())
        .collect();
    let mut data = Vec::new();
    let mut truth = Vec::new();
    for _ in 0..per {
        for (b, c) in centres.iter().enumerate() {
            data.extend(c.iter().map(|&x| x + 0.3 * normal(&mut rng)));
            truth.push(Some(b));
        }
    }
    for _ in 0..noise {
        data.extend((0..DIM).map(|_| rng.random_range(-12.0f32..12.0)));
        truth.push(None);
    }
    (data, truth)
}

/// Adjusted Rand index of two labelings (noise counted as its own label).
fn ari(a: &[Option<usize>], b: &[Option<usize>]) -> f64 {
    use std::collections::HashMap;
    let mut table: HashMap<(Option<usize>, Option<usize>), f64> = HashMap::new();
    let mut ra: HashMap<Option<usize>, f64> = HashMap::new();
    let mut rb: HashMap<Option<usize>, f64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1.0;
        *ra.entry(x).or_default() += 1.0;
        *rb.entry(y).or_default() += 1.0;
    }
    let c2 = |n: f64| n * (n - 1.0) / 2.0;
    let index: f64 = table.values().map(|&n| c2(n)).sum();
    let sa: f64 = ra.values().map(|&n| c2(n)).sum();
    let sb: f64 = rb.values().map(|&n| c2(n)).sum();
    let expected = sa * sb / c2(a.len() as f64);
    (index - expected) / ((sa + sb) / 2.0 - expected)
}

fn config() -> ClusterConfig {
    ClusterConfig {
        reduce_dims: 10,
        min_cluster_size: 30,
        min_samples: 10,
        ..ClusterConfig::default()
    }
}

#[test]
fn ari_helper_is_one_for_equal_partitions_and_low_for_random() {
    let a = [Some(0), Some(0), Some(1), Some(1), None];
    let b = [Some(5), Some(5), Some(2), Some(2), None];
    assert!((ari(&a, &b) - 1.0).abs() < 1e-12);
    let c = [Some(0), Some(1), Some(0), Some(1), Some(0)];
    assert!(ari(&a, &c) < 0.2);
}

#[test]
fn recovers_seeded_blobs_and_marks_scattered_points_as_noise() {
    let (data, truth) = blobs(4, 150, 40, 7);
    let res = cluster(&data, DIM, &config()).expect("cluster");
    assert_eq!(
        res.clusters.len(),
        4,
        "sizes {:?}",
        res.clusters.iter().map(|c| c.size).collect::<Vec<_>>()
    );
    let score = ari(&res.labels, &truth);
    assert!(score > 0.9, "ARI {score}");
    let noise_found = truth
        .iter()
        .zip(&res.labels)
        .filter(|(t, l)| t.is_none() && l.is_none())
        .count();
    assert!(
        noise_found >= 36,
        "{noise_found} of 40 scattered points are noise"
    );
    let blob_assigned = truth
        .iter()
        .zip(&res.labels)
        .filter(|(t, l)| t.is_some() && l.is_some())
        .count();
    assert!(
        blob_assigned >= 540,
        "{blob_assigned} of 600 blob points assigned"
    );

    // Ids by decreasing size; sizes and centroids agree with the labels.
    for w in res.clusters.windows(2) {
        assert!(w[0].size >= w[1].size);
    }
    for c in &res.clusters {
        let members: Vec<usize> = (0..res.labels.len())
            .filter(|&i| res.labels[i] == Some(c.id))
            .collect();
        assert_eq!(members.len(), c.size);
        let mean0: f32 = members.iter().map(|&i| data[i * DIM]).sum::<f32>() / c.size as f32;
        assert!((mean0 - c.centroid[0]).abs() < 1e-4);
    }
    // Blob members sit closer to their own centroid than to any other.
    for (i, d) in res.distances.iter().enumerate() {
        if let (Some(own), Some((other, od))) = (d.own, d.nearest_other) {
            assert_ne!(Some(other), res.labels[i]);
            assert!(own < od, "point {i}: own {own} vs other {od}");
        }
        if res.labels[i].is_none() {
            assert!(d.own.is_none() && d.nearest_other.is_some());
        }
    }
    assert!(res.outlier_scores.iter().all(|s| (0.0..=1.0).contains(s)));
}

#[test]
fn drift_distances_follow_a_point_toward_another_cluster() {
    let (data, _) = blobs(3, 100, 0, 21);
    let res = cluster(&data, DIM, &config()).expect("cluster");
    assert_eq!(res.clusters.len(), 3);
    let (a, b) = (&res.clusters[0], &res.clusters[1]);
    // Walk from centroid a to centroid b: own distance grows, the distance to
    // b shrinks, and past the midpoint b is nearer.
    let mut last_own = -1.0;
    for step in 0..=10 {
        let t = step as f32 / 10.0;
        let v: Vec<f32> = a
            .centroid
            .iter()
            .zip(&b.centroid)
            .map(|(x, y)| x + t * (y - x))
            .collect();
        let d = res.distances_for(&v, Some(a.id)).expect("distances");
        let own = d.own.expect("own");
        assert!(own > last_own);
        last_own = own;
        let (near, nd) = d.nearest_other.expect("other");
        if t > 0.5 {
            assert_eq!(near, b.id);
            assert!(nd < own);
        }
        if t < 0.5 {
            assert!(own < nd);
        }
    }
    assert!(matches!(
        res.distances_for(&[0.0; DIM], Some(9)),
        Err(ClusterError::UnknownCluster { id: 9, count: 3 })
    ));
    assert!(res.distances_for(&[0.0; 3], None).is_err());
}

#[test]
fn deterministic_and_invariant_to_row_order() {
    let (data, _) = blobs(3, 80, 20, 5);
    let a = cluster(&data, DIM, &config()).expect("a");
    let b = cluster(&data, DIM, &config()).expect("b");
    assert_eq!(a, b);
    // Reverse the rows: same partition (ids may differ only by order).
    let n = data.len() / DIM;
    let rev: Vec<f32> = (0..n)
        .rev()
        .flat_map(|i| data[i * DIM..(i + 1) * DIM].to_vec())
        .collect();
    let r = cluster(&rev, DIM, &config()).expect("rev");
    let back: Vec<Option<usize>> = (0..n).map(|i| r.labels[n - 1 - i]).collect();
    assert!((ari(&a.labels, &back) - 1.0).abs() < 1e-9);
}

#[test]
fn empty_tiny_and_degenerate_inputs() {
    assert!(matches!(
        cluster(&[], DIM, &config()),
        Err(ClusterError::Empty)
    ));
    assert!(matches!(
        cluster(&[1.0; 7], 2, &config()),
        Err(ClusterError::Shape { .. })
    ));
    // Fewer points than a cluster needs: all noise, no clusters.
    let (tiny, _) = blobs(1, 5, 0, 1);
    let res = cluster(&tiny, DIM, &config()).expect("tiny");
    assert_eq!(res.labels, vec![None; 5]);
    assert!(res.clusters.is_empty());
    assert!(
        res.distances
            .iter()
            .all(|d| d.own.is_none() && d.nearest_other.is_none())
    );
    // A single repeated point: an answer or a clear error, never a panic.
    let same = vec![0.5f32; 100 * DIM];
    match cluster(&same, DIM, &config()) {
        Ok(r) => assert_eq!(r.labels.len(), 100),
        Err(e) => assert!(matches!(e, ClusterError::Hdbscan { .. }), "{e}"),
    }
    let bad = ClusterConfig {
        min_cluster_size: 1,
        ..config()
    };
    assert!(matches!(
        cluster(&tiny, DIM, &bad),
        Err(ClusterError::InvalidConfig {
            field: "min_cluster_size",
            ..
        })
    ));
}

/// Benchmark: PCA + HDBSCAN of 100,000 seeded 128-d points (4 blobs and 4 %
/// scattered points). Run with
/// `cargo test --release -p aima-models --test it cluster::bench -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark: 100,000 points"]
fn bench_cluster_100k() {
    let n: usize = std::env::var("CL_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (data, truth) = blobs(4, n * 24 / 100, n * 4 / 100, 77);
    let env = |k: &str, d: usize| -> usize {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let cfg = ClusterConfig {
        min_cluster_size: env("CL_BENCH_MCS", n / 200),
        reduce_dims: env("CL_BENCH_K", ClusterConfig::default().reduce_dims),
        min_samples: env("CL_BENCH_MS", ClusterConfig::default().min_samples),
        max_hdbscan_points: env("CL_BENCH_MAX", ClusterConfig::default().max_hdbscan_points),
        seed: 3,
    };
    let t = std::time::Instant::now();
    let res = cluster(&data, DIM, &cfg).expect("cluster");
    println!(
        "cluster bench: {} points: {:.2} s, {} clusters, noise {}, ARI {:.3}",
        truth.len(),
        t.elapsed().as_secs_f64(),
        res.clusters.len(),
        res.noise_count(),
        ari(&res.labels, &truth)
    );
}

#[test]
fn sampled_hdbscan_assigns_the_rest_by_cluster_envelope() {
    let (data, truth) = blobs(4, 150, 40, 8);
    let cfg = ClusterConfig {
        max_hdbscan_points: 250,
        seed: 4,
        ..config()
    };
    let res = cluster(&data, DIM, &cfg).expect("cluster");
    assert_eq!(res.clusters.len(), 4);
    let score = ari(&res.labels, &truth);
    assert!(score > 0.9, "ARI {score}");
    let noise_found = truth
        .iter()
        .zip(&res.labels)
        .filter(|(t, l)| t.is_none() && l.is_none())
        .count();
    assert!(
        noise_found >= 36,
        "{noise_found} of 40 scattered points are noise"
    );
    assert!(res.outlier_scores.iter().all(|s| (0.0..=1.0).contains(s)));
    // Same seed, same result; the sizes add up.
    assert_eq!(res, cluster(&data, DIM, &cfg).expect("again"));
    let total: usize = res.clusters.iter().map(|c| c.size).sum();
    assert_eq!(total + res.noise_count(), truth.len());
    let bad = ClusterConfig {
        max_hdbscan_points: 5,
        ..config()
    };
    assert!(matches!(
        cluster(&data, DIM, &bad),
        Err(ClusterError::InvalidConfig {
            field: "max_hdbscan_points",
            ..
        })
    ));
}
