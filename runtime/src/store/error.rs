//! The store's error type.

use std::path::PathBuf;

use uuid::Uuid;

/// Everything that can go wrong in the store.
///
/// No variant ever carries a database password: URLs are redacted before
/// they are stored in an error (see [`super::redact_url`]).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL's scheme is neither `sqlite:` nor `postgres:`/`postgresql:`.
    #[error(
        "unsupported database URL scheme {scheme:?} in {url}: use sqlite:<path> or postgres://..."
    )]
    UnsupportedScheme {
        /// The scheme found (text before the first `:`), or empty.
        scheme: String,
        /// The URL, password redacted.
        url: String,
    },
    /// The database URL could not be parsed.
    #[error("invalid database URL {url}: {reason}")]
    InvalidUrl {
        /// The URL, password redacted.
        url: String,
        /// Why it was rejected (password redacted).
        reason: String,
    },
    /// Connecting to the database failed.
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// The driver's message (password redacted).
        reason: String,
    },
    /// A filesystem operation (creating the data directory) failed.
    #[error("cannot prepare {}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Applying migrations failed.
    #[error("database migration failed: {source}")]
    Migrate {
        /// The underlying error.
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("database error while trying to {operation}: {source}")]
    Database {
        /// What the store was doing (e.g. "insert orders").
        operation: &'static str,
        /// The underlying error.
        source: sqlx::Error,
    },
    /// A uniqueness constraint rejected a write.
    #[error("cannot {operation}: {what} already exists")]
    Conflict {
        /// What the store was doing.
        operation: &'static str,
        /// The conflicting value, described for humans.
        what: String,
    },
    /// An organization slug is not 1..=63 characters of `[a-z0-9-]`.
    #[error(
        "invalid organization slug {slug:?}: use 1 to 63 characters of lowercase letters, digits and '-'"
    )]
    InvalidSlug {
        /// The rejected slug.
        slug: String,
    },
    /// A row the caller referred to does not exist (in the caller's organization).
    #[error("{entity} {id} not found")]
    NotFound {
        /// The kind of row ("job", "order", ...).
        entity: &'static str,
        /// Its id.
        id: Uuid,
    },
    /// A stored value could not be interpreted.
    #[error("invalid stored value for {field}: {reason}")]
    InvalidData {
        /// The column or field.
        field: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A secret key (hex text or the `secret.key` file) is malformed. The
    /// message never contains the key material.
    #[error("invalid secret key: {reason}")]
    InvalidSecretKey {
        /// What is wrong (length, character position, file), without the key.
        reason: String,
    },
    /// Encrypting a secret failed (the plaintext is too long for the cipher).
    #[error("cannot encrypt {what}")]
    Encrypt {
        /// What was being encrypted.
        what: String,
    },
    /// Decrypting a secret failed: the secret key differs from the one that
    /// encrypted it, or the ciphertext, nonce or its organization was altered.
    #[error(
        "cannot decrypt {what}: wrong secret key, or the stored data was altered or moved to another organization"
    )]
    Decrypt {
        /// What was being decrypted.
        what: String,
    },
}

impl StoreError {
    /// Maps a sqlx error to [`StoreError::Database`] for `operation`.
    pub(crate) fn db(operation: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
        move |source| StoreError::Database { operation, source }
    }

    /// Like [`StoreError::db`], but a unique violation becomes
    /// [`StoreError::Conflict`] describing `what`.
    pub(crate) fn db_or_conflict(
        operation: &'static str,
        what: impl Fn() -> String,
    ) -> impl Fn(sqlx::Error) -> StoreError {
        move |source| match &source {
            sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::Conflict {
                operation,
                what: what(),
            },
            _ => StoreError::Database { operation, source },
        }
    }
}
