//! The world: same seed, same bytes; its truth is consistent.

use std::collections::BTreeMap;

use aima_evals::export::{FILES, export};
use aima_evals::world::{World, WorldConfig};

fn small(seed: u64) -> World {
    World::generate(WorldConfig {
        seed,
        customers: 300,
    })
    .expect("world")
}

#[test]
fn same_seed_gives_byte_identical_exports() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let w1 = small(7);
    let w2 = small(7);
    assert_eq!(w1, w2);
    export(&w1, a.path()).expect("export");
    export(&w2, b.path()).expect("export");
    for f in FILES {
        let x = std::fs::read(a.path().join(f)).expect("read");
        let y = std::fs::read(b.path().join(f)).expect("read");
        assert!(!x.is_empty(), "{f} is empty");
        assert_eq!(x, y, "{f} differs between two exports of seed 7");
    }
    let other = small(8);
    assert_ne!(w1.orders, other.orders, "another seed gives another world");
}

#[test]
fn truth_is_consistent_with_the_raw_data() {
    let w = World::generate(WorldConfig::new(42)).expect("world");
    let mut orders: BTreeMap<&str, Vec<&aima_evals::world::Order>> = BTreeMap::new();
    for o in &w.orders {
        orders.entry(o.customer_id.as_str()).or_default().push(o);
        let items: f64 = o
            .items
            .iter()
            .map(|i| f64::from(i.quantity) * i.unit_price)
            .sum();
        assert!(
            (items - o.amount).abs() < 0.006,
            "{}: lines do not add up",
            o.order_id
        );
        assert!(o.ordered_at.date_naive() <= w.today);
        assert!(o.ordered_at.date_naive() >= w.start);
    }
    assert!(
        w.orders
            .windows(2)
            .all(|p| p[0].ordered_at <= p[1].ordered_at)
    );
    let mut dropped = 0;
    for c in &w.customers {
        let mine = orders
            .get(c.customer_id.as_str())
            .expect("every customer ordered");
        let last = mine.iter().map(|o| o.ordered_at).max().expect("an order");
        assert!(
            c.created_at <= mine[0].ordered_at,
            "{} signs up before ordering",
            c.customer_id
        );
        let t = &c.truth;
        match t.dropout_at {
            Some(d) => {
                dropped += 1;
                assert!(!t.alive);
                assert_eq!(last, d, "{}: no order after the dropout", c.customer_id);
                assert_eq!(t.churn_prob_90d, 1.0);
                assert_eq!(t.clv_365d, 0.0);
            }
            None => {
                assert!(t.alive);
                assert!(t.churn_prob_90d > 0.0 && t.churn_prob_90d < 1.0);
                assert!(t.expected_purchases_365d > 0.0);
                assert!((t.clv_365d - t.expected_purchases_365d * t.mean_spend).abs() < 1e-6);
            }
        }
    }
    // Both states are common, and the data runs up to "today".
    assert!(dropped > 200 && dropped < 1_800, "{dropped} dropped");
    assert!((w.today - w.reference_date()).num_days() <= 3);
    let emails: std::collections::BTreeSet<&str> =
        w.customers.iter().map(|c| c.email.as_str()).collect();
    assert_eq!(emails.len(), w.customers.len(), "e-mails are unique");
    assert_eq!(w.campaigns.len(), 24);
    assert!(!w.reviews.is_empty() && !w.channel_spend.is_empty() && !w.events.is_empty());
}
