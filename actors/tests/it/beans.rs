//! The shared seeded organization of the intelligence and fingerprint
//! tests: steady, lapsed and one-off coffee-bean buyers.

use aima_runtime::store::{NewCustomer, NewOrder, NewOrderItem, Store};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;

/// Day `n` of the fixture (day 0 = 2024-01-01 12:00 UTC).
pub fn day(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0).unwrap() + Duration::days(n)
}

fn customer(i: usize) -> NewCustomer {
    NewCustomer {
        id: Uuid::now_v7(),
        external_id: None,
        email: Some(format!("c{i}@example.com")),
        first_name: None,
        last_name: None,
        full_name: Some(format!("Customer {i:02}")),
        phone: None,
        city: None,
        country: None,
        tags: vec![],
        properties: json!({}),
        created_at: day(0),
    }
}

pub fn order(n: &mut u32, customer: Uuid, at: i64, amount: f64, quantity: f64) -> NewOrder {
    *n += 1;
    NewOrder {
        id: Uuid::now_v7(),
        external_id: format!("o{n}"),
        customer_id: Some(customer),
        amount,
        currency: Some("EUR".into()),
        status: Some("paid".into()),
        ordered_at: day(at),
        items: vec![NewOrderItem {
            product_name: "Beans".into(),
            sku: None,
            category: Some("Coffee".into()),
            quantity,
            unit_price: Some(amount / quantity),
        }],
    }
}

/// 60 customers over days 0..=360: 20 steady buyers (every ~12 days to the
/// end, two units an order), 20 lapsed (every ~10 days until day 150), 20
/// one-off buyers (once in the first 60 days). Amounts vary
/// deterministically. Returns the org and the three groups.
pub async fn fixture(store: &Store, slug: &str) -> (Uuid, [Vec<Uuid>; 3]) {
    let org = store.create_organization(slug, slug).await.unwrap().id;
    let customers: Vec<NewCustomer> = (0..60).map(customer).collect();
    let ids: Vec<Uuid> = customers.iter().map(|c| c.id).collect();
    let mut orders = Vec::new();
    let mut n = 0;
    for (i, id) in ids.iter().enumerate() {
        let amount = |k: usize| 20.0 + ((i * 7 + k * 13) % 30) as f64;
        match i / 20 {
            0 => {
                let mut t = (i % 5) as i64;
                let mut k = 0;
                while t <= 360 {
                    orders.push(order(&mut n, *id, t, amount(k) + 20.0, 2.0));
                    t += 10 + ((i + k) % 5) as i64;
                    k += 1;
                }
                orders.push(order(&mut n, *id, 360 - (i % 3) as i64, amount(k), 2.0));
            }
            1 => {
                let mut t = (i % 7) as i64;
                let mut k = 0;
                while t <= 150 {
                    orders.push(order(&mut n, *id, t, amount(k) + 30.0, 1.0));
                    t += 8 + ((i + k) % 5) as i64;
                    k += 1;
                }
            }
            _ => orders.push(order(&mut n, *id, (i % 60) as i64, amount(0), 1.0)),
        }
    }
    let mut tx = store.begin().await.unwrap();
    tx.insert_customers(org, &customers).await.unwrap();
    tx.insert_orders(org, &orders).await.unwrap();
    tx.commit().await.unwrap();
    (
        org,
        [ids[..20].to_vec(), ids[20..40].to_vec(), ids[40..].to_vec()],
    )
}
