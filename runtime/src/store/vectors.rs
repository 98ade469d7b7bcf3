//! The embedded vector store of customer fingerprints (M1).
//!
//! Each customer of an organization has at most one fingerprint: the
//! embedding of their behaviour from the latest fingerprint run (a vector of
//! `f32`, stored as little-endian bytes in `customer_fingerprints.vector`),
//! the version label of the model that computed it, and its cluster label
//! (`None` = noise). Nearest neighbours are found by exact brute force over
//! the organization's vectors (cosine similarity), which is fast enough for
//! the tens of thousands of customers one organization holds.
//!
//! This is the vector store for now. Qdrant Edge (embedded) was considered
//! and left out: it builds about 340 crates. A Qdrant server can come later
//! behind these same methods without changing their callers.

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

/// Cosine similarity of `a` and `b` over their common length, in f64; 0 if
/// either has zero norm.
fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        (dot / (na.sqrt() * nb.sqrt())).clamp(-1.0, 1.0)
    }
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
    /// candidate vector of the organization is compared. `Ok(None)` when
    /// `customer` has no fingerprint in `org`.
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

    #[test]
    fn cosine_of_known_pairs() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-12);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-12);
        assert!((cosine(&[1.0, 1.0], &[-1.0, -1.0]) + 1.0).abs() < 1e-12);
        assert!((cosine(&[1.0, 1.0], &[1.0, 0.0]) - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-9);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }
}
