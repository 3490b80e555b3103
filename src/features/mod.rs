//! Behavioural features of groups and accounts.
//!
//! Each feature is a pure function of per-entity inputs gathered from the [`Window`] and the
//! replayed [`MembershipState`]; gathering is separate from the formulas so the engine can
//! later be moved onto a distributed dataflow without changing what a feature means. Counts are
//! accumulated as integers and every reduction has a fixed order, so results do not depend on
//! the thread count.
//!
//! Every feature is named, described and unit-tagged in `data-schemas/feature_catalog.toml`;
//! `tests/it/features.rs` checks that the code and the catalog list the same features and that
//! each tabular feature equals the same quantity computed independently in Python (polars) from
//! the input Parquet files. A feature whose input table is absent is null for every entity and
//! listed as unavailable, never zero.

pub mod account;
pub mod graph;
pub mod group;
pub mod network;
pub mod pdq;
pub mod text;

use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ingest::Window;
use crate::replay::MembershipState;
use crate::schema::EntityKind;

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

/// Labelled entities that seed the propagation features, counted for `manifest.json` and
/// `features.json`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SeedCounts {
    pub accounts: usize,
    pub groups: usize,
}

impl SeedCounts {
    pub fn of(seeds: &graph::Seeds) -> SeedCounts {
        SeedCounts { accounts: seeds.accounts.len(), groups: seeds.groups.len() }
    }
}

/// One feature column. Values are stored as `f64` with NaN for null (8 bytes a value
/// instead of `Option<f64>`'s 16: ten million accounts' features are several gigabytes);
/// [`get`](FeatureColumn::get) and [`iter`](FeatureColumn::iter) give `Option`s. A NaN a
/// formula produced is therefore null, never written as NaN.
#[derive(Debug, Clone)]
pub struct FeatureColumn {
    pub name: &'static str,
    values: Vec<f64>,
}

impl FeatureColumn {
    pub fn new(name: &'static str, values: impl IntoIterator<Item = Option<f64>>) -> FeatureColumn {
        FeatureColumn { name, values: values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect() }
    }

    /// Row `r`'s value, `None` when null.
    pub fn get(&self, r: usize) -> Option<f64> {
        let v = self.values[r];
        (!v.is_nan()).then_some(v)
    }

    pub fn iter(&self) -> impl Iterator<Item = Option<f64>> + '_ {
        self.values.iter().map(|&v| (!v.is_nan()).then_some(v))
    }

    /// The values with NaN for null (the model's own representation of a missing value).
    pub fn as_nan_slice(&self) -> &[f64] {
        &self.values
    }

    /// Rows `lo..hi` as a nullable Float64 column.
    fn column(&self, lo: usize, hi: usize) -> Column {
        let ca: Float64Chunked = self.values[lo..hi].iter().map(|&v| (!v.is_nan()).then_some(v)).collect();
        ca.with_name(self.name.into()).into_column()
    }
}

/// Features of one entity kind: row `r` is the entity with dense index `rows[r]`.
#[derive(Debug, Clone)]
pub struct FeatureTable {
    pub kind: EntityKind,
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

    /// Rows `lo..hi` as a frame (the table is written a row group at a time).
    pub fn frame_rows(&self, lo: usize, hi: usize) -> PolarsResult<DataFrame> {
        let mut cols = vec![Column::new(self.kind.id_column().into(), &self.ids[lo..hi])];
        for c in &self.columns {
            cols.push(c.column(lo, hi));
        }
        DataFrame::new(hi - lo, cols)
    }

    /// Writes the table to `path` a row group at a time (see [`crate::io::write_parquet_parts`]).
    pub fn write(&self, path: &Path, sync: bool) -> anyhow::Result<()> {
        crate::io::write_parquet_parts(path, self.ids.len(), sync, &|lo, hi| self.frame_rows(lo, hi))
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
            self.rows.par_iter().map(|&i| f(i as usize).unwrap_or(f64::NAN)).collect()
        } else {
            self.unavailable.push(name);
            vec![f64::NAN; self.rows.len()]
        };
        self.columns.push(FeatureColumn { name, values });
    }

    pub fn finish(self, kind: EntityKind, ids: &[u64]) -> FeatureTable {
        FeatureTable {
            kind,
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
    let mut v: Vec<u64> = rows.filter(|f| f.batch_size >= 5).filter_map(|f| f.action()).collect();
    v.sort_unstable();
    v.dedup();
    v.len() as f64
}

/// Adds `photo_hash_distance` and `photo_hash_match` for entities with these photos.
pub(crate) fn add_photo_features(t: &mut TableBuilder, needs: &[&str], photos: &[Option<[u8; 32]>], distance: &[Option<u32>]) {
    t.add("photo_hash_distance", needs, |i| distance[i].map(f64::from));
    t.add("photo_hash_match", needs, |i| photos[i].map(|_| f64::from(u8::from(distance[i].is_some()))));
}

pub(crate) fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

/// Everything derived from a window once and shared by every seed set: the graphs and the
/// seed-independent results on them, media reach, hash-bank matches, text vectors. A trainer
/// builds it once and recomputes only the seed-based columns per fold.
pub struct Context {
    pub graphs: graph::Graphs,
    /// Distinct groups each media object touched in the window, sorted by fingerprint.
    pub media_reach: Vec<(u64, u32)>,
    /// Hamming distance of each account's / group's photo to its nearest bank hash, when
    /// within the configured threshold.
    pub account_photo_match: Vec<Option<u32>>,
    pub group_photo_match: Vec<Option<u32>>,
    /// Hashed text vectors: accounts' about; groups' subject and description.
    pub account_text: Vec<Option<Vec<(u32, f64)>>>,
    pub group_text: Vec<Option<Vec<(u32, f64)>>>,
    pub config: FeatureConfig,
    /// Text scores of the last label sets seen, so a trainer asking again for a label set
    /// the feature stage already scored (everything visible) does not refit.
    text_cache: TextCache,
}

/// The most recent text scores per (kind, visible labels); a few entries, since each holds a
/// score per entity.
#[derive(Default)]
struct TextCache(std::sync::Mutex<Vec<TextCacheEntry>>);

type TextCacheEntry = (EntityKind, Vec<(u32, bool)>, std::sync::Arc<Option<Vec<Option<f64>>>>);

impl TextCache {
    const ENTRIES: usize = 4;

    fn get_or_fit(&self, kind: EntityKind, labels: &[(u32, bool)], fit: impl FnOnce() -> Option<Vec<Option<f64>>>) -> std::sync::Arc<Option<Vec<Option<f64>>>> {
        let lock = || self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = lock().iter().find(|e| e.0 == kind && e.1 == labels) {
            return e.2.clone();
        }
        let scores = std::sync::Arc::new(fit());
        let mut cache = lock();
        if cache.len() >= Self::ENTRIES {
            cache.remove(0);
        }
        cache.push((kind, labels.to_vec(), scores.clone()));
        scores
    }
}

impl Context {
    pub fn build(w: &Window, st: &MembershipState, cfg: &FeatureConfig) -> Context {
        use rayon::prelude::*;
        // The graphs' two sequential algorithms (Fraudar, Louvain) leave cores idle that the
        // photo matches and text vectors fill: all run side by side, each as it would alone.
        let (graphs, (account_photo_match, group_photo_match, account_text, group_text, media_reach)) = rayon::join(
            || graph::Graphs::build(w, st),
            || {
                let clock = std::time::Instant::now();
                let bank = pdq::PdqIndex::new(w.hash_bank.iter().map(|e| e.0).collect());
                let matches = |photos: &[Option<[u8; 32]>]| -> Vec<Option<u32>> {
                    photos.par_iter().map(|p| p.and_then(|h| bank.nearest(&h, cfg.hamming_threshold)).map(|(_, d)| d)).collect()
                };
                let account_photo_match = matches(&w.accounts.photo);
                let group_photo_match = matches(&w.groups.photo);
                let account_text: Vec<_> = w.accounts.about.par_iter().map(|t| text::vectorise([t.as_deref()])).collect();
                let group_text: Vec<_> = (0..w.groups.ids.len())
                    .into_par_iter()
                    .map(|g| text::vectorise([w.groups.subject[g].as_deref(), w.groups.description[g].as_deref()]))
                    .collect();
                let media_reach = group::media_reach(w);
                tracing::debug!(seconds = clock.elapsed().as_secs_f64(), "photo matches, text vectors, media reach");
                (account_photo_match, group_photo_match, account_text, group_text, media_reach)
            },
        );
        Context {
            graphs,
            media_reach,
            account_photo_match,
            group_photo_match,
            account_text,
            group_text,
            config: cfg.clone(),
            text_cache: TextCache::default(),
        }
    }

    /// Frees the text vectors and cached text scores once no more text scores will be asked
    /// for (after the feature stage and any training): a run on ten million accounts holds
    /// gigabytes of them.
    pub fn release_text(&mut self) {
        self.account_text = Vec::new();
        self.group_text = Vec::new();
        *self.text_cache.0.lock().unwrap_or_else(|e| e.into_inner()) = Vec::new();
    }
}

/// Cross-fitting folds: everything learned from labels is computed per fold with that
/// fold's labels hidden (see [`crate::model::train`]).
pub const FOLDS: u8 = 5;

/// An entity's fold, from a hash of its id: stable across runs and nights.
pub fn fold_of(id: u64) -> u8 {
    (crate::units::mix64(id ^ 0x7e57_f01d) % u64::from(FOLDS)) as u8
}

/// The features that do not depend on labels or seeds: tabular and structural graph ones.
pub fn tabular(w: &Window, st: &MembershipState, ctx: &Context) -> (FeatureTable, FeatureTable) {
    let t = std::time::Instant::now();
    let mut groups = group::compute(w, st, ctx);
    tracing::debug!(seconds = t.elapsed().as_secs_f64(), "group features");
    let t = std::time::Instant::now();
    let mut accounts = account::compute(w, st, ctx);
    tracing::debug!(seconds = t.elapsed().as_secs_f64(), "account features");
    let t = std::time::Instant::now();
    let (gcols, acols) = graph::structural(w, st, &ctx.graphs);
    tracing::debug!(seconds = t.elapsed().as_secs_f64(), "structural graph features");
    append(w, &mut groups, EntityKind::Group, gcols, (false, false));
    append(w, &mut accounts, EntityKind::Account, acols, (false, false));
    (groups, accounts)
}

/// Text scores of both kinds (groups, accounts) by dense index, learned from the visible
/// labels. The text model cross-fits over [`FOLDS`] by [`fold_of`], so each entity's score
/// comes from a model fitted without its fold's labels.
pub fn text_scores(w: &Window, ctx: &Context, seeds: &graph::Seeds) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
    let clock = std::time::Instant::now();
    let none = |n: usize| vec![None; n];
    let cached = |kind, vectors, labels: &[(u32, bool)], key: &[u64]| {
        let s = ctx.text_cache.get_or_fit(kind, labels, || text::cross_fitted_scores(vectors, labels, key));
        s.as_ref().clone().unwrap_or_else(|| none(key.len()))
    };
    let g = cached(EntityKind::Group, &ctx.group_text, &seeds.labelled_groups, &w.groups.ids);
    let a = cached(EntityKind::Account, &ctx.account_text, &seeds.labelled_accounts, &w.accounts.ids);
    tracing::debug!(seconds = clock.elapsed().as_secs_f64(), "text scores");
    (g, a)
}

/// Whether a feature of `entity` is computed from labels or hash matches.
pub fn is_seed_based(entity: EntityKind, name: &str) -> bool {
    catalog_entry(entity, name).is_some_and(|e| e.seed_based)
}

/// Appends graph columns (by dense index) to a table, nulling those whose inputs are absent.
/// A seed-based feature needs something to seed from (labels or a hash bank); a text score
/// needs labels, and is unavailable when too few violating labels are visible to train on; a
/// network feature needs the first-stage scores it reads (`first`: groups', accounts').
pub fn append(w: &Window, table: &mut FeatureTable, entity: EntityKind, cols: graph::Columns, first: (bool, bool)) {
    let seeded = w.has_table("labels") || w.has_table("hash_bank");
    let entries = catalog_entries();
    for (name, values) in cols {
        debug_assert!(name == "text_score" || graph_feature_names(entity).contains(&name), "{name} not listed as a graph feature");
        let entry = entries.iter().find(|e| e.entity == entity && e.name == name).expect("graph feature in the catalog");
        // A text score that could not be trained (too few visible violating texts) is null
        // for everyone: unavailable, not zero.
        let untrained = name == "text_score" && values.iter().all(Option::is_none);
        let reads_first = entry.first_stage.iter().all(|k| match k {
            EntityKind::Group => first.0,
            EntityKind::Account => first.1,
        });
        let available = (seeded || !entry.seed_based) && entry.needs.iter().all(|t| w.has_table(t)) && !untrained && reads_first;
        if !available {
            table.unavailable.push(name);
        }
        table.columns.push(FeatureColumn::new(name, table.rows.iter().map(|&i| if available { values[i as usize] } else { None })));
    }
}

/// Names of the graph features of `entity`.
pub fn graph_feature_names(entity: EntityKind) -> &'static [&'static str] {
    match entity {
        EntityKind::Group => graph::GROUP_GRAPH_FEATURES,
        EntityKind::Account => graph::ACCOUNT_GRAPH_FEATURES,
    }
}

/// One entry of `data-schemas/feature_catalog.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    pub name: String,
    pub entity: EntityKind,
    pub unit: String,
    pub needs: Vec<String>,
    #[serde(default)]
    pub seed_based: bool,
    /// Network features: the kinds whose first-stage scores the feature reads.
    #[serde(default)]
    pub first_stage: Vec<EntityKind>,
    pub description: String,
    /// A short phrase for investigators with `{value}` where the formatted value goes,
    /// e.g. "{value} of members joined through an invite link".
    #[serde(default)]
    pub reason: String,
}

impl CatalogEntry {
    /// The value as an investigator reads it, by unit: shares as percentages, counts as
    /// whole numbers, flags as yes/no.
    pub fn format_value(&self, v: Option<f64>) -> String {
        let Some(v) = v else { return "unknown".into() };
        match self.unit.as_str() {
            "share" | "ratio 0..1" => format!("{:.0} %", v * 100.0),
            "0/1" => if v >= 0.5 { "yes" } else { "no" }.into(),
            "days" | "hours" | "ratio" | "blocks per member" | "reports per member" => format!("{v:.1}"),
            "x uniform" => format!("{v:.1}x"),
            "score 0..1" | "density" | "cosine" | "tie weight" => format!("{v:.2}"),
            _ if v.fract() == 0.0 => format!("{v:.0}"),
            _ => format!("{v:.2}"),
        }
    }

    /// The reason phrase with the value filled in (the feature name when no phrase exists).
    pub fn reason_text(&self, v: Option<f64>) -> String {
        let value = self.format_value(v);
        if self.reason.is_empty() {
            format!("{} = {value}", self.name)
        } else {
            self.reason.replace("{value}", &value)
        }
    }
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

/// The catalog entries, parsed once.
pub fn catalog_entries() -> &'static [CatalogEntry] {
    static ENTRIES: std::sync::OnceLock<Vec<CatalogEntry>> = std::sync::OnceLock::new();
    ENTRIES.get_or_init(|| catalog().1)
}

/// The catalog entry of a feature of `entity`.
pub fn catalog_entry(entity: EntityKind, name: &str) -> Option<&'static CatalogEntry> {
    catalog_entries().iter().find(|e| e.entity == entity && e.name == name)
}

/// Writes both tables into `dir` as `group_features.parquet` and `account_features.parquet`.
pub fn write(dir: &Path, groups: &FeatureTable, accounts: &FeatureTable) -> anyhow::Result<()> {
    groups.write(&dir.join("group_features.parquet"), true)?;
    accounts.write(&dir.join("account_features.parquet"), true)?;
    Ok(())
}
