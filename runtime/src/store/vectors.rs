//! The vector store of customer fingerprints (M1).
//!
//! Each customer of an organization has at most one fingerprint: the
//! embedding of their behaviour from the latest fingerprint run (a vector of
//! `f32`, stored as little-endian bytes in `customer_fingerprints.vector`),
//! the version label of the model that computed it, and its cluster label
//! (`None` = noise). The database table is the record.
//!
//! Nearest neighbours come from a vector index (`aima_vectors`) when the
//! store has one ([`Store::with_vector_index`]: `aima` attaches the embedded
//! Qdrant Edge index under `<data_dir>/vectors`, or a Qdrant server when
//! `qdrant_url` is set): one partition per organization,
//! payload filters for the cluster, an id allow-list for a segment's
//! members. The index is derived from the table: each organization's
//! partition is labelled with the table's version of its fingerprints
//! (model version, run time, count), rewritten after every
//! [`Store::replace_fingerprints`] and rebuilt from the table whenever a
//! search finds the label stale (e.g. another process wrote a run). Without
//! an index, or while it is unavailable (another process holds it, or it
//! fails), the same answer comes from an exact scan of the table. Both are
//! exact cosine similarity.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aima_vectors::{
    Partition, SearchQuery, VectorBackend, VectorError, VectorIndex, VectorPoint, cosine,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use uuid::Uuid;

use super::{Store, StoreError, dispatch, rows_per_statement, values_sql};

/// One fingerprint to store with [`Store::replace_fingerprints`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewFingerprint {
    /// The customer (must belong to the organization).
    pub customer_id: Uuid,
    /// The embedding (any length; all vectors of one run should share it).
    pub vector: Vec<f32>,
    /// Cluster label of the run, `None` for noise.
    pub cluster: Option<i64>,
}

/// A stored fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredFingerprint {
    /// The customer.
    pub customer_id: Uuid,
    /// Version label of the model that computed it.
    pub model_version: String,
    /// The embedding.
    pub vector: Vec<f32>,
    /// Cluster label, `None` for noise.
    pub cluster: Option<i64>,
    /// When the run that computed it happened.
    pub computed_at: DateTime<Utc>,
}

/// Restricts the candidates of [`Store::nearest_fingerprints`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NeighbourFilter {
    /// Only customers currently in a segment of this name (any kind, e.g. an
    /// RFM persona key such as `champions`).
    pub segment: Option<String>,
    /// Only customers of this cluster label.
    pub cluster: Option<i64>,
}

/// A neighbour found by [`Store::nearest_fingerprints`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Neighbour {
    /// The neighbouring customer.
    pub customer_id: Uuid,
    /// Cosine similarity to the query customer's vector, -1 to 1 (0 when
    /// either vector is all zeros).
    pub similarity: f64,
    /// The neighbour's cluster label, `None` for noise.
    pub cluster: Option<i64>,
}

/// Encodes a vector as little-endian `f32` bytes.
fn encode(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Decodes little-endian `f32` bytes.
fn decode(bytes: &[u8]) -> Result<Vec<f32>, StoreError> {
    if !bytes.len().is_multiple_of(4) {
        return Err(StoreError::InvalidData {
            field: "customer_fingerprints.vector",
            reason: format!("{} bytes is not a whole number of f32", bytes.len()),
        });
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// (customer, model version, vector bytes, cluster, computed_at).
type FingerprintRow = (Uuid, String, Vec<u8>, Option<i64>, DateTime<Utc>);

fn stored(row: FingerprintRow) -> Result<StoredFingerprint, StoreError> {
    let (customer_id, model_version, bytes, cluster, computed_at) = row;
    Ok(StoredFingerprint {
        customer_id,
        model_version,
        vector: decode(&bytes)?,
        cluster,
        computed_at,
    })
}

/// The collection name of fingerprints in the vector index.
const FINGERPRINTS: &str = "fingerprints";
/// The payload key of the partition (one per organization).
const ORG_KEY: &str = "organization_id";
/// The payload key of a fingerprint's cluster label.
const CLUSTER_KEY: &str = "cluster";

/// The vector index's backend and its open collections (one per vector
/// dimension).
pub(crate) struct VectorIndexes {
    backend: VectorBackend,
    open: Mutex<HashMap<usize, Arc<dyn VectorIndex>>>,
}

impl std::fmt::Debug for VectorIndexes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorIndexes")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl VectorIndexes {
    /// The fingerprint collection of `dimension`-long vectors, opened on
    /// first use and kept open (an embedded one is so held by this process)
    /// from then on.
    async fn collection(&self, dimension: usize) -> Result<Arc<dyn VectorIndex>, VectorError> {
        if let Some(c) = self.lock().get(&dimension) {
            return Ok(c.clone());
        }
        let backend = self.backend.clone();
        let opened = blocking(move || backend.open(FINGERPRINTS, dimension)).await?;
        Ok(self.lock().entry(dimension).or_insert(opened).clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<usize, Arc<dyn VectorIndex>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs blocking index work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, VectorError> + Send + 'static,
) -> Result<T, VectorError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| VectorError::Engine {
            message: e.to_string(),
        })?
}

impl Store {
    /// This store with a vector index on `backend` (collections created on
    /// first use): fingerprint searches use it instead of scanning the
    /// table. An embedded index is held by the first process that searches
    /// or runs with it; another process using the same directory meanwhile
    /// scans the table. A server index is shared by every process using
    /// the server; while the server cannot be reached, searches scan the
    /// table.
    pub fn with_vector_index(mut self, backend: VectorBackend) -> Store {
        self.vectors = Some(Arc::new(VectorIndexes {
            backend,
            open: Mutex::new(HashMap::new()),
        }));
        self
    }

    /// Whether the vector index can be used now for `dimension`-long
    /// vectors: opens (creating when new) its collection. `Ok(false)` when
    /// the store has no index.
    ///
    /// # Errors
    /// The index's error (e.g. a Qdrant server that cannot be reached, or
    /// an embedded index held by another process).
    pub async fn check_vector_index(&self, dimension: usize) -> Result<bool, VectorError> {
        match &self.vectors {
            Some(indexes) => indexes.collection(dimension).await.map(|_| true),
            None => Ok(false),
        }
    }

    /// The table's version of `org`'s fingerprints (model version, run time
    /// and count), `None` when it has none.
    async fn fingerprint_version(&self, org: Uuid) -> Result<Option<String>, StoreError> {
        let row: Option<(String, DateTime<Utc>, i64)> = dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT model_version, MAX(computed_at), COUNT(*) FROM customer_fingerprints                  WHERE organization_id = $1 GROUP BY model_version                  ORDER BY MAX(computed_at) DESC LIMIT 1",
            )
            .bind(org)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("read the fingerprints' version"))
        })?;
        Ok(row.map(|(model, at, n)| format!("{model}|{}|{n}", at.to_rfc3339())))
    }

    /// The index's collection for `dimension` with `org`'s partition current
    /// (rebuilt from the table when its label is stale). `Ok(None)` when the
    /// store has no index.
    async fn synced_index(
        &self,
        org: Uuid,
        dimension: usize,
    ) -> Result<Option<Arc<dyn VectorIndex>>, IndexFailure> {
        let Some(dir) = &self.vectors else {
            return Ok(None);
        };
        let collection = dir.collection(dimension).await?;
        let partition = Partition::new(ORG_KEY, org);
        let version = self.fingerprint_version(org).await?.unwrap_or_default();
        let (c, p) = (collection.clone(), partition.clone());
        let indexed = blocking(move || Ok(c.version(&p))).await?;
        if indexed.as_deref() != Some(version.as_str()) {
            let points: Vec<VectorPoint> = self
                .fingerprints(org)
                .await?
                .into_iter()
                .filter(|f| f.vector.len() == dimension)
                .map(|f| {
                    let mut payload = serde_json::Map::new();
                    if let Some(cluster) = f.cluster {
                        payload.insert(CLUSTER_KEY.to_owned(), cluster.into());
                    }
                    VectorPoint {
                        id: f.customer_id,
                        vector: f.vector,
                        payload,
                    }
                })
                .collect();
            let c = collection.clone();
            blocking(move || c.replace(&partition, &version, points)).await?;
        }
        Ok(Some(collection))
    }

    /// The customers of `org` currently in a segment named `name` (any kind).
    async fn segment_customers(&self, org: Uuid, name: &str) -> Result<Vec<Uuid>, StoreError> {
        let rows: Vec<(Uuid,)> = dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT DISTINCT m.customer_id FROM segment_memberships m                  JOIN segments s ON s.id = m.segment_id                  WHERE m.organization_id = $1 AND m.left_at IS NULL AND s.name = $2",
            )
            .bind(org)
            .bind(name)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("read a segment's customers"))
        })?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// [`Store::nearest_fingerprints`] through the index; `Ok(None)` when
    /// the store has none.
    async fn indexed_neighbours(
        &self,
        org: Uuid,
        query: &StoredFingerprint,
        k: usize,
        filter: &NeighbourFilter,
    ) -> Result<Option<Vec<Neighbour>>, IndexFailure> {
        let Some(collection) = self.synced_index(org, query.vector.len()).await? else {
            return Ok(None);
        };
        let only = match &filter.segment {
            Some(name) => Some(self.segment_customers(org, name).await?),
            None => None,
        };
        let search = SearchQuery {
            vector: query.vector.clone(),
            limit: k,
            equals: filter
                .cluster
                .map(|c| vec![(CLUSTER_KEY.to_owned(), c.into())])
                .unwrap_or_default(),
            only,
            except: vec![query.customer_id],
        };
        let partition = Partition::new(ORG_KEY, org);
        let hits = blocking(move || collection.search(&partition, &search)).await?;
        Ok(Some(
            hits.into_iter()
                .map(|h| Neighbour {
                    customer_id: h.id,
                    similarity: f64::from(h.score),
                    cluster: h
                        .payload
                        .get(CLUSTER_KEY)
                        .and_then(serde_json::Value::as_i64),
                })
                .collect(),
        ))
    }
}

/// Why an indexed search did not answer: the index failed (held by another
/// process, or broken: the exact scan answers instead, correct but slower),
/// or the database did (the search fails).
#[derive(Debug)]
enum IndexFailure {
    Index,
    Store(StoreError),
}

impl From<VectorError> for IndexFailure {
    fn from(_: VectorError) -> Self {
        IndexFailure::Index
    }
}

impl From<StoreError> for IndexFailure {
    fn from(e: StoreError) -> Self {
        IndexFailure::Store(e)
    }
}

impl Store {
    /// Replaces every stored fingerprint of `org` by `rows`, all stamped with
    /// `model_version` and `computed_at`, in one transaction. Returns the
    /// number of rows written. Every customer must belong to `org` (a
    /// foreign key) and appear once (the primary key).
    ///
    /// # Errors
    /// [`StoreError::Database`] (the old rows stay on failure).
    pub async fn replace_fingerprints(
        &self,
        org: Uuid,
        model_version: &str,
        computed_at: DateTime<Utc>,
        rows: &[NewFingerprint],
    ) -> Result<u64, StoreError> {
        let op = "replace fingerprints";
        let backend = self.backend();
        let per = rows_per_statement(backend, 6);
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await.map_err(StoreError::db(op))?;
            sqlx::query("DELETE FROM customer_fingerprints WHERE organization_id = $1")
                .bind(org)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db(op))?;
            for chunk in rows.chunks(per) {
                let sql = values_sql(
                    backend,
                    "INSERT INTO customer_fingerprints (organization_id, customer_id, \
                     model_version, vector, cluster, computed_at)",
                    6,
                    chunk.len(),
                    "",
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for r in chunk {
                    q = q
                        .bind(org)
                        .bind(r.customer_id)
                        .bind(model_version)
                        .bind(encode(&r.vector))
                        .bind(r.cluster)
                        .bind(computed_at);
                }
                q.execute(&mut *tx).await.map_err(StoreError::db(op))?;
            }
            tx.commit().await.map_err(StoreError::db(op))?;
        });
        // The index follows the table; a failure here is repaired by the
        // next search, which finds the partition's label stale.
        if let Some(dimension) = rows.first().map(|r| r.vector.len()) {
            let _ = self.synced_index(org, dimension).await;
        }
        Ok(rows.len() as u64)
    }

    /// Every stored fingerprint of `org`, by customer id; empty if no run
    /// stored any.
    ///
    /// # Errors
    /// [`StoreError::Database`]; [`StoreError::InvalidData`] for a vector
    /// whose byte length is not a multiple of 4.
    pub async fn fingerprints(&self, org: Uuid) -> Result<Vec<StoredFingerprint>, StoreError> {
        let rows: Vec<FingerprintRow> = dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT customer_id, model_version, vector, cluster, computed_at \
                 FROM customer_fingerprints WHERE organization_id = $1 ORDER BY customer_id",
            )
            .bind(org)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("read fingerprints"))
        })?;
        rows.into_iter().map(stored).collect()
    }

    /// The stored fingerprint of `customer` in `org`, if any.
    ///
    /// # Errors
    /// As [`Store::fingerprints`].
    pub async fn fingerprint_of(
        &self,
        org: Uuid,
        customer: Uuid,
    ) -> Result<Option<StoredFingerprint>, StoreError> {
        let row: Option<FingerprintRow> = dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT customer_id, model_version, vector, cluster, computed_at \
                 FROM customer_fingerprints WHERE organization_id = $1 AND customer_id = $2",
            )
            .bind(org)
            .bind(customer)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("read a fingerprint"))
        })?;
        row.map(stored).transpose()
    }

    /// The `k` customers of `org` whose fingerprints are most similar
    /// (cosine) to `customer`'s, most similar first (ties by customer id),
    /// the customer itself excluded, restricted by `filter`. Exact: every
    /// candidate vector of the organization is compared, in the vector index
    /// when the store has one and it is available, else in the table.
    /// `Ok(None)` when `customer` has no fingerprint in `org`.
    ///
    /// # Errors
    /// As [`Store::fingerprints`].
    pub async fn nearest_fingerprints(
        &self,
        org: Uuid,
        customer: Uuid,
        k: usize,
        filter: &NeighbourFilter,
    ) -> Result<Option<Vec<Neighbour>>, StoreError> {
        let Some(query) = self.fingerprint_of(org, customer).await? else {
            return Ok(None);
        };
        match self.indexed_neighbours(org, &query, k, filter).await {
            Ok(Some(found)) => return Ok(Some(found)),
            Ok(None) | Err(IndexFailure::Index) => {}
            Err(IndexFailure::Store(e)) => return Err(e),
        }
        let rows: Vec<(Uuid, Vec<u8>, Option<i64>)> = dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT f.customer_id, f.vector, f.cluster FROM customer_fingerprints f \
                 WHERE f.organization_id = $1 AND f.customer_id <> $2 \
                 AND ($3 IS NULL OR f.cluster = $3) \
                 AND ($4 IS NULL OR EXISTS (SELECT 1 FROM segment_memberships m \
                 JOIN segments s ON s.id = m.segment_id \
                 WHERE m.organization_id = $1 AND m.customer_id = f.customer_id \
                 AND m.left_at IS NULL AND s.name = $4))",
            )
            .bind(org)
            .bind(customer)
            .bind(filter.cluster)
            .bind(filter.segment.as_deref())
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("search fingerprints"))
        })?;
        let mut found = Vec::with_capacity(rows.len());
        for (customer_id, bytes, cluster) in rows {
            let vector = decode(&bytes)?;
            found.push(Neighbour {
                customer_id,
                similarity: cosine(&query.vector, &vector),
                cluster,
            });
        }
        found.sort_by(|a, b| {
            b.similarity
                .total_cmp(&a.similarity)
                .then(a.customer_id.cmp(&b.customer_id))
        });
        found.truncate(k);
        Ok(Some(found))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_through_bytes() {
        let v = vec![1.5f32, -0.25, 0.0, f32::MAX];
        assert_eq!(decode(&encode(&v)).unwrap(), v);
        assert!(decode(&[0, 1, 2]).is_err());
    }
}
