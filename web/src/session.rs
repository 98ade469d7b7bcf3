//! Browser sessions: `POST /login` with an API key, or with a user's e-mail
//! and password, sets an HttpOnly, SameSite=Strict session cookie; the API
//! and the pages then accept the browser's requests with the key's (or
//! user's) organization and role. A request
//! authenticated by the cookie that changes something (any method but GET,
//! HEAD and OPTIONS) must repeat the session's CSRF token in the
//! `X-CSRF-Token` header (the token is in the readable `aima_csrf` cookie):
//! a page of another site can neither read it nor set the header.
//!
//! Sessions live in the server's memory for [`SESSION_TTL`]; the key (or
//! user) is checked again on every request, so revoking the key (disabling
//! the user) ends its sessions.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::{Api, Op};
use crate::state::AppState;

/// The session cookie (HttpOnly).
pub const SESSION_COOKIE: &str = "aima_session";
/// The CSRF cookie (readable by the pages' scripts).
pub const CSRF_COOKIE: &str = "aima_csrf";
/// The header that must repeat the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts after sign-in.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// What a session was signed in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SessionAuth {
    /// An API key (kept in the server's memory only).
    Key(String),
    /// A user, by id.
    User(uuid::Uuid),
}

struct Session {
    auth: SessionAuth,
    csrf: String,
    expires: Instant,
}

/// The signed-in browsers.
#[derive(Default)]
pub struct Sessions {
    by_token: Mutex<HashMap<String, Session>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

impl Sessions {
    /// A new session for `auth`: its token and CSRF token.
    fn create(&self, auth: SessionAuth) -> (String, String) {
        let token = random_token();
        let csrf = random_token();
        let mut map = self.by_token.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        map.retain(|_, s| s.expires > now);
        map.insert(
            token.clone(),
            Session {
                auth,
                csrf: csrf.clone(),
                expires: now + SESSION_TTL,
            },
        );
        (token, csrf)
    }

    /// What a live session was signed in with, and its CSRF token.
    fn get(&self, token: &str) -> Option<(SessionAuth, String)> {
        let map = self.by_token.lock().unwrap_or_else(|p| p.into_inner());
        map.get(token)
            .filter(|s| s.expires > Instant::now())
            .map(|s| (s.auth.clone(), s.csrf.clone()))
    }

    fn remove(&self, token: &str) {
        let mut map = self.by_token.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(token);
    }
}

/// The value of cookie `name` in `headers`.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// What the request's session was signed in with, when it has a live one.
/// With a state-changing method the `X-CSRF-Token` header must repeat the
/// session's token, else [`ApiError::CsrfMismatch`].
pub(crate) fn session_auth(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<SessionAuth>, ApiError> {
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some((auth, csrf)) = state.sessions().get(token) else {
        return Ok(None);
    };
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if sent != Some(csrf.as_str()) {
            return Err(ApiError::CsrfMismatch);
        }
    }
    Ok(Some(auth))
}

/// The caller of a dashboard page: a signed-in browser. Without a live
/// session the page answers with a redirect to `/login?next=<path>`.
#[derive(Debug, Clone, Copy)]
pub struct PageCaller(pub Caller);

impl FromRequestParts<AppState> for PageCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match Caller::from_request_parts(parts, state).await {
            Ok(caller) => Ok(PageCaller(caller)),
            Err(ApiError::Unauthenticated { .. }) => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_owned();
                Err(Redirect::to(&format!("/login?next={}", encode(&next))).into_response())
            }
            Err(other) => Err(other.into_response()),
        }
    }
}

/// Percent-encodes everything but unreserved characters and `/`.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where to go after sign-in: a local path only (never another site).
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p,
        _ => "/",
    }
}

pub(crate) fn routes(api: Api) -> Api {
    api.add(
        Op::post("/login", "session", "Sign a browser in")
            .describe(
                "Form fields `key` (an API key), or `email` and `password` (a user made with \
                 `aima users create`), and `next` (a local path). Sets the HttpOnly session \
                 cookie and the CSRF cookie and redirects (303) to `next`; bad credentials \
                 redirect back to /login?error=1.",
            )
            .returns_text("text/html"),
        post(login),
    )
    .add(
        Op::post("/logout", "session", "Sign the browser out")
            .describe("Ends the session and clears its cookies; redirects to /login.")
            .returns_text("text/html"),
        post(logout),
    )
}

/// The sign-in form: a key, or an e-mail and a password.
#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    next: Option<String>,
}

fn set_cookie(name: &str, value: &str, http_only: bool, max_age: u64) -> HeaderValue {
    let http_only = if http_only { "; HttpOnly" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; SameSite=Strict; Max-Age={max_age}{http_only}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

async fn login(State(state): State<AppState>, Form(form): Form<LoginForm>) -> Response {
    let next = local_path(form.next.as_deref()).to_owned();
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|t| t.trim().is_empty());
    let verified = if !blank(&form.key) {
        let key = form.key.as_deref().unwrap_or_default().trim().to_owned();
        state
            .store()
            .verify_api_key(&key)
            .await
            .map(|found| found.map(|_| SessionAuth::Key(key)))
    } else if !blank(&form.email) && form.password.as_deref().is_some_and(|p| !p.is_empty()) {
        let email = form.email.as_deref().unwrap_or_default();
        let password = form.password.as_deref().unwrap_or_default();
        state
            .store()
            .verify_user_password(email, password)
            .await
            .map(|found| found.map(|u| SessionAuth::User(u.id)))
    } else {
        Ok(None)
    };
    match verified {
        Ok(Some(auth)) => {
            let (token, csrf) = state.sessions().create(auth);
            let ttl = SESSION_TTL.as_secs();
            let mut response = Redirect::to(&next).into_response();
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &token, true, ttl),
            );
            headers.append(
                header::SET_COOKIE,
                set_cookie(CSRF_COOKIE, &csrf, false, ttl),
            );
            response
        }
        Ok(None) => Redirect::to(&format!("/login?error=1&next={}", encode(&next))).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state.sessions().remove(token);
    }
    let mut response = Redirect::to("/login").into_response();
    let h = response.headers_mut();
    h.append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", true, 0));
    h.append(header::SET_COOKIE, set_cookie(CSRF_COOKIE, "", false, 0));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path(Some("/customers?q=a")), "/customers?q=a");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "evil"] {
            assert_eq!(local_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; aima_session=tok; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
