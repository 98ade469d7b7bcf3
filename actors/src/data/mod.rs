//! The data tools (module [`Module::Data`]) answered straight from the store:
//! customer counts, search and profiles, revenue over time, top products,
//! import status, and tagging customers.
//!
//! Every query is scoped by the calling organization
//! ([`ToolContext::organization_id`]); a customer of another organization is
//! never found, counted or changed.

use std::collections::BTreeMap;
use std::sync::Arc;

use aima_runtime::registry::{Registry, ToolContext, ToolError, ToolHandler};
use aima_runtime::store::{Customer, Period, Store, StoreError, period_start, round_money};
use aima_tools::data::{
    CustomerCount, CustomerCountInput, CustomerCountOutput, CustomerProfile, CustomerProfileInput,
    CustomerProfileOutput, CustomerSearch, CustomerSearchInput, CustomerSearchOutput,
    CustomerSummary, DEFAULT_IMPORT_LIMIT, DEFAULT_SEARCH_LIMIT, DEFAULT_TOP_PRODUCTS_LIMIT,
    Granularity, ImportStatus, ImportStatusInput, ImportStatusOutput, ImportSummary,
    MAX_REVENUE_BUCKETS, OrderBrief, OrderStats, PROFILE_RECENT_ORDERS, ProductRow, RankBy,
    RevenueBucket, RevenueOverTime, RevenueOverTimeInput, RevenueOverTimeOutput, TagCustomers,
    TagCustomersInput, TagCustomersOutput, TopProducts, TopProductsInput, TopProductsOutput,
};
use aima_tools::{Module, Tool, ToolSpec};
use async_trait::async_trait;
use chrono::{DateTime, Days, Months, NaiveDate, Utc};
use serde_json::Value;
use uuid::Uuid;

#[cfg(test)]
mod tests;

/// Answers the seven data tools from the store.
#[derive(Debug, Clone)]
pub struct DataTools {
    store: Store,
}

/// The specs of the data tools, sorted by name.
pub fn data_specs() -> Vec<ToolSpec> {
    let mut specs = vec![
        CustomerCount::spec(),
        CustomerSearch::spec(),
        CustomerProfile::spec(),
        RevenueOverTime::spec(),
        TopProducts::spec(),
        ImportStatus::spec(),
        TagCustomers::spec(),
    ];
    specs.sort_by(|a, b| a.name.cmp(&b.name));
    specs
}

impl DataTools {
    /// Data tools over `store`.
    pub fn new(store: Store) -> DataTools {
        DataTools { store }
    }

    /// Registers the data tools in `registry`, all answered by `tools`.
    pub fn register(tools: Arc<DataTools>, registry: &mut Registry) {
        for spec in data_specs() {
            debug_assert_eq!(spec.module, Module::Data);
            registry.register(spec, tools.clone());
        }
    }

    async fn customer_count(
        &self,
        ctx: &ToolContext,
        input: CustomerCountInput,
    ) -> Result<CustomerCountOutput, ToolError> {
        let tool = CustomerCount::NAME;
        let (from, to) = day_range(tool, input.created_from, input.created_to, "/created_to")?;
        let count = self
            .store
            .count_customers_filtered(
                ctx.organization_id,
                non_blank(input.country.as_deref()),
                non_blank(input.city.as_deref()),
                input.created_from.map(|_| from),
                input.created_to.map(|_| to),
            )
            .await
            .map_err(failed(tool))?;
        Ok(CustomerCountOutput {
            count: to_u64(count),
        })
    }

    async fn customer_search(
        &self,
        ctx: &ToolContext,
        input: CustomerSearchInput,
    ) -> Result<CustomerSearchOutput, ToolError> {
        let limit = input.limit.unwrap_or(DEFAULT_SEARCH_LIMIT);
        let (rows, total) = self
            .store
            .search_customers_counted(ctx.organization_id, input.query.as_deref(), limit)
            .await
            .map_err(failed(CustomerSearch::NAME))?;
        Ok(CustomerSearchOutput {
            customers: rows.iter().map(customer_summary).collect(),
            total: to_u64(total),
        })
    }

    async fn customer_profile(
        &self,
        ctx: &ToolContext,
        input: CustomerProfileInput,
    ) -> Result<CustomerProfileOutput, ToolError> {
        let tool = CustomerProfile::NAME;
        let customer = self
            .resolve_customer(ctx.organization_id, &input.customer, true)
            .await?;
        let Some(customer) = customer else {
            return Err(ToolError::Failed {
                tool: tool.to_string(),
                message: format!(
                    "no customer matches `{}` (looked for an id, an e-mail and a full name); \
                     customer_search finds customers by part of their name, e-mail, phone or city",
                    input.customer.trim()
                ),
            });
        };
        let orders = self
            .store
            .orders_for_customer(ctx.organization_id, customer.id)
            .await
            .map_err(failed(tool))?;
        let total_revenue = round_money(orders.iter().map(|o| o.amount).sum());
        let count = orders.len() as u64;
        let order_stats = OrderStats {
            orders: count,
            total_revenue,
            average_order_value: (count > 0).then(|| round_money(total_revenue / count as f64)),
            first_order_at: orders.first().map(|o| o.ordered_at),
            last_order_at: orders.last().map(|o| o.ordered_at),
        };
        let recent_orders = orders
            .iter()
            .rev()
            .take(PROFILE_RECENT_ORDERS)
            .map(|o| OrderBrief {
                order_id: o.external_id.clone(),
                ordered_at: o.ordered_at,
                amount: o.amount,
                currency: o.currency.clone(),
                status: o.status.clone(),
                products: o.items.iter().map(|i| i.product_name.clone()).collect(),
            })
            .collect();
        Ok(CustomerProfileOutput {
            customer: customer_summary(&customer),
            external_id: customer.external_id.clone(),
            properties: match &customer.properties {
                Value::Object(map) => map.clone(),
                Value::Null => serde_json::Map::new(),
                other => {
                    // Stored properties are an object by convention; keep any
                    // other value visible rather than dropping it.
                    let mut map = serde_json::Map::new();
                    map.insert("value".to_string(), other.clone());
                    map
                }
            },
            order_stats,
            recent_orders,
            intelligence: crate::intelligence::customer_intelligence(
                &self.store,
                ctx.organization_id,
                customer.id,
            )
            .await
            .map_err(failed(tool))?,
        })
    }

    async fn revenue_over_time(
        &self,
        ctx: &ToolContext,
        input: RevenueOverTimeInput,
    ) -> Result<RevenueOverTimeOutput, ToolError> {
        let tool = RevenueOverTime::NAME;
        let granularity = input.granularity.unwrap_or_default();
        let period = match granularity {
            Granularity::Day => Period::Day,
            Granularity::Week => Period::Week,
            Granularity::Month => Period::Month,
        };
        let (from, to) = day_range(tool, input.start, input.end, "/end")?;
        let rows = self
            .store
            .revenue_by_period(ctx.organization_id, from, to, period)
            .await
            .map_err(failed(tool))?;
        let total_revenue = round_money(rows.iter().map(|(_, r, _)| r).sum());
        let total_orders = rows.iter().map(|(_, _, n)| to_u64(*n)).sum();
        let lower = input.start.or_else(|| rows.first().map(|(d, _, _)| *d));
        let upper = input.end.or_else(|| rows.last().map(|(d, _, _)| *d));
        let by_start: BTreeMap<NaiveDate, (f64, i64)> =
            rows.into_iter().map(|(d, r, n)| (d, (r, n))).collect();
        let mut buckets = Vec::new();
        if let (Some(lower), Some(upper)) = (lower, upper) {
            let last = period_start(upper, period);
            let mut current = Some(period_start(lower, period));
            while let Some(day) = current.filter(|d| *d <= last) {
                if buckets.len() == MAX_REVENUE_BUCKETS {
                    return Err(ToolError::InvalidArguments {
                        tool: tool.to_string(),
                        field: "/granularity".to_string(),
                        expected: format!(
                            "a coarser granularity or a shorter range: at most \
                             {MAX_REVENUE_BUCKETS} buckets (from {lower} to {upper})"
                        ),
                    });
                }
                let (revenue, orders) = by_start.get(&day).copied().unwrap_or((0.0, 0));
                buckets.push(RevenueBucket {
                    period_start: day,
                    revenue,
                    orders: to_u64(orders),
                });
                current = next_period(day, period);
            }
        }
        Ok(RevenueOverTimeOutput {
            granularity,
            buckets,
            total_revenue,
            total_orders,
        })
    }

    async fn top_products(
        &self,
        ctx: &ToolContext,
        input: TopProductsInput,
    ) -> Result<TopProductsOutput, ToolError> {
        let tool = TopProducts::NAME;
        let (from, to) = day_range(tool, input.start, input.end, "/end")?;
        let limit = input.limit.unwrap_or(DEFAULT_TOP_PRODUCTS_LIMIT);
        let by = input.by.unwrap_or_default();
        let org = ctx.organization_id;
        let rows = match by {
            RankBy::Revenue => self.store.top_products(org, from, to, limit).await,
            RankBy::Quantity => {
                self.store
                    .top_products_by_quantity(org, from, to, limit)
                    .await
            }
        }
        .map_err(failed(tool))?;
        Ok(TopProductsOutput {
            by,
            products: rows
                .into_iter()
                .map(|p| ProductRow {
                    name: p.product_name,
                    revenue: p.revenue,
                    quantity: p.quantity,
                    orders: to_u64(p.orders),
                })
                .collect(),
        })
    }

    async fn import_status(
        &self,
        ctx: &ToolContext,
        input: ImportStatusInput,
    ) -> Result<ImportStatusOutput, ToolError> {
        let limit = input.limit.unwrap_or(DEFAULT_IMPORT_LIMIT);
        let imports = self
            .store
            .list_imports(ctx.organization_id, limit)
            .await
            .map_err(failed(ImportStatus::NAME))?;
        Ok(ImportStatusOutput {
            imports: imports
                .into_iter()
                .map(|r| ImportSummary {
                    id: r.id,
                    source: r.source,
                    status: r.status,
                    rows_total: to_u64(r.rows_total),
                    rows_rejected: to_u64(r.rows_rejected),
                    customers_created: to_u64(r.customers_created),
                    customers_updated: to_u64(r.customers_updated),
                    orders_created: to_u64(r.orders_created),
                    orders_updated: to_u64(r.orders_updated),
                    started_at: r.started_at,
                    finished_at: r.finished_at,
                    error: r.error,
                })
                .collect(),
        })
    }

    async fn tag_customers(
        &self,
        ctx: &ToolContext,
        input: TagCustomersInput,
    ) -> Result<TagCustomersOutput, ToolError> {
        let tool = TagCustomers::NAME;
        let tag = input.tag.trim();
        if tag.is_empty() {
            return Err(ToolError::InvalidArguments {
                tool: tool.to_string(),
                field: "/tag".to_string(),
                expected: "a tag with at least one visible character".to_string(),
            });
        }
        let mut ids: Vec<Uuid> = Vec::new();
        let mut not_found = Vec::new();
        for reference in &input.customers {
            // Only ids and e-mails: a name could tag the wrong person.
            match self
                .resolve_customer(ctx.organization_id, reference, false)
                .await?
            {
                Some(c) if !ids.contains(&c.id) => ids.push(c.id),
                Some(_) => {}
                None => not_found.push(reference.clone()),
            }
        }
        let (tagged, already_tagged) = self
            .store
            .add_customer_tag(ctx.organization_id, &ids, tag)
            .await
            .map_err(failed(tool))?;
        Ok(TagCustomersOutput {
            tagged,
            already_tagged,
            not_found,
        })
    }

    /// The customer of `org` that `reference` names: by id, then e-mail
    /// (case-insensitive), then (when `by_name`) full name. Several customers
    /// with that name is [`ToolError::Failed`] listing them.
    async fn resolve_customer(
        &self,
        org: Uuid,
        reference: &str,
        by_name: bool,
    ) -> Result<Option<Customer>, ToolError> {
        let tool = if by_name {
            CustomerProfile::NAME
        } else {
            TagCustomers::NAME
        };
        let reference = reference.trim();
        if reference.is_empty() {
            return Ok(None);
        }
        if let Ok(id) = Uuid::parse_str(reference)
            && let Some(c) = self
                .store
                .get_customer(org, id)
                .await
                .map_err(failed(tool))?
        {
            return Ok(Some(c));
        }
        if let Some(c) = self
            .store
            .customer_by_email(org, reference)
            .await
            .map_err(failed(tool))?
        {
            return Ok(Some(c));
        }
        if !by_name {
            return Ok(None);
        }
        let mut named = self
            .store
            .customers_by_name(org, reference)
            .await
            .map_err(failed(tool))?;
        match named.len() {
            0 => Ok(None),
            1 => Ok(named.pop()),
            n => {
                let listed: Vec<String> = named
                    .iter()
                    .take(10)
                    .map(|c| {
                        let details: Vec<&str> = [c.email.as_deref(), c.city.as_deref()]
                            .into_iter()
                            .flatten()
                            .collect();
                        if details.is_empty() {
                            c.id.to_string()
                        } else {
                            format!("{} ({})", c.id, details.join(", "))
                        }
                    })
                    .collect();
                Err(ToolError::Failed {
                    tool: tool.to_string(),
                    message: format!(
                        "`{reference}` matches {n} customers: {}; ask again with one of \
                         these ids or an e-mail",
                        listed.join("; ")
                    ),
                })
            }
        }
    }
}

#[async_trait]
impl ToolHandler for DataTools {
    async fn call(&self, ctx: &ToolContext, name: &str, args: Value) -> Result<Value, ToolError> {
        match name {
            CustomerCount::NAME => {
                let input = parse::<CustomerCount>(args)?;
                render::<CustomerCount>(self.customer_count(ctx, input).await?)
            }
            CustomerSearch::NAME => {
                let input = parse::<CustomerSearch>(args)?;
                render::<CustomerSearch>(self.customer_search(ctx, input).await?)
            }
            CustomerProfile::NAME => {
                let input = parse::<CustomerProfile>(args)?;
                render::<CustomerProfile>(self.customer_profile(ctx, input).await?)
            }
            RevenueOverTime::NAME => {
                let input = parse::<RevenueOverTime>(args)?;
                render::<RevenueOverTime>(self.revenue_over_time(ctx, input).await?)
            }
            TopProducts::NAME => {
                let input = parse::<TopProducts>(args)?;
                render::<TopProducts>(self.top_products(ctx, input).await?)
            }
            ImportStatus::NAME => {
                let input = parse::<ImportStatus>(args)?;
                render::<ImportStatus>(self.import_status(ctx, input).await?)
            }
            TagCustomers::NAME => {
                let input = parse::<TagCustomers>(args)?;
                render::<TagCustomers>(self.tag_customers(ctx, input).await?)
            }
            other => Err(ToolError::UnknownTool {
                name: other.to_string(),
            }),
        }
    }
}

/// `args` as `T::Input` (the registry has validated them; a mismatch here is
/// reported as invalid arguments all the same). Shared by every module's
/// tool handler.
pub(crate) fn parse<T: Tool>(args: Value) -> Result<T::Input, ToolError> {
    let args = if args.is_null() {
        Value::Object(Default::default())
    } else {
        args
    };
    serde_json::from_value(args).map_err(|e| ToolError::InvalidArguments {
        tool: T::NAME.to_string(),
        field: "(root)".to_string(),
        expected: e.to_string(),
    })
}

/// `output` as the JSON a tool call returns.
pub(crate) fn render<T: Tool>(output: T::Output) -> Result<Value, ToolError> {
    serde_json::to_value(output).map_err(|e| ToolError::Failed {
        tool: T::NAME.to_string(),
        message: format!("cannot encode the result: {e}"),
    })
}

/// A store error as the tool's failure.
pub(crate) fn failed(tool: &'static str) -> impl Fn(StoreError) -> ToolError {
    move |e| ToolError::Failed {
        tool: tool.to_string(),
        message: e.to_string(),
    }
}

/// A count from the store (never negative) as `u64`.
fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn non_blank(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim().is_empty())
}

/// First and last day the store's time columns can be compared with (years
/// of four digits, so SQLite's text times compare as times).
const FIRST_DAY: NaiveDate = NaiveDate::from_ymd_opt(1, 1, 1).expect("valid date");
const LAST_DAY: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid date");

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// `[start 00:00, end + 1 day 00:00)` in UTC for inclusive days, either
/// unbounded when absent. `start > end` is invalid `end_field`.
fn day_range(
    tool: &str,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    end_field: &str,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ToolError> {
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(ToolError::InvalidArguments {
            tool: tool.to_string(),
            field: end_field.to_string(),
            expected: format!("a date on or after {s} (the range's first day)"),
        });
    }
    let from = midnight(start.unwrap_or(FIRST_DAY).max(FIRST_DAY));
    let to = midnight(
        end.and_then(|e| e.checked_add_days(Days::new(1)))
            .unwrap_or(LAST_DAY)
            .min(LAST_DAY),
    );
    Ok((from, to))
}

/// The first day of the period after the one starting on `day`.
fn next_period(day: NaiveDate, period: Period) -> Option<NaiveDate> {
    match period {
        Period::Day => day.checked_add_days(Days::new(1)),
        Period::Week => day.checked_add_days(Days::new(7)),
        Period::Month => day.checked_add_months(Months::new(1)),
    }
}

/// How the data tools (and the REST API's customer list) show a customer:
/// the full name, else first and last name joined.
pub fn customer_summary(c: &Customer) -> CustomerSummary {
    let joined = [c.first_name.as_deref(), c.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let name = c
        .full_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| (!joined.is_empty()).then_some(joined));
    CustomerSummary {
        id: c.id,
        name,
        email: c.email.clone(),
        phone: c.phone.clone(),
        city: c.city.clone(),
        country: c.country.clone(),
        tags: c.tags.clone(),
        created_at: c.created_at,
    }
}
