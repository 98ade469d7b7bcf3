//! CI: the shipped suite on the offline provider, four runs per task, must
//! stay at or above the floor, and pass^4 must equal pass@1 (the offline
//! provider is deterministic). The holdout set (`evals/tasks-holdout/`, not
//! tuned on) runs on the same world and planner and must stay at or above
//! its own floor: a planner tuned to the shipped wordings that stops
//! generalising fails here.

use std::sync::Arc;

use aima_evals::report::Report;
use aima_evals::runner::Bench;
use aima_evals::task;
use aima_evals::world::{World, WorldConfig};
use aima_runtime::llm::offline::OfflineProvider;

use crate::tasks::{holdout_dir, known_tools, shipped_dir};

/// Lowest overall pass@1 accepted. Measured: 0.992 (121 of 122, pass^4 0.992)
/// on 2026-12-06 (0.650 before the planner was tuned); raise it as the planner
/// improves.
const FLOOR: f64 = 0.97;

/// Lowest overall pass@1 accepted on the holdout set. Measured on 2026-12-05:
/// 0.325 (13 of 40) before any tuning, 0.500 (20 of 40) after tuning on the
/// shipped tasks, 0.625 (25 of 40) after a second round tuned on fresh
/// phrasings kept outside the repository; 0.659 (27 of 41) on 2026-12-06.
/// Never tune the planner to the holdout wordings to raise it.
const HOLDOUT_FLOOR: f64 = 0.63;

/// Runs per task.
const K: usize = 4;

/// Runs per holdout task (enough to check determinism there too).
const HOLDOUT_K: usize = 2;

fn summary(name: &str, report: &Report, k: usize) -> String {
    let mut summary = format!(
        "{name}: offline pass@1 {:.3}, pass^{k} {:.3}:",
        report.overall.pass_at_1, report.overall.pass_hat_k
    );
    for (c, s) in &report.categories {
        summary.push_str(&format!(" {c} {:.3}", s.pass_at_1));
    }
    summary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_suite_on_the_offline_provider_meets_the_floor() {
    let known = known_tools();
    let loaded = task::load_dir(&shipped_dir(), &known).unwrap();
    let holdout = task::load_dir(&holdout_dir(), &known).unwrap();
    let seed = loaded[0].task.seed;
    assert!(
        loaded.iter().chain(&holdout).all(|t| t.task.seed == seed),
        "the shipped suite and the holdout set use one world"
    );
    let world = World::generate(WorldConfig::new(seed)).unwrap();
    let resolve = |tasks: &[task::LoadedTask]| -> Vec<_> {
        tasks
            .iter()
            .map(|t| task::resolve(t, &world).unwrap())
            .collect()
    };
    let resolved = resolve(&loaded);
    let resolved_holdout = resolve(&holdout);
    let bench = Bench::start(world, Arc::new(OfflineProvider::new()))
        .await
        .unwrap();
    let runs = bench.run_all(&resolved, K, 4).await;
    let started = std::time::Instant::now();
    let runs_holdout = bench.run_all(&resolved_holdout, HOLDOUT_K, 4).await;
    let holdout_time = started.elapsed();
    bench.shutdown().await;
    let report = Report::build(&resolved, &runs, K);
    let report_holdout = Report::build(&resolved_holdout, &runs_holdout, HOLDOUT_K);
    let summary_shipped = summary("shipped", &report, K);
    let summary_holdout = summary("holdout", &report_holdout, HOLDOUT_K);
    eprintln!("{summary_shipped}");
    eprintln!("{summary_holdout} ({:.1} s)", holdout_time.as_secs_f64());
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["overall"]["pass_at_1"].is_number() && json["tasks"][0]["id"].is_string());
    for (r, s) in [
        (&report, &summary_shipped),
        (&report_holdout, &summary_holdout),
    ] {
        assert!(
            (r.overall.pass_hat_k - r.overall.pass_at_1).abs() < 1e-9,
            "the offline provider is not deterministic: {s}"
        );
    }
    assert!(
        report.overall.pass_at_1 >= FLOOR,
        "offline pass@1 fell below the floor {FLOOR}: {summary_shipped}\n{}",
        report.markdown()
    );
    assert!(
        report_holdout.overall.pass_at_1 >= HOLDOUT_FLOOR,
        "offline pass@1 on the holdout set fell below {HOLDOUT_FLOOR}: {summary_holdout}\n{}",
        report_holdout.markdown()
    );
}
