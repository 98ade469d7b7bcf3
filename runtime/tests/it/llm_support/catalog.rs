//! A tool catalog shaped like AIMA's (names and arguments as fixed for
//! issue 3), with descriptions and examples written here. The offline
//! router must work from these specs alone.

use aima_tools::{Effect, Module, ToolSpec};
use serde_json::{Value, json};

fn spec(
    name: &str,
    module: Module,
    effect: Effect,
    description: &str,
    input: Value,
    examples: &[&str],
) -> ToolSpec {
    ToolSpec {
        name: name.into(),
        description: description.into(),
        effect,
        module,
        input_schema: input,
        output_schema: json!({"type": "object"}),
        examples: examples.iter().map(|s| s.to_string()).collect(),
    }
}

fn date(desc: &str) -> Value {
    json!({"type": ["string", "null"], "format": "date", "description": desc})
}

/// The catalog.
pub fn tools() -> Vec<ToolSpec> {
    use Effect::*;
    use Module::*;
    vec![
        spec(
            "customer_count",
            Data,
            ReadOnly,
            "Count customers, optionally only those in a country or city or created (signed up) in a date range.",
            json!({"type": "object", "properties": {
                "country": {"type": ["string", "null"], "description": "Country name"},
                "city": {"type": ["string", "null"], "description": "City name"},
                "created_from": date("Customers created on or after this date"),
                "created_to": date("Customers created on or before this date")
            }, "additionalProperties": false}),
            &[
                "How many customers do we have?",
                "Number of customers in Germany",
                "How many new customers signed up last month?",
            ],
        ),
        spec(
            "customer_search",
            Data,
            ReadOnly,
            "Search customers by name, e-mail, phone or city; returns matching customers and the total number of matches.",
            json!({"type": "object", "properties": {
                "query": {"type": ["string", "null"], "description": "Text to match against name, email, phone or city"},
                "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": 100, "description": "Maximum customers to return (default 10)"}
            }, "additionalProperties": false}),
            &[
                "Find customers named Smith",
                "Search for customers in Lyon",
                "Look up jane@example.com",
            ],
        ),
        spec(
            "customer_profile",
            Data,
            ReadOnly,
            "Profile of one customer: contact details, order summary (orders, total spent, first and last order) and recent orders.",
            json!({"type": "object", "properties": {
                "customer": {"type": "string", "description": "Customer id, e-mail or name"}
            }, "required": ["customer"], "additionalProperties": false}),
            &[
                "Show me the profile of jane@example.com",
                "Tell me about customer Maria Anders",
                "What has John Smith ordered?",
            ],
        ),
        spec(
            "revenue_over_time",
            Data,
            ReadOnly,
            "Revenue and number of orders over a period, bucketed by day, week or month, with totals.",
            json!({"type": "object", "properties": {
                "start": date("First day of the period"),
                "end": date("Last day of the period"),
                "granularity": {"type": ["string", "null"], "enum": ["day", "week", "month", null], "description": "Bucket size (default month)"}
            }, "additionalProperties": false}),
            &[
                "What was our revenue last month?",
                "Show monthly revenue for 2024",
                "Sales per week this quarter",
                "How much did we sell in March?",
            ],
        ),
        spec(
            "top_products",
            Data,
            ReadOnly,
            "Best-selling products in a period, ranked by revenue or quantity sold.",
            json!({"type": "object", "properties": {
                "start": date("First day of the period"),
                "end": date("Last day of the period"),
                "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": 100, "description": "How many products (default 10)"},
                "by": {"type": ["string", "null"], "enum": ["revenue", "quantity", null], "description": "Ranking measure"}
            }, "additionalProperties": false}),
            &[
                "What are our top 5 products?",
                "Best sellers last year by quantity",
                "Which products sold the most in Q3?",
            ],
        ),
        spec(
            "import_status",
            Data,
            ReadOnly,
            "Status of the most recent data imports (files, sheets, connectors): when they ran, rows imported and rejected, errors.",
            json!({"type": "object", "properties": {
                "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": 50, "description": "How many imports (default 5)"}
            }, "additionalProperties": false}),
            &[
                "Did the last import succeed?",
                "Show the recent imports",
                "How many rows were rejected in the upload?",
            ],
        ),
        spec(
            "tag_customers",
            Data,
            SideEffecting,
            "Add a tag to customers given by id or e-mail. Changes data: asks for approval.",
            json!({"type": "object", "properties": {
                "customers": {"type": "array", "items": {"type": "string"}, "description": "Customer ids or e-mails"},
                "tag": {"type": "string", "description": "The tag to add"}
            }, "required": ["customers", "tag"], "additionalProperties": false}),
            &[
                "Tag jane@example.com as vip",
                "Add the tag 'newsletter' to bob@example.com",
            ],
        ),
        spec(
            "segment_summary",
            M1,
            ReadOnly,
            "Customer segments (RFM and behavioral clusters): size, revenue share and typical behavior of each segment.",
            json!({"type": "object", "properties": {}, "additionalProperties": false}),
            &[
                "What segments do we have?",
                "Break down our customer base into segments",
                "How big is each segment?",
            ],
        ),
        spec(
            "predict_campaign",
            M2,
            ReadOnly,
            "Predict open and click rates of an email campaign for candidate subject lines, optionally for one segment.",
            json!({"type": "object", "properties": {
                "subject_lines": {"type": "array", "items": {"type": "string"}, "description": "Candidate subject lines"},
                "segment": {"type": ["string", "null"], "description": "Target segment"}
            }, "required": ["subject_lines"], "additionalProperties": false}),
            &[
                "Which subject line will get more opens: 'Spring sale' or 'Last chance'?",
                "Predict the open rate of 'Welcome back' for At Risk customers",
            ],
        ),
        spec(
            "draft_message",
            M3,
            ReadOnly,
            "Draft an on-brand email or SMS message from a brief, optionally for one segment.",
            json!({"type": "object", "properties": {
                "channel": {"type": "string", "enum": ["email", "sms"], "description": "Channel"},
                "segment": {"type": ["string", "null"], "description": "Target segment"},
                "brief": {"type": "string", "description": "What the message should say"}
            }, "required": ["channel", "brief"], "additionalProperties": false}),
            &[
                "Write an email announcing our summer sale",
                "Draft an SMS for Champions about early access",
            ],
        ),
        spec(
            "brand_sentiment",
            M4,
            ReadOnly,
            "Brand sentiment from reviews and mentions, overall or for one aspect (delivery, price, quality, service), over a period.",
            json!({"type": "object", "properties": {
                "aspect": {"type": ["string", "null"], "description": "Aspect such as delivery, price, quality"},
                "start": date("First day"),
                "end": date("Last day")
            }, "additionalProperties": false}),
            &[
                "What do people say about our delivery?",
                "How is brand sentiment this month?",
                "Are reviews about price negative?",
            ],
        ),
        spec(
            "channel_attribution",
            M5,
            ReadOnly,
            "Attribute revenue to marketing channels (email, paid social, search, ...) over a period and show return on ad spend.",
            json!({"type": "object", "properties": {
                "start": date("First day"),
                "end": date("Last day")
            }, "additionalProperties": false}),
            &[
                "Which marketing channel drives the most revenue?",
                "What is the ROI of our ad spend by channel?",
            ],
        ),
        spec(
            "churn_risk",
            M6,
            ReadOnly,
            "Customers most likely to churn (stop buying), with churn probability and lifetime value, optionally within one segment.",
            json!({"type": "object", "properties": {
                "segment": {"type": ["string", "null"], "description": "Segment to look in"},
                "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": 100, "description": "How many customers"}
            }, "additionalProperties": false}),
            &[
                "Who is likely to churn?",
                "Which customers are at risk of leaving?",
                "Top 20 churn risks among Champions",
            ],
        ),
    ]
}
