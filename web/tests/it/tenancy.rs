//! Every documented endpoint, called without a key, with a wrong key, with
//! another organization's key and with too small a role: the right 401/403,
//! and nothing of the other organization read or written.

use aima_runtime::store::Role;
use aima_runtime::store::testing::Ctx;
use aima_runtime::store_tests;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::support::{TestApp, code, orders_csv};

store_tests!(no_endpoint_crosses_tenants_or_roles);

fn rank(role: Role) -> u8 {
    match role {
        Role::Viewer => 0,
        Role::Analyst => 1,
        Role::Admin => 2,
    }
}

/// Every (method, path, needed role) of the OpenAPI document under /api/v1.
fn protected_operations() -> Vec<(Method, String, Role)> {
    let doc = aima_web::openapi_document();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(role) = op.get("x-aima-role").and_then(Value::as_str) else {
                assert!(!path.starts_with("/api/v1"), "{method} {path} has no role");
                continue;
            };
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            ops.push((method, path.clone(), role.parse().unwrap()));
        }
    }
    assert!(ops.len() >= 30, "only {} operations documented", ops.len());
    ops
}

/// A request for `method path` (path parameters filled from `ids`) with
/// `key`, with a body that passes validation where the endpoint takes one.
fn request(method: &Method, path: &str, ids: &Value, key: Option<&str>) -> Request<Body> {
    sent(method, path, ids, key).0
}

/// [`request`], and the text of its path and body.
fn sent(method: &Method, path: &str, ids: &Value, key: Option<&str>) -> (Request<Body>, String) {
    let id = |name: &str| ids[name].as_str().unwrap().to_owned();
    let concrete = if path.starts_with("/api/v1/customers/") {
        path.replace("{id}", &id("customer"))
    } else if path.starts_with("/api/v1/keys/") {
        path.replace("{id}", &id("key"))
    } else if path.starts_with("/api/v1/jobs/") {
        path.replace("{id}", &id("job"))
    } else if path.starts_with("/api/v1/agent/threads/") {
        path.replace("{id}", &id("thread"))
    } else {
        path.replace("{id}", &uuid::Uuid::now_v7().to_string())
    };
    let mut builder = Request::builder().method(method.clone()).uri(&concrete);
    if let Some(key) = key {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    if path.starts_with("/api/v1/import/")
        && path != "/api/v1/import/google-sheet"
        && *method == Method::POST
    {
        let request = builder
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(orders_csv("intruder", 1)))
            .unwrap();
        return (request, concrete);
    }
    let body = match path {
        "/api/v1/keys" => Some(json!({"name": "intruder", "role": "admin"})),
        "/api/v1/agent/chat" => {
            Some(json!({"message": "how many customers do we have?", "thread_id": ids["thread"]}))
        }
        "/api/v1/agent/threads/{id}/approve" => Some(json!({})),
        "/api/v1/agent/threads/{id}/reject" => Some(json!({"reason": "no"})),
        "/api/v1/import/google-sheet" => {
            Some(json!({"url": "https://docs.google.com/spreadsheets/d/abcdefghijkl/edit"}))
        }
        "/api/v1/campaigns/predict" => Some(json!({"subject_lines": ["Hello"]})),
        "/api/v1/content/draft" => Some(json!({"channel": "email", "brief": "spring sale"})),
        _ if *method == Method::POST => Some(json!({})),
        _ => None,
    };
    let text = format!(
        "{concrete} {}",
        body.as_ref().map(Value::to_string).unwrap_or_default()
    );
    let request = match body {
        Some(b) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    };
    (request, text)
}

async fn no_endpoint_crosses_tenants_or_roles(ctx: Ctx) {
    let app = TestApp::start(ctx.store.clone()).await;
    // Organization a's resources: a customer, a key, a job, a thread.
    let (status, page) = app.get("/api/v1/customers", &app.a.viewer).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let customer = page["customers"][0]["id"].as_str().unwrap().to_owned();
    let (status, import) = app
        .upload(
            "/api/v1/import/file",
            &app.a.analyst,
            &orders_csv("alpha", 5),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{import}");
    let (status, turn) = app
        .call(
            Method::POST,
            "/api/v1/agent/chat",
            Some(&app.a.viewer),
            Some(json!({"message": "how many customers do we have?"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{turn}");
    let (_, keys) = app.get("/api/v1/keys", &app.a.admin).await;
    let key = keys[2]["id"].as_str().unwrap().to_owned();
    let ids = json!({
        "customer": customer,
        "key": key,
        "job": import["job_id"],
        "thread": turn["thread_id"],
    });
    // What must never appear in a response to organization b.
    let secrets_of_a: Vec<String> = vec![
        app.a.org.to_string(),
        customer.clone(),
        key.clone(),
        import["job_id"].as_str().unwrap().to_owned(),
        turn["thread_id"].as_str().unwrap().to_owned(),
        "alpha".to_owned(),
    ];
    let threads_before = app.get("/api/v1/agent/threads", &app.a.viewer).await.1;
    let customers_before = app.store.count_customers(app.a.org).await.unwrap();

    for (method, path, role) in protected_operations() {
        // No key, and a key that does not exist.
        for key in [None, Some("aima_0000000000000000")] {
            let (status, headers, body) = app.raw(request(&method, &path, &ids, key)).await;
            let body: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {key:?}: {body}"
            );
            assert_eq!(code(&body), "unauthenticated");
            assert!(
                headers.contains_key(header::WWW_AUTHENTICATE),
                "{method} {path}"
            );
        }
        // Too small a role of the right organization.
        for weaker in [Role::Viewer, Role::Analyst] {
            if rank(weaker) < rank(role) {
                let (status, _, body) = app
                    .raw(request(&method, &path, &ids, Some(app.a.key(weaker))))
                    .await;
                let body: Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} as {weaker}: {body}"
                );
                assert_eq!(code(&body), "forbidden");
            }
        }
        // Organization b's admin: nothing of a, ever (beyond the ids b
        // itself sent, which a 404 may repeat).
        let (req, sent_text) = sent(&method, &path, &ids, Some(&app.b.admin));
        let (status, _, body) = app.raw(req).await;
        let text = String::from_utf8_lossy(&body);
        for secret in secrets_of_a
            .iter()
            .filter(|s| !sent_text.contains(s.as_str()))
        {
            assert!(
                !text.contains(secret.as_str()),
                "{method} {path} showed organization a's {secret} to b ({status}): {text}"
            );
        }
        if path.contains("{id}") {
            assert!(
                matches!(status, StatusCode::NOT_FOUND | StatusCode::NOT_IMPLEMENTED),
                "{method} {path} with a's id as b: {status} {text}"
            );
        }
    }
    // Nothing of a was written by b: its customers, keys and threads stand.
    assert_eq!(
        app.store.count_customers(app.a.org).await.unwrap(),
        customers_before
    );
    for role in [Role::Admin, Role::Analyst, Role::Viewer] {
        let (status, me) = app.get("/api/v1/organization", app.a.key(role)).await;
        assert_eq!(status, StatusCode::OK, "a's {role} key was revoked: {me}");
        assert_eq!(me["organization"]["slug"], "alpha");
    }
    assert_eq!(
        app.get("/api/v1/agent/threads", &app.a.viewer).await.1,
        threads_before
    );
    // b's own writes went to b.
    assert!(app.store.count_customers(app.b.org).await.unwrap() > 3);
    app.shutdown().await;
}
