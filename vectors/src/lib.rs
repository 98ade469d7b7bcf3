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
//! [`VectorIndex`] is the contract callers program against; the Qdrant Edge
//! [`Collection`] is its embedded backend. A Qdrant server backend
//! (qdrant-client) is not built yet.
//!
//! [Qdrant Edge]: https://qdrant.tech/documentation/edge/

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use qdrant_edge::{
    Condition, DEFAULT_VECTOR_NAME, Distance, EdgeConfigBuilder, EdgeShard,
    EdgeVectorParamsBuilder, FieldCondition, Filter, HasIdCondition, JsonPath, Match, NamedQuery,
    Payload, PointId, PointInsertOperations, PointOperations, PointStructPersisted, QueryEnum,
    QueryRequest, ScoringQuery, SearchParams, UpdateOperation, VectorStructPersisted,
    WithPayloadInterface, WithVector,
};
use serde_json::{Map, Value};
use uuid::Uuid;

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
    /// Qdrant Edge reported an error (or panicked).
    #[error("qdrant edge: {message}")]
    Engine {
        /// Qdrant's message.
        message: String,
    },
}

fn engine(e: impl std::fmt::Display) -> VectorError {
    VectorError::Engine {
        message: e.to_string(),
    }
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

    fn label(&self) -> String {
        format!("{}={}", self.key, self.value)
    }

    fn condition(&self) -> Result<Condition, VectorError> {
        Ok(Condition::Field(FieldCondition::new_match(
            path(&self.key)?,
            Match::from(self.value.clone()),
        )))
    }
}

/// A point to store: its id, vector and payload (the partition's key is
/// added to the payload by [`Collection::replace`]).
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

/// A point found by [`Collection::search`].
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
/// Qdrant Edge) implements them.
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

/// The file beside a shard that records each partition's version.
const VERSIONS_FILE: &str = "versions.json";
/// Points written per update operation.
const UPSERT_CHUNK: usize = 1024;

/// One embedded Qdrant Edge shard of vectors of one dimension (cosine
/// distance), owned by this process while the value lives.
pub struct Collection {
    dir: PathBuf,
    dimension: usize,
    /// Always `Some` until the collection is dropped.
    shard: Mutex<Option<EdgeShard>>,
    versions: Mutex<BTreeMap<String, String>>,
    /// Held for the lock; released when the collection is dropped.
    _lock: File,
}

impl std::fmt::Debug for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collection")
            .field("dir", &self.dir)
            .field("dimension", &self.dimension)
            .finish_non_exhaustive()
    }
}

impl Collection {
    /// Opens (creating when new) collection `name` of `dimension`-long
    /// vectors under `root`: the shard lives in `root/<name>-<dimension>d`.
    ///
    /// # Errors
    /// [`VectorError::Busy`] when another process has it open;
    /// [`VectorError::Io`] when the directory cannot be created or the lock
    /// file opened; [`VectorError::Engine`] when Qdrant cannot load it.
    pub fn open(root: &Path, name: &str, dimension: usize) -> Result<Collection, VectorError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| VectorError::Io { path, source }
        };
        std::fs::create_dir_all(root).map_err(io(root))?;
        let lock_path = root.join(format!("{name}-{dimension}d.lock"));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(VectorError::Busy { path: lock_path }),
            Err(TryLockError::Error(source)) => {
                return Err(VectorError::Io {
                    path: lock_path,
                    source,
                });
            }
        }
        let dir = root.join(format!("{name}-{dimension}d"));
        let config = EdgeConfigBuilder::new()
            .on_disk_payload(false)
            .vector(
                DEFAULT_VECTOR_NAME,
                EdgeVectorParamsBuilder::new(dimension, Distance::Cosine).build(),
            )
            .build();
        let existing = dir.join("edge_config.json").exists();
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let shard = catch(|| {
            if existing {
                EdgeShard::load(&dir, Some(config))
            } else {
                EdgeShard::new(&dir, config)
            }
        })?
        .map_err(engine)?;
        let versions_path = dir.join(VERSIONS_FILE);
        let versions = match std::fs::read(&versions_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => {
                return Err(VectorError::Io {
                    path: versions_path,
                    source,
                });
            }
        };
        Ok(Collection {
            dir,
            dimension,
            shard: Mutex::new(Some(shard)),
            versions: Mutex::new(versions),
            _lock: lock,
        })
    }

    /// The shard's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn check(&self, id: Uuid, vector: &[f32]) -> Result<(), VectorError> {
        if vector.len() == self.dimension {
            Ok(())
        } else {
            Err(VectorError::Dimension {
                id,
                expected: self.dimension,
                got: vector.len(),
            })
        }
    }

    /// Writes the versions map (a temporary file renamed over the old one).
    fn save_versions(&self, versions: &BTreeMap<String, String>) -> Result<(), VectorError> {
        let path = self.dir.join(VERSIONS_FILE);
        let tmp = self.dir.join(format!("{VERSIONS_FILE}.tmp"));
        let bytes = serde_json::to_vec_pretty(versions).map_err(engine)?;
        std::fs::write(&tmp, bytes).map_err(|source| VectorError::Io {
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, &path).map_err(|source| VectorError::Io { path, source })
    }

    /// Runs `f` on the shard, a panic inside Qdrant turned into an error.
    fn with_shard<T>(
        &self,
        f: impl FnOnce(&EdgeShard) -> Result<T, qdrant_edge::OperationError>,
    ) -> Result<T, VectorError> {
        // A panic inside Qdrant is caught by `catch`; the shard stays usable.
        let guard = self.shard.lock().unwrap_or_else(|p| p.into_inner());
        let shard = guard
            .as_ref()
            .ok_or_else(|| engine("the collection is closed"))?;
        catch(|| f(shard))?.map_err(engine)
    }
}

impl Drop for Collection {
    fn drop(&mut self) {
        // Qdrant flushes when a shard is dropped and panics if that fails
        // (e.g. its directory was removed): contain it here.
        let shard = self.shard.get_mut().ok().and_then(Option::take);
        let _ = catch(move || drop(shard));
    }
}

/// Runs `f`, turning a panic inside Qdrant Edge into an error.
fn catch<T>(f: impl FnOnce() -> T) -> Result<T, VectorError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned());
        VectorError::Engine { message }
    })
}

fn matcher(field: &str, value: &Value) -> Result<Condition, VectorError> {
    let m = match value {
        Value::String(s) => Match::from(s.clone()),
        Value::Bool(b) => Match::from(*b),
        Value::Number(n) if n.is_i64() => Match::from(n.as_i64().unwrap_or_default()),
        other => {
            return Err(VectorError::Unmatchable {
                field: field.to_owned(),
                value: other.clone(),
            });
        }
    };
    Ok(Condition::Field(FieldCondition::new_match(path(field)?, m)))
}

/// The payload path of top-level key `field`.
fn path(field: &str) -> Result<JsonPath, VectorError> {
    field.parse().map_err(|_| VectorError::InvalidField {
        field: field.to_owned(),
    })
}

fn uuid_of(id: &PointId) -> Option<Uuid> {
    match id {
        PointId::Uuid(u) => Some(*u),
        PointId::NumId(_) => None,
    }
}

impl VectorIndex for Collection {
    fn dimension(&self) -> usize {
        self.dimension
    }

    fn version(&self, partition: &Partition) -> Option<String> {
        self.versions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&partition.label())
            .cloned()
    }

    fn replace(
        &self,
        partition: &Partition,
        version: &str,
        points: Vec<VectorPoint>,
    ) -> Result<(), VectorError> {
        for p in &points {
            self.check(p.id, &p.vector)?;
        }
        let mut versions = self.versions.lock().unwrap_or_else(|p| p.into_inner());
        let label = partition.label();
        // Cleared first: a failure below leaves the partition marked stale.
        if versions.remove(&label).is_some() {
            self.save_versions(&versions)?;
        }
        let delete = UpdateOperation::PointOperation(PointOperations::DeletePointsByFilter(
            Filter::new_must(partition.condition()?),
        ));
        self.with_shard(|shard| shard.update(delete))?;
        let mut points = points.into_iter().peekable();
        while points.peek().is_some() {
            let chunk: Vec<PointStructPersisted> = points
                .by_ref()
                .take(UPSERT_CHUNK)
                .map(|p| {
                    let mut payload = p.payload;
                    payload.insert(
                        partition.key.clone(),
                        Value::String(partition.value.clone()),
                    );
                    PointStructPersisted {
                        id: PointId::Uuid(p.id),
                        vector: VectorStructPersisted::Single(p.vector),
                        payload: Some(Payload::from(payload)),
                    }
                })
                .collect();
            let upsert = UpdateOperation::PointOperation(PointOperations::UpsertPoints(
                PointInsertOperations::PointsList(chunk),
            ));
            self.with_shard(|shard| shard.update(upsert))?;
        }
        self.with_shard(|shard| {
            shard.flush();
            Ok(())
        })?;
        versions.insert(label, version.to_owned());
        self.save_versions(&versions)
    }

    fn search(&self, partition: &Partition, query: &SearchQuery) -> Result<Vec<Hit>, VectorError> {
        self.check(Uuid::nil(), &query.vector)?;
        if query.limit == 0 || query.only.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let mut must = vec![partition.condition()?];
        for (field, value) in &query.equals {
            must.push(matcher(field, value)?);
        }
        if let Some(only) = &query.only {
            let ids: HasIdCondition = only.iter().map(|u| PointId::Uuid(*u)).collect();
            must.push(Condition::HasId(ids));
        }
        let must_not = if query.except.is_empty() {
            None
        } else {
            let ids: HasIdCondition = query.except.iter().map(|u| PointId::Uuid(*u)).collect();
            Some(vec![Condition::HasId(ids)])
        };
        let filter = Filter {
            should: None,
            min_should: None,
            must: Some(must),
            must_not,
        };
        let request = QueryRequest {
            prefetches: Vec::new(),
            query: Some(ScoringQuery::Vector(QueryEnum::Nearest(
                NamedQuery::default_dense(query.vector.clone()),
            ))),
            filter: Some(filter),
            score_threshold: None,
            limit: query.limit,
            offset: 0,
            params: Some(SearchParams {
                exact: true,
                ..SearchParams::default()
            }),
            with_vector: WithVector::Bool(false),
            with_payload: WithPayloadInterface::Bool(true),
        };
        let found = self.with_shard(|shard| shard.query(request))?;
        let mut hits: Vec<Hit> = found
            .into_iter()
            .filter_map(|p| {
                Some(Hit {
                    id: uuid_of(&p.id)?,
                    score: p.score,
                    payload: p.payload.map(|payload| payload.0).unwrap_or_default(),
                })
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        Ok(hits)
    }
}
