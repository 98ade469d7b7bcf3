//! The dashboard: server-rendered pages over the JSON API (issue 5).
//!
//! Every page but `/login` takes a [`PageCaller`] (a signed-in browser;
//! without a session the page redirects to `/login?next=<path>`) and is
//! rendered from one shared layout (`web/templates/base.html`: the
//! navigation, the organization's name, a Sign out button). The server
//! renders the frame; each page's own script (`web/static/<page>.js`) reads
//! the page's data from `/api/v1` with the session cookie, sending the CSRF
//! token on every change, and inserts it into the DOM as text only. Nothing
//! is loaded from another site: the CSS, the scripts and the chart library
//! (uPlot, vendored in `web/vendor/uplot/`) are embedded in the binary and
//! served under `/static/`.

mod assets;
mod render;

use aima_ingest::Field;
use aima_runtime::registry::ToolContext;
use aima_tools::Tool;
use aima_tools::data::CustomerCount;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use minijinja::{Value, context};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::Caller;
use crate::session::PageCaller;
use crate::state::AppState;

/// The dashboard's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login))
        .route("/", get(dashboard))
        .route("/customers", get(customers))
        .route("/customers/{id}", get(customer))
        .route("/segments", get(segments))
        .route("/import", get(import))
        .route("/clv-churn", get(clv_churn))
        .route("/agent", get(agent))
        .route("/campaigns", get(campaigns))
        .route("/content", get(content))
        .route("/brand", get(brand))
        .route("/attribution", get(attribution))
        .route("/static/{*path}", get(assets::serve))
}

/// What every page's layout needs: the title, the active navigation entry,
/// the organization's name and the caller's role.
async fn layout(state: &AppState, caller: &Caller, active: &str, title: &str) -> Value {
    let org_name = match state.store().organization(caller.organization_id).await {
        Ok(Some(org)) => org.name,
        _ => "your organization".to_owned(),
    };
    context! {
        title,
        active,
        org_name,
        role => caller.role.as_str(),
        signed_in => true,
    }
}

/// A page of the layout: template `name` with the layout's context and
/// `extra`.
async fn framed(
    state: &AppState,
    caller: &Caller,
    active: &str,
    title: &str,
    name: &str,
    extra: Value,
) -> Response {
    let ctx = layout(state, caller, active, title).await;
    render::page(StatusCode::OK, name, context! { ..extra, ..ctx })
}

/// Query of `GET /login`.
#[derive(Debug, Default, Deserialize)]
struct LoginQuery {
    /// Set after a failed sign-in.
    error: Option<String>,
    /// Where to go after signing in.
    next: Option<String>,
}

/// `GET /login`: the sign-in form (an API key, posted to `POST /login`),
/// with "unknown or revoked key" after a failed attempt. `next` (a local
/// path) is carried in a hidden field.
async fn login(Query(query): Query<LoginQuery>) -> Response {
    let next = query
        .next
        .filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'))
        .unwrap_or_else(|| "/".to_owned());
    let ctx = context! {
        title => "Sign in",
        next,
        error => query.error.is_some(),
        signed_in => false,
    };
    render::page(StatusCode::OK, "login.html", ctx)
}

/// `GET /`: the organization's health at a glance: customer and order
/// counts, persona sizes, revenue per month (chart), the latest drift
/// alerts, and the connectors with their sync status.
async fn dashboard(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    let ctx = ToolContext {
        organization_id: caller.organization_id,
        thread_id: None,
    };
    // The planner's own count (tool `customer_count`), so the page and the
    // agent agree; the rest of the page is read by its script.
    let customers = state
        .registry()
        .call(&ctx, CustomerCount::NAME, serde_json::json!({}))
        .await
        .ok()
        .and_then(|v| v.get("count").and_then(serde_json::Value::as_u64));
    framed(
        &state,
        &caller,
        "/",
        "Dashboard",
        "dashboard.html",
        context! { customers },
    )
    .await
}

/// Query of `GET /customers`.
#[derive(Debug, Default, Deserialize)]
struct CustomersPageQuery {
    /// The search text, kept in the search box.
    q: Option<String>,
}

/// `GET /customers`: the search box and the customer table (name, e-mail,
/// city, persona tag, health score), paged with the API's `next_cursor`.
async fn customers(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Query(query): Query<CustomersPageQuery>,
) -> Response {
    let q = query.q.unwrap_or_default();
    framed(
        &state,
        &caller,
        "/customers",
        "Customers",
        "customers.html",
        context! { q },
    )
    .await
}

/// `GET /customers/{id}`: one customer's profile: contact details, order
/// totals and recent orders, imported properties, persona and health score,
/// churn probabilities and tier, lifetime value, and similar customers when
/// fingerprints exist. An id that is not a UUID is a 404 page.
async fn customer(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = Uuid::try_parse(&id) else {
        let ctx = layout(&state, &caller, "/customers", "Not found").await;
        let what = context! { what => "That customer" };
        return render::page(
            StatusCode::NOT_FOUND,
            "not_found.html",
            context! { ..what, ..ctx },
        );
    };
    framed(
        &state,
        &caller,
        "/customers",
        "Customer",
        "customer.html",
        context! { customer_id => id.to_string() },
    )
    .await
}

/// `GET /segments`: the RFM personas (size, share, mean CLV, mean health
/// score, description, recommended action, and a size chart), the
/// behavioural fingerprint clusters, and a "Run segmentation" button that
/// queues the job and follows it to the end.
async fn segments(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    framed(
        &state,
        &caller,
        "/segments",
        "Segments",
        "segments.html",
        context! {},
    )
    .await
}

/// `GET /import`: upload a file (preview of the detected column mapping,
/// editable per column, then the import and its rejected rows) or import a
/// shared Google Sheets link.
async fn import(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    framed(
        &state,
        &caller,
        "/import",
        "Import",
        "import.html",
        context! { fields => Field::ALL.map(Field::as_str) },
    )
    .await
}

/// `GET /clv-churn`: churn risk by tier, lifetime value by persona (chart),
/// and the valuable customers at risk with their recommended interventions.
async fn clv_churn(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    framed(
        &state,
        &caller,
        "/clv-churn",
        "CLV & Churn",
        "clv_churn.html",
        context! {},
    )
    .await
}

/// `GET /agent`: the chat with the planner: the plan as it forms, each tool
/// call with its result, the answer streaming in with its citations, and
/// Approve / Reject buttons when a step needs approval.
async fn agent(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    framed(
        &state,
        &caller,
        "/agent",
        "Ask AIMA",
        "agent.html",
        context! {},
    )
    .await
}

/// A page of a module that is not built yet: says so, with no numbers.
async fn coming(
    state: &AppState,
    caller: &Caller,
    active: &str,
    module: &str,
    what: &str,
) -> Response {
    framed(
        state,
        caller,
        active,
        module,
        "coming.html",
        context! { module, what },
    )
    .await
}

/// `GET /campaigns`: campaign outcome prediction (M2) is not built yet.
async fn campaigns(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    coming(
        &state,
        &caller,
        "/campaigns",
        "Campaigns",
        "Predicting open, click and conversion rates of campaign subject lines (module M2)",
    )
    .await
}

/// `GET /content`: on-brand message drafting (M3) is not built yet.
async fn content(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    coming(
        &state,
        &caller,
        "/content",
        "Content",
        "Drafting on-brand e-mails, SMS and posts for a segment (module M3)",
    )
    .await
}

/// `GET /brand`: brand sentiment by aspect (M4) is not built yet.
async fn brand(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    coming(
        &state,
        &caller,
        "/brand",
        "Brand",
        "Sentiment about your brand by aspect from reviews and mentions (module M4)",
    )
    .await
}

/// `GET /attribution`: channel attribution (M5) is not built yet.
async fn attribution(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    coming(
        &state,
        &caller,
        "/attribution",
        "Attribution",
        "Attributing revenue to marketing channels and their return on spend (module M5)",
    )
    .await
}
