//! The fingerprint job on a small seeded organization: vectors stored for
//! every customer with orders, clusters named with personas, the model
//! registered, neighbours of a steady buyer mostly steady buyers, and a
//! clear error when too few customers have events.

use std::collections::HashMap;
use std::sync::Arc;

use aima_actors::intelligence::{
    FINGERPRINT_DRIFT_ALERT, FINGERPRINT_MODEL, FingerprintOptions, IntelligenceError,
    StoredWeights, run_features, run_fingerprints_with, sequences,
};
use aima_actors::{Handlers, Progress, Runtime, RuntimeOptions};
use aima_models::fingerprint::{FingerprintConfig, FingerprintModel, SeqEvent};
use aima_runtime::registry::ToolContext;
use aima_runtime::store::NeighbourFilter;
use aima_runtime::store::testing::Ctx;

use crate::beans::fixture;
use aima_runtime::store_tests;
use serde_json::json;
use uuid::Uuid;

store_tests!(
    fingerprint_job_clusters_and_neighbours,
    stored_weights_reproduce_embeddings
);

fn options() -> FingerprintOptions {
    FingerprintOptions {
        epochs: 3,
        min_cluster_floor: 8,
        seed: 7,
        // Train afresh each run, so the drift check below sees what a fresh
        // model makes of the same data (stored weights: see
        // `stored_weights_reproduce_embeddings`).
        stored_weights: StoredWeights::Retrain,
        ..FingerprintOptions::default()
    }
}

async fn fingerprint_job_clusters_and_neighbours(ctx: Ctx) {
    let store = &ctx.store;

    // Too few customers with events: a clear error, nothing stored.
    let (small, _) = {
        let org = store.create_organization("tiny", "Tiny").await.unwrap().id;
        (org, ())
    };
    let err = run_fingerprints_with(store, small, &options(), &Progress::none())
        .await
        .unwrap_err();
    assert!(matches!(err, IntelligenceError::NotEnoughData { .. }));
    assert!(err.to_string().contains("at least 50"), "{err}");

    let (org, [steady, lapsed, one_off]) = fixture(store, "beans").await;
    run_features(store, org).await.unwrap();
    let runtime = Runtime::start(
        store.clone(),
        Handlers::standard(store.clone()),
        RuntimeOptions::default(),
    )
    .await
    .unwrap();
    let registry = runtime.registry(aima_tools::catalog());
    let cx = ToolContext {
        organization_id: org,
        thread_id: None,
    };
    // Before the job ran: a clear error naming the job; no clusters.
    let err = registry
        .call(
            &cx,
            "similar_customers",
            json!({"customer": "c0@example.com"}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no behavioural fingerprints yet"), "{err}");
    assert!(err.contains("features"), "{err}");
    let overview = registry
        .call(&cx, "segments_overview", json!({}))
        .await
        .unwrap();
    assert_eq!(overview["fingerprint_clusters"], json!([]));
    let reports = Arc::new(std::sync::Mutex::new(Vec::<(String, u64, u64)>::new()));
    let progress = {
        let reports = reports.clone();
        Progress::new(move |stage, done, total| {
            reports
                .lock()
                .unwrap()
                .push((stage.to_owned(), done, total));
        })
    };
    let s = run_fingerprints_with(store, org, &options(), &progress)
        .await
        .unwrap();
    assert_eq!(s.customers, 60);
    // Training steps in order up to the last, then embedding and clustering.
    let reports = reports.lock().unwrap().clone();
    let training: Vec<_> = reports
        .iter()
        .filter(|r| r.0 == "fingerprint training")
        .collect();
    assert!(training.len() >= 2, "{reports:?}");
    assert!(training.windows(2).all(|w| w[0].1 < w[1].1), "{reports:?}");
    let last = training.last().unwrap();
    assert_eq!(last.1, last.2, "{reports:?}");
    let stages: Vec<&str> = reports.iter().map(|r| r.0.as_str()).collect();
    let after: Vec<&str> = stages
        .iter()
        .copied()
        .skip_while(|s| *s == "fingerprint training")
        .collect();
    assert_eq!(
        after,
        ["embedding", "embedding", "clustering", "clustering"]
    );
    assert_eq!(reports.last().unwrap(), &("clustering".to_owned(), 1, 1));
    assert_eq!(s.trained_on, 60);
    assert!(s.final_loss.is_finite());
    assert!((0.0..=1.0).contains(&s.masked_kind_accuracy));
    assert!((0.0..=1.0).contains(&s.noise_share));
    assert_eq!(s.alerts, 0, "a first run has nothing to drift from");
    // Every customer with orders has a unit vector; labels match the sizes.
    let stored = store.fingerprints(org).await.unwrap();
    assert_eq!(stored.len(), 60);
    for f in &stored {
        let norm: f32 = f.vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "{norm}");
        assert_eq!(f.model_version, s.model_version);
    }
    assert!(!s.clusters.is_empty(), "{s:?}");
    let clustered = stored.iter().filter(|f| f.cluster.is_some()).count();
    assert_eq!(s.clusters.iter().map(|c| c.size).sum::<usize>(), clustered);
    let expected_noise = (60 - clustered) as f64 / 60.0;
    assert!((s.noise_share - expected_noise).abs() < 1e-9);
    // Every member purchased, so every cluster is named with a persona.
    for c in &s.clusters {
        assert!(c.persona.is_some(), "{c:?}");
        assert!(c.mean_health.is_some_and(|h| (0.0..=100.0).contains(&h)));
    }
    let model = store
        .latest_model(Some(org), FINGERPRINT_MODEL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(model.version, s.model_version);
    assert_eq!(model.metrics["weights_stored"], true);
    assert_eq!(model.metrics["weights"]["mode"], "trained");
    assert_eq!(
        model.metrics["clusters"].as_array().unwrap().len(),
        s.clusters.len()
    );

    // Neighbours of steady buyers are mostly steady buyers.
    let mut steady_hits = 0;
    let mut total = 0;
    for c in steady.iter().take(5) {
        let near = store
            .nearest_fingerprints(org, *c, 5, &NeighbourFilter::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(near.len(), 5);
        assert!(near.windows(2).all(|w| w[0].similarity >= w[1].similarity));
        steady_hits += near
            .iter()
            .filter(|n| steady.contains(&n.customer_id))
            .count();
        total += near.len();
    }
    assert!(
        steady_hits * 10 >= total * 7,
        "{steady_hits} of {total} neighbours of steady buyers are steady"
    );
    // One-off buyers look alike too, and unlike steady buyers.
    let near = store
        .nearest_fingerprints(org, one_off[0], 5, &NeighbourFilter::default())
        .await
        .unwrap()
        .unwrap();
    assert!(
        near.iter().all(|n| !steady.contains(&n.customer_id)),
        "{near:?}"
    );
    let _ = lapsed;

    // The tools over the stored fingerprints.
    let similar = registry
        .call(
            &cx,
            "similar_customers",
            json!({"customer": "c1@example.com", "limit": 5}),
        )
        .await
        .unwrap();
    assert_eq!(similar["customer_id"], json!(steady[1]));
    let rows = similar["customers"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    for r in rows {
        assert!(r["similarity"].as_f64().unwrap() <= 1.0);
        assert!(r["persona"].is_string(), "{r}");
        assert!(r["email"].as_str().unwrap().ends_with("@example.com"));
    }
    // By name, restricted to one persona: every neighbour is in it.
    let by_name = registry
        .call(
            &cx,
            "similar_customers",
            json!({"customer": "Customer 01", "segment": "Champions"}),
        )
        .await
        .unwrap();
    assert!(
        by_name["customers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["persona"] == "champions"),
        "{by_name}"
    );
    let unknown = registry
        .call(
            &cx,
            "similar_customers",
            json!({"customer": "nobody@nowhere"}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("no customer"), "{unknown}");
    let overview = registry
        .call(&cx, "segments_overview", json!({}))
        .await
        .unwrap();
    let clusters = overview["fingerprint_clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), s.clusters.len());
    assert!(
        clusters
            .iter()
            .all(|c| c["name"].is_string() && c["size"].as_u64() > Some(0))
    );
    let profile = registry
        .call(
            &cx,
            "customer_profile",
            json!({"customer": "c2@example.com"}),
        )
        .await
        .unwrap();
    let near = profile["intelligence"]["similar_customers"]
        .as_array()
        .unwrap();
    assert_eq!(near.len(), 5);
    assert_ne!(near[0]["customer_id"], json!(steady[2]));

    // Drift: pretend the previous run named every cluster Champions. The
    // next run (same data) moves everyone whose cluster is now named with
    // a worse persona, and each such move raises one alert.
    let fake: Vec<serde_json::Value> = s
        .clusters
        .iter()
        .map(|c| json!({"id": c.id, "persona": "champions", "name": "Champions", "size": c.size}))
        .collect();
    store
        .register_model(
            Some(org),
            FINGERPRINT_MODEL,
            "previous-all-champions",
            json!({ "clusters": fake }),
            None,
        )
        .await
        .unwrap();
    let again = run_fingerprints_with(store, org, &options(), &Progress::none())
        .await
        .unwrap();
    assert_ne!(again.model_version, s.model_version);
    assert_eq!(store.fingerprints(org).await.unwrap().len(), 60);
    let previously_clustered: std::collections::HashSet<Uuid> = stored
        .iter()
        .filter(|f| f.cluster.is_some())
        .map(|f| f.customer_id)
        .collect();
    let now = store.fingerprints(org).await.unwrap();
    let worse = now
        .iter()
        .filter(|f| previously_clustered.contains(&f.customer_id))
        .filter(|f| {
            f.cluster.is_some_and(|c| {
                again.clusters[c as usize]
                    .persona
                    .as_deref()
                    .is_some_and(|p| p != "champions")
            })
        })
        .count();
    assert_eq!(again.alerts, worse);
    assert!(worse > 0, "{again:?}");
    let alerts = store
        .list_alerts_of_kind(org, FINGERPRINT_DRIFT_ALERT, None, 100)
        .await
        .unwrap();
    assert_eq!(alerts.len(), worse);
    for a in &alerts {
        assert_eq!(a.details["from_cluster"]["name"], "Champions");
        assert_ne!(a.details["to_cluster"]["persona"], "champions");
        assert!(
            a.details["distance_to_own_centroid"]
                .as_f64()
                .is_some_and(|d| d >= 0.0)
        );
        assert!(a.customer_id.is_some());
    }
}

/// The vectors of the organization's stored fingerprints, by customer.
async fn vectors(store: &aima_runtime::store::Store, org: Uuid) -> HashMap<Uuid, Vec<f32>> {
    store
        .fingerprints(org)
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.customer_id, f.vector))
        .collect()
}

async fn stored_weights_reproduce_embeddings(ctx: Ctx) {
    let store = &ctx.store;
    let (org, [steady, _, _]) = fixture(store, "beans").await;
    run_features(store, org).await.unwrap();
    let reuse = FingerprintOptions {
        stored_weights: StoredWeights::Reuse,
        ..options()
    };
    // Nothing stored yet: Reuse trains afresh and says why.
    let first = run_fingerprints_with(store, org, &reuse, &Progress::none())
        .await
        .unwrap();
    assert_eq!(first.weights.mode, "trained");
    assert_eq!(first.weights.note.as_deref(), Some("no stored weights"));
    assert_eq!(first.trained_on, 60);
    let trained = vectors(store, org).await;

    // The stored weights round-trip: loaded again, they embed every
    // customer exactly as the run did before saving them.
    let artifact = store
        .latest_model_artifact(org, FINGERPRINT_MODEL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(artifact.model.version, first.model_version);
    assert_eq!(artifact.format, "safetensors");
    let config: FingerprintConfig =
        serde_json::from_value(artifact.model.metrics["config"].clone()).unwrap();
    assert_eq!(config, options().model);
    let model = FingerprintModel::from_safetensors(config, &artifact.bytes).unwrap();
    let input = store.analytics_input(org).await.unwrap();
    let seqs = sequences(&input);
    let as_of = input.orders.iter().map(|o| o.ordered_at).max().unwrap();
    let as_of_days = as_of.timestamp() as f64 / 86_400.0;
    let refs: Vec<&[SeqEvent]> = seqs.iter().map(Vec::as_slice).collect();
    let again = model.embed(&refs, as_of_days, 256).unwrap();
    for (i, id) in input.customers.iter().enumerate() {
        assert_eq!(
            again.row(i).unwrap(),
            trained[id].as_slice(),
            "customer {i}"
        );
    }

    // Reuse embeds with the stored weights without training: the very same
    // vectors, and the same neighbours.
    let near_before = store
        .nearest_fingerprints(org, steady[0], 5, &NeighbourFilter::default())
        .await
        .unwrap()
        .unwrap();
    let reused = run_fingerprints_with(store, org, &reuse, &Progress::none())
        .await
        .unwrap();
    assert_eq!(reused.weights.mode, "reused");
    assert_eq!(
        reused.weights.from_version.as_deref(),
        Some(first.model_version.as_str())
    );
    assert_eq!(reused.trained_on, 0);
    assert_eq!(reused.final_loss, first.final_loss);
    assert_eq!(vectors(store, org).await, trained);
    let near_after = store
        .nearest_fingerprints(org, steady[0], 5, &NeighbourFilter::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(near_before, near_after);
    // Only the latest weights are kept.
    let latest = store
        .latest_model_artifact(org, FINGERPRINT_MODEL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.model.version, reused.model_version);
    assert_eq!(latest.bytes, artifact.bytes);
    assert_eq!(
        store
            .load_model_artifact(org, artifact.model.id)
            .await
            .unwrap(),
        None
    );

    // Fine-tuning continues from them: one epoch, new weights.
    let tuned = run_fingerprints_with(
        store,
        org,
        &FingerprintOptions {
            stored_weights: StoredWeights::FineTune,
            ..options()
        },
        &Progress::none(),
    )
    .await
    .unwrap();
    assert_eq!(tuned.weights.mode, "fine_tuned");
    assert_eq!(
        tuned.weights.from_version.as_deref(),
        Some(reused.model_version.as_str())
    );
    let model = store
        .latest_model(Some(org), FINGERPRINT_MODEL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(model.metrics["epochs"], 1);
    assert_ne!(vectors(store, org).await, trained);

    // Another architecture cannot use them: trained afresh, with the reason.
    let other = FingerprintOptions {
        model: FingerprintConfig {
            out_dim: 16,
            ..options().model
        },
        ..reuse
    };
    let fresh = run_fingerprints_with(store, org, &other, &Progress::none())
        .await
        .unwrap();
    assert_eq!(fresh.weights.mode, "trained");
    assert!(
        fresh
            .weights
            .note
            .as_deref()
            .is_some_and(|n| n.contains("another architecture")),
        "{:?}",
        fresh.weights
    );
    assert_eq!(vectors(store, org).await.values().next().unwrap().len(), 16);
}
