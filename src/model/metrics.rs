//! Ranking and calibration metrics for model selection and reporting.
//!
//! Violating groups and accounts are far rarer than 1 %, so accuracy says nothing (predicting
//! "benign" for everything is > 99 % accurate). What matters is how the review queue is
//! ranked and whether a score means the probability it claims:
//!
//! - [`average_precision`] (PR-AUC) is the selection metric: it looks only at how positives
//!   are ranked against the top of the queue and, unlike ROC-AUC, is not inflated by the huge
//!   number of easy negatives. [`roc_auc`] is reported beside it.
//! - [`precision_at_k`] / [`recall_at_k`] answer "with a review capacity of k a day, how many
//!   reviews are hits, and what share of the violators do we reach".
//! - [`recall_at_precision`] answers "how much do we catch if reviewers must see at least
//!   this hit rate".
//! - [`reliability_table`], [`brier_score`] and [`ece`] check calibration, so that a policy
//!   threshold means the same thing across model versions.
//! - [`mean_and_interval`] summarises a metric across cross-validation folds.
//!
//! Definitions follow scikit-learn (1.9) exactly where it has one (`average_precision_score`,
//! `roc_auc_score`, `precision_recall_curve`, `brier_score_loss`); `tests/it/metrics_oracle.rs`
//! checks this. Everything is deterministic: scores are ordered with [`f64::total_cmp`]
//! (descending) and equal scores by row index (ascending), so results never depend on the
//! sort algorithm. Scores that compare equal form one threshold, as in
//! `precision_recall_curve`; `-0.0` and `0.0` are the same score. NaN scores (which
//! scikit-learn rejects) are ordered by `total_cmp` too: `f64::NAN` above every number.
//!
//! All functions panic if `scores`/`probs` and `labels` differ in length.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// Row indices by descending score, ties by ascending index.
fn ranking(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // sort_by is stable, so equal scores keep ascending index order.
    order.sort_by(|&i, &j| cmp_desc(scores[i], scores[j]));
    order
}

/// Descending total order in which -0.0 equals 0.0.
fn cmp_desc(a: f64, b: f64) -> Ordering {
    norm_zero(b).total_cmp(&norm_zero(a))
}

fn norm_zero(x: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else {
        x
    }
}

fn check_len(a: usize, labels: &[bool]) {
    assert_eq!(a, labels.len(), "scores and labels differ in length");
}

/// One point of the precision–recall / ROC curve: cumulative counts over every row whose
/// score is >= a distinct threshold, thresholds descending (scikit-learn's `_binary_clf_curve`).
#[derive(Clone, Copy, Debug)]
struct CurvePoint {
    tp: u64,
    fp: u64,
}

fn curve(scores: &[f64], labels: &[bool]) -> Vec<CurvePoint> {
    check_len(scores.len(), labels);
    let order = ranking(scores);
    let mut points = Vec::new();
    let (mut tp, mut fp) = (0u64, 0u64);
    for (pos, &i) in order.iter().enumerate() {
        if labels[i] {
            tp += 1;
        } else {
            fp += 1;
        }
        let last_of_group =
            order.get(pos + 1).is_none_or(|&j| cmp_desc(scores[i], scores[j]) != Ordering::Equal);
        if last_of_group {
            points.push(CurvePoint { tp, fp });
        }
    }
    points
}

/// Average precision, exactly scikit-learn's `average_precision_score`: the step-wise sum
/// `Σ (R_k − R_{k−1}) · P_k` over distinct score thresholds (descending), with no
/// interpolation. Equal scores form one threshold, so a tie block counts as one step whose
/// precision is that of the whole block. `None` when there are no positives (scikit-learn
/// warns and returns 0 there).
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let points = curve(scores, labels);
    let positives = points.last().map_or(0, |p| p.tp);
    if positives == 0 {
        return None;
    }
    let total = positives as f64;
    let mut ap = 0.0;
    let mut prev_recall = 0.0;
    for p in &points {
        let recall = p.tp as f64 / total;
        ap += (recall - prev_recall) * (p.tp as f64 / (p.tp + p.fp) as f64);
        prev_recall = recall;
    }
    Some(ap.max(0.0))
}

/// Area under the ROC curve, equal to scikit-learn's `roc_auc_score`: the trapezoidal area
/// over distinct thresholds, i.e. the probability that a random positive outscores a random
/// negative with ties counting 1/2. Computed from exact integer counts. `None` when either
/// class is absent (scikit-learn 1.9 warns and returns NaN).
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let points = curve(scores, labels);
    let last = *points.last()?;
    if last.tp == 0 || last.fp == 0 {
        return None;
    }
    // Twice the area in units of one (positive, negative) pair: per threshold step,
    // dfp · (2·tp_before + dtp).
    let mut twice: u128 = 0;
    let (mut tp0, mut fp0) = (0u64, 0u64);
    for p in &points {
        twice += u128::from(p.fp - fp0) * u128::from(2 * tp0 + (p.tp - tp0));
        (tp0, fp0) = (p.tp, p.fp);
    }
    Some(twice as f64 / (2.0 * last.tp as f64 * last.fp as f64))
}

/// Positives among the `k` highest-scored rows.
fn hits_at_k(scores: &[f64], labels: &[bool], k: usize) -> usize {
    check_len(scores.len(), labels);
    ranking(scores).iter().take(k).filter(|&&i| labels[i]).count()
}

/// Share of positives among the `k` highest-scored rows (a review capacity of `k`). Equal
/// scores are taken in ascending row order, so the result is deterministic even when `k`
/// cuts a tie block (scikit-learn has no such metric; at a `k` that ends a tie block it
/// equals `precision_recall_curve`'s precision at that threshold). `k` larger than the
/// number of rows is clamped to it. `None` when `k` is 0 or there are no rows.
pub fn precision_at_k(scores: &[f64], labels: &[bool], k: usize) -> Option<f64> {
    let k = k.min(scores.len());
    if k == 0 {
        check_len(scores.len(), labels);
        return None;
    }
    Some(hits_at_k(scores, labels, k) as f64 / k as f64)
}

/// Share of all positives found among the `k` highest-scored rows, with the same tie rule
/// as [`precision_at_k`]. `None` when there are no positives.
pub fn recall_at_k(scores: &[f64], labels: &[bool], k: usize) -> Option<f64> {
    check_len(scores.len(), labels);
    let positives = labels.iter().filter(|&&l| l).count();
    if positives == 0 {
        return None;
    }
    Some(hits_at_k(scores, labels, k) as f64 / positives as f64)
}

/// The largest recall over the points of scikit-learn's `precision_recall_curve` (one per
/// distinct threshold, plus its final `(precision 1, recall 0)` point) whose precision is
/// at least `min_precision`. So 0 when no threshold reaches `min_precision`, and 0 when there
/// are no positives.
pub fn recall_at_precision(scores: &[f64], labels: &[bool], min_precision: f64) -> f64 {
    let points = curve(scores, labels);
    let positives = points.last().map_or(0, |p| p.tp);
    if positives == 0 {
        return 0.0;
    }
    points
        .iter()
        .filter(|p| p.tp as f64 / (p.tp + p.fp) as f64 >= min_precision)
        .map(|p| p.tp as f64 / positives as f64)
        .fold(0.0, f64::max)
}

/// One row of a reliability (calibration) table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Bin edges: the bin holds `lower <= p < upper`, the last one also `p == 1`.
    pub lower: f64,
    pub upper: f64,
    /// Rows in the bin.
    pub count: usize,
    /// Mean predicted probability in the bin; NaN when the bin is empty (null in JSON).
    #[serde(with = "super::nan_as_null")]
    pub mean_predicted: f64,
    /// Share of positives in the bin; NaN when the bin is empty (null in JSON).
    #[serde(with = "super::nan_as_null")]
    pub observed_rate: f64,
}

/// Which of `bins` equal-width bins on [0, 1] holds `p`, consistent with the edges
/// `i / bins` as stored in [`ReliabilityBin`]. Values below 0 (or NaN) go to the first bin,
/// above 1 to the last.
fn bin_of(p: f64, bins: usize) -> usize {
    let lower = |i: usize| i as f64 / bins as f64;
    // `as usize` saturates: negative and NaN give 0.
    let mut i = ((p * bins as f64).floor() as usize).min(bins - 1);
    // p * bins can round across an edge; settle on the stored edges.
    while i > 0 && p < lower(i) {
        i -= 1;
    }
    while i + 1 < bins && p >= lower(i + 1) {
        i += 1;
    }
    i
}

/// Reliability table with `bins` equal-width bins on [0, 1]: each bin is `[lower, upper)`,
/// the last one `[lower, 1]`. Every bin is returned, empty ones with count 0 and NaN means,
/// so tables from different models line up. (scikit-learn's `calibration_curve` instead
/// drops empty bins and puts a value on an inner edge in the lower bin.)
///
/// # Panics
/// If `bins` is 0.
pub fn reliability_table(probs: &[f64], labels: &[bool], bins: usize) -> Vec<ReliabilityBin> {
    assert!(bins > 0, "reliability_table needs at least one bin");
    check_len(probs.len(), labels);
    let mut count = vec![0usize; bins];
    let mut sum_p = vec![0.0f64; bins];
    let mut pos = vec![0usize; bins];
    for (&p, &l) in probs.iter().zip(labels) {
        let b = bin_of(p, bins);
        count[b] += 1;
        sum_p[b] += p;
        pos[b] += usize::from(l);
    }
    (0..bins)
        .map(|b| {
            let n = count[b] as f64;
            ReliabilityBin {
                lower: b as f64 / bins as f64,
                upper: (b + 1) as f64 / bins as f64,
                count: count[b],
                mean_predicted: if count[b] == 0 { f64::NAN } else { sum_p[b] / n },
                observed_rate: if count[b] == 0 { f64::NAN } else { pos[b] as f64 / n },
            }
        })
        .collect()
}

/// Brier score, the mean of `(p − y)²` (scikit-learn's `brier_score_loss`). `None` when empty.
pub fn brier_score(probs: &[f64], labels: &[bool]) -> Option<f64> {
    check_len(probs.len(), labels);
    if probs.is_empty() {
        return None;
    }
    let sum: f64 = probs.iter().zip(labels).map(|(&p, &l)| (p - f64::from(u8::from(l))).powi(2)).sum();
    Some(sum / probs.len() as f64)
}

/// Expected calibration error over the bins of [`reliability_table`]:
/// `Σ (count_b / n) · |mean_predicted_b − observed_rate_b|`, empty bins contributing nothing.
/// `None` when empty.
///
/// # Panics
/// If `bins` is 0.
pub fn ece(probs: &[f64], labels: &[bool], bins: usize) -> Option<f64> {
    let table = reliability_table(probs, labels, bins);
    if probs.is_empty() {
        return None;
    }
    let n = probs.len() as f64;
    Some(
        table
            .iter()
            .filter(|b| b.count > 0)
            .map(|b| b.count as f64 / n * (b.mean_predicted - b.observed_rate).abs())
            .sum(),
    )
}

/// Two-sided 97.5 % quantiles of Student's t for 1..=30 degrees of freedom (from
/// `scipy.stats.t.ppf(0.975, df)`).
const T_975: [f64; 30] = [
    12.706204736174694,
    4.302652729749462,
    3.1824463052837078,
    2.7764451051977934,
    2.5705818356363146,
    2.4469118511449786,
    2.364624251592784,
    2.306004135204166,
    2.262157162798205,
    2.228138851986274,
    2.200985160091639,
    2.1788128296672284,
    2.1603686564627913,
    2.144786687917804,
    2.131449545559776,
    2.1199052992212546,
    2.1098155778333156,
    2.1009220402410382,
    2.0930240544083087,
    2.085963447265864,
    2.0796138447276795,
    2.0738730679040254,
    2.0686576104190486,
    2.0638985616280245,
    2.0595385527532972,
    2.0555294386428735,
    2.0518305164802846,
    2.0484071417952454,
    2.045229642132703,
    2.0422724563012378,
];

/// The normal 97.5 % quantile, used beyond 30 degrees of freedom.
const Z_975: f64 = 1.959963984540054;

/// The 97.5 % quantile used for a 95 % interval with `df` degrees of freedom: Student's t
/// for `df` 1..=30 (hard-coded), the normal quantile beyond (t with 31 df is 2.040, so this
/// narrows the interval by < 4 % there).
pub fn t_quantile_975(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T_975[df - 1],
        _ => Z_975,
    }
}

/// Mean of per-fold metric values with a 95 % confidence interval
/// `mean ± t · s / √n` (`s` the sample standard deviation, `t` from [`t_quantile_975`] with
/// `n − 1` degrees of freedom). Returns `(mean, lo, hi)`; with one value the interval is
/// unbounded (`-inf, inf`), with none everything is NaN. Folds share training data, so
/// the interval is optimistic; it is for comparing models, not a guarantee.
pub fn mean_and_interval(values: &[f64]) -> (f64, f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, f64::NEG_INFINITY, f64::INFINITY);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t_quantile_975(n - 1) * (var / n as f64).sqrt();
    (mean, mean - half, mean + half)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn average_precision_by_hand() {
        // sklearn docs example: ranks 0.8(+) 0.4(-) 0.35(+) 0.1(-):
        // AP = 0.5 * 1 + 0.5 * 2/3.
        let s = [0.1, 0.4, 0.35, 0.8];
        let l = [false, false, true, true];
        assert!(close(average_precision(&s, &l).unwrap(), 0.5 + 0.5 * 2.0 / 3.0));
        // A tie block is one step: scores [0.9+, 0.5+, 0.5-, 0.1-]:
        // 0.5 * 1 + 0.5 * 2/3 (the block's precision), not 0.5 + 0.5.
        let s = [0.9, 0.5, 0.5, 0.1];
        let l = [true, false, true, false];
        assert!(close(average_precision(&s, &l).unwrap(), 0.5 + 0.5 * 2.0 / 3.0));
        // All tied: precision of everything = prevalence.
        assert!(close(average_precision(&[0.3; 4], &[true, false, false, false]).unwrap(), 0.25));
        assert_eq!(average_precision(&[0.1, 0.2], &[false, false]), None);
        assert_eq!(average_precision(&[], &[]), None);
        assert!(close(average_precision(&[0.1, 0.9], &[false, true]).unwrap(), 1.0));
    }

    #[test]
    fn roc_auc_by_hand() {
        let s = [0.1, 0.4, 0.35, 0.8];
        let l = [false, false, true, true];
        assert!(close(roc_auc(&s, &l).unwrap(), 0.75));
        // Ties count one half.
        assert!(close(roc_auc(&[0.5, 0.5], &[true, false]).unwrap(), 0.5));
        let s = [0.9, 0.5, 0.5, 0.1];
        let l = [true, false, true, false];
        // pairs (pos, neg): (0.9,0.5)=1 (0.9,0.1)=1 (0.5,0.5)=.5 (0.5,0.1)=1 -> 3.5/4
        assert!(close(roc_auc(&s, &l).unwrap(), 0.875));
        assert!(close(roc_auc(&[1.0, 2.0], &[true, false]).unwrap(), 0.0));
        assert_eq!(roc_auc(&[1.0, 2.0], &[true, true]), None);
        assert_eq!(roc_auc(&[], &[]), None);
        // -0.0 and 0.0 are one score.
        assert!(close(roc_auc(&[-0.0, 0.0], &[true, false]).unwrap(), 0.5));
    }

    #[test]
    fn at_k_breaks_ties_by_index() {
        let s = [0.5, 0.9, 0.5, 0.5, 0.1];
        let l = [false, true, true, false, true];
        // order: 1, 0, 2, 3, 4
        assert_eq!(precision_at_k(&s, &l, 1), Some(1.0));
        assert_eq!(precision_at_k(&s, &l, 2), Some(0.5));
        assert!(close(precision_at_k(&s, &l, 3).unwrap(), 2.0 / 3.0));
        assert_eq!(precision_at_k(&s, &l, 0), None);
        assert_eq!(precision_at_k(&s, &l, 99), Some(0.6));
        assert!(close(recall_at_k(&s, &l, 2).unwrap(), 1.0 / 3.0));
        assert_eq!(recall_at_k(&s, &l, 0), Some(0.0));
        assert_eq!(recall_at_k(&s, &l, 10), Some(1.0));
        assert_eq!(recall_at_k(&s, &[false; 5], 3), None);
        assert_eq!(precision_at_k(&[], &[], 3), None);
    }

    #[test]
    fn recall_at_precision_by_hand() {
        // Thresholds 0.9: (tp1, fp0) P=1 R=1/3; 0.5: (2,2) P=.5 R=2/3; 0.1: (3,2) P=.6 R=1.
        let s = [0.5, 0.9, 0.5, 0.5, 0.1];
        let l = [false, true, true, false, true];
        assert!(close(recall_at_precision(&s, &l, 1.0), 1.0 / 3.0));
        assert!(close(recall_at_precision(&s, &l, 0.6), 1.0));
        assert!(close(recall_at_precision(&s, &l, 0.61), 1.0 / 3.0));
        assert!(close(recall_at_precision(&s, &l, 0.5), 1.0));
        assert_eq!(recall_at_precision(&s, &l, 1.5), 0.0);
        assert_eq!(recall_at_precision(&s, &[false; 5], 0.1), 0.0);
    }

    #[test]
    fn reliability_brier_ece_by_hand() {
        let p = [0.0, 0.1, 0.5, 0.5, 0.99, 1.0];
        let l = [false, false, true, false, true, true];
        let t = reliability_table(&p, &l, 2);
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].lower, t[0].upper, t[0].count), (0.0, 0.5, 2));
        assert!(close(t[0].mean_predicted, 0.05));
        assert_eq!(t[0].observed_rate, 0.0);
        // 0.5 opens the upper bin; 1.0 is in the closed last bin.
        assert_eq!((t[1].lower, t[1].upper, t[1].count), (0.5, 1.0, 4));
        assert!(close(t[1].mean_predicted, (0.5 + 0.5 + 0.99 + 1.0) / 4.0));
        assert!(close(t[1].observed_rate, 0.75));
        let e = 2.0 / 6.0 * 0.05 + 4.0 / 6.0 * ((2.99 / 4.0) - 0.75f64).abs();
        assert!(close(ece(&p, &l, 2).unwrap(), e));
        let b = (0.0 + 0.01 + 0.25 + 0.25 + 0.0001 + 0.0) / 6.0;
        assert!(close(brier_score(&p, &l).unwrap(), b));
        // Empty bins are kept, with NaN means.
        let t = reliability_table(&[0.05], &[true], 10);
        assert_eq!(t.len(), 10);
        assert_eq!(t[0].count, 1);
        assert!(t[5].mean_predicted.is_nan() && t[5].count == 0);
        assert!(close(t[9].upper, 1.0));
        assert_eq!(brier_score(&[], &[]), None);
        assert_eq!(ece(&[], &[], 5), None);
    }

    #[test]
    fn bins_follow_stored_edges() {
        for bins in 1..40usize {
            for i in 0..=bins {
                let edge = i as f64 / bins as f64;
                let b = bin_of(edge, bins);
                assert_eq!(b, i.min(bins - 1), "edge {edge} of {bins}");
                if i > 0 {
                    let below = f64::from_bits(edge.to_bits() - 1);
                    assert_eq!(bin_of(below, bins), i - 1);
                }
            }
        }
        assert_eq!(bin_of(-0.5, 4), 0);
        assert_eq!(bin_of(f64::NAN, 4), 0);
        assert_eq!(bin_of(7.0, 4), 3);
    }

    #[test]
    fn mean_and_interval_by_hand() {
        // values 1,2,3: mean 2, s = 1, t(2) = 4.3027 -> half = 4.3027 / sqrt(3)
        let (m, lo, hi) = mean_and_interval(&[1.0, 2.0, 3.0]);
        let half = 4.302652729749462 / 3f64.sqrt();
        assert!(close(m, 2.0) && close(lo, 2.0 - half) && close(hi, 2.0 + half));
        let (m, lo, hi) = mean_and_interval(&[0.7]);
        assert_eq!((m, lo, hi), (0.7, f64::NEG_INFINITY, f64::INFINITY));
        assert!(mean_and_interval(&[]).0.is_nan());
        let (m, lo, hi) = mean_and_interval(&[0.5; 5]);
        assert_eq!((m, lo, hi), (0.5, 0.5, 0.5));
        assert_eq!(t_quantile_975(31), Z_975);
        assert_eq!(t_quantile_975(30), 2.0422724563012378);
    }

    #[test]
    fn nan_scores_rank_first_deterministically() {
        let s = [0.2, f64::NAN, 0.9];
        let l = [false, true, false];
        assert_eq!(precision_at_k(&s, &l, 1), Some(1.0));
        assert!(close(roc_auc(&s, &l).unwrap(), 1.0));
    }
}
