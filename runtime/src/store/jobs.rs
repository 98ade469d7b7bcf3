//! Jobs, the model registry and alerts.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::{
    Alert, Job, JobStatus, ModelRecord, NewAlert, Store, StoreError, dispatch, now, sql_int,
};

impl Store {
    /// Records the start of a job (status `running`, `started_at` now) and
    /// returns its id. `org` is `None` for a system-wide job.
    pub async fn start_job(
        &self,
        org: Option<Uuid>,
        kind: &str,
        trigger: &str,
    ) -> Result<Uuid, StoreError> {
        self.insert_job(org, kind, trigger, JobStatus::Running, "start a job")
            .await
    }

    /// Records a job accepted but not started yet (status `queued`,
    /// `started_at` = the acceptance time until [`Store::claim_job`] sets the
    /// real start) and returns its id. `org` is `None` for a system-wide job.
    pub async fn enqueue_job(
        &self,
        org: Option<Uuid>,
        kind: &str,
        trigger: &str,
    ) -> Result<Uuid, StoreError> {
        self.insert_job(org, kind, trigger, JobStatus::Queued, "enqueue a job")
            .await
    }

    async fn insert_job(
        &self,
        org: Option<Uuid>,
        kind: &str,
        trigger: &str,
        status: JobStatus,
        operation: &'static str,
    ) -> Result<Uuid, StoreError> {
        let id = Uuid::now_v7();
        dispatch!(self, |pool| {
            sqlx::query(
                "INSERT INTO jobs (id, organization_id, kind, status, trigger, started_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(org)
            .bind(kind)
            .bind(status.as_str())
            .bind(trigger)
            .bind(now())
            .execute(pool)
            .await
            .map_err(StoreError::db(operation))?;
        });
        Ok(id)
    }

    /// Moves job `id` from `queued` to `running` (`started_at` now). Returns
    /// `false`, changing nothing, when the job is not queued (already claimed,
    /// finished, or unknown): of several claimants exactly one gets `true`.
    pub async fn claim_job(&self, id: Uuid) -> Result<bool, StoreError> {
        let affected = dispatch!(self, |pool| {
            sqlx::query(
                "UPDATE jobs SET started_at = $2, status = $3 WHERE id = $1 AND status = $4",
            )
            .bind(id)
            .bind(now())
            .bind(JobStatus::Running.as_str())
            .bind(JobStatus::Queued.as_str())
            .execute(pool)
            .await
            .map_err(StoreError::db("claim a job"))?
            .rows_affected()
        });
        Ok(affected == 1)
    }

    /// Puts a `running` job back to `queued` (its runner died before it
    /// finished). Returns `false`, changing nothing, when the job is not
    /// running.
    pub async fn requeue_job(&self, id: Uuid) -> Result<bool, StoreError> {
        let affected = dispatch!(self, |pool| {
            sqlx::query("UPDATE jobs SET status = $2 WHERE id = $1 AND status = $3")
                .bind(id)
                .bind(JobStatus::Queued.as_str())
                .bind(JobStatus::Running.as_str())
                .execute(pool)
                .await
                .map_err(StoreError::db("requeue a job"))?
                .rows_affected()
        });
        Ok(affected == 1)
    }

    /// Every job still `queued` or `running` whose kind is one of `kinds`,
    /// oldest first, across all organizations (system-wide included). For the
    /// job runtime's own recovery after a restart, never for answering an
    /// organization's request (use [`Store::list_jobs`]).
    pub async fn unfinished_jobs(&self, kinds: &[&str]) -> Result<Vec<Job>, StoreError> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = (3..kinds.len() + 3)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT id, organization_id, kind, status, trigger, started_at, finished_at, \
             duration_ms, error, details FROM jobs WHERE status IN ($1, $2) \
             AND kind IN ({placeholders}) ORDER BY started_at, id"
        );
        dispatch!(self, |pool| {
            let mut query = sqlx::query_as::<_, Job>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(JobStatus::Queued.as_str())
                .bind(JobStatus::Running.as_str());
            for kind in kinds {
                query = query.bind(*kind);
            }
            query
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list unfinished jobs"))
        })
    }

    /// Job `id`, if it exists. Crosses organizations: for the job runtime,
    /// which knows jobs by id only.
    pub async fn job(&self, id: Uuid) -> Result<Option<Job>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, Job>(
                "SELECT id, organization_id, kind, status, trigger, started_at, finished_at, \
                 duration_ms, error, details FROM jobs WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("read a job"))
        })
    }

    /// Records the end of job `id`: `Ok(details)` marks it `succeeded` with
    /// those details, `Err(message)` marks it `failed` with that error text.
    /// Sets `finished_at` (now) and `duration_ms`. An unknown id is
    /// [`StoreError::NotFound`].
    pub async fn finish_job(
        &self,
        id: Uuid,
        outcome: Result<Value, String>,
    ) -> Result<(), StoreError> {
        let op = "finish a job";
        let started: Option<DateTime<Utc>> = dispatch!(self, |pool| {
            sqlx::query_scalar("SELECT started_at FROM jobs WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db(op))?
        });
        let Some(started) = started else {
            return Err(StoreError::NotFound { entity: "job", id });
        };
        let finished = now();
        let duration_ms = (finished - started).num_milliseconds().max(0);
        let (status, details, error) = match outcome {
            Ok(details) => (JobStatus::Succeeded, Some(details), None),
            Err(message) => (JobStatus::Failed, None, Some(message)),
        };
        dispatch!(self, |pool| {
            sqlx::query(
                "UPDATE jobs SET status = $2, finished_at = $3, duration_ms = $4, error = $5, \
                 details = $6 WHERE id = $1",
            )
            .bind(id)
            .bind(status.as_str())
            .bind(finished)
            .bind(duration_ms)
            .bind(error.as_deref())
            .bind(details.as_ref().map(Json))
            .execute(pool)
            .await
            .map_err(StoreError::db(op))?;
        });
        Ok(())
    }

    /// The latest `limit` jobs, newest first: those of `Some(org)`, or the
    /// system-wide ones for `None` (never another organization's).
    pub async fn list_jobs(&self, org: Option<Uuid>, limit: u32) -> Result<Vec<Job>, StoreError> {
        let op = "list jobs";
        dispatch!(self, |pool| match org {
            Some(org) => sqlx::query_as::<_, Job>(
                "SELECT id, organization_id, kind, status, trigger, started_at, finished_at, \
                 duration_ms, error, details FROM jobs WHERE organization_id = $1 \
                 ORDER BY started_at DESC, id DESC LIMIT $2",
            )
            .bind(org)
            .bind(sql_int(limit))
            .fetch_all(pool)
            .await
            .map_err(StoreError::db(op)),
            None => sqlx::query_as::<_, Job>(
                "SELECT id, organization_id, kind, status, trigger, started_at, finished_at, \
                 duration_ms, error, details FROM jobs WHERE organization_id IS NULL \
                 ORDER BY started_at DESC, id DESC LIMIT $1",
            )
            .bind(sql_int(limit))
            .fetch_all(pool)
            .await
            .map_err(StoreError::db(op)),
        })
    }

    /// Registers a trained model version (`trained_at` now) and returns its
    /// id. `(org, model, version)` must be new ([`StoreError::Conflict`]);
    /// `org` is `None` for a model shared by all organizations.
    pub async fn register_model(
        &self,
        org: Option<Uuid>,
        model: &str,
        version: &str,
        metrics: Value,
        artifact_path: Option<&str>,
    ) -> Result<Uuid, StoreError> {
        let id = Uuid::now_v7();
        dispatch!(self, |pool| {
            sqlx::query(
                "INSERT INTO model_registry (id, organization_id, model, version, metrics, \
                 artifact_path, trained_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(org)
            .bind(model)
            .bind(version)
            .bind(Json(&metrics))
            .bind(artifact_path)
            .bind(now())
            .execute(pool)
            .await
            .map_err(StoreError::db_or_conflict("register a model", || {
                format!("model {model:?} version {version:?}")
            }))?;
        });
        Ok(id)
    }

    /// The most recently registered version of `model` for `Some(org)` (or
    /// the shared one for `None`), if any.
    pub async fn latest_model(
        &self,
        org: Option<Uuid>,
        model: &str,
    ) -> Result<Option<ModelRecord>, StoreError> {
        let op = "read the latest model";
        dispatch!(self, |pool| match org {
            Some(org) => sqlx::query_as::<_, ModelRecord>(
                "SELECT id, organization_id, model, version, metrics, artifact_path, trained_at \
                 FROM model_registry WHERE organization_id = $1 AND model = $2 \
                 ORDER BY trained_at DESC, id DESC LIMIT 1",
            )
            .bind(org)
            .bind(model)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db(op)),
            None => sqlx::query_as::<_, ModelRecord>(
                "SELECT id, organization_id, model, version, metrics, artifact_path, trained_at \
                 FROM model_registry WHERE organization_id IS NULL AND model = $1 \
                 ORDER BY trained_at DESC, id DESC LIMIT 1",
            )
            .bind(model)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db(op)),
        })
    }

    /// Raises an alert in `org` (`created_at` now) and returns it.
    pub async fn create_alert(&self, org: Uuid, alert: NewAlert) -> Result<Alert, StoreError> {
        let row = Alert {
            id: Uuid::now_v7(),
            organization_id: org,
            kind: alert.kind,
            severity: alert.severity,
            customer_id: alert.customer_id,
            title: alert.title,
            details: alert.details,
            created_at: now(),
            acknowledged_at: None,
        };
        dispatch!(self, |pool| {
            sqlx::query(
                "INSERT INTO alerts (id, organization_id, kind, severity, customer_id, title, \
                 details, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(row.id)
            .bind(org)
            .bind(row.kind.as_str())
            .bind(row.severity.as_str())
            .bind(row.customer_id)
            .bind(row.title.as_str())
            .bind(Json(&row.details))
            .bind(row.created_at)
            .execute(pool)
            .await
            .map_err(StoreError::db("create an alert"))?;
        });
        Ok(row)
    }

    /// The latest `limit` alerts of `org`, newest first.
    pub async fn list_alerts(&self, org: Uuid, limit: u32) -> Result<Vec<Alert>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, Alert>(
                "SELECT id, organization_id, kind, severity, customer_id, title, details, \
                 created_at, acknowledged_at FROM alerts WHERE organization_id = $1 \
                 ORDER BY created_at DESC, id DESC LIMIT $2",
            )
            .bind(org)
            .bind(sql_int(limit))
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("list alerts"))
        })
    }
}

/// Trained weights stored with a model registry entry
/// ([`Store::save_model_artifact`]).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ModelArtifact {
    /// The registry entry the weights belong to.
    #[sqlx(flatten)]
    pub model: ModelRecord,
    /// How the bytes are encoded (e.g. `safetensors`, or a caller's name for
    /// a JSON envelope around safetensors).
    pub format: String,
    /// The weights.
    pub bytes: Vec<u8>,
}

impl Store {
    /// Stores `bytes` (encoded as `format`) as the weights of the registry
    /// entry `model_id` of `org`, replacing any weights it already had, and
    /// deletes the weights of the organization's other entries of the same
    /// model name: only the latest weights of a model are kept (their
    /// registry rows and metrics stay). One transaction.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (entity `model`) when `model_id` is not a
    /// registry entry of `org`; [`StoreError::Database`].
    pub async fn save_model_artifact(
        &self,
        org: Uuid,
        model_id: Uuid,
        format: &str,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let op = "save a model artifact";
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await.map_err(StoreError::db(op))?;
            let inserted = sqlx::query(
                "INSERT INTO model_artifacts (model_id, organization_id, format, bytes, \
                 created_at) SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM \
                 model_registry WHERE id = $1 AND organization_id = $2) \
                 ON CONFLICT (model_id) DO UPDATE SET format = excluded.format, \
                 bytes = excluded.bytes, created_at = excluded.created_at",
            )
            .bind(model_id)
            .bind(org)
            .bind(format)
            .bind(bytes)
            .bind(now())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db(op))?
            .rows_affected();
            if inserted == 0 {
                return Err(StoreError::NotFound {
                    entity: "model",
                    id: model_id,
                });
            }
            sqlx::query(
                "DELETE FROM model_artifacts WHERE organization_id = $1 AND model_id <> $2 \
                 AND model_id IN (SELECT id FROM model_registry WHERE organization_id = $1 \
                 AND model = (SELECT model FROM model_registry WHERE id = $2))",
            )
            .bind(org)
            .bind(model_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db(op))?;
            tx.commit().await.map_err(StoreError::db(op))?;
        });
        Ok(())
    }

    /// The weights stored with the registry entry `model_id` of `org`, if
    /// any (never another organization's).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn load_model_artifact(
        &self,
        org: Uuid,
        model_id: Uuid,
    ) -> Result<Option<ModelArtifact>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, ModelArtifact>(
                "SELECT r.id, r.organization_id, r.model, r.version, r.metrics, \
                 r.artifact_path, r.trained_at, a.format, a.bytes FROM model_artifacts a \
                 JOIN model_registry r ON r.id = a.model_id \
                 WHERE a.model_id = $1 AND a.organization_id = $2",
            )
            .bind(model_id)
            .bind(org)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("load a model artifact"))
        })
    }

    /// The most recently registered entry of `model` for `org` that has
    /// stored weights, with them; `None` when no entry has any.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn latest_model_artifact(
        &self,
        org: Uuid,
        model: &str,
    ) -> Result<Option<ModelArtifact>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, ModelArtifact>(
                "SELECT r.id, r.organization_id, r.model, r.version, r.metrics, \
                 r.artifact_path, r.trained_at, a.format, a.bytes FROM model_registry r \
                 JOIN model_artifacts a ON a.model_id = r.id \
                 WHERE r.organization_id = $1 AND r.model = $2 \
                 ORDER BY r.trained_at DESC, r.id DESC LIMIT 1",
            )
            .bind(org)
            .bind(model)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("load the latest model artifact"))
        })
    }
}
