//! Row types read from and written to the store.
//!
//! Read types derive `serde::Serialize` (for the API) and `sqlx::FromRow`
//! (generic over the backend's row type).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// A tenant. Every other row belongs to exactly one organization.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, schemars::JsonSchema)]
pub struct Organization {
    /// Id (uuid v7).
    pub id: Uuid,
    /// Unique, URL-safe name: 1..=63 characters of `[a-z0-9-]`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including key management and destructive operations.
    Admin,
    /// Read everything, run analyses and campaigns.
    Analyst,
    /// Read only.
    Viewer,
}

impl Role {
    /// The stored, lowercase name (`admin`, `analyst`, `viewer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Viewer => "viewer",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "analyst" => Ok(Role::Analyst),
            "viewer" => Ok(Role::Viewer),
            other => Err(format!(
                "unknown role {other:?} (expected admin, analyst or viewer)"
            )),
        }
    }
}

impl TryFrom<String> for Role {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// An API key's metadata. The key itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, schemars::JsonSchema)]
pub struct ApiKey {
    /// Id.
    pub id: Uuid,
    /// Owning organization.
    pub organization_id: Uuid,
    /// Human label.
    pub name: String,
    /// The first characters of the key (e.g. `aima_1a2b3c4d`), for display.
    pub prefix: String,
    /// Permissions.
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last successful verification, if any.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation time; a revoked key never verifies.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A dashboard user (never with their password).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, schemars::JsonSchema)]
pub struct User {
    /// Id.
    pub id: Uuid,
    /// The organization they belong to.
    pub organization_id: Uuid,
    /// E-mail, as given (unique across organizations, case-insensitively).
    pub email: String,
    /// Permissions.
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When they were disabled, if they were.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// A customer as stored.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, schemars::JsonSchema)]
pub struct Customer {
    /// Id.
    pub id: Uuid,
    /// Owning organization.
    pub organization_id: Uuid,
    /// The source system's own customer id; unique per organization.
    pub external_id: Option<String>,
    /// Email as given.
    pub email: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Full name.
    pub full_name: Option<String>,
    /// Phone (normalized by the importer).
    pub phone: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Free-form tags.
    #[sqlx(json)]
    pub tags: Vec<String>,
    /// Extra imported columns.
    #[sqlx(json)]
    pub properties: Value,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
}

/// Filters of [`Store::customer_page`](crate::store::Store::customer_page);
/// `None` or blank: no filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CustomerFilter<'a> {
    /// Substring of email, names or phone (case-insensitive).
    pub query: Option<&'a str>,
    /// A persona key (`champions`, `at_risk`, ...): its current members only.
    pub persona: Option<&'a str>,
}

/// A position in the customer list: the row's creation time and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerCursor {
    /// The row's `created_at`.
    pub created_at: DateTime<Utc>,
    /// The row's id.
    pub id: Uuid,
}

/// One row of the customer list.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, schemars::JsonSchema)]
pub struct CustomerListRow {
    /// The customer.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub customer: Customer,
    /// The current RFM persona key, if segmented.
    pub persona: Option<String>,
    /// The stored health score (0-100), if features were computed.
    pub health_score: Option<f64>,
}

impl CustomerListRow {
    /// Where the page after this row starts.
    pub fn cursor(&self) -> CustomerCursor {
        CustomerCursor {
            created_at: self.customer.created_at,
            id: self.customer.id,
        }
    }
}

/// A customer to insert. `email_lower` (for the per-organization unique
/// email) and the search text are derived by the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCustomer {
    /// Id chosen by the caller (uuid v7).
    pub id: Uuid,
    /// The source system's own customer id; unique per organization.
    pub external_id: Option<String>,
    /// Email; unique per organization, case-insensitively.
    pub email: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Full name.
    pub full_name: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Extra columns (a JSON object, by convention).
    pub properties: Value,
    /// Creation time (`updated_at` starts equal to it).
    pub created_at: DateTime<Utc>,
}

/// A replacement of a customer's contact fields (`updated_at` becomes now).
/// `tags` and `properties` are kept when `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerUpdate {
    /// Id of the customer to update.
    pub id: Uuid,
    /// The source system's own customer id.
    pub external_id: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Full name.
    pub full_name: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Tags (`None`: unchanged).
    pub tags: Option<Vec<String>>,
    /// Extra columns (`None`: unchanged).
    pub properties: Option<Value>,
}

/// What the importer needs to match incoming rows to existing customers and
/// to tell whether an update changes anything.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerIdentity {
    /// Id.
    pub id: Uuid,
    /// The source system's own customer id.
    pub external_id: Option<String>,
    /// Lowercased email.
    pub email_lower: Option<String>,
    /// Phone as stored.
    pub phone: Option<String>,
    /// Full name lowercased (Unicode-aware, in Rust).
    pub full_name_lower: Option<String>,
    /// Current first name.
    pub first_name: Option<String>,
    /// Current last name.
    pub last_name: Option<String>,
    /// Current full name.
    pub full_name: Option<String>,
    /// Current email as given.
    pub email: Option<String>,
    /// Current city.
    pub city: Option<String>,
    /// Current country.
    pub country: Option<String>,
}

/// What the importer needs to match incoming rows to existing orders.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct OrderIdentity {
    /// Id.
    pub id: Uuid,
    /// The source system's order id; unique per organization.
    pub external_id: String,
    /// Customer, if linked.
    pub customer_id: Option<Uuid>,
    /// Total amount.
    pub amount: f64,
    /// Currency code.
    pub currency: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Order time.
    pub ordered_at: DateTime<Utc>,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderItem {
    /// Product name.
    pub product_name: String,
    /// Stock keeping unit.
    pub sku: Option<String>,
    /// Product category.
    pub category: Option<String>,
    /// Quantity (fractional for weighed goods).
    pub quantity: f64,
    /// Price per unit; line revenue is `quantity * unit_price` when present.
    pub unit_price: Option<f64>,
}

/// An order line to insert (the same shape as [`OrderItem`]).
pub type NewOrderItem = OrderItem;

/// An order as stored, with its items in their original order.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Order {
    /// Id.
    pub id: Uuid,
    /// Owning organization.
    pub organization_id: Uuid,
    /// The source system's order id.
    pub external_id: String,
    /// Customer, if linked.
    pub customer_id: Option<Uuid>,
    /// Total amount.
    pub amount: f64,
    /// Currency code.
    pub currency: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Lines.
    #[sqlx(json)]
    pub items: Vec<OrderItem>,
    /// Order time.
    pub ordered_at: DateTime<Utc>,
    /// Creation time of the row.
    pub created_at: DateTime<Utc>,
    /// Last update time of the row.
    pub updated_at: DateTime<Utc>,
}

/// An order to insert. Its items go to both `order_items` and the order's
/// `items` JSON column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOrder {
    /// Id chosen by the caller (uuid v7).
    pub id: Uuid,
    /// The source system's order id; must be unique per organization.
    pub external_id: String,
    /// Customer (must exist in the same organization), if known.
    pub customer_id: Option<Uuid>,
    /// Total amount.
    pub amount: f64,
    /// Currency code.
    pub currency: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Order time.
    pub ordered_at: DateTime<Utc>,
    /// Lines.
    pub items: Vec<NewOrderItem>,
}

/// A full replacement of an order's fields and items (`id` selects the order).
pub type OrderUpdate = NewOrder;

/// A behavioral event to insert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// Id chosen by the caller (uuid v7).
    pub id: Uuid,
    /// Customer (must exist in the same organization).
    pub customer_id: Uuid,
    /// Kind of event (`page_view`, `email_open`, ...).
    pub event_type: String,
    /// Channel, if any.
    pub channel: Option<String>,
    /// Extra data.
    pub properties: Value,
    /// Event time.
    pub occurred_at: DateTime<Utc>,
}

/// A behavioral event as stored.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Event {
    /// Id.
    pub id: Uuid,
    /// Owning organization.
    pub organization_id: Uuid,
    /// Customer.
    pub customer_id: Uuid,
    /// Kind of event.
    pub event_type: String,
    /// Channel, if any.
    pub channel: Option<String>,
    /// Extra data.
    #[sqlx(json)]
    pub properties: Value,
    /// Event time.
    pub occurred_at: DateTime<Utc>,
}

/// Marketing spend of one channel on one day; `(organization, date, channel)`
/// is unique and upserts replace the numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ChannelSpend {
    /// Day.
    pub date: NaiveDate,
    /// Channel name.
    pub channel: String,
    /// Money spent.
    pub spend: f64,
    /// Impressions, if reported.
    pub impressions: Option<i64>,
    /// Clicks, if reported.
    pub clicks: Option<i64>,
}

/// The record of one import run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow, schemars::JsonSchema)]
pub struct ImportRecord {
    /// Id.
    pub id: Uuid,
    /// Owning organization.
    pub organization_id: Uuid,
    /// Where the data came from (file name, sheet URL, connector).
    pub source: String,
    /// Outcome (`succeeded`, `failed`, ...; chosen by the importer).
    pub status: String,
    /// Data rows read.
    pub rows_total: i64,
    /// Rows rejected.
    pub rows_rejected: i64,
    /// Customers inserted.
    pub customers_created: i64,
    /// Customers changed.
    pub customers_updated: i64,
    /// Orders inserted.
    pub orders_created: i64,
    /// Orders changed.
    pub orders_updated: i64,
    /// Start time.
    pub started_at: DateTime<Utc>,
    /// End time.
    pub finished_at: Option<DateTime<Utc>>,
    /// Error text for a failed import.
    pub error: Option<String>,
}

/// Bucket size for [`crate::store::Store::revenue_by_period`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// Calendar day (UTC).
    Day,
    /// ISO week, starting Monday (UTC).
    Week,
    /// Calendar month (UTC).
    Month,
}

/// Rounds a money amount to the 4 decimals amounts are stored with (so sums
/// carry no floating-point noise such as `2024161.2600000002`); `-0.0`
/// becomes `0.0`.
pub fn round_money(x: f64) -> f64 {
    let r = (x * 10_000.0).round() / 10_000.0;
    if r == 0.0 { 0.0 } else { r }
}

/// Sales of one product over a time range (revenue and quantity rounded
/// with [`round_money`]).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ProductSales {
    /// Product name.
    pub product_name: String,
    /// Units sold.
    pub quantity: f64,
    /// Sum of `quantity * unit_price` over lines with a unit price.
    pub revenue: f64,
    /// Distinct orders containing the product.
    pub orders: i64,
}

/// State of a background job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Waiting to run.
    Queued,
    /// Running.
    Running,
    /// Finished successfully.
    Succeeded,
    /// Finished with an error.
    Failed,
}

impl JobStatus {
    /// The stored, lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }
}

impl TryFrom<String> for JobStatus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        match s.as_str() {
            "queued" => Ok(JobStatus::Queued),
            "running" => Ok(JobStatus::Running),
            "succeeded" => Ok(JobStatus::Succeeded),
            "failed" => Ok(JobStatus::Failed),
            other => Err(format!("unknown job status {other:?}")),
        }
    }
}

/// A background job run (training, segmentation, sync, ...).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, schemars::JsonSchema)]
pub struct Job {
    /// Id.
    pub id: Uuid,
    /// Organization, or `None` for a system-wide job.
    pub organization_id: Option<Uuid>,
    /// What the job does.
    pub kind: String,
    /// State.
    #[sqlx(try_from = "String")]
    pub status: JobStatus,
    /// What started it (`schedule`, `manual`, `api`, ...).
    pub trigger: String,
    /// Start time.
    pub started_at: DateTime<Utc>,
    /// End time.
    pub finished_at: Option<DateTime<Utc>>,
    /// `finished_at - started_at` in milliseconds.
    pub duration_ms: Option<i64>,
    /// Error text of a failed job.
    pub error: Option<String>,
    /// Result details of a succeeded job.
    #[sqlx(json(nullable))]
    pub details: Option<Value>,
}

/// A trained model version.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ModelRecord {
    /// Id.
    pub id: Uuid,
    /// Organization, or `None` for a model shared by all.
    pub organization_id: Option<Uuid>,
    /// Model name (`churn`, `clv`, ...).
    pub model: String,
    /// Version label; unique per (organization, model).
    pub version: String,
    /// Evaluation metrics.
    #[sqlx(json)]
    pub metrics: Value,
    /// Where the weights are, if on disk.
    pub artifact_path: Option<String>,
    /// Registration time.
    pub trained_at: DateTime<Utc>,
}

/// An alert to raise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAlert {
    /// Kind (`churn_risk`, `sentiment_drop`, ...).
    pub kind: String,
    /// Severity (`info`, `warning`, `critical`).
    pub severity: String,
    /// Customer concerned, if any.
    pub customer_id: Option<Uuid>,
    /// One-line summary.
    pub title: String,
    /// Structured details.
    pub details: Value,
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Alert {
    /// Id.
    pub id: Uuid,
    /// Owning organization.
    pub organization_id: Uuid,
    /// Kind.
    pub kind: String,
    /// Severity.
    pub severity: String,
    /// Customer concerned, if any.
    pub customer_id: Option<Uuid>,
    /// One-line summary.
    pub title: String,
    /// Structured details.
    #[sqlx(json)]
    pub details: Value,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Acknowledgement time.
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// A connector to an external system (shop, ads account, mailbox). Its
/// credentials are stored encrypted and are never part of this value: read
/// them with [`crate::store::Store::connector_credentials`].
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, schemars::JsonSchema)]
pub struct Connector {
    /// Id.
    pub id: Uuid,
    /// Owning organization.
    pub organization_id: Uuid,
    /// What it connects to (`shopify`, `google_ads`, ...).
    pub kind: String,
    /// Human label.
    pub name: String,
    /// Non-secret settings.
    #[sqlx(json)]
    pub config: Value,
    /// State, chosen by the sync code (starts as
    /// [`crate::store::CONNECTOR_STATUS_NEW`]).
    pub status: String,
    /// End of the last sync, if any.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A connector to create. `credentials` is encrypted before it is stored.
///
/// `Debug` does not show the credentials.
#[derive(Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnector {
    /// What it connects to.
    pub kind: String,
    /// Human label.
    pub name: String,
    /// Secrets (tokens, passwords); stored encrypted with the organization's
    /// id bound as associated data. Absent: none.
    #[serde(default)]
    pub credentials: Value,
    /// Non-secret settings, stored in clear.
    pub config: Value,
}

impl std::fmt::Debug for NewConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewConnector")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("credentials", &"<redacted>")
            .field("config", &self.config)
            .finish()
    }
}
