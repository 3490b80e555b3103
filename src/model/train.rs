//! Training and scoring with honest cross-fitting, in two stages.
//!
//! **Folds.** Every entity belongs to one of [`FOLDS`](crate::features::FOLDS) folds by a
//! hash of its id ([`crate::features::fold_of`]), stable across nights. Everything learned
//! from labels is computed once per fold with that fold's labels hidden (a *pass*): the
//! seed-based features of the fold's entities (propagation, neighbourhood of known
//! violators, text scores), the first-stage scores their network features read, and the
//! models that score them. So no entity is ever scored by a model fitted on it, no feature of
//! an entity is computed from its own label, and — the trap of training on one feature
//! definition and scoring on another — every row a model is trained on and every row it
//! scores has its seed-based features computed the same way: with its own fold hidden.
//!
//! **Labels, positive–unlabelled.** The latest label per entity decided before as-of wins (an
//! upheld appeal is a later benign label). Models learn *labelled violating* against
//! *everything else* (labelled benign and unlabelled entities alike): the non-traditional
//! classifier of Elkan & Noto (2008). When labelled violators are a random sample of all
//! violators its score is proportional to the probability of violating, whatever the
//! prevalence among the unlabelled — unlike a model that takes a sample of unlabelled rows as
//! known benign, which learns that closeness to known violators is benign when the
//! unlabelled rows near them are violators too. The constant is the *label frequency*
//! `c = P(labelled | violating)`, estimated as the mean calibrated score of the labelled
//! violators (Elkan & Noto's e1); probabilities are the calibrated score over `c`, so the
//! estimated share of violators among the unlabelled is reported with every model. Benign
//! labels are not needed to train; they enter the evaluation beside the PU figures.
//!
//! **Labels, when they cover the population** ([`Negatives`]). Where a tenth or more of a
//! kind's entities carry a label and benign labels are at least half as many as violating
//! ones, the labels come from reviewing a broad sample, not a handful of suspects: the benign
//! labels stand for the negatives, while the unlabelled hold violators at the population's
//! prevalence (half of them in the detection issue's real data). Learning against the
//! unlabelled there is learning label noise, so models learn labelled violating against
//! labelled benign only, and the Platt map is fitted on labelled entities (label frequency
//! 1); the candidates are judged on labelled entities too. On the group-level Reddit data
//! (40 % of subreddits labelled, half violating) held-out group PR-AUC rose from 0.603 to
//! 0.633 (benches/RESULTS.md). With sparse labels — every synthetic platform: about 1 % of
//! groups, mostly from networks someone reported — the benign labels are a few reviewed
//! look-alikes, and the rule above holds.
//!
//! **Two stages.** The first stage scores every entity from its label-free features
//! (behaviour and structure, [`crate::features::tabular`]). The second stage adds the
//! seed-based features and the [network features](crate::features::network), which read the
//! first-stage scores of the entity's neighbours, members and groups: a learned score
//! smoothing that lifts the quiet groups of a loud network and leaves a loud group tied to
//! nothing suspicious alone. In pass `k` the first-stage scores come from the fold-`k` models,
//! which never saw fold `k`'s labels.
//!
//! **Imbalance and size.** Negatives beyond `max_negatives` per fit are sampled by id hash;
//! positives are weighted (or, for the linear model, replicated) to about a quarter of the
//! training weight. Metrics are PR-AUC, precision at the review capacity and recall at
//! precision 0.9, never accuracy.
//!
//! **Selection and calibration.** Candidates are compared by the mean per-fold PR-AUC of their
//! out-of-fold scores (labelled violating against everything else; against labelled benign
//! under the benign-label regime, where half of "everything else" may be violating). The
//! winner's out-of-fold scores fit a Platt map on their log-odds (strictly monotone, so the
//! ranking keeps every distinction the model makes), divided by the label frequency.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::features::{self, fold_of, FeatureTable, FOLDS};
use crate::schema::EntityKind;
use crate::units::mix64;

use super::calibration::Platt;
use super::data::{select, Columns, Prep};
use super::learners::{blend_raw, fit, Fitted, Learner};
use super::metrics;

/// Settings of a training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Reviews per day: precision is reported in the top this many.
    pub capacity: usize,
    pub seed: u64,
    /// Fewer labelled violating entities of a kind than this and no model is trained for it.
    pub min_positives: usize,
    /// Negative (not labelled violating) rows per fit; more are sampled by id hash. 25,000 is
    /// dozens of negatives per labelled violator even at a million accounts (a few hundred
    /// labelled): on the 1M datasets it ranks as well as 100,000 did or better, at a quarter
    /// of the fitting cost (benches/RESULTS.md).
    pub max_negatives: usize,
    /// Train on the tabular features only (no graph features): the baseline that shows the
    /// lift the graph brings.
    #[serde(default)]
    pub tabular_only: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig { capacity: 200, seed: 1, min_positives: 20, max_negatives: 25_000, tabular_only: false }
    }
}

/// The second stage's candidates.
pub fn candidates() -> Vec<Learner> {
    vec![Learner::Logistic { alpha: 10.0 }, Learner::boosted_default(), Learner::boosted_regularised()]
}

/// The first stage's learner: label-free features only, so one flexible learner.
pub fn first_stage_learner() -> Learner {
    Learner::boosted_default()
}

/// What a model learns labelled violators against (module docs: the two label regimes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Negatives {
    /// Everything not labelled violating, labelled benign or not (positive–unlabelled).
    #[default]
    Unlabelled,
    /// Labelled benign entities only: the labels cover the population.
    LabelledBenign,
}

/// Share of a kind's entities that must carry a label for [`Negatives::LabelledBenign`].
pub const LABELLED_COVERAGE: f64 = 0.1;

impl Negatives {
    /// The regime for one kind's labels (one per row, `None` = unlabelled).
    pub fn for_labels(labels: &[Option<bool>]) -> Negatives {
        let benign = labels.iter().filter(|l| **l == Some(false)).count();
        let violating = labels.iter().filter(|l| **l == Some(true)).count();
        if 2 * benign >= violating && (benign + violating) as f64 >= LABELLED_COVERAGE * labels.len() as f64 {
            Negatives::LabelledBenign
        } else {
            Negatives::Unlabelled
        }
    }

    /// Whether a row with this label, not labelled violating, may be a training negative.
    fn admits(self, label: Option<bool>) -> bool {
        match self {
            Negatives::Unlabelled => true,
            Negatives::LabelledBenign => label == Some(false),
        }
    }
}

/// Raw scores to probabilities: a Platt map on the log-odds of the raw score, fitted to
/// "labelled violating" on out-of-fold scores, over the label frequency `c`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub platt: Platt,
    /// Estimated `P(labelled | violating)`; 1 means every violator is labelled.
    pub label_frequency: f64,
    /// The rows the map was fitted on: every entity, or labelled ones only (label
    /// frequency 1).
    #[serde(default)]
    pub negatives: Negatives,
}

/// Calibrated probabilities above this are compressed towards 1 rather than clipped, so the
/// highest scores keep their order.
const COMPRESS_ABOVE: f64 = 0.95;

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).ln()
}

impl Calibration {
    /// Fits on out-of-fold raw scores and the "labelled violating" target.
    pub fn fit(raw: &[f64], target: &[bool]) -> Calibration {
        let z: Vec<f64> = raw.iter().map(|&r| logit(r)).collect();
        let platt = Platt::fit(&z, target);
        let pos: Vec<f64> = z.iter().zip(target).filter(|(_, &t)| t).map(|(&z, _)| platt.predict(z)).collect();
        let c = if pos.is_empty() { 1.0 } else { (pos.iter().sum::<f64>() / pos.len() as f64).clamp(1e-6, 1.0) };
        Calibration { platt, label_frequency: c, negatives: Negatives::Unlabelled }
    }

    /// Fits as `negatives` says: [`Calibration::fit`], or the labelled rows alone (violating
    /// against benign) with label frequency 1.
    pub fn fit_for(raw: &[f64], target: &[bool], labels: &[Option<bool>], negatives: Negatives) -> Calibration {
        match negatives {
            Negatives::Unlabelled => Calibration::fit(raw, target),
            Negatives::LabelledBenign => {
                let (z, y): (Vec<f64>, Vec<bool>) = raw.iter().zip(labels).filter_map(|(&r, l)| Some((logit(r), (*l)?))).unzip();
                Calibration { platt: Platt::fit(&z, &y), label_frequency: 1.0, negatives }
            }
        }
    }

    /// `P(labelled violating | raw)`.
    pub fn labelled_probability(&self, raw: f64) -> f64 {
        self.platt.predict(logit(raw))
    }

    /// `P(violating | raw)`: the labelled probability over the label frequency, compressed
    /// smoothly above [`COMPRESS_ABOVE`] (strictly increasing, below 1).
    pub fn apply(&self, raw: f64) -> f64 {
        let t = self.labelled_probability(raw) / self.label_frequency;
        if t <= COMPRESS_ABOVE {
            t
        } else {
            let d = 1.0 - COMPRESS_ABOVE;
            1.0 - d / (1.0 + (t - COMPRESS_ABOVE) / d)
        }
    }

    pub fn name(&self) -> &'static str {
        match self.negatives {
            Negatives::Unlabelled => "platt on log-odds, positive-unlabelled",
            Negatives::LabelledBenign => "platt on log-odds, labelled entities only (models learn violating against benign labels)",
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
        let (mean, lo, hi) = if v.is_empty() { (f64::NAN, f64::NAN, f64::NAN) } else { metrics::mean_and_interval(&v) };
        Estimate { mean, lo: lo.max(0.0), hi: hi.min(1.0), per_fold }
    }
}

/// Out-of-fold evaluation of one candidate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CandidateEvaluation {
    pub learner: Learner,
    pub description: String,
    /// Labelled violating against everything else, per fold (against labelled benign only
    /// under [`Negatives::LabelledBenign`], as `roc_auc` and `new_network_pr_auc`).
    pub pr_auc: Estimate,
    pub roc_auc: Estimate,
    /// Labelled violating against labelled benign only (pooled), when both exist.
    pub labelled_pr_auc: Option<f64>,
    /// As `pr_auc`, every row scored as if its network had never been labelled (its
    /// community's labels hidden from its seed-based features): how the candidate finds a
    /// network nobody has labelled yet. Training runs with graph features only.
    #[serde(default)]
    pub new_network_pr_auc: Option<Estimate>,
    /// Share of labelled violators in the top `capacity` of the pooled out-of-fold scores: a
    /// lower bound on precision (an unlabelled violator there counts as a miss).
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
    /// Calibrated out-of-fold probabilities against the labels, on labelled entities.
    pub reliability: Vec<metrics::ReliabilityBin>,
    pub brier: Option<f64>,
    pub ece: Option<f64>,
    /// Rows evaluated and labelled violating among them.
    pub evaluated: usize,
    pub evaluated_positive: usize,
}

/// One stage of one kind: a model per fold over the same features and preprocessing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageModel {
    pub features: Vec<String>,
    pub prep: Prep,
    pub learner: Learner,
    /// `folds[k]` was fitted without fold `k` and scores it.
    pub folds: Vec<Fitted>,
}

/// A trained model for one entity kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KindModel {
    pub entity: EntityKind,
    /// Label-free features; its scores feed the second stage's network features. Absent
    /// for a tabular-only model.
    pub first: Option<StageModel>,
    pub second: StageModel,
    pub calibration: Calibration,
    /// Labels as of training.
    pub labels_violating: usize,
    pub labels_benign: usize,
    /// Entities without a label (treated as unlabelled, not as benign).
    pub unlabelled: usize,
    /// Estimated share of violators among the unlabelled entities.
    pub estimated_prevalence: f64,
    /// Second-stage features by importance, most important first.
    pub importance: Vec<(String, f64)>,
    pub evaluation: VariantEvaluation,
    /// The first stage's out-of-fold figures (the label-free tabular features, no graph or
    /// seed-based feature), calibrated as the second stage's: the lift the graph brings.
    pub tabular_only: Option<VariantEvaluation>,
    /// Every labelled entity's fold and out-of-fold scores, for evaluation outside
    /// groupwatch; not stored in model files.
    #[serde(skip)]
    pub oof: Vec<OofRow>,
}

impl KindModel {
    /// The features the model reads: the second stage's (which include the first stage's).
    pub fn features(&self) -> &[String] {
        &self.second.features
    }
}

/// One labelled entity's fold and out-of-fold scores (raw and calibrated).
#[derive(Debug, Clone, PartialEq)]
pub struct OofRow {
    pub entity_id: u64,
    pub fold: u8,
    pub violating: bool,
    pub raw_score: f64,
    pub score: f64,
}

/// Why a kind has no model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Skipped {
    pub entity: EntityKind,
    pub reason: String,
    pub labels_violating: usize,
    pub labels_benign: usize,
}

/// Each table row's fold.
pub fn row_folds(table: &FeatureTable) -> Vec<u8> {
    table.ids.iter().map(|&id| fold_of(id)).collect()
}

/// The label of each table row (from labels by dense index).
pub fn row_labels(table: &FeatureTable, labels: &[Option<bool>]) -> Vec<Option<bool>> {
    table.rows.iter().map(|&i| labels[i as usize]).collect()
}

/// Why a kind cannot be trained, if it cannot.
pub fn check_labels(entity: EntityKind, labels: &[Option<bool>], cfg: &TrainConfig) -> Result<(), Skipped> {
    let violating = labels.iter().filter(|l| **l == Some(true)).count();
    let benign = labels.iter().filter(|l| **l == Some(false)).count();
    if violating < cfg.min_positives {
        return Err(Skipped {
            entity,
            reason: format!("{violating} violating {entity} labels; training needs at least {}", cfg.min_positives),
            labels_violating: violating,
            labels_benign: benign,
        });
    }
    Ok(())
}

/// Design matrix of a stage: the preprocessing fitted on every row (it uses no label) and
/// the transformed rows.
pub struct Design {
    pub names: Vec<String>,
    pub prep: Prep,
    pub x: ndarray::Array2<f64>,
    /// Training only: the same rows as if their network had never been labelled (seed-based
    /// features with the row's whole community hidden; only those columns are stored). Each
    /// fold's model trains on both, so it learns to recognise a network none of whose members
    /// is known, as well as one whose members are (see [`crate::model::crossfit`]).
    pub unlabelled_network: Option<NetworkHidden>,
}

/// The columns in which a design's copy "as if the network had never been labelled" differs
/// from the design, and only those: a full copy of the matrix would be 2.5 GB at 10M
/// accounts, and every other column is the design's own.
pub struct NetworkHidden {
    /// The design column of each stored column.
    pub columns: Vec<usize>,
    /// Rows × `columns`, transformed as the design's.
    pub x: ndarray::Array2<f64>,
}

impl NetworkHidden {
    /// Rows `rows` of the copy: the design's rows with the stored columns in place.
    fn rows(&self, x: &ndarray::Array2<f64>, rows: &[usize]) -> ndarray::Array2<f64> {
        let mut out = x.select(ndarray::Axis(0), rows);
        for (i, &r) in rows.iter().enumerate() {
            for (c, &j) in self.columns.iter().enumerate() {
                out[[i, j]] = self.x[[r, c]];
            }
        }
        out
    }

    /// Out-of-fold raw scores of the copy's rows, one fold's rows built at a time.
    fn out_of_fold(&self, models: &[Fitted], x: &ndarray::Array2<f64>, fold: &[u8]) -> Vec<f64> {
        by_fold(models, x.nrows(), fold, |m, rows| {
            let all: Vec<usize> = (0..rows.len()).collect();
            m.raw_rows(&self.rows(x, rows), &all)
        })
    }
}

impl Design {
    pub fn fit(cols: &Columns) -> Design {
        let all: Vec<usize> = (0..cols.rows()).collect();
        let prep = Prep::fit(cols, &all);
        let x = prep.matrix(cols, &all);
        Design { names: cols.names.clone(), prep, x, unlabelled_network: None }
    }

    /// With a stored preprocessing (scoring with a model file).
    pub fn with_prep(cols: &Columns, prep: &Prep) -> Design {
        let all: Vec<usize> = (0..cols.rows()).collect();
        Design { names: cols.names.clone(), prep: prep.clone(), x: prep.matrix(cols, &all), unlabelled_network: None }
    }
}

/// Training rows of fold `k`'s model: every row outside fold `k` that is labelled violating,
/// and the others that `negatives` admits up to `max_negatives`, sampled by id hash
/// (deterministic).
#[allow(clippy::too_many_arguments)]
fn training_rows(ids: &[u64], fold: &[u8], target: &[bool], labels: &[Option<bool>], negatives: Negatives, k: u8, max_negatives: usize, seed: u64) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..ids.len()).filter(|&r| fold[r] != k && target[r]).collect();
    let mut neg: Vec<(u64, usize)> =
        (0..ids.len()).filter(|&r| fold[r] != k && !target[r] && negatives.admits(labels[r])).map(|r| (mix64(ids[r] ^ seed ^ 0x6e67), r)).collect();
    if neg.len() > max_negatives {
        neg.select_nth_unstable(max_negatives);
        neg.truncate(max_negatives);
    }
    rows.extend(neg.into_iter().map(|e| e.1));
    rows.sort_unstable();
    rows
}

/// Fits one model per fold (in parallel); `None` for a fold whose training rows hold no
/// positive.
#[allow(clippy::too_many_arguments)]
pub fn fit_folds(learner: &Learner, d: &Design, ids: &[u64], fold: &[u8], target: &[bool], labels: &[Option<bool>], negatives: Negatives, cfg: &TrainConfig) -> Result<Vec<Fitted>, String> {
    (0..FOLDS)
        .into_par_iter()
        .map(|k| {
            let rows = training_rows(ids, fold, target, labels, negatives, k, cfg.max_negatives, cfg.seed);
            let y: Vec<bool> = rows.iter().map(|&r| target[r]).collect();
            if !y.iter().any(|&b| b) {
                return Err(format!("fold {k} has no labelled violating entity to train on"));
            }
            let x = d.x.select(ndarray::Axis(0), &rows);
            match &d.unlabelled_network {
                None => fit(learner, &x, &y, cfg.seed ^ u64::from(k)),
                Some(aug) => {
                    let both = ndarray::concatenate(ndarray::Axis(0), &[x.view(), aug.rows(&d.x, &rows).view()]).expect("same columns");
                    let y2: Vec<bool> = y.iter().chain(&y).copied().collect();
                    fit(learner, &both, &y2, cfg.seed ^ u64::from(k))
                }
            }
        })
        .collect()
}

/// Out-of-fold raw scores: each row of `x` by its fold's model.
pub fn out_of_fold(models: &[Fitted], x: &ndarray::Array2<f64>, fold: &[u8]) -> Vec<f64> {
    by_fold(models, x.nrows(), fold, |m, rows| m.raw_rows(x, rows))
}

/// Each of `n` rows scored by its fold's model: `score(model, rows of its fold)`.
fn by_fold(models: &[Fitted], n: usize, fold: &[u8], score: impl Fn(&Fitted, &[usize]) -> Vec<f64>) -> Vec<f64> {
    let mut out = vec![f64::NAN; n];
    for (k, m) in models.iter().enumerate() {
        let rows: Vec<usize> = (0..n).filter(|&r| usize::from(fold[r]) == k).collect();
        for (&r, v) in rows.iter().zip(score(m, &rows)) {
            out[r] = v;
        }
    }
    out
}

/// Every row scored by fold `k`'s model, for each `k`: `[k][row]`.
pub fn every_fold(models: &[Fitted], d: &Design) -> Vec<Vec<f64>> {
    let all: Vec<usize> = (0..d.x.nrows()).collect();
    models.iter().map(|m| m.raw_rows(&d.x, &all)).collect()
}

/// Per-fold PR-AUC of out-of-fold scores against the target.
fn per_fold_pr_auc(oof: &[f64], target: &[bool], fold: &[u8]) -> Estimate {
    Estimate::of((0..FOLDS).map(|k| {
        let (s, y): (Vec<f64>, Vec<bool>) = (0..oof.len()).filter(|&r| fold[r] == k).map(|r| (oof[r], target[r])).unzip();
        metrics::average_precision(&s, &y)
    }).collect())
}

/// Out-of-fold figures of one candidate's scores (`oof_new`: the same rows scored as if their
/// network had never been labelled, when the design has that copy).
#[allow(clippy::too_many_arguments)]
pub fn evaluate_candidate(learner: &Learner, oof: &[f64], oof_new: Option<&[f64]>, target: &[bool], fold: &[u8], labels: &[Option<bool>], negatives: Negatives, capacity: usize) -> CandidateEvaluation {
    // The per-fold figures judge what the models learn: under the benign-label regime,
    // labelled violating against labelled benign (the unlabelled, half of them violators
    // there, left out of the folds' figures).
    let labelled_folds: Vec<u8>;
    let fold = match negatives {
        Negatives::Unlabelled => fold,
        Negatives::LabelledBenign => {
            labelled_folds = fold.iter().zip(labels).map(|(&k, l)| if l.is_some() { k } else { u8::MAX }).collect();
            &labelled_folds
        }
    };
    let mut roc = Vec::new();
    for k in 0..FOLDS {
        let (s, y): (Vec<f64>, Vec<bool>) = (0..oof.len()).filter(|&r| fold[r] == k).map(|r| (oof[r], target[r])).unzip();
        roc.push(metrics::roc_auc(&s, &y));
    }
    let (ls, ly): (Vec<f64>, Vec<bool>) = (0..oof.len()).filter_map(|r| labels[r].map(|l| (oof[r], l))).unzip();
    let labelled_pr_auc = (ly.iter().any(|&b| b) && ly.iter().any(|&b| !b)).then(|| metrics::average_precision(&ls, &ly)).flatten();
    CandidateEvaluation {
        learner: learner.clone(),
        description: learner.describe(),
        pr_auc: per_fold_pr_auc(oof, target, fold),
        roc_auc: Estimate::of(roc),
        labelled_pr_auc,
        new_network_pr_auc: oof_new.map(|o| per_fold_pr_auc(o, target, fold)),
        precision_at_capacity: metrics::precision_at_k(oof, target, capacity.min(oof.len())),
        recall_at_precision_90: metrics::recall_at_precision(oof, target, 0.9),
    }
}

/// Index of the chosen candidate. Each candidate's per-fold key is its PR-AUC — averaged with
/// the new-network PR-AUC when there is one, so a model is chosen for both jobs: ranking the
/// rest of a known network and finding an unknown one.
///
/// When there is a blend (the `anchor`), it is the model unless a linear candidate beats it
/// by more than one standard error of the paired per-fold differences (Breiman's rule), or
/// ranks the folds' rows better on average by ROC-AUC (by 0.005 or more) while trailing by no
/// more than one standard error on the key. With few labelled violators a fold's PR-AUC rests
/// on a handful of top-ranked rows, while ROC-AUC reads every positive's rank: where the
/// simpler model ranks all of them better and is not measurably worse at the top, it is the
/// one that holds on new data (on the Reddit data the linear model's held-out account PR-AUC
/// is 0.073–0.076 on every draw, the blend's 0.057–0.080; on every synthetic platform the
/// blend's ROC-AUC is the higher). A single boosted model never replaces it: the folds split a
/// network's members, so a flexible model is credited for learning a labelled network's own
/// profile from its other members, a bias every fold shares and no margin removes. Measured
/// on 15 independently generated platforms, a boosted model chosen by its fold scores ranked
/// held-out networks worse than the blend (group PR-AUC −0.03 to −0.10 where it was chosen),
/// while on the real data the linear model's lead held up (benches/RESULTS.md). Without a
/// blend the best mean key wins. A NaN loses; ties go to the earlier candidate.
pub fn choose(evals: &[CandidateEvaluation], anchor: Option<usize>) -> usize {
    // Near 1 both models order almost every pair alike and a ROC-AUC lead is noise (one
    // synthetic platform: +0.00002 for the linear model, which then ranked held-out groups
    // 0.13 worse): the lead must be half a percent of the pairs.
    const ROC_MARGIN: f64 = 0.005;
    let keys: Vec<Vec<Option<f64>>> = evals.iter().map(per_fold_key).collect();
    let mean = |k: &[Option<f64>]| {
        let v: Vec<f64> = k.iter().flatten().copied().collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        if m.is_nan() { f64::NEG_INFINITY } else { m }
    };
    let best = (0..evals.len()).fold(0, |best, i| if mean(&keys[i]) > mean(&keys[best]) { i } else { best });
    let Some(a) = anchor.filter(|&a| mean(&keys[a]).is_finite()) else {
        return best;
    };
    // The mean of the paired per-fold differences (candidate − anchor) and its standard error.
    let paired = |c: &[Option<f64>], b: &[Option<f64>]| {
        let diffs: Vec<f64> = c.iter().zip(b).filter_map(|(c, b)| Some(c.as_ref()? - b.as_ref()?)).collect();
        if diffs.len() < 2 {
            return None;
        }
        let n = diffs.len() as f64;
        let m = diffs.iter().sum::<f64>() / n;
        let sd = (diffs.iter().map(|d| (d - m) * (d - m)).sum::<f64>() / (n - 1.0)).sqrt();
        Some((m, sd / n.sqrt()))
    };
    let replaces_anchor = |i: usize| {
        let Some((m, se)) = paired(&keys[i], &keys[a]) else { return false };
        let ranks_better = paired(&evals[i].roc_auc.per_fold, &evals[a].roc_auc.per_fold).is_some_and(|(r, _)| r > ROC_MARGIN);
        m > se || (ranks_better && m >= -se)
    };
    let linear = (0..evals.len()).filter(|&i| matches!(evals[i].learner, Learner::Logistic { .. }) && replaces_anchor(i));
    linear.reduce(|best, i| if mean(&keys[i]) > mean(&keys[best]) { i } else { best }).unwrap_or(a)
}

/// A candidate's per-fold selection key (see [`choose`]).
fn per_fold_key(e: &CandidateEvaluation) -> Vec<Option<f64>> {
    match &e.new_network_pr_auc {
        Some(n) => e.pr_auc.per_fold.iter().zip(&n.per_fold).map(|(a, b)| Some((a.as_ref()? + b.as_ref()?) / 2.0)).collect(),
        None => e.pr_auc.per_fold.clone(),
    }
}

/// A fitted stage with its out-of-fold scores and every candidate's evaluation.
pub struct FittedStage {
    pub model: StageModel,
    pub oof: Vec<f64>,
    pub evaluation: Vec<CandidateEvaluation>,
    pub chosen: usize,
    /// The design's rows (without the community-hidden copy), for scoring and reasons
    /// without building the matrix again.
    pub x: ndarray::Array2<f64>,
    /// With [`fit_stage_scoring_every_row`]: every row scored by fold `k`'s model, `[k][row]`.
    pub every_fold: Option<Vec<Vec<f64>>>,
    /// What the folds' models learned labelled violators against; calibration follows it.
    pub negatives: Negatives,
}

impl FittedStage {
    /// The stage's design (its matrix moved out of the stage).
    pub fn take_design(&mut self) -> Design {
        Design { names: self.model.features.clone(), prep: self.model.prep.clone(), x: std::mem::take(&mut self.x), unlabelled_network: None }
    }
}

/// Fits every candidate on every fold, keeps the best by out-of-fold PR-AUC.
pub fn fit_stage(cands: &[Learner], d: Design, ids: &[u64], fold: &[u8], target: &[bool], labels: &[Option<bool>], cfg: &TrainConfig) -> Result<FittedStage, String> {
    fit_stage_with(cands, d, ids, fold, target, labels, cfg, false)
}

/// [`fit_stage`] of one learner that also scores every row by every fold's model (the first
/// stage's network features read them); the out-of-fold scores are taken from those.
pub fn fit_stage_scoring_every_row(learner: &Learner, d: Design, ids: &[u64], fold: &[u8], target: &[bool], labels: &[Option<bool>], cfg: &TrainConfig) -> Result<FittedStage, String> {
    fit_stage_with(std::slice::from_ref(learner), d, ids, fold, target, labels, cfg, true)
}

#[allow(clippy::too_many_arguments)]
fn fit_stage_with(cands: &[Learner], d: Design, ids: &[u64], fold: &[u8], target: &[bool], labels: &[Option<bool>], cfg: &TrainConfig, score_every_row: bool) -> Result<FittedStage, String> {
    let mut fitted: Vec<(Learner, Vec<Fitted>)> = Vec::new();
    let mut last_err = String::new();
    let negatives = Negatives::for_labels(labels);
    for c in cands {
        let clock = std::time::Instant::now();
        match fit_folds(c, &d, ids, fold, target, labels, negatives, cfg) {
            Ok(models) => {
                tracing::debug!(learner = %c.describe(), rows = d.x.nrows(), features = d.x.ncols(), seconds = clock.elapsed().as_secs_f64(), "candidate fitted on every fold");
                fitted.push((c.clone(), models));
            }
            Err(e) => {
                tracing::warn!(learner = %c.describe(), error = %e, "candidate failed to fit");
                last_err = e;
            }
        }
    }
    if fitted.is_empty() {
        return Err(last_err);
    }
    let clock = std::time::Instant::now();
    let all: Vec<usize> = (0..d.x.nrows()).collect();
    let every_fold: Option<Vec<Vec<f64>>> = (score_every_row && fitted.len() == 1).then(|| fitted[0].1.iter().map(|m| m.raw_rows(&d.x, &all)).collect());
    let mut scored: Vec<(Vec<f64>, Option<Vec<f64>>)> = fitted
        .iter()
        .map(|(_, models)| {
            let oof = match &every_fold {
                Some(ef) => (0..d.x.nrows()).map(|r| ef[fold[r] as usize][r]).collect(),
                None => out_of_fold(models, &d.x, fold),
            };
            (oof, d.unlabelled_network.as_ref().map(|aug| aug.out_of_fold(models, &d.x, fold)))
        })
        .collect();
    tracing::debug!(candidates = fitted.len(), rows = d.x.nrows(), seconds = clock.elapsed().as_secs_f64(), "candidates scored out of fold");
    // One more candidate at no fitting cost: the blend of every fitted one, fold by fold,
    // its scores from its members' (the same bits as scoring the blend itself).
    let blend_at = (fitted.len() > 1).then_some(fitted.len());
    if blend_at.is_some() {
        let learner = Learner::Blend(fitted.iter().map(|f| f.0.clone()).collect());
        let folds = (0..FOLDS as usize).map(|k| Fitted::Blend(fitted.iter().map(|f| f.1[k].clone()).collect())).collect();
        fitted.push((learner, folds));
        let blend = |each: Vec<&Vec<f64>>| -> Vec<f64> { (0..each[0].len()).into_par_iter().map(|r| blend_raw(each.iter().map(|v| v[r]), each.len())).collect() };
        let oof = blend(scored.iter().map(|s| &s.0).collect());
        let new = d.unlabelled_network.as_ref().map(|_| blend(scored.iter().map(|s| s.1.as_ref().expect("scored with the design's copy")).collect()));
        scored.push((oof, new));
    }
    let evaluation: Vec<CandidateEvaluation> =
        fitted.par_iter().zip(&scored).map(|((c, _), (oof, new))| evaluate_candidate(c, oof, new.as_deref(), target, fold, labels, negatives, cfg.capacity)).collect();
    tracing::debug!(candidates = fitted.len(), rows = d.x.nrows(), seconds = clock.elapsed().as_secs_f64(), "candidates scored out of fold and evaluated");
    let chosen = choose(&evaluation, blend_at);
    let (learner, folds) = fitted.swap_remove(chosen);
    let oof = scored.into_iter().nth(chosen).expect("one per candidate").0;
    Ok(FittedStage { model: StageModel { features: d.names, prep: d.prep, learner, folds }, oof, evaluation, chosen, x: d.x, every_fold, negatives })
}

/// Calibration and its evaluation on labelled rows, from a stage's out-of-fold scores.
pub fn calibrate(stage: &FittedStage, target: &[bool], labels: &[Option<bool>], fold: &[u8]) -> (Calibration, VariantEvaluation) {
    // Reliability from calibrators fitted on the other folds' scores; every fit in parallel,
    // the folds' rows joined in fold order.
    let negatives = stage.negatives;
    let (calibration, per_fold) = rayon::join(
        || Calibration::fit_for(&stage.oof, target, labels, negatives),
        || {
            (0..FOLDS)
                .into_par_iter()
                .map(|k| {
                    let rows: Vec<usize> = (0..stage.oof.len()).filter(|&r| fold[r] != k).collect();
                    let (s, t): (Vec<f64>, Vec<bool>) = rows.iter().map(|&r| (stage.oof[r], target[r])).unzip();
                    if !t.iter().any(|&b| b) {
                        return Vec::new();
                    }
                    let l: Vec<Option<bool>> = rows.iter().map(|&r| labels[r]).collect();
                    let cal = Calibration::fit_for(&s, &t, &l, negatives);
                    (0..stage.oof.len()).filter(|&r| fold[r] == k).filter_map(|r| Some((cal.apply(stage.oof[r]), labels[r]?))).collect()
                })
                .collect::<Vec<Vec<(f64, bool)>>>()
        },
    );
    let (probs, ys): (Vec<f64>, Vec<bool>) = per_fold.into_iter().flatten().unzip();
    let eval = VariantEvaluation {
        features: stage.model.features.len(),
        candidates: stage.evaluation.clone(),
        chosen: stage.chosen,
        calibration: calibration.name().into(),
        reliability: metrics::reliability_table(&probs, &ys, 10),
        brier: metrics::brier_score(&probs, &ys),
        ece: metrics::ece(&probs, &ys, 10),
        evaluated: target.len(),
        evaluated_positive: target.iter().filter(|&&b| b).count(),
    };
    (calibration, eval)
}

/// Columns of `table` named `names` (every one must exist).
pub fn columns(table: &FeatureTable, names: &[String]) -> Columns {
    select(table, names).expect("the table holds the stage's features")
}

/// Features a stage may use: the table's available columns that take more than one value,
/// minus graph features for tabular-only models. A column with one value on every row (or
/// none: nulls take the median) carries nothing, yet it would still be drawn in the boosted
/// trees' column sampling (on the Reddit data, where half the features are constant, one more
/// such column moved a draw's account PR-AUC by 0.018).
pub fn usable_features(table: &FeatureTable, entity: EntityKind, tabular_only: bool) -> Vec<String> {
    let graph = features::graph_feature_names(entity);
    let varies = |c: &features::FeatureColumn| {
        let mut values = c.iter().flatten();
        values.next().is_some_and(|first| values.any(|v| v != first))
    };
    table
        .columns
        .iter()
        .filter(|c| varies(c))
        .map(|c| c.name)
        .filter(|n| !table.unavailable.contains(n))
        .filter(|n| !tabular_only || !graph.contains(n))
        .map(str::to_string)
        .collect()
}

/// Global importance of the second stage: mean over folds.
pub fn importance(stage: &StageModel, d: &Design) -> Vec<(String, f64)> {
    // A sample of rows is enough for the forest's path-based importance.
    let step = (d.x.nrows() / 5_000).max(1);
    let rows: Vec<usize> = (0..d.x.nrows()).step_by(step).collect();
    let x = d.x.select(ndarray::Axis(0), &rows);
    let mut imp = vec![0.0; stage.features.len()];
    for m in &stage.folds {
        for (j, v) in m.importance(&x).into_iter().enumerate() {
            imp[j] += v / stage.folds.len() as f64;
        }
    }
    let mut out: Vec<(String, f64)> = stage.features.iter().cloned().zip(imp).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_with_one_value_are_not_usable() {
        use crate::features::{FeatureColumn, FeatureTable};
        let col = |name: &'static str, v: &[Option<f64>]| FeatureColumn::new(name, v.iter().copied());
        let table = FeatureTable {
            kind: EntityKind::Account,
            ids: vec![1, 2, 3],
            rows: vec![0, 1, 2],
            columns: vec![
                col("groups_now", &[Some(1.0), Some(2.0), None]),
                col("has_photo", &[Some(1.0), Some(1.0), Some(1.0)]),
                col("is_business", &[None, Some(0.0), None]),
                col("account_age_days", &[None, None, None]),
                col("ppr_membership", &[Some(0.5), None, Some(0.7)]),
            ],
            unavailable: vec![],
        };
        assert_eq!(usable_features(&table, EntityKind::Account, false), ["groups_now", "ppr_membership"]);
        assert_eq!(usable_features(&table, EntityKind::Account, true), ["groups_now"]);
    }

    #[test]
    fn calibration_is_strictly_increasing_and_below_one() {
        let raw: Vec<f64> = (1..1000).map(|i| i as f64 / 1000.0).collect();
        let target: Vec<bool> = (1..1000).map(|i| i > 900 && i % 2 == 0).collect();
        let c = Calibration::fit(&raw, &target);
        assert!(c.label_frequency > 0.0 && c.label_frequency <= 1.0);
        let p: Vec<f64> = raw.iter().map(|&r| c.apply(r)).collect();
        assert!(p.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
        assert!(p.iter().all(|&v| v > 0.0 && v < 1.0));
    }

    #[test]
    fn labels_covering_the_population_train_against_benign_labels_only() {
        // 1,000 entities: 60 labelled violating, 60 benign (12 % labelled) -> benign labels only.
        let label = |v: usize, b: usize| -> Vec<Option<bool>> { (0..1000).map(|i| if i < v { Some(true) } else if i < v + b { Some(false) } else { None }).collect() };
        let labels = label(60, 60);
        assert_eq!(Negatives::for_labels(&labels), Negatives::LabelledBenign);
        // A majority of violating labels still (the real data: 53 % positive).
        assert_eq!(Negatives::for_labels(&label(80, 50)), Negatives::LabelledBenign);
        // Sparse labels (3 %), or benign labels under half the violating ones: everything else.
        assert_eq!(Negatives::for_labels(&label(15, 15)), Negatives::Unlabelled);
        assert_eq!(Negatives::for_labels(&label(120, 50)), Negatives::Unlabelled);
        let ids: Vec<u64> = (0..1000).collect();
        let fold: Vec<u8> = ids.iter().map(|&i| (i % 5) as u8).collect();
        let target: Vec<bool> = labels.iter().map(|l| *l == Some(true)).collect();
        let rows = training_rows(&ids, &fold, &target, &labels, Negatives::LabelledBenign, 2, 25_000, 7);
        assert_eq!(rows.len(), 96, "the 4 folds' 48 violating and 48 benign labels");
        assert!(rows.iter().all(|&r| fold[r] != 2 && labels[r].is_some()));
        let pu = training_rows(&ids, &fold, &target, &labels, Negatives::Unlabelled, 2, 25_000, 7);
        assert_eq!(pu.len(), 800);
        // The labelled regime calibrates on labelled rows: no label frequency to divide by.
        let raw: Vec<f64> = (0..1000).map(|i| if i < 60 { 0.6 + i as f64 / 1000.0 } else { 0.1 + (i % 97) as f64 / 200.0 }).collect();
        let c = Calibration::fit_for(&raw, &target, &labels, Negatives::LabelledBenign);
        assert_eq!((c.label_frequency, c.negatives), (1.0, Negatives::LabelledBenign));
        assert!(c.apply(0.65) > 0.9 && c.apply(0.15) < 0.1);
    }

    #[test]
    fn the_benign_label_regime_is_judged_on_labelled_rows() {
        // Per fold: 2 violating and 2 benign labels ranked perfectly, 4 unlabelled rows (say,
        // unlabelled violators) scored above them all.
        let n = 40;
        let fold: Vec<u8> = (0..n).map(|r| (r % 5) as u8).collect();
        let labels: Vec<Option<bool>> = (0..n).map(|r| match r / 5 { 0 | 1 => Some(true), 2 | 3 => Some(false), _ => None }).collect();
        let target: Vec<bool> = labels.iter().map(|l| *l == Some(true)).collect();
        let oof: Vec<f64> = (0..n).map(|r| match r / 5 { 0 | 1 => 0.8, 2 | 3 => 0.2, _ => 0.9 }).collect();
        let eval = |negatives| evaluate_candidate(&Learner::Logistic { alpha: 1.0 }, &oof, None, &target, &fold, &labels, negatives, 10);
        assert_eq!(eval(Negatives::LabelledBenign).pr_auc.mean, 1.0);
        assert_eq!(eval(Negatives::LabelledBenign).roc_auc.mean, 1.0);
        assert!(eval(Negatives::Unlabelled).pr_auc.mean < 0.6);
    }

    #[test]
    fn training_rows_hide_the_fold_and_cap_negatives() {
        let ids: Vec<u64> = (0..1000).collect();
        let fold: Vec<u8> = ids.iter().map(|&i| (i % 5) as u8).collect();
        let target: Vec<bool> = ids.iter().map(|&i| i % 50 == 1).collect();
        let labels: Vec<Option<bool>> = target.iter().map(|&t| t.then_some(true)).collect();
        let rows = training_rows(&ids, &fold, &target, &labels, Negatives::Unlabelled, 1, 100, 7);
        assert!(rows.iter().all(|&r| fold[r] != 1));
        // Positives all sit in fold 1 here (i % 50 == 1 means i % 5 == 1): none to train on.
        assert!(rows.iter().all(|&r| !target[r]));
        assert_eq!(rows.len(), 100);
        let rows = training_rows(&ids, &fold, &target, &labels, Negatives::Unlabelled, 0, 100, 7);
        assert_eq!(rows.iter().filter(|&&r| target[r]).count(), 20);
        assert_eq!(rows, training_rows(&ids, &fold, &target, &labels, Negatives::Unlabelled, 0, 100, 7));
    }

    fn eval_with(per_fold: &[f64]) -> CandidateEvaluation {
        CandidateEvaluation {
            learner: Learner::Logistic { alpha: 1.0 },
            description: String::new(),
            pr_auc: Estimate::of(per_fold.iter().map(|&v| Some(v)).collect()),
            roc_auc: Estimate::of(vec![]),
            labelled_pr_auc: None,
            new_network_pr_auc: None,
            precision_at_capacity: None,
            recall_at_precision_90: 0.0,
        }
    }

    #[test]
    fn the_blend_wins_unless_the_linear_model_beats_it_by_more_than_fold_noise() {
        let with = |learner: Learner, per_fold: &[f64]| CandidateEvaluation { learner, ..eval_with(per_fold) };
        let boosted = || Learner::boosted_default();
        let blend = with(Learner::Blend(vec![]), &[0.38, 0.36, 0.42, 0.42, 0.50]);
        // The linear model better on average, but the paired differences swing both ways.
        let noisy = eval_with(&[0.48, 0.30, 0.45, 0.40, 0.55]);
        assert_eq!(choose(&[noisy.clone(), with(boosted(), &[0.3; 5]), blend.clone()], Some(2)), 2);
        // Without an anchor the best mean wins.
        assert_eq!(choose(&[noisy, blend.clone()], None), 0);
        // The linear model better in every fold: chosen.
        let steady = eval_with(&[0.46, 0.45, 0.50, 0.52, 0.60]);
        assert_eq!(choose(&[steady.clone(), blend.clone()], Some(1)), 0);
        // A boosted model better in every fold is still not chosen over the blend.
        assert_eq!(choose(&[eval_with(&[0.2; 5]), with(boosted(), &[0.46, 0.45, 0.50, 0.52, 0.60]), blend.clone()], Some(2)), 2);
        // The linear model a little behind on the key, within the noise, but ranking every
        // fold's rows better by ROC-AUC: chosen. Behind on ROC-AUC as well: not.
        let roc = |e: CandidateEvaluation, per_fold: &[f64]| CandidateEvaluation { roc_auc: Estimate::of(per_fold.iter().map(|&v| Some(v)).collect()), ..e };
        let close = eval_with(&[0.37, 0.37, 0.41, 0.43, 0.48]);
        let blend_roc = roc(blend.clone(), &[0.70, 0.68, 0.71, 0.66, 0.69]);
        assert_eq!(choose(&[roc(close.clone(), &[0.72, 0.70, 0.71, 0.69, 0.70]), blend_roc.clone()], Some(1)), 0);
        assert_eq!(choose(&[roc(close.clone(), &[0.69, 0.67, 0.70, 0.66, 0.68]), blend_roc.clone()], Some(1)), 1);
        // Better by ROC-AUC but behind on the key by more than its standard error: not chosen.
        let behind = eval_with(&[0.30, 0.31, 0.33, 0.35, 0.40]);
        assert_eq!(choose(&[roc(behind, &[0.72, 0.70, 0.71, 0.69, 0.70]), blend_roc], Some(1)), 1);
        // A blend without a score loses to the best.
        let empty = with(Learner::Blend(vec![]), &[f64::NAN; 5]);
        assert_eq!(choose(&[steady, empty], Some(1)), 0);
    }
}
