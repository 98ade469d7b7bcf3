//! The dashboard in a real browser: headless Chromium driven through
//! chromedriver (WebDriver, `fantoccini`) against the app on a TCP port.
//! Signs in with an API key, imports a CSV through the Import page (with a
//! mapping correction), finds a customer by search and opens the profile,
//! rescores churn on the CLV & Churn page, and asks the agent a question,
//! watching the plan and the streamed final answer.
//!
//! Needs `chromedriver` and Chromium (Debian: `chromium`, `chromium-driver`;
//! `.ci/run` installs them). Without them the test prints why and passes,
//! or fails when `CI=true`. SQLite only: the browser adds nothing the
//! store tests of PostgreSQL do not cover.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use aima_runtime::store::testing::{Ctx, with_sqlite};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::TestApp;

/// Longest wait for one element (the first page load starts Chromium).
const WAIT: Duration = Duration::from_secs(30);

/// Customers the imported file adds beside the three named ones, each with
/// two orders (the churn model needs 20 buyers and 5 repeat buyers).
const REGULARS: usize = 15;

/// An orders export: three customers whose names a careless page would run
/// as HTML or a spreadsheet as a formula, [`REGULARS`] repeat buyers, and
/// one bad row (row 5).
fn orders_csv() -> String {
    let mut csv = String::from(
        "Order ID,Order Date,Customer Email,Customer Name,Amount,Product\n\
         z-1,2024-06-01,zed@example.com,Zed <script>alert(1)</script> Browser,12.50,Tea\n\
         z-2,2024-06-02,yan@example.com,\"=HYPERLINK(\"\"http://evil\"\")\",8.00,Cake\n\
         z-3,2024-06-03,xia@example.com,Xia Chrome,7.25,Tea\n\
         z-4,2024-06-04,bad@example.com,Bad Row,not money,Tea\n",
    );
    for i in 0..REGULARS {
        for (j, month) in [(0, 2), (1, 4 + i % 3)] {
            csv.push_str(&format!(
                "r-{i}-{j},2024-{month:02}-{:02},regular{i}@example.com,Regular {i},{}.00,Tea\n",
                1 + i,
                5 + i + j
            ));
        }
    }
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_a_browser() {
    with_sqlite(dashboard_in_chromium).await;
}

/// The first of `names` found as a file, or on `PATH`.
fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        let direct = Path::new(name);
        if direct.is_absolute() && direct.is_file() {
            return Some(direct.to_path_buf());
        }
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Chromedriver and the Chromium binary, or why the test cannot run.
fn browser() -> Result<(PathBuf, PathBuf), String> {
    let driver = find_program(&["chromedriver", "/usr/lib/chromium/chromedriver"])
        .ok_or("chromedriver is not installed (Debian: apt-get install chromium-driver)")?;
    let chromium = find_program(&[
        "chromium",
        "chromium-browser",
        "google-chrome",
        "/usr/lib/chromium/chromium",
    ])
    .ok_or("Chromium is not installed (Debian: apt-get install chromium)")?;
    Ok((driver, chromium))
}

/// Chromedriver as a child process, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// Starts chromedriver on a free port and waits for its "started" line.
    async fn start(program: &Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let started = tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains("started successfully") {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(started, Ok(true), "chromedriver did not start");
        // Keep draining its output so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn dashboard_in_chromium(ctx: Ctx) {
    let (driver_path, chromium) = match browser() {
        Ok(found) => found,
        Err(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{why}, but CI=true: the browser test must run")
        }
        Err(why) => {
            eprintln!("skipping the browser test: {why}");
            return;
        }
    };
    let app = TestApp::start(ctx.store.clone()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(aima_web::serve(listener, app.app.clone(), async {
        let _ = stopped.await;
    }));

    let driver = Driver::start(&driver_path).await;
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,900"],
        }),
    );
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session");

    let result = drive(&client, &base, &app).await;
    let _ = client.close().await;
    drop(driver);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    app.shutdown().await;
    result.unwrap();
}

/// The element `css` once it exists.
async fn wait_css(c: &Client, css: &str) -> fantoccini::elements::Element {
    match c.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
        Ok(element) => element,
        Err(e) => panic!("waiting for `{css}`: {e}\n{}", page_text(c).await),
    }
}

/// The element `xpath` once it exists.
async fn wait_xpath(c: &Client, xpath: &str) -> fantoccini::elements::Element {
    match c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(xpath))
        .await
    {
        Ok(element) => element,
        Err(e) => panic!("waiting for `{xpath}`: {e}\n{}", page_text(c).await),
    }
}

/// The text of the element `css` once it satisfies `ready`: read again
/// while the page re-renders it (a stale or missing element is retried)
/// until [`WAIT`] has passed.
async fn text_when(c: &Client, css: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        if let Ok(element) = c.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
        {
            if ready(&text) {
                return text;
            }
            last = text;
        }
        // Polling the page, as fantoccini's own waits do.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "`{css}` never got ready (last text {last:?})\n{}",
        page_text(c).await
    )
}

/// What the page shows (for a failure's message).
async fn page_text(c: &Client) -> String {
    let url = c
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    let text = c
        .execute(
            "return document.body ? document.body.innerText : ''",
            vec![],
        )
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("page {url}:\n{text}")
}

async fn drive(c: &Client, base: &str, app: &TestApp) -> Result<(), fantoccini::error::CmdError> {
    // Signed out, a page sends the browser to the sign-in form.
    c.goto(&format!("{base}/customers")).await?;
    wait_css(c, "form[action='/login'] input[type=password][name=key]").await;
    assert_eq!(c.current_url().await?.path(), "/login");
    // A wrong key says so.
    c.find(Locator::Css("#key"))
        .await?
        .send_keys("aima_wrong")
        .await?;
    c.find(Locator::Css("#sign-in")).await?.click().await?;
    let error = wait_css(c, "#login-error").await;
    assert!(error.text().await?.contains("nknown or revoked key"));
    c.find(Locator::Css("#key"))
        .await?
        .send_keys(&app.a.analyst)
        .await?;
    c.find(Locator::Css("#sign-in")).await?.click().await?;
    // Back where it was going, in the shared layout.
    wait_css(c, "#customer-table[data-loaded='true']").await;
    assert_eq!(c.current_url().await?.path(), "/customers");
    let org = c.find(Locator::Css("#org-name")).await?.text().await?;
    assert_eq!(org, "alpha");
    let nav = c.find(Locator::Css("nav.sidenav")).await?.text().await?;
    for page in [
        "Dashboard",
        "Customers",
        "Segments",
        "CLV & Churn",
        "Import",
        "Attribution",
    ] {
        assert!(nav.contains(page), "nav lacks {page}: {nav}");
    }

    // Import a CSV: preview, ignore the Product column, import.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("browser-orders.csv");
    std::fs::write(&file, orders_csv()).unwrap();
    c.goto(&format!("{base}/import")).await?;
    wait_css(c, "#file")
        .await
        .send_keys(file.to_str().unwrap())
        .await?;
    let product = wait_css(c, "#preview:not([hidden]) select[data-header='Product']").await;
    assert_eq!(
        product.prop("value").await?.as_deref(),
        Some("product_name")
    );
    product.select_by_value("ignore").await?;
    let counts = c
        .find(Locator::Css("#preview-counts"))
        .await?
        .text()
        .await?;
    assert!(counts.contains("New customers"), "{counts}");
    c.find(Locator::Css("#import-button"))
        .await?
        .click()
        .await?;
    wait_css(c, "#result:not([hidden]) #result-counts div").await;
    let created = c
        .find(Locator::XPath(
            "//dl[@id='result-counts']/div[dt='New customers']/dd",
        ))
        .await?
        .text()
        .await?;
    assert_eq!(created, (3 + REGULARS).to_string());
    let rejected = wait_css(c, "#rejected-wrap:not([hidden]) #rejected-table tbody tr").await;
    let rejected = rejected.text().await?;
    assert!(
        rejected.starts_with('5') && rejected.contains("not money"),
        "{rejected}"
    );

    // 5 seeded customers, and the imported ones.
    let customers = 5 + 3 + REGULARS;

    // Find the new customer by search; names are text, never markup.
    c.goto(&format!("{base}/customers")).await?;
    wait_css(c, "#customer-table[data-loaded='true']").await;
    c.find(Locator::Css("#q")).await?.send_keys("zed@").await?;
    c.find(Locator::Css("#search-button"))
        .await?
        .click()
        .await?;
    wait_css(c, "#customer-table[data-loaded='true'][data-query='zed@']").await;
    let link = wait_xpath(
        c,
        "//table[@id='customer-table']//a[contains(@class,'customer-link')][contains(., 'Browser')]",
    )
    .await;
    assert_eq!(link.text().await?, "Zed <script>alert(1)</script> Browser");
    assert!(
        c.current_url()
            .await?
            .query()
            .unwrap_or_default()
            .contains("q=zed")
    );
    let rows = c.find_all(Locator::Css("#customer-table tbody tr")).await?;
    assert_eq!(rows.len(), 1);
    link.click().await?;
    wait_css(c, "#profile[data-loaded='true']").await;
    let name = c.find(Locator::Css("#customer-name")).await?.text().await?;
    assert_eq!(name, "Zed <script>alert(1)</script> Browser");
    let stats = c.find(Locator::Css("#order-stats")).await?.text().await?;
    assert!(stats.contains("12.50"), "{stats}");
    // The formula-like name is shown as text too.
    c.goto(&format!("{base}/customers?q=yan%40")).await?;
    let formula = wait_xpath(
        c,
        "//a[contains(@class,'customer-link')][contains(., 'HYPERLINK')]",
    )
    .await;
    assert_eq!(formula.text().await?, "=HYPERLINK(\"http://evil\")");

    // Segments: run the segmentation, then the personas and their chart.
    c.goto(&format!("{base}/segments")).await?;
    // Before the first run the page says that there are no segments yet.
    text_when(c, "#segments-error .error", |t| {
        t.contains("no customer segments yet")
    })
    .await;
    c.find(Locator::Css("#run-segmentation"))
        .await?
        .click()
        .await?;
    wait_xpath(c, "//p[@id='job-status'][starts-with(., 'Finished')]").await;
    wait_css(c, "#persona-table[data-loaded='true'] tbody tr").await;
    wait_css(c, "#segment-chart canvas").await;
    let meta = c.find(Locator::Css("#segments-meta")).await?.text().await?;
    assert!(
        meta.contains(&format!("{customers} customers with a persona")),
        "{meta}"
    );

    // CLV & churn: rescore, then the tiers, the chart and the at-risk list.
    c.goto(&format!("{base}/clv-churn")).await?;
    wait_css(c, "#run-churn").await.click().await?;
    wait_xpath(c, "//p[@id='job-status'][starts-with(., 'Finished')]").await;
    wait_css(c, "#tier-table[data-loaded='true']").await;
    wait_css(c, "#at-risk-table[data-loaded='true']").await;
    wait_css(c, "#clv-table[data-loaded='true']").await;
    let tiers = c.find(Locator::Css("#tier-table")).await?.text().await?;
    assert!(
        tiers.contains("very high") && tiers.contains("low"),
        "{tiers}"
    );
    wait_css(c, "#tier-chart canvas").await;

    // The agent: the plan streams in, then the final answer with the count.
    c.goto(&format!("{base}/agent")).await?;
    wait_css(c, "#message")
        .await
        .send_keys("How many customers do we have?")
        .await?;
    c.find(Locator::Css("#send")).await?.click().await?;
    text_when(c, ".turn .plan li", |t| t.contains("customer_count")).await;
    text_when(c, ".turn .answer.done", |t| {
        t.contains(&customers.to_string())
    })
    .await;
    text_when(c, ".turn .tools li.ok", |t| {
        t.contains(&format!("count: {customers}"))
    })
    .await;
    text_when(c, ".turn .citations", |t| t.contains("customer_count")).await;
    // The page talked to the planner over the WebSocket, not the SSE
    // fallback.
    let (_, _, metrics) = app
        .raw(
            axum::http::Request::get("/metrics")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains("route=\"/ws/chat\",status=\"101\""),
        "{metrics}"
    );
    assert!(
        !metrics.contains("route=\"/api/v1/agent/chat\""),
        "{metrics}"
    );

    // A follow-up that changes data pauses for approval; approving runs it.
    c.find(Locator::Css("#message"))
        .await?
        .send_keys("tag zed@example.com as vip")
        .await?;
    c.find(Locator::Css("#send")).await?.click().await?;
    let approve = wait_css(c, ".turn .interrupt .approve").await;
    let pending = c
        .find(Locator::Css(".turn .interrupt"))
        .await?
        .text()
        .await?;
    assert!(pending.contains("tag_customers"), "{pending}");
    approve.click().await?;
    let done = wait_xpath(
        c,
        "(//article[contains(@class,'turn')])[3]//div[contains(@class,'answer') and contains(@class,'done')]",
    )
    .await;
    assert!(!done.text().await?.is_empty());
    let (_, zed) = app.get("/api/v1/customers?q=zed%40", &app.a.viewer).await;
    assert_eq!(zed["customers"][0]["tags"], json!(["vip"]), "{zed}");

    // The dashboard: counts, the revenue chart, personas, connectors.
    let (status, _) = app
        .call(
            axum::http::Method::POST,
            "/api/v1/connectors",
            Some(&app.a.admin),
            Some(json!({"kind": "csv_url", "name": "Shop export", "config": {"url": "http://127.0.0.1:9/x.csv"}})),
        )
        .await;
    assert_eq!(status, axum::http::StatusCode::CREATED);
    c.goto(&format!("{base}/")).await?;
    wait_xpath(c, &format!("//span[@id='customer-count'][.='{customers}']")).await;
    wait_css(c, "#revenue-chart canvas").await;
    wait_css(c, "#segment-table tbody tr td").await;
    let connectors = wait_css(c, "#connectors[data-loaded='true']")
        .await
        .text()
        .await?;
    assert!(
        connectors.contains("Shop export")
            && connectors.contains(aima_runtime::store::CONNECTOR_STATUS_NEW),
        "{connectors}"
    );
    // A module not built yet says so, without numbers.
    c.goto(&format!("{base}/attribution")).await?;
    let coming = wait_css(c, ".coming").await.text().await?;
    assert!(coming.contains("This module is coming"), "{coming}");

    // Sign out: the pages are closed again.
    c.find(Locator::Css("#sign-out")).await?.click().await?;
    wait_css(c, "#key").await;
    c.goto(&format!("{base}/agent")).await?;
    wait_css(c, "#key").await;
    assert_eq!(c.current_url().await?.path(), "/login");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_need_a_session_and_assets_are_served() {
    with_sqlite(pages_and_assets).await;
}

/// Without Chromium: the redirects to the sign-in form, the form itself,
/// and the static files' types and caching.
async fn pages_and_assets(ctx: Ctx) {
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    let app = TestApp::start(ctx.store.clone()).await;
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    for page in [
        "/",
        "/customers?q=a%20b",
        "/agent",
        "/campaigns",
        "/customers/x",
    ] {
        let (status, headers, _) = app.raw(get(page)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
        let to = headers[header::LOCATION].to_str().unwrap();
        assert!(to.starts_with("/login?next=/"), "{page} -> {to}");
    }
    let (status, headers, body) = app.raw(get("/login?error=1&next=/segments")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // (minijinja escapes `/` in attribute values as `&#x2f;`.)
    let html = String::from_utf8(body).unwrap().replace("&#x2f;", "/");
    assert!(html.contains(r#"<form method="post" action="/login""#));
    assert!(html.contains(r#"type="password" id="key" name="key""#));
    assert!(html.contains(r#"name="next" value="/segments""#));
    assert!(html.contains("nknown or revoked key"));
    // Another site is never a place to go after signing in.
    let (_, _, body) = app.raw(get("/login?next=//evil.example")).await;
    let html = String::from_utf8(body).unwrap().replace("&#x2f;", "/");
    assert!(html.contains(r#"name="next" value="/""#), "{html}");
    for (path, kind) in [
        ("/static/app.css", "text/css"),
        ("/static/agent.js", "text/javascript"),
        ("/static/vendor/uplot/uPlot.iife.min.js", "text/javascript"),
        ("/static/vendor/uplot/uPlot.min.css", "text/css"),
    ] {
        let (status, headers, body) = app.raw(get(path)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(kind),
            "{path}"
        );
        assert!(
            headers[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("max-age"),
            "{path}"
        );
        assert!(!body.is_empty());
    }
    let (status, _, _) = app.raw(get("/static/../Cargo.toml")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.shutdown().await;
}
