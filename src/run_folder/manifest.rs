//! `manifest.json`: what a run read, decided and wrote, as one typed record.
//!
//! `run` fills a [`Manifest`] and writes it; `report` and `sweep` read it back through
//! [`super::RunFolder::manifest`]. The file's keys are sorted at every level, as they have been
//! since the first run folders (the manifest used to be built as an untyped JSON value, whose
//! maps serde_json keeps sorted), so [`Manifest::to_json`] goes through a [`serde_json::Value`]:
//! the same run gives the same bytes whatever order the Rust fields are declared in. Fields
//! below are declared in that order anyway, so the struct reads like the file.
//!
//! Only wall times and peak memory (`stages`) differ between two runs of the same inputs,
//! configuration and seed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::features::SeedCounts;
use crate::ingest::{IngestStats, ReviewStats};
use crate::model::score::ScoreMethod;
use crate::model::Skipped;
use crate::policy::Policy;
use crate::replay::ReplayStats;

/// How reviewers' decisions become labels, as the manifest states it.
pub const REVIEW_DECISIONS_RULE: &str = "confirmed = violating, dismissed = benign, source review, at the decision's time; a cluster decision labels the groups of that cluster in the previous run folder's cluster_members";

/// The whole `manifest.json` of a run folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub as_of: NaiveDate,
    /// The policy as applied: the file's, with the thresholds of kinds flagged by rank raised;
    /// `sweep` replays this one by default so its "current policy" line agrees. `None` in run
    /// folders written before it was recorded.
    #[serde(default)]
    pub effective_policy: Option<Policy>,
    /// Columns outside the contract per table, ignored (the validation notes name each file).
    pub extra_columns: BTreeMap<String, BTreeSet<String>>,
    pub feature_catalog_version: u32,
    pub groupwatch_version: String,
    pub hamming_threshold: u32,
    pub ingest: IngestStats,
    /// Per input table: its files and their checksums.
    pub inputs: BTreeMap<String, InputTable>,
    pub model: ModelRecord,
    pub networks: NetworksRecord,
    pub policy: PolicyRecord,
    pub replay: ReplayStats,
    pub review_decisions: ReviewRecord,
    pub rows: RowCounts,
    /// Per table and `dt=` folder, rows whose event date is another day (read by their time).
    pub rows_outside_their_dt_folder: BTreeMap<String, BTreeMap<String, u64>>,
    /// Version of every table schema in `data-schemas/`.
    pub schema_versions: BTreeMap<String, u32>,
    pub scoring: Scoring,
    pub seed: u64,
    pub seeds: SeedCounts,
    pub stages: Vec<StageFigures>,
    /// Features whose input table is absent (or too few labels), as `table.feature`.
    pub unavailable_features: Vec<String>,
    pub warnings: Vec<String>,
    pub window_days: u32,
}

impl Manifest {
    /// The file's bytes: pretty JSON with every object's keys sorted.
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        serde_json::to_vec_pretty(&serde_json::to_value(self)?)
    }
}

/// One input table's files.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputTable {
    pub bytes: u64,
    /// SHA-256 of each file's bytes, by path relative to the input folder.
    pub file_sha256: BTreeMap<String, String>,
    pub files: usize,
    /// SHA-256 over every (path, file sum) in path order: one checksum for the table.
    pub sha256_of_file_sums: String,
}

/// The model that scored the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelRecord {
    /// The chosen second-stage learner of each kind, `None` for a kind without a model.
    pub account: Option<String>,
    pub group: Option<String>,
    /// The `--model` file, or "trained in this run".
    pub origin: String,
    /// SHA-256 of `model.json`'s compact serialisation.
    pub sha256: String,
    /// Kinds without a model, and why.
    pub skipped: Vec<Skipped>,
    /// `<trained as-of>-<first 12 hex digits of sha256>`, also in every score row.
    pub version: String,
}

/// The suspected networks written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworksRecord {
    pub accounts_in_clusters: usize,
    pub clusters: usize,
    pub groups_in_clusters: usize,
    pub ids_kept_from_previous_run: usize,
    pub ids_new: usize,
    /// The earlier run folder whose cluster ids were kept.
    pub previous_run: Option<String>,
}

/// The policy file as given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyRecord {
    pub name: String,
    /// The policy file's path, or "built-in default".
    pub origin: String,
    pub settings: Policy,
    /// SHA-256 of the policy file's bytes.
    pub sha256: String,
    pub version: u32,
}

/// Reviewers' decisions joined to the labels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewRecord {
    pub applied: ReviewStats,
    /// The earlier run folder whose clusters resolved cluster decisions.
    pub clusters_resolved_in: Option<String>,
    /// [`REVIEW_DECISIONS_RULE`].
    pub rule: String,
}

/// Rows written and flagged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowCounts {
    pub account_features: usize,
    pub accounts_flagged: usize,
    pub group_features: usize,
    pub groups_flagged: usize,
    pub quarantine: usize,
}

impl RowCounts {
    /// (name, count) in the file's order.
    pub fn named(&self) -> [(&'static str, usize); 5] {
        [
            ("account_features", self.account_features),
            ("accounts_flagged", self.accounts_flagged),
            ("group_features", self.group_features),
            ("groups_flagged", self.groups_flagged),
            ("quarantine", self.quarantine),
        ]
    }
}

/// What each kind's scores are.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scoring {
    pub account: ScoreMethod,
    pub group: ScoreMethod,
}

/// One stage's wall time and memory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageFigures {
    pub stage: String,
    pub seconds: f64,
    /// Peak resident memory of the process so far, MiB.
    pub peak_rss_mib: Option<f64>,
}
