//! The vector store of customer fingerprints on both backends: exact cosine
//! k-nearest neighbours, filters, replacement and organization isolation,
//! through the embedded vector index (the harness attaches one), a Qdrant
//! server index (the in-process fake) and the table scan alike.

use aima_runtime::store::{Neighbour, NeighbourFilter, NewCustomer, NewFingerprint, Store};
use aima_vectors::testing::FakeQdrant;
use aima_vectors::{ServerConfig, VectorBackend};
use chrono::{TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::harness::{Ctx, store_tests};

store_tests!(
    knn_is_exact_and_filtered,
    fingerprints_replace_and_isolate_orgs,
    index_and_scan_agree_and_stale_partitions_are_rebuilt,
    server_index_answers_and_the_scan_covers_for_it_when_down
);

async fn org_with(store: &Store, slug: &str, n: usize) -> (Uuid, Vec<Uuid>) {
    let org = store.create_organization(slug, slug).await.unwrap().id;
    let customers: Vec<NewCustomer> = (0..n)
        .map(|i| NewCustomer {
            id: Uuid::now_v7(),
            external_id: None,
            email: Some(format!("{slug}{i}@example.com")),
            first_name: None,
            last_name: None,
            full_name: Some(format!("{slug} {i}")),
            phone: None,
            city: None,
            country: None,
            tags: vec![],
            properties: json!({}),
            created_at: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
        })
        .collect();
    let mut tx = store.begin().await.unwrap();
    tx.insert_customers(org, &customers).await.unwrap();
    tx.commit().await.unwrap();
    (org, customers.iter().map(|c| c.id).collect())
}

fn fp(customer: Uuid, vector: &[f32], cluster: Option<i64>) -> NewFingerprint {
    NewFingerprint {
        customer_id: customer,
        vector: vector.to_vec(),
        cluster,
    }
}

async fn knn_is_exact_and_filtered(ctx: Ctx) {
    let store = &ctx.store;
    let (org, c) = org_with(store, "shop", 6).await;
    let at = Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap();
    // Query c0 = (1, 0, 0). Cosines: c1 0.995, c2 0.8, c3 0.0, c4 -1, c5 0.6
    // (c5 is scaled: cosine ignores length).
    let rows = vec![
        fp(c[0], &[1.0, 0.0, 0.0], Some(0)),
        fp(c[1], &[0.995, 0.0998749, 0.0], Some(0)),
        fp(c[2], &[0.8, 0.6, 0.0], Some(1)),
        fp(c[3], &[0.0, 0.0, 2.0], Some(1)),
        fp(c[4], &[-3.0, 0.0, 0.0], None),
        fp(c[5], &[6.0, 8.0, 0.0], Some(1)),
    ];
    assert_eq!(
        store
            .replace_fingerprints(org, "v1", at, &rows)
            .await
            .unwrap(),
        6
    );
    let all = store
        .nearest_fingerprints(org, c[0], 10, &NeighbourFilter::default())
        .await
        .unwrap()
        .unwrap();
    let order: Vec<Uuid> = all.iter().map(|n| n.customer_id).collect();
    assert_eq!(order, vec![c[1], c[2], c[5], c[3], c[4]]);
    let sims: Vec<f64> = all.iter().map(|n| n.similarity).collect();
    for (got, want) in sims.iter().zip([0.995, 0.8, 0.6, 0.0, -1.0]) {
        assert!((got - want).abs() < 1e-4, "{sims:?}");
    }
    assert_eq!(all[4].cluster, None);

    let top2 = store
        .nearest_fingerprints(org, c[0], 2, &NeighbourFilter::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(top2.len(), 2);
    assert_eq!(top2[0].customer_id, c[1]);

    let in_cluster_1 = store
        .nearest_fingerprints(
            org,
            c[0],
            10,
            &NeighbourFilter {
                segment: None,
                cluster: Some(1),
            },
        )
        .await
        .unwrap()
        .unwrap();
    let ids: Vec<Uuid> = in_cluster_1.iter().map(|n| n.customer_id).collect();
    assert_eq!(ids, vec![c[2], c[5], c[3]]);

    // Segment filter: only current members of "champions".
    store
        .record_personas(
            org,
            at,
            &[
                (c[3], "champions".to_string()),
                (c[4], "champions".to_string()),
                (c[1], "hibernating".to_string()),
            ],
        )
        .await
        .unwrap();
    let champions = store
        .nearest_fingerprints(
            org,
            c[0],
            10,
            &NeighbourFilter {
                segment: Some("champions".into()),
                cluster: None,
            },
        )
        .await
        .unwrap()
        .unwrap();
    let ids: Vec<Uuid> = champions.iter().map(|n| n.customer_id).collect();
    assert_eq!(ids, vec![c[3], c[4]]);

    let stored = store.fingerprint_of(org, c[2]).await.unwrap().unwrap();
    assert_eq!(stored.vector, vec![0.8, 0.6, 0.0]);
    assert_eq!(stored.cluster, Some(1));
    assert_eq!(stored.model_version, "v1");
    assert_eq!(stored.computed_at, at);
}

async fn fingerprints_replace_and_isolate_orgs(ctx: Ctx) {
    let store = &ctx.store;
    let (org, c) = org_with(store, "a", 3).await;
    let (other, o) = org_with(store, "b", 2).await;
    let at = Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap();
    // Unknown customer: no fingerprint yet.
    assert!(
        store
            .nearest_fingerprints(org, c[0], 5, &NeighbourFilter::default())
            .await
            .unwrap()
            .is_none()
    );
    store
        .replace_fingerprints(
            org,
            "v1",
            at,
            &[
                fp(c[0], &[1.0, 0.0], Some(0)),
                fp(c[1], &[0.0, 1.0], Some(0)),
                fp(c[2], &[1.0, 1.0], None),
            ],
        )
        .await
        .unwrap();
    store
        .replace_fingerprints(
            other,
            "w1",
            at,
            &[
                fp(o[0], &[1.0, 0.0], Some(0)),
                fp(o[1], &[1.0, 0.0], Some(0)),
            ],
        )
        .await
        .unwrap();
    // The other org's identical vectors are never neighbours.
    let n = store
        .nearest_fingerprints(org, c[0], 10, &NeighbourFilter::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n.len(), 2);
    assert!(n.iter().all(|x| c.contains(&x.customer_id)));
    // A customer of the other org has no fingerprint in `org`.
    assert!(
        store
            .nearest_fingerprints(org, o[0], 10, &NeighbourFilter::default())
            .await
            .unwrap()
            .is_none()
    );
    // Replacing drops customers absent from the new run, in this org only.
    let later = at + chrono::Duration::days(1);
    store
        .replace_fingerprints(org, "v2", later, &[fp(c[1], &[0.5, 0.5], Some(3))])
        .await
        .unwrap();
    let all = store.fingerprints(org).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].customer_id, c[1]);
    assert_eq!(all[0].model_version, "v2");
    assert_eq!(all[0].cluster, Some(3));
    assert_eq!(store.fingerprints(other).await.unwrap().len(), 2);
}

/// A second handle on the same database without the vector index: it
/// answers from the exact scan of the table, and its writes do not touch
/// the index (as another process's would not).
async fn without_index(ctx: &Ctx) -> Store {
    Store::open(Some(&ctx.url), std::path::Path::new("."))
        .await
        .unwrap()
}

/// Seeded pseudo-random 8-d fingerprints of `customers`, clusters 0..3 and
/// some noise.
fn random_rows(customers: &[Uuid]) -> Vec<NewFingerprint> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    customers
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let v: Vec<f32> = (0..8).map(|_| next()).collect();
            fp(*id, &v, (i % 5 != 0).then_some((i % 3) as i64))
        })
        .collect()
}

/// Stores `random_rows` of `c` through `store` and puts every fourth
/// customer in the Champions persona.
async fn random_run(store: &Store, org: Uuid, c: &[Uuid]) -> Vec<NewFingerprint> {
    let at = Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap();
    let rows = random_rows(c);
    store
        .replace_fingerprints(org, "v1", at, &rows)
        .await
        .unwrap();
    store
        .record_personas(
            org,
            at,
            &c.iter()
                .step_by(4)
                .map(|id| (*id, "champions".to_string()))
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    rows
}

/// No filter, a cluster, a segment.
fn filters() -> [NeighbourFilter; 3] {
    [
        NeighbourFilter::default(),
        NeighbourFilter {
            segment: None,
            cluster: Some(2),
        },
        NeighbourFilter {
            segment: Some("champions".into()),
            cluster: None,
        },
    ]
}

fn same(a: &[Neighbour], b: &[Neighbour]) {
    assert_eq!(
        a.iter().map(|n| n.customer_id).collect::<Vec<_>>(),
        b.iter().map(|n| n.customer_id).collect::<Vec<_>>()
    );
    for (x, y) in a.iter().zip(b) {
        assert!((x.similarity - y.similarity).abs() < 1e-5);
        assert_eq!(x.cluster, y.cluster);
    }
}

/// Searches `store` and `scan` for the 6 neighbours of each of `customers`
/// under every filter and checks they agree.
async fn agree(store: &Store, scan: &Store, org: Uuid, customers: &[Uuid]) {
    for customer in customers {
        for filter in &filters() {
            let indexed = store
                .nearest_fingerprints(org, *customer, 6, filter)
                .await
                .unwrap()
                .unwrap();
            let exact = scan
                .nearest_fingerprints(org, *customer, 6, filter)
                .await
                .unwrap()
                .unwrap();
            assert!(!indexed.is_empty());
            same(&indexed, &exact);
        }
    }
}

async fn index_and_scan_agree_and_stale_partitions_are_rebuilt(ctx: Ctx) {
    let store = &ctx.store;
    let scan = without_index(&ctx).await;
    let (org, c) = org_with(store, "shop", 80).await;
    let at = Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap();
    let rows = random_run(store, org, &c).await;
    agree(store, &scan, org, &[c[0], c[7], c[33]]).await;

    // Another writer (no index) replaces the run: the indexed store sees its
    // partition's label is stale and rebuilds it before answering.
    let moved: Vec<NewFingerprint> = rows
        .iter()
        .map(|r| {
            fp(
                r.customer_id,
                &r.vector.iter().rev().copied().collect::<Vec<_>>(),
                Some(9),
            )
        })
        .collect();
    let later = at + chrono::Duration::hours(1);
    scan.replace_fingerprints(org, "v2", later, &moved)
        .await
        .unwrap();
    let indexed = store
        .nearest_fingerprints(org, c[7], 6, &NeighbourFilter::default())
        .await
        .unwrap()
        .unwrap();
    let exact = scan
        .nearest_fingerprints(org, c[7], 6, &NeighbourFilter::default())
        .await
        .unwrap()
        .unwrap();
    same(&indexed, &exact);
    assert!(indexed.iter().all(|n| n.cluster == Some(9)));
    scan.close().await;
}

async fn server_index_answers_and_the_scan_covers_for_it_when_down(ctx: Ctx) {
    let mut server = FakeQdrant::start().unwrap();
    let scan = without_index(&ctx).await;
    let store = without_index(&ctx)
        .await
        .with_vector_index(VectorBackend::Server(ServerConfig::new(server.url())));
    assert!(store.check_vector_index(8).await.unwrap());
    let (org, c) = org_with(&store, "shop", 40).await;
    let (other, d) = org_with(&store, "other", 5).await;
    random_run(&store, org, &c).await;
    store
        .replace_fingerprints(other, "v1", Utc::now(), &random_rows(&d))
        .await
        .unwrap();
    // The run went to the server: both organizations' points, one version
    // record each.
    assert_eq!(server.point_count("fingerprints-8d"), Some(45));
    assert_eq!(server.point_count("fingerprints-8d-versions"), Some(2));

    // Searches are answered by the server (one query each) and equal the
    // exact scan, filters included; the other organization never shows.
    agree(&store, &scan, org, &[c[0], c[7], c[33]]).await;
    assert_eq!(server.queries(), 9);
    let near = store
        .nearest_fingerprints(org, c[1], 50, &NeighbourFilter::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(near.len(), 39);
    assert!(near.iter().all(|n| c.contains(&n.customer_id)));

    // A second process on the same server finds the partition current.
    let second = without_index(&ctx)
        .await
        .with_vector_index(VectorBackend::Server(ServerConfig::new(server.url())));
    agree(&second, &scan, org, &[c[2]]).await;
    assert_eq!(server.queries(), 13);

    // The server goes down: answers come from the scan, unchanged.
    server.stop();
    agree(&store, &scan, org, &[c[0], c[7]]).await;
    assert!(store.check_vector_index(16).await.is_err());
    scan.close().await;
    second.close().await;
    store.close().await;
}
