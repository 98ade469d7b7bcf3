//! Transactions for bulk writes (imports, syncs).

use std::collections::HashMap;

use sqlx::types::Json;
use sqlx::{AssertSqlSafe, Postgres, Sqlite, Transaction};
use uuid::Uuid;

use super::{
    Backend, ChannelSpend, CustomerUpdate, ImportRecord, NewCustomer, NewEvent, NewOrder,
    NewOrderItem, OrderUpdate, Pool, StoreError, now, rows_per_statement, values_sql,
};

enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$c` bound to the transaction's connection
/// (`&mut SqliteConnection` or `&mut PgConnection`; use `&mut *$c` as executor).
macro_rules! dispatch_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match &mut $tx.inner {
            TxInner::Sqlite(t) => {
                #[allow(dead_code)]
                type Db = Sqlite;
                let $c: &mut sqlx::SqliteConnection = &mut *t;
                $body
            }
            TxInner::Postgres(t) => {
                #[allow(dead_code)]
                type Db = Postgres;
                let $c: &mut sqlx::PgConnection = &mut *t;
                $body
            }
        }
    };
}

/// Inserts `$rows` (a slice of `$t`) with multi-row statements of at most
/// `$per` rows on connection `$c` (inside [`dispatch_tx!`]), building the
/// next statement's arguments while the previous one executes. `$sql(n)`
/// gives the statement for `n` rows; `$bind` binds row `$r` to query `$q`.
/// Evaluates to the total rows affected, or returns `$err(e)` on failure.
macro_rules! pipelined_insert {
    ($c:ident, $rows:expr, $t:ty, $per:expr, $sql:expr, $err:expr, |$q:ident, $r:ident| $bind:expr) => {{
        let sql = $sql;
        let build = |chunk: &[$t]| {
            let mut $q = sqlx::query::<Db>(AssertSqlSafe(sql(chunk.len())));
            for $r in chunk {
                $q = $bind;
            }
            $q
        };
        let mut chunks = $rows.chunks($per);
        let mut next = chunks.next().map(&build);
        let mut total: u64 = 0;
        while let Some(query) = next {
            // Polled in order: the statement is handed to the driver first,
            // then the next one is built while the database works.
            let (result, following) = tokio::join!(biased; query.execute(&mut *$c), async {
                chunks.next().map(&build)
            });
            total += result.map_err(&$err)?.rows_affected();
            next = following;
        }
        total
    }};
}

/// A database transaction for bulk writes. Nothing is visible to other
/// connections until [`StoreTx::commit`]; dropping it (or
/// [`StoreTx::rollback`]) discards every write.
///
/// Inserts use multi-row statements sized under the backend's bind-parameter
/// limit; each distinct statement is prepared once and cached.
pub struct StoreTx {
    inner: TxInner,
}

impl std::fmt::Debug for StoreTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreTx")
            .field("backend", &self.backend())
            .finish()
    }
}

const CUSTOMER_COLUMNS: usize = 16;
const ORDER_COLUMNS: usize = 11;
const ITEM_COLUMNS: usize = 9;
const EVENT_COLUMNS: usize = 7;
const SPEND_COLUMNS: usize = 7;

/// A fresh uuid v7 for an order line, from the thread-local CSPRNG (cheaper
/// than `Uuid::now_v7`, which asks the OS for randomness on every call).
fn line_id() -> Uuid {
    let millis = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    let mut random = [0u8; 10];
    rand::fill(&mut random);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

/// Lowercased search text: "email full_name first last phone".
pub(crate) fn search_text(
    email: Option<&str>,
    full_name: Option<&str>,
    first_name: Option<&str>,
    last_name: Option<&str>,
    phone: Option<&str>,
) -> String {
    [email, full_name, first_name, last_name, phone]
        .into_iter()
        .flatten()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

impl StoreTx {
    pub(super) async fn begin(pool: &Pool) -> Result<StoreTx, StoreError> {
        let op = "begin a transaction";
        let inner = match pool {
            Pool::Sqlite(p) => TxInner::Sqlite(p.begin().await.map_err(StoreError::db(op))?),
            Pool::Postgres(p) => TxInner::Postgres(p.begin().await.map_err(StoreError::db(op))?),
        };
        Ok(StoreTx { inner })
    }

    /// The transaction's backend.
    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    /// Commits every write of the transaction.
    pub async fn commit(self) -> Result<(), StoreError> {
        let op = "commit";
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await.map_err(StoreError::db(op)),
            TxInner::Postgres(t) => t.commit().await.map_err(StoreError::db(op)),
        }
    }

    /// Discards every write of the transaction.
    pub async fn rollback(self) -> Result<(), StoreError> {
        let op = "roll back";
        match self.inner {
            TxInner::Sqlite(t) => t.rollback().await.map_err(StoreError::db(op)),
            TxInner::Postgres(t) => t.rollback().await.map_err(StoreError::db(op)),
        }
    }

    /// Inserts customers of `org` (`updated_at = created_at`). Returns the
    /// number inserted. A duplicate email (case-insensitive) within the
    /// organization, or a duplicate id, is [`StoreError::Conflict`].
    pub async fn insert_customers(
        &mut self,
        org: Uuid,
        customers: &[NewCustomer],
    ) -> Result<u64, StoreError> {
        let backend = self.backend();
        let per = rows_per_statement(backend, CUSTOMER_COLUMNS);
        let sql = |n| {
            values_sql(
                backend,
                "INSERT INTO customers (id, organization_id, external_id, email, email_lower, first_name, \
                 last_name, full_name, phone, city, country, tags, properties, search_text, \
                 created_at, updated_at)",
                CUSTOMER_COLUMNS,
                n,
                "",
            )
        };
        let err = StoreError::db_or_conflict("insert customers", || {
            "a customer with the same id or email".to_string()
        });
        Ok(dispatch_tx!(self, |c| {
            pipelined_insert!(c, customers, NewCustomer, per, sql, err, |q, r| {
                q.bind(r.id)
                    .bind(org)
                    .bind(r.external_id.as_deref())
                    .bind(r.email.as_deref())
                    .bind(r.email.as_deref().map(str::to_lowercase))
                    .bind(r.first_name.as_deref())
                    .bind(r.last_name.as_deref())
                    .bind(r.full_name.as_deref())
                    .bind(r.phone.as_deref())
                    .bind(r.city.as_deref())
                    .bind(r.country.as_deref())
                    .bind(Json(&r.tags))
                    .bind(Json(&r.properties))
                    .bind(search_text(
                        r.email.as_deref(),
                        r.full_name.as_deref(),
                        r.first_name.as_deref(),
                        r.last_name.as_deref(),
                        r.phone.as_deref(),
                    ))
                    .bind(r.created_at)
                    .bind(r.created_at)
            })
        }))
    }

    /// Replaces the listed fields of existing customers of `org` and sets
    /// `updated_at` to now. Ids not found in `org` are skipped; returns the
    /// number of rows updated.
    pub async fn update_customers(
        &mut self,
        org: Uuid,
        updates: &[CustomerUpdate],
    ) -> Result<u64, StoreError> {
        let op = "update customers";
        let ts = now();
        let mut total = 0;
        for r in updates {
            total += dispatch_tx!(self, |c| {
                sqlx::query(
                    "UPDATE customers SET email = $3, email_lower = $4, first_name = $5, \
                     last_name = $6, full_name = $7, phone = $8, city = $9, country = $10, \
                     tags = COALESCE($11, tags), properties = COALESCE($12, properties), \
                     search_text = $13, updated_at = $14, external_id = $15 \
                     WHERE organization_id = $1 AND id = $2",
                )
                .bind(org)
                .bind(r.id)
                .bind(r.email.as_deref())
                .bind(r.email.as_deref().map(str::to_lowercase))
                .bind(r.first_name.as_deref())
                .bind(r.last_name.as_deref())
                .bind(r.full_name.as_deref())
                .bind(r.phone.as_deref())
                .bind(r.city.as_deref())
                .bind(r.country.as_deref())
                .bind(r.tags.as_ref().map(Json))
                .bind(r.properties.as_ref().map(Json))
                .bind(search_text(
                    r.email.as_deref(),
                    r.full_name.as_deref(),
                    r.first_name.as_deref(),
                    r.last_name.as_deref(),
                    r.phone.as_deref(),
                ))
                .bind(ts)
                .bind(r.external_id.as_deref())
                .execute(&mut *c)
                .await
                .map_err(StoreError::db_or_conflict(op, || {
                    "a customer with the same email".to_string()
                }))?
                .rows_affected()
            });
        }
        Ok(total)
    }

    /// Inserts orders of `org` with their items (into `order_items` and the
    /// order's `items` JSON). Returns the number of orders inserted.
    ///
    /// `external_id` must be unique per organization: SQLite rejects a
    /// duplicate with [`StoreError::Conflict`]; on PostgreSQL (where the
    /// hypertable-compatible unique index also covers `ordered_at`) the caller
    /// must check [`super::Store::order_identities`] first.
    pub async fn insert_orders(
        &mut self,
        org: Uuid,
        orders: &[NewOrder],
    ) -> Result<u64, StoreError> {
        let backend = self.backend();
        let per = rows_per_statement(backend, ORDER_COLUMNS);
        let ts = now();
        let sql = |n| {
            values_sql(
                backend,
                "INSERT INTO orders (id, organization_id, external_id, customer_id, amount, \
                 currency, status, items, ordered_at, created_at, updated_at)",
                ORDER_COLUMNS,
                n,
                "",
            )
        };
        let err = StoreError::db_or_conflict("insert orders", || {
            "an order with the same id or external_id".to_string()
        });
        let total = dispatch_tx!(self, |c| {
            pipelined_insert!(c, orders, NewOrder, per, sql, err, |q, r| {
                q.bind(r.id)
                    .bind(org)
                    .bind(r.external_id.as_str())
                    .bind(r.customer_id)
                    .bind(r.amount)
                    .bind(r.currency.as_deref())
                    .bind(r.status.as_deref())
                    .bind(Json(&r.items))
                    .bind(r.ordered_at)
                    .bind(ts)
                    .bind(ts)
            })
        });
        self.insert_items(org, orders).await?;
        Ok(total)
    }

    async fn insert_items(&mut self, org: Uuid, orders: &[NewOrder]) -> Result<(), StoreError> {
        let rows: Vec<(&NewOrder, &NewOrderItem)> = orders
            .iter()
            .flat_map(|o| o.items.iter().map(move |i| (o, i)))
            .collect();
        let backend = self.backend();
        let per = rows_per_statement(backend, ITEM_COLUMNS);
        let sql = |n| {
            values_sql(
                backend,
                "INSERT INTO order_items (id, organization_id, order_id, ordered_at, \
                 product_name, sku, category, quantity, unit_price)",
                ITEM_COLUMNS,
                n,
                "",
            )
        };
        let err = StoreError::db("insert order items");
        dispatch_tx!(self, |c| {
            pipelined_insert!(
                c,
                rows,
                (&NewOrder, &NewOrderItem),
                per,
                sql,
                err,
                |q, row| {
                    let (o, i) = row;
                    q.bind(line_id())
                        .bind(org)
                        .bind(o.id)
                        .bind(o.ordered_at)
                        .bind(i.product_name.as_str())
                        .bind(i.sku.as_deref())
                        .bind(i.category.as_deref())
                        .bind(i.quantity)
                        .bind(i.unit_price)
                }
            )
        });
        Ok(())
    }

    /// Replaces the fields and items of existing orders of `org` (selected by
    /// `id`) and sets `updated_at` to now. Ids not found in `org` are skipped;
    /// returns the number of orders updated.
    pub async fn update_orders(
        &mut self,
        org: Uuid,
        updates: &[OrderUpdate],
    ) -> Result<u64, StoreError> {
        let op = "update orders";
        let ts = now();
        let mut total = 0;
        let mut updated = Vec::with_capacity(updates.len());
        for r in updates {
            let n = dispatch_tx!(self, |c| {
                sqlx::query(
                    "UPDATE orders SET external_id = $3, customer_id = $4, amount = $5, \
                     currency = $6, status = $7, items = $8, ordered_at = $9, updated_at = $10 \
                     WHERE organization_id = $1 AND id = $2",
                )
                .bind(org)
                .bind(r.id)
                .bind(r.external_id.as_str())
                .bind(r.customer_id)
                .bind(r.amount)
                .bind(r.currency.as_deref())
                .bind(r.status.as_deref())
                .bind(Json(&r.items))
                .bind(r.ordered_at)
                .bind(ts)
                .execute(&mut *c)
                .await
                .map_err(StoreError::db_or_conflict(op, || {
                    format!("an order with external_id {:?}", r.external_id)
                }))?
                .rows_affected()
            });
            if n > 0 {
                dispatch_tx!(self, |c| {
                    sqlx::query(
                        "DELETE FROM order_items WHERE organization_id = $1 AND order_id = $2",
                    )
                    .bind(org)
                    .bind(r.id)
                    .execute(&mut *c)
                    .await
                    .map_err(StoreError::db("replace order items"))?;
                });
                updated.push(r.clone());
            }
            total += n;
        }
        self.insert_items(org, &updated).await?;
        Ok(total)
    }

    /// Inserts behavioral events of `org`. Returns the number inserted.
    pub async fn insert_events(
        &mut self,
        org: Uuid,
        events: &[NewEvent],
    ) -> Result<u64, StoreError> {
        let backend = self.backend();
        let per = rows_per_statement(backend, EVENT_COLUMNS);
        let sql = |n| {
            values_sql(
                backend,
                "INSERT INTO customer_events (id, organization_id, customer_id, event_type, \
                 channel, properties, occurred_at)",
                EVENT_COLUMNS,
                n,
                "",
            )
        };
        let err =
            StoreError::db_or_conflict("insert events", || "an event with the same id".to_string());
        Ok(dispatch_tx!(self, |c| {
            pipelined_insert!(c, events, NewEvent, per, sql, err, |q, r| {
                q.bind(r.id)
                    .bind(org)
                    .bind(r.customer_id)
                    .bind(r.event_type.as_str())
                    .bind(r.channel.as_deref())
                    .bind(Json(&r.properties))
                    .bind(r.occurred_at)
            })
        }))
    }

    /// Inserts or replaces (spend, impressions, clicks) per
    /// `(org, date, channel)`. Within `rows`, the last entry for a key wins.
    /// Returns the number of distinct keys written.
    pub async fn upsert_channel_spend(
        &mut self,
        org: Uuid,
        rows: &[ChannelSpend],
    ) -> Result<u64, StoreError> {
        // One statement may not touch a key twice (PostgreSQL): last wins.
        let mut index: HashMap<(chrono::NaiveDate, &str), usize> = HashMap::new();
        let mut unique: Vec<&ChannelSpend> = Vec::with_capacity(rows.len());
        for r in rows {
            match index.get(&(r.date, r.channel.as_str())) {
                Some(&i) => unique[i] = r,
                None => {
                    index.insert((r.date, r.channel.as_str()), unique.len());
                    unique.push(r);
                }
            }
        }
        let backend = self.backend();
        let per = rows_per_statement(backend, SPEND_COLUMNS);
        let sql = |n| {
            values_sql(
                backend,
                "INSERT INTO channel_spend (id, organization_id, date, channel, spend, \
                 impressions, clicks)",
                SPEND_COLUMNS,
                n,
                "ON CONFLICT (organization_id, date, channel) DO UPDATE SET \
                 spend = excluded.spend, impressions = excluded.impressions, \
                 clicks = excluded.clicks",
            )
        };
        let err = StoreError::db("upsert channel spend");
        dispatch_tx!(self, |c| {
            pipelined_insert!(c, unique, &ChannelSpend, per, sql, err, |q, r| {
                q.bind(Uuid::now_v7())
                    .bind(org)
                    .bind(r.date)
                    .bind(r.channel.as_str())
                    .bind(r.spend)
                    .bind(r.impressions)
                    .bind(r.clicks)
            })
        });
        Ok(unique.len() as u64)
    }

    /// Records an import run (its `organization_id` scopes it).
    pub async fn insert_import(&mut self, record: &ImportRecord) -> Result<(), StoreError> {
        dispatch_tx!(self, |c| {
            sqlx::query(
                "INSERT INTO imports (id, organization_id, source, status, rows_total, \
                 rows_rejected, customers_created, customers_updated, orders_created, \
                 orders_updated, started_at, finished_at, error) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(record.id)
            .bind(record.organization_id)
            .bind(record.source.as_str())
            .bind(record.status.as_str())
            .bind(record.rows_total)
            .bind(record.rows_rejected)
            .bind(record.customers_created)
            .bind(record.customers_updated)
            .bind(record.orders_created)
            .bind(record.orders_updated)
            .bind(record.started_at)
            .bind(record.finished_at)
            .bind(record.error.as_deref())
            .execute(&mut *c)
            .await
            .map_err(StoreError::db("record an import"))?;
        });
        Ok(())
    }
}
