//! Threshold sweeps and policy comparisons: what a policy change would cost in reviews.
//!
//! Policy teams own the thresholds (`../shared/spec/detection.md`, "Policy"), and a threshold
//! is only meaningful next to what it costs: how many groups and accounts it would send to
//! review, how many reviewer hours that is against the team's daily capacity, and what
//! precision and recall it buys on labelled data. This module answers that from a finished
//! run folder alone, without re-reading inputs or re-scoring: `groupwatch run` writes
//! `policy_facts.parquet` (everything [`Policy::decide`] looks at, per scored entity) and
//! `labels.parquet` (the latest label per labelled entity), and every figure here is
//! [`Policy::decide`] replayed on those facts, so a sweep can never disagree with the run.
//!
//! - [`sweep`]: one row per threshold `t` in `0, 1/steps, …, 1`, the same `t` for groups and
//!   accounts (one axis a policy lead can read), with the policy's rules and minimum group size
//!   unchanged: flagged counts, precision and recall with Wilson 95 % intervals, review hours.
//!   Also the figures at the policy's own per-kind thresholds ([`Sweep::current`]) and the
//!   smallest grid threshold whose flags fit the daily capacity ([`Sweep::capacity_threshold`]).
//! - [`compare`]: the entities one policy flags and another does not, with the reasons.
//! - Writers for `sweep.parquet`, `sweep.csv` (same rows, byte-stable), `sweep.svg` (a chart
//!   read at a glance) and `compare.csv`, and a short text [`summary`].
//!
//! Precision and recall are measured on labelled entities only, and labels come mostly from
//! past reviews of flagged entities, so they are figures on the labelled sample, not the
//! platform. Counts are often small and near 0 or 1, where the normal approximation fails;
//! hence Wilson intervals ([`wilson`]). Labelled entities the run did not score cannot be
//! flagged; they are counted apart ([`LabelCounts::unscored`]) and left out of recall.
//!
//! Networks: when the run folder has `cluster_members.parquet`, each row also counts the
//! networks with at least one member flagged at that threshold (column `networks`; a network
//! is the run's cluster, not re-clustered per threshold). Without it the column is absent.
//!
//! Complexity: with `n` scored entities, `O(n log steps)` calls to [`Policy::decide`] (a
//! threshold flags monotonically, so each entity's last flagged grid point is found by
//! bisection) plus `O(steps)`; counts are integers, so results do not depend on thread count.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;

use crate::policy::{Facts, Policy};
use crate::report::esc;
use crate::run_folder::{RunFolder, RunFolderError, RunTable};
use crate::schema::EntityKind;

/// Thresholds a sweep tries by default: 0, 0.01, …, 1.
pub const DEFAULT_STEPS: usize = 100;

/// The normal 97.5 % quantile: Wilson intervals are 95 % intervals.
const Z_975: f64 = 1.959963984540054;

/// A run folder the sweep cannot use, or an output it cannot write.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    RunFolder(#[from] RunFolderError),
    #[error("a sweep needs at least one step (steps = 0)")]
    NoSteps,
    #[error("writing {}: {error:#}", path.display())]
    Write { path: PathBuf, error: anyhow::Error },
}

impl crate::ExitCode for SweepError {
    fn is_bad_input(&self) -> bool {
        !matches!(self, SweepError::Write { .. })
    }
}

/// A review outcome from `labels.parquet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Violating,
    Benign,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Violating => "violating",
            Label::Benign => "benign",
        }
    }
}

/// A proportion with its Wilson 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// `successes / trials` with the Wilson score 95 % interval; `None` when `trials` is 0.
pub fn wilson(successes: usize, trials: usize) -> Option<Interval> {
    if trials == 0 {
        return None;
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = Z_975 * Z_975;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z_975 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    // Clamp rounding at the ends (0/n and n/n).
    Some(Interval { value: p, low: (centre - half).max(0.0), high: (centre + half).min(1.0) })
}

/// What one policy setting flags among one kind of entity (or both kinds together).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Counts {
    pub flagged: usize,
    /// Flagged entities that carry a label.
    pub flagged_labelled: usize,
    /// Flagged entities labelled violating.
    pub true_positives: usize,
    /// `true_positives / flagged_labelled`; `None` when nothing labelled is flagged.
    pub precision: Option<Interval>,
    /// `true_positives /` scored entities labelled violating; `None` when there are none.
    pub recall: Option<Interval>,
    /// `flagged × hours_per_review`.
    pub review_hours: f64,
}

impl Counts {
    fn new(flagged: usize, flagged_labelled: usize, true_positives: usize, violating: usize, hours_per_review: f64) -> Counts {
        Counts {
            flagged,
            flagged_labelled,
            true_positives,
            precision: wilson(true_positives, flagged_labelled),
            recall: wilson(true_positives, violating),
            review_hours: flagged as f64 * hours_per_review,
        }
    }
}

/// [`Counts`] per kind and for both kinds together.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figures {
    pub groups: Counts,
    pub accounts: Counts,
    pub total: Counts,
}

/// One threshold of a sweep, applied to both kinds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SweepRow {
    pub threshold: f64,
    pub figures: Figures,
    /// Networks (clusters of the run's `cluster_members`) with at least one entity flagged at
    /// this threshold; `None` when the run folder has no `cluster_members.parquet`.
    pub networks: Option<usize>,
}

/// Labels of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LabelCounts {
    /// Scored entities labelled violating (recall's denominator).
    pub violating: usize,
    /// Scored entities labelled benign.
    pub benign: usize,
    /// Labelled entities the run did not score (not in `policy_facts`): never flagged here.
    pub unscored: usize,
}

/// One kind's population in the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Population {
    pub scored: usize,
    pub labels: LabelCounts,
}

/// A threshold sweep over one run folder under one policy.
#[derive(Debug, Clone, Serialize)]
pub struct Sweep {
    pub run_dir: PathBuf,
    /// The policy swept: rules, minimum group size, capacity and hours come from it.
    pub policy: Policy,
    pub steps: usize,
    pub groups: Population,
    pub accounts: Population,
    /// Thresholds `i / steps` for `i` in `0..=steps`, ascending.
    pub rows: Vec<SweepRow>,
    /// The figures at the policy's own thresholds (per kind).
    pub current: Figures,
    /// The smallest grid threshold at which groups + accounts flagged ≤ `daily_capacity`;
    /// `None` when the rules alone flag more than that.
    pub capacity_threshold: Option<f64>,
}

impl Sweep {
    /// Whether the run had clusters, so the rows count networks.
    pub fn has_networks(&self) -> bool {
        self.rows.first().is_some_and(|r| r.networks.is_some())
    }

    /// The row at [`Sweep::capacity_threshold`].
    pub fn capacity_row(&self) -> Option<&SweepRow> {
        let t = self.capacity_threshold?;
        self.rows.iter().find(|r| r.threshold == t)
    }
}

/// One scored entity, with its label if it has one.
struct Entry {
    kind: EntityKind,
    id: u64,
    facts: Facts,
    label: Option<Label>,
}

/// The run folder's facts joined with its labels.
struct RunData {
    entries: Vec<Entry>,
    /// Cluster id per entity, from `cluster_members.parquet` when the run has one.
    clusters: Option<ClusterOf>,
    groups: Population,
    accounts: Population,
}

impl RunData {
    fn violating(&self, kind: EntityKind) -> usize {
        match kind {
            EntityKind::Group => self.groups.labels.violating,
            EntityKind::Account => self.accounts.labels.violating,
        }
    }
}

/// Sweeps one threshold, shared by both kinds, over `0, 1/steps, …, 1`.
///
/// Each row decides every entity with a clone of `policy` whose group and account thresholds
/// are set to the row's threshold; rules and `min_group_size` apply as in the policy.
pub fn sweep(run_dir: &Path, policy: &Policy, steps: usize) -> Result<Sweep, SweepError> {
    if steps == 0 {
        return Err(SweepError::NoSteps);
    }
    let data = load(run_dir)?;
    let thresholds: Vec<f64> = (0..=steps).map(|i| i as f64 / steps as f64).collect();
    let policies: Vec<Policy> = thresholds
        .iter()
        .map(|&t| {
            let mut p = policy.clone();
            p.review.group_threshold = t;
            p.review.account_threshold = t;
            p
        })
        .collect();
    let last = data.entries.par_iter().map(|e| last_flagged(e, &policies)).collect::<Vec<_>>();

    // Histograms of each entity's last flagged grid point; suffix sums give the counts.
    let n = thresholds.len();
    let mut hist = [[vec![0usize; n], vec![0usize; n], vec![0usize; n]], [vec![0usize; n], vec![0usize; n], vec![0usize; n]]];
    for (e, l) in data.entries.iter().zip(&last) {
        let Some(i) = *l else { continue };
        let h = &mut hist[kind_index(e.kind)];
        h[0][i] += 1;
        if e.label.is_some() {
            h[1][i] += 1;
        }
        if e.label == Some(Label::Violating) {
            h[2][i] += 1;
        }
    }
    for h in hist.iter_mut().flat_map(|h| h.iter_mut()) {
        for i in (0..n - 1).rev() {
            h[i] += h[i + 1];
        }
    }
    // A network counts at a threshold when any of its entities is flagged there: its last
    // flagged grid point is the largest of its members'.
    let networks: Option<Vec<usize>> = data.clusters.as_ref().map(|of| {
        let mut last_of: HashMap<u64, usize> = HashMap::new();
        for (e, l) in data.entries.iter().zip(&last) {
            if let (Some(i), Some(&c)) = (*l, of.get(&(e.kind, e.id))) {
                let v = last_of.entry(c).or_insert(i);
                *v = (*v).max(i);
            }
        }
        let mut h = vec![0usize; n];
        last_of.values().for_each(|&i| h[i] += 1);
        for i in (0..n - 1).rev() {
            h[i] += h[i + 1];
        }
        h
    });
    let hours = policy.review.hours_per_review;
    let rows: Vec<SweepRow> = thresholds
        .iter()
        .enumerate()
        .map(|(i, &threshold)| {
            let tally = |k: usize| [hist[k][0][i], hist[k][1][i], hist[k][2][i]];
            SweepRow { threshold, figures: figures(tally(0), tally(1), &data, hours), networks: networks.as_ref().map(|h| h[i]) }
        })
        .collect();

    let mut cur = [[0usize; 3]; 2];
    for e in &data.entries {
        if policy.decide(e.kind, &e.facts).flagged {
            let c = &mut cur[kind_index(e.kind)];
            c[0] += 1;
            c[1] += usize::from(e.label.is_some());
            c[2] += usize::from(e.label == Some(Label::Violating));
        }
    }
    let current = figures(cur[0], cur[1], &data, hours);
    // Flagged counts never rise with the threshold, so the first fit is the smallest.
    let capacity_threshold = rows.iter().find(|r| r.figures.total.flagged <= policy.review.daily_capacity).map(|r| r.threshold);
    Ok(Sweep { run_dir: run_dir.to_path_buf(), policy: policy.clone(), steps, groups: data.groups, accounts: data.accounts, rows, current, capacity_threshold })
}

fn kind_index(kind: EntityKind) -> usize {
    match kind {
        EntityKind::Group => 0,
        EntityKind::Account => 1,
    }
}

/// Figures from `[flagged, flagged_labelled, true_positives]` per kind.
fn figures(g: [usize; 3], a: [usize; 3], data: &RunData, hours: f64) -> Figures {
    let (gv, av) = (data.violating(EntityKind::Group), data.violating(EntityKind::Account));
    Figures {
        groups: Counts::new(g[0], g[1], g[2], gv, hours),
        accounts: Counts::new(a[0], a[1], a[2], av, hours),
        total: Counts::new(g[0] + a[0], g[1] + a[1], g[2] + a[2], gv + av, hours),
    }
}

/// The last index into `policies` (ascending thresholds) at which `decide` flags the entity,
/// by bisection: an entity flagged at a threshold is flagged at every lower one.
fn last_flagged(e: &Entry, policies: &[Policy]) -> Option<usize> {
    let flagged = |i: usize| policies[i].decide(e.kind, &e.facts).flagged;
    let top = policies.len() - 1;
    if !flagged(0) {
        return None;
    }
    if flagged(top) {
        return Some(top);
    }
    // Invariant: flagged at lo, not at hi.
    let (mut lo, mut hi) = (0, top);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if flagged(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(lo)
}

/// An entity one policy flags and the other does not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    pub kind: EntityKind,
    pub id: u64,
    pub score: f64,
    pub label: Option<Label>,
    /// Reason codes from the policy that flags it.
    pub reasons: Vec<String>,
}

/// Counts per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    pub groups: usize,
    pub accounts: usize,
}

impl KindCounts {
    pub fn total(&self) -> usize {
        self.groups + self.accounts
    }

    fn add(&mut self, kind: EntityKind) {
        match kind {
            EntityKind::Group => self.groups += 1,
            EntityKind::Account => self.accounts += 1,
        }
    }
}

/// Two policies on one run: what each flags that the other does not.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub run_dir: PathBuf,
    /// The policies' `name`s (they may coincide; "A" and "B" in the outputs).
    pub a: String,
    pub b: String,
    pub flagged_a: KindCounts,
    pub flagged_b: KindCounts,
    pub only_a_counts: KindCounts,
    pub only_b_counts: KindCounts,
    /// Flagged by A and not B, by score descending, then id, then kind.
    pub only_a: Vec<Difference>,
    /// Flagged by B and not A, in the same order.
    pub only_b: Vec<Difference>,
}

/// Applies policies `a` and `b` to the run's facts and lists where they disagree.
pub fn compare(run_dir: &Path, a: &Policy, b: &Policy) -> Result<Comparison, SweepError> {
    let data = load(run_dir)?;
    let mut c = Comparison {
        run_dir: run_dir.to_path_buf(),
        a: a.name.clone(),
        b: b.name.clone(),
        flagged_a: KindCounts::default(),
        flagged_b: KindCounts::default(),
        only_a_counts: KindCounts::default(),
        only_b_counts: KindCounts::default(),
        only_a: Vec::new(),
        only_b: Vec::new(),
    };
    for e in &data.entries {
        let (da, db) = (a.decide(e.kind, &e.facts), b.decide(e.kind, &e.facts));
        let diff = |reasons: Vec<String>| Difference { kind: e.kind, id: e.id, score: e.facts.score, label: e.label, reasons };
        if da.flagged {
            c.flagged_a.add(e.kind);
        }
        if db.flagged {
            c.flagged_b.add(e.kind);
        }
        if da.flagged && !db.flagged {
            c.only_a_counts.add(e.kind);
            c.only_a.push(diff(da.reasons));
        } else if db.flagged && !da.flagged {
            c.only_b_counts.add(e.kind);
            c.only_b.push(diff(db.reasons));
        }
    }
    for list in [&mut c.only_a, &mut c.only_b] {
        list.sort_by(|x, y| {
            // Descending score; NaN (no score) last.
            let s = match (x.score.is_nan(), y.score.is_nan()) {
                (false, false) => y.score.total_cmp(&x.score),
                (nx, ny) => nx.cmp(&ny),
            };
            s.then(x.id.cmp(&y.id)).then(kind_index(x.kind).cmp(&kind_index(y.kind)))
        });
    }
    Ok(c)
}

// ---------------------------------------------------------------- reading the run folder

/// The policy a run applied, from its manifest's `effective_policy` (the policy file with the
/// thresholds of kinds flagged by rank raised): what a sweep replays when no policy is given,
/// so its "current policy" figures are the run's own. `None` for runs that predate it.
pub fn applied_policy(run_dir: &Path) -> Option<Policy> {
    RunFolder::open(run_dir).and_then(|r| r.manifest()).ok()?.effective_policy
}

fn load(run_dir: &Path) -> Result<RunData, RunFolderError> {
    let run = RunFolder::open(run_dir)?;
    let labels = load_labels(&run)?;

    let columns = ["entity_kind", "entity_id", "score", "members_now", "hash_match", "violating_admin", "child_safety_reports"];
    let t = run.read(RunTable::PolicyFacts, &columns, None)?;
    let kind = t.kinds("entity_kind")?;
    let id = t.column("entity_id", &DataType::UInt64)?;
    let score = t.column("score", &DataType::Float64)?;
    let members = t.column("members_now", &DataType::UInt64)?;
    let hash = t.column("hash_match", &DataType::Boolean)?;
    let admin = t.column("violating_admin", &DataType::Boolean)?;
    let reports = t.column("child_safety_reports", &DataType::UInt64)?;
    let (id, score, members) = (id.u64().unwrap(), score.f64().unwrap(), members.u64().unwrap());
    let (hash, admin, reports) = (hash.bool().unwrap(), admin.bool().unwrap(), reports.u64().unwrap());

    let mut entries = Vec::with_capacity(t.height());
    let mut seen: HashMap<(EntityKind, u64), usize> = HashMap::with_capacity(t.height());
    let (mut groups, mut accounts) = (Population::default(), Population::default());
    for (row, &k) in kind.iter().enumerate() {
        let Some(i) = id.get(row) else {
            return Err(t.bad_value(row, "entity_id", "null"));
        };
        if let Some(first) = seen.insert((k, i), row) {
            return Err(t.bad_value(row, "entity_id", format!("{} {i} already on row {first}", k.as_str())));
        }
        let facts = Facts {
            // A null score never passes a threshold; rules still apply.
            score: score.get(row).unwrap_or(f64::NAN),
            members_now: members.get(row).map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
            hash_match: hash.get(row).unwrap_or(false),
            violating_admin: admin.get(row).unwrap_or(false),
            child_safety_reports: reports.get(row).map_or(0, |r| u32::try_from(r).unwrap_or(u32::MAX)),
        };
        let label = labels.get(&(k, i)).map(|(l, _)| *l);
        let pop = if k == EntityKind::Group { &mut groups } else { &mut accounts };
        pop.scored += 1;
        match label {
            Some(Label::Violating) => pop.labels.violating += 1,
            Some(Label::Benign) => pop.labels.benign += 1,
            None => {}
        }
        entries.push(Entry { kind: k, id: i, facts, label });
    }
    for (k, i) in labels.keys() {
        if !seen.contains_key(&(*k, *i)) {
            let pop = if *k == EntityKind::Group { &mut groups } else { &mut accounts };
            pop.labels.unscored += 1;
        }
    }
    let clusters = load_clusters(&run)?;
    Ok(RunData { entries, clusters, groups, accounts })
}

/// The cluster of each entity in `cluster_members.parquet`; `None` without the file.
fn load_clusters(run: &RunFolder) -> Result<Option<ClusterOf>, RunFolderError> {
    let Some(t) = run.read_optional(RunTable::ClusterMembers, &["cluster_id", "entity_kind", "entity_id"], None)? else { return Ok(None) };
    let cid = t.column("cluster_id", &DataType::UInt64)?;
    let kind = t.kinds("entity_kind")?;
    let id = t.column("entity_id", &DataType::UInt64)?;
    let (cid, id) = (cid.u64().unwrap(), id.u64().unwrap());
    let mut out = HashMap::with_capacity(t.height());
    for (row, &k) in kind.iter().enumerate() {
        if let (Some(c), Some(i)) = (cid.get(row), id.get(row)) {
            out.insert((k, i), c);
        }
    }
    Ok(Some(out))
}

/// The cluster of each entity in a cluster.
type ClusterOf = HashMap<(EntityKind, u64), u64>;

/// Label and decision time (epoch ms) per entity.
type Labels = HashMap<(EntityKind, u64), (Label, i64)>;

/// The label per entity; should an entity appear twice, the latest `ts` (then the later row)
/// wins, as in training.
fn load_labels(run: &RunFolder) -> Result<Labels, RunFolderError> {
    // `ts` is optional: without it every label is equally old.
    let with_ts = run.columns(RunTable::Labels)?.iter().any(|c| c == "ts");
    let columns: &[&str] = if with_ts { &["entity_kind", "entity_id", "label", "ts"] } else { &["entity_kind", "entity_id", "label"] };
    let t = run.read(RunTable::Labels, columns, None)?;
    let kind = t.kinds("entity_kind")?;
    let id = t.column("entity_id", &DataType::UInt64)?;
    let label = t.column("label", &DataType::String)?;
    // Datetime(ms) or epoch-ms Int64.
    let ts = if with_ts { Some(t.times_ms("ts")?) } else { None };
    let (id, label) = (id.u64().unwrap(), label.str().unwrap());
    let mut out = HashMap::with_capacity(t.height());
    for (row, &k) in kind.iter().enumerate() {
        let Some(i) = id.get(row) else {
            return Err(t.bad_value(row, "entity_id", "null"));
        };
        let l = match label.get(row) {
            Some("violating") => Label::Violating,
            Some("benign") => Label::Benign,
            other => return Err(t.bad_value(row, "label", format!("{other:?} is not \"violating\" or \"benign\""))),
        };
        let t = ts.as_ref().and_then(|ts| ts[row]).unwrap_or(i64::MIN);
        match out.get(&(k, i)) {
            Some((_, prev)) if *prev > t => {}
            _ => {
                out.insert((k, i), (l, t));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- tables

/// Picks one kind's counts (or the total) from figures.
type Pick = fn(&Figures) -> &Counts;
/// Picks precision or recall from counts.
type Est = fn(&Counts) -> Option<Interval>;

/// One cell of the sweep table.
enum Cell {
    Count(usize),
    Float(f64),
    Maybe(Option<f64>),
}

type Getter = Box<dyn Fn(&SweepRow) -> Cell>;

/// The sweep table's columns, shared by the Parquet and CSV writers so they cannot drift.
fn sweep_columns(networks: bool) -> Vec<(String, Getter)> {
    let mut cols: Vec<(String, Getter)> = vec![("threshold".into(), Box::new(|r: &SweepRow| Cell::Float(r.threshold)))];
    let kinds: [(&str, Pick); 3] = [("group", |f| &f.groups), ("account", |f| &f.accounts), ("total", |f| &f.total)];
    for (prefix, pick) in kinds {
        let name = |s: &str| format!("{prefix}_{s}");
        cols.push((name("flagged"), Box::new(move |r| Cell::Count(pick(&r.figures).flagged))));
        cols.push((name("flagged_labelled"), Box::new(move |r| Cell::Count(pick(&r.figures).flagged_labelled))));
        cols.push((name("true_positives"), Box::new(move |r| Cell::Count(pick(&r.figures).true_positives))));
        let estimates: [(&str, Est); 2] = [("precision", |c| c.precision), ("recall", |c| c.recall)];
        for (what, est) in estimates {
            cols.push((name(what), Box::new(move |r| Cell::Maybe(est(pick(&r.figures)).map(|i| i.value)))));
            cols.push((format!("{prefix}_{what}_low"), Box::new(move |r| Cell::Maybe(est(pick(&r.figures)).map(|i| i.low)))));
            cols.push((format!("{prefix}_{what}_high"), Box::new(move |r| Cell::Maybe(est(pick(&r.figures)).map(|i| i.high)))));
        }
        cols.push((name("review_hours"), Box::new(move |r| Cell::Float(pick(&r.figures).review_hours))));
    }
    if networks {
        cols.push(("networks".into(), Box::new(|r| Cell::Count(r.networks.unwrap_or(0)))));
    }
    cols
}

/// The sweep as a frame: one row per threshold (nulls where precision or recall is undefined).
pub fn sweep_frame(s: &Sweep) -> PolarsResult<DataFrame> {
    let columns = sweep_columns(s.has_networks())
        .into_iter()
        .map(|(name, get)| {
            let cells: Vec<Cell> = s.rows.iter().map(&get).collect();
            match cells.first() {
                Some(Cell::Count(_)) => {
                    Column::new(name.into(), cells.iter().map(|c| if let Cell::Count(n) = c { *n as u64 } else { 0 }).collect::<Vec<u64>>())
                }
                Some(Cell::Float(_)) => {
                    Column::new(name.into(), cells.iter().map(|c| if let Cell::Float(x) = c { *x } else { f64::NAN }).collect::<Vec<f64>>())
                }
                _ => Column::new(name.into(), cells.iter().map(|c| if let Cell::Maybe(x) = c { *x } else { None }).collect::<Vec<Option<f64>>>()),
            }
        })
        .collect();
    crate::io::frame(columns)
}

/// Fixed six decimals, so the same figures always give the same bytes; NaN is empty.
fn fixed(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else {
        format!("{x:.6}")
    }
}

/// The sweep as CSV: a header and one row per threshold, the columns of [`sweep_frame`].
pub fn sweep_csv(s: &Sweep) -> String {
    let cols = sweep_columns(s.has_networks());
    let mut out = cols.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(",");
    out.push('\n');
    for r in &s.rows {
        let line: Vec<String> = cols
            .iter()
            .map(|(_, get)| match get(r) {
                Cell::Count(n) => n.to_string(),
                Cell::Float(x) => fixed(x),
                Cell::Maybe(x) => x.map(fixed).unwrap_or_default(),
            })
            .collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// Quotes a CSV field when it needs it.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A text cell (never a number groupwatch formats): quoted when it needs it, and neutralised
/// when a spreadsheet would run it as a formula. A cell that begins with `=`, `+`, `-`, `@`,
/// a tab or a carriage return gets a leading `'` and is quoted (OWASP's advice for CSV
/// injection), so Excel, LibreOffice and Sheets show it as text. Reason codes can carry text
/// from a policy file or a run folder's tables, which this CSV's readers did not write.
pub fn csv_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("\"'{}\"", s.replace('"', "\"\""))
    } else {
        csv_field(s)
    }
}

/// A comparison as CSV: `flagged_only_by` is `A` or `B`; reasons are `;`-separated.
pub fn compare_csv(c: &Comparison) -> String {
    let mut out = String::from("flagged_only_by,entity_kind,entity_id,score,label,reasons\n");
    for (side, list) in [("A", &c.only_a), ("B", &c.only_b)] {
        for d in list {
            let _ = writeln!(
                out,
                "{side},{},{},{},{},{}",
                csv_text(d.kind.as_str()),
                d.id,
                fixed(d.score),
                csv_text(d.label.map_or("", Label::as_str)),
                csv_text(&d.reasons.join(";"))
            );
        }
    }
    out
}

/// Files a sweep writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweepFiles {
    pub parquet: PathBuf,
    pub csv: PathBuf,
    pub svg: PathBuf,
}

fn write_file(path: PathBuf, bytes: &[u8]) -> Result<PathBuf, SweepError> {
    crate::io::write_bytes(&path, bytes).map_err(|error| SweepError::Write { path: path.clone(), error })?;
    Ok(path)
}

/// Writes `sweep.parquet`, `sweep.csv` and `sweep.svg` into `out_dir` (default: the run
/// folder), each atomically.
pub fn write_sweep(s: &Sweep, out_dir: Option<&Path>) -> Result<SweepFiles, SweepError> {
    let dir = out_dir.unwrap_or(&s.run_dir);
    let parquet = dir.join("sweep.parquet");
    let wrote = sweep_frame(s).map_err(anyhow::Error::from).and_then(|mut df| crate::io::write_parquet(&mut df, &parquet));
    wrote.map_err(|error| SweepError::Write { path: parquet.clone(), error })?;
    let csv = write_file(dir.join("sweep.csv"), sweep_csv(s).as_bytes())?;
    let svg = write_file(dir.join("sweep.svg"), sweep_svg(s).as_bytes())?;
    Ok(SweepFiles { parquet, csv, svg })
}

/// Writes `compare.csv` into `out_dir` (default: the run folder), atomically.
pub fn write_comparison(c: &Comparison, out_dir: Option<&Path>) -> Result<PathBuf, SweepError> {
    write_file(out_dir.unwrap_or(&c.run_dir).join("compare.csv"), compare_csv(c).as_bytes())
}

// ---------------------------------------------------------------- text

fn interval_text(i: Option<Interval>) -> String {
    match i {
        Some(i) => format!("{:.3} [{:.3}, {:.3}]", i.value, i.low, i.high),
        None => "n/a".to_string(),
    }
}

fn counts_line(name: &str, c: &Counts) -> String {
    format!(
        "  {name:<9}{:>8} flagged ({} labelled, {} violating): precision {}, recall {}",
        c.flagged,
        c.flagged_labelled,
        c.true_positives,
        interval_text(c.precision),
        interval_text(c.recall)
    )
}

fn run_name(p: &Path) -> String {
    p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// A few lines for a policy lead: the current policy's flags, precision, recall and review
/// hours against capacity, and the threshold that fills the capacity.
pub fn summary(s: &Sweep) -> String {
    let p = &s.policy;
    let r = &p.review;
    let capacity_hours = r.daily_capacity as f64 * r.hours_per_review;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Policy \"{}\" on {}: {} groups and {} accounts scored; labelled (violating/benign) groups {}/{}, accounts {}/{}.",
        p.name,
        run_name(&s.run_dir),
        s.groups.scored,
        s.accounts.scored,
        s.groups.labels.violating,
        s.groups.labels.benign,
        s.accounts.labels.violating,
        s.accounts.labels.benign
    );
    let unscored = s.groups.labels.unscored + s.accounts.labels.unscored;
    if unscored > 0 {
        let _ = writeln!(out, "{unscored} labelled entities were not scored in this run and are left out of recall.");
    }
    let _ = writeln!(
        out,
        "Current policy (groups >= {:.2} with at least {} members, accounts >= {:.2}, plus rules):",
        r.group_threshold, r.min_group_size, r.account_threshold
    );
    let c = &s.current;
    let _ = writeln!(out, "{}", counts_line("groups", &c.groups));
    let _ = writeln!(out, "{}", counts_line("accounts", &c.accounts));
    let _ = writeln!(out, "{}", counts_line("total", &c.total));
    let verdict =
        if c.total.flagged <= r.daily_capacity { "within capacity".to_string() } else { format!("{} over capacity", c.total.flagged - r.daily_capacity) };
    let _ = writeln!(
        out,
        "  review: {:.2} h for {} reviews against a capacity of {} reviews ({:.2} h) a day: {verdict}.",
        c.total.review_hours, c.total.flagged, r.daily_capacity, capacity_hours
    );
    match s.capacity_row() {
        Some(row) => {
            let t = &row.figures.total;
            let _ = writeln!(
                out,
                "Capacity: one threshold of {:.2} for both kinds flags {} ({:.2} h) <= {}: precision {}, recall {}.",
                row.threshold,
                t.flagged,
                t.review_hours,
                r.daily_capacity,
                interval_text(t.precision),
                interval_text(t.recall)
            );
        }
        None => {
            let rules = s.rows.last().map_or(0, |r| r.figures.total.flagged);
            let _ = writeln!(out, "Capacity: no threshold fits; the rules alone flag {rules} > {} a day.", r.daily_capacity);
        }
    }
    match (s.rows.first().and_then(|r| r.networks), s.capacity_row().and_then(|r| r.networks)) {
        (Some(all), Some(cap)) => {
            let _ = writeln!(out, "Networks: {all} in the run; {cap} with an entity flagged at the capacity threshold.");
        }
        (Some(all), None) => {
            let _ = writeln!(out, "Networks: {all} in the run.");
        }
        _ => {
            let _ = writeln!(out, "Networks: not available yet (the run folder has no cluster_members.parquet).");
        }
    }
    out
}

/// A few lines on a comparison.
pub fn compare_summary(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "A = \"{}\", B = \"{}\" on {}:", c.a, c.b, run_name(&c.run_dir));
    for (what, k) in [("flagged by A", &c.flagged_a), ("flagged by B", &c.flagged_b), ("only A", &c.only_a_counts), ("only B", &c.only_b_counts)] {
        let _ = writeln!(out, "  {what:<13}{:>8} ({} groups, {} accounts)", k.total(), k.groups, k.accounts);
    }
    out
}

// ---------------------------------------------------------------- chart

const W: f64 = 960.0;
const H: f64 = 620.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 860.0;
const TOP: f64 = 70.0;
const BOTTOM: f64 = 430.0;
const BLUE: &str = "#0072B2";
const VERMILLION: &str = "#D55E00";
const GREEN: &str = "#009E73";
const PURPLE: &str = "#CC79A7";
const ORANGE: &str = "#E69F00";
const DASH: &str = "7 4";

fn x_of(t: f64) -> f64 {
    LEFT + t.clamp(0.0, 1.0) * (RIGHT - LEFT)
}

fn y_left(v: f64) -> f64 {
    BOTTOM - v.clamp(0.0, 1.0) * (BOTTOM - TOP)
}

/// A polyline through the points, broken where a point is undefined.
fn path_d(points: impl Iterator<Item = Option<(f64, f64)>>) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for p in points {
        match p {
            Some((x, y)) => {
                let _ = write!(d, "{}{x:.1} {y:.1} ", if pen_down { "L" } else { "M" });
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    d.trim_end().to_string()
}

/// Closed shapes between lower and upper bounds, one per run of defined points.
fn band_d(points: &[(f64, Option<(f64, f64)>)]) -> String {
    let mut d = String::new();
    let mut run: Vec<(f64, f64, f64)> = Vec::new();
    let flush = |run: &mut Vec<(f64, f64, f64)>, d: &mut String| {
        if run.len() > 1 {
            let up = run.iter().map(|&(x, _, hi)| format!("{x:.1} {hi:.1}"));
            let down = run.iter().rev().map(|&(x, lo, _)| format!("{x:.1} {lo:.1}"));
            let _ = write!(d, "M{} Z ", up.chain(down).collect::<Vec<_>>().join(" L"));
        }
        run.clear();
    };
    for &(x, b) in points {
        match b {
            Some((lo, hi)) => run.push((x, lo, hi)),
            None => flush(&mut run, &mut d),
        }
    }
    flush(&mut run, &mut d);
    d.trim_end().to_string()
}

fn count_label(n: u64) -> String {
    match n {
        0..=999 => n.to_string(),
        1_000..=999_999 => format!("{}k", n / 1_000),
        _ => format!("{}M", n / 1_000_000),
    }
}

/// The sweep as a self-contained SVG chart: precision and recall (left axis, groups solid,
/// accounts dashed, shaded 95 % intervals), entities flagged (right axis, log scale), the
/// daily capacity, and vertical lines at the policy's thresholds and the capacity threshold.
pub fn sweep_svg(s: &Sweep) -> String {
    let r = &s.policy.review;
    let cap = r.daily_capacity as f64;
    let max_n = s.rows.iter().map(|r| r.figures.total.flagged).max().unwrap_or(0) as f64;
    // Right axis: log10(1 + n), whole decades, so 0 sits on the baseline.
    let decades = (1.0 + max_n.max(cap)).log10().ceil().max(1.0);
    let y_right = |n: f64| BOTTOM - (1.0 + n).log10() / decades * (BOTTOM - TOP);

    let mut o = String::new();
    let _ = writeln!(o, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#);
    let _ = writeln!(o, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        o,
        r#"<text x="{LEFT}" y="24" font-size="16" font-weight="bold">Threshold sweep: policy "{}", {}</text>"#,
        esc(&s.policy.name),
        esc(&run_name(&s.run_dir))
    );
    let _ = writeln!(
        o,
        r##"<text x="{LEFT}" y="44" fill="#444">One score threshold for groups and accounts; the policy's rules and minimum group size ({}) still apply. Precision and recall on labelled entities.</text>"##,
        r.min_group_size
    );

    // Grid and axes.
    let _ = writeln!(o, r##"<g stroke="#ddd" stroke-width="1">"##);
    for i in 0..=10 {
        let x = x_of(i as f64 / 10.0);
        let _ = writeln!(o, r#"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{BOTTOM}"/>"#);
    }
    for i in 0..=5 {
        let y = y_left(i as f64 / 5.0);
        let _ = writeln!(o, r#"<line x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}"/>"#);
    }
    let _ = writeln!(o, "</g>");
    let _ = writeln!(o, r##"<rect x="{LEFT}" y="{TOP}" width="{}" height="{}" fill="none" stroke="#333"/>"##, RIGHT - LEFT, BOTTOM - TOP);
    for i in 0..=10 {
        let t = i as f64 / 10.0;
        let _ = writeln!(o, r#"<text x="{:.1}" y="{}" text-anchor="middle">{t:.1}</text>"#, x_of(t), BOTTOM + 18.0);
    }
    for i in 0..=5 {
        let v = i as f64 / 5.0;
        let _ = writeln!(o, r#"<text x="{}" y="{:.1}" text-anchor="end">{v:.1}</text>"#, LEFT - 6.0, y_left(v) + 4.0);
    }
    let _ = writeln!(o, r#"<text x="{}" y="{:.1}" text-anchor="start">0</text>"#, RIGHT + 6.0, y_right(0.0) + 4.0);
    for k in 0..=decades as u32 {
        let n = 10u64.pow(k);
        let _ = writeln!(o, r#"<text x="{}" y="{:.1}" text-anchor="start">{}</text>"#, RIGHT + 6.0, y_right(n as f64) + 4.0, count_label(n));
    }
    let mid_x = (LEFT + RIGHT) / 2.0;
    let mid_y = (TOP + BOTTOM) / 2.0;
    let _ = writeln!(o, r#"<text x="{mid_x}" y="{}" text-anchor="middle">score threshold</text>"#, BOTTOM + 40.0);
    let _ =
        writeln!(o, r#"<text transform="translate({},{mid_y}) rotate(-90)" text-anchor="middle">precision / recall (labelled entities)</text>"#, LEFT - 45.0);
    let _ = writeln!(o, r#"<text transform="translate({},{mid_y}) rotate(90)" text-anchor="middle">entities flagged (log scale)</text>"#, RIGHT + 60.0);

    // Intervals, then lines.
    let kinds: [(&str, Pick, Option<&str>); 2] = [("groups", |f| &f.groups, None), ("accounts", |f| &f.accounts, Some(DASH))];
    let estimates: [(&str, Est, &str); 2] = [("precision", |c| c.precision, BLUE), ("recall", |c| c.recall, VERMILLION)];
    for (_, pick, _) in kinds {
        for (_, est, colour) in estimates {
            let pts: Vec<(f64, Option<(f64, f64)>)> =
                s.rows.iter().map(|row| (x_of(row.threshold), est(pick(&row.figures)).map(|i| (y_left(i.low), y_left(i.high))))).collect();
            let d = band_d(&pts);
            if !d.is_empty() {
                let _ = writeln!(o, r#"<path d="{d}" fill="{colour}" fill-opacity="0.08" stroke="none"/>"#);
            }
        }
    }
    let dash_attr = |dash: Option<&str>| dash.map(|d| format!(r#" stroke-dasharray="{d}""#)).unwrap_or_default();
    for (_, pick, dash) in kinds {
        for (_, est, colour) in estimates {
            let d = path_d(s.rows.iter().map(|row| est(pick(&row.figures)).map(|i| (x_of(row.threshold), y_left(i.value)))));
            if !d.is_empty() {
                let _ = writeln!(o, r#"<path d="{d}" fill="none" stroke="{colour}" stroke-width="2"{}/>"#, dash_attr(dash));
            }
        }
        let d = path_d(s.rows.iter().map(|row| Some((x_of(row.threshold), y_right(pick(&row.figures).flagged as f64)))));
        let _ = writeln!(o, r#"<path d="{d}" fill="none" stroke="{GREEN}" stroke-width="2"{}/>"#, dash_attr(dash));
    }
    let d = path_d(s.rows.iter().map(|row| Some((x_of(row.threshold), y_right(row.figures.total.flagged as f64)))));
    let _ = writeln!(o, r##"<path d="{d}" fill="none" stroke="#000" stroke-width="1.5" stroke-dasharray="2 3"/>"##);

    // Capacity (right axis) and the vertical markers.
    let yc = y_right(cap);
    let _ = writeln!(o, r##"<line x1="{LEFT}" y1="{yc:.1}" x2="{RIGHT}" y2="{yc:.1}" stroke="#777" stroke-width="1.5" stroke-dasharray="10 3 2 3"/>"##);
    let mut markers: Vec<(f64, String, &str, Option<&str>)> = Vec::new();
    if r.group_threshold == r.account_threshold {
        markers.push((r.group_threshold, format!("policy {:.2}", r.group_threshold), PURPLE, None));
    } else {
        markers.push((r.group_threshold, format!("policy groups {:.2}", r.group_threshold), PURPLE, None));
        markers.push((r.account_threshold, format!("policy accounts {:.2}", r.account_threshold), PURPLE, Some(DASH)));
    }
    if let Some(t) = s.capacity_threshold {
        markers.push((t, format!("fills capacity {t:.2}"), ORANGE, None));
    }
    for (i, (t, label, colour, dash)) in markers.iter().enumerate() {
        let x = x_of(*t);
        let _ = writeln!(o, r#"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{BOTTOM}" stroke="{colour}" stroke-width="2.5"{}/>"#, dash_attr(*dash));
        // Labels near the right edge go left of their line.
        let (lx, anchor) = if x > RIGHT - 140.0 { (x - 4.0, "end") } else { (x + 4.0, "start") };
        let _ = writeln!(o, r#"<text x="{lx:.1}" y="{:.1}" text-anchor="{anchor}" fill="{colour}">{}</text>"#, TOP + 14.0 + 14.0 * i as f64, esc(label));
    }

    // Legend under the chart: a column per kind, then the shared lines.
    // (text, colour, dash pattern, stroke width)
    type Key = (String, &'static str, Option<&'static str>, f64);
    let mut columns: Vec<Vec<Key>> = Vec::new();
    for (kind, _, dash) in kinds {
        let mut col: Vec<_> = estimates.iter().map(|(what, _, colour)| (format!("{kind} {what}"), *colour, dash, 2.0)).collect();
        col.push((format!("{kind} flagged"), GREEN, dash, 2.0));
        columns.push(col);
    }
    columns.push(vec![
        ("all flagged".into(), "#000", Some("2 3"), 1.5),
        (format!("daily capacity ({})", r.daily_capacity), "#777", Some("10 3 2 3"), 1.5),
        ("policy threshold".into(), PURPLE, None, 2.5),
        ("threshold that fills capacity".into(), ORANGE, None, 2.5),
    ]);
    let top = BOTTOM + 70.0;
    for (c, col) in columns.iter().enumerate() {
        for (i, (text, colour, dash, width)) in col.iter().enumerate() {
            let x = LEFT + c as f64 * 260.0;
            let y = top + i as f64 * 20.0;
            let _ = writeln!(o, r#"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}" stroke-width="{width}"{}/>"#, x + 30.0, dash_attr(*dash));
            let _ = writeln!(o, r#"<text x="{}" y="{}">{}</text>"#, x + 38.0, y + 4.0, esc(text));
        }
    }
    let rows = columns.iter().map(Vec::len).max().unwrap_or(0);
    let _ = writeln!(
        o,
        r##"<text x="{LEFT}" y="{}" fill="#444">Shaded: 95 % Wilson intervals. Accounts are dashed. Networks are not available yet.</text>"##,
        top + 20.0 * rows as f64 + 6.0
    );
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bisection finds exactly what deciding at every threshold finds.
    #[test]
    fn bisection_matches_every_threshold() {
        let mut base = Policy::default_policy();
        base.rules.child_safety_reports_at_least = Some(2);
        let steps = 20;
        let policies: Vec<Policy> = (0..=steps)
            .map(|i| {
                let mut p = base.clone();
                p.review.group_threshold = i as f64 / steps as f64;
                p.review.account_threshold = i as f64 / steps as f64;
                p
            })
            .collect();
        let scores = [0.0, 0.049, 0.05, 0.3, 0.5, 0.51, 0.95, 0.999, 1.0, f64::NAN];
        for kind in [EntityKind::Group, EntityKind::Account] {
            for &score in &scores {
                for members in [None, Some(0), Some(2), Some(3), Some(50)] {
                    for rule in 0..4u32 {
                        let facts = Facts {
                            score,
                            members_now: members,
                            hash_match: rule == 1,
                            violating_admin: rule == 2,
                            child_safety_reports: if rule == 3 { 2 } else { 1 },
                        };
                        let e = Entry { kind, id: 1, facts, label: None };
                        let brute = (0..=steps).filter(|&i| policies[i].decide(kind, &e.facts).flagged).max();
                        // Flags are a prefix of the grid, so the last one tells everything.
                        let n = (0..=steps).filter(|&i| policies[i].decide(kind, &e.facts).flagged).count();
                        assert_eq!(n, brute.map_or(0, |b| b + 1), "{kind:?} {score} {members:?} {rule}");
                        assert_eq!(last_flagged(&e, &policies), brute, "{kind:?} {score} {members:?} {rule}");
                    }
                }
            }
        }
    }

    #[test]
    fn wilson_known_values() {
        let i = wilson(8, 10).unwrap();
        assert_eq!((format!("{:.3}", i.low), format!("{:.3}", i.high)), ("0.490".into(), "0.943".into()));
        let zero = wilson(0, 5).unwrap();
        assert_eq!((zero.value, zero.low), (0.0, 0.0));
        assert!(zero.high > 0.4 && zero.high < 0.5, "{zero:?}");
        let all = wilson(5, 5).unwrap();
        assert_eq!((all.value, all.high), (1.0, 1.0));
        assert_eq!(wilson(0, 0), None);
    }

    #[test]
    fn svg_paths_break_at_gaps() {
        let d = path_d([Some((1.0, 2.0)), Some((3.0, 4.0)), None, Some((5.0, 6.0))].into_iter());
        assert_eq!(d, "M1.0 2.0 L3.0 4.0 M5.0 6.0");
        let b = band_d(&[(1.0, Some((2.0, 1.0))), (2.0, Some((3.0, 1.5))), (3.0, None), (4.0, Some((1.0, 0.0)))]);
        assert_eq!(b, "M1.0 1.0 L2.0 1.5 L2.0 3.0 L1.0 2.0 Z");
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("a;b"), "a;b");
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(fixed(f64::NAN), "");
        assert_eq!(fixed(0.5), "0.500000");
    }
}
