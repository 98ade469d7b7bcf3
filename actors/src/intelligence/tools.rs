//! The M1 and M6 tools, answered from what the intelligence jobs stored.
//! A tool whose job has not run yet fails with a message naming the job to
//! run; nothing is ever estimated on the spot.

use std::collections::HashMap;

use aima_models::rfm::Persona;
use aima_runtime::registry::{ToolContext, ToolError, ToolHandler};
use aima_runtime::store::{ChurnPrediction, RFM_SEGMENT_KIND, Store};
use aima_tools::Tool;
use aima_tools::modules::{
    AtRiskCustomer, AtRiskCustomers, AtRiskCustomersInput, AtRiskCustomersOutput,
    ChurnPredictionRow, ChurnPredictions, ChurnPredictionsInput, ChurnPredictionsOutput,
    ClvBySegment, ClvBySegmentOutput, DEFAULT_CHURN_LIMIT, DEFAULT_DRIFT_ALERTS_LIMIT,
    DEFAULT_SEGMENT_MEMBERS_LIMIT, DEFAULT_SIMILAR_LIMIT, DriftAlert, DriftAlerts,
    DriftAlertsInput, DriftAlertsOutput, MostValuableCustomers, MostValuableCustomersInput,
    MostValuableCustomersOutput, PersonaSegment, RfmEvidence, RunSegmentation,
    RunSegmentationOutput, SegmentClv, SegmentCount, SegmentMemberRow, SegmentMembers,
    SegmentMembersInput, SegmentMembersOutput, SegmentsOverview, SegmentsOverviewOutput,
    SimilarCustomers, SimilarCustomersInput, SimilarCustomersOutput, ValuableCustomer,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::fingerprints::{latest_clusters, similar_customers};
use super::{PERSONA_DRIFT_ALERT, RiskTier, persona_from_key, round2, run_features};
use crate::data::{failed, parse, render};

/// Answers the M1 tools (`segments_overview`, `segment_members`,
/// `run_segmentation`, `drift_alerts`, `similar_customers`) and the M6 tools
/// (`churn_predictions`, `at_risk_customers`, `most_valuable_customers`,
/// `clv_by_segment`) from the
/// store, scoped by the calling organization.
#[derive(Debug, Clone)]
pub struct IntelligenceTools {
    store: Store,
}

impl IntelligenceTools {
    /// Tools over `store`.
    pub fn new(store: Store) -> IntelligenceTools {
        IntelligenceTools { store }
    }
}

/// The persona a user's segment name means: a key (`cant_lose_them`) or a
/// display name in any case ("Can't Lose Them", "at risk").
pub fn persona_named(name: &str) -> Option<Persona> {
    let mut key = String::new();
    for ch in name.trim().to_lowercase().chars() {
        if ch.is_alphanumeric() {
            key.push(ch);
        } else if ch == '\'' || ch == '\u{2019}' {
            continue;
        } else if !key.ends_with('_') && !key.is_empty() {
            key.push('_');
        }
    }
    let key = key.trim_end_matches('_');
    persona_from_key(key).or(match key {
        "champion" => Some(Persona::Champions),
        "loyal" | "loyal_customer" | "loyalists" => Some(Persona::LoyalCustomers),
        "potential_loyalist" => Some(Persona::PotentialLoyalists),
        "new" | "new_customer" => Some(Persona::NewCustomers),
        "at_risk_customers" => Some(Persona::AtRisk),
        "cant_lose" | "can_t_lose_them" => Some(Persona::CantLoseThem),
        _ => None,
    })
}

fn unknown_segment(tool: &str, field: &str, name: &str) -> ToolError {
    ToolError::InvalidArguments {
        tool: tool.to_string(),
        field: field.to_string(),
        expected: format!(
            "a persona segment name, not {name:?}: one of {}",
            Persona::ALL.map(|p| p.display_name()).join(", ")
        ),
    }
}

fn no_segments(tool: &str) -> ToolError {
    ToolError::Failed {
        tool: tool.to_string(),
        message: "no customer segments yet: the segmentation (features job) has not run for this \
                  organization; run the run_segmentation tool or trigger the `features` job \
                  first"
            .to_string(),
    }
}

fn no_churn(tool: &str) -> ToolError {
    ToolError::Failed {
        tool: tool.to_string(),
        message: "no churn predictions yet: the churn job has not run for this organization; \
                  trigger the `churn` job (after the segmentation) first"
            .to_string(),
    }
}

/// One customer's latest predictions, by horizon.
#[derive(Default)]
struct CustomerRisk {
    by_horizon: HashMap<i64, f64>,
    clv: Option<f64>,
    tier: String,
}

fn by_customer(rows: &[ChurnPrediction]) -> HashMap<Uuid, CustomerRisk> {
    let mut out: HashMap<Uuid, CustomerRisk> = HashMap::new();
    for r in rows {
        let e = out.entry(r.customer_id).or_default();
        e.by_horizon.insert(r.horizon_days, r.probability);
        e.clv = r.clv;
        e.tier = r.risk_tier.clone();
    }
    out
}

/// What [`IntelligenceTools::scores`] reads for the M6 tools.
struct Scores {
    risks: HashMap<Uuid, CustomerRisk>,
    /// Persona key by customer.
    personas: HashMap<Uuid, String>,
    predicted_at: DateTime<Utc>,
    model_version: String,
    /// `deephit` or `bgnbd`.
    model: String,
}

impl Scores {
    /// Whether `customer` is in persona `segment` (any customer when
    /// `None`).
    fn in_segment(&self, customer: &Uuid, segment: Option<Persona>) -> bool {
        segment.is_none_or(|p| self.personas.get(customer).map(String::as_str) == Some(p.key()))
    }
}

/// The persona a tool's optional `segment` argument names (`None` when
/// absent or blank); an unknown name is an invalid argument.
fn segment_arg(tool: &'static str, segment: Option<&str>) -> Result<Option<Persona>, ToolError> {
    match segment.filter(|s| !s.trim().is_empty()) {
        Some(s) => Ok(Some(
            persona_named(s).ok_or_else(|| unknown_segment(tool, "/segment", s))?,
        )),
        None => Ok(None),
    }
}

/// `rows` (customer, scores, value) by value, highest first (ties by
/// customer id), cut to `limit` (default [`DEFAULT_CHURN_LIMIT`], 1 to
/// 100).
fn top_by_value(
    mut rows: Vec<(Uuid, &CustomerRisk, f64)>,
    limit: Option<u32>,
) -> Vec<(Uuid, &CustomerRisk, f64)> {
    rows.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    rows.truncate(limit.unwrap_or(DEFAULT_CHURN_LIMIT).clamp(1, 100) as usize);
    rows
}

fn intervention(tier: &str) -> String {
    RiskTier::parse(tier)
        .map(RiskTier::intervention)
        .unwrap_or("Review manually")
        .to_string()
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| round2(xs.iter().sum::<f64>() / xs.len() as f64))
}

impl IntelligenceTools {
    async fn names(
        &self,
        org: Uuid,
        ids: &[Uuid],
    ) -> HashMap<Uuid, (Option<String>, Option<String>)> {
        let mut out = HashMap::new();
        for id in ids {
            if let Ok(Some(c)) = self.store.get_customer(org, *id).await {
                out.insert(*id, (c.full_name.clone(), c.email.clone()));
            }
        }
        out
    }

    async fn segments_overview(&self, org: Uuid) -> Result<SegmentsOverviewOutput, ToolError> {
        let tool = SegmentsOverview::NAME;
        let sizes = self
            .store
            .segment_sizes(org, RFM_SEGMENT_KIND)
            .await
            .map_err(failed(tool))?;
        if sizes.is_empty() {
            return Err(no_segments(tool));
        }
        let assignments = self
            .store
            .segment_assignments(org, RFM_SEGMENT_KIND)
            .await
            .map_err(failed(tool))?;
        let health: HashMap<Uuid, f64> = self
            .store
            .feature_column(org, "health_score")
            .await
            .map_err(failed(tool))?
            .into_iter()
            .collect();
        let risks = by_customer(
            &self
                .store
                .latest_churn_predictions(org)
                .await
                .map_err(failed(tool))?,
        );
        let mut members: HashMap<&str, (Vec<f64>, Vec<f64>)> = HashMap::new();
        for (c, seg) in &assignments {
            let e = members.entry(seg.as_str()).or_default();
            if let Some(h) = health.get(c) {
                e.0.push(*h);
            }
            if let Some(v) = risks.get(c).and_then(|r| r.clv) {
                e.1.push(v);
            }
        }
        let total = assignments.len() as u64;
        let mut computed_at = None;
        if let Some((c, _)) = assignments.first() {
            computed_at = self
                .store
                .customer_features(org, *c)
                .await
                .map_err(failed(tool))?
                .map(|(at, _)| at);
        }
        let segments = sizes
            .into_iter()
            .filter_map(|(key, n)| {
                let p = persona_from_key(&key)?;
                let n = u64::try_from(n).unwrap_or(0);
                let (h, v) = members.get(key.as_str()).cloned().unwrap_or_default();
                Some(PersonaSegment {
                    segment: key,
                    name: p.display_name().to_string(),
                    customers: n,
                    share: if total > 0 {
                        (n as f64 / total as f64 * 10_000.0).round() / 10_000.0
                    } else {
                        0.0
                    },
                    mean_clv: mean(&v),
                    mean_health_score: mean(&h),
                    description: p.description().to_string(),
                    recommended_action: p.recommended_action().to_string(),
                })
            })
            .collect();
        let fingerprint_clusters = latest_clusters(&self.store, org)
            .await
            .map_err(failed(tool))?;
        Ok(SegmentsOverviewOutput {
            customers_with_persona: total,
            computed_at,
            segments,
            fingerprint_clusters,
        })
    }

    /// The customer `reference` names: id, then e-mail, then a unique full
    /// name.
    async fn resolve(
        &self,
        tool: &'static str,
        org: Uuid,
        reference: &str,
    ) -> Result<aima_runtime::store::Customer, ToolError> {
        let reference = reference.trim();
        if let Ok(id) = Uuid::parse_str(reference)
            && let Some(c) = self
                .store
                .get_customer(org, id)
                .await
                .map_err(failed(tool))?
        {
            return Ok(c);
        }
        if let Some(c) = self
            .store
            .customer_by_email(org, reference)
            .await
            .map_err(failed(tool))?
        {
            return Ok(c);
        }
        let mut named = self
            .store
            .customers_by_name(org, reference)
            .await
            .map_err(failed(tool))?;
        match named.len() {
            1 => named.pop().ok_or_else(|| ToolError::Failed {
                tool: tool.to_string(),
                message: format!("no customer {reference:?}"),
            }),
            0 => Err(ToolError::Failed {
                tool: tool.to_string(),
                message: format!(
                    "no customer with id, e-mail or name {reference:?} in this organization"
                ),
            }),
            n => Err(ToolError::Failed {
                tool: tool.to_string(),
                message: format!(
                    "{n} customers are named {reference:?}; ask again with one of their e-mails                      or ids: {}",
                    named
                        .iter()
                        .take(10)
                        .map(|c| c.email.clone().unwrap_or_else(|| c.id.to_string()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }

    async fn similar(
        &self,
        org: Uuid,
        input: SimilarCustomersInput,
    ) -> Result<SimilarCustomersOutput, ToolError> {
        let tool = SimilarCustomers::NAME;
        let customer = self.resolve(tool, org, &input.customer).await?;
        let segment = match input.segment.as_deref() {
            Some(name) => Some(
                persona_named(name)
                    .ok_or_else(|| unknown_segment(tool, "/segment", name))?
                    .key()
                    .to_string(),
            ),
            None => None,
        };
        if self
            .store
            .latest_model(Some(org), super::FINGERPRINT_MODEL)
            .await
            .map_err(failed(tool))?
            .is_none()
        {
            return Err(ToolError::Failed {
                tool: tool.to_string(),
                message: "no behavioural fingerprints yet: the fingerprint step of the `features` \
                          job has not run for this organization (it needs at least 50 customers \
                          with orders or events); trigger the `features` job first"
                    .to_string(),
            });
        }
        let limit = input.limit.unwrap_or(DEFAULT_SIMILAR_LIMIT).clamp(1, 100) as usize;
        let filter = aima_runtime::store::NeighbourFilter {
            segment,
            cluster: None,
        };
        let Some(found) = similar_customers(&self.store, org, customer.id, limit, &filter)
            .await
            .map_err(failed(tool))?
        else {
            return Err(ToolError::Failed {
                tool: tool.to_string(),
                message: format!(
                    "customer {} has no fingerprint: they had no orders or events when the                      fingerprints were last computed",
                    customer.email.as_deref().unwrap_or(&input.customer)
                ),
            });
        };
        Ok(SimilarCustomersOutput {
            customer_id: customer.id,
            name: customer.full_name,
            cluster: found.own.cluster,
            cluster_name: found.cluster_name,
            model_version: found.own.model_version,
            computed_at: found.own.computed_at,
            customers: found.rows,
        })
    }

    async fn segment_members(
        &self,
        org: Uuid,
        input: SegmentMembersInput,
    ) -> Result<SegmentMembersOutput, ToolError> {
        let tool = SegmentMembers::NAME;
        let persona = persona_named(&input.segment)
            .ok_or_else(|| unknown_segment(tool, "/segment", &input.segment))?;
        let sizes = self
            .store
            .segment_sizes(org, RFM_SEGMENT_KIND)
            .await
            .map_err(failed(tool))?;
        if sizes.is_empty() {
            return Err(no_segments(tool));
        }
        let total = sizes
            .iter()
            .find(|(k, _)| k == persona.key())
            .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0));
        let limit = input
            .limit
            .unwrap_or(DEFAULT_SEGMENT_MEMBERS_LIMIT)
            .clamp(1, 200);
        let rows = self
            .store
            .segment_members(org, RFM_SEGMENT_KIND, persona.key(), limit)
            .await
            .map_err(failed(tool))?;
        let mut customers = Vec::with_capacity(rows.len());
        for m in rows {
            let health = self
                .store
                .customer_features(org, m.customer_id)
                .await
                .map_err(failed(tool))?
                .and_then(|(_, f)| f.get("health_score").and_then(Value::as_f64))
                .map(round2);
            customers.push(SegmentMemberRow {
                customer_id: m.customer_id,
                name: m.full_name,
                email: m.email,
                joined_at: m.joined_at,
                health_score: health,
            });
        }
        Ok(SegmentMembersOutput {
            segment: persona.key().to_string(),
            name: persona.display_name().to_string(),
            total,
            customers,
        })
    }

    async fn run_segmentation(&self, org: Uuid) -> Result<RunSegmentationOutput, ToolError> {
        let s = run_features(&self.store, org)
            .await
            .map_err(|e| ToolError::Failed {
                tool: RunSegmentation::NAME.to_string(),
                message: e.to_string(),
            })?;
        let mut segments: Vec<SegmentCount> = s
            .personas
            .iter()
            .map(|(k, n)| SegmentCount {
                segment: k.clone(),
                customers: *n as u64,
            })
            .collect();
        segments.sort_by(|a, b| {
            b.customers
                .cmp(&a.customers)
                .then(a.segment.cmp(&b.segment))
        });
        Ok(RunSegmentationOutput {
            customers: s.customers as u64,
            scored: s.scored as u64,
            as_of: s.as_of,
            segments,
            transitions: s.transitions as u64,
            alerts: s.alerts as u64,
        })
    }

    async fn drift_alerts(
        &self,
        org: Uuid,
        input: DriftAlertsInput,
    ) -> Result<DriftAlertsOutput, ToolError> {
        let tool = DriftAlerts::NAME;
        let limit = input
            .limit
            .unwrap_or(DEFAULT_DRIFT_ALERTS_LIMIT)
            .clamp(1, 200);
        let since = input
            .since
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc());
        let rows = self
            .store
            .list_alerts_of_kind(org, PERSONA_DRIFT_ALERT, since, limit)
            .await
            .map_err(failed(tool))?;
        if rows.is_empty()
            && self
                .store
                .segment_sizes(org, RFM_SEGMENT_KIND)
                .await
                .map_err(failed(tool))?
                .is_empty()
        {
            return Err(no_segments(tool));
        }
        let ids: Vec<Uuid> = rows.iter().filter_map(|a| a.customer_id).collect();
        let names = self.names(org, &ids).await;
        let evidence = |v: &Value| RfmEvidence {
            recency_days: v.get("recency_days").and_then(Value::as_f64),
            order_count: v.get("order_count").and_then(Value::as_f64),
            monetary_total: v.get("monetary_total").and_then(Value::as_f64),
        };
        let text = |v: &Value, k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Ok(DriftAlertsOutput {
            alerts: rows
                .into_iter()
                .map(|a| DriftAlert {
                    customer_id: a.customer_id,
                    name: a
                        .customer_id
                        .and_then(|c| names.get(&c))
                        .and_then(|n| n.0.clone()),
                    from: text(&a.details, "from"),
                    to: text(&a.details, "to"),
                    severity: a.severity,
                    title: a.title,
                    before: evidence(a.details.get("before").unwrap_or(&Value::Null)),
                    after: evidence(a.details.get("after").unwrap_or(&Value::Null)),
                    recommended_action: text(&a.details, "recommended_action"),
                    created_at: a.created_at,
                })
                .collect(),
        })
    }

    /// The latest churn and CLV scores of `org` with every customer's
    /// persona and the model that made them; [`no_churn`] when the churn
    /// job has not run.
    async fn scores(&self, org: Uuid, tool: &'static str) -> Result<Scores, ToolError> {
        let rows = self
            .store
            .latest_churn_predictions(org)
            .await
            .map_err(failed(tool))?;
        let Some(first) = rows.first() else {
            return Err(no_churn(tool));
        };
        let (predicted_at, model_version) = (first.predicted_at, first.model_version.clone());
        let model = self.served_model(org, &model_version, tool).await?;
        let personas = self
            .store
            .segment_assignments(org, RFM_SEGMENT_KIND)
            .await
            .map_err(failed(tool))?
            .into_iter()
            .collect();
        Ok(Scores {
            risks: by_customer(&rows),
            personas,
            predicted_at,
            model_version,
            model,
        })
    }

    /// The model that made the predictions of `version` (`deephit` or
    /// `bgnbd`), from the churn run's registry entry; runs registered before
    /// the holdout comparison existed served BG/NBD.
    async fn served_model(
        &self,
        org: Uuid,
        version: &str,
        tool: &'static str,
    ) -> Result<String, ToolError> {
        let latest = self
            .store
            .latest_model(Some(org), super::CHURN_MODEL)
            .await
            .map_err(failed(tool))?;
        Ok(latest
            .filter(|m| m.version == version)
            .and_then(|m| {
                m.metrics
                    .get("served_model")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| super::ServedModel::Bgnbd.as_str().to_string()))
    }

    async fn churn_predictions(
        &self,
        org: Uuid,
        input: ChurnPredictionsInput,
    ) -> Result<ChurnPredictionsOutput, ToolError> {
        let tool = ChurnPredictions::NAME;
        let horizon = input.horizon.unwrap_or(90);
        if ![30, 60, 90].contains(&horizon) {
            return Err(ToolError::InvalidArguments {
                tool: tool.to_string(),
                field: "/horizon".to_string(),
                expected: format!("30, 60 or 90 (days), not {horizon}"),
            });
        }
        let segment = segment_arg(tool, input.segment.as_deref())?;
        let scores = self.scores(org, tool).await?;
        let matching: Vec<(Uuid, &CustomerRisk, f64)> = scores
            .risks
            .iter()
            .filter(|(_, r)| input.tier.is_none_or(|t| r.tier == t.as_str()))
            .filter(|(c, _)| scores.in_segment(c, segment))
            .filter_map(|(c, r)| r.by_horizon.get(&i64::from(horizon)).map(|p| (*c, r, *p)))
            .collect();
        let total = matching.len();
        let top = top_by_value(matching, input.limit);
        let names = self
            .names(org, &top.iter().map(|m| m.0).collect::<Vec<_>>())
            .await;
        let customers = top
            .iter()
            .map(|(c, r, p)| ChurnPredictionRow {
                customer_id: *c,
                name: names.get(c).and_then(|n| n.0.clone()),
                probability: round4(*p),
                probability_90d: round4(r.by_horizon.get(&90).copied().unwrap_or(*p)),
                clv: r.clv,
                risk_tier: r.tier.clone(),
                intervention: intervention(&r.tier),
                segment: scores.personas.get(c).cloned(),
            })
            .collect();
        Ok(ChurnPredictionsOutput {
            horizon_days: horizon,
            predicted_at: scores.predicted_at,
            model_version: scores.model_version,
            model: scores.model,
            matching: total as u64,
            customers,
        })
    }

    async fn at_risk_customers(
        &self,
        org: Uuid,
        input: AtRiskCustomersInput,
    ) -> Result<AtRiskCustomersOutput, ToolError> {
        let tool = AtRiskCustomers::NAME;
        let scores = self.scores(org, tool).await?;
        let spend: HashMap<Uuid, f64> = self
            .store
            .feature_column(org, "monetary_total")
            .await
            .map_err(failed(tool))?
            .into_iter()
            .collect();
        let mut spends: Vec<f64> = scores
            .risks
            .keys()
            .filter_map(|c| spend.get(c).copied())
            .collect();
        if spends.is_empty() {
            return Err(no_segments(tool));
        }
        spends.sort_by(f64::total_cmp);
        let median = spends[spends.len() / 2];
        let mut at_risk: Vec<(Uuid, &CustomerRisk, f64, f64)> = scores
            .risks
            .iter()
            .filter(|(_, r)| RiskTier::parse(&r.tier).is_some_and(|t| t != RiskTier::Low))
            .filter_map(|(c, r)| {
                let m = *spend.get(c)?;
                let p = *r.by_horizon.get(&90)?;
                (m >= median).then_some((*c, r, p, m))
            })
            .collect();
        at_risk.sort_by(|a, b| {
            b.2.total_cmp(&a.2)
                .then(b.3.total_cmp(&a.3))
                .then(a.0.cmp(&b.0))
        });
        let limit = input.limit.unwrap_or(DEFAULT_CHURN_LIMIT).clamp(1, 100) as usize;
        let shown: Vec<Uuid> = at_risk.iter().take(limit).map(|m| m.0).collect();
        let names = self.names(org, &shown).await;
        Ok(AtRiskCustomersOutput {
            valuable_min_spend: round2(median),
            at_risk: at_risk.len() as u64,
            customers: at_risk
                .iter()
                .take(limit)
                .map(|(c, r, p, m)| AtRiskCustomer {
                    customer_id: *c,
                    name: names.get(c).and_then(|n| n.0.clone()),
                    email: names.get(c).and_then(|n| n.1.clone()),
                    churn_probability_90d: round4(*p),
                    monetary_total: round2(*m),
                    clv: r.clv,
                    risk_tier: r.tier.clone(),
                    intervention: intervention(&r.tier),
                    segment: scores.personas.get(c).cloned(),
                })
                .collect(),
            predicted_at: scores.predicted_at,
            model: scores.model,
        })
    }

    async fn most_valuable_customers(
        &self,
        org: Uuid,
        input: MostValuableCustomersInput,
    ) -> Result<MostValuableCustomersOutput, ToolError> {
        let tool = MostValuableCustomers::NAME;
        let segment = segment_arg(tool, input.segment.as_deref())?;
        let scores = self.scores(org, tool).await?;
        let valued: Vec<(Uuid, &CustomerRisk, f64)> = scores
            .risks
            .iter()
            .filter(|(c, _)| scores.in_segment(c, segment))
            .filter_map(|(c, r)| r.clv.map(|v| (*c, r, v)))
            .collect();
        let (total, total_clv) = (valued.len(), valued.iter().map(|v| v.2).sum());
        let top = top_by_value(valued, input.limit);
        let names = self
            .names(org, &top.iter().map(|m| m.0).collect::<Vec<_>>())
            .await;
        Ok(MostValuableCustomersOutput {
            matching: total as u64,
            total_clv: round2(total_clv),
            customers: top
                .iter()
                .map(|(c, r, v)| ValuableCustomer {
                    customer_id: *c,
                    name: names.get(c).and_then(|n| n.0.clone()),
                    email: names.get(c).and_then(|n| n.1.clone()),
                    clv: *v,
                    churn_probability_90d: round4(r.by_horizon.get(&90).copied().unwrap_or(0.0)),
                    risk_tier: r.tier.clone(),
                    intervention: intervention(&r.tier),
                    segment: scores.personas.get(c).cloned(),
                })
                .collect(),
            predicted_at: scores.predicted_at,
            model: scores.model,
        })
    }

    async fn clv_by_segment(&self, org: Uuid) -> Result<ClvBySegmentOutput, ToolError> {
        let tool = ClvBySegment::NAME;
        let scores = self.scores(org, tool).await?;
        let mut groups: HashMap<String, (Vec<f64>, Vec<f64>, u64)> = HashMap::new();
        for (c, r) in &scores.risks {
            let key = scores
                .personas
                .get(c)
                .cloned()
                .unwrap_or_else(|| "unsegmented".to_string());
            let g = groups.entry(key).or_default();
            g.2 += 1;
            if let Some(v) = r.clv {
                g.0.push(v);
            }
            if let Some(p) = r.by_horizon.get(&90) {
                g.1.push(*p);
            }
        }
        let mut segments: Vec<SegmentClv> = groups
            .into_iter()
            .map(|(segment, (clv, churn, n))| SegmentClv {
                segment,
                customers: n,
                total_clv: (!clv.is_empty()).then(|| round2(clv.iter().sum())),
                mean_clv: mean(&clv),
                mean_churn_90d: round4(churn.iter().sum::<f64>() / churn.len().max(1) as f64),
            })
            .collect();
        segments.sort_by(|a, b| {
            b.total_clv
                .unwrap_or(0.0)
                .total_cmp(&a.total_clv.unwrap_or(0.0))
                .then(a.segment.cmp(&b.segment))
        });
        Ok(ClvBySegmentOutput {
            segments,
            predicted_at: scores.predicted_at,
        })
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[async_trait]
impl ToolHandler for IntelligenceTools {
    async fn call(&self, ctx: &ToolContext, name: &str, args: Value) -> Result<Value, ToolError> {
        let org = ctx.organization_id;
        match name {
            SegmentsOverview::NAME => {
                parse::<SegmentsOverview>(args)?;
                render::<SegmentsOverview>(self.segments_overview(org).await?)
            }
            SegmentMembers::NAME => {
                let input = parse::<SegmentMembers>(args)?;
                render::<SegmentMembers>(self.segment_members(org, input).await?)
            }
            RunSegmentation::NAME => {
                parse::<RunSegmentation>(args)?;
                render::<RunSegmentation>(self.run_segmentation(org).await?)
            }
            DriftAlerts::NAME => {
                let input = parse::<DriftAlerts>(args)?;
                render::<DriftAlerts>(self.drift_alerts(org, input).await?)
            }
            ChurnPredictions::NAME => {
                let input = parse::<ChurnPredictions>(args)?;
                render::<ChurnPredictions>(self.churn_predictions(org, input).await?)
            }
            AtRiskCustomers::NAME => {
                let input = parse::<AtRiskCustomers>(args)?;
                render::<AtRiskCustomers>(self.at_risk_customers(org, input).await?)
            }
            MostValuableCustomers::NAME => {
                let input = parse::<MostValuableCustomers>(args)?;
                render::<MostValuableCustomers>(self.most_valuable_customers(org, input).await?)
            }
            ClvBySegment::NAME => {
                parse::<ClvBySegment>(args)?;
                render::<ClvBySegment>(self.clv_by_segment(org).await?)
            }
            SimilarCustomers::NAME => {
                let input = parse::<SimilarCustomers>(args)?;
                render::<SimilarCustomers>(self.similar(org, input).await?)
            }
            other => Err(ToolError::UnknownTool {
                name: other.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_resolve() {
        assert_eq!(
            persona_named("Can't Lose Them"),
            Some(Persona::CantLoseThem)
        );
        assert_eq!(persona_named("cant_lose_them"), Some(Persona::CantLoseThem));
        assert_eq!(persona_named("At Risk"), Some(Persona::AtRisk));
        assert_eq!(persona_named(" champions "), Some(Persona::Champions));
        assert_eq!(
            persona_named("Loyal Customers"),
            Some(Persona::LoyalCustomers)
        );
        assert_eq!(persona_named("About to Sleep"), Some(Persona::AboutToSleep));
        assert_eq!(persona_named("vip"), None);
    }
}
