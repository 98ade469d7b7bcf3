//! The CDNOW holdout evaluation of every CLV/churn model side by side
//! (`aima_models::evaluation`), on the real data: the published BG/NBD and
//! Gamma-Gamma fits, the actual holdout count, and the survival network
//! beating BG/NBD on AUC and concordance.

use std::collections::HashSet;

use aima_models::evaluation::{HoldoutConfig, Purchase, clv_holdout};
use chrono::NaiveDate;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/cdnow/");

fn master() -> Vec<Purchase> {
    let text = std::fs::read_to_string(format!("{DATA}CDNOW_master.txt")).expect("master");
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            Purchase {
                customer: f[0].parse().expect("id"),
                date: NaiveDate::parse_from_str(f[1], "%Y%m%d").expect("date"),
                quantity: f[2].parse().expect("cds"),
                amount: f[3].parse().expect("dollars"),
            }
        })
        .collect()
}

fn sample_ids() -> HashSet<u32> {
    let text = std::fs::read_to_string(format!("{DATA}CDNOW_sample.txt")).expect("sample");
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(|id| id.parse().expect("id"))
        .collect()
}

#[test]
fn cdnow_holdout_table() {
    let report = clv_holdout(
        &master(),
        &sample_ids(),
        &HoldoutConfig::cdnow(),
        &mut |_| {},
    )
    .expect("evaluation");
    let close = |a: f64, b: f64, rel: f64| (a - b).abs() <= rel * b.abs();
    let bg = &report.bgnbd;
    assert!(
        close(bg.r, 0.243, 3e-3) && close(bg.alpha, 4.414, 3e-3),
        "{bg:?}"
    );
    assert!(
        close(bg.a, 0.793, 3e-3) && close(bg.b, 2.426, 3e-3),
        "{bg:?}"
    );
    assert!((bg.log_likelihood + 9582.4).abs() < 0.1, "{bg:?}");
    let gg = &report.gamma_gamma;
    assert!(close(gg.p, 6.25, 3e-3) && close(gg.q, 3.74, 3e-3) && close(gg.gamma, 15.44, 3e-3));
    let h = &report.holdout;
    assert_eq!((h.customers, h.actual_transactions), (2_357, 1_882));
    assert_eq!(h.survival_training_customers, 23_570 - 2_357);
    let bgnbd = &h.models["bgnbd"];
    let deephit = &h.models["deephit"];
    // BG/NBD's conditional forecast sits beside its published unconditional
    // holdout forecast (1,664), under the actual 1,882.
    let predicted = bgnbd.predicted_transactions.expect("count");
    assert!((1_600.0..1_720.0).contains(&predicted), "{predicted}");
    assert!(deephit.predicted_transactions.is_none());
    eprintln!("{}", serde_json::to_string_pretty(&report).expect("json"));
    assert!(
        deephit.auc > bgnbd.auc,
        "AUC {} vs {}",
        deephit.auc,
        bgnbd.auc
    );
    assert!(
        deephit.concordance > bgnbd.concordance,
        "C^td {} vs {}",
        deephit.concordance,
        bgnbd.concordance
    );
    assert!(deephit.ibs < h.kaplan_meier_ibs);
    assert_eq!(report.served_model, "deephit", "{}", report.served_reason);
}

#[test]
fn cdnow_segment_quality() {
    let purchases = master();
    let config = HoldoutConfig::cdnow();
    let ids = aima_models::evaluation::calibration_customers(&purchases, config.calibration_end);
    assert_eq!(ids.len(), 23_570);
    // A grouping that knows nothing (customer id parity) explains almost
    // nothing; the RFM personas explain a real share.
    let parity: Vec<Option<usize>> = ids.iter().map(|id| Some(*id as usize % 2)).collect();
    let report = aima_models::evaluation::segment_quality(
        &purchases,
        &config,
        &[("id_parity".to_owned(), parity)],
    )
    .expect("segment quality");
    let rfm = &report.groupings["rfm_personas"];
    let parity = &report.groupings["id_parity"];
    eprintln!("{report:?}");
    assert!(rfm.segments >= 8 && rfm.segments <= 12, "{rfm:?}");
    assert!(rfm.variance_explained > 0.05, "{rfm:?}");
    assert!(parity.variance_explained < 0.01, "{parity:?}");
}
