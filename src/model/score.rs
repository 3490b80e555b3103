//! Scoring: a calibrated probability per entity and the reasons behind it.
//!
//! Reasons are the features that pushed the score up most, with their values and signed
//! contributions (exact log-odds terms for the linear model, path contributions for the
//! forest), rendered with the catalog's phrases ("83 % of joins came through an invite link").
//!
//! Without a model (too few labels to train), [`unsupervised`] ranks entities by the
//! coordination and propagation features alone — the behaviours `detection.md` calls strongest
//! — and says so: its scores are ranks in 0..1, not probabilities.

use rayon::prelude::*;

use crate::features::{catalog_entry, FeatureTable};
use crate::schema::EntityKind;

use super::crossfit::KindResult;
use super::data::select;

/// One reason: a feature (an index into [`Scores::features`]), its value and how much it
/// moved the score. Ten million entities with five reasons each hold fifty million of these,
/// so a reason is 24 bytes: no name of its own, NaN for an unknown value, and the phrase
/// rendered only when asked for ([`Scores::reason_text`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reason {
    pub feature: u16,
    value: f64,
    pub contribution: f64,
}

impl Reason {
    pub fn new(feature: usize, value: Option<f64>, contribution: f64) -> Reason {
        Reason { feature: u16::try_from(feature).expect("fewer than 65536 features"), value: value.unwrap_or(f64::NAN), contribution }
    }

    /// The feature's value, `None` when unknown.
    pub fn value(&self) -> Option<f64> {
        (!self.value.is_nan()).then_some(self.value)
    }
}

/// What a score is; written to the manifest as `"model"` or `"unsupervised"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreMethod {
    /// A calibrated probability from a trained model.
    Model,
    /// A rank score without labels ([`unsupervised`]): not a probability.
    Unsupervised,
}

impl ScoreMethod {
    /// The manifest's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ScoreMethod::Model => "model",
            ScoreMethod::Unsupervised => "unsupervised",
        }
    }
}

/// Scores of one table's entities, in the table's row order.
#[derive(Debug, Clone)]
pub struct Scores {
    /// The feature names reasons refer to.
    pub features: Vec<String>,
    pub entity: EntityKind,
    pub method: ScoreMethod,
    pub ids: Vec<u64>,
    pub score: Vec<f64>,
    pub reasons: Vec<Vec<Reason>>,
}

impl Scores {
    pub fn feature_name(&self, r: &Reason) -> &str {
        &self.features[r.feature as usize]
    }

    /// The catalog's phrase for a reason ("83 % of joins came through an invite link").
    pub fn reason_text(&self, r: &Reason) -> String {
        let name = self.feature_name(r);
        catalog_entry(self.entity, name).map_or_else(
            || format!("{name} = {}", r.value().map_or("unknown".to_string(), |v| v.to_string())),
            |e| e.reason_text(r.value()),
        )
    }
}

/// Rows whose contributions are computed together: their values (as `f32`) and
/// contributions stay in cache while every tree of their model routes them.
const REASON_CHUNK: usize = 512;

/// Scores of one kind from the cross-fitted passes: each entity's calibrated probability and
/// its `top` reasons, from the contributions of the second-stage model that scored it (its
/// fold's). None when the kind has no model.
pub fn from_crossfit(table: &FeatureTable, result: &KindResult, top: usize) -> Option<Scores> {
    let model = result.model.as_ref().ok()?;
    let d = result.design.as_ref()?;
    let cols = select(table, model.features()).ok()?;
    // Rows grouped by the fold model that scored them, in chunks: each model's trees are
    // prepared once ([`Fitted::explainer`](super::learners::Fitted::explainer)) and rayon
    // shares out the chunks, whose rows are routed through each tree together.
    let p = d.x.ncols();
    let explainers: Vec<_> = model.second.folds.iter().map(|m| m.explainer()).collect();
    let mut by_fold: Vec<Vec<usize>> = vec![Vec::new(); explainers.len()];
    for r in 0..cols.rows() {
        by_fold[result.fold[r] as usize].push(r);
    }
    let chunks: Vec<(usize, &[usize])> = by_fold.iter().enumerate().flat_map(|(f, rows)| rows.chunks(REASON_CHUNK).map(move |c| (f, c))).collect();
    let done: Vec<Vec<Vec<Reason>>> = chunks
        .par_iter()
        .map(|&(f, rows)| {
            let (_, contribs) = explainers[f].rows(&d.x, rows);
            rows.iter()
                .enumerate()
                .map(|(i, &r)| {
                    let contrib = &contribs[i * p..(i + 1) * p];
                    let mut order: Vec<usize> = (0..contrib.len()).filter(|&j| contrib[j] > 0.0).collect();
                    order.sort_by(|&a, &b| contrib[b].total_cmp(&contrib[a]).then(a.cmp(&b)));
                    order
                        .into_iter()
                        .take(top)
                        .map(|j| {
                            let v = cols.values[j][r];
                            Reason::new(j, (!v.is_nan()).then_some(v), contrib[j])
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let mut reasons: Vec<Vec<Reason>> = vec![Vec::new(); cols.rows()];
    for (&(_, rows), chunk) in chunks.iter().zip(done) {
        for (&r, rs) in rows.iter().zip(chunk) {
            reasons[r] = rs;
        }
    }
    Some(Scores {
        features: model.features().to_vec(),
        entity: model.entity,
        method: ScoreMethod::Model,
        ids: table.ids.clone(),
        score: result.probability.clone(),
        reasons,
    })
}

/// Features the unlabelled fallback ranks by, per kind.
pub fn unsupervised_features(entity: EntityKind) -> &'static [&'static str] {
    match entity {
        EntityKind::Group => &["ppr_membership", "lockstep_member_share", "max_jaccard_any_group", "dense_block_score", "members_in_violating_groups_share", "photo_hash_match"],
        EntityKind::Account => &["ppr_membership", "lockstep_partners", "dense_block_score", "violating_groups_now", "photo_hash_match"],
    }
}

/// Rank-average score over [`unsupervised_features`] (nulls rank lowest; ties share their
/// mean rank), in 0..1. Reasons are the features where the entity ranks highest.
pub fn unsupervised(table: &FeatureTable, entity: EntityKind, top: usize) -> Scores {
    let names: Vec<&str> = unsupervised_features(entity).iter().copied().filter(|n| table.column(n).is_some_and(|c| c.iter().any(|v| v.is_some()))).collect();
    let n = table.ids.len();
    let ranks: Vec<Vec<f64>> = names
        .iter()
        .map(|name| {
            let v = table.column(name).expect("filtered");
            let mut order: Vec<usize> = (0..n).collect();
            let key = |i: usize| v.get(i).unwrap_or(f64::NEG_INFINITY);
            order.sort_by(|&a, &b| key(a).total_cmp(&key(b)).then(a.cmp(&b)));
            let mut rank = vec![0.0; n];
            let mut i = 0;
            while i < n {
                let mut j = i;
                while j + 1 < n && key(order[j + 1]) == key(order[i]) {
                    j += 1;
                }
                let r = (i + j) as f64 / 2.0 / (n.max(2) - 1) as f64;
                for &k in &order[i..=j] {
                    rank[k] = r;
                }
                i = j + 1;
            }
            rank
        })
        .collect();
    let mut score = vec![0.0; n];
    let mut reasons = vec![Vec::new(); n];
    for i in 0..n {
        if !names.is_empty() {
            score[i] = ranks.iter().map(|r| r[i]).sum::<f64>() / names.len() as f64;
        }
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&a, &b| ranks[b][i].total_cmp(&ranks[a][i]).then(a.cmp(&b)));
        reasons[i] = order
            .into_iter()
            .take(top)
            .filter(|&k| ranks[k][i] > 0.5)
            .map(|k| {
                let value = table.column(names[k]).expect("filtered").get(i);
                Reason::new(k, value, ranks[k][i])
            })
            .collect();
    }
    Scores { features: names.iter().map(|n| n.to_string()).collect(), entity, method: ScoreMethod::Unsupervised, ids: table.ids.clone(), score, reasons }
}
