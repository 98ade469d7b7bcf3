//! The benchmark's own answers: facts computed from a [`World`]'s raw data
//! and ground truth alone, never by calling AIMA's code.
//!
//! A task names a fact as a JSON object, e.g.
//! `{"fact": "revenue", "period": "2026-05"}` or
//! `{"fact": "customer_count", "city": "Austin"}`; [`Fact::eval`] computes
//! it. Periods are `YYYY` or `YYYY-MM`, or `start`/`end` dates (inclusive,
//! UTC). Customers are named by id (`C00017`), e-mail or full name.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::EvalError;
use crate::world::{Customer, World};

/// A fact's value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FactValue {
    /// A number.
    Number(f64),
    /// A set of customer e-mails or product names.
    Set(Vec<String>),
    /// A piece of text.
    Text(String),
}

/// A date range: `period` (`YYYY` or `YYYY-MM`) or `start`/`end`
/// (inclusive; either open).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// `YYYY` or `YYYY-MM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// First day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<NaiveDate>,
    /// Last day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<NaiveDate>,
}

impl Range {
    /// The inclusive day bounds (`None`: open).
    ///
    /// # Errors
    /// [`EvalError::Fact`] for a malformed `period`.
    pub fn bounds(&self) -> Result<(Option<NaiveDate>, Option<NaiveDate>), EvalError> {
        let Some(p) = &self.period else {
            return Ok((self.start, self.end));
        };
        let bad = || EvalError::Fact {
            fact: "period".into(),
            message: format!("'{p}' is not YYYY or YYYY-MM"),
        };
        let mut parts = p.split('-');
        let year: i32 = parts.next().and_then(|y| y.parse().ok()).ok_or_else(bad)?;
        match parts.next() {
            None => Ok((
                NaiveDate::from_ymd_opt(year, 1, 1),
                NaiveDate::from_ymd_opt(year, 12, 31),
            )),
            Some(m) => {
                let month: u32 = m.parse().map_err(|_| bad())?;
                let first = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
                let next = first
                    .checked_add_months(chrono::Months::new(1))
                    .ok_or_else(bad)?;
                Ok((Some(first), next.pred_opt()))
            }
        }
    }

    fn contains(bounds: (Option<NaiveDate>, Option<NaiveDate>), d: NaiveDate) -> bool {
        bounds.0.is_none_or(|s| d >= s) && bounds.1.is_none_or(|e| d <= e)
    }
}

/// Ranking of products.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    /// By revenue (quantity × unit price).
    #[default]
    Revenue,
    /// By units sold.
    Quantity,
}

/// A fact a task's expectation can name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum Fact {
    /// Customers (optionally in a country / city, signed up in a range).
    CustomerCount {
        /// ISO code (or exact stored value).
        #[serde(default)]
        country: Option<String>,
        /// City.
        #[serde(default)]
        city: Option<String>,
        /// First signup day.
        #[serde(default)]
        created_from: Option<NaiveDate>,
        /// Last signup day.
        #[serde(default)]
        created_to: Option<NaiveDate>,
    },
    /// Sum of order amounts in a range.
    Revenue(Range),
    /// Orders in a range.
    OrderCount(Range),
    /// Product names, best first, by revenue or units in a range.
    TopProducts {
        /// The range.
        #[serde(flatten)]
        range: Range,
        /// Ranking.
        #[serde(default)]
        by: By,
        /// How many.
        n: usize,
    },
    /// The name of the product at `rank` (1 = best).
    TopProduct {
        /// The range.
        #[serde(flatten)]
        range: Range,
        /// Ranking.
        #[serde(default)]
        by: By,
        /// 1-based rank.
        #[serde(default = "one")]
        rank: usize,
    },
    /// A customer's number of orders.
    CustomerOrders {
        /// Id, e-mail or full name.
        customer: String,
    },
    /// A customer's total spend.
    CustomerSpend {
        /// Id, e-mail or full name.
        customer: String,
    },
    /// A customer's field: `email`, `name`, `city`, `country`, `phone`.
    CustomerField {
        /// Id, e-mail or full name.
        customer: String,
        /// The field.
        field: String,
    },
    /// Customers whose name, e-mail, phone or city contains `query`
    /// (case-insensitive).
    SearchCount {
        /// The piece of text.
        query: String,
    },
    /// Orders in the world's (only) import.
    ImportedOrders,
    /// Customers (e-mails) truly dropped by today.
    DroppedCustomers,
    /// Customers (e-mails) dropped or with a true 90-day churn probability
    /// at or above `min_churn_90d`.
    ChurningCustomers {
        /// The threshold (0..1).
        min_churn_90d: f64,
    },
    /// Customers (e-mails) truly alive at today.
    AliveCustomers,
    /// Share (0..1) of customers truly dropped by today.
    DroppedShare,
    /// Customers (e-mails) with the `n` highest true 12-month CLVs.
    TopTrueClv {
        /// How many.
        n: usize,
    },
}

/// The keys fact `name` takes beside `fact` (`None`: no such fact). Task
/// files are checked against it, so a misspelt key is an error rather than
/// a silently wider range.
pub fn fact_keys(name: &str) -> Option<&'static [&'static str]> {
    const RANGE: &[&str] = &["period", "start", "end"];
    Some(match name {
        "customer_count" => &["country", "city", "created_from", "created_to"],
        "revenue" | "order_count" => RANGE,
        "top_products" => &["period", "start", "end", "by", "n"],
        "top_product" => &["period", "start", "end", "by", "rank"],
        "customer_orders" | "customer_spend" => &["customer"],
        "customer_field" => &["customer", "field"],
        "search_count" => &["query"],
        "churning_customers" => &["min_churn_90d"],
        "top_true_clv" => &["n"],
        "imported_orders" | "dropped_customers" | "alive_customers" | "dropped_share" => &[],
        _ => return None,
    })
}

fn one() -> usize {
    1
}

fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

impl Fact {
    /// The fact's name (its `fact` tag).
    pub fn name(&self) -> &'static str {
        match self {
            Fact::CustomerCount { .. } => "customer_count",
            Fact::Revenue(_) => "revenue",
            Fact::OrderCount(_) => "order_count",
            Fact::TopProducts { .. } => "top_products",
            Fact::TopProduct { .. } => "top_product",
            Fact::CustomerOrders { .. } => "customer_orders",
            Fact::CustomerSpend { .. } => "customer_spend",
            Fact::CustomerField { .. } => "customer_field",
            Fact::SearchCount { .. } => "search_count",
            Fact::ImportedOrders => "imported_orders",
            Fact::DroppedCustomers => "dropped_customers",
            Fact::ChurningCustomers { .. } => "churning_customers",
            Fact::AliveCustomers => "alive_customers",
            Fact::DroppedShare => "dropped_share",
            Fact::TopTrueClv { .. } => "top_true_clv",
        }
    }

    fn err(&self, message: impl Into<String>) -> EvalError {
        EvalError::Fact {
            fact: self.name().into(),
            message: message.into(),
        }
    }

    fn customer<'w>(&self, world: &'w World, key: &str) -> Result<&'w Customer, EvalError> {
        world
            .customer(key)
            .ok_or_else(|| self.err(format!("no customer '{key}' in the world")))
    }

    /// Computes the fact on `world`.
    ///
    /// # Errors
    /// [`EvalError::Fact`] for an unknown customer or product rank, or a
    /// malformed period.
    pub fn eval(&self, world: &World) -> Result<FactValue, EvalError> {
        Ok(match self {
            Fact::CustomerCount {
                country,
                city,
                created_from,
                created_to,
            } => {
                let n = world
                    .customers
                    .iter()
                    .filter(|c| {
                        country
                            .as_deref()
                            .is_none_or(|x| norm(x) == norm(&c.country))
                    })
                    .filter(|c| city.as_deref().is_none_or(|x| norm(x) == norm(&c.city)))
                    .filter(|c| {
                        Range::contains((*created_from, *created_to), c.created_at.date_naive())
                    })
                    .count();
                FactValue::Number(n as f64)
            }
            Fact::Revenue(r) => {
                let b = r.bounds()?;
                FactValue::Number(
                    world
                        .orders
                        .iter()
                        .filter(|o| Range::contains(b, o.ordered_at.date_naive()))
                        .map(|o| o.amount)
                        .sum(),
                )
            }
            Fact::OrderCount(r) => {
                let b = r.bounds()?;
                FactValue::Number(
                    world
                        .orders
                        .iter()
                        .filter(|o| Range::contains(b, o.ordered_at.date_naive()))
                        .count() as f64,
                )
            }
            Fact::TopProducts { range, by, n } => FactValue::Set(
                ranked_products(world, range, *by)?
                    .into_iter()
                    .take(*n)
                    .collect(),
            ),
            Fact::TopProduct { range, by, rank } => {
                let ranked = ranked_products(world, range, *by)?;
                let name = rank
                    .checked_sub(1)
                    .and_then(|i| ranked.get(i))
                    .ok_or_else(|| self.err(format!("no product at rank {rank}")))?;
                FactValue::Text(name.clone())
            }
            Fact::CustomerOrders { customer } => {
                let c = self.customer(world, customer)?;
                FactValue::Number(
                    world
                        .orders
                        .iter()
                        .filter(|o| o.customer_id == c.customer_id)
                        .count() as f64,
                )
            }
            Fact::CustomerSpend { customer } => {
                let c = self.customer(world, customer)?;
                FactValue::Number(
                    world
                        .orders
                        .iter()
                        .filter(|o| o.customer_id == c.customer_id)
                        .map(|o| o.amount)
                        .sum(),
                )
            }
            Fact::CustomerField { customer, field } => {
                let c = self.customer(world, customer)?;
                FactValue::Text(match field.as_str() {
                    "email" => c.email.clone(),
                    "name" => c.full_name(),
                    "city" => c.city.clone(),
                    "country" => c.country.clone(),
                    "phone" => c.phone.clone(),
                    other => return Err(self.err(format!("unknown customer field '{other}'"))),
                })
            }
            Fact::SearchCount { query } => {
                let q = norm(query);
                FactValue::Number(
                    world
                        .customers
                        .iter()
                        .filter(|c| {
                            [
                                c.full_name().to_lowercase(),
                                c.email.clone(),
                                c.phone.clone(),
                                c.city.to_lowercase(),
                            ]
                            .iter()
                            .any(|f| f.contains(&q))
                        })
                        .count() as f64,
                )
            }
            Fact::ImportedOrders => FactValue::Number(world.orders.len() as f64),
            Fact::DroppedCustomers => FactValue::Set(
                world
                    .customers
                    .iter()
                    .filter(|c| !c.truth.alive)
                    .map(|c| c.email.clone())
                    .collect(),
            ),
            Fact::AliveCustomers => FactValue::Set(
                world
                    .customers
                    .iter()
                    .filter(|c| c.truth.alive)
                    .map(|c| c.email.clone())
                    .collect(),
            ),
            Fact::ChurningCustomers { min_churn_90d } => FactValue::Set(
                world
                    .customers
                    .iter()
                    .filter(|c| !c.truth.alive || c.truth.churn_prob_90d >= *min_churn_90d)
                    .map(|c| c.email.clone())
                    .collect(),
            ),
            Fact::DroppedShare => {
                let dropped = world.customers.iter().filter(|c| !c.truth.alive).count();
                FactValue::Number(dropped as f64 / world.customers.len().max(1) as f64)
            }
            Fact::TopTrueClv { n } => {
                let mut v: Vec<&Customer> = world.customers.iter().collect();
                v.sort_by(|a, b| {
                    b.truth
                        .clv_365d
                        .total_cmp(&a.truth.clv_365d)
                        .then_with(|| a.customer_id.cmp(&b.customer_id))
                });
                FactValue::Set(v.into_iter().take(*n).map(|c| c.email.clone()).collect())
            }
        })
    }
}

/// Product names by revenue (or units) in `range`, best first; ties by name.
fn ranked_products(world: &World, range: &Range, by: By) -> Result<Vec<String>, EvalError> {
    let b = range.bounds()?;
    let mut totals: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for o in world
        .orders
        .iter()
        .filter(|o| Range::contains(b, o.ordered_at.date_naive()))
    {
        for it in &o.items {
            let e = totals.entry(it.product_name.as_str()).or_default();
            e.0 += f64::from(it.quantity) * it.unit_price;
            e.1 += f64::from(it.quantity);
        }
    }
    let mut v: Vec<(&str, (f64, f64))> = totals.into_iter().collect();
    v.sort_by(|a, b| {
        let (x, y) = match by {
            By::Revenue => (a.1.0, b.1.0),
            By::Quantity => (a.1.1, b.1.1),
        };
        y.total_cmp(&x).then_with(|| a.0.cmp(b.0))
    });
    Ok(v.into_iter().map(|(n, _)| n.to_owned()).collect())
}

/// The month before `date`'s month as `YYYY-MM` (what "last month" means on
/// `date`).
pub fn previous_month(date: NaiveDate) -> String {
    let (y, m) = if date.month() == 1 {
        (date.year() - 1, 12)
    } else {
        (date.year(), date.month() - 1)
    };
    format!("{y:04}-{m:02}")
}
