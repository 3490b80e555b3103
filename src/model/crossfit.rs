//! The fold passes, shared by training and scoring.
//!
//! Training ([`Mode::Train`]) and scoring with a model file ([`Mode::Apply`]) run the same
//! steps, so a model sees at scoring time exactly the feature definitions it was trained on:
//!
//! 1. label-free features of every entity ([`features::tabular`]);
//! 2. the first stage per kind: fold `k`'s model scores *every* entity, so that in pass `k`
//!    neighbours are read through a model that never saw fold `k`'s labels;
//! 3. one pass per fold `k`, with fold `k`'s labels hidden: the seed-based features and the
//!    network features of fold `k`'s entities;
//! 4. the second stage per kind: each entity scored by its fold's model, calibrated.
//!
//! Text scores are the one seed-based feature computed once: the text model cross-fits over
//! the same folds, so each entity's text score already comes from a model fitted without its
//! fold (see [`crate::features::text`]).
//!
//! **Networks nobody has labelled.** With folds by id, a violator in a partly labelled network
//! still sees most of its network's labels as seeds, so nearly every training positive has
//! strong seed-based features, and a model learns that an entity without them is benign —
//! which is what every member of a new network looks like. Training therefore adds a second
//! copy of every row whose seed-based features are computed with the row's whole community of
//! the group projection hidden (one more pass per fold of communities): the same entity, as
//! if its network had never been labelled. Each fold's model learns from both copies;
//! out-of-fold scores, evaluation and scoring use the real ones.

use rayon::prelude::*;

use crate::features::graph::{Columns, Propagation, Seeds};
use crate::features::network::{self, FirstStage};
use crate::features::{self, Context, FeatureTable, FOLDS};
use crate::ingest::Window;
use crate::replay::MembershipState;
use crate::schema::EntityKind;

use super::train::{self, Calibration, Design, FittedStage, KindModel, NetworkHidden, Skipped, StageModel, TrainConfig};
use super::{ModelError, ModelFile};

/// What the passes do with models.
pub enum Mode<'a> {
    /// Fit both stages on the window's labels.
    Train(&'a TrainConfig),
    /// Score with a model file's stages.
    Apply(&'a ModelFile),
    /// Features only (`groupwatch features`): the seed-based features fold-masked as
    /// everywhere, no model, so no network features.
    Features,
}

/// The outcome for one entity kind.
pub struct KindResult {
    /// The model: trained here, or the file's.
    pub model: Result<KindModel, Skipped>,
    /// Out-of-fold raw second-stage scores and calibrated probabilities, in table row order
    /// (empty without a model).
    pub raw: Vec<f64>,
    pub probability: Vec<f64>,
    /// The second stage's design matrix (for reasons), without a model: None.
    pub design: Option<Design>,
    /// Each row's fold.
    pub fold: Vec<u8>,
}

/// Both kinds' complete feature tables (seed-based and network features fold-masked) and
/// results.
pub struct Outcome {
    pub groups: FeatureTable,
    pub accounts: FeatureTable,
    pub group: KindResult,
    pub account: KindResult,
}

/// Per kind, what the passes need from its first stage.
struct First {
    /// Fitted here (training) or the file's.
    stage: Option<StageModel>,
    fitted: Option<FittedStage>,
    /// `[k][dense index]`: fold `k`'s model's probability (NaN where not scored).
    dense: Vec<Vec<f64>>,
}

fn first_stage(entity: EntityKind, table: &FeatureTable, n_dense: usize, mode: &Mode, target: &[bool], labels: &[Option<bool>], fold: &[u8], trainable: bool) -> Result<First, ModelError> {
    let empty = || First { stage: None, fitted: None, dense: Vec::new() };
    let (fitted, stage, per_fold) = match mode {
        Mode::Train(cfg) => {
            if !trainable || cfg.tabular_only {
                return Ok(empty());
            }
            let names = train::usable_features(table, entity, true);
            let names: Vec<String> = names.into_iter().filter(|n| !features::is_seed_based(entity, n)).collect();
            let d = Design::fit(&train::columns(table, &names));
            match train::fit_stage_scoring_every_row(&train::first_stage_learner(), d, &table.ids, fold, target, labels, cfg) {
                Ok(mut f) => {
                    let per_fold = f.every_fold.take().expect("scored every row");
                    // Its matrix is not needed again; the passes run without it.
                    f.x = ndarray::Array2::zeros((0, 0));
                    (Some(f), None, per_fold)
                }
                Err(e) => {
                    tracing::warn!(entity = %entity, error = %e, "first stage not trained");
                    return Ok(empty());
                }
            }
        }
        Mode::Features => return Ok(empty()),
        Mode::Apply(file) => match file.kind(entity).and_then(|k| k.first.clone()) {
            Some(stage) => {
                let cols = crate::model::data::select(table, &stage.features).map_err(|missing| ModelError::Features {
                    entity,
                    missing,
                    model_catalog: file.feature_catalog_version,
                    data_catalog: features::catalog().0,
                })?;
                let per_fold = train::every_fold(&stage.folds, &Design::with_prep(&cols, &stage.prep));
                (None, Some(stage), per_fold)
            }
            None => return Ok(empty()),
        },
    };
    let dense = per_fold
        .into_iter()
        .map(|scores| {
            let mut v = vec![f64::NAN; n_dense];
            for (r, &i) in table.rows.iter().enumerate() {
                v[i as usize] = scores[r];
            }
            v
        })
        .collect();
    Ok(First { stage, fitted, dense })
}

/// Fold `k`'s first-stage scores as the network features may read them: a labelled violator
/// outside fold `k` was a positive training row of that model, so its score is an in-sample
/// echo of its label (near 1), which the members of a network nobody has labelled never
/// have; its label reaches the features through the seed-based ones instead. Its score is
/// left out (NaN). Every other score is what fold `k`'s model says of an entity it either
/// never saw or saw as a negative, alike for training rows and for new networks.
fn masked_first(scores: Option<&Vec<f64>>, labels: &[Option<bool>], ids: &[u64], k: u8) -> Option<Vec<f64>> {
    let mut v = scores?.clone();
    for (i, slot) in v.iter_mut().enumerate() {
        if labels[i] == Some(true) && features::fold_of(ids[i]) != k {
            *slot = f64::NAN;
        }
    }
    Some(v)
}

/// Labelled entities (dense indices, sorted) whose id falls in fold `k`.
fn labelled_in_fold(labels: &[Option<bool>], ids: &[u64], k: u8) -> Vec<u32> {
    (0..labels.len()).filter(|&i| labels[i].is_some() && features::fold_of(ids[i]) == k).map(|i| i as u32).collect()
}

/// Runs the passes: complete tables and, per kind with a model, out-of-fold scores. `lap` is
/// told when each step ends ("features", then those of [`run_with_tables`]).
pub fn run(w: &Window, st: &MembershipState, ctx: &Context, mode: Mode, lap: &mut dyn FnMut(&'static str)) -> Result<Outcome, ModelError> {
    let tables = features::tabular(w, st, ctx);
    lap("features");
    run_with_tables(w, st, ctx, tables, mode, lap)
}

/// [`run`] from the tabular features (groups', accounts'), computed beforehand: nothing from
/// here on reads the window's forward rows, so a caller may set them aside meanwhile. `lap` is
/// told "first_stage", "seeded_features" and "second_stage".
pub fn run_with_tables(
    w: &Window,
    st: &MembershipState,
    ctx: &Context,
    (mut gtab, mut atab): (FeatureTable, FeatureTable),
    mode: Mode,
    lap: &mut dyn FnMut(&'static str),
) -> Result<Outcome, ModelError> {
    let (acc_labels, grp_labels) = w.latest_labels(w.now_ms);
    let (gfold, afold) = (train::row_folds(&gtab), train::row_folds(&atab));
    let (glab, alab) = (train::row_labels(&gtab, &grp_labels), train::row_labels(&atab, &acc_labels));
    let target = |l: &[Option<bool>]| l.iter().map(|v| *v == Some(true)).collect::<Vec<bool>>();
    let (gtarget, atarget) = (target(&glab), target(&alab));
    let trainable = |entity: EntityKind, l: &[Option<bool>]| match &mode {
        Mode::Train(cfg) => train::check_labels(entity, l, cfg),
        Mode::Features => Err(skipped(entity, l, "features only".into())),
        Mode::Apply(file) => file.kind(entity).map(|_| ()).ok_or_else(|| {
            file.skipped.iter().find(|s| s.entity == entity).cloned().unwrap_or_else(|| Skipped {
                entity,
                reason: "the model file has no model for this kind".into(),
                labels_violating: 0,
                labels_benign: 0,
            })
        }),
    };
    let (gok, aok) = (trainable(EntityKind::Group, &glab), trainable(EntityKind::Account, &alab));

    // First stage.
    let (na, ng) = (w.accounts.ids.len(), w.groups.ids.len());
    let gfirst = first_stage(EntityKind::Group, &gtab, ng, &mode, &gtarget, &glab, &gfold, gok.is_ok())?;
    let afirst = first_stage(EntityKind::Account, &atab, na, &mode, &atarget, &alab, &afold, aok.is_ok())?;
    lap("first_stage");

    // Passes: seed-based and network features of each fold's entities with its labels hidden.
    let any_labels = grp_labels.iter().chain(&acc_labels).any(Option::is_some);
    let passes = if any_labels { FOLDS } else { 1 };
    let all_visible = Seeds::visible(w, ctx, w.now_ms, &[], &[]);
    let (gtext, atext) = features::text_scores(w, ctx, &all_visible);
    let mut gcols: Columns = Vec::new();
    let mut acols: Columns = Vec::new();
    let nan = vec![f64::NAN; ng.max(na)];
    let pass_seeds: Vec<Seeds> = if passes == 1 {
        vec![all_visible.clone()]
    } else {
        (0..passes as u8).map(|k| Seeds::visible(w, ctx, w.now_ms, &labelled_in_fold(&acc_labels, &w.accounts.ids, k), &labelled_in_fold(&grp_labels, &w.groups.ids, k))).collect()
    };
    // Training only: the passes with each entity's community hidden, propagated with the
    // folds' (the power iteration runs the ten restart vectors five at a time).
    let hidden = match &mode {
        Mode::Train(cfg) if any_labels && !cfg.tabular_only => Some(CommunityFolds::new(w, ctx, &acc_labels, &grp_labels)),
        _ => None,
    };
    let clock = std::time::Instant::now();
    let all_seeds: Vec<&Seeds> = pass_seeds.iter().chain(hidden.iter().flat_map(|h| &h.seeds)).collect();
    let mut props = Propagation::of_passes(&ctx.graphs, &all_seeds);
    let hidden_props = props.split_off(pass_seeds.len());
    tracing::debug!(passes = all_seeds.len(), seconds = clock.elapsed().as_secs_f64(), "propagation of every pass");
    for (k, (seeds, prop)) in (0u8..).zip(pass_seeds.iter().zip(&props)) {
        let clock = std::time::Instant::now();
        let (mut g, mut a) = features::graph::seeded_with(w, st, &ctx.graphs, seeds, prop);
        tracing::debug!(pass = k, seconds = clock.elapsed().as_secs_f64(), "seed-based features");
        let gs = masked_first(gfirst.dense.get(k as usize), &grp_labels, &w.groups.ids, k);
        let as_ = masked_first(afirst.dense.get(k as usize), &acc_labels, &w.accounts.ids, k);
        let first = FirstStage { group: gs.as_deref().unwrap_or(&nan[..ng]), account: as_.as_deref().unwrap_or(&nan[..na]) };
        let (gn, an) = network::network(w, st, &ctx.graphs, first, seeds, prop);
        tracing::debug!(pass = k, seconds = clock.elapsed().as_secs_f64(), "network features");
        g.extend(gn);
        a.extend(an);
        // Pass 0 fills every slot; each later pass overwrites its own fold's.
        overwrite(&mut gcols, g, &|i| features::fold_of(w.groups.ids[i]) == k);
        overwrite(&mut acols, a, &|i| features::fold_of(w.accounts.ids[i]) == k);
    }
    drop(props);
    let unlabelled_network = hidden.map(|h| h.columns(w, st, ctx, hidden_props, &nan[..ng], &nan[..na], (&gcols, &acols)));
    gcols.push(("text_score", gtext));
    acols.push(("text_score", atext));
    let first_available = (gfirst.dense.len() == FOLDS as usize, afirst.dense.len() == FOLDS as usize);
    features::append(w, &mut gtab, EntityKind::Group, gcols, first_available);
    features::append(w, &mut atab, EntityKind::Account, acols, first_available);
    tracing::debug!(passes, "seed-based and network features");
    lap("seeded_features");

    // Second stage.
    let (gaug, aaug) = unlabelled_network.unzip();
    let group = second_stage(EntityKind::Group, &gtab, &mode, gok, gfirst, &gtarget, &glab, gfold, gaug)?;
    let account = second_stage(EntityKind::Account, &atab, &mode, aok, afirst, &atarget, &alab, afold, aaug)?;
    lap("second_stage");
    Ok(Outcome { groups: gtab, accounts: atab, group, account })
}

/// Takes `new`'s values into `out` where `take(index)` holds (all of them when `out` is
/// still empty): how one pass's columns fill the slots of its own fold.
fn overwrite(out: &mut Columns, new: Columns, take: &(dyn Fn(usize) -> bool + Sync)) {
    if out.is_empty() {
        *out = new;
        return;
    }
    for ((_, acc), (_, v)) in out.iter_mut().zip(new) {
        acc.par_iter_mut().zip(v).enumerate().for_each(|(i, (slot, v))| {
            if take(i) {
                *slot = v;
            }
        });
    }
}

/// The largest community, as a share of all groups, whose entities get a community-hidden copy.
const NETWORK_SIZED: f64 = 0.05;

/// The passes of a training run's community-hidden copy: every labelled entity of the same
/// community as the entity hidden, one pass per fold of communities. An account's community is
/// the one most of its groups belong to.
///
/// A community that holds more than [`NETWORK_SIZED`] of the groups is a region of the
/// platform, not a network: hiding it teaches that violators look unconnected where, at
/// scoring time, every entity of that region still sees its labels. Its entities' copies keep
/// their real values (on the Reddit data, 984 groups in six communities of 55 to 260, the
/// copies cost a tenth of the account PR-AUC; on the synthetic platforms no community holds
/// 4 % of the groups).
struct CommunityFolds {
    /// The fold of each group's community (none for a community too large to be a network).
    gfold: Vec<Option<u8>>,
    /// The fold of each account's community (none for an account in no group, or whose
    /// community is too large to be a network).
    afold: Vec<Option<u8>>,
    /// The visible seeds of each pass.
    seeds: Vec<Seeds>,
}

impl CommunityFolds {
    fn new(w: &Window, ctx: &Context, acc_labels: &[Option<bool>], grp_labels: &[Option<bool>]) -> Self {
        let g = &ctx.graphs;
        let comm = &g.communities.labels;
        let largest = NETWORK_SIZED * comm.len() as f64;
        let cfold = |c: u32| (f64::from(g.communities.sizes[c as usize]) <= largest).then(|| (crate::units::mix64(u64::from(c) ^ 0xc0_ffee) % u64::from(FOLDS)) as u8);
        let gfold: Vec<Option<u8>> = comm.iter().map(|&c| cfold(c)).collect();
        let afold: Vec<Option<u8>> = (0..w.accounts.ids.len())
            .map(|a| {
                let mut cs: Vec<u32> = g.members.neighbors(a).iter().map(|&h| comm[h as usize]).collect();
                cs.sort_unstable();
                let best = cs.chunk_by(|x, y| x == y).max_by(|x, y| x.len().cmp(&y.len()).then(y[0].cmp(&x[0])))?;
                cfold(best[0])
            })
            .collect();
        let hide = |labels: &[Option<bool>], in_fold: &dyn Fn(usize) -> bool| -> Vec<u32> { (0..labels.len()).filter(|&i| labels[i].is_some() && in_fold(i)).map(|i| i as u32).collect() };
        let seeds = (0..FOLDS).map(|k| Seeds::visible(w, ctx, w.now_ms, &hide(acc_labels, &|a| afold[a] == Some(k)), &hide(grp_labels, &|i| gfold[i] == Some(k)))).collect();
        CommunityFolds { gfold, afold, seeds }
    }

    /// Seed-based columns (by dense index), each entity's from the pass that hides its
    /// community, or its real value (`real`: groups', accounts') where none does; `props` are
    /// the passes' propagations, in order.
    fn columns(self, w: &Window, st: &MembershipState, ctx: &Context, props: Vec<Propagation>, gnan: &[f64], anan: &[f64], real: (&Columns, &Columns)) -> (Columns, Columns) {
        let g = &ctx.graphs;
        let seed_based = |entity: EntityKind, cols: Columns| -> Columns { cols.into_iter().filter(|(n, _)| features::is_seed_based(entity, n)).collect() };
        let (mut gout, mut aout): (Columns, Columns) = (Vec::new(), Vec::new());
        for (k, (seeds, prop)) in (0..FOLDS).zip(self.seeds.iter().zip(&props)) {
            let (mut gs, mut as_) = features::graph::seeded_with(w, st, g, seeds, prop);
            let (gn, an) = network::network(w, st, g, FirstStage { group: gnan, account: anan }, seeds, prop);
            gs.extend(gn);
            as_.extend(an);
            let (gs, as_) = (seed_based(EntityKind::Group, gs), seed_based(EntityKind::Account, as_));
            overwrite(&mut gout, gs, &|i| self.gfold[i] == Some(k));
            overwrite(&mut aout, as_, &|a| self.afold[a] == Some(k));
        }
        for (out, real, fold) in [(&mut gout, real.0, &self.gfold), (&mut aout, real.1, &self.afold)] {
            for (name, v) in out.iter_mut() {
                let (_, r) = real.iter().find(|(n, _)| n == name).expect("a copied column is a real one");
                v.par_iter_mut().zip(r).zip(fold).for_each(|((slot, r), f)| {
                    if f.is_none() {
                        *slot = *r;
                    }
                });
            }
        }
        (gout, aout)
    }
}

/// The second-stage design of a training run, with its copy of the rows as if their network
/// had never been labelled: the table's columns, the seed-based ones replaced.
fn training_design(table: &FeatureTable, names: &[String], aug: Option<&Columns>) -> Design {
    let cols = train::columns(table, names);
    let mut d = Design::fit(&cols);
    // The matrix holds every value now: the columns go before the copy below is made.
    drop(cols);
    if let Some(aug) = aug {
        // The copy differs from the matrix only in the seed-based columns, transformed cell by
        // cell as `Prep::matrix` does (the same bits as building it from columns).
        let (columns, values): (Vec<usize>, Vec<&Vec<Option<f64>>>) = aug.iter().filter_map(|(name, v)| Some((d.names.iter().position(|n| n == name)?, v))).unzip();
        let x = ndarray::Array2::from_shape_fn((table.rows.len(), columns.len()), |(i, c)| d.prep.apply(columns[c], values[c][table.rows[i] as usize].unwrap_or(f64::NAN)));
        d.unlabelled_network = Some(NetworkHidden { columns, x });
    }
    d
}

#[allow(clippy::too_many_arguments)]
fn second_stage(entity: EntityKind, table: &FeatureTable, mode: &Mode, ok: Result<(), Skipped>, first: First, target: &[bool], labels: &[Option<bool>], fold: Vec<u8>, aug: Option<Columns>) -> Result<KindResult, ModelError> {
    let none = |model: Result<KindModel, Skipped>, fold: Vec<u8>| KindResult { model, raw: Vec::new(), probability: Vec::new(), design: None, fold };
    if let Err(s) = ok {
        return Ok(none(Err(s), fold));
    }
    match mode {
        Mode::Train(cfg) => {
            let names = train::usable_features(table, entity, cfg.tabular_only);
            let clock = std::time::Instant::now();
            let d = training_design(table, &names, aug.as_ref());
            tracing::debug!(entity = %entity, rows = d.x.nrows(), seconds = clock.elapsed().as_secs_f64(), "training design");
            let mut stage = match train::fit_stage(&train::candidates(), d, &table.ids, &fold, target, labels, cfg) {
                Ok(s) => s,
                Err(e) => return Ok(none(Err(skipped(entity, labels, format!("no candidate could be fitted: {e}"))), fold)),
            };
            let clock = std::time::Instant::now();
            let (calibration, evaluation) = train::calibrate(&stage, target, labels, &fold);
            tracing::debug!(entity = %entity, seconds = clock.elapsed().as_secs_f64(), "calibrated");
            // The comparison that shows what the graph and the labels' neighbourhoods add: the
            // first stage, fitted and scored out of fold on the label-free tabular features
            // already, calibrated the same way (fitting another model for it cost a third of
            // the second stage at 1M accounts).
            let tabular_only = first.fitted.as_ref().map(|f| train::calibrate(f, target, labels, &fold).1);
            tracing::debug!(entity = %entity, seconds = clock.elapsed().as_secs_f64(), "tabular-only comparison");
            let d = stage.take_design();
            let probability: Vec<f64> = stage.oof.iter().map(|&r| calibration.apply(r)).collect();
            let importance = train::importance(&stage.model, &d);
            tracing::debug!(entity = %entity, seconds = clock.elapsed().as_secs_f64(), "importance");
            let model = kind_model(entity, first, stage.model, calibration, labels, target, &probability, importance, evaluation, tabular_only, table, &fold, &stage.oof);
            Ok(KindResult { model: Ok(model), raw: stage.oof, probability, design: Some(d), fold })
        }
        Mode::Features => Ok(none(Err(skipped(entity, labels, "features only".into())), fold)),
        Mode::Apply(file) => {
            let model = file.kind(entity).expect("checked by trainable").clone();
            let cols = crate::model::data::select(table, model.features()).map_err(|missing| ModelError::Features {
                entity,
                missing,
                model_catalog: file.feature_catalog_version,
                data_catalog: features::catalog().0,
            })?;
            let d = Design::with_prep(&cols, &model.second.prep);
            let raw = train::out_of_fold(&model.second.folds, &d.x, &fold);
            let probability = raw.iter().map(|&r| model.calibration.apply(r)).collect();
            Ok(KindResult { model: Ok(model), raw, probability, design: Some(d), fold })
        }
    }
}

fn skipped(entity: EntityKind, labels: &[Option<bool>], reason: String) -> Skipped {
    Skipped {
        entity,
        reason,
        labels_violating: labels.iter().filter(|l| **l == Some(true)).count(),
        labels_benign: labels.iter().filter(|l| **l == Some(false)).count(),
    }
}

#[allow(clippy::too_many_arguments)]
fn kind_model(
    entity: EntityKind,
    first: First,
    second: StageModel,
    calibration: Calibration,
    labels: &[Option<bool>],
    target: &[bool],
    probability: &[f64],
    importance: Vec<(String, f64)>,
    evaluation: train::VariantEvaluation,
    tabular_only: Option<train::VariantEvaluation>,
    table: &FeatureTable,
    fold: &[u8],
    raw: &[f64],
) -> KindModel {
    let unlabelled: Vec<usize> = (0..labels.len()).filter(|&r| labels[r].is_none()).collect();
    let estimated_prevalence = if unlabelled.is_empty() { 0.0 } else { unlabelled.iter().map(|&r| probability[r]).sum::<f64>() / unlabelled.len() as f64 };
    let oof = (0..labels.len())
        .filter_map(|r| labels[r].map(|l| train::OofRow { entity_id: table.ids[r], fold: fold[r], violating: l, raw_score: raw[r], score: probability[r] }))
        .collect();
    KindModel {
        entity,
        first: first.fitted.map(|f| f.model).or(first.stage),
        second,
        calibration,
        labels_violating: target.iter().filter(|&&t| t).count(),
        labels_benign: labels.iter().filter(|l| **l == Some(false)).count(),
        unlabelled: unlabelled.len(),
        estimated_prevalence,
        importance,
        evaluation,
        tabular_only,
        oof,
    }
}
