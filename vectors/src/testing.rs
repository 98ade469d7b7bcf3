//! An in-process fake of the Qdrant server's gRPC API, for tests of the
//! server backend ([`crate::ServerCollection`]) where no Qdrant server can
//! run.
//!
//! [`FakeQdrant`] serves the calls the backend makes (collection exists and
//! create; upsert, delete by ids or filter, get, query, create field index)
//! over real gRPC on a local port, with Qdrant's documented semantics for
//! them: cosine scores, `must` / `must_not` filters of keyword, integer and
//! boolean matches and id lists, exact search. Anything else it is sent
//! (another RPC, a `should` filter, a range condition, a named vector)
//! answers `UNIMPLEMENTED`, so a backend that starts relying on more of the
//! API fails its tests instead of passing against a fake that guesses.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use qdrant_client::qdrant::collections_server::{Collections, CollectionsServer};
use qdrant_client::qdrant::points_server::{Points, PointsServer};
use qdrant_client::qdrant::{
    ChangeAliases, ClearPayloadPoints, CollectionClusterInfoRequest, CollectionClusterInfoResponse,
    CollectionExists, CollectionExistsRequest, CollectionExistsResponse,
    CollectionOperationResponse, Condition, CountPoints, CountResponse, CreateCollection,
    CreateFieldIndexCollection, CreateShardKeyRequest, CreateShardKeyResponse,
    CreateVectorNameRequest, DeleteCollection, DeleteFieldIndexCollection, DeletePayloadPoints,
    DeletePointVectors, DeletePoints, DeleteShardKeyRequest, DeleteShardKeyResponse,
    DeleteVectorNameRequest, DiscoverBatchPoints, DiscoverBatchResponse, DiscoverPoints,
    DiscoverResponse, FacetCounts, FacetResponse, Filter, GetCollectionInfoRequest,
    GetCollectionInfoResponse, GetPoints, GetResponse, ListAliasesRequest, ListAliasesResponse,
    ListCollectionAliasesRequest, ListCollectionsRequest, ListCollectionsResponse,
    ListShardKeysRequest, ListShardKeysResponse, PointId, PointsOperationResponse,
    QueryBatchPoints, QueryBatchResponse, QueryGroupsResponse, QueryPointGroups, QueryPoints,
    QueryResponse, RecommendBatchPoints, RecommendBatchResponse, RecommendGroupsResponse,
    RecommendPointGroups, RecommendPoints, RecommendResponse, RetrievedPoint, ScoredPoint,
    ScrollPoints, ScrollResponse, SearchBatchPoints, SearchBatchResponse, SearchGroupsResponse,
    SearchMatrixOffsetsResponse, SearchMatrixPairsResponse, SearchMatrixPoints, SearchPointGroups,
    SearchPoints, SearchResponse, SetPayloadPoints, UpdateBatchPoints, UpdateBatchResponse,
    UpdateCollection, UpdateCollectionClusterSetupRequest, UpdateCollectionClusterSetupResponse,
    UpdatePointVectors, UpdateResult, UpsertPoints, Value, condition::ConditionOneOf,
    r#match::MatchValue, point_id::PointIdOptions, points_selector::PointsSelectorOneOf, query,
    value::Kind, vector, vector_input, vectors, vectors_config,
};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

/// A point as the fake stores it.
#[derive(Debug, Clone)]
struct StoredPoint {
    vector: Vec<f32>,
    payload: HashMap<String, Value>,
}

/// A collection: its dimension and points by id (the id's text form).
#[derive(Debug, Default)]
struct FakeCollection {
    dimension: usize,
    points: BTreeMap<String, StoredPoint>,
    indexed_fields: Vec<String>,
}

#[derive(Debug, Default)]
struct State {
    collections: Mutex<HashMap<String, FakeCollection>>,
    queries: AtomicUsize,
}

impl State {
    fn with<T>(
        &self,
        name: &str,
        f: impl FnOnce(&mut FakeCollection) -> Result<T, Status>,
    ) -> Result<T, Status> {
        let mut all = self.collections.lock().unwrap_or_else(|p| p.into_inner());
        let c = all
            .get_mut(name)
            .ok_or_else(|| Status::not_found(format!("Collection `{name}` doesn't exist!")))?;
        f(c)
    }
}

/// A fake Qdrant server on `127.0.0.1:<free port>`, running until dropped
/// (or [`FakeQdrant::stop`]).
pub struct FakeQdrant {
    url: String,
    state: Arc<State>,
    stop: Option<oneshot::Sender<()>>,
    runtime: Option<Runtime>,
}

impl std::fmt::Debug for FakeQdrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeQdrant")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl FakeQdrant {
    /// Starts the fake on its own runtime (usable from sync and async
    /// tests alike).
    ///
    /// # Errors
    /// When the runtime cannot start or no local port can be bound.
    pub fn start() -> std::io::Result<FakeQdrant> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fake-qdrant")
            .enable_all()
            .build()?;
        let incoming = {
            let _entered = runtime.enter();
            tonic::transport::server::TcpIncoming::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?
        };
        let addr = incoming.local_addr()?;
        let state = Arc::new(State::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tonic::transport::Server::builder()
            .add_service(CollectionsServer::new(Service(state.clone())))
            .add_service(PointsServer::new(Service(state.clone())))
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            });
        runtime.spawn(server);
        Ok(FakeQdrant {
            url: format!("http://{addr}"),
            state,
            stop: Some(stop),
            runtime: Some(runtime),
        })
    }

    /// The URL to give [`crate::ServerConfig::new`].
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops serving: later requests fail as against a server that is down.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// The number of points in collection `name`, `None` if it does not
    /// exist.
    pub fn point_count(&self, name: &str) -> Option<usize> {
        let all = self
            .state
            .collections
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        all.get(name).map(|c| c.points.len())
    }

    /// The payload fields of collection `name` that have an index.
    pub fn indexed_fields(&self, name: &str) -> Vec<String> {
        let all = self
            .state
            .collections
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        all.get(name)
            .map(|c| c.indexed_fields.clone())
            .unwrap_or_default()
    }

    /// How many queries (searches) the fake has answered.
    pub fn queries(&self) -> usize {
        self.state.queries.load(Ordering::SeqCst)
    }
}

impl Drop for FakeQdrant {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The gRPC services over the shared state.
struct Service(Arc<State>);

fn id_text(id: Option<&PointId>) -> Result<String, Status> {
    match id.and_then(|i| i.point_id_options.as_ref()) {
        Some(PointIdOptions::Uuid(u)) => Ok(u.clone()),
        Some(PointIdOptions::Num(n)) => Ok(n.to_string()),
        None => Err(Status::invalid_argument("a point without an id")),
    }
}

fn point_id(text: &str) -> PointId {
    match text.parse::<u64>() {
        Ok(n) => PointId::from(n),
        Err(_) => PointId::from(text.to_owned()),
    }
}

fn dense(v: Option<&vectors::VectorsOptions>) -> Result<Vec<f32>, Status> {
    match v {
        Some(vectors::VectorsOptions::Vector(v)) => match &v.vector {
            Some(vector::Vector::Dense(d)) => Ok(d.data.clone()),
            _ => Err(Status::unimplemented("only dense vectors")),
        },
        _ => Err(Status::unimplemented("only one unnamed dense vector")),
    }
}

/// Whether condition `c` holds for the point.
fn holds(c: &Condition, id: &str, payload: &HashMap<String, Value>) -> Result<bool, Status> {
    match &c.condition_one_of {
        Some(ConditionOneOf::HasId(has)) => {
            for i in &has.has_id {
                if id_text(Some(i))? == id {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Some(ConditionOneOf::Field(f))
            if f.range.is_none()
                && f.geo_bounding_box.is_none()
                && f.geo_radius.is_none()
                && f.values_count.is_none()
                && f.geo_polygon.is_none()
                && f.datetime_range.is_none()
                && f.is_empty.is_none()
                && f.is_null.is_none() =>
        {
            let value = payload.get(&f.key).and_then(|v| v.kind.as_ref());
            match (
                f.r#match.as_ref().and_then(|m| m.match_value.as_ref()),
                value,
            ) {
                (Some(MatchValue::Keyword(want)), Some(Kind::StringValue(got))) => Ok(want == got),
                (Some(MatchValue::Integer(want)), Some(Kind::IntegerValue(got))) => Ok(want == got),
                (Some(MatchValue::Boolean(want)), Some(Kind::BoolValue(got))) => Ok(want == got),
                (
                    Some(MatchValue::Keyword(_) | MatchValue::Integer(_) | MatchValue::Boolean(_)),
                    _,
                ) => Ok(false),
                _ => Err(Status::unimplemented(
                    "only keyword, integer and boolean matches",
                )),
            }
        }
        _ => Err(Status::unimplemented("only field matches and id lists")),
    }
}

/// Whether the point passes `filter` (`None`: every point does).
fn passes(
    filter: Option<&Filter>,
    id: &str,
    payload: &HashMap<String, Value>,
) -> Result<bool, Status> {
    let Some(filter) = filter else {
        return Ok(true);
    };
    if !filter.should.is_empty() || filter.min_should.is_some() {
        return Err(Status::unimplemented("only must and must_not filters"));
    }
    for c in &filter.must {
        if !holds(c, id, payload)? {
            return Ok(false);
        }
    }
    for c in &filter.must_not {
        if holds(c, id, payload)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn done() -> Response<PointsOperationResponse> {
    Response::new(PointsOperationResponse {
        result: Some(UpdateResult {
            operation_id: Some(0),
            // UpdateStatus::Completed
            status: 2,
        }),
        ..PointsOperationResponse::default()
    })
}

/// Writes one `#[tonic::async_trait]` impl: the given methods, and every
/// other method of the service answering `UNIMPLEMENTED`.
macro_rules! service {
    (
        impl $trait:ident {
            $($real:item)*
        }
        unimplemented { $($name:ident($req:ty) -> $resp:ty;)* }
    ) => {
        #[tonic::async_trait]
        impl $trait for Service {
            $($real)*
            $(
                async fn $name(&self, _: Request<$req>) -> Result<Response<$resp>, Status> {
                    Err(Status::unimplemented(concat!(
                        "the fake Qdrant does not serve ",
                        stringify!($name)
                    )))
                }
            )*
        }
    };
}

service! {
    impl Collections {
        async fn collection_exists(
            &self,
            request: Request<CollectionExistsRequest>,
        ) -> Result<Response<CollectionExistsResponse>, Status> {
            let name = request.into_inner().collection_name;
            let all = self.0.collections.lock().unwrap_or_else(|p| p.into_inner());
            Ok(Response::new(CollectionExistsResponse {
                result: Some(CollectionExists { exists: all.contains_key(&name) }),
                time: 0.0,
            }))
        }

        async fn create(
            &self,
            request: Request<CreateCollection>,
        ) -> Result<Response<CollectionOperationResponse>, Status> {
            let create = request.into_inner();
            let params = match create.vectors_config.and_then(|c| c.config) {
                Some(vectors_config::Config::Params(p)) => p,
                _ => return Err(Status::unimplemented("only one unnamed vector per collection")),
            };
            // Distance::Cosine
            if params.distance != 1 {
                return Err(Status::unimplemented("only cosine distance"));
            }
            let mut all = self.0.collections.lock().unwrap_or_else(|p| p.into_inner());
            if all.contains_key(&create.collection_name) {
                return Err(Status::invalid_argument(format!(
                    "Wrong input: Collection `{}` already exists!",
                    create.collection_name
                )));
            }
            all.insert(
                create.collection_name,
                FakeCollection {
                    dimension: params.size as usize,
                    ..FakeCollection::default()
                },
            );
            Ok(Response::new(CollectionOperationResponse { result: true, time: 0.0 }))
        }
    }
    unimplemented {
        get(GetCollectionInfoRequest) -> GetCollectionInfoResponse;
        list(ListCollectionsRequest) -> ListCollectionsResponse;
        update(UpdateCollection) -> CollectionOperationResponse;
        delete(DeleteCollection) -> CollectionOperationResponse;
        update_aliases(ChangeAliases) -> CollectionOperationResponse;
        list_collection_aliases(ListCollectionAliasesRequest) -> ListAliasesResponse;
        list_aliases(ListAliasesRequest) -> ListAliasesResponse;
        collection_cluster_info(CollectionClusterInfoRequest) -> CollectionClusterInfoResponse;
        update_collection_cluster_setup(UpdateCollectionClusterSetupRequest)
            -> UpdateCollectionClusterSetupResponse;
        create_shard_key(CreateShardKeyRequest) -> CreateShardKeyResponse;
        delete_shard_key(DeleteShardKeyRequest) -> DeleteShardKeyResponse;
        list_shard_keys(ListShardKeysRequest) -> ListShardKeysResponse;
    }
}

service! {
    impl Points {
        async fn upsert(
            &self,
            request: Request<UpsertPoints>,
        ) -> Result<Response<PointsOperationResponse>, Status> {
            let upsert = request.into_inner();
            self.0.with(&upsert.collection_name, |c| {
                let mut parsed = Vec::with_capacity(upsert.points.len());
                for p in upsert.points {
                    let id = id_text(p.id.as_ref())?;
                    let vector = dense(p.vectors.as_ref().and_then(|v| v.vectors_options.as_ref()))?;
                    if vector.len() != c.dimension {
                        return Err(Status::invalid_argument(format!(
                            "Wrong input: Vector dimension error: expected dim: {}, got {}",
                            c.dimension,
                            vector.len()
                        )));
                    }
                    parsed.push((id, StoredPoint { vector, payload: p.payload }));
                }
                c.points.extend(parsed);
                Ok(done())
            })
        }

        async fn delete(
            &self,
            request: Request<DeletePoints>,
        ) -> Result<Response<PointsOperationResponse>, Status> {
            let delete = request.into_inner();
            let selector = delete.points.and_then(|s| s.points_selector_one_of);
            self.0.with(&delete.collection_name, |c| {
                match selector {
                    Some(PointsSelectorOneOf::Points(list)) => {
                        for id in &list.ids {
                            c.points.remove(&id_text(Some(id))?);
                        }
                    }
                    Some(PointsSelectorOneOf::Filter(filter)) => {
                        let mut gone = Vec::new();
                        for (id, p) in &c.points {
                            if passes(Some(&filter), id, &p.payload)? {
                                gone.push(id.clone());
                            }
                        }
                        for id in gone {
                            c.points.remove(&id);
                        }
                    }
                    None => return Err(Status::invalid_argument("no points selected")),
                }
                Ok(done())
            })
        }

        async fn get(
            &self,
            request: Request<GetPoints>,
        ) -> Result<Response<GetResponse>, Status> {
            let get = request.into_inner();
            self.0.with(&get.collection_name, |c| {
                let mut result = Vec::new();
                for id in &get.ids {
                    let key = id_text(Some(id))?;
                    if let Some(p) = c.points.get(&key) {
                        result.push(RetrievedPoint {
                            id: Some(point_id(&key)),
                            payload: p.payload.clone(),
                            ..RetrievedPoint::default()
                        });
                    }
                }
                Ok(Response::new(GetResponse { result, ..GetResponse::default() }))
            })
        }

        async fn create_field_index(
            &self,
            request: Request<CreateFieldIndexCollection>,
        ) -> Result<Response<PointsOperationResponse>, Status> {
            let index = request.into_inner();
            self.0.with(&index.collection_name, |c| {
                if !c.indexed_fields.contains(&index.field_name) {
                    c.indexed_fields.push(index.field_name);
                }
                Ok(done())
            })
        }

        async fn query(
            &self,
            request: Request<QueryPoints>,
        ) -> Result<Response<QueryResponse>, Status> {
            let q = request.into_inner();
            if !q.prefetch.is_empty() || q.using.is_some() || q.score_threshold.is_some() {
                return Err(Status::unimplemented("only a plain nearest-neighbour query"));
            }
            let vector = match q.query.and_then(|q| q.variant) {
                Some(query::Variant::Nearest(input)) => match input.variant {
                    Some(vector_input::Variant::Dense(d)) => d.data,
                    _ => return Err(Status::unimplemented("only dense query vectors")),
                },
                _ => return Err(Status::unimplemented("only nearest-neighbour queries")),
            };
            let with_payload = q.with_payload.is_some();
            let limit = q.limit.unwrap_or(10) as usize;
            let offset = q.offset.unwrap_or(0) as usize;
            let filter = q.filter;
            let result = self.0.with(&q.collection_name, |c| {
                if vector.len() != c.dimension {
                    return Err(Status::invalid_argument(format!(
                        "Wrong input: Vector dimension error: expected dim: {}, got {}",
                        c.dimension,
                        vector.len()
                    )));
                }
                let mut scored = Vec::new();
                for (id, p) in &c.points {
                    if passes(filter.as_ref(), id, &p.payload)? {
                        scored.push((crate::cosine(&vector, &p.vector) as f32, id.clone(), p));
                    }
                }
                scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                Ok(scored
                    .into_iter()
                    .skip(offset)
                    .take(limit)
                    .map(|(score, id, p)| ScoredPoint {
                        id: Some(point_id(&id)),
                        payload: if with_payload { p.payload.clone() } else { HashMap::new() },
                        score,
                        ..ScoredPoint::default()
                    })
                    .collect())
            })?;
            self.0.queries.fetch_add(1, Ordering::SeqCst);
            Ok(Response::new(QueryResponse { result, ..QueryResponse::default() }))
        }
    }
    unimplemented {
        update_vectors(UpdatePointVectors) -> PointsOperationResponse;
        delete_vectors(DeletePointVectors) -> PointsOperationResponse;
        set_payload(SetPayloadPoints) -> PointsOperationResponse;
        overwrite_payload(SetPayloadPoints) -> PointsOperationResponse;
        delete_payload(DeletePayloadPoints) -> PointsOperationResponse;
        clear_payload(ClearPayloadPoints) -> PointsOperationResponse;
        delete_field_index(DeleteFieldIndexCollection) -> PointsOperationResponse;
        create_vector_name(CreateVectorNameRequest) -> PointsOperationResponse;
        delete_vector_name(DeleteVectorNameRequest) -> PointsOperationResponse;
        search(SearchPoints) -> SearchResponse;
        search_batch(SearchBatchPoints) -> SearchBatchResponse;
        search_groups(SearchPointGroups) -> SearchGroupsResponse;
        scroll(ScrollPoints) -> ScrollResponse;
        recommend(RecommendPoints) -> RecommendResponse;
        recommend_batch(RecommendBatchPoints) -> RecommendBatchResponse;
        recommend_groups(RecommendPointGroups) -> RecommendGroupsResponse;
        discover(DiscoverPoints) -> DiscoverResponse;
        discover_batch(DiscoverBatchPoints) -> DiscoverBatchResponse;
        count(CountPoints) -> CountResponse;
        update_batch(UpdateBatchPoints) -> UpdateBatchResponse;
        query_batch(QueryBatchPoints) -> QueryBatchResponse;
        query_groups(QueryPointGroups) -> QueryGroupsResponse;
        facet(FacetCounts) -> FacetResponse;
        search_matrix_pairs(SearchMatrixPoints) -> SearchMatrixPairsResponse;
        search_matrix_offsets(SearchMatrixPoints) -> SearchMatrixOffsetsResponse;
    }
}
