//! The routing table of the offline provider: varied phrasings (many not
//! in any tool's examples) with the tool and arguments each must produce,
//! relative to the reference date 2024-06-30. [`misrouted`] runs it against
//! any catalog with the issue-3 tool names (the test catalog here, or
//! `aima_tools::catalog()` once both are on one branch).

use aima_runtime::llm::offline::{OfflineProvider, Plan};
use aima_runtime::llm::{LlmOptions, LlmRequest, Message};
use aima_tools::ToolSpec;
use serde_json::{Value, json};

/// One case: the question and the (tool, arguments that must be present)
/// list; an empty list means "out of scope".
pub type Case = (&'static str, Vec<(&'static str, Value)>);

/// Whether every key of `expected` is in `actual` with that value.
fn contains(actual: &Value, expected: &Value) -> bool {
    expected
        .as_object()
        .expect("expected object")
        .iter()
        .all(|(k, v)| actual.get(k) == Some(v))
}

/// The cases: (question, [(tool, arguments that must be present)]).
pub fn cases() -> Vec<Case> {
    vec![
        // revenue_over_time
        (
            "What was our revenue last month?",
            vec![(
                "revenue_over_time",
                json!({"start": "2024-05-01", "end": "2024-05-31"}),
            )],
        ),
        (
            "How much did we sell in March 2024?",
            vec![(
                "revenue_over_time",
                json!({"start": "2024-03-01", "end": "2024-03-31"}),
            )],
        ),
        (
            "Show me weekly sales for the last 30 days",
            vec![(
                "revenue_over_time",
                json!({"granularity": "week", "start": "2024-06-01", "end": "2024-06-30"}),
            )],
        ),
        (
            "revenue by month this year",
            vec![(
                "revenue_over_time",
                json!({"granularity": "month", "start": "2024-01-01", "end": "2024-06-30"}),
            )],
        ),
        (
            "Give me the turnover between 2024-01-01 and 2024-03-31, daily please",
            vec![(
                "revenue_over_time",
                json!({"granularity": "day", "start": "2024-01-01", "end": "2024-03-31"}),
            )],
        ),
        (
            "How did income develop in Q3 2023?",
            vec![(
                "revenue_over_time",
                json!({"start": "2023-07-01", "end": "2023-09-30"}),
            )],
        ),
        (
            "total sales in 2023",
            vec![(
                "revenue_over_time",
                json!({"start": "2023-01-01", "end": "2023-12-31"}),
            )],
        ),
        (
            "What's the revenue trend per week since 2024-04-01?",
            vec![(
                "revenue_over_time",
                json!({"granularity": "week", "start": "2024-04-01"}),
            )],
        ),
        (
            "How much money did we make last year?",
            vec![(
                "revenue_over_time",
                json!({"start": "2023-01-01", "end": "2023-12-31"}),
            )],
        ),
        (
            "daily revenue yesterday",
            vec![(
                "revenue_over_time",
                json!({"granularity": "day", "start": "2024-06-29", "end": "2024-06-29"}),
            )],
        ),
        // top_products
        (
            "What are our top 5 products?",
            vec![("top_products", json!({"limit": 5}))],
        ),
        (
            "Best sellers last year by quantity",
            vec![(
                "top_products",
                json!({"by": "quantity", "start": "2023-01-01", "end": "2023-12-31"}),
            )],
        ),
        (
            "Which items sold the most in Q3 1997?",
            vec![(
                "top_products",
                json!({"start": "1997-07-01", "end": "1997-09-30"}),
            )],
        ),
        (
            "ten best-selling products this month",
            vec![(
                "top_products",
                json!({"limit": 10, "start": "2024-06-01", "end": "2024-06-30"}),
            )],
        ),
        (
            "list the three most popular products by revenue",
            vec![("top_products", json!({"limit": 3, "by": "revenue"}))],
        ),
        (
            "what sold best in March?",
            vec![(
                "top_products",
                json!({"start": "2024-03-01", "end": "2024-03-31"}),
            )],
        ),
        // customer_count
        (
            "How many customers do we have?",
            vec![("customer_count", json!({}))],
        ),
        (
            "Number of clients in Germany",
            vec![("customer_count", json!({"country": "Germany"}))],
        ),
        (
            "How many customers do we have in the US?",
            vec![("customer_count", json!({"country": "US"}))],
        ),
        (
            "number of customers from the United Kingdom",
            vec![("customer_count", json!({"country": "United Kingdom"}))],
        ),
        (
            "How many new customers signed up last month?",
            vec![(
                "customer_count",
                json!({"created_from": "2024-05-01", "created_to": "2024-05-31"}),
            )],
        ),
        (
            "customer count in Berlin",
            vec![("customer_count", json!({"city": "Berlin"}))],
        ),
        (
            "how many buyers registered in 2023?",
            vec![(
                "customer_count",
                json!({"created_from": "2023-01-01", "created_to": "2023-12-31"}),
            )],
        ),
        // customer_search
        (
            "Find customers named Smith",
            vec![("customer_search", json!({"query": "Smith"}))],
        ),
        (
            "Search for customers in Lyon",
            vec![("customer_search", json!({"query": "Lyon"}))],
        ),
        (
            "look up jane@example.com",
            vec![("customer_search", json!({"query": "jane@example.com"}))],
        ),
        (
            "search 20 clients from Paris",
            vec![("customer_search", json!({"query": "Paris", "limit": 20}))],
        ),
        // customer_profile
        (
            "Show me the profile of jane@example.com",
            vec![("customer_profile", json!({"customer": "jane@example.com"}))],
        ),
        (
            "Tell me about customer Maria Anders",
            vec![("customer_profile", json!({"customer": "Maria Anders"}))],
        ),
        (
            "What has John Smith ordered?",
            vec![("customer_profile", json!({"customer": "John Smith"}))],
        ),
        (
            "Give me the details for bob@shop.io",
            vec![("customer_profile", json!({"customer": "bob@shop.io"}))],
        ),
        (
            "order history of Ana Trujillo",
            vec![("customer_profile", json!({"customer": "Ana Trujillo"}))],
        ),
        // import_status
        (
            "Did the last import succeed?",
            vec![("import_status", json!({}))],
        ),
        (
            "show the 3 most recent uploads",
            vec![("import_status", json!({"limit": 3}))],
        ),
        (
            "were any rows rejected in the latest data load?",
            vec![("import_status", json!({}))],
        ),
        // tag_customers (side-effecting; the planner asks for approval)
        (
            "Tag jane@example.com as vip",
            vec![(
                "tag_customers",
                json!({"customers": ["jane@example.com"], "tag": "vip"}),
            )],
        ),
        (
            "label bob@example.com and amy@example.com with 'newsletter'",
            vec![(
                "tag_customers",
                json!({"customers": ["bob@example.com", "amy@example.com"], "tag": "newsletter"}),
            )],
        ),
        // churn_risk
        ("Who is likely to churn?", vec![("churn_risk", json!({}))]),
        (
            "Which customers are at risk of leaving?",
            vec![("churn_risk", json!({}))],
        ),
        (
            "top 20 churn risks among Champions",
            vec![("churn_risk", json!({"limit": 20, "segment": "Champions"}))],
        ),
        (
            "which At Risk customers might lapse soon",
            vec![("churn_risk", json!({"segment": "At Risk"}))],
        ),
        // segment_summary
        (
            "What segments do we have?",
            vec![("segment_summary", json!({}))],
        ),
        (
            "break our customer base into groups",
            vec![("segment_summary", json!({}))],
        ),
        // brand_sentiment
        (
            "What do people say about our delivery?",
            vec![("brand_sentiment", json!({"aspect": "delivery"}))],
        ),
        (
            "How is brand sentiment this month?",
            vec![(
                "brand_sentiment",
                json!({"start": "2024-06-01", "end": "2024-06-30"}),
            )],
        ),
        (
            "are reviews about pricing negative?",
            vec![("brand_sentiment", json!({"aspect": "pricing"}))],
        ),
        // channel_attribution
        (
            "Which marketing channel drives the most revenue?",
            vec![("channel_attribution", json!({}))],
        ),
        (
            "what's the ROI of paid social in Q1 2024?",
            vec![(
                "channel_attribution",
                json!({"start": "2024-01-01", "end": "2024-03-31"}),
            )],
        ),
        // predict_campaign
        (
            "Which subject line gets more opens: 'Spring sale' or 'Last chance'?",
            vec![(
                "predict_campaign",
                json!({"subject_lines": ["Spring sale", "Last chance"]}),
            )],
        ),
        (
            "predict the open rate of 'Welcome back' for At Risk customers",
            vec![(
                "predict_campaign",
                json!({"subject_lines": ["Welcome back"], "segment": "At Risk"}),
            )],
        ),
        // draft_message
        (
            "Write an email announcing our summer sale",
            vec![("draft_message", json!({"channel": "email"}))],
        ),
        (
            "compose an SMS for Champions about early access",
            vec![(
                "draft_message",
                json!({"channel": "sms", "segment": "Champions"}),
            )],
        ),
        // several intents at once
        (
            "revenue by month and the top 3 products",
            vec![
                ("revenue_over_time", json!({"granularity": "month"})),
                ("top_products", json!({"limit": 3})),
            ],
        ),
        (
            "How many customers do we have, and what were sales last quarter?",
            vec![
                ("customer_count", json!({})),
                (
                    "revenue_over_time",
                    json!({"start": "2024-01-01", "end": "2024-03-31"}),
                ),
            ],
        ),
        (
            "Show revenue in 2023 as well as the best sellers and who might churn",
            vec![
                (
                    "revenue_over_time",
                    json!({"start": "2023-01-01", "end": "2023-12-31"}),
                ),
                (
                    "top_products",
                    json!({"start": "2023-01-01", "end": "2023-12-31"}),
                ),
                ("churn_risk", json!({})),
            ],
        ),
        // more phrasings written apart from the catalog's examples
        (
            "sales figures for last week",
            vec![(
                "revenue_over_time",
                json!({"start": "2024-06-17", "end": "2024-06-23"}),
            )],
        ),
        (
            "Can you break down revenue by day for June 2024?",
            vec![(
                "revenue_over_time",
                json!({"granularity": "day", "start": "2024-06-01", "end": "2024-06-30"}),
            )],
        ),
        (
            "How many orders did we get yesterday?",
            vec![(
                "revenue_over_time",
                json!({"start": "2024-06-29", "end": "2024-06-29"}),
            )],
        ),
        (
            "Which 7 products brought in the most money in 2022?",
            vec![(
                "top_products",
                json!({"limit": 7, "start": "2022-01-01", "end": "2022-12-31"}),
            )],
        ),
        (
            "give me our customer headcount",
            vec![("customer_count", json!({}))],
        ),
        (
            "how many shoppers from France do we have",
            vec![("customer_count", json!({"country": "France"}))],
        ),
        (
            "pull up the account of maria.anders@example.de",
            vec![(
                "customer_profile",
                json!({"customer": "maria.anders@example.de"}),
            )],
        ),
        (
            "Any problems with the latest file upload?",
            vec![("import_status", json!({}))],
        ),
        (
            "what's our ROAS by channel for last month",
            vec![(
                "channel_attribution",
                json!({"start": "2024-05-01", "end": "2024-05-31"}),
            )],
        ),
        (
            "How do customers feel about product quality?",
            vec![("brand_sentiment", json!({"aspect": "product quality"}))],
        ),
        (
            "draft a text message to Hibernating customers offering 10% off",
            vec![(
                "draft_message",
                json!({"channel": "sms", "segment": "Hibernating"}),
            )],
        ),
        (
            "Forecast opens for the subject 'Back in stock'",
            vec![(
                "predict_campaign",
                json!({"subject_lines": ["Back in stock"]}),
            )],
        ),
        (
            "list customers who live in Madrid",
            vec![("customer_search", json!({"query": "Madrid"}))],
        ),
        // outside what the tools can answer
        ("What's the capital of France?", vec![]),
        ("Write me a poem about the sea", vec![]),
        ("What's the weather in Paris tomorrow?", vec![]),
        ("Tell me a joke", vec![]),
        ("How many employees do we have?", vec![]),
        ("Who won the football match yesterday?", vec![]),
    ]
}

/// Questions for the M1/M6 tools of the real catalog (issue 4).
pub fn intelligence_cases() -> Vec<Case> {
    vec![
        (
            "who are my at-risk customers and what should I do?",
            vec![("at_risk_customers", json!({}))],
        ),
        ("show my segments", vec![("segments_overview", json!({}))]),
        (
            "how many champions do I have",
            vec![("segment_members", json!({"segment": "Champions"}))],
        ),
        ("CLV by segment", vec![("clv_by_segment", json!({}))]),
        (
            "which customers are likely to churn in 30 days",
            vec![("churn_predictions", json!({}))],
        ),
        (
            "list the members of the Can't Lose Them segment",
            vec![("segment_members", json!({"segment": "Can't Lose Them"}))],
        ),
        (
            "which customers moved to a worse segment recently?",
            vec![("drift_alerts", json!({}))],
        ),
        (
            "customers like anna@example.com",
            vec![("similar_customers", json!({"customer": "anna@example.com"}))],
        ),
        // "like" as in "I'd like" is not a similarity question.
        (
            "I'd like to see my segments",
            vec![("segments_overview", json!({}))],
        ),
        (
            "who is similar to Noah Sato",
            vec![("similar_customers", json!({"customer": "Noah Sato"}))],
        ),
        (
            "customers who resemble Noah Sato",
            vec![("similar_customers", json!({"customer": "Noah Sato"}))],
        ),
        // An entity and no intent words: the call it describes completely.
        (
            "what's the story with jane@example.com?",
            vec![("customer_profile", json!({"customer": "jane@example.com"}))],
        ),
        // A lone surname names nobody in particular: search for it.
        (
            "is there a customer with the surname Kim?",
            vec![("customer_search", json!({"query": "Kim"}))],
        ),
        (
            "how big is our audience in Dhaka",
            vec![("customer_count", json!({"city": "Dhaka"}))],
        ),
        // Parallel clauses share the shape asked for at the end.
        (
            "customers in Berlin and customers in Munich: how many each?",
            vec![
                ("customer_count", json!({"city": "Berlin"})),
                ("customer_count", json!({"city": "Munich"})),
            ],
        ),
        // ... but a clause with a subject of its own keeps its tool.
        (
            "give me the segment breakdown plus the clv per segment",
            vec![
                ("segments_overview", json!({})),
                ("clv_by_segment", json!({})),
            ],
        ),
        // A clause that routes nowhere joins the one before, which is
        // routed again unless that would drop an entity.
        (
            "what have customers in Mumbai been up to? how many are there?",
            vec![("customer_count", json!({"city": "Mumbai"}))],
        ),
        (
            "Do we have any customers called Okafor? How many?",
            vec![("customer_search", json!({"query": "Okafor"}))],
        ),
        // "the first 5" asks for a list of five, not a number.
        (
            "show our first 5 customers who signed up from Seattle",
            vec![("customer_search", json!({"query": "Seattle", "limit": 5}))],
        ),
        (
            "revenue by day for June 1 to June 7 2024",
            vec![(
                "revenue_over_time",
                json!({"start": "2024-06-01", "end": "2024-06-07", "granularity": "day"}),
            )],
        ),
        // Data the store does not hold, and actions no tool takes.
        (
            "how many units of the Merino Sweater are left in the warehouse?",
            vec![],
        ),
        ("how much profit did we make last quarter?", vec![]),
        ("issue a refund for order O000123", vec![]),
        ("How many followers do we have on Instagram?", vec![]),
        ("What will the bitcoin price be next week?", vec![]),
    ]
}

/// The cases `tools` gets wrong, each described.
pub fn misrouted(tools: &[ToolSpec], cases: &[Case]) -> Vec<String> {
    let p = OfflineProvider::new();
    let mut failures = Vec::new();
    for (question, expected) in cases {
        let request = LlmRequest {
            messages: vec![Message::user(*question)],
            tools: tools.to_vec(),
            options: LlmOptions {
                reference_date: chrono::NaiveDate::from_ymd_opt(2024, 6, 30),
                ..Default::default()
            },
        };
        let got = p.plan(&request).expect("plan");
        let ok = match (&got, expected.is_empty()) {
            (Plan::Say(text), true) => text.contains("I can't answer that with the tools I have"),
            (Plan::Calls(calls), false) => {
                calls.len() == expected.len()
                    && expected.iter().zip(calls).all(|((tool, args), call)| {
                        call.name == *tool && contains(&call.arguments, args)
                    })
            }
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{question:?}\n   expected {expected:?}\n   got {got:?}"
            ));
        }
    }
    failures
}
