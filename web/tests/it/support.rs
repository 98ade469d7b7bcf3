//! A running app over a test store: two organizations with data and keys
//! of every role, and request helpers.

use std::sync::Arc;

use aima_actors::planner::Planner;
use aima_actors::{Handlers, Runtime, RuntimeOptions};
use aima_ingest::pipeline::{self, ImportOptions};
use aima_runtime::llm::offline::OfflineProvider;
use aima_runtime::store::{Role, SecretKey, Store};
use aima_web::{AppState, WebOptions};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

/// One organization and a key of each role.
pub struct Tenant {
    pub org: Uuid,
    pub admin: String,
    pub analyst: String,
    pub viewer: String,
}

impl Tenant {
    pub fn key(&self, role: Role) -> &str {
        match role {
            Role::Admin => &self.admin,
            Role::Analyst => &self.analyst,
            Role::Viewer => &self.viewer,
        }
    }
}

pub struct TestApp {
    pub app: Router,
    pub store: Store,
    pub runtime: Option<Runtime>,
    pub a: Tenant,
    pub b: Tenant,
    pub uploads: tempfile::TempDir,
}

/// An order export: `customers` customers with two orders each, e-mails
/// `<prefix>N@example.com`.
pub fn orders_csv(prefix: &str, customers: usize) -> String {
    let mut csv = String::from("Order ID,Order Date,Customer Email,Customer Name,Amount,Product\n");
    for i in 0..customers {
        for (j, month) in [(0, 3), (1, 5)] {
            csv.push_str(&format!(
                "{prefix}-{i}-{j},2024-{month:02}-1{i},{prefix}{i}@example.com,{prefix} Person {i},{}.50,Tea\n",
                10 + i * 3 + j
            ));
        }
    }
    csv
}

async fn seed(store: &Store, slug: &str, prefix: &str, customers: usize) -> Tenant {
    let org = store.create_organization(slug, slug).await.unwrap().id;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, orders_csv(prefix, customers)).unwrap();
    let options = ImportOptions {
        source_name: "orders.csv".into(),
        ..ImportOptions::default()
    };
    let report = pipeline::import(store, org, &path, &options, &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!(report.customers_created, customers as u64);
    let mut keys = Vec::new();
    for role in [Role::Admin, Role::Analyst, Role::Viewer] {
        keys.push(store.create_api_key(org, "test", role).await.unwrap().1);
    }
    let [admin, analyst, viewer] = <[String; 3]>::try_from(keys).unwrap();
    Tenant {
        org,
        admin,
        analyst,
        viewer,
    }
}

impl TestApp {
    /// Organizations `a` (5 customers) and `b` (3), each with keys; the
    /// actors started (no schedules firing), the offline planner.
    pub async fn start(store: Store) -> TestApp {
        let a = seed(&store, "alpha", "alpha", 5).await;
        let b = seed(&store, "beta", "beta", 3).await;
        let options = RuntimeOptions {
            auto_tick: false,
            ..RuntimeOptions::default()
        };
        let secret = SecretKey::generate();
        let handlers = Handlers::standard(store.clone()).with_connectors(
            store.clone(),
            secret.clone(),
            "http://127.0.0.1:9",
        );
        let runtime = Runtime::start(store.clone(), handlers, options)
            .await
            .unwrap();
        let metrics = aima_web::Metrics::start(&runtime);
        let registry = Arc::new(metrics.registry(&runtime, aima_tools::catalog()));
        let planner = Arc::new(
            Planner::new(
                store.clone(),
                registry.clone(),
                Arc::new(OfflineProvider::new()),
            )
            .unwrap(),
        );
        let uploads = tempfile::tempdir().unwrap();
        let web = WebOptions {
            import_body_limit: 64 * 1024,
            upload_dir: uploads.path().to_path_buf(),
            sheets_export_base: "http://127.0.0.1:9".into(),
        };
        let state = AppState::new(
            store.clone(),
            &runtime,
            registry,
            planner,
            secret,
            metrics,
            web,
        );
        TestApp {
            app: aima_web::app(state),
            store,
            runtime: Some(runtime),
            a,
            b,
            uploads,
        }
    }

    pub async fn shutdown(mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown().await;
        }
    }

    /// Sends `request`; the status, headers and body.
    pub async fn raw(&self, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, headers, body)
    }

    /// `method path` with `key` and an optional JSON body; the status and
    /// the body as JSON (`Value::Null` when empty or not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(key) = key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let request = match body {
            Some(json) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let (status, _, bytes) = self.raw(request).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(key), None).await
    }

    /// Posts `bytes` as the raw body of `path`.
    pub async fn upload(&self, path: &str, key: &str, bytes: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(bytes.to_owned()))
            .unwrap();
        let (status, _, body) = self.raw(request).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}

/// A Server-Sent Events response: its content type must say so; each
/// message as (event name, JSON data).
pub fn sse_events(headers: &HeaderMap, body: Vec<u8>) -> Vec<(String, Value)> {
    let content_type = headers[header::CONTENT_TYPE].to_str().unwrap();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let text = String::from_utf8(body).unwrap();
    text.split("\n\n")
        .filter_map(|block| {
            let name = block.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
            Some((name.to_owned(), serde_json::from_str(data).unwrap()))
        })
        .collect()
}

/// The `error.code` of an error body.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}
