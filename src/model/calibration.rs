//! Calibration: mapping raw model scores to probabilities.
//!
//! A policy threshold must mean the same thing from one model version to the next, so the
//! trainer fits a calibrator on held-out scores and ships it with the model. Two are offered:
//!
//! - [`Platt`] scaling, a two-parameter sigmoid `p = 1 / (1 + exp(a·s + b))`. Few
//!   parameters, so it is the safe choice with the handful of positives we usually have.
//! - [`Isotonic`] regression, a monotone step-then-linear map. More flexible, but needs many
//!   positives not to overfit.
//!
//! Both are plain data (serde), so a model file can carry them.

use serde::{Deserialize, Serialize};

/// Platt scaling: `P(y = 1 | s) = 1 / (1 + exp(a·s + b))` (Platt's sign convention, so `a`
/// is negative when higher scores mean more likely positive).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Platt {
    pub a: f64,
    pub b: f64,
}

/// Per-row loss `−t·log p − (1−t)·log(1−p)` with `p = 1/(1+e^z)`, `z = a·s + b`, written
/// so that `exp` never overflows.
fn platt_row_loss(z: f64, t: f64) -> f64 {
    if z >= 0.0 {
        t * z + (-z).exp().ln_1p()
    } else {
        (t - 1.0) * z + z.exp().ln_1p()
    }
}

/// `1 / (1 + e^z)` without overflow.
fn sigmoid_neg(z: f64) -> f64 {
    if z >= 0.0 {
        let e = (-z).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + z.exp())
    }
}

/// Gradient and Hessian of the smoothed-target log loss in `(a, b)`.
struct PlattDerivatives {
    g1: f64,
    g2: f64,
    h11: f64,
    h22: f64,
    h21: f64,
}

fn platt_derivatives(scores: &[f64], targets: &[f64], a: f64, b: f64) -> PlattDerivatives {
    let mut d = PlattDerivatives { g1: 0.0, g2: 0.0, h11: 0.0, h22: 0.0, h21: 0.0 };
    for (&s, &t) in scores.iter().zip(targets) {
        let p = sigmoid_neg(a * s + b);
        let d2 = p * (1.0 - p);
        d.h11 += s * s * d2;
        d.h22 += d2;
        d.h21 += s * d2;
        let d1 = t - p;
        d.g1 += s * d1;
        d.g2 += d1;
    }
    d
}

impl Platt {
    /// Fits `a, b` by minimising the log loss against Platt's smoothed targets
    /// (`(n₊ + 1)/(n₊ + 2)` for positives, `1/(n₋ + 2)` for negatives, which keeps the fit
    /// finite even when the scores separate the classes perfectly), with the Newton method
    /// and backtracking line search of Lin, Lin & Weng (2007), "A note on Platt's
    /// probabilistic outputs for support vector machines", Algorithm 1. Their stopping rule
    /// (|gradient| < 1e-5) is tightened to `1e-10 · n` because Newton's last steps are cheap,
    /// and a full Newton step whose decrease is lost in the loss's rounding is still taken if
    /// it shrinks the gradient; the loop also stops when the line search fails or after 100
    /// iterations.
    ///
    /// With no rows the result is `a = b = 0` (probability 1/2).
    ///
    /// # Panics
    /// If the lengths differ or a score is not finite.
    pub fn fit(scores: &[f64], labels: &[bool]) -> Self {
        assert_eq!(scores.len(), labels.len(), "scores and labels differ in length");
        assert!(scores.iter().all(|s| s.is_finite()), "Platt::fit needs finite scores");
        const MAX_ITER: usize = 100;
        const MIN_STEP: f64 = 1e-10;
        const SIGMA: f64 = 1e-12; // keeps the Hessian positive definite
        let n_pos = labels.iter().filter(|&&l| l).count() as f64;
        let n_neg = labels.len() as f64 - n_pos;
        let hi = (n_pos + 1.0) / (n_pos + 2.0);
        let lo = 1.0 / (n_neg + 2.0);
        let targets: Vec<f64> = labels.iter().map(|&l| if l { hi } else { lo }).collect();
        let loss = |a: f64, b: f64| -> f64 {
            scores.iter().zip(&targets).map(|(&s, &t)| platt_row_loss(a * s + b, t)).sum()
        };
        let eps = 1e-10 * (labels.len().max(1) as f64);

        let mut a = 0.0;
        let mut b = ((n_neg + 1.0) / (n_pos + 1.0)).ln();
        let mut fval = loss(a, b);
        for _ in 0..MAX_ITER {
            let d = platt_derivatives(scores, &targets, a, b);
            if d.g1.abs() < eps && d.g2.abs() < eps {
                break;
            }
            // Newton direction −H⁻¹g (H with SIGMA on the diagonal).
            let (h11, h22) = (d.h11 + SIGMA, d.h22 + SIGMA);
            let det = h11 * h22 - d.h21 * d.h21;
            let da = -(h22 * d.g1 - d.h21 * d.g2) / det;
            let db = -(-d.h21 * d.g1 + h11 * d.g2) / det;
            let gd = d.g1 * da + d.g2 * db;
            let mut step = 1.0;
            let mut moved = false;
            while step >= MIN_STEP {
                let (na, nb) = (a + step * da, b + step * db);
                let nf = loss(na, nb);
                // Armijo sufficient decrease. Near the optimum the decrease of a full Newton
                // step is below the loss's rounding; take it if it shrinks the gradient.
                let accept = nf < fval + 1e-4 * step * gd
                    || (step == 1.0 && nf <= fval + 1e-12 * fval.abs() && {
                        let nd = platt_derivatives(scores, &targets, na, nb);
                        nd.g1.abs().max(nd.g2.abs()) < d.g1.abs().max(d.g2.abs())
                    });
                if accept {
                    (a, b, fval) = (na, nb, nf);
                    moved = true;
                    break;
                }
                step /= 2.0;
            }
            if !moved {
                break;
            }
        }
        Platt { a, b }
    }

    /// The calibrated probability of `score`.
    pub fn predict(&self, score: f64) -> f64 {
        sigmoid_neg(self.a * score + self.b)
    }
}

/// Isotonic (monotone increasing) calibration, as scikit-learn's
/// `IsotonicRegression(increasing=True, out_of_bounds="clip")`: `predict` interpolates
/// linearly between the points `(thresholds[i], values[i])` and clips outside them.
///
/// `thresholds` is strictly increasing and `values` non-decreasing; like scikit-learn's
/// `X_thresholds_`/`y_thresholds_`, points strictly inside a constant run are dropped (they
/// do not change the interpolation).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Isotonic {
    pub thresholds: Vec<f64>,
    pub values: Vec<f64>,
}

/// scikit-learn's `_make_unique` treats x values less than this (float64 `resolution`)
/// above the first of a run as duplicates of it.
const SAME_X: f64 = 1e-15;

impl Isotonic {
    /// Fits on scores and 0/1 labels.
    ///
    /// # Panics
    /// As [`Isotonic::fit_values`].
    pub fn fit(scores: &[f64], labels: &[bool]) -> Self {
        let y: Vec<f64> = labels.iter().map(|&l| f64::from(u8::from(l))).collect();
        Self::fit_values(scores, &y)
    }

    /// Fits the non-decreasing least-squares map from `x` to `y` with pool-adjacent-violators,
    /// following scikit-learn step by step: rows sorted by `(x, y)`; rows whose `x` is within
    /// 1e-15 above the first `x` of a run averaged into one point at that `x`; PAVA over the
    /// unique points weighted by their row counts (adjacent blocks with equal means are
    /// pooled too); interior points of constant runs dropped. With no rows the model is
    /// empty and predicts NaN.
    ///
    /// # Panics
    /// If the lengths differ or a value is not finite.
    pub fn fit_values(x: &[f64], y: &[f64]) -> Self {
        assert_eq!(x.len(), y.len(), "x and y differ in length");
        assert!(x.iter().chain(y).all(|v| v.is_finite()), "Isotonic::fit needs finite values");
        let mut order: Vec<usize> = (0..x.len()).collect();
        order.sort_by(|&i, &j| x[i].total_cmp(&x[j]).then(y[i].total_cmp(&y[j])));

        // Unique x with summed weights and mean y.
        let mut ux: Vec<f64> = Vec::new();
        let mut uw: Vec<f64> = Vec::new();
        let mut uy: Vec<f64> = Vec::new(); // sum of y until divided below
        for &i in &order {
            match ux.last() {
                Some(&cur) if x[i] - cur < SAME_X => {
                    *uw.last_mut().unwrap() += 1.0;
                    *uy.last_mut().unwrap() += y[i];
                }
                _ => {
                    ux.push(x[i]);
                    uw.push(1.0);
                    uy.push(y[i]);
                }
            }
        }
        for (s, w) in uy.iter_mut().zip(&uw) {
            *s /= w;
        }

        // PAVA: a stack of blocks (sum w·y, sum w, number of unique points), merged while
        // the previous block's mean is not below the last one's.
        let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(ux.len());
        for (&yy, &w) in uy.iter().zip(&uw) {
            blocks.push((w * yy, w, 1));
            while blocks.len() > 1 {
                let (s2, w2, c2) = blocks[blocks.len() - 1];
                let (s1, w1, c1) = blocks[blocks.len() - 2];
                if s1 / w1 < s2 / w2 {
                    break;
                }
                blocks.pop();
                *blocks.last_mut().unwrap() = (s1 + s2, w1 + w2, c1 + c2);
            }
        }
        let fitted: Vec<f64> = blocks.iter().flat_map(|&(s, w, c)| std::iter::repeat_n(s / w, c)).collect();

        // Keep the ends and every point that differs from a neighbour.
        let m = fitted.len();
        let keep =
            |i: usize| i == 0 || i + 1 == m || fitted[i] != fitted[i - 1] || fitted[i] != fitted[i + 1];
        let (thresholds, values) = (0..m).filter(|&i| keep(i)).map(|i| (ux[i], fitted[i])).unzip();
        Isotonic { thresholds, values }
    }

    /// The calibrated value at `x`: clipped to the fitted range, then linear between the
    /// neighbouring points (scipy `interp1d`'s arithmetic). NaN for NaN or an empty model.
    pub fn predict(&self, x: f64) -> f64 {
        let (t, v) = (&self.thresholds, &self.values);
        match t.len() {
            0 => return f64::NAN,
            1 => return if x.is_nan() { f64::NAN } else { v[0] },
            _ => {}
        }
        if x.is_nan() {
            return f64::NAN;
        }
        let x = x.clamp(t[0], t[t.len() - 1]);
        // First index with t[i] >= x (numpy searchsorted, side left), kept in 1..len-1.
        let hi = t.partition_point(|&ti| ti < x).clamp(1, t.len() - 1);
        let lo = hi - 1;
        let slope = (v[hi] - v[lo]) / (t[hi] - t[lo]);
        slope * (x - t[lo]) + v[lo]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// Gradient of the smoothed-target log loss at (a, b).
    fn platt_gradient(p: &Platt, s: &[f64], l: &[bool]) -> (f64, f64) {
        let np = l.iter().filter(|&&x| x).count() as f64;
        let nn = l.len() as f64 - np;
        let (hi, lo) = ((np + 1.0) / (np + 2.0), 1.0 / (nn + 2.0));
        let mut g = (0.0, 0.0);
        for (&si, &li) in s.iter().zip(l) {
            let d = (if li { hi } else { lo }) - p.predict(si);
            g.0 += si * d;
            g.1 += d;
        }
        g
    }

    #[test]
    fn platt_fits_a_stationary_point() {
        let s: Vec<f64> = (0..40).map(|i| i as f64 / 10.0 - 2.0).collect();
        let l: Vec<bool> = (0..40).map(|i| (i * 7919) % 40 < i).collect();
        let p = Platt::fit(&s, &l);
        assert!(p.a < 0.0, "higher scores should mean more likely positive: {p:?}");
        let (g1, g2) = platt_gradient(&p, &s, &l);
        assert!(g1.abs() < 1e-8 && g2.abs() < 1e-8, "gradient {g1} {g2}");
        // Monotone and finite at extreme scores.
        assert!(p.predict(-1e6) < p.predict(0.0) && p.predict(0.0) < p.predict(1e6));
        assert!(close(p.predict(1e300), 1.0, 0.0) && close(p.predict(-1e300), 0.0, 0.0));
    }

    #[test]
    fn platt_is_finite_under_perfect_separation() {
        let s = [-2.0, -1.0, 1.0, 2.0];
        let l = [false, false, true, true];
        let p = Platt::fit(&s, &l);
        assert!(p.a.is_finite() && p.b.is_finite());
        // Targets are 3/4 and 1/4, so predictions cannot reach 0 or 1.
        assert!(p.predict(2.0) < 0.9 && p.predict(-2.0) > 0.1);
        let (g1, g2) = platt_gradient(&p, &s, &l);
        assert!(g1.abs() < 1e-9 && g2.abs() < 1e-9);
        // Symmetric data: b = 0.
        assert!(close(p.b, 0.0, 1e-9));
    }

    #[test]
    fn platt_degenerate_inputs() {
        // All scores equal: only a·s + b is identified; the prediction is the mean target.
        let l = [true, false, false, false];
        let p = Platt::fit(&[0.3; 4], &l);
        let mean_target = (2.0 / 3.0 + 3.0 * (1.0 / 5.0)) / 4.0;
        assert!(close(p.predict(0.3), mean_target, 1e-9), "{p:?}");
        assert_eq!(Platt::fit(&[], &[]), Platt { a: 0.0, b: 0.0 });
        assert_eq!(Platt { a: 0.0, b: 0.0 }.predict(5.0), 0.5);
        // One class only still gives a finite fit.
        let p = Platt::fit(&[0.1, 0.5, 0.9], &[false; 3]);
        assert!(p.a.is_finite() && p.b.is_finite() && p.predict(0.5) < 0.5);
    }

    #[test]
    fn isotonic_pools_and_trims_by_hand() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let y = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0];
        // PAVA: [0, .5, .5, .5, .5, 1, 1]; x = 3, 4 are inside the .5 run.
        let m = Isotonic::fit_values(&x, &y);
        assert_eq!(m.thresholds, vec![1.0, 2.0, 5.0, 6.0, 7.0]);
        assert_eq!(m.values, vec![0.0, 0.5, 0.5, 1.0, 1.0]);
        assert_eq!(m.predict(0.0), 0.0);
        assert_eq!(m.predict(1.5), 0.25);
        assert_eq!(m.predict(3.0), 0.5);
        assert_eq!(m.predict(5.5), 0.75);
        assert_eq!(m.predict(99.0), 1.0);
        assert!(m.predict(f64::NAN).is_nan());
        // Same with shuffled rows and bool labels.
        let idx = [4usize, 0, 6, 2, 1, 5, 3];
        let xs: Vec<f64> = idx.iter().map(|&i| x[i]).collect();
        let ls: Vec<bool> = idx.iter().map(|&i| y[i] == 1.0).collect();
        assert_eq!(Isotonic::fit(&xs, &ls), m);
    }

    #[test]
    fn isotonic_merges_duplicate_x() {
        let m = Isotonic::fit_values(&[1.0, 1.0, 2.0, 2.0 + 1e-16, 3.0], &[0.0, 1.0, 1.0, 0.0, 0.2]);
        // x=1 -> .5 (weight 2), x=2 (2 + 1e-16 is 2.0) -> .5 (2), x=3 -> .2 (1);
        // pooled: 2.2 / 5 everywhere.
        assert_eq!(m.thresholds, vec![1.0, 3.0]);
        assert!(m.values.iter().all(|&v| close(v, 0.44, 1e-15)), "{m:?}");
        // x within 1e-15 above the first of a run joins it (scikit-learn's _make_unique).
        let m = Isotonic::fit_values(&[0.0, 5e-16, 2e-15], &[0.0, 1.0, 1.0]);
        assert_eq!(m.thresholds, vec![0.0, 2e-15]);
        assert_eq!(m.values, vec![0.5, 1.0]);
        let one = Isotonic::fit_values(&[2.0, 2.0], &[0.0, 1.0]);
        assert_eq!(one, Isotonic { thresholds: vec![2.0], values: vec![0.5] });
        assert_eq!(one.predict(-5.0), 0.5);
        assert!(Isotonic::fit_values(&[], &[]).predict(0.3).is_nan());
    }

    #[test]
    fn isotonic_is_monotone_and_least_squares_on_increasing_data() {
        let x: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let y: Vec<f64> = x.iter().map(|v| v * 0.5).collect();
        let m = Isotonic::fit_values(&x, &y);
        // Already increasing: fitted values are the data; a linear run keeps every point.
        assert_eq!(m.values, y);
        for w in m.values.windows(2) {
            assert!(w[0] <= w[1]);
        }
    }

    #[test]
    fn serde_round_trip() {
        let p = Platt { a: -1.5, b: 0.25 };
        let s = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Platt>(&s).unwrap(), p);
        let m = Isotonic { thresholds: vec![0.0, 1.0], values: vec![0.1, 0.9] };
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Isotonic>(&s).unwrap(), m);
    }
}
