//! Browser sessions: sign-in with a key, the cookie on the API, CSRF on
//! writes, sign-out, and redirects that stay on this site.

use aima_runtime::store::testing::with_sqlite;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::support::{TestApp, code};

fn login(key: &str, next: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("key={key}&next={next}")))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_browser_uses_the_api_and_must_repeat_the_csrf_token() {
    with_sqlite(|ctx| async move {
        let app = TestApp::start(ctx.store.clone()).await;
        let (status, headers, _) = app.raw(login(&app.a.admin, "%2Fcustomers")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], "/customers");
        let cookies: Vec<String> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let session = cookies
            .iter()
            .find(|c| c.starts_with("aima_session="))
            .unwrap();
        assert!(
            session.contains("HttpOnly") && session.contains("SameSite=Strict"),
            "{session}"
        );
        let csrf_cookie = cookies
            .iter()
            .find(|c| c.starts_with("aima_csrf="))
            .unwrap();
        assert!(!csrf_cookie.contains("HttpOnly"), "{csrf_cookie}");
        let pair = |c: &str| c.split(';').next().unwrap().to_owned();
        let cookie = format!("{}; {}", pair(session), pair(csrf_cookie));
        let csrf = pair(csrf_cookie).split_once('=').unwrap().1.to_owned();
        let with_cookie = |method: Method, uri: &str, csrf: Option<&str>| {
            let mut r = Request::builder()
                .method(method)
                .uri(uri)
                .header(header::COOKIE, cookie.clone())
                .header(header::CONTENT_TYPE, "application/json");
            if let Some(t) = csrf {
                r = r.header("X-CSRF-Token", t);
            }
            r.body(Body::from(
                json!({"name": "from the browser", "role": "viewer"}).to_string(),
            ))
            .unwrap()
        };
        let (status, _, body) = app
            .raw(with_cookie(Method::GET, "/api/v1/organization", None))
            .await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        // A write without the token is refused; with it, it goes through.
        let (status, _, body) = app
            .raw(with_cookie(Method::POST, "/api/v1/keys", None))
            .await;
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "csrf"),
            "{body}"
        );
        let (status, _, _) = app
            .raw(with_cookie(Method::POST, "/api/v1/keys", Some("wrong")))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = app
            .raw(with_cookie(Method::POST, "/api/v1/keys", Some(&csrf)))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        // Signing out ends the session.
        let out = Request::builder()
            .method(Method::POST)
            .uri("/logout")
            .header(header::COOKIE, cookie.clone())
            .body(Body::empty())
            .unwrap();
        let (status, headers, _) = app.raw(out).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(
            headers
                .get_all(header::SET_COOKIE)
                .iter()
                .any(|v| v.to_str().unwrap().contains("Max-Age=0"))
        );
        let (status, _, _) = app
            .raw(with_cookie(Method::GET, "/api/v1/organization", None))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // A bad key goes back to the form; a foreign `next` is not followed.
        let (status, headers, _) = app.raw(login("aima_nope", "%2Fsegments")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], "/login?error=1&next=/segments");
        let (_, headers, _) = app.raw(login(&app.a.viewer, "%2F%2Fevil.example")).await;
        assert_eq!(headers[header::LOCATION], "/");
        // A revoked key's session ends too.
        let (_, headers, _) = app.raw(login(&app.a.viewer, "%2F")).await;
        let session = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("aima_session="))
            .unwrap();
        let keys = app.store.list_api_keys(app.a.org).await.unwrap();
        let viewer = keys
            .iter()
            .find(|k| app.a.viewer.starts_with(&k.prefix))
            .unwrap();
        assert!(
            app.store
                .revoke_api_key(app.a.org, viewer.id)
                .await
                .unwrap()
        );
        let request = Request::get("/api/v1/organization")
            .header(header::COOKIE, pair(&session))
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.raw(request).await.0, StatusCode::UNAUTHORIZED);
        app.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_signs_in_with_a_password_and_a_disabled_user_is_out() {
    use aima_runtime::store::Role;
    with_sqlite(|ctx| async move {
        let app = TestApp::start(ctx.store.clone()).await;
        let user = app
            .store
            .create_user(
                app.a.org,
                "ana@example.com",
                "correct horse battery",
                Role::Viewer,
            )
            .await
            .unwrap();
        let form = |body: &str| {
            Request::builder()
                .method(Method::POST)
                .uri("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.to_owned()))
                .unwrap()
        };
        let (_, headers, _) = app
            .raw(form(
                "email=ANA%40example.com&password=wrong+password&next=%2F",
            ))
            .await;
        assert_eq!(headers[header::LOCATION], "/login?error=1&next=/");
        let (status, headers, _) = app
            .raw(form(
                "email=ana%40example.com&password=correct+horse+battery&next=%2F",
            ))
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], "/");
        let session = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .find(|c| c.starts_with("aima_session="))
            .unwrap();
        let me = || {
            Request::get("/api/v1/organization")
                .header(header::COOKIE, session.clone())
                .body(Body::empty())
                .unwrap()
        };
        let (status, _, body) = app.raw(me()).await;
        assert_eq!(status, StatusCode::OK);
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["organization"]["slug"], "alpha");
        assert_eq!(body["role"], "viewer");
        assert_eq!(body["principal"], json!({"kind": "user", "id": user.id}));
        // The user's role holds: a viewer may not create keys.
        let write = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/keys")
            .header(header::COOKIE, session.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"name": "x", "role": "viewer"}).to_string(),
            ))
            .unwrap();
        assert_eq!(app.raw(write).await.0, StatusCode::FORBIDDEN);
        // Disabling the user ends the session.
        assert!(app.store.disable_user(app.a.org, user.id).await.unwrap());
        assert_eq!(app.raw(me()).await.0, StatusCode::UNAUTHORIZED);
        app.shutdown().await;
    })
    .await;
}
