//! Dashboard users: an e-mail and a password with a role in one
//! organization. Only an Argon2id hash (PHC string, random salt) of each
//! password is stored.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use uuid::Uuid;

use super::{Role, Store, StoreError, User, dispatch, now};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// `SELECT <user columns> FROM users <tail>`.
macro_rules! select_user {
    ($tail:literal) => {
        concat!(
            "SELECT id, organization_id, email, role, created_at, disabled_at FROM users ",
            $tail
        )
    };
}

/// The Argon2id PHC string of `password` (runs on a blocking thread: it
/// takes tens of milliseconds of CPU by design).
async fn hash(password: String) -> Result<String, StoreError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| StoreError::InvalidData {
                field: "password",
                reason: e.to_string(),
            })
    })
    .await
    .map_err(|e| StoreError::InvalidData {
        field: "password",
        reason: e.to_string(),
    })?
}

/// Whether `password` matches the PHC string `stored`.
async fn matches(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

impl Store {
    /// Creates a user of `org` with `email` (trimmed; unique across
    /// organizations, compared case-insensitively) and `password` (at least
    /// [`MIN_PASSWORD_CHARS`] characters).
    ///
    /// # Errors
    /// [`StoreError::InvalidData`] for a malformed e-mail or a short
    /// password, [`StoreError::Conflict`] when the e-mail is taken.
    pub async fn create_user(
        &self,
        org: Uuid,
        email: &str,
        password: &str,
        role: Role,
    ) -> Result<User, StoreError> {
        let email = email.trim();
        if email.len() > 254 || !email.contains('@') || email.chars().any(char::is_whitespace) {
            return Err(StoreError::InvalidData {
                field: "email",
                reason: format!("{email:?} is not an e-mail address"),
            });
        }
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(StoreError::InvalidData {
                field: "password",
                reason: format!("use at least {MIN_PASSWORD_CHARS} characters"),
            });
        }
        let user = User {
            id: Uuid::now_v7(),
            organization_id: org,
            email: email.to_owned(),
            role,
            created_at: now(),
            disabled_at: None,
        };
        let password_hash = hash(password.to_owned()).await?;
        let email_lower = email.to_lowercase();
        dispatch!(self, |pool| {
            sqlx::query(
                "INSERT INTO users (id, organization_id, email, email_lower, password_hash, role, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(user.id)
            .bind(org)
            .bind(user.email.as_str())
            .bind(email_lower.as_str())
            .bind(password_hash.as_str())
            .bind(role.as_str())
            .bind(user.created_at)
            .execute(pool)
            .await
            .map_err(StoreError::db_or_conflict("create a user", || {
                format!("a user with e-mail {email}")
            }))?;
        });
        Ok(user)
    }

    /// The enabled user whose e-mail is `email` (case-insensitive) when
    /// `password` is theirs. An unknown e-mail costs the same hashing time
    /// as a wrong password, so answers do not tell which e-mails exist.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn verify_user_password(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Option<User>, StoreError> {
        let email_lower = email.trim().to_lowercase();
        let row: Option<(Uuid, String)> = dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT id, password_hash FROM users WHERE email_lower = $1 AND disabled_at IS NULL",
            )
            .bind(email_lower.as_str())
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("verify a password"))?
        });
        let Some((id, stored)) = row else {
            // The same work as a real check.
            let _ = hash(password.to_owned()).await;
            return Ok(None);
        };
        if !matches(password.to_owned(), stored).await {
            return Ok(None);
        }
        self.user(id).await
    }

    /// User `id` if it exists and is enabled.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn user(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, User>(select_user!("WHERE id = $1 AND disabled_at IS NULL"))
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read a user"))
        })
    }

    /// Every user of `org` (disabled ones included), oldest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn list_users(&self, org: Uuid) -> Result<Vec<User>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as::<_, User>(select_user!(
                "WHERE organization_id = $1 ORDER BY created_at, id"
            ))
            .bind(org)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("list users"))
        })
    }

    /// Disables user `id` of `org` (they can no longer sign in, and their
    /// sessions end); `false` when `org` has no such enabled user.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn disable_user(&self, org: Uuid, id: Uuid) -> Result<bool, StoreError> {
        let at = now();
        dispatch!(self, |pool| {
            Ok(sqlx::query(
                "UPDATE users SET disabled_at = $3 WHERE organization_id = $1 AND id = $2 \
                 AND disabled_at IS NULL",
            )
            .bind(org)
            .bind(id)
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("disable a user"))?
            .rows_affected()
                == 1)
        })
    }
}
