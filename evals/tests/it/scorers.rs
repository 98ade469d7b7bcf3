//! Every scorer passes where it should and fails where it should.

use aima_evals::score::{self, TurnRecord};
use aima_evals::task::{Resolved, ResolvedAnswer, SetKind, SetSource, Task, ToolExpect};
use aima_evals::world::{World, WorldConfig};
use aima_runtime::events::{Event, EventBody};
use serde_json::{Map, Value, json};

fn ev(body: EventBody) -> Event {
    Event::new("t", 1, body)
}

fn call(id: &str, tool: &str, args: Value) -> Event {
    ev(EventBody::ToolCall {
        call_id: id.into(),
        tool: tool.into(),
        arguments: args,
    })
}

fn result(id: &str, tool: &str, r: Value) -> Event {
    ev(EventBody::ToolResult {
        call_id: id.into(),
        tool: tool.into(),
        ok: true,
        result: Some(r),
        error: None,
    })
}

fn fin(answer: &str) -> Event {
    ev(EventBody::Final {
        answer: answer.into(),
        citations: vec![],
        usage: None,
    })
}

fn interrupt(tool: &str, args: Value) -> Event {
    ev(EventBody::Interrupt {
        interrupt_id: "i".into(),
        call_id: "c9".into(),
        tool: tool.into(),
        arguments: args,
        reason: "side effect".into(),
    })
}

fn turn(events: Vec<Event>) -> TurnRecord {
    TurnRecord {
        input: "q".into(),
        events,
        error: None,
    }
}

fn task(
    tools: Vec<ToolExpect>,
    forbidden: Vec<ToolExpect>,
    answer: Option<ResolvedAnswer>,
) -> Resolved {
    let t: Task = serde_json::from_value(json!({
        "id": "x", "category": "single_tool", "seed": 1, "turns": ["q"]
    }))
    .unwrap();
    Resolved {
        turns: t.turns.clone(),
        task: t,
        tools,
        forbidden,
        answer,
    }
}

fn want(name: &str, args: Value, turn: Option<usize>) -> ToolExpect {
    ToolExpect {
        name: name.into(),
        args: args.as_object().cloned().unwrap_or_default(),
        turn,
    }
}

fn passed(task: &Resolved, turns: &[TurnRecord], world: &World) -> bool {
    let checks = score::score(task, turns, world);
    checks.iter().all(|c| c.passed)
}

fn world() -> World {
    World::generate(WorldConfig {
        seed: 5,
        customers: 40,
    })
    .unwrap()
}

#[test]
fn tools_scorer_matches_names_argument_subsets_and_turns() {
    let w = world();
    let turns = vec![
        turn(vec![
            call("a", "customer_count", json!({"city": "austin"})),
            fin("12"),
        ]),
        turn(vec![
            call(
                "b",
                "customer_count",
                json!({"city": "Chicago", "country": "US"}),
            ),
            fin("7"),
        ]),
    ];
    assert!(passed(
        &task(
            vec![want("customer_count", json!({"city": "Austin"}), None)],
            vec![],
            None
        ),
        &turns,
        &w
    ));
    assert!(passed(
        &task(
            vec![want("customer_count", json!({"city": "Chicago"}), Some(1))],
            vec![],
            None
        ),
        &turns,
        &w
    ));
    assert!(!passed(
        &task(
            vec![want("customer_count", json!({"city": "Chicago"}), Some(0))],
            vec![],
            None
        ),
        &turns,
        &w
    ));
    assert!(!passed(
        &task(
            vec![want("customer_count", json!({"city": "Berlin"}), None)],
            vec![],
            None
        ),
        &turns,
        &w
    ));
    assert!(!passed(
        &task(vec![want("top_products", json!({}), None)], vec![], None),
        &turns,
        &w
    ));
    assert!(!passed(
        &task(
            vec![want(
                "customer_count",
                json!({"created_from": "2025-01-01"}),
                None
            )],
            vec![],
            None
        ),
        &turns,
        &w
    ));
    // forbidden
    assert!(!passed(
        &task(vec![], vec![want("customer_count", json!({}), None)], None),
        &turns,
        &w
    ));
    assert!(passed(
        &task(
            vec![],
            vec![want("at_risk_customers", json!({}), None)],
            None
        ),
        &turns,
        &w
    ));
}

#[test]
fn number_scorer_reads_the_answer_with_tolerance() {
    let w = world();
    let t = |v: f64| {
        task(
            vec![],
            vec![],
            Some(ResolvedAnswer::Number {
                value: v,
                rel_tol: 0.001,
                abs_tol: 0.01,
            }),
        )
    };
    let turns = vec![turn(vec![
        call("a", "revenue_over_time", json!({})),
        fin("Revenue in May 2026 was $22,226.69 over 310 orders."),
    ])];
    let ungrounded = vec![turn(vec![fin("Revenue in May 2026 was $22,226.69.")])];
    assert!(
        !passed(&t(22_226.69), &ungrounded, &w),
        "no tool call, no credit"
    );
    assert!(passed(&t(22_226.69), &turns, &w));
    assert!(passed(&t(310.0), &turns, &w));
    assert!(passed(&t(22_230.0), &turns, &w), "within 0.1 %");
    assert!(!passed(&t(22_300.0), &turns, &w));
    assert!(!passed(&t(311.0), &turns, &w));
    let none = vec![turn(vec![ev(EventBody::Error {
        code: "x".into(),
        message: "m".into(),
        retryable: false,
    })])];
    assert!(!passed(&t(1.0), &none, &w));
}

#[test]
fn set_scorer_computes_precision_and_recall() {
    let w = world();
    let e: Vec<String> = w
        .customers
        .iter()
        .take(4)
        .map(|c| c.email.clone())
        .collect();
    let n1 = w.customers[1].full_name();
    let set = |items: Vec<String>, source, p, r| {
        task(
            vec![],
            vec![],
            Some(ResolvedAnswer::Set {
                items,
                kind: SetKind::Customer,
                source,
                min_precision: p,
                min_recall: r,
            }),
        )
    };
    let answer = format!("At risk: {} and {n1}, and {}.", e[0], w.customers[10].email);
    let turns = vec![turn(vec![
        result(
            "a",
            "at_risk_customers",
            json!({"customers": [{"email": e[2]}]}),
        ),
        fin(&answer),
    ])];
    // Named in the answer: e0, e1 (by name), c10 -> precision 2/3, recall 2/4.
    assert!(passed(
        &set(e.clone(), SetSource::Answer, 0.6, 0.5),
        &turns,
        &w
    ));
    assert!(!passed(
        &set(e.clone(), SetSource::Answer, 0.7, 0.0),
        &turns,
        &w
    ));
    assert!(!passed(
        &set(e.clone(), SetSource::Answer, 0.0, 0.6),
        &turns,
        &w
    ));
    // In the tool results only e2 -> precision 1.
    assert!(passed(
        &set(e.clone(), SetSource::ToolResults, 1.0, 0.25),
        &turns,
        &w
    ));
    // Naming nobody never passes.
    let empty = vec![turn(vec![fin("nobody")])];
    assert!(!passed(&set(e, SetSource::Answer, 0.0, 0.0), &empty, &w));
    let names = score::named_items(
        "Wireless Earbuds beat the Stoneware Mug Pair",
        SetKind::Product,
        &w,
    );
    assert_eq!(names.len(), 2);
}

#[test]
fn contains_scorer_needs_every_string() {
    let w = world();
    let t = |s: &[&str]| {
        task(
            vec![],
            vec![],
            Some(ResolvedAnswer::Contains(
                s.iter().map(|x| (*x).to_owned()).collect(),
            )),
        )
    };
    let turns = vec![turn(vec![fin("Top: Wireless Earbuds, then Lamp.")])];
    assert!(passed(&t(&["wireless earbuds"]), &turns, &w));
    assert!(passed(&t(&["Lamp", "Earbuds"]), &turns, &w));
    assert!(!passed(&t(&["Lamp", "Sweater"]), &turns, &w));
}

#[test]
fn refuse_scorer_needs_no_calls_and_a_refusal() {
    let w = world();
    let t = task(vec![], vec![], Some(ResolvedAnswer::Refuse));
    assert!(passed(
        &t,
        &[turn(vec![fin(
            "Sorry, I can't answer that with the tools I have."
        )])],
        &w
    ));
    assert!(passed(
        &t,
        &[turn(vec![fin("I’m unable to check the weather.")])],
        &w
    ));
    assert!(!passed(&t, &[turn(vec![fin("It will be sunny.")])], &w));
    assert!(!passed(
        &t,
        &[turn(vec![
            call("a", "revenue_over_time", json!({})),
            fin("I can't say.")
        ])],
        &w
    ));
}

#[test]
fn approval_scorer_needs_a_pause_and_no_execution() {
    let w = world();
    let mut args = Map::new();
    args.insert("tag".into(), json!("vip"));
    let t = task(
        vec![],
        vec![],
        Some(ResolvedAnswer::Approval {
            tool: "tag_customers".into(),
            args,
        }),
    );
    let paused = vec![turn(vec![interrupt(
        "tag_customers",
        json!({"tag": "VIP", "customers": ["a@x"]}),
    )])];
    assert!(passed(&t, &paused, &w));
    let wrong_args = vec![turn(vec![interrupt(
        "tag_customers",
        json!({"tag": "gold"}),
    )])];
    assert!(!passed(&t, &wrong_args, &w));
    let other_tool = vec![turn(vec![interrupt("run_segmentation", json!({}))])];
    assert!(!passed(&t, &other_tool, &w));
    let executed = vec![turn(vec![
        call("c", "tag_customers", json!({"tag": "vip"})),
        result("c", "tag_customers", json!({"tagged": 1})),
        fin("done"),
    ])];
    assert!(!passed(&t, &executed, &w));
    let answered = vec![turn(vec![fin("I would tag them.")])];
    assert!(!passed(&t, &answered, &w));
}
