//! `aima bench import`: imports a generated orders CSV through the full
//! pipeline (detection, validation, identity matching, one transaction) and
//! prints its rate beside the database's own bulk loader on the same file,
//! measured in the same run: `sqlite3 .import` for SQLite, `psql \copy` for
//! PostgreSQL. Also prints this process's peak resident memory.
//!
//! It also measures a floor: `sqlite3` itself inserting the rows that the
//! import wrote (customers, orders, order items, their indexes) into an empty
//! database of the same schema, so no parsing, validation or identity
//! matching at all. That is what SQLite needs to write those rows, which
//! shows how much of the gap to `.import` (one table, no indexes) is the
//! schema's and how much is ours. On PostgreSQL the floor is `psql \copy`
//! loading the rows the import wrote.

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
pub(crate) fn generate(path: &Path, rows: u64) -> Result<u64> {
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

/// The floor: `sqlite3` copies every row that the import wrote into
/// `imported` (a finished AIMA database) into `empty` (a freshly migrated
/// one): organizations, customers, orders and order items, in one
/// transaction, on the store's connection settings, with the non-unique
/// indexes dropped first and rebuilt at the end as the import does on an
/// empty organization. Foreign keys are on, which also keeps SQLite from
/// copying pages wholesale (its transfer optimization). So it is SQLite's
/// own cost of inserting exactly these rows and indexes, with no parsing,
/// validation or identity matching. Returns the seconds taken.
fn sqlite_schema_floor(imported: &Path, empty: &Path) -> Result<f64> {
    // The deferred indexes, from the schema itself.
    let list = Command::new("sqlite3")
        .arg(empty)
        .arg(
            "SELECT name || char(9) || sql FROM sqlite_master WHERE type = 'index' \
             AND tbl_name IN ('customers', 'orders', 'order_items') AND sql IS NOT NULL \
             AND sql NOT LIKE 'CREATE UNIQUE%'",
        )
        .output()
        .context("the schema floor needs the sqlite3 command-line tool")?;
    if !list.status.success() {
        bail!("sqlite3: {}", String::from_utf8_lossy(&list.stderr));
    }
    let listed = String::from_utf8_lossy(&list.stdout);
    let indexes: Vec<(&str, &str)> = listed.lines().filter_map(|l| l.split_once('\t')).collect();
    let mut script = format!(
        "PRAGMA journal_mode = WAL;\nPRAGMA synchronous = NORMAL;\nPRAGMA foreign_keys = ON;\n\
         PRAGMA cache_size = -49152;\nPRAGMA temp_store = MEMORY;\nATTACH '{}' AS src;\nBEGIN;\n",
        imported.display().to_string().replace('\'', "''")
    );
    for (name, _) in &indexes {
        script.push_str(&format!("DROP INDEX main.\"{name}\";\n"));
    }
    // `WHERE 1` and the foreign keys keep SQLite from copying pages wholesale.
    for table in IMPORTED_TABLES {
        script.push_str(&format!(
            "INSERT INTO main.{table} SELECT * FROM src.{table} WHERE 1;\n"
        ));
    }
    for (_, sql) in &indexes {
        script.push_str(&format!("{sql};\n"));
    }
    script.push_str("COMMIT;\n");
    let started = Instant::now();
    let out = Command::new("sqlite3")
        .arg("-bail")
        .arg(empty)
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
    if !out.status.success() {
        bail!(
            "sqlite3 schema floor failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(secs)
}

/// The tables an import writes, parents first.
const IMPORTED_TABLES: [&str; 4] = ["organizations", "customers", "orders", "order_items"];

/// The PostgreSQL floor: `psql` loading, in one transaction, every row that
/// the import wrote into `aima_url` (exported to files under `dir` first,
/// untimed) with `\copy` into `floor_url`, a freshly migrated database with
/// all its indexes (the import defers none on PostgreSQL). Returns the
/// seconds the load took.
fn postgres_schema_floor(aima_url: &str, floor_url: &str, dir: &Path) -> Result<f64> {
    let file = |table: &str| dir.join(format!("floor-{table}.copy"));
    let mut script = String::from("\\set ON_ERROR_STOP 1\nBEGIN;\n");
    for table in IMPORTED_TABLES {
        timed_command(Command::new("psql").arg(aima_url).args([
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            &format!("\\copy {table} TO '{}'", file(table).display()),
        ]))?;
        script.push_str(&format!(
            "\\copy {table} FROM '{}'\n",
            file(table).display()
        ));
    }
    script.push_str("COMMIT;\n");
    let script_path = dir.join("floor.sql");
    std::fs::write(&script_path, script)?;
    timed_command(
        Command::new("psql")
            .arg(floor_url)
            .args(["-q", "-f"])
            .arg(&script_path),
    )
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

/// What a printed row is.
enum Row {
    /// The bulk loader the others are compared with.
    Baseline,
    /// The schema floor, with the baseline's seconds.
    Floor(f64),
    /// AIMA's import, with the baseline's seconds.
    Aima(f64),
}

fn report(label: &str, rows: u64, secs: f64, row: Row) -> std::io::Result<()> {
    let rate = rows as f64 / secs;
    let head = format!("  {label:<24} {secs:>8.2} s {rate:>12.0} rows/s");
    match row {
        Row::Baseline => outln!("{head}   (baseline)"),
        Row::Floor(b) => outln!("{head}   ratio {:.2} of baseline", b / secs),
        Row::Aima(b) => outln!(
            "{head}   ratio {:.2} of baseline (target >= 0.50)",
            b / secs
        ),
    }
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
    report("sqlite3 .import", args.rows, sqlite_secs, Row::Baseline)?;
    let aima_dir = dir.path().join("aima");
    let store = Store::open(None, &aima_dir).await?;
    store.migrate().await?;
    let secs = aima_import(&store, &csv, args.rows).await?;
    report(
        "aima import (SQLite)",
        args.rows,
        secs,
        Row::Aima(sqlite_secs),
    )?;
    store.close().await;
    let floor_dir = dir.path().join("floor");
    let floor_store = Store::open(None, &floor_dir).await?;
    floor_store.migrate().await?;
    floor_store.close().await;
    let floor_secs = sqlite_schema_floor(&aima_dir.join("aima.db"), &floor_dir.join("aima.db"))?;
    report(
        "floor: sqlite3 copy",
        args.rows,
        floor_secs,
        Row::Floor(sqlite_secs),
    )?;
    outln!(
        "  (floor: sqlite3 inserting the rows aima wrote into an empty database of the same schema;\n   \
         what SQLite itself needs to write them, parsing aside; aima takes {:.2}x the floor)",
        secs / floor_secs
    )?;

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
            let floor_db = format!("aima_bench_floor_{suffix}");
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
            psql(&admin, &format!("CREATE DATABASE {floor_db}"))?;
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
                report("psql \\copy", args.rows, copy_secs, Row::Baseline)?;
                let store = Store::open(Some(&url_with_database(&admin, &aima_db)), dir.path()).await?;
                store.migrate().await?;
                let secs = aima_import(&store, &csv, args.rows).await?;
                report("aima import (Postgres)", args.rows, secs, Row::Aima(copy_secs))?;
                store.close().await;
                let floor_url = url_with_database(&admin, &floor_db);
                let floor = Store::open(Some(&floor_url), dir.path()).await?;
                floor.migrate().await?;
                floor.close().await;
                let floor_secs = postgres_schema_floor(
                    &url_with_database(&admin, &aima_db),
                    &floor_url,
                    dir.path(),
                )?;
                report("floor: psql \\copy rows", args.rows, floor_secs, Row::Floor(copy_secs))?;
                outln!(
                    "  (floor: psql loading the rows aima wrote into an empty database of the same schema; \
                     aima takes {:.2}x the floor)",
                    secs / floor_secs
                )?;
                Ok::<_, anyhow::Error>(())
            }
            .await;
            let _ = psql(&admin, &format!("DROP DATABASE IF EXISTS {base_db}"));
            let _ = psql(&admin, &format!("DROP DATABASE IF EXISTS {aima_db}"));
            let _ = psql(&admin, &format!("DROP DATABASE IF EXISTS {floor_db}"));
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

    /// The floor holds what the import wrote, indexes included.
    #[tokio::test]
    async fn the_schema_floor_copies_what_the_import_wrote() {
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
        let (aima, floor) = (dir.path().join("aima"), dir.path().join("floor"));
        let store = Store::open(None, &aima).await.expect("open");
        store.migrate().await.expect("migrate");
        aima_import(&store, &csv, 2000).await.expect("import");
        let org = store
            .organization_by_slug("bench")
            .await
            .expect("org")
            .expect("org exists");
        let expected = (
            store.count_customers(org.id).await.expect("customers"),
            store.count_orders(org.id).await.expect("orders"),
        );
        store.close().await;
        let empty = Store::open(None, &floor).await.expect("open");
        empty.migrate().await.expect("migrate");
        empty.close().await;
        sqlite_schema_floor(&aima.join("aima.db"), &floor.join("aima.db")).expect("floor");
        let copy = Store::open(None, &floor).await.expect("reopen");
        let got = (
            copy.count_customers(org.id).await.expect("customers"),
            copy.count_orders(org.id).await.expect("orders"),
        );
        assert_eq!(got, expected);
        assert!(expected.1 > 500, "{expected:?}");
        let indexes = Command::new("sqlite3")
            .arg(floor.join("aima.db"))
            .arg("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders' AND sql IS NOT NULL")
            .output()
            .expect("sqlite3");
        assert_eq!(String::from_utf8_lossy(&indexes.stdout).trim(), "3");
        copy.close().await;
    }
}
