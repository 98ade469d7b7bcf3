//! `aima bench api`: the REST API and the WebSocket chat under load.
//!
//! The server runs in this process over a temporary SQLite database holding
//! generated customers; the load comes from a second process (this binary
//! again, in its hidden load-generator mode), so client work does not count
//! as server time. Each endpoint is reported beside `GET /healthz` (no
//! database) measured in the same run, and many concurrent chats beside one
//! alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aima_actors::planner::Planner;
use aima_actors::{Handlers, Runtime, RuntimeOptions};
use aima_ingest::pipeline::{self, ImportOptions};
use aima_runtime::llm::offline::OfflineProvider;
use aima_runtime::store::{Role, SecretKey, Store};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::agent::{QUESTIONS, quantile};
use super::peak_rss_mib;
use crate::cli::BenchApiArgs;

/// What the load generator measured for one HTTP path.
#[derive(Debug, Serialize, Deserialize)]
struct HttpLoad {
    requests: u64,
    errors: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// What the load generator measured for a batch of chats.
#[derive(Debug, Serialize, Deserialize)]
struct ChatLoad {
    chats: u32,
    answered: u32,
    /// Chats whose events skipped a sequence number or that ended without a
    /// terminal event.
    dropped: u32,
    events: u64,
    p50_event_ms: f64,
    p99_event_ms: f64,
    p99_answer_ms: f64,
    seconds: f64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `aima bench api`.
pub async fn run(args: BenchApiArgs) -> Result<()> {
    if let Some(base) = &args.load {
        let key = args.key.as_deref().unwrap_or_default();
        let report = match args.target.first().map(String::as_str) {
            Some("ws") => serde_json::to_string(&load_chats(base, key, args.chats).await?)?,
            Some(path) => serde_json::to_string(&load_http(base, key, path, &args).await?)?,
            None => bail!("--load needs --target"),
        };
        outln!("{report}")?;
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let store = Store::open(None, dir.path()).await?;
    store.migrate().await?;
    let (org, _) = store.ensure_organization("bench", "Bench").await?;
    let csv = dir.path().join("orders.csv");
    super::import::generate(&csv, args.customers * 3)?;
    let started = Instant::now();
    let options = ImportOptions {
        source_name: "bench".into(),
        ..ImportOptions::default()
    };
    pipeline::import(&store, org.id, &csv, &options, &mut |_, _| {}).await?;
    let customers = store.count_customers(org.id).await?;
    outln!(
        "server: SQLite, {customers} customers and {} orders (imported in {:.1} s); load from a second process",
        store.count_orders(org.id).await?,
        started.elapsed().as_secs_f64()
    )?;

    let runtime = Runtime::start(
        store.clone(),
        Handlers::standard(store.clone()),
        RuntimeOptions {
            auto_tick: false,
            ..RuntimeOptions::default()
        },
    )
    .await?;
    let metrics = aima_web::Metrics::start(&runtime);
    let registry = Arc::new(metrics.registry(&runtime, aima_tools::catalog()));
    let planner = Arc::new(Planner::new(
        store.clone(),
        registry.clone(),
        Arc::new(OfflineProvider::new()),
    )?);
    let state = aima_web::AppState::new(
        store.clone(),
        &runtime,
        registry,
        planner,
        SecretKey::generate(),
        metrics,
        aima_web::WebOptions::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(aima_web::serve(listener, aima_web::app(state), async {
        let _ = stopped.await;
    }));
    let (_, key) = store.create_api_key(org.id, "bench", Role::Admin).await?;

    outln!(
        "\nHTTP, {} connections, {} s each (target: p99 < 20 ms on /api/v1/customers):",
        args.connections,
        args.seconds
    )?;
    outln!(
        "{:<44} {:>10} {:>8} {:>9} {:>9} {:>12}",
        "endpoint",
        "requests/s",
        "errors",
        "p50 ms",
        "p99 ms",
        "p99 / base"
    )?;
    let mut baseline = None;
    for (label, path) in [
        ("GET /healthz (baseline: no database)", "/healthz"),
        (
            "GET /api/v1/customers?limit=25",
            "/api/v1/customers?limit=25",
        ),
        (
            "GET /api/v1/customers?q=customer42&limit=25",
            "/api/v1/customers?q=customer42&limit=25",
        ),
    ] {
        let load: HttpLoad = child(&base, &key, path, &args)?;
        let base_p99 = *baseline.get_or_insert(load.p99_ms);
        outln!(
            "{label:<44} {:>10.0} {:>8} {:>9.2} {:>9.2} {:>12.2}",
            load.requests as f64 / load.seconds,
            load.errors,
            load.p50_ms,
            load.p99_ms,
            load.p99_ms / base_p99.max(1e-9)
        )?;
    }

    outln!(
        "\nWebSocket chats (offline planner; target: p99 event latency < 250 ms, no dropped events):"
    )?;
    outln!(
        "{:<22} {:>9} {:>8} {:>8} {:>14} {:>14} {:>14} {:>9}",
        "chats at once",
        "answered",
        "dropped",
        "events",
        "p50 event ms",
        "p99 event ms",
        "p99 answer ms",
        "chats/s"
    )?;
    for chats in [1, args.chats] {
        let a = BenchApiArgs {
            chats,
            ..args.clone()
        };
        let load: ChatLoad = child(&base, &key, "ws", &a)?;
        outln!(
            "{:<22} {:>9} {:>8} {:>8} {:>14.1} {:>14.1} {:>14.1} {:>9.1}",
            if chats == 1 {
                "1 (baseline)".to_owned()
            } else {
                chats.to_string()
            },
            load.answered,
            load.dropped,
            load.events,
            load.p50_event_ms,
            load.p99_event_ms,
            load.p99_answer_ms,
            f64::from(load.chats) / load.seconds.max(1e-9)
        )?;
    }
    if let Some(rss) = peak_rss_mib() {
        outln!("\nserver peak memory {rss:.0} MiB")?;
    }
    let _ = stop.send(());
    server.await??;
    runtime.shutdown().await;
    store.close().await;
    Ok(())
}

/// Runs the load generator in a second process and reads its JSON report.
fn child<T: serde::de::DeserializeOwned>(
    base: &str,
    key: &str,
    target: &str,
    args: &BenchApiArgs,
) -> Result<T> {
    let exe = std::env::current_exe().context("locating the aima binary")?;
    let out = std::process::Command::new(exe)
        .args([
            "bench", "api", "--load", base, "--key", key, "--target", target,
        ])
        .args(["--seconds", &args.seconds.to_string()])
        .args(["--connections", &args.connections.to_string()])
        .args(["--chats", &args.chats.to_string()])
        .output()
        .context("running the load generator")?;
    if !out.status.success() {
        bail!(
            "the load generator failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).context("reading the load generator's report")
}

/// `connections` clients requesting `path` back to back for `seconds`.
async fn load_http(base: &str, key: &str, path: &str, args: &BenchApiArgs) -> Result<HttpLoad> {
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.connections as usize)
        .build_http();
    let uri: hyper::Uri = format!("{base}{path}").parse()?;
    let auth = format!("Bearer {key}");
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (client, uri, auth) = (client.clone(), uri.clone(), auth.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let request = hyper::Request::get(uri.clone())
                    .header(hyper::header::AUTHORIZATION, auth.as_str())
                    .body(Empty::<Bytes>::new());
                let Ok(request) = request else {
                    errors += 1;
                    continue;
                };
                let at = Instant::now();
                match client.request(request).await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        let body = response.into_body().collect().await;
                        if ok && body.is_ok() {
                            latencies.push(at.elapsed());
                        } else {
                            errors += 1;
                        }
                    }
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await?;
        latencies.extend(l);
        errors += e;
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    Ok(HttpLoad {
        requests: latencies.len() as u64,
        errors,
        seconds,
        p50_ms: ms(quantile(&latencies, 0.5)),
        p99_ms: ms(quantile(&latencies, 0.99)),
    })
}

/// `chats` WebSocket clients at once, each asking one question and reading
/// its events to the end. An event's latency is its arrival time minus the
/// time the server stamped on it.
async fn load_chats(base: &str, key: &str, chats: u32) -> Result<ChatLoad> {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let url = format!("{}/ws/chat", base.replacen("http://", "ws://", 1));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..chats {
        let mut request = url.as_str().into_client_request()?;
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {key}").parse()?);
        let question = QUESTIONS[i as usize % QUESTIONS.len()];
        tasks.push(tokio::spawn(async move {
            let at = Instant::now();
            let Ok((mut socket, _)) = tokio_tungstenite::connect_async(request).await else {
                return (Vec::new(), None, false);
            };
            let ask = serde_json::json!({"type": "ask", "message": question}).to_string();
            if socket.send(Message::Text(ask.into())).await.is_err() {
                return (Vec::new(), None, false);
            }
            let mut latencies = Vec::new();
            let mut expected = 1u64;
            let mut intact = true;
            while let Some(Ok(frame)) = socket.next().await {
                let Message::Text(text) = frame else { continue };
                let Ok(event) = serde_json::from_str::<aima_runtime::events::Event>(&text) else {
                    return (latencies, None, false);
                };
                let now = chrono::Utc::now();
                latencies.push((now - event.at).to_std().unwrap_or(Duration::ZERO));
                intact &= event.seq == expected;
                expected += 1;
                if event.body.ends_turn() {
                    let answered =
                        matches!(event.body, aima_runtime::events::EventBody::Final { .. });
                    let _ = socket.close(None).await;
                    return (latencies, answered.then(|| at.elapsed()), intact);
                }
            }
            (latencies, None, false)
        }));
    }
    let mut events = Vec::new();
    let mut answers = Vec::new();
    let mut dropped = 0;
    for task in tasks {
        let (latencies, answer, intact) = task.await?;
        events.extend(latencies);
        if let Some(a) = answer {
            answers.push(a);
        }
        if !intact {
            dropped += 1;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    events.sort();
    answers.sort();
    Ok(ChatLoad {
        chats,
        answered: u32::try_from(answers.len()).unwrap_or(u32::MAX),
        dropped,
        events: events.len() as u64,
        p50_event_ms: ms(quantile(&events, 0.5)),
        p99_event_ms: ms(quantile(&events, 0.99)),
        p99_answer_ms: ms(quantile(&answers, 0.99)),
        seconds,
    })
}
