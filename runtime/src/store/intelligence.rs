//! Customer intelligence (M1) and CLV/churn (M6) storage: the analytics
//! input of an organization, computed customer features, RFM persona
//! memberships with their history, churn predictions and the alerts the
//! intelligence jobs raise.
//!
//! The store does not know the models: it hands out plain rows keyed by
//! dense indices (so `aima-actors` can build the models' columnar input) and
//! stores what the jobs computed.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::AssertSqlSafe;
use sqlx::types::Json;
use uuid::Uuid;

use super::{Pool, Store, StoreError, dispatch, rows_per_statement, sql_int, values_sql};

/// The `segments.kind` of RFM persona segments.
pub const RFM_SEGMENT_KIND: &str = "rfm";

/// One order of [`AnalyticsInput`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalyticsOrder {
    /// Index into [`AnalyticsInput::customers`].
    pub customer: u32,
    /// Order total (currency units; negative = a refund).
    pub amount: f64,
    /// Stored status text (free-form, e.g. `completed`, `refunded`), if any.
    pub status: Option<String>,
    /// When it was placed.
    pub ordered_at: DateTime<Utc>,
}

/// One order line of [`AnalyticsInput`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalyticsItem {
    /// Index into [`AnalyticsInput::orders`].
    pub order: u32,
    /// Index into [`AnalyticsInput::products`] (by product name).
    pub product: u32,
    /// Index into [`AnalyticsInput::categories`], if the line has a category.
    pub category: Option<u32>,
    /// Units on the line.
    pub quantity: f64,
    /// Line value, `quantity * unit_price` (0 without a unit price).
    pub amount: f64,
}

/// One event of [`AnalyticsInput`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalyticsEvent {
    /// Index into [`AnalyticsInput::customers`].
    pub customer: u32,
    /// Stored event type (`email_open`, `page_view`, ...).
    pub event_type: String,
    /// Index into [`AnalyticsInput::channels`], if the event has a channel.
    pub channel: Option<u16>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
}

/// Everything the behavioural features of one organization are computed
/// from, with dense indices: customer `i` is `customers[i]`, and so on.
/// Orders without a customer are left out (they belong to nobody).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AnalyticsInput {
    /// Customer ids, in creation order (then id); index = customer index.
    pub customers: Vec<Uuid>,
    /// Creation time of each customer (same length as `customers`).
    pub created_at: Vec<DateTime<Utc>>,
    /// Orders linked to a customer, oldest first.
    pub orders: Vec<AnalyticsOrder>,
    /// Lines of those orders.
    pub items: Vec<AnalyticsItem>,
    /// Events, oldest first.
    pub events: Vec<AnalyticsEvent>,
    /// Product names; index = product id of [`AnalyticsItem::product`].
    pub products: Vec<String>,
    /// Category names; index = [`AnalyticsItem::category`].
    pub categories: Vec<String>,
    /// Channel names of events; index = [`AnalyticsEvent::channel`].
    pub channels: Vec<String>,
}

impl AnalyticsInput {
    /// The index of customer `id`, if it is part of this input.
    pub fn index_of(&self, id: Uuid) -> Option<usize> {
        self.customers.iter().position(|c| *c == id)
    }
}

/// A customer who changed RFM persona (or got a first one) in
/// [`Store::record_personas`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonaTransition {
    /// The customer.
    pub customer_id: Uuid,
    /// Previous persona key; `None` for a customer's first persona.
    pub from: Option<String>,
    /// New persona key.
    pub to: String,
}

/// A current member of a segment, with contact fields for display.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SegmentMember {
    /// The customer.
    pub customer_id: Uuid,
    /// Full name, if known.
    pub full_name: Option<String>,
    /// E-mail, if known.
    pub email: Option<String>,
    /// When the customer joined the segment.
    pub joined_at: DateTime<Utc>,
}

/// A customer's current membership of a kind of segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrentSegment {
    /// Segment name (the persona key for RFM segments).
    pub name: String,
    /// When the customer joined it.
    pub joined_at: DateTime<Utc>,
    /// Name of the segment the customer was in before, if any.
    pub previous: Option<String>,
}

/// One churn prediction to store: a customer at one horizon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewChurnPrediction {
    /// The customer.
    pub customer_id: Uuid,
    /// Horizon in days (30, 60, 90).
    pub horizon_days: i64,
    /// Probability of no purchase within the horizon, 0 to 1.
    pub probability: f64,
    /// Predicted customer lifetime value (currency units), if computed.
    pub clv: Option<f64>,
    /// Risk tier (`very_high`, `high`, `medium`, `low`).
    pub risk_tier: String,
}

/// A stored churn prediction.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ChurnPrediction {
    /// The customer.
    pub customer_id: Uuid,
    /// Horizon in days.
    pub horizon_days: i64,
    /// Probability of no purchase within the horizon, 0 to 1.
    pub probability: f64,
    /// Predicted customer lifetime value, if computed.
    pub clv: Option<f64>,
    /// Risk tier.
    pub risk_tier: String,
    /// Version label of the model that predicted it.
    pub model_version: String,
    /// When the prediction run happened.
    pub predicted_at: DateTime<Utc>,
}

/// A row of the customers table needed for the analytics input.
type CustomerRow = (Uuid, DateTime<Utc>);
/// (order id, customer, amount, status, ordered_at).
type OrderRow = (Uuid, Option<Uuid>, f64, Option<String>, DateTime<Utc>);
/// (order id, product, category, quantity, unit price).
type ItemRow = (Uuid, String, Option<String>, f64, Option<f64>);
/// (customer, type, channel, occurred_at).
type EventRow = (Uuid, String, Option<String>, DateTime<Utc>);

/// Interns names into dense indices.
#[derive(Default)]
struct Interner {
    index: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn get(&mut self, name: String) -> Result<u32, StoreError> {
        if let Some(&i) = self.index.get(&name) {
            return Ok(i);
        }
        let i = u32::try_from(self.names.len()).map_err(|_| StoreError::InvalidData {
            field: "analytics input",
            reason: "more than 2^32 distinct names".into(),
        })?;
        self.index.insert(name.clone(), i);
        self.names.push(name);
        Ok(i)
    }
}

fn index_u32(i: usize, field: &'static str) -> Result<u32, StoreError> {
    u32::try_from(i).map_err(|_| StoreError::InvalidData {
        field,
        reason: format!("row {i} exceeds the 2^32 rows supported"),
    })
}

impl Store {
    /// Everything [`AnalyticsInput`] documents for `org`: its customers
    /// (creation order), the orders linked to them with their lines, and
    /// their events. Orders without a customer are skipped, and so are
    /// their lines.
    ///
    /// # Errors
    /// [`StoreError::Database`]; [`StoreError::InvalidData`] when a table has
    /// more than 2^32 rows (or more than 65,536 event channels).
    pub async fn analytics_input(&self, org: Uuid) -> Result<AnalyticsInput, StoreError> {
        let op = "read the analytics input";
        let customers: Vec<CustomerRow> = dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT id, created_at FROM customers WHERE organization_id = $1 \
                 ORDER BY created_at, id",
            )
            .bind(org)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db(op))
        })?;
        let orders: Vec<OrderRow> = dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT id, customer_id, amount, status, ordered_at FROM orders \
                 WHERE organization_id = $1 AND customer_id IS NOT NULL \
                 ORDER BY ordered_at, id",
            )
            .bind(org)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db(op))
        })?;
        let items: Vec<ItemRow> = dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT order_id, product_name, category, quantity, unit_price FROM order_items \
                 WHERE organization_id = $1 ORDER BY ordered_at, order_id, id",
            )
            .bind(org)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db(op))
        })?;
        let events: Vec<EventRow> = dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT customer_id, event_type, channel, occurred_at FROM customer_events \
                 WHERE organization_id = $1 ORDER BY occurred_at, id",
            )
            .bind(org)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db(op))
        })?;

        let mut input = AnalyticsInput::default();
        let mut customer_index: HashMap<Uuid, u32> = HashMap::with_capacity(customers.len());
        for (i, (id, created_at)) in customers.into_iter().enumerate() {
            customer_index.insert(id, index_u32(i, "customers")?);
            input.customers.push(id);
            input.created_at.push(created_at);
        }
        let mut order_index: HashMap<Uuid, u32> = HashMap::with_capacity(orders.len());
        for (id, customer, amount, status, ordered_at) in orders {
            let Some(&customer) = customer.and_then(|c| customer_index.get(&c)) else {
                continue;
            };
            order_index.insert(id, index_u32(input.orders.len(), "orders")?);
            input.orders.push(AnalyticsOrder {
                customer,
                amount,
                status,
                ordered_at,
            });
        }
        let (mut products, mut categories, mut channels) = (
            Interner::default(),
            Interner::default(),
            Interner::default(),
        );
        for (order_id, product, category, quantity, unit_price) in items {
            let Some(&order) = order_index.get(&order_id) else {
                continue;
            };
            input.items.push(AnalyticsItem {
                order,
                product: products.get(product)?,
                category: category.map(|c| categories.get(c)).transpose()?,
                quantity,
                amount: unit_price.map_or(0.0, |p| p * quantity),
            });
        }
        for (customer, event_type, channel, occurred_at) in events {
            let Some(&customer) = customer_index.get(&customer) else {
                continue;
            };
            let channel =
                match channel {
                    Some(c) => Some(u16::try_from(channels.get(c)?).map_err(|_| {
                        StoreError::InvalidData {
                            field: "customer_events.channel",
                            reason: "more than 65,536 distinct channels".into(),
                        }
                    })?),
                    None => None,
                };
            input.events.push(AnalyticsEvent {
                customer,
                event_type,
                channel,
                occurred_at,
            });
        }
        input.products = products.names;
        input.categories = categories.names;
        input.channels = channels.names;
        Ok(input)
    }

    /// Replaces every stored feature row of `org` by `rows` (customer, JSON
    /// object of feature name -> value), all stamped `computed_at`, in one
    /// transaction. Returns the number of rows written. Every customer must
    /// belong to `org` (a foreign key).
    ///
    /// # Errors
    /// [`StoreError::Database`] (the old rows stay on failure).
    pub async fn replace_customer_features(
        &self,
        org: Uuid,
        computed_at: DateTime<Utc>,
        rows: &[(Uuid, Value)],
    ) -> Result<u64, StoreError> {
        let op = "replace customer features";
        let backend = self.backend();
        let per = rows_per_statement(backend, 4);
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await.map_err(StoreError::db(op))?;
            sqlx::query("DELETE FROM customer_features WHERE organization_id = $1")
                .bind(org)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db(op))?;
            for chunk in rows.chunks(per) {
                let sql = values_sql(
                    backend,
                    "INSERT INTO customer_features (organization_id, customer_id, features, \
                     computed_at)",
                    4,
                    chunk.len(),
                    "",
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for (customer, features) in chunk {
                    q = q
                        .bind(org)
                        .bind(*customer)
                        .bind(Json(features))
                        .bind(computed_at);
                }
                q.execute(&mut *tx).await.map_err(StoreError::db(op))?;
            }
            tx.commit().await.map_err(StoreError::db(op))?;
        });
        Ok(rows.len() as u64)
    }

    /// The stored features of `customer` in `org` and when they were
    /// computed, if any.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn customer_features(
        &self,
        org: Uuid,
        customer: Uuid,
    ) -> Result<Option<(DateTime<Utc>, Value)>, StoreError> {
        let row: Option<(DateTime<Utc>, Json<Value>)> = dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT computed_at, features FROM customer_features \
                 WHERE organization_id = $1 AND customer_id = $2",
            )
            .bind(org)
            .bind(customer)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("read customer features"))
        })?;
        Ok(row.map(|(at, Json(v))| (at, v)))
    }

    /// One numeric feature (`name`, a key of the stored feature objects) of
    /// every customer of `org` that has it, as (customer, value).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn feature_column(
        &self,
        org: Uuid,
        name: &str,
    ) -> Result<Vec<(Uuid, f64)>, StoreError> {
        let op = "read a feature column";
        let rows: Vec<(Uuid, Option<f64>)> = match &self.pool {
            Pool::Sqlite(pool) => sqlx::query_as(
                "SELECT customer_id, CAST(json_extract(features, '$.\"' || $2 || '\"') AS REAL) \
                 FROM customer_features WHERE organization_id = $1",
            )
            .bind(org)
            .bind(name)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db(op))?,
            Pool::Postgres(pool) => sqlx::query_as(
                "SELECT customer_id, (features ->> $2)::float8 FROM customer_features \
                 WHERE organization_id = $1",
            )
            .bind(org)
            .bind(name)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db(op))?,
        };
        Ok(rows
            .into_iter()
            .filter_map(|(c, v)| v.map(|v| (c, v)))
            .collect())
    }

    /// Records the RFM persona of each customer of `assignments` (customer,
    /// persona key) as of `at`, in one transaction:
    ///
    /// - one `segments` row of kind [`RFM_SEGMENT_KIND`] per persona key,
    ///   created on first use (name = the key, definition `{"persona": key}`);
    /// - a customer whose open membership is already that persona is left
    ///   alone;
    /// - a customer in another persona has that membership closed
    ///   (`left_at = at`) and a new one opened (`joined_at = at`,
    ///   `previous_segment_id` = the old segment);
    /// - a customer without one gets a new membership;
    /// - open RFM memberships of customers absent from `assignments` are
    ///   closed (`left_at = at`): they no longer have a persona.
    ///
    /// Returns the transitions (first personas included, `from = None`), in
    /// the order of `assignments`. A customer listed twice keeps the first.
    ///
    /// # Errors
    /// [`StoreError::Database`] (nothing is changed on failure).
    pub async fn record_personas(
        &self,
        org: Uuid,
        at: DateTime<Utc>,
        assignments: &[(Uuid, String)],
    ) -> Result<Vec<PersonaTransition>, StoreError> {
        let op = "record personas";
        let backend = self.backend();
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await.map_err(StoreError::db(op))?;
            let segments: Vec<(Uuid, String)> = sqlx::query_as(
                "SELECT id, name FROM segments WHERE organization_id = $1 AND kind = $2",
            )
            .bind(org)
            .bind(RFM_SEGMENT_KIND)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::db(op))?;
            let mut by_name: BTreeMap<String, Uuid> =
                segments.iter().map(|(id, n)| (n.clone(), *id)).collect();
            let mut names: HashMap<Uuid, String> = segments.into_iter().collect();
            for (_, key) in assignments {
                if by_name.contains_key(key) {
                    continue;
                }
                let id = Uuid::now_v7();
                sqlx::query(
                    "INSERT INTO segments (id, organization_id, name, kind, definition, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(org)
                .bind(key.as_str())
                .bind(RFM_SEGMENT_KIND)
                .bind(Json(serde_json::json!({ "persona": key })))
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db(op))?;
                by_name.insert(key.clone(), id);
                names.insert(id, key.clone());
            }
            let open: Vec<(Uuid, Uuid)> = sqlx::query_as(
                "SELECT m.customer_id, m.segment_id FROM segment_memberships m \
                 JOIN segments s ON s.id = m.segment_id \
                 WHERE m.organization_id = $1 AND s.kind = $2 AND m.left_at IS NULL",
            )
            .bind(org)
            .bind(RFM_SEGMENT_KIND)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::db(op))?;
            let mut current: HashMap<Uuid, Uuid> = open.into_iter().collect();
            let mut transitions = Vec::new();
            let mut new_rows: Vec<(Uuid, Uuid, Option<Uuid>)> = Vec::new();
            let mut closes: Vec<(Uuid, Uuid)> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for (customer, key) in assignments {
                if !seen.insert(*customer) {
                    continue;
                }
                let Some(&segment) = by_name.get(key) else {
                    continue;
                };
                let old = current.remove(customer);
                if old == Some(segment) {
                    continue;
                }
                if let Some(old) = old {
                    closes.push((*customer, old));
                }
                new_rows.push((*customer, segment, old));
                transitions.push(PersonaTransition {
                    customer_id: *customer,
                    from: old.and_then(|o| names.get(&o).cloned()),
                    to: key.clone(),
                });
            }
            // Whoever is left in `current` has no persona any more.
            closes.extend(current);
            for (customer, segment) in closes {
                sqlx::query(
                    "UPDATE segment_memberships SET left_at = $1 WHERE organization_id = $2 \
                     AND segment_id = $3 AND customer_id = $4 AND left_at IS NULL",
                )
                .bind(at)
                .bind(org)
                .bind(segment)
                .bind(customer)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db(op))?;
            }
            for chunk in new_rows.chunks(rows_per_statement(backend, 5)) {
                let sql = values_sql(
                    backend,
                    "INSERT INTO segment_memberships (organization_id, segment_id, customer_id, \
                     joined_at, previous_segment_id)",
                    5,
                    chunk.len(),
                    "",
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for (customer, segment, previous) in chunk {
                    q = q
                        .bind(org)
                        .bind(*segment)
                        .bind(*customer)
                        .bind(at)
                        .bind(*previous);
                }
                q.execute(&mut *tx).await.map_err(StoreError::db(op))?;
            }
            tx.commit().await.map_err(StoreError::db(op))?;
            Ok(transitions)
        })
    }

    /// Current member counts of every segment of `kind` in `org`, as (segment
    /// name, members), largest first then by name. Segments without members
    /// are included with 0.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn segment_sizes(
        &self,
        org: Uuid,
        kind: &str,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT s.name, COUNT(m.customer_id) AS members FROM segments s \
                 LEFT JOIN segment_memberships m ON m.segment_id = s.id AND m.left_at IS NULL \
                 WHERE s.organization_id = $1 AND s.kind = $2 \
                 GROUP BY s.name ORDER BY members DESC, s.name",
            )
            .bind(org)
            .bind(kind)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("count segment members"))
        })
    }

    /// The current members of every segment of `kind` in `org`, as
    /// (customer, segment name).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn segment_assignments(
        &self,
        org: Uuid,
        kind: &str,
    ) -> Result<Vec<(Uuid, String)>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT m.customer_id, s.name FROM segment_memberships m \
                 JOIN segments s ON s.id = m.segment_id \
                 WHERE m.organization_id = $1 AND s.kind = $2 AND m.left_at IS NULL \
                 ORDER BY m.customer_id",
            )
            .bind(org)
            .bind(kind)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("read segment assignments"))
        })
    }

    /// Up to `limit` current members of the segment `name` of `kind` in
    /// `org`, most recently joined first (then by customer id).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn segment_members(
        &self,
        org: Uuid,
        kind: &str,
        name: &str,
        limit: u32,
    ) -> Result<Vec<SegmentMember>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, SegmentMember>(
                "SELECT m.customer_id, c.full_name, c.email, m.joined_at \
                 FROM segment_memberships m \
                 JOIN segments s ON s.id = m.segment_id \
                 JOIN customers c ON c.id = m.customer_id \
                 WHERE m.organization_id = $1 AND s.kind = $2 AND s.name = $3 \
                 AND m.left_at IS NULL ORDER BY m.joined_at DESC, m.customer_id LIMIT $4",
            )
            .bind(org)
            .bind(kind)
            .bind(name)
            .bind(sql_int(limit))
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("list segment members"))
        })
    }

    /// The segment of `kind` that `customer` is currently in, if any.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn current_segment(
        &self,
        org: Uuid,
        customer: Uuid,
        kind: &str,
    ) -> Result<Option<CurrentSegment>, StoreError> {
        let row: Option<(String, DateTime<Utc>, Option<String>)> = dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT s.name, m.joined_at, p.name FROM segment_memberships m \
                 JOIN segments s ON s.id = m.segment_id \
                 LEFT JOIN segments p ON p.id = m.previous_segment_id \
                 WHERE m.organization_id = $1 AND m.customer_id = $2 AND s.kind = $3 \
                 AND m.left_at IS NULL ORDER BY m.joined_at DESC LIMIT 1",
            )
            .bind(org)
            .bind(customer)
            .bind(kind)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("read a customer's segment"))
        })?;
        Ok(row.map(|(name, joined_at, previous)| CurrentSegment {
            name,
            joined_at,
            previous,
        }))
    }

    /// Stores one prediction run of `org`: every row stamped with
    /// `model_version` and `predicted_at`. Earlier runs are kept (history);
    /// readers use the latest run. Returns the number of rows written.
    ///
    /// # Errors
    /// [`StoreError::Database`] (nothing is written on failure).
    pub async fn record_churn_predictions(
        &self,
        org: Uuid,
        model_version: &str,
        predicted_at: DateTime<Utc>,
        rows: &[NewChurnPrediction],
    ) -> Result<u64, StoreError> {
        let op = "record churn predictions";
        let backend = self.backend();
        let per = rows_per_statement(backend, 9);
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await.map_err(StoreError::db(op))?;
            for chunk in rows.chunks(per) {
                let sql = values_sql(
                    backend,
                    "INSERT INTO churn_predictions (id, organization_id, customer_id, \
                     horizon_days, probability, clv, risk_tier, model_version, predicted_at)",
                    9,
                    chunk.len(),
                    "",
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for r in chunk {
                    q = q
                        .bind(Uuid::now_v7())
                        .bind(org)
                        .bind(r.customer_id)
                        .bind(r.horizon_days)
                        .bind(r.probability)
                        .bind(r.clv)
                        .bind(r.risk_tier.as_str())
                        .bind(model_version)
                        .bind(predicted_at);
                }
                q.execute(&mut *tx).await.map_err(StoreError::db(op))?;
            }
            tx.commit().await.map_err(StoreError::db(op))?;
        });
        Ok(rows.len() as u64)
    }

    /// Every prediction of the latest run of `org` (the greatest
    /// `predicted_at`), by customer then horizon; empty if none ran.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn latest_churn_predictions(
        &self,
        org: Uuid,
    ) -> Result<Vec<ChurnPrediction>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, ChurnPrediction>(
                "SELECT customer_id, horizon_days, probability, clv, risk_tier, model_version, \
                 predicted_at FROM churn_predictions WHERE organization_id = $1 AND \
                 predicted_at = (SELECT MAX(predicted_at) FROM churn_predictions \
                 WHERE organization_id = $1) ORDER BY customer_id, horizon_days",
            )
            .bind(org)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("read the latest churn predictions"))
        })
    }

    /// The predictions of `customer` from their latest run, by horizon;
    /// empty if the customer was never scored.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn customer_churn_predictions(
        &self,
        org: Uuid,
        customer: Uuid,
    ) -> Result<Vec<ChurnPrediction>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, ChurnPrediction>(
                "SELECT customer_id, horizon_days, probability, clv, risk_tier, model_version, \
                 predicted_at FROM churn_predictions WHERE organization_id = $1 AND \
                 customer_id = $2 AND predicted_at = (SELECT MAX(predicted_at) \
                 FROM churn_predictions WHERE organization_id = $1 AND customer_id = $2) \
                 ORDER BY horizon_days",
            )
            .bind(org)
            .bind(customer)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("read a customer's churn predictions"))
        })
    }

    /// The latest `limit` alerts of `org` of `kind`, created at or after
    /// `since` when given (alerts are never older than 1970), newest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn list_alerts_of_kind(
        &self,
        org: Uuid,
        kind: &str,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<super::Alert>, StoreError> {
        let since = since.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        dispatch!(self, |pool| {
            sqlx::query_as::<_, super::Alert>(
                "SELECT id, organization_id, kind, severity, customer_id, title, details, \
                 created_at, acknowledged_at FROM alerts WHERE organization_id = $1 \
                 AND kind = $2 AND created_at >= $3 ORDER BY created_at DESC, id DESC LIMIT $4",
            )
            .bind(org)
            .bind(kind)
            .bind(since)
            .bind(sql_int(limit))
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("list alerts"))
        })
    }
}
