//! Liveness, readiness and metrics.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::error::ApiError;
use crate::openapi::{Api, Op};
use crate::state::AppState;

pub(crate) fn routes(api: Api) -> Api {
    api.add(
        Op::get("/healthz", "operations", "Liveness: the process answers")
            .returns_text("text/plain"),
        get(|| async { "ok" }),
    )
    .add(
        Op::get("/metrics", "operations", "Prometheus metrics (text exposition format)")
            .describe("HTTP requests and latency by route, tool-call latency and errors by tool, actor restarts, job durations by kind and status, imported rows. No key needed: labels carry no organization or customer data.")
            .returns_text("text/plain"),
        get(|State(state): State<AppState>| async move { crate::metrics::exposition(state.metrics()) }),
    )
    .add(
        Op::get("/readyz", "operations", "Readiness: the database answers")
            .describe("503 while the database does not answer.")
            .returns_text("text/plain"),
        get(ready),
    )
}

async fn ready(State(state): State<AppState>) -> Result<(StatusCode, &'static str), ApiError> {
    state
        .store()
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable {
            message: format!("the database does not answer: {e}"),
        })?;
    Ok((StatusCode::OK, "ready"))
}
