//! Helpers of the runtime's own store tests; the both-backends harness is
//! `aima_runtime::store::testing` (feature `testing`).

use aima_runtime::store::Backend;
pub use aima_runtime::store::testing::Ctx;
pub(crate) use aima_runtime::store_tests;

/// The values of the single column of `sql`'s rows, read directly (not
/// through the store): `String` for text, `Vec<u8>` for BLOB/BYTEA.
pub async fn raw_column<T>(ctx: &Ctx, sql: &'static str) -> Vec<T>
where
    T: Send
        + Unpin
        + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>,
{
    match ctx.store.backend() {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&ctx.url).await.expect("connect");
            let rows = sqlx::query_scalar(sql)
                .fetch_all(&pool)
                .await
                .expect("query");
            pool.close().await;
            rows
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&ctx.url).await.expect("connect");
            let rows = sqlx::query_scalar(sql)
                .fetch_all(&pool)
                .await
                .expect("query");
            pool.close().await;
            rows
        }
    }
}

/// Runs `sql` directly (not through the store); returns the rows affected.
pub async fn raw_execute(ctx: &Ctx, sql: &'static str) -> u64 {
    match ctx.store.backend() {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&ctx.url).await.expect("connect");
            let n = sqlx::query(sql)
                .execute(&pool)
                .await
                .expect("execute")
                .rows_affected();
            pool.close().await;
            n
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&ctx.url).await.expect("connect");
            let n = sqlx::query(sql)
                .execute(&pool)
                .await
                .expect("execute")
                .rows_affected();
            pool.close().await;
            n
        }
    }
}
