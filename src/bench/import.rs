//! `aima bench import`: imports a generated orders CSV through the full
//! pipeline (detection, validation, identity matching, one transaction) and
//! prints its rate beside the database's own bulk loader on the same file,
//! measured in the same run: `sqlite3 .import` for SQLite, `psql \copy` for
//! PostgreSQL. Also prints this process's peak resident memory.
//!
//! On SQLite it also measures a floor: `sqlite3` itself importing the file
//! and writing the same rows into AIMA's schema (customers, orders, order
//! items, their indexes) with plain SQL, so no Rust parsing, validation or
//! identity matching at all. No importer that writes that schema through
//! SQLite can beat it, which shows how much of the gap to `.import` (one
//! table, no indexes) is the schema's and how much is ours.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use aima_ingest::pipeline::{self, ImportOptions};
use aima_runtime::config::Config;
use aima_runtime::store::{Store, url_with_database};
use anyhow::{Context, Result, bail};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::peak_rss_mib;
use crate::cli::BenchImportArgs;

const CITIES: &[&str] = &[
    "Dhaka",
    "Chattogram",
    "London",
    "Leeds",
    "Austin",
    "Berlin",
    "Pune",
];
const COUNTRIES: &[&str] = &["BD", "BD", "GB", "GB", "US", "DE", "IN"];
const STATUSES: &[&str] = &[
    "completed",
    "completed",
    "completed",
    "refunded",
    "cancelled",
];

/// Writes `rows` order lines (about a third as many customers, one to three
/// lines per order) to `path`, from a fixed seed.
fn generate(path: &Path, rows: u64) -> Result<u64> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    writeln!(
        out,
        "Order ID,Order Date,Email,Customer Name,Phone,City,Country,Product Name,Quantity,Amount,Currency,Status"
    )?;
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_124);
    let customers = (rows / 3).max(1);
    let mut written = 0u64;
    let mut order = 0u64;
    while written < rows {
        order += 1;
        let c = rng.random_range(0..customers);
        let city = (c % CITIES.len() as u64) as usize;
        let day = rng.random_range(0..730u32);
        let date = chrono::NaiveDate::from_ymd_opt(2024, 1, 1)
            .context("date")?
            .checked_add_days(chrono::Days::new(u64::from(day)))
            .context("date")?;
        let lines = rng.random_range(1..=3u64).min(rows - written);
        let total: f64 = f64::from(rng.random_range(500..50_000u32)) / 100.0;
        let status = STATUSES[rng.random_range(0..STATUSES.len())];
        for line in 0..lines {
            let qty = rng.random_range(1..5u32);
            let product = rng.random_range(0..500u32);
            // Line items after the first carry a blank total, as in Shopify exports.
            let amount = if line == 0 {
                format!("{total:.2}")
            } else {
                String::new()
            };
            writeln!(
                out,
                "ORD-{order:08},{date} {:02}:{:02}:00,customer{c}@example.com,Customer {c},+1555{:07},{},{},Product {product},{qty},{amount},USD,{status}",
                rng.random_range(0..24u32),
                rng.random_range(0..60u32),
                c % 10_000_000,
                CITIES[city],
                COUNTRIES[city],
            )?;
            written += 1;
        }
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn timed_command(cmd: &mut Command) -> Result<f64> {
    let started = Instant::now();
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(started.elapsed().as_secs_f64())
}

/// The floor: `sqlite3` imports `csv` into a scratch table of a migrated
/// AIMA database and writes organization `org`'s customers (one per e-mail),
/// orders (one per order id, with their items as JSON) and order items from
/// it with SQL, dropping the scratch table, in one transaction. Non-unique
/// indexes are dropped first and rebuilt at the end, as the import does on
/// an empty organization. Returns the seconds taken.
fn sqlite_schema_floor(db: &Path, org: uuid::Uuid, csv: &Path) -> Result<f64> {
    let org = format!("X'{}'", org.simple());
    let script = format!(
        r#".import --csv {csv} orders_raw
BEGIN;
CREATE TEMP TABLE deferred AS SELECT name, sql FROM sqlite_master WHERE type = 'index'
  AND tbl_name IN ('customers', 'orders', 'order_items') AND sql IS NOT NULL
  AND sql NOT LIKE 'CREATE UNIQUE%';
DROP INDEX customers_org_phone_idx; DROP INDEX customers_org_full_name_idx;
DROP INDEX customers_org_created_idx; DROP INDEX orders_org_customer_idx;
DROP INDEX orders_org_ordered_at_idx; DROP INDEX order_items_org_order_idx;
DROP INDEX order_items_org_ordered_at_idx;
INSERT INTO customers (id, organization_id, email, email_lower, first_name, last_name,
  full_name, phone, city, country, tags, properties, search_text, created_at, updated_at)
SELECT randomblob(16), {org}, Email, lower(Email),
  substr("Customer Name", 1, instr("Customer Name", ' ') - 1),
  substr("Customer Name", instr("Customer Name", ' ') + 1), "Customer Name", Phone, City,
  Country, '[]', '{{}}', lower(Email || ' ' || "Customer Name" || ' ' || Phone),
  datetime('now'), datetime('now')
FROM orders_raw GROUP BY lower(Email);
INSERT INTO orders (id, organization_id, external_id, customer_id, amount, currency, status,
  items, ordered_at, created_at, updated_at)
SELECT randomblob(16), {org}, r."Order ID",
  (SELECT c.id FROM customers c WHERE c.organization_id = {org} AND c.email_lower = lower(r.Email)),
  CAST(MAX(r.Amount) AS REAL), r.Currency, r.Status,
  json_group_array(json_object('product_name', r."Product Name", 'quantity', CAST(r.Quantity AS REAL))),
  MIN(r."Order Date"), datetime('now'), datetime('now')
FROM orders_raw r GROUP BY r."Order ID";
INSERT INTO order_items (id, organization_id, order_id, ordered_at, product_name, quantity)
SELECT randomblob(16), {org}, o.id, o.ordered_at, r."Product Name", CAST(r.Quantity AS REAL)
FROM orders_raw r JOIN orders o ON o.organization_id = {org} AND o.external_id = r."Order ID";
DROP TABLE orders_raw;
CREATE INDEX customers_org_phone_idx ON customers (organization_id, phone);
CREATE INDEX customers_org_full_name_idx ON customers (organization_id, lower(full_name));
CREATE INDEX customers_org_created_idx ON customers (organization_id, created_at);
CREATE INDEX orders_org_customer_idx ON orders (organization_id, customer_id, ordered_at);
CREATE INDEX orders_org_ordered_at_idx ON orders (organization_id, ordered_at, amount);
CREATE INDEX order_items_org_order_idx ON order_items (organization_id, order_id);
CREATE INDEX order_items_org_ordered_at_idx ON order_items (organization_id, ordered_at);
SELECT CASE WHEN (SELECT COUNT(*) FROM temp.deferred) = 7 THEN 'ok'
  ELSE 'the schema has other indexes than the floor script rebuilds' END;
COMMIT;
"#,
        csv = csv.display()
    );
    let started = Instant::now();
    let out = Command::new("sqlite3")
        .arg("-bail")
        .arg(db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(script.as_bytes())?;
            }
            child.wait_with_output()
        })
        .context("the schema floor needs the sqlite3 command-line tool")?;
    let secs = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || stdout.trim() != "ok" {
        bail!(
            "sqlite3 schema floor failed: {}{}",
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(secs)
}

async fn aima_import(store: &Store, csv: &Path, rows: u64) -> Result<f64> {
    let (org, _) = store.ensure_organization("bench", "Benchmark").await?;
    let options = ImportOptions {
        source_name: "bench.csv".into(),
        ..Default::default()
    };
    let started = Instant::now();
    let report = pipeline::import(store, org.id, csv, &options, &mut |_, _| {}).await?;
    let secs = started.elapsed().as_secs_f64();
    if !report.rows_rejected.is_empty() {
        bail!(
            "benchmark file had {} rejected rows",
            report.rows_rejected.len()
        );
    }
    let orders = store.count_orders(org.id).await?;
    eprintln!(
        "  (aima wrote {orders} orders, {} customers from {rows} rows)",
        report.customers_created
    );
    Ok(secs)
}

fn report(label: &str, rows: u64, secs: f64, baseline: Option<f64>) -> std::io::Result<()> {
    let rate = rows as f64 / secs;
    match baseline {
        None => outln!("  {label:<24} {secs:>8.2} s {rate:>12.0} rows/s   (baseline)")?,
        Some(b) => {
            outln!(
                "  {label:<24} {secs:>8.2} s {rate:>12.0} rows/s   ratio {:.2} of baseline (target >= 0.50)",
                b / secs
            )?;
        }
    }
    Ok(())
}

/// Runs the import benchmark.
pub async fn run(_config: &Config, args: BenchImportArgs) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let csv = dir.path().join("orders.csv");
    let bytes = generate(&csv, args.rows)?;
    outln!(
        "import benchmark: {} rows, {:.1} MB CSV, {} customers",
        args.rows,
        bytes as f64 / 1e6,
        (args.rows / 3).max(1)
    )?;

    outln!("SQLite:")?;
    let baseline_db = dir.path().join("baseline.db");
    let sqlite_secs = timed_command(
        Command::new("sqlite3")
            .arg(&baseline_db)
            .arg(format!(".import --csv {} orders_raw", csv.display())),
    )
    .context("the baseline needs the sqlite3 command-line tool")?;
    report("sqlite3 .import", args.rows, sqlite_secs, None)?;
    let floor_dir = dir.path().join("floor");
    let floor_store = Store::open(None, &floor_dir).await?;
    floor_store.migrate().await?;
    let (floor_org, _) = floor_store
        .ensure_organization("bench", "Benchmark")
        .await?;
    floor_store.close().await;
    let floor_secs = sqlite_schema_floor(&floor_dir.join("aima.db"), floor_org.id, &csv)?;
    report(
        "sqlite3 into aima schema",
        args.rows,
        floor_secs,
        Some(sqlite_secs),
    )?;
    let store = Store::open(None, &dir.path().join("aima")).await?;
    store.migrate().await?;
    let secs = aima_import(&store, &csv, args.rows).await?;
    report("aima import (SQLite)", args.rows, secs, Some(sqlite_secs))?;
    outln!(
        "  aima import takes {:.2}x the time sqlite3 needs to write the same schema (floor)",
        secs / floor_secs
    )?;
    store.close().await;

    let pg = args
        .postgres
        .clone()
        .or_else(|| std::env::var("AIMA_TEST_DATABASE_URL").ok());
    match pg {
        None => outln!("PostgreSQL: skipped (pass --postgres URL or set AIMA_TEST_DATABASE_URL)")?,
        Some(admin) => {
            outln!("PostgreSQL:")?;
            let suffix = std::process::id();
            let base_db = format!("aima_bench_copy_{suffix}");
            let aima_db = format!("aima_bench_{suffix}");
            let psql = |url: &str, sql: &str| {
                timed_command(Command::new("psql").arg(url).args([
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-q",
                    "-c",
                    sql,
                ]))
            };
            psql(&admin, &format!("CREATE DATABASE {base_db}"))?;
            psql(&admin, &format!("CREATE DATABASE {aima_db}"))?;
            let result = async {
                let base_url = url_with_database(&admin, &base_db);
                psql(
                    &base_url,
                    "CREATE TABLE orders_raw (order_id text, order_date text, email text, customer_name text, \
                     phone text, city text, country text, product_name text, quantity text, amount text, \
                     currency text, status text)",
                )?;
                let copy_secs = psql(
                    &base_url,
                    &format!("\\copy orders_raw FROM '{}' WITH (FORMAT csv, HEADER true)", csv.display()),
                )?;
                report("psql \\copy", args.rows, copy_secs, None)?;
                let store = Store::open(Some(&url_with_database(&admin, &aima_db)), dir.path()).await?;
                store.migrate().await?;
                let secs = aima_import(&store, &csv, args.rows).await?;
                report("aima import (Postgres)", args.rows, secs, Some(copy_secs))?;
                store.close().await;
                Ok::<_, anyhow::Error>(())
            }
            .await;
            let _ = psql(&admin, &format!("DROP DATABASE IF EXISTS {base_db}"));
            let _ = psql(&admin, &format!("DROP DATABASE IF EXISTS {aima_db}"));
            result?;
        }
    }
    if let Some(mib) = peak_rss_mib() {
        outln!("peak memory of aima (VmHWM): {mib:.0} MiB (target < 500 MiB)")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic_and_sized() {
        let dir = tempfile::tempdir().expect("dir");
        let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
        generate(&a, 1000).expect("gen");
        generate(&b, 1000).expect("gen");
        let text = std::fs::read_to_string(&a).expect("read");
        assert_eq!(text, std::fs::read_to_string(&b).expect("read"));
        assert_eq!(text.lines().count(), 1001);
    }

    /// The floor writes as many customers and orders as the import does.
    #[tokio::test]
    async fn the_schema_floor_writes_what_the_import_writes() {
        if Command::new("sqlite3").arg("--version").output().is_err() {
            assert!(
                std::env::var("CI").is_err(),
                "CI needs the sqlite3 command-line tool"
            );
            eprintln!("skipped: no sqlite3 command-line tool");
            return;
        }
        let dir = tempfile::tempdir().expect("dir");
        let csv = dir.path().join("orders.csv");
        generate(&csv, 2000).expect("gen");
        let mut counts = Vec::new();
        for name in ["floor", "aima"] {
            let data = dir.path().join(name);
            let store = Store::open(None, &data).await.expect("open");
            store.migrate().await.expect("migrate");
            let (org, _) = store
                .ensure_organization("bench", "Benchmark")
                .await
                .expect("org");
            if name == "floor" {
                store.close().await;
                sqlite_schema_floor(&data.join("aima.db"), org.id, &csv).expect("floor");
            } else {
                aima_import(&store, &csv, 2000).await.expect("import");
                store.close().await;
            }
            let store = Store::open(None, &data).await.expect("reopen");
            counts.push((
                store.count_customers(org.id).await.expect("customers"),
                store.count_orders(org.id).await.expect("orders"),
            ));
            store.close().await;
        }
        assert_eq!(counts[0], counts[1]);
        assert!(counts[0].1 > 500, "{counts:?}");
    }
}
