//! The repository layer: one [`Store`] over SQLite (the default, a file under
//! the data directory) or PostgreSQL (optionally with TimescaleDB).
//!
//! Every query is written once with `$1, $2, ...` placeholders (sqlx-sqlite
//! binds `$N` by number) and dispatched to the pool of the active backend by
//! an internal macro. Every organization-owned row is read and written through
//! an `org: Uuid` argument; no method returns rows of another organization.
//!
//! Storage conventions shared by both backends:
//! - ids are [`uuid::Uuid`]s chosen by the caller (v7), stored as `BLOB`
//!   (SQLite) or `UUID` (PostgreSQL);
//! - times are [`chrono::DateTime<Utc>`]; PostgreSQL keeps microseconds, so
//!   times the store generates itself are truncated to microseconds;
//! - JSON documents are `TEXT` (SQLite) or `JSONB` (PostgreSQL);
//! - money is `f64`.

mod analytics;
mod api_keys;
mod checkpoints;
mod connectors;
mod conversations;
mod customers;
mod error;
mod intelligence;
mod jobs;
mod orders;
mod organizations;
pub mod secrets;
#[cfg(feature = "testing")]
pub mod testing;
mod tx;
mod types;
mod users;
mod vectors;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use analytics::period_start;
pub use api_keys::{API_KEY_PREFIX, hash_api_key};
pub use checkpoints::{GraphCheckpointRow, GraphThreadSummary};
pub use connectors::CONNECTOR_STATUS_NEW;
pub use conversations::{Conversation, StoredMessage};
pub use error::StoreError;
pub use intelligence::{
    AnalyticsEvent, AnalyticsInput, AnalyticsItem, AnalyticsOrder, ChurnPrediction, CurrentSegment,
    NewChurnPrediction, PersonaTransition, RFM_SEGMENT_KIND, SegmentMember,
};
pub use jobs::ModelArtifact;
pub use organizations::validate_slug;
pub use secrets::SecretKey;
pub use tx::StoreTx;
pub use types::*;
pub use users::MIN_PASSWORD_CHARS;
pub use vectors::{Neighbour, NeighbourFilter, NewFingerprint, StoredFingerprint};

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

/// Most bind parameters SQLite accepts in one statement (SQLITE_MAX_VARIABLE_NUMBER
/// of the bundled library).
const SQLITE_MAX_PARAMS: usize = 32_766;
/// Most bind parameters PostgreSQL accepts in one statement.
const POSTGRES_MAX_PARAMS: usize = 65_535;
/// Upper bound on rows per multi-row INSERT; larger statements stop paying off.
const MAX_ROWS_PER_INSERT: usize = 500;

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// SQLite (embedded, a single file).
    Sqlite,
    /// PostgreSQL (optionally with TimescaleDB).
    Postgres,
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to the active backend's pool (`&SqlitePool`
/// or `&PgPool`). The body is compiled once per backend, so each query is
/// written once.
macro_rules! dispatch {
    ($store:expr, |$p:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($p) => $body,
            $crate::store::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use dispatch;

/// A connection pool to the AIMA database, and optionally the vector index
/// of fingerprints ([`Store::with_vector_index`]). Cheap to
/// clone (clones share both).
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    vectors: Option<std::sync::Arc<vectors::VectorIndexes>>,
}

impl Store {
    /// Opens (and creates, for SQLite) the database.
    ///
    /// - `Some("postgres://...")` or `Some("postgresql://...")`: PostgreSQL.
    /// - `Some("sqlite:<path>")` (also `sqlite://<path>`, `sqlite::memory:`):
    ///   that SQLite file, created with its parent directory if missing.
    /// - `None`: the SQLite file `data_dir/aima.db` (directory and file created).
    ///
    /// SQLite connections use WAL, `synchronous=NORMAL`, foreign keys on and a
    /// 5 s busy timeout. Any other scheme is [`StoreError::UnsupportedScheme`].
    /// Error texts never contain the URL's password. Does not migrate: call
    /// [`Store::migrate`].
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Store, StoreError> {
        let Some(url) = database_url else {
            std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Io {
                path: data_dir.to_path_buf(),
                source,
            })?;
            let options = SqliteConnectOptions::new().filename(data_dir.join("aima.db"));
            return Self::open_sqlite(options, false, "sqlite:aima.db").await;
        };
        let scheme = url
            .split_once(':')
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default();
        match scheme.as_str() {
            "postgres" | "postgresql" => {
                let options =
                    PgConnectOptions::from_str(url).map_err(|e| StoreError::InvalidUrl {
                        url: redact_url(url),
                        reason: redact_in(&e.to_string(), url),
                    })?;
                let connect_error = |e: sqlx::Error| StoreError::Connect {
                    url: redact_url(url),
                    reason: redact_in(&e.to_string(), url),
                };
                // One direct connection first: an unreachable server or bad
                // credentials fail at once instead of after the pool's retries.
                PgConnection::connect_with(&options)
                    .await
                    .map_err(connect_error)?
                    .close()
                    .await
                    .map_err(connect_error)?;
                let pool = PgPoolOptions::new()
                    .max_connections(10)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await
                    .map_err(connect_error)?;
                Ok(Store {
                    pool: Pool::Postgres(pool),
                    vectors: None,
                })
            }
            "sqlite" => {
                let options =
                    SqliteConnectOptions::from_str(url).map_err(|e| StoreError::InvalidUrl {
                        url: redact_url(url),
                        reason: redact_in(&e.to_string(), url),
                    })?;
                let path = options.get_filename().to_path_buf();
                let in_memory = path.as_os_str() == ":memory:" || url.contains(":memory:");
                if !in_memory
                    && let Some(parent) = path.parent()
                    && !parent.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(parent).map_err(|source| StoreError::Io {
                        path: parent.to_path_buf(),
                        source,
                    })?;
                }
                Self::open_sqlite(options, in_memory, url).await
            }
            _ => Err(StoreError::UnsupportedScheme {
                scheme,
                url: redact_url(url),
            }),
        }
    }

    async fn open_sqlite(
        options: SqliteConnectOptions,
        in_memory: bool,
        url: &str,
    ) -> Result<Store, StoreError> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // 48 MiB page cache per connection (at most 4): bulk imports update several
            // indexes and slow down once they stop fitting; larger caches pushed a
            // 1M-row import past its 500 MB memory budget.
            .pragma("cache_size", "-49152")
            // Multi-row INSERTs keep a statement journal; keep it off disk.
            .pragma("temp_store", "MEMORY");
        let pool_options = if in_memory {
            // Every connection to ":memory:" is its own database: keep one forever.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(4)
        };
        let pool = pool_options
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Connect {
                url: redact_url(url),
                reason: redact_in(&e.to_string(), url),
            })?;
        Ok(Store {
            pool: Pool::Sqlite(pool),
            vectors: None,
        })
    }

    /// Applies the embedded migrations for the active backend
    /// (`migrations/sqlite` or `migrations/postgres`). Idempotent: already
    /// applied migrations are skipped. On PostgreSQL with TimescaleDB
    /// available, the time-series tables become hypertables.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let result = match &self.pool {
            Pool::Sqlite(pool) => SQLITE_MIGRATOR.run(pool).await,
            Pool::Postgres(pool) => POSTGRES_MIGRATOR.run(pool).await,
        };
        result.map_err(|source| StoreError::Migrate { source })
    }

    /// The active backend.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes the pool: waits for checked-out connections to be returned and
    /// closes them. Later queries fail.
    pub async fn close(&self) {
        dispatch!(self, |pool| pool.close().await)
    }

    /// `Ok` when the database answers a trivial query (readiness checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, |pool| {
            sqlx::query("SELECT 1")
                .execute(pool)
                .await
                .map_err(StoreError::db("ping the database"))?;
        });
        Ok(())
    }

    /// Whether the TimescaleDB extension is installed in the database
    /// (always `false` on SQLite).
    pub async fn has_timescale(&self) -> Result<bool, StoreError> {
        match &self.pool {
            Pool::Sqlite(_) => Ok(false),
            Pool::Postgres(pool) => sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')",
            )
            .fetch_one(pool)
            .await
            .map_err(StoreError::db("check for timescaledb")),
        }
    }

    /// Starts a transaction for bulk writes (see [`StoreTx`]). Dropping the
    /// transaction without [`StoreTx::commit`] rolls it back.
    pub async fn begin(&self) -> Result<StoreTx, StoreError> {
        StoreTx::begin(&self.pool).await
    }
}

fn max_params(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => SQLITE_MAX_PARAMS,
        Backend::Postgres => POSTGRES_MAX_PARAMS,
    }
}

/// Rows per multi-row statement for `columns` bind parameters per row.
fn rows_per_statement(backend: Backend, columns: usize) -> usize {
    (max_params(backend) / columns.max(1)).clamp(1, MAX_ROWS_PER_INSERT)
}

/// `"{head} VALUES (..), (..), ... {tail}"` with `rows` tuples of `columns`
/// placeholders bound in order: `$1, $2, ...` on PostgreSQL, anonymous `?` on
/// SQLite (whose `sqlite3_bind_parameter_name` is linear in the number of
/// named parameters, which makes binding a large `$N` statement quadratic).
fn values_sql(backend: Backend, head: &str, columns: usize, rows: usize, tail: &str) -> String {
    use std::fmt::Write as _;
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * columns * 8);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..columns {
            if c > 0 {
                sql.push(',');
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    n += 1;
                    let _ = write!(sql, "${n}");
                }
            }
        }
        sql.push(')');
    }
    sql.push(' ');
    sql.push_str(tail);
    sql
}

/// The current time, truncated to microseconds (what PostgreSQL keeps), so a
/// time the store writes reads back identically on both backends.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Clamps a caller's `u32` limit/offset to the `i64` SQL wants.
fn sql_int(n: u32) -> i64 {
    i64::from(n)
}

/// A PostgreSQL `url` with its database name replaced by `database` (query
/// parameters kept): used to reach a scratch database from an admin URL.
pub fn url_with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    match query {
        Some(q) => format!("{}/{database}?{q}", &base[..host_end]),
        None => format!("{}/{database}", &base[..host_end]),
    }
}

/// `url` with any password (userinfo `user:password@` or a `password=`
/// query parameter) replaced by `***`. Other parts are kept for diagnostics.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = url.find("://") {
        let rest_start = scheme_end + 3;
        let rest = &url[rest_start..];
        let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_len];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            if let Some(colon) = userinfo.find(':') {
                out = format!(
                    "{}{}:***{}",
                    &url[..rest_start],
                    &userinfo[..colon],
                    &rest[at..]
                );
            }
        }
    }
    redact_query_password(&out)
}

fn redact_query_password(url: &str) -> String {
    let Some(q) = url.find('?') else {
        return url.to_string();
    };
    let (base, query) = url.split_at(q + 1);
    let params: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{base}{}", params.join("&"))
}

/// The password(s) embedded in `url`, raw and percent-decoded.
fn url_passwords(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        if let Some(at) = authority.rfind('@')
            && let Some((_, pw)) = authority[..at].split_once(':')
        {
            found.push(pw.to_string());
        }
    }
    if let Some((_, query)) = url.split_once('?') {
        for kv in query.split('&') {
            if let Some((k, v)) = kv.split_once('=')
                && k.eq_ignore_ascii_case("password")
            {
                found.push(v.to_string());
            }
        }
    }
    let decoded: Vec<String> = found.iter().map(|p| percent_decode(p)).collect();
    found.extend(decoded);
    found.retain(|p| !p.is_empty());
    found.sort_by_key(|p| std::cmp::Reverse(p.len()));
    found
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `text` with the URL's whole text and every password in it replaced, so a
/// driver message that echoes the URL cannot leak the password.
fn redact_in(text: &str, url: &str) -> String {
    let mut out = text.replace(url, &redact_url(url));
    for pw in url_passwords(url) {
        out = out.replace(&pw, "***");
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn url_with_database_replaces_the_path() {
        assert_eq!(
            super::url_with_database("postgres://u:p@h:5432/postgres", "x"),
            "postgres://u:p@h:5432/x"
        );
        assert_eq!(
            super::url_with_database("postgres://h/postgres?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(
            super::url_with_database("postgres://h", "x"),
            "postgres://h/x"
        );
    }
    use super::*;

    #[test]
    fn redacts_userinfo_and_query_passwords() {
        assert_eq!(
            redact_url("postgres://aima:s3cr%40t@db:5432/aima?sslmode=require"),
            "postgres://aima:***@db:5432/aima?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://db/aima?user=x&password=hunter2"),
            "postgres://db/aima?user=x&password=***"
        );
        assert_eq!(redact_url("sqlite:data/aima.db"), "sqlite:data/aima.db");
        let msg = redact_in(
            "failed: postgres://u:pa%2Fss@h/d and pa/ss",
            "postgres://u:pa%2Fss@h/d",
        );
        assert!(!msg.contains("pa%2Fss") && !msg.contains("pa/ss"), "{msg}");
    }

    #[test]
    fn values_sql_numbers_placeholders() {
        assert_eq!(
            values_sql(
                Backend::Postgres,
                "INSERT INTO t (a, b)",
                2,
                2,
                "ON CONFLICT DO NOTHING"
            ),
            "INSERT INTO t (a, b) VALUES ($1,$2),($3,$4) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            values_sql(Backend::Sqlite, "INSERT INTO t (a, b)", 2, 2, ""),
            "INSERT INTO t (a, b) VALUES (?,?),(?,?) "
        );
        assert_eq!(rows_per_statement(Backend::Sqlite, 11), MAX_ROWS_PER_INSERT);
        assert_eq!(rows_per_statement(Backend::Sqlite, 40_000), 1);
    }

    #[tokio::test]
    async fn password_never_appears_in_open_errors() {
        let dir = std::env::temp_dir();
        for url in [
            // Nothing listens on port 1: connection refused.
            "postgres://aima:Sup3rSecretPw@127.0.0.1:1/aima?connect_timeout=2",
            "postgresql://aima:Sup3rSecretPw@127.0.0.1:1/aima?sslmode=bogus",
            "mysql://aima:Sup3rSecretPw@127.0.0.1/aima",
            "postgres://aima:Sup3rSecretPw@[bad/aima",
        ] {
            let err = Store::open(Some(url), &dir)
                .await
                .expect_err("opening must fail");
            let text = format!("{err} / {err:?}");
            assert!(!text.contains("Sup3rSecretPw"), "password leaked: {text}");
        }
        let err = Store::open(Some("mysql://u:Sup3rSecretPw@h/d"), &dir)
            .await
            .expect_err("mysql is unsupported");
        assert!(err.to_string().contains("\"mysql\""), "{err}");
    }
}
