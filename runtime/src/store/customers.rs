//! Customer and event reads; customer tags.

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use sqlx::types::Json;
use uuid::Uuid;

use super::{
    Customer, CustomerCursor, CustomerFilter, CustomerIdentity, CustomerListRow, Event, Pool,
    RFM_SEGMENT_KIND, Store, StoreError, dispatch, now, sql_int,
};

/// Most candidates [`Store::customers_by_name`] reads before comparing names.
const NAME_CANDIDATES: u32 = 500;

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

    /// Number of customers of `org` created in `[from, to)` (each bound
    /// optional) whose country and city equal `country` and `city` when
    /// given, compared case-insensitively (Unicode-aware, in Rust, so both
    /// backends agree) after trimming; countries known to
    /// [`crate::geo::country_code`] compare by their ISO code, so "Germany",
    /// "DE" and "DEU" match each other.
    pub async fn count_customers_filtered(
        &self,
        org: Uuid,
        country: Option<&str>,
        city: Option<&str>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<i64, StoreError> {
        // Counts per (country, city) in SQL; the case-insensitive comparison
        // in Rust (SQLite's lower() only folds ASCII).
        let groups: Vec<(Option<String>, Option<String>, i64)> = dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT country, city, COUNT(*) FROM customers WHERE organization_id = $1 \
                 AND ($2 IS NULL OR created_at >= $2) AND ($3 IS NULL OR created_at < $3) \
                 GROUP BY country, city",
            )
            .bind(org)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("count customers by place"))?
        });
        let norm = |s: &str| s.trim().to_lowercase();
        // Countries compare by ISO code where known ("Germany" = "DE").
        let norm_country =
            |s: &str| crate::geo::country_code(s).map_or_else(|| norm(s), str::to_lowercase);
        let wanted_country = country.map(norm_country);
        let wanted_city = city.map(norm);
        let matches =
            |wanted: &Option<String>, have: &Option<String>, f: &dyn Fn(&str) -> String| {
                match wanted {
                    None => true,
                    Some(w) => have.as_deref().map(f).as_ref() == Some(w),
                }
            };
        Ok(groups
            .into_iter()
            .filter(|(c, t, _)| {
                matches(&wanted_country, c, &norm_country) && matches(&wanted_city, t, &norm)
            })
            .map(|(_, _, n)| n)
            .sum())
    }

    /// Customers of `org` matching `query` like [`Store::search_customers`]
    /// (email, names, phone) or whose city contains it (case-insensitive;
    /// on SQLite only ASCII letters fold in cities), newest first, at most
    /// `limit`; with the number of all matches.
    pub async fn search_customers_counted(
        &self,
        org: Uuid,
        query: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<Customer>, i64), StoreError> {
        let pattern = query
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(|q| format!("%{}%", like_escape(&q.to_lowercase())));
        let Some(pattern) = pattern else {
            let rows = self.search_customers(org, None, limit, 0).await?;
            return Ok((rows, self.count_customers(org).await?));
        };
        let op = "search customers";
        dispatch!(self, |pool| {
            let rows = sqlx::query_as::<_, Customer>(select_customer!(
                "WHERE organization_id = $1 AND (search_text LIKE $2 ESCAPE '\\' \
                 OR lower(city) LIKE $2 ESCAPE '\\') \
                 ORDER BY created_at DESC, id DESC LIMIT $3"
            ))
            .bind(org)
            .bind(pattern.as_str())
            .bind(sql_int(limit))
            .fetch_all(pool)
            .await
            .map_err(StoreError::db(op))?;
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM customers WHERE organization_id = $1 AND \
                 (search_text LIKE $2 ESCAPE '\\' OR lower(city) LIKE $2 ESCAPE '\\')",
            )
            .bind(org)
            .bind(pattern.as_str())
            .fetch_one(pool)
            .await
            .map_err(StoreError::db(op))?;
            Ok((rows, total))
        })
    }

    /// One page of `org`'s customers for a list view, newest first
    /// (`created_at`, then id, descending), each with their current RFM
    /// persona and stored health score (0-100), at most `limit` rows.
    ///
    /// `filter.query` matches like [`Store::search_customers`] (email,
    /// names, phone; case-insensitive); `filter.persona` keeps the current
    /// members of that persona (its key, e.g. `champions`). `after` is the
    /// position of the previous page's last row
    /// ([`CustomerListRow::cursor`]): the page holds the rows that follow
    /// it. Keyset paging is stable under inserts: a customer added while a
    /// client pages is neither repeated nor shifts later pages.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn customer_page(
        &self,
        org: Uuid,
        filter: &CustomerFilter<'_>,
        after: Option<CustomerCursor>,
        limit: u32,
    ) -> Result<Vec<CustomerListRow>, StoreError> {
        let pattern = filter
            .query
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(|q| format!("%{}%", like_escape(&q.to_lowercase())));
        let health = match &self.pool {
            Pool::Sqlite(_) => "CAST(json_extract(f.features, '$.health_score') AS REAL)",
            Pool::Postgres(_) => "(f.features ->> 'health_score')::float8",
        };
        // Only the filters in use are in the SQL, so the planner walks the
        // (organization, created_at, id) index backwards and stops after
        // `limit` rows, whatever the page.
        let mut conditions = String::new();
        let mut n = 1;
        let mut next = || {
            n += 1;
            n
        };
        if pattern.is_some() {
            conditions.push_str(&format!(" AND c.search_text LIKE ${} ESCAPE '\\'", next()));
        }
        if filter.persona.is_some() {
            conditions.push_str(&format!(" AND s.name = ${}", next()));
        }
        if after.is_some() {
            let (at, id) = (next(), next());
            conditions.push_str(&format!(" AND (c.created_at, c.id) < (${at}, ${id})"));
        }
        let limit_param = next();
        let sql = format!(
            "SELECT c.id, c.organization_id, c.external_id, c.email, c.first_name, c.last_name, \
             c.full_name, c.phone, c.city, c.country, c.tags, c.properties, c.created_at, \
             c.updated_at, s.name AS persona, {health} AS health_score \
             FROM customers c \
             LEFT JOIN segment_memberships m ON m.customer_id = c.id \
             AND m.organization_id = c.organization_id AND m.left_at IS NULL \
             AND m.segment_id IN (SELECT id FROM segments WHERE organization_id = $1 \
             AND kind = '{RFM_SEGMENT_KIND}') \
             LEFT JOIN segments s ON s.id = m.segment_id \
             LEFT JOIN customer_features f ON f.organization_id = c.organization_id \
             AND f.customer_id = c.id \
             WHERE c.organization_id = $1{conditions} \
             ORDER BY c.created_at DESC, c.id DESC LIMIT ${limit_param}"
        );
        dispatch!(self, |pool| {
            let mut query =
                sqlx::query_as::<_, CustomerListRow>(AssertSqlSafe(sql.clone())).bind(org);
            if let Some(p) = &pattern {
                query = query.bind(p.as_str());
            }
            if let Some(persona) = filter.persona {
                query = query.bind(persona);
            }
            if let Some(a) = after {
                query = query.bind(a.created_at).bind(a.id);
            }
            query
                .bind(sql_int(limit))
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list customers"))
        })
    }

    /// The customer of `org` whose e-mail equals `email` case-insensitively
    /// (after trimming), if any.
    pub async fn customer_by_email(
        &self,
        org: Uuid,
        email: &str,
    ) -> Result<Option<Customer>, StoreError> {
        let email_lower = email.trim().to_lowercase();
        dispatch!(self, |pool| {
            sqlx::query_as::<_, Customer>(select_customer!(
                "WHERE organization_id = $1 AND email_lower = $2"
            ))
            .bind(org)
            .bind(email_lower.as_str())
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("read a customer by email"))
        })
    }

    /// Customers of `org` whose full name, or first and last name joined by a
    /// space, equals `name` case-insensitively (Unicode-aware) after trimming
    /// and collapsing whitespace; oldest first. Compares at most the first
    /// 500 customers whose search text contains the name.
    pub async fn customers_by_name(
        &self,
        org: Uuid,
        name: &str,
    ) -> Result<Vec<Customer>, StoreError> {
        let norm = |s: &str| {
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        };
        let wanted = norm(name);
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let pattern = format!("%{}%", like_escape(&wanted));
        let candidates: Vec<Customer> = dispatch!(self, |pool| {
            sqlx::query_as::<_, Customer>(select_customer!(
                "WHERE organization_id = $1 AND search_text LIKE $2 ESCAPE '\\' \
                 ORDER BY created_at, id LIMIT $3"
            ))
            .bind(org)
            .bind(pattern.as_str())
            .bind(sql_int(NAME_CANDIDATES))
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("read customers by name"))?
        });
        Ok(candidates
            .into_iter()
            .filter(|c| {
                let joined = match (&c.first_name, &c.last_name) {
                    (Some(f), Some(l)) => Some(format!("{f} {l}")),
                    _ => None,
                };
                [c.full_name.as_deref(), joined.as_deref()]
                    .into_iter()
                    .flatten()
                    .any(|n| norm(n) == wanted)
            })
            .collect())
    }

    /// Adds `tag` to the tags of customers `ids` of `org` (ids of other
    /// organizations are ignored) and sets their `updated_at`; a customer that
    /// already has it is left unchanged. One transaction. Returns
    /// `(tagged, already_tagged)`.
    pub async fn add_customer_tag(
        &self,
        org: Uuid,
        ids: &[Uuid],
        tag: &str,
    ) -> Result<(u64, u64), StoreError> {
        let op = "tag customers";
        let at = now();
        // Read-modify-write per customer inside one transaction that holds
        // the rows: SQLite takes its write lock at BEGIN IMMEDIATE,
        // PostgreSQL locks each row with FOR UPDATE.
        macro_rules! tag_in {
            ($tx:ident, $select:literal) => {{
                let (mut tagged, mut already) = (0u64, 0u64);
                for id in ids {
                    let tags: Option<Json<Vec<String>>> = sqlx::query_scalar($select)
                        .bind(org)
                        .bind(id)
                        .fetch_optional(&mut *$tx)
                        .await
                        .map_err(StoreError::db(op))?;
                    let Some(Json(mut tags)) = tags else { continue };
                    if tags.iter().any(|t| t == tag) {
                        already += 1;
                        continue;
                    }
                    tags.push(tag.to_string());
                    sqlx::query(
                        "UPDATE customers SET tags = $3, updated_at = $4 \
                         WHERE organization_id = $1 AND id = $2",
                    )
                    .bind(org)
                    .bind(id)
                    .bind(Json(&tags))
                    .bind(at)
                    .execute(&mut *$tx)
                    .await
                    .map_err(StoreError::db(op))?;
                    tagged += 1;
                }
                $tx.commit().await.map_err(StoreError::db(op))?;
                Ok((tagged, already))
            }};
        }
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut tx = pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(StoreError::db(op))?;
                tag_in!(
                    tx,
                    "SELECT tags FROM customers WHERE organization_id = $1 AND id = $2"
                )
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await.map_err(StoreError::db(op))?;
                tag_in!(
                    tx,
                    "SELECT tags FROM customers WHERE organization_id = $1 AND id = $2 FOR UPDATE"
                )
            }
        }
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
