//! Connectors to external systems, with their credentials encrypted at rest
//! (see [`super::secrets`]).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::secrets::SecretKey;
use super::{Connector, NewConnector, Store, StoreError, dispatch, now};

/// The status of a newly created connector.
pub const CONNECTOR_STATUS_NEW: &str = "active";

/// `SELECT <connector columns, never the credentials> FROM connectors <tail>`.
macro_rules! select_connector {
    ($tail:literal) => {
        concat!(
            "SELECT id, organization_id, kind, name, config, status, last_sync_at, created_at \
             FROM connectors ",
            $tail
        )
    };
}

/// The stored ciphertext and nonce of one connector's credentials.
type SealedRow = (Option<Vec<u8>>, Option<Vec<u8>>);

impl Store {
    /// Creates a connector of `org` with status [`CONNECTOR_STATUS_NEW`] and
    /// no sync yet. `new.credentials` is serialized to JSON and encrypted
    /// with `key` (XChaCha20-Poly1305, random nonce, `org` as associated
    /// data); only the ciphertext and nonce are stored. The returned value
    /// does not contain the credentials.
    pub async fn create_connector(
        &self,
        org: Uuid,
        key: &SecretKey,
        new: NewConnector,
    ) -> Result<Connector, StoreError> {
        let plaintext =
            serde_json::to_vec(&new.credentials).map_err(|e| StoreError::InvalidData {
                field: "credentials",
                reason: e.to_string(),
            })?;
        let (ciphertext, nonce) =
            key.encrypt(org, &plaintext)
                .map_err(|_| StoreError::Encrypt {
                    what: "connector credentials".to_string(),
                })?;
        let connector = Connector {
            id: Uuid::now_v7(),
            organization_id: org,
            kind: new.kind,
            name: new.name,
            config: new.config,
            status: CONNECTOR_STATUS_NEW.to_string(),
            last_sync_at: None,
            created_at: now(),
        };
        dispatch!(self, |pool| {
            sqlx::query(
                "INSERT INTO connectors (id, organization_id, kind, name, credentials_ciphertext, \
                 credentials_nonce, config, status, last_sync_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(connector.id)
            .bind(org)
            .bind(connector.kind.as_str())
            .bind(connector.name.as_str())
            .bind(ciphertext.as_slice())
            .bind(nonce.as_slice())
            .bind(Json(&connector.config))
            .bind(connector.status.as_str())
            .bind(connector.last_sync_at)
            .bind(connector.created_at)
            .execute(pool)
            .await
            .map_err(StoreError::db("create a connector"))?;
        });
        Ok(connector)
    }

    /// All connectors of `org`, oldest first (without credentials).
    pub async fn list_connectors(&self, org: Uuid) -> Result<Vec<Connector>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, Connector>(select_connector!(
                "WHERE organization_id = $1 ORDER BY created_at, id"
            ))
            .bind(org)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("list connectors"))
        })
    }

    /// The decrypted credentials of connector `id` of `org`, or `None` when
    /// `org` has no such connector. A connector stored without credentials
    /// reads as `Some(Value::Null)`. A `key` other than the one that created
    /// it (or a row altered or moved to another organization) is
    /// [`StoreError::Decrypt`]; it never yields wrong plaintext.
    pub async fn connector_credentials(
        &self,
        org: Uuid,
        id: Uuid,
        key: &SecretKey,
    ) -> Result<Option<Value>, StoreError> {
        let row: Option<SealedRow> = dispatch!(self, |pool| {
            sqlx::query_as::<_, SealedRow>(
                "SELECT credentials_ciphertext, credentials_nonce FROM connectors \
                 WHERE organization_id = $1 AND id = $2",
            )
            .bind(org)
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("read connector credentials"))?
        });
        let (ciphertext, nonce) = match row {
            None => return Ok(None),
            Some((None, None)) => return Ok(Some(Value::Null)),
            Some((Some(ciphertext), Some(nonce))) => (ciphertext, nonce),
            Some(_) => {
                return Err(StoreError::InvalidData {
                    field: "credentials_nonce",
                    reason: format!(
                        "connector {id} has only one of credentials_ciphertext and \
                         credentials_nonce"
                    ),
                });
            }
        };
        let plaintext = key
            .decrypt(org, &ciphertext, &nonce)
            .map_err(|_| StoreError::Decrypt {
                what: format!("the credentials of connector {id}"),
            })?;
        serde_json::from_slice(&plaintext)
            .map(Some)
            .map_err(|e| StoreError::InvalidData {
                field: "credentials",
                reason: format!("connector {id}: decrypted credentials are not JSON: {e}"),
            })
    }

    /// Deletes connector `id` of `org`. Returns `false` when `org` has no
    /// such connector.
    pub async fn delete_connector(&self, org: Uuid, id: Uuid) -> Result<bool, StoreError> {
        dispatch!(self, |pool| {
            Ok(
                sqlx::query("DELETE FROM connectors WHERE organization_id = $1 AND id = $2")
                    .bind(org)
                    .bind(id)
                    .execute(pool)
                    .await
                    .map_err(StoreError::db("delete a connector"))?
                    .rows_affected()
                    == 1,
            )
        })
    }

    /// Sets the status of connector `id` of `org` and, when `last_sync_at`
    /// is `Some`, its last sync time (`None` keeps the stored time). Returns
    /// `false` when `org` has no such connector.
    pub async fn set_connector_status(
        &self,
        org: Uuid,
        id: Uuid,
        status: &str,
        last_sync_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        dispatch!(self, |pool| {
            Ok(sqlx::query(
                "UPDATE connectors SET status = $3, last_sync_at = COALESCE($4, last_sync_at) \
                 WHERE organization_id = $1 AND id = $2",
            )
            .bind(org)
            .bind(id)
            .bind(status)
            .bind(last_sync_at)
            .execute(pool)
            .await
            .map_err(StoreError::db("set a connector's status"))?
            .rows_affected()
                == 1)
        })
    }
}
