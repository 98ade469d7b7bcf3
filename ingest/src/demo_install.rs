//! Writes the demo data set ([`crate::demo`]) into an organization, in one
//! transaction: customers, orders with line items, events and channel spend.
//! Synthetic fields are marked in each customer's properties
//! (`"synthetic_contact": true`) so nobody mistakes them for real people.

use std::collections::HashMap;

use aima_runtime::store::{ChannelSpend, NewCustomer, NewEvent, NewOrder, NewOrderItem, Store};
use serde::Serialize;
use uuid::Uuid;

use crate::demo;
use crate::error::IngestError;

/// What [`install`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DemoSummary {
    /// Customers written.
    pub customers: u64,
    /// Orders written.
    pub orders: u64,
    /// Events written.
    pub events: u64,
    /// Channel-spend rows written.
    pub spend_rows: u64,
}

/// Loads the demo data set generated with `seed` into `org`. Nothing is
/// written if any step fails.
pub async fn install(store: &Store, org: Uuid, seed: u64) -> Result<DemoSummary, IngestError> {
    let data = demo::load(seed)?;
    let mut ids: HashMap<u32, Uuid> = HashMap::with_capacity(data.customers.len());
    let customers: Vec<NewCustomer> = data
        .customers
        .iter()
        .map(|c| {
            let id = Uuid::now_v7();
            ids.insert(c.source_id, id);
            NewCustomer {
                id,
                external_id: Some(c.source_id.to_string()),
                email: Some(c.email.clone()),
                first_name: Some(c.first_name.clone()),
                last_name: Some(c.last_name.clone()),
                full_name: Some(format!("{} {}", c.first_name, c.last_name)),
                phone: Some(c.phone.clone()),
                city: Some(c.city.clone()),
                country: Some(c.country.clone()),
                tags: vec![format!("acquired:{}", c.acquisition_channel)],
                properties: serde_json::json!({
                    "cdnow_customer_id": c.source_id,
                    "acquisition_channel": c.acquisition_channel,
                    "synthetic_contact": true,
                }),
                created_at: c.created_at,
            }
        })
        .collect();
    let customer_of = |source: u32| {
        ids.get(&source).copied().ok_or(IngestError::Demo {
            message: format!("demo data refers to unknown customer {source}"),
        })
    };
    let mut orders = Vec::with_capacity(data.orders.len());
    for o in &data.orders {
        orders.push(NewOrder {
            id: Uuid::now_v7(),
            external_id: o.external_id.clone(),
            customer_id: Some(customer_of(o.source_customer_id)?),
            amount: o.amount,
            currency: Some(o.currency.clone()),
            status: Some(o.status.clone()),
            ordered_at: o.ordered_at,
            items: o
                .items
                .iter()
                .map(|i| NewOrderItem {
                    product_name: i.product_name.clone(),
                    sku: None,
                    category: Some(i.category.clone()),
                    quantity: i.quantity,
                    unit_price: Some(i.unit_price),
                })
                .collect(),
        });
    }
    let mut events = Vec::with_capacity(data.events.len());
    for e in &data.events {
        events.push(NewEvent {
            id: Uuid::now_v7(),
            customer_id: customer_of(e.source_customer_id)?,
            event_type: e.event_type.clone(),
            channel: e.channel.clone(),
            properties: e.properties.clone(),
            occurred_at: e.occurred_at,
        });
    }
    let spend: Vec<ChannelSpend> = data
        .spend
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
        Ok::<_, IngestError>(())
    }
    .await;
    match written {
        Ok(()) => tx.commit().await?,
        Err(e) => {
            tx.rollback().await?;
            return Err(e);
        }
    }
    Ok(DemoSummary {
        customers: customers.len() as u64,
        orders: orders.len() as u64,
        events: events.len() as u64,
        spend_rows: spend.len() as u64,
    })
}
