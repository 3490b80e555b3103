//! Behavioural features of groups and accounts.
//!
//! Each feature is a pure function of per-entity inputs gathered from the [`Window`] and the
//! replayed [`MembershipState`]; gathering is separate from the formulas so the engine can
//! later be moved onto a distributed dataflow without changing what a feature means. Counts are
//! accumulated as integers and every reduction has a fixed order, so results do not depend on
//! the thread count.
//!
//! Every feature is named, described and unit-tagged in `data-schemas/feature_catalog.toml`;
//! `tests/features.rs` checks that the code and the catalog list the same features and that
//! each tabular feature equals the same quantity computed independently in Python (polars) from
//! the input Parquet files. A feature whose input table is absent is null for every entity and
//! listed as unavailable, never zero.

pub mod account;
pub mod graph;
pub mod group;
pub mod pdq;

use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ingest::Window;
use crate::replay::MembershipState;

/// Feature-stage settings.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureConfig {
    /// PDQ Hamming distance at or below which a photo matches the hash bank.
    pub hamming_threshold: u32,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig { hamming_threshold: 31 }
    }
}

/// One feature column: `None` = null.
#[derive(Debug, Clone)]
pub struct FeatureColumn {
    pub name: &'static str,
    pub values: Vec<Option<f64>>,
}

/// Features of one entity kind: row `r` is the entity with dense index `rows[r]`.
#[derive(Debug, Clone)]
pub struct FeatureTable {
    pub key: &'static str,
    pub ids: Vec<u64>,
    pub rows: Vec<u32>,
    pub columns: Vec<FeatureColumn>,
    /// Features whose input tables are absent (all null).
    pub unavailable: Vec<&'static str>,
}

impl FeatureTable {
    pub fn column(&self, name: &str) -> Option<&FeatureColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn to_frame(&self) -> PolarsResult<DataFrame> {
        let mut cols = vec![Column::new(self.key.into(), self.ids.clone())];
        for c in &self.columns {
            cols.push(Column::new(c.name.into(), c.values.clone()));
        }
        DataFrame::new_infer_height(cols)
    }
}

/// Builds a table from per-feature closures over the rows, nulling features whose tables
/// are absent.
pub(crate) struct TableBuilder<'a> {
    pub w: &'a Window,
    pub rows: Vec<u32>,
    pub columns: Vec<FeatureColumn>,
    pub unavailable: Vec<&'static str>,
}

impl<'a> TableBuilder<'a> {
    pub fn new(w: &'a Window, rows: Vec<u32>) -> Self {
        TableBuilder { w, rows, columns: Vec::new(), unavailable: Vec::new() }
    }

    /// Adds a feature computed per dense index by `f`, unless one of `needs` is absent.
    pub fn add(&mut self, name: &'static str, needs: &[&str], f: impl Fn(usize) -> Option<f64> + Sync) {
        use rayon::prelude::*;
        let available = needs.iter().all(|t| self.w.has_table(t));
        let values = if available {
            self.rows.par_iter().map(|&i| f(i as usize)).collect()
        } else {
            self.unavailable.push(name);
            vec![None; self.rows.len()]
        };
        self.columns.push(FeatureColumn { name, values });
    }

    pub fn finish(self, key: &'static str, ids: &[u64]) -> FeatureTable {
        FeatureTable {
            key,
            ids: self.rows.iter().map(|&i| ids[i as usize]).collect(),
            rows: self.rows,
            columns: self.columns,
            unavailable: self.unavailable,
        }
    }
}

pub(crate) fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Distinct forward actions among `rows` that went to the client's cap of 5 chats or more.
pub(crate) fn capped_actions<'a>(rows: impl Iterator<Item = &'a crate::ingest::Forward>) -> f64 {
    let mut v: Vec<u64> = rows.filter(|f| f.batch_size >= 5).filter_map(|f| f.action).collect();
    v.sort_unstable();
    v.dedup();
    v.len() as f64
}

/// Adds `photo_hash_distance` and `photo_hash_match` for entities with these photos.
pub(crate) fn add_photo_features(
    t: &mut TableBuilder,
    needs: &[&str],
    photos: &[Option<[u8; 32]>],
    bank: &pdq::PdqIndex,
    threshold: u32,
) {
    let distance = |i: usize| photos[i].and_then(|h| bank.nearest(&h, threshold)).map(|(_, d)| d);
    t.add("photo_hash_distance", needs, |i| distance(i).map(f64::from));
    t.add("photo_hash_match", needs, |i| photos[i].map(|_| f64::from(u8::from(distance(i).is_some()))));
}

pub(crate) fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

/// Group and account feature tables for a window, with every label decided before as-of
/// (and every hash-bank match) visible as a seed: the tables an investigator or a scorer
/// reads. Trainers hide labels with [`compute_with_seeds`].
pub fn compute(w: &Window, st: &MembershipState, cfg: &FeatureConfig) -> (FeatureTable, FeatureTable) {
    let graphs = graph::Graphs::build(w, st);
    let seeds = graph::Seeds::visible(w, cfg, w.now_ms, &[], &[]);
    compute_with_seeds(w, st, &graphs, cfg, &seeds)
}

/// As [`compute`], with the graphs built once by the caller and the seed set given.
pub fn compute_with_seeds(
    w: &Window,
    st: &MembershipState,
    graphs: &graph::Graphs,
    cfg: &FeatureConfig,
    seeds: &graph::Seeds,
) -> (FeatureTable, FeatureTable) {
    let mut groups = group::compute(w, st, cfg);
    let mut accounts = account::compute(w, st, cfg);
    let (gcols, acols) = graph::features(w, st, graphs, seeds);
    // Seed-based features need something to seed from: labels or a hash bank.
    let seeded = w.has_table("labels") || w.has_table("hash_bank");
    let entries = catalog().1;
    for (entity, table, cols) in [("group", &mut groups, gcols), ("account", &mut accounts, acols)] {
        for (name, values) in cols {
            let entry = entries.iter().find(|e| e.entity == entity && e.name == name).expect("graph feature in the catalog");
            let available = (seeded || !entry.seed_based) && entry.needs.iter().all(|t| w.has_table(t));
            if !available {
                table.unavailable.push(name);
            }
            let values = table.rows.iter().map(|&i| if available { values[i as usize] } else { None }).collect();
            table.columns.push(FeatureColumn { name, values });
        }
    }
    (groups, accounts)
}

/// One entry of `data-schemas/feature_catalog.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    pub name: String,
    pub entity: String,
    pub unit: String,
    pub needs: Vec<String>,
    #[serde(default)]
    pub seed_based: bool,
    pub description: String,
}

#[derive(Debug, Deserialize)]
struct Catalog {
    version: u32,
    feature: Vec<CatalogEntry>,
}

/// The feature catalog compiled into the binary.
pub fn catalog() -> (u32, Vec<CatalogEntry>) {
    let c: Catalog = toml::from_str(include_str!("../../data-schemas/feature_catalog.toml"))
        .expect("data-schemas/feature_catalog.toml parses (checked by tests)");
    (c.version, c.feature)
}

/// Writes both tables into `dir` as `group_features.parquet` and `account_features.parquet`.
pub fn write(dir: &Path, groups: &FeatureTable, accounts: &FeatureTable) -> anyhow::Result<()> {
    crate::io::write_parquet(&mut groups.to_frame()?, &dir.join("group_features.parquet"))?;
    crate::io::write_parquet(&mut accounts.to_frame()?, &dir.join("account_features.parquet"))?;
    Ok(())
}
