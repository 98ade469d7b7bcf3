//! `aima bench agent`: the agent runtime's overheads, each beside a baseline
//! measured in the same run.
//!
//! 1. Actor hop: a tool call through the module's actor (registry handler ->
//!    mailbox -> task -> reply) against calling the same handler directly.
//!    Target: the hop (difference per call) under 20 µs.
//! 2. Graph step: a one-node graph run with checkpoints in SQLite, and in
//!    memory, against calling the node's function directly.
//! 3. Conversations: the planner (offline provider) over the demo data, N
//!    conversations started at once, against the same questions asked one at
//!    a time: throughput, p50/p99 time to the first event (the turn's
//!    acceptance), to the plan (the first event that took work) and to the
//!    final answer, memory. Target: p99 time to first event under 50 ms at 1,000
//!    concurrent conversations on 2 cores.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aima_actors::planner::{Planner, TurnOutcome};
use aima_actors::{Handlers, Runtime, RuntimeOptions};
use aima_runtime::events::EventBody;
use aima_runtime::graph::{
    Checkpointer, END, MemoryCheckpointer, Node, RunOptions, START, StateGraph, StateSchema,
    StoreCheckpointer, Update,
};
use aima_runtime::llm::offline::OfflineProvider;
use aima_runtime::registry::{ToolContext, ToolError, ToolHandler};
use aima_runtime::store::Store;
use aima_tools::Module;
use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::peak_rss_mib;
use crate::cli::BenchAgentArgs;

/// The questions the conversations ask, in turn (real tools over the demo
/// data, one of them a module not built yet).
pub(crate) const QUESTIONS: &[&str] = &[
    "What was revenue by month in 1997?",
    "top 5 products in 1998",
    "how many customers are in Austin?",
    "find customers named Smith",
    "weekly revenue in March 1997",
    "did the last import work?",
    "which customers are about to churn?",
    "how many customers do we have?",
];

/// A handler that answers its arguments: the cheapest possible tool, so the
/// timing is the path, not the work.
struct Echo;

#[async_trait::async_trait]
impl ToolHandler for Echo {
    async fn call(&self, _ctx: &ToolContext, _name: &str, args: Value) -> Result<Value, ToolError> {
        Ok(args)
    }
}

fn micros(d: Duration, n: u32) -> f64 {
    d.as_secs_f64() * 1e6 / f64::from(n.max(1))
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The `q`-quantile (0..=1) of sorted `v`.
pub(crate) fn quantile(v: &[Duration], q: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i.min(v.len() - 1)]
}

async fn actor_hop(store: &Store, org: Uuid, calls: u32) -> Result<()> {
    let echo = Arc::new(Echo);
    let runtime = Runtime::start(
        store.clone(),
        Handlers::new().with_tools(Module::M1, echo.clone()),
        RuntimeOptions::default(),
    )
    .await?;
    let through = runtime.tool_handler(Module::M1);
    let ctx = ToolContext {
        organization_id: org,
        thread_id: None,
    };
    let args = json!({"n": 1});
    for _ in 0..1_000 {
        through.call(&ctx, "echo", args.clone()).await?;
    }
    let started = Instant::now();
    for _ in 0..calls {
        echo.call(&ctx, "echo", args.clone()).await?;
    }
    let direct = micros(started.elapsed(), calls);
    let started = Instant::now();
    for _ in 0..calls {
        through.call(&ctx, "echo", args.clone()).await?;
    }
    let actor = micros(started.elapsed(), calls);
    runtime.shutdown().await;
    outln!("actor hop ({calls} sequential calls):")?;
    outln!("  direct handler call      {direct:>9.2} µs/call   (baseline)")?;
    outln!(
        "  through the actor        {actor:>9.2} µs/call   ratio {:.1}x; hop {:.2} µs (target < 20 µs)",
        actor / direct.max(1e-9),
        actor - direct
    )?;
    Ok(())
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Counter {
    n: i64,
}

async fn graph_step(store: &Store, org: Uuid, steps: u32) -> Result<()> {
    let build = |checkpointer: Arc<dyn Checkpointer>| {
        let mut g = StateGraph::<Counter>::new(StateSchema::new());
        g.add_node(Node::new(
            "inc",
            ["n"],
            |s: Arc<Counter>, _ctx| async move { Ok(Update::new().set("n", s.n + 1)) },
        ))
        .add_edge(START, "inc")
        .add_edge("inc", END);
        g.compile(checkpointer)
    };
    let started = Instant::now();
    let mut state = Counter::default();
    for _ in 0..steps {
        let update = Update::new().set("n", state.n + 1);
        state = Counter {
            n: update.get("n").and_then(Value::as_i64).unwrap_or_default(),
        };
    }
    let direct = micros(started.elapsed(), steps);
    outln!("graph step ({steps} one-node runs, each a new thread: input + 1 superstep):")?;
    outln!("  node function direct     {direct:>9.2} µs/run    (baseline)")?;
    for (label, checkpointer) in [
        (
            "graph, memory checkpoints",
            Arc::new(MemoryCheckpointer::new()) as Arc<dyn Checkpointer>,
        ),
        (
            "graph, SQLite checkpoints",
            Arc::new(StoreCheckpointer::new(store.clone())),
        ),
    ] {
        let graph = build(checkpointer)?;
        let started = Instant::now();
        for i in 0..steps {
            graph
                .invoke(org, &format!("bench-{i}"), Update::new(), RunOptions::new())
                .await?;
        }
        let per = micros(started.elapsed(), steps);
        outln!(
            "  {label:<24} {per:>9.2} µs/run    overhead {:.2} µs",
            per - direct
        )?;
    }
    Ok(())
}

/// Times of one conversation: to its first event (the acceptance), to its
/// plan (the first event that took work: routing over the catalog), and to
/// its terminal event.
struct Timing {
    first: Duration,
    plan: Duration,
    last: Duration,
    answered: bool,
}

async fn converse(planner: Arc<Planner>, org: Uuid, question: &'static str) -> Timing {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let started = Instant::now();
    let task = tokio::spawn(async move { planner.ask(org, None, question, &tx).await });
    let mut first = None;
    let mut plan = None;
    let mut last = Duration::ZERO;
    let mut answered = false;
    while let Some(event) = rx.recv().await {
        let at = started.elapsed();
        first.get_or_insert(at);
        if matches!(event.body, EventBody::Plan { .. }) {
            plan.get_or_insert(at);
        }
        if event.body.is_terminal() {
            last = at;
            answered = matches!(event.body, EventBody::Final { .. });
        }
    }
    let ok = matches!(task.await, Ok(Ok((_, TurnOutcome::Answered { .. }))));
    Timing {
        first: first.unwrap_or(last),
        plan: plan.unwrap_or(last),
        last,
        answered: answered && ok,
    }
}

fn report_timings(label: &str, wall: Duration, timings: &[Timing]) -> Result<f64> {
    let sorted = |f: fn(&Timing) -> Duration| {
        let mut v: Vec<Duration> = timings.iter().map(f).collect();
        v.sort();
        v
    };
    let (first, plan, last) = (sorted(|t| t.first), sorted(|t| t.plan), sorted(|t| t.last));
    let answered = timings.iter().filter(|t| t.answered).count();
    let throughput = timings.len() as f64 / wall.as_secs_f64();
    outln!(
        "  {label:<28} {throughput:>6.1} conv/s  first event p50 {:>6.2} ms p99 {:>6.2} ms  plan p50 {:>8.2} ms p99 {:>8.2} ms  final p50 {:>8.2} ms p99 {:>8.2} ms  ({answered}/{} answered)",
        millis(quantile(&first, 0.5)),
        millis(quantile(&first, 0.99)),
        millis(quantile(&plan, 0.5)),
        millis(quantile(&plan, 0.99)),
        millis(quantile(&last, 0.5)),
        millis(quantile(&last, 0.99)),
        timings.len()
    )?;
    Ok(millis(quantile(&first, 0.99)))
}

async fn conversations(store: &Store, conversations: u32) -> Result<()> {
    let (org, _) = store
        .ensure_organization("bench-demo", "Bench demo")
        .await?;
    let summary =
        aima_ingest::demo_install::install(store, org.id, aima_ingest::demo::DEMO_SEED).await?;
    let runtime = Runtime::start(
        store.clone(),
        Handlers::standard(store.clone()),
        RuntimeOptions::default(),
    )
    .await?;
    let registry = Arc::new(runtime.registry(aima_tools::catalog()));
    let planner = Arc::new(Planner::new(
        store.clone(),
        registry,
        Arc::new(OfflineProvider::new()),
    )?);
    outln!(
        "planner conversations (offline provider, SQLite, demo data: {} customers, {} orders; {} questions in turn):",
        summary.customers,
        summary.orders,
        QUESTIONS.len()
    )?;
    let alone = conversations.clamp(1, 100);
    let started = Instant::now();
    let mut timings = Vec::new();
    for i in 0..alone {
        let q = QUESTIONS[i as usize % QUESTIONS.len()];
        timings.push(converse(planner.clone(), org.id, q).await);
    }
    report_timings(
        &format!("{alone} one at a time (baseline)"),
        started.elapsed(),
        &timings,
    )?;

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..conversations {
        let q = QUESTIONS[i as usize % QUESTIONS.len()];
        tasks.spawn(converse(planner.clone(), org.id, q));
    }
    let mut timings = Vec::new();
    while let Some(t) = tasks.join_next().await {
        timings.push(t?);
    }
    let p99 = report_timings(
        &format!("{conversations} at once"),
        started.elapsed(),
        &timings,
    )?;
    outln!(
        "  p99 time to first event at {conversations} concurrent: {p99:.2} ms (target < 50 ms)"
    )?;
    runtime.shutdown().await;
    if timings.iter().any(|t| !t.answered) {
        bail!("some conversations did not end in an answer");
    }
    Ok(())
}

/// Runs the agent benchmark (SQLite in a scratch directory).
pub async fn run(args: BenchAgentArgs) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(None, dir.path()).await?;
    store.migrate().await?;
    let (org, _) = store.ensure_organization("bench", "Bench").await?;
    outln!(
        "agent benchmark ({} worker threads)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    )?;
    actor_hop(&store, org.id, args.calls).await?;
    graph_step(&store, org.id, args.steps).await?;
    conversations(&store, args.conversations).await?;
    if let Some(mib) = peak_rss_mib() {
        outln!("peak memory of aima (VmHWM, demo load included): {mib:.0} MiB")?;
    }
    Ok(())
}
