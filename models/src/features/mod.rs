//! Per-customer behavioural features for a whole organization (issue 4, M1).
//!
//! [`compute`] turns an organization's orders, order items and events
//! ([`OrgData`]) into a [`FeatureMatrix`]: one row per customer, one column per
//! entry of [`FEATURES`] (70 features). Every feature is computed *as of* a
//! reference time: orders and events strictly after `as_of` are ignored, and so
//! are the items of ignored orders; this is what calibration/holdout splits
//! rely on.
//!
//! # Conventions
//! - Times are unix seconds, UTC. Durations are reported in **days**
//!   (seconds / 86,400, fractional). Calendar profiles (weekday, hour band,
//!   quarter) use the UTC calendar.
//! - A **purchase** is an order whose status is [`OrderStatus::Completed`],
//!   [`OrderStatus::Pending`] or [`OrderStatus::Other`] and whose amount is
//!   `>= 0`. A **refund** is an order with status [`OrderStatus::Cancelled`] or
//!   [`OrderStatus::Refunded`], or with a negative amount; its refunded value
//!   is `|amount|`. Refunds are never purchases. Negative quantities and
//!   discounts (data errors) count as 0.
//! - A **purchase day** is a UTC calendar day with at least one purchase.
//!   Inter-purchase times are the gaps between consecutive purchase days
//!   (several orders on one day are one purchase occasion, as in the BTYD
//!   literature), so `frequency` is the number of *repeat* purchase days.
//! - Every value is finite. Undefined statistics take the documented default
//!   (usually 0): the standard deviation of fewer than two values is 0, a
//!   share or rate with an empty denominator is 0, a ratio of two empty means
//!   is 1. Rates whose numerator may exceed the tracked denominator (opens
//!   without tracked sends) use `num / max(num, den)`, so they stay in [0, 1].
//! - The **reference gap** of a customer is their mean inter-purchase time if
//!   they have at least two purchase days, else the organization's median of
//!   that mean over customers with two or more purchase days (30 days if no
//!   customer has two), floored at 1 day. It drives `overdue_ratio`,
//!   `expected_next_purchase_days` and the recency part of `health_score`.
//!
//! # Health score (0-100)
//! `health_score = 100 × (0.35·R + 0.20·F + 0.20·M + 0.15·T + 0.10·E) × (1 −
//! 0.5·refund_rate)` where, for customers with at least one purchase,
//! - R = 2^(−recency_days / reference gap): 1 just after a purchase, 0.5 when
//!   the customer is exactly one usual gap late;
//! - F, M = mid-rank percentile of `order_count` and `monetary_total` among the
//!   organization's purchasers, `(below + (ties + 1) / 2) / purchasers` in (0, 1];
//! - T = min(`trend_90d`, 2) / 2 (0.5 = buying at the customer's usual rate);
//! - E = (`open_rate` + `click_rate`) / 2 if any email was sent or opened,
//!   else 0.5 (neutral: no evidence).
//!
//! Customers without purchases have R = F = M = T = 0, so their score is at
//! most 10 (from engagement alone).

mod synthetic;

pub use synthetic::{SYNTHETIC_END, SYNTHETIC_HISTORY_DAYS, synthetic};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Seconds in a day; all durations are reported in days.
pub const SECONDS_PER_DAY: f64 = 86_400.0;

/// Status of an order as far as the features are concerned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Paid and fulfilled (or in fulfilment): a purchase (the default).
    #[default]
    Completed,
    /// Placed but not yet paid or shipped: counted as a purchase.
    Pending,
    /// Cancelled: a refund of its amount, never a purchase.
    Cancelled,
    /// Refunded: a refund of its amount, never a purchase.
    Refunded,
    /// Any other store status: counted as a purchase.
    Other,
}

/// One order of the organization (columnar input row).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderRow {
    /// Customer index, `0..OrgData::customers`.
    pub customer: u32,
    /// When the order was placed, unix seconds UTC.
    pub at: i64,
    /// Order value in the organization's currency; negative = a refund.
    pub amount: f64,
    /// Units in the order (sum of item quantities), `>= 0`.
    pub quantity: f64,
    /// Discount granted on the order, in currency, `>= 0` (0 = full price).
    pub discount: f64,
    /// Order status.
    pub status: OrderStatus,
    /// Sales channel id, if the store knows it.
    pub channel: Option<u16>,
}

/// One order line (columnar input row).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ItemRow {
    /// Index into `OrgData::orders` of the order this line belongs to.
    pub order: u32,
    /// Product id (organization-local).
    pub product: u32,
    /// Category id, if known.
    pub category: Option<u32>,
    /// Units of the product on this line.
    pub quantity: f64,
    /// Line value in currency.
    pub amount: f64,
}

/// Kind of a customer event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A message (email, push, SMS) was sent to the customer.
    Sent,
    /// The customer opened a message.
    Open,
    /// The customer clicked a link in a message.
    Click,
    /// A tracked conversion (e.g. a checkout completed from a session).
    Conversion,
    /// An item was added to the cart.
    CartAdd,
    /// A cart was abandoned.
    CartAbandon,
    /// A site or app visit.
    Visit,
    /// Anything else (counted in the event totals only; the default).
    #[default]
    Other,
}

/// One customer event (columnar input row).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    /// Customer index, `0..OrgData::customers`.
    pub customer: u32,
    /// When it happened, unix seconds UTC.
    pub at: i64,
    /// What happened.
    pub kind: EventKind,
    /// Channel id, if known.
    pub channel: Option<u16>,
}

/// A whole organization's behavioural data, columnar.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgData {
    /// Number of customers; customer indices are `0..customers`.
    pub customers: usize,
    /// When each customer was created (unix seconds), or empty if unknown for
    /// all; if non-empty its length must equal `customers`.
    pub created_at: Vec<Option<i64>>,
    /// All orders, in any order.
    pub orders: Vec<OrderRow>,
    /// All order lines, in any order.
    pub items: Vec<ItemRow>,
    /// All events, in any order.
    pub events: Vec<EventRow>,
}

/// Why features could not be computed; names the offending row and field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureError {
    /// An order or event refers to a customer index `>= customers`.
    #[error(
        "{table} row {row}: customer {customer} is out of range (organization has {customers})"
    )]
    CustomerOutOfRange {
        /// `"orders"` or `"events"`.
        table: &'static str,
        /// Row index in that table.
        row: usize,
        /// The offending customer index.
        customer: u32,
        /// Number of customers.
        customers: usize,
    },
    /// An item refers to an order index `>= orders.len()`.
    #[error("items row {row}: order {order} is out of range ({orders} orders)")]
    OrderOutOfRange {
        /// Row index in `items`.
        row: usize,
        /// The offending order index.
        order: u32,
        /// Number of orders.
        orders: usize,
    },
    /// A numeric field is NaN or infinite.
    #[error("{table} row {row}: field {field} is not finite ({value})")]
    NotFinite {
        /// Table name.
        table: &'static str,
        /// Row index.
        row: usize,
        /// Field name.
        field: &'static str,
        /// The value found.
        value: f64,
    },
    /// A timestamp is outside the supported calendar range (±262,000 years).
    #[error("{table} row {row}: timestamp {at} is outside the supported range")]
    BadTimestamp {
        /// Table name.
        table: &'static str,
        /// Row index.
        row: usize,
        /// The timestamp, unix seconds.
        at: i64,
    },
    /// `created_at` is non-empty but its length differs from `customers`.
    #[error("created_at has {len} entries for {customers} customers")]
    CreatedAtLength {
        /// Length of `created_at`.
        len: usize,
        /// Number of customers.
        customers: usize,
    },
    /// A table has more rows (or the organization more customers) than fit in a `u32`.
    #[error("{table} has {len} rows; at most 4,294,967,295 are supported")]
    TooLarge {
        /// Table name.
        table: &'static str,
        /// Its length.
        len: usize,
    },
}

/// Unit of a feature's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Days (fractional, 86,400 s each).
    Days,
    /// A count of things.
    Count,
    /// Money in the organization's currency.
    Currency,
    /// Money per unit of quantity.
    CurrencyPerUnit,
    /// Units of product.
    Units,
    /// A share or rate in [0, 1].
    Share,
    /// A dimensionless ratio.
    Ratio,
    /// Shannon entropy in bits.
    Bits,
    /// Orders per 30 days.
    OrdersPer30Days,
    /// A 0-100 score.
    Score,
}

/// Definition of one feature column.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FeatureDef {
    /// Stable snake_case name (a database column key and tool output key).
    pub name: &'static str,
    /// Unit of the values.
    pub unit: Unit,
    /// Smallest possible value (may be `f64::NEG_INFINITY` = unbounded).
    pub min: f64,
    /// Largest possible value (may be `f64::INFINITY` = unbounded).
    pub max: f64,
    /// Formula and conventions, one or two sentences.
    pub description: &'static str,
}

const INF: f64 = f64::INFINITY;

macro_rules! features {
    ($($variant:ident => $name:literal, $unit:ident, $min:expr, $max:expr, $desc:literal;)*) => {
        /// Column identifiers; `Feature::X as usize` is the column of `X` in
        /// [`FEATURES`] and in every [`FeatureMatrix`] row.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(usize)]
        pub enum Feature {
            $(
                #[doc = $desc]
                $variant,
            )*
        }

        /// Every feature, in column order, with its name, unit, range and formula.
        pub const FEATURES: &[FeatureDef] = &[
            $(FeatureDef { name: $name, unit: Unit::$unit, min: $min, max: $max, description: $desc },)*
        ];
    };
}

features! {
    RecencyDays => "recency_days", Days, 0.0, INF,
        "Days from the last purchase to as_of; customers without purchases get tenure_days.";
    OrderCount => "order_count", Count, 0.0, INF,
        "Number of purchases (orders that are not refunds).";
    Frequency => "frequency", Count, 0.0, INF,
        "Repeat purchase days: distinct UTC purchase days minus one (0 without purchases), the BTYD x.";
    ActiveDays => "active_days", Count, 0.0, INF,
        "Distinct UTC days with at least one purchase.";
    MonetaryTotal => "monetary_total", Currency, 0.0, INF,
        "Sum of purchase amounts.";
    MonetaryMean => "monetary_mean", Currency, 0.0, INF,
        "Mean purchase amount (average order value); 0 without purchases.";
    MonetaryMax => "monetary_max", Currency, 0.0, INF,
        "Largest purchase amount; 0 without purchases.";
    MonetaryMin => "monetary_min", Currency, 0.0, INF,
        "Smallest purchase amount; 0 without purchases.";
    MonetaryStd => "monetary_std", Currency, 0.0, INF,
        "Population standard deviation of purchase amounts; 0 with fewer than two purchases.";
    NetRevenue => "net_revenue", Currency, f64::NEG_INFINITY, INF,
        "monetary_total minus the refunded value of refund orders (may be negative).";
    TenureDays => "tenure_days", Days, 0.0, INF,
        "Days from the customer's first sign of life (created_at, first order of any status, first event) to as_of; 0 if none.";
    PurchaseSpanDays => "purchase_span_days", Days, 0.0, INF,
        "Days from the first to the last purchase (the BTYD t_x); 0 with fewer than two purchases.";
    FirstPurchaseAgeDays => "first_purchase_age_days", Days, 0.0, INF,
        "Days from the first purchase to as_of (the BTYD T); 0 without purchases.";
    IptMeanDays => "ipt_mean_days", Days, 0.0, INF,
        "Mean gap between consecutive purchase days; 0 with fewer than two purchase days.";
    IptStdDays => "ipt_std_days", Days, 0.0, INF,
        "Population standard deviation of the gaps between purchase days; 0 with fewer than two gaps.";
    IptCv => "ipt_cv", Ratio, 0.0, INF,
        "Coefficient of variation of inter-purchase gaps, ipt_std_days / ipt_mean_days; 0 when the mean is 0.";
    IptLastDays => "ipt_last_days", Days, 0.0, INF,
        "Gap between the last two purchase days; 0 with fewer than two purchase days.";
    OverdueRatio => "overdue_ratio", Ratio, 0.0, INF,
        "recency_days / reference gap (1 = exactly one usual gap since the last purchase); 0 without purchases.";
    PurchaseVelocity => "purchase_velocity", OrdersPer30Days, 0.0, INF,
        "Purchases per 30 days since the first purchase: 30 × order_count / max(first_purchase_age_days, 30).";
    PurchaseAcceleration => "purchase_acceleration", OrdersPer30Days, f64::NEG_INFINITY, INF,
        "Change in purchase rate: (purchases in the last 90 days − purchases in the 90 days before) / 3, in orders per 30 days.";
    OrdersLast30d => "orders_last_30d", Count, 0.0, INF,
        "Purchases in the 30 days up to as_of (as_of − 30 d < at <= as_of).";
    OrdersLast90d => "orders_last_90d", Count, 0.0, INF,
        "Purchases in the 90 days up to as_of.";
    RevenueLast30d => "revenue_last_30d", Currency, 0.0, INF,
        "Purchase amount in the 30 days up to as_of.";
    RevenueLast90d => "revenue_last_90d", Currency, 0.0, INF,
        "Purchase amount in the 90 days up to as_of.";
    Trend30d => "trend_30d", Ratio, 0.0, INF,
        "Recent against lifetime purchase rate: (orders_last_30d / 30) / (order_count / max(first_purchase_age_days, 30)); 1 = steady, 0 without purchases.";
    Trend90d => "trend_90d", Ratio, 0.0, INF,
        "As trend_30d over 90 days: (orders_last_90d / 90) / (order_count / max(first_purchase_age_days, 90)).";
    WeekdayShareMon => "weekday_share_mon", Share, 0.0, 1.0,
        "Share of purchases placed on a Monday (UTC).";
    WeekdayShareTue => "weekday_share_tue", Share, 0.0, 1.0,
        "Share of purchases placed on a Tuesday (UTC).";
    WeekdayShareWed => "weekday_share_wed", Share, 0.0, 1.0,
        "Share of purchases placed on a Wednesday (UTC).";
    WeekdayShareThu => "weekday_share_thu", Share, 0.0, 1.0,
        "Share of purchases placed on a Thursday (UTC).";
    WeekdayShareFri => "weekday_share_fri", Share, 0.0, 1.0,
        "Share of purchases placed on a Friday (UTC).";
    WeekdayShareSat => "weekday_share_sat", Share, 0.0, 1.0,
        "Share of purchases placed on a Saturday (UTC).";
    WeekdayShareSun => "weekday_share_sun", Share, 0.0, 1.0,
        "Share of purchases placed on a Sunday (UTC).";
    WeekdayEntropy => "weekday_entropy_bits", Bits, 0.0, 2.807_354_922_057_604,
        "Shannon entropy of the weekday distribution of purchases, in bits (0..log2 7).";
    HourShareNight => "hour_share_night", Share, 0.0, 1.0,
        "Share of purchases placed 00:00-05:59 UTC.";
    HourShareMorning => "hour_share_morning", Share, 0.0, 1.0,
        "Share of purchases placed 06:00-11:59 UTC.";
    HourShareAfternoon => "hour_share_afternoon", Share, 0.0, 1.0,
        "Share of purchases placed 12:00-17:59 UTC.";
    HourShareEvening => "hour_share_evening", Share, 0.0, 1.0,
        "Share of purchases placed 18:00-23:59 UTC.";
    QuarterShareQ1 => "quarter_share_q1", Share, 0.0, 1.0,
        "Share of purchases placed January-March (UTC).";
    QuarterShareQ2 => "quarter_share_q2", Share, 0.0, 1.0,
        "Share of purchases placed April-June (UTC).";
    QuarterShareQ3 => "quarter_share_q3", Share, 0.0, 1.0,
        "Share of purchases placed July-September (UTC).";
    QuarterShareQ4 => "quarter_share_q4", Share, 0.0, 1.0,
        "Share of purchases placed October-December (UTC).";
    DistinctProducts => "distinct_products", Count, 0.0, INF,
        "Distinct products on the lines of purchases.";
    DistinctCategories => "distinct_categories", Count, 0.0, INF,
        "Distinct known categories on the lines of purchases.";
    ProductEntropy => "product_entropy_bits", Bits, 0.0, INF,
        "Shannon entropy (bits) of purchased quantity across products (line quantities clamped at 0); 0 if no positive quantity.";
    CategoryEntropy => "category_entropy_bits", Bits, 0.0, INF,
        "Shannon entropy (bits) of purchased quantity across known categories.";
    LinesPerOrder => "lines_per_order", Count, 0.0, INF,
        "Mean number of order lines per purchase; 0 without purchases.";
    QuantityMean => "quantity_mean", Units, 0.0, INF,
        "Mean units per purchase (order quantity); 0 without purchases.";
    QuantityStd => "quantity_std", Units, 0.0, INF,
        "Population standard deviation of units per purchase; 0 with fewer than two purchases.";
    UnitPriceMean => "unit_price_mean", CurrencyPerUnit, 0.0, INF,
        "Sum of purchase amounts / sum of purchase units; 0 when no units were bought.";
    DiscountOrderShare => "discount_order_share", Share, 0.0, 1.0,
        "Share of purchases with a discount > 0.";
    DiscountRate => "discount_rate", Share, 0.0, 1.0,
        "Sum of discounts / sum of (amount + discount) over purchases; 0 when that sum is 0.";
    DiscountQuantityLift => "discount_quantity_lift", Ratio, 0.0, INF,
        "Quantity sensitivity to discounts: mean units of discounted purchases / mean units of full-price purchases; 1 if either group is empty or the full-price mean is 0.";
    RefundCount => "refund_count", Count, 0.0, INF,
        "Refund orders (cancelled, refunded or negative amount).";
    RefundRate => "refund_rate", Share, 0.0, 1.0,
        "refund_count / (order_count + refund_count); 0 without orders.";
    RefundValueRate => "refund_value_rate", Share, 0.0, 1.0,
        "Refunded value / (monetary_total + refunded value); 0 when both are 0.";
    OrderChannelCount => "order_channel_count", Count, 0.0, INF,
        "Distinct known channels of purchases.";
    ChannelCount => "channel_count", Count, 0.0, INF,
        "Distinct known channels over purchases and events.";
    ChannelEntropy => "channel_entropy_bits", Bits, 0.0, INF,
        "Shannon entropy (bits) of the channel distribution of purchases with a known channel.";
    EventCount => "event_count", Count, 0.0, INF,
        "Events of any kind up to as_of.";
    EventsLast30d => "events_last_30d", Count, 0.0, INF,
        "Events in the 30 days up to as_of.";
    MessagesSent => "messages_sent", Count, 0.0, INF,
        "Messages sent to the customer (sent events) up to as_of.";
    DaysSinceLastEvent => "days_since_last_event", Days, 0.0, INF,
        "Days from the last event to as_of; tenure_days without events.";
    OpenRate => "open_rate", Share, 0.0, 1.0,
        "opens / max(opens, sent).";
    ClickRate => "click_rate", Share, 0.0, 1.0,
        "clicks / max(clicks, sent) (click-through rate).";
    ClickToOpenRate => "click_to_open_rate", Share, 0.0, 1.0,
        "clicks / max(clicks, opens).";
    ConversionRate => "conversion_rate", Share, 0.0, 1.0,
        "conversions / max(conversions, clicks + visits).";
    CartAbandonmentRate => "cart_abandonment_rate", Share, 0.0, 1.0,
        "cart abandons / max(cart abandons, cart adds).";
    ExpectedNextPurchaseDays => "expected_next_purchase_days", Days, f64::NEG_INFINITY, INF,
        "Days from as_of to the expected next purchase, last purchase + reference gap − as_of (negative = overdue by that many days); 0 without purchases.";
    HealthScore => "health_score", Score, 0.0, 100.0,
        "0-100: 100 × (0.35 recency + 0.20 frequency rank + 0.20 monetary rank + 0.15 trend + 0.10 engagement) × (1 − 0.5 refund_rate); see the module docs.";
}

impl Feature {
    /// This feature's definition (name, unit, range, formula).
    pub fn def(self) -> &'static FeatureDef {
        &FEATURES[self as usize]
    }

    /// This feature's stable snake_case name.
    pub fn name(self) -> &'static str {
        self.def().name
    }
}

/// Number of feature columns (`FEATURES.len()`).
pub const N_FEATURES: usize = FEATURES.len();

/// Column index of the feature called `name`, if any.
pub fn index_of(name: &str) -> Option<usize> {
    FEATURES.iter().position(|f| f.name == name)
}

/// Features of every customer of an organization, row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureMatrix {
    /// Number of rows (customers).
    pub n_customers: usize,
    /// Reference time the features were computed at, unix seconds UTC.
    pub as_of: i64,
    /// `n_customers × N_FEATURES` values, row `c` at `c * N_FEATURES ..`; all finite.
    pub values: Vec<f64>,
}

impl FeatureMatrix {
    /// The value of feature `name` for `customer`; `None` if the customer or
    /// the name is unknown.
    pub fn get(&self, customer: usize, name: &str) -> Option<f64> {
        let j = index_of(name)?;
        self.row(customer).map(|r| r[j])
    }

    /// The value of `feature` for `customer`; `None` if the customer is out of range.
    pub fn value(&self, customer: usize, feature: Feature) -> Option<f64> {
        self.row(customer).map(|r| r[feature as usize])
    }

    /// The whole row of `customer` (in [`FEATURES`] order), if in range.
    pub fn row(&self, customer: usize) -> Option<&[f64]> {
        if customer >= self.n_customers {
            return None;
        }
        self.values
            .get(customer * N_FEATURES..(customer + 1) * N_FEATURES)
    }

    /// One column (all customers' values of `feature`), in customer order.
    pub fn column(&self, feature: Feature) -> Vec<f64> {
        self.values
            .chunks_exact(N_FEATURES)
            .map(|r| r[feature as usize])
            .collect()
    }
}

fn validate(org: &OrgData) -> Result<(), FeatureError> {
    let n = org.customers;
    if u32::try_from(n).is_err() {
        return Err(FeatureError::TooLarge {
            table: "customers",
            len: n,
        });
    }
    for (table, len) in [
        ("orders", org.orders.len()),
        ("items", org.items.len()),
        ("events", org.events.len()),
    ] {
        if u32::try_from(len).is_err() {
            return Err(FeatureError::TooLarge { table, len });
        }
    }
    if !org.created_at.is_empty() && org.created_at.len() != n {
        return Err(FeatureError::CreatedAtLength {
            len: org.created_at.len(),
            customers: n,
        });
    }
    let ts_ok = |at: i64| chrono::DateTime::from_timestamp(at, 0).is_some();
    let order_error = |(row, o): (usize, &OrderRow)| {
        let table = "orders";
        if o.customer as usize >= n {
            return Some(FeatureError::CustomerOutOfRange {
                table,
                row,
                customer: o.customer,
                customers: n,
            });
        }
        for (field, value) in [
            ("amount", o.amount),
            ("quantity", o.quantity),
            ("discount", o.discount),
        ] {
            if !value.is_finite() {
                return Some(FeatureError::NotFinite {
                    table,
                    row,
                    field,
                    value,
                });
            }
        }
        (!ts_ok(o.at)).then_some(FeatureError::BadTimestamp {
            table,
            row,
            at: o.at,
        })
    };
    let item_error = |(row, it): (usize, &ItemRow)| {
        if it.order as usize >= org.orders.len() {
            return Some(FeatureError::OrderOutOfRange {
                row,
                order: it.order,
                orders: org.orders.len(),
            });
        }
        [("quantity", it.quantity), ("amount", it.amount)]
            .into_iter()
            .find(|(_, v)| !v.is_finite())
            .map(|(field, value)| FeatureError::NotFinite {
                table: "items",
                row,
                field,
                value,
            })
    };
    let event_error = |(row, e): (usize, &EventRow)| {
        let table = "events";
        if e.customer as usize >= n {
            return Some(FeatureError::CustomerOutOfRange {
                table,
                row,
                customer: e.customer,
                customers: n,
            });
        }
        (!ts_ok(e.at)).then_some(FeatureError::BadTimestamp {
            table,
            row,
            at: e.at,
        })
    };
    // The first offending row of each table, in table order.
    if let Some(e) = org
        .orders
        .par_iter()
        .enumerate()
        .find_map_first(order_error)
    {
        return Err(e);
    }
    if let Some(e) = org.items.par_iter().enumerate().find_map_first(item_error) {
        return Err(e);
    }
    if let Some(e) = org
        .events
        .par_iter()
        .enumerate()
        .find_map_first(event_error)
    {
        return Err(e);
    }
    for (row, c) in org.created_at.iter().enumerate() {
        if let Some(at) = *c
            && !ts_ok(at)
        {
            return Err(FeatureError::BadTimestamp {
                table: "created_at",
                row,
                at,
            });
        }
    }
    Ok(())
}

/// Copies `rec(row)` for every row with `key(row) = Some(g)` (`g < groups`)
/// into one vector grouped by `g` with a stable counting sort: returns
/// `(offsets, records)` where group `g`'s records are
/// `records[offsets[g]..offsets[g + 1]]`, in input order. Reading the input
/// sequentially and writing groups contiguously keeps the per-customer pass
/// free of random memory access.
fn scatter<R: Copy + Default>(
    len: usize,
    groups: usize,
    key: impl Fn(usize) -> Option<usize>,
    rec: impl Fn(usize) -> R,
) -> (Vec<u32>, Vec<R>) {
    let mut offsets = vec![0u32; groups + 1];
    for i in 0..len {
        if let Some(g) = key(i) {
            offsets[g + 1] += 1;
        }
    }
    for g in 0..groups {
        offsets[g + 1] += offsets[g];
    }
    let mut cursor = offsets.clone();
    let mut out = vec![R::default(); offsets[groups] as usize];
    for i in 0..len {
        if let Some(g) = key(i) {
            out[cursor[g] as usize] = rec(i);
            cursor[g] += 1;
        }
    }
    (offsets, out)
}

/// The fields of an order line the features use, grouped by customer.
#[derive(Debug, Clone, Copy, Default)]
struct ItemRec {
    product: u32,
    category: Option<u32>,
    quantity: f64,
}

fn is_refund(o: &OrderRow) -> bool {
    matches!(o.status, OrderStatus::Cancelled | OrderStatus::Refunded) || o.amount < 0.0
}

/// Shannon entropy in bits of the distribution proportional to `weights`
/// (non-positive weights ignored); 0 if the total is 0.
fn entropy_bits(weights: impl Iterator<Item = f64> + Clone) -> f64 {
    let total: f64 = weights.clone().filter(|w| *w > 0.0).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let h: f64 = weights
        .filter(|w| *w > 0.0)
        .map(|w| {
            let p = w / total;
            -p * p.log2()
        })
        .sum();
    h.max(0.0)
}

/// `num / max(num, den)`, 0 when both are 0: a rate in [0, 1].
fn bounded_rate(num: f64, den: f64) -> f64 {
    let d = num.max(den);
    if d > 0.0 { num / d } else { 0.0 }
}

/// Population mean and standard deviation; (0, 0) for an empty input, std 0
/// for one value.
fn mean_std(xs: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let (n, s) = xs.clone().fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
    if n == 0 {
        return (0.0, 0.0);
    }
    let m = s / n as f64;
    if n == 1 {
        return (m, 0.0);
    }
    let v = xs.map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
    (m, v.max(0.0).sqrt())
}

/// Per-thread scratch buffers.
#[derive(Default)]
struct Scratch {
    orders: Vec<(OrderRow, u32)>,
    amounts: Vec<f64>,
    quantities: Vec<f64>,
    days: Vec<i64>,
    gaps: Vec<f64>,
    products: Vec<(u32, f64)>,
    categories: Vec<(u32, f64)>,
    channels: Vec<u16>,
    all_channels: Vec<u16>,
}

/// Sorts `(key, weight)` pairs, merges equal keys by summing their weights,
/// and returns the number of distinct keys.
fn merge_counts<K: Ord + Copy>(v: &mut Vec<(K, f64)>) -> usize {
    v.sort_unstable_by_key(|p| p.0);
    let mut out = 0usize;
    for i in 0..v.len() {
        if out > 0 && v[out - 1].0 == v[i].0 {
            v[out - 1].1 += v[i].1;
        } else {
            v[out] = v[i];
            out += 1;
        }
    }
    v.truncate(out);
    out
}

/// The organization's rows up to `as_of`, grouped by customer.
struct Grouped<'a> {
    org: &'a OrgData,
    as_of: i64,
    /// Orders at or before `as_of`, with their lines' count.
    order_off: Vec<u32>,
    orders: Vec<(OrderRow, u32)>,
    /// Lines of purchases at or before `as_of`.
    item_off: Vec<u32>,
    items: Vec<ItemRec>,
    /// Events at or before `as_of`.
    event_off: Vec<u32>,
    events: Vec<EventRow>,
}

impl Grouped<'_> {
    /// Fills `row` with the first-pass features of customer `c` (the columns
    /// needing organization statistics are finished in [`finish`]). Returns
    /// the customer's last purchase time, if any.
    fn customer(&self, c: usize, s: &mut Scratch, row: &mut [f64]) -> Option<i64> {
        use Feature as F;
        let org = self.org;
        let as_of = self.as_of;
        let day_s = SECONDS_PER_DAY;
        let days_to = |at: i64| (as_of - at) as f64 / day_s;

        // Orders of c, sorted by time (ties by input order).
        s.orders.clear();
        s.orders.extend_from_slice(
            &self.orders[self.order_off[c] as usize..self.order_off[c + 1] as usize],
        );
        s.orders.sort_by_key(|o| o.0.at);

        let mut first_any: Option<i64> = org.created_at.get(c).copied().flatten();
        let mut first_seen = |at: i64| {
            first_any = Some(first_any.map_or(at, |f| f.min(at)));
        };

        let mut n_purch = 0usize;
        let mut total = 0.0;
        let mut max_amt = f64::NEG_INFINITY;
        let mut min_amt = INF;
        let mut first_p: Option<i64> = None;
        let mut last_p: Option<i64> = None;
        let mut refunds = 0usize;
        let mut refunded = 0.0;
        let (mut n30, mut n90, mut nprev90) = (0usize, 0usize, 0usize);
        let (mut r30, mut r90) = (0.0, 0.0);
        let mut weekday = [0usize; 7];
        let mut hour = [0usize; 4];
        let mut quarter = [0usize; 4];
        let mut lines = 0usize;
        let mut qty_sum = 0.0;
        let mut disc_n = 0usize;
        let mut disc_sum = 0.0;
        let (mut qd_sum, mut qd_n, mut qf_sum, mut qf_n) = (0.0, 0usize, 0.0, 0usize);
        let mut quarter_of_day = (i64::MIN, 0usize);
        s.amounts.clear();
        s.quantities.clear();
        s.days.clear();
        s.products.clear();
        s.categories.clear();
        s.channels.clear();
        s.all_channels.clear();

        for (o, n_lines) in &s.orders {
            first_seen(o.at);
            if is_refund(o) {
                refunds += 1;
                refunded += o.amount.abs();
                continue;
            }
            n_purch += 1;
            let (quantity, discount) = (o.quantity.max(0.0), o.discount.max(0.0));
            s.amounts.push(o.amount);
            s.quantities.push(quantity);
            total += o.amount;
            max_amt = max_amt.max(o.amount);
            min_amt = min_amt.min(o.amount);
            first_p.get_or_insert(o.at);
            last_p = Some(o.at);
            let age = as_of - o.at;
            if age < 30 * 86_400 {
                n30 += 1;
                r30 += o.amount;
            }
            if age < 90 * 86_400 {
                n90 += 1;
                r90 += o.amount;
            } else if age < 180 * 86_400 {
                nprev90 += 1;
            }
            let day = o.at.div_euclid(86_400);
            if s.days.last() != Some(&day) {
                s.days.push(day);
            }
            weekday[(day + 3).rem_euclid(7) as usize] += 1;
            hour[(o.at.rem_euclid(86_400) / (6 * 3600)) as usize] += 1;
            if quarter_of_day.0 != day {
                use chrono::Datelike;
                let q = chrono::DateTime::from_timestamp(o.at, 0).map_or(0, |dt| dt.month0() / 3);
                quarter_of_day = (day, q as usize);
            }
            quarter[quarter_of_day.1] += 1;
            qty_sum += quantity;
            disc_sum += discount;
            if discount > 0.0 {
                disc_n += 1;
                qd_sum += quantity;
                qd_n += 1;
            } else {
                qf_sum += quantity;
                qf_n += 1;
            }
            if let Some(ch) = o.channel {
                s.channels.push(ch);
            }
            lines += *n_lines as usize;
        }
        for it in &self.items[self.item_off[c] as usize..self.item_off[c + 1] as usize] {
            let q = it.quantity.max(0.0);
            s.products.push((it.product, q));
            if let Some(cat) = it.category {
                s.categories.push((cat, q));
            }
        }
        let np = n_purch as f64;

        // Events.
        let ev = &self.events[self.event_off[c] as usize..self.event_off[c + 1] as usize];
        let mut counts = [0usize; 8];
        let mut n_events = 0usize;
        let mut ev30 = 0usize;
        let mut last_ev: Option<i64> = None;
        for e in ev {
            first_seen(e.at);
            n_events += 1;
            if as_of - e.at < 30 * 86_400 {
                ev30 += 1;
            }
            last_ev = Some(last_ev.map_or(e.at, |l| l.max(e.at)));
            counts[e.kind as usize] += 1;
            if let Some(ch) = e.channel {
                s.all_channels.push(ch);
            }
        }

        let tenure = first_any.map_or(0.0, |f| days_to(f).max(0.0));
        let mut set = |f: Feature, v: f64| row[f as usize] = v;

        set(F::OrderCount, np);
        set(F::ActiveDays, s.days.len() as f64);
        set(F::Frequency, s.days.len().saturating_sub(1) as f64);
        set(F::MonetaryTotal, total);
        let (m_mean, m_std) = mean_std(s.amounts.iter().copied());
        set(F::MonetaryMean, m_mean);
        set(F::MonetaryMax, if n_purch > 0 { max_amt } else { 0.0 });
        set(F::MonetaryMin, if n_purch > 0 { min_amt } else { 0.0 });
        set(F::MonetaryStd, m_std);
        set(F::NetRevenue, total - refunded);
        set(F::TenureDays, tenure);
        let recency = last_p.map_or(tenure, days_to);
        set(F::RecencyDays, recency);
        let age_first = first_p.map_or(0.0, days_to);
        set(F::FirstPurchaseAgeDays, age_first);
        set(
            F::PurchaseSpanDays,
            match (first_p, last_p) {
                (Some(a), Some(b)) => (b - a) as f64 / day_s,
                _ => 0.0,
            },
        );

        s.gaps.clear();
        s.gaps
            .extend(s.days.windows(2).map(|w| (w[1] - w[0]) as f64));
        let (g_mean, g_std) = mean_std(s.gaps.iter().copied());
        set(F::IptMeanDays, g_mean);
        set(F::IptStdDays, g_std);
        set(F::IptCv, if g_mean > 0.0 { g_std / g_mean } else { 0.0 });
        set(F::IptLastDays, s.gaps.last().copied().unwrap_or(0.0));

        set(F::PurchaseVelocity, 30.0 * np / age_first.max(30.0));
        set(F::PurchaseAcceleration, (n90 as f64 - nprev90 as f64) / 3.0);
        set(F::OrdersLast30d, n30 as f64);
        set(F::OrdersLast90d, n90 as f64);
        set(F::RevenueLast30d, r30);
        set(F::RevenueLast90d, r90);
        let trend = |n_recent: usize, window: f64| {
            if n_purch == 0 {
                0.0
            } else {
                (n_recent as f64 / window) / (np / age_first.max(window))
            }
        };
        set(F::Trend30d, trend(n30, 30.0));
        set(F::Trend90d, trend(n90, 90.0));

        let share = |k: usize| if n_purch > 0 { k as f64 / np } else { 0.0 };
        let wd = [
            F::WeekdayShareMon,
            F::WeekdayShareTue,
            F::WeekdayShareWed,
            F::WeekdayShareThu,
            F::WeekdayShareFri,
            F::WeekdayShareSat,
            F::WeekdayShareSun,
        ];
        for (f, k) in wd.into_iter().zip(weekday) {
            set(f, share(k));
        }
        set(
            F::WeekdayEntropy,
            entropy_bits(weekday.iter().map(|&k| k as f64)),
        );
        let hb = [
            F::HourShareNight,
            F::HourShareMorning,
            F::HourShareAfternoon,
            F::HourShareEvening,
        ];
        for (f, k) in hb.into_iter().zip(hour) {
            set(f, share(k));
        }
        let qs = [
            F::QuarterShareQ1,
            F::QuarterShareQ2,
            F::QuarterShareQ3,
            F::QuarterShareQ4,
        ];
        for (f, k) in qs.into_iter().zip(quarter) {
            set(f, share(k));
        }

        set(F::DistinctProducts, merge_counts(&mut s.products) as f64);
        set(
            F::DistinctCategories,
            merge_counts(&mut s.categories) as f64,
        );
        set(
            F::ProductEntropy,
            entropy_bits(s.products.iter().map(|p| p.1)),
        );
        set(
            F::CategoryEntropy,
            entropy_bits(s.categories.iter().map(|p| p.1)),
        );
        set(F::LinesPerOrder, share(lines));

        let (q_mean, q_std) = mean_std(s.quantities.iter().copied());
        set(F::QuantityMean, q_mean);
        set(F::QuantityStd, q_std);
        set(
            F::UnitPriceMean,
            if qty_sum > 0.0 {
                (total / qty_sum).max(0.0)
            } else {
                0.0
            },
        );
        set(F::DiscountOrderShare, share(disc_n));
        let gross = total + disc_sum;
        set(
            F::DiscountRate,
            if gross > 0.0 {
                (disc_sum / gross).clamp(0.0, 1.0)
            } else {
                0.0
            },
        );
        let lift = if qd_n > 0 && qf_n > 0 && qf_sum > 0.0 {
            ((qd_sum / qd_n as f64) / (qf_sum / qf_n as f64)).max(0.0)
        } else {
            1.0
        };
        set(F::DiscountQuantityLift, lift);

        set(F::RefundCount, refunds as f64);
        set(
            F::RefundRate,
            bounded_rate(refunds as f64, (refunds + n_purch) as f64),
        );
        set(F::RefundValueRate, bounded_rate(refunded, refunded + total));

        // Purchase channels with multiplicity: entropy from the run lengths.
        s.channels.sort_unstable();
        let runs = s.channels.chunk_by(|a, b| a == b);
        let channel_entropy = entropy_bits(runs.clone().map(|r| r.len() as f64));
        let order_channels = runs.count();
        s.channels.dedup();
        set(F::OrderChannelCount, order_channels as f64);
        s.all_channels.extend_from_slice(&s.channels);
        s.all_channels.sort_unstable();
        s.all_channels.dedup();
        set(F::ChannelCount, s.all_channels.len() as f64);
        set(F::ChannelEntropy, channel_entropy);

        let k = |kind: EventKind| counts[kind as usize] as f64;
        set(F::EventCount, n_events as f64);
        set(F::EventsLast30d, ev30 as f64);
        set(F::MessagesSent, k(EventKind::Sent));
        set(F::DaysSinceLastEvent, last_ev.map_or(tenure, days_to));
        set(
            F::OpenRate,
            bounded_rate(k(EventKind::Open), k(EventKind::Sent)),
        );
        set(
            F::ClickRate,
            bounded_rate(k(EventKind::Click), k(EventKind::Sent)),
        );
        set(
            F::ClickToOpenRate,
            bounded_rate(k(EventKind::Click), k(EventKind::Open)),
        );
        set(
            F::ConversionRate,
            bounded_rate(
                k(EventKind::Conversion),
                k(EventKind::Click) + k(EventKind::Visit),
            ),
        );
        set(
            F::CartAbandonmentRate,
            bounded_rate(k(EventKind::CartAbandon), k(EventKind::CartAdd)),
        );
        last_p
    }
}

/// Mid-rank percentiles `(below + (ties + 1) / 2) / n` of `xs` (each in (0, 1]).
fn mid_rank_percentiles(xs: &[f64]) -> Vec<f64> {
    let n = xs.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_unstable_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut out = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && xs[idx[j + 1]] == xs[idx[i]] {
            j += 1;
        }
        let ties = (j - i + 1) as f64;
        let p = (i as f64 + (ties + 1.0) / 2.0) / n as f64;
        for &k in &idx[i..=j] {
            out[k] = p;
        }
        i = j + 1;
    }
    out
}

/// Computes every feature of [`FEATURES`] for every customer of `org` as of
/// `as_of` (unix seconds UTC; later orders, their items and later events are
/// ignored).
///
/// One grouping pass (the rows up to `as_of` are copied into per-customer
/// groups by stable counting sorts, the three tables concurrently), then one
/// parallel pass over customers (rayon), then an organization pass for the
/// rank-based and reference-gap columns. All values are finite. Memory: a
/// copy of the included rows plus `n_customers × N_FEATURES` values.
///
/// # Errors
/// [`FeatureError`] naming the first offending row: a customer or order
/// index out of range, a non-finite amount/quantity/discount, a timestamp
/// outside chrono's range, or a `created_at` of the wrong length.
pub fn compute(org: &OrgData, as_of: i64) -> Result<FeatureMatrix, FeatureError> {
    validate(org)?;
    let n = org.customers;
    // Which orders count, and how many lines each purchase has.
    let included = |o: &OrderRow| o.at <= as_of;
    let purchase = |o: &OrderRow| o.at <= as_of && !is_refund(o);
    let item_customer: Vec<Option<usize>> = org
        .items
        .par_iter()
        .map(|it| {
            let o = &org.orders[it.order as usize];
            purchase(o).then_some(o.customer as usize)
        })
        .collect();
    let ((order_off, orders), ((item_off, items), (event_off, events))) = rayon::join(
        || {
            let mut lines = vec![0u32; org.orders.len()];
            for it in &org.items {
                lines[it.order as usize] += 1;
            }
            scatter(
                org.orders.len(),
                n,
                |i| included(&org.orders[i]).then_some(org.orders[i].customer as usize),
                |i| (org.orders[i], lines[i]),
            )
        },
        || {
            rayon::join(
                || {
                    scatter(
                        org.items.len(),
                        n,
                        |i| item_customer[i],
                        |i| ItemRec {
                            product: org.items[i].product,
                            category: org.items[i].category,
                            quantity: org.items[i].quantity,
                        },
                    )
                },
                || {
                    scatter(
                        org.events.len(),
                        n,
                        |i| (org.events[i].at <= as_of).then_some(org.events[i].customer as usize),
                        |i| org.events[i],
                    )
                },
            )
        },
    );
    let g = Grouped {
        org,
        as_of,
        order_off,
        orders,
        item_off,
        items,
        event_off,
        events,
    };
    let mut values = vec![0.0; n * N_FEATURES];
    let mut last_purchase: Vec<Option<i64>> = vec![None; n];
    values
        .par_chunks_mut(N_FEATURES)
        .zip(last_purchase.par_iter_mut())
        .enumerate()
        .for_each_init(Scratch::default, |s, (c, (row, last))| {
            *last = g.customer(c, s, row);
        });
    finish(&mut values, &last_purchase, as_of);
    Ok(FeatureMatrix {
        n_customers: n,
        as_of,
        values,
    })
}

/// Health-score weights: recency, frequency rank, monetary rank, trend, engagement.
pub const HEALTH_WEIGHTS: [f64; 5] = [0.35, 0.20, 0.20, 0.15, 0.10];

/// Organization pass: reference gap, overdue ratio, expected next purchase,
/// health score.
fn finish(values: &mut [f64], last_purchase: &[Option<i64>], as_of: i64) {
    use Feature as F;
    let col = |v: &[f64], f: Feature| -> Vec<f64> {
        v.chunks_exact(N_FEATURES).map(|r| r[f as usize]).collect()
    };
    let active = col(values, F::ActiveDays);
    let ipt = col(values, F::IptMeanDays);
    let mut repeat_gaps: Vec<f64> = active
        .iter()
        .zip(&ipt)
        .filter(|(a, _)| **a >= 2.0)
        .map(|(_, g)| *g)
        .collect();
    let org_gap = if repeat_gaps.is_empty() {
        30.0
    } else {
        repeat_gaps.sort_unstable_by(f64::total_cmp);
        let m = repeat_gaps.len();
        if m % 2 == 1 {
            repeat_gaps[m / 2]
        } else {
            (repeat_gaps[m / 2 - 1] + repeat_gaps[m / 2]) / 2.0
        }
    };
    let purchasers: Vec<usize> = last_purchase
        .iter()
        .enumerate()
        .filter(|(_, l)| l.is_some())
        .map(|(c, _)| c)
        .collect();
    let freq: Vec<f64> = purchasers
        .iter()
        .map(|&c| values[c * N_FEATURES + F::OrderCount as usize])
        .collect();
    let money: Vec<f64> = purchasers
        .iter()
        .map(|&c| values[c * N_FEATURES + F::MonetaryTotal as usize])
        .collect();
    let f_rank = mid_rank_percentiles(&freq);
    let m_rank = mid_rank_percentiles(&money);
    let mut ranks = vec![(0.0, 0.0); last_purchase.len()];
    for (k, &c) in purchasers.iter().enumerate() {
        ranks[c] = (f_rank[k], m_rank[k]);
    }
    values
        .par_chunks_mut(N_FEATURES)
        .zip(last_purchase.par_iter())
        .zip(ranks.par_iter())
        .for_each(|((row, last), &(fr, mr))| {
            let w = HEALTH_WEIGHTS;
            let engaged = row[F::MessagesSent as usize] > 0.0
                || row[F::OpenRate as usize] > 0.0
                || row[F::ClickRate as usize] > 0.0;
            let e = if engaged {
                (row[F::OpenRate as usize] + row[F::ClickRate as usize]) / 2.0
            } else {
                0.5
            };
            let refund = row[F::RefundRate as usize];
            let score = match last {
                Some(last) => {
                    let gap = if row[F::ActiveDays as usize] >= 2.0 {
                        row[F::IptMeanDays as usize]
                    } else {
                        org_gap
                    }
                    .max(1.0);
                    let rec = row[F::RecencyDays as usize];
                    row[F::OverdueRatio as usize] = rec / gap;
                    row[F::ExpectedNextPurchaseDays as usize] =
                        (*last - as_of) as f64 / SECONDS_PER_DAY + gap;
                    let r = (-rec / gap).exp2();
                    let t = row[F::Trend90d as usize].min(2.0) / 2.0;
                    w[0] * r + w[1] * fr + w[2] * mr + w[3] * t + w[4] * e
                }
                None => {
                    row[F::OverdueRatio as usize] = 0.0;
                    row[F::ExpectedNextPurchaseDays as usize] = 0.0;
                    w[4] * e
                }
            };
            row[F::HealthScore as usize] = (100.0 * score * (1.0 - 0.5 * refund)).clamp(0.0, 100.0);
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-01-01T00:00:00Z (a Monday).
    const JAN1: i64 = 1_704_067_200;
    const H: i64 = 3_600;
    const D: i64 = 86_400;
    const AS_OF: i64 = JAN1 + 30 * D;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * (1.0 + b.abs())
    }

    #[track_caller]
    fn check(m: &FeatureMatrix, c: usize, name: &str, want: f64) {
        let got = m.get(c, name).unwrap_or(f64::NAN);
        assert!(
            close(got, want),
            "customer {c} {name}: got {got}, want {want}"
        );
    }

    fn order(customer: u32, at: i64, amount: f64, quantity: f64) -> OrderRow {
        OrderRow {
            customer,
            at,
            amount,
            quantity,
            discount: 0.0,
            status: OrderStatus::Completed,
            channel: None,
        }
    }

    fn item(order: u32, product: u32, category: u32, quantity: f64) -> ItemRow {
        ItemRow {
            order,
            product,
            category: Some(category),
            quantity,
            amount: 0.0,
        }
    }

    fn event(customer: u32, at: i64, kind: EventKind) -> EventRow {
        EventRow {
            customer,
            at,
            kind,
            channel: None,
        }
    }

    /// Customer 0: three purchases (one pending), a negative refund, a
    /// cancelled order, a purchase after as_of, and events; customer 1:
    /// nothing; customer 2: one purchase the day before as_of.
    fn small_org() -> OrgData {
        let orders = vec![
            OrderRow {
                channel: Some(1),
                ..order(0, JAN1 + 10 * H, 100.0, 2.0)
            },
            OrderRow {
                discount: 10.0,
                channel: Some(2),
                ..order(0, JAN1 + 10 * D + 20 * H, 50.0, 1.0)
            },
            OrderRow {
                status: OrderStatus::Pending,
                ..order(0, JAN1 + 20 * D + 3 * H, 30.0, 3.0)
            },
            order(0, JAN1 + 21 * D + 12 * H, -20.0, 1.0),
            OrderRow {
                status: OrderStatus::Cancelled,
                ..order(0, JAN1 + 20 * D + 15 * H, 20.0, 1.0)
            },
            order(0, JAN1 + 35 * D, 1000.0, 9.0),
            order(2, AS_OF - D, 10.0, 1.0),
        ];
        let items = vec![
            item(0, 1, 10, 1.0),
            item(0, 2, 10, 1.0),
            item(1, 3, 20, 1.0),
            item(2, 1, 10, 3.0),
            item(5, 99, 99, 9.0),
        ];
        let mid = JAN1 + 14 * D + 12 * H;
        let mut events = Vec::new();
        for (kind, k) in [
            (EventKind::Sent, 4),
            (EventKind::Open, 2),
            (EventKind::CartAdd, 2),
            (EventKind::CartAbandon, 1),
            (EventKind::Conversion, 1),
        ] {
            events.extend(std::iter::repeat_n(event(0, mid, kind), k));
        }
        events.push(EventRow {
            channel: Some(3),
            ..event(0, mid, EventKind::Click)
        });
        events.push(event(0, AS_OF - 12 * H, EventKind::Visit));
        events.push(event(0, AS_OF + 1, EventKind::Open));
        let mut created_at = vec![None; 3];
        created_at[0] = Some(JAN1 - 31 * D);
        OrgData {
            customers: 3,
            created_at,
            orders,
            items,
            events,
        }
    }

    #[test]
    fn table_is_consistent() {
        const { assert!(N_FEATURES >= 45) };
        assert_eq!(Feature::HealthScore as usize, N_FEATURES - 1);
        for (j, f) in FEATURES.iter().enumerate() {
            assert_eq!(index_of(f.name), Some(j), "{} is not unique", f.name);
            assert!(
                f.name
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
                    && f.name.starts_with(|ch: char| ch.is_ascii_lowercase()),
                "{} is not snake_case",
                f.name
            );
            assert!(f.min < f.max && !f.description.is_empty());
        }
        assert_eq!(Feature::Frequency.name(), "frequency");
        assert_eq!(Feature::HealthScore.def().unit, Unit::Score);
        assert_eq!(FEATURES[Feature::OpenRate as usize].name, "open_rate");
        assert_eq!(index_of("no_such_feature"), None);
    }

    #[test]
    fn hand_computed_customer() -> Result<(), FeatureError> {
        let m = compute(&small_org(), AS_OF)?;
        let c = 0;
        check(&m, c, "order_count", 3.0);
        check(&m, c, "active_days", 3.0);
        check(&m, c, "frequency", 2.0);
        check(&m, c, "monetary_total", 180.0);
        check(&m, c, "monetary_mean", 60.0);
        check(&m, c, "monetary_max", 100.0);
        check(&m, c, "monetary_min", 30.0);
        check(&m, c, "monetary_std", (2600.0f64 / 3.0).sqrt());
        check(&m, c, "net_revenue", 140.0);
        check(&m, c, "tenure_days", 61.0);
        check(&m, c, "recency_days", 9.0 + 21.0 / 24.0);
        check(&m, c, "first_purchase_age_days", 29.0 + 14.0 / 24.0);
        check(&m, c, "purchase_span_days", 19.0 + 17.0 / 24.0);
        check(&m, c, "ipt_mean_days", 10.0);
        check(&m, c, "ipt_std_days", 0.0);
        check(&m, c, "ipt_cv", 0.0);
        check(&m, c, "ipt_last_days", 10.0);
        check(&m, c, "overdue_ratio", 0.9875);
        check(&m, c, "expected_next_purchase_days", 0.125);
        check(&m, c, "purchase_velocity", 3.0);
        check(&m, c, "purchase_acceleration", 1.0);
        check(&m, c, "orders_last_30d", 3.0);
        check(&m, c, "revenue_last_30d", 180.0);
        check(&m, c, "orders_last_90d", 3.0);
        check(&m, c, "trend_30d", 1.0);
        check(&m, c, "trend_90d", 1.0);
        for (name, want) in [
            ("weekday_share_mon", 1.0 / 3.0),
            ("weekday_share_tue", 0.0),
            ("weekday_share_thu", 1.0 / 3.0),
            ("weekday_share_sun", 1.0 / 3.0),
            ("weekday_entropy_bits", 3f64.log2()),
            ("hour_share_night", 1.0 / 3.0),
            ("hour_share_morning", 1.0 / 3.0),
            ("hour_share_afternoon", 0.0),
            ("hour_share_evening", 1.0 / 3.0),
            ("quarter_share_q1", 1.0),
            ("quarter_share_q4", 0.0),
        ] {
            check(&m, c, name, want);
        }
        let h = |ps: &[f64]| -ps.iter().map(|p| p * p.log2()).sum::<f64>();
        check(&m, c, "distinct_products", 3.0);
        check(
            &m,
            c,
            "product_entropy_bits",
            h(&[4.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0]),
        );
        check(&m, c, "distinct_categories", 2.0);
        check(&m, c, "category_entropy_bits", h(&[5.0 / 6.0, 1.0 / 6.0]));
        check(&m, c, "lines_per_order", 4.0 / 3.0);
        check(&m, c, "quantity_mean", 2.0);
        check(&m, c, "quantity_std", (2.0f64 / 3.0).sqrt());
        check(&m, c, "unit_price_mean", 30.0);
        check(&m, c, "discount_order_share", 1.0 / 3.0);
        check(&m, c, "discount_rate", 10.0 / 190.0);
        check(&m, c, "discount_quantity_lift", 0.4);
        check(&m, c, "refund_count", 2.0);
        check(&m, c, "refund_rate", 0.4);
        check(&m, c, "refund_value_rate", 40.0 / 220.0);
        check(&m, c, "order_channel_count", 2.0);
        check(&m, c, "channel_count", 3.0);
        check(&m, c, "channel_entropy_bits", 1.0);
        check(&m, c, "event_count", 12.0);
        check(&m, c, "events_last_30d", 12.0);
        check(&m, c, "messages_sent", 4.0);
        check(&m, c, "days_since_last_event", 0.5);
        check(&m, c, "open_rate", 0.5);
        check(&m, c, "click_rate", 0.25);
        check(&m, c, "click_to_open_rate", 0.5);
        check(&m, c, "conversion_rate", 0.5);
        check(&m, c, "cart_abandonment_rate", 0.5);
        // Ranks among the two purchasers: customer 0 is top on F and M.
        let score = 100.0
            * (0.35 * (-0.9875f64).exp2() + 0.20 + 0.20 + 0.15 * 0.5 + 0.10 * 0.375)
            * (1.0 - 0.5 * 0.4);
        check(&m, c, "health_score", score);
        Ok(())
    }

    #[test]
    fn single_purchase_and_empty_customers_use_documented_defaults() -> Result<(), FeatureError> {
        let m = compute(&small_org(), AS_OF)?;
        // Customer 2: one purchase a day ago; the reference gap is the
        // organization median (customer 0's 10 days).
        check(&m, 2, "recency_days", 1.0);
        check(&m, 2, "frequency", 0.0);
        check(&m, 2, "monetary_std", 0.0);
        check(&m, 2, "ipt_mean_days", 0.0);
        check(&m, 2, "overdue_ratio", 0.1);
        check(&m, 2, "expected_next_purchase_days", 9.0);
        check(&m, 2, "discount_quantity_lift", 1.0);
        let score = 100.0 * (0.35 * (-0.1f64).exp2() + 0.10 + 0.10 + 0.075 + 0.05);
        check(&m, 2, "health_score", score);
        // Customer 1: nothing at all.
        let row = m.row(1).unwrap_or(&[]);
        assert_eq!(row.len(), N_FEATURES);
        for (f, v) in FEATURES.iter().zip(row) {
            let want = match f.name {
                "discount_quantity_lift" => 1.0,
                "health_score" => 5.0,
                _ => 0.0,
            };
            assert!(close(*v, want), "{}: {v}", f.name);
        }
        Ok(())
    }

    #[test]
    fn later_rows_are_ignored() -> Result<(), FeatureError> {
        let org = small_org();
        let mut trimmed = org.clone();
        trimmed.orders.truncate(5);
        trimmed.orders.push(org.orders[6]);
        trimmed.items.truncate(4);
        trimmed.events.retain(|e| e.at <= AS_OF);
        assert_eq!(compute(&org, AS_OF)?, compute(&trimmed, AS_OF)?);
        // And as_of earlier than everything: customer 0 has only its created_at.
        let m = compute(&org, JAN1)?;
        check(&m, 0, "order_count", 0.0);
        check(&m, 0, "tenure_days", 31.0);
        check(&m, 0, "recency_days", 31.0);
        Ok(())
    }

    #[test]
    fn negative_quantities_and_discounts_count_as_zero() -> Result<(), FeatureError> {
        let org = OrgData {
            customers: 1,
            orders: vec![
                OrderRow {
                    discount: -5.0,
                    ..order(0, JAN1, 10.0, -2.0)
                },
                order(0, JAN1 + D, 30.0, 2.0),
            ],
            ..OrgData::default()
        };
        let m = compute(&org, AS_OF)?;
        check(&m, 0, "quantity_mean", 1.0);
        check(&m, 0, "quantity_std", 1.0);
        check(&m, 0, "unit_price_mean", 20.0);
        check(&m, 0, "discount_order_share", 0.0);
        check(&m, 0, "discount_rate", 0.0);
        Ok(())
    }

    #[test]
    fn bad_input_names_the_row() {
        let mut org = small_org();
        org.orders[3].customer = 7;
        assert_eq!(
            compute(&org, AS_OF),
            Err(FeatureError::CustomerOutOfRange {
                table: "orders",
                row: 3,
                customer: 7,
                customers: 3
            })
        );
        let mut org = small_org();
        org.orders[1].discount = f64::NAN;
        assert!(matches!(
            compute(&org, AS_OF),
            Err(FeatureError::NotFinite {
                table: "orders",
                row: 1,
                field: "discount",
                ..
            })
        ));
        let mut org = small_org();
        org.items[2].order = 70;
        assert!(matches!(
            compute(&org, AS_OF),
            Err(FeatureError::OrderOutOfRange {
                row: 2,
                order: 70,
                ..
            })
        ));
        let mut org = small_org();
        org.events[0].customer = 3;
        assert!(matches!(
            compute(&org, AS_OF),
            Err(FeatureError::CustomerOutOfRange {
                table: "events",
                row: 0,
                ..
            })
        ));
        let mut org = small_org();
        org.events[1].at = i64::MAX;
        assert!(matches!(
            compute(&org, AS_OF),
            Err(FeatureError::BadTimestamp {
                table: "events",
                row: 1,
                ..
            })
        ));
        let mut org = small_org();
        org.created_at.pop();
        assert_eq!(
            compute(&org, AS_OF),
            Err(FeatureError::CreatedAtLength {
                len: 2,
                customers: 3
            })
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(bounded_rate(0.0, 0.0), 0.0);
        assert_eq!(bounded_rate(3.0, 0.0), 1.0);
        assert_eq!(bounded_rate(1.0, 4.0), 0.25);
        assert!(close(entropy_bits([1.0, 1.0, 1.0, 1.0].into_iter()), 2.0));
        assert_eq!(entropy_bits([0.0, -1.0].into_iter()), 0.0);
        assert_eq!(mean_std([5.0].into_iter()), (5.0, 0.0));
        assert_eq!(
            mid_rank_percentiles(&[3.0, 1.0, 3.0, 2.0]),
            vec![0.875, 0.25, 0.875, 0.5]
        );
    }
}
