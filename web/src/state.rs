//! What every handler shares.

use std::path::PathBuf;
use std::sync::Arc;

use aima_actors::planner::Planner;
use aima_actors::{IngestHandle, Runtime, SchedulerHandle};
use aima_runtime::registry::Registry;
use aima_runtime::store::{SecretKey, Store};

use crate::metrics::Metrics;
use crate::session::Sessions;
use crate::turns::Hub;

/// Settings of the web edge.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// Largest import upload, in bytes (default 256 MiB).
    pub import_body_limit: usize,
    /// Where uploads are spooled before they are imported (a temporary file
    /// per upload, removed afterwards; default: the system's temporary
    /// directory).
    pub upload_dir: PathBuf,
    /// Base URL of Google Sheets exports (`sheets_export_base` in the
    /// config; tests point it at a local server).
    pub sheets_export_base: String,
}

impl Default for WebOptions {
    fn default() -> Self {
        WebOptions {
            import_body_limit: 256 * 1024 * 1024,
            upload_dir: std::env::temp_dir(),
            sheets_export_base: "https://docs.google.com".to_owned(),
        }
    }
}

/// The application state: the store, the running actor system's handles,
/// the planner and the settings. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    registry: Arc<Registry>,
    planner: Arc<Planner>,
    scheduler: SchedulerHandle,
    ingest: IngestHandle,
    secret: SecretKey,
    options: WebOptions,
    sessions: Sessions,
    hub: Hub,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over a started `runtime`: tool calls go through `registry`
    /// (the runtime's actors; [`Metrics::registry`] times them), questions
    /// to `planner`, connector credentials are sealed with `secret`.
    pub fn new(
        store: Store,
        runtime: &Runtime,
        registry: Arc<Registry>,
        planner: Arc<Planner>,
        secret: SecretKey,
        metrics: Arc<Metrics>,
        options: WebOptions,
    ) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                store,
                registry,
                planner,
                scheduler: runtime.scheduler(),
                ingest: runtime.ingest(),
                secret,
                options,
                sessions: Sessions::default(),
                hub: Hub::default(),
                metrics,
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The tool registry (calls go through the module actors).
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The M7 planner.
    pub fn planner(&self) -> &Arc<Planner> {
        &self.inner.planner
    }

    /// Job triggers.
    pub fn scheduler(&self) -> &SchedulerHandle {
        &self.inner.scheduler
    }

    /// Imports.
    pub fn ingest(&self) -> &IngestHandle {
        &self.inner.ingest
    }

    /// The key connector credentials are sealed with.
    pub fn secret(&self) -> &SecretKey {
        &self.inner.secret
    }

    /// The settings.
    pub fn options(&self) -> &WebOptions {
        &self.inner.options
    }

    /// The process's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Recent events of every planner thread.
    pub(crate) fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// The signed-in browsers.
    pub(crate) fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }
}
