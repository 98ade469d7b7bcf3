//! The dashboard's static files (its CSS and scripts, and the vendored
//! uPlot chart library), embedded in the binary and served under
//! `/static/...` with their content type and a Cache-Control header.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// How long browsers may keep a static file (one hour: the files change
/// only with a new binary).
const CACHE_CONTROL: &str = "public, max-age=3600";

/// One embedded file.
struct Asset {
    /// Its path under `/static/`.
    path: &'static str,
    /// Its `Content-Type`.
    content_type: &'static str,
    /// Its bytes.
    bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file under `/static/`.
const ASSETS: &[Asset] = &[
    Asset {
        path: "app.css",
        content_type: CSS,
        bytes: include_bytes!("../../static/app.css"),
    },
    Asset {
        path: "app.js",
        content_type: JS,
        bytes: include_bytes!("../../static/app.js"),
    },
    Asset {
        path: "dashboard.js",
        content_type: JS,
        bytes: include_bytes!("../../static/dashboard.js"),
    },
    Asset {
        path: "customers.js",
        content_type: JS,
        bytes: include_bytes!("../../static/customers.js"),
    },
    Asset {
        path: "customer.js",
        content_type: JS,
        bytes: include_bytes!("../../static/customer.js"),
    },
    Asset {
        path: "segments.js",
        content_type: JS,
        bytes: include_bytes!("../../static/segments.js"),
    },
    Asset {
        path: "import.js",
        content_type: JS,
        bytes: include_bytes!("../../static/import.js"),
    },
    Asset {
        path: "clv-churn.js",
        content_type: JS,
        bytes: include_bytes!("../../static/clv-churn.js"),
    },
    Asset {
        path: "agent.js",
        content_type: JS,
        bytes: include_bytes!("../../static/agent.js"),
    },
    Asset {
        path: "vendor/uplot/uPlot.iife.min.js",
        content_type: JS,
        bytes: include_bytes!("../../vendor/uplot/uPlot.iife.min.js"),
    },
    Asset {
        path: "vendor/uplot/uPlot.min.css",
        content_type: CSS,
        bytes: include_bytes!("../../vendor/uplot/uPlot.min.css"),
    },
    Asset {
        path: "vendor/uplot/LICENSE",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../../vendor/uplot/LICENSE"),
    },
];

/// `GET /static/{*path}`: the embedded file, or 404.
pub(super) async fn serve(Path(path): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.path == path) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_content_and_a_unique_path() {
        let mut paths: Vec<_> = ASSETS.iter().map(|a| a.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), ASSETS.len());
        assert!(ASSETS.iter().all(|a| !a.bytes.is_empty()));
    }
}
