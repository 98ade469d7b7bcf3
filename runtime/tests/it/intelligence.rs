//! Store tests of the M1/M6 tables (features, personas, churn predictions,
//! intelligence alerts); each runs on SQLite and PostgreSQL.

use aima_runtime::store::{
    NewAlert, NewChurnPrediction, NewCustomer, NewEvent, NewOrder, NewOrderItem, PersonaTransition,
    RFM_SEGMENT_KIND, Store,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::harness::{Ctx, store_tests};

store_tests!(
    analytics_input_indexes_rows,
    features_replace_and_read_back,
    personas_record_transitions,
    churn_predictions_latest_run,
    alerts_filter_by_kind_and_time,
);

fn ts(y: i32, mo: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, 12, 0, 0).unwrap()
}

fn customer(name: &str, created: DateTime<Utc>) -> NewCustomer {
    NewCustomer {
        id: Uuid::now_v7(),
        external_id: None,
        email: Some(format!("{name}@example.com")),
        first_name: None,
        last_name: None,
        full_name: Some(name.to_string()),
        phone: None,
        city: None,
        country: None,
        tags: vec![],
        properties: json!({}),
        created_at: created,
    }
}

fn order(
    ext: &str,
    customer: Option<Uuid>,
    amount: f64,
    status: &str,
    at: DateTime<Utc>,
) -> NewOrder {
    NewOrder {
        id: Uuid::now_v7(),
        external_id: ext.to_string(),
        customer_id: customer,
        amount,
        currency: None,
        status: Some(status.to_string()),
        ordered_at: at,
        items: vec![
            NewOrderItem {
                product_name: "Tea".into(),
                sku: None,
                category: Some("Drinks".into()),
                quantity: 2.0,
                unit_price: Some(5.0),
            },
            NewOrderItem {
                product_name: "Cup".into(),
                sku: None,
                category: None,
                quantity: 1.0,
                unit_price: None,
            },
        ],
    }
}

async fn setup(store: &Store, slug: &str, names: &[&str]) -> (Uuid, Vec<Uuid>) {
    let org = store.create_organization(slug, slug).await.unwrap().id;
    let customers: Vec<NewCustomer> = names
        .iter()
        .enumerate()
        .map(|(i, n)| customer(n, ts(2024, 1, 1 + i as u32)))
        .collect();
    let mut tx = store.begin().await.unwrap();
    tx.insert_customers(org, &customers).await.unwrap();
    tx.commit().await.unwrap();
    (org, customers.iter().map(|c| c.id).collect())
}

async fn analytics_input_indexes_rows(ctx: Ctx) {
    let store = &ctx.store;
    let (org, ids) = setup(store, "shop", &["ann", "bob"]).await;
    let (other, other_ids) = setup(store, "other", &["zed"]).await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_orders(
        org,
        &[
            order("o2", Some(ids[0]), 20.0, "refunded", ts(2024, 3, 1)),
            order("o1", Some(ids[1]), 10.0, "paid", ts(2024, 2, 1)),
            order("o3", None, 99.0, "paid", ts(2024, 2, 2)),
        ],
    )
    .await
    .unwrap();
    tx.insert_events(
        org,
        &[NewEvent {
            id: Uuid::now_v7(),
            customer_id: ids[0],
            event_type: "email_open".into(),
            channel: Some("email".into()),
            properties: json!({}),
            occurred_at: ts(2024, 2, 5),
        }],
    )
    .await
    .unwrap();
    tx.insert_orders(
        other,
        &[order("x", Some(other_ids[0]), 5.0, "paid", ts(2024, 2, 1))],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let input = store.analytics_input(org).await.unwrap();
    assert_eq!(input.customers, ids, "creation order");
    assert_eq!(input.created_at, vec![ts(2024, 1, 1), ts(2024, 1, 2)]);
    // The order without a customer is left out; the rest oldest first.
    assert_eq!(input.orders.len(), 2);
    assert_eq!(input.orders[0].customer, 1);
    assert_eq!(input.orders[0].amount, 10.0);
    assert_eq!(input.orders[1].customer, 0);
    assert_eq!(input.orders[1].status.as_deref(), Some("refunded"));
    assert_eq!(input.items.len(), 4);
    let mut products = input.products.clone();
    products.sort();
    assert_eq!(products, vec!["Cup".to_string(), "Tea".to_string()]);
    assert_eq!(input.categories, vec!["Drinks".to_string()]);
    let id_of = |name: &str| input.products.iter().position(|p| p == name).unwrap() as u32;
    let tea = input
        .items
        .iter()
        .find(|i| i.product == id_of("Tea"))
        .unwrap();
    assert_eq!((tea.amount, tea.category), (10.0, Some(0)));
    let cup = input
        .items
        .iter()
        .find(|i| i.product == id_of("Cup"))
        .unwrap();
    assert_eq!((cup.amount, cup.category), (0.0, None));
    assert!(input.items.iter().all(|i| (i.order as usize) < 2));
    assert_eq!(input.events.len(), 1);
    assert_eq!(input.events[0].customer, 0);
    assert_eq!(input.channels, vec!["email".to_string()]);
    assert_eq!(input.index_of(ids[1]), Some(1));
    assert_eq!(input.index_of(other_ids[0]), None);
}

async fn features_replace_and_read_back(ctx: Ctx) {
    let store = &ctx.store;
    let (org, ids) = setup(store, "shop", &["ann", "bob"]).await;
    let t1 = ts(2024, 5, 1);
    let rows = vec![
        (ids[0], json!({"health_score": 80.5, "recency_days": 3.0})),
        (ids[1], json!({"health_score": 10.0, "recency_days": 300.0})),
    ];
    assert_eq!(
        store
            .replace_customer_features(org, t1, &rows)
            .await
            .unwrap(),
        2
    );
    let (at, f) = store.customer_features(org, ids[0]).await.unwrap().unwrap();
    assert_eq!(at, t1);
    assert_eq!(f["health_score"], json!(80.5));
    let mut col = store.feature_column(org, "health_score").await.unwrap();
    col.sort_by(|a, b| a.1.total_cmp(&b.1));
    assert_eq!(col, vec![(ids[1], 10.0), (ids[0], 80.5)]);
    assert!(store.feature_column(org, "nope").await.unwrap().is_empty());
    // A second run replaces everything: bob is gone, ann updated.
    let t2 = ts(2024, 6, 1);
    store
        .replace_customer_features(org, t2, &[(ids[0], json!({"health_score": 70.0}))])
        .await
        .unwrap();
    assert!(
        store
            .customer_features(org, ids[1])
            .await
            .unwrap()
            .is_none()
    );
    let (at, f) = store.customer_features(org, ids[0]).await.unwrap().unwrap();
    assert_eq!((at, f), (t2, json!({"health_score": 70.0})));
}

async fn personas_record_transitions(ctx: Ctx) {
    let store = &ctx.store;
    let (org, ids) = setup(store, "shop", &["ann", "bob", "cat"]).await;
    let t1 = ts(2024, 5, 1);
    let first = store
        .record_personas(
            org,
            t1,
            &[
                (ids[0], "champions".into()),
                (ids[1], "champions".into()),
                (ids[2], "lost".into()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|t| t.from.is_none()));
    assert_eq!(
        store.segment_sizes(org, RFM_SEGMENT_KIND).await.unwrap(),
        vec![("champions".to_string(), 2), ("lost".to_string(), 1)]
    );
    // Ann slips to at_risk, bob stays, cat has no persona any more.
    let t2 = ts(2024, 6, 1);
    let second = store
        .record_personas(
            org,
            t2,
            &[(ids[0], "at_risk".into()), (ids[1], "champions".into())],
        )
        .await
        .unwrap();
    assert_eq!(
        second,
        vec![PersonaTransition {
            customer_id: ids[0],
            from: Some("champions".into()),
            to: "at_risk".into(),
        }]
    );
    let ann = store
        .current_segment(org, ids[0], RFM_SEGMENT_KIND)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ann.name, "at_risk");
    assert_eq!(ann.joined_at, t2);
    assert_eq!(ann.previous.as_deref(), Some("champions"));
    assert!(
        store
            .current_segment(org, ids[2], RFM_SEGMENT_KIND)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.segment_sizes(org, RFM_SEGMENT_KIND).await.unwrap(),
        vec![
            ("at_risk".to_string(), 1),
            ("champions".to_string(), 1),
            ("lost".to_string(), 0)
        ]
    );
    let members = store
        .segment_members(org, RFM_SEGMENT_KIND, "champions", 10)
        .await
        .unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].customer_id, ids[1]);
    assert_eq!(members[0].full_name.as_deref(), Some("bob"));
    assert_eq!(members[0].joined_at, t1);
    let mut assigned = store
        .segment_assignments(org, RFM_SEGMENT_KIND)
        .await
        .unwrap();
    assigned.sort();
    let mut expected = vec![
        (ids[0], "at_risk".to_string()),
        (ids[1], "champions".to_string()),
    ];
    expected.sort();
    assert_eq!(assigned, expected);
    // Running again with the same personas changes nothing.
    let third = store
        .record_personas(
            org,
            ts(2024, 7, 1),
            &[(ids[0], "at_risk".into()), (ids[1], "champions".into())],
        )
        .await
        .unwrap();
    assert!(third.is_empty());
}

async fn churn_predictions_latest_run(ctx: Ctx) {
    let store = &ctx.store;
    let (org, ids) = setup(store, "shop", &["ann", "bob"]).await;
    assert!(
        store
            .latest_churn_predictions(org)
            .await
            .unwrap()
            .is_empty()
    );
    let row = |c: Uuid, h: i64, p: f64| NewChurnPrediction {
        customer_id: c,
        horizon_days: h,
        probability: p,
        clv: Some(12.5),
        risk_tier: "low".into(),
    };
    let t1 = ts(2024, 5, 1);
    store
        .record_churn_predictions(org, "v1", t1, &[row(ids[0], 30, 0.1), row(ids[1], 30, 0.2)])
        .await
        .unwrap();
    let t2 = ts(2024, 6, 1);
    store
        .record_churn_predictions(
            org,
            "v2",
            t2,
            &[row(ids[0], 90, 0.3), row(ids[0], 30, 0.15)],
        )
        .await
        .unwrap();
    let latest = store.latest_churn_predictions(org).await.unwrap();
    assert_eq!(latest.len(), 2);
    assert!(
        latest
            .iter()
            .all(|p| p.model_version == "v2" && p.predicted_at == t2)
    );
    assert_eq!(latest[0].horizon_days, 30);
    assert_eq!(latest[1].probability, 0.3);
    // Bob's latest run is the first one.
    let bob = store.customer_churn_predictions(org, ids[1]).await.unwrap();
    assert_eq!(bob.len(), 1);
    assert_eq!((bob[0].probability, bob[0].clv), (0.2, Some(12.5)));
    assert_eq!(bob[0].model_version, "v1");
}

async fn alerts_filter_by_kind_and_time(ctx: Ctx) {
    let store = &ctx.store;
    let (org, ids) = setup(store, "shop", &["ann"]).await;
    let alert = |kind: &str| NewAlert {
        kind: kind.into(),
        severity: "warning".into(),
        customer_id: Some(ids[0]),
        title: "t".into(),
        details: json!({"from": "champions"}),
    };
    let a = store
        .create_alert(org, alert("persona_drift"))
        .await
        .unwrap();
    store.create_alert(org, alert("other")).await.unwrap();
    let found = store
        .list_alerts_of_kind(org, "persona_drift", None, 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].details, json!({"from": "champions"}));
    let later = a.created_at + Duration::seconds(1);
    assert!(
        store
            .list_alerts_of_kind(org, "persona_drift", Some(later), 10)
            .await
            .unwrap()
            .is_empty()
    );
}
