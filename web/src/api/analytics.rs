//! Segments (M1), CLV and churn (M6), revenue and products (data), and the
//! modules not built yet (M2-M5, answered 501 by their placeholder tools).
//! Every read is the planner's own tool, called through the module actors.

use aima_actors::{JobKind, SchedulerError};
use aima_runtime::store::Role;
use aima_tools::data::{RevenueOverTime, TopProducts};
use aima_tools::modules::{
    AtRiskCustomers, BrandSentiment, ChannelAttribution, ChurnPredictions, ClvBySegment,
    DraftMessage, DriftAlerts, MostValuableCustomers, PredictCampaign, SegmentMembers,
    SegmentsOverview, SimilarCustomers,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use super::{tool_get, tool_post};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::{Api, Op};
use crate::state::AppState;

pub(super) fn routes(api: Api) -> Api {
    let v = Role::Viewer;
    let a = Role::Analyst;
    let api = tool_get::<SegmentsOverview>(
        api,
        "/api/v1/segments",
        "segments",
        "Personas and fingerprint clusters",
        v,
    );
    let api = tool_get::<SegmentMembers>(
        api,
        "/api/v1/segments/members",
        "segments",
        "A persona's members",
        v,
    );
    let api = tool_get::<DriftAlerts>(
        api,
        "/api/v1/segments/alerts",
        "segments",
        "Drift alerts (moves to worse personas)",
        v,
    );
    let api = tool_get::<SimilarCustomers>(
        api,
        "/api/v1/segments/similar",
        "segments",
        "Customers like one customer (fingerprint neighbours)",
        v,
    );
    let api = api.add(
        Op::post("/api/v1/segments/run", "segments", "Recompute features, personas and fingerprints")
            .describe("Queues the `features` job (what the scheduler runs every 6 hours); poll GET /api/v1/jobs/{id}.")
            .role(a)
            .returns::<JobQueued>(202),
        post(|state: State<AppState>, caller: Caller| trigger(state, caller, JobKind::Features)),
    );
    let api = tool_get::<ChurnPredictions>(
        api,
        "/api/v1/clv-churn/predictions",
        "clv-churn",
        "Churn probabilities per customer",
        v,
    );
    let api = tool_get::<ClvBySegment>(
        api,
        "/api/v1/clv-churn/by-segment",
        "clv-churn",
        "CLV and churn by persona",
        v,
    );
    let api = tool_get::<AtRiskCustomers>(
        api,
        "/api/v1/clv-churn/at-risk",
        "clv-churn",
        "Valuable customers at risk, with interventions",
        v,
    );
    let api = tool_get::<MostValuableCustomers>(
        api,
        "/api/v1/clv-churn/most-valuable",
        "clv-churn",
        "Customers by predicted lifetime value",
        v,
    );
    let api = api.add(
        Op::post("/api/v1/clv-churn/run", "clv-churn", "Rescore churn and CLV")
            .describe("Queues the `churn` job (what the scheduler runs daily at 02:00); poll GET /api/v1/jobs/{id}.")
            .role(a)
            .returns::<JobQueued>(202),
        post(|state: State<AppState>, caller: Caller| trigger(state, caller, JobKind::Churn)),
    );
    let api = tool_get::<RevenueOverTime>(
        api,
        "/api/v1/revenue",
        "orders",
        "Revenue and orders per day, week or month",
        v,
    );
    let api = tool_get::<TopProducts>(
        api,
        "/api/v1/products/top",
        "orders",
        "Best-selling products",
        v,
    );
    let api = tool_post::<PredictCampaign>(
        api,
        "/api/v1/campaigns/predict",
        "campaigns",
        "Predict a campaign's outcome (M2, not built yet: 501)",
        a,
    );
    let api = tool_post::<DraftMessage>(
        api,
        "/api/v1/content/draft",
        "content",
        "Draft an on-brand message (M3, not built yet: 501)",
        a,
    );
    let api = tool_get::<BrandSentiment>(
        api,
        "/api/v1/brand/sentiment",
        "brand",
        "Sentiment by aspect (M4, not built yet: 501)",
        v,
    );
    tool_get::<ChannelAttribution>(
        api,
        "/api/v1/attribution/channels",
        "attribution",
        "Channel contributions (M5, not built yet: 501)",
        v,
    )
}

/// A queued job.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JobQueued {
    /// The job's id (GET /api/v1/jobs/{id}).
    pub job_id: Uuid,
    /// The job kind (`features`, `churn`).
    pub kind: String,
}

/// Queues a job of `kind` for the caller's organization (analyst or above).
pub(crate) async fn trigger(
    State(state): State<AppState>,
    caller: Caller,
    kind: JobKind,
) -> Result<(StatusCode, Json<JobQueued>), ApiError> {
    let job_id = state
        .scheduler()
        .trigger(kind, Some(caller.organization_id))
        .await
        .map_err(|e| match e {
            SchedulerError::ModuleNotBuilt { .. } => ApiError::NotImplemented {
                message: e.to_string(),
            },
            SchedulerError::Unavailable { .. } => ApiError::Unavailable {
                message: e.to_string(),
            },
            SchedulerError::Timeout { .. } => ApiError::Timeout {
                message: e.to_string(),
            },
            SchedulerError::Store { .. } => ApiError::internal("queueing the job", &e),
        })?;
    Ok((
        StatusCode::ACCEPTED,
        Json(JobQueued {
            job_id,
            kind: kind.as_str().to_owned(),
        }),
    ))
}
