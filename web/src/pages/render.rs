//! Rendering: the minijinja templates of `web/templates/` (embedded in the
//! binary, HTML auto-escaped), the navigation every page shares, and the
//! headers every page is sent with.

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Environment, Value, context};

/// Every template, by name (the `.html` suffix turns on HTML escaping).
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("login.html", include_str!("../../templates/login.html")),
    (
        "dashboard.html",
        include_str!("../../templates/dashboard.html"),
    ),
    (
        "customers.html",
        include_str!("../../templates/customers.html"),
    ),
    (
        "customer.html",
        include_str!("../../templates/customer.html"),
    ),
    (
        "segments.html",
        include_str!("../../templates/segments.html"),
    ),
    ("import.html", include_str!("../../templates/import.html")),
    (
        "clv_churn.html",
        include_str!("../../templates/clv_churn.html"),
    ),
    ("agent.html", include_str!("../../templates/agent.html")),
    ("coming.html", include_str!("../../templates/coming.html")),
    (
        "not_found.html",
        include_str!("../../templates/not_found.html"),
    ),
];

/// A page of the navigation.
#[derive(Debug, Clone, Copy)]
pub(super) struct NavItem {
    /// Its path.
    pub path: &'static str,
    /// Its label.
    pub label: &'static str,
}

/// The navigation, in order: every page of the dashboard.
pub(super) const NAV: &[NavItem] = &[
    NavItem {
        path: "/",
        label: "Dashboard",
    },
    NavItem {
        path: "/customers",
        label: "Customers",
    },
    NavItem {
        path: "/segments",
        label: "Segments",
    },
    NavItem {
        path: "/clv-churn",
        label: "CLV & Churn",
    },
    NavItem {
        path: "/agent",
        label: "Ask AIMA",
    },
    NavItem {
        path: "/import",
        label: "Import",
    },
    NavItem {
        path: "/campaigns",
        label: "Campaigns",
    },
    NavItem {
        path: "/content",
        label: "Content",
    },
    NavItem {
        path: "/brand",
        label: "Brand",
    },
    NavItem {
        path: "/attribution",
        label: "Attribution",
    },
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        if let Err(e) = env.add_template(name, source) {
            // A test renders every template, so this cannot ship.
            eprintln!("aima-web: template {name} does not parse: {e}");
        }
    }
    env
});

/// The page's security headers: scripts, styles and requests only from
/// this server, no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
                   base-uri 'none'; form-action 'self'";

/// Renders template `name` with `ctx` as an HTML response of `status`.
pub(super) fn page(status: StatusCode, name: &str, ctx: Value) -> Response {
    let nav: Vec<Value> = NAV
        .iter()
        .map(|item| context! { path => item.path, label => item.label })
        .collect();
    let ctx = context! { nav, ..ctx };
    let rendered = ENV
        .get_template(name)
        .and_then(|template| template.render(ctx));
    match rendered {
        Ok(html) => {
            let mut response = (status, html).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            );
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            response
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the page could not be rendered: {e}"),
        )
            .into_response(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_data_is_escaped() {
        for (name, _) in TEMPLATES {
            ENV.get_template(name).unwrap();
        }
        let ctx = context! {
            signed_in => true,
            org_name => "<script>x</script>",
            module => "M",
            what => "w",
        };
        let html = ENV
            .get_template("coming.html")
            .unwrap()
            .render(ctx)
            .unwrap();
        assert!(
            html.contains("&lt;script&gt;x&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>x"));
        let response = page(StatusCode::OK, "login.html", context! { next => "/" });
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response
                .headers()
                .contains_key(header::CONTENT_SECURITY_POLICY)
        );
    }
}
