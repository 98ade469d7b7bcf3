//! Imports through the ingest actor, recorded as `import` jobs.

use aima_actors::{Handlers, IMPORT_JOB_KIND, ImportError, Runtime, RuntimeOptions};
use aima_ingest::pipeline::ImportOptions;
use aima_runtime::store::JobStatus;
use aima_runtime::store::testing::Ctx;
use aima_runtime::store_tests;

store_tests!(imports_run_in_the_ingest_actor_and_are_recorded);

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
