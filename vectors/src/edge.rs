//! The embedded backend: one Qdrant Edge shard per collection and
//! dimension, owned by one process (an advisory file lock), partition
//! versions in `versions.json` beside the shard.

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
use serde_json::Value;
use uuid::Uuid;

use crate::{
    Hit, MatchValue, Partition, SearchQuery, VectorError, VectorIndex, VectorPoint,
    check_dimension, partitioned_chunks, rank,
};

fn engine(e: impl std::fmt::Display) -> VectorError {
    VectorError::Engine {
        message: e.to_string(),
    }
}

/// The file beside a shard that records each partition's version.
const VERSIONS_FILE: &str = "versions.json";

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

/// The condition "payload `field` equals `value`".
fn matcher(field: &str, value: &Value) -> Result<Condition, VectorError> {
    let m = match MatchValue::of(field, value)? {
        MatchValue::Text(s) => Match::from(s),
        MatchValue::Flag(b) => Match::from(b),
        MatchValue::Integer(i) => Match::from(i),
    };
    Ok(Condition::Field(FieldCondition::new_match(path(field)?, m)))
}

/// The condition "the point is in `partition`".
fn partition_condition(partition: &Partition) -> Result<Condition, VectorError> {
    matcher(&partition.key, &Value::String(partition.value.clone()))
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
            check_dimension(self.dimension, p.id, &p.vector)?;
        }
        let mut versions = self.versions.lock().unwrap_or_else(|p| p.into_inner());
        let label = partition.label();
        // Cleared first: a failure below leaves the partition marked stale.
        if versions.remove(&label).is_some() {
            self.save_versions(&versions)?;
        }
        let delete = UpdateOperation::PointOperation(PointOperations::DeletePointsByFilter(
            Filter::new_must(partition_condition(partition)?),
        ));
        self.with_shard(|shard| shard.update(delete))?;
        for chunk in partitioned_chunks(partition, points) {
            let chunk: Vec<PointStructPersisted> = chunk
                .into_iter()
                .map(|p| PointStructPersisted {
                    id: PointId::Uuid(p.id),
                    vector: VectorStructPersisted::Single(p.vector),
                    payload: Some(Payload::from(p.payload)),
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
        check_dimension(self.dimension, Uuid::nil(), &query.vector)?;
        if query.limit == 0 || query.only.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let mut must = vec![partition_condition(partition)?];
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
        rank(&mut hits);
        Ok(hits)
    }
}
