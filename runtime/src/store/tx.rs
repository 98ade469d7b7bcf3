//! Transactions for bulk writes (imports, syncs).

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, Timelike, Utc};
use serde::Serialize;
use sqlx::error::BoxDynError;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, PgConnection, Postgres, Sqlite, SqliteConnection, Transaction};
use uuid::Uuid;

use super::{
    Backend, ChannelSpend, CustomerUpdate, ImportRecord, NewCustomer, NewEvent, NewOrder,
    NewOrderItem, OrderUpdate, Pool, StoreError, now, rows_per_statement, values_sql,
};

enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    /// A pooled connection inside `BEGIN`, closed (not returned to the pool)
    /// when dropped, so a transaction abandoned mid-`COPY` (an import whose
    /// task was cancelled) is aborted by the server instead of handing a
    /// connection in an unknown state to the next caller. One reconnect per
    /// bulk transaction is the price.
    Postgres(sqlx::pool::PoolConnection<Postgres>),
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
/// On PostgreSQL, customers, orders (with their items) and events are
/// streamed with `COPY ... FROM STDIN` (text format); every other insert, and
/// every insert on SQLite, uses multi-row statements sized under the
/// backend's bind-parameter limit, each distinct statement prepared once and
/// cached.
pub struct StoreTx {
    inner: TxInner,
    /// `CREATE INDEX` statements of indexes dropped by
    /// [`StoreTx::defer_secondary_indexes`], run again before commit.
    deferred_indexes: Vec<String>,
}

impl std::fmt::Debug for StoreTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreTx")
            .field("backend", &self.backend())
            .finish()
    }
}

/// Column lists of the bulk-written tables, shared by the COPY (PostgreSQL)
/// and INSERT (SQLite) statements so the two cannot drift apart.
macro_rules! customer_columns {
    () => {
        "id, organization_id, external_id, email, email_lower, first_name, last_name, full_name, phone, city, country, tags, properties, search_text, created_at, updated_at"
    };
}
macro_rules! order_columns {
    () => {
        "id, organization_id, external_id, customer_id, amount, currency, status, items, ordered_at, created_at, updated_at"
    };
}
macro_rules! item_columns {
    () => {
        "id, organization_id, order_id, ordered_at, product_name, sku, category, quantity, unit_price"
    };
}
macro_rules! event_columns {
    () => {
        "id, organization_id, customer_id, event_type, channel, properties, occurred_at"
    };
}
macro_rules! spend_columns {
    () => {
        "id, organization_id, date, channel, spend, impressions, clicks"
    };
}

/// The number of columns in a comma-separated column list.
const fn column_count(list: &str) -> usize {
    let bytes = list.as_bytes();
    let (mut n, mut i) = (1, 0);
    while i < bytes.len() {
        if bytes[i] == b',' {
            n += 1;
        }
        i += 1;
    }
    n
}

const CUSTOMER_COLUMNS: usize = column_count(customer_columns!());
const ORDER_COLUMNS: usize = column_count(order_columns!());
const ITEM_COLUMNS: usize = column_count(item_columns!());
const EVENT_COLUMNS: usize = column_count(event_columns!());
const SPEND_COLUMNS: usize = column_count(spend_columns!());

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

/// Bytes of COPY data buffered per `CopyData` message sent to PostgreSQL.
const COPY_CHUNK: usize = 1 << 20;

/// PostgreSQL's epoch (its timestamps are microseconds from it).
const PG_EPOCH: NaiveDateTime = NaiveDate::from_ymd_opt(2000, 1, 1)
    .expect("valid date")
    .and_hms_opt(0, 0, 0)
    .expect("valid time");

/// Appends `bytes` to `buf` escaped for a field of `COPY`'s text format:
/// backslash, newline, carriage return and tab become `\\`, `\n`, `\r`, `\t`.
fn put_copy_escaped(buf: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        buf.extend_from_slice(escaped);
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
}

/// An [`std::io::Write`] that escapes what it is given into a COPY text field
/// (for serializing JSON straight into the buffer).
struct CopyEscaper<'a>(&'a mut Vec<u8>);

impl std::io::Write for CopyEscaper<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        put_copy_escaped(self.0, data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Rows of `COPY ... FROM STDIN` data in PostgreSQL's text format. Each field
/// method appends one field and its tab separator; [`CopyRows::end_row`]
/// turns the last separator into the row's newline.
///
/// Every value is written as the text whose PostgreSQL input gives the value
/// the binary bind of the INSERT path gives: shortest round-trip `f64`s,
/// `serde_json` output for JSON/JSONB, microsecond timestamps computed like
/// sqlx's encoder.
struct CopyRows {
    buf: Vec<u8>,
}

impl CopyRows {
    fn with_capacity(capacity: usize) -> CopyRows {
        CopyRows {
            buf: Vec::with_capacity(capacity),
        }
    }

    fn null(&mut self) {
        self.buf.extend_from_slice(b"\\N\t");
    }

    fn text(&mut self, s: &str) {
        put_copy_escaped(&mut self.buf, s.as_bytes());
        self.buf.push(b'\t');
    }

    fn opt_text(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    fn uuid(&mut self, id: Uuid) {
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        self.buf
            .extend_from_slice(id.hyphenated().encode_lower(&mut text).as_bytes());
        self.buf.push(b'\t');
    }

    fn opt_uuid(&mut self, id: Option<Uuid>) {
        match id {
            Some(id) => self.uuid(id),
            None => self.null(),
        }
    }

    /// Rust's `Debug` of an `f64` is the shortest text that parses back to
    /// the same value (`0.1`, `1e-7`, `-0.0`, `NaN`, `inf`), all of which
    /// PostgreSQL's `float8in` reads exactly.
    fn float(&mut self, v: f64) {
        use std::io::Write as _;
        // Writing into a Vec cannot fail.
        let _ = write!(self.buf, "{v:?}\t");
    }

    fn opt_float(&mut self, v: Option<f64>) {
        match v {
            Some(v) => self.float(v),
            None => self.null(),
        }
    }

    /// A `TIMESTAMPTZ` as `YYYY-MM-DD HH:MM:SS.ffffff+00` (`BC` suffixed for
    /// years before 1), truncated to microseconds toward 2000-01-01 exactly as
    /// sqlx's binary encoding of `DateTime<Utc>` does.
    fn time(&mut self, t: DateTime<Utc>) -> Result<(), BoxDynError> {
        use std::io::Write as _;
        let epoch = PG_EPOCH;
        let out_of_range = || format!("DateTime out of range for PostgreSQL: {t:?}");
        let micros = (t.naive_utc() - epoch)
            .num_microseconds()
            .ok_or_else(out_of_range)?;
        let t = epoch
            .checked_add_signed(TimeDelta::microseconds(micros))
            .ok_or_else(out_of_range)?;
        let (year, era) = match t.year() {
            y if y >= 1 => (y, ""),
            y => (1 - y, " BC"),
        };
        // Writing into a Vec cannot fail.
        let _ = write!(
            self.buf,
            "{year:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00{era}\t",
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.nanosecond() / 1_000,
        );
        Ok(())
    }

    /// A JSON/JSONB document, serialized as sqlx's `Json` bind serializes it.
    fn json<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), BoxDynError> {
        serde_json::to_writer(CopyEscaper(&mut self.buf), v)?;
        self.buf.push(b'\t');
        Ok(())
    }

    fn end_row(&mut self) {
        if let Some(last) = self.buf.last_mut() {
            *last = b'\n';
        }
    }
}

/// Encodes rows from the front of `pending` until about [`COPY_CHUNK`]
/// bytes are buffered; `None` once `pending` is empty.
fn copy_chunk<T, W>(pending: &mut &[T], write: &W) -> Result<Option<Vec<u8>>, BoxDynError>
where
    W: Fn(&mut CopyRows, &T) -> Result<(), BoxDynError>,
{
    let mut out = CopyRows::with_capacity(COPY_CHUNK + COPY_CHUNK / 8);
    while out.buf.len() < COPY_CHUNK {
        let Some((row, rest)) = pending.split_first() else {
            break;
        };
        *pending = rest;
        write(&mut out, row)?;
        out.end_row();
    }
    Ok((!out.buf.is_empty()).then_some(out.buf))
}

/// Streams `rows` into PostgreSQL with `statement` (a `COPY ... FROM STDIN`
/// in text format) on connection `c`, `write` appending each row's fields.
/// Data goes out in messages of about [`COPY_CHUNK`] bytes; the next one is
/// encoded while the previous one is sent. Returns the number of rows copied.
///
/// Errors of the database (a constraint violated by a row surfaces when the
/// copy finishes) go through `err`; a row that cannot be encoded aborts the
/// copy and is [`StoreError::Database`] for `operation`. Either way the
/// server has failed the statement, so the transaction is aborted.
async fn copy_in<T, W>(
    c: &mut PgConnection,
    statement: &'static str,
    rows: &[T],
    write: W,
    operation: &'static str,
    err: impl Fn(sqlx::Error) -> StoreError,
) -> Result<u64, StoreError>
where
    T: Sync,
    W: Fn(&mut CopyRows, &T) -> Result<(), BoxDynError> + Sync,
{
    let encode_error = |source: BoxDynError| StoreError::Database {
        operation,
        source: sqlx::Error::Encode(source),
    };
    let mut pending = rows;
    // Encode the first chunk before starting the copy, so an unencodable
    // first row leaves the connection untouched.
    let Some(first) = copy_chunk(&mut pending, &write).map_err(encode_error)? else {
        return Ok(0);
    };
    let mut next = Some(first);
    let mut copy = c.copy_in_raw(statement).await.map_err(&err)?;
    while let Some(data) = next {
        // Polled in order: the chunk is handed to the socket first, then the
        // next one is encoded while the database works.
        let (sent, following) = tokio::join!(biased; copy.send(data), async {
            copy_chunk(&mut pending, &write)
        });
        if let Err(e) = sent {
            let _ = copy.abort("sending COPY data failed").await;
            return Err(err(e));
        }
        match following {
            Ok(following) => next = following,
            Err(e) => {
                // The server answers the abort with an error of its own (or
                // the error a row already raised); the encoding error is the
                // one worth reporting.
                let _ = copy.abort("a row could not be encoded").await;
                return Err(encode_error(e));
            }
        }
    }
    copy.finish().await.map_err(err)
}

impl StoreTx {
    pub(super) async fn begin(pool: &Pool) -> Result<StoreTx, StoreError> {
        let op = "begin a transaction";
        let inner = match pool {
            // IMMEDIATE takes SQLite's write lock up front, so a second writer
            // waits (busy timeout) at BEGIN instead of failing mid-transaction
            // when its read lock cannot be upgraded.
            Pool::Sqlite(p) => TxInner::Sqlite(
                p.begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(StoreError::db(op))?,
            ),
            Pool::Postgres(p) => {
                let mut conn = p.acquire().await.map_err(StoreError::db(op))?;
                conn.close_on_drop();
                sqlx::raw_sql(AssertSqlSafe("BEGIN"))
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::db(op))?;
                TxInner::Postgres(conn)
            }
        };
        Ok(StoreTx {
            inner,
            deferred_indexes: Vec::new(),
        })
    }

    /// The transaction's backend.
    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    /// On SQLite, when `incoming_rows` (the rows a bulk write is about to
    /// add) is at least the number of orders already stored, drops the
    /// non-unique indexes of customers, orders and order items for the rest
    /// of the transaction and builds them again (sorted, in one pass each) at
    /// [`StoreTx::commit`]: much cheaper than updating them row by row once
    /// they outgrow the page cache. Unique indexes stay (they check
    /// identities as rows arrive). Everything stays inside the transaction,
    /// so a rollback restores the indexes and other connections never see
    /// the schema without them. Returns how many indexes were deferred; on
    /// PostgreSQL it does nothing (dropping an index there locks the table
    /// for every reader).
    pub async fn defer_secondary_indexes(
        &mut self,
        incoming_rows: u64,
    ) -> Result<usize, StoreError> {
        let TxInner::Sqlite(t) = &mut self.inner else {
            return Ok(0);
        };
        let op = "defer secondary indexes";
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
            .fetch_one(&mut **t)
            .await
            .map_err(StoreError::db(op))?;
        if i64::try_from(incoming_rows).unwrap_or(i64::MAX) < stored.max(1) {
            return Ok(0);
        }
        let indexes: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' \
             AND tbl_name IN ('customers', 'orders', 'order_items') AND sql IS NOT NULL \
             AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name",
        )
        .fetch_all(&mut **t)
        .await
        .map_err(StoreError::db(op))?;
        for (name, sql) in indexes {
            sqlx::query(AssertSqlSafe(format!(
                "DROP INDEX \"{}\"",
                name.replace('"', "\"\"")
            )))
            .execute(&mut **t)
            .await
            .map_err(StoreError::db(op))?;
            self.deferred_indexes.push(sql);
        }
        Ok(self.deferred_indexes.len())
    }

    /// Commits every write of the transaction (first rebuilding indexes
    /// deferred by [`StoreTx::defer_secondary_indexes`]).
    pub async fn commit(mut self) -> Result<(), StoreError> {
        if let TxInner::Sqlite(t) = &mut self.inner {
            for sql in std::mem::take(&mut self.deferred_indexes) {
                sqlx::query(AssertSqlSafe(sql))
                    .execute(&mut **t)
                    .await
                    .map_err(StoreError::db("rebuild deferred indexes"))?;
            }
        }
        let op = "commit";
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await.map_err(StoreError::db(op)),
            TxInner::Postgres(mut c) => sqlx::raw_sql(AssertSqlSafe("COMMIT"))
                .execute(&mut *c)
                .await
                .map(drop)
                .map_err(StoreError::db(op)),
        }
    }

    /// Discards every write of the transaction.
    pub async fn rollback(self) -> Result<(), StoreError> {
        let op = "roll back";
        match self.inner {
            TxInner::Sqlite(t) => t.rollback().await.map_err(StoreError::db(op)),
            TxInner::Postgres(mut c) => sqlx::raw_sql(AssertSqlSafe("ROLLBACK"))
                .execute(&mut *c)
                .await
                .map(drop)
                .map_err(StoreError::db(op)),
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
        let operation = "insert customers";
        let err = StoreError::db_or_conflict(operation, || {
            "a customer with the same id or email".to_string()
        });
        let t = match &mut self.inner {
            TxInner::Postgres(t) => {
                return copy_in(
                    &mut *t,
                    concat!("COPY customers (", customer_columns!(), ") FROM STDIN"),
                    customers,
                    move |w, r| {
                        w.uuid(r.id);
                        w.uuid(org);
                        w.opt_text(r.external_id.as_deref());
                        w.opt_text(r.email.as_deref());
                        w.opt_text(r.email.as_deref().map(str::to_lowercase).as_deref());
                        w.opt_text(r.first_name.as_deref());
                        w.opt_text(r.last_name.as_deref());
                        w.opt_text(r.full_name.as_deref());
                        w.opt_text(r.phone.as_deref());
                        w.opt_text(r.city.as_deref());
                        w.opt_text(r.country.as_deref());
                        w.json(&r.tags)?;
                        w.json(&r.properties)?;
                        w.text(&search_text(
                            r.email.as_deref(),
                            r.full_name.as_deref(),
                            r.first_name.as_deref(),
                            r.last_name.as_deref(),
                            r.phone.as_deref(),
                        ));
                        w.time(r.created_at)?;
                        w.time(r.created_at)
                    },
                    operation,
                    err,
                )
                .await;
            }
            TxInner::Sqlite(t) => t,
        };
        type Db = Sqlite;
        let c: &mut SqliteConnection = &mut *t;
        let per = rows_per_statement(Backend::Sqlite, CUSTOMER_COLUMNS);
        let sql = |n| {
            values_sql(
                Backend::Sqlite,
                concat!("INSERT INTO customers (", customer_columns!(), ")"),
                CUSTOMER_COLUMNS,
                n,
                "",
            )
        };
        Ok(pipelined_insert!(
            c,
            customers,
            NewCustomer,
            per,
            sql,
            err,
            |q, r| {
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
            }
        ))
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
        let ts = now();
        let operation = "insert orders";
        let err = StoreError::db_or_conflict(operation, || {
            "an order with the same id or external_id".to_string()
        });
        let total = match &mut self.inner {
            TxInner::Postgres(t) => {
                copy_in(
                    &mut *t,
                    concat!("COPY orders (", order_columns!(), ") FROM STDIN"),
                    orders,
                    move |w, r| {
                        w.uuid(r.id);
                        w.uuid(org);
                        w.text(&r.external_id);
                        w.opt_uuid(r.customer_id);
                        w.float(r.amount);
                        w.opt_text(r.currency.as_deref());
                        w.opt_text(r.status.as_deref());
                        w.json(&r.items)?;
                        w.time(r.ordered_at)?;
                        w.time(ts)?;
                        w.time(ts)
                    },
                    operation,
                    err,
                )
                .await?
            }
            TxInner::Sqlite(t) => {
                type Db = Sqlite;
                let c: &mut SqliteConnection = &mut *t;
                let per = rows_per_statement(Backend::Sqlite, ORDER_COLUMNS);
                let sql = |n| {
                    values_sql(
                        Backend::Sqlite,
                        concat!("INSERT INTO orders (", order_columns!(), ")"),
                        ORDER_COLUMNS,
                        n,
                        "",
                    )
                };
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
            }
        };
        self.insert_items(org, orders).await?;
        Ok(total)
    }

    /// Inserts the items of `orders` into `order_items` (each line a fresh id,
    /// with its order's `ordered_at`).
    async fn insert_items(&mut self, org: Uuid, orders: &[NewOrder]) -> Result<(), StoreError> {
        let operation = "insert order items";
        let err = StoreError::db(operation);
        let rows: Vec<(&NewOrder, &NewOrderItem)> = orders
            .iter()
            .flat_map(|o| o.items.iter().map(move |i| (o, i)))
            .collect();
        let t = match &mut self.inner {
            TxInner::Postgres(t) => {
                copy_in(
                    &mut *t,
                    concat!("COPY order_items (", item_columns!(), ") FROM STDIN"),
                    &rows,
                    move |w, &(o, i)| {
                        w.uuid(line_id());
                        w.uuid(org);
                        w.uuid(o.id);
                        w.time(o.ordered_at)?;
                        w.text(&i.product_name);
                        w.opt_text(i.sku.as_deref());
                        w.opt_text(i.category.as_deref());
                        w.float(i.quantity);
                        w.opt_float(i.unit_price);
                        Ok(())
                    },
                    operation,
                    err,
                )
                .await?;
                return Ok(());
            }
            TxInner::Sqlite(t) => t,
        };
        type Db = Sqlite;
        let c: &mut SqliteConnection = &mut *t;
        let per = rows_per_statement(Backend::Sqlite, ITEM_COLUMNS);
        let sql = |n| {
            values_sql(
                Backend::Sqlite,
                concat!("INSERT INTO order_items (", item_columns!(), ")"),
                ITEM_COLUMNS,
                n,
                "",
            )
        };
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
        );
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
        let operation = "insert events";
        let err = StoreError::db_or_conflict(operation, || "an event with the same id".to_string());
        let t = match &mut self.inner {
            TxInner::Postgres(t) => {
                return copy_in(
                    &mut *t,
                    concat!("COPY customer_events (", event_columns!(), ") FROM STDIN"),
                    events,
                    move |w, r| {
                        w.uuid(r.id);
                        w.uuid(org);
                        w.uuid(r.customer_id);
                        w.text(&r.event_type);
                        w.opt_text(r.channel.as_deref());
                        w.json(&r.properties)?;
                        w.time(r.occurred_at)
                    },
                    operation,
                    err,
                )
                .await;
            }
            TxInner::Sqlite(t) => t,
        };
        type Db = Sqlite;
        let c: &mut SqliteConnection = &mut *t;
        let per = rows_per_statement(Backend::Sqlite, EVENT_COLUMNS);
        let sql = |n| {
            values_sql(
                Backend::Sqlite,
                concat!("INSERT INTO customer_events (", event_columns!(), ")"),
                EVENT_COLUMNS,
                n,
                "",
            )
        };
        Ok(pipelined_insert!(
            c,
            events,
            NewEvent,
            per,
            sql,
            err,
            |q, r| {
                q.bind(r.id)
                    .bind(org)
                    .bind(r.customer_id)
                    .bind(r.event_type.as_str())
                    .bind(r.channel.as_deref())
                    .bind(Json(&r.properties))
                    .bind(r.occurred_at)
            }
        ))
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
                concat!("INSERT INTO channel_spend (", spend_columns!(), ")"),
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

#[cfg(test)]
mod tests {

    #[test]
    fn column_counts_follow_the_lists() {
        assert_eq!(
            [
                CUSTOMER_COLUMNS,
                ORDER_COLUMNS,
                ITEM_COLUMNS,
                EVENT_COLUMNS,
                SPEND_COLUMNS
            ],
            [16, 11, 9, 7, 7]
        );
    }
    use super::*;
    use chrono::TimeZone;

    fn row(f: impl FnOnce(&mut CopyRows)) -> String {
        let mut w = CopyRows::with_capacity(0);
        f(&mut w);
        w.end_row();
        String::from_utf8(w.buf).expect("utf-8")
    }

    #[test]
    fn copy_text_escapes_and_nulls() {
        assert_eq!(
            row(|w| {
                w.text("a,b\t\"c\"\\N\nd\re 😀");
                w.text("");
                w.opt_text(None);
                w.text("\\N");
            }),
            "a,b\\t\"c\"\\\\N\\nd\\re 😀\t\t\\N\t\\\\N\n"
        );
    }

    #[test]
    fn copy_json_is_serde_json_escaped() {
        let v = serde_json::json!({"q": "say \"hi\"\\\n"});
        assert_eq!(
            row(|w| w.json(&v).expect("json")),
            "{\"q\":\"say \\\\\"hi\\\\\"\\\\\\\\\\\\n\"}\n"
        );
    }

    #[test]
    fn copy_floats_round_trip() {
        for v in [0.1, 1e-7, 123456789.123456, -0.0, 1e300, 5e-324, f64::MAX] {
            let text = row(|w| w.float(v));
            let parsed: f64 = text.trim_end().parse().expect("float");
            assert_eq!(parsed.to_bits(), v.to_bits(), "{text}");
        }
        assert_eq!(row(|w| w.float(f64::NAN)), "NaN\n");
        assert_eq!(row(|w| w.opt_float(None)), "\\N\n");
    }

    #[test]
    fn copy_times_truncate_like_sqlx() {
        let t = |s: &str| {
            row(|w| {
                w.time(s.parse::<DateTime<Utc>>().expect("time"))
                    .expect("ok")
            })
        };
        assert_eq!(
            t("2024-05-06T07:08:09.123456789Z"),
            "2024-05-06 07:08:09.123456+00\n"
        );
        // Before 2000-01-01 sqlx truncates toward that epoch, i.e. upward.
        assert_eq!(
            t("1969-12-31T23:59:59.9999995Z"),
            "1970-01-01 00:00:00.000000+00\n"
        );
        assert_eq!(t("1999-12-31T23:59:59Z"), "1999-12-31 23:59:59.000000+00\n");
        let bc = Utc
            .with_ymd_and_hms(0, 3, 1, 12, 0, 0)
            .single()
            .expect("time");
        assert_eq!(
            row(|w| w.time(bc).expect("ok")),
            "0001-03-01 12:00:00.000000+00 BC\n"
        );
    }
}
