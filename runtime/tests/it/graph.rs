//! The state graph engine: building, supersteps, reducers, retries,
//! interrupts, streaming, and checkpoints in memory and in the store (both
//! backends).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aima_runtime::graph::{
    Checkpointer, CompiledGraph, DeltaKind, END, GraphError, MemoryCheckpointer, Node, NodeError,
    Reducer, Resume, RetryPolicy, RunOptions, RunOutcome, START, SendTo, StateGraph, StateSchema,
    StoreCheckpointer, StreamEvent, StreamMode, TaskSpec, Update,
};
use aima_runtime::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{Barrier, mpsc};
use uuid::Uuid;

use crate::harness::{Ctx, store_tests};

store_tests!(
    thread_resumes_after_restart,
    checkpoints_are_deltas_scoped_by_organization,
    compact_and_prune_threads,
    sent_tasks_persist_and_resume_one_by_one,
);

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct St {
    log: Vec<String>,
    n: i64,
    answer: String,
    facts: serde_json::Map<String, Value>,
    approval: Option<Value>,
}

fn schema() -> StateSchema {
    StateSchema::new()
        .reducer("log", Reducer::Append)
        .reducer("n", Reducer::Sum)
        .reducer("facts", Reducer::Merge)
}

fn memory() -> Arc<dyn Checkpointer> {
    Arc::new(MemoryCheckpointer::new())
}

/// A node that appends its name to `log` and adds `add` to `n`.
fn logger(name: &'static str, add: i64) -> Node<St> {
    Node::new(name, ["log", "n"], move |_s: Arc<St>, _ctx| async move {
        Ok(Update::new().set("log", [name]).set("n", add))
    })
}

fn done(outcome: RunOutcome<St>) -> St {
    match outcome {
        RunOutcome::Done { state, .. } => state,
        other => panic!("expected Done, got {other:?}"),
    }
}

#[tokio::test]
async fn linear_graph_runs_to_end() {
    let mut g = StateGraph::new(schema());
    g.add_node(logger("a", 1))
        .add_node(Node::new(
            "b",
            ["answer", "log"],
            |s: Arc<St>, _ctx| async move {
                Ok(Update::new()
                    .set("answer", format!("n={}", s.n))
                    .set("log", ["b"]))
            },
        ))
        .add_edge(START, "a")
        .add_edge("a", "b")
        .add_edge("b", END);
    let g = g.compile(memory()).unwrap();
    let org = Uuid::now_v7();
    let state = done(
        g.invoke(
            org,
            "t",
            Update::new().set("log", ["input"]),
            RunOptions::new(),
        )
        .await
        .unwrap(),
    );
    assert_eq!(state.log, ["input", "a", "b"]);
    assert_eq!(
        state.answer, "n=1",
        "b sees a's update in the next superstep"
    );
    // A second turn on the same thread reduces the new input into the kept state.
    let state = done(
        g.invoke(org, "t", Update::new().set("n", 10), RunOptions::new())
            .await
            .unwrap(),
    );
    assert_eq!(state.log, ["input", "a", "b", "a", "b"]);
    assert_eq!(state.n, 12);
    assert_eq!(state.answer, "n=12");
}

#[tokio::test]
async fn parallel_branches_run_concurrently_and_merge_through_reducers() {
    let barrier = Arc::new(Barrier::new(2));
    let joined = Arc::new(AtomicU32::new(0));
    let branch = |name: &'static str, key: &'static str| {
        let barrier = barrier.clone();
        Node::new(name, ["log", "n", "facts"], move |s: Arc<St>, _ctx| {
            let barrier = barrier.clone();
            async move {
                // Both branches must be in flight at once to pass the barrier.
                tokio::time::timeout(Duration::from_secs(10), barrier.wait())
                    .await
                    .map_err(|_| NodeError::fatal("the other branch never ran concurrently"))?;
                assert!(
                    s.log.iter().all(|l| l == "start"),
                    "same snapshot: {:?}",
                    s.log
                );
                Ok(Update::new()
                    .set("log", [name])
                    .set("n", 5)
                    .set("facts", json!({ key: name })))
            }
        })
    };
    let counter = joined.clone();
    let mut g = StateGraph::new(schema());
    g.add_node(logger("start", 0))
        .add_node(branch("left", "l"))
        .add_node(branch("right", "r"))
        .add_node(Node::new("join", ["log"], move |_s: Arc<St>, _ctx| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Ok(Update::new().set("log", ["join"])) }
        }))
        .add_edge(START, "start")
        .add_edge("start", "left")
        .add_edge("start", "right")
        .add_edge("left", "join")
        .add_edge("right", "join")
        .add_edge("join", END);
    let g = g.compile(memory()).unwrap();
    let state = done(
        g.invoke(Uuid::now_v7(), "t", Update::new(), RunOptions::new())
            .await
            .unwrap(),
    );
    // Updates are applied in scheduling order, whatever order the tasks end in.
    assert_eq!(state.log, ["start", "left", "right", "join"]);
    assert_eq!(state.n, 10);
    assert_eq!(
        Value::Object(state.facts),
        json!({"l": "left", "r": "right"})
    );
    assert_eq!(joined.load(Ordering::SeqCst), 1, "join runs once");
}

#[tokio::test]
async fn parallel_writes_to_a_replace_key_refuse_to_build() {
    let writer = |name: &'static str| {
        Node::new(name, ["answer"], |_s: Arc<St>, _ctx| async {
            Ok(Update::new().set("answer", "x"))
        })
    };
    let build = |schema: StateSchema| {
        let mut g = StateGraph::<St>::new(schema);
        g.add_node(logger("start", 0))
            .add_node(writer("left"))
            .add_node(writer("right"))
            .add_edge(START, "start")
            .add_edge("start", "left")
            .add_edge("start", "right")
            .add_edge("left", END)
            .add_edge("right", END);
        g.compile(memory()).map(|_| ())
    };
    match build(schema()) {
        Err(GraphError::ConflictingWrites { key, first, second }) => {
            assert_eq!(key, "answer");
            assert_eq!((first.as_str(), second.as_str()), ("left", "right"));
        }
        other => panic!("expected ConflictingWrites, got {other:?}"),
    }
    let text = build(schema()).unwrap_err().to_string();
    assert!(text.contains("\"answer\"") && text.contains("\"left\"") && text.contains("\"right\""));
    // With a reducer on the key the same graph builds.
    let concat = Reducer::custom(|a, b| {
        Ok(json!(format!(
            "{}{}",
            a.as_str().unwrap_or(""),
            b.as_str().unwrap_or("")
        )))
    });
    build(schema().reducer("answer", concat)).unwrap();

    // Alternatives of one single-choice router never share a superstep ...
    let routed = |fanout: bool| {
        let mut g = StateGraph::<St>::new(schema());
        g.add_node(logger("start", 0))
            .add_node(writer("left"))
            .add_node(writer("right"))
            .add_edge(START, "start")
            .add_edge("left", END)
            .add_edge("right", END);
        if fanout {
            g.add_fanout_edge("start", ["left", "right"], |_s| vec!["left".into()]);
        } else {
            g.add_conditional_edge("start", ["left", "right"], |_s| "left");
        }
        g.compile(memory()).map(|_| ())
    };
    routed(false).unwrap();
    // ... but targets of a fan-out router may.
    assert!(matches!(
        routed(true),
        Err(GraphError::ConflictingWrites { .. })
    ));

    // Branches of different lengths meet: a (1 step) and b -> c (2 steps) do
    // not overlap, but a -> d and b -> c do (both in superstep 2).
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("a", 0))
        .add_node(logger("b", 0))
        .add_node(writer("c"))
        .add_node(writer("d"))
        .add_edge(START, "a")
        .add_edge(START, "b")
        .add_edge("a", "d")
        .add_edge("b", "c")
        .add_edge("c", END)
        .add_edge("d", END);
    assert!(matches!(
        g.compile(memory()),
        Err(GraphError::ConflictingWrites { ref key, .. }) if key == "answer"
    ));
}

#[tokio::test]
async fn build_errors_name_the_mistake() {
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("a", 0)).add_node(logger("a", 0));
    assert!(matches!(
        g.compile(memory()),
        Err(GraphError::InvalidNodeName { ref name, .. }) if name == "a"
    ));
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("a", 0))
        .add_edge(START, "a")
        .add_edge("a", "nowhere");
    assert!(matches!(
        g.compile(memory()),
        Err(GraphError::UnknownNode { ref missing, .. }) if missing == "nowhere"
    ));
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("a", 0)).add_edge(START, "a");
    assert!(matches!(g.compile(memory()), Err(GraphError::DeadEnd { ref node }) if node == "a"));
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("a", 0)).add_edge("a", END);
    assert!(matches!(g.compile(memory()), Err(GraphError::NoEntry)));
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(Node::new("a", ["nope"], |_s: Arc<St>, _ctx| async {
        Ok(Update::new())
    }))
    .add_edge(START, "a")
    .add_edge("a", END);
    assert!(matches!(
        g.compile(memory()),
        Err(GraphError::UndeclaredKey { ref key, .. }) if key == "nope"
    ));
    let mut g = StateGraph::<St>::new(schema().reducer("typo", Reducer::Sum));
    g.add_node(logger("a", 0))
        .add_edge(START, "a")
        .add_edge("a", END);
    assert!(matches!(
        g.compile(memory()),
        Err(GraphError::UndeclaredKey { ref key, .. }) if key == "typo"
    ));
}

#[tokio::test]
async fn undeclared_writes_and_bad_values_fail_the_run() {
    let run = |update: Update| async move {
        let mut g = StateGraph::<St>::new(schema());
        g.add_node(Node::new("a", ["n"], move |_s: Arc<St>, _ctx| {
            let update = update.clone();
            async move { Ok(update) }
        }))
        .add_edge(START, "a")
        .add_edge("a", END);
        let g = g.compile(memory()).unwrap();
        g.invoke(Uuid::now_v7(), "t", Update::new(), RunOptions::new())
            .await
    };
    assert!(matches!(
        run(Update::new().set("answer", "x")).await,
        Err(GraphError::UndeclaredWrite { ref node, ref key }) if node == "a" && key == "answer"
    ));
    assert!(matches!(
        run(Update::new().set("n", "many")).await,
        Err(GraphError::InvalidUpdate { ref key, .. }) if key == "n"
    ));
    done(run(Update::new().set("n", 2)).await.unwrap());
}

#[tokio::test]
async fn conditional_loop_and_recursion_limit() {
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("inc", 1))
        .add_edge(START, "inc")
        .add_conditional_edge(
            "inc",
            ["inc", END],
            |s: &St| {
                if s.n < 3 { "inc" } else { END }
            },
        );
    let g = g.compile(memory()).unwrap();
    let state = done(
        g.invoke(Uuid::now_v7(), "t", Update::new(), RunOptions::new())
            .await
            .unwrap(),
    );
    assert_eq!(state.n, 3);
    assert_eq!(state.log, ["inc", "inc", "inc"]);

    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("spin", 1))
        .add_edge(START, "spin")
        .add_edge("spin", "spin");
    g.recursion_limit(7);
    let g = g.compile(memory()).unwrap();
    let org = Uuid::now_v7();
    let err = g
        .invoke(org, "t", Update::new(), RunOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::RecursionLimit { limit: 7 }));
    assert_eq!(err.code(), "recursion_limit");
    assert!(!err.is_retryable());
    assert!(matches!(
        g.invoke(
            org,
            "u",
            Update::new(),
            RunOptions::new().recursion_limit(2)
        )
        .await,
        Err(GraphError::RecursionLimit { limit: 2 })
    ));
    let state = g.get_state(org, "t").await.unwrap().unwrap();
    assert_eq!(
        state.values.n, 7,
        "the thread keeps its completed supersteps"
    );
    assert_eq!(state.next, ["spin"]);

    // A router choosing an undeclared target fails the run.
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("a", 1))
        .add_edge(START, "a")
        .add_conditional_edge("a", [END], |_s: &St| "elsewhere");
    let g = g.compile(memory()).unwrap();
    assert!(matches!(
        g.invoke(org, "t", Update::new(), RunOptions::new()).await,
        Err(GraphError::InvalidRoute { ref chosen, .. }) if chosen == "elsewhere"
    ));
}

/// A graph with one node `flaky` that fails `failures` times with `error`
/// before succeeding; returns the graph and its attempt counter.
fn flaky_graph(
    failures: u32,
    error: NodeError,
    policy: RetryPolicy,
    timeout: Option<Duration>,
) -> (CompiledGraph<St>, Arc<AtomicU32>) {
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = attempts.clone();
    let mut node = Node::new("flaky", ["n"], move |_s: Arc<St>, ctx| {
        let seen = counter.fetch_add(1, Ordering::SeqCst) + 1;
        let error = error.clone();
        async move {
            assert_eq!(ctx.attempt(), seen);
            if seen <= failures {
                if matches!(error, NodeError::Timeout { .. }) {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                return Err(error);
            }
            Ok(Update::new().set("n", 1))
        }
    })
    .retry(policy);
    if let Some(t) = timeout {
        node = node.timeout(t);
    }
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(node)
        .add_edge(START, "flaky")
        .add_edge("flaky", END);
    (g.compile(memory()).unwrap(), attempts)
}

#[tokio::test(start_paused = true)]
async fn retry_policy_retries_what_it_should() {
    let policy =
        RetryPolicy::attempts(3).backoff(Duration::from_millis(100), 2.0, Duration::from_secs(1));
    let org = Uuid::now_v7();
    let (g, attempts) = flaky_graph(2, NodeError::transient("busy"), policy.clone(), None);
    let started = tokio::time::Instant::now();
    done(
        g.invoke(org, "t", Update::new(), RunOptions::new())
            .await
            .unwrap(),
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(300),
        "100 ms + 200 ms backoff"
    );

    let (g, attempts) = flaky_graph(5, NodeError::transient("busy"), policy.clone(), None);
    match g.invoke(org, "t", Update::new(), RunOptions::new()).await {
        Err(GraphError::NodeFailed {
            node,
            attempts: 3,
            source,
        }) => {
            assert_eq!(node, "flaky");
            assert_eq!(source, NodeError::transient("busy"));
        }
        other => panic!("expected NodeFailed after 3 attempts, got {other:?}"),
    }
    assert_eq!(attempts.load(Ordering::SeqCst), 3);

    let (g, attempts) = flaky_graph(1, NodeError::fatal("bad input"), policy.clone(), None);
    assert!(matches!(
        g.invoke(org, "t", Update::new(), RunOptions::new()).await,
        Err(GraphError::NodeFailed { attempts: 1, .. })
    ));
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        1,
        "fatal errors are not retried"
    );

    // A custom predicate: retry nothing.
    let never = policy.retry_on(|_| false);
    let (g, attempts) = flaky_graph(1, NodeError::transient("busy"), never, None);
    assert!(
        g.invoke(org, "t", Update::new(), RunOptions::new())
            .await
            .is_err()
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 1);

    let p =
        RetryPolicy::attempts(10).backoff(Duration::from_millis(100), 3.0, Duration::from_secs(1));
    assert_eq!(p.backoff_after(1), Duration::from_millis(100));
    assert_eq!(p.backoff_after(2), Duration::from_millis(300));
    assert_eq!(p.backoff_after(4), Duration::from_secs(1), "capped");
}

#[tokio::test(start_paused = true)]
async fn timeouts_end_slow_attempts() {
    let org = Uuid::now_v7();
    let timeout = NodeError::Timeout { after_ms: 0 };
    let (g, attempts) = flaky_graph(
        1,
        timeout.clone(),
        RetryPolicy::attempts(2).backoff(Duration::ZERO, 1.0, Duration::ZERO),
        Some(Duration::from_millis(500)),
    );
    let started = tokio::time::Instant::now();
    done(
        g.invoke(org, "t", Update::new(), RunOptions::new())
            .await
            .unwrap(),
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(started.elapsed(), Duration::from_millis(500));

    let (g, _) = flaky_graph(
        5,
        timeout,
        RetryPolicy::default(),
        Some(Duration::from_millis(250)),
    );
    let err = g
        .invoke(org, "t", Update::new(), RunOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        GraphError::NodeFailed {
            attempts: 1,
            source: NodeError::Timeout { after_ms: 250 },
            ..
        }
    ));
    assert_eq!(err.code(), "node_timeout");
}

#[tokio::test]
async fn a_panicking_node_fails_the_run() {
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(Node::new("boom", ["n"], |_s: Arc<St>, _ctx| async {
        if true {
            panic!("kaboom");
        }
        Ok(Update::new())
    }))
    .add_edge(START, "boom")
    .add_edge("boom", END);
    let g = g.compile(memory()).unwrap();
    assert!(matches!(
        g.invoke(Uuid::now_v7(), "t", Update::new(), RunOptions::new()).await,
        Err(GraphError::NodePanicked { ref node, ref message }) if node == "boom" && message == "kaboom"
    ));
}

/// START -> plan -> {approve, lookup} -> finish -> END. `approve` asks for
/// approval of a side-effecting call; `lookup` runs beside it.
fn approval_graph(
    checkpointer: Arc<dyn Checkpointer>,
    approve_runs: Arc<AtomicU32>,
    lookup_runs: Arc<AtomicU32>,
) -> CompiledGraph<St> {
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("plan", 0))
        .add_node(Node::new(
            "approve",
            ["approval", "log"],
            move |_s: Arc<St>, ctx| {
                approve_runs.fetch_add(1, Ordering::SeqCst);
                async move {
                    let decision = ctx.interrupt(json!({
                        "tool": "tag_customers",
                        "arguments": {"customers": ["a@x.io"], "tag": "vip"}
                    }))?;
                    Ok(Update::new()
                        .set("approval", decision)
                        .set("log", ["approve"]))
                }
            },
        ))
        .add_node(Node::new(
            "lookup",
            ["facts", "log"],
            move |_s: Arc<St>, _ctx| {
                lookup_runs.fetch_add(1, Ordering::SeqCst);
                async {
                    Ok(Update::new()
                        .set("facts", json!({"customers": 2}))
                        .set("log", ["lookup"]))
                }
            },
        ))
        .add_node(logger("finish", 1))
        .add_edge(START, "plan")
        .add_edge("plan", "approve")
        .add_edge("plan", "lookup")
        .add_edge("approve", "finish")
        .add_edge("lookup", "finish")
        .add_edge("finish", END);
    g.compile(checkpointer).unwrap()
}

#[tokio::test]
async fn interrupt_pauses_and_resume_delivers_the_value() {
    let approve_runs = Arc::new(AtomicU32::new(0));
    let lookup_runs = Arc::new(AtomicU32::new(0));
    let g = approval_graph(memory(), approve_runs.clone(), lookup_runs.clone());
    let org = Uuid::now_v7();
    let outcome = g
        .invoke(org, "t", Update::new(), RunOptions::new())
        .await
        .unwrap();
    let RunOutcome::Interrupted {
        state, interrupts, ..
    } = outcome
    else {
        panic!("expected an interrupt, got {outcome:?}");
    };
    assert_eq!(
        state.log,
        ["plan"],
        "nothing of the paused superstep is applied"
    );
    assert_eq!(interrupts.len(), 1);
    assert_eq!(interrupts[0].node, "approve");
    assert_eq!(interrupts[0].payload["tool"], "tag_customers");
    let pending = g.get_state(org, "t").await.unwrap().unwrap();
    assert_eq!(pending.interrupts, interrupts);
    assert_eq!(pending.next, ["approve", "lookup"]);

    assert!(matches!(
        g.invoke(org, "t", Update::new(), RunOptions::new()).await,
        Err(GraphError::ThreadInterrupted { .. })
    ));
    assert!(matches!(
        g.resume(org, "t", Resume::Continue, RunOptions::new())
            .await,
        Err(GraphError::InvalidResume { .. })
    ));
    assert!(matches!(
        g.resume(org, "other", Resume::Value(json!(1)), RunOptions::new())
            .await,
        Err(GraphError::NothingToResume { .. })
    ));

    let decision = json!({"approved": true, "arguments": {"customers": ["a@x.io"], "tag": "gold"}});
    let state = done(
        g.resume(org, "t", Resume::Value(decision.clone()), RunOptions::new())
            .await
            .unwrap(),
    );
    assert_eq!(state.approval, Some(decision));
    assert_eq!(state.log, ["plan", "approve", "lookup", "finish"]);
    assert_eq!(Value::Object(state.facts), json!({"customers": 2}));
    assert_eq!(
        approve_runs.load(Ordering::SeqCst),
        2,
        "the interrupted node re-runs"
    );
    assert_eq!(
        lookup_runs.load(Ordering::SeqCst),
        1,
        "its finished sibling does not"
    );
    assert!(matches!(
        g.resume(org, "t", Resume::Value(json!(1)), RunOptions::new())
            .await,
        Err(GraphError::NothingToResume { .. })
    ));
}

#[tokio::test]
async fn several_interrupts_resume_by_id_and_in_sequence() {
    // Two parallel askers, and one node asking twice.
    let asker = |name: &'static str| {
        Node::new(name, ["log"], move |_s: Arc<St>, ctx| async move {
            let first = ctx.interrupt(format!("{name}: first?"))?;
            let second = if name == "twice" {
                ctx.interrupt(format!("{name}: second?"))?
            } else {
                Value::Null
            };
            Ok(Update::new().set("log", [format!("{name}={first},{second}")]))
        })
    };
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(asker("once"))
        .add_node(asker("twice"))
        .add_edge(START, "once")
        .add_edge(START, "twice")
        .add_edge("once", END)
        .add_edge("twice", END);
    let g = g.compile(memory()).unwrap();
    let org = Uuid::now_v7();
    let RunOutcome::Interrupted { interrupts, .. } = g
        .invoke(org, "t", Update::new(), RunOptions::new())
        .await
        .unwrap()
    else {
        panic!("expected interrupts");
    };
    assert_eq!(interrupts.len(), 2);
    assert!(matches!(
        g.resume(org, "t", Resume::Value(json!(1)), RunOptions::new())
            .await,
        Err(GraphError::InvalidResume { .. })
    ));
    let values: HashMap<String, Value> = interrupts
        .iter()
        .map(|i| (i.id.clone(), json!(format!("{}-1", i.node))))
        .collect();
    let RunOutcome::Interrupted { interrupts, .. } = g
        .resume(org, "t", Resume::ById(values), RunOptions::new())
        .await
        .unwrap()
    else {
        panic!("expected the second question");
    };
    assert_eq!(interrupts.len(), 1);
    assert_eq!(interrupts[0].payload, json!("twice: second?"));
    let state = done(
        g.resume(org, "t", Resume::Value(json!("twice-2")), RunOptions::new())
            .await
            .unwrap(),
    );
    assert_eq!(
        state.log,
        ["once=\"once-1\",null", "twice=\"twice-1\",\"twice-2\""]
    );
}

#[tokio::test]
async fn stream_modes_deliver_what_was_asked() {
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(Node::new(
        "talk",
        ["answer"],
        |_s: Arc<St>, ctx| async move {
            for t in ["Hel", "lo"] {
                ctx.emit_token(t);
            }
            ctx.emit_custom(json!({"progress": 0.5}));
            Ok(Update::new().set("answer", "Hello"))
        },
    ))
    .add_node(logger("after", 1))
    .add_edge(START, "talk")
    .add_edge("talk", "after")
    .add_edge("after", END);
    let g = g.compile(memory()).unwrap();
    let collect = |modes: Vec<StreamMode>| {
        let g = g.clone();
        async move {
            let (tx, mut rx) = mpsc::unbounded_channel();
            done(
                g.invoke(
                    Uuid::now_v7(),
                    "t",
                    Update::new(),
                    RunOptions::new().stream(tx, modes),
                )
                .await
                .unwrap(),
            );
            let mut events = Vec::new();
            while let Some(e) = rx.recv().await {
                events.push(e);
            }
            events
        }
    };
    let all = collect(vec![
        StreamMode::Updates,
        StreamMode::Tokens,
        StreamMode::Custom,
    ])
    .await;
    let expected = vec![
        StreamEvent::Token {
            step: 1,
            node: "talk".into(),
            token: "Hel".into(),
        },
        StreamEvent::Token {
            step: 1,
            node: "talk".into(),
            token: "lo".into(),
        },
        StreamEvent::Custom {
            step: 1,
            node: "talk".into(),
            payload: json!({"progress": 0.5}),
        },
        StreamEvent::Updates {
            step: 1,
            node: "talk".into(),
            update: Update::new().set("answer", "Hello"),
        },
        StreamEvent::Updates {
            step: 2,
            node: "after".into(),
            update: Update::new().set("log", ["after"]).set("n", 1),
        },
    ];
    assert_eq!(all, expected);
    let tokens = collect(vec![StreamMode::Tokens]).await;
    assert_eq!(tokens, expected[..2]);
    let values = collect(vec![StreamMode::Values]).await;
    let answers: Vec<(u64, Value)> = values
        .iter()
        .map(|e| match e {
            StreamEvent::Values { step, state } => (*step, state["answer"].clone()),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        answers,
        [(0, json!("")), (1, json!("Hello")), (2, json!("Hello"))]
    );
}

async fn org(store: &Store, slug: &str) -> Uuid {
    store.create_organization(slug, slug).await.unwrap().id
}

async fn thread_resumes_after_restart(ctx: Ctx) {
    let store = Store::open(Some(&ctx.url), std::path::Path::new("."))
        .await
        .unwrap();
    let org = org(&store, "acme").await;
    let approve_runs = Arc::new(AtomicU32::new(0));
    let lookup_runs = Arc::new(AtomicU32::new(0));
    let g = approval_graph(
        Arc::new(StoreCheckpointer::new(store.clone())),
        approve_runs.clone(),
        lookup_runs.clone(),
    );
    let outcome = g
        .invoke(
            org,
            "conv-1",
            Update::new().set("log", ["hi"]),
            RunOptions::new(),
        )
        .await
        .unwrap();
    assert!(matches!(outcome, RunOutcome::Interrupted { .. }));
    drop(g);
    store.close().await;

    // A new process: a new pool on the same database and a new graph.
    let store = Store::open(Some(&ctx.url), std::path::Path::new("."))
        .await
        .unwrap();
    let g = approval_graph(
        Arc::new(StoreCheckpointer::new(store.clone())),
        approve_runs.clone(),
        lookup_runs.clone(),
    );
    let state = g.get_state(org, "conv-1").await.unwrap().unwrap();
    assert_eq!(state.interrupts.len(), 1);
    assert_eq!(state.values.log, ["hi", "plan"]);
    let state = done(
        g.resume(
            org,
            "conv-1",
            Resume::Value(json!("yes")),
            RunOptions::new(),
        )
        .await
        .unwrap(),
    );
    assert_eq!(state.approval, Some(json!("yes")));
    assert_eq!(state.log, ["hi", "plan", "approve", "lookup", "finish"]);
    assert_eq!(state.n, 1);
    assert_eq!(
        lookup_runs.load(Ordering::SeqCst),
        1,
        "pending writes survived the restart"
    );
    store.close().await;
}

async fn checkpoints_are_deltas_scoped_by_organization(ctx: Ctx) {
    let store = ctx.store.clone();
    let acme = org(&store, "acme").await;
    let globex = org(&store, "globex").await;
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("a", 1))
        .add_node(logger("b", 2))
        .add_edge(START, "a")
        .add_edge("a", "b")
        .add_edge("b", END);
    let g = g
        .compile(Arc::new(StoreCheckpointer::new(store.clone())))
        .unwrap();
    let big = "x".repeat(10_000);
    done(
        g.invoke(
            acme,
            "t",
            Update::new().set("answer", &big),
            RunOptions::new(),
        )
        .await
        .unwrap(),
    );
    // The same thread id in another organization is another thread.
    let other = done(
        g.invoke(globex, "t", Update::new(), RunOptions::new())
            .await
            .unwrap(),
    );
    assert_eq!(other.answer, "");
    assert_eq!(other.log, ["a", "b"]);

    let rows = store.graph_checkpoints(acme, "t").await.unwrap();
    let labels: Vec<(i64, Option<i64>, &str)> = rows
        .iter()
        .map(|r| (r.step, r.parent_step, r.node.as_str()))
        .collect();
    assert_eq!(
        labels,
        [(0, None, "__input__"), (1, Some(0), "a"), (2, Some(1), "b")]
    );
    assert_eq!(rows[0].delta["kind"], "input");
    assert_eq!(
        rows[1].delta,
        json!({"v": 1, "kind": "step", "writes": [{"node": "a", "update": {"log": ["a"], "n": 1}}], "next": ["b"]})
    );
    // Only the input row carries the big value: later rows are deltas.
    for row in &rows[1..] {
        assert!(row.delta.to_string().len() < 200, "{}", row.delta);
    }
    let list = g.checkpointer().list(acme, "t").await.unwrap();
    assert_eq!(list[2].delta.kind, DeltaKind::Step);
    assert!(list[2].delta.next.is_empty());
    let threads = store.graph_threads(acme, 10).await.unwrap();
    assert_eq!(threads.len(), 1);
    assert_eq!(
        (threads[0].thread_id.as_str(), threads[0].last_step),
        ("t", 2)
    );
    let state = g.get_state(acme, "t").await.unwrap().unwrap();
    assert_eq!(state.values.answer, big);
    assert_eq!(state.values.n, 3);
    assert!(g.get_state(acme, "missing").await.unwrap().is_none());

    // A step that exists is a conflict, in the store and through the checkpointer.
    let err = store
        .append_graph_checkpoint(acme, "t", 2, Some(1), "x", &json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, aima_runtime::store::StoreError::Conflict { .. }),
        "{err}"
    );
    let err = g.checkpointer().put(acme, "t", &list[2]).await.unwrap_err();
    assert!(matches!(
        err,
        aima_runtime::graph::CheckpointError::Conflict { step: 2, .. }
    ));
    // Deleting a thread leaves the same id of another organization alone.
    assert!(g.delete_thread(acme, "t").await.unwrap());
    assert!(g.get_state(acme, "t").await.unwrap().is_none());
    assert_eq!(
        g.get_state(globex, "t").await.unwrap().unwrap().values.log,
        ["a", "b"]
    );
    // Deleting the organization deletes its threads.
    assert!(store.delete_organization(globex).await.unwrap());
    assert!(
        store
            .graph_checkpoints(globex, "t")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn compact_and_prune_threads(ctx: Ctx) {
    let store = ctx.store.clone();
    let acme = org(&store, "acme").await;
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("inc", 1))
        .add_edge(START, "inc")
        .add_conditional_edge(
            "inc",
            ["inc", END],
            |s: &St| {
                if s.n % 4 == 0 { END } else { "inc" }
            },
        );
    let g = g
        .compile(Arc::new(StoreCheckpointer::new(store.clone())))
        .unwrap();
    done(
        g.invoke(acme, "t", Update::new(), RunOptions::new())
            .await
            .unwrap(),
    );
    assert_eq!(store.graph_checkpoints(acme, "t").await.unwrap().len(), 5);
    let before = g.get_state(acme, "t").await.unwrap().unwrap();
    assert!(g.compact(acme, "t").await.unwrap());
    let rows = store.graph_checkpoints(acme, "t").await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].step, rows[0].node.as_str()), (4, "__snapshot__"));
    assert_eq!(rows[0].delta["kind"], "snapshot");
    let after = g.get_state(acme, "t").await.unwrap().unwrap();
    assert_eq!(after.values, before.values);
    // The thread goes on after a compaction.
    let state = done(
        g.invoke(acme, "t", Update::new(), RunOptions::new())
            .await
            .unwrap(),
    );
    assert_eq!(state.n, 8);
    assert_eq!(state.log.len(), 8);
    assert_eq!(store.graph_checkpoints(acme, "t").await.unwrap()[1].step, 5);
    assert!(!g.compact(acme, "missing").await.unwrap());

    done(
        g.invoke(acme, "u", Update::new(), RunOptions::new())
            .await
            .unwrap(),
    );
    let past = chrono::Utc::now() - chrono::Duration::hours(1);
    assert_eq!(g.prune(past).await.unwrap(), 0);
    assert!(g.get_state(acme, "t").await.unwrap().is_some());
    let future = chrono::Utc::now() + chrono::Duration::hours(1);
    assert_eq!(g.prune(future).await.unwrap(), 2);
    assert!(g.get_state(acme, "t").await.unwrap().is_none());
    assert!(store.graph_checkpoints(acme, "u").await.unwrap().is_empty());
    assert!(!g.delete_thread(acme, "u").await.unwrap());
}

#[tokio::test]
async fn memory_checkpointer_prunes_by_age_and_refuses_stale_steps() {
    let cp = MemoryCheckpointer::new();
    let org = Uuid::now_v7();
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("a", 1))
        .add_edge(START, "a")
        .add_edge("a", END);
    let cp: Arc<MemoryCheckpointer> = Arc::new(cp);
    let g = g.compile(cp.clone()).unwrap();
    done(
        g.invoke(org, "t", Update::new(), RunOptions::new())
            .await
            .unwrap(),
    );
    let mut first = cp.list(org, "t").await.unwrap().remove(0);
    assert!(matches!(
        cp.put(org, "t", &first).await,
        Err(aima_runtime::graph::CheckpointError::Conflict { step: 0, .. })
    ));
    first.created_at = chrono::Utc::now() - chrono::Duration::days(30);
    cp.put(org, "old", &first).await.unwrap();
    assert_eq!(
        cp.prune(chrono::Utc::now() - chrono::Duration::days(1))
            .await
            .unwrap(),
        1
    );
    assert!(cp.list(org, "old").await.unwrap().is_empty());
    assert_eq!(cp.list(org, "t").await.unwrap().len(), 2);
}

/// Per-superstep overhead of checkpointing (memory vs SQLite). A benchmark,
/// not a test: `cargo test -p aima-runtime --test it graph_step_overhead --
/// --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn graph_step_overhead() {
    const STEPS: u32 = 200;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(None, dir.path()).await.unwrap();
    store.migrate().await.unwrap();
    let org = org(&store, "bench").await;
    let build = |cp: Arc<dyn Checkpointer>| {
        let mut g = StateGraph::<St>::new(schema());
        g.add_node(logger("inc", 1))
            .add_edge(START, "inc")
            .add_conditional_edge("inc", ["inc", END], |s: &St| {
                if s.n % i64::from(STEPS) == 0 {
                    END
                } else {
                    "inc"
                }
            })
            .recursion_limit(STEPS + 1);
        g.compile(cp).unwrap()
    };
    let mut per_step = Vec::new();
    for (name, cp) in [
        ("memory", memory()),
        (
            "sqlite",
            Arc::new(StoreCheckpointer::new(store.clone())) as Arc<dyn Checkpointer>,
        ),
    ] {
        let g = build(cp);
        let start = Instant::now();
        done(
            g.invoke(org, name, Update::new(), RunOptions::new())
                .await
                .unwrap(),
        );
        let us = start.elapsed().as_secs_f64() * 1e6 / f64::from(STEPS);
        println!("{name}: {us:.1} µs per superstep ({STEPS} supersteps, one node each)");
        per_step.push(us);
    }
    // Baseline: the node's own work (building its update), called directly.
    let start = Instant::now();
    for _ in 0..STEPS {
        let update: Result<Update, NodeError> =
            async { Ok(Update::new().set("log", ["inc"]).set("n", 1)) }.await;
        std::hint::black_box(update.unwrap());
    }
    let direct = start.elapsed().as_secs_f64() * 1e6 / f64::from(STEPS);
    println!("direct node call: {direct:.2} µs");
    println!(
        "engine overhead per superstep: {:.1} µs in memory, {:.1} µs with SQLite ({:.1}x)",
        per_step[0] - direct,
        per_step[1] - direct,
        per_step[1] / per_step[0]
    );
    store.close().await;
}

#[derive(Debug, Deserialize)]
struct Decision {
    approved: bool,
    tag: Option<String>,
}

#[tokio::test]
async fn typed_resume_values_carry_edited_arguments() {
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(Node::new(
        "tag",
        ["answer"],
        |_s: Arc<St>, ctx| async move {
            let proposed = "vip";
            let d: Decision =
                ctx.interrupt_as(json!({"tool": "tag_customers", "tag": proposed}))?;
            let answer = match (d.approved, d.tag) {
                (true, Some(edited)) => format!("tagged {edited}"),
                (true, None) => format!("tagged {proposed}"),
                (false, _) => "rejected".to_string(),
            };
            Ok(Update::new().set("answer", answer))
        },
    ))
    .add_edge(START, "tag")
    .add_edge("tag", END);
    let g = g.compile(memory()).unwrap();
    let org = Uuid::now_v7();
    for (thread, resume, expected) in [
        (
            "edit",
            json!({"approved": true, "tag": "gold"}),
            "tagged gold",
        ),
        ("keep", json!({"approved": true}), "tagged vip"),
        ("no", json!({"approved": false}), "rejected"),
    ] {
        let outcome = g
            .invoke(org, thread, Update::new(), RunOptions::new())
            .await
            .unwrap();
        assert!(matches!(outcome, RunOutcome::Interrupted { .. }));
        let state = done(
            g.resume(org, thread, Resume::Value(resume), RunOptions::new())
                .await
                .unwrap(),
        );
        assert_eq!(state.answer, expected);
    }
    g.invoke(org, "bad", Update::new(), RunOptions::new())
        .await
        .unwrap();
    match g
        .resume(org, "bad", Resume::Value(json!("yes")), RunOptions::new())
        .await
    {
        Err(GraphError::NodeFailed {
            source:
                NodeError::Failed {
                    message,
                    retryable: false,
                },
            ..
        }) => assert!(message.contains("resume value does not fit"), "{message}"),
        other => panic!("expected a failed node, got {other:?}"),
    }
}

#[tokio::test]
async fn a_failed_superstep_can_be_continued() {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("first", 1))
        .add_node(Node::new("second", ["log"], move |_s: Arc<St>, _ctx| {
            let call = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if call == 0 {
                    return Err(NodeError::fatal("the service is down"));
                }
                Ok(Update::new().set("log", ["second"]))
            }
        }))
        .add_edge(START, "first")
        .add_edge("first", "second")
        .add_edge("second", END);
    let g = g.compile(memory()).unwrap();
    let org = Uuid::now_v7();
    assert!(matches!(
        g.invoke(org, "t", Update::new(), RunOptions::new()).await,
        Err(GraphError::NodeFailed { ref node, .. }) if node == "second"
    ));
    let stuck = g.get_state(org, "t").await.unwrap().unwrap();
    assert_eq!(stuck.next, ["second"]);
    assert_eq!(stuck.values.log, ["first"]);
    let state = done(
        g.resume(org, "t", Resume::Continue, RunOptions::new())
            .await
            .unwrap(),
    );
    assert_eq!(state.log, ["first", "second"]);
    assert_eq!(state.n, 1, "first did not run again");
    assert!(matches!(
        g.resume(org, "t", Resume::Continue, RunOptions::new())
            .await,
        Err(GraphError::NothingToResume { .. })
    ));
}

#[tokio::test]
async fn concurrent_runs_of_one_thread_do_not_interleave_steps() {
    let gate = Arc::new(tokio::sync::Notify::new());
    let entered = Arc::new(tokio::sync::Notify::new());
    let calls = Arc::new(AtomicU32::new(0));
    let (g2, e2, c2) = (gate.clone(), entered.clone(), calls.clone());
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(Node::new("work", ["n"], move |_s: Arc<St>, _ctx| {
        let first = c2.fetch_add(1, Ordering::SeqCst) == 0;
        let (gate, entered) = (g2.clone(), e2.clone());
        async move {
            if first {
                entered.notify_one();
                gate.notified().await;
            }
            Ok(Update::new().set("n", 1))
        }
    }))
    .add_edge(START, "work")
    .add_edge("work", END);
    let g = g.compile(memory()).unwrap();
    let org = Uuid::now_v7();
    let slow = {
        let g = g.clone();
        tokio::spawn(async move { g.invoke(org, "t", Update::new(), RunOptions::new()).await })
    };
    entered.notified().await;
    // A second run on the same thread overtakes the first.
    let state = done(
        g.invoke(org, "t", Update::new(), RunOptions::new())
            .await
            .unwrap(),
    );
    assert_eq!(state.n, 1);
    gate.notify_one();
    assert!(matches!(
        slow.await.unwrap(),
        Err(GraphError::Checkpoint {
            source: aima_runtime::graph::CheckpointError::Conflict { step: 1, .. }
        })
    ));
    let steps: Vec<u64> = g
        .checkpointer()
        .list(org, "t")
        .await
        .unwrap()
        .iter()
        .map(|c| c.step)
        .collect();
    assert_eq!(steps, [0, 1, 2]);
}

#[tokio::test]
async fn task_events_report_starts_and_ends() {
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("ok", 1))
        .add_node(Node::new(
            "asks",
            ["approval"],
            |_s: Arc<St>, ctx| async move {
                let v = ctx.interrupt("may I?")?;
                Ok(Update::new().set("approval", v))
            },
        ))
        .add_edge(START, "ok")
        .add_edge(START, "asks")
        .add_edge("ok", END)
        .add_edge("asks", END);
    let g = g.compile(memory()).unwrap();
    let org = Uuid::now_v7();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let outcome = g
        .invoke(
            org,
            "t",
            Update::new(),
            RunOptions::new().stream(tx, [StreamMode::Tasks]),
        )
        .await
        .unwrap();
    assert!(matches!(outcome, RunOutcome::Interrupted { step: 1, .. }));
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(serde_json::to_value(e).unwrap());
    }
    assert_eq!(
        events[..2],
        [
            json!({"mode": "task_started", "step": 1, "node": "ok"}),
            json!({"mode": "task_started", "step": 1, "node": "asks"}),
        ]
    );
    let mut ends: Vec<Value> = events[2..].to_vec();
    ends.sort_by_key(|e| e["node"].to_string());
    assert_eq!(
        ends,
        [
            json!({"mode": "task_finished", "step": 1, "node": "asks", "status": "interrupted"}),
            json!({"mode": "task_finished", "step": 1, "node": "ok", "status": "done"}),
        ]
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let state = done(
        g.resume(
            org,
            "t",
            Resume::Value(json!(true)),
            RunOptions::new().stream(tx, [StreamMode::Tasks, StreamMode::Updates]),
        )
        .await
        .unwrap(),
    );
    assert_eq!(state.n, 1);
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(serde_json::to_value(e).unwrap());
    }
    assert_eq!(
        events,
        [
            json!({"mode": "task_started", "step": 2, "node": "asks"}),
            json!({"mode": "updates", "step": 2, "node": "asks", "update": {"approval": true}}),
            json!({"mode": "task_finished", "step": 2, "node": "asks", "status": "done"}),
        ],
        "only the interrupted node runs again"
    );
}

#[tokio::test]
async fn a_failing_node_cancels_its_siblings() {
    let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel::<()>();
    let guard = Arc::new(std::sync::Mutex::new(Some(dropped_tx)));
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(Node::new("fails", ["log"], |_s: Arc<St>, _ctx| async {
        Err(NodeError::transient("no"))
    }))
    .add_node(Node::new("waits", ["n"], move |_s: Arc<St>, _ctx| {
        let sender = guard.lock().unwrap().take();
        async move {
            // Held until the task is dropped; never completes on its own.
            let _sender = sender;
            std::future::pending::<()>().await;
            Ok(Update::new())
        }
    }))
    .add_edge(START, "fails")
    .add_edge(START, "waits")
    .add_edge("fails", END)
    .add_edge("waits", END);
    let g = g.compile(memory()).unwrap();
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        g.invoke(Uuid::now_v7(), "t", Update::new(), RunOptions::new()),
    )
    .await
    .expect("the run ends without waiting for the sibling")
    .unwrap_err();
    assert!(matches!(err, GraphError::NodeFailed { ref node, .. } if node == "fails"));
    assert_eq!(err.code(), "node_failed");
    assert!(err.is_retryable());
    assert!(dropped_rx.await.is_err(), "the sibling's task was dropped");
}

#[tokio::test]
async fn auto_compaction_bounds_a_thread() {
    let cp = Arc::new(MemoryCheckpointer::new());
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("inc", 1))
        .add_edge(START, "inc")
        .add_conditional_edge(
            "inc",
            ["inc", END],
            |s: &St| {
                if s.n % 3 == 0 { END } else { "inc" }
            },
        )
        .compact_after(5);
    let g = g.compile(cp.clone()).unwrap();
    let org = Uuid::now_v7();
    // Turn 1: input + 3 steps = 4 records, under the bound.
    done(
        g.invoke(org, "t", Update::new(), RunOptions::new())
            .await
            .unwrap(),
    );
    assert_eq!(cp.list(org, "t").await.unwrap().len(), 4);
    // Turn 2: 8 records > 5: compacted to one snapshot at the last step.
    let state = done(
        g.invoke(org, "t", Update::new(), RunOptions::new())
            .await
            .unwrap(),
    );
    let list = cp.list(org, "t").await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].step, list[0].delta.kind), (7, DeltaKind::Snapshot));
    assert_eq!(g.get_state(org, "t").await.unwrap().unwrap().values, state);
    // Turn 3 appends deltas after the snapshot: 1 + 4 = 5 records, kept.
    let state = done(
        g.invoke(org, "t", Update::new(), RunOptions::new())
            .await
            .unwrap(),
    );
    assert_eq!(state.n, 9);
    assert_eq!(state.log.len(), 9);
    assert_eq!(cp.list(org, "t").await.unwrap().len(), 5);
}

/// A node that is a struct with its own dependencies.
struct Answerer {
    prefix: String,
}

#[derive(Serialize)]
struct AnswerUpdate {
    answer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    approval: Option<Value>,
}

#[async_trait::async_trait]
impl aima_runtime::graph::NodeHandler<St> for Answerer {
    async fn run(
        &self,
        state: Arc<St>,
        _ctx: aima_runtime::graph::NodeContext,
    ) -> Result<Update, NodeError> {
        Update::from_struct(&AnswerUpdate {
            answer: format!("{}{}", self.prefix, state.n),
            approval: None,
        })
    }
}

#[tokio::test]
async fn handler_nodes_and_typed_updates() {
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(Node::from_handler(
        "answer",
        ["answer", "approval"],
        Arc::new(Answerer {
            prefix: "n is ".into(),
        }),
    ))
    .add_edge(START, "answer")
    .add_edge("answer", END);
    let g = g.compile(memory()).unwrap();
    let org = Uuid::now_v7();
    let input = Update::new().set("n", 4).set("approval", json!("kept"));
    let state = done(g.invoke(org, "t", input, RunOptions::new()).await.unwrap());
    assert_eq!(state.answer, "n is 4");
    assert_eq!(
        state.approval,
        Some(json!("kept")),
        "skipped fields are not written"
    );
    assert!(Update::from_struct(&[1, 2]).is_err());
}

#[tokio::test]
async fn a_cancelled_run_leaves_the_thread_resumable() {
    let entered = Arc::new(tokio::sync::Notify::new());
    let calls = Arc::new(AtomicU32::new(0));
    let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel::<()>();
    let guard = Arc::new(std::sync::Mutex::new(Some(dropped_tx)));
    let (e2, c2) = (entered.clone(), calls.clone());
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("first", 1))
        .add_node(Node::new("slow", ["log"], move |_s: Arc<St>, _ctx| {
            let first = c2.fetch_add(1, Ordering::SeqCst) == 0;
            let entered = e2.clone();
            let sender = guard.lock().unwrap().take();
            async move {
                if first {
                    let _sender = sender;
                    entered.notify_one();
                    std::future::pending::<()>().await;
                }
                Ok(Update::new().set("log", ["slow"]))
            }
        }))
        .add_edge(START, "first")
        .add_edge("first", "slow")
        .add_edge("slow", END);
    let g = g.compile(memory()).unwrap();
    let org = Uuid::now_v7();
    let run = {
        let g = g.clone();
        tokio::spawn(async move { g.invoke(org, "t", Update::new(), RunOptions::new()).await })
    };
    entered.notified().await;
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    assert!(
        dropped_rx.await.is_err(),
        "the node's task went with the run"
    );
    let stuck = g.get_state(org, "t").await.unwrap().unwrap();
    assert_eq!(stuck.next, ["slow"]);
    let state = done(
        g.resume(org, "t", Resume::Continue, RunOptions::new())
            .await
            .unwrap(),
    );
    assert_eq!(state.log, ["first", "slow"]);
    assert_eq!(state.n, 1);
}

/// START -> plan -(send per call)-> call -> reduce -> END. `call` adds its
/// argument to `n` and logs it; a call whose argument is 2 asks first.
fn map_reduce_graph(
    checkpointer: Arc<dyn Checkpointer>,
    call_runs: Arc<AtomicU32>,
    reduce_runs: Arc<AtomicU32>,
) -> CompiledGraph<St> {
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("plan", 0))
        .add_node(Node::new("call", ["log", "n"], move |_s: Arc<St>, ctx| {
            call_runs.fetch_add(1, Ordering::SeqCst);
            async move {
                let arg: i64 = ctx.arg_as()?;
                let mut note = String::new();
                if arg == 2 {
                    let v = ctx.interrupt(json!({"approve": arg}))?;
                    note = format!(" ({v})");
                }
                Ok(Update::new()
                    .set("log", [format!("call {arg}{note}")])
                    .set("n", arg))
            }
        }))
        .add_node(Node::new("reduce", ["answer"], move |s: Arc<St>, _ctx| {
            reduce_runs.fetch_add(1, Ordering::SeqCst);
            async move { Ok(Update::new().set("answer", format!("sum {}", s.n))) }
        }))
        .add_edge(START, "plan")
        .add_send_edge("plan", ["call"], |_s: &St| {
            (1..=3).map(|i| SendTo::new("call", json!(i))).collect()
        })
        .add_edge("call", "reduce")
        .add_edge("reduce", END);
    g.compile(checkpointer).unwrap()
}

#[tokio::test]
async fn send_edges_map_over_arguments() {
    // Without the asking call: arguments 1, 3, 4.
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("plan", 0))
        .add_node(Node::new(
            "call",
            ["log", "n"],
            |_s: Arc<St>, ctx| async move {
                let arg: i64 = ctx.arg_as()?;
                Ok(Update::new()
                    .set("log", [format!("call {arg}")])
                    .set("n", arg))
            },
        ))
        .add_node(logger("reduce", 0))
        .add_edge(START, "plan")
        .add_send_edge("plan", ["call"], |_s: &St| {
            [1, 3, 4]
                .iter()
                .map(|i| SendTo::new("call", json!(i)))
                .collect()
        })
        .add_edge("call", "reduce")
        .add_edge("reduce", END);
    let g = g.compile(memory()).unwrap();
    let org = Uuid::now_v7();
    let state = done(
        g.invoke(org, "t", Update::new(), RunOptions::new())
            .await
            .unwrap(),
    );
    assert_eq!(state.log, ["plan", "call 1", "call 3", "call 4", "reduce"]);
    assert_eq!(state.n, 8);
    let list = g.checkpointer().list(org, "t").await.unwrap();
    assert_eq!(list[2].label, "call", "one label per node");
    assert_eq!(list[2].delta.writes.len(), 3);
    assert_eq!(list[2].delta.writes[1].task.as_deref(), Some("call#1"));

    // A sent node writing a Replace key refuses to build: it runs beside itself.
    let mut g = StateGraph::<St>::new(schema());
    g.add_node(logger("plan", 0))
        .add_node(Node::new("call", ["answer"], |_s: Arc<St>, _ctx| async {
            Ok(Update::new())
        }))
        .add_edge(START, "plan")
        .add_send_edge("plan", ["call"], |_s: &St| vec![])
        .add_edge("call", END);
    match g.compile(memory()) {
        Err(GraphError::ConflictingWrites { key, first, second }) => {
            assert_eq!(
                (key.as_str(), first.as_str(), second.as_str()),
                ("answer", "call", "call")
            );
        }
        other => panic!("expected ConflictingWrites, got {:?}", other.err()),
    }
}

async fn sent_tasks_persist_and_resume_one_by_one(ctx: Ctx) {
    let store = ctx.store.clone();
    let acme = org(&store, "acme").await;
    let calls = Arc::new(AtomicU32::new(0));
    let reduces = Arc::new(AtomicU32::new(0));
    let g = map_reduce_graph(
        Arc::new(StoreCheckpointer::new(store.clone())),
        calls.clone(),
        reduces.clone(),
    );
    let RunOutcome::Interrupted { interrupts, .. } = g
        .invoke(acme, "t", Update::new(), RunOptions::new())
        .await
        .unwrap()
    else {
        panic!("expected the second call to ask");
    };
    assert_eq!(interrupts.len(), 1);
    assert_eq!(interrupts[0].node, "call");
    assert_eq!(interrupts[0].task.as_deref(), Some("call#1"));
    assert_eq!(interrupts[0].payload, json!({"approve": 2}));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // The pending superstep's tasks survive a reload with their arguments.
    let g = map_reduce_graph(
        Arc::new(StoreCheckpointer::new(store.clone())),
        calls.clone(),
        reduces.clone(),
    );
    let rows = store.graph_checkpoints(acme, "t").await.unwrap();
    let last = rows.last().unwrap();
    assert_eq!(
        last.delta["next"],
        json!([{"node": "call", "arg": 1}, {"node": "call", "arg": 2}, {"node": "call", "arg": 3}])
    );
    let list = g.checkpointer().list(acme, "t").await.unwrap();
    assert_eq!(
        list.last().unwrap().delta.next[1],
        TaskSpec::Send {
            node: "call".into(),
            arg: json!(2)
        }
    );
    let state = done(
        g.resume(acme, "t", Resume::Value(json!("ok")), RunOptions::new())
            .await
            .unwrap(),
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "only the asking task re-ran"
    );
    assert_eq!(reduces.load(Ordering::SeqCst), 1);
    assert_eq!(state.log, ["plan", "call 1", "call 2 (\"ok\")", "call 3"]);
    assert_eq!(state.n, 6);
    assert_eq!(state.answer, "sum 6");
}

#[tokio::test]
async fn a_thread_waiting_on_a_node_the_graph_lost_says_so() {
    let cp = memory();
    let build = |with_second: bool| {
        let mut g = StateGraph::<St>::new(schema());
        g.add_node(logger("first", 1)).add_edge(START, "first");
        if with_second {
            g.add_node(Node::new(
                "second",
                ["answer"],
                |_s: Arc<St>, ctx| async move {
                    ctx.interrupt("wait")?;
                    Ok(Update::new())
                },
            ))
            .add_edge("first", "second")
            .add_edge("second", END);
        } else {
            g.add_edge("first", END);
        }
        g.compile(cp.clone()).unwrap()
    };
    let org = Uuid::now_v7();
    let old = build(true);
    let outcome = old
        .invoke(org, "t", Update::new(), RunOptions::new())
        .await
        .unwrap();
    assert!(matches!(outcome, RunOutcome::Interrupted { .. }));
    let new = build(false);
    let err = new
        .resume(org, "t", Resume::Value(json!(1)), RunOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphError::StaleCheckpoint { ref node, .. } if node == "second"),
        "{err}"
    );
    assert_eq!(err.code(), "checkpoint");
}
