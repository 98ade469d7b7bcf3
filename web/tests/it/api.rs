//! Behaviour of the endpoints: paging, errors, imports, the planner, tool
//! endpoints and the OpenAPI document.

use aima_actors::RuntimeEvent;
use aima_runtime::registry::ToolContext;
use aima_runtime::store::NewCustomer;
use aima_runtime::store::testing::Ctx;
use aima_runtime::store_tests;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Utc;
use serde_json::{Value, json};

use crate::support::{TestApp, code, orders_csv, sse_events};

store_tests!(
    customer_pages_are_stable_and_filtered,
    bad_input_gets_one_error_shape,
    imports_preview_write_and_report_rejected_rows,
    the_planner_answers_as_json_and_as_server_sent_events,
    analytics_endpoints_are_the_planners_tools,
    analysis_runs_are_jobs_the_caller_can_follow,
    connectors_sync_with_their_sealed_credentials,
);

fn ids(page: &Value) -> Vec<String> {
    page["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn customer_pages_are_stable_and_filtered(ctx: Ctx) {
    let app = TestApp::start(ctx.store.clone()).await;
    let key = &app.a.viewer;
    let (status, first) = app.get("/api/v1/customers?limit=2", key).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(ids(&first).len(), 2);
    // A customer created while the client pages: not in the later pages.
    let late = NewCustomer {
        id: uuid::Uuid::now_v7(),
        external_id: None,
        email: Some("late@example.com".into()),
        first_name: None,
        last_name: None,
        full_name: Some("Late Comer".into()),
        phone: None,
        city: None,
        country: None,
        tags: vec![],
        properties: json!({}),
        created_at: Utc::now(),
    };
    let mut tx = app.store.begin().await.unwrap();
    tx.insert_customers(app.a.org, &[late]).await.unwrap();
    tx.commit().await.unwrap();
    let mut seen = ids(&first);
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let (status, page) = app
            .get(&format!("/api/v1/customers?limit=2&cursor={c}"), key)
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(ids(&page));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a row repeated across pages");
    assert_eq!(seen.len(), 5, "the five customers there when paging began");
    // The newcomer heads a fresh first page.
    let (_, fresh) = app.get("/api/v1/customers?limit=1", key).await;
    assert_eq!(fresh["customers"][0]["email"], "late@example.com");
    // Search, and filters that name what is wrong.
    let (_, found) = app.get("/api/v1/customers?q=ALPHA3%40", key).await;
    assert_eq!(found["customers"].as_array().unwrap().len(), 1);
    assert_eq!(found["customers"][0]["email"], "alpha3@example.com");
    assert_eq!(found["customers"][0]["name"], "alpha Person 3");
    let (status, body) = app.get("/api/v1/customers?segment=Champions", key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["customers"].as_array().unwrap().is_empty(),
        "not segmented yet"
    );
    for (query, field) in [
        ("segment=Kings", "segment"),
        ("cursor=garbage", "cursor"),
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("colour=red", "colour"),
    ] {
        let (status, body) = app.get(&format!("/api/v1/customers?{query}"), key).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
    }
    app.shutdown().await;
}

async fn bad_input_gets_one_error_shape(ctx: Ctx) {
    let app = TestApp::start(ctx.store.clone()).await;
    let key = app.a.admin.clone();
    let post = |body: Body, content_type: Option<&'static str>| {
        let mut r = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/keys")
            .header(header::AUTHORIZATION, format!("Bearer {key}"));
        if let Some(t) = content_type {
            r = r.header(header::CONTENT_TYPE, t);
        }
        r.body(body).unwrap()
    };
    let cases: Vec<(Request<Body>, StatusCode, &str, Option<&str>)> = vec![
        (
            post(Body::from("{\"name\": "), Some("application/json")),
            StatusCode::BAD_REQUEST,
            "bad_request",
            None,
        ),
        (
            post(
                Body::from("{\"name\": 5, \"role\": \"viewer\"}"),
                Some("application/json"),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_argument",
            Some("/name"),
        ),
        (
            post(
                Body::from("{\"name\": \"x\", \"role\": \"king\"}"),
                Some("application/json"),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_argument",
            Some("/role"),
        ),
        (
            post(
                Body::from("{\"name\": \"x\", \"role\": \"viewer\", \"extra\": 1}"),
                Some("application/json"),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_argument",
            None,
        ),
        (
            post(
                Body::from("{\"name\": \"\", \"role\": \"viewer\"}"),
                Some("application/json"),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_argument",
            Some("/name"),
        ),
        (
            post(Body::from("{}"), None),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            None,
        ),
        (
            post(
                Body::from(vec![b' '; aima_web::JSON_BODY_LIMIT + 10]),
                Some("application/json"),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            None,
        ),
    ];
    for (request, status, expected, field) in cases {
        let (got, _, body) = app.raw(request).await;
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(got, status, "{body}");
        assert_eq!(code(&body), expected, "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().len() > 5,
            "{body}"
        );
        if let Some(field) = field {
            assert_eq!(body["error"]["field"], field, "{body}");
        }
    }
    let (status, body) = app.get("/api/v1/nothing-here", &app.a.viewer).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, body) = app
        .call(Method::PUT, "/api/v1/customers", Some(&app.a.viewer), None)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let (status, body) = app.get("/api/v1/customers/not-a-uuid", &app.a.viewer).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "bad_request"),
        "{body}"
    );
    let (status, body) = app
        .get(
            &format!("/api/v1/customers/{}", uuid::Uuid::now_v7()),
            &app.a.viewer,
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    app.shutdown().await;
}

async fn imports_preview_write_and_report_rejected_rows(ctx: Ctx) {
    let app = TestApp::start(ctx.store.clone()).await;
    let key = &app.a.analyst;
    let before = app.store.count_customers(app.a.org).await.unwrap();
    let csv = "Order ID,Order Date,Customer Email,Customer Name,Amount,Product\n\
               n-1,2024-06-01,new1@example.com,\"=HYPERLINK(\"\"http://evil\"\")\",12.50,Tea\n\
               n-2,2024-06-02,new2@example.com,Nina New,not money,Tea\n\
               n-3,2024-06-03,new3@example.com,Noah New,7.25,Cake\n";
    // A preview writes nothing.
    let (status, preview) = app.upload("/api/v1/import/preview", key, csv).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["rows"], 3);
    assert_eq!(preview["customers_created"], 2);
    assert_eq!(preview["rows_rejected"], 1);
    assert_eq!(app.store.count_customers(app.a.org).await.unwrap(), before);
    // The import writes, names the bad row, and keeps formulas as text.
    let (status, report) = app
        .upload(
            "/api/v1/import/file?filename=..%2F..%2Fetc%2Forders.csv",
            key,
            csv,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["customers_created"], 2);
    assert_eq!(report["rows_rejected"][0]["row"], 3);
    assert!(
        report["rows_rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("not money")
    );
    assert_eq!(
        app.store.count_customers(app.a.org).await.unwrap(),
        before + 2
    );
    let (_, found) = app.get("/api/v1/customers?q=new1%40", &app.a.viewer).await;
    assert_eq!(found["customers"][0]["name"], "=HYPERLINK(\"http://evil\")");
    // ... and the export makes it inert for spreadsheets.
    let request = Request::get("/api/v1/customers/export?q=new1%40")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.a.viewer))
        .body(Body::empty())
        .unwrap();
    let (status, headers, exported) = app.raw(request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let exported = String::from_utf8(exported).unwrap();
    assert_eq!(exported.lines().count(), 2, "{exported}");
    assert!(
        exported.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
        "{exported}"
    );
    let (_, history) = app.get("/api/v1/import/history", &app.a.viewer).await;
    assert_eq!(
        history[0]["source"], "orders.csv",
        "only the last segment is kept: {history}"
    );
    // Multipart, as a browser form sends it.
    let boundary = "XyZ";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"more.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{}\r\n--{boundary}--\r\n",
        orders_csv("multi", 2)
    );
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/import/file")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(multipart))
        .unwrap();
    let (status, _, body) = app.raw(request).await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["customers_created"], 2);
    // As Server-Sent Events: progress as the rows are read, then the result.
    let streamed = |query: &str, body: String| {
        Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/import/file{query}"))
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .header(header::ACCEPT, "text/event-stream")
            .body(Body::from(body))
            .unwrap()
    };
    let (status, headers, body) = app.raw(streamed("", orders_csv("stream", 3))).await;
    assert_eq!(status, StatusCode::OK);
    let events = sse_events(&headers, body);
    let (last, result) = events.last().unwrap();
    assert_eq!(last, "result", "{events:?}");
    assert_eq!(result["customers_created"], 3, "{result}");
    let (_, progress) = events.iter().find(|(n, _)| n == "progress").unwrap();
    assert_eq!(progress["rows_total"], 6, "{progress}");
    let (_, headers, body) = app.raw(streamed("?strict=true", csv.to_owned())).await;
    let events = sse_events(&headers, body);
    let (last, error) = events.last().unwrap();
    assert_eq!(last, "error", "{events:?}");
    assert_eq!(code(error), "invalid_argument");
    let before = before + 3;
    // Strict mode writes nothing when a row is bad.
    let (status, body) = app
        .upload("/api/v1/import/file?strict=true", key, csv)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_argument"),
        "{body}"
    );
    assert_eq!(
        app.store.count_customers(app.a.org).await.unwrap(),
        before + 4
    );
    // Too large, empty, not a table, an unknown option, not a sheet link.
    let big = "x".repeat(65 * 1024);
    let (status, body) = app.upload("/api/v1/import/file", key, &big).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let (status, body) = app.upload("/api/v1/import/file", key, "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app.upload("/api/v1/import/file?stict=1", key, csv).await;
    assert_eq!(body["error"]["field"], "stict", "{status} {body}");
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/import/google-sheet",
            Some(key),
            Some(json!({"url": "http://169.254.169.254/latest/meta-data"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "/url");
    assert!(
        std::fs::read_dir(app.uploads.path())
            .unwrap()
            .next()
            .is_none(),
        "uploads are removed"
    );
    app.shutdown().await;
}

async fn the_planner_answers_as_json_and_as_server_sent_events(ctx: Ctx) {
    let app = TestApp::start(ctx.store.clone()).await;
    let key = &app.a.viewer;
    let (status, turn) = app
        .call(
            Method::POST,
            "/api/v1/agent/chat",
            Some(key),
            Some(json!({"message": "How many customers do we have?"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{turn}");
    assert_eq!(turn["outcome"]["status"], "answered", "{turn}");
    let events = turn["events"].as_array().unwrap();
    assert_eq!(events.last().unwrap()["type"], "final");
    let count = events
        .iter()
        .find(|e| e["type"] == "tool_result" && e["tool"] == "customer_count")
        .unwrap_or_else(|| panic!("no customer_count result: {turn}"));
    assert_eq!(count["result"]["count"], 5, "{count}");
    assert!(turn["outcome"]["answer"].as_str().unwrap().contains('5'));
    let thread = turn["thread_id"].as_str().unwrap();
    // The follow-up as Server-Sent Events.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/agent/chat")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "text/event-stream")
        .body(Body::from(
            json!({"message": "and how many orders?", "thread_id": thread}).to_string(),
        ))
        .unwrap();
    let (status, headers, body) = app.raw(request).await;
    assert_eq!(status, StatusCode::OK);
    let streamed = sse_events(&headers, body);
    let names: Vec<&str> = streamed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.last(), Some(&"final"), "{names:?}");
    assert!(names.contains(&"tool_call"), "{names:?}");
    // Each message's name is its event's type.
    assert!(streamed.iter().all(|(n, e)| e["type"] == n.as_str()));
    let data: Vec<Value> = streamed.into_iter().map(|(_, e)| e).collect();
    assert!(data.iter().all(|e| e["thread_id"] == thread));
    // Numbering continues the thread's.
    assert!(data[0]["seq"].as_u64().unwrap() > events.len() as u64);
    // History, and turns that cannot start.
    let (status, history) = app
        .get(&format!("/api/v1/agent/threads/{thread}"), key)
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(
        history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] == "user")
            .count(),
        2
    );
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/agent/chat",
            Some(key),
            Some(json!({"message": "   "})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("/message"))
    );
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/agent/chat",
            Some(key),
            Some(json!({"message": "hi", "thread_id": uuid::Uuid::now_v7()})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/agent/threads/{thread}/approve"),
            Some(&app.a.analyst),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "not paused: {body}"
    );
    app.shutdown().await;
}

async fn analytics_endpoints_are_the_planners_tools(ctx: Ctx) {
    let app = TestApp::start(ctx.store.clone()).await;
    let key = &app.a.viewer;
    let (status, revenue) = app
        .get(
            "/api/v1/revenue?granularity=month&start=2024-01-01&end=2024-12-31",
            key,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{revenue}");
    let direct = app
        .runtime
        .as_ref()
        .unwrap()
        .registry(aima_tools::catalog())
        .call(
            &ToolContext {
                organization_id: app.a.org,
                thread_id: None,
            },
            "revenue_over_time",
            json!({"granularity": "month", "start": "2024-01-01", "end": "2024-12-31"}),
        )
        .await
        .unwrap();
    assert_eq!(revenue, direct);
    assert_eq!(revenue["total_orders"], 10);
    // Schema checks of the tool reach the client with the field.
    let (status, body) = app.get("/api/v1/revenue?granularity=fortnight", key).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "granularity", "{body}");
    // Modules not built yet say so.
    let (status, body) = app.get("/api/v1/brand/sentiment", key).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_IMPLEMENTED, "not_implemented")
    );
    assert!(
        body["error"]["message"].as_str().unwrap().contains("M4"),
        "{body}"
    );
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/campaigns/predict",
            Some(&app.a.analyst),
            Some(json!({"subject_lines": ["Hi"]})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_IMPLEMENTED, "not_implemented"),
        "{body}"
    );
    // The OpenAPI document: every $ref resolves, every operation answers
    // with documented responses; the docs page renders it.
    let (status, doc) = app.get("/api/openapi.json", key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 30);
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r}"));
        assert!(schemas.contains_key(name), "dangling {r}");
    }
    let (status, headers, page) = app
        .raw(Request::get("/docs").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        String::from_utf8(page)
            .unwrap()
            .contains("/api/openapi.json")
    );
    // Metrics count what happened, by route template and tool, with no
    // key needed and no organization in any label.
    let (status, _, text) = app
        .raw(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(text).unwrap();
    for line in [
        "aima_http_requests_total{method=\"GET\",route=\"/api/v1/revenue\",status=\"200\"} 1",
        "aima_http_requests_total{method=\"GET\",route=\"/api/v1/revenue\",status=\"422\"} 1",
        "aima_tool_call_duration_seconds_count{tool=\"revenue_over_time\"} 1",
        "aima_tool_call_errors_total{tool=\"brand_sentiment\",kind=\"not_implemented\"} 1",
    ] {
        assert!(text.contains(line), "no `{line}` in\n{text}");
    }
    assert!(!text.contains(&app.a.org.to_string()));
    app.shutdown().await;
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                match child {
                    Value::String(s) if k == "$ref" => out.push(s.clone()),
                    _ => collect_refs(child, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| collect_refs(c, out)),
        _ => {}
    }
}

async fn analysis_runs_are_jobs_the_caller_can_follow(ctx: Ctx) {
    let app = TestApp::start(ctx.store.clone()).await;
    let mut events = app.runtime.as_ref().unwrap().subscribe();
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/segments/run",
            Some(&app.a.analyst),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job = body["job_id"].as_str().unwrap().to_owned();
    loop {
        match events.recv().await.unwrap() {
            RuntimeEvent::JobFinished { id, .. } if id.to_string() == job => break,
            _ => {}
        }
    }
    let (status, record) = app.get(&format!("/api/v1/jobs/{job}"), &app.a.viewer).await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!(record["status"], "succeeded", "{record}");
    // The personas are there, and the list filters by them.
    let (_, overview) = app.get("/api/v1/segments", &app.a.viewer).await;
    assert_eq!(overview["customers_with_persona"], 5, "{overview}");
    let persona = overview["segments"][0]["segment"]
        .as_str()
        .unwrap()
        .to_owned();
    let n = overview["segments"][0]["customers"].as_u64().unwrap();
    let (_, members) = app
        .get(
            &format!("/api/v1/customers?segment={persona}&limit=100"),
            &app.a.viewer,
        )
        .await;
    let rows = members["customers"].as_array().unwrap();
    assert_eq!(rows.len() as u64, n, "{members}");
    assert!(
        rows.iter()
            .all(|c| c["persona"] == persona.as_str() && c["health_score"].is_number())
    );
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/segments/run",
            Some(&app.a.viewer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.shutdown().await;
}

/// Waits for job `id` to finish; its stored record.
async fn finished(
    app: &TestApp,
    events: &mut tokio::sync::broadcast::Receiver<RuntimeEvent>,
    id: &str,
) -> Value {
    loop {
        match events.recv().await.unwrap() {
            RuntimeEvent::JobFinished { id: done, .. } if done.to_string() == id => break,
            _ => {}
        }
    }
    app.get(&format!("/api/v1/jobs/{id}"), &app.a.viewer)
        .await
        .1
}

async fn connectors_sync_with_their_sealed_credentials(ctx: Ctx) {
    use axum::routing::get;
    let app = TestApp::start(ctx.store.clone()).await;
    // A shop's export endpoint that wants a token.
    let export = axum::Router::new().route(
        "/export.csv",
        get(|headers: axum::http::HeaderMap| async move {
            if headers.get("authorization").and_then(|v| v.to_str().ok())
                == Some("Bearer shop-token")
            {
                (StatusCode::OK, orders_csv("synced", 4))
            } else {
                (StatusCode::UNAUTHORIZED, String::new())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/export.csv", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, export).await });
    let admin = &app.a.admin;
    let create = |name: &str, token: &str| {
        json!({
            "kind": "csv_url",
            "name": name,
            "config": {"url": url},
            "credentials": {"headers": {"Authorization": format!("Bearer {token}")}},
        })
    };
    let (status, good) = app
        .call(
            Method::POST,
            "/api/v1/connectors",
            Some(admin),
            Some(create("Shop", "shop-token")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{good}");
    assert_eq!(good["status"], aima_runtime::store::CONNECTOR_STATUS_NEW);
    assert!(
        !good.to_string().contains("shop-token"),
        "credentials returned: {good}"
    );
    for (body, field) in [
        (
            json!({"kind": "shopify", "name": "x", "config": {"url": url}}),
            "/kind",
        ),
        (
            json!({"kind": "google_sheets", "name": "x", "config": {"url": url}}),
            "/config/url",
        ),
        (
            json!({"kind": "csv_url", "name": "x", "config": {"url": "ftp://x"}}),
            "/config/url",
        ),
        (
            json!({"kind": "csv_url", "name": "x", "config": {"url": url}, "credentials": {"headers": {"A": 1}}}),
            "/credentials/headers",
        ),
    ] {
        let (status, err) = app
            .call(Method::POST, "/api/v1/connectors", Some(admin), Some(body))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_eq!(err["error"]["field"], field, "{err}");
    }
    // A sync imports; the listing shows the outcome and never a secret.
    let before = app.store.count_customers(app.a.org).await.unwrap();
    let mut events = app.runtime.as_ref().unwrap().subscribe();
    let (status, job) = app
        .call(
            Method::POST,
            "/api/v1/connectors/sync",
            Some(&app.a.analyst),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let record = finished(&app, &mut events, job["job_id"].as_str().unwrap()).await;
    assert_eq!(record["status"], "succeeded", "{record}");
    assert_eq!(
        app.store.count_customers(app.a.org).await.unwrap(),
        before + 4
    );
    let (_, listed) = app.get("/api/v1/connectors", &app.a.viewer).await;
    assert_eq!(listed[0]["status"], "ok", "{listed}");
    assert!(listed[0]["last_sync_at"].is_string());
    assert!(!listed.to_string().contains("shop-token"));
    // A connector whose token is wrong fails the job, and says so.
    let (_, bad) = app
        .call(
            Method::POST,
            "/api/v1/connectors",
            Some(admin),
            Some(create("Old token", "expired")),
        )
        .await;
    let (_, job) = app
        .call(
            Method::POST,
            "/api/v1/connectors/sync",
            Some(&app.a.analyst),
            None,
        )
        .await;
    let record = finished(&app, &mut events, job["job_id"].as_str().unwrap()).await;
    assert_eq!(record["status"], "failed", "{record}");
    assert!(
        record["error"].as_str().unwrap().contains("Old token"),
        "{record}"
    );
    let (_, listed) = app.get("/api/v1/connectors", &app.a.viewer).await;
    let status_of = |id: &Value| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == *id)
            .map(|c| c["status"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(status_of(&good["id"]), "ok");
    assert!(status_of(&bad["id"]).starts_with("error: "), "{listed}");
    // Deleting.
    let path = format!("/api/v1/connectors/{}", bad["id"].as_str().unwrap());
    assert_eq!(
        app.call(Method::DELETE, &path, Some(admin), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.call(Method::DELETE, &path, Some(admin), None).await.0,
        StatusCode::NOT_FOUND
    );
    app.shutdown().await;
}
