//! Models: turning feature tables into calibrated, explained scores.
//!
//! | module | role |
//! |---|---|
//! | [`data`] | feature matrices, preprocessing |
//! | [`learners`] | logistic regression, random forest and gradient-boosted trees, stored as plain data |
//! | [`train`] | folds, positive–unlabelled targets, candidate selection, calibration, evaluation |
//! | [`crossfit`] | the fold passes training and scoring share: both stages, fold-masked features |
//! | [`metrics`] | PR-AUC, ROC-AUC, precision at capacity, reliability (checked against scikit-learn) |
//! | [`calibration`] | Platt and isotonic maps from raw scores to probabilities |
//! | [`score`] | scoring a window with a model file: probabilities and their reasons |
//!
//! A [`ModelFile`] is JSON: versioned, with the feature names in order, the catalog and
//! schema versions, the preprocessing, the training data range, label counts and the
//! evaluation figures. Loading one whose features are absent from the data is an error.

pub mod calibration;
pub mod crossfit;
pub mod data;
pub mod learners;
pub mod metrics;
pub mod score;
pub mod train;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::schema::EntityKind;

pub use train::{KindModel, Skipped, TrainConfig};

/// Serde for `f64` fields that may be NaN or infinite (no fold evaluated, an empty
/// reliability bin): JSON has no NaN, so they are written as `null` and read back as NaN.
pub mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// Format version of model files this build reads and writes.
pub const MODEL_FORMAT: u32 = 2;

/// Everything needed to score a window and to know what the scores are worth.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelFile {
    pub format: u32,
    pub code_version: String,
    pub feature_catalog_version: u32,
    /// Version of every table schema in data-schemas/ at training time.
    pub schema_versions: std::collections::BTreeMap<String, u32>,
    /// As-of date and window the model was trained on.
    pub trained_as_of: String,
    pub window_days: u32,
    /// Oldest and newest label decision used, epoch ms.
    pub label_range_ms: Option<(i64, i64)>,
    pub config: TrainConfig,
    pub group: Option<KindModel>,
    pub account: Option<KindModel>,
    /// Kinds without a model, and why (too few labels).
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read model file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("model file {path} is not a groupwatch model: {source}")]
    Parse { path: String, source: serde_json::Error },
    #[error("model file {path} has format {found}; this build reads format {MODEL_FORMAT}")]
    Format { path: String, found: u32 },
    #[error("the {entity} model needs features the data does not have: {missing:?} (model catalog version {model_catalog}, data catalog version {data_catalog})")]
    Features { entity: EntityKind, missing: Vec<String>, model_catalog: u32, data_catalog: u32 },
}

impl crate::ExitCode for ModelError {
    fn is_bad_input(&self) -> bool {
        true
    }
}

impl ModelFile {
    pub fn load(path: &Path) -> Result<ModelFile, ModelError> {
        let p = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| ModelError::Read { path: p.clone(), source })?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|source| ModelError::Parse { path: p.clone(), source })?;
        let found = v.get("format").and_then(|f| f.as_u64()).unwrap_or(0) as u32;
        if found != MODEL_FORMAT {
            return Err(ModelError::Format { path: p, found });
        }
        serde_json::from_value(v).map_err(|source| ModelError::Parse { path: p, source })
    }

    /// Writes the model atomically; an error names the path.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec_pretty(self)?;
        crate::io::write_bytes(path, &bytes).map_err(|e| e.context(format!("writing {}", path.display())))
    }

    /// The model of entity kind `entity`, if the file has one.
    pub fn kind(&self, entity: EntityKind) -> Option<&KindModel> {
        match entity {
            EntityKind::Group => self.group.as_ref(),
            EntityKind::Account => self.account.as_ref(),
        }
    }

    /// Why the file has no model of kind `entity`, if it has none.
    pub fn skipped(&self, entity: EntityKind) -> Option<&Skipped> {
        self.skipped.iter().find(|s| s.entity == entity)
    }
}

/// Oldest and newest label decision of the window, epoch ms.
pub fn label_range_ms(w: &crate::ingest::Window) -> Option<(i64, i64)> {
    let ts = w.labels.iter().filter(|l| l.ts < w.now_ms).map(|l| l.ts);
    ts.clone().min().zip(ts.max())
}

impl ModelFile {
    /// Builds a model file from a training run's results per kind.
    pub fn new(group: Result<KindModel, Skipped>, account: Result<KindModel, Skipped>, label_range_ms: Option<(i64, i64)>, as_of: chrono::NaiveDate, window_days: u32, config: TrainConfig) -> ModelFile {
        let mut skipped = Vec::new();
        let mut keep = |r: Result<KindModel, Skipped>| r.map_err(|s| skipped.push(s)).ok();
        let group = keep(group);
        let account = keep(account);
        ModelFile {
            format: MODEL_FORMAT,
            code_version: env!("CARGO_PKG_VERSION").into(),
            feature_catalog_version: crate::features::catalog().0,
            schema_versions: crate::schema::Contract::get().versions(),
            trained_as_of: as_of.to_string(),
            window_days,
            label_range_ms,
            config,
            group,
            account,
            skipped,
        }
    }

    /// The cross-validation's folds and out-of-fold scores of the kinds trained in this process,
    /// as the `oof_scores` table (`data-schemas/oof_scores.toml`): groups, then accounts, by id.
    /// A model read back from its file has none (they are not stored in it).
    pub fn oof_frame(&self) -> polars::prelude::PolarsResult<polars::prelude::DataFrame> {
        use crate::io::col;
        let rows: Vec<(&'static str, &train::OofRow)> = [(EntityKind::Group.as_str(), &self.group), (EntityKind::Account.as_str(), &self.account)]
            .into_iter()
            .flat_map(|(kind, k)| k.iter().flat_map(move |k| k.oof.iter().map(move |r| (kind, r))))
            .collect();
        crate::io::frame(vec![
            col::static_strs("kind", rows.iter().map(|r| r.0).collect()),
            col::u64s("entity_id", rows.iter().map(|r| r.1.entity_id).collect()),
            col::u8s("fold", rows.iter().map(|r| r.1.fold).collect()),
            col::static_strs("label", rows.iter().map(|r| if r.1.violating { "violating" } else { "benign" }).collect()),
            col::f64s("raw_score", rows.iter().map(|r| r.1.raw_score).collect()),
            col::f64s("score", rows.iter().map(|r| r.1.score).collect()),
        ])
    }

    /// The evaluation as a readable summary (Markdown).
    pub fn summary(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "# groupwatch model evaluation\n");
        let _ = writeln!(s, "Trained as of {} on a {}-day window; feature catalog v{}.", self.trained_as_of, self.window_days, self.feature_catalog_version);
        let _ = writeln!(
            s,
            "Folds: {} cross-fitting folds by id hash; every entity's seed-based and network features are computed with its fold's labels hidden, \
             and it is scored by the models fitted without its fold. PR-AUC and ROC-AUC: labelled violating against every other entity, per fold; \
             new-network PR-AUC: the same with every entity's community hidden from its seed-based features, as if its network had never been labelled; \
             labelled PR-AUC: violating against benign labels; precision at capacity: labelled violators in the top {} (a lower bound). \
             Each candidate is judged per fold on the mean of PR-AUC and new-network PR-AUC; the blend is chosen unless the logistic regression beats it by more than one standard error of the paired per-fold differences (a single boosted model's lead is not trusted: the folds split networks, so it can come from learning a labelled network's own profile).\n",
            crate::features::FOLDS,
            self.config.capacity
        );
        for k in [&self.group, &self.account].into_iter().flatten() {
            let _ = writeln!(s, "## {} model\n", k.entity);
            let _ = writeln!(
                s,
                "Labels: {} violating, {} benign; {} unlabelled {}s. First stage: {}; second stage: {}; calibration: {} (label frequency {:.3}, estimated prevalence among the unlabelled {:.4}).\n",
                k.labels_violating,
                k.labels_benign,
                k.unlabelled,
                k.entity,
                k.first.as_ref().map_or("none".to_string(), |f| f.learner.describe()),
                k.second.learner.describe(),
                k.calibration.name(),
                k.calibration.label_frequency,
                k.estimated_prevalence,
            );
            let _ = writeln!(s, "| variant | candidate | PR-AUC (95 % CI) | new-network PR-AUC | ROC-AUC | labelled PR-AUC | precision@capacity | recall@precision 0.9 |");
            let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
            for (variant, e) in [("all features", Some(&k.evaluation)), ("tabular only (the first stage)", k.tabular_only.as_ref())] {
                let Some(e) = e else { continue };
                for (i, c) in e.candidates.iter().enumerate() {
                    let mark = if i == e.chosen { " **(chosen)**" } else { "" };
                    let _ = writeln!(
                        s,
                        "| {variant} | {}{mark} | {:.3} ({:.3}–{:.3}) | {} | {:.3} | {} | {} | {:.3} |",
                        c.description,
                        c.pr_auc.mean,
                        c.pr_auc.lo,
                        c.pr_auc.hi,
                        c.new_network_pr_auc.as_ref().map_or("–".into(), |e| format!("{:.3}", e.mean)),
                        c.roc_auc.mean,
                        c.labelled_pr_auc.map_or("–".into(), |p| format!("{p:.3}")),
                        c.precision_at_capacity.map_or("–".into(), |p| format!("{p:.3}")),
                        c.recall_at_precision_90
                    );
                }
            }
            let e = &k.evaluation;
            let _ = writeln!(
                s,
                "\nOut-of-fold rows: {} ({} labelled violating). On labelled entities: Brier {}, ECE {}.\n",
                e.evaluated,
                e.evaluated_positive,
                e.brier.map_or("–".into(), |b| format!("{b:.4}")),
                e.ece.map_or("–".into(), |b| format!("{b:.4}"))
            );
            let _ = writeln!(s, "Reliability (calibrators fitted on the other folds):\n\n| predicted | rows | mean predicted | observed |\n|---|---|---|---|");
            for b in e.reliability.iter().filter(|b| b.count > 0) {
                let _ = writeln!(s, "| {:.1}–{:.1} | {} | {:.3} | {:.3} |", b.lower, b.upper, b.count, b.mean_predicted, b.observed_rate);
            }
            let _ = writeln!(s, "\nTop features:\n");
            for (name, v) in k.importance.iter().take(12) {
                let _ = writeln!(s, "- {name}: {v:.4}");
            }
            let _ = writeln!(s);
        }
        for sk in &self.skipped {
            let _ = writeln!(s, "## {} model: not trained\n\n{}\n", sk.entity, sk.reason);
        }
        s
    }
}
