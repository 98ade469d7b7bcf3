//! Both backends of the vector store, embedded Qdrant Edge and a Qdrant
//! server (served here by the in-process `FakeQdrant`): exact cosine search
//! against brute force, filters, partitions and versions; then what each
//! adds (persistence and the process lock; versions shared by every client
//! of a server, errors naming the server).

#![allow(clippy::unwrap_used)]

use aima_vectors::testing::FakeQdrant;
use aima_vectors::{
    Collection, Partition, SearchQuery, ServerCollection, ServerConfig, VectorError, VectorIndex,
    VectorPoint,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// A small seeded generator (xorshift), values in -1..1.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

fn payload(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn points(rng: &mut Rng, n: usize, dim: usize) -> Vec<VectorPoint> {
    (0..n)
        .map(|i| VectorPoint {
            id: Uuid::from_u128(i as u128 + 1),
            vector: (0..dim).map(|_| rng.next()).collect(),
            payload: payload(json!({"cluster": (i % 3) as i64})),
        })
        .collect()
}

/// Runs `check` on an embedded collection and on a server collection of
/// `dimension`-long vectors.
fn on_both_backends(dimension: usize, check: impl Fn(&dyn VectorIndex)) {
    let dir = tempfile::tempdir().unwrap();
    check(&Collection::open(dir.path(), "fp", dimension).unwrap());
    let server = FakeQdrant::start().unwrap();
    check(&ServerCollection::connect(&ServerConfig::new(server.url()), "fp", dimension).unwrap());
}

#[test]
fn search_equals_brute_force_with_filters() {
    on_both_backends(16, search_equals_brute_force);
}

fn search_equals_brute_force(c: &dyn VectorIndex) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let pts = points(&mut rng, 500, 16);
    let org = Partition::new("organization_id", "org-a");
    c.replace(&org, "v1", pts.clone()).unwrap();
    let query: Vec<f32> = (0..16).map(|_| rng.next()).collect();

    let brute = |keep: &dyn Fn(usize, &VectorPoint) -> bool, k: usize| {
        let mut all: Vec<(Uuid, f64)> = pts
            .iter()
            .enumerate()
            .filter(|(i, p)| keep(*i, p))
            .map(|(_, p)| (p.id, cosine(&query, &p.vector)))
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(k);
        all
    };
    let check = |hits: Vec<aima_vectors::Hit>, want: Vec<(Uuid, f64)>| {
        let got: Vec<Uuid> = hits.iter().map(|h| h.id).collect();
        let expected: Vec<Uuid> = want.iter().map(|w| w.0).collect();
        assert_eq!(got, expected);
        for (h, w) in hits.iter().zip(&want) {
            assert!(
                (f64::from(h.score) - w.1).abs() < 1e-5,
                "{} vs {}",
                h.score,
                w.1
            );
        }
    };

    let all = c
        .search(
            &org,
            &SearchQuery {
                vector: query.clone(),
                limit: 10,
                ..SearchQuery::default()
            },
        )
        .unwrap();
    check(all, brute(&|_, _| true, 10));

    let except = vec![pts[0].id, pts[1].id];
    let cluster_1 = c
        .search(
            &org,
            &SearchQuery {
                vector: query.clone(),
                limit: 7,
                equals: vec![("cluster".into(), json!(1))],
                only: None,
                except: except.clone(),
            },
        )
        .unwrap();
    assert!(cluster_1.iter().all(|h| h.payload["cluster"] == json!(1)));
    check(
        cluster_1,
        brute(&|i, p| i % 3 == 1 && !except.contains(&p.id), 7),
    );

    let only: Vec<Uuid> = pts.iter().step_by(10).map(|p| p.id).collect();
    let allowed = c
        .search(
            &org,
            &SearchQuery {
                vector: query.clone(),
                limit: 100,
                only: Some(only.clone()),
                ..SearchQuery::default()
            },
        )
        .unwrap();
    check(allowed, brute(&|_, p| only.contains(&p.id), 100));
    let none = c
        .search(
            &org,
            &SearchQuery {
                vector: query,
                limit: 5,
                only: Some(vec![]),
                ..SearchQuery::default()
            },
        )
        .unwrap();
    assert!(none.is_empty());
}

#[test]
fn partitions_are_isolated_and_replaced_whole() {
    on_both_backends(2, partitions_isolated);
}

fn partitions_isolated(c: &dyn VectorIndex) {
    let a = Partition::new("organization_id", "a");
    let b = Partition::new("organization_id", "b");
    let p = |id: u128, v: [f32; 2]| VectorPoint {
        id: Uuid::from_u128(id),
        vector: v.to_vec(),
        payload: Map::new(),
    };
    c.replace(&a, "a1", vec![p(1, [1.0, 0.0]), p(2, [0.0, 1.0])])
        .unwrap();
    c.replace(&b, "b1", vec![p(3, [1.0, 0.0])]).unwrap();
    let q = |part: &Partition| {
        c.search(
            part,
            &SearchQuery {
                vector: vec![1.0, 0.0],
                limit: 10,
                ..SearchQuery::default()
            },
        )
        .unwrap()
        .iter()
        .map(|h| h.id.as_u128())
        .collect::<Vec<_>>()
    };
    assert_eq!(q(&a), vec![1, 2]);
    assert_eq!(q(&b), vec![3]);
    // The partition key is in every hit's payload.
    let hit = &c
        .search(
            &b,
            &SearchQuery {
                vector: vec![1.0, 0.0],
                limit: 1,
                ..SearchQuery::default()
            },
        )
        .unwrap()[0];
    assert_eq!(hit.payload["organization_id"], json!("b"));

    c.replace(&a, "a2", vec![p(4, [0.5, 0.5])]).unwrap();
    assert_eq!(q(&a), vec![4]);
    assert_eq!(q(&b), vec![3]);
    assert_eq!(c.version(&a).as_deref(), Some("a2"));
    assert_eq!(c.version(&b).as_deref(), Some("b1"));
    assert_eq!(c.version(&Partition::new("organization_id", "c")), None);
}

#[test]
fn dimensions_and_match_values_are_checked() {
    on_both_backends(4, dimensions_and_values_checked);
}

fn dimensions_and_values_checked(c: &dyn VectorIndex) {
    let org = Partition::new("organization_id", "a");
    let bad = VectorPoint {
        id: Uuid::from_u128(9),
        vector: vec![1.0, 2.0],
        payload: Map::new(),
    };
    match c.replace(&org, "v", vec![bad]) {
        Err(VectorError::Dimension { expected, got, .. }) => assert_eq!((expected, got), (4, 2)),
        other => panic!("expected Dimension, got {other:?}"),
    }
    let query = |vector: Vec<f32>, equals: Vec<(String, Value)>| SearchQuery {
        vector,
        limit: 1,
        equals,
        ..SearchQuery::default()
    };
    assert!(matches!(
        c.search(&org, &query(vec![1.0], vec![])),
        Err(VectorError::Dimension { .. })
    ));
    assert!(matches!(
        c.search(
            &org,
            &query(vec![1.0; 4], vec![("cluster".into(), json!(1.5))])
        ),
        Err(VectorError::Unmatchable { .. })
    ));
}

#[test]
fn points_and_versions_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let org = Partition::new("organization_id", "a");
    let mut rng = Rng(7);
    let pts = points(&mut rng, 50, 8);
    {
        let c = Collection::open(dir.path(), "fp", 8).unwrap();
        c.replace(&org, "run-1", pts.clone()).unwrap();
    }
    let c = Collection::open(dir.path(), "fp", 8).unwrap();
    assert_eq!(c.version(&org).as_deref(), Some("run-1"));
    let hits = c
        .search(
            &org,
            &SearchQuery {
                vector: pts[7].vector.clone(),
                limit: 1,
                ..SearchQuery::default()
            },
        )
        .unwrap();
    assert_eq!(hits[0].id, pts[7].id);
    assert!((hits[0].score - 1.0).abs() < 1e-5);
}

#[test]
fn one_holder_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let c = Collection::open(dir.path(), "fp", 4).unwrap();
    match Collection::open(dir.path(), "fp", 4) {
        Err(VectorError::Busy { path }) => assert!(path.ends_with("fp-4d.lock")),
        other => panic!("expected Busy, got {other:?}"),
    }
    // Another dimension is another shard, with its own lock.
    assert!(Collection::open(dir.path(), "fp", 3).is_ok());
    drop(c);
    assert!(Collection::open(dir.path(), "fp", 4).is_ok());
}

#[test]
fn server_versions_are_shared_by_every_client() {
    let server = FakeQdrant::start().unwrap();
    let config = ServerConfig::new(server.url());
    let org = Partition::new("organization_id", "a");
    let mut rng = Rng(11);
    let pts = points(&mut rng, 30, 8);
    let writer = ServerCollection::connect(&config, "fp", 8).unwrap();
    assert_eq!(writer.name(), "fp-8d");
    writer.replace(&org, "run-1", pts.clone()).unwrap();
    // Another process (another client) sees the points and the version.
    let reader = ServerCollection::connect(&config, "fp", 8).unwrap();
    assert_eq!(reader.version(&org).as_deref(), Some("run-1"));
    let hits = reader
        .search(
            &org,
            &SearchQuery {
                vector: pts[3].vector.clone(),
                limit: 1,
                ..SearchQuery::default()
            },
        )
        .unwrap();
    assert_eq!(hits[0].id, pts[3].id);
    assert!((hits[0].score - 1.0).abs() < 1e-5);
    assert_eq!(server.point_count("fp-8d"), Some(30));
    assert_eq!(server.point_count("fp-8d-versions"), Some(1));
    // The partition key is indexed, so filtered searches stay fast on a
    // real server.
    assert_eq!(server.indexed_fields("fp-8d"), vec!["organization_id"]);
    // A new run replaces the points and the version for everyone.
    reader.replace(&org, "run-2", pts[..5].to_vec()).unwrap();
    assert_eq!(writer.version(&org).as_deref(), Some("run-2"));
    assert_eq!(server.point_count("fp-8d"), Some(5));
    assert_eq!(server.point_count("fp-8d-versions"), Some(1));
}

#[test]
fn server_errors_name_the_server() {
    let mut server = FakeQdrant::start().unwrap();
    let url = server.url().to_owned();
    let c = ServerCollection::connect(&ServerConfig::new(&url), "fp", 4).unwrap();
    let org = Partition::new("organization_id", "a");
    server.stop();
    let query = SearchQuery {
        vector: vec![1.0; 4],
        limit: 1,
        ..SearchQuery::default()
    };
    match c.search(&org, &query) {
        Err(VectorError::Server { url: named, .. }) => assert_eq!(named, url),
        other => panic!("expected a server error, got {other:?}"),
    }
    // A server that is down reads as "no version": the caller rebuilds or
    // falls back instead of trusting a stale index.
    assert_eq!(c.version(&org), None);
    let mut config = ServerConfig::new(&url);
    config.timeout = std::time::Duration::from_secs(2);
    match ServerCollection::connect(&config, "fp", 4) {
        Err(e @ VectorError::Server { .. }) => assert!(e.to_string().contains(&url), "{e}"),
        other => panic!("expected a server error, got {other:?}"),
    }
}
