//! End-to-end tests of the `aima` binary: each runs the real command in its
//! own data directory (SQLite) and checks its output and exit status.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("ingest/tests/fixtures")
        .join(name)
}

/// `aima` with a private data directory and a clean AIMA_* environment.
fn aima(data: &Path) -> Command {
    let mut cmd = Command::cargo_bin("aima").expect("binary");
    for (k, _) in std::env::vars() {
        if k.starts_with("AIMA_") || k == "DATABASE_URL" {
            cmd.env_remove(k);
        }
    }
    cmd.arg("--data-dir").arg(data);
    cmd
}

fn json_of(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}", String::from_utf8_lossy(out));
    })
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn preview_prints_the_mapping_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let out = aima(dir.path())
        .args(["import", "--preview", "--format", "json", "--org", "shop"])
        .arg(fixture("shopify_line_items.csv"))
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v = json_of(&out.stdout);
    assert_eq!(v["rows"], 6);
    let columns = v["columns"].as_array().expect("columns");
    assert_eq!(columns.len(), 14);
    let field_of = |header: &str| {
        columns
            .iter()
            .find(|c| c["header"] == header)
            .map(|c| c["field"].clone())
            .expect("header present")
    };
    assert_eq!(field_of("Name"), "order_id");
    assert_eq!(field_of("Billing Name"), "full_name");
    assert_eq!(field_of("Total"), "amount");
    assert_eq!(field_of("Subtotal"), Value::Null);
    assert_eq!(field_of("Discount Amount"), Value::Null);
    assert_eq!(field_of("Lineitem quantity"), "quantity");
    for c in columns {
        let conf = c["confidence"].as_f64().expect("confidence");
        assert!((0.0..=1.0).contains(&conf));
        assert!(c["samples"].is_array());
    }
    assert!(v["problems"].as_array().expect("problems").len() >= 2);

    // Nothing was written: the organization was not even created.
    let out = aima(dir.path())
        .args(["orgs", "list"])
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "");
}

#[test]
fn import_reports_counts_and_bad_rows_and_reimport_changes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let run = || {
        let out = aima(dir.path())
            .args(["import", "--format", "json", "--org", "shop"])
            .arg(fixture("shopify_line_items.csv"))
            .output()
            .expect("run");
        assert!(out.status.success(), "{}", stderr_of(&out));
        json_of(&out.stdout)
    };
    let first = run();
    assert_eq!(first["customers_created"], 2, "{first}");
    assert_eq!(first["orders_created"], 3, "{first}");
    let rejected = first["rows_rejected"].as_array().expect("rejected");
    let rows: Vec<u64> = rejected
        .iter()
        .map(|r| r["row"].as_u64().expect("row"))
        .collect();
    assert_eq!(rows, vec![6, 7], "{first}");
    assert!(
        rejected[0]["reason"]
            .as_str()
            .expect("reason")
            .contains("nobody-at-example.com")
    );
    assert!(
        rejected[1]["reason"]
            .as_str()
            .expect("reason")
            .contains("not a date")
    );

    let second = run();
    assert_eq!(second["customers_created"], 0, "{second}");
    assert_eq!(second["customers_updated"], 0, "{second}");
    assert_eq!(second["orders_created"], 0, "{second}");
    assert_eq!(second["orders_updated"], 0, "{second}");

    let out = aima(dir.path())
        .args(["orgs", "list"])
        .output()
        .expect("run");
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("shop") && listing.contains("2 customers") && listing.contains("3 orders"),
        "{listing}"
    );
}

#[test]
fn strict_import_writes_nothing_when_a_row_is_bad() {
    let dir = tempfile::tempdir().expect("dir");
    let out = aima(dir.path())
        .args(["import", "--strict", "--org", "shop"])
        .arg(fixture("shopify_line_items.csv"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(err.contains("row 6"), "{err}");
    let out = aima(dir.path())
        .args(["orgs", "list"])
        .output()
        .expect("run");
    // Nothing is written: not even the organization the import created.
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "");

    // An existing organization is kept, untouched.
    aima(dir.path())
        .args(["import", "--org", "shop"])
        .arg(fixture("empty.csv"))
        .output()
        .expect("run");
    let ok = aima(dir.path())
        .args(["import", "--org", "shop"])
        .arg(fixture("shopify_line_items.csv"))
        .output()
        .expect("run");
    assert!(ok.status.success());
    let out = aima(dir.path())
        .args(["import", "--strict", "--org", "shop"])
        .arg(fixture("shopify_line_items.csv"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    let out = aima(dir.path())
        .args(["orgs", "list"])
        .output()
        .expect("run");
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("2 customers") && listing.contains("3 orders"),
        "{listing}"
    );
}

#[test]
fn files_that_are_not_tables_are_refused_by_name() {
    let dir = tempfile::tempdir().expect("dir");
    for name in ["empty.csv", "header_only.csv", "not_a_table.csv"] {
        let out = aima(dir.path())
            .args(["import", "--org", "shop"])
            .arg(fixture(name))
            .output()
            .expect("run");
        assert!(!out.status.success(), "{name} was accepted");
        let err = stderr_of(&out);
        assert!(err.contains(name), "{name}: {err}");
    }
    let out = aima(dir.path())
        .args(["orgs", "list"])
        .output()
        .expect("run");
    // Failed imports leave nothing behind, not even the new organization.
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "");
    // Each cause is said once.
    let out = aima(dir.path())
        .arg("import")
        .arg(dir.path().join("missing.csv"))
        .output()
        .expect("run");
    let err = stderr_of(&out);
    assert!(err.contains("missing.csv"), "{err}");
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
}

#[test]
fn mapping_override_changes_the_field() {
    let dir = tempfile::tempdir().expect("dir");
    let out = aima(dir.path())
        .args([
            "import",
            "--preview",
            "--format",
            "json",
            "--map",
            "Subtotal=amount",
        ])
        .arg(fixture("shopify_line_items.csv"))
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v = json_of(&out.stdout);
    let columns = v["columns"].as_array().expect("columns");
    let field_of = |h: &str| {
        columns
            .iter()
            .find(|c| c["header"] == h)
            .map(|c| c["field"].clone())
    };
    assert_eq!(field_of("Subtotal"), Some(Value::from("amount")));
    assert_eq!(field_of("Total"), Some(Value::Null));

    let out = aima(dir.path())
        .args(["import", "--preview", "--map", "Nope=amount"])
        .arg(fixture("shopify_line_items.csv"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("Nope"));
}

/// Serves one HTTP response from a local socket and returns the URL base.
fn serve_once(body: &'static str) -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 4096];
        let n = stream.read(&mut buf).expect("read");
        let request = String::from_utf8_lossy(&buf[..n]).into_owned();
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).expect("write");
        request
    });
    (base, handle)
}

#[test]
fn google_sheets_link_is_rewritten_and_imported() {
    let dir = tempfile::tempdir().expect("dir");
    let (base, server) = serve_once(
        "Email,Customer Name,Order ID,Order Date,Amount\nsam@example.com,Sam Lee,A-1,2024-05-01,10.50\n",
    );
    let out = aima(dir.path())
        .env("AIMA_SHEETS_EXPORT_BASE", &base)
        .args(["import", "--format", "json", "--org", "sheet"])
        .arg("https://docs.google.com/spreadsheets/d/1AbC-xyz_123/edit#gid=42")
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let request = server.join().expect("server");
    assert!(
        request.starts_with("GET /spreadsheets/d/1AbC-xyz_123/export?format=csv&gid=42 "),
        "{request}"
    );
    let v = json_of(&out.stdout);
    assert_eq!(v["customers_created"], 1);
    assert_eq!(v["orders_created"], 1);
}

/// One HTTP/1.1 GET against `addr` with an optional bearer key; the status
/// line's code and the body.
fn http_get(addr: &str, path: &str, key: Option<&str>) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serve_prints_the_first_admin_key_answers_with_it_and_stops_on_sigterm() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("dir");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("aima"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AIMA_") || k == "DATABASE_URL" {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read");
    assert!(
        line.contains("admin API key of organization 'default'"),
        "{line}"
    );
    line.clear();
    stdout.read_line(&mut line).expect("read");
    let key = line.trim().to_owned();
    assert!(key.starts_with("aima_"), "{key}");
    line.clear();
    stderr.read_line(&mut line).expect("read");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    assert_eq!(http_get(&addr, "/healthz", None), (200, "ok".to_owned()));
    let (status, body) = http_get(&addr, "/api/v1/organization", Some(&key));
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(body.as_bytes())["role"], "admin");
    assert_eq!(http_get(&addr, "/api/v1/organization", None).0, 401);
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).expect("read");
    assert!(rest.contains("stopping"), "{rest}");
    // A second start prints no key: the data directory has one.
    let out = aima(dir.path())
        .args(["keys", "list"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(
        listed.contains("first admin key") && listed.contains(&key[..13]),
        "{listed}"
    );
}

#[test]
fn users_are_created_from_a_password_on_stdin_listed_and_disabled() {
    let dir = tempfile::tempdir().expect("dir");
    let create = |email: &str, password: &str| {
        aima(dir.path())
            .args([
                "users", "create", "--org", "shop", "--role", "analyst", "--email", email,
            ])
            .write_stdin(format!("{password}\n"))
            .output()
            .expect("run")
    };
    let out = create("ana@example.com", "correct horse battery");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = create("bo@example.com", "short");
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("at least 12 characters"),
        "{}",
        stderr_of(&out)
    );
    let out = create("ANA@example.com", "another long password");
    assert!(
        stderr_of(&out).contains("already exists"),
        "{}",
        stderr_of(&out)
    );
    let list = || {
        let out = aima(dir.path())
            .args(["users", "list", "--org", "shop"])
            .output()
            .expect("run");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = list();
    assert!(
        listed.contains("ana@example.com")
            && listed.contains("analyst")
            && listed.contains("active"),
        "{listed}"
    );
    assert!(!listed.contains("correct horse"), "{listed}");
    let out = aima(dir.path())
        .args(["users", "disable", "ANA@example.com", "--org", "shop"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(list().contains("disabled"));
}

#[test]
fn keys_are_created_listed_and_revoked() {
    let dir = tempfile::tempdir().expect("dir");
    let out = aima(dir.path())
        .args([
            "keys",
            "create",
            "--org",
            "shop",
            "--role",
            "viewer",
            "--name",
            "dashboard",
        ])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(key.starts_with("aima_") && key.len() == 69, "{key}");
    let out = aima(dir.path())
        .args(["keys", "list", "--org", "shop"])
        .output()
        .expect("run");
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        listed.contains(&key[..13]) && listed.contains("viewer") && listed.contains("active"),
        "{listed}"
    );
    assert!(!listed.contains(&key), "the key itself is never listed");
    let revoke = |k: &str| {
        aima(dir.path())
            .args(["keys", "revoke", k, "--org", "shop"])
            .output()
            .expect("run")
    };
    let out = revoke(&key[..13]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = revoke(&key[..13]);
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("no active key"),
        "{}",
        stderr_of(&out)
    );
    let out = aima(dir.path())
        .args(["keys", "create", "--org", "shop", "--role", "owner"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("expected admin, analyst or viewer"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn unknown_configuration_is_rejected() {
    let dir = tempfile::tempdir().expect("dir");
    let out = aima(dir.path())
        .env("AIMA_DATADIR", "x")
        .arg("config")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("AIMA_DATADIR"));
}

#[test]
fn demo_loads_real_transactions_once() {
    let dir = tempfile::tempdir().expect("dir");
    let out = aima(dir.path()).arg("demo").output().expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("23570 customers, 69659 orders"), "{text}");
    assert!(
        text.contains("Behavioural fingerprints (") && text.contains("23570 customers embedded"),
        "{text}"
    );
    // CDNOW's first month, January 1997, summed from the real transactions
    // (awk over CDNOW_master.txt: 299,060.17 over 8,928 orders).
    let january = text
        .lines()
        .find(|l| l.trim_start().starts_with("1997-01"))
        .expect("1997-01");
    assert!(
        january.contains("299060.17") && january.contains("8928 orders"),
        "{january}"
    );
    let again = aima(dir.path()).arg("demo").output().expect("run");
    assert!(again.status.success());
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(
        text.contains("already loaded") && text.contains("23570 customers, 69659 orders"),
        "{text}"
    );
}

/// With `qdrant_url` set, the demo's fingerprints are indexed on that
/// server (nothing embedded) and similar-customer questions are answered
/// by it.
#[test]
fn demo_indexes_fingerprints_on_a_configured_qdrant_server() {
    let server = aima_vectors::testing::FakeQdrant::start().expect("fake qdrant");
    let dir = tempfile::tempdir().expect("dir");
    let with_server = |args: &[&str]| {
        aima(dir.path())
            .env("AIMA_QDRANT_URL", server.url())
            .args(args)
            .output()
            .expect("run")
    };
    let out = with_server(&["demo"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(server.point_count("fingerprints-128d"), Some(23570));
    assert_eq!(server.point_count("fingerprints-128d-versions"), Some(1));
    assert!(!dir.path().join("vectors").exists());

    let out = with_server(&["ask", "--format", "jsonl", "list 2 champions"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let events = jsonl_events(&out);
    let members = events
        .iter()
        .find(|e| e["type"] == "tool_result")
        .expect("a tool result");
    let email = members["result"]["customers"][0]["email"]
        .as_str()
        .expect("an e-mail")
        .to_owned();
    let before = server.queries();
    let out = with_server(&[
        "ask",
        "--format",
        "jsonl",
        &format!("customers similar to {email}"),
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let similar = jsonl_events(&out)
        .into_iter()
        .find(|e| e["type"] == "tool_result")
        .expect("a tool result");
    assert_eq!(similar["tool"], "similar_customers", "{similar}");
    assert_eq!(similar["ok"], true, "{similar}");
    assert_eq!(server.queries(), before + 1);
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().expect("dir");
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("aima"))
        .arg("--data-dir")
        .arg(dir.path())
        .arg("config")
        .stdout(writer)
        .output()
        .expect("run");
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn readme_configuration_table_matches_the_settings() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let table = aima_runtime::config::Config::markdown_table();
    assert!(
        readme.contains(&table),
        "README's configuration table is stale; paste the output of `aima config`:\n{table}"
    );
}

#[test]
fn tools_list_prints_the_catalog_in_three_formats_without_a_database() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let out = aima(&data).args(["tools", "list"]).output().expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("revenue_over_time  [data; read-only]"),
        "{text}"
    );
    assert!(
        text.contains("arguments: end?: date, granularity?: day|week|month, start?: date"),
        "{text}"
    );
    assert!(
        text.contains("tag_customers  [data; side-effecting (needs approval)]"),
        "{text}"
    );
    assert!(
        text.contains("churn_predictions  [M6 CLV and churn; read-only]"),
        "{text}"
    );
    assert!(!data.exists(), "no database or data directory is created");

    let out = aima(&data)
        .args(["tools", "list", "--format", "openai"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let functions = json_of(&out.stdout);
    let functions = functions.as_array().expect("array");
    assert_eq!(functions.len(), aima_tools::catalog().len());
    let revenue = functions
        .iter()
        .find(|f| f["function"]["name"] == "revenue_over_time")
        .expect("revenue_over_time");
    assert_eq!(revenue["type"], "function");
    assert_eq!(revenue["function"]["strict"], true);
    let params = &revenue["function"]["parameters"];
    assert_eq!(params["additionalProperties"], false);
    assert_eq!(
        params["required"],
        serde_json::json!(["end", "granularity", "start"])
    );

    let out = aima(&data)
        .args(["tools", "list", "--format", "mcp"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mcp = json_of(&out.stdout);
    let tools = mcp["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), aima_tools::catalog().len());
    let tag = tools
        .iter()
        .find(|t| t["name"] == "tag_customers")
        .expect("tag_customers");
    assert_eq!(tag["annotations"]["readOnlyHint"], false);
    assert_eq!(tag["inputSchema"]["type"], "object");
    assert_eq!(tag["outputSchema"]["type"], "object");

    let out = aima(&data)
        .args(["tools", "list", "--format", "yaml"])
        .output()
        .expect("run");
    assert!(!out.status.success());
}

/// Imports a small shop (known totals) into `dir` and returns nothing.
fn small_shop(dir: &Path) {
    let csv = dir.join("orders.csv");
    std::fs::write(
        &csv,
        "Order ID,Order Date,Email,Customer Name,Country,Product Name,Quantity,Amount\n\
         A1,2024-03-05,anna@example.com,Anna Berg,Germany,Teapot,1,120.25\n\
         A2,2024-03-20,ben@example.com,Ben Holt,UK,Kettle,2,80.50\n\
         A3,2024-04-02,anna@example.com,Anna Berg,Germany,Cup,3,9.75\n",
    )
    .expect("write csv");
    let out = aima(dir)
        .args(["import", "--org", "shop"])
        .arg(&csv)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
}

/// The events of `aima ask --format jsonl`, each checked against the
/// published protocol schema.
fn jsonl_events(out: &std::process::Output) -> Vec<Value> {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("runtime/schema/events.v1.json"),
        )
        .expect("schema"),
    )
    .expect("schema json");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line).expect("one JSON event per line");
            assert!(validator.is_valid(&event), "off-protocol event: {line}");
            event
        })
        .collect()
}

#[test]
fn ask_answers_from_the_data_streams_events_and_follows_up() {
    let dir = tempfile::tempdir().expect("dir");
    let none = aima(dir.path())
        .args(["ask", "how many customers?"])
        .output()
        .expect("run");
    assert!(!none.status.success());
    assert!(
        stderr_of(&none).contains("no organization"),
        "{}",
        stderr_of(&none)
    );

    small_shop(dir.path());
    let out = aima(dir.path())
        .args([
            "ask",
            "--format",
            "jsonl",
            "What was our revenue in March 2024?",
        ])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let events = jsonl_events(&out);
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(
        types.contains(&"plan") && types.contains(&"tool_call"),
        "{types:?}"
    );
    assert_eq!(types.last(), Some(&"final"));
    let result = events
        .iter()
        .find(|e| e["type"] == "tool_result")
        .expect("a tool result");
    assert_eq!(result["tool"], "revenue_over_time");
    assert_eq!(result["result"]["total_revenue"].as_f64(), Some(200.75));
    let last = events.last().expect("final");
    assert!(
        last["answer"].as_str().expect("answer").contains("200.75"),
        "{last}"
    );
    let thread = last["thread_id"].as_str().expect("thread").to_string();

    // A follow-up in text form resolves against the first turn.
    let out = aima(dir.path())
        .args(["ask", "--thread", &thread, "and in April 2024?"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("-> revenue_over_time("), "{text}");
    assert!(text.contains("9.75"), "{text}");
    assert!(stderr_of(&out).contains(&thread));

    let empty = aima(dir.path()).args(["ask", "  "]).output().expect("run");
    assert!(!empty.status.success());
    assert!(stderr_of(&empty).contains("empty"), "{}", stderr_of(&empty));
}

#[test]
fn ask_pauses_side_effects_until_approved() {
    let dir = tempfile::tempdir().expect("dir");
    small_shop(dir.path());
    let out = aima(dir.path())
        .args(["ask", "--format", "jsonl", "tag ben@example.com as vip"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let events = jsonl_events(&out);
    let last = events.last().expect("events");
    assert_eq!(last["type"], "interrupt", "{events:?}");
    assert_eq!(last["tool"], "tag_customers");
    assert!(!events.iter().any(|e| e["type"] == "tool_call"));
    let thread = last["thread_id"].as_str().expect("thread").to_string();

    let out = aima(dir.path())
        .args(["ask", "--thread", &thread, "--approve"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("<- tag_customers:"), "{text}");
    assert!(text.contains("tagged: 1"), "{text}");

    // Nothing is left to approve.
    let again = aima(dir.path())
        .args(["ask", "--thread", &thread, "--approve"])
        .output()
        .expect("run");
    assert!(!again.status.success());
    assert!(
        stderr_of(&again).contains("not waiting"),
        "{}",
        stderr_of(&again)
    );
}

/// `aima evaluate clv --format json` reproduces the published CDNOW fits from
/// the data embedded in the binary and keeps its stable keys.
#[test]
fn evaluate_clv_prints_the_cdnow_holdout_table_as_json() {
    let dir = tempfile::tempdir().expect("dir");
    let out = aima(dir.path())
        .args(["evaluate", "clv", "--format", "json"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v = json_of(&out.stdout);
    let num = |p: &str| v.pointer(p).and_then(Value::as_f64).unwrap_or(f64::NAN);
    assert!((num("/bgnbd/r") - 0.243).abs() < 1e-3, "{v}");
    assert!((num("/bgnbd/alpha") - 4.414).abs() < 1e-2);
    assert!((num("/bgnbd/a") - 0.793).abs() < 1e-3);
    assert!((num("/bgnbd/b") - 2.426).abs() < 1e-2);
    assert!((num("/bgnbd/log_likelihood") + 9582.4).abs() < 0.1);
    assert!((num("/gamma_gamma/p") - 6.25).abs() < 1e-2);
    assert!((num("/gamma_gamma/q") - 3.74).abs() < 1e-2);
    assert!((num("/gamma_gamma/gamma") - 15.44).abs() < 2e-2);
    assert_eq!(num("/holdout/actual_transactions"), 1882.0);
    for model in ["bgnbd", "pareto_nbd", "deephit"] {
        for key in ["predicted_transactions", "mae", "auc", "concordance", "ibs"] {
            assert!(
                v.pointer(&format!("/holdout/models/{model}/{key}"))
                    .is_some(),
                "holdout.models.{model}.{key} missing"
            );
        }
    }
    let served = v["served_model"].as_str().expect("served_model");
    assert!(v.pointer(&format!("/holdout/models/{served}")).is_some());
}

/// `aima evaluate segments --format json`: both groupings are scored on the
/// embedded CDNOW data (a small, quick fingerprint training here).
#[test]
fn evaluate_segments_scores_rfm_personas_and_fingerprint_clusters() {
    let dir = tempfile::tempdir().expect("dir");
    let out = aima(dir.path())
        .args([
            "evaluate",
            "segments",
            "--format",
            "json",
            "--train-customers",
            "300",
            "--epochs",
            "1",
        ])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v = json_of(&out.stdout);
    assert_eq!(v["customers"], 23_570);
    for grouping in ["rfm_personas", "fingerprint_clusters"] {
        let share = v
            .pointer(&format!("/groupings/{grouping}/variance_explained"))
            .and_then(Value::as_f64)
            .expect("variance_explained");
        assert!((0.0..=1.0).contains(&share), "{grouping}: {share}");
    }
    assert!(v["groupings"]["rfm_personas"]["variance_explained"].as_f64() > Some(0.05));
    assert!(v["fingerprints"]["clusters"].as_u64().is_some());
}

/// `aima evaluate segments --org`: the same report on an imported store,
/// split at its last order date minus --holdout-days.
#[test]
fn evaluate_segments_runs_on_an_imported_organization() {
    let dir = tempfile::tempdir().expect("dir");
    let csv = dir.path().join("orders.csv");
    let mut text = String::from("Order ID,Order Date,Email,Amount\n");
    // 120 customers: every k-th buys every k*7 days, spending k*10.
    let mut n = 0;
    for c in 0..120u32 {
        let every = 7 * (1 + c % 6);
        let mut day = c % 13;
        while day < 400 {
            n += 1;
            let date = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).expect("date")
                + chrono::Days::new(u64::from(day));
            text.push_str(&format!(
                "O{n},{date},c{c}@example.com,{}.00\n",
                10 * (1 + c % 6)
            ));
            day += every;
        }
    }
    std::fs::write(&csv, text).expect("write");
    let out = aima(dir.path())
        .args(["import", "--org", "shop"])
        .arg(&csv)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = aima(dir.path())
        .args([
            "evaluate",
            "segments",
            "--org",
            "shop",
            "--holdout-days",
            "60",
            "--train-customers",
            "60",
            "--epochs",
            "1",
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v = json_of(&out.stdout);
    assert_eq!(v["customers"], 120);
    assert!(
        v["data"].as_str().is_some_and(|d| d.contains("'shop'")),
        "{v}"
    );
    let rfm = v["groupings"]["rfm_personas"]["variance_explained"]
        .as_f64()
        .expect("rfm");
    // Spend per customer is fixed by its group, so the personas explain a
    // large share of next-period revenue.
    assert!(rfm > 0.2, "{v}");
}
