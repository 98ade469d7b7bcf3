//! The tool registry: schema compilation, argument validation with errors a
//! model can act on, output checks.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aima_runtime::registry::{Registry, RegistryError, ToolContext, ToolError, ToolHandler};
use aima_tools::{Effect, Module, ToolSpec, catalog};
use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use uuid::Uuid;

/// Records the arguments it gets and answers with a fixed result.
struct Recorder {
    calls: AtomicUsize,
    last: Mutex<Option<Value>>,
    answer: Value,
}

impl Recorder {
    fn new(answer: Value) -> Arc<Recorder> {
        Arc::new(Recorder {
            calls: AtomicUsize::new(0),
            last: Mutex::new(None),
            answer,
        })
    }
}

#[async_trait]
impl ToolHandler for Recorder {
    async fn call(&self, _ctx: &ToolContext, _name: &str, args: Value) -> Result<Value, ToolError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        *self.last.lock().await = Some(args);
        Ok(self.answer.clone())
    }
}

fn ctx() -> ToolContext {
    ToolContext {
        organization_id: Uuid::now_v7(),
        thread_id: None,
    }
}

/// A registry of the whole catalog, every tool answered by `handler`.
fn registry(handler: Arc<Recorder>) -> Registry {
    let mut registry = Registry::new();
    for spec in catalog() {
        registry
            .try_register(spec, handler.clone())
            .expect("catalog schemas compile");
    }
    registry
}

async fn invalid(registry: &Registry, tool: &str, args: Value) -> (String, String) {
    match registry.call(&ctx(), tool, args.clone()).await {
        Err(ToolError::InvalidArguments {
            tool: t,
            field,
            expected,
        }) => {
            assert_eq!(t, tool);
            (field, expected)
        }
        other => panic!("{tool} {args}: expected InvalidArguments, got {other:?}"),
    }
}

#[tokio::test]
async fn every_catalog_tool_registers() {
    let registry = registry(Recorder::new(json!({"count": 1})));
    assert_eq!(registry.len(), catalog().len());
    let names: Vec<&str> = registry.specs().map(|s| s.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(registry.module_specs(Module::Data).count(), 7);
    assert!(registry.contains("churn_predictions"));
}

#[tokio::test]
async fn valid_and_null_arguments_reach_the_handler() {
    let handler = Recorder::new(json!({"count": 3}));
    let registry = registry(handler.clone());
    let out = registry
        .call(&ctx(), "customer_count", Value::Null)
        .await
        .unwrap();
    assert_eq!(out, json!({"count": 3}));
    assert_eq!(
        *handler.last.lock().await,
        Some(json!({})),
        "null becomes {{}}"
    );
    let args = json!({"country": "DE", "city": null, "created_from": "2024-02-29"});
    registry
        .call(&ctx(), "customer_count", args.clone())
        .await
        .unwrap();
    assert_eq!(*handler.last.lock().await, Some(args));
    assert_eq!(handler.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn bad_arguments_name_the_field_and_what_was_expected() {
    let handler = Recorder::new(json!({}));
    let registry = registry(handler.clone());
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "customer_search",
            json!({"limit": 0}),
            "/limit",
            "integer between 1 and 100, or null",
        ),
        (
            "customer_search",
            json!({"limit": 101}),
            "/limit",
            "integer between 1 and 100, or null",
        ),
        (
            "customer_search",
            json!({"limit": "ten"}),
            "/limit",
            "integer between 1 and 100, or null",
        ),
        (
            "customer_search",
            json!({"limit": 2.5}),
            "/limit",
            "integer between 1 and 100, or null",
        ),
        (
            "revenue_over_time",
            json!({"granularity": "year"}),
            "/granularity",
            "one of day, week, month, or null",
        ),
        (
            "revenue_over_time",
            json!({"start": "2024-13-01"}),
            "/start",
            "date (YYYY-MM-DD), or null",
        ),
        (
            "revenue_over_time",
            json!({"start": "yesterday"}),
            "/start",
            "date (YYYY-MM-DD), or null",
        ),
        (
            "top_products",
            json!({"by": "profit"}),
            "/by",
            "one of revenue, quantity, or null",
        ),
        (
            "customer_profile",
            json!({}),
            "/customer",
            "required field `customer` missing",
        ),
        (
            "customer_profile",
            json!({"customer": ""}),
            "/customer",
            "non-empty string",
        ),
        (
            "customer_profile",
            json!({"customer": 42}),
            "/customer",
            "non-empty string",
        ),
        (
            "tag_customers",
            json!({"customers": [], "tag": "vip"}),
            "/customers",
            "array of non-empty string (1 to 1000 items)",
        ),
        (
            "tag_customers",
            json!({"customers": ["a@example.com", ""], "tag": "vip"}),
            "/customers/1",
            "non-empty string",
        ),
        (
            "tag_customers",
            json!({"customers": ["a@example.com"], "tag": "x".repeat(65)}),
            "/tag",
            "string of 1 to 64 characters",
        ),
        (
            "draft_message",
            json!({"channel": "fax", "brief": "hi"}),
            "/channel",
            "one of email, sms",
        ),
        ("customer_count", json!([1, 2]), "(root)", "object"),
        ("customer_count", json!("DE"), "(root)", "object"),
        (
            "segments_overview",
            json!({"x": 1}),
            "/x",
            "unknown field `x` (this object takes no fields)",
        ),
    ];
    for (tool, args, field, expected) in cases {
        let (f, e) = invalid(&registry, tool, args.clone()).await;
        assert_eq!((f.as_str(), e.as_str()), (field, expected), "{tool} {args}");
    }
    let (f, e) = invalid(&registry, "customer_count", json!({"contry": "DE"})).await;
    assert_eq!(f, "/contry");
    assert_eq!(
        e,
        "unknown field `contry` (known fields: city, country, created_from, created_to)"
    );
    assert_eq!(handler.calls.load(Ordering::SeqCst), 0, "never dispatched");
    // The message a model reads carries all of it.
    let err = registry
        .call(&ctx(), "customer_search", json!({"limit": 0}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid arguments for `customer_search`: /limit: integer between 1 and 100, or null"
    );
}

#[tokio::test]
async fn check_arguments_validates_without_calling() {
    let handler = Recorder::new(json!({}));
    let registry = registry(handler.clone());
    assert_eq!(
        registry
            .check_arguments("import_status", Value::Null)
            .unwrap(),
        json!({})
    );
    assert!(matches!(
        registry.check_arguments("import_status", json!({"limit": 51})),
        Err(ToolError::InvalidArguments { .. })
    ));
    assert_eq!(handler.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn unknown_tool() {
    let registry = registry(Recorder::new(json!({})));
    assert_eq!(
        registry.call(&ctx(), "delete_everything", json!({})).await,
        Err(ToolError::UnknownTool {
            name: "delete_everything".into()
        })
    );
}

#[tokio::test]
async fn a_result_that_breaks_the_output_schema_fails() {
    // customer_count must answer {"count": <non-negative integer>}.
    let registry = registry(Recorder::new(json!({"count": "many"})));
    match registry.call(&ctx(), "customer_count", json!({})).await {
        Err(ToolError::Failed { tool, message }) => {
            assert_eq!(tool, "customer_count");
            assert!(message.contains("/count"), "{message}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

fn spec_with_input(input_schema: Value) -> ToolSpec {
    ToolSpec {
        name: "broken".into(),
        description: "a tool with a broken schema".into(),
        effect: Effect::ReadOnly,
        module: Module::Data,
        input_schema,
        output_schema: json!({"type": "object"}),
        examples: vec![],
    }
}

#[tokio::test]
async fn an_invalid_schema_is_refused_or_fails_every_call() {
    let broken = json!({"type": "object", "properties": {"n": {"type": "integr"}}});
    let mut registry = Registry::new();
    let err = registry
        .try_register(spec_with_input(broken.clone()), Recorder::new(json!({})))
        .unwrap_err();
    assert!(matches!(
        err,
        RegistryError::InvalidSchema { ref tool, which: "input", .. } if tool == "broken"
    ));
    assert!(registry.is_empty());

    let handler = Recorder::new(json!({}));
    registry.register(spec_with_input(broken), handler.clone());
    assert!(registry.contains("broken"));
    match registry.call(&ctx(), "broken", json!({})).await {
        Err(ToolError::Failed { tool, message }) => {
            assert_eq!(tool, "broken");
            assert!(message.contains("invalid input schema"), "{message}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert_eq!(handler.calls.load(Ordering::SeqCst), 0);
}
