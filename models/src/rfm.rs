//! RFM quintile scores and the standard persona (segment) map (issue 4, M1).
//!
//! # Scores
//! Only customers with at least one purchase are scored; customers without
//! purchases get `None` (they have no recency, frequency or monetary value to
//! rank). Among the `n` scored customers, each of R, F and M is a quintile
//! score 1..=5 from the customer's **mid-rank**:
//!
//! `score = 1 + floor(5 × (below + (ties − 1) / 2) / n)`, clamped to 1..=5,
//!
//! where `below` counts scored customers with a strictly worse value and
//! `ties` counts those (including the customer) with an equal value. Worse
//! means: larger `recency_days` for R (more recent = higher score), smaller
//! `order_count` for F, smaller `monetary_total` for M. Equal values always get
//! equal scores, a tie group is placed at its middle rank, and the result does
//! not depend on the order of customers (deterministic, permutation invariant).
//! With distinct values the boundaries fall at ranks `n/5, 2n/5, 3n/5, 4n/5`;
//! if every customer has the same value, all get 3.
//!
//! # Personas
//! `FM = ceil((F + M) / 2)` (1..=5), then this table on R and FM:
//!
//! | R \ FM | 1              | 2                   | 3                   | 4               | 5               |
//! |--------|----------------|---------------------|---------------------|-----------------|-----------------|
//! | 5      | New Customers  | Potential Loyalists | Potential Loyalists | Champions       | Champions       |
//! | 4      | Promising      | Potential Loyalists | Potential Loyalists | Loyal Customers | Champions       |
//! | 3      | About to Sleep | About to Sleep      | Need Attention      | Loyal Customers | Loyal Customers |
//! | 2      | Hibernating    | Hibernating         | At Risk             | At Risk         | Can't Lose Them |
//! | 1      | Lost           | Lost                | At Risk             | At Risk         | Can't Lose Them |
//!
//! # Health rank
//! Each persona has a health rank (11 = healthiest): Champions 11, Loyal
//! Customers 10, Potential Loyalists 9, New Customers 8, Promising 7, Need
//! Attention 6, About to Sleep 5, Can't Lose Them 4, At Risk 3, Hibernating 2,
//! Lost 1. A move is *worse* ([`is_worse`]) when the rank drops.

use serde::{Deserialize, Serialize};

use crate::features::{Feature, FeatureMatrix};

/// Why RFM scores could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RfmError {
    /// The three input slices have different lengths.
    #[error("input lengths differ: recency {recency}, frequency {frequency}, monetary {monetary}")]
    LengthMismatch {
        /// Length of the recency slice.
        recency: usize,
        /// Length of the frequency slice.
        frequency: usize,
        /// Length of the monetary slice.
        monetary: usize,
    },
    /// A value is NaN or infinite.
    #[error("customer {customer}: {field} is not finite ({value})")]
    NotFinite {
        /// Customer index.
        customer: usize,
        /// `"recency"`, `"frequency"` or `"monetary"`.
        field: &'static str,
        /// The value found.
        value: f64,
    },
    /// A mean score given to [`persona_of_profile`] is outside 1..=5 or not finite.
    #[error("mean {field} score {value} is outside 1..=5")]
    ProfileOutOfRange {
        /// `"r"`, `"f"` or `"m"`.
        field: &'static str,
        /// The value found.
        value: f64,
    },
}

/// One customer's RFM quintile scores, each in 1..=5 (5 = best).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RfmScore {
    /// Recency score (5 = most recent purchase).
    pub r: u8,
    /// Frequency score (5 = most purchases).
    pub f: u8,
    /// Monetary score (5 = most spent).
    pub m: u8,
}

impl RfmScore {
    /// The combined frequency-monetary score `ceil((f + m) / 2)`, 1..=5.
    pub fn fm(self) -> u8 {
        (self.f + self.m).div_ceil(2)
    }

    /// The persona of these scores (see the module table).
    pub fn persona(self) -> Persona {
        persona_of(self.r, self.fm())
    }
}

/// The standard RFM personas (segments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Persona {
    /// Bought recently, buy often and spend the most.
    Champions,
    /// Buy regularly with good value, not necessarily very recently.
    LoyalCustomers,
    /// Recent customers with average frequency and spend.
    PotentialLoyalists,
    /// Bought very recently, once or little so far.
    NewCustomers,
    /// Recent shoppers who have not spent much yet.
    Promising,
    /// Average recency, frequency and spend.
    NeedAttention,
    /// Below-average recency and low value.
    AboutToSleep,
    /// Used to buy often and spend well, but long ago.
    AtRisk,
    /// Top spenders who have not come back for a long time.
    CantLoseThem,
    /// Last purchase a while ago, low frequency and spend.
    Hibernating,
    /// Lowest recency, frequency and spend.
    Lost,
}

impl Persona {
    /// Every persona, healthiest first.
    pub const ALL: [Persona; 11] = [
        Persona::Champions,
        Persona::LoyalCustomers,
        Persona::PotentialLoyalists,
        Persona::NewCustomers,
        Persona::Promising,
        Persona::NeedAttention,
        Persona::AboutToSleep,
        Persona::CantLoseThem,
        Persona::AtRisk,
        Persona::Hibernating,
        Persona::Lost,
    ];

    /// Human-readable name, e.g. "Can't Lose Them".
    pub fn display_name(self) -> &'static str {
        match self {
            Persona::Champions => "Champions",
            Persona::LoyalCustomers => "Loyal Customers",
            Persona::PotentialLoyalists => "Potential Loyalists",
            Persona::NewCustomers => "New Customers",
            Persona::Promising => "Promising",
            Persona::NeedAttention => "Need Attention",
            Persona::AboutToSleep => "About to Sleep",
            Persona::AtRisk => "At Risk",
            Persona::CantLoseThem => "Can't Lose Them",
            Persona::Hibernating => "Hibernating",
            Persona::Lost => "Lost",
        }
    }

    /// The serde (snake_case) key, e.g. `"cant_lose_them"`.
    pub fn key(self) -> &'static str {
        match self {
            Persona::Champions => "champions",
            Persona::LoyalCustomers => "loyal_customers",
            Persona::PotentialLoyalists => "potential_loyalists",
            Persona::NewCustomers => "new_customers",
            Persona::Promising => "promising",
            Persona::NeedAttention => "need_attention",
            Persona::AboutToSleep => "about_to_sleep",
            Persona::AtRisk => "at_risk",
            Persona::CantLoseThem => "cant_lose_them",
            Persona::Hibernating => "hibernating",
            Persona::Lost => "lost",
        }
    }

    /// Health rank, 11 = healthiest (Champions) .. 1 = Lost; distinct per persona.
    pub fn health_rank(self) -> u8 {
        match self {
            Persona::Champions => 11,
            Persona::LoyalCustomers => 10,
            Persona::PotentialLoyalists => 9,
            Persona::NewCustomers => 8,
            Persona::Promising => 7,
            Persona::NeedAttention => 6,
            Persona::AboutToSleep => 5,
            Persona::CantLoseThem => 4,
            Persona::AtRisk => 3,
            Persona::Hibernating => 2,
            Persona::Lost => 1,
        }
    }

    /// One-line description of who is in this persona.
    pub fn description(self) -> &'static str {
        match self {
            Persona::Champions => "Bought recently, buy often and spend the most.",
            Persona::LoyalCustomers => {
                "Buy regularly and spend well; respond to loyalty programmes."
            }
            Persona::PotentialLoyalists => {
                "Recent customers with average frequency and spend who could become loyal."
            }
            Persona::NewCustomers => "Bought very recently but only once or little so far.",
            Persona::Promising => "Recent shoppers who have not spent much yet.",
            Persona::NeedAttention => {
                "Average recency, frequency and spend; slipping without a nudge."
            }
            Persona::AboutToSleep => {
                "Below-average recency and low value; will be lost if not reactivated."
            }
            Persona::AtRisk => "Used to buy often and spend well, but not for a long time.",
            Persona::CantLoseThem => {
                "Among the biggest spenders, but have not come back for a long time."
            }
            Persona::Hibernating => "Last purchase a while ago, with low frequency and spend.",
            Persona::Lost => "Lowest recency, frequency and spend of all customers.",
        }
    }

    /// One-line recommended marketing action.
    pub fn recommended_action(self) -> &'static str {
        match self {
            Persona::Champions => {
                "Reward them: early access, VIP perks, and ask for reviews and referrals."
            }
            Persona::LoyalCustomers => {
                "Upsell higher-value products and enrol them in the loyalty programme."
            }
            Persona::PotentialLoyalists => {
                "Offer membership or loyalty benefits and personalised recommendations."
            }
            Persona::NewCustomers => {
                "Onboard them well: welcome series, product education, a second-purchase incentive."
            }
            Persona::Promising => "Build brand awareness and offer a time-limited incentive.",
            Persona::NeedAttention => {
                "Send personalised, limited-time offers based on past purchases."
            }
            Persona::AboutToSleep => {
                "Reconnect with popular products and a discount before they lapse."
            }
            Persona::AtRisk => {
                "Send personalised win-back emails with renewals or helpful resources."
            }
            Persona::CantLoseThem => {
                "Win them back with new products or strong offers; reach out personally."
            }
            Persona::Hibernating => {
                "Offer other relevant products and special discounts; recreate brand value."
            }
            Persona::Lost => {
                "Try one low-cost reactivation campaign; otherwise stop spending on them."
            }
        }
    }
}

impl std::fmt::Display for Persona {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.display_name())
    }
}

/// Whether moving from persona `from` to persona `to` is a move to a less
/// healthy persona (its health rank is lower). `is_worse(p, p)` is false.
pub fn is_worse(from: Persona, to: Persona) -> bool {
    to.health_rank() < from.health_rank()
}

/// The persona of recency score `r` and combined score `fm` (both 1..=5;
/// values outside are clamped) by the module table.
pub fn persona_of(r: u8, fm: u8) -> Persona {
    use Persona::*;
    const TABLE: [[Persona; 5]; 5] = [
        // R = 1
        [Lost, Lost, AtRisk, AtRisk, CantLoseThem],
        // R = 2
        [Hibernating, Hibernating, AtRisk, AtRisk, CantLoseThem],
        // R = 3
        [
            AboutToSleep,
            AboutToSleep,
            NeedAttention,
            LoyalCustomers,
            LoyalCustomers,
        ],
        // R = 4
        [
            Promising,
            PotentialLoyalists,
            PotentialLoyalists,
            LoyalCustomers,
            Champions,
        ],
        // R = 5
        [
            NewCustomers,
            PotentialLoyalists,
            PotentialLoyalists,
            Champions,
            Champions,
        ],
    ];
    let r = r.clamp(1, 5) as usize - 1;
    let fm = fm.clamp(1, 5) as usize - 1;
    TABLE[r][fm]
}

/// Names a group (e.g. a cluster) from its members' mean R, F and M scores
/// (each in [1, 5]): R and FM are rounded half up, with
/// `FM = round((mean_f + mean_m) / 2)`, then looked up in the module table.
///
/// # Errors
/// [`RfmError::ProfileOutOfRange`] if a mean is not finite or outside [1, 5].
pub fn persona_of_profile(mean_r: f64, mean_f: f64, mean_m: f64) -> Result<Persona, RfmError> {
    for (field, value) in [("r", mean_r), ("f", mean_f), ("m", mean_m)] {
        if !value.is_finite() || !(1.0..=5.0).contains(&value) {
            return Err(RfmError::ProfileOutOfRange { field, value });
        }
    }
    let round = |x: f64| (x + 0.5).floor().clamp(1.0, 5.0) as u8;
    Ok(persona_of(round(mean_r), round((mean_f + mean_m) / 2.0)))
}

/// Quintile scores of `values` over the customers where `include` is true,
/// `higher_is_better` giving the direction (see the module docs).
fn quintiles(values: &[f64], include: &[bool], higher_is_better: bool) -> Vec<u8> {
    let mut idx: Vec<usize> = (0..values.len()).filter(|&i| include[i]).collect();
    let n = idx.len();
    // Sort worst first.
    idx.sort_unstable_by(|&a, &b| {
        let o = values[a].total_cmp(&values[b]);
        if higher_is_better { o } else { o.reverse() }
    });
    let mut out = vec![0u8; values.len()];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && values[idx[j + 1]] == values[idx[i]] {
            j += 1;
        }
        let ties = (j - i + 1) as f64;
        let mid = i as f64 + (ties - 1.0) / 2.0;
        let s = (1.0 + (5.0 * mid / n as f64).floor()).clamp(1.0, 5.0) as u8;
        for &k in &idx[i..=j] {
            out[k] = s;
        }
        i = j + 1;
    }
    out
}

/// RFM scores of every customer: `recency_days` (days since last purchase),
/// `frequency` (number of purchases) and `monetary` (total spend), one entry
/// per customer. Customers with `frequency <= 0` have no purchases and get
/// `None`; the others are ranked among themselves (see the module docs).
///
/// # Errors
/// [`RfmError::LengthMismatch`] if the slices differ in length,
/// [`RfmError::NotFinite`] naming the first non-finite value.
pub fn score(
    recency_days: &[f64],
    frequency: &[f64],
    monetary: &[f64],
) -> Result<Vec<Option<RfmScore>>, RfmError> {
    if recency_days.len() != frequency.len() || frequency.len() != monetary.len() {
        return Err(RfmError::LengthMismatch {
            recency: recency_days.len(),
            frequency: frequency.len(),
            monetary: monetary.len(),
        });
    }
    for (field, xs) in [
        ("recency", recency_days),
        ("frequency", frequency),
        ("monetary", monetary),
    ] {
        if let Some((customer, &value)) = xs.iter().enumerate().find(|(_, x)| !x.is_finite()) {
            return Err(RfmError::NotFinite {
                customer,
                field,
                value,
            });
        }
    }
    let include: Vec<bool> = frequency.iter().map(|&f| f > 0.0).collect();
    let r = quintiles(recency_days, &include, false);
    let f = quintiles(frequency, &include, true);
    let m = quintiles(monetary, &include, true);
    Ok((0..include.len())
        .map(|i| {
            include[i].then_some(RfmScore {
                r: r[i],
                f: f[i],
                m: m[i],
            })
        })
        .collect())
}

/// RFM scores from a feature matrix: R from `recency_days`, F from
/// `order_count`, M from `monetary_total` (see [`score`]).
pub fn from_features(features: &FeatureMatrix) -> Vec<Option<RfmScore>> {
    let r = features.column(Feature::RecencyDays);
    let f = features.column(Feature::OrderCount);
    let m = features.column(Feature::MonetaryTotal);
    // Feature values are finite and the columns have equal length by construction.
    score(&r, &f, &m).unwrap_or_else(|_| vec![None; features.n_customers])
}

/// The persona of every customer of a feature matrix (`None` for customers
/// without purchases), from [`from_features`].
pub fn personas(features: &FeatureMatrix) -> Vec<Option<Persona>> {
    from_features(features)
        .into_iter()
        .map(|s| s.map(RfmScore::persona))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Persona::*;
    use super::*;

    fn scores(r: &[f64], f: &[f64], m: &[f64]) -> Vec<Option<RfmScore>> {
        score(r, f, m).unwrap_or_default()
    }

    #[test]
    fn every_table_cell() {
        let want = [
            // fm = 1..5 for r = 1..5
            [Lost, Lost, AtRisk, AtRisk, CantLoseThem],
            [Hibernating, Hibernating, AtRisk, AtRisk, CantLoseThem],
            [
                AboutToSleep,
                AboutToSleep,
                NeedAttention,
                LoyalCustomers,
                LoyalCustomers,
            ],
            [
                Promising,
                PotentialLoyalists,
                PotentialLoyalists,
                LoyalCustomers,
                Champions,
            ],
            [
                NewCustomers,
                PotentialLoyalists,
                PotentialLoyalists,
                Champions,
                Champions,
            ],
        ];
        for r in 1..=5u8 {
            for fm in 1..=5u8 {
                assert_eq!(
                    persona_of(r, fm),
                    want[r as usize - 1][fm as usize - 1],
                    "r={r} fm={fm}"
                );
            }
        }
        // Every persona is reachable.
        for p in Persona::ALL {
            assert!(want.iter().flatten().any(|q| *q == p), "{p} unreachable");
        }
        // Out-of-range inputs clamp.
        assert_eq!(persona_of(0, 9), CantLoseThem);
        assert_eq!(persona_of(7, 0), NewCustomers);
    }

    #[test]
    fn fm_is_the_ceiling_of_the_mean() {
        for f in 1..=5u8 {
            for m in 1..=5u8 {
                let s = RfmScore { r: 3, f, m };
                let want = (f64::from(f + m) / 2.0).ceil() as u8;
                assert_eq!(s.fm(), want);
                assert_eq!(s.persona(), persona_of(3, want));
            }
        }
        assert_eq!(RfmScore { r: 5, f: 4, m: 3 }.persona(), Champions);
        assert_eq!(RfmScore { r: 5, f: 3, m: 3 }.persona(), PotentialLoyalists);
    }

    #[test]
    fn quintile_boundaries_with_distinct_values() {
        // 100 customers with distinct values: the k-th worst (0-based) gets
        // 1 + floor(5k / 100): boundaries at 20, 40, 60, 80.
        let n = 100;
        let v: Vec<f64> = (0..n).map(|k| k as f64 * 1.5 + 1.0).collect();
        let recency: Vec<f64> = v.iter().rev().copied().collect();
        let s = scores(&recency, &v, &v);
        for (k, sk) in s.iter().enumerate() {
            let want = 1 + (5 * k / n) as u8;
            let got = sk.map(|x| (x.r, x.f, x.m));
            assert_eq!(got, Some((want, want, want)), "k={k}");
        }
        assert_eq!(s[19].map(|x| x.f), Some(1));
        assert_eq!(s[20].map(|x| x.f), Some(2));
        assert_eq!(s[79].map(|x| x.f), Some(4));
        assert_eq!(s[80].map(|x| x.f), Some(5));
        // Five customers: one per quintile; more recent = higher R.
        let s = scores(
            &[50.0, 1.0, 20.0, 7.0, 100.0],
            &[1.0; 5],
            &[1.0, 2.0, 3.0, 4.0, 5.0],
        );
        let r: Vec<u8> = s.iter().flatten().map(|x| x.r).collect();
        let m: Vec<u8> = s.iter().flatten().map(|x| x.m).collect();
        assert_eq!(r, vec![2, 5, 3, 4, 1]);
        assert_eq!(m, vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn ties_share_the_mid_rank_score() {
        // Ten customers, frequencies 1 x6, 2 x2, 5, 9: the six ones sit at mid
        // rank 2.5 -> 1 + floor(12.5 / 10) = 2; the twos at mid 6.5 -> 4;
        // 5 at rank 8 -> 5; 9 at rank 9 -> 5.
        let f = [1.0, 1.0, 2.0, 1.0, 9.0, 1.0, 2.0, 1.0, 5.0, 1.0];
        let s = scores(&[1.0; 10], &f, &f);
        let got: Vec<u8> = s.iter().flatten().map(|x| x.f).collect();
        assert_eq!(got, vec![2, 2, 4, 2, 5, 2, 4, 2, 5, 2]);
        // Everyone tied: the middle quintile.
        let s = scores(&[3.0; 7], &[2.0; 7], &[10.0; 7]);
        assert!(s.iter().flatten().all(|x| (x.r, x.f, x.m) == (3, 3, 3)));
    }

    #[test]
    fn non_purchasers_are_not_scored_and_not_ranked() {
        let s = scores(&[5.0, 0.0, 10.0], &[1.0, 0.0, 2.0], &[10.0, 0.0, 20.0]);
        assert_eq!(s[1], None);
        // The two purchasers are ranked among themselves only.
        assert_eq!(s[0], Some(RfmScore { r: 3, f: 1, m: 1 }));
        assert_eq!(s[2], Some(RfmScore { r: 1, f: 3, m: 3 }));
        assert_eq!(scores(&[], &[], &[]), vec![]);
    }

    #[test]
    fn permutation_invariant() {
        let r = [3.0, 9.0, 1.0, 9.0, 4.0, 30.0, 2.0];
        let f = [1.0, 4.0, 2.0, 2.0, 1.0, 7.0, 3.0];
        let m = [5.0, 40.0, 12.0, 12.0, 5.0, 99.0, 31.0];
        let base = scores(&r, &f, &m);
        let perm = [6, 2, 0, 5, 1, 4, 3];
        let pr: Vec<f64> = perm.iter().map(|&i| r[i]).collect();
        let pf: Vec<f64> = perm.iter().map(|&i| f[i]).collect();
        let pm: Vec<f64> = perm.iter().map(|&i| m[i]).collect();
        let permuted = scores(&pr, &pf, &pm);
        for (k, &i) in perm.iter().enumerate() {
            assert_eq!(permuted[k], base[i]);
        }
    }

    #[test]
    fn bad_input() {
        assert_eq!(
            score(&[1.0], &[1.0, 2.0], &[1.0]),
            Err(RfmError::LengthMismatch {
                recency: 1,
                frequency: 2,
                monetary: 1
            })
        );
        assert!(matches!(
            score(&[1.0, 2.0], &[1.0, 2.0], &[1.0, f64::INFINITY]),
            Err(RfmError::NotFinite {
                customer: 1,
                field: "monetary",
                ..
            })
        ));
    }

    #[test]
    fn worse_moves() {
        assert!(is_worse(Champions, AtRisk));
        assert!(is_worse(LoyalCustomers, AboutToSleep));
        assert!(is_worse(AtRisk, Lost));
        assert!(!is_worse(AtRisk, Champions));
        assert!(!is_worse(AboutToSleep, LoyalCustomers));
        assert!(!is_worse(Lost, AtRisk));
        let mut ranks: Vec<u8> = Persona::ALL.iter().map(|p| p.health_rank()).collect();
        // ALL is healthiest first, ranks 11..1, all distinct.
        assert_eq!(ranks, (1..=11u8).rev().collect::<Vec<_>>());
        ranks.dedup();
        assert_eq!(ranks.len(), 11);
        for a in Persona::ALL {
            assert!(!is_worse(a, a));
            for b in Persona::ALL {
                assert!(!(is_worse(a, b) && is_worse(b, a)));
                if a != b {
                    assert!(is_worse(a, b) ^ is_worse(b, a));
                }
            }
        }
    }

    #[test]
    fn profile_rounding_boundaries() -> Result<(), RfmError> {
        assert_eq!(persona_of_profile(4.5, 4.0, 4.0)?, Champions);
        assert_eq!(persona_of_profile(4.49, 4.0, 4.0)?, LoyalCustomers);
        // FM = round((F + M) / 2): 3.5 -> 4, 3.49 -> 3.
        assert_eq!(persona_of_profile(3.0, 3.0, 4.0)?, LoyalCustomers);
        assert_eq!(persona_of_profile(3.0, 3.0, 3.98)?, NeedAttention);
        assert_eq!(persona_of_profile(1.0, 1.0, 1.0)?, Lost);
        assert_eq!(persona_of_profile(5.0, 5.0, 5.0)?, Champions);
        assert_eq!(persona_of_profile(1.49, 5.0, 4.0)?, CantLoseThem);
        assert_eq!(persona_of_profile(1.5, 5.0, 4.0)?, CantLoseThem);
        assert_eq!(persona_of_profile(2.5, 2.0, 2.0)?, AboutToSleep);
        assert!(matches!(
            persona_of_profile(0.9, 2.0, 2.0),
            Err(RfmError::ProfileOutOfRange { field: "r", .. })
        ));
        assert!(matches!(
            persona_of_profile(2.0, 2.0, f64::NAN),
            Err(RfmError::ProfileOutOfRange { field: "m", .. })
        ));
        Ok(())
    }

    #[test]
    fn serde_names_are_snake_case() -> Result<(), serde_json::Error> {
        for p in Persona::ALL {
            assert_eq!(serde_json::to_string(&p)?, format!("\"{}\"", p.key()));
            assert_eq!(
                serde_json::from_str::<Persona>(&format!("\"{}\"", p.key()))?,
                p
            );
        }
        Ok(())
    }

    #[test]
    fn names_and_texts() {
        for p in Persona::ALL {
            assert!(!p.display_name().is_empty());
            assert!(p.description().ends_with('.'));
            assert!(p.recommended_action().ends_with('.'));
            assert_eq!(p.to_string(), p.display_name());
        }
        assert_eq!(CantLoseThem.display_name(), "Can't Lose Them");
        assert_eq!(CantLoseThem.key(), "cant_lose_them");
    }
}
