//! Liveness and readiness.

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
