//! Customer and event reads.

use uuid::Uuid;

use super::{Customer, CustomerIdentity, Event, Store, StoreError, dispatch, sql_int};

/// `SELECT <customer columns> FROM customers <tail>`.
macro_rules! select_customer {
    ($tail:literal) => {
        concat!(
            "SELECT id, organization_id, external_id, email, first_name, last_name, full_name, phone, city, \
             country, tags, properties, created_at, updated_at FROM customers ",
            $tail
        )
    };
}

type IdentityRow = (
    Uuid,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

impl Store {
    /// The identity fields and current values of every customer of `org`
    /// (one query, for the importer's matching). `full_name_lower` is
    /// lowercased in Rust (Unicode-aware).
    pub async fn customer_identities(
        &self,
        org: Uuid,
    ) -> Result<Vec<CustomerIdentity>, StoreError> {
        let rows: Vec<IdentityRow> = dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT id, external_id, email_lower, phone, first_name, last_name, full_name, email, city, \
                 country FROM customers WHERE organization_id = $1",
            )
            .bind(org)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("read customer identities"))?
        });
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    external_id,
                    email_lower,
                    phone,
                    first_name,
                    last_name,
                    full_name,
                    email,
                    city,
                    country,
                )| {
                    CustomerIdentity {
                        id,
                        external_id,
                        email_lower,
                        phone,
                        full_name_lower: full_name.as_deref().map(str::to_lowercase),
                        first_name,
                        last_name,
                        full_name,
                        email,
                        city,
                        country,
                    }
                },
            )
            .collect())
    }

    /// Number of customers of `org`.
    pub async fn count_customers(&self, org: Uuid) -> Result<i64, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE organization_id = $1")
                .bind(org)
                .fetch_one(pool)
                .await
                .map_err(StoreError::db("count customers"))
        })
    }

    /// Number of behavioral events of `org`.
    pub async fn count_events(&self, org: Uuid) -> Result<i64, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM customer_events WHERE organization_id = $1")
                .bind(org)
                .fetch_one(pool)
                .await
                .map_err(StoreError::db("count events"))
        })
    }

    /// The customer `id` of `org`, if it exists there.
    pub async fn get_customer(&self, org: Uuid, id: Uuid) -> Result<Option<Customer>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, Customer>(select_customer!(
                "WHERE organization_id = $1 AND id = $2"
            ))
            .bind(org)
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("read a customer"))
        })
    }

    /// Customers of `org`, newest first (`created_at`, then id, descending),
    /// paged by `limit`/`offset`. With a non-blank `query`, only customers
    /// whose email, full/first/last name or phone contains it,
    /// case-insensitively (Unicode-aware on both backends).
    pub async fn search_customers(
        &self,
        org: Uuid,
        query: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Customer>, StoreError> {
        let pattern = query
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(|q| format!("%{}%", like_escape(&q.to_lowercase())));
        let op = "search customers";
        dispatch!(self, |pool| match &pattern {
            Some(p) => sqlx::query_as::<_, Customer>(select_customer!(
                "WHERE organization_id = $1 AND search_text LIKE $2 ESCAPE '\\' \
                 ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
            ))
            .bind(org)
            .bind(p.as_str())
            .bind(sql_int(limit))
            .bind(sql_int(offset))
            .fetch_all(pool)
            .await
            .map_err(StoreError::db(op)),
            None => sqlx::query_as::<_, Customer>(select_customer!(
                "WHERE organization_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
            ))
            .bind(org)
            .bind(sql_int(limit))
            .bind(sql_int(offset))
            .fetch_all(pool)
            .await
            .map_err(StoreError::db(op)),
        })
    }

    /// Behavioral events of customer `customer_id` in `org`, oldest first.
    pub async fn events_for_customer(
        &self,
        org: Uuid,
        customer_id: Uuid,
    ) -> Result<Vec<Event>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, Event>(
                "SELECT id, organization_id, customer_id, event_type, channel, properties, \
                 occurred_at FROM customer_events WHERE organization_id = $1 AND customer_id = $2 \
                 ORDER BY occurred_at, id",
            )
            .bind(org)
            .bind(customer_id)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("read events"))
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_escape_escapes_wildcards() {
        assert_eq!(super::like_escape(r"50%_a\b"), r"50\%\_a\\b");
    }
}
