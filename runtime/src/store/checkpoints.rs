//! State-graph checkpoints (`graph_checkpoints`): one row per recorded step
//! of a thread, scoped by organization. The store keeps the rows opaque; the
//! delta format belongs to [`crate::graph`].

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::{Store, StoreError, dispatch, now};

/// One stored checkpoint row of a graph thread.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct GraphCheckpointRow {
    /// Step number within the thread (0, 1, 2, ...; gaps appear only where
    /// a compaction removed older steps).
    pub step: i64,
    /// The step this one follows, `None` for the first.
    pub parent_step: Option<i64>,
    /// What ran at this step (a label chosen by the graph engine).
    pub node: String,
    /// The step's delta document (JSON, format owned by the graph engine).
    #[sqlx(json)]
    pub delta: Value,
    /// When the row was written.
    pub created_at: DateTime<Utc>,
}

/// A thread's summary: its latest step and when it was written.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct GraphThreadSummary {
    /// The thread id.
    pub thread_id: String,
    /// Its latest step number.
    pub last_step: i64,
    /// When the latest step was written.
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// Appends checkpoint `step` to thread `(org, thread)` (`created_at`
    /// now). A step that already exists is [`StoreError::Conflict`] (another
    /// run advanced the thread concurrently).
    pub async fn append_graph_checkpoint(
        &self,
        org: Uuid,
        thread: &str,
        step: i64,
        parent_step: Option<i64>,
        node: &str,
        delta: &Value,
    ) -> Result<(), StoreError> {
        let op = "append a graph checkpoint";
        let what = || format!("step {step} of thread {thread:?}");
        dispatch!(self, |pool| {
            sqlx::query(
                "INSERT INTO graph_checkpoints \
                 (organization_id, thread_id, step, parent_step, node, delta, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(org)
            .bind(thread)
            .bind(step)
            .bind(parent_step)
            .bind(node)
            .bind(Json(delta))
            .bind(now())
            .execute(pool)
            .await
            .map_err(StoreError::db_or_conflict(op, what))?;
        });
        Ok(())
    }

    /// All checkpoint rows of thread `(org, thread)`, oldest step first
    /// (empty for an unknown thread or another organization's).
    pub async fn graph_checkpoints(
        &self,
        org: Uuid,
        thread: &str,
    ) -> Result<Vec<GraphCheckpointRow>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, GraphCheckpointRow>(
                "SELECT step, parent_step, node, delta, created_at FROM graph_checkpoints \
                 WHERE organization_id = $1 AND thread_id = $2 ORDER BY step",
            )
            .bind(org)
            .bind(thread)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("load graph checkpoints"))
        })
    }

    /// The threads of `org`, most recently updated first, at most `limit`.
    pub async fn graph_threads(
        &self,
        org: Uuid,
        limit: u32,
    ) -> Result<Vec<GraphThreadSummary>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, GraphThreadSummary>(
                "SELECT thread_id, MAX(step) AS last_step, MAX(created_at) AS updated_at \
                 FROM graph_checkpoints WHERE organization_id = $1 GROUP BY thread_id \
                 ORDER BY MAX(created_at) DESC, thread_id LIMIT $2",
            )
            .bind(org)
            .bind(super::sql_int(limit))
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("list graph threads"))
        })
    }

    /// Replaces every step `<= step` of thread `(org, thread)` by one row at
    /// `step` carrying `delta` (a snapshot), in one transaction. Later steps
    /// are kept.
    pub async fn compact_graph_thread(
        &self,
        org: Uuid,
        thread: &str,
        step: i64,
        node: &str,
        delta: &Value,
    ) -> Result<(), StoreError> {
        let op = "compact a graph thread";
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await.map_err(StoreError::db(op))?;
            sqlx::query(
                "DELETE FROM graph_checkpoints \
                 WHERE organization_id = $1 AND thread_id = $2 AND step <= $3",
            )
            .bind(org)
            .bind(thread)
            .bind(step)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db(op))?;
            sqlx::query(
                "INSERT INTO graph_checkpoints \
                 (organization_id, thread_id, step, parent_step, node, delta, created_at) \
                 VALUES ($1, $2, $3, NULL, $4, $5, $6)",
            )
            .bind(org)
            .bind(thread)
            .bind(step)
            .bind(node)
            .bind(Json(delta))
            .bind(now())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db(op))?;
            tx.commit().await.map_err(StoreError::db(op))?;
        });
        Ok(())
    }

    /// Deletes thread `(org, thread)`; whether it existed.
    pub async fn delete_graph_thread(&self, org: Uuid, thread: &str) -> Result<bool, StoreError> {
        let result = dispatch!(self, |pool| {
            sqlx::query(
                "DELETE FROM graph_checkpoints WHERE organization_id = $1 AND thread_id = $2",
            )
            .bind(org)
            .bind(thread)
            .execute(pool)
            .await
            .map_err(StoreError::db("delete a graph thread"))?
            .rows_affected()
        });
        Ok(result > 0)
    }

    /// Deletes every thread (of every organization) whose latest checkpoint
    /// was written before `cutoff`; returns how many threads were deleted.
    pub async fn prune_graph_threads(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let op = "prune graph threads";
        let threads = dispatch!(self, |pool| {
            let mut tx = pool.begin().await.map_err(StoreError::db(op))?;
            let stale: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM (SELECT organization_id, thread_id FROM graph_checkpoints \
                 GROUP BY organization_id, thread_id HAVING MAX(created_at) < $1) AS stale",
            )
            .bind(cutoff)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::db(op))?;
            sqlx::query(
                "DELETE FROM graph_checkpoints WHERE (organization_id, thread_id) IN \
                 (SELECT organization_id, thread_id FROM graph_checkpoints \
                  GROUP BY organization_id, thread_id HAVING MAX(created_at) < $1)",
            )
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db(op))?;
            tx.commit().await.map_err(StoreError::db(op))?;
            stale
        });
        Ok(u64::try_from(threads).unwrap_or(0))
    }
}
