//! The web edge of AIMA (axum 0.8): the REST API under `/api/v1` with its
//! OpenAPI 3.1 document (`/api/openapi.json`, browsable at `/docs`), API-key
//! authentication with roles, and the health endpoints.
//!
//! [`app`] builds the whole application from an [`AppState`] (the store,
//! the started actor runtime's handles and the planner); tests drive it
//! with `tower::ServiceExt::oneshot`, `aima serve` with [`serve`].
//!
//! Every `/api/v1` handler takes a [`Caller`] (from `Authorization: Bearer
//! <key>`) and scopes every read and write by its organization. Errors have
//! one JSON shape ([`ErrorBody`]) and one status mapping
//! ([`ApiError::status`]). Reads of analytics are the planner's own tools
//! called through the module actors, so the API and the planner cannot
//! disagree; endpoints of modules not built yet answer 501.
//!
//! Also here: the dashboard ([`pages`]: server-rendered pages over the JSON
//! API), browser sessions ([`session`]: sign-in with a key, CSRF), the
//! planner over a WebSocket (`/ws/chat`, with replay on reconnect) and
//! Prometheus metrics (`/metrics`). Not served yet: Slack/Discord and MCP
//! endpoints.

mod api;
mod auth;
mod docs;
mod error;
mod metrics;
mod openapi;
mod ops;
mod pages;
mod session;
mod state;
mod turns;
mod ws;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};

pub use auth::{Caller, Principal};
pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use metrics::Metrics;
pub use session::{CSRF_COOKIE, CSRF_HEADER, PageCaller, SESSION_COOKIE};
pub use state::{AppState, WebOptions};

/// Largest JSON body, in bytes (1 MiB). Imports have their own limit
/// ([`WebOptions::import_body_limit`]).
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

/// The application: every route, documented, over `state`.
pub fn app(state: AppState) -> Router {
    let (router, doc) = build();
    let doc = Arc::new(doc);
    let metrics = state.metrics().clone();
    router
        .merge(docs::routes(doc))
        .merge(pages::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::track,
        ))
        .fallback(|uri: Uri| async move {
            ApiError::NotFound {
                what: format!("route {}", uri.path()),
            }
        })
        .method_not_allowed_fallback(|method: Method| async move {
            ApiError::MethodNotAllowed {
                method: method.to_string(),
            }
        })
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .with_state(state)
}

/// The routes and the OpenAPI document describing them.
fn build() -> (Router<AppState>, serde_json::Value) {
    let api = ws::routes(session::routes(ops::routes(openapi::Api::new())));
    api::routes(api).finish()
}

/// The OpenAPI 3.1 document of [`app`] (what `/api/openapi.json` serves).
pub fn openapi_document() -> serde_json::Value {
    build().1
}

/// Serves `app` on `listener` until `shutdown` completes; requests in
/// flight then finish before this returns.
///
/// # Errors
/// The listener's I/O error.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
