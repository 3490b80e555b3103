//! Evaluation against held-out ground truth: how well a run's scores find the planted
//! networks of a synthetic dataset the model never saw.
//!
//! Cross-validated figures in a model file are measured on past decisions (labels), which
//! are a biased sample of the platform: mostly entities that were once reported or reviewed.
//! A synthetic dataset knows the whole truth (`groupwatch synth` writes it to `DIR/truth/`,
//! beside the input), so the honest test of a model is: train on one generated platform,
//! score another generated with a different seed, and measure on the entities whose truth
//! the scored run could not see. Entities labelled in the scored run's input are left out by
//! default: their own label is a seed of the propagation features there, so including them
//! would measure the seeds, not the model.
//!
//! Figures per entity kind, each on three slices of the unlabelled scored entities:
//! - `all`: every planted entity against every benign one;
//! - `camouflaged`: entities of camouflaged networks (no bursts, no batch-cap hits, no hash
//!   matches, benign text: only the graph gives them away) against the benign ones, with the
//!   loud networks' entities left out;
//! - `loud`: the other networks' entities against the benign ones.
//!
//! For groups also the network recall: the share of planted networks with at least one
//! (unlabelled) group among the `k` highest-scored groups, `k` being the review capacity.
//! Ranks break ties by ascending id, so every figure is deterministic.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::metrics;
use crate::run_folder::{RunFolder, RunFolderError, RunTable, Table};
use crate::schema::EntityKind;

/// A run folder or truth folder that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error(transparent)]
    RunFolder(#[from] RunFolderError),
    #[error("{} is missing: a truth folder written by `groupwatch synth` (DIR/truth) is needed", path.display())]
    MissingTruth { path: PathBuf },
    /// A truth file that cannot be read (the error names it).
    #[error(transparent)]
    Truth(RunFolderError),
}

impl crate::ExitCode for EvaluateError {
    fn is_bad_input(&self) -> bool {
        true
    }
}

/// Settings of one evaluation.
#[derive(Debug, Clone)]
pub struct EvaluateConfig {
    pub run_dir: PathBuf,
    pub truth_dir: PathBuf,
    /// Review capacity: precision and recall are measured in the top `k`.
    pub k: usize,
    /// Also evaluate entities labelled in the scored run's input (leaky: see module docs).
    pub include_labelled: bool,
}

/// Ranking figures of one slice.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SliceFigures {
    pub entities: usize,
    pub positives: usize,
    pub pr_auc: Option<f64>,
    pub roc_auc: Option<f64>,
    /// Share of positives among the `k` highest-scored entities of the slice.
    pub precision_at_k: Option<f64>,
    /// Share of the slice's positives among its `k` highest-scored entities.
    pub recall_at_k: Option<f64>,
}

/// The three slices of one entity kind.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KindFigures {
    pub all: SliceFigures,
    pub camouflaged: SliceFigures,
    pub loud: SliceFigures,
    /// Scored entities left out because the run's input labels them.
    pub labelled_excluded: usize,
}

/// Planted networks found in the top `k` groups.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NetworkRecall {
    /// Networks with at least one evaluated group.
    pub networks: usize,
    pub found: usize,
    pub recall: Option<f64>,
    pub camouflaged_networks: usize,
    pub camouflaged_found: usize,
    pub camouflaged_recall: Option<f64>,
    /// Networks all of whose groups are labelled or unscored (not evaluable).
    pub not_evaluable: usize,
}

/// The whole evaluation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TruthEvaluation {
    pub model_version: String,
    pub k: usize,
    pub include_labelled: bool,
    pub groups: KindFigures,
    pub accounts: KindFigures,
    pub networks: NetworkRecall,
}

/// What the truth says of one entity.
#[derive(Clone, Copy)]
struct Truth {
    network: u64,
    camouflaged: bool,
}

/// Evaluates a run folder against a truth folder.
pub fn evaluate(cfg: &EvaluateConfig) -> Result<TruthEvaluation, EvaluateError> {
    let run = RunFolder::open(&cfg.run_dir)?;
    let labelled = read_labelled(&run)?;
    let (gids, gscores, model_version) = read_scores(&run, EntityKind::Group)?;
    let (aids, ascores, _) = read_scores(&run, EntityKind::Account)?;
    let gtruth = read_truth(&cfg.truth_dir.join("groups.parquet"), "group_id", Some("violating"))?;
    let atruth = read_truth(&cfg.truth_dir.join("accounts.parquet"), "account_id", None)?;

    let keep = |kind: EntityKind, ids: &[u64]| -> (Vec<usize>, usize) {
        let rows: Vec<usize> = (0..ids.len()).filter(|&i| cfg.include_labelled || !labelled.contains(&(kind, ids[i]))).collect();
        let excluded = ids.len() - rows.len();
        (rows, excluded)
    };
    let (grows, gex) = keep(EntityKind::Group, &gids);
    let (arows, aex) = keep(EntityKind::Account, &aids);
    let groups = kind_figures(&gids, &gscores, &grows, &gtruth, cfg.k, gex);
    let accounts = kind_figures(&aids, &ascores, &arows, &atruth, cfg.k, aex);

    // Network recall over the evaluated groups.
    let all_networks = read_networks(&cfg.truth_dir.join("networks.parquet"))?;
    let ranked = top_k(&gids, &gscores, &grows, cfg.k);
    let found: HashSet<u64> = ranked.iter().filter_map(|&i| gtruth.get(&gids[i]).map(|t| t.network)).collect();
    let evaluable: HashSet<u64> = grows.iter().filter_map(|&i| gtruth.get(&gids[i]).map(|t| t.network)).collect();
    let (mut n, mut f, mut cn, mut cf) = (0, 0, 0, 0);
    for (net, &camo) in &all_networks {
        if !evaluable.contains(net) {
            continue;
        }
        let hit = found.contains(net);
        n += 1;
        f += usize::from(hit);
        if camo {
            cn += 1;
            cf += usize::from(hit);
        }
    }
    let share = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
    let networks = NetworkRecall {
        networks: n,
        found: f,
        recall: share(f, n),
        camouflaged_networks: cn,
        camouflaged_found: cf,
        camouflaged_recall: share(cf, cn),
        not_evaluable: all_networks.len() - n,
    };
    Ok(TruthEvaluation { model_version, k: cfg.k, include_labelled: cfg.include_labelled, groups, accounts, networks })
}

/// Rows of `rows` in descending score order, ties by ascending id, first `k`.
fn top_k(ids: &[u64], scores: &[f64], rows: &[usize], k: usize) -> Vec<usize> {
    let mut r = rows.to_vec();
    r.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(ids[a].cmp(&ids[b])));
    r.truncate(k);
    r
}

fn kind_figures(ids: &[u64], scores: &[f64], rows: &[usize], truth: &HashMap<u64, Truth>, k: usize, labelled_excluded: usize) -> KindFigures {
    let slice = |keep: &dyn Fn(Option<&Truth>) -> bool| -> SliceFigures {
        // Rows in ascending id order, so the metrics' tie rule (ascending row) is by id.
        let mut r: Vec<usize> = rows.iter().copied().filter(|&i| keep(truth.get(&ids[i]))).collect();
        r.sort_by_key(|&i| ids[i]);
        let s: Vec<f64> = r.iter().map(|&i| scores[i]).collect();
        let y: Vec<bool> = r.iter().map(|&i| truth.contains_key(&ids[i])).collect();
        SliceFigures {
            entities: r.len(),
            positives: y.iter().filter(|&&b| b).count(),
            pr_auc: metrics::average_precision(&s, &y),
            roc_auc: metrics::roc_auc(&s, &y),
            precision_at_k: metrics::precision_at_k(&s, &y, k),
            recall_at_k: metrics::recall_at_k(&s, &y, k),
        }
    };
    KindFigures {
        all: slice(&|_| true),
        camouflaged: slice(&|t| t.is_none_or(|t| t.camouflaged)),
        loud: slice(&|t| t.is_none_or(|t| !t.camouflaged)),
        labelled_excluded,
    }
}

// ---------------------------------------------------------------- reading

fn read_scores(run: &RunFolder, kind: EntityKind) -> Result<(Vec<u64>, Vec<f64>, String), RunFolderError> {
    let key = kind.id_column();
    let t = run.read(RunTable::Scores(kind), &[key, "score", "model_version"], None)?;
    let ids = t.u64s(key)?;
    let scores: Vec<f64> = t.f64s("score")?.into_iter().map(|v| v.unwrap_or(0.0)).collect();
    let version = t.opt_strs("model_version")?.into_iter().next().flatten().unwrap_or_default();
    Ok((ids, scores, version))
}

/// Every labelled entity in the run.
fn read_labelled(run: &RunFolder) -> Result<HashSet<(EntityKind, u64)>, RunFolderError> {
    let t = run.read(RunTable::Labels, &["entity_kind", "entity_id"], None)?;
    Ok(t.kinds("entity_kind")?.into_iter().zip(t.u64s("entity_id")?).collect())
}

/// A truth file's `columns`.
fn read_truth_file(path: &Path, columns: &[&str]) -> Result<Table, EvaluateError> {
    Table::read_file(path, columns).map_err(EvaluateError::Truth)?.ok_or_else(|| EvaluateError::MissingTruth { path: path.to_path_buf() })
}

/// Planted entities by id. Groups' truth lists every group with a `violating` flag; accounts'
/// lists planted accounts only.
fn read_truth(path: &Path, key: &str, violating: Option<&str>) -> Result<HashMap<u64, Truth>, EvaluateError> {
    let mut columns = vec![key, "camouflaged", "network"];
    columns.extend(violating);
    let t = read_truth_file(path, &columns)?;
    let truth = || -> Result<HashMap<u64, Truth>, RunFolderError> {
        let (ids, camo, net) = (t.u64s(key)?, t.opt_bools("camouflaged")?, t.opt_u64s("network")?);
        let viol = violating.map(|v| t.opt_bools(v)).transpose()?;
        let mut out = HashMap::new();
        for i in 0..ids.len() {
            if viol.as_ref().is_some_and(|v| v[i] != Some(true)) {
                continue;
            }
            let Some(network) = net[i] else { continue };
            out.insert(ids[i], Truth { network, camouflaged: camo[i].unwrap_or(false) });
        }
        Ok(out)
    };
    truth().map_err(EvaluateError::Truth)
}

fn read_networks(path: &Path) -> Result<BTreeMap<u64, bool>, EvaluateError> {
    let t = read_truth_file(path, &["network", "camouflaged"])?;
    let networks = || -> Result<BTreeMap<u64, bool>, RunFolderError> {
        let (ids, camo) = (t.u64s("network")?, t.opt_bools("camouflaged")?);
        Ok(ids.into_iter().zip(camo).map(|(n, c)| (n, c.unwrap_or(false))).collect())
    };
    networks().map_err(EvaluateError::Truth)
}

// ---------------------------------------------------------------- presenting

fn fmt(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{x:.3}"))
}

impl TruthEvaluation {
    /// A Markdown summary: one row per kind and slice, then the network recall.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "Evaluation against held-out truth (model {}, top k = {}, {} entities)\n\n\
| kind | slice | entities | positives | PR-AUC | ROC-AUC | precision@k | recall@k |\n|---|---|---|---|---|---|---|---|\n",
            self.model_version,
            self.k,
            if self.include_labelled { "all scored" } else { "unlabelled" }
        );
        for (kind, f) in [(EntityKind::Group, &self.groups), (EntityKind::Account, &self.accounts)] {
            for (name, x) in [("all", &f.all), ("camouflaged", &f.camouflaged), ("loud", &f.loud)] {
                s += &format!(
                    "| {kind} | {name} | {} | {} | {} | {} | {} | {} |\n",
                    x.entities,
                    x.positives,
                    fmt(x.pr_auc),
                    fmt(x.roc_auc),
                    fmt(x.precision_at_k),
                    fmt(x.recall_at_k)
                );
            }
        }
        let n = &self.networks;
        s += &format!(
            "\nNetwork recall (a group in the top {}): {} of {} networks ({}); camouflaged {} of {} ({}); {} networks not evaluable (every group labelled or unscored).\n",
            self.k,
            n.found,
            n.networks,
            fmt(n.recall),
            n.camouflaged_found,
            n.camouflaged_networks,
            fmt(n.camouflaged_recall),
            n.not_evaluable
        );
        s
    }
}
