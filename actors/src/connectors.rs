//! Connectors: data sources an organization registers once and the
//! scheduler pulls from every 30 minutes (`connector_sync`, run by the
//! ingest actor), each sync one import.
//!
//! Kinds:
//! - `google_sheets`: `config.url` is a sheet's share link ("anyone with
//!   the link"); no credentials.
//! - `csv_url`: `config.url` is an http(s) URL answering a CSV (or XLSX)
//!   export; `credentials.headers` (optional) are sent with the request,
//!   e.g. `{"Authorization": "Bearer ..."}`. Credentials are stored
//!   encrypted and read only here, at sync time.
//!
//! A sync that works sets the connector's status to `ok` and its
//! `last_sync_at`; one that fails sets `error: <why>` and fails the job
//! (the other connectors still sync).

use std::sync::Arc;

use aima_ingest::pipeline::{self, ImportOptions};
use aima_ingest::source::sheets_export_url;
use aima_runtime::store::{Connector, NewConnector, SecretKey, Store};
use async_trait::async_trait;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::jobs::{JobFailure, JobKind, JobRunner, Progress};

/// The kinds that can be created and synced.
pub const CONNECTOR_KINDS: [&str; 2] = ["google_sheets", "csv_url"];

/// Status of a connector whose last sync worked.
pub const CONNECTOR_OK: &str = "ok";

/// Why a new connector is refused: the field (a JSON pointer) and what is
/// wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConnectorRejected {
    /// The offending field, e.g. `/config/url`.
    pub field: &'static str,
    /// What is wrong and what is expected.
    pub message: String,
}

fn reject(field: &'static str, message: impl Into<String>) -> ConnectorRejected {
    ConnectorRejected {
        field,
        message: message.into(),
    }
}

/// Checks a connector before it is stored: a known kind, a name, a URL of
/// the right form, credentials of the right shape (`sheets_export_base` as
/// in the config, to recognise sheet links).
///
/// # Errors
/// [`ConnectorRejected`] naming the field.
pub fn check_new_connector(
    new: &NewConnector,
    sheets_export_base: &str,
) -> Result<(), ConnectorRejected> {
    if !CONNECTOR_KINDS.contains(&new.kind.as_str()) {
        return Err(reject(
            "/kind",
            format!(
                "`{}` is not a connector kind this version can sync (kinds: {})",
                new.kind,
                CONNECTOR_KINDS.join(", ")
            ),
        ));
    }
    if new.name.trim().is_empty() || new.name.chars().count() > 100 {
        return Err(reject("/name", "a name of 1 to 100 characters"));
    }
    let url = new
        .config
        .get("url")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(reject("/config/url", "an http(s) URL"));
    }
    if new.kind == "google_sheets" && sheets_export_url(url, sheets_export_base).is_none() {
        return Err(reject(
            "/config/url",
            "a Google Sheets link (https://docs.google.com/spreadsheets/d/...)",
        ));
    }
    match (&new.kind[..], &new.credentials) {
        (_, Value::Null) => Ok(()),
        ("google_sheets", Value::Object(m)) if m.is_empty() => Ok(()),
        ("google_sheets", _) => Err(reject(
            "/credentials",
            "none: a sheet is read through its share link",
        )),
        (_, creds) => headers_of(creds).map(|_| ()),
    }
}

/// The `headers` object of a `csv_url` connector's credentials.
fn headers_of(credentials: &Value) -> Result<Vec<(String, String)>, ConnectorRejected> {
    let Some(obj) = credentials.as_object() else {
        return Err(reject(
            "/credentials",
            "an object like {\"headers\": {...}}",
        ));
    };
    if let Some(other) = obj.keys().find(|k| *k != "headers") {
        return Err(reject(
            "/credentials",
            format!("unknown field `{other}` (expected `headers`)"),
        ));
    }
    let Some(headers) = obj.get("headers") else {
        return Ok(Vec::new());
    };
    let Some(headers) = headers.as_object() else {
        return Err(reject(
            "/credentials/headers",
            "an object of header names to text values",
        ));
    };
    headers
        .iter()
        .map(|(k, v)| match v.as_str() {
            Some(text) => Ok((k.clone(), text.to_owned())),
            None => Err(reject(
                "/credentials/headers",
                format!("`{k}` must be text"),
            )),
        })
        .collect()
}

/// Runs `connector_sync` jobs.
pub struct ConnectorSync {
    store: Store,
    secret: SecretKey,
    sheets_export_base: String,
}

impl ConnectorSync {
    /// A runner reading credentials with `secret` and rewriting sheet links
    /// against `sheets_export_base`.
    pub fn new(store: Store, secret: SecretKey, sheets_export_base: &str) -> Arc<ConnectorSync> {
        Arc::new(ConnectorSync {
            store,
            secret,
            sheets_export_base: sheets_export_base.to_owned(),
        })
    }

    /// Downloads and imports one connector's data.
    async fn sync(&self, org: Uuid, connector: &Connector) -> Result<Value, String> {
        let url = connector
            .config
            .get("url")
            .and_then(Value::as_str)
            .ok_or("the connector has no `config.url`")?;
        let fetch = match connector.kind.as_str() {
            "google_sheets" => sheets_export_url(url, &self.sheets_export_base)
                .ok_or("`config.url` is not a Google Sheets link")?,
            "csv_url" => url.to_owned(),
            other => return Err(format!("connector kind `{other}` cannot sync")),
        };
        let credentials = self
            .store
            .connector_credentials(org, connector.id, &self.secret)
            .await
            .map_err(|e| e.to_string())?
            .unwrap_or(Value::Null);
        let headers = match credentials {
            Value::Null => Vec::new(),
            ref c if c.as_object().is_some_and(serde_json::Map::is_empty) => Vec::new(),
            c => headers_of(&c).map_err(|e| e.to_string())?,
        };
        let file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
        let dest = file.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            aima_ingest::source::download_with(&fetch, &dest, &headers)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        let options = ImportOptions {
            source_name: format!("connector {} ({url})", connector.name),
            ..ImportOptions::default()
        };
        let report = pipeline::import(&self.store, org, file.path(), &options, &mut |_, _| {})
            .await
            .map_err(|e| e.to_string())?;
        Ok(json!({
            "connector": connector.id,
            "name": connector.name,
            "customers_created": report.customers_created,
            "customers_updated": report.customers_updated,
            "orders_created": report.orders_created,
            "orders_updated": report.orders_updated,
            "rows_rejected": report.rows_rejected.len(),
        }))
    }
}

#[async_trait]
impl JobRunner for ConnectorSync {
    async fn run(
        &self,
        kind: JobKind,
        org: Option<Uuid>,
        progress: Progress,
    ) -> Result<Value, JobFailure> {
        if kind != JobKind::ConnectorSync {
            return Err(JobFailure {
                message: format!("the connector runner does not run {kind} jobs"),
            });
        }
        let store_failure = |e: aima_runtime::store::StoreError| JobFailure {
            message: e.to_string(),
        };
        let orgs = match org {
            Some(o) => vec![o],
            None => self
                .store
                .list_organizations()
                .await
                .map_err(store_failure)?
                .into_iter()
                .map(|o| o.id)
                .collect(),
        };
        let mut connectors = Vec::new();
        for o in orgs {
            for c in self.store.list_connectors(o).await.map_err(store_failure)? {
                connectors.push((o, c));
            }
        }
        let total = connectors.len() as u64;
        let (mut synced, mut failed) = (Vec::new(), Vec::new());
        for (done, (o, c)) in connectors.iter().enumerate() {
            progress.report("connectors", done as u64, total);
            match self.sync(*o, c).await {
                Ok(details) => {
                    let now = chrono::Utc::now();
                    self.store
                        .set_connector_status(*o, c.id, CONNECTOR_OK, Some(now))
                        .await
                        .map_err(store_failure)?;
                    synced.push(details);
                }
                Err(why) => {
                    self.store
                        .set_connector_status(*o, c.id, &format!("error: {why}"), None)
                        .await
                        .map_err(store_failure)?;
                    failed.push(format!("{}: {why}", c.name));
                }
            }
        }
        progress.report("connectors", total, total);
        if failed.is_empty() {
            Ok(json!({ "synced": synced }))
        } else {
            Err(JobFailure {
                message: format!(
                    "{} of {total} connectors failed ({}); the others synced",
                    failed.len(),
                    failed.join("; ")
                ),
            })
        }
    }
}
