//! Nothing accepted is lost: jobs running when their actor dies are re-run
//! after the restart (or failed after too many crashes), and jobs left by a
//! stopped process are picked up by the next one.

use std::time::Duration;

use aima_actors::{
    BackoffPolicy, Handlers, IMPORT_JOB_KIND, JobKind, Runtime, RuntimeEvent, RuntimeOptions,
    WorkerId,
};
use aima_runtime::store::JobStatus;
use aima_runtime::store::testing::Ctx;
use aima_runtime::store_tests;
use aima_tools::Module;

use crate::scheduler::finished;
use crate::support::{Behaviour, TestRunner, wait_for};

store_tests!(
    a_job_that_crashes_its_actor_is_rerun_after_the_restart,
    a_job_that_always_crashes_is_failed_after_three_tries,
    jobs_left_by_a_stopped_process_run_at_the_next_start,
    a_job_accepted_while_its_actor_is_down_runs_when_it_is_back,
);

fn quick_restarts() -> RuntimeOptions {
    RuntimeOptions {
        auto_tick: false,
        backoff: BackoffPolicy {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(20),
            reset_after: Duration::from_secs(3600),
        },
        ..RuntimeOptions::default()
    }
}

async fn a_job_that_crashes_its_actor_is_rerun_after_the_restart(ctx: Ctx) {
    let features = TestRunner::new(Behaviour::PanicFirst(1));
    let runtime = Runtime::start(
        ctx.store.clone(),
        Handlers::new().with_job(JobKind::Features, features.clone()),
        quick_restarts(),
    )
    .await
    .unwrap();
    let mut events = runtime.subscribe();
    let id = runtime
        .scheduler()
        .trigger(JobKind::Features, None)
        .await
        .unwrap();
    let reason = wait_for(&mut events, |e| match e {
        RuntimeEvent::ActorDown { actor, reason, .. } if actor == "m1" => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(reason.contains("crashed on run 1"), "{reason}");
    assert_eq!(
        wait_for(&mut events, finished(id)).await,
        (JobStatus::Succeeded, None)
    );
    assert_eq!(features.runs(), 2);
    let job = ctx.store.job(id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(job.details.unwrap()["run"], 2);
    runtime.shutdown().await;
}

async fn a_job_that_always_crashes_is_failed_after_three_tries(ctx: Ctx) {
    let churn = TestRunner::new(Behaviour::PanicFirst(u32::MAX));
    let runtime = Runtime::start(
        ctx.store.clone(),
        Handlers::new().with_job(JobKind::Churn, churn.clone()),
        quick_restarts(),
    )
    .await
    .unwrap();
    let mut events = runtime.subscribe();
    let id = runtime
        .scheduler()
        .trigger(JobKind::Churn, None)
        .await
        .unwrap();
    let (status, error) = wait_for(&mut events, finished(id)).await;
    assert_eq!(status, JobStatus::Failed);
    let error = error.unwrap();
    assert!(
        error.contains("stopped the M6 CLV and churn actor 3 times"),
        "{error}"
    );
    assert!(error.contains("crashed on run 3"), "{error}");
    assert_eq!(churn.runs(), 3);
    let job = ctx.store.job(id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(job.error.as_deref(), Some(error.as_str()));
    runtime.shutdown().await;
}

async fn jobs_left_by_a_stopped_process_run_at_the_next_start(ctx: Ctx) {
    let store = &ctx.store;
    let org = store.create_organization("shop", "Shop").await.unwrap().id;
    // What a process that died left behind: a queued job, a running one and
    // an import in progress.
    let queued = store.enqueue_job(None, "churn", "schedule").await.unwrap();
    let running = store
        .enqueue_job(Some(org), "churn", "manual")
        .await
        .unwrap();
    assert!(store.claim_job(running).await.unwrap());
    let import = store
        .start_job(Some(org), IMPORT_JOB_KIND, "manual")
        .await
        .unwrap();

    let churn = TestRunner::new(Behaviour::Succeed);
    // Subscribing happens after start, so wait on the jobs table's state via
    // the events of jobs that may still be running, or read it if done.
    let runtime = Runtime::start(
        store.clone(),
        Handlers::new().with_job(JobKind::Churn, churn.clone()),
        quick_restarts(),
    )
    .await
    .unwrap();
    let mut events = runtime.subscribe();
    for id in [queued, running] {
        let job = store.job(id).await.unwrap().unwrap();
        if job.status != JobStatus::Succeeded {
            assert_eq!(
                wait_for(&mut events, finished(id)).await,
                (JobStatus::Succeeded, None)
            );
        }
    }
    assert_eq!(churn.runs(), 2);
    let import = store.job(import).await.unwrap().unwrap();
    assert_eq!(import.status, JobStatus::Failed);
    assert!(
        import.error.unwrap().contains("nothing was written"),
        "import job error"
    );
    runtime.shutdown().await;
}

async fn a_job_accepted_while_its_actor_is_down_runs_when_it_is_back(ctx: Ctx) {
    let churn = TestRunner::new(Behaviour::Succeed);
    let runtime = Runtime::start(
        ctx.store.clone(),
        Handlers::new().with_job(JobKind::Churn, churn.clone()),
        RuntimeOptions {
            // Held down until `restart_now`.
            backoff: BackoffPolicy {
                initial: Duration::from_secs(3600),
                max: Duration::from_secs(3600),
                reset_after: Duration::from_secs(3600),
            },
            ..quick_restarts()
        },
    )
    .await
    .unwrap();
    let m6 = WorkerId::Module(Module::M6);
    let mut events = runtime.subscribe();
    runtime.actor(m6).await.expect("m6 is up").kill();
    wait_for(&mut events, |e| match e {
        RuntimeEvent::ActorDown { actor, .. } if actor == "m6" => Some(()),
        _ => None,
    })
    .await;
    // Accepted and recorded while nobody can run it.
    let id = runtime
        .scheduler()
        .trigger(JobKind::Churn, None)
        .await
        .unwrap();
    let job = ctx.store.job(id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Queued);
    assert_eq!(churn.runs(), 0);

    runtime.restart_now(m6);
    assert_eq!(
        wait_for(&mut events, finished(id)).await,
        (JobStatus::Succeeded, None)
    );
    assert_eq!(churn.runs(), 1);
    runtime.shutdown().await;
}
