//! Tools of the analytics modules M1..M6. Their contracts are fixed here;
//! until a module is built its actor answers every call with
//! `ToolError::NotImplemented` (no placeholder numbers).

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::spec::{Effect, Module};
use crate::tool::Tool;

/// Default number of customers [`ChurnRisk`] returns.
pub const DEFAULT_CHURN_LIMIT: u32 = 10;

// ---------------------------------------------------------------- M1 segment_summary

/// `segment_summary` (M1): the current customer segments.
#[derive(Debug, Clone, Copy, Default)]
pub struct SegmentSummary;

/// Arguments of `segment_summary`: none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentSummaryInput {}

/// One customer segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SegmentInfo {
    /// Segment name (e.g. "loyal high spenders").
    pub name: String,
    /// What characterizes its members, in words.
    pub description: String,
    /// Number of customers in it.
    pub customers: u64,
    /// Share of all customers, 0 to 1.
    pub share: f64,
}

/// Result of `segment_summary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SegmentSummaryOutput {
    /// The segments, largest first.
    pub segments: Vec<SegmentInfo>,
}

impl Tool for SegmentSummary {
    const NAME: &'static str = "segment_summary";
    const DESCRIPTION: &'static str = "The organization's customer segments (behavioral clusters \
        and personas from M1 customer intelligence): name, description, size and share.";
    const EFFECT: Effect = Effect::ReadOnly;
    const MODULE: Module = Module::M1;
    const EXAMPLES: &'static [&'static str] = &[
        "What customer segments do we have?",
        "Describe our customer personas",
        "How are our customers segmented?",
        "Which is our biggest customer segment?",
        "Summarize the customer clusters",
    ];
    type Input = SegmentSummaryInput;
    type Output = SegmentSummaryOutput;
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

// ---------------------------------------------------------------- M6 churn_risk

/// `churn_risk` (M6): customers most likely to churn.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChurnRisk;

/// Arguments of `churn_risk`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChurnRiskInput {
    /// Only customers of this segment; absent or null: all customers.
    #[serde(default)]
    pub segment: Option<String>,
    /// Most customers to return (1 to 100; default 10), highest risk first.
    #[serde(default)]
    #[schemars(range(min = 1, max = 100), extend("default" = 10))]
    pub limit: Option<u32>,
}

/// One customer's churn risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChurnRiskRow {
    /// The customer's id.
    pub customer_id: Uuid,
    /// The customer's name; null when unknown.
    pub name: Option<String>,
    /// Probability of churning within the model's horizon, 0 to 1.
    pub probability: f64,
    /// Predicted customer lifetime value; null when not predicted.
    pub clv: Option<f64>,
    /// Risk tier ("low", "medium", "high").
    pub risk_tier: String,
}

/// Result of `churn_risk`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChurnRiskOutput {
    /// Customers, highest risk first.
    pub customers: Vec<ChurnRiskRow>,
}

impl Tool for ChurnRisk {
    const NAME: &'static str = "churn_risk";
    const DESCRIPTION: &'static str = "Customers most likely to churn, with churn probability, \
        predicted lifetime value and risk tier (M6 CLV and churn).";
    const EFFECT: Effect = Effect::ReadOnly;
    const MODULE: Module = Module::M6;
    const EXAMPLES: &'static [&'static str] = &[
        "Which customers are about to churn?",
        "Show high churn risk customers",
        "Who are we likely to lose?",
        "List the 20 customers most at risk",
        "What is the lifetime value of at-risk customers?",
    ];
    type Input = ChurnRiskInput;
    type Output = ChurnRiskOutput;
}
