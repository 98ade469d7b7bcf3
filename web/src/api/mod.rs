//! The REST API under `/api/v1`: one module per area, each adding its
//! routes (and their documentation) to the [`Api`].

mod agent;
mod analytics;
mod customers;
mod import;
mod org;

pub(crate) use agent::planner_error;
pub(crate) use analytics::{JobQueued, trigger};

use aima_runtime::registry::ToolContext;
use aima_runtime::store::Role;
use aima_tools::Tool;
use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::{MethodRouter, get, post};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::{Api, Op};
use crate::state::AppState;

/// Every `/api/v1` route.
pub(crate) fn routes(api: Api) -> Api {
    let api = org::routes(api);
    let api = customers::routes(api);
    let api = analytics::routes(api);
    let api = import::routes(api);
    agent::routes(api)
}

/// `axum::Json` whose rejection is an [`ApiError`] (400 malformed, 415 not
/// JSON, 422 wrong type or unknown field, 413 too large).
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// `axum::extract::Query` whose rejection is an [`ApiError`] (422 naming
/// the parameter).
pub(crate) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}

/// `axum::extract::Path` whose rejection is an [`ApiError`] (400).
pub(crate) struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(value))
    }
}

/// Whether the client asks for Server-Sent Events (`Accept:
/// text/event-stream`).
pub(crate) fn wants_sse(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/event-stream"))
}

/// The `limit` query parameter: `default` when absent, else 1 to `max`.
pub(crate) fn page_limit(limit: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::invalid(
            "limit",
            format!("limit must be 1 to {max}"),
        ))
    }
}

/// Calls tool `T` for the caller's organization with `input`.
pub(crate) async fn call_tool<T: Tool>(
    state: &AppState,
    caller: &Caller,
    input: &T::Input,
) -> Result<Json<Value>, ApiError> {
    let args = serde_json::to_value(input)
        .map_err(|e| ApiError::internal("encoding the tool arguments", &e))?;
    let ctx = ToolContext {
        organization_id: caller.organization_id,
        thread_id: None,
    };
    Ok(Json(state.registry().call(&ctx, T::NAME, args).await?))
}

/// `GET path`: tool `T` with its arguments from the query string; a key of
/// `role` or above.
pub(crate) fn tool_get<T>(
    api: Api,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    role: Role,
) -> Api
where
    T: Tool + 'static,
    T::Input: Send + Sync + 'static,
{
    let handler: MethodRouter<AppState> = get(
        move |State(state): State<AppState>,
              caller: Caller,
              ApiQuery(input): ApiQuery<T::Input>| async move {
            call_tool::<T>(&state, &caller, &input).await
        },
    );
    api.add(Op::get(path, tag, summary).role(role).tool::<T>(), handler)
}

/// `POST path`: tool `T` with its arguments as the JSON body; a key of
/// `role` or above.
pub(crate) fn tool_post<T>(
    api: Api,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    role: Role,
) -> Api
where
    T: Tool + 'static,
    T::Input: Send + Sync + 'static,
{
    let handler: MethodRouter<AppState> = post(
        move |State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<T::Input>| async move {
            call_tool::<T>(&state, &caller, &input).await
        },
    );
    api.add(Op::post(path, tag, summary).role(role).tool::<T>(), handler)
}
