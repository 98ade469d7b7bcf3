//! Tools of the analytics modules M1..M6. Their contracts are fixed here;
//! until a module is built its actor answers every call with
//! `ToolError::NotImplemented` (no placeholder numbers).

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::spec::{Effect, Module};
use crate::tool::Tool;

/// Default number of customers [`ChurnPredictions`], [`AtRiskCustomers`]
/// and [`MostValuableCustomers`] return.
pub const DEFAULT_CHURN_LIMIT: u32 = 10;

// ---------------------------------------------------------------- M1 segments_overview

/// `segments_overview` (M1): the RFM personas of the organization.
#[derive(Debug, Clone, Copy, Default)]
pub struct SegmentsOverview;

/// Arguments of `segments_overview`: none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentsOverviewInput {}

/// One persona (RFM segment) of the organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PersonaSegment {
    /// Persona key (`champions`, `at_risk`, `cant_lose_them`, ...).
    pub segment: String,
    /// Display name ("Champions", "At Risk", ...).
    pub name: String,
    /// Customers currently in it.
    pub customers: u64,
    /// Share of the customers with a persona, 0 to 1.
    pub share: f64,
    /// Mean 12-month customer lifetime value of its members (currency
    /// units); null until the churn job has run.
    pub mean_clv: Option<f64>,
    /// Mean health score of its members, 0 to 100; null without features.
    pub mean_health_score: Option<f64>,
    /// Who is in it.
    pub description: String,
    /// What to do with them.
    pub recommended_action: String,
}

/// Result of `segments_overview`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SegmentsOverviewOutput {
    /// Customers with a persona (at least one purchase).
    pub customers_with_persona: u64,
    /// When the features behind the personas were computed; null if never.
    pub computed_at: Option<DateTime<Utc>>,
    /// Every persona, largest first.
    pub segments: Vec<PersonaSegment>,
    /// Behavioural fingerprint clusters of the latest fingerprint run, by
    /// id; empty until fingerprints have been computed.
    #[serde(default)]
    pub fingerprint_clusters: Vec<FingerprintClusterRow>,
}

impl Tool for SegmentsOverview {
    const NAME: &'static str = "segments_overview";
    const DESCRIPTION: &'static str = "The organization's customer segments: RFM personas \
        (Champions, Loyal Customers, At Risk, Can't Lose Them, Lost, ...) with size, share, mean \
        health score, mean lifetime value, description and recommended action (M1 customer \
        intelligence).";
    const EFFECT: Effect = Effect::ReadOnly;
    const MODULE: Module = Module::M1;
    const EXAMPLES: &'static [&'static str] = &[
        "Show my segments",
        "What customer segments do we have?",
        "Describe our customer personas",
        "Split of our customers into groups",
        "How are our customers segmented?",
        "Which is our biggest customer segment?",
        "How many customers are in each segment?",
    ];
    type Input = SegmentsOverviewInput;
    type Output = SegmentsOverviewOutput;
}

// ---------------------------------------------------------------- M1 segment_members

/// `segment_members` (M1): the customers of one persona.
#[derive(Debug, Clone, Copy, Default)]
pub struct SegmentMembers;

/// Default number of customers [`SegmentMembers`] returns.
pub const DEFAULT_SEGMENT_MEMBERS_LIMIT: u32 = 20;

/// Arguments of `segment_members`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentMembersInput {
    /// The persona, by key or name ("champions", "Can't Lose Them").
    #[schemars(length(min = 1, max = 100))]
    pub segment: String,
    /// Most customers to return (1 to 200; default 20), latest to join first.
    #[serde(default)]
    #[schemars(range(min = 1, max = 200), extend("default" = 20))]
    pub limit: Option<u32>,
}

/// A member of a persona.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SegmentMemberRow {
    /// The customer's id.
    pub customer_id: Uuid,
    /// Full name; null when unknown.
    pub name: Option<String>,
    /// E-mail; null when unknown.
    pub email: Option<String>,
    /// When the customer entered the persona.
    pub joined_at: DateTime<Utc>,
    /// Health score 0 to 100; null without features.
    pub health_score: Option<f64>,
}

/// Result of `segment_members`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SegmentMembersOutput {
    /// Persona key.
    pub segment: String,
    /// Display name.
    pub name: String,
    /// All current members (the list may be shorter).
    pub total: u64,
    /// Members, latest to join first.
    pub customers: Vec<SegmentMemberRow>,
}

impl Tool for SegmentMembers {
    const NAME: &'static str = "segment_members";
    const DESCRIPTION: &'static str = "Lists the customers in one RFM persona segment (e.g. \
        Champions, At Risk, Can't Lose Them) with their health score (M1 customer \
        intelligence).";
    const EFFECT: Effect = Effect::ReadOnly;
    const MODULE: Module = Module::M1;
    const EXAMPLES: &'static [&'static str] = &[
        "Who are my Champions?",
        "List the customers in the Can't Lose Them segment",
        "Show me the members of the At Risk segment",
        "Which customers are Loyal Customers?",
        "How many Champions do we have?",
        "Show customers in the Hibernating segment",
    ];
    type Input = SegmentMembersInput;
    type Output = SegmentMembersOutput;
}

// ---------------------------------------------------------------- M1 run_segmentation

/// `run_segmentation` (M1): recompute features and personas now.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunSegmentation;

/// Arguments of `run_segmentation`: none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunSegmentationInput {}

/// Members of one persona after a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SegmentCount {
    /// Persona key.
    pub segment: String,
    /// Customers in it.
    pub customers: u64,
}

/// Result of `run_segmentation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunSegmentationOutput {
    /// Customers whose features were computed.
    pub customers: u64,
    /// Customers with a persona (at least one purchase).
    pub scored: u64,
    /// The time the features are computed as of (the data's latest order
    /// or event).
    pub as_of: DateTime<Utc>,
    /// Members per persona, largest first.
    pub segments: Vec<SegmentCount>,
    /// Customers whose persona changed (first personas included).
    pub transitions: u64,
    /// Moves to a worse persona, each raised as a drift alert.
    pub alerts: u64,
}

impl Tool for RunSegmentation {
    const NAME: &'static str = "run_segmentation";
    const DESCRIPTION: &'static str = "Recomputes every customer's behavioural features and RFM \
        persona now, records persona changes and raises drift alerts for customers who moved to \
        a worse persona (M1 customer intelligence). Rewrites the stored segments.";
    const EFFECT: Effect = Effect::SideEffecting;
    const MODULE: Module = Module::M1;
    const EXAMPLES: &'static [&'static str] = &[
        "Run the segmentation",
        "Recompute the customer segments now",
        "Refresh personas and features",
        "Rerun the RFM scoring job",
        "Update the RFM segmentation with the latest orders",
    ];
    type Input = RunSegmentationInput;
    type Output = RunSegmentationOutput;
}

// ---------------------------------------------------------------- M1 drift_alerts

/// `drift_alerts` (M1): customers who moved to a worse persona.
#[derive(Debug, Clone, Copy, Default)]
pub struct DriftAlerts;

/// Default number of alerts [`DriftAlerts`] returns.
pub const DEFAULT_DRIFT_ALERTS_LIMIT: u32 = 20;

/// Arguments of `drift_alerts`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DriftAlertsInput {
    /// Most alerts to return (1 to 200; default 20), newest first.
    #[serde(default)]
    #[schemars(range(min = 1, max = 200), extend("default" = 20))]
    pub limit: Option<u32>,
    /// Only alerts raised on or after this day (YYYY-MM-DD, UTC); absent or
    /// null: all.
    #[serde(default)]
    pub since: Option<NaiveDate>,
}

/// Recency, frequency and monetary value of a customer at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RfmEvidence {
    /// Days since the last purchase; null if unknown.
    pub recency_days: Option<f64>,
    /// Purchases; null if unknown.
    pub order_count: Option<f64>,
    /// Total spend (currency units); null if unknown.
    pub monetary_total: Option<f64>,
}

/// One persona drift alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DriftAlert {
    /// The customer's id; null if the customer was deleted.
    pub customer_id: Option<Uuid>,
    /// The customer's name; null when unknown.
    pub name: Option<String>,
    /// Persona before (key).
    pub from: String,
    /// Persona after (key).
    pub to: String,
    /// `warning`, or `critical` for a drop of 5 or more health ranks.
    pub severity: String,
    /// One-line summary.
    pub title: String,
    /// Recency/frequency/monetary before the move.
    pub before: RfmEvidence,
    /// Recency/frequency/monetary after the move.
    pub after: RfmEvidence,
    /// What to do now.
    pub recommended_action: String,
    /// When the alert was raised.
    pub created_at: DateTime<Utc>,
}

/// Result of `drift_alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DriftAlertsOutput {
    /// Alerts, newest first.
    pub alerts: Vec<DriftAlert>,
}

impl Tool for DriftAlerts {
    const NAME: &'static str = "drift_alerts";
    const DESCRIPTION: &'static str = "Customers who recently moved to a worse persona segment \
        (for example from Champions to At Risk), with the recency, frequency and spend evidence \
        before and after: drift alerts (M1 customer intelligence).";
    const EFFECT: Effect = Effect::ReadOnly;
    const MODULE: Module = Module::M1;
    const EXAMPLES: &'static [&'static str] = &[
        "Which customers moved to a worse segment?",
        "Show segment drift alerts",
        "Who slipped from Champions recently?",
        "Any customers whose behaviour changed for the worse?",
        "Which of my best customers are slipping?",
    ];
    type Input = DriftAlertsInput;
    type Output = DriftAlertsOutput;
}

// ---------------------------------------------------------------- M2 predict_campaign

/// `predict_campaign` (M2): predicted outcome of subject lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct PredictCampaign;

/// Arguments of `predict_campaign`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictCampaignInput {
    /// The candidate subject lines to compare (1 to 10, each non-empty).
    #[schemars(length(min = 1, max = 10), inner(length(min = 1)))]
    pub subject_lines: Vec<String>,
    /// Name of the segment the campaign targets; absent or null: all
    /// customers.
    #[serde(default)]
    pub segment: Option<String>,
}

/// Predicted outcome of one subject line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CampaignPrediction {
    /// The subject line.
    pub subject_line: String,
    /// Predicted open rate, 0 to 1.
    pub open_rate: f64,
    /// Predicted click rate, 0 to 1.
    pub click_rate: f64,
    /// Predicted conversion rate, 0 to 1.
    pub conversion_rate: f64,
}

/// Result of `predict_campaign`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PredictCampaignOutput {
    /// One prediction per subject line, best first.
    pub predictions: Vec<CampaignPrediction>,
}

impl Tool for PredictCampaign {
    const NAME: &'static str = "predict_campaign";
    const DESCRIPTION: &'static str = "Predicts open, click and conversion rates of e-mail \
        subject lines for a segment (M2 campaign prediction) and ranks them.";
    const EFFECT: Effect = Effect::ReadOnly;
    const MODULE: Module = Module::M2;
    const EXAMPLES: &'static [&'static str] = &[
        "Which subject line will perform better?",
        "Predict the open rate of 'Summer sale: 20% off'",
        "Compare these two email subject lines",
        "How will this campaign do with our VIP segment?",
        "A/B test these subject lines before sending",
    ];
    type Input = PredictCampaignInput;
    type Output = PredictCampaignOutput;
}

// ---------------------------------------------------------------- M3 draft_message

/// `draft_message` (M3): on-brand e-mail or SMS drafts.
#[derive(Debug, Clone, Copy, Default)]
pub struct DraftMessage;

/// Channel of a drafted message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// E-mail (subject and body).
    Email,
    /// SMS (body only, short).
    Sms,
}

/// Arguments of `draft_message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftMessageInput {
    /// "email" or "sms".
    pub channel: Channel,
    /// Name of the segment the message is for; absent or null: all
    /// customers.
    #[serde(default)]
    pub segment: Option<String>,
    /// What the message should say (offer, occasion, call to action).
    #[schemars(length(min = 1, max = 2000))]
    pub brief: String,
}

/// One drafted message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageDraft {
    /// Subject line (e-mail only; null for SMS).
    pub subject: Option<String>,
    /// Message text.
    pub body: String,
    /// Similarity to the brand's voice, 0 to 1.
    pub brand_voice_score: f64,
}

/// Result of `draft_message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DraftMessageOutput {
    /// The channel drafted for.
    pub channel: Channel,
    /// Alternative drafts, best first.
    pub drafts: Vec<MessageDraft>,
}

impl Tool for DraftMessage {
    const NAME: &'static str = "draft_message";
    const DESCRIPTION: &'static str = "Writes on-brand e-mail or SMS drafts for a segment from a \
        short brief (M3 content studio). Drafts only; nothing is sent.";
    const EFFECT: Effect = Effect::ReadOnly;
    const MODULE: Module = Module::M3;
    const EXAMPLES: &'static [&'static str] = &[
        "Write an email announcing our summer sale",
        "Draft an SMS reminding customers of their abandoned cart",
        "Create a win-back email for lapsed customers",
        "Write a newsletter about our new collection",
        "Draft a short text message for the VIP segment",
    ];
    type Input = DraftMessageInput;
    type Output = DraftMessageOutput;
}

// ---------------------------------------------------------------- M4 brand_sentiment

/// `brand_sentiment` (M4): sentiment of brand mentions by aspect.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrandSentiment;

/// Arguments of `brand_sentiment`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandSentimentInput {
    /// Only this aspect (e.g. "shipping", "price", "quality"); absent or
    /// null: every aspect.
    #[serde(default)]
    pub aspect: Option<String>,
    /// First day to include (YYYY-MM-DD, UTC); absent or null: no lower
    /// bound.
    #[serde(default)]
    pub start: Option<NaiveDate>,
    /// Last day to include (YYYY-MM-DD, UTC, inclusive); absent or null: up
    /// to today.
    #[serde(default)]
    pub end: Option<NaiveDate>,
}

/// Sentiment of one aspect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AspectSentiment {
    /// The aspect.
    pub aspect: String,
    /// Mean sentiment, -1 (negative) to 1 (positive).
    pub score: f64,
    /// Mentions discussing it.
    pub mentions: u64,
}

/// Result of `brand_sentiment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BrandSentimentOutput {
    /// Mean overall sentiment, -1 to 1; null without mentions.
    pub overall: Option<f64>,
    /// Mentions in the range.
    pub mentions: u64,
    /// Sentiment per aspect, most discussed first.
    pub aspects: Vec<AspectSentiment>,
}

impl Tool for BrandSentiment {
    const NAME: &'static str = "brand_sentiment";
    const DESCRIPTION: &'static str = "Sentiment of brand mentions (reviews, social posts) overall \
        and per aspect such as shipping, price or quality, over a date range (M4 brand monitor).";
    const EFFECT: Effect = Effect::ReadOnly;
    const MODULE: Module = Module::M4;
    const EXAMPLES: &'static [&'static str] = &[
        "What do people say about our brand?",
        "How is sentiment about shipping?",
        "Are reviews getting worse?",
        "Brand sentiment last month",
        "What do customers complain about most?",
    ];
    type Input = BrandSentimentInput;
    type Output = BrandSentimentOutput;
}

// ---------------------------------------------------------------- M5 channel_attribution

/// `channel_attribution` (M5): revenue attributed to marketing channels.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChannelAttribution;

/// Arguments of `channel_attribution`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelAttributionInput {
    /// First day to include (YYYY-MM-DD, UTC); absent or null: no lower
    /// bound.
    #[serde(default)]
    pub start: Option<NaiveDate>,
    /// Last day to include (YYYY-MM-DD, UTC, inclusive); absent or null: up
    /// to today.
    #[serde(default)]
    pub end: Option<NaiveDate>,
}

/// Attribution of one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelContribution {
    /// Channel name.
    pub channel: String,
    /// Money spent.
    pub spend: f64,
    /// Revenue attributed to the channel.
    pub attributed_revenue: f64,
    /// `attributed_revenue / spend`; null without spend.
    pub roas: Option<f64>,
}

/// Result of `channel_attribution`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelAttributionOutput {
    /// Channels, by attributed revenue, highest first.
    pub channels: Vec<ChannelContribution>,
}

impl Tool for ChannelAttribution {
    const NAME: &'static str = "channel_attribution";
    const DESCRIPTION: &'static str = "Revenue attributed to each marketing channel, with spend \
        and return on ad spend, over a date range (M5 attribution).";
    const EFFECT: Effect = Effect::ReadOnly;
    const MODULE: Module = Module::M5;
    const EXAMPLES: &'static [&'static str] = &[
        "Which marketing channels drive the most revenue?",
        "What's the ROAS of Google Ads?",
        "Attribute last quarter's revenue to channels",
        "Is Facebook advertising worth it?",
        "Where should I spend my marketing budget?",
    ];
    type Input = ChannelAttributionInput;
    type Output = ChannelAttributionOutput;
}

// ---------------------------------------------------------------- M6 churn_predictions

/// A churn risk tier (from the 90-day churn probability: very high >= 0.8,
/// high >= 0.6, medium >= 0.4, low otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RiskTierArg {
    /// 90-day churn probability >= 0.8.
    VeryHigh,
    /// >= 0.6.
    High,
    /// >= 0.4.
    Medium,
    /// < 0.4.
    Low,
}

impl RiskTierArg {
    /// The stored name (`very_high`, `high`, `medium`, `low`).
    pub fn as_str(self) -> &'static str {
        match self {
            RiskTierArg::VeryHigh => "very_high",
            RiskTierArg::High => "high",
            RiskTierArg::Medium => "medium",
            RiskTierArg::Low => "low",
        }
    }
}

/// `churn_predictions` (M6): churn probabilities per customer.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChurnPredictions;

/// Arguments of `churn_predictions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChurnPredictionsInput {
    /// Only this risk tier; absent or null: every tier.
    #[serde(default)]
    pub tier: Option<RiskTierArg>,
    /// Only customers of this persona segment (key or name, e.g.
    /// "Champions"); absent or null: all.
    #[serde(default)]
    pub segment: Option<String>,
    /// Horizon in days: 30, 60 or 90 (default 90).
    #[serde(default)]
    #[schemars(range(min = 30, max = 90), extend("default" = 90))]
    pub horizon: Option<u32>,
    /// Most customers to return (1 to 100; default 10), highest probability
    /// first.
    #[serde(default)]
    #[schemars(range(min = 1, max = 100), extend("default" = 10))]
    pub limit: Option<u32>,
}

/// One customer's churn prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChurnPredictionRow {
    /// The customer's id.
    pub customer_id: Uuid,
    /// The customer's name; null when unknown.
    pub name: Option<String>,
    /// Probability of no purchase within the horizon, 0 to 1.
    pub probability: f64,
    /// 90-day churn probability (the tier's basis), 0 to 1.
    pub probability_90d: f64,
    /// Predicted 12-month customer lifetime value; null when not predicted.
    pub clv: Option<f64>,
    /// Risk tier (`very_high`, `high`, `medium`, `low`).
    pub risk_tier: String,
    /// Recommended intervention for the tier.
    pub intervention: String,
    /// Persona segment key; null without one.
    pub segment: Option<String>,
}

/// Result of `churn_predictions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChurnPredictionsOutput {
    /// The horizon of `probability`, days.
    pub horizon_days: u32,
    /// When the predictions were made.
    pub predicted_at: DateTime<Utc>,
    /// Model version that made them.
    pub model_version: String,
    /// The model that made them: `deephit` (the survival network) or
    /// `bgnbd` (BG/NBD), whichever was better on the organization's holdout.
    pub model: String,
    /// Customers matching the filters (the list may be shorter).
    pub matching: u64,
    /// Customers, highest probability first.
    pub customers: Vec<ChurnPredictionRow>,
}

impl Tool for ChurnPredictions {
    const NAME: &'static str = "churn_predictions";
    const DESCRIPTION: &'static str = "Churn probabilities per customer at 30, 60 or 90 days \
        (BG/NBD), with predicted lifetime value, risk tier and intervention, filtered by tier or \
        segment (M6 CLV and churn).";
    const EFFECT: Effect = Effect::ReadOnly;
    const MODULE: Module = Module::M6;
    const EXAMPLES: &'static [&'static str] = &[
        "Which customers are likely to churn in 30 days?",
        "Which customers are about to churn?",
        "Show high churn risk customers",
        "Who are we likely to lose in the next 60 days?",
        "List the 20 customers most likely to churn",
        "Top 10 churn risks among the Loyal Customers",
        "Churn probability of the Champions",
    ];
    type Input = ChurnPredictionsInput;
    type Output = ChurnPredictionsOutput;
}

// ---------------------------------------------------------------- M6 at_risk_customers

/// `at_risk_customers` (M6): valuable customers likely to churn, with what
/// to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct AtRiskCustomers;

/// Arguments of `at_risk_customers`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AtRiskCustomersInput {
    /// Most customers to return (1 to 100; default 10).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100), extend("default" = 10))]
    pub limit: Option<u32>,
}

/// One valuable customer at risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AtRiskCustomer {
    /// The customer's id.
    pub customer_id: Uuid,
    /// The customer's name; null when unknown.
    pub name: Option<String>,
    /// E-mail; null when unknown.
    pub email: Option<String>,
    /// 90-day churn probability, 0 to 1.
    pub churn_probability_90d: f64,
    /// Total spend so far (currency units).
    pub monetary_total: f64,
    /// Predicted 12-month lifetime value; null when not predicted.
    pub clv: Option<f64>,
    /// Risk tier (`very_high`, `high`, `medium`).
    pub risk_tier: String,
    /// Recommended intervention.
    pub intervention: String,
    /// Persona segment key; null without one.
    pub segment: Option<String>,
}

/// Result of `at_risk_customers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AtRiskCustomersOutput {
    /// Who counts as valuable: total spend at or above this (the median
    /// spend of customers with a purchase).
    pub valuable_min_spend: f64,
    /// Valuable customers in tier medium or worse.
    pub at_risk: u64,
    /// Customers, highest 90-day churn probability first (then spend).
    pub customers: Vec<AtRiskCustomer>,
    /// When the churn predictions were made.
    pub predicted_at: DateTime<Utc>,
    /// The model that made them: `deephit` or `bgnbd` (as
    /// `churn_predictions`).
    pub model: String,
}

impl Tool for AtRiskCustomers {
    const NAME: &'static str = "at_risk_customers";
    const DESCRIPTION: &'static str = "Valuable customers (spend at or above the median) most \
        likely to churn, highest 90-day churn risk first: who to contact or call first, each with \
        the recommended intervention to keep them (M6 CLV and churn).";
    const EFFECT: Effect = Effect::ReadOnly;
    const MODULE: Module = Module::M6;
    const EXAMPLES: &'static [&'static str] = &[
        "Who are my at-risk customers and what should I do?",
        "Which valuable customers are at risk of leaving?",
        "How do I keep my best customers from churning?",
        "Show at-risk customers with recommended actions",
        "What should I do about customers we might lose?",
        "Which customers should I win back first?",
    ];
    type Input = AtRiskCustomersInput;
    type Output = AtRiskCustomersOutput;
}

// ---------------------------------------------------------------- M6 most_valuable_customers

/// `most_valuable_customers` (M6): customers ranked by predicted lifetime
/// value.
#[derive(Debug, Clone, Copy, Default)]
pub struct MostValuableCustomers;

/// Arguments of `most_valuable_customers`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MostValuableCustomersInput {
    /// Only customers of this persona segment (key or name, e.g.
    /// "Champions"); absent or null: all.
    #[serde(default)]
    pub segment: Option<String>,
    /// Most customers to return (1 to 100; default 10).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100), extend("default" = 10))]
    pub limit: Option<u32>,
}

/// One customer by predicted lifetime value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ValuableCustomer {
    /// The customer's id.
    pub customer_id: Uuid,
    /// The customer's name; null when unknown.
    pub name: Option<String>,
    /// E-mail; null when unknown.
    pub email: Option<String>,
    /// Predicted 12-month lifetime value (currency units).
    pub clv: f64,
    /// 90-day churn probability (no purchase within 90 days), 0 to 1.
    pub churn_probability_90d: f64,
    /// Risk tier (`very_high`, `high`, `medium`, `low`).
    pub risk_tier: String,
    /// Recommended intervention for the tier.
    pub intervention: String,
    /// Persona segment key; null without one.
    pub segment: Option<String>,
}

/// Result of `most_valuable_customers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MostValuableCustomersOutput {
    /// Customers with a predicted lifetime value that match the filter.
    pub matching: u64,
    /// Their summed 12-month lifetime value (currency units).
    pub total_clv: f64,
    /// Customers, highest lifetime value first (ties by id).
    pub customers: Vec<ValuableCustomer>,
    /// When the predictions were made.
    pub predicted_at: DateTime<Utc>,
    /// The model that made the churn probabilities: `deephit` or `bgnbd`
    /// (lifetime value is BG/NBD + Gamma-Gamma either way).
    pub model: String,
}

impl Tool for MostValuableCustomers {
    const NAME: &'static str = "most_valuable_customers";
    const DESCRIPTION: &'static str = "Customers ranked by predicted 12-month customer lifetime \
        value (CLV, BG/NBD + Gamma-Gamma), highest first, optionally only the members of one \
        persona: the individual customers to protect and reward first (M6 CLV and churn).";
    const EFFECT: Effect = Effect::ReadOnly;
    const MODULE: Module = Module::M6;
    const EXAMPLES: &'static [&'static str] = &[
        "Who are my most valuable customers?",
        "Top 10 customers by lifetime value",
        "Which customers have the highest CLV?",
        "Rank our customers by CLV",
        "The 5 most valuable Champions",
    ];
    type Input = MostValuableCustomersInput;
    type Output = MostValuableCustomersOutput;
}

// ---------------------------------------------------------------- M6 clv_by_segment

/// `clv_by_segment` (M6): lifetime value and churn per persona.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClvBySegment;

/// Arguments of `clv_by_segment`: none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClvBySegmentInput {}

/// Lifetime value of one persona.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SegmentClv {
    /// Persona key; `unsegmented` for scored customers without a persona.
    pub segment: String,
    /// Customers scored in it.
    pub customers: u64,
    /// Sum of their 12-month CLV (currency units); null without CLV.
    pub total_clv: Option<f64>,
    /// Mean 12-month CLV; null without CLV.
    pub mean_clv: Option<f64>,
    /// Mean 90-day churn probability, 0 to 1.
    pub mean_churn_90d: f64,
}

/// Result of `clv_by_segment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClvBySegmentOutput {
    /// Personas by total CLV, highest first.
    pub segments: Vec<SegmentClv>,
    /// When the predictions were made.
    pub predicted_at: DateTime<Utc>,
}

impl Tool for ClvBySegment {
    const NAME: &'static str = "clv_by_segment";
    const DESCRIPTION: &'static str = "Predicted 12-month customer lifetime value (CLV, \
        BG/NBD + Gamma-Gamma) and mean churn probability per persona segment (M6 CLV and \
        churn).";
    const EFFECT: Effect = Effect::ReadOnly;
    const MODULE: Module = Module::M6;
    const EXAMPLES: &'static [&'static str] = &[
        "CLV by segment",
        "What is the lifetime value of each segment?",
        "Which segment is worth the most?",
        "Customer lifetime value per persona",
        "Average CLV of the Champions compared to other segments",
        "Which segment has the highest churn risk?",
    ];
    type Input = ClvBySegmentInput;
    type Output = ClvBySegmentOutput;
}

// ---------------------------------------------------------------- M1 similar_customers

/// `similar_customers` (M1): the customers whose behavioural fingerprints
/// are closest to one customer's.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimilarCustomers;

/// Default number of neighbours [`SimilarCustomers`] returns.
pub const DEFAULT_SIMILAR_LIMIT: u32 = 10;

/// Arguments of `similar_customers`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimilarCustomersInput {
    /// The customer: id, e-mail or full name.
    #[schemars(length(min = 1, max = 200))]
    pub customer: String,
    /// Most neighbours to return (1 to 100; default 10), most similar first.
    #[serde(default)]
    #[schemars(range(min = 1, max = 100), extend("default" = 10))]
    pub limit: Option<u32>,
    /// Only neighbours currently in this persona segment (key or name,
    /// e.g. "champions", "At Risk").
    #[serde(default)]
    #[schemars(length(min = 1, max = 100))]
    pub segment: Option<String>,
}

/// One fingerprint cluster of the organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FingerprintClusterRow {
    /// Cluster id of the latest fingerprint run.
    pub cluster: i64,
    /// Persona key the cluster is named with; null when no member has
    /// purchased.
    pub persona: Option<String>,
    /// Display name ("Champions", ... or "No purchases").
    pub name: String,
    /// Members.
    pub size: u64,
    /// Mean health score of its members, 0 to 100; null without features.
    pub mean_health_score: Option<f64>,
}

/// A customer similar to the one asked about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SimilarCustomerRow {
    /// The customer's id.
    pub customer_id: Uuid,
    /// Full name; null when unknown.
    pub name: Option<String>,
    /// E-mail; null when unknown.
    pub email: Option<String>,
    /// Cosine similarity of the fingerprints, -1 to 1 (1 = same behaviour).
    pub similarity: f64,
    /// RFM persona key; null without a purchase.
    pub persona: Option<String>,
    /// Fingerprint cluster id; null when the customer is in no cluster.
    pub cluster: Option<i64>,
    /// The cluster's name; null when in no cluster.
    pub cluster_name: Option<String>,
}

/// Result of `similar_customers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SimilarCustomersOutput {
    /// The customer asked about.
    pub customer_id: Uuid,
    /// Their full name, if known.
    pub name: Option<String>,
    /// Their fingerprint cluster id; null when in no cluster.
    pub cluster: Option<i64>,
    /// Their cluster's name; null when in no cluster.
    pub cluster_name: Option<String>,
    /// Version of the fingerprint run.
    pub model_version: String,
    /// When the fingerprints were computed.
    pub computed_at: DateTime<Utc>,
    /// Neighbours, most similar first.
    pub customers: Vec<SimilarCustomerRow>,
}

impl Tool for SimilarCustomers {
    const NAME: &'static str = "similar_customers";
    const DESCRIPTION: &'static str = "Lookalikes: people similar to a given one, who behave \
        alike (nearest neighbours of behavioural fingerprints learned from order and event \
        histories), with similarity, persona and cluster; optionally within one segment (M1 \
        customer intelligence).";
    const EFFECT: Effect = Effect::ReadOnly;
    const MODULE: Module = Module::M1;
    const EXAMPLES: &'static [&'static str] = &[
        "customers like anna@example.com",
        "who is similar to Noah Sato",
        "Which buyers behave like max@example.org?",
        "lookalikes of my best buyer",
        "find people similar to jane@example.com",
    ];
    type Input = SimilarCustomersInput;
    type Output = SimilarCustomersOutput;
}
