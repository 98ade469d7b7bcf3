//! The churn model choice per organization: BG/NBD and DeepHit compared on
//! the organization's holdout and both recorded, the better one served and
//! named by the registry and the tools, BG/NBD with the reason when the
//! data is too short, and the served network's weights stored and rebuilt;
//! and the model artifacts of the store.

use std::collections::HashMap;

use aima_actors::intelligence::{
    CHURN_MODEL, CHURN_TRAINING_STAGE, ChurnOptions, ServedModel, choose_served, org_data,
    run_churn_with, run_features, served_deephit,
};
use aima_actors::{Handlers, Progress, Runtime, RuntimeOptions};
use aima_models::evaluation::survival_inputs;
use aima_models::features;
use aima_runtime::registry::ToolContext;
use aima_runtime::store::testing::Ctx;
use aima_runtime::store::{Store, StoreError};
use aima_runtime::store_tests;
use serde_json::json;
use uuid::Uuid;

use crate::beans::fixture;

store_tests!(
    holdout_comparison_serves_the_better_model,
    served_deephit_weights_round_trip,
    model_artifacts_are_scoped_and_replaced
);

/// The beans organization (60 customers over 360 days) is small: the
/// comparison runs with a lower customer threshold and a quick network.
fn small() -> ChurnOptions {
    let mut o = ChurnOptions {
        min_holdout_customers: 20,
        ..ChurnOptions::default()
    };
    o.deephit.batch_size = 16;
    o.deephit.max_epochs = 30;
    o
}

async fn tool(store: &Store, org: Uuid, name: &str, args: serde_json::Value) -> serde_json::Value {
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
    let out = registry.call(&cx, name, args).await.unwrap();
    runtime.shutdown().await;
    out
}

async fn holdout_comparison_serves_the_better_model(ctx: Ctx) {
    let store = &ctx.store;
    let (org, _) = fixture(store, "beans").await;
    run_features(store, org).await.unwrap();

    // Too little data for the default threshold: BG/NBD, and why.
    let fallback = run_churn_with(store, org, &ChurnOptions::default(), &Progress::none())
        .await
        .unwrap();
    assert_eq!(fallback.served_model, ServedModel::Bgnbd);
    assert!(fallback.holdout.is_none());
    let why = fallback.holdout_skipped.clone().unwrap();
    assert!(why.contains("at least 200"), "{why}");
    let entry = store
        .latest_model(Some(org), CHURN_MODEL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.metrics["served_model"], "bgnbd");
    assert_eq!(entry.metrics["holdout"]["skipped"], json!(why));
    assert!(
        entry.metrics["served_reason"]
            .as_str()
            .unwrap()
            .contains("no holdout comparison"),
        "{}",
        entry.metrics
    );
    assert_eq!(entry.metrics["weights_stored"], false);
    assert_eq!(served_deephit(store, org).await.unwrap().map(|_| ()), None);

    // With the comparison: both models scored on the last 90 days, the
    // better one served, the registry naming it with the margins.
    let reports = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let progress = {
        let reports = reports.clone();
        Progress::new(move |stage, done, total| {
            reports
                .lock()
                .unwrap()
                .push((stage.to_owned(), done, total));
        })
    };
    let s = run_churn_with(store, org, &small(), &progress)
        .await
        .unwrap();
    let h = s.holdout.clone().unwrap();
    assert_eq!(s.holdout_skipped, None);
    assert_eq!(h.holdout_days, 90);
    assert_eq!((h.holdout_end - h.calibration_end).num_days(), 90);
    assert_eq!((h.calibration_end - h.training_as_of).num_days(), 90);
    // Everyone bought in the first 60 days; the 20 steady buyers go on
    // buying in the holdout, nobody else does.
    assert_eq!(h.customers, 60);
    assert_eq!(h.customers_without_purchase, 40);
    assert_eq!(h.deephit_training_customers, 60);
    for m in [&h.bgnbd, &h.deephit] {
        assert!((0.0..=1.0).contains(&m.auc), "{h:?}");
        assert!((0.0..=1.0).contains(&m.concordance), "{h:?}");
        assert!(m.ibs.is_finite() && m.ibs >= 0.0, "{h:?}");
    }
    // Steady against lapsed and one-off buyers is easy for both.
    assert!(h.bgnbd.auc > 0.9 && h.deephit.auc > 0.9, "{h:?}");
    let (better, reason) = choose_served(&h.bgnbd, &h.deephit);
    assert_eq!(h.better, better);
    assert_eq!(s.served_model, better);
    assert_eq!(s.served_reason, reason);
    assert!((h.deephit_minus_bgnbd.auc - (h.deephit.auc - h.bgnbd.auc)).abs() < 1e-12);
    let training: Vec<_> = reports
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.0 == CHURN_TRAINING_STAGE)
        .cloned()
        .collect();
    assert!(!training.is_empty());
    assert!(
        training.iter().all(|r| r.1 >= 1 && r.2 == 30),
        "{training:?}"
    );

    let entry = store
        .latest_model(Some(org), CHURN_MODEL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.version, s.model_version);
    let m = &entry.metrics;
    assert_eq!(m["served_model"], better.as_str());
    assert_eq!(m["served_reason"], json!(reason));
    assert_eq!(m["holdout"]["bgnbd"]["auc"], json!(h.bgnbd.auc));
    assert_eq!(
        m["holdout"]["deephit"]["concordance"],
        json!(h.deephit.concordance)
    );
    assert_eq!(m["holdout"]["better"], better.as_str());
    assert!(m["bgnbd"]["r"].as_f64().unwrap() > 0.0);

    // The tools say which model made the predictions.
    let churn = tool(store, org, "churn_predictions", json!({"limit": 3})).await;
    assert_eq!(churn["model"], better.as_str());
    assert_eq!(churn["model_version"], json!(s.model_version));
    let at_risk = tool(store, org, "at_risk_customers", json!({})).await;
    assert_eq!(at_risk["model"], better.as_str());
}

async fn served_deephit_weights_round_trip(ctx: Ctx) {
    let store = &ctx.store;
    let (org, [steady, lapsed, _]) = fixture(store, "beans").await;
    run_features(store, org).await.unwrap();
    let forced = ChurnOptions {
        serve: Some(ServedModel::Deephit),
        ..small()
    };
    let s = run_churn_with(store, org, &forced, &Progress::none())
        .await
        .unwrap();
    assert_eq!(s.served_model, ServedModel::Deephit);
    assert!(
        s.served_reason.contains("the options ask for it"),
        "{}",
        s.served_reason
    );
    let entry = store
        .latest_model(Some(org), CHURN_MODEL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.metrics["served_model"], "deephit");
    assert_eq!(entry.metrics["weights_stored"], true);
    assert_eq!(entry.metrics["deephit"]["training_customers"], 60);
    let artifact = store
        .load_model_artifact(org, entry.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(artifact.format, "safetensors");

    // The network rebuilt from the registry predicts exactly what was
    // stored: features as of the end of the last purchase day.
    let model = served_deephit(store, org).await.unwrap().unwrap();
    let input = store.analytics_input(org).await.unwrap();
    let end = input
        .orders
        .iter()
        .map(|o| o.ordered_at.date_naive())
        .max()
        .unwrap();
    let as_of = end.and_hms_opt(23, 59, 59).unwrap().and_utc().timestamp();
    let matrix = features::compute(&org_data(&input), as_of).unwrap();
    let curves = model.predict(&survival_inputs(&matrix)).unwrap();
    let stored: HashMap<(Uuid, i64), f64> = store
        .latest_churn_predictions(org)
        .await
        .unwrap()
        .into_iter()
        .map(|p| ((p.customer_id, p.horizon_days), p.probability))
        .collect();
    assert_eq!(stored.len(), 180);
    for (i, id) in input.customers.iter().enumerate() {
        for h in [30, 60, 90] {
            let want = curves[i].churn_probability(h as f64);
            assert!(
                (stored[&(*id, h)] - want).abs() < 1e-12,
                "customer {i} at {h} days: stored {} vs rebuilt {want}",
                stored[&(*id, h)]
            );
        }
    }
    // Steady buyers are predicted to stay more than lapsed ones.
    let mean = |ids: &[Uuid]| ids.iter().map(|c| stored[&(*c, 90)]).sum::<f64>() / 20.0;
    assert!(
        mean(&lapsed) > mean(&steady),
        "{} vs {}",
        mean(&lapsed),
        mean(&steady)
    );
    let churn = tool(store, org, "churn_predictions", json!({})).await;
    assert_eq!(churn["model"], "deephit");

    // A later BG/NBD run leaves no served network.
    let bg = ChurnOptions {
        serve: Some(ServedModel::Bgnbd),
        ..small()
    };
    run_churn_with(store, org, &bg, &Progress::none())
        .await
        .unwrap();
    assert!(served_deephit(store, org).await.unwrap().is_none());
}

async fn model_artifacts_are_scoped_and_replaced(ctx: Ctx) {
    let store = &ctx.store;
    let a = store.create_organization("a", "A").await.unwrap().id;
    let b = store.create_organization("b", "B").await.unwrap().id;
    let v1 = store
        .register_model(Some(a), "m", "1", json!({}), None)
        .await
        .unwrap();
    let other = store
        .register_model(Some(a), "other", "1", json!({}), None)
        .await
        .unwrap();
    assert_eq!(store.latest_model_artifact(a, "m").await.unwrap(), None);
    store
        .save_model_artifact(a, v1, "safetensors", b"one")
        .await
        .unwrap();
    store
        .save_model_artifact(a, other, "safetensors", b"other")
        .await
        .unwrap();
    let got = store.load_model_artifact(a, v1).await.unwrap().unwrap();
    assert_eq!(got.bytes, b"one");
    assert_eq!(got.model.version, "1");
    // Another organization neither reads nor writes it.
    assert_eq!(store.load_model_artifact(b, v1).await.unwrap(), None);
    assert!(matches!(
        store.save_model_artifact(b, v1, "safetensors", b"x").await,
        Err(StoreError::NotFound {
            entity: "model",
            ..
        })
    ));
    assert_eq!(store.latest_model_artifact(b, "m").await.unwrap(), None);
    // Saving again replaces; a newer version's weights replace the older
    // version's, not another model's.
    store
        .save_model_artifact(a, v1, "safetensors", b"one again")
        .await
        .unwrap();
    assert_eq!(
        store
            .load_model_artifact(a, v1)
            .await
            .unwrap()
            .unwrap()
            .bytes,
        b"one again"
    );
    let v2 = store
        .register_model(Some(a), "m", "2", json!({}), None)
        .await
        .unwrap();
    // A version without weights: the latest with weights is still v1.
    assert_eq!(
        store
            .latest_model_artifact(a, "m")
            .await
            .unwrap()
            .unwrap()
            .model
            .id,
        v1
    );
    store
        .save_model_artifact(a, v2, "safetensors", b"two")
        .await
        .unwrap();
    let latest = store.latest_model_artifact(a, "m").await.unwrap().unwrap();
    assert_eq!(
        (latest.model.id, latest.bytes.as_slice()),
        (v2, &b"two"[..])
    );
    assert_eq!(store.load_model_artifact(a, v1).await.unwrap(), None);
    assert!(store.load_model_artifact(a, other).await.unwrap().is_some());
}
