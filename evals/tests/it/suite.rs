//! CI: the shipped suite on the offline provider, four runs per task, must
//! stay at or above the floor, and pass^4 must equal pass@1 (the offline
//! provider is deterministic).

use std::sync::Arc;

use aima_evals::report::Report;
use aima_evals::runner::Bench;
use aima_evals::task;
use aima_evals::world::{World, WorldConfig};
use aima_runtime::llm::offline::OfflineProvider;

use crate::tasks::{known_tools, shipped_dir};

/// Lowest overall pass@1 accepted. Measured: 0.650 (78 of 120, pass^4 0.650) on
/// 2026-12-05; raise it as the planner improves.
const FLOOR: f64 = 0.62;

/// Runs per task.
const K: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_suite_on_the_offline_provider_meets_the_floor() {
    let loaded = task::load_dir(&shipped_dir(), &known_tools()).unwrap();
    let seed = loaded[0].task.seed;
    assert!(
        loaded.iter().all(|t| t.task.seed == seed),
        "the shipped suite uses one world"
    );
    let world = World::generate(WorldConfig::new(seed)).unwrap();
    let resolved: Vec<_> = loaded
        .iter()
        .map(|t| task::resolve(t, &world).unwrap())
        .collect();
    let bench = Bench::start(world, Arc::new(OfflineProvider::new()))
        .await
        .unwrap();
    let runs = bench.run_all(&resolved, K, 4).await;
    bench.shutdown().await;
    let report = Report::build(&resolved, &runs, K);
    let mut summary = format!(
        "offline pass@1 {:.3}, pass^{K} {:.3}:",
        report.overall.pass_at_1, report.overall.pass_hat_k
    );
    for (c, s) in &report.categories {
        summary.push_str(&format!(" {c} {:.3}", s.pass_at_1));
    }
    eprintln!("{summary}");
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["overall"]["pass_at_1"].is_number() && json["tasks"][0]["id"].is_string());
    assert!(
        (report.overall.pass_hat_k - report.overall.pass_at_1).abs() < 1e-9,
        "the offline provider is not deterministic: {summary}"
    );
    assert!(
        report.overall.pass_at_1 >= FLOOR,
        "offline pass@1 fell below the floor {FLOOR}: {summary}\n{}",
        report.markdown()
    );
}
