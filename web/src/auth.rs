//! Who is calling: an API key (`Authorization: Bearer aima_...`, or the key
//! behind a browser's session cookie, see [`crate::session`]) names one
//! organization and a role.

use aima_runtime::store::Role;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller. Every handler that reads or writes an
/// organization's data takes one and scopes every query by
/// [`Caller::organization_id`]; extracting it checks the route's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The organization the key belongs to.
    pub organization_id: Uuid,
    /// What the key may do.
    pub role: Role,
    /// The key's id.
    pub key_id: Uuid,
}

/// The least role a route needs: set on every documented route by
/// [`crate::openapi::Api::add`] and checked when the [`Caller`] is
/// extracted (before the body is read, so a caller without the role gets
/// 403 whatever it sent).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequiredRole(pub(crate) Role);

/// Admin > analyst > viewer.
fn rank(role: Role) -> u8 {
    match role {
        Role::Viewer => 0,
        Role::Analyst => 1,
        Role::Admin => 2,
    }
}

impl Caller {
    /// `Ok` when the caller's role is `needed` or above, else
    /// [`ApiError::Forbidden`].
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if rank(self.role) >= rank(needed) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                needed,
                have: self.role,
            })
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let missing = || ApiError::Unauthenticated {
            message: "this endpoint needs an API key: send `Authorization: Bearer <key>` \
                      (create one with `aima keys create`), or sign in at /login"
                .to_owned(),
        };
        let key = match parts.headers.get(header::AUTHORIZATION) {
            Some(value) => {
                let text = value.to_str().map_err(|_| missing())?;
                text.strip_prefix("Bearer ")
                    .or_else(|| text.strip_prefix("bearer "))
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| ApiError::Unauthenticated {
                        message: "the Authorization header must be `Bearer <key>`".to_owned(),
                    })?
                    .to_owned()
            }
            None => crate::session::session_key(parts, state)?.ok_or_else(missing)?,
        };
        let Some(found) = state.store().verify_api_key(&key).await? else {
            return Err(ApiError::Unauthenticated {
                message: "the API key is unknown or revoked".to_owned(),
            });
        };
        let caller = Caller {
            organization_id: found.organization_id,
            role: found.role,
            key_id: found.id,
        };
        // The route's documented role, enforced before any body is read.
        if let Some(RequiredRole(role)) = parts.extensions.get::<RequiredRole>() {
            caller.require(*role)?;
        }
        Ok(caller)
    }
}
