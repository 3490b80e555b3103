//! The two learner families, fitted by their crates and stored in a form of our own (plain
//! vectors and node arrays), so a model file does not depend on a crate's internal layout and
//! scoring is the same code whether a model was just trained or read from a file:
//!
//! - L2-regularised logistic regression (linfa-logistic) on standardised features. Its
//!   contributions are exact: `w_j * x_j` in log-odds. linfa-logistic has no sample weights:
//!   positives are replicated to about a quarter of the rows instead.
//! - Gradient-boosted trees (hessboost: histogram splits, Newton boosting, deterministic on any
//!   thread count, on our rayon pool). Positives are weighted to about a quarter of the
//!   training weight. The trees are copied out node by node (feature, `f32` threshold,
//!   direction of missing values, leaf margin), so a row is routed exactly as hessboost
//!   routes it. Contributions are the path decomposition of Saabas in log-odds: each split
//!   adds (value of the child taken − value of the node) to the feature it tests, a node's
//!   value being the cover-weighted mean of its leaves.

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2, ArrayView1, Axis};
use serde::{Deserialize, Serialize};

/// Hyper-parameters of a candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Learner {
    Logistic { alpha: f64 },
    Boosted { rounds: usize, max_depth: usize, eta: f64, subsample: f64, colsample: f64, min_child_weight: f64, lambda: f64 },
    /// The mean log-odds of several learners (fitted each on the same rows).
    Blend(Vec<Learner>),
}

impl Learner {
    /// The boosted trees every stage uses by default: shallow trees, a moderate learning rate
    /// and row and column subsampling, so that a few dozen positives are not memorised.
    pub fn boosted_default() -> Learner {
        Learner::Boosted { rounds: 150, max_depth: 4, eta: 0.08, subsample: 0.8, colsample: 0.8, min_child_weight: 1.0, lambda: 1.0 }
    }

    /// Shallower, slower-learning trees that see half the features each: less able to
    /// memorise a few dozen positives.
    pub fn boosted_regularised() -> Learner {
        Learner::Boosted { rounds: 300, max_depth: 3, eta: 0.05, subsample: 0.7, colsample: 0.5, min_child_weight: 3.0, lambda: 5.0 }
    }

    pub fn describe(&self) -> String {
        match self {
            Learner::Logistic { alpha } => format!("logistic regression (L2 alpha {alpha})"),
            Learner::Boosted { rounds, max_depth, eta, colsample, .. } => {
                format!("gradient-boosted trees ({rounds} rounds, depth {max_depth}, learning rate {eta}, {:.0} % of features per tree)", colsample * 100.0)
            }
            Learner::Blend(members) => format!("blend of {}", members.iter().map(Learner::describe).collect::<Vec<_>>().join(" and ")),
        }
    }
}

/// One node of a stored boosted tree; leaves have `feature == u32::MAX`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub feature: u32,
    /// A row goes left when its value (as `f32`) is below the threshold.
    pub threshold: f32,
    /// Where a missing value goes.
    pub default_left: bool,
    pub left: u32,
    pub right: u32,
    /// Margin (log-odds) of a leaf; for an internal node the cover-weighted mean of its leaves.
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
    Boosted { base: f64, trees: Vec<Tree> },
    Blend(Vec<Fitted>),
}

const LEAF: u32 = u32::MAX;

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Log-odds of a probability, finite at 0 and 1.
fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-15, 1.0 - 1e-15);
    (p / (1.0 - p)).ln()
}

/// Fits `learner` on rows `x` with labels `y`; `seed` fixes the boosted trees' subsampling.
pub fn fit(learner: &Learner, x: &Array2<f64>, y: &[bool], seed: u64) -> Result<Fitted, String> {
    match learner {
        Learner::Logistic { alpha } => {
            let (x, y) = thinned(x, y);
            let (x, y) = balanced(&x, &y);
            let targets: Array1<bool> = y.iter().copied().collect();
            let data = Dataset::new(x, targets);
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
        Learner::Boosted { rounds, max_depth, eta, subsample, colsample, min_child_weight, lambda } => {
            use hessboost::prelude::*;
            let (n, p) = x.dim();
            let pos = y.iter().filter(|&&b| b).count();
            if pos == 0 {
                return Err("no positive row".into());
            }
            let w_pos = ((n - pos) as f64 / (3.0 * pos as f64)).max(1.0) as f32;
            let values: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let labels: Vec<f32> = y.iter().map(|&b| f32::from(u8::from(b))).collect();
            let weights: Vec<f32> = y.iter().map(|&b| if b { w_pos } else { 1.0 }).collect();
            let err = |e: HessboostError| format!("boosted trees: {e}");
            let data = DMatrix::from_dense(&values, n, p).and_then(|d| d.with_labels(&labels)).and_then(|d| d.with_weights(&weights)).map_err(err)?;
            let params = TrainingParams::builder()
                .objective(Objective::BinaryLogistic(RegLoss::default()))
                .tree_method(TreeMethod::Hist)
                .max_depth(*max_depth)
                .eta(*eta)
                .subsample(*subsample)
                .colsample_bytree(*colsample)
                .min_child_weight(*min_child_weight)
                .lambda(*lambda)
                .max_bin(64)
                .seed(seed)
                .build()
                .map_err(err)?;
            let model = train(&params, &data, *rounds).map_err(err)?;
            Ok(from_hessboost(&model))
        }
        Learner::Blend(members) => Ok(Fitted::Blend(members.iter().map(|m| fit(m, x, y, seed)).collect::<Result<_, _>>()?)),
    }
}

/// Copies a hessboost model's trees into stored nodes, each tree's weight folded into its
/// leaves, and fills internal nodes' values for the contributions.
fn from_hessboost(model: &hessboost::prelude::BoostedModel) -> Fitted {
    let trees = model
        .trees()
        .iter()
        .zip(model.tree_weights())
        .map(|(t, w)| {
            let src = t.nodes();
            let mut nodes: Vec<Node> = src
                .iter()
                .map(|n| {
                    if n.is_leaf() {
                        Node { feature: LEAF, threshold: 0.0, default_left: true, left: LEAF, right: LEAF, value: f64::from(w) * f64::from(n.leaf_value) }
                    } else {
                        Node { feature: n.split_feature, threshold: n.split_cond, default_left: n.default_left, left: n.left as u32, right: n.right as u32, value: 0.0 }
                    }
                })
                .collect();
            // Children come after their parent: fill values bottom-up, by cover.
            for k in (0..nodes.len()).rev() {
                if nodes[k].feature != LEAF {
                    let (l, r) = (nodes[k].left as usize, nodes[k].right as usize);
                    let (cl, cr) = (f64::from(src[l].sum_hess), f64::from(src[r].sum_hess));
                    nodes[k].value = if cl + cr > 0.0 { (cl * nodes[l].value + cr * nodes[r].value) / (cl + cr) } else { 0.5 * (nodes[l].value + nodes[r].value) };
                }
            }
            Tree { nodes }
        })
        .collect();
    Fitted::Boosted { base: f64::from(model.base_score()), trees }
}

/// Negative rows the linear model fits on: more add time (linfa's solver is dense and
/// single-threaded) but not information to its few coefficients.
const LOGISTIC_MAX_NEGATIVES: usize = 5_000;

/// Rows kept for the linear model: every positive, negatives thinned to an even stride.
fn kept_rows(y: &[bool]) -> Vec<usize> {
    let neg = y.iter().filter(|&&b| !b).count();
    let stride = neg.div_ceil(LOGISTIC_MAX_NEGATIVES).max(1);
    let mut seen = 0usize;
    (0..y.len())
        .filter(|&i| {
            if y[i] {
                return true;
            }
            seen += 1;
            (seen - 1) % stride == 0
        })
        .collect()
}

fn thinned(x: &Array2<f64>, y: &[bool]) -> (Array2<f64>, Vec<bool>) {
    let rows = kept_rows(y);
    (x.select(Axis(0), &rows), rows.iter().map(|&i| y[i]).collect())
}

/// Replicates positive rows until they are about a quarter of the rows.
fn balanced(x: &Array2<f64>, y: &[bool]) -> (Array2<f64>, Vec<bool>) {
    let pos: Vec<usize> = (0..y.len()).filter(|&i| y[i]).collect();
    let neg = y.len() - pos.len();
    let copies = if pos.is_empty() { 1 } else { (neg / (3 * pos.len())).clamp(1, 50) };
    if copies == 1 {
        return (x.clone(), y.to_vec());
    }
    let mut rows: Vec<usize> = (0..y.len()).collect();
    rows.extend(pos.iter().flat_map(|&i| std::iter::repeat_n(i, copies - 1)));
    (x.select(Axis(0), &rows), rows.iter().map(|&i| y[i]).collect())
}

/// A blend's raw score from its members' raw scores (the one formula [`Fitted::raw`] and the
/// batch paths share, so both give the same bits).
pub fn blend_raw(member_raws: impl Iterator<Item = f64>, members: usize) -> f64 {
    sigmoid(member_raws.map(logit).sum::<f64>() / members as f64)
}

/// Rows per block of the batch scorer: the block's rows (as `f32`) stay in cache while every
/// tree routes them, and each tree's nodes stay in cache across the block.
const BLOCK: usize = 512;

impl Fitted {
    /// The learner's raw score of one standardised row: a probability-like number
    /// (uncalibrated; calibration maps it).
    pub fn raw(&self, row: ArrayView1<f64>) -> f64 {
        match self {
            Fitted::Logistic { weights, intercept } => sigmoid(intercept + weights.iter().zip(row).map(|(w, x)| w * x).sum::<f64>()),
            Fitted::Boosted { base, trees } => sigmoid(base + trees.iter().map(|t| t.nodes[leaf(t, row)].value).sum::<f64>()),
            Fitted::Blend(members) => blend_raw(members.iter().map(|m| m.raw(row)), members.len()),
        }
    }

    /// [`Fitted::raw`] of rows `rows` of `x`, in that order, bit for bit, in parallel blocks.
    /// Scoring is most of a training run's time (each model scores every row once or
    /// more), so trees are routed block by block over a compact copy of their nodes.
    pub fn raw_rows(&self, x: &Array2<f64>, rows: &[usize]) -> Vec<f64> {
        use rayon::prelude::*;
        match self {
            Fitted::Logistic { .. } => rows.par_iter().map(|&r| self.raw(x.row(r))).collect(),
            Fitted::Boosted { .. } if x.ncols() == 0 => rows.par_iter().map(|&r| self.raw(x.row(r))).collect(),
            Fitted::Blend(members) => {
                let each: Vec<Vec<f64>> = members.iter().map(|m| m.raw_rows(x, rows)).collect();
                (0..rows.len()).into_par_iter().map(|i| blend_raw(each.iter().map(|v| v[i]), members.len())).collect()
            }
            Fitted::Boosted { base, trees } => {
                let flat = FlatTrees::new(trees);
                let p = x.ncols();
                let mut out = vec![0.0; rows.len()];
                out.par_chunks_mut(BLOCK).zip(rows.par_chunks(BLOCK)).for_each(|(out, rows)| {
                    let vals = routing_values(x, rows);
                    // The same order of additions as `raw`: trees in order, from -0.0.
                    let mut margin = vec![-0.0f64; rows.len()];
                    for t in 0..flat.roots.len() {
                        flat.add_leaf_values(t, &vals, p, &mut margin);
                    }
                    for (o, m) in out.iter_mut().zip(margin) {
                        *o = sigmoid(base + m);
                    }
                });
                out
            }
        }
    }

    /// Per-feature contributions to the log-odds of `row`, with the base value they add to.
    /// One row of [`Fitted::contributions_rows`], so a single row (explain, tests) and the
    /// batch give the same bits.
    pub fn contributions(&self, row: ArrayView1<f64>) -> (f64, Vec<f64>) {
        let x = row.to_owned().insert_axis(Axis(0));
        let (base, c) = self.explainer().rows(&x, &[0]);
        (base[0], c)
    }

    /// Contributions of rows `rows` of `x`, in that order: each row's base, and its
    /// `x.ncols()` contributions one row after another. Bit for bit [`Fitted::contributions`]
    /// of each row (it is this with one row); one thread, see [`Explainer`] for parallel use.
    pub fn contributions_rows(&self, x: &Array2<f64>, rows: &[usize]) -> (Vec<f64>, Vec<f64>) {
        self.explainer().rows(x, rows)
    }

    /// What the contributions of many rows share: the trees' flat nodes and their leaves'
    /// paths, built once per model (see [`Explainer`]).
    pub fn explainer(&self) -> Explainer {
        match self {
            Fitted::Logistic { weights, intercept } => Explainer(Prepared::Logistic { weights: weights.clone(), intercept: *intercept }),
            Fitted::Boosted { base, trees } => {
                // The base as the row walk added it: the model's base, then each root's value.
                let mut b = *base;
                for t in trees {
                    b += t.nodes[0].value;
                }
                Explainer(Prepared::Boosted { base: b, flat: FlatTrees::new(trees), paths: LeafPaths::new(trees) })
            }
            Fitted::Blend(members) => Explainer(Prepared::Blend(members.iter().map(Fitted::explainer).collect())),
        }
    }

    /// Global importance per feature: |weight| for the linear model, for the trees the mean
    /// absolute contribution over the given rows.
    pub fn importance(&self, x: &Array2<f64>) -> Vec<f64> {
        match self {
            Fitted::Logistic { weights, .. } => weights.iter().map(|w| w.abs()).collect(),
            Fitted::Boosted { .. } | Fitted::Blend(_) => {
                let p = x.ncols();
                let e = self.explainer();
                let mut imp = vec![0.0; p];
                let all: Vec<usize> = (0..x.nrows()).collect();
                // Rows in order, as the sum always ran.
                for rows in all.chunks(BLOCK) {
                    let (_, c) = e.rows(x, rows);
                    for row in c.chunks(p.max(1)) {
                        for (i, v) in imp.iter_mut().zip(row) {
                            *i += v.abs();
                        }
                    }
                }
                imp.iter().map(|v| v / x.nrows().max(1) as f64).collect()
            }
        }
    }
}

/// A fitted learner prepared for the contributions of many rows ([`Fitted::explainer`]).
///
/// Saabas path contributions are a constant per leaf: the splits from the root to a leaf
/// each add (value of the child − value of the node) to the feature they test, whatever the
/// row that got there. So each leaf's list is computed once ([`LeafPaths`]), rows are routed
/// to their leaves by the branch-free lockstep router of the batch scorer ([`FlatTrees`]),
/// and a row's contributions are its leaves' lists added up. Walking ~450 trees per row
/// with a data-dependent branch per level, and a vector per blend member, was nearly all of
/// the score stage. The additions are those of the walk, in its order (trees in order, a
/// path root to leaf; a blend's members in order, each divided by their number), so the
/// results are the same bits.
pub struct Explainer(Prepared);

enum Prepared {
    Logistic { weights: Vec<f64>, intercept: f64 },
    /// `base` is the model's base plus every root's value, added as the walk added them.
    Boosted { base: f64, flat: FlatTrees, paths: LeafPaths },
    Blend(Vec<Explainer>),
}

impl Explainer {
    /// Each row's base and its `x.ncols()` contributions, rows one after another.
    pub fn rows(&self, x: &Array2<f64>, rows: &[usize]) -> (Vec<f64>, Vec<f64>) {
        let mut base = vec![0.0; rows.len()];
        let mut c = vec![0.0; rows.len() * x.ncols()];
        self.fill(x, rows, &mut base, &mut c);
        (base, c)
    }

    /// [`Explainer::rows`] into `base` (one per row) and `c` (`x.ncols()` per row), which
    /// must hold zeros.
    fn fill(&self, x: &Array2<f64>, rows: &[usize], base: &mut [f64], c: &mut [f64]) {
        let p = x.ncols();
        match &self.0 {
            Prepared::Logistic { weights, intercept } => {
                // A weight per column; were there fewer, the rest stay 0 (a row's walk had
                // no entry for them: neither is a positive reason).
                for (i, &r) in rows.iter().enumerate() {
                    base[i] = *intercept;
                    for ((ci, w), v) in c[i * p..(i + 1) * p].iter_mut().zip(weights).zip(x.row(r)) {
                        *ci = w * v;
                    }
                }
            }
            Prepared::Boosted { base: b, flat, paths } => {
                base.fill(*b);
                let vals = routing_values(x, rows);
                // Tree by tree over the rows: each row still sees its trees in order.
                for t in 0..flat.roots.len() {
                    flat.for_each_leaf(t, &vals, p, rows.len(), |i, leaf| {
                        let row = &mut c[i * p..(i + 1) * p];
                        for k in paths.start[leaf] as usize..paths.start[leaf + 1] as usize {
                            row[paths.feature[k] as usize] += paths.delta[k];
                        }
                    });
                }
            }
            Prepared::Blend(members) => {
                let n = members.len() as f64;
                let mut mb = vec![0.0; rows.len()];
                let mut mc = vec![0.0; c.len()];
                for (k, m) in members.iter().enumerate() {
                    if k > 0 {
                        mb.fill(0.0);
                        mc.fill(0.0);
                    }
                    m.fill(x, rows, &mut mb, &mut mc);
                    for (b, v) in base.iter_mut().zip(&mb) {
                        *b += v / n;
                    }
                    for (ci, v) in c.iter_mut().zip(&mc) {
                        *ci += v / n;
                    }
                }
            }
        }
    }
}

/// Each leaf's path contributions, for every tree: the splits from the root to the leaf as
/// (feature, value of the child taken − value of the node), root first, indexed by the
/// leaf's node in [`FlatTrees`] (internal nodes have empty lists).
struct LeafPaths {
    /// Node `k`'s list is `start[k]..start[k + 1]` of `feature` and `delta`.
    start: Vec<u32>,
    feature: Vec<u32>,
    delta: Vec<f64>,
}

impl LeafPaths {
    fn new(trees: &[Tree]) -> LeafPaths {
        let n: usize = trees.iter().map(|t| t.nodes.len()).sum();
        let mut lists: Vec<Vec<(u32, f64)>> = Vec::with_capacity(n);
        for t in trees {
            let off = lists.len();
            lists.resize(off + t.nodes.len(), Vec::new());
            let mut stack = vec![(0usize, Vec::new())];
            while let Some((k, path)) = stack.pop() {
                let nd = &t.nodes[k];
                if nd.feature == LEAF {
                    lists[off + k] = path;
                    continue;
                }
                for child in [nd.left as usize, nd.right as usize] {
                    let mut p = path.clone();
                    // The walk's own subtraction, so the same bits.
                    p.push((nd.feature, t.nodes[child].value - nd.value));
                    stack.push((child, p));
                }
            }
        }
        let mut paths = LeafPaths { start: Vec::with_capacity(n + 1), feature: Vec::new(), delta: Vec::new() };
        paths.start.push(0);
        for l in lists {
            for (f, d) in l {
                paths.feature.push(f);
                paths.delta.push(d);
            }
            paths.start.push(u32::try_from(paths.feature.len()).expect("fewer than 2^32 path entries"));
        }
        paths
    }
}

/// Every tree's nodes in flat arrays (20 bytes a node for routing, values apart). A leaf
/// routes to itself whatever the row, so every row takes exactly its tree's depth in steps:
/// [`FlatTrees::add_leaf_values`] walks [`LANES`] rows in lockstep with no branch on leaves
/// or on comparisons, so the rows' independent chains of loads overlap.
struct FlatTrees {
    roots: Vec<u32>,
    /// Levels from the root to the deepest leaf, per tree.
    depth: Vec<u32>,
    feature: Vec<u32>,
    threshold: Vec<f32>,
    /// Whether missing values go left (1) or right (0).
    missing_left: Vec<u32>,
    /// `[right, left]` child: indexed by the comparison's outcome, so routing has no branch
    /// to mispredict (a data-dependent branch per level was most of the cost).
    children: Vec<[u32; 2]>,
    value: Vec<f64>,
}

/// Rows routed together through one tree.
const LANES: usize = 8;

/// Rows `rows` of `x` one after another as `f32`, the precision trees compare in: what
/// [`FlatTrees`] routes.
fn routing_values(x: &Array2<f64>, rows: &[usize]) -> Vec<f32> {
    let mut vals = Vec::with_capacity(rows.len() * x.ncols());
    for &r in rows {
        vals.extend(x.row(r).iter().map(|&v| v as f32));
    }
    vals
}

/// Levels below node `k` of `t` to its deepest leaf.
fn depth(t: &Tree, k: usize) -> u32 {
    let n = &t.nodes[k];
    if n.feature == LEAF {
        0
    } else {
        1 + depth(t, n.left as usize).max(depth(t, n.right as usize))
    }
}

impl FlatTrees {
    fn new(trees: &[Tree]) -> FlatTrees {
        let n: usize = trees.iter().map(|t| t.nodes.len()).sum();
        let mut f = FlatTrees {
            roots: Vec::with_capacity(trees.len()),
            depth: Vec::with_capacity(trees.len()),
            feature: Vec::with_capacity(n),
            threshold: Vec::with_capacity(n),
            missing_left: Vec::with_capacity(n),
            children: Vec::with_capacity(n),
            value: Vec::with_capacity(n),
        };
        for t in trees {
            let off = u32::try_from(f.feature.len()).expect("fewer than 2^32 nodes");
            assert!(off as usize + t.nodes.len() < u32::MAX as usize, "fewer than 2^32 nodes");
            f.roots.push(off);
            f.depth.push(depth(t, 0));
            for (i, nd) in t.nodes.iter().enumerate() {
                let me = off + i as u32;
                if nd.feature == LEAF {
                    // Feature 0 exists (the batch scorer runs only with columns); both ways lead here.
                    f.feature.push(0);
                    f.threshold.push(0.0);
                    f.missing_left.push(0);
                    f.children.push([me, me]);
                } else {
                    f.feature.push(nd.feature);
                    f.threshold.push(nd.threshold);
                    f.missing_left.push(u32::from(nd.default_left));
                    f.children.push([nd.right + off, nd.left + off]);
                }
                f.value.push(nd.value);
            }
        }
        f
    }

    /// Adds tree `t`'s leaf value for each row of `vals` (rows of `p` values) to `margin`,
    /// routing each row as [`step`] does.
    fn add_leaf_values(&self, t: usize, vals: &[f32], p: usize, margin: &mut [f64]) {
        self.for_each_leaf(t, vals, p, margin.len(), |i, leaf| margin[i] += self.value[leaf]);
    }

    /// Calls `each(i, leaf)` with the leaf (a node index) of tree `t` that each of the `n`
    /// rows of `vals` (rows of `p` values) reaches, rows in order, routing each as [`step`]
    /// does: the one router of the raw scores and the contributions.
    #[inline]
    fn for_each_leaf(&self, t: usize, vals: &[f32], p: usize, n: usize, mut each: impl FnMut(usize, usize)) {
        let (root, depth) = (self.roots[t], self.depth[t]);
        for g in (0..n).step_by(LANES) {
            let lanes = LANES.min(n - g);
            let rows = &vals[g * p..(g + lanes) * p];
            let mut k = [root; LANES];
            for _ in 0..depth {
                for (j, kj) in k.iter_mut().enumerate().take(lanes) {
                    let node = *kj as usize;
                    let v = rows[j * p + self.feature[node] as usize];
                    // A NaN compares false: it goes left only when its stored way is left.
                    let left = u32::from(v < self.threshold[node]) | (u32::from(v.is_nan()) & self.missing_left[node]);
                    *kj = self.children[node][left as usize];
                }
            }
            for (j, &kj) in k.iter().enumerate().take(lanes) {
                each(g + j, kj as usize);
            }
        }
    }
}

/// The child a row takes at an internal node (as hessboost routes it: the value as `f32`
/// against the threshold, a missing value the stored way).
fn step(n: &Node, row: ArrayView1<f64>) -> usize {
    let v = row[n.feature as usize];
    let left = if v.is_nan() { n.default_left } else { (v as f32) < n.threshold };
    if left { n.left } else { n.right }.try_into().expect("node index fits usize")
}

fn leaf(t: &Tree, row: ArrayView1<f64>) -> usize {
    let mut k = 0usize;
    while t.nodes[k].feature != LEAF {
        k = step(&t.nodes[k], row);
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
    fn batch_scores_are_the_row_scores_bit_for_bit() {
        let (mut x, y) = data();
        let logistic = fit(&Learner::Logistic { alpha: 0.1 }, &x, &y, 0).unwrap();
        let boosted = fit(&Learner::boosted_default(), &x, &y, 3).unwrap();
        let blend = Fitted::Blend(vec![logistic.clone(), boosted.clone()]);
        // Missing values take the stored direction in both paths.
        for r in (0..x.nrows()).step_by(7) {
            x[[r, (r / 7) % 3]] = f64::NAN;
        }
        // Every row, out of order, more than one block, the last one not a whole number of
        // lockstep lanes.
        let mut rows: Vec<usize> = (0..x.nrows()).rev().collect();
        rows.extend(0..x.nrows() - 3);
        for m in [&logistic, &boosted, &blend] {
            let batch = m.raw_rows(&x, &rows);
            assert_eq!(batch.len(), rows.len());
            for (&r, b) in rows.iter().zip(&batch) {
                assert_eq!(b.to_bits(), m.raw(x.row(r)).to_bits(), "row {r}");
            }
        }
        assert!(boosted.raw_rows(&x, &[]).is_empty());
    }

    #[test]
    fn boosted_trees_route_as_hessboost_and_contributions_add_up() {
        use hessboost::prelude::*;
        let (x, y) = data();
        let learner = Learner::boosted_default();
        let m = fit(&learner, &x, &y, 3).unwrap();
        for r in [0, 150, 399] {
            let (base, c) = m.contributions(x.row(r));
            let p = m.raw(x.row(r));
            assert!((base + c.iter().sum::<f64>() - (p / (1.0 - p)).ln()).abs() < 1e-9);
        }
        let imp = m.importance(&x);
        assert!(imp[0] > imp[2] && imp[1] > imp[2], "{imp:?}");
        // Deterministic for a seed.
        assert_eq!(m, fit(&learner, &x, &y, 3).unwrap());
        // The stored trees give hessboost's own margins (up to its f32 sums).
        let (n, p) = x.dim();
        let values: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let labels: Vec<f32> = y.iter().map(|&b| f32::from(u8::from(b))).collect();
        let pos = y.iter().filter(|&&b| b).count();
        let w_pos = ((n - pos) as f64 / (3.0 * pos as f64)).max(1.0) as f32;
        let weights: Vec<f32> = y.iter().map(|&b| if b { w_pos } else { 1.0 }).collect();
        let Learner::Boosted { rounds, max_depth, eta, subsample, colsample, min_child_weight, lambda } = learner else { unreachable!() };
        let d = DMatrix::from_dense(&values, n, p).unwrap().with_labels(&labels).unwrap().with_weights(&weights).unwrap();
        let params = TrainingParams::builder()
            .objective(Objective::BinaryLogistic(RegLoss::default()))
            .tree_method(TreeMethod::Hist)
            .max_depth(max_depth)
            .eta(eta)
            .subsample(subsample)
            .colsample_bytree(colsample)
            .min_child_weight(min_child_weight)
            .lambda(lambda)
            .max_bin(64)
            .seed(3)
            .build()
            .unwrap();
        let model = train(&params, &d, rounds).unwrap();
        let theirs = model.predict_margin(&d, Iterations::Best).unwrap();
        for r in 0..n {
            let p = m.raw(x.row(r));
            let ours = (p / (1.0 - p)).ln();
            let t = f64::from(*theirs.get(r, 0).unwrap());
            assert!((ours - t).abs() < 1e-4, "row {r}: {ours} vs hessboost {t}");
        }
    }

    /// The walk `contributions` was before leaf paths (one row, tree by tree, a branch per
    /// level, a vector per blend member): the reference the precomputed lists must match.
    fn walked(m: &Fitted, row: ArrayView1<f64>) -> (f64, Vec<f64>) {
        match m {
            Fitted::Logistic { weights, intercept } => (*intercept, weights.iter().zip(row).map(|(w, x)| w * x).collect()),
            Fitted::Boosted { base, trees } => {
                let mut c = vec![0.0; row.len()];
                let mut b = *base;
                for t in trees {
                    b += t.nodes[0].value;
                    let mut k = 0usize;
                    while t.nodes[k].feature != LEAF {
                        let n = &t.nodes[k];
                        let next = step(n, row);
                        c[n.feature as usize] += t.nodes[next].value - n.value;
                        k = next;
                    }
                }
                (b, c)
            }
            Fitted::Blend(members) => {
                let n = members.len() as f64;
                let mut c = vec![0.0; row.len()];
                let mut b = 0.0;
                for m in members {
                    let (mb, mc) = walked(m, row);
                    b += mb / n;
                    for (ci, v) in c.iter_mut().zip(mc) {
                        *ci += v / n;
                    }
                }
                (b, c)
            }
        }
    }

    /// A random tree with children after their parents (as hessboost stores them), internal
    /// values unrelated to their leaves' (any delta must come out the same), some leaves
    /// above the deepest level.
    fn random_tree(rng: &mut impl rand::Rng, p: usize, max_depth: usize) -> Tree {
        fn grow(rng: &mut impl rand::Rng, nodes: &mut Vec<Node>, k: usize, level: usize, p: usize, max_depth: usize) {
            // Values of mixed magnitudes, so that a different order of additions would round differently.
            let value = rng.gen_range(-1.0..1.0) * 10f64.powi(rng.gen_range(-3..2));
            if level == max_depth || (level > 0 && rng.gen_bool(0.2)) {
                nodes[k] = Node { feature: LEAF, threshold: 0.0, default_left: true, left: LEAF, right: LEAF, value };
                return;
            }
            let (l, r) = (nodes.len(), nodes.len() + 1);
            nodes[k] = Node { feature: rng.gen_range(0..p) as u32, threshold: rng.gen_range(-2.0f32..2.0), default_left: rng.gen_bool(0.5), left: l as u32, right: r as u32, value };
            nodes.push(nodes[k].clone());
            nodes.push(nodes[k].clone());
            grow(rng, nodes, l, level + 1, p, max_depth);
            grow(rng, nodes, r, level + 1, p, max_depth);
        }
        let mut nodes = vec![Node { feature: LEAF, threshold: 0.0, default_left: true, left: LEAF, right: LEAF, value: 0.0 }];
        grow(rng, &mut nodes, 0, 0, p, max_depth);
        Tree { nodes }
    }

    fn random_boosted(rng: &mut impl rand::Rng, p: usize) -> Fitted {
        let depth = rng.gen_range(0..=5);
        let trees = (0..rng.gen_range(1..40)).map(|_| random_tree(rng, p, depth)).collect();
        Fitted::Boosted { base: rng.gen_range(-2.0..2.0), trees }
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Leaf paths routed in lockstep give the walk's contributions and bases bit for bit:
        /// boosted, a blend (linear and trees) and a blend within a blend, on rows with
        /// missing values, infinities and values on a threshold, any number of rows (so a
        /// partial lane), out of order and repeated; and so the single row and the importance.
        #[test]
        fn contributions_from_leaf_paths_are_the_walk_bit_for_bit(seed in proptest::prelude::any::<u64>(), p in 1usize..12, n in 1usize..300) {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let boosted = random_boosted(&mut rng, p);
            let other = random_boosted(&mut rng, p);
            let logistic = Fitted::Logistic { weights: (0..p).map(|_| rng.gen_range(-3.0..3.0)).collect(), intercept: rng.gen_range(-3.0..3.0) };
            let blend = Fitted::Blend(vec![logistic.clone(), boosted.clone(), other.clone()]);
            let nested = Fitted::Blend(vec![blend.clone(), other.clone()]);
            let Fitted::Boosted { trees, .. } = &boosted else { unreachable!() };
            let thresholds: Vec<f32> = trees.iter().flat_map(|t| t.nodes.iter().filter(|n| n.feature != LEAF).map(|n| n.threshold)).collect();
            let x = Array2::from_shape_fn((n, p), |_| match rng.gen_range(0..10) {
                0 | 1 => f64::NAN,
                2 if !thresholds.is_empty() => f64::from(thresholds[rng.gen_range(0..thresholds.len())]),
                3 => if rng.gen_bool(0.5) { 1e300 } else { f64::NEG_INFINITY },
                _ => rng.gen_range(-3.0..3.0),
            });
            let mut rows: Vec<usize> = (0..n).rev().collect();
            rows.extend((0..rng.gen_range(0..20)).map(|_| rng.gen_range(0..n)));
            for m in [&boosted, &blend, &nested] {
                let (base, c) = m.contributions_rows(&x, &rows);
                proptest::prop_assert_eq!(base.len(), rows.len());
                proptest::prop_assert_eq!(c.len(), rows.len() * p);
                for (i, &r) in rows.iter().enumerate() {
                    let (wb, wc) = walked(m, x.row(r));
                    proptest::prop_assert_eq!(base[i].to_bits(), wb.to_bits(), "base of row {}", r);
                    proptest::prop_assert_eq!(bits(&c[i * p..(i + 1) * p]), bits(&wc), "row {}", r);
                    let (sb, sc) = m.contributions(x.row(r));
                    proptest::prop_assert_eq!((sb.to_bits(), bits(&sc)), (wb.to_bits(), bits(&wc)));
                }
                let mut imp = vec![0.0; p];
                for row in x.rows() {
                    for (j, c) in walked(m, row).1.into_iter().enumerate() {
                        imp[j] += c.abs();
                    }
                }
                let imp: Vec<f64> = imp.iter().map(|v| v / n as f64).collect();
                proptest::prop_assert_eq!(bits(&m.importance(&x)), bits(&imp));
            }
        }
    }

    #[test]
    fn fitted_contributions_are_the_walk_bit_for_bit() {
        let (mut x, y) = data();
        let logistic = fit(&Learner::Logistic { alpha: 0.1 }, &x, &y, 0).unwrap();
        let boosted = fit(&Learner::boosted_default(), &x, &y, 3).unwrap();
        let regularised = fit(&Learner::boosted_regularised(), &x, &y, 3).unwrap();
        // The production blend; missing values take the stored direction.
        let blend = Fitted::Blend(vec![logistic, boosted.clone(), regularised]);
        for r in (0..x.nrows()).step_by(5) {
            x[[r, (r / 5) % 3]] = f64::NAN;
        }
        let rows: Vec<usize> = (0..x.nrows() - 3).collect();
        for m in [&boosted, &blend] {
            let (base, c) = m.contributions_rows(&x, &rows);
            for &r in &rows {
                let (wb, wc) = walked(m, x.row(r));
                assert_eq!(base[r].to_bits(), wb.to_bits(), "row {r}");
                assert_eq!(bits(&c[r * 3..r * 3 + 3]), bits(&wc), "row {r}");
            }
        }
        assert!(boosted.contributions_rows(&x, &[]).0.is_empty());
    }
}
