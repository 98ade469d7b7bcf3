//! The world written into a store as an organization through the Store's
//! public API (as `aima demo` writes the demo data), then the analyses run
//! as `aima demo` runs them ([`aima_actors::intelligence::run_all`]).

use std::collections::BTreeMap;

use aima_runtime::store::{
    ChannelSpend, ImportRecord, NewCustomer, NewEvent, NewOrder, NewOrderItem, Store,
};
use chrono::Utc;
use serde::Serialize;
use uuid::Uuid;

use crate::error::EvalError;
use crate::world::World;

/// What [`load`] wrote (and, after [`load_and_analyse`], how long the
/// load and the analyses took).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LoadSummary {
    /// Seconds writing the world.
    pub load_s: f64,
    /// Seconds of the analyses.
    pub analyse_s: f64,
    /// Customers.
    pub customers: u64,
    /// Orders.
    pub orders: u64,
    /// Events.
    pub events: u64,
    /// Channel-spend rows.
    pub spend_rows: u64,
}

/// The source name of the world's import record.
pub fn import_source(world: &World) -> String {
    format!("aima-bench world seed {} (orders.csv)", world.config.seed)
}

/// Writes `world` into organization `org` in one transaction (customers
/// with their source id as external id, orders with line items, events,
/// channel spend, and one import record), so the data tools answer from
/// it. Reviews and campaigns have no table yet and are not written.
///
/// # Errors
/// [`EvalError::Store`]; nothing is written then.
pub async fn load(store: &Store, org: Uuid, world: &World) -> Result<LoadSummary, EvalError> {
    let started = Utc::now();
    let mut ids: BTreeMap<&str, Uuid> = BTreeMap::new();
    let customers: Vec<NewCustomer> = world
        .customers
        .iter()
        .map(|c| {
            let id = Uuid::now_v7();
            ids.insert(c.customer_id.as_str(), id);
            NewCustomer {
                id,
                external_id: Some(c.customer_id.clone()),
                email: Some(c.email.clone()),
                first_name: Some(c.first_name.clone()),
                last_name: Some(c.last_name.clone()),
                full_name: Some(c.full_name()),
                phone: Some(c.phone.clone()),
                city: Some(c.city.clone()),
                country: Some(c.country.clone()),
                tags: vec![format!("acquired:{}", c.acquisition_channel)],
                properties: serde_json::json!({
                    "acquisition_channel": c.acquisition_channel,
                    "synthetic_contact": true,
                }),
                created_at: c.created_at,
            }
        })
        .collect();
    let id_of = |source: &str| {
        ids.get(source).copied().ok_or_else(|| EvalError::World {
            message: format!("the world refers to unknown customer {source}"),
        })
    };
    let mut orders = Vec::with_capacity(world.orders.len());
    for o in &world.orders {
        orders.push(NewOrder {
            id: Uuid::now_v7(),
            external_id: o.order_id.clone(),
            customer_id: Some(id_of(&o.customer_id)?),
            amount: o.amount,
            currency: Some("USD".into()),
            status: Some("completed".into()),
            ordered_at: o.ordered_at,
            items: o
                .items
                .iter()
                .map(|i| NewOrderItem {
                    product_name: i.product_name.clone(),
                    sku: Some(i.product_id.clone()),
                    category: Some(i.category.clone()),
                    quantity: f64::from(i.quantity),
                    unit_price: Some(i.unit_price),
                })
                .collect(),
        });
    }
    let mut events = Vec::with_capacity(world.events.len());
    for e in &world.events {
        events.push(NewEvent {
            id: Uuid::now_v7(),
            customer_id: id_of(&e.customer_id)?,
            event_type: e.event_type.clone(),
            channel: Some(e.channel.clone()),
            properties: serde_json::json!({ "reference": e.reference }),
            occurred_at: e.occurred_at,
        });
    }
    let spend: Vec<ChannelSpend> = world
        .channel_spend
        .iter()
        .map(|s| ChannelSpend {
            date: s.date,
            channel: s.channel.clone(),
            spend: s.spend,
            impressions: Some(s.impressions),
            clicks: Some(s.clicks),
        })
        .collect();

    let mut tx = store.begin().await?;
    let written = async {
        // The store splits rows into statements (or streams them with COPY).
        tx.insert_customers(org, &customers).await?;
        tx.insert_orders(org, &orders).await?;
        tx.insert_events(org, &events).await?;
        tx.upsert_channel_spend(org, &spend).await?;
        tx.insert_import(&ImportRecord {
            id: Uuid::now_v7(),
            organization_id: org,
            source: import_source(world),
            status: "succeeded".into(),
            rows_total: orders.len() as i64,
            rows_rejected: 0,
            customers_created: customers.len() as i64,
            customers_updated: 0,
            orders_created: orders.len() as i64,
            orders_updated: 0,
            started_at: started,
            finished_at: Some(Utc::now()),
            error: None,
        })
        .await?;
        Ok::<_, aima_runtime::store::StoreError>(())
    }
    .await;
    match written {
        Ok(()) => tx.commit().await?,
        Err(e) => {
            tx.rollback().await?;
            return Err(e.into());
        }
    }
    Ok(LoadSummary {
        load_s: 0.0,
        analyse_s: 0.0,
        customers: customers.len() as u64,
        orders: orders.len() as u64,
        events: events.len() as u64,
        spend_rows: spend.len() as u64,
    })
}

/// Loads `world` into a new organization `slug` of `store` and runs the
/// customer-intelligence and CLV/churn analyses on it (as `aima demo`
/// does). Returns the organization's id.
///
/// # Errors
/// [`EvalError::Store`] or [`EvalError::Intelligence`].
pub async fn load_and_analyse(
    store: &Store,
    slug: &str,
    world: &World,
) -> Result<(Uuid, LoadSummary), EvalError> {
    let (org, _) = store
        .ensure_organization(slug, &format!("AIMA-Bench world {}", world.config.seed))
        .await?;
    let started = std::time::Instant::now();
    let mut summary = load(store, org.id, world).await?;
    summary.load_s = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    aima_actors::intelligence::run_all(store, org.id, &aima_actors::Progress::none())
        .await
        .map_err(|e| EvalError::Intelligence(e.to_string()))?;
    summary.analyse_s = started.elapsed().as_secs_f64();
    Ok((org.id, summary))
}
