//! Order and import reads.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{
    ChannelSpend, ImportRecord, Order, OrderIdentity, Store, StoreError, dispatch, sql_int,
};

impl Store {
    /// Identity and current values of every order of `org` (one query, for
    /// the importer's matching by `external_id`).
    pub async fn order_identities(&self, org: Uuid) -> Result<Vec<OrderIdentity>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, OrderIdentity>(
                "SELECT id, external_id, customer_id, amount, currency, status, ordered_at \
                 FROM orders WHERE organization_id = $1",
            )
            .bind(org)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("read order identities"))
        })
    }

    /// Number of orders of `org`.
    pub async fn count_orders(&self, org: Uuid) -> Result<i64, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE organization_id = $1")
                .bind(org)
                .fetch_one(pool)
                .await
                .map_err(StoreError::db("count orders"))
        })
    }

    /// Time of `org`'s latest order, if it has any.
    pub async fn latest_order_at(&self, org: Uuid) -> Result<Option<DateTime<Utc>>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_scalar("SELECT MAX(ordered_at) FROM orders WHERE organization_id = $1")
                .bind(org)
                .fetch_one(pool)
                .await
                .map_err(StoreError::db("find the latest order"))
        })
    }

    /// Orders of customer `customer_id` in `org`, oldest first, each with its
    /// items in their original order.
    pub async fn orders_for_customer(
        &self,
        org: Uuid,
        customer_id: Uuid,
    ) -> Result<Vec<Order>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, Order>(
                "SELECT id, organization_id, external_id, customer_id, amount, currency, status, \
                 items, ordered_at, created_at, updated_at FROM orders \
                 WHERE organization_id = $1 AND customer_id = $2 ORDER BY ordered_at, id",
            )
            .bind(org)
            .bind(customer_id)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("read orders"))
        })
    }

    /// The latest `limit` import runs of `org`, newest first.
    pub async fn list_imports(
        &self,
        org: Uuid,
        limit: u32,
    ) -> Result<Vec<ImportRecord>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, ImportRecord>(
                "SELECT id, organization_id, source, status, rows_total, rows_rejected, \
                 customers_created, customers_updated, orders_created, orders_updated, \
                 started_at, finished_at, error FROM imports WHERE organization_id = $1 \
                 ORDER BY started_at DESC, id DESC LIMIT $2",
            )
            .bind(org)
            .bind(sql_int(limit))
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("list imports"))
        })
    }

    /// Channel spend of `org` for days `from..=to`, by date then channel.
    pub async fn channel_spend(
        &self,
        org: Uuid,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ChannelSpend>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, ChannelSpend>(
                "SELECT date, channel, spend, impressions, clicks FROM channel_spend \
                 WHERE organization_id = $1 AND date >= $2 AND date <= $3 ORDER BY date, channel",
            )
            .bind(org)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("read channel spend"))
        })
    }
}
