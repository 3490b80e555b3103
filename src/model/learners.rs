//! The two learner families, fitted with linfa and stored in a form of our own (plain
//! vectors and node arrays) so a model file does not depend on linfa's internal layout:
//!
//! - L2-regularised logistic regression (linfa-logistic) on standardised features. Its
//!   contributions are exact: `w_j * x_j` in log-odds.
//! - A random forest of linfa-trees decision trees. The bagging is ours rather than
//!   linfa-ensemble's: linfa-ensemble drops sample weights when it bootstraps and fits its
//!   trees one after another, and a linfa tree breaks ties between equally weighted classes
//!   through a `HashMap`'s random order when it prunes, so two fits with one seed could differ.
//!   Here each tree gets a seeded bootstrap, its own feature subset and sample weights
//!   jittered by a seeded ±25 % (which makes exact class-weight ties practically impossible),
//!   and trees are fitted in parallel. linfa's trees keep only a majority class per leaf, so
//!   each node's positive share is recomputed by routing the tree's training rows down the
//!   tree; the forest's score is the mean leaf share (as scikit-learn's `predict_proba`), and
//!   contributions are the path-based decomposition of Saabas: each split adds (share of the
//!   child taken − share of the node) to the feature it tests.
//!
//! linfa-logistic has no sample weights: class imbalance is handled by the caller
//! replicating positive rows.

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use linfa_trees::{DecisionTree, TreeNode};
use ndarray::{Array1, Array2, ArrayView1, Axis};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Hyper-parameters of a candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Learner {
    Logistic { alpha: f64 },
    Forest { trees: usize, max_depth: usize, feature_proportion: f64 },
}

impl Learner {
    pub fn describe(&self) -> String {
        match self {
            Learner::Logistic { alpha } => format!("logistic regression (L2 alpha {alpha})"),
            Learner::Forest { trees, max_depth, feature_proportion } => {
                format!("random forest ({trees} trees, depth {max_depth}, {:.0} % of features per tree)", feature_proportion * 100.0)
            }
        }
    }
}

/// One node of a stored tree; leaves have `feature == u32::MAX`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub feature: u32,
    pub threshold: f64,
    pub left: u32,
    pub right: u32,
    /// Share of positive training rows reaching the node.
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

/// A fitted learner on standardised features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Fitted {
    Logistic { weights: Vec<f64>, intercept: f64 },
    Forest { trees: Vec<Tree> },
}

const LEAF: u32 = u32::MAX;

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Fits `learner` on rows `x` with labels `y`. `seed` fixes the forest's bootstrap.
pub fn fit(learner: &Learner, x: &Array2<f64>, y: &[bool], seed: u64) -> Result<Fitted, String> {
    let targets: Array1<bool> = y.iter().copied().collect();
    match learner {
        Learner::Logistic { alpha } => {
            let data = Dataset::new(x.clone(), targets);
            let m = LogisticRegression::default()
                .alpha(*alpha)
                .max_iterations(300)
                .fit(&data)
                .map_err(|e| format!("logistic regression: {e}"))?;
            // linfa-logistic 0.8.1 models the probability of the more frequent class: orient it
            // so the score is always the probability of `true`.
            let sign = if m.labels().pos.class { 1.0 } else { -1.0 };
            Ok(Fitted::Logistic { weights: m.params().iter().map(|w| sign * w).collect(), intercept: sign * m.intercept() })
        }
        Learner::Forest { trees, max_depth, feature_proportion } => {
            let (n, p) = x.dim();
            let n_feat = ((p as f64 * feature_proportion).ceil() as usize).clamp(1, p.max(1));
            let fitted: Result<Vec<Tree>, String> = (0..*trees)
                .into_par_iter()
                .map(|t| {
                    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(crate::synth::mix64(seed ^ (t as u64) << 32));
                    let rows: Vec<usize> = (0..n).map(|_| rng.gen_range(0..n)).collect();
                    let feats = rand::seq::index::sample(&mut rng, p, n_feat).into_vec();
                    let mut feats = feats;
                    feats.sort_unstable();
                    let xs = x.select(Axis(0), &rows).select(Axis(1), &feats);
                    let ys: Array1<bool> = rows.iter().map(|&r| y[r]).collect();
                    let w: Array1<f32> = rows.iter().map(|_| 0.75 + 0.5 * rng.gen::<f32>()).collect();
                    let data = Dataset::new(xs, ys).with_weights(w);
                    let tree = DecisionTree::params()
                        .max_depth(Some(*max_depth))
                        .min_weight_leaf(2.0)
                        .fit(&data)
                        .map_err(|e| format!("decision tree: {e}"))?;
                    let xr = x.select(Axis(0), &rows);
                    let yr: Vec<bool> = rows.iter().map(|&r| y[r]).collect();
                    Ok(convert(tree.root_node(), &feats, &xr, &yr))
                })
                .collect();
            Ok(Fitted::Forest { trees: fitted? })
        }
    }
}

/// Flattens a linfa tree (whose split indices refer to the tree's feature subset) into
/// nodes over all features, with positive shares from routing every training row.
fn convert(root: &TreeNode<f64, bool>, feats: &[usize], x: &Array2<f64>, y: &[bool]) -> Tree {
    let mut nodes = Vec::new();
    fn walk(n: &TreeNode<f64, bool>, feats: &[usize], nodes: &mut Vec<Node>) -> u32 {
        let id = nodes.len() as u32;
        nodes.push(Node { feature: LEAF, threshold: 0.0, left: LEAF, right: LEAF, value: 0.0 });
        if !n.is_leaf() {
            let (f, thr, _) = n.split();
            let kids = n.children();
            let (Some(l), Some(r)) = (kids[0].as_deref(), kids[1].as_deref()) else { return id };
            let left = walk(l, feats, nodes);
            let right = walk(r, feats, nodes);
            nodes[id as usize] = Node { feature: feats[f] as u32, threshold: thr, left, right, value: 0.0 };
        }
        id
    }
    walk(root, feats, &mut nodes);
    let mut pos = vec![0u64; nodes.len()];
    let mut all = vec![0u64; nodes.len()];
    for (r, row) in x.rows().into_iter().enumerate() {
        let mut k = 0usize;
        loop {
            all[k] += 1;
            pos[k] += u64::from(y[r]);
            let n = &nodes[k];
            if n.feature == LEAF {
                break;
            }
            k = if row[n.feature as usize] < n.threshold { n.left } else { n.right } as usize;
        }
    }
    // A node no training row reaches takes its parent's share (set top-down).
    let mut value = vec![f64::NAN; nodes.len()];
    let mut stack = vec![(0usize, 0.0f64)];
    while let Some((k, parent)) = stack.pop() {
        value[k] = if all[k] > 0 { pos[k] as f64 / all[k] as f64 } else { parent };
        if nodes[k].feature != LEAF {
            stack.push((nodes[k].left as usize, value[k]));
            stack.push((nodes[k].right as usize, value[k]));
        }
    }
    for (n, v) in nodes.iter_mut().zip(value) {
        n.value = v;
    }
    Tree { nodes }
}

impl Fitted {
    /// The learner's raw score of one standardised row: a probability-like number
    /// (uncalibrated; calibration maps it).
    pub fn raw(&self, row: ArrayView1<f64>) -> f64 {
        match self {
            Fitted::Logistic { weights, intercept } => sigmoid(intercept + weights.iter().zip(row).map(|(w, x)| w * x).sum::<f64>()),
            Fitted::Forest { trees } => trees.iter().map(|t| t.nodes[leaf(t, row)].value).sum::<f64>() / trees.len().max(1) as f64,
        }
    }

    /// Per-feature contributions to the raw score of `row`, with the base value they add
    /// to: log-odds for the linear model, positive share for the forest.
    pub fn contributions(&self, row: ArrayView1<f64>) -> (f64, Vec<f64>) {
        match self {
            Fitted::Logistic { weights, intercept } => (*intercept, weights.iter().zip(row).map(|(w, x)| w * x).collect()),
            Fitted::Forest { trees } => {
                let mut c = vec![0.0; row.len()];
                let mut base = 0.0;
                for t in trees {
                    base += t.nodes[0].value;
                    let mut k = 0usize;
                    while t.nodes[k].feature != LEAF {
                        let n = &t.nodes[k];
                        let next = if row[n.feature as usize] < n.threshold { n.left } else { n.right } as usize;
                        c[n.feature as usize] += t.nodes[next].value - n.value;
                        k = next;
                    }
                }
                let n = trees.len().max(1) as f64;
                (base / n, c.into_iter().map(|v| v / n).collect())
            }
        }
    }

    /// Global importance per feature: |weight| for the linear model, for the forest the
    /// mean absolute change in positive share its splits make over the training rows.
    pub fn importance(&self, x: &Array2<f64>) -> Vec<f64> {
        match self {
            Fitted::Logistic { weights, .. } => weights.iter().map(|w| w.abs()).collect(),
            Fitted::Forest { .. } => {
                let mut imp = vec![0.0; x.ncols()];
                for row in x.rows() {
                    for (j, c) in self.contributions(row).1.into_iter().enumerate() {
                        imp[j] += c.abs();
                    }
                }
                imp.iter().map(|v| v / x.nrows().max(1) as f64).collect()
            }
        }
    }
}

fn leaf(t: &Tree, row: ArrayView1<f64>) -> usize {
    let mut k = 0usize;
    while t.nodes[k].feature != LEAF {
        let n = &t.nodes[k];
        k = if row[n.feature as usize] < n.threshold { n.left } else { n.right } as usize;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> (Array2<f64>, Vec<bool>) {
        // Positive when x0 + x1 > 1; x2 is noise.
        let n = 400;
        let mut x = Array2::zeros((n, 3));
        let mut y = Vec::new();
        for i in 0..n {
            let a = (i % 20) as f64 / 10.0;
            let b = (i / 20) as f64 / 10.0;
            x[[i, 0]] = a;
            x[[i, 1]] = b;
            x[[i, 2]] = ((i * 7919) % 13) as f64;
            y.push(a + b > 1.5);
        }
        (x, y)
    }

    #[test]
    fn logistic_contributions_add_up_to_the_log_odds() {
        let (x, y) = data();
        let m = fit(&Learner::Logistic { alpha: 0.1 }, &x, &y, 0).unwrap();
        let row = x.row(37);
        let (base, c) = m.contributions(row);
        let p = m.raw(row);
        assert!(((base + c.iter().sum::<f64>()) - (p / (1.0 - p)).ln()).abs() < 1e-9);
        let Fitted::Logistic { weights, .. } = &m else { panic!() };
        assert!(weights[0] > 0.0 && weights[1] > 0.0 && weights[2].abs() < weights[0]);
        // Positives the minority (linfa orients by class frequency): still P(true).
        let flipped: Vec<bool> = y.iter().map(|v| !v).collect();
        let m2 = fit(&Learner::Logistic { alpha: 0.1 }, &x, &flipped, 0).unwrap();
        assert!((m2.raw(row) - (1.0 - p)).abs() < 1e-4, "{} vs {}", m2.raw(row), 1.0 - p);
    }

    #[test]
    fn forest_contributions_add_up_and_rank_the_signal() {
        let (x, y) = data();
        let m = fit(&Learner::Forest { trees: 20, max_depth: 6, feature_proportion: 1.0 }, &x, &y, 3).unwrap();
        for r in [0, 150, 399] {
            let (base, c) = m.contributions(x.row(r));
            assert!((base + c.iter().sum::<f64>() - m.raw(x.row(r))).abs() < 1e-9);
        }
        let imp = m.importance(&x);
        assert!(imp[0] > imp[2] && imp[1] > imp[2], "{imp:?}");
        // Deterministic for a seed.
        assert_eq!(m, fit(&Learner::Forest { trees: 20, max_depth: 6, feature_proportion: 1.0 }, &x, &y, 3).unwrap());
    }
}
