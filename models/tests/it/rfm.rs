//! RFM scores and personas on the real CDNOW sample.

use aima_models::features::{self, Feature, FeatureError};
use aima_models::rfm::{self, Persona};

use crate::features::{cdnow_calibration_end, cdnow_end, cdnow_sample};

#[test]
fn cdnow_scores_are_ordered_and_personas_predict_the_holdout() -> Result<(), FeatureError> {
    let org = cdnow_sample();
    let cal = features::compute(&org, cdnow_calibration_end())?;
    let end = features::compute(&org, cdnow_end())?;
    let scores = rfm::from_features(&cal);
    // Every sample customer bought in the first quarter of 1997.
    assert!(scores.iter().all(Option::is_some));
    let scored: Vec<_> = scores.iter().flatten().copied().collect();
    let recency = cal.column(Feature::RecencyDays);
    let monetary = cal.column(Feature::MonetaryTotal);
    // Scores are monotone in their value (R reversed).
    for i in 0..scored.len() {
        for j in (0..scored.len()).step_by(37) {
            if recency[i] < recency[j] {
                assert!(scored[i].r >= scored[j].r);
            }
            if monetary[i] < monetary[j] {
                assert!(scored[i].m <= scored[j].m);
            }
        }
    }
    // Quintiles: with distinct-enough spend, each M score holds about a fifth.
    for s in 1..=5u8 {
        let share = scored.iter().filter(|x| x.m == s).count() as f64 / scored.len() as f64;
        assert!((0.15..=0.25).contains(&share), "M={s}: {share}");
    }
    // Holdout repeat purchase days per customer (weeks 40-78), by persona.
    let holdout: Vec<f64> = end
        .column(Feature::Frequency)
        .iter()
        .zip(cal.column(Feature::Frequency))
        .map(|(e, c)| e - c)
        .collect();
    let mean_of = |p: Persona| {
        let xs: Vec<f64> = scored
            .iter()
            .zip(&holdout)
            .filter(|(s, _)| s.persona() == p)
            .map(|(_, h)| *h)
            .collect();
        (xs.iter().sum::<f64>() / xs.len().max(1) as f64, xs.len())
    };
    let (champions, n_champions) = mean_of(Persona::Champions);
    let (lost, n_lost) = mean_of(Persona::Lost);
    let (hibernating, _) = mean_of(Persona::Hibernating);
    assert!(
        n_champions > 50 && n_lost > 50,
        "{n_champions} champions, {n_lost} lost"
    );
    assert!(
        champions > 3.0 * lost.max(0.05),
        "champions {champions} vs lost {lost}"
    );
    assert!(champions > hibernating);
    Ok(())
}

#[test]
fn synthetic_personas_cover_the_map() -> Result<(), FeatureError> {
    let org = features::synthetic(5_000, 40_000, 21);
    let m = features::compute(&org, features::SYNTHETIC_END)?;
    let scores = rfm::from_features(&m);
    let order_count = m.column(Feature::OrderCount);
    for (s, n) in scores.iter().zip(&order_count) {
        assert_eq!(s.is_some(), *n > 0.0);
    }
    let personas = rfm::personas(&m);
    assert!(
        personas
            .iter()
            .zip(&scores)
            .all(|(p, s)| *p == s.map(|s| s.persona()))
    );
    let mut seen: Vec<Persona> = personas.iter().flatten().copied().collect();
    seen.sort();
    seen.dedup();
    assert!(seen.len() >= 10, "only {seen:?}");
    Ok(())
}
