//! `aima bench run`: AIMA-Bench's tasks against the planner (the runner,
//! scorers and report live in `aima-evals`).

use std::collections::BTreeMap;
use std::sync::Arc;

use aima_evals::report::Report;
use aima_evals::runner::Bench;
use aima_evals::task::{self, Resolved};
use aima_evals::world::{World, WorldConfig};
use aima_runtime::config::Config;
use aima_runtime::llm::{LlmConfig, ProviderKind, build_provider};
use anyhow::{Context, Result, bail};

use crate::cli::{BenchProvider, BenchRunArgs, ReportFormat};

/// Loads the tasks, runs them per seed, prints or writes the report.
pub async fn run(config: &Config, args: BenchRunArgs) -> Result<()> {
    let known: Vec<String> = aima_tools::catalog().into_iter().map(|t| t.name).collect();
    let mut loaded = task::load_dir(&args.tasks, &known)?;
    if let Some(seed) = args.seed {
        loaded.retain(|t| t.task.seed == seed);
        if loaded.is_empty() {
            bail!(
                "no task in {} is written for seed {seed}",
                args.tasks.display()
            );
        }
    }
    let mut by_seed: BTreeMap<u64, Vec<task::LoadedTask>> = BTreeMap::new();
    for t in loaded {
        by_seed.entry(t.task.seed).or_default().push(t);
    }
    let provider: Arc<dyn aima_runtime::llm::LlmProvider> = match args.provider {
        BenchProvider::Offline => Arc::new(aima_runtime::llm::offline::OfflineProvider::new()),
        BenchProvider::Openai => {
            let mut llm = LlmConfig::from_config(config)?;
            llm.provider = ProviderKind::OpenAi;
            build_provider(&llm)?
        }
    };
    let k = args.k as usize;
    let mut all_tasks: Vec<Resolved> = Vec::new();
    let mut all_runs = Vec::new();
    for (seed, tasks) in by_seed {
        let world = World::generate(WorldConfig::new(seed))?;
        let resolved = tasks
            .iter()
            .map(|t| task::resolve(t, &world))
            .collect::<Result<Vec<_>, _>>()?;
        eprintln!(
            "aima bench run: world seed {seed}: loading and analysing, then {} tasks x {k}",
            resolved.len()
        );
        let bench = Bench::start(world, Arc::clone(&provider))
            .await
            .with_context(|| format!("starting the world of seed {seed}"))?;
        let loaded = bench.summary();
        eprintln!(
            "aima bench run: world seed {seed}: {} customers, {} orders, {} events loaded in {:.1} s, analysed in {:.1} s",
            loaded.customers, loaded.orders, loaded.events, loaded.load_s, loaded.analyse_s
        );
        let started = std::time::Instant::now();
        let runs = bench.run_all(&resolved, k, args.concurrency).await;
        eprintln!(
            "aima bench run: world seed {seed}: {} task runs in {:.1} s",
            resolved.len() * k,
            started.elapsed().as_secs_f64()
        );
        bench.shutdown().await;
        all_tasks.extend(resolved);
        all_runs.extend(runs);
    }
    let report = Report::build(&all_tasks, &all_runs, k);
    let text = match args.format {
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        ReportFormat::Markdown => report.markdown(),
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "aima bench run: pass@1 {:.3}, pass^{k} {:.3} over {} tasks; report in {}",
                report.overall.pass_at_1,
                report.overall.pass_hat_k,
                report.overall.tasks,
                path.display()
            );
        }
        None => out!("{text}")?,
    }
    Ok(())
}
