//! Prometheus metrics (`GET /metrics`, text exposition format): HTTP
//! requests and latency by route, tool-call latency and errors by tool,
//! actor restarts, job durations and outcomes, imported rows. Labels never
//! carry an organization or any customer data, so the endpoint needs no
//! key (like `/healthz`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use aima_actors::{Runtime, RuntimeEvent};
use aima_runtime::registry::{Registry as ToolRegistry, ToolContext, ToolError, ToolHandler};
use aima_runtime::store::JobStatus;
use aima_tools::ToolSpec;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde_json::Value;
use tokio::sync::broadcast;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabels {
    tool: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolErrorLabels {
    tool: String,
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActorLabels {
    actor: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    status: String,
}

/// Latency buckets: 0.25 ms to about 8 s.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// Job duration buckets: 10 ms to about 5.8 h.
fn job_duration() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 21))
}

type Latency = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_latency: Latency,
    tool_latency: Family<ToolLabels, Histogram, fn() -> Histogram>,
    tool_errors: Family<ToolErrorLabels, Counter>,
    actor_restarts: Family<ActorLabels, Counter>,
    job_duration: Family<JobLabels, Histogram, fn() -> Histogram>,
    import_rows: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Fresh metrics, all zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("aima");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route template and status",
            http_requests.clone(),
        );
        let http_latency: Latency = Family::new_with_constructor(latency as fn() -> Histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency (to the response head) by method and route template",
            http_latency.clone(),
        );
        let tool_latency =
            Family::<ToolLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency);
        registry.register(
            "tool_call_duration_seconds",
            "Tool-call latency through the module actors, by tool (the API's and the planner's calls)",
            tool_latency.clone(),
        );
        let tool_errors = Family::<ToolErrorLabels, Counter>::default();
        registry.register(
            "tool_call_errors",
            "Failed tool calls by tool and error kind",
            tool_errors.clone(),
        );
        let actor_restarts = Family::<ActorLabels, Counter>::default();
        registry.register(
            "actor_restarts",
            "Restarts of supervised actors",
            actor_restarts.clone(),
        );
        let job_duration =
            Family::<JobLabels, Histogram, fn() -> Histogram>::new_with_constructor(job_duration);
        registry.register(
            "job_duration_seconds",
            "Durations of finished jobs by kind and status (succeeded, failed)",
            job_duration.clone(),
        );
        let import_rows = Counter::default();
        registry.register(
            "import_rows",
            "Rows processed by imports run through the ingest actor",
            import_rows.clone(),
        );
        Metrics {
            registry,
            http_requests,
            http_latency,
            tool_latency,
            tool_errors,
            actor_restarts,
            job_duration,
            import_rows,
        }
    }

    /// Metrics following `runtime`'s events (restarts, jobs, imports) for
    /// as long as it runs.
    pub fn start(runtime: &Runtime) -> Arc<Metrics> {
        let metrics = Arc::new(Metrics::new());
        tokio::spawn(metrics.clone().follow(runtime.subscribe()));
        metrics
    }

    async fn follow(self: Arc<Self>, mut events: broadcast::Receiver<RuntimeEvent>) {
        let mut started: HashMap<uuid::Uuid, Instant> = HashMap::new();
        let mut import_done: HashMap<uuid::Uuid, u64> = HashMap::new();
        loop {
            match events.recv().await {
                Ok(RuntimeEvent::ActorRestarted { actor, .. }) => {
                    self.actor_restarts
                        .get_or_create(&ActorLabels { actor })
                        .inc();
                }
                Ok(RuntimeEvent::JobStarted { id, .. }) => {
                    started.insert(id, Instant::now());
                }
                Ok(RuntimeEvent::ImportProgress {
                    job_id, rows_done, ..
                }) => {
                    let before = import_done.insert(job_id, rows_done).unwrap_or(0);
                    self.import_rows.inc_by(rows_done.saturating_sub(before));
                }
                Ok(RuntimeEvent::JobFinished {
                    id, kind, status, ..
                }) => {
                    import_done.remove(&id);
                    if let Some(at) = started.remove(&id) {
                        let status = match status {
                            JobStatus::Succeeded => "succeeded",
                            JobStatus::Failed => "failed",
                            _ => "other",
                        };
                        self.job_duration
                            .get_or_create(&JobLabels {
                                kind,
                                status: status.to_owned(),
                            })
                            .observe(at.elapsed().as_secs_f64());
                    }
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    }

    /// A tool registry over `runtime`'s actors whose calls are timed.
    pub fn registry(self: &Arc<Self>, runtime: &Runtime, specs: Vec<ToolSpec>) -> ToolRegistry {
        runtime.registry_with(specs, |inner| {
            Arc::new(Timed {
                inner,
                metrics: self.clone(),
            })
        })
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// A tool handler that records each call's latency and failure.
struct Timed {
    inner: Arc<dyn ToolHandler>,
    metrics: Arc<Metrics>,
}

#[async_trait::async_trait]
impl ToolHandler for Timed {
    async fn call(&self, ctx: &ToolContext, name: &str, args: Value) -> Result<Value, ToolError> {
        let at = Instant::now();
        let result = self.inner.call(ctx, name, args).await;
        let tool = name.to_owned();
        self.metrics
            .tool_latency
            .get_or_create(&ToolLabels { tool: tool.clone() })
            .observe(at.elapsed().as_secs_f64());
        if let Err(e) = &result {
            let kind = match e {
                ToolError::UnknownTool { .. } => "unknown_tool",
                ToolError::InvalidArguments { .. } => "invalid_arguments",
                ToolError::NotImplemented { .. } => "not_implemented",
                ToolError::Unavailable { .. } => "unavailable",
                ToolError::Timeout { .. } => "timeout",
                ToolError::Failed { .. } => "failed",
            };
            self.metrics
                .tool_errors
                .get_or_create(&ToolErrorLabels {
                    tool,
                    kind: kind.to_owned(),
                })
                .inc();
        }
        result
    }
}

/// Middleware: counts and times every request by its route template, and
/// logs it (`aima::http`, info).
pub(crate) async fn track(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let at = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    tracing::info!(
        target: "aima::http",
        method = method.as_str(),
        route = route.as_str(),
        status,
        ms = at.elapsed().as_secs_f64() * 1e3,
        "request"
    );
    metrics
        .http_latency
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(at.elapsed().as_secs_f64());
    metrics
        .http_requests
        .get_or_create(&HttpLabels {
            method,
            route,
            status: status.to_string(),
        })
        .inc();
    response
}

/// `GET /metrics`.
pub(crate) fn exposition(metrics: &Metrics) -> impl IntoResponse + use<> {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render(),
    )
}
