//! M1 customer intelligence and M6 CLV/churn in the running system: the job
//! runners ([`IntelligenceJobs`] for [`JobKind::Features`],
//! [`JobKind::Drift`] and [`JobKind::Churn`]), the tools of both modules
//! ([`IntelligenceTools`]) and [`run_all`], which the binary calls to score
//! one organization end to end.
//!
//! # Features and personas (M1)
//! [`run_features`] reads the organization's customers, orders, order lines
//! and events ([`Store::analytics_input`]), computes the 70 behavioural
//! features of `aima_models::features` **as of the organization's data
//! end** (its latest order or event, so an imported history is scored as of
//! when it ends, not as of today), stores them, and records each
//! purchaser's RFM persona (`aima_models::rfm`). A customer who moves to a
//! less healthy persona ([`rfm::is_worse`]) raises a `persona_drift` alert
//! with the transition and the evidence: recency (days), order count and
//! monetary total before (the previously stored features) and after.
//!
//! # Churn and CLV (M6)
//! [`run_churn`] fits BG/NBD ([`BgNbd::fit_penalized`], penalty
//! [`BGNBD_PENALTY`]) and Gamma-Gamma on the organization's purchases
//! (orders with a positive amount that are not cancelled or refunded;
//! same-day orders of a customer merged; time in weeks) with the data end
//! as calibration end, and compares BG/NBD with a DeepHit survival network
//! on a time split of the organization's own history (the last
//! [`HOLDOUT_DAYS`] days held out; the split, the scores, the rule and the
//! too-little-data thresholds are documented in the [`churn`] module). The better model on the holdout serves the churn
//! probabilities, refitted on the whole history; with too little data for a
//! holdout, BG/NBD serves. Per customer with a purchase:
//! - churn probability at 30/60/90 days = P(no purchase in the next h days
//!   | history): BG/NBD's [`BgNbdParams::prob_no_purchase`] over h/7 weeks,
//!   or the network's S(h); both never grow with the horizon, so the 90-day
//!   value is the most conservative;
//! - 12-month CLV ([`customer_lifetime_value`], BG/NBD + Gamma-Gamma
//!   whichever model serves churn) at a monthly discount rate of
//!   [`MONTHLY_DISCOUNT_RATE`] (1 %, about 12.7 % a year), `None` when
//!   Gamma-Gamma could not be fitted;
//! - a risk tier on the 90-day probability ([`RiskTier::from_probability`]:
//!   very high >= 0.8, high >= 0.6, medium >= 0.4, low otherwise) with its
//!   intervention ([`RiskTier::intervention`]).
//!
//! The run is registered in the model registry as model [`CHURN_MODEL`],
//! version = the run's time, with metrics: `served_model` (`bgnbd` or
//! `deephit`), `served_reason` (the scores and margins, or why there was no
//! comparison), `holdout` (both models' AUC, concordance and IBS and their
//! differences, or `{"skipped": reason}`), the BG/NBD and Gamma-Gamma fits,
//! and, when the network serves, its configuration and feature
//! standardization (`deephit`) with its weights stored beside the entry
//! ([`served_deephit`] rebuilds it). The churn tools name the model that
//! made the predictions they show.

pub mod churn;
mod fingerprints;
mod tools;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aima_models::clv::{
    BgNbd, BgNbdParams, ClvError, GammaGamma, RepeatSummary, Transaction, customer_lifetime_value,
    summarize,
};
use aima_models::features::{
    self, EventKind, EventRow, FEATURES, Feature, FeatureError, FeatureMatrix, ItemRow, OrderRow,
    OrderStatus, OrgData,
};
use aima_models::rfm::{self, Persona};
use aima_runtime::store::{AnalyticsInput, NewAlert, NewChurnPrediction, Store, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::jobs::{JobFailure, JobKind, JobRunner, Progress};

pub use churn::{
    CHURN_TRAINING_STAGE, ChurnOptions, DEEPHIT_WEIGHTS_FORMAT, HOLDOUT_DAYS, HoldoutComparison,
    HoldoutScores, MIN_HOLDOUT_CUSTOMERS, ServedModel, choose_served, served_deephit,
};
pub use fingerprints::{
    FINGERPRINT_DRIFT_ALERT, FINGERPRINT_MODEL, FingerprintCluster, FingerprintOptions,
    FingerprintSummary, MIN_FINGERPRINT_CUSTOMERS, StoredWeights, WeightsSource, fingerprint_kind,
    latest_clusters, run_fingerprints, run_fingerprints_with, sequences,
};
pub use tools::{IntelligenceTools, persona_named};

/// The alert kind raised when a customer moves to a worse persona.
pub const PERSONA_DRIFT_ALERT: &str = "persona_drift";
/// Name of the churn/CLV model in the model registry: one entry per churn
/// run, whose metrics name the served churn model (`served_model`).
pub const CHURN_MODEL: &str = "churn_clv";
/// Ridge penalty of the BG/NBD fit (see [`BgNbd::fit_penalized`]): small
/// enough to leave the maximum-likelihood estimate of a real customer base
/// essentially unchanged, large enough to keep small samples finite.
pub const BGNBD_PENALTY: f64 = 0.001;
/// Monthly discount rate of the CLV (1 % a month).
pub const MONTHLY_DISCOUNT_RATE: f64 = 0.01;
/// CLV horizon in months.
pub const CLV_HORIZON_MONTHS: u32 = 12;
/// The churn horizons, in days.
pub const CHURN_HORIZONS_DAYS: [i64; 3] = [30, 60, 90];
/// Fewest customers with a purchase the churn model is fitted on.
pub const MIN_CHURN_CUSTOMERS: usize = 20;
/// Fewest customers with a repeat purchase the churn model needs.
pub const MIN_REPEAT_CUSTOMERS: usize = 5;

/// Why an intelligence job failed for one organization.
#[derive(Debug, thiserror::Error)]
pub enum IntelligenceError {
    /// Reading or writing the store failed.
    #[error("organization {org}: {source}")]
    Store {
        /// The organization.
        org: Uuid,
        /// The store error.
        source: StoreError,
    },
    /// The organization has too little data for the job.
    #[error("organization {org}: not enough data for {job}: {missing}")]
    NotEnoughData {
        /// The organization.
        org: Uuid,
        /// The job (`features`, `churn`).
        job: &'static str,
        /// What is missing, in words.
        missing: String,
    },
    /// The feature computation rejected the input.
    #[error("organization {org}: features: {source}")]
    Features {
        /// The organization.
        org: Uuid,
        /// The model error (names the offending row).
        source: FeatureError,
    },
    /// A CLV model could not be fitted or evaluated.
    #[error("organization {org}: {step}: {source}")]
    Model {
        /// The organization.
        org: Uuid,
        /// What was being done.
        step: &'static str,
        /// The model error.
        source: ClvError,
    },
    /// The fingerprint model rejected the input or failed.
    #[error("organization {org}: fingerprints: {source}")]
    Fingerprint {
        /// The organization.
        org: Uuid,
        /// The model error (names the offending customer/event).
        source: aima_models::fingerprint::FingerprintError,
    },
    /// Clustering the fingerprints failed.
    #[error("organization {org}: fingerprint clusters: {source}")]
    Clustering {
        /// The organization.
        org: Uuid,
        /// The clustering error.
        source: aima_models::cluster::ClusterError,
    },
    /// The compute task panicked or was cancelled.
    #[error("organization {org}: the {job} computation stopped: {reason}")]
    Task {
        /// The organization.
        org: Uuid,
        /// The job.
        job: &'static str,
        /// Why.
        reason: String,
    },
}

/// The churn risk tier of a customer, from the 90-day churn probability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskTier {
    /// 90-day churn probability >= 0.8.
    VeryHigh,
    /// >= 0.6.
    High,
    /// >= 0.4.
    Medium,
    /// < 0.4.
    Low,
}

impl RiskTier {
    /// Every tier, riskiest first.
    pub const ALL: [RiskTier; 4] = [
        RiskTier::VeryHigh,
        RiskTier::High,
        RiskTier::Medium,
        RiskTier::Low,
    ];

    /// The tier of a 90-day churn probability `p` (0..1): very high >= 0.8,
    /// high >= 0.6, medium >= 0.4, low otherwise (NaN is low).
    pub fn from_probability(p: f64) -> RiskTier {
        if p >= 0.8 {
            RiskTier::VeryHigh
        } else if p >= 0.6 {
            RiskTier::High
        } else if p >= 0.4 {
            RiskTier::Medium
        } else {
            RiskTier::Low
        }
    }

    /// The stored name (`very_high`, `high`, `medium`, `low`).
    pub fn as_str(self) -> &'static str {
        match self {
            RiskTier::VeryHigh => "very_high",
            RiskTier::High => "high",
            RiskTier::Medium => "medium",
            RiskTier::Low => "low",
        }
    }

    /// The tier of a stored name, if it is one.
    pub fn parse(name: &str) -> Option<RiskTier> {
        RiskTier::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The recommended intervention for customers of this tier.
    pub fn intervention(self) -> &'static str {
        match self {
            RiskTier::VeryHigh => "Immediate win-back offer",
            RiskTier::High => "Personalized re-engagement campaign",
            RiskTier::Medium => "Loyalty reward",
            RiskTier::Low => "Standard nurture",
        }
    }
}

/// The persona of a stored key (`champions`, `at_risk`, ...), if it is one.
pub fn persona_from_key(key: &str) -> Option<Persona> {
    Persona::ALL.into_iter().find(|p| p.key() == key)
}

/// What M1/M6 stored about `customer` of `org`, for `customer_profile`.
///
/// # Errors
/// [`StoreError`] of the reads.
pub async fn customer_intelligence(
    store: &Store,
    org: Uuid,
    customer: Uuid,
) -> Result<aima_tools::data::CustomerIntelligence, StoreError> {
    let segment = store
        .current_segment(org, customer, aima_runtime::store::RFM_SEGMENT_KIND)
        .await?;
    let health = store
        .customer_features(org, customer)
        .await?
        .and_then(|(_, f)| f.get("health_score").and_then(Value::as_f64))
        .map(round2);
    let predictions = store.customer_churn_predictions(org, customer).await?;
    let at = |h: i64| {
        predictions
            .iter()
            .find(|p| p.horizon_days == h)
            .map(|p| p.probability)
    };
    let tier = predictions.first().map(|p| p.risk_tier.clone());
    Ok(aima_tools::data::CustomerIntelligence {
        persona_name: segment
            .as_ref()
            .and_then(|s| persona_from_key(&s.name))
            .map(|p| p.display_name().to_string()),
        persona: segment.map(|s| s.name),
        health_score: health,
        churn_30d: at(30),
        churn_60d: at(60),
        churn_90d: at(90),
        clv: predictions.first().and_then(|p| p.clv),
        intervention: tier
            .as_deref()
            .and_then(RiskTier::parse)
            .map(|t| t.intervention().to_string()),
        risk_tier: tier,
        similar_customers: fingerprints::similar_customers(
            store,
            org,
            customer,
            5,
            &aima_runtime::store::NeighbourFilter::default(),
        )
        .await?
        .map(|s| s.rows)
        .unwrap_or_default(),
    })
}

/// What [`run_features`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeaturesSummary {
    /// Customers whose features were computed and stored.
    pub customers: usize,
    /// Customers with a persona (at least one purchase).
    pub scored: usize,
    /// When the features are computed as of (the organization's data end).
    pub as_of: DateTime<Utc>,
    /// Members per persona key, every persona listed.
    pub personas: BTreeMap<String, usize>,
    /// Customers whose persona changed (first personas included).
    pub transitions: usize,
    /// Moves to a worse persona (one alert each).
    pub alerts: usize,
}

/// What [`run_churn`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChurnSummary {
    /// Customers scored (those with at least one purchase).
    pub customers: usize,
    /// The model whose churn probabilities were stored.
    pub served_model: ServedModel,
    /// Why it was served, in words with the holdout margins.
    pub served_reason: String,
    /// The holdout comparison; `None` when it could not be made.
    pub holdout: Option<HoldoutComparison>,
    /// Why there is no holdout comparison.
    pub holdout_skipped: Option<String>,
    /// Customers per risk tier, every tier listed.
    pub tiers: BTreeMap<String, usize>,
    /// Registered model version.
    pub model_version: String,
    /// BG/NBD log-likelihood at the fit.
    pub log_likelihood: f64,
    /// Mean 12-month CLV of the scored customers, when Gamma-Gamma fitted.
    pub mean_clv: Option<f64>,
}

/// What [`run_all`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntelligenceSummary {
    /// Features and personas.
    pub features: FeaturesSummary,
    /// Churn and CLV.
    pub churn: ChurnSummary,
    /// Fingerprints and their clusters; `None` when skipped.
    pub fingerprints: Option<FingerprintSummary>,
    /// Why fingerprints were skipped (too few customers with events).
    pub fingerprints_skipped: Option<String>,
}

/// Runs the fingerprint job after features: too little data is reported as
/// skipped (`Err(reason)`), any other failure is an error.
async fn fingerprints_after_features(
    store: &Store,
    org: Uuid,
    progress: &Progress,
) -> Result<Result<FingerprintSummary, String>, IntelligenceError> {
    match run_fingerprints(store, org, progress).await {
        Ok(s) => Ok(Ok(s)),
        Err(e @ IntelligenceError::NotEnoughData { .. }) => Ok(Err(e.to_string())),
        Err(e) => Err(e),
    }
}

/// Features + personas, fingerprints + clusters (skipped with a reason
/// when too few customers have events), then churn + CLV, for one
/// organization (what `aima demo` runs after an import), reporting its
/// stages to `progress` as the jobs do.
///
/// # Errors
/// The first failing step's [`IntelligenceError`].
pub async fn run_all(
    store: &Store,
    org: Uuid,
    progress: &Progress,
) -> Result<IntelligenceSummary, IntelligenceError> {
    let features = progress
        .stage(FEATURES_STAGE, run_features(store, org))
        .await?;
    let fingerprints = fingerprints_after_features(store, org, progress).await?;
    let churn = progress
        .stage(
            CHURN_STAGE,
            run_churn_with(store, org, &ChurnOptions::default(), progress),
        )
        .await?;
    Ok(IntelligenceSummary {
        features,
        churn,
        fingerprints_skipped: fingerprints.as_ref().err().cloned(),
        fingerprints: fingerprints.ok(),
    })
}

/// Stage names of the jobs' coarse steps (see [`Progress::stage`]).
const FEATURES_STAGE: &str = "features and personas";
const CHURN_STAGE: &str = "churn and CLV";

fn store_err(org: Uuid) -> impl Fn(StoreError) -> IntelligenceError {
    move |source| IntelligenceError::Store { org, source }
}

/// The current time truncated to microseconds (what PostgreSQL keeps).
fn now_micros() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

fn unix(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

/// Whether a stored order counts as a purchase for the repeat-purchase
/// models (churn, CLV) and segment quality: a positive, finite amount and a
/// status that is not cancelled or refunded.
pub fn is_purchase(order: &aima_runtime::store::AnalyticsOrder) -> bool {
    order.amount > 0.0
        && order.amount.is_finite()
        && !matches!(
            order_status(order.status.as_deref()),
            OrderStatus::Cancelled | OrderStatus::Refunded
        )
}

/// The order status the features use, from a stored status text.
fn order_status(status: Option<&str>) -> OrderStatus {
    let Some(s) = status else {
        return OrderStatus::Completed;
    };
    let s = s.trim().to_ascii_lowercase();
    match s.as_str() {
        "" | "completed" | "complete" | "paid" | "delivered" | "shipped" | "fulfilled"
        | "closed" => OrderStatus::Completed,
        "pending" | "processing" | "on-hold" | "on_hold" | "open" => OrderStatus::Pending,
        "cancelled" | "canceled" | "voided" | "failed" => OrderStatus::Cancelled,
        "refunded" | "returned" => OrderStatus::Refunded,
        _ => OrderStatus::Other,
    }
}

/// The event kind the features use, from a stored event type.
fn event_kind(event_type: &str) -> EventKind {
    let t = event_type.to_ascii_lowercase();
    if t.contains("abandon") {
        EventKind::CartAbandon
    } else if t.contains("cart") {
        EventKind::CartAdd
    } else if t.contains("open") {
        EventKind::Open
    } else if t.contains("click") {
        EventKind::Click
    } else if t.contains("sent") || t.contains("send") || t.contains("deliver") {
        EventKind::Sent
    } else if t.contains("purchase") || t.contains("conversion") || t.contains("checkout") {
        EventKind::Conversion
    } else if t.contains("visit") || t.contains("view") || t.contains("session") {
        EventKind::Visit
    } else {
        EventKind::Other
    }
}

/// Converts the store's rows to the models' columnar input.
pub fn org_data(input: &AnalyticsInput) -> OrgData {
    let mut quantity = vec![0.0; input.orders.len()];
    for it in &input.items {
        if let Some(q) = quantity.get_mut(it.order as usize) {
            *q += it.quantity.max(0.0);
        }
    }
    OrgData {
        customers: input.customers.len(),
        created_at: input.created_at.iter().map(|t| Some(unix(*t))).collect(),
        orders: input
            .orders
            .iter()
            .zip(&quantity)
            .map(|(o, q)| OrderRow {
                customer: o.customer,
                at: unix(o.ordered_at),
                amount: o.amount,
                quantity: *q,
                discount: 0.0,
                status: order_status(o.status.as_deref()),
                channel: None,
            })
            .collect(),
        items: input
            .items
            .iter()
            .map(|it| ItemRow {
                order: it.order,
                product: it.product,
                category: it.category,
                quantity: it.quantity,
                amount: it.amount,
            })
            .collect(),
        events: input
            .events
            .iter()
            .map(|e| EventRow {
                customer: e.customer,
                at: unix(e.occurred_at),
                kind: event_kind(&e.event_type),
                channel: e.channel,
            })
            .collect(),
    }
}

/// The organization's data end: its latest order or event.
fn data_end(input: &AnalyticsInput) -> Option<DateTime<Utc>> {
    let orders = input.orders.iter().map(|o| o.ordered_at);
    let events = input.events.iter().map(|e| e.occurred_at);
    orders.chain(events).max()
}

/// The recency/frequency/monetary evidence stored with a drift alert.
fn rfm_evidence(recency: Option<f64>, orders: Option<f64>, monetary: Option<f64>) -> Value {
    json!({
        "recency_days": recency.map(round2),
        "order_count": orders,
        "monetary_total": monetary.map(round2),
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Computes and stores the features and RFM personas of `org` and raises a
/// `persona_drift` alert for every move to a worse persona (see the module
/// docs).
///
/// # Errors
/// [`IntelligenceError::NotEnoughData`] when the organization has no
/// customers or no orders linked to them; store and feature errors.
pub async fn run_features(store: &Store, org: Uuid) -> Result<FeaturesSummary, IntelligenceError> {
    let err = store_err(org);
    let input = store.analytics_input(org).await.map_err(&err)?;
    let not_enough = |missing: String| IntelligenceError::NotEnoughData {
        org,
        job: "features",
        missing,
    };
    if input.customers.is_empty() {
        return Err(not_enough(
            "it has no customers; import customers and orders first".into(),
        ));
    }
    let Some(as_of) = data_end(&input).filter(|_| !input.orders.is_empty()) else {
        return Err(not_enough(format!(
            "none of its {} customers has an order; import orders linked to customers first",
            input.customers.len()
        )));
    };
    let data = org_data(&input);
    let matrix: FeatureMatrix =
        tokio::task::spawn_blocking(move || features::compute(&data, unix(as_of)))
            .await
            .map_err(|e| IntelligenceError::Task {
                org,
                job: "features",
                reason: e.to_string(),
            })?
            .map_err(|source| IntelligenceError::Features { org, source })?;

    // Evidence before: the previously stored features.
    let mut before: HashMap<Uuid, [Option<f64>; 3]> = HashMap::new();
    for (k, f) in [
        Feature::RecencyDays,
        Feature::OrderCount,
        Feature::MonetaryTotal,
    ]
    .into_iter()
    .enumerate()
    {
        for (c, v) in store.feature_column(org, f.name()).await.map_err(&err)? {
            before.entry(c).or_default()[k] = Some(v);
        }
    }

    let rows: Vec<(Uuid, Value)> = input
        .customers
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let values = matrix.row(i).unwrap_or(&[]);
            let object: serde_json::Map<String, Value> = FEATURES
                .iter()
                .zip(values)
                .map(|(def, v)| (def.name.to_string(), json!(v)))
                .collect();
            (*id, Value::Object(object))
        })
        .collect();
    let now = now_micros();
    store
        .replace_customer_features(org, now, &rows)
        .await
        .map_err(&err)?;

    let personas = rfm::personas(&matrix);
    let assignments: Vec<(Uuid, String)> = input
        .customers
        .iter()
        .zip(&personas)
        .filter_map(|(id, p)| p.map(|p| (*id, p.key().to_string())))
        .collect();
    let transitions = store
        .record_personas(org, now, &assignments)
        .await
        .map_err(&err)?;

    let index: HashMap<Uuid, usize> = input
        .customers
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let mut alerts = 0;
    for t in &transitions {
        let (Some(from), Some(to)) = (
            t.from.as_deref().and_then(persona_from_key),
            persona_from_key(&t.to),
        ) else {
            continue;
        };
        if !rfm::is_worse(from, to) {
            continue;
        }
        let i = index.get(&t.customer_id).copied().unwrap_or(usize::MAX);
        let after = |f: Feature| matrix.value(i, f);
        let prev = before.get(&t.customer_id).copied().unwrap_or_default();
        let drop = from.health_rank() - to.health_rank();
        store
            .create_alert(
                org,
                NewAlert {
                    kind: PERSONA_DRIFT_ALERT.into(),
                    severity: if drop >= 5 { "critical" } else { "warning" }.into(),
                    customer_id: Some(t.customer_id),
                    title: format!("Customer moved from {from} to {to}"),
                    details: json!({
                        "from": from.key(),
                        "to": to.key(),
                        "from_name": from.display_name(),
                        "to_name": to.display_name(),
                        "health_rank_drop": drop,
                        "before": rfm_evidence(prev[0], prev[1], prev[2]),
                        "after": rfm_evidence(
                            after(Feature::RecencyDays),
                            after(Feature::OrderCount),
                            after(Feature::MonetaryTotal),
                        ),
                        "health_score": after(Feature::HealthScore).map(round2),
                        "recommended_action": to.recommended_action(),
                        "as_of": as_of,
                    }),
                },
            )
            .await
            .map_err(&err)?;
        alerts += 1;
    }

    let mut counts: BTreeMap<String, usize> = Persona::ALL
        .iter()
        .map(|p| (p.key().to_string(), 0))
        .collect();
    for p in personas.iter().flatten() {
        *counts.entry(p.key().to_string()).or_default() += 1;
    }
    Ok(FeaturesSummary {
        customers: input.customers.len(),
        scored: assignments.len(),
        as_of,
        personas: counts,
        transitions: transitions.len(),
        alerts,
    })
}

/// One scored customer of a churn run.
struct Scored {
    customer: Uuid,
    probabilities: [f64; 3],
    clv: Option<f64>,
    tier: RiskTier,
}

/// [`run_churn_with`] with the default [`ChurnOptions`] and no progress.
///
/// # Errors
/// As [`run_churn_with`].
pub async fn run_churn(store: &Store, org: Uuid) -> Result<ChurnSummary, IntelligenceError> {
    run_churn_with(store, org, &ChurnOptions::default(), &Progress::none()).await
}

/// Fits BG/NBD and Gamma-Gamma on `org`'s purchases, compares BG/NBD with
/// the DeepHit network on the organization's holdout and serves the better
/// one (see the module docs), stores a prediction per customer with a
/// purchase and horizon, and registers the run with both models' holdout
/// scores (and the served network's weights). Reports the network's epochs
/// to `progress` under [`CHURN_TRAINING_STAGE`].
///
/// # Errors
/// [`IntelligenceError::NotEnoughData`] with fewer than
/// [`MIN_CHURN_CUSTOMERS`] purchasers or [`MIN_REPEAT_CUSTOMERS`] repeat
/// purchasers; [`IntelligenceError::Model`] when BG/NBD does not fit on the
/// whole history; store errors. Too little data for the holdout, or a
/// network that cannot be trained, is not an error: BG/NBD is served and the
/// registry says why.
pub async fn run_churn_with(
    store: &Store,
    org: Uuid,
    options: &ChurnOptions,
    progress: &Progress,
) -> Result<ChurnSummary, IntelligenceError> {
    let err = store_err(org);
    let input = store.analytics_input(org).await.map_err(&err)?;
    let transactions: Vec<Transaction<u32>> = input
        .orders
        .iter()
        .filter(|o| is_purchase(o))
        .map(|o| Transaction {
            customer: o.customer,
            date: o.ordered_at.date_naive(),
            amount: o.amount,
        })
        .collect();
    let end: Option<NaiveDate> = transactions.iter().map(|t| t.date).max();
    let histories = match end {
        Some(end) => {
            summarize(&transactions, end, end).map_err(|source| IntelligenceError::Model {
                org,
                step: "summarize purchases",
                source,
            })?
        }
        None => Vec::new(),
    };
    let repeaters = histories.iter().filter(|h| h.summary.x > 0).count();
    if histories.len() < MIN_CHURN_CUSTOMERS || repeaters < MIN_REPEAT_CUSTOMERS {
        return Err(IntelligenceError::NotEnoughData {
            org,
            job: "churn",
            missing: format!(
                "the churn model needs at least {MIN_CHURN_CUSTOMERS} customers with a purchase \
                 and {MIN_REPEAT_CUSTOMERS} with a repeat purchase (on a later day); this \
                 organization has {} and {repeaters}",
                histories.len()
            ),
        });
    }
    let calibration_end = end.unwrap_or_default();
    let summaries: Vec<RepeatSummary> = histories.iter().map(|h| h.summary).collect();
    let customers: Vec<u32> = histories.iter().map(|h| h.customer).collect();
    let data = org_data(&input);
    let task_options = options.clone();
    let task_progress = progress.clone();
    let task = tokio::task::spawn_blocking(move || {
        let bg = BgNbd::fit_penalized(&summaries, BGNBD_PENALTY);
        let gg = GammaGamma::fit(&summaries);
        let purchases = churn::PurchaseData {
            data: &data,
            transactions: &transactions,
        };
        let comparison = churn::compare(&purchases, calibration_end, &task_options, &task_progress);
        let wanted = task_options
            .serve
            .or(comparison.as_ref().ok().map(|c| c.better))
            .unwrap_or(ServedModel::Bgnbd);
        let deephit = (wanted == ServedModel::Deephit).then(|| {
            churn::serve_deephit(
                &purchases,
                calibration_end,
                &customers,
                &CHURN_HORIZONS_DAYS,
                &task_options,
                &task_progress,
            )
            .and_then(|(trained, p)| {
                let (metrics, weights) = churn::deephit_metrics(&trained.model)?;
                Ok((trained, p, metrics, weights))
            })
        });
        (bg, gg, summaries, comparison, deephit)
    });
    let (bg, gg, summaries, comparison, deephit) =
        task.await.map_err(|e| IntelligenceError::Task {
            org,
            job: "churn",
            reason: e.to_string(),
        })?;
    let bg = bg.map_err(|source| IntelligenceError::Model {
        org,
        step: "fit BG/NBD",
        source,
    })?;
    // Without a Gamma-Gamma fit (or with an infinite mean spend) churn is
    // still scored, CLV is left out.
    let gg = gg.ok().filter(|g| g.mean_value().is_some());
    let params: BgNbdParams = bg.params();

    let (served_model, served_reason, deephit) = match (&comparison, deephit) {
        (_, Some(Ok(d))) => {
            let reason = match (&comparison, options.serve) {
                (Ok(c), None) => c.reason.clone(),
                (Ok(c), Some(_)) => format!(
                    "deephit is served because the options ask for it; {}",
                    c.reason
                ),
                (Err(why), _) => format!(
                    "deephit is served because the options ask for it, without a holdout comparison: {why}"
                ),
            };
            (ServedModel::Deephit, reason, Some(d))
        }
        (_, Some(Err(why))) => (
            ServedModel::Bgnbd,
            format!("bgnbd is served: DeepHit could not be trained on the whole history: {why}"),
            None,
        ),
        (Ok(c), None) => (ServedModel::Bgnbd, c.reason.clone(), None),
        (Err(why), None) => (
            ServedModel::Bgnbd,
            format!("bgnbd is served: no holdout comparison: {why}"),
            None,
        ),
    };

    let mut scored = Vec::with_capacity(histories.len());
    for (k, (h, s)) in histories.iter().zip(&summaries).enumerate() {
        let mut probabilities = [0.0; 3];
        match deephit.as_ref().and_then(|d| d.1.get(k)) {
            Some(p) => {
                for (out, v) in probabilities.iter_mut().zip(p) {
                    *out = *v;
                }
            }
            None => {
                for (p, days) in probabilities.iter_mut().zip(CHURN_HORIZONS_DAYS) {
                    *p = params
                        .prob_no_purchase(s, days as f64 / 7.0)
                        .map_err(|source| IntelligenceError::Model {
                            org,
                            step: "churn probability",
                            source,
                        })?
                        .clamp(0.0, 1.0);
                }
            }
        }
        let clv = gg.as_ref().and_then(|g| {
            customer_lifetime_value(&params, g, s, CLV_HORIZON_MONTHS, MONTHLY_DISCOUNT_RATE)
                .ok()
                .filter(|v| v.is_finite())
                .map(round2)
        });
        let Some(customer) = input.customers.get(h.customer as usize) else {
            continue;
        };
        scored.push(Scored {
            customer: *customer,
            probabilities,
            clv,
            tier: RiskTier::from_probability(probabilities[2]),
        });
    }

    let now = now_micros();
    let version = now.format("%Y%m%dT%H%M%S%.6fZ").to_string();
    let rows: Vec<NewChurnPrediction> = scored
        .iter()
        .flat_map(|s| {
            CHURN_HORIZONS_DAYS
                .iter()
                .zip(s.probabilities)
                .map(|(&h, p)| NewChurnPrediction {
                    customer_id: s.customer,
                    horizon_days: h,
                    probability: p,
                    clv: s.clv,
                    risk_tier: s.tier.as_str().to_string(),
                })
        })
        .collect();
    store
        .record_churn_predictions(org, &version, now, &rows)
        .await
        .map_err(&err)?;
    let (holdout, holdout_skipped) = match comparison {
        Ok(c) => (Some(c), None),
        Err(why) => (None, Some(why)),
    };
    let metrics = json!({
        "model": "churn: BG/NBD or DeepHit, whichever is better on the holdout; CLV: BG/NBD + Gamma-Gamma",
        "served_model": served_model.as_str(),
        "served_reason": served_reason,
        "holdout": holdout.as_ref().map_or_else(
            || json!({ "skipped": holdout_skipped }),
            |c| json!(c),
        ),
        "bgnbd": {
            "r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b,
            "log_likelihood": bg.log_likelihood,
            "iterations": bg.iterations,
            "customers": bg.customers,
            "penalty": BGNBD_PENALTY,
        },
        "gamma_gamma": gg.as_ref().map(|g| json!({
            "p": g.p, "q": g.q, "gamma": g.gamma,
            "log_likelihood": g.log_likelihood,
            "customers": g.customers,
        })),
        "deephit": deephit.as_ref().map(|(trained, _, saved, _)| {
            let mut m = saved.clone();
            if let Some(o) = m.as_object_mut() {
                o.insert("training_customers".into(), json!(trained.customers));
                o.insert("best_epoch".into(), json!(trained.best_epoch));
            }
            m
        }),
        "weights_stored": deephit.is_some(),
        "calibration_end": calibration_end,
        "time_unit": "weeks",
        "horizons_days": CHURN_HORIZONS_DAYS,
        "clv_horizon_months": CLV_HORIZON_MONTHS,
        "monthly_discount_rate": MONTHLY_DISCOUNT_RATE,
        "tier_thresholds_90d": {"very_high": 0.8, "high": 0.6, "medium": 0.4},
    });
    let model_id = store
        .register_model(Some(org), CHURN_MODEL, &version, metrics, None)
        .await
        .map_err(&err)?;
    if let Some((_, _, _, weights)) = &deephit {
        store
            .save_model_artifact(org, model_id, DEEPHIT_WEIGHTS_FORMAT, weights)
            .await
            .map_err(&err)?;
    }

    let mut tiers: BTreeMap<String, usize> = RiskTier::ALL
        .iter()
        .map(|t| (t.as_str().to_string(), 0))
        .collect();
    for s in &scored {
        *tiers.entry(s.tier.as_str().to_string()).or_default() += 1;
    }
    let clvs: Vec<f64> = scored.iter().filter_map(|s| s.clv).collect();
    Ok(ChurnSummary {
        customers: scored.len(),
        served_model,
        served_reason,
        holdout,
        holdout_skipped,
        tiers,
        model_version: version,
        log_likelihood: bg.log_likelihood,
        mean_clv: (!clvs.is_empty()).then(|| round2(clvs.iter().sum::<f64>() / clvs.len() as f64)),
    })
}

/// Runs the M1 and M6 jobs ([`JobKind::Features`], [`JobKind::Drift`],
/// [`JobKind::Churn`]) over the store.
///
/// `Features` also runs the fingerprint job ([`run_fingerprints`]) after
/// the personas, reported under `"fingerprints"` of its details (with
/// `{"skipped": reason}` when too few customers have events), so the
/// scheduler refreshes fingerprints and clusters with the features.
///
/// `Drift` is a re-check: it recomputes features and personas exactly as
/// `Features` does, so persona moves since the last run raise their alerts
/// on its daily schedule too. A job for every organization (`org = None`)
/// runs each in turn; organizations with too little data are reported in
/// the details (skipped), other errors fail the job.
#[derive(Debug, Clone)]
pub struct IntelligenceJobs {
    store: Store,
}

impl IntelligenceJobs {
    /// Job runner over `store`.
    pub fn new(store: Store) -> IntelligenceJobs {
        IntelligenceJobs { store }
    }

    async fn run_one(
        &self,
        kind: JobKind,
        org: Uuid,
        progress: &Progress,
    ) -> Result<Value, IntelligenceError> {
        match kind {
            JobKind::Churn => progress
                .stage(
                    CHURN_STAGE,
                    run_churn_with(&self.store, org, &ChurnOptions::default(), progress),
                )
                .await
                .map(|s| json!(s)),
            JobKind::Features => {
                let mut out = json!(
                    progress
                        .stage(FEATURES_STAGE, run_features(&self.store, org))
                        .await?
                );
                let fingerprints =
                    match fingerprints_after_features(&self.store, org, progress).await? {
                        Ok(s) => json!(s),
                        Err(reason) => json!({ "skipped": reason }),
                    };
                if let Some(o) = out.as_object_mut() {
                    o.insert("fingerprints".into(), fingerprints);
                }
                Ok(out)
            }
            _ => progress
                .stage(FEATURES_STAGE, run_features(&self.store, org))
                .await
                .map(|s| json!(s)),
        }
    }
}

#[async_trait]
impl JobRunner for IntelligenceJobs {
    async fn run(
        &self,
        kind: JobKind,
        org: Option<Uuid>,
        progress: Progress,
    ) -> Result<Value, JobFailure> {
        if !matches!(kind, JobKind::Features | JobKind::Drift | JobKind::Churn) {
            return Err(JobFailure {
                message: format!("the intelligence runner does not run {kind} jobs"),
            });
        }
        let fail = |e: IntelligenceError| JobFailure {
            message: e.to_string(),
        };
        if let Some(org) = org {
            return self.run_one(kind, org, &progress).await.map_err(fail);
        }
        let orgs = self
            .store
            .list_organizations()
            .await
            .map_err(|e| JobFailure {
                message: e.to_string(),
            })?;
        let mut done = serde_json::Map::new();
        let mut skipped = serde_json::Map::new();
        for o in orgs {
            match self.run_one(kind, o.id, &progress).await {
                Ok(v) => {
                    done.insert(o.slug, v);
                }
                Err(e @ IntelligenceError::NotEnoughData { .. }) => {
                    skipped.insert(o.slug, json!(e.to_string()));
                }
                Err(e) => return Err(fail(e)),
            }
        }
        Ok(json!({ "organizations": done, "skipped": skipped }))
    }
}

/// The runner for every M1/M6 job kind, as `(kind, runner)` pairs.
pub fn job_runners(store: Store) -> Vec<(JobKind, Arc<dyn JobRunner>)> {
    let runner: Arc<dyn JobRunner> = Arc::new(IntelligenceJobs::new(store));
    vec![
        (JobKind::Features, runner.clone()),
        (JobKind::Drift, runner.clone()),
        (JobKind::Churn, runner),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_follow_documented_thresholds() {
        assert_eq!(RiskTier::from_probability(0.95), RiskTier::VeryHigh);
        assert_eq!(RiskTier::from_probability(0.8), RiskTier::VeryHigh);
        assert_eq!(RiskTier::from_probability(0.79), RiskTier::High);
        assert_eq!(RiskTier::from_probability(0.6), RiskTier::High);
        assert_eq!(RiskTier::from_probability(0.5), RiskTier::Medium);
        assert_eq!(RiskTier::from_probability(0.39), RiskTier::Low);
        assert_eq!(RiskTier::from_probability(f64::NAN), RiskTier::Low);
        for t in RiskTier::ALL {
            assert_eq!(RiskTier::parse(t.as_str()), Some(t));
        }
        assert_eq!(
            RiskTier::VeryHigh.intervention(),
            "Immediate win-back offer"
        );
    }

    #[test]
    fn statuses_and_events_map() {
        assert_eq!(order_status(None), OrderStatus::Completed);
        assert_eq!(order_status(Some("Refunded")), OrderStatus::Refunded);
        assert_eq!(order_status(Some("canceled")), OrderStatus::Cancelled);
        assert_eq!(order_status(Some("weird")), OrderStatus::Other);
        assert_eq!(event_kind("email_open"), EventKind::Open);
        assert_eq!(event_kind("email_click"), EventKind::Click);
        assert_eq!(event_kind("email_sent"), EventKind::Sent);
        assert_eq!(event_kind("add_to_cart"), EventKind::CartAdd);
        assert_eq!(event_kind("cart_abandon"), EventKind::CartAbandon);
        assert_eq!(event_kind("site_visit"), EventKind::Visit);
        assert_eq!(event_kind("purchase"), EventKind::Conversion);
        for p in Persona::ALL {
            assert_eq!(persona_from_key(p.key()), Some(p));
        }
    }
}
