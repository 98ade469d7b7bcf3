//! The server backend: a collection on a Qdrant server, reached over gRPC
//! with qdrant-client.
//!
//! Collection `<name>-<dimension>d` holds the points (cosine distance, a
//! keyword payload index on each partition key); `<name>-<dimension>d-versions`
//! holds one point per partition whose payload records the partition's
//! version, so every process using the server sees the same versions. The
//! client is async; this backend owns a one-worker Tokio runtime and blocks
//! on it, so it honours the blocking [`VectorIndex`] contract from any
//! thread that is not itself running async code (use `spawn_blocking`).

use std::time::Duration;

use qdrant_client::qdrant::{
    Condition, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder, DeletePointsBuilder,
    Distance, FieldType, Filter, GetPointsBuilder, PointId, PointStruct, PointsIdsList,
    QueryPointsBuilder, SearchParamsBuilder, UpsertPointsBuilder, VectorParamsBuilder,
    point_id::PointIdOptions, points_selector::PointsSelectorOneOf, value::Kind,
};
use qdrant_client::{Payload, Qdrant, QdrantError};
use serde_json::{Map, Value};
use tokio::runtime::Runtime;
use uuid::Uuid;

use crate::{
    Hit, MatchValue, Partition, SearchQuery, VectorError, VectorIndex, VectorPoint,
    check_dimension, partitioned_chunks, rank,
};

/// Where the Qdrant server is and how to talk to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The server's gRPC URL, e.g. `http://127.0.0.1:6334` (Qdrant's gRPC
    /// port; `https://` for TLS).
    pub url: String,
    /// API key sent with every request, if the server requires one.
    pub api_key: Option<String>,
    /// Limit on one request; connecting is limited to the smaller of this
    /// and [`CONNECT_TIMEOUT`], so an unreachable server is given up on
    /// quickly (the store then scans the database).
    pub timeout: Duration,
}

impl ServerConfig {
    /// The server at `url`, no API key, a 30 s request limit.
    pub fn new(url: impl Into<String>) -> ServerConfig {
        ServerConfig {
            url: url.into(),
            api_key: None,
            timeout: Duration::from_secs(30),
        }
    }
}

/// The longest wait for a connection to the server.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The payload key of a version point naming its partition.
const PARTITION_FIELD: &str = "partition";
/// The payload key of a version point holding the version.
const VERSION_FIELD: &str = "version";
/// Namespace of version point ids (UUIDv5 of the partition label).
const VERSION_NAMESPACE: Uuid = Uuid::from_u128(0x6a1d_3c2e_9f4b_4e8a_b1c7_2d5e_8f90_a3b4);

/// A collection of `f32` vectors of one dimension (cosine distance) on a
/// Qdrant server.
pub struct ServerCollection {
    url: String,
    points: String,
    versions: String,
    dimension: usize,
    client: Qdrant,
    /// Always `Some` until the collection is dropped.
    runtime: Option<Runtime>,
}

impl std::fmt::Debug for ServerCollection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCollection")
            .field("url", &self.url)
            .field("collection", &self.points)
            .field("dimension", &self.dimension)
            .finish_non_exhaustive()
    }
}

impl ServerCollection {
    /// Connects to the server of `config` and opens collection `name` of
    /// `dimension`-long vectors there (`<name>-<dimension>d` and its
    /// versions collection), creating them when missing. Blocks.
    ///
    /// # Errors
    /// [`VectorError::Server`] when the server cannot be reached, rejects
    /// the API key, or fails to create a collection; [`VectorError::Io`]
    /// when the client's runtime cannot start.
    pub fn connect(
        config: &ServerConfig,
        name: &str,
        dimension: usize,
    ) -> Result<ServerCollection, VectorError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("aima-qdrant")
            .enable_all()
            .build()
            .map_err(|source| VectorError::Io {
                path: "tokio runtime".into(),
                source,
            })?;
        let server = |e: QdrantError| VectorError::Server {
            url: config.url.clone(),
            message: describe(&e),
        };
        let client = {
            let _entered = runtime.enter();
            Qdrant::from_url(&config.url)
                .api_key(config.api_key.clone())
                .timeout(config.timeout)
                .connect_timeout(config.timeout.min(CONNECT_TIMEOUT))
                .skip_compatibility_check()
                .build()
                .map_err(server)?
        };
        let collection = ServerCollection {
            url: config.url.clone(),
            points: format!("{name}-{dimension}d"),
            versions: format!("{name}-{dimension}d-versions"),
            dimension,
            client,
            runtime: Some(runtime),
        };
        collection.ensure(&collection.points, dimension)?;
        collection.ensure(&collection.versions, 1)?;
        Ok(collection)
    }

    /// The name of the points collection on the server.
    pub fn name(&self) -> &str {
        &self.points
    }

    /// Runs `work` on the client's runtime, its error named with the server.
    fn run<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, QdrantError>>,
    ) -> Result<T, VectorError> {
        let runtime = self.runtime.as_ref().ok_or_else(|| VectorError::Server {
            url: self.url.clone(),
            message: "the collection is closed".to_owned(),
        })?;
        runtime.block_on(work).map_err(|e| VectorError::Server {
            url: self.url.clone(),
            message: describe(&e),
        })
    }

    /// Creates collection `name` of `dimension`-long cosine vectors unless
    /// it exists (another process creating it meanwhile is fine).
    fn ensure(&self, name: &str, dimension: usize) -> Result<(), VectorError> {
        if self.run(self.client.collection_exists(name))? {
            return Ok(());
        }
        let create = CreateCollectionBuilder::new(name)
            .vectors_config(VectorParamsBuilder::new(dimension as u64, Distance::Cosine));
        match self.run(self.client.create_collection(create)) {
            Ok(_) => Ok(()),
            // Another process created it meanwhile.
            Err(_) if self.run(self.client.collection_exists(name))? => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The id of `partition`'s version point.
    fn version_id(partition: &Partition) -> PointId {
        Uuid::new_v5(&VERSION_NAMESPACE, partition.label().as_bytes()).into()
    }

    fn try_version(&self, partition: &Partition) -> Result<Option<String>, VectorError> {
        let get = GetPointsBuilder::new(&self.versions, vec![Self::version_id(partition)])
            .with_payload(true);
        let found = self.run(self.client.get_points(get))?;
        Ok(found.result.into_iter().find_map(|p| {
            match p.payload.get(VERSION_FIELD)?.kind.as_ref()? {
                Kind::StringValue(v) => Some(v.clone()),
                _ => None,
            }
        }))
    }
}

impl Drop for ServerCollection {
    fn drop(&mut self) {
        // Dropping a runtime blocks on its worker, which panics inside async
        // code: let the worker finish in the background instead.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// What went wrong, in a line: a gRPC status as its code and message (the
/// client's own text adds the empty metadata map).
fn describe(e: &QdrantError) -> String {
    match e {
        QdrantError::ResponseError { status } => {
            format!("{}: {}", status.code(), status.message())
        }
        other => other.to_string(),
    }
}

/// The condition "payload `field` equals `value`".
fn matcher(field: &str, value: &Value) -> Result<Condition, VectorError> {
    Ok(match MatchValue::of(field, value)? {
        MatchValue::Text(s) => Condition::matches(field, s),
        MatchValue::Integer(i) => Condition::matches(field, i),
        MatchValue::Flag(b) => Condition::matches(field, b),
    })
}

fn partition_filter(partition: &Partition) -> Filter {
    Filter::must([Condition::matches(
        partition.key.clone(),
        partition.value.clone(),
    )])
}

fn uuid_of(id: Option<PointId>) -> Option<Uuid> {
    match id?.point_id_options? {
        PointIdOptions::Uuid(u) => u.parse().ok(),
        PointIdOptions::Num(_) => None,
    }
}

impl VectorIndex for ServerCollection {
    fn dimension(&self) -> usize {
        self.dimension
    }

    /// `None` also when the server cannot be asked: the caller then treats
    /// the partition as stale and rebuilds it (or falls back, if that fails
    /// too).
    fn version(&self, partition: &Partition) -> Option<String> {
        self.try_version(partition).ok().flatten()
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
        // Cleared first: a failure below leaves the partition marked stale.
        let clear = DeletePointsBuilder::new(&self.versions)
            .points(PointsSelectorOneOf::Points(PointsIdsList {
                ids: vec![Self::version_id(partition)],
            }))
            .wait(true);
        self.run(self.client.delete_points(clear))?;
        // Idempotent on the server: an existing index is kept.
        let index = CreateFieldIndexCollectionBuilder::new(
            &self.points,
            &partition.key,
            FieldType::Keyword,
        )
        .wait(true);
        self.run(self.client.create_field_index(index))?;
        let delete = DeletePointsBuilder::new(&self.points)
            .points(partition_filter(partition))
            .wait(true);
        self.run(self.client.delete_points(delete))?;
        for chunk in partitioned_chunks(partition, points) {
            let chunk: Vec<PointStruct> = chunk
                .into_iter()
                .map(|p| PointStruct::new(p.id, p.vector, Payload::from(p.payload)))
                .collect();
            let upsert = UpsertPointsBuilder::new(&self.points, chunk).wait(true);
            self.run(self.client.upsert_points(upsert))?;
        }
        let mut record = Map::new();
        record.insert(PARTITION_FIELD.to_owned(), partition.label().into());
        record.insert(VERSION_FIELD.to_owned(), version.into());
        let point = PointStruct::new(
            Self::version_id(partition),
            vec![1.0f32],
            Payload::from(record),
        );
        let upsert = UpsertPointsBuilder::new(&self.versions, vec![point]).wait(true);
        self.run(self.client.upsert_points(upsert))?;
        Ok(())
    }

    fn search(&self, partition: &Partition, query: &SearchQuery) -> Result<Vec<Hit>, VectorError> {
        check_dimension(self.dimension, Uuid::nil(), &query.vector)?;
        if query.limit == 0 || query.only.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let mut filter = partition_filter(partition);
        for (field, value) in &query.equals {
            filter.must.push(matcher(field, value)?);
        }
        if let Some(only) = &query.only {
            filter.must.push(Condition::has_id(only.iter().copied()));
        }
        if !query.except.is_empty() {
            filter
                .must_not
                .push(Condition::has_id(query.except.iter().copied()));
        }
        let request = QueryPointsBuilder::new(&self.points)
            .query(query.vector.clone())
            .filter(filter)
            .limit(query.limit as u64)
            .with_payload(true)
            .params(SearchParamsBuilder::default().exact(true));
        let found = self.run(self.client.query(request))?;
        let mut hits: Vec<Hit> = found
            .result
            .into_iter()
            .filter_map(|p| {
                Some(Hit {
                    id: uuid_of(p.id)?,
                    score: p.score,
                    payload: Payload::from(p.payload).into(),
                })
            })
            .collect();
        rank(&mut hits);
        Ok(hits)
    }
}
