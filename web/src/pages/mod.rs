//! The dashboard: server-rendered pages (issue 5). Not built yet: the
//! routes are added here.

use axum::Router;

use crate::state::AppState;

/// The dashboard's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
