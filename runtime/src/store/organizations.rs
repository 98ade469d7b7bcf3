//! Organizations (tenants).

use uuid::Uuid;

use super::{Organization, Store, StoreError, dispatch, now};

/// `SELECT <organization columns> FROM organizations <tail>`.
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT id, slug, name, created_at FROM organizations ",
            $tail
        )
    };
}

/// Checks a slug: 1..=63 characters of `[a-z0-9-]`.
pub fn validate_slug(slug: &str) -> Result<(), StoreError> {
    let ok = (1..=63).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidSlug {
            slug: slug.to_string(),
        })
    }
}

impl Store {
    /// Creates an organization. The slug must be 1..=63 characters of
    /// `[a-z0-9-]` ([`StoreError::InvalidSlug`]) and unused
    /// ([`StoreError::Conflict`]).
    pub async fn create_organization(
        &self,
        slug: &str,
        name: &str,
    ) -> Result<Organization, StoreError> {
        validate_slug(slug)?;
        let org = Organization {
            id: Uuid::now_v7(),
            slug: slug.to_string(),
            name: name.to_string(),
            created_at: now(),
        };
        dispatch!(self, |pool| {
            sqlx::query(
                "INSERT INTO organizations (id, slug, name, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(org.id)
            .bind(org.slug.as_str())
            .bind(org.name.as_str())
            .bind(org.created_at)
            .execute(pool)
            .await
            .map_err(StoreError::db_or_conflict("create an organization", || {
                format!("organization {slug:?}")
            }))?;
        });
        Ok(org)
    }

    /// The organization with this slug, if any.
    pub async fn organization_by_slug(
        &self,
        slug: &str,
    ) -> Result<Option<Organization>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, Organization>(select!("WHERE slug = $1"))
                .bind(slug)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("look up an organization"))
        })
    }

    /// The organization with this id, if any.
    pub async fn organization(&self, id: Uuid) -> Result<Option<Organization>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, Organization>(select!("WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("look up an organization"))
        })
    }

    /// All organizations, by slug.
    pub async fn list_organizations(&self) -> Result<Vec<Organization>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, Organization>(select!("ORDER BY slug"))
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list organizations"))
        })
    }

    /// The organization with this slug, created (with `name`) if missing;
    /// the flag is `true` when this call created it. Safe against concurrent
    /// callers: exactly one of them creates it.
    pub async fn ensure_organization(
        &self,
        slug: &str,
        name: &str,
    ) -> Result<(Organization, bool), StoreError> {
        validate_slug(slug)?;
        let id = Uuid::now_v7();
        let created = dispatch!(self, |pool| {
            sqlx::query(
                "INSERT INTO organizations (id, slug, name, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (slug) DO NOTHING",
            )
            .bind(id)
            .bind(slug)
            .bind(name)
            .bind(now())
            .execute(pool)
            .await
            .map_err(StoreError::db("create an organization"))?
            .rows_affected()
                == 1
        });
        match self.organization_by_slug(slug).await? {
            Some(org) => Ok((org, created)),
            None => Err(StoreError::InvalidData {
                field: "organizations.slug",
                reason: format!("organization {slug:?} vanished right after creation"),
            }),
        }
    }

    /// Deletes an organization and, by cascade, everything it owns
    /// (customers, orders, events, keys, ...). Returns whether it existed.
    pub async fn delete_organization(&self, id: Uuid) -> Result<bool, StoreError> {
        let deleted = dispatch!(self, |pool| {
            sqlx::query("DELETE FROM organizations WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map_err(StoreError::db("delete an organization"))?
                .rows_affected()
        });
        Ok(deleted == 1)
    }
}
