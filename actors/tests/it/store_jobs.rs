//! The store's queued-job methods the runtime relies on, on both backends.

use aima_runtime::store::JobStatus;
use aima_runtime::store::testing::Ctx;
use aima_runtime::store_tests;
use serde_json::json;
use uuid::Uuid;

store_tests!(claims_are_exclusive_and_requeue_only_running_jobs);

async fn claims_are_exclusive_and_requeue_only_running_jobs(ctx: Ctx) {
    let store = &ctx.store;
    let org = store.create_organization("shop", "Shop").await.unwrap().id;
    let a = store.enqueue_job(None, "churn", "schedule").await.unwrap();
    let b = store
        .enqueue_job(Some(org), "features", "manual")
        .await
        .unwrap();
    let other = store.enqueue_job(None, "drift", "schedule").await.unwrap();

    let job = store.job(a).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Queued);
    assert_eq!(job.finished_at, None);
    assert_eq!(store.job(Uuid::now_v7()).await.unwrap(), None);

    let unfinished = store.unfinished_jobs(&["churn", "features"]).await.unwrap();
    let ids: Vec<Uuid> = unfinished.iter().map(|j| j.id).collect();
    assert_eq!(ids, vec![a, b], "oldest first, only the kinds asked for");
    assert!(store.unfinished_jobs(&[]).await.unwrap().is_empty());

    // Exactly one claimant wins; a running job cannot be claimed again.
    let (x, y) = tokio::join!(store.claim_job(a), store.claim_job(a));
    assert!(x.unwrap() ^ y.unwrap());
    assert_eq!(
        store.job(a).await.unwrap().unwrap().status,
        JobStatus::Running
    );
    assert!(!store.claim_job(Uuid::now_v7()).await.unwrap());

    // Requeue applies to running jobs only.
    assert!(!store.requeue_job(b).await.unwrap());
    assert!(store.requeue_job(a).await.unwrap());
    assert_eq!(
        store.job(a).await.unwrap().unwrap().status,
        JobStatus::Queued
    );
    assert!(store.claim_job(a).await.unwrap());

    // Finished jobs are no longer unfinished, and cannot be claimed.
    store.finish_job(a, Ok(json!({"scored": 3}))).await.unwrap();
    assert!(!store.claim_job(a).await.unwrap());
    assert!(!store.requeue_job(a).await.unwrap());
    let ids: Vec<Uuid> = store
        .unfinished_jobs(&["churn", "features", "drift"])
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(ids, vec![b, other]);
    let done = store.job(a).await.unwrap().unwrap();
    assert_eq!(done.status, JobStatus::Succeeded);
    assert!(done.duration_ms.unwrap() >= 0);
}
