//! Behavioural features: published CDNOW summary statistics, documented
//! ranges, permutation invariance, as-of splits, and the benchmark.

use aima_models::features::{
    self, EventRow, FEATURES, FeatureError, FeatureMatrix, ItemRow, N_FEATURES, OrderRow,
    OrderStatus, OrgData, SYNTHETIC_END, SYNTHETIC_HISTORY_DAYS,
};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

const CDNOW_SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/cdnow/CDNOW_sample.txt"
);
const CDNOW_SUMMARY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/cdnow/cdnow_customers_summary.csv"
);

fn unix_day(yyyymmdd: &str) -> i64 {
    let d = chrono::NaiveDate::parse_from_str(yyyymmdd, "%Y%m%d").expect("date");
    d.and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp()
}

/// End of the 39-week calibration period (1997-09-30, as in the summary file's T).
pub fn cdnow_calibration_end() -> i64 {
    unix_day("19970930")
}

/// End of the 78-week observation period (1998-06-30).
pub fn cdnow_end() -> i64 {
    unix_day("19980630")
}

/// The 2,357-customer CDNOW sample as an organization: customer index =
/// sample id − 1, one order per line (date at 00:00 UTC, CDs as quantity).
pub fn cdnow_sample() -> OrgData {
    let text = std::fs::read_to_string(CDNOW_SAMPLE).expect("CDNOW_sample.txt");
    let mut orders = Vec::new();
    let mut customers = 0;
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() != 5 {
            continue;
        }
        let customer: u32 = cols[1].parse::<u32>().expect("sample id") - 1;
        customers = customers.max(customer as usize + 1);
        orders.push(OrderRow {
            customer,
            at: unix_day(cols[2]),
            amount: cols[4].parse().expect("dollars"),
            quantity: cols[3].parse().expect("cds"),
            discount: 0.0,
            status: OrderStatus::Completed,
            channel: None,
        });
    }
    OrgData {
        customers,
        orders,
        ..OrgData::default()
    }
}

#[test]
fn cdnow_reproduces_the_btyd_summary() -> Result<(), FeatureError> {
    let org = cdnow_sample();
    assert_eq!((org.customers, org.orders.len()), (2357, 6919));
    let m = features::compute(&org, cdnow_calibration_end())?;
    let summary = std::fs::read_to_string(CDNOW_SUMMARY).expect("summary");
    let mut rows = 0;
    for line in summary.lines().skip(1) {
        let v: Vec<f64> = line
            .split(',')
            .map(|x| x.parse().expect("number"))
            .collect();
        let c = v[0] as usize - 1;
        let get = |name: &str| m.get(c, name).expect("feature");
        assert_eq!(get("frequency"), v[1], "customer {} frequency", v[0]);
        // t_x and T are published in weeks, rounded to 2 decimals.
        assert!(
            (get("purchase_span_days") / 7.0 - v[2]).abs() <= 0.005 + 1e-9,
            "t_x of {}",
            v[0]
        );
        assert!(
            (get("first_purchase_age_days") / 7.0 - v[3]).abs() <= 0.005 + 1e-9,
            "T of {}",
            v[0]
        );
        rows += 1;
    }
    assert_eq!(rows, 2357);
    // Repeat transactions (same-day purchases merged): 2,457 in weeks 1-39,
    // 4,339 cumulative at week 78 (so 1,882 in the holdout), SOURCE.txt.
    let total = |m: &FeatureMatrix| m.column(features::Feature::Frequency).iter().sum::<f64>();
    assert_eq!(total(&m), 2457.0);
    let end = features::compute(&org, cdnow_end())?;
    assert_eq!(total(&end), 4339.0);
    Ok(())
}

#[test]
fn synthetic_values_are_finite_and_within_documented_ranges() -> Result<(), FeatureError> {
    let org = features::synthetic(3_000, 30_000, 11);
    assert_eq!(org.orders.len(), 30_000);
    assert!(org.items.len() >= 30_000 && org.events.len() == 60_000);
    for as_of in [SYNTHETIC_END, SYNTHETIC_END - 400 * 86_400] {
        let m = features::compute(&org, as_of)?;
        assert_eq!(m.values.len(), 3_000 * N_FEATURES);
        for c in 0..m.n_customers {
            let row = m.row(c).expect("row");
            for (f, v) in FEATURES.iter().zip(row) {
                assert!(
                    v.is_finite() && *v >= f.min && *v <= f.max,
                    "customer {c} {}: {v}",
                    f.name
                );
            }
            // Weekday, hour and quarter shares each sum to 1 for purchasers.
            if row[features::Feature::OrderCount as usize] > 0.0 {
                for prefix in ["weekday_share_", "hour_share_", "quarter_share_"] {
                    let s: f64 = FEATURES
                        .iter()
                        .zip(row)
                        .filter(|(f, _)| f.name.starts_with(prefix))
                        .map(|(_, v)| v)
                        .sum();
                    assert!((s - 1.0).abs() < 1e-9, "{prefix} sums to {s}");
                }
            }
        }
        // The health score separates customers: not one constant.
        let h = m.column(features::Feature::HealthScore);
        let (lo, hi) = h
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
        assert!(hi - lo > 50.0, "health score range {lo}..{hi}");
    }
    Ok(())
}

#[test]
fn synthetic_is_seeded() {
    let a = features::synthetic(200, 1_000, 5);
    assert_eq!(a, features::synthetic(200, 1_000, 5));
    assert_ne!(a, features::synthetic(200, 1_000, 6));
    let begin = SYNTHETIC_END - SYNTHETIC_HISTORY_DAYS * 86_400;
    assert!(
        a.orders
            .iter()
            .all(|o| (begin..=SYNTHETIC_END).contains(&o.at))
    );
    assert_eq!(features::synthetic(0, 10, 1), OrgData::default());
}

fn assert_close(a: &FeatureMatrix, b: &FeatureMatrix) {
    assert_eq!((a.n_customers, a.as_of), (b.n_customers, b.as_of));
    for (k, (x, y)) in a.values.iter().zip(&b.values).enumerate() {
        assert!(
            (x - y).abs() <= 1e-9 * (1.0 + x.abs()),
            "customer {} {}: {x} vs {y}",
            k / N_FEATURES,
            FEATURES[k % N_FEATURES].name
        );
    }
}

#[test]
fn row_order_does_not_matter() -> Result<(), FeatureError> {
    let org = features::synthetic(500, 5_000, 3);
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut perm: Vec<usize> = (0..org.orders.len()).collect();
    perm.shuffle(&mut rng);
    let mut new_index = vec![0u32; perm.len()];
    for (new, &old) in perm.iter().enumerate() {
        new_index[old] = new as u32;
    }
    let orders: Vec<OrderRow> = perm.iter().map(|&i| org.orders[i]).collect();
    let mut items: Vec<ItemRow> = org
        .items
        .iter()
        .map(|it| ItemRow {
            order: new_index[it.order as usize],
            ..*it
        })
        .collect();
    items.shuffle(&mut rng);
    let mut events: Vec<EventRow> = org.events.clone();
    events.shuffle(&mut rng);
    let shuffled = OrgData {
        orders,
        items,
        events,
        ..org.clone()
    };
    assert_close(
        &features::compute(&org, SYNTHETIC_END)?,
        &features::compute(&shuffled, SYNTHETIC_END)?,
    );
    Ok(())
}

#[test]
fn as_of_equals_dropping_later_rows() -> Result<(), FeatureError> {
    let org = features::synthetic(400, 4_000, 8);
    let cut = SYNTHETIC_END - 200 * 86_400;
    let keep: Vec<bool> = org.orders.iter().map(|o| o.at <= cut).collect();
    let mut new_index = vec![u32::MAX; keep.len()];
    let mut orders = Vec::new();
    for (i, o) in org.orders.iter().enumerate() {
        if keep[i] {
            new_index[i] = orders.len() as u32;
            orders.push(*o);
        }
    }
    let items = org
        .items
        .iter()
        .filter(|it| keep[it.order as usize])
        .map(|it| ItemRow {
            order: new_index[it.order as usize],
            ..*it
        })
        .collect();
    let events = org.events.iter().filter(|e| e.at <= cut).copied().collect();
    let past = OrgData {
        orders,
        items,
        events,
        ..org.clone()
    };
    let a = features::compute(&org, cut)?;
    assert_close(&a, &features::compute(&past, cut)?);
    // And the cut changes something: the full history differs.
    assert_ne!(a.values, features::compute(&org, SYNTHETIC_END)?.values);
    Ok(())
}

/// Benchmark (issue 4): features + RFM for 100,000 customers and 1,000,000
/// orders (2,000,000 lines, 2,000,000 events) in under 2 s on 2 cores.
/// `cargo test --release -p aima-models --test it features::bench -- --ignored --nocapture`
#[test]
#[ignore = "benchmark; run in release mode"]
fn bench_100k_customers_1m_orders() -> Result<(), FeatureError> {
    let org = features::synthetic(100_000, 1_000_000, 1);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let cpu0 = crate::support::cpu_seconds();
        let t = std::time::Instant::now();
        let m = features::compute(&org, SYNTHETIC_END)?;
        let scores = aima_models::rfm::from_features(&m);
        let dt = t.elapsed().as_secs_f64();
        let cpu = crate::support::cpu_seconds() - cpu0;
        assert_eq!(scores.len(), 100_000);
        best = best.min(dt);
        println!(
            "features+rfm: {} customers, {} orders, {} items, {} events: {dt:.3} s wall, {cpu:.2} s CPU ({} threads)",
            org.customers,
            org.orders.len(),
            org.items.len(),
            org.events.len(),
            rayon::current_num_threads()
        );
    }
    println!(
        "best {best:.3} s; peak resident memory {:?} MiB",
        crate::support::peak_rss_mib()
    );
    Ok(())
}
