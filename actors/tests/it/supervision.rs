//! A killed or panicking module actor: in-flight calls fail fast with
//! `Unavailable`, calls while it restarts fail fast, and it comes back.

use std::sync::Arc;
use std::time::Duration;

use aima_actors::{BackoffPolicy, Handlers, Runtime, RuntimeEvent, RuntimeOptions, WorkerId};
use aima_runtime::registry::{ToolError, ToolHandler};
use aima_tools::{Effect, Module, ToolSpec};
use serde_json::json;

use crate::support::{TestTools, ctx, sqlite_store, wait_for};

const DATA: WorkerId = WorkerId::Module(Module::Data);

/// A backoff so long that the actor only comes back through `restart_now`:
/// the "restarting" window is then the test's to end.
fn held_backoff() -> BackoffPolicy {
    BackoffPolicy {
        initial: Duration::from_secs(3600),
        max: Duration::from_secs(3600),
        reset_after: Duration::from_secs(3600),
    }
}

/// A runtime whose data actor answers with `tools` and comes back only
/// through `restart_now`.
async fn held_runtime(store: aima_runtime::store::Store, tools: Arc<dyn ToolHandler>) -> Runtime {
    Runtime::start(
        store,
        Handlers::new().with_tools(Module::Data, tools),
        RuntimeOptions {
            backoff: held_backoff(),
            ..RuntimeOptions::default()
        },
    )
    .await
    .unwrap()
}

fn down(actor: &'static str) -> impl FnMut(&RuntimeEvent) -> Option<String> {
    move |e| match e {
        RuntimeEvent::ActorDown {
            actor: a, reason, ..
        } if a == actor => Some(reason.clone()),
        _ => None,
    }
}

fn restarted(actor: &'static str) -> impl FnMut(&RuntimeEvent) -> Option<u32> {
    move |e| match e {
        RuntimeEvent::ActorRestarted {
            actor: a,
            failures_in_a_row,
        } if a == actor => Some(*failures_in_a_row),
        _ => None,
    }
}

fn assert_unavailable(result: Result<serde_json::Value, ToolError>, tool: &str) -> String {
    match result {
        Err(ToolError::Unavailable { tool: t, reason }) => {
            assert_eq!(t, tool);
            assert!(reason.contains("restarting"), "{reason}");
            let message = ToolError::Unavailable {
                tool: t,
                reason: reason.clone(),
            }
            .to_string();
            assert!(message.ends_with("; retry"), "{message}");
            reason
        }
        other => panic!("expected Unavailable for `{tool}`, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_actor_fails_calls_fast_and_comes_back() {
    let (store, _dir) = sqlite_store().await;
    let (tools, mut started) = TestTools::new();
    let runtime = held_runtime(store, tools).await;
    let data = runtime.tool_handler(Module::Data);
    let ctx = ctx();
    let answer = data.call(&ctx, "echo", json!({"n": 1})).await.unwrap();
    assert_eq!(answer["args"]["n"], 1);
    assert_eq!(answer["org"], json!(ctx.organization_id));

    let mut events = runtime.subscribe();
    let in_flight = {
        let data = data.clone();
        let ctx = ctx.clone();
        tokio::spawn(async move { data.call(&ctx, "slow", json!({})).await })
    };
    assert_eq!(started.recv().await.as_deref(), Some("slow"));
    runtime.actor(DATA).await.expect("data actor is up").kill();

    // The call in flight hears at once (the call timeout is 30 s: a Timeout
    // here would mean it waited).
    let reason = assert_unavailable(in_flight.await.unwrap(), "slow");
    assert!(reason.contains("during the call"), "{reason}");

    // While it is down, calls fail fast with the same advice.
    let reason = wait_for(&mut events, down("data")).await;
    assert!(reason.contains("kill"), "{reason}");
    assert!(runtime.actor(DATA).await.is_none());
    let reason = assert_unavailable(data.call(&ctx, "echo", json!({})).await, "echo");
    assert!(reason.contains("the data actor is restarting"), "{reason}");

    // Other modules are unaffected.
    let m1 = runtime.tool_handler(Module::M1);
    assert!(matches!(
        m1.call(&ctx, "segment_summary", json!({})).await,
        Err(ToolError::NotImplemented { .. })
    ));

    runtime.restart_now(DATA);
    assert_eq!(wait_for(&mut events, restarted("data")).await, 1);
    let answer = data.call(&ctx, "echo", json!({"n": 2})).await.unwrap();
    assert_eq!(answer["args"]["n"], 2);
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_restarts_its_actor_and_fails_other_calls_in_flight() {
    // `boom` panics on the actor's own first poll of the call, `late_boom`
    // in the task the call continues in: the same outcome either way.
    panicking_handler("boom").await;
    panicking_handler("late_boom").await;
}

async fn panicking_handler(tool: &'static str) {
    let (store, _dir) = sqlite_store().await;
    let (tools, mut started) = TestTools::new();
    let runtime = held_runtime(store, tools).await;
    let data = runtime.tool_handler(Module::Data);
    let ctx = ctx();
    let mut events = runtime.subscribe();

    let slow = {
        let (data, ctx) = (data.clone(), ctx.clone());
        tokio::spawn(async move { data.call(&ctx, "slow", json!({})).await })
    };
    assert_eq!(started.recv().await.as_deref(), Some("slow"));
    // The panicking call itself and the other call in flight both hear
    // Unavailable; the actor goes down with the panic's text.
    assert_unavailable(data.call(&ctx, tool, json!({})).await, tool);
    assert_unavailable(slow.await.unwrap(), "slow");
    let reason = wait_for(&mut events, down("data")).await;
    assert!(
        reason.contains(&format!("tool `{tool}` panicked")),
        "{reason}"
    );
    assert!(reason.contains("a bug in the handler"), "{reason}");
    assert_unavailable(data.call(&ctx, "echo", json!({})).await, "echo");

    runtime.restart_now(DATA);
    wait_for(&mut events, restarted("data")).await;
    assert!(data.call(&ctx, "echo", json!({})).await.is_ok());
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_back_off_exponentially() {
    let (store, _dir) = sqlite_store().await;
    let (tools, _started) = TestTools::new();
    let runtime = Runtime::start(
        store,
        Handlers::new().with_tools(Module::Data, tools),
        RuntimeOptions {
            backoff: BackoffPolicy {
                initial: Duration::from_millis(5),
                max: Duration::from_millis(20),
                reset_after: Duration::from_secs(3600),
            },
            ..RuntimeOptions::default()
        },
    )
    .await
    .unwrap();
    let mut events = runtime.subscribe();
    let mut waits = Vec::new();
    for round in 1..=4 {
        runtime.actor(DATA).await.expect("data actor is up").kill();
        let wait = wait_for(&mut events, |e| match e {
            RuntimeEvent::ActorDown {
                actor, restart_in, ..
            } if actor == "data" => Some(*restart_in),
            _ => None,
        })
        .await;
        waits.push(wait.as_millis());
        // It comes back by itself after the wait.
        assert_eq!(wait_for(&mut events, restarted("data")).await, round);
    }
    assert_eq!(waits, vec![5, 10, 20, 20]);
    let data = runtime.tool_handler(Module::Data);
    assert!(data.call(&ctx(), "echo", json!({})).await.is_ok());
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_time_out_and_unbuilt_modules_say_so() {
    let (store, _dir) = sqlite_store().await;
    let (tools, _started) = TestTools::new();
    let runtime = Runtime::start(
        store,
        Handlers::new().with_tools(Module::Data, tools),
        RuntimeOptions {
            call_timeout: Duration::from_millis(100),
            ..RuntimeOptions::default()
        },
    )
    .await
    .unwrap();
    let ctx = ctx();
    let data = runtime.tool_handler(Module::Data);
    assert_eq!(
        data.call(&ctx, "slow", json!({})).await,
        Err(ToolError::Timeout {
            tool: "slow".to_owned(),
            after_ms: 100
        })
    );
    // The actor is still up after a timeout.
    assert!(data.call(&ctx, "echo", json!({})).await.is_ok());

    // The registry routes every tool to its module's actor.
    let spec = |name: &str, module: Module| ToolSpec {
        name: name.to_owned(),
        description: format!("test tool {name}"),
        effect: Effect::ReadOnly,
        module,
        input_schema: json!({"type": "object"}),
        output_schema: json!({"type": "object"}),
        examples: vec![],
    };
    let registry = runtime.registry(vec![
        spec("echo", Module::Data),
        spec("segment_summary", Module::M1),
        spec("churn_risk", Module::M6),
    ]);
    assert_eq!(registry.specs().count(), 3);
    let echoed = registry
        .call(&ctx, "echo", json!({"x": true}))
        .await
        .unwrap();
    assert_eq!(echoed["args"]["x"], true);
    assert_eq!(
        registry.call(&ctx, "segment_summary", json!({})).await,
        Err(ToolError::NotImplemented {
            tool: "segment_summary".to_owned(),
            module: "M1 customer intelligence".to_owned()
        })
    );
    assert_eq!(
        registry.call(&ctx, "churn_risk", json!({})).await,
        Err(ToolError::NotImplemented {
            tool: "churn_risk".to_owned(),
            module: "M6 CLV and churn".to_owned()
        })
    );
    assert!(matches!(
        registry.call(&ctx, "nope", json!({})).await,
        Err(ToolError::UnknownTool { .. })
    ));
    let _: Arc<dyn ToolHandler> = runtime.tool_handler(Module::M2);
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_shutdown_calls_are_unavailable() {
    let (store, _dir) = sqlite_store().await;
    let runtime = Runtime::start(store, Handlers::new(), RuntimeOptions::default())
        .await
        .unwrap();
    let m3 = runtime.tool_handler(Module::M3);
    runtime.shutdown().await;
    match m3.call(&ctx(), "draft_message", json!({})).await {
        Err(ToolError::Unavailable { reason, .. }) => {
            assert!(reason.contains("shut down"), "{reason}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_is_supervised_too() {
    let (store, _dir) = sqlite_store().await;
    let runtime = Runtime::start(
        store,
        Handlers::new(),
        RuntimeOptions {
            backoff: BackoffPolicy {
                initial: Duration::from_millis(5),
                max: Duration::from_millis(5),
                reset_after: Duration::from_secs(3600),
            },
            ..RuntimeOptions::default()
        },
    )
    .await
    .unwrap();
    let mut events = runtime.subscribe();
    let scheduler = runtime.scheduler();
    assert_eq!(scheduler.schedules().await.unwrap().len(), 6);
    runtime
        .scheduler_actor()
        .await
        .expect("scheduler is up")
        .kill();
    wait_for(&mut events, down("scheduler")).await;
    wait_for(&mut events, restarted("scheduler")).await;
    let schedules = scheduler.schedules().await.unwrap();
    assert_eq!(schedules.len(), 6);
    assert!(
        schedules
            .iter()
            .all(|s| matches!(s.state, aima_actors::ScheduleState::WaitingForModule { .. }))
    );
    runtime.shutdown().await;
}

/// A task whose teardown blocks until the test opens the gate.
struct Blocker(Option<std::sync::mpsc::Receiver<()>>);

impl Drop for Blocker {
    fn drop(&mut self) {
        if let Some(gate) = self.0.take() {
            // Bounded, so a broken test cannot hang the suite.
            let _ = gate.recv_timeout(Duration::from_secs(30));
        }
    }
}

/// `stuck`: holds a [`Blocker`] and never answers; `boom`: panics.
struct GatedTools {
    gate: std::sync::Mutex<Option<std::sync::mpsc::Receiver<()>>>,
    started: tokio::sync::mpsc::UnboundedSender<()>,
}

#[async_trait::async_trait]
impl ToolHandler for GatedTools {
    async fn call(
        &self,
        _ctx: &aima_runtime::registry::ToolContext,
        name: &str,
        _args: serde_json::Value,
    ) -> Result<serde_json::Value, ToolError> {
        match name {
            "stuck" => {
                let _blocker = Blocker(self.gate.lock().unwrap().take());
                let _ = self.started.send(());
                std::future::pending::<()>().await;
                unreachable!()
            }
            "boom" => panic!("boom"),
            _ => Ok(json!({})),
        }
    }
}

/// ractor reports a failed actor before its aborted tasks are gone; the
/// supervisor restarts it (and recovers its jobs) only once they are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_waits_until_the_dead_actors_tasks_are_gone() {
    let (store, _dir) = sqlite_store().await;
    let (open, gate) = std::sync::mpsc::channel();
    let (started, mut started_rx) = tokio::sync::mpsc::unbounded_channel();
    let tools = Arc::new(GatedTools {
        gate: std::sync::Mutex::new(Some(gate)),
        started,
    });
    let runtime = held_runtime(store, tools).await;
    let data = runtime.tool_handler(Module::Data);
    let ctx = ctx();
    let mut events = runtime.subscribe();
    let stuck = {
        let (data, ctx) = (data.clone(), ctx.clone());
        tokio::spawn(async move { data.call(&ctx, "stuck", json!({})).await })
    };
    started_rx.recv().await.unwrap();
    assert_unavailable(data.call(&ctx, "boom", json!({})).await, "boom");
    wait_for(&mut events, down("data")).await;

    // The aborted `stuck` task is still tearing down: no restart yet.
    runtime.restart_now(DATA);
    let early = tokio::time::timeout(
        Duration::from_millis(300),
        wait_for(&mut events, restarted("data")),
    )
    .await;
    assert!(early.is_err(), "restarted before the old tasks were gone");
    assert_unavailable(data.call(&ctx, "echo", json!({})).await, "echo");

    open.send(()).unwrap();
    wait_for(&mut events, restarted("data")).await;
    assert!(data.call(&ctx, "echo", json!({})).await.is_ok());
    assert_unavailable(stuck.await.unwrap(), "stuck");
    runtime.shutdown().await;
}
