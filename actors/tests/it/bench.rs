//! The actor hop's cost: a tool call through the module actor versus the
//! same handler called directly. A benchmark, not a test: run with
//! `cargo test -p aima-actors --release --test it bench -- --ignored --nocapture`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aima_actors::{Handlers, Runtime, RuntimeOptions};
use aima_runtime::registry::ToolHandler;
use aima_tools::Module;
use serde_json::json;

use crate::support::{TestTools, ctx, sqlite_store};

async fn time_calls(handler: &dyn ToolHandler, calls: u32) -> Duration {
    let ctx = ctx();
    let started = Instant::now();
    for i in 0..calls {
        let answer = handler.call(&ctx, "echo", json!({ "i": i })).await.unwrap();
        assert_eq!(answer["args"]["i"], i);
    }
    started.elapsed()
}

async fn actor_hop_overhead(flavor: &str) {
    let (store, _dir) = sqlite_store().await;
    let (tools, _started) = TestTools::new();
    let direct: Arc<dyn ToolHandler> = tools.clone();
    let runtime = Runtime::start(
        store,
        Handlers::new().with_tools(Module::Data, tools),
        RuntimeOptions::default(),
    )
    .await
    .unwrap();
    let through_actor = runtime.tool_handler(Module::Data);
    let calls = 20_000;
    // Warm up both paths.
    time_calls(direct.as_ref(), 1_000).await;
    time_calls(through_actor.as_ref(), 1_000).await;
    let direct_time = time_calls(direct.as_ref(), calls).await;
    let actor_time = time_calls(through_actor.as_ref(), calls).await;
    let per_call = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(calls);
    let (d, a) = (per_call(direct_time), per_call(actor_time));
    println!(
        "tool call ({flavor} runtime), {calls} sequential calls: direct {d:.2} µs/call, through the actor \
         {a:.2} µs/call, actor hop {:.2} µs (target < 20 µs)",
        a - d
    );
    runtime.shutdown().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
async fn actor_hop_overhead_one_thread() {
    actor_hop_overhead("one-thread").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
async fn actor_hop_overhead_two_threads() {
    actor_hop_overhead("two-thread").await;
}
