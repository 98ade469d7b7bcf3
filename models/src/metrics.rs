//! Evaluation metrics for classifiers and survival models (pure `f64`).
//!
//! - [`roc_auc`]: area under the ROC curve (Mann-Whitney statistic, ties by
//!   mid-ranks).
//! - [`harrell_c`]: Harrell's concordance index for right-censored data.
//! - [`concordance_td`]: Antolini's time-dependent concordance `C^td` for
//!   predicted survival curves.
//! - [`KaplanMeier`]: the product-limit estimator of a survival function.
//! - [`brier_score`] and [`integrated_brier_score`]: the Brier score at a
//!   time `t` with inverse-probability-of-censoring weights (Graf et al.
//!   1999) and its integral over a time grid.
//! - [`mean_absolute_error`].
//!
//! Times are plain `f64` in whatever unit the caller uses (days, weeks); all
//! inputs of one call must share that unit. Survival data are given as
//! parallel slices `time[i]` (event or censoring time) and `event[i]`
//! (`true` when the event was observed at `time[i]`, `false` when the
//! observation was right-censored there).

/// Errors of the metrics in this module.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    /// Two parallel inputs have different lengths.
    #[error("{what} has length {got}, expected {expected}")]
    LengthMismatch {
        /// The input with the wrong length.
        what: &'static str,
        /// The length required (that of the first input).
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// No observations were given.
    #[error("no observations")]
    Empty,
    /// A value is NaN or infinite (or a time is negative).
    #[error("{what}[{index}] is not a finite value (or a negative time): {value}")]
    InvalidValue {
        /// The input holding the value.
        what: &'static str,
        /// Position of the value in that input.
        index: usize,
        /// The value.
        value: f64,
    },
    /// AUC needs both classes.
    #[error("AUC needs both classes: {positives} positives, {negatives} negatives")]
    SingleClass {
        /// Number of positive labels.
        positives: usize,
        /// Number of negative labels.
        negatives: usize,
    },
    /// No pair of observations is comparable (no observed event before
    /// another observation's time), so the concordance is undefined.
    #[error("no comparable pairs: the concordance is undefined")]
    NoComparablePairs,
    /// Every outcome is the same, so there is no variance to explain.
    #[error("the outcome has no variance: the share explained is undefined")]
    NoVariance,
    /// The Kaplan-Meier estimate of the censoring survival is zero where an
    /// inverse-probability weight is needed (everyone still followed was
    /// censored by then), so the Brier score at this time is undefined.
    #[error("censoring survival is zero at time {time}: Brier score undefined there")]
    ZeroCensoringWeight {
        /// The time at which the censoring survival G is zero.
        time: f64,
    },
    /// The time grid of the integrated Brier score is not strictly
    /// increasing or has fewer than two points.
    #[error(
        "time grid must have at least two strictly increasing points (problem at index {index})"
    )]
    BadGrid {
        /// Index of the first offending grid point.
        index: usize,
    },
}

fn check_len(what: &'static str, expected: usize, got: usize) -> Result<(), MetricsError> {
    if expected == got {
        Ok(())
    } else {
        Err(MetricsError::LengthMismatch {
            what,
            expected,
            got,
        })
    }
}

fn check_finite(what: &'static str, values: &[f64]) -> Result<(), MetricsError> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(MetricsError::InvalidValue {
            what,
            index,
            value: values[index],
        }),
    }
}

fn check_times(time: &[f64]) -> Result<(), MetricsError> {
    match time.iter().position(|v| !v.is_finite() || *v < 0.0) {
        None => Ok(()),
        Some(index) => Err(MetricsError::InvalidValue {
            what: "time",
            index,
            value: time[index],
        }),
    }
}

fn check_survival(time: &[f64], event: &[bool]) -> Result<(), MetricsError> {
    if time.is_empty() {
        return Err(MetricsError::Empty);
    }
    check_len("event", time.len(), event.len())?;
    check_times(time)
}

/// Area under the ROC curve of `scores` for the binary `labels`.
///
/// A higher score means "more likely positive" (`true`). Computed as the
/// Mann-Whitney statistic `AUC = (R+ - n+(n+ + 1)/2) / (n+ n-)` where `R+`
/// is the sum of the ranks of the positives among all scores, tied scores
/// sharing their mid-rank (so a tied positive/negative pair counts 1/2).
/// The result lies in `[0, 1]`; 0.5 is chance. O(n log n).
///
/// # Errors
/// [`MetricsError::Empty`], [`MetricsError::LengthMismatch`],
/// [`MetricsError::InvalidValue`] for a non-finite score, and
/// [`MetricsError::SingleClass`] when either class is empty.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Result<f64, MetricsError> {
    if scores.is_empty() {
        return Err(MetricsError::Empty);
    }
    check_len("labels", scores.len(), labels.len())?;
    check_finite("scores", scores)?;
    let positives = labels.iter().filter(|l| **l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(MetricsError::SingleClass {
            positives,
            negatives,
        });
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    let mut rank_sum_pos = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        // Ranks start..end (0-based) share the 1-based mid-rank.
        let mid_rank = (start + 1 + end) as f64 / 2.0;
        let pos_here = order[start..end].iter().filter(|i| labels[**i]).count();
        rank_sum_pos += mid_rank * pos_here as f64;
        start = end;
    }
    let np = positives as f64;
    let nn = negatives as f64;
    Ok((rank_sum_pos - np * (np + 1.0) / 2.0) / (np * nn))
}

/// Whether the pair (i, j) is comparable for concordance: `i` had an
/// observed event strictly before `j`'s time, or at the same time as `j`'s
/// censoring (the convention of scikit-survival's
/// `concordance_index_censored`).
fn comparable(time: &[f64], event: &[bool], i: usize, j: usize) -> bool {
    event[i] && (time[i] < time[j] || (time[i] == time[j] && !event[j]))
}

/// Harrell's concordance index of a risk score for right-censored data.
///
/// `risk[i]` is a risk score: higher means an earlier event expected. A pair
/// (i, j) is comparable when `event[i]` and `time[i] < time[j]` (or
/// `time[i] == time[j]` with `j` censored); it is concordant when
/// `risk[i] > risk[j]`, and a tie in risk counts 1/2.
/// `C = (concordant + ties/2) / comparable`, in `[0, 1]`; 0.5 is chance.
/// O(n log n) time (a sweep from the latest time with a Fenwick tree over
/// risk ranks). Matches scikit-survival's `concordance_index_censored`.
///
/// # Errors
/// [`MetricsError::Empty`], [`MetricsError::LengthMismatch`],
/// [`MetricsError::InvalidValue`] (non-finite risk, negative or non-finite
/// time), [`MetricsError::NoComparablePairs`].
pub fn harrell_c(risk: &[f64], time: &[f64], event: &[bool]) -> Result<f64, MetricsError> {
    check_survival(time, event)?;
    check_len("risk", time.len(), risk.len())?;
    check_finite("risk", risk)?;
    // Dense 1-based ranks of the risks (equal risks share a rank).
    let mut by_risk: Vec<usize> = (0..risk.len()).collect();
    by_risk.sort_by(|a, b| risk[*a].total_cmp(&risk[*b]));
    let mut rank = vec![0usize; risk.len()];
    let mut r = 0;
    for (k, &i) in by_risk.iter().enumerate() {
        if k == 0 || risk[i] != risk[by_risk[k - 1]] {
            r += 1;
        }
        rank[i] = r;
    }
    let mut tree = Fenwick::new(r);
    let mut by_time: Vec<usize> = (0..time.len()).collect();
    by_time.sort_by(|a, b| time[*b].total_cmp(&time[*a]));
    let mut pairs = 0.0;
    let mut score = 0.0;
    let mut start = 0;
    while start < by_time.len() {
        let t = time[by_time[start]];
        let mut end = start;
        while end < by_time.len() && time[by_time[end]] == t {
            end += 1;
        }
        let group = &by_time[start..end];
        // Later times are in the tree; censorings at t are comparable with
        // the events at t, events at t with each other are not.
        for &j in group.iter().filter(|j| !event[**j]) {
            tree.add(rank[j]);
        }
        for &i in group.iter().filter(|i| event[**i]) {
            let total = tree.total();
            let below = tree.prefix(rank[i] - 1);
            let tied = tree.prefix(rank[i]) - below;
            pairs += total as f64;
            score += below as f64 + 0.5 * tied as f64;
        }
        for &i in group.iter().filter(|i| event[**i]) {
            tree.add(rank[i]);
        }
        start = end;
    }
    if pairs == 0.0 {
        return Err(MetricsError::NoComparablePairs);
    }
    Ok(score / pairs)
}

/// Counts per rank with O(log n) prefix sums (ranks are 1-based).
struct Fenwick {
    counts: Vec<u64>,
    total: u64,
}

impl Fenwick {
    fn new(size: usize) -> Self {
        Self {
            counts: vec![0; size + 1],
            total: 0,
        }
    }

    fn add(&mut self, rank: usize) {
        let mut k = rank;
        while k < self.counts.len() {
            self.counts[k] += 1;
            k += k & k.wrapping_neg();
        }
        self.total += 1;
    }

    /// Number of added ranks `<= rank`.
    fn prefix(&self, rank: usize) -> u64 {
        let mut k = rank;
        let mut sum = 0;
        while k > 0 {
            sum += self.counts[k];
            k -= k & k.wrapping_neg();
        }
        sum
    }

    fn total(&self) -> u64 {
        self.total
    }
}

/// Antolini's time-dependent concordance `C^td` of predicted survival
/// curves (Antolini, Boracchi & Biganzoli 2005).
///
/// `survival(j, t)` returns the predicted survival probability `S_j(t)` of
/// observation `j` at time `t` (same unit as `time`). Over the comparable
/// pairs (i, j) (`event[i]` and `time[i] < time[j]`, or equal times with `j`
/// censored), a pair is concordant when `S_i(time[i]) < S_j(time[i])`: the
/// one who had the event earlier was predicted less likely to survive to
/// that time. Ties in predicted survival count 1/2 (Antolini's original
/// counts them 0; with continuous predictions ties are rare).
/// `C^td = (concordant + ties/2) / comparable`, in `[0, 1]`. O(n^2) calls of
/// `survival`.
///
/// # Errors
/// As [`harrell_c`]; a non-finite survival value is
/// [`MetricsError::InvalidValue`] with `what = "survival"` and the index `j`.
pub fn concordance_td<F>(time: &[f64], event: &[bool], survival: F) -> Result<f64, MetricsError>
where
    F: Fn(usize, f64) -> f64,
{
    check_survival(time, event)?;
    let mut pairs = 0.0;
    let mut score = 0.0;
    for i in 0..time.len() {
        if !event[i] {
            continue;
        }
        let t = time[i];
        let s_i = survival(i, t);
        if !s_i.is_finite() {
            return Err(MetricsError::InvalidValue {
                what: "survival",
                index: i,
                value: s_i,
            });
        }
        for j in 0..time.len() {
            if i != j && comparable(time, event, i, j) {
                let s_j = survival(j, t);
                if !s_j.is_finite() {
                    return Err(MetricsError::InvalidValue {
                        what: "survival",
                        index: j,
                        value: s_j,
                    });
                }
                pairs += 1.0;
                if s_i < s_j {
                    score += 1.0;
                } else if s_i == s_j {
                    score += 0.5;
                }
            }
        }
    }
    if pairs == 0.0 {
        return Err(MetricsError::NoComparablePairs);
    }
    Ok(score / pairs)
}

/// The Kaplan-Meier (product-limit) estimate of a survival function.
///
/// `S(t) = prod over distinct event times t_k <= t of (1 - d_k / n_k)`,
/// where `d_k` is the number of events at `t_k` and `n_k` the number of
/// observations with time `>= t_k` (at risk). Right-continuous step
/// function, non-increasing, in `[0, 1]`, equal to 1 before the first event.
#[derive(Debug, Clone, PartialEq)]
pub struct KaplanMeier {
    /// Distinct event times, strictly increasing.
    pub times: Vec<f64>,
    /// `survival[k]` = S(times[k]) (the value just after the step at
    /// `times[k]`).
    pub survival: Vec<f64>,
}

impl KaplanMeier {
    /// Fits the estimator to right-censored data.
    ///
    /// # Errors
    /// [`MetricsError::Empty`], [`MetricsError::LengthMismatch`],
    /// [`MetricsError::InvalidValue`] for a negative or non-finite time.
    pub fn fit(time: &[f64], event: &[bool]) -> Result<Self, MetricsError> {
        check_survival(time, event)?;
        let mut order: Vec<usize> = (0..time.len()).collect();
        order.sort_by(|a, b| time[*a].total_cmp(&time[*b]));
        let mut at_risk = time.len();
        let mut s = 1.0;
        let mut times = Vec::new();
        let mut survival = Vec::new();
        let mut start = 0;
        while start < order.len() {
            let t = time[order[start]];
            let mut end = start;
            let mut deaths = 0usize;
            while end < order.len() && time[order[end]] == t {
                if event[order[end]] {
                    deaths += 1;
                }
                end += 1;
            }
            if deaths > 0 {
                s *= 1.0 - deaths as f64 / at_risk as f64;
                times.push(t);
                survival.push(s);
            }
            at_risk -= end - start;
            start = end;
        }
        Ok(Self { times, survival })
    }

    /// `S(t)`: the estimate at time `t` (right-continuous).
    pub fn survival_at(&self, t: f64) -> f64 {
        let k = self.times.partition_point(|x| *x <= t);
        if k == 0 { 1.0 } else { self.survival[k - 1] }
    }

    /// `S(t-)`: the left limit at `t` (steps at `t` itself not yet taken).
    pub fn survival_before(&self, t: f64) -> f64 {
        let k = self.times.partition_point(|x| *x < t);
        if k == 0 { 1.0 } else { self.survival[k - 1] }
    }
}

/// The inverse-probability-of-censoring weighted Brier score at time `t`
/// (Graf, Schmoor, Sauerbrei & Schumacher 1999).
///
/// `pred_survival[i]` is the predicted `S_i(t)`. With `G` the Kaplan-Meier
/// estimate of the censoring survival (fitted on these same `time`/`event`
/// with the indicator reversed):
///
/// `BS(t) = 1/n sum_i [ S_i(t)^2 1(T_i <= t, event_i) / G(T_i-)
///                     + (1 - S_i(t))^2 1(T_i > t) / G(t) ]`
///
/// Observations censored at or before `t` contribute 0 (their weight is
/// carried by the others). Lower is better; 0.25 is the score of always
/// predicting 1/2.
///
/// # Errors
/// [`MetricsError::Empty`], [`MetricsError::LengthMismatch`],
/// [`MetricsError::InvalidValue`] (non-finite prediction or time, or `t`),
/// [`MetricsError::ZeroCensoringWeight`] when a weight's `G` is 0.
pub fn brier_score(
    pred_survival: &[f64],
    time: &[f64],
    event: &[bool],
    t: f64,
) -> Result<f64, MetricsError> {
    check_survival(time, event)?;
    check_len("pred_survival", time.len(), pred_survival.len())?;
    check_finite("pred_survival", pred_survival)?;
    let censoring = censoring_km(time, event)?;
    brier_with(&censoring, pred_survival, time, event, t)
}

fn censoring_km(time: &[f64], event: &[bool]) -> Result<KaplanMeier, MetricsError> {
    let reversed: Vec<bool> = event.iter().map(|e| !e).collect();
    KaplanMeier::fit(time, &reversed)
}

fn brier_with(
    censoring: &KaplanMeier,
    pred: &[f64],
    time: &[f64],
    event: &[bool],
    t: f64,
) -> Result<f64, MetricsError> {
    if !t.is_finite() {
        return Err(MetricsError::InvalidValue {
            what: "t",
            index: 0,
            value: t,
        });
    }
    let g_t = censoring.survival_at(t);
    let mut total = 0.0;
    for i in 0..time.len() {
        if time[i] <= t && event[i] {
            let g = censoring.survival_before(time[i]);
            if g <= 0.0 {
                return Err(MetricsError::ZeroCensoringWeight { time: time[i] });
            }
            total += pred[i] * pred[i] / g;
        } else if time[i] > t {
            if g_t <= 0.0 {
                return Err(MetricsError::ZeroCensoringWeight { time: t });
            }
            total += (1.0 - pred[i]) * (1.0 - pred[i]) / g_t;
        }
    }
    Ok(total / time.len() as f64)
}

/// The integrated Brier score over `grid`: the trapezoid integral of
/// [`brier_score`] over the grid divided by its span
/// `grid[last] - grid[0]` (the convention of scikit-survival's
/// `integrated_brier_score`).
///
/// `pred_survival[i][g]` is the predicted `S_i(grid[g])`.
///
/// # Errors
/// As [`brier_score`]; [`MetricsError::BadGrid`] when `grid` has fewer than
/// two points or is not strictly increasing; a prediction row of the wrong
/// length is [`MetricsError::LengthMismatch`] (`what = "pred_survival row"`).
pub fn integrated_brier_score(
    pred_survival: &[Vec<f64>],
    time: &[f64],
    event: &[bool],
    grid: &[f64],
) -> Result<f64, MetricsError> {
    check_survival(time, event)?;
    check_len("pred_survival", time.len(), pred_survival.len())?;
    if grid.len() < 2 {
        return Err(MetricsError::BadGrid { index: grid.len() });
    }
    for (index, w) in grid.windows(2).enumerate() {
        if !(w[0].is_finite() && w[1].is_finite() && w[0] < w[1]) {
            return Err(MetricsError::BadGrid { index: index + 1 });
        }
    }
    for row in pred_survival {
        check_len("pred_survival row", grid.len(), row.len())?;
        check_finite("pred_survival", row)?;
    }
    let censoring = censoring_km(time, event)?;
    let mut scores = Vec::with_capacity(grid.len());
    let mut column = vec![0.0; time.len()];
    for (g, t) in grid.iter().enumerate() {
        for (c, row) in column.iter_mut().zip(pred_survival) {
            *c = row[g];
        }
        scores.push(brier_with(&censoring, &column, time, event, *t)?);
    }
    let mut area = 0.0;
    for g in 1..grid.len() {
        area += (grid[g] - grid[g - 1]) * (scores[g] + scores[g - 1]) / 2.0;
    }
    Ok(area / (grid[grid.len() - 1] - grid[0]))
}

/// Mean absolute error `1/n sum |predicted_i - actual_i|`, in the unit of the
/// inputs.
///
/// # Errors
/// [`MetricsError::Empty`], [`MetricsError::LengthMismatch`],
/// [`MetricsError::InvalidValue`] for a non-finite value.
pub fn mean_absolute_error(predicted: &[f64], actual: &[f64]) -> Result<f64, MetricsError> {
    if predicted.is_empty() {
        return Err(MetricsError::Empty);
    }
    check_len("actual", predicted.len(), actual.len())?;
    check_finite("predicted", predicted)?;
    check_finite("actual", actual)?;
    let total: f64 = predicted
        .iter()
        .zip(actual)
        .map(|(p, a)| (p - a).abs())
        .sum();
    Ok(total / predicted.len() as f64)
}

/// Share of the variance of `outcome` explained by a grouping (η², the
/// between-group sum of squares over the total sum of squares), in [0, 1]:
/// what an R² of predicting each customer's outcome by the mean of their
/// group would be. Customers without a group (`None`) form one group of
/// their own.
///
/// # Errors
/// [`MetricsError::Empty`], [`MetricsError::LengthMismatch`],
/// [`MetricsError::InvalidValue`] for a non-finite outcome, and
/// [`MetricsError::NoVariance`] when every outcome is equal.
pub fn variance_explained(groups: &[Option<usize>], outcome: &[f64]) -> Result<f64, MetricsError> {
    if outcome.is_empty() {
        return Err(MetricsError::Empty);
    }
    check_len("groups", outcome.len(), groups.len())?;
    check_finite("outcome", outcome)?;
    let n = outcome.len() as f64;
    let mean = outcome.iter().sum::<f64>() / n;
    let total: f64 = outcome.iter().map(|y| (y - mean).powi(2)).sum();
    if total <= 0.0 {
        return Err(MetricsError::NoVariance);
    }
    let mut sums: std::collections::HashMap<Option<usize>, (f64, f64)> = Default::default();
    for (g, y) in groups.iter().zip(outcome) {
        let e = sums.entry(*g).or_default();
        e.0 += y;
        e.1 += 1.0;
    }
    let between: f64 = sums
        .values()
        .map(|(sum, count)| count * (sum / count - mean).powi(2))
        .sum();
    Ok((between / total).clamp(0.0, 1.0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn auc_hand_computed_with_ties() {
        // Positives 0.8, 0.4 ; negatives 0.4, 0.1.
        // Pairs: (0.8>0.4)=1, (0.8>0.1)=1, (0.4=0.4)=1/2, (0.4>0.1)=1 -> 3.5/4.
        let auc = roc_auc(&[0.8, 0.4, 0.4, 0.1], &[true, true, false, false]).unwrap();
        assert!((auc - 0.875).abs() < 1e-12);
        let perfect = roc_auc(&[3.0, 2.0, 1.0], &[true, true, false]).unwrap();
        assert_eq!(perfect, 1.0);
        let inverted = roc_auc(&[1.0, 2.0, 3.0], &[true, true, false]).unwrap();
        assert_eq!(inverted, 0.0);
        let all_tied = roc_auc(&[1.0; 4], &[true, false, true, false]).unwrap();
        assert_eq!(all_tied, 0.5);
    }

    #[test]
    fn auc_errors() {
        assert_eq!(
            roc_auc(&[1.0, 2.0], &[true, true]),
            Err(MetricsError::SingleClass {
                positives: 2,
                negatives: 0
            })
        );
        assert_eq!(roc_auc(&[], &[]), Err(MetricsError::Empty));
        assert!(matches!(
            roc_auc(&[1.0, f64::NAN], &[true, false]),
            Err(MetricsError::InvalidValue { index: 1, .. })
        ));
        assert!(matches!(
            roc_auc(&[1.0], &[true, false]),
            Err(MetricsError::LengthMismatch { what: "labels", .. })
        ));
    }

    #[test]
    fn harrell_hand_computed() {
        // times 1(e) 2(c) 3(e) 4(e); risks 4, 1, 2, 3.
        // Comparable: (0,1)(0,2)(0,3) from i=0; (2,3) from i=2 -> 4 pairs.
        // Concordant: risk0=4 > 1,2,3 -> 3; risk2=2 > risk3=3? no -> 3/4.
        let c = harrell_c(
            &[4.0, 1.0, 2.0, 3.0],
            &[1.0, 2.0, 3.0, 4.0],
            &[true, false, true, true],
        )
        .unwrap();
        assert!((c - 0.75).abs() < 1e-12);
        // Tie in risk counts 1/2; a tie in time with a censored j is comparable.
        let c = harrell_c(&[1.0, 1.0], &[2.0, 2.0], &[true, false]).unwrap();
        assert_eq!(c, 0.5);
        assert_eq!(
            harrell_c(&[1.0, 2.0], &[1.0, 2.0], &[false, false]),
            Err(MetricsError::NoComparablePairs)
        );
    }

    /// The O(n^2) definition, as a reference for the sweep.
    fn harrell_brute_force(risk: &[f64], time: &[f64], event: &[bool]) -> f64 {
        let (mut pairs, mut score) = (0.0, 0.0);
        for i in 0..time.len() {
            for j in 0..time.len() {
                if i != j && comparable(time, event, i, j) {
                    pairs += 1.0;
                    if risk[i] > risk[j] {
                        score += 1.0;
                    } else if risk[i] == risk[j] {
                        score += 0.5;
                    }
                }
            }
        }
        score / pairs
    }

    #[test]
    fn harrell_sweep_equals_the_pairwise_definition() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for n in [2usize, 5, 40, 300] {
            // Coarse values so that ties in time and in risk are frequent.
            let time: Vec<f64> = (0..n).map(|_| rng.random_range(0..12) as f64).collect();
            let event: Vec<bool> = (0..n).map(|_| rng.random_bool(0.6)).collect();
            let risk: Vec<f64> = (0..n).map(|_| rng.random_range(0..6) as f64).collect();
            let want = harrell_brute_force(&risk, &time, &event);
            match harrell_c(&risk, &time, &event) {
                Ok(c) => assert!((c - want).abs() < 1e-12, "n={n}: {c} vs {want}"),
                Err(e) => assert!(want.is_nan(), "n={n}: {e}"),
            }
        }
    }

    #[test]
    fn ctd_equals_harrell_for_proportional_curves() {
        // With S_i(t) = exp(-risk_i t) the ordering of S at any t is the
        // reverse ordering of risk, so C^td = Harrell's C.
        let time = [1.0, 2.5, 3.0, 4.0, 5.0, 6.5];
        let event = [true, false, true, true, false, true];
        let risk = [0.9, 0.1, 0.5, 0.7, 0.3, 0.2];
        let h = harrell_c(&risk, &time, &event).unwrap();
        let ctd = concordance_td(&time, &event, |j, t| (-risk[j] * t).exp()).unwrap();
        assert!((h - ctd).abs() < 1e-12);
    }

    #[test]
    fn ctd_uses_survival_at_the_event_time() {
        // Curves cross: at t=1, S_0=0.5 < S_1=0.9 (concordant); at t=2 the
        // pair (1,2) compares S_1(2)=0.2 vs S_2(2)=0.1 (discordant).
        let curve = |j: usize, t: f64| -> f64 {
            match (j, t < 1.5) {
                (0, _) => 0.5,
                (1, true) => 0.9,
                (1, false) => 0.2,
                _ => 0.1,
            }
        };
        let time = [1.0, 2.0, 3.0];
        let event = [true, true, false];
        // Pairs: (0,1): 0.5<0.9 yes; (0,2): 0.5<0.1 no; (1,2): 0.2<0.1 no.
        let ctd = concordance_td(&time, &event, curve).unwrap();
        assert!((ctd - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn kaplan_meier_hand_computed() {
        // times 1e 2c 3e 3e 4c 5e: at 1: 1-1/6; at 3: 1-2/4; at 5: 1-1/1.
        let km = KaplanMeier::fit(
            &[3.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            &[true, true, false, true, false, true],
        )
        .unwrap();
        assert_eq!(km.times, vec![1.0, 3.0, 5.0]);
        let s1 = 5.0 / 6.0;
        assert!((km.survival_at(0.5) - 1.0).abs() < 1e-12);
        assert!((km.survival_at(1.0) - s1).abs() < 1e-12);
        assert!((km.survival_before(1.0) - 1.0).abs() < 1e-12);
        assert!((km.survival_at(3.5) - s1 * 0.5).abs() < 1e-12);
        assert_eq!(km.survival_at(5.0), 0.0);
    }

    #[test]
    fn brier_hand_computed_without_censoring() {
        // No censoring: G = 1; BS(t) = mean of (1(T>t) - S)^2.
        let time = [1.0, 2.0, 3.0];
        let event = [true; 3];
        let bs = brier_score(&[0.2, 0.6, 0.9], &time, &event, 2.0).unwrap();
        let expected = (0.2f64.powi(2) + 0.6f64.powi(2) + 0.1f64.powi(2)) / 3.0;
        assert!((bs - expected).abs() < 1e-12);
    }

    #[test]
    fn brier_weights_by_censoring() {
        // times 1e 2c 3e 4c, t = 3. G: censor at 2 (at risk 3) -> 2/3; at 4 -> 0.
        // i=0: event at 1 <= 3, G(1-)=1 -> S0^2.
        // i=1: censored before t -> 0.
        // i=2: event at 3 <= 3, G(3-)=2/3 -> S2^2 * 3/2.
        // i=3: T=4 > 3, G(3)=2/3 -> (1-S3)^2 * 3/2.
        let s = [0.1, 0.5, 0.4, 0.7];
        let bs = brier_score(&s, &[1.0, 2.0, 3.0, 4.0], &[true, false, true, false], 3.0).unwrap();
        let expected = (0.01 + 0.16 * 1.5 + 0.09 * 1.5) / 4.0;
        assert!((bs - expected).abs() < 1e-12);
    }

    #[test]
    fn ibs_of_constant_brier_is_that_constant() {
        // No censoring, perfect predictions except a constant error pattern:
        // predicting 1/2 everywhere gives BS = 1/4 at every t.
        let time = [1.0, 2.0, 3.0, 4.0];
        let event = [true; 4];
        let grid = [0.5, 1.5, 2.5];
        let pred = vec![vec![0.5; 3]; 4];
        let ibs = integrated_brier_score(&pred, &time, &event, &grid).unwrap();
        assert!((ibs - 0.25).abs() < 1e-12);
        assert_eq!(
            integrated_brier_score(&pred, &time, &event, &[1.0, 1.0, 2.0]),
            Err(MetricsError::BadGrid { index: 1 })
        );
    }

    #[test]
    fn mae_hand_computed() {
        let m = mean_absolute_error(&[1.0, 2.0, 4.0], &[2.0, 2.0, 1.0]).unwrap();
        assert!((m - 4.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn variance_explained_by_groups() {
        // Groups that hold the outcome exactly explain all of it; one group
        // for everybody explains nothing.
        let y = [1.0, 1.0, 5.0, 5.0];
        let exact = [Some(0), Some(0), Some(1), Some(1)];
        assert!((variance_explained(&exact, &y).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(variance_explained(&[Some(3); 4], &y).unwrap(), 0.0);
        // Hand-computed: mean 3, total SS 16+0+4+4 = 24 over [-1, 3, 5, 5];
        // groups {-1, 3} (mean 1) and {5, 5} (mean 5) (None is a group):
        // between = 2·(1-3)² + 2·(5-3)² = 16 -> 2/3.
        let y = [-1.0, 3.0, 5.0, 5.0];
        let g = [None, None, Some(7), Some(7)];
        assert!((variance_explained(&g, &y).unwrap() - 16.0 / 24.0).abs() < 1e-12);
        assert!(matches!(
            variance_explained(&g, &[2.0; 4]),
            Err(MetricsError::NoVariance)
        ));
        assert!(variance_explained(&g[..3], &y).is_err());
    }
}
