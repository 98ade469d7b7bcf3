//! M1/M6 in the running system: the features, drift and churn jobs on a
//! small seeded organization, the tools over what they stored, and the
//! planner answering "who are my at-risk customers and what should I do?".

use std::sync::Arc;

use aima_actors::intelligence::{IntelligenceJobs, PERSONA_DRIFT_ALERT};
use aima_actors::planner::{Planner, TurnOutcome};
use aima_actors::{Handlers, JobKind, JobRunner, Progress, Runtime, RuntimeEvent, RuntimeOptions};
use aima_runtime::events::EventBody;
use aima_runtime::llm::offline::OfflineProvider;
use aima_runtime::registry::ToolContext;
use aima_runtime::store::testing::Ctx;
use aima_runtime::store::{NewOrder, Store};

use crate::beans::{fixture, order};
use aima_runtime::store_tests;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

store_tests!(
    jobs_score_personas_churn_and_drift,
    planner_answers_at_risk_question
);

async fn jobs_score_personas_churn_and_drift(ctx: Ctx) {
    let store = &ctx.store;
    let (org, [steady, lapsed, _one_off]) = fixture(store, "beans").await;
    let jobs = IntelligenceJobs::new(store.clone());

    // Churn before enough data exists elsewhere: a clear error.
    let tiny = store.create_organization("tiny", "Tiny").await.unwrap().id;
    let err = jobs
        .run(JobKind::Churn, Some(tiny), Progress::none())
        .await
        .unwrap_err();
    assert!(
        err.message.contains("at least 20 customers"),
        "{}",
        err.message
    );
    let err = jobs
        .run(JobKind::Features, Some(tiny), Progress::none())
        .await
        .unwrap_err();
    assert!(err.message.contains("no customers"), "{}", err.message);

    let f = jobs
        .run(JobKind::Features, Some(org), Progress::none())
        .await
        .unwrap();
    assert_eq!(f["customers"], 60);
    assert_eq!(f["scored"], 60);
    let counted: u64 = f["personas"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(counted, 60);
    assert_eq!(f["transitions"], 60, "everyone gets a first persona");
    assert_eq!(f["alerts"], 0, "first personas are not drift");
    // The steady buyers are mostly Champions/Loyal, the lapsed ones are not.
    let assigned: std::collections::HashMap<Uuid, String> = store
        .segment_assignments(org, "rfm")
        .await
        .unwrap()
        .into_iter()
        .collect();
    let healthy = |ids: &[Uuid]| {
        ids.iter()
            .filter(|c| {
                matches!(
                    assigned[*c].as_str(),
                    "champions" | "loyal_customers" | "potential_loyalists"
                )
            })
            .count()
    };
    assert!(healthy(&steady) >= 15, "{assigned:?}");
    // Lapsed buyers are ranked against one-off buyers who are older still,
    // so some keep R = 3 (Loyal Customers), but none is a Champion.
    assert!(
        lapsed.iter().all(|c| assigned[c] != "champions"),
        "{assigned:?}"
    );
    assert!(healthy(&lapsed) < healthy(&steady), "{assigned:?}");

    let c = jobs
        .run(JobKind::Churn, Some(org), Progress::none())
        .await
        .unwrap();
    assert_eq!(c["customers"], 60);
    let preds = store.latest_churn_predictions(org).await.unwrap();
    assert_eq!(preds.len(), 180);
    let mut p90 = std::collections::HashMap::new();
    for chunk in preds.chunks(3) {
        let h: Vec<i64> = chunk.iter().map(|p| p.horizon_days).collect();
        assert_eq!(h, [30, 60, 90]);
        assert!(chunk.iter().all(|p| (0.0..=1.0).contains(&p.probability)));
        // P(no purchase within h) never grows with the horizon.
        assert!(chunk[0].probability + 1e-12 >= chunk[1].probability);
        assert!(chunk[1].probability + 1e-12 >= chunk[2].probability);
        assert!(chunk[0].clv.is_some_and(|v| v >= 0.0));
        p90.insert(chunk[0].customer_id, chunk[2].probability);
    }
    let mean = |ids: &[Uuid]| ids.iter().map(|c| p90[c]).sum::<f64>() / ids.len() as f64;
    assert!(
        mean(&lapsed) > mean(&steady) + 0.3,
        "lapsed {} steady {}",
        mean(&lapsed),
        mean(&steady)
    );
    let model = store
        .latest_model(Some(org), aima_actors::intelligence::CHURN_MODEL)
        .await
        .unwrap()
        .unwrap();
    assert!(model.metrics["bgnbd"]["r"].as_f64().unwrap() > 0.0);
    assert!(model.metrics["bgnbd"]["log_likelihood"].as_f64().unwrap() < 0.0);

    // Tools over what the jobs stored.
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
    let overview = registry
        .call(&cx, "segments_overview", json!({}))
        .await
        .unwrap();
    let segs = overview["segments"].as_array().unwrap();
    let total: u64 = segs.iter().map(|s| s["customers"].as_u64().unwrap()).sum();
    assert_eq!(total, 60);
    assert!(segs.iter().any(|s| s["mean_clv"].is_number()));
    let at_risk = registry
        .call(&cx, "at_risk_customers", json!({"limit": 5}))
        .await
        .unwrap();
    // A job run through the runtime reports its progress as events.
    let mut events = runtime.subscribe();
    let job = runtime
        .scheduler()
        .trigger(JobKind::Churn, Some(org))
        .await
        .unwrap();
    let mut steps = Vec::new();
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(60), events.recv())
            .await
            .expect("the churn job finishes")
            .unwrap()
        {
            RuntimeEvent::JobProgress {
                id,
                stage,
                done,
                total,
                organization_id,
                ..
            } if id == job => {
                assert_eq!(organization_id, Some(org));
                steps.push((stage, done, total));
            }
            RuntimeEvent::JobFinished { id, .. } if id == job => break,
            _ => {}
        }
    }
    assert_eq!(
        steps,
        [
            ("churn and CLV".to_owned(), 0, 1),
            ("churn and CLV".to_owned(), 1, 1)
        ]
    );
    let first = &at_risk["customers"][0];
    let first_id: Uuid = serde_json::from_value(first["customer_id"].clone()).unwrap();
    assert!(lapsed.contains(&first_id), "{at_risk}");
    assert!(first["intervention"].as_str().unwrap().len() > 5);
    let churn30 = registry
        .call(&cx, "churn_predictions", json!({"horizon": 30, "limit": 3}))
        .await
        .unwrap();
    assert_eq!(churn30["horizon_days"], 30);
    assert_eq!(churn30["matching"], 60);
    let bad = registry
        .call(&cx, "churn_predictions", json!({"horizon": 45}))
        .await;
    assert!(bad.is_err());
    let by_seg = registry
        .call(&cx, "clv_by_segment", json!({}))
        .await
        .unwrap();
    let n: u64 = by_seg["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["customers"].as_u64().unwrap())
        .sum();
    assert_eq!(n, 60);

    // The most valuable customers are the stored CLVs, highest first; a
    // segment keeps only its members.
    let valuable = registry
        .call(&cx, "most_valuable_customers", json!({"limit": 5}))
        .await
        .unwrap();
    assert_eq!(valuable["matching"], 60);
    let shown: Vec<f64> = valuable["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clv"].as_f64().unwrap())
        .collect();
    let mut stored: Vec<f64> = store
        .latest_churn_predictions(org)
        .await
        .unwrap()
        .iter()
        .filter(|p| p.horizon_days == 90)
        .filter_map(|p| p.clv)
        .collect();
    stored.sort_by(|a, b| b.total_cmp(a));
    assert_eq!(shown, stored[..5]);
    let total: f64 = stored.iter().sum();
    assert!((valuable["total_clv"].as_f64().unwrap() - total).abs() < 0.01);
    let persona = &assigned[&first_id];
    let members = registry
        .call(
            &cx,
            "most_valuable_customers",
            json!({"segment": persona, "limit": 100}),
        )
        .await
        .unwrap();
    let in_persona = assigned.values().filter(|p| *p == persona).count();
    assert_eq!(members["matching"].as_u64(), Some(in_persona as u64));
    assert!(
        members["customers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["segment"] == json!(persona))
    );
    assert!(
        registry
            .call(&cx, "most_valuable_customers", json!({"segment": "vip"}))
            .await
            .is_err()
    );

    // customer_profile carries what M1/M6 know about the customer.
    let profile = registry
        .call(
            &cx,
            "customer_profile",
            json!({"customer": first_id.to_string()}),
        )
        .await
        .unwrap();
    let intel = &profile["intelligence"];
    assert_eq!(intel["persona"], json!(assigned[&first_id]));
    assert_eq!(intel["churn_90d"].as_f64(), Some(p90[&first_id]));
    assert_eq!(intel["intervention"], first["intervention"]);
    assert!(
        intel["health_score"]
            .as_f64()
            .is_some_and(|h| (0.0..=100.0).contains(&h))
    );
    assert!(intel["clv"].is_number());

    // Drift: 200 days later only the one-off customers come back; the
    // steady buyers' recency grows and they fall out of their personas.
    let mut n = 10_000;
    let later: Vec<NewOrder> = _one_off
        .iter()
        .flat_map(|c| {
            [
                order(&mut n, *c, 540, 40.0, 1.0),
                order(&mut n, *c, 555, 45.0, 1.0),
                order(&mut n, *c, 560, 50.0, 1.0),
            ]
        })
        .collect();
    let mut tx = store.begin().await.unwrap();
    tx.insert_orders(org, &later).await.unwrap();
    tx.commit().await.unwrap();
    let d = jobs
        .run(JobKind::Drift, Some(org), Progress::none())
        .await
        .unwrap();
    assert!(d["alerts"].as_u64().unwrap() > 0, "{d}");
    let alerts = registry
        .call(&cx, "drift_alerts", json!({"limit": 100}))
        .await
        .unwrap();
    let list = alerts["alerts"].as_array().unwrap();
    assert_eq!(list.len() as u64, d["alerts"].as_u64().unwrap());
    let steady_alert = list
        .iter()
        .find(|a| {
            let id: Uuid = serde_json::from_value(a["customer_id"].clone()).unwrap();
            steady.contains(&id)
        })
        .expect("a steady buyer drifted");
    let before = steady_alert["before"]["recency_days"].as_f64().unwrap();
    let after = steady_alert["after"]["recency_days"].as_f64().unwrap();
    assert!(after > before + 150.0, "{steady_alert}");
    assert!(steady_alert["recommended_action"].as_str().unwrap().len() > 5);
    let stored = store
        .list_alerts_of_kind(org, PERSONA_DRIFT_ALERT, None, 100)
        .await
        .unwrap();
    assert!(stored.iter().all(|a| a.customer_id.is_some()));
    runtime.shutdown().await;
}

async fn planner_answers_at_risk_question(ctx: Ctx) {
    let store = &ctx.store;
    let (org, _) = fixture(store, "beans").await;
    let runtime = Runtime::start(
        store.clone(),
        Handlers::standard(store.clone()),
        RuntimeOptions::default(),
    )
    .await
    .unwrap();
    let registry = Arc::new(runtime.registry(aima_tools::catalog()));
    let planner = Planner::new(store.clone(), registry, Arc::new(OfflineProvider::new())).unwrap();
    let ask = |q: &'static str| {
        let planner = &planner;
        async move {
            let (tx, mut rx) = mpsc::unbounded_channel();
            let (_, outcome) = planner.ask(org, None, q, &tx).await.unwrap();
            drop(tx);
            let mut events = Vec::new();
            while let Some(e) = rx.recv().await {
                events.push(e);
            }
            (outcome, events)
        }
    };
    let question = "Who are my at-risk customers and what should I do?";
    // Before the jobs ran the tool says which job to run, and nothing is invented.
    let (outcome, events) = ask(question).await;
    let calls: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::ToolCall { tool, .. } => Some(tool.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(calls, ["at_risk_customers"]);
    let TurnOutcome::Answered { answer } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(answer.contains("churn job has not run"), "{answer}");

    let jobs = IntelligenceJobs::new(store.clone());
    jobs.run(JobKind::Features, Some(org), Progress::none())
        .await
        .unwrap();
    jobs.run(JobKind::Churn, Some(org), Progress::none())
        .await
        .unwrap();
    let (outcome, events) = ask(question).await;
    let result: Value = events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::ToolResult {
                tool,
                result: Some(r),
                ..
            } if tool == "at_risk_customers" => Some(r.clone()),
            _ => None,
        })
        .expect("at_risk_customers answered");
    let TurnOutcome::Answered { answer } = outcome else {
        panic!("{outcome:?}")
    };
    let first = &result["customers"][0];
    assert!(
        answer.contains(first["name"].as_str().unwrap()),
        "{answer}\n{result}"
    );
    assert!(
        answer.contains(first["intervention"].as_str().unwrap()),
        "{answer}"
    );
    let EventBody::Final { citations, .. } = &events.last().unwrap().body else {
        panic!("no final event")
    };
    assert!(citations.iter().any(|c| c.tool == "at_risk_customers"));
    runtime.shutdown().await;
}

/// The demo organization (CDNOW, 23,570 customers) scored end to end on
/// SQLite: how long features + personas and churn take, and what they find.
/// `cargo test --release -p aima-actors --test it demo_scale -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark on the demo data: run explicitly with --ignored --nocapture"]
async fn demo_scale_run_all() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(None, dir.path()).await.unwrap();
    store.migrate().await.unwrap();
    let org = store.create_organization("demo", "Demo").await.unwrap().id;
    aima_ingest::demo_install::install(&store, org, aima_ingest::demo::DEMO_SEED)
        .await
        .unwrap();
    let t = std::time::Instant::now();
    let f = aima_actors::intelligence::run_features(&store, org)
        .await
        .unwrap();
    let features_s = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let fp =
        aima_actors::intelligence::run_fingerprints(&store, org, &aima_actors::Progress::none())
            .await
            .unwrap();
    let fingerprints_s = t.elapsed().as_secs_f64();
    eprintln!("fingerprints {fingerprints_s:.1} s: {}", json!(fp));
    assert_eq!(fp.trained_on, 2_000);
    // A second run fine-tunes the stored weights (one epoch instead of two).
    let t = std::time::Instant::now();
    let again =
        aima_actors::intelligence::run_fingerprints(&store, org, &aima_actors::Progress::none())
            .await
            .unwrap();
    eprintln!(
        "fingerprints again {:.1} s: weights {}",
        t.elapsed().as_secs_f64(),
        json!(again.weights)
    );
    assert_eq!(again.weights.mode, "fine_tuned");
    let t = std::time::Instant::now();
    let c = aima_actors::intelligence::run_churn(&store, org)
        .await
        .unwrap();
    let churn_s = t.elapsed().as_secs_f64();
    eprintln!("features+personas {features_s:.1} s: {}", json!(f));
    eprintln!("churn+clv {churn_s:.1} s: {}", json!(c));
    assert_eq!(f.customers, 23_570);
    // Customers whose only orders are $0.00 have no purchase to model.
    assert!(
        c.customers > 23_400 && c.customers <= f.customers,
        "{}",
        c.customers
    );
    store.close().await;
}
