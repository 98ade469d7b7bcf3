//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the benchmark.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The world could not be generated.
    #[error("world: {message}")]
    World {
        /// What went wrong.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A CSV file could not be written.
    #[error("{}: {source}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: csv::Error,
    },
    /// A task file is not valid.
    #[error("task file {}{}: {message}", path.display(), task.as_deref().map(|t| format!(", task '{t}'")).unwrap_or_default())]
    Task {
        /// The file.
        path: PathBuf,
        /// The task's id, when known.
        task: Option<String>,
        /// What is wrong (naming the field).
        message: String,
    },
    /// An oracle fact cannot be computed.
    #[error("oracle fact {fact}: {message}")]
    Fact {
        /// The fact's name.
        fact: String,
        /// Why.
        message: String,
    },
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] aima_runtime::store::StoreError),
    /// The actor runtime failed.
    #[error("actor runtime: {0}")]
    Runtime(String),
    /// The analyses failed.
    #[error("analyses: {0}")]
    Intelligence(String),
    /// The planner could not start a turn.
    #[error("planner: {0}")]
    Planner(String),
    /// A report could not be serialized.
    #[error("report: {0}")]
    Json(#[from] serde_json::Error),
}
