//! AIMA's vector store: embedded [Qdrant Edge] shards, one per collection
//! and vector dimension, under a directory of the data directory.
//!
//! A [`Collection`] holds points (a UUID, a dense `f32` vector, a JSON
//! payload) in *partitions*: every point carries its partition's key and
//! value in its payload (for AIMA, `organization_id = <uuid>`), every
//! replacement and every search is confined to one partition, so one
//! organization never sees another's points.
//!
//! - [`Collection::replace`] swaps a partition's whole content (delete by
//!   filter, then upsert) and records the partition's *version* (a caller's
//!   label, e.g. the model run the vectors came from) in `versions.json`
//!   beside the shard, so a caller can tell a stale index from a current one
//!   and rebuild it from its system of record.
//! - [`Collection::search`] returns the nearest points by cosine similarity,
//!   highest first, filtered by payload equality, an allow-list and a
//!   deny-list of ids. The search is exact (Qdrant's full scan over the
//!   partition), so its results equal a brute-force computation.
//!
//! A shard belongs to one process at a time: [`Collection::open`] takes an
//! exclusive advisory lock on `<name>-<dim>d.lock` and answers
//! [`VectorError::Busy`] while another process holds it (the caller then
//! answers from its own exact scan). Every method is blocking (disk I/O):
//! call it from `spawn_blocking` in async code.
//!
//! [`VectorIndex`] is the contract callers program against. It has two
//! backends:
//! - [`Collection`], the embedded Qdrant Edge shard described above (the
//!   default);
//! - [`ServerCollection`], a collection on a Qdrant server reached over gRPC
//!   (qdrant-client), for deployments that run one. It stores partitions
//!   the same way (payload key, delete-by-filter then upsert, exact search)
//!   and keeps partition versions in a second collection on the server
//!   (`<collection>-versions`), so every process using the server shares
//!   them. There is no lock: the server serializes writes.
//!
//! With the `testing` feature, [`testing::FakeQdrant`] serves the subset of
//! Qdrant's gRPC API the server backend uses, in process, for tests.
//!
//! [Qdrant Edge]: https://qdrant.tech/documentation/edge/

mod edge;
mod server;
#[cfg(feature = "testing")]
pub mod testing;

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};
use uuid::Uuid;

pub use edge::Collection;
pub use server::{CONNECT_TIMEOUT, ServerCollection, ServerConfig};

/// Why a vector store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    /// Another process holds the collection's lock.
    #[error("the vector collection at {path} is in use by another process")]
    Busy {
        /// The lock file.
        path: PathBuf,
    },
    /// A file or directory of the collection could not be read or written.
    #[error("vector store I/O on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A vector does not have the collection's dimension.
    #[error("point {id}: vector of {got} dimensions in a collection of {expected}")]
    Dimension {
        /// The point (or the nil UUID for a query vector).
        id: Uuid,
        /// The collection's dimension.
        expected: usize,
        /// The vector's length.
        got: usize,
    },
    /// A payload value that cannot be matched on (only strings, integers and
    /// booleans can).
    #[error("payload field {field:?}: {value} cannot be matched on")]
    Unmatchable {
        /// The payload key.
        field: String,
        /// The value.
        value: Value,
    },
    /// A payload key that is not a valid field name.
    #[error("{field:?} is not a valid payload field name")]
    InvalidField {
        /// The key.
        field: String,
    },
    /// A Qdrant server could not be reached or answered with an error.
    #[error("qdrant server at {url}: {message}")]
    Server {
        /// The server's URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// Qdrant Edge reported an error (or panicked).
    #[error("qdrant edge: {message}")]
    Engine {
        /// Qdrant's message.
        message: String,
    },
}

/// Where a vector store's collections live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VectorBackend {
    /// Embedded Qdrant Edge shards under this directory ([`Collection`]).
    Embedded(PathBuf),
    /// Collections on a Qdrant server ([`ServerCollection`]).
    Server(ServerConfig),
}

impl VectorBackend {
    /// Opens (creating when new) collection `name` of `dimension`-long
    /// vectors on this backend. Blocks.
    ///
    /// # Errors
    /// As [`Collection::open`] or [`ServerCollection::connect`].
    pub fn open(&self, name: &str, dimension: usize) -> Result<Arc<dyn VectorIndex>, VectorError> {
        Ok(match self {
            VectorBackend::Embedded(root) => Arc::new(Collection::open(root, name, dimension)?),
            VectorBackend::Server(config) => {
                Arc::new(ServerCollection::connect(config, name, dimension)?)
            }
        })
    }
}

/// Points written per update operation.
const UPSERT_CHUNK: usize = 1024;

/// Checks that `vector` (of point `id`, nil for a query) has `expected`
/// dimensions.
fn check_dimension(expected: usize, id: Uuid, vector: &[f32]) -> Result<(), VectorError> {
    if vector.len() == expected {
        Ok(())
    } else {
        Err(VectorError::Dimension {
            id,
            expected,
            got: vector.len(),
        })
    }
}

/// The payload value a search may match on: a string, an integer or a
/// boolean.
#[derive(Debug, Clone, PartialEq)]
enum MatchValue {
    Text(String),
    Integer(i64),
    Flag(bool),
}

impl MatchValue {
    fn of(field: &str, value: &Value) -> Result<MatchValue, VectorError> {
        match value {
            Value::String(s) => Ok(MatchValue::Text(s.clone())),
            Value::Bool(b) => Ok(MatchValue::Flag(*b)),
            Value::Number(n) if n.is_i64() => {
                Ok(MatchValue::Integer(n.as_i64().unwrap_or_default()))
            }
            other => Err(VectorError::Unmatchable {
                field: field.to_owned(),
                value: other.clone(),
            }),
        }
    }
}

/// `points` in chunks of [`UPSERT_CHUNK`], each point's payload carrying
/// its partition's key and value.
fn partitioned_chunks(
    partition: &Partition,
    points: Vec<VectorPoint>,
) -> impl Iterator<Item = Vec<VectorPoint>> + '_ {
    let mut points = points.into_iter().map(move |mut p| {
        p.payload.insert(
            partition.key.clone(),
            Value::String(partition.value.clone()),
        );
        p
    });
    std::iter::from_fn(move || {
        let chunk: Vec<VectorPoint> = points.by_ref().take(UPSERT_CHUNK).collect();
        (!chunk.is_empty()).then_some(chunk)
    })
}

/// Cosine similarity of `a` and `b` over their common length, in `f64`,
/// clamped to -1..1; 0 when either has zero norm.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
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

/// Sorts hits most similar first, ties by id.
fn rank(hits: &mut [Hit]) {
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
}

/// The partition a point belongs to: payload `key` equals `value`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Partition {
    /// The payload key, e.g. `organization_id`.
    pub key: String,
    /// Its value, e.g. an organization's UUID.
    pub value: String,
}

impl Partition {
    /// The partition `key = value`.
    pub fn new(key: &str, value: impl std::fmt::Display) -> Partition {
        Partition {
            key: key.to_owned(),
            value: value.to_string(),
        }
    }

    /// `key=value`: the partition's name in version records.
    fn label(&self) -> String {
        format!("{}={}", self.key, self.value)
    }
}

/// A point to store: its id, vector and payload (the partition's key is
/// added to the payload by [`VectorIndex::replace`]).
#[derive(Debug, Clone, PartialEq)]
pub struct VectorPoint {
    /// The point's id (unique in the collection).
    pub id: Uuid,
    /// The vector; its length must be the collection's dimension.
    pub vector: Vec<f32>,
    /// Payload fields (strings, numbers, booleans) to filter on.
    pub payload: Map<String, Value>,
}

/// A nearest-neighbour search in one partition.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// The query vector (the collection's dimension).
    pub vector: Vec<f32>,
    /// At most this many hits.
    pub limit: usize,
    /// Only points whose payload field equals the value (string, integer or
    /// boolean), all of them.
    pub equals: Vec<(String, Value)>,
    /// Only these points, when set.
    pub only: Option<Vec<Uuid>>,
    /// Never these points.
    pub except: Vec<Uuid>,
}

/// A point found by [`VectorIndex::search`].
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The point.
    pub id: Uuid,
    /// Cosine similarity to the query, -1 to 1.
    pub score: f32,
    /// The point's payload.
    pub payload: Map<String, Value>,
}

/// The operations AIMA needs of a vector store; [`Collection`] (embedded
/// Qdrant Edge) and [`ServerCollection`] (a Qdrant server) implement them.
/// Every method blocks.
pub trait VectorIndex: Send + Sync {
    /// The vectors' dimension.
    fn dimension(&self) -> usize;
    /// The version recorded by the last [`VectorIndex::replace`] of
    /// `partition`, if any.
    fn version(&self, partition: &Partition) -> Option<String>;
    /// Replaces every point of `partition` by `points` and records
    /// `version`. On error the partition may be partly written and its
    /// version is cleared, so a caller sees it as stale.
    fn replace(
        &self,
        partition: &Partition,
        version: &str,
        points: Vec<VectorPoint>,
    ) -> Result<(), VectorError>;
    /// The nearest points of `partition` to `query.vector`, most similar
    /// first (ties by id).
    fn search(&self, partition: &Partition, query: &SearchQuery) -> Result<Vec<Hit>, VectorError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_known_pairs() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-12);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-12);
        assert!((cosine(&[1.0, 1.0], &[-1.0, -1.0]) + 1.0).abs() < 1e-12);
        assert!((cosine(&[1.0, 1.0], &[1.0, 0.0]) - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-9);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn chunks_carry_the_partition_key_and_split_at_the_chunk_size() {
        let partition = Partition::new("organization_id", "a");
        let points: Vec<VectorPoint> = (0..UPSERT_CHUNK + 3)
            .map(|i| VectorPoint {
                id: Uuid::from_u128(i as u128),
                vector: vec![1.0],
                payload: Map::new(),
            })
            .collect();
        let chunks: Vec<Vec<VectorPoint>> = partitioned_chunks(&partition, points).collect();
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![UPSERT_CHUNK, 3]
        );
        assert!(
            chunks
                .iter()
                .flatten()
                .all(|p| p.payload["organization_id"] == Value::String("a".into()))
        );
        assert_eq!(partitioned_chunks(&partition, Vec::new()).count(), 0);
    }
}
