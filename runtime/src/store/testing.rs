//! Test support (feature `testing`): runs one test body against SQLite and
//! PostgreSQL. Used by the integration tests of every crate that touches the
//! store, so each backend is exercised by the same test text.
//!
//! PostgreSQL comes from `AIMA_TEST_DATABASE_URL` (an admin URL; each test
//! gets a fresh database, dropped afterwards). When it is unset the
//! PostgreSQL variant prints why it skips, or fails when `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;

use sqlx::AssertSqlSafe;
use uuid::Uuid;

use crate::store::{Backend, Store};

/// What a store test gets: a migrated store and a URL to reach the same
/// database directly (to check raw rows).
#[derive(Clone)]
pub struct Ctx {
    /// The store under test.
    pub store: Store,
    /// A URL of the same database, for raw checks.
    pub url: String,
}

/// Generates `sqlite::<name>` and `postgres::<name>` tests from
/// `async fn <name>(ctx: Ctx)` bodies in the calling module (needs the
/// `testing` feature and tokio's `macros` + `rt-multi-thread`).
#[macro_export]
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::store::testing::with_sqlite(super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::store::testing::with_postgres(super::$name).await;
                }
            )*
        }
    };
}

async fn run_body<F, Fut>(ctx: Ctx, test: F) -> Result<(), tokio::task::JoinError>
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(test(ctx)).await
}

fn rethrow(result: Result<(), tokio::task::JoinError>) {
    if let Err(e) = result {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

/// Runs `test` on a migrated SQLite store in a temporary directory.
pub async fn with_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open(None, dir.path())
        .await
        .expect("open SQLite")
        .with_vector_index(aima_vectors::VectorBackend::Embedded(
            dir.path().join("vectors"),
        ));
    assert_eq!(store.backend(), Backend::Sqlite);
    store.migrate().await.expect("migrate SQLite");
    let url = format!("sqlite:{}", dir.path().join("aima.db").display());
    let result = run_body(
        Ctx {
            store: store.clone(),
            url,
        },
        test,
    )
    .await;
    store.close().await;
    drop(store);
    drop(dir);
    rethrow(result);
}

/// Runs `test` on a migrated PostgreSQL store in a fresh database, dropped
/// afterwards (best effort).
pub async fn with_postgres<F, Fut>(test: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let admin_url = match std::env::var("AIMA_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "AIMA_TEST_DATABASE_URL is not set but CI=true: the PostgreSQL store tests \
                     need it (e.g. postgres://postgres:postgres@127.0.0.1:5432/postgres)"
                );
            }
            eprintln!("skipping PostgreSQL: AIMA_TEST_DATABASE_URL not set");
            return;
        }
    };
    let name = format!("aima_test_{}", Uuid::now_v7().simple());
    let admin = sqlx::PgPool::connect(&admin_url)
        .await
        .expect("connect to AIMA_TEST_DATABASE_URL");
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("create the test database");
    let url = crate::store::url_with_database(&admin_url, &name);
    let vectors = tempfile::tempdir().expect("temporary directory");
    let result = match Store::open(Some(&url), std::path::Path::new(".")).await {
        Ok(store) => {
            let store = store.with_vector_index(aima_vectors::VectorBackend::Embedded(
                vectors.path().to_path_buf(),
            ));
            assert_eq!(store.backend(), Backend::Postgres);
            store.migrate().await.expect("migrate PostgreSQL");
            let result = run_body(
                Ctx {
                    store: store.clone(),
                    url,
                },
                test,
            )
            .await;
            store.close().await;
            result
        }
        Err(e) => Err(tokio::spawn(async move { panic!("open PostgreSQL: {e}") })
            .await
            .expect_err("the task panics")),
    };
    let dropped = sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await;
    if let Err(e) = dropped {
        eprintln!("could not drop test database {name}: {e}");
    }
    admin.close().await;
    rethrow(result);
}
