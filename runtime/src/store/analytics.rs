//! Sales aggregates.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use uuid::Uuid;

use super::{Period, Pool, ProductSales, Store, StoreError, dispatch, round_money, sql_int};

/// The first day of the period containing `day`.
pub fn period_start(day: NaiveDate, period: Period) -> NaiveDate {
    match period {
        Period::Day => day,
        Period::Week => day
            .checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))
            .unwrap_or(day),
        Period::Month => day.with_day(1).unwrap_or(day),
    }
}

/// Sales per product over a time range, ordered by `$order` then name.
macro_rules! product_sales_sql {
    ($order:literal) => {
        concat!(
            "SELECT product_name, SUM(quantity) AS quantity, \
             COALESCE(SUM(quantity * unit_price), 0.0) AS revenue, \
             COUNT(DISTINCT order_id) AS orders FROM order_items \
             WHERE organization_id = $1 AND ordered_at >= $2 AND ordered_at < $3 \
             GROUP BY product_name ORDER BY ",
            $order,
            ", product_name LIMIT $4"
        )
    };
}

impl Store {
    /// Revenue (sum of `amount`) and order count of `org` per period, for
    /// orders with `from <= ordered_at < to`. Periods are UTC calendar days,
    /// ISO weeks (starting Monday) or calendar months, keyed by their first
    /// day; only periods with at least one order are returned, oldest first.
    pub async fn revenue_by_period(
        &self,
        org: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        period: Period,
    ) -> Result<Vec<(NaiveDate, f64, i64)>, StoreError> {
        let op = "compute revenue by period";
        // Daily totals in SQL (the only backend-specific part is the UTC day).
        let days: Vec<(String, f64, i64)> = match &self.pool {
            Pool::Sqlite(pool) => sqlx::query_as(
                "SELECT substr(ordered_at, 1, 10) AS day, SUM(amount), COUNT(*) FROM orders \
                 WHERE organization_id = $1 AND ordered_at >= $2 AND ordered_at < $3 \
                 GROUP BY day ORDER BY day",
            )
            .bind(org)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db(op))?,
            Pool::Postgres(pool) => sqlx::query_as(
                "SELECT to_char(ordered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, \
                 SUM(amount)::float8, COUNT(*) FROM orders \
                 WHERE organization_id = $1 AND ordered_at >= $2 AND ordered_at < $3 \
                 GROUP BY day ORDER BY day",
            )
            .bind(org)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db(op))?,
        };
        let mut buckets: BTreeMap<NaiveDate, (f64, i64)> = BTreeMap::new();
        for (day, revenue, orders) in days {
            let day = NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|e| {
                StoreError::InvalidData {
                    field: "orders.ordered_at",
                    reason: format!("day {day:?}: {e}"),
                }
            })?;
            let entry = buckets.entry(period_start(day, period)).or_default();
            entry.0 += revenue;
            entry.1 += orders;
        }
        Ok(buckets
            .into_iter()
            .map(|(d, (r, n))| (d, round_money(r), n))
            .collect())
    }

    /// The best-selling products of `org` among order lines with
    /// `from <= ordered_at < to`: by revenue (sum of `quantity * unit_price`
    /// over lines with a unit price), then quantity, then name; at most `limit`.
    pub async fn top_products(
        &self,
        org: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ProductSales>, StoreError> {
        self.product_sales(org, from, to, limit, false).await
    }

    /// Like [`Store::top_products`], but ranked by units sold (then revenue,
    /// then name).
    pub async fn top_products_by_quantity(
        &self,
        org: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ProductSales>, StoreError> {
        self.product_sales(org, from, to, limit, true).await
    }

    async fn product_sales(
        &self,
        org: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
        by_quantity: bool,
    ) -> Result<Vec<ProductSales>, StoreError> {
        let sql = if by_quantity {
            product_sales_sql!("quantity DESC, revenue DESC")
        } else {
            product_sales_sql!("revenue DESC, quantity DESC")
        };
        dispatch!(self, |pool| {
            sqlx::query_as::<_, ProductSales>(sql)
                .bind(org)
                .bind(from)
                .bind(to)
                .bind(sql_int(limit))
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("compute top products"))
        })
        .map(rounded)
    }
}

/// `rows` with revenue and quantity rounded by [`round_money`].
fn rounded(rows: Vec<ProductSales>) -> Vec<ProductSales> {
    rows.into_iter()
        .map(|p| ProductSales {
            quantity: round_money(p.quantity),
            revenue: round_money(p.revenue),
            ..p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_starts() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
        assert_eq!(period_start(d(2024, 3, 14), Period::Day), d(2024, 3, 14));
        // 2024-03-14 is a Thursday; its ISO week starts Monday 2024-03-11.
        assert_eq!(period_start(d(2024, 3, 14), Period::Week), d(2024, 3, 11));
        assert_eq!(period_start(d(2024, 3, 11), Period::Week), d(2024, 3, 11));
        assert_eq!(period_start(d(2024, 3, 17), Period::Week), d(2024, 3, 11));
        assert_eq!(period_start(d(2024, 3, 14), Period::Month), d(2024, 3, 1));
    }
}
