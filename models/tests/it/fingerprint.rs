//! The fingerprint transformer on a seeded synthetic population with four
//! known behaviour types.

use aima_models::fingerprint::{
    FingerprintConfig, FingerprintModel, Fingerprints, SeqEvent, TrainConfig, synthetic_population,
    train,
};

fn config() -> FingerprintConfig {
    FingerprintConfig {
        max_len: 32,
        d_model: 32,
        n_heads: 4,
        n_layers: 2,
        d_ff: 64,
        out_dim: 128,
        ..Default::default()
    }
}

fn train_config(seed: u64) -> TrainConfig {
    TrainConfig {
        epochs: 6,
        batch_size: 32,
        learning_rate: 3e-3,
        seed,
        ..Default::default()
    }
}

/// Leave-one-out k-NN (cosine = dot product of unit vectors) accuracy.
fn knn_accuracy(fp: &Fingerprints, labels: &[usize], k: usize) -> f64 {
    let n = fp.len();
    let mut correct = 0;
    for i in 0..n {
        let a = fp.row(i).expect("row");
        let mut sims: Vec<(f32, usize)> = (0..n)
            .filter(|&j| j != i)
            .map(|j| {
                let b = fp.row(j).expect("row");
                (a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>(), labels[j])
            })
            .collect();
        sims.sort_by(|x, y| y.0.total_cmp(&x.0));
        let mut votes = [0usize; 4];
        for &(_, l) in sims.iter().take(k) {
            votes[l] += 1;
        }
        let best = (0..4).max_by_key(|&l| (votes[l], 4 - l)).expect("4 labels");
        if best == labels[i] {
            correct += 1;
        }
    }
    correct as f64 / n as f64
}

#[test]
fn training_learns_behaviour_types_without_collapse() {
    let (seqs, _types, as_of) = synthetic_population(320, 24, 11);
    let refs: Vec<&[SeqEvent]> = seqs.iter().map(|s| s.as_slice()).collect();
    let mut steps = 0;
    let mut last_epoch = 0;
    let (model, metrics) = train(config(), &train_config(5), &refs, as_of, &mut |p| {
        assert_eq!(p.step, steps, "steps are reported in order");
        assert!(p.loss.is_finite());
        steps += 1;
        last_epoch = p.epoch;
    })
    .expect("train");
    assert_eq!(steps, metrics.steps);
    assert_eq!(last_epoch, 5);
    eprintln!("{metrics:?}");
    let first = metrics.epoch_losses[0];
    let last = *metrics.epoch_losses.last().expect("epochs");
    assert!(last < 0.8 * first, "loss fell: {:?}", metrics.epoch_losses);
    // Guessing uniformly among the five kinds the population uses scores 0.2
    // (the ceiling is about 0.5: amounts are masked too, so an order and an
    // open of a frequent buyer look alike).
    assert!(
        metrics.masked_kind_accuracy > 0.25,
        "masked-kind accuracy {}",
        metrics.masked_kind_accuracy
    );
    // InfoNCE at chance is ln(32) = 3.47.
    assert!(metrics.final_contrastive_loss < 2.0, "{metrics:?}");

    // Held-out customers of the same four types.
    let (test, test_types, as_of) = synthetic_population(400, 24, 99);
    let trefs: Vec<&[SeqEvent]> = test.iter().map(|s| s.as_slice()).collect();
    let fp = model.embed(&trefs, as_of, 128).expect("embed");
    assert_eq!((fp.len(), fp.dim), (400, 128));

    // No collapse: every dimension varies, and distinct customers differ.
    let n = fp.len() as f32;
    let mut low = 0;
    for d in 0..fp.dim {
        let col: Vec<f32> = (0..fp.len()).map(|i| fp.row(i).expect("row")[d]).collect();
        let mean = col.iter().sum::<f32>() / n;
        let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n;
        if var < 1e-5 {
            low += 1;
        }
    }
    assert!(
        low < fp.dim / 10,
        "{low} of {} dimensions are (nearly) constant",
        fp.dim
    );
    let mut min_dist = f32::INFINITY;
    for i in 0..50 {
        for j in (i + 1)..50 {
            let d: f32 = fp
                .row(i)
                .expect("row")
                .iter()
                .zip(fp.row(j).expect("row"))
                .map(|(x, y)| (x - y).powi(2))
                .sum();
            min_dist = min_dist.min(d.sqrt());
        }
    }
    assert!(
        min_dist > 1e-3,
        "two distinct customers share a fingerprint"
    );

    // Types are recoverable: chance is 0.25.
    let acc = knn_accuracy(&fp, &test_types, 5);
    eprintln!("knn {acc} low {low} min {min_dist}");
    assert!(acc > 0.85, "5-NN accuracy {acc}");
}

#[test]
fn same_seed_same_training() {
    let (seqs, _, as_of) = synthetic_population(96, 16, 3);
    let refs: Vec<&[SeqEvent]> = seqs.iter().map(|s| s.as_slice()).collect();
    let tc = TrainConfig {
        epochs: 2,
        ..train_config(8)
    };
    let c = FingerprintConfig {
        max_len: 16,
        d_model: 16,
        n_heads: 2,
        n_layers: 1,
        d_ff: 32,
        out_dim: 16,
        ..Default::default()
    };
    let (a, ma) = train(c.clone(), &tc, &refs, as_of, &mut |_| {}).expect("a");
    let (b, mb) = train(c.clone(), &tc, &refs, as_of, &mut |_| {}).expect("b");
    assert_eq!(ma, mb);
    assert_eq!(
        a.to_safetensors().expect("a"),
        b.to_safetensors().expect("b")
    );
    let other = TrainConfig { seed: 9, ..tc };
    let (o, _) = train(c, &other, &refs, as_of, &mut |_| {}).expect("o");
    assert_ne!(
        a.to_safetensors().expect("a"),
        o.to_safetensors().expect("o")
    );
}

#[test]
fn training_rejects_a_single_customer() {
    let (seqs, _, as_of) = synthetic_population(1, 8, 1);
    let refs: Vec<&[SeqEvent]> = seqs.iter().map(|s| s.as_slice()).collect();
    let r = train(config(), &train_config(1), &refs, as_of, &mut |_| {});
    assert!(r.is_err());
    let _ = FingerprintModel::new(config(), 0).expect("fresh model");
}
