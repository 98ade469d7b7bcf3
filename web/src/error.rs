//! The one error type of the web edge, its JSON shape and its HTTP status.

use aima_runtime::registry::ToolError;
use aima_runtime::store::{Role, StoreError};
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;

/// Why a request failed. Every response that is not a success carries
/// [`ErrorBody`]; [`ApiError::status`] is the one place that maps a variant
/// to its HTTP status.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// The request cannot be read: malformed JSON, a bad query string or
    /// path segment (400).
    #[error("{message}")]
    BadRequest {
        /// What is wrong, naming the field where known.
        message: String,
        /// JSON pointer or parameter name of the offending field.
        field: Option<String>,
    },
    /// The request is well-formed but a value is not acceptable: a wrong
    /// type, an unknown field, a number out of range (422).
    #[error("{message}")]
    Invalid {
        /// What is wrong and what was expected.
        message: String,
        /// JSON pointer or parameter name of the offending field.
        field: Option<String>,
    },
    /// No usable credentials (401).
    #[error("{message}")]
    Unauthenticated {
        /// What is missing or wrong.
        message: String,
    },
    /// The key's role may not do this (403).
    #[error("this needs the {needed} role; the key has {have}")]
    Forbidden {
        /// The least role that may.
        needed: Role,
        /// The caller's role.
        have: Role,
    },
    /// A request authenticated by the session cookie changes something but
    /// does not repeat the session's CSRF token (403).
    #[error(
        "this request needs the `X-CSRF-Token` header with the value of the `aima_csrf` cookie"
    )]
    CsrfMismatch,
    /// Nothing of this organization has that id or name (404).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. "customer 0193...".
        what: String,
    },
    /// The method is not one the path answers (405).
    #[error("{method} is not allowed here")]
    MethodNotAllowed {
        /// The request's method.
        method: String,
    },
    /// The request conflicts with the current state, e.g. a paused
    /// conversation asked a new question (409).
    #[error("{message}")]
    Conflict {
        /// What conflicts.
        message: String,
    },
    /// The body is larger than the endpoint accepts (413).
    #[error("the request body is larger than the {limit_bytes} bytes this endpoint accepts")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit_bytes: usize,
    },
    /// The body's content type is not one the endpoint reads (415).
    #[error("{message}")]
    UnsupportedMediaType {
        /// What was expected.
        message: String,
    },
    /// The module behind the endpoint is not built yet (501).
    #[error("{message}")]
    NotImplemented {
        /// What is missing, naming the module.
        message: String,
    },
    /// A module actor is restarting; the request was not run (503).
    #[error("{message}")]
    Unavailable {
        /// What is unavailable.
        message: String,
    },
    /// The answer did not come in time (504).
    #[error("{message}")]
    Timeout {
        /// What timed out.
        message: String,
    },
    /// A fault on our side (500); the details are in the server log.
    #[error("internal error: {message}")]
    Internal {
        /// A short description safe to show.
        message: String,
    },
}

/// The JSON body of every error response: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// One error.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code (`bad_request`, `invalid_argument`,
    /// `unauthenticated`, `forbidden`, `csrf`, `not_found`, `method_not_allowed`,
    /// `conflict`, `payload_too_large`, `unsupported_media_type`,
    /// `not_implemented`, `unavailable`, `timeout`, `internal`).
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
    /// The offending field (a JSON pointer such as `/limit`, or a query
    /// parameter name), when one is to blame.
    pub field: Option<String>,
}

impl ApiError {
    /// The HTTP status and stable code of this error.
    pub fn status(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { .. } => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_argument"),
            ApiError::Unauthenticated { .. } => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::CsrfMismatch => (StatusCode::FORBIDDEN, "csrf"),
            ApiError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed { .. } => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            }
            ApiError::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            ApiError::PayloadTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            ApiError::UnsupportedMediaType { .. } => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::NotImplemented { .. } => (StatusCode::NOT_IMPLEMENTED, "not_implemented"),
            ApiError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Timeout { .. } => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
            ApiError::Internal { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The body this error is answered with.
    pub fn body(&self) -> ErrorBody {
        let field = match self {
            ApiError::BadRequest { field, .. } | ApiError::Invalid { field, .. } => field.clone(),
            _ => None,
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.status().1,
                message: self.to_string(),
                field,
            },
        }
    }

    /// A 500 for `what` failing with `detail`; the detail goes to the
    /// server log, the client sees `what`.
    pub fn internal(what: &str, detail: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(target: "aima::http", what, detail = %detail, "internal error");
        ApiError::Internal {
            message: format!("{what} failed; see the server log"),
        }
    }

    /// An [`ApiError::Invalid`] about `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid {
            message: message.into(),
            field: Some(field.to_owned()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _) = self.status();
        let mut response = (status, Json(self.body())).into_response();
        match &self {
            ApiError::Unauthenticated { .. } => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"aima\""),
                );
            }
            ApiError::Unavailable { .. } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

impl From<ToolError> for ApiError {
    fn from(e: ToolError) -> ApiError {
        let message = e.to_string();
        match e {
            ToolError::InvalidArguments { field, .. } => ApiError::Invalid {
                message,
                field: Some(field),
            },
            ToolError::NotImplemented { .. } => ApiError::NotImplemented { message },
            ToolError::Unavailable { .. } => ApiError::Unavailable { message },
            ToolError::Timeout { .. } => ApiError::Timeout { message },
            // The tool ran and refused the request (no such customer, no
            // segmentation yet ...): its message is written for the caller.
            ToolError::Failed { .. } => ApiError::Invalid {
                message,
                field: None,
            },
            ToolError::UnknownTool { .. } => ApiError::internal("tool dispatch", &message),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::InvalidData { field, reason } => ApiError::Invalid {
                message: format!("{field}: {reason}"),
                field: Some(field.to_owned()),
            },
            other => ApiError::internal("the database request", &other),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        match r {
            JsonRejection::JsonDataError(e) => {
                let text = e.body_text();
                ApiError::Invalid {
                    field: json_path(&text),
                    message: text,
                }
            }
            JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest {
                message: e.body_text(),
                field: None,
            },
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType {
                message: "the body must be JSON, sent with `Content-Type: application/json`"
                    .to_owned(),
            },
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge {
                limit_bytes: crate::JSON_BODY_LIMIT,
            },
            other => ApiError::BadRequest {
                message: other.body_text(),
                field: None,
            },
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        let text = r.body_text();
        // "Failed to deserialize query string: <parameter>: <what>".
        let field = text
            .split_once("query string: ")
            .and_then(|(_, rest)| rest.split_once(": "))
            .map(|(name, _)| name.to_owned())
            .filter(|name| !name.contains(' '));
        ApiError::Invalid {
            message: text,
            field,
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        ApiError::BadRequest {
            message: r.body_text(),
            field: None,
        }
    }
}

/// The field path serde_path_to_error puts before the first ": " of a JSON
/// data error ("Failed to deserialize the JSON body into the target type:
/// limit: invalid type ..."), as a JSON pointer.
fn json_path(text: &str) -> Option<String> {
    let rest = text.split_once("target type: ")?.1;
    let (path, _) = rest.split_once(": ")?;
    if path.contains(' ') || path == "." {
        return None;
    }
    Some(format!("/{}", path.replace('.', "/")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn data_errors_name_the_field_as_a_pointer() {
        assert_eq!(
            json_path(
                "Failed to deserialize the JSON body into the target type: limit: invalid type: \
                 string \"x\", expected u32 at line 1 column 14"
            )
            .as_deref(),
            Some("/limit")
        );
        assert_eq!(
            json_path("Failed to deserialize the JSON body into the target type: a.b: bad")
                .as_deref(),
            Some("/a/b")
        );
        assert_eq!(
            json_path(
                "Failed to deserialize the JSON body into the target type: missing field `x` at line 1"
            ),
            None
        );
    }
}
