//! The runner on a small world: questions, a pause and its approval, a
//! refusal; the transcript and the scores come back per turn.

use std::sync::Arc;

use aima_evals::runner::Bench;
use aima_evals::task::{self, LoadedTask};
use aima_evals::world::{World, WorldConfig};
use aima_runtime::events::EventBody;
use aima_runtime::llm::offline::OfflineProvider;
use serde_json::json;

fn loaded(v: serde_json::Value) -> LoadedTask {
    LoadedTask {
        path: "inline.json".into(),
        task: serde_json::from_value(v).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_questions_pauses_approvals_and_refusals() {
    let world = World::generate(WorldConfig {
        seed: 9,
        customers: 200,
    })
    .unwrap();
    let tasks = [
        loaded(json!({
            "id": "count", "category": "single_tool", "seed": 9,
            "turns": ["How many customers do we have?"],
            "expect": {"tools": [{"name": "customer_count"}],
                       "answer": {"number": {"value": {"fact": "customer_count"}}}}
        })),
        loaded(json!({
            "id": "tag-approved", "category": "approval", "seed": 9,
            "turns": ["Tag {{C00001.email}} as vip", {"approve": true}],
            "expect": {"tools": [{"name": "tag_customers", "args": {"tag": "vip"}}]}
        })),
        loaded(json!({
            "id": "tag-paused", "category": "approval", "seed": 9,
            "turns": ["Tag {{C00002.email}} as vip"],
            "expect": {"answer": {"approval": {"tool": "tag_customers", "args": {"tag": "vip"}}}}
        })),
        loaded(json!({
            "id": "weather", "category": "unanswerable", "seed": 9,
            "turns": ["What's the weather in Paris tomorrow?"],
            "expect": {"answer": {"refuse": true}}
        })),
        loaded(json!({
            "id": "wrong", "category": "single_tool", "seed": 9,
            "turns": ["How many customers do we have?"],
            "expect": {"answer": {"number": {"value": 123456789}}}
        })),
    ];
    let resolved: Vec<_> = tasks
        .iter()
        .map(|t| task::resolve(t, &world).unwrap())
        .collect();
    let bench = Bench::start(world, Arc::new(OfflineProvider::new()))
        .await
        .unwrap();
    assert_eq!(bench.summary().customers, 200);
    let mut runs = Vec::new();
    for t in &resolved {
        runs.push(bench.run(t).await);
    }
    bench.shutdown().await;
    for (t, r) in resolved.iter().zip(&runs) {
        let expected = t.task.id != "wrong";
        assert_eq!(r.passed, expected, "{}: {:?}", t.task.id, r.checks);
        assert!(
            r.turns.iter().all(|turn| turn.error.is_none()),
            "{}",
            t.task.id
        );
    }
    // The approved call ran in the second turn, the paused one never ran.
    let ran = |i: usize, turn: usize| {
        runs[i].turns.get(turn).is_some_and(|t| {
            t.events.iter().any(|e| {
                matches!(&e.body, EventBody::ToolResult { tool, ok: true, .. } if tool == "tag_customers")
            })
        })
    };
    assert!(ran(1, 1), "approved tag ran");
    assert!(!ran(2, 0), "paused tag did not run");
    assert_eq!(runs[0].model.as_deref(), Some("offline/offline-router-v1"));
    assert_eq!(runs[3].tool_calls, 0);
}
