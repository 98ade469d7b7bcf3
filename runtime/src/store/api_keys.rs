//! API keys: only a SHA-256 of each key is stored.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{ApiKey, Role, Store, StoreError, dispatch, now};

/// Every key starts with this.
pub const API_KEY_PREFIX: &str = "aima_";
/// Characters of the key kept in clear (in [`ApiKey::prefix`]) for display.
const DISPLAY_PREFIX_LEN: usize = API_KEY_PREFIX.len() + 8;
/// `last_used_at` is rewritten only when older than this (seconds).
const LAST_USED_RESOLUTION_S: i64 = 60;

/// `SELECT <api key columns> FROM api_keys <tail>`.
macro_rules! select_key {
    ($tail:literal) => {
        concat!(
            "SELECT id, organization_id, name, prefix, role, created_at, last_used_at, \
             revoked_at FROM api_keys ",
            $tail
        )
    };
}

/// The stored form of a key: lowercase hex SHA-256 of its text.
pub fn hash_api_key(plaintext: &str) -> String {
    hex::encode(Sha256::digest(plaintext.as_bytes()))
}

impl Store {
    /// Creates an API key for `org` and returns its metadata and the key
    /// itself: `aima_` followed by 64 hex characters (32 bytes from the OS
    /// seeded CSPRNG). The key is shown only here; the store keeps its
    /// SHA-256 ([`hash_api_key`]) and its first characters for display.
    pub async fn create_api_key(
        &self,
        org: Uuid,
        name: &str,
        role: Role,
    ) -> Result<(ApiKey, String), StoreError> {
        let mut secret = [0u8; 32];
        rand::fill(&mut secret);
        let plaintext = format!("{API_KEY_PREFIX}{}", hex::encode(secret));
        let key = ApiKey {
            id: Uuid::now_v7(),
            organization_id: org,
            name: name.to_string(),
            prefix: plaintext[..DISPLAY_PREFIX_LEN].to_string(),
            role,
            created_at: now(),
            last_used_at: None,
            revoked_at: None,
        };
        dispatch!(self, |pool| {
            sqlx::query(
                "INSERT INTO api_keys (id, organization_id, name, key_hash, prefix, role, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(key.id)
            .bind(org)
            .bind(key.name.as_str())
            .bind(hash_api_key(&plaintext))
            .bind(key.prefix.as_str())
            .bind(role.as_str())
            .bind(key.created_at)
            .execute(pool)
            .await
            .map_err(StoreError::db("create an API key"))?;
        });
        Ok((key, plaintext))
    }

    /// The key whose text is `plaintext`, if it exists and is not revoked;
    /// records the use in `last_used_at` (the returned value includes it),
    /// to the minute: a key used again within a minute is not rewritten.
    pub async fn verify_api_key(&self, plaintext: &str) -> Result<Option<ApiKey>, StoreError> {
        if !plaintext.starts_with(API_KEY_PREFIX) {
            return Ok(None);
        }
        let hash = hash_api_key(plaintext);
        let op = "verify an API key";
        let found: Option<ApiKey> = dispatch!(self, |pool| {
            sqlx::query_as::<_, ApiKey>(select_key!("WHERE key_hash = $1 AND revoked_at IS NULL"))
                .bind(hash.as_str())
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db(op))?
        });
        let Some(mut key) = found else {
            return Ok(None);
        };
        let used = now();
        // At most one write a minute per key: a busy client does not turn
        // every read into a write.
        if key
            .last_used_at
            .is_some_and(|at| used - at < chrono::Duration::seconds(LAST_USED_RESOLUTION_S))
        {
            return Ok(Some(key));
        }
        dispatch!(self, |pool| {
            sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
                .bind(key.id)
                .bind(used)
                .execute(pool)
                .await
                .map_err(StoreError::db(op))?;
        });
        key.last_used_at = Some(used);
        Ok(Some(key))
    }

    /// Whether any organization has ever had an API key (revoked ones
    /// count): `false` only for a data directory no key was made for yet.
    pub async fn has_any_api_key(&self) -> Result<bool, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM api_keys)")
                .fetch_one(pool)
                .await
                .map_err(StoreError::db("look for API keys"))
        })
    }

    /// All API keys of `org` (revoked ones included), oldest first.
    pub async fn list_api_keys(&self, org: Uuid) -> Result<Vec<ApiKey>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, ApiKey>(select_key!(
                "WHERE organization_id = $1 ORDER BY created_at, id"
            ))
            .bind(org)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("list API keys"))
        })
    }

    /// Revokes key `id` of `org`. Returns `false` when no such unrevoked key
    /// exists in `org`.
    pub async fn revoke_api_key(&self, org: Uuid, id: Uuid) -> Result<bool, StoreError> {
        dispatch!(self, |pool| {
            Ok(sqlx::query(
                "UPDATE api_keys SET revoked_at = $3 \
                 WHERE organization_id = $1 AND id = $2 AND revoked_at IS NULL",
            )
            .bind(org)
            .bind(id)
            .bind(now())
            .execute(pool)
            .await
            .map_err(StoreError::db("revoke an API key"))?
            .rows_affected()
                == 1)
        })
    }
}
