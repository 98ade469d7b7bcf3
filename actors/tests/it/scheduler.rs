//! The scheduler on both backends: schedules fire at their times (by an
//! injected clock, no waiting), waiting kinds are listed and refused, and
//! every run is recorded in the jobs table.

use std::sync::Arc;

use aima_actors::{
    Fired, Handlers, JobKind, ManualClock, Runtime, RuntimeEvent, RuntimeOptions, ScheduleState,
    SchedulerError,
};
use aima_runtime::store::testing::Ctx;
use aima_runtime::store::{JobStatus, Store};
use aima_runtime::store_tests;
use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use crate::support::{Behaviour, TestRunner, wait_for};

store_tests!(
    schedules_fire_by_the_clock_and_runs_are_recorded,
    manual_triggers_run_now_or_say_the_module_is_missing,
);

fn utc(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, mi, 0).unwrap()
}

pub fn finished(id: Uuid) -> impl FnMut(&RuntimeEvent) -> Option<(JobStatus, Option<String>)> {
    move |e| match e {
        RuntimeEvent::JobFinished {
            id: i,
            status,
            error,
            ..
        } if *i == id => Some((*status, error.clone())),
        _ => None,
    }
}

async fn start(store: &Store, clock: Arc<ManualClock>, handlers: Handlers) -> Runtime {
    Runtime::start(
        store.clone(),
        handlers,
        RuntimeOptions {
            clock,
            auto_tick: false,
            ..RuntimeOptions::default()
        },
    )
    .await
    .unwrap()
}

async fn schedules_fire_by_the_clock_and_runs_are_recorded(ctx: Ctx) {
    let store = &ctx.store;
    // Sunday 2026-11-29, one minute before midnight.
    let clock = Arc::new(ManualClock::new(utc(29, 23, 59)));
    let features = TestRunner::new(Behaviour::Succeed);
    let churn = TestRunner::new(Behaviour::Fail("no orders in the last year to score"));
    let runtime = start(
        store,
        clock.clone(),
        Handlers::new()
            .with_job(JobKind::Features, features.clone())
            .with_job(JobKind::Churn, churn.clone()),
    )
    .await;
    let scheduler = runtime.scheduler();

    let schedules = scheduler.schedules().await.unwrap();
    assert_eq!(schedules.len(), 6);
    let by_kind = |k: JobKind| schedules.iter().find(|s| s.kind == k).unwrap().clone();
    assert_eq!(by_kind(JobKind::Features).state, ScheduleState::Active);
    assert_eq!(by_kind(JobKind::Features).next_fire, Some(utc(30, 0, 0)));
    assert_eq!(by_kind(JobKind::Churn).next_fire, Some(utc(30, 2, 0)));
    assert_eq!(
        by_kind(JobKind::WeeklyReport).next_fire,
        Some(utc(30, 8, 0))
    );
    assert_eq!(by_kind(JobKind::WeeklyReport).time_zone, "UTC");
    assert_eq!(
        by_kind(JobKind::WeeklyReport).state,
        ScheduleState::WaitingForModule {
            module: "M7 planner".to_owned()
        }
    );
    assert_eq!(
        by_kind(JobKind::BrandSentiment).state,
        ScheduleState::WaitingForModule {
            module: "M4 brand monitor".to_owned()
        }
    );

    // Nothing is due yet.
    assert_eq!(scheduler.tick().await.unwrap(), vec![]);

    // Midnight: features (every 6 h) runs; the 30- and 15-minute jobs are
    // due too but wait for their modules.
    let mut events = runtime.subscribe();
    clock.set(utc(30, 0, 0));
    let fired = scheduler.tick().await.unwrap();
    let Some(Fired::Queued { job_id, .. }) = fired
        .iter()
        .find(|f| {
            matches!(
                f,
                Fired::Queued {
                    kind: JobKind::Features,
                    ..
                }
            )
        })
        .cloned()
    else {
        panic!("features did not fire: {fired:?}")
    };
    assert!(fired.contains(&Fired::Waiting {
        kind: JobKind::ConnectorSync
    }));
    assert!(fired.contains(&Fired::Waiting {
        kind: JobKind::BrandSentiment
    }));
    assert_eq!(fired.len(), 3, "{fired:?}");
    assert_eq!(
        wait_for(&mut events, finished(job_id)).await,
        (JobStatus::Succeeded, None)
    );
    assert_eq!(features.runs(), 1);
    // Firing again at the same time does nothing: the next fire is 06:00.
    assert_eq!(scheduler.tick().await.unwrap(), vec![]);

    // 02:00: churn runs and fails; the failure is recorded.
    clock.set(utc(30, 2, 0));
    let fired = scheduler.tick().await.unwrap();
    let churn_id = fired
        .iter()
        .find_map(|f| match f {
            Fired::Queued {
                kind: JobKind::Churn,
                job_id,
            } => Some(*job_id),
            _ => None,
        })
        .expect("churn fired");
    assert_eq!(
        wait_for(&mut events, finished(churn_id)).await,
        (
            JobStatus::Failed,
            Some("no orders in the last year to score".to_owned())
        )
    );

    let jobs = store.list_jobs(None, 10).await.unwrap();
    let features_job = jobs.iter().find(|j| j.id == job_id).unwrap();
    assert_eq!(features_job.kind, "features");
    assert_eq!(features_job.trigger, "schedule");
    assert_eq!(features_job.status, JobStatus::Succeeded);
    assert!(features_job.duration_ms.is_some());
    assert_eq!(features_job.details.as_ref().unwrap()["run"], 1);
    let churn_job = jobs.iter().find(|j| j.id == churn_id).unwrap();
    assert_eq!(churn_job.status, JobStatus::Failed);
    assert_eq!(
        churn_job.error.as_deref(),
        Some("no orders in the last year to score")
    );
    assert!(churn_job.finished_at.is_some());
    // Only the two runs were recorded: waiting kinds leave no rows.
    assert_eq!(jobs.len(), 2, "{jobs:?}");

    // A week later, on Monday 06:00: missed fires are not replayed one by
    // one; each due schedule fires once.
    clock.set(utc(30, 6, 0) + chrono::Duration::days(7));
    let fired = scheduler.tick().await.unwrap();
    let queued: Vec<JobKind> = fired
        .iter()
        .filter_map(|f| match f {
            Fired::Queued { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    assert_eq!(queued, vec![JobKind::Features, JobKind::Churn]);
    runtime.shutdown().await;
}

async fn manual_triggers_run_now_or_say_the_module_is_missing(ctx: Ctx) {
    let store = &ctx.store;
    let org = store.create_organization("shop", "Shop").await.unwrap().id;
    let clock = Arc::new(ManualClock::new(utc(25, 12, 0)));
    let drift = TestRunner::new(Behaviour::Succeed);
    let runtime = start(
        store,
        clock,
        Handlers::new().with_job(JobKind::Drift, drift.clone()),
    )
    .await;
    let scheduler = runtime.scheduler();
    let mut events = runtime.subscribe();

    let id = scheduler.trigger(JobKind::Drift, Some(org)).await.unwrap();
    assert_eq!(
        wait_for(&mut events, finished(id)).await,
        (JobStatus::Succeeded, None)
    );
    let jobs = store.list_jobs(Some(org), 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].trigger, "manual");
    assert_eq!(jobs[0].kind, "drift");
    assert_eq!(jobs[0].details.as_ref().unwrap()["org"], org.to_string());

    let err = scheduler
        .trigger(JobKind::Churn, Some(org))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SchedulerError::ModuleNotBuilt {
            kind: JobKind::Churn,
            module: "M6 CLV and churn".to_owned()
        }
    );
    assert_eq!(
        err.to_string(),
        "`churn` cannot run yet: M6 CLV and churn has not been built"
    );
    assert!(matches!(
        scheduler.trigger(JobKind::WeeklyReport, None).await,
        Err(SchedulerError::ModuleNotBuilt { .. })
    ));
    assert_eq!(store.list_jobs(Some(org), 10).await.unwrap().len(), 1);
    runtime.shutdown().await;
}
