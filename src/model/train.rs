//! Training with honest evaluation.
//!
//! **Labels.** The latest label per entity decided before as-of wins (an upheld appeal is a
//! later benign label). Labelled violating entities are positives; labelled benign ones and
//! a deterministic sample of never-labelled entities are negatives. Unlabelled entities are
//! *presumed* benign for training only (positive–unlabelled: a few of them are undiscovered
//! violators, which biases scores down a little but does not reorder them much); they are never
//! used for evaluation, which runs on labelled entities alone.
//!
//! **Imbalance.** Positive rows are replicated until they make up about a quarter of the
//! training rows (linfa has no sample weights); metrics are PR-AUC, precision at the review
//! capacity and recall at precision 0.9, never accuracy.
//!
//! **Leakage.** Folds are forward-chaining over label time: fold `k` trains on the decisions of
//! chunks `0..k` and tests on chunk `k`. The seed-based and label-trained features of every
//! fold are recomputed with the seeds that were visible before the test chunk began, with the
//! test entities hidden, so no test entity's label (or a later one) reaches its features. The
//! final model is trained on rows whose seed-based features were computed the same way (each
//! labelled entity's features come from the fold that hid it), because that is how an
//! unlabelled entity's features look when it is scored.
//!
//! **Selection and calibration.** Candidates (logistic regression at three L2 strengths, a
//! random forest) are compared by mean out-of-fold PR-AUC; the winner's out-of-fold scores fit
//! the calibrator (isotonic when there are enough of them, Platt otherwise). The reliability
//! table comes from calibrators fitted on the other folds only.

use std::collections::BTreeMap;

use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::features::{self, graph::Seeds, Context, FeatureTable};
use crate::ingest::Window;
use crate::replay::MembershipState;
use crate::synth::mix64;

use super::calibration::{Isotonic, Platt};
use super::data::{feature_names, latest_labels_with_time, select, Columns, Prep, TimeFolds};
use super::learners::{fit, Fitted, Learner};
use super::metrics;

/// Settings of a training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Reviews per day: precision is reported in the top this many.
    pub capacity: usize,
    /// Label-time chunks (folds = chunks - 1).
    pub chunks: usize,
    pub seed: u64,
    /// Fewer labelled violating entities of a kind than this and no model is trained for it.
    pub min_positives: usize,
    /// Presumed-benign unlabelled rows per labelled row in training (capped).
    pub unlabelled_per_labelled: usize,
    pub max_unlabelled: usize,
    /// Train on the tabular features only (no graph features): the baseline that shows the
    /// lift the graph brings when both models score data they did not see.
    #[serde(default)]
    pub tabular_only: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig { capacity: 200, chunks: 5, seed: 1, min_positives: 20, unlabelled_per_labelled: 5, max_unlabelled: 20_000, tabular_only: false }
    }
}

pub fn candidates() -> Vec<Learner> {
    vec![
        Learner::Logistic { alpha: 1.0 },
        Learner::Logistic { alpha: 10.0 },
        Learner::Logistic { alpha: 100.0 },
        Learner::Forest { trees: 40, max_depth: 8, feature_proportion: 0.5 },
    ]
}

/// A calibrator from raw scores to probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Calibration {
    Platt(Platt),
    Isotonic(Isotonic),
}

impl Calibration {
    /// Isotonic needs enough out-of-fold scores to be stable; Platt's two parameters do not.
    pub fn fit(scores: &[f64], labels: &[bool]) -> Calibration {
        let pos = labels.iter().filter(|&&l| l).count();
        if scores.len() >= 500 && pos >= 50 {
            Calibration::Isotonic(Isotonic::fit(scores, labels))
        } else {
            Calibration::Platt(Platt::fit(scores, labels))
        }
    }
    pub fn apply(&self, s: f64) -> f64 {
        match self {
            Calibration::Platt(p) => p.predict(s),
            Calibration::Isotonic(i) => i.predict(s),
        }
    }
    pub fn name(&self) -> &'static str {
        match self {
            Calibration::Platt(_) => "platt",
            Calibration::Isotonic(_) => "isotonic",
        }
    }
}

/// Metric across folds: mean and 95 % interval.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Estimate {
    #[serde(with = "super::nan_as_null")]
    pub mean: f64,
    #[serde(with = "super::nan_as_null")]
    pub lo: f64,
    #[serde(with = "super::nan_as_null")]
    pub hi: f64,
    pub per_fold: Vec<Option<f64>>,
}

impl Estimate {
    fn of(per_fold: Vec<Option<f64>>) -> Estimate {
        let v: Vec<f64> = per_fold.iter().flatten().copied().collect();
        // Both metrics live in 0..1; so does their interval.
        let (mean, lo, hi) = if v.is_empty() { (f64::NAN, f64::NAN, f64::NAN) } else { metrics::mean_and_interval(&v) };
        let (lo, hi) = (lo.max(0.0), hi.min(1.0));
        Estimate { mean, lo, hi, per_fold }
    }
}

/// Out-of-fold evaluation of one candidate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CandidateEvaluation {
    pub learner: Learner,
    pub description: String,
    pub pr_auc: Estimate,
    pub roc_auc: Estimate,
    /// On the pooled out-of-fold scores.
    pub precision_at_capacity: Option<f64>,
    pub recall_at_precision_90: f64,
}

/// Evaluation of one model variant (all features, or tabular only) for one entity kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantEvaluation {
    pub features: usize,
    pub candidates: Vec<CandidateEvaluation>,
    /// Index of the winner in `candidates`.
    pub chosen: usize,
    pub calibration: String,
    pub reliability: Vec<metrics::ReliabilityBin>,
    pub brier: Option<f64>,
    pub ece: Option<f64>,
    /// Out-of-fold rows evaluated (labelled only) and positives among them.
    pub evaluated: usize,
    pub evaluated_positive: usize,
}

/// A trained model for one entity kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KindModel {
    pub entity: String,
    pub features: Vec<String>,
    pub prep: Prep,
    pub learner: Learner,
    pub fitted: Fitted,
    pub calibration: Calibration,
    /// Labels as of training: violating, benign; unlabelled rows sampled as presumed benign.
    pub labels_violating: usize,
    pub labels_benign: usize,
    pub unlabelled_sampled: usize,
    /// Features by importance in the final model, most important first.
    pub importance: Vec<(String, f64)>,
    pub evaluation: VariantEvaluation,
    /// The same pipeline without graph features: the lift the graph brings.
    pub tabular_only: Option<VariantEvaluation>,
    /// Every labelled entity's fold and out-of-fold scores (all features, chosen candidate),
    /// for evaluation outside groupwatch; not stored in model files.
    #[serde(skip)]
    pub oof: Vec<OofRow>,
}

/// One labelled entity in the cross-validation: its label-time chunk (fold `k` trains on
/// chunks before `k` and tests on chunk `k`; chunk 0 only trains) and, when tested, the
/// chosen candidate's raw out-of-fold score and that score calibrated by a calibrator fitted
/// on the other folds' out-of-fold scores.
#[derive(Debug, Clone, PartialEq)]
pub struct OofRow {
    pub entity_id: u64,
    pub chunk: u8,
    pub violating: bool,
    pub raw_score: Option<f64>,
    pub score: Option<f64>,
}

/// Why a kind has no model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Skipped {
    pub entity: String,
    pub reason: String,
    pub labels_violating: usize,
    pub labels_benign: usize,
}

/// Training output for both kinds.
pub struct Trained {
    pub group: Result<KindModel, Skipped>,
    pub account: Result<KindModel, Skipped>,
    pub label_range_ms: Option<(i64, i64)>,
}

/// Per fold, the seed-based columns each kind gets (by dense index).
struct FoldFeatures {
    group: features::graph::Columns,
    account: features::graph::Columns,
}

/// Row subset of a table with the fold's seed-based columns appended.
fn fold_table(w: &Window, base: &FeatureTable, rows: &[usize], entity: &str, seeded: &features::graph::Columns) -> FeatureTable {
    let mut t = FeatureTable {
        key: base.key,
        ids: rows.iter().map(|&r| base.ids[r]).collect(),
        rows: rows.iter().map(|&r| base.rows[r]).collect(),
        columns: base
            .columns
            .iter()
            .map(|c| features::FeatureColumn::new(c.name, rows.iter().map(|&r| c.get(r))))
            .collect(),
        unavailable: base.unavailable.clone(),
    };
    features::append(w, &mut t, entity, seeded.clone());
    t
}

/// Trains the group and account models on the window's labels.
pub fn train(w: &Window, st: &MembershipState, ctx: &Context, cfg: &TrainConfig) -> Trained {
    let (acc_labels, grp_labels) = latest_labels_with_time(w, w.now_ms);
    let folds = TimeFolds::new(&acc_labels, &grp_labels, cfg.chunks);
    let label_range_ms = {
        let ts: Vec<i64> = acc_labels.iter().chain(&grp_labels).flatten().map(|l| l.1).collect();
        ts.iter().min().zip(ts.iter().max()).map(|(a, b)| (*a, *b))
    };
    // Kinds with too few labels are skipped before any fold is computed.
    let enough = |v: &[Option<(bool, i64)>]| {
        let pos = v.iter().flatten().filter(|l| l.0).count();
        pos >= cfg.min_positives && v.iter().flatten().any(|l| !l.0)
    };
    if !enough(&acc_labels) && !enough(&grp_labels) {
        let skip = |entity: &str, v: &[Option<(bool, i64)>]| {
            let pos = v.iter().flatten().filter(|l| l.0).count();
            let neg = v.iter().flatten().count() - pos;
            Err(Skipped {
                entity: entity.into(),
                reason: format!("{pos} violating and {neg} benign {entity} labels; training needs at least {} violating and 1 benign", cfg.min_positives),
                labels_violating: pos,
                labels_benign: neg,
            })
        };
        return Trained { group: skip("group", &grp_labels), account: skip("account", &acc_labels), label_range_ms };
    }
    let clock = std::time::Instant::now();
    let (gtab, atab) = features::tabular(w, st, ctx);
    tracing::debug!(seconds = clock.elapsed().as_secs_f64(), "training: tabular features");

    // Seed-based columns: per test chunk k (1..chunks) with chunks k.. hidden and the cutoff at
    // chunk k's start; for chunk 0 with chunk 0 hidden and every other label visible; and with
    // everything visible (how unlabelled entities are scored).
    let seeded_for = |cutoff: i64, hidden: (Vec<u32>, Vec<u32>)| {
        let seeds = Seeds::visible(w, ctx, cutoff, &hidden.0, &hidden.1);
        let (group, account) = features::seeded(w, st, ctx, &seeds);
        FoldFeatures { group, account }
    };
    // Everything visible first: the feature stage usually asked for that label set already,
    // and its text scores are still cached.
    let all_visible = seeded_for(w.now_ms, (Vec::new(), Vec::new()));
    let mut per_chunk: Vec<FoldFeatures> = Vec::new();
    for k in 0..cfg.chunks {
        let clock = std::time::Instant::now();
        per_chunk.push(if k == 0 {
            seeded_for(w.now_ms, folds.chunk(0))
        } else {
            seeded_for(folds.chunk_start_ms[k], folds.hidden_from(k))
        });
        tracing::debug!(chunk = k, seconds = clock.elapsed().as_secs_f64(), "training: seed-based features");
    }

    let group = train_kind(w, "group", &gtab, &grp_labels, &folds.group_chunk, &per_chunk, &all_visible, cfg);
    let account = train_kind(w, "account", &atab, &acc_labels, &folds.account_chunk, &per_chunk, &all_visible, cfg);
    Trained { group, account, label_range_ms }
}

fn pick<'a>(f: &'a FoldFeatures, entity: &str) -> &'a features::graph::Columns {
    if entity == "group" {
        &f.group
    } else {
        &f.account
    }
}

#[allow(clippy::too_many_arguments)]
fn train_kind(
    w: &Window,
    entity: &str,
    table: &FeatureTable,
    labels: &[Option<(bool, i64)>],
    chunk_of: &[Option<u8>],
    per_chunk: &[FoldFeatures],
    all_visible: &FoldFeatures,
    cfg: &TrainConfig,
) -> Result<KindModel, Skipped> {
    // Table rows by role.
    let label_of = |r: usize| labels[table.rows[r] as usize].map(|l| l.0);
    let chunk = |r: usize| chunk_of[table.rows[r] as usize];
    let labelled: Vec<usize> = (0..table.rows.len()).filter(|&r| label_of(r).is_some()).collect();
    let violating = labelled.iter().filter(|&&r| label_of(r) == Some(true)).count();
    let benign = labelled.len() - violating;
    if violating < cfg.min_positives || benign == 0 {
        return Err(Skipped {
            entity: entity.into(),
            reason: format!(
                "{violating} violating and {benign} benign {entity} labels; training needs at least {} violating and 1 benign",
                cfg.min_positives
            ),
            labels_violating: violating,
            labels_benign: benign,
        });
    }
    // Presumed-benign sample of never-labelled rows, by a hash of the id (stable across runs).
    let mut unlabelled: Vec<(u64, usize)> =
        (0..table.rows.len()).filter(|&r| label_of(r).is_none()).map(|r| (mix64(table.ids[r] ^ cfg.seed), r)).collect();
    unlabelled.sort_unstable();
    unlabelled.truncate((labelled.len() * cfg.unlabelled_per_labelled).clamp(2_000, cfg.max_unlabelled.max(2_000)));
    let mut unlabelled: Vec<usize> = unlabelled.into_iter().map(|e| e.1).collect();
    unlabelled.sort_unstable();

    let full = feature_names(table, false).into_iter().filter(|n| !table.unavailable.contains(&n.as_str())).collect::<Vec<_>>();
    // Seeded feature names come from the fold columns: find them on a one-row fold table.
    let probe = fold_table(w, table, &labelled[..1], entity, pick(all_visible, entity));
    let mut names: Vec<String> = full;
    for c in &probe.columns {
        if !names.iter().any(|n| n == c.name) && !probe.unavailable.contains(&c.name) {
            names.push(c.name.to_string());
        }
    }
    let graph = features::graph_feature_names(entity);
    let tabular: Vec<String> = names.iter().filter(|n| !graph.contains(&n.as_str())).cloned().collect();
    if cfg.tabular_only {
        names.clone_from(&tabular);
    }

    // Columns of the rows each fold trains and tests on, and of the final training rows.
    let fold_cols = |rows: &[usize], seeded: &features::graph::Columns, names: &[String]| -> Columns {
        select(&fold_table(w, table, rows, entity, seeded), names).expect("fold tables hold every feature")
    };
    // Per fold k: training rows (labelled in chunks < k, plus the unlabelled sample) with the
    // fold's features, and its test rows (chunk k).
    let evaluate = |names: &[String]| -> (VariantEvaluation, Vec<(usize, f64, bool, usize)>) {
        let folds: Vec<usize> = (1..cfg.chunks).collect();
        let cands = candidates();
        // results[fold][candidate] = test scores
        let per_fold: Vec<(Vec<usize>, Vec<Vec<f64>>)> = folds
            .par_iter()
            .map(|&k| {
                let seeded = pick(&per_chunk[k], entity);
                let mut train_rows: Vec<usize> = labelled.iter().copied().filter(|&r| chunk(r).is_some_and(|c| (c as usize) < k)).collect();
                train_rows.extend(&unlabelled);
                let test_rows: Vec<usize> = labelled.iter().copied().filter(|&r| chunk(r) == Some(k as u8)).collect();
                let y: Vec<bool> = train_rows.iter().map(|&r| label_of(r) == Some(true)).collect();
                if !y.iter().any(|&b| b) || test_rows.is_empty() {
                    return (test_rows, Vec::new());
                }
                let tr = fold_cols(&train_rows, seeded, names);
                let te = fold_cols(&test_rows, seeded, names);
                let all: Vec<usize> = (0..tr.rows()).collect();
                let prep = Prep::fit(&tr, &all);
                let (x, y) = balanced(prep.matrix(&tr, &all), &y);
                let xt = prep.matrix(&te, &(0..te.rows()).collect::<Vec<_>>());
                let scores = cands
                    .iter()
                    .map(|c| match fit(c, &x, &y, cfg.seed ^ k as u64) {
                        Ok(m) => xt.rows().into_iter().map(|row| m.raw(row)).collect(),
                        Err(e) => {
                            tracing::warn!(entity, fold = k, error = %e, "candidate failed to fit");
                            vec![f64::NAN; xt.nrows()]
                        }
                    })
                    .collect();
                (test_rows, scores)
            })
            .collect();
        let mut evals = Vec::new();
        for (ci, c) in cands.iter().enumerate() {
            let (mut pr, mut roc) = (Vec::new(), Vec::new());
            let (mut pooled_s, mut pooled_y) = (Vec::new(), Vec::new());
            for (rows, scores) in &per_fold {
                if scores.is_empty() {
                    pr.push(None);
                    roc.push(None);
                    continue;
                }
                let s = &scores[ci];
                let y: Vec<bool> = rows.iter().map(|&r| label_of(r) == Some(true)).collect();
                let ok = s.iter().all(|v| v.is_finite());
                pr.push(ok.then(|| metrics::average_precision(s, &y)).flatten());
                roc.push(ok.then(|| metrics::roc_auc(s, &y)).flatten());
                pooled_s.extend(s.iter().map(|v| if v.is_finite() { *v } else { 0.0 }));
                pooled_y.extend(y);
            }
            evals.push(CandidateEvaluation {
                learner: c.clone(),
                description: c.describe(),
                pr_auc: Estimate::of(pr),
                roc_auc: Estimate::of(roc),
                precision_at_capacity: metrics::precision_at_k(&pooled_s, &pooled_y, cfg.capacity.min(pooled_s.len())),
                recall_at_precision_90: metrics::recall_at_precision(&pooled_s, &pooled_y, 0.9),
            });
        }
        let chosen = (0..evals.len())
            .max_by(|&a, &b| {
                let (x, y) = (evals[a].pr_auc.mean, evals[b].pr_auc.mean);
                x.partial_cmp(&y).unwrap_or_else(|| x.is_nan().cmp(&y.is_nan()).reverse()).then(b.cmp(&a))
            })
            .unwrap_or(0);
        // Out-of-fold scores of the winner: (row, score, label, fold).
        let mut oof = Vec::new();
        for (fi, (rows, scores)) in per_fold.iter().enumerate() {
            if let Some(s) = scores.get(chosen) {
                for (&r, &v) in rows.iter().zip(s) {
                    oof.push((r, if v.is_finite() { v } else { 0.0 }, label_of(r) == Some(true), fi));
                }
            }
        }
        // Reliability from calibrators fitted on the other folds.
        let (probs, ys): (Vec<f64>, Vec<bool>) =
            oof.iter().zip(calibrated_by_other_folds(&oof)).filter_map(|(o, p)| p.map(|p| (p, o.2))).unzip();
        let (s, y): (Vec<f64>, Vec<bool>) = oof.iter().map(|o| (o.1, o.2)).unzip();
        let eval = VariantEvaluation {
            features: names.len(),
            candidates: evals,
            chosen,
            calibration: Calibration::fit(&s, &y).name().into(),
            reliability: metrics::reliability_table(&probs, &ys, 10),
            brier: metrics::brier_score(&probs, &ys),
            ece: metrics::ece(&probs, &ys, 10),
            evaluated: y.len(),
            evaluated_positive: y.iter().filter(|&&b| b).count(),
        };
        (eval, oof)
    };

    let clock = std::time::Instant::now();
    let (evaluation, oof) = evaluate(&names);
    let tabular_only = (tabular.len() < names.len()).then(|| evaluate(&tabular).0);
    tracing::debug!(entity, seconds = clock.elapsed().as_secs_f64(), "training: cross-validation");

    // Final model: labelled rows with the features of the chunk that hid them, unlabelled
    // rows with everything visible.
    let mut parts: Vec<Columns> = Vec::new();
    let mut y: Vec<bool> = Vec::new();
    let mut final_rows: Vec<usize> = Vec::new();
    for k in 0..cfg.chunks {
        let rows: Vec<usize> = labelled.iter().copied().filter(|&r| chunk(r) == Some(k as u8)).collect();
        if !rows.is_empty() {
            parts.push(fold_cols(&rows, pick(&per_chunk[k], entity), &names));
            y.extend(rows.iter().map(|&r| label_of(r) == Some(true)));
            final_rows.extend(&rows);
        }
    }
    parts.push(fold_cols(&unlabelled, pick(all_visible, entity), &names));
    y.extend(std::iter::repeat_n(false, unlabelled.len()));
    final_rows.extend(&unlabelled);
    let cols = Columns {
        names: names.clone(),
        values: (0..names.len()).map(|j| parts.iter().flat_map(|p| p.values[j].iter().copied()).collect()).collect(),
    };
    let all: Vec<usize> = (0..cols.rows()).collect();
    let prep = Prep::fit(&cols, &all);
    let x = prep.matrix(&cols, &all);
    let learner = evaluation.candidates[evaluation.chosen].learner.clone();
    let (xb, yb) = balanced(x.clone(), &y);
    let fitted = fit(&learner, &xb, &yb, cfg.seed).map_err(|e| Skipped {
        entity: entity.into(),
        reason: format!("final fit failed: {e}"),
        labels_violating: violating,
        labels_benign: benign,
    })?;
    // Calibration needs scores on the scale of *this* learner on *these* features (the time
    // folds' models saw fewer seeds and fewer rows, so their scores run lower): cross-fitted
    // scores of the chosen learner over the final rows, 5 folds by id hash.
    let cf = |i: usize| (mix64(table.ids[final_rows[i]] ^ 0xca1b) % 5) as usize;
    let raw_cf: Vec<Vec<(usize, f64)>> = (0..5)
        .into_par_iter()
        .map(|j| {
            let tr: Vec<usize> = (0..final_rows.len()).filter(|&i| cf(i) != j).collect();
            let te: Vec<usize> = (0..final_rows.len()).filter(|&i| cf(i) == j).collect();
            let ytr: Vec<bool> = tr.iter().map(|&i| y[i]).collect();
            let (xb, yb) = balanced(x.select(ndarray::Axis(0), &tr), &ytr);
            match fit(&learner, &xb, &yb, cfg.seed ^ 0xca1b ^ j as u64) {
                Ok(m) => te.iter().map(|&i| (i, m.raw(x.row(i)))).collect(),
                Err(_) => Vec::new(),
            }
        })
        .collect();
    // Calibrated on labelled rows only: the probability means "a reviewer would confirm it",
    // as past decisions estimate it. The reliability table uses calibrators fitted on the
    // other cross-fit folds.
    let yref = &y;
    let lab: Vec<(usize, f64, bool)> = raw_cf
        .iter()
        .enumerate()
        .flat_map(|(j, v)| v.iter().filter(|(i, _)| label_of(final_rows[*i]).is_some()).map(move |&(i, s)| (j, s, yref[i])))
        .collect();
    let (s, l): (Vec<f64>, Vec<bool>) = lab.iter().map(|o| (o.1, o.2)).unzip();
    let calibration = if l.iter().any(|&b| b) && !l.iter().all(|&b| b) {
        Calibration::fit(&s, &l)
    } else {
        let raw: Vec<f64> = x.rows().into_iter().map(|r| fitted.raw(r)).collect();
        Calibration::fit(&raw, &y)
    };
    let mut evaluation = evaluation;
    {
        let (mut probs, mut ys) = (Vec::new(), Vec::new());
        for j in 0..5 {
            let (os, ol): (Vec<f64>, Vec<bool>) = lab.iter().filter(|o| o.0 != j).map(|o| (o.1, o.2)).unzip();
            if !ol.iter().any(|&b| b) || ol.iter().all(|&b| b) {
                continue;
            }
            let cal = Calibration::fit(&os, &ol);
            for o in lab.iter().filter(|o| o.0 == j) {
                probs.push(cal.apply(o.1));
                ys.push(o.2);
            }
        }
        evaluation.calibration = calibration.name().into();
        evaluation.reliability = metrics::reliability_table(&probs, &ys, 10);
        evaluation.brier = metrics::brier_score(&probs, &ys);
        evaluation.ece = metrics::ece(&probs, &ys, 10);
    }
    let mut oof_rows: Vec<OofRow> = labelled
        .iter()
        .map(|&r| OofRow { entity_id: table.ids[r], chunk: chunk(r).expect("labelled rows have a chunk"), violating: label_of(r) == Some(true), raw_score: None, score: None })
        .collect();
    for (o, p) in oof.iter().zip(calibrated_by_other_folds(&oof)) {
        let i = labelled.binary_search(&o.0).expect("out-of-fold rows are labelled");
        oof_rows[i].raw_score = Some(o.1);
        oof_rows[i].score = p;
    }
    let mut importance: Vec<(String, f64)> = names.iter().cloned().zip(fitted.importance(&x)).collect();
    importance.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(KindModel {
        entity: entity.into(),
        features: names,
        prep,
        learner,
        fitted,
        calibration,
        labels_violating: violating,
        labels_benign: benign,
        unlabelled_sampled: unlabelled.len(),
        importance,
        evaluation,
        tabular_only,
        oof: oof_rows,
    })
}

/// For each out-of-fold entry `(row, score, label, fold)`, its score calibrated by a
/// calibrator fitted on the other folds' entries; None when those lack a class.
fn calibrated_by_other_folds(oof: &[(usize, f64, bool, usize)]) -> Vec<Option<f64>> {
    let mut folds: Vec<usize> = oof.iter().map(|o| o.3).collect();
    folds.sort_unstable();
    folds.dedup();
    let mut out = vec![None; oof.len()];
    for fi in folds {
        let (s, y): (Vec<f64>, Vec<bool>) = oof.iter().filter(|o| o.3 != fi).map(|o| (o.1, o.2)).unzip();
        if !y.iter().any(|&b| b) || y.iter().all(|&b| b) {
            continue;
        }
        let cal = Calibration::fit(&s, &y);
        for (slot, o) in out.iter_mut().zip(oof).filter(|(_, o)| o.3 == fi) {
            *slot = Some(cal.apply(o.1));
        }
    }
    out
}

/// Replicates positive rows until they are about a quarter of the rows.
fn balanced(x: Array2<f64>, y: &[bool]) -> (Array2<f64>, Vec<bool>) {
    let pos: Vec<usize> = (0..y.len()).filter(|&i| y[i]).collect();
    let neg = y.len() - pos.len();
    if pos.is_empty() {
        return (x, y.to_vec());
    }
    let copies = (neg / (3 * pos.len())).clamp(1, 50);
    if copies == 1 {
        return (x, y.to_vec());
    }
    let extra: Vec<usize> = pos.iter().flat_map(|&i| std::iter::repeat_n(i, copies - 1)).collect();
    let mut rows: Vec<usize> = (0..y.len()).collect();
    rows.extend(&extra);
    let xb = x.select(ndarray::Axis(0), &rows);
    let yb = rows.iter().map(|&i| y[i]).collect();
    (xb, yb)
}

/// Label counts by kind, for reports.
pub fn label_counts(w: &Window) -> BTreeMap<String, (usize, usize)> {
    let (a, g) = latest_labels_with_time(w, w.now_ms);
    let count = |v: &[Option<(bool, i64)>]| (v.iter().flatten().filter(|l| l.0).count(), v.iter().flatten().filter(|l| !l.0).count());
    BTreeMap::from([("account".to_string(), count(&a)), ("group".to_string(), count(&g))])
}
