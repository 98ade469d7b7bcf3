//! Imports through the ingest actor, recorded as `import` jobs.

use std::fmt::Write as _;
use std::time::Duration;

use aima_actors::{
    BackoffPolicy, Handlers, IMPORT_JOB_KIND, ImportError, Runtime, RuntimeEvent, RuntimeOptions,
    WorkerId,
};

use crate::support::wait_for;
use aima_ingest::pipeline::ImportOptions;
use aima_runtime::store::JobStatus;
use aima_runtime::store::testing::Ctx;
use aima_runtime::store_tests;

store_tests!(
    imports_run_in_the_ingest_actor_and_are_recorded,
    an_import_cut_short_by_its_actor_failing_writes_nothing_and_says_so,
);

async fn imports_run_in_the_ingest_actor_and_are_recorded(ctx: Ctx) {
    let store = &ctx.store;
    let org = store.create_organization("shop", "Shop").await.unwrap().id;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.csv");
    std::fs::write(
        &path,
        "Order ID,Order Date,Email,Customer Name,City,Amount,Status\n\
         A-1,2024-01-02,lena@example.com,Lena Berg,Oslo,10.00,paid\n\
         A-2,2024-01-03,omar@example.com,Omar Ali,Cairo,20.00,paid\n\
         A-3,2024-01-04,omar@example.com,Omar Ali,Cairo,5.00,paid\n",
    )
    .unwrap();
    let runtime = Runtime::start(store.clone(), Handlers::new(), RuntimeOptions::default())
        .await
        .unwrap();
    let ingest = runtime.ingest();
    let options = ImportOptions {
        source_name: "orders.csv".to_owned(),
        ..ImportOptions::default()
    };
    let done = ingest
        .import(org, path.clone(), options.clone(), "manual")
        .await
        .unwrap();
    assert_eq!(done.report.customers_created, 2);
    assert_eq!(done.report.orders_created, 3);
    assert_eq!(store.count_orders(org).await.unwrap(), 3);
    let job = store.job(done.job_id).await.unwrap().unwrap();
    assert_eq!(job.kind, IMPORT_JOB_KIND);
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(job.organization_id, Some(org));
    assert_eq!(job.details.unwrap()["orders_created"], 3);

    // A failing import is an error naming its job, which records the error.
    let missing = dir.path().join("missing.csv");
    match ingest.import(org, missing, options, "api").await {
        Err(ImportError::Import { job_id, message }) => {
            let job = store.job(job_id).await.unwrap().unwrap();
            assert_eq!(job.status, JobStatus::Failed);
            assert_eq!(job.error.as_deref(), Some(message.as_str()));
            assert_eq!(job.trigger, "api");
        }
        other => panic!("expected an import error, got {other:?}"),
    }
    runtime.shutdown().await;
}

async fn an_import_cut_short_by_its_actor_failing_writes_nothing_and_says_so(ctx: Ctx) {
    let store = &ctx.store;
    let org = store.create_organization("shop", "Shop").await.unwrap().id;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.csv");
    let mut csv = String::from("Order ID,Order Date,Email,Customer Name,Amount\n");
    for i in 0..25_000 {
        writeln!(
            csv,
            "A-{i},2024-01-02,c{i}@example.com,Customer {i},{}.00",
            i % 90 + 1
        )
        .unwrap();
    }
    std::fs::write(&path, csv).unwrap();
    let runtime = Runtime::start(
        store.clone(),
        Handlers::new(),
        RuntimeOptions {
            backoff: BackoffPolicy {
                initial: Duration::from_millis(5),
                max: Duration::from_millis(5),
                reset_after: Duration::from_secs(3600),
            },
            ..RuntimeOptions::default()
        },
    )
    .await
    .unwrap();
    let mut events = runtime.subscribe();
    let import = {
        let ingest = runtime.ingest();
        let path = path.clone();
        tokio::spawn(async move {
            ingest
                .import(org, path, ImportOptions::default(), "manual")
                .await
        })
    };
    // Kill the ingest actor once the import has read its first 10,000 rows.
    let job_id = wait_for(&mut events, |e| match e {
        RuntimeEvent::ImportProgress {
            job_id, rows_total, ..
        } => {
            assert_eq!(*rows_total, 25_000);
            Some(*job_id)
        }
        _ => None,
    })
    .await;
    runtime
        .actor(WorkerId::Ingest)
        .await
        .expect("ingest is up")
        .kill();
    match import.await.unwrap() {
        Err(ImportError::Unavailable { reason }) => {
            assert!(reason.contains("nothing was written"), "{reason}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let job = wait_for(&mut events, |e| match e {
        RuntimeEvent::JobFinished {
            id, status, error, ..
        } if *id == job_id => Some((*status, error.clone())),
        _ => None,
    })
    .await;
    assert_eq!(job.0, JobStatus::Failed);
    assert!(job.1.unwrap().contains("stopped during the import"));
    assert_eq!(store.count_orders(org).await.unwrap(), 0);
    assert_eq!(store.count_customers(org).await.unwrap(), 0);

    // Once it is back, imports go through again.
    wait_for(&mut events, |e| match e {
        RuntimeEvent::ActorRestarted { actor, .. } if actor == "ingest" => Some(()),
        _ => None,
    })
    .await;
    let small = dir.path().join("small.csv");
    std::fs::write(
        &small,
        "Order ID,Order Date,Email,Customer Name,Amount\nB-1,2024-01-02,x@example.com,X,3.00\n",
    )
    .unwrap();
    let done = runtime
        .ingest()
        .import(org, small, ImportOptions::default(), "manual")
        .await
        .unwrap();
    assert_eq!(done.report.orders_created, 1);
    runtime.shutdown().await;
}
