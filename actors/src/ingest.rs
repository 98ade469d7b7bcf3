//! The ingest actor's front door: file imports run inside the supervised
//! ingest actor through [`aima_ingest::pipeline::import`], each recorded as an
//! `import` job.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aima_ingest::pipeline::ImportOptions;
use ractor::rpc::CallResult;
use uuid::Uuid;

use crate::slot::Slot;
use crate::worker::{ImportDone, WorkerMsg};

/// Why an import through the ingest actor did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The ingest actor is down or restarting, or stopped during the import
    /// (the import is one transaction: nothing was written); retry.
    #[error("the import is unavailable ({reason}); retry")]
    Unavailable {
        /// What is wrong.
        reason: String,
    },
    /// No answer within the import timeout (the import may still finish).
    #[error("the import did not finish within {after_ms} ms")]
    Timeout {
        /// The timeout, in milliseconds.
        after_ms: u64,
    },
    /// The import ran and failed (the file, the mapping, strict mode ...).
    #[error("import failed (job {job_id}): {message}")]
    Import {
        /// The import's row in the jobs table.
        job_id: Uuid,
        /// The pipeline's error text.
        message: String,
    },
    /// The import could not be recorded in the jobs table.
    #[error("the import could not be recorded: {message}")]
    Store {
        /// The store's error text.
        message: String,
    },
}

/// Sends imports to the ingest actor. Cheap to clone.
#[derive(Clone)]
pub struct IngestHandle {
    pub(crate) slot: Arc<Slot<WorkerMsg>>,
    pub(crate) timeout: Duration,
}

impl std::fmt::Debug for IngestHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestHandle")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl IngestHandle {
    /// Imports `path` into `org` (see [`aima_ingest::pipeline::import`]),
    /// recorded as an `import` job started by `trigger` (`manual`, `api`,
    /// ...). Fails fast with [`ImportError::Unavailable`] while the ingest
    /// actor is restarting.
    pub async fn import(
        &self,
        org: Uuid,
        path: PathBuf,
        options: ImportOptions,
        trigger: &str,
    ) -> Result<ImportDone, ImportError> {
        self.import_with_progress(org, path, options, trigger, None)
            .await
    }

    /// [`IngestHandle::import`], sending (rows read, data rows in the file)
    /// to `progress` as the file is read (every 10,000 rows and at the end
    /// of the read).
    pub async fn import_with_progress(
        &self,
        org: Uuid,
        path: PathBuf,
        options: ImportOptions,
        trigger: &str,
        progress: Option<tokio::sync::mpsc::UnboundedSender<(u64, u64)>>,
    ) -> Result<ImportDone, ImportError> {
        let actor = self
            .slot
            .get()
            .map_err(|reason| ImportError::Unavailable { reason })?;
        let sent = actor
            .call(
                |reply| WorkerMsg::Import {
                    org,
                    path,
                    options: Box::new(options),
                    trigger: trigger.to_owned(),
                    progress,
                    reply,
                },
                Some(self.timeout),
            )
            .await;
        match sent {
            Ok(CallResult::Success(result)) => result,
            Ok(CallResult::Timeout) => Err(ImportError::Timeout {
                after_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            }),
            Ok(CallResult::SenderError) => Err(ImportError::Unavailable {
                reason: "the ingest actor stopped during the import and is restarting; \
                         nothing was written"
                    .to_owned(),
            }),
            Err(_) => Err(ImportError::Unavailable {
                reason: "the ingest actor is restarting".to_owned(),
            }),
        }
    }
}
