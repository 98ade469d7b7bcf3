//! Data tools on both backends, through the registry (so arguments and
//! results are checked against the schemas), with a fixture whose numbers
//! were computed by hand.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use aima_runtime::registry::{Registry, ToolContext, ToolError};
use aima_runtime::store::testing::Ctx;
use aima_runtime::store::{ImportRecord, NewCustomer, NewOrder, NewOrderItem, Store};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::DataTools;

aima_runtime::store_tests!(
    customer_count_filters,
    customer_search_and_totals,
    customer_profile_resolves_references,
    revenue_over_time_buckets,
    top_products_rankings,
    import_status_lists_newest_first,
    tag_customers_adds_tags_once,
    concurrent_tagging_loses_no_tag,
    organizations_see_only_their_own_data,
    bad_arguments_are_refused,
);

fn ts(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn customer(
    email: &str,
    name: &str,
    city: &str,
    country: &str,
    created: DateTime<Utc>,
) -> NewCustomer {
    let (first, last) = name.split_once(' ').unwrap();
    NewCustomer {
        id: Uuid::now_v7(),
        external_id: None,
        email: Some(email.to_string()),
        first_name: Some(first.to_string()),
        last_name: Some(last.to_string()),
        full_name: Some(name.to_string()),
        phone: None,
        city: Some(city.to_string()),
        country: Some(country.to_string()),
        tags: vec![],
        properties: json!({"note": format!("prefers {city} store")}),
        created_at: created,
    }
}

fn item(name: &str, quantity: f64, unit_price: f64) -> NewOrderItem {
    NewOrderItem {
        product_name: name.to_string(),
        sku: None,
        category: None,
        quantity,
        unit_price: Some(unit_price),
    }
}

fn order(
    external_id: &str,
    customer_id: Option<Uuid>,
    amount: f64,
    at: DateTime<Utc>,
    items: Vec<NewOrderItem>,
) -> NewOrder {
    NewOrder {
        id: Uuid::now_v7(),
        external_id: external_id.to_string(),
        customer_id,
        amount,
        currency: Some("EUR".to_string()),
        status: Some("paid".to_string()),
        ordered_at: at,
        items,
    }
}

/// Organization A of the fixture.
struct Fixture {
    org: Uuid,
    /// Anna Schmidt, anna@example.com, Berlin.
    anna: Uuid,
    /// Ben Müller, BEN@Example.org, München.
    ben: Uuid,
    /// A second Anna Schmidt, Hamburg.
    anna2: Uuid,
    /// Chloé Dubois, Paris.
    chloe: Uuid,
}

/// Four customers and five orders:
///
/// | order | customer | time (UTC)          | amount | lines                      |
/// |-------|----------|---------------------|--------|----------------------------|
/// | o1    | anna     | 2024-03-04 10:00 Mo | 100.00 | Widget 2x25, Gadget 1x50   |
/// | o2    | anna     | 2024-03-10 23:30 Su |  50.50 | Widget 1x25, Cable 3x8.5   |
/// | o3    | ben      | 2024-03-11 00:15 Mo | 200.25 | Gadget 4x50                |
/// | o4    | chloe    | 2024-04-01 12:00    |  75.00 | Cable 10x7.5               |
/// | o5    | (none)   | 2024-01-31 23:59:59 |  10.00 | Sticker 5x2                |
async fn fixture(store: &Store) -> Fixture {
    let org = store
        .create_organization("shop-a", "Shop A")
        .await
        .unwrap()
        .id;
    let customers = vec![
        customer(
            "anna@example.com",
            "Anna Schmidt",
            "Berlin",
            "Germany",
            ts(2024, 1, 5, 9, 0, 0),
        ),
        customer(
            "BEN@Example.org",
            "Ben Müller",
            "München",
            "Germany",
            ts(2024, 2, 10, 9, 0, 0),
        ),
        customer(
            "anna.s@example.net",
            "Anna Schmidt",
            "Hamburg",
            "germany",
            ts(2024, 3, 1, 9, 0, 0),
        ),
        customer(
            "chloe@example.fr",
            "Chloé Dubois",
            "Paris",
            "France",
            ts(2024, 3, 15, 9, 0, 0),
        ),
    ];
    let ids: Vec<Uuid> = customers.iter().map(|c| c.id).collect();
    let orders = vec![
        order(
            "o1",
            Some(ids[0]),
            100.0,
            ts(2024, 3, 4, 10, 0, 0),
            vec![item("Widget", 2.0, 25.0), item("Gadget", 1.0, 50.0)],
        ),
        order(
            "o2",
            Some(ids[0]),
            50.5,
            ts(2024, 3, 10, 23, 30, 0),
            vec![item("Widget", 1.0, 25.0), item("Cable", 3.0, 8.5)],
        ),
        order(
            "o3",
            Some(ids[1]),
            200.25,
            ts(2024, 3, 11, 0, 15, 0),
            vec![item("Gadget", 4.0, 50.0)],
        ),
        order(
            "o4",
            Some(ids[3]),
            75.0,
            ts(2024, 4, 1, 12, 0, 0),
            vec![item("Cable", 10.0, 7.5)],
        ),
        order(
            "o5",
            None,
            10.0,
            ts(2024, 1, 31, 23, 59, 59),
            vec![item("Sticker", 5.0, 2.0)],
        ),
    ];
    let mut tx = store.begin().await.unwrap();
    tx.insert_customers(org, &customers).await.unwrap();
    tx.insert_orders(org, &orders).await.unwrap();
    tx.commit().await.unwrap();
    Fixture {
        org,
        anna: ids[0],
        ben: ids[1],
        anna2: ids[2],
        chloe: ids[3],
    }
}

fn registry(store: &Store) -> Registry {
    let mut registry = Registry::new();
    DataTools::register(Arc::new(DataTools::new(store.clone())), &mut registry);
    registry
}

fn ctx(org: Uuid) -> ToolContext {
    ToolContext {
        organization_id: org,
        thread_id: None,
    }
}

async fn call(registry: &Registry, org: Uuid, tool: &str, args: Value) -> Value {
    registry
        .call(&ctx(org), tool, args.clone())
        .await
        .unwrap_or_else(|e| panic!("{tool} {args}: {e}"))
}

async fn call_err(registry: &Registry, org: Uuid, tool: &str, args: Value) -> ToolError {
    match registry.call(&ctx(org), tool, args.clone()).await {
        Ok(v) => panic!("{tool} {args}: expected an error, got {v}"),
        Err(e) => e,
    }
}

fn ids_of(customers: &Value) -> Vec<Uuid> {
    customers
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

async fn customer_count_filters(ctx: Ctx) {
    let f = fixture(&ctx.store).await;
    let r = registry(&ctx.store);
    let count = |args: Value| {
        let r = &r;
        async move { call(r, f.org, "customer_count", args).await["count"].clone() }
    };
    assert_eq!(count(Value::Null).await, 4);
    assert_eq!(count(json!({"country": "GERMANY"})).await, 3);
    assert_eq!(count(json!({"country": " germany "})).await, 3);
    // Unicode case folding: "münchen" matches "München" on both backends.
    assert_eq!(count(json!({"city": "MÜNCHEN"})).await, 1);
    assert_eq!(
        count(json!({"country": "Germany", "city": "Paris"})).await,
        0
    );
    // Inclusive days: Ben (02-10) and the second Anna (03-01).
    assert_eq!(
        count(json!({"created_from": "2024-02-10", "created_to": "2024-03-01"})).await,
        2
    );
    assert_eq!(
        count(json!({"country": "germany", "created_to": "2024-01-31"})).await,
        1
    );
    assert_eq!(count(json!({"created_from": "2024-03-16"})).await, 0);
}

async fn customer_search_and_totals(ctx: Ctx) {
    let f = fixture(&ctx.store).await;
    let r = registry(&ctx.store);
    let out = call(&r, f.org, "customer_search", json!({"query": "anna"})).await;
    assert_eq!(out["total"], 2);
    // Newest first.
    assert_eq!(ids_of(&out["customers"]), vec![f.anna2, f.anna]);
    assert_eq!(out["customers"][1]["name"], "Anna Schmidt");
    assert_eq!(out["customers"][1]["email"], "anna@example.com");
    assert_eq!(out["customers"][1]["city"], "Berlin");

    let out = call(&r, f.org, "customer_search", json!({"query": "hamburg"})).await;
    assert_eq!(ids_of(&out["customers"]), vec![f.anna2], "matches the city");
    let out = call(
        &r,
        f.org,
        "customer_search",
        json!({"query": "ben@EXAMPLE"}),
    )
    .await;
    assert_eq!(ids_of(&out["customers"]), vec![f.ben]);

    let out = call(
        &r,
        f.org,
        "customer_search",
        json!({"query": "example", "limit": 1}),
    )
    .await;
    assert_eq!(ids_of(&out["customers"]), vec![f.chloe]);
    assert_eq!(out["total"], 4, "total counts beyond the limit");

    let out = call(&r, f.org, "customer_search", json!({})).await;
    assert_eq!(out["total"], 4);
    assert_eq!(out["customers"].as_array().unwrap().len(), 4);
    let out = call(&r, f.org, "customer_search", json!({"query": "zzz"})).await;
    assert_eq!(out["total"], 0);
    assert_eq!(out["customers"], json!([]));
}

async fn customer_profile_resolves_references(ctx: Ctx) {
    let f = fixture(&ctx.store).await;
    let r = registry(&ctx.store);
    // By e-mail, case-insensitively.
    let out = call(
        &r,
        f.org,
        "customer_profile",
        json!({"customer": "ANNA@example.COM"}),
    )
    .await;
    assert_eq!(out["customer"]["id"], f.anna.to_string());
    assert_eq!(out["properties"], json!({"note": "prefers Berlin store"}));
    let stats = &out["order_stats"];
    assert_eq!(stats["orders"], 2);
    assert_eq!(stats["total_revenue"], 150.5);
    assert_eq!(stats["average_order_value"], 75.25);
    let first: DateTime<Utc> = serde_json::from_value(stats["first_order_at"].clone()).unwrap();
    let last: DateTime<Utc> = serde_json::from_value(stats["last_order_at"].clone()).unwrap();
    assert_eq!(first, ts(2024, 3, 4, 10, 0, 0));
    assert_eq!(last, ts(2024, 3, 10, 23, 30, 0));
    let recent: Vec<&str> = out["recent_orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(recent, ["o2", "o1"], "newest first");
    assert_eq!(
        out["recent_orders"][0]["products"],
        json!(["Widget", "Cable"])
    );

    // By id.
    let out = call(
        &r,
        f.org,
        "customer_profile",
        json!({"customer": f.chloe.to_string()}),
    )
    .await;
    assert_eq!(out["customer"]["name"], "Chloé Dubois");
    assert_eq!(out["order_stats"]["total_revenue"], 75.0);

    // By name, case-insensitively (Unicode).
    let out = call(
        &r,
        f.org,
        "customer_profile",
        json!({"customer": "ben  MÜLLER"}),
    )
    .await;
    assert_eq!(out["customer"]["id"], f.ben.to_string());
    assert_eq!(out["order_stats"]["orders"], 1);

    // An ambiguous name lists the candidates.
    match call_err(
        &r,
        f.org,
        "customer_profile",
        json!({"customer": "Anna Schmidt"}),
    )
    .await
    {
        ToolError::Failed { tool, message } => {
            assert_eq!(tool, "customer_profile");
            assert!(message.contains("matches 2 customers"), "{message}");
            assert!(message.contains(&f.anna.to_string()), "{message}");
            assert!(message.contains(&f.anna2.to_string()), "{message}");
            assert!(message.contains("anna.s@example.net"), "{message}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }

    // A customer without orders.
    let out = call(
        &r,
        f.org,
        "customer_profile",
        json!({"customer": "anna.s@example.net"}),
    )
    .await;
    assert_eq!(out["order_stats"]["orders"], 0);
    assert_eq!(out["order_stats"]["average_order_value"], Value::Null);
    assert_eq!(out["recent_orders"], json!([]));

    assert!(matches!(
        call_err(&r, f.org, "customer_profile", json!({"customer": "nobody@example.com"})).await,
        ToolError::Failed { message, .. } if message.contains("no customer matches")
    ));
}

fn buckets(out: &Value) -> Vec<(String, f64, u64)> {
    out["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["period_start"].as_str().unwrap().to_string(),
                b["revenue"].as_f64().unwrap(),
                b["orders"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn revenue_over_time_buckets(ctx: Ctx) {
    let f = fixture(&ctx.store).await;
    let r = registry(&ctx.store);
    // Default: months over the whole history, empty months included.
    let out = call(&r, f.org, "revenue_over_time", json!({})).await;
    assert_eq!(out["granularity"], "month");
    assert_eq!(
        buckets(&out),
        vec![
            ("2024-01-01".into(), 10.0, 1),
            ("2024-02-01".into(), 0.0, 0),
            ("2024-03-01".into(), 350.75, 3),
            ("2024-04-01".into(), 75.0, 1),
        ]
    );
    assert_eq!(out["total_revenue"], 435.75);
    assert_eq!(out["total_orders"], 5);

    // ISO weeks start on Monday: Sunday 03-10 23:30 belongs to the week of
    // 03-04, Monday 03-11 00:15 to the next; 03-01 (a Friday) lies in the
    // week of 02-26.
    let out = call(
        &r,
        f.org,
        "revenue_over_time",
        json!({"start": "2024-03-01", "end": "2024-03-17", "granularity": "week"}),
    )
    .await;
    assert_eq!(
        buckets(&out),
        vec![
            ("2024-02-26".into(), 0.0, 0),
            ("2024-03-04".into(), 150.5, 2),
            ("2024-03-11".into(), 200.25, 1),
        ]
    );
    assert_eq!(out["total_revenue"], 350.75);
    assert_eq!(out["total_orders"], 3);

    // Days; the end day is included, the last second of January too.
    let out = call(
        &r,
        f.org,
        "revenue_over_time",
        json!({"start": "2024-03-10", "end": "2024-03-11", "granularity": "day"}),
    )
    .await;
    assert_eq!(
        buckets(&out),
        vec![
            ("2024-03-10".into(), 50.5, 1),
            ("2024-03-11".into(), 200.25, 1)
        ]
    );
    let out = call(
        &r,
        f.org,
        "revenue_over_time",
        json!({"start": "2024-01-31", "end": "2024-01-31", "granularity": null}),
    )
    .await;
    assert_eq!(buckets(&out), vec![("2024-01-01".into(), 10.0, 1)]);

    // A range without orders: zero buckets over the range.
    let out = call(
        &r,
        f.org,
        "revenue_over_time",
        json!({"start": "2023-01-01", "end": "2023-02-15"}),
    )
    .await;
    assert_eq!(
        buckets(&out),
        vec![("2023-01-01".into(), 0.0, 0), ("2023-02-01".into(), 0.0, 0)]
    );
    assert_eq!(out["total_orders"], 0);

    // Too many buckets: asks for a coarser granularity.
    let err = call_err(
        &r,
        f.org,
        "revenue_over_time",
        json!({"start": "2000-01-01", "end": "2024-12-31", "granularity": "day"}),
    )
    .await;
    assert!(
        matches!(&err, ToolError::InvalidArguments { field, .. } if field == "/granularity"),
        "{err:?}"
    );
}

fn products(out: &Value) -> Vec<(String, f64, f64, u64)> {
    out["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["revenue"].as_f64().unwrap(),
                p["quantity"].as_f64().unwrap(),
                p["orders"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn top_products_rankings(ctx: Ctx) {
    let f = fixture(&ctx.store).await;
    let r = registry(&ctx.store);
    let out = call(&r, f.org, "top_products", json!({})).await;
    assert_eq!(out["by"], "revenue");
    assert_eq!(
        products(&out),
        vec![
            ("Gadget".into(), 250.0, 5.0, 2),
            ("Cable".into(), 100.5, 13.0, 2),
            ("Widget".into(), 75.0, 3.0, 2),
            ("Sticker".into(), 10.0, 5.0, 1),
        ]
    );
    // By units: Gadget and Sticker tie at 5 and are ordered by revenue.
    let out = call(&r, f.org, "top_products", json!({"by": "quantity"})).await;
    let names: Vec<String> = products(&out).into_iter().map(|p| p.0).collect();
    assert_eq!(names, ["Cable", "Gadget", "Sticker", "Widget"]);
    // March only, top 2.
    let out = call(
        &r,
        f.org,
        "top_products",
        json!({"start": "2024-03-01", "end": "2024-03-31", "limit": 2}),
    )
    .await;
    assert_eq!(
        products(&out),
        vec![
            ("Gadget".into(), 250.0, 5.0, 2),
            ("Widget".into(), 75.0, 3.0, 2)
        ]
    );
}

fn import(org: Uuid, source: &str, status: &str, started: DateTime<Utc>) -> ImportRecord {
    ImportRecord {
        id: Uuid::now_v7(),
        organization_id: org,
        source: source.to_string(),
        status: status.to_string(),
        rows_total: 120,
        rows_rejected: 3,
        customers_created: 40,
        customers_updated: 2,
        orders_created: 77,
        orders_updated: 0,
        started_at: started,
        finished_at: Some(started + chrono::Duration::seconds(4)),
        error: (status == "failed").then(|| "bad header".to_string()),
    }
}

async fn import_status_lists_newest_first(ctx: Ctx) {
    let f = fixture(&ctx.store).await;
    let r = registry(&ctx.store);
    assert_eq!(
        call(&r, f.org, "import_status", json!({})).await["imports"],
        json!([])
    );
    let mut tx = ctx.store.begin().await.unwrap();
    tx.insert_import(&import(
        f.org,
        "a.csv",
        "succeeded",
        ts(2024, 5, 1, 8, 0, 0),
    ))
    .await
    .unwrap();
    tx.insert_import(&import(f.org, "b.xlsx", "failed", ts(2024, 5, 2, 8, 0, 0)))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let out = call(&r, f.org, "import_status", json!({})).await;
    let sources: Vec<&str> = out["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["b.xlsx", "a.csv"]);
    assert_eq!(out["imports"][0]["error"], "bad header");
    assert_eq!(out["imports"][0]["rows_rejected"], 3);
    assert_eq!(out["imports"][1]["orders_created"], 77);
    let out = call(&r, f.org, "import_status", json!({"limit": 1})).await;
    assert_eq!(out["imports"].as_array().unwrap().len(), 1);
    assert_eq!(out["imports"][0]["status"], "failed");
}

async fn tag_customers_adds_tags_once(ctx: Ctx) {
    let f = fixture(&ctx.store).await;
    let r = registry(&ctx.store);
    assert_eq!(
        r.spec("tag_customers").unwrap().effect,
        aima_tools::Effect::SideEffecting
    );
    let out = call(
        &r,
        f.org,
        "tag_customers",
        json!({
            "customers": ["anna@example.com", f.ben.to_string(), "missing@example.com", "ANNA@example.com"],
            "tag": "vip",
        }),
    )
    .await;
    assert_eq!(
        out,
        json!({"tagged": 2, "already_tagged": 0, "not_found": ["missing@example.com"]})
    );
    let anna = ctx
        .store
        .get_customer(f.org, f.anna)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(anna.tags, ["vip"]);
    let ben = ctx.store.get_customer(f.org, f.ben).await.unwrap().unwrap();
    assert_eq!(ben.tags, ["vip"]);
    assert!(ben.updated_at > ben.created_at);
    let chloe = ctx
        .store
        .get_customer(f.org, f.chloe)
        .await
        .unwrap()
        .unwrap();
    assert!(chloe.tags.is_empty());

    // Again, plus a second tag: nothing doubles.
    let out = call(
        &r,
        f.org,
        "tag_customers",
        json!({"customers": ["anna@example.com"], "tag": "vip"}),
    )
    .await;
    assert_eq!(out["tagged"], 0);
    assert_eq!(out["already_tagged"], 1);
    call(
        &r,
        f.org,
        "tag_customers",
        json!({"customers": [f.anna.to_string()], "tag": "newsletter"}),
    )
    .await;
    let anna = ctx
        .store
        .get_customer(f.org, f.anna)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(anna.tags, ["vip", "newsletter"]);
    // Tags show in search results.
    let out = call(&r, f.org, "customer_search", json!({"query": "anna@"})).await;
    assert_eq!(out["customers"][0]["tags"], json!(["vip", "newsletter"]));
    // Names are not accepted for tagging (they can be ambiguous).
    let out = call(
        &r,
        f.org,
        "tag_customers",
        json!({"customers": ["Ben Müller"], "tag": "x"}),
    )
    .await;
    assert_eq!(out["not_found"], json!(["Ben Müller"]));
}

async fn organizations_see_only_their_own_data(ctx: Ctx) {
    let f = fixture(&ctx.store).await;
    let r = registry(&ctx.store);
    let b = ctx
        .store
        .create_organization("shop-b", "Shop B")
        .await
        .unwrap()
        .id;
    // Org B has its own customer with Anna's e-mail.
    let own = customer(
        "anna@example.com",
        "Anna Berger",
        "Wien",
        "Austria",
        ts(2024, 6, 1, 0, 0, 0),
    );
    let own_id = own.id;
    let mut tx = ctx.store.begin().await.unwrap();
    tx.insert_customers(b, &[own]).await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!(call(&r, b, "customer_count", json!({})).await["count"], 1);
    assert_eq!(
        call(&r, b, "customer_count", json!({"country": "germany"})).await["count"],
        0
    );
    let out = call(&r, b, "customer_search", json!({"query": "example"})).await;
    assert_eq!(ids_of(&out["customers"]), vec![own_id]);
    assert_eq!(out["total"], 1);
    let out = call(
        &r,
        b,
        "customer_profile",
        json!({"customer": "anna@example.com"}),
    )
    .await;
    assert_eq!(out["customer"]["id"], own_id.to_string());
    assert_eq!(out["order_stats"]["orders"], 0);
    // A's ids and names are unknown in B.
    for reference in [f.anna.to_string(), "Ben Müller".to_string()] {
        assert!(matches!(
            call_err(&r, b, "customer_profile", json!({"customer": reference})).await,
            ToolError::Failed { .. }
        ));
    }
    let out = call(&r, b, "revenue_over_time", json!({})).await;
    assert_eq!(out["buckets"], json!([]));
    assert_eq!(out["total_revenue"], 0.0);
    assert_eq!(out["total_orders"], 0);
    assert_eq!(
        call(&r, b, "top_products", json!({})).await["products"],
        json!([])
    );
    // Tagging A's customer from B finds nothing and changes nothing.
    let out = call(
        &r,
        b,
        "tag_customers",
        json!({"customers": [f.ben.to_string()], "tag": "stolen"}),
    )
    .await;
    assert_eq!(out["tagged"], 0);
    assert_eq!(out["not_found"], json!([f.ben.to_string()]));
    let ben = ctx.store.get_customer(f.org, f.ben).await.unwrap().unwrap();
    assert!(ben.tags.is_empty());
    // "anna@example.com" in B tags B's own customer only.
    call(
        &r,
        b,
        "tag_customers",
        json!({"customers": ["anna@example.com"], "tag": "b-only"}),
    )
    .await;
    let anna = ctx
        .store
        .get_customer(f.org, f.anna)
        .await
        .unwrap()
        .unwrap();
    assert!(anna.tags.is_empty());
    // A still sees all of its own.
    assert_eq!(
        call(&r, f.org, "customer_count", json!({})).await["count"],
        4
    );
}

async fn bad_arguments_are_refused(ctx: Ctx) {
    let f = fixture(&ctx.store).await;
    let r = registry(&ctx.store);
    let invalid = |e: ToolError| match e {
        ToolError::InvalidArguments {
            field, expected, ..
        } => (field, expected),
        other => panic!("expected InvalidArguments, got {other:?}"),
    };
    let (field, expected) = invalid(
        call_err(
            &r,
            f.org,
            "revenue_over_time",
            json!({"granularity": "year"}),
        )
        .await,
    );
    assert_eq!(field, "/granularity");
    assert_eq!(expected, "one of day, week, month, or null");
    let (field, expected) = invalid(
        call_err(
            &r,
            f.org,
            "revenue_over_time",
            json!({"start": "2024-03-02", "end": "2024-03-01"}),
        )
        .await,
    );
    assert_eq!(field, "/end");
    assert!(expected.contains("on or after 2024-03-02"), "{expected}");
    let (field, _) = invalid(
        call_err(
            &r,
            f.org,
            "customer_count",
            json!({"created_from": "2024-05-01", "created_to": "2024-04-30"}),
        )
        .await,
    );
    assert_eq!(field, "/created_to");
    let (field, expected) = invalid(call_err(&r, f.org, "customer_profile", json!({})).await);
    assert_eq!(
        (field.as_str(), expected.as_str()),
        ("/customer", "required field `customer` missing")
    );
    let (field, _) = invalid(
        call_err(
            &r,
            f.org,
            "tag_customers",
            json!({"customers": ["anna@example.com"], "tag": "   "}),
        )
        .await,
    );
    assert_eq!(field, "/tag");
    let (field, _) = invalid(call_err(&r, f.org, "top_products", json!({"limit": 500})).await);
    assert_eq!(field, "/limit");
    // Nothing was tagged by the refused call.
    let anna = ctx
        .store
        .get_customer(f.org, f.anna)
        .await
        .unwrap()
        .unwrap();
    assert!(anna.tags.is_empty());
}

async fn concurrent_tagging_loses_no_tag(ctx: Ctx) {
    let f = fixture(&ctx.store).await;
    let r = Arc::new(registry(&ctx.store));
    // Eight calls at once, each adding its own tag to the same two
    // customers: every read-modify-write holds its rows, so none is lost.
    let calls: Vec<_> = (0..8)
        .map(|i| {
            let r = r.clone();
            let (org, anna, ben) = (f.org, f.anna, f.ben);
            tokio::spawn(async move {
                call(
                    &r,
                    org,
                    "tag_customers",
                    json!({"customers": [anna.to_string(), ben.to_string()], "tag": format!("t{i}")}),
                )
                .await
            })
        })
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap()["tagged"], 2);
    }
    for id in [f.anna, f.ben] {
        let mut tags = ctx
            .store
            .get_customer(f.org, id)
            .await
            .unwrap()
            .unwrap()
            .tags;
        tags.sort();
        let expected: Vec<String> = (0..8).map(|i| format!("t{i}")).collect();
        assert_eq!(tags, expected);
    }
}
