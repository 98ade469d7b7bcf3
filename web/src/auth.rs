//! Who is calling: an API key (`Authorization: Bearer aima_...`, or the key
//! behind a browser's session cookie, see [`crate::session`]) names one
//! organization and a role.

use aima_runtime::store::Role;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::error::ApiError;
use crate::session::SessionAuth;
use crate::state::AppState;

/// The authenticated caller. Every handler that reads or writes an
/// organization's data takes one and scopes every query by
/// [`Caller::organization_id`]; extracting it checks the route's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The organization the key or user belongs to.
    pub organization_id: Uuid,
    /// What the caller may do.
    pub role: Role,
    /// Who is calling.
    pub principal: Principal,
}

/// Who is behind a request: an API key, or a user signed in with a
/// password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Principal {
    /// An API key (`Authorization: Bearer`, or a session signed in with it).
    ApiKey {
        /// The key's id.
        id: Uuid,
    },
    /// A dashboard user (a session signed in with e-mail and password).
    User {
        /// The user's id.
        id: Uuid,
    },
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
    /// `self` when its role suffices for the route of `parts` (its
    /// documented role, enforced before any body is read).
    fn for_route(self, parts: &Parts) -> Result<Caller, ApiError> {
        if let Some(RequiredRole(role)) = parts.extensions.get::<RequiredRole>() {
            self.require(*role)?;
        }
        Ok(self)
    }

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
            None => match crate::session::session_auth(parts, state)? {
                Some(SessionAuth::Key(key)) => key,
                Some(SessionAuth::User(id)) => {
                    let Some(user) = state.store().user(id).await? else {
                        return Err(ApiError::Unauthenticated {
                            message: "the signed-in user is disabled; sign in again".to_owned(),
                        });
                    };
                    return Caller {
                        organization_id: user.organization_id,
                        role: user.role,
                        principal: Principal::User { id: user.id },
                    }
                    .for_route(parts);
                }
                None => return Err(missing()),
            },
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
        };
        let Some(found) = state.store().verify_api_key(&key).await? else {
            return Err(ApiError::Unauthenticated {
                message: "the API key is unknown or revoked".to_owned(),
            });
        };
        Caller {
            organization_id: found.organization_id,
            role: found.role,
            principal: Principal::ApiKey { id: found.id },
        }
        .for_route(parts)
    }
}
