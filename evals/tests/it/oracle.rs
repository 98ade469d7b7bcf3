//! Oracle facts against hand-computed answers on a hand-made world.

use aima_evals::oracle::{Fact, FactValue, previous_month};
use aima_evals::world::{Order, OrderItem, World, WorldConfig};
use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::json;

fn item(name: &str, qty: u32, price: f64) -> OrderItem {
    OrderItem {
        product_id: name.into(),
        product_name: name.into(),
        category: "X".into(),
        quantity: qty,
        unit_price: price,
    }
}

/// Three customers of a generated world with hand-made orders.
fn tiny() -> World {
    let mut w = World::generate(WorldConfig {
        seed: 3,
        customers: 3,
    })
    .expect("world");
    let ids: Vec<String> = w.customers.iter().map(|c| c.customer_id.clone()).collect();
    w.customers[0].city = "Austin".into();
    w.customers[0].country = "US".into();
    w.customers[1].city = "Berlin".into();
    w.customers[1].country = "DE".into();
    w.customers[2].city = "Austin".into();
    w.customers[2].country = "US".into();
    w.customers[2].created_at = Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap();
    w.customers[0].created_at = Utc.with_ymd_and_hms(2024, 8, 1, 12, 0, 0).unwrap();
    w.customers[1].created_at = Utc.with_ymd_and_hms(2025, 12, 31, 23, 0, 0).unwrap();
    let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap();
    let order = |n: &str, c: &str, t, items: Vec<OrderItem>| Order {
        order_id: n.into(),
        customer_id: c.into(),
        ordered_at: t,
        amount: items
            .iter()
            .map(|i| f64::from(i.quantity) * i.unit_price)
            .sum(),
        items,
    };
    w.orders = vec![
        order("O1", &ids[0], at(2026, 4, 30), vec![item("Mug", 1, 10.0)]),
        order(
            "O2",
            &ids[0],
            at(2026, 5, 1),
            vec![item("Mug", 2, 10.0), item("Lamp", 1, 50.0)],
        ),
        order("O3", &ids[1], at(2026, 5, 31), vec![item("Tee", 5, 4.0)]),
        order("O4", &ids[2], at(2026, 6, 1), vec![item("Lamp", 1, 55.0)]),
    ];
    w
}

fn fact(v: serde_json::Value) -> Fact {
    serde_json::from_value(v).expect("fact parses")
}

fn num(w: &World, v: serde_json::Value) -> f64 {
    match fact(v).eval(w).expect("fact") {
        FactValue::Number(x) => x,
        other => panic!("not a number: {other:?}"),
    }
}

#[test]
fn revenue_and_orders_follow_inclusive_periods() {
    let w = tiny();
    assert_eq!(
        num(&w, json!({"fact": "revenue", "period": "2026-05"})),
        90.0
    );
    assert_eq!(num(&w, json!({"fact": "revenue", "period": "2026"})), 155.0);
    assert_eq!(
        num(
            &w,
            json!({"fact": "revenue", "start": "2026-04-30", "end": "2026-05-01"})
        ),
        80.0
    );
    assert_eq!(
        num(&w, json!({"fact": "order_count", "period": "2026-05"})),
        2.0
    );
    assert_eq!(num(&w, json!({"fact": "order_count"})), 4.0);
    assert!(
        fact(json!({"fact": "revenue", "period": "2026-13"}))
            .eval(&w)
            .is_err()
    );
}

#[test]
fn products_rank_by_revenue_or_units() {
    let w = tiny();
    let top = fact(json!({"fact": "top_products", "n": 3}))
        .eval(&w)
        .expect("fact");
    assert_eq!(
        top,
        FactValue::Set(vec!["Lamp".into(), "Mug".into(), "Tee".into()])
    );
    let by_units = fact(json!({"fact": "top_product", "by": "quantity", "period": "2026-05"}))
        .eval(&w)
        .expect("fact");
    assert_eq!(by_units, FactValue::Text("Tee".into()));
    assert!(
        fact(json!({"fact": "top_product", "rank": 9}))
            .eval(&w)
            .is_err()
    );
}

#[test]
fn customer_facts_count_and_look_up() {
    let w = tiny();
    let c0 = w.customers[0].customer_id.clone();
    assert_eq!(num(&w, json!({"fact": "customer_count"})), 3.0);
    assert_eq!(
        num(&w, json!({"fact": "customer_count", "city": "austin"})),
        2.0
    );
    assert_eq!(
        num(&w, json!({"fact": "customer_count", "country": "DE"})),
        1.0
    );
    assert_eq!(
        num(
            &w,
            json!({"fact": "customer_count", "created_from": "2025-01-01", "created_to": "2025-12-31"})
        ),
        2.0
    );
    assert_eq!(
        num(&w, json!({"fact": "customer_orders", "customer": c0})),
        2.0
    );
    let email = w.customers[0].email.clone();
    assert_eq!(
        num(&w, json!({"fact": "customer_spend", "customer": email})),
        80.0
    );
    assert_eq!(
        num(&w, json!({"fact": "search_count", "query": "AUSTIN"})),
        2.0
    );
    assert!(
        fact(json!({"fact": "customer_orders", "customer": "nobody"}))
            .eval(&w)
            .is_err()
    );
    assert_eq!(
        previous_month(NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()),
        "2026-05"
    );
    assert_eq!(
        previous_month(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()),
        "2025-12"
    );
}

#[test]
fn truth_sets_follow_the_customers_state() {
    let mut w = tiny();
    w.customers[0].truth.alive = false;
    w.customers[1].truth.alive = true;
    w.customers[1].truth.churn_prob_90d = 0.7;
    w.customers[2].truth.alive = true;
    w.customers[2].truth.churn_prob_90d = 0.1;
    let emails: Vec<String> = w.customers.iter().map(|c| c.email.clone()).collect();
    let e = |i: usize| emails[i].clone();
    assert_eq!(
        fact(json!({"fact": "dropped_customers"}))
            .eval(&w)
            .expect("fact"),
        FactValue::Set(vec![e(0)])
    );
    assert_eq!(
        fact(json!({"fact": "churning_customers", "min_churn_90d": 0.5}))
            .eval(&w)
            .expect("fact"),
        FactValue::Set(vec![e(0), e(1)])
    );
    assert_eq!(
        fact(json!({"fact": "alive_customers"}))
            .eval(&w)
            .expect("fact"),
        FactValue::Set(vec![e(1), e(2)])
    );
    assert_eq!(num(&w, json!({"fact": "dropped_share"})), 1.0 / 3.0);
    w.customers[0].truth.clv_365d = 0.0;
    w.customers[1].truth.clv_365d = 10.0;
    w.customers[2].truth.clv_365d = 99.0;
    let top = fact(json!({"fact": "top_true_clv", "n": 2}))
        .eval(&w)
        .expect("fact");
    assert_eq!(top, FactValue::Set(vec![e(2), e(1)]));
}
