//! `report.html`: the investigators' view of one run, as one self-contained file.
//!
//! Investigators review networks, not rows (`../shared/spec/detection.md`, "Networks"), and
//! they open the report on a workstation that may have no network access at all. So the page
//! is a single HTML file with inline CSS and inline SVG charts and no script: a Content
//! Security Policy in the page forbids every external load, so a stray reference shows up as
//! a console error (which the browser test looks for) instead of a silent network request.
//!
//! The page is rendered from the run folder's own outputs alone (the manifest, the score
//! tables, hash matches, policy facts, labels and the four cluster tables), so re-rendering a
//! finished run (`groupwatch report --run DIR`) gives the page the run itself wrote. Loading
//! ([`load`]) and rendering ([`render`]) are separate: the renderer is a pure function of
//! [`ReportData`], which the unit tests build by hand.
//!
//! - **Ids only.** The page shows pseudonymous ids, counts, scores and reason phrases from the
//!   feature catalog; every text that comes from a file is HTML-escaped.
//! - **Deterministic.** No wall-clock time, every list in a fixed order, floats printed with a
//!   fixed number of digits and the graph layout computed without randomness: the same run
//!   folder gives a byte-identical page.
//! - **Bounded.** At most [`TOP_CLUSTERS`] cluster sections, [`MAX_GRAPH_NODES`] nodes and
//!   [`MAX_GRAPH_EDGES`] edges a picture, [`MAX_MEMBER_ROWS`] member rows a cluster and
//!   [`MAX_CLUSTER_ROWS`] rows in the ranked table; the page says when it shows fewer than
//!   there are. A large run gives a page of a few megabytes at most.
//! - **Testable.** Every number the browser test compares sits in a stable `id` or `data-*`
//!   attribute (`#cluster-<id>` sections with `data-rank`, `data-risk`, `data-n-groups`,
//!   `data-n-accounts`, `data-members`; `data-*` values are exact, the visible text rounded).
//!
//! The graph picture uses a Fruchterman–Reingold force layout from a fixed spiral start, run
//! for a fixed number of sweeps in a fixed order: `O(iterations · (n² + e))` a cluster, about
//! 10⁷ steps for the largest picture.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};


use crate::features::catalog_entry;
use crate::run_folder::{RunFolder, RunFolderError, RunTable};
use crate::schema::EntityKind;

/// Cluster sections on the page (the highest-ranked clusters).
pub const TOP_CLUSTERS: usize = 25;
/// Rows of the ranked cluster table.
pub const MAX_CLUSTER_ROWS: usize = 200;
/// Nodes in one cluster's graph picture (the most central members).
pub const MAX_GRAPH_NODES: usize = 200;
/// Edges in one cluster's graph picture.
pub const MAX_GRAPH_EDGES: usize = 1_000;
/// Rows of one cluster's member table.
pub const MAX_MEMBER_ROWS: usize = 100;
/// Reasons listed per cluster.
pub const MAX_REASONS: usize = 8;
/// Rows of one cluster's hash-match and report tables.
pub const MAX_EVIDENCE_ROWS: usize = 25;
/// Members labelled in the graph picture with their row number in the member table.
const LABELLED_NODES: usize = 10;
/// Bins of the score histograms.
const BINS: usize = 20;

/// A run folder the report cannot read, or a page it cannot write.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    RunFolder(#[from] RunFolderError),
    #[error("writing {}: {error:#}", path.display())]
    Write { path: PathBuf, error: anyhow::Error },
}

impl crate::ExitCode for ReportError {
    fn is_bad_input(&self) -> bool {
        !matches!(self, ReportError::Write { .. })
    }
}

/// An entity: kind and id.
pub type EntityKey = (EntityKind, u64);

/// The run summary from `manifest.json` and `model.json`.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    pub as_of: String,
    pub window_days: u64,
    pub code_version: String,
    /// Input tables: name, files, bytes.
    pub inputs: Vec<(String, u64, u64)>,
    /// Row counts of the manifest's `rows`.
    pub rows: Vec<(String, u64)>,
    pub model_version: String,
    pub model_origin: String,
    /// Per kind: scoring method and a sentence on the model's quality.
    pub quality: Vec<(String, String, String)>,
    pub policy_name: String,
    pub policy_version: String,
    pub review_capacity: Option<u64>,
    pub warnings: Vec<String>,
}

/// Scores of one kind (for the histograms and flagged counts).
#[derive(Debug, Clone, Default)]
pub struct ScoreColumn {
    pub score: Vec<f64>,
    pub flagged: Vec<bool>,
}

/// One row of `clusters.parquet`.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub id: u64,
    pub n_groups: u64,
    pub n_accounts: u64,
    pub risk: f64,
    pub rank: u64,
    pub first_activity_ms: Option<i64>,
    pub last_activity_ms: Option<i64>,
    pub hash_matches: u64,
    pub child_safety_reports: u64,
    pub summary: String,
}

/// One row of `cluster_members.parquet`.
#[derive(Debug, Clone)]
pub struct Member {
    pub key: EntityKey,
    pub role: String,
    pub score: f64,
    pub centrality: Option<f64>,
}

/// One row of `cluster_edges.parquet`.
#[derive(Debug, Clone)]
pub struct Edge {
    pub src: EntityKey,
    pub dst: EntityKey,
    pub tie: String,
    pub weight: f64,
}

/// One feature behind a score: name, value, signed contribution.
#[derive(Debug, Clone)]
pub struct Contribution {
    pub feature: String,
    pub value: Option<f64>,
    pub contribution: f64,
}

/// What the score tables say about one cluster member.
#[derive(Debug, Clone, Default)]
pub struct Detail {
    pub flagged: bool,
    pub reasons: Vec<String>,
    pub top: Vec<Contribution>,
}

/// One cluster with everything its section shows.
#[derive(Debug, Clone)]
pub struct ClusterView {
    pub cluster: Cluster,
    pub members: Vec<Member>,
    pub edges: Option<Vec<Edge>>,
    /// (day as epoch ms, event, count).
    pub timeline: Option<Vec<(i64, String, u64)>>,
}

/// Everything the page shows, read from a run folder by [`load`].
#[derive(Debug, Clone, Default)]
pub struct ReportData {
    pub run: RunInfo,
    pub groups: ScoreColumn,
    pub accounts: ScoreColumn,
    /// All clusters, by rank; `None` when the run has no clusters table.
    pub clusters: Option<Vec<Cluster>>,
    /// The top clusters with their members, edges and timelines.
    pub sections: Vec<ClusterView>,
    /// Per entity of a shown cluster: flag, reasons, top features.
    pub details: HashMap<EntityKey, Detail>,
    /// Per entity of a shown cluster: (bank, distance) of its hash matches.
    pub hash_matches: HashMap<EntityKey, Vec<(String, u64)>>,
    /// Child-safety reports per entity of a shown cluster (from `policy_facts.parquet`).
    pub reports: Option<HashMap<EntityKey, u64>>,
    /// The latest review label per entity of a shown cluster.
    pub labels: HashMap<EntityKey, String>,
}

/// Reads the run folder and writes `report.html` into it atomically; returns its path.
pub fn write_report(run_dir: &Path) -> Result<PathBuf, ReportError> {
    let t = std::time::Instant::now();
    let data = load(&RunFolder::open(run_dir)?)?;
    let loaded = t.elapsed().as_secs_f64();
    let html = render(&data);
    tracing::debug!(loaded, seconds = t.elapsed().as_secs_f64(), "report rendered");
    let path = run_dir.join("report.html");
    crate::io::write_bytes(&path, html.as_bytes()).map_err(|error| ReportError::Write { path: path.clone(), error })?;
    tracing::info!(clusters = data.clusters.as_ref().map_or(0, Vec::len), sections = data.sections.len(), bytes = html.len(), "report written");
    Ok(path)
}

// ---------------------------------------------------------------- reading the run folder

fn run_info(run: &RunFolder) -> Result<RunInfo, RunFolderError> {
    let m = run.manifest()?;
    let mut info = RunInfo {
        as_of: m.as_of.to_string(),
        window_days: m.window_days.into(),
        code_version: m.groupwatch_version.clone(),
        // Both in the file's (sorted) order.
        inputs: m.inputs.iter().map(|(t, v)| (t.clone(), v.files as u64, v.bytes)).collect(),
        rows: m.rows.named().iter().map(|&(k, n)| (k.to_string(), n as u64)).collect(),
        model_version: m.model.version.clone(),
        model_origin: m.model.origin.clone(),
        policy_name: m.policy.name.clone(),
        policy_version: m.policy.version.to_string(),
        review_capacity: Some(m.policy.settings.review.daily_capacity as u64),
        warnings: m.warnings.clone(),
        ..RunInfo::default()
    };
    let model = run.model();
    for (kind, method) in [(EntityKind::Group, m.scoring.group), (EntityKind::Account, m.scoring.account)] {
        let method = method.as_str().to_string();
        let sentence = match &model {
            Err(e) => format!("model quality unavailable ({e})"),
            Ok(mf) => match mf.kind(kind) {
                Some(k) => {
                    let e = &k.evaluation;
                    match e.candidates.get(e.chosen) {
                        Some(c) => format!(
                            "{}, {} calibration; out of fold on {} {kind}s ({} labelled violating): PR-AUC {} ({}–{}), ROC-AUC {}, precision in the top {} {}, recall at precision 0.9 {}",
                            c.description,
                            e.calibration,
                            e.evaluated,
                            e.evaluated_positive,
                            fixed3(c.pr_auc.mean),
                            fixed3(c.pr_auc.lo),
                            fixed3(c.pr_auc.hi),
                            fixed3(c.roc_auc.mean),
                            mf.config.capacity,
                            c.precision_at_capacity.map_or("–".into(), fixed3),
                            fixed3(c.recall_at_precision_90)
                        ),
                        None => "no evaluated candidate".into(),
                    }
                }
                None => mf
                    .skipped(kind)
                    .map_or("no model for this kind".into(), |s| format!("no model: {}", s.reason)),
            },
        };
        info.quality.push((kind.to_string(), method, sentence));
    }
    Ok(info)
}

fn score_column(run: &RunFolder, kind: EntityKind) -> Result<ScoreColumn, RunFolderError> {
    let t = run.read(RunTable::Scores(kind), &[kind.id_column(), "score", "flagged"], None)?;
    let score = t.f64s("score")?.into_iter().map(|s| s.unwrap_or(f64::NAN)).collect();
    Ok(ScoreColumn { score, flagged: t.bools("flagged")? })
}

fn read_clusters(run: &RunFolder) -> Result<Option<Vec<Cluster>>, RunFolderError> {
    let columns = ["cluster_id", "n_groups", "n_accounts", "rank", "risk_score", "first_activity", "last_activity", "hash_matches", "child_safety_reports", "summary"];
    let Some(t) = run.read_optional(RunTable::Clusters, &columns, None)? else { return Ok(None) };
    let (id, ng, na, rank) = (t.u64s("cluster_id")?, t.u64s("n_groups")?, t.u64s("n_accounts")?, t.u64s("rank")?);
    let risk = t.f64s("risk_score")?;
    let (first, last) = (t.times_ms("first_activity")?, t.times_ms("last_activity")?);
    let (hm, csr, summary) = (t.u64s("hash_matches")?, t.u64s("child_safety_reports")?, t.strs("summary")?);
    let mut out = Vec::with_capacity(t.height());
    for i in 0..t.height() {
        let Some(risk) = risk[i] else { return Err(t.bad_value(i, "risk_score", "null")) };
        out.push(Cluster {
            id: id[i],
            n_groups: ng[i],
            n_accounts: na[i],
            risk,
            rank: rank[i],
            first_activity_ms: first[i],
            last_activity_ms: last[i],
            hash_matches: hm[i],
            child_safety_reports: csr[i],
            summary: summary[i].clone(),
        });
    }
    out.sort_by(|a, b| a.rank.cmp(&b.rank).then(a.id.cmp(&b.id)));
    Ok(Some(out))
}

fn read_members(run: &RunFolder, wanted: &[u64]) -> Result<HashMap<u64, Vec<Member>>, RunFolderError> {
    // `centrality` joined the table after its first version: absent reads as unknown.
    let with_centrality = run.columns(RunTable::ClusterMembers)?.iter().any(|c| c == "centrality");
    let mut columns = vec!["cluster_id", "entity_kind", "entity_id", "role", "score"];
    if with_centrality {
        columns.push("centrality");
    }
    let t = run.read(RunTable::ClusterMembers, &columns, Some(("cluster_id", wanted)))?;
    let (cid, kind, id, role) = (t.u64s("cluster_id")?, t.kinds("entity_kind")?, t.u64s("entity_id")?, t.strs("role")?);
    let score = t.f64s("score")?;
    let centrality = if with_centrality { t.f64s("centrality")? } else { vec![None; t.height()] };
    let mut out: HashMap<u64, Vec<Member>> = HashMap::new();
    for i in 0..t.height() {
        out.entry(cid[i]).or_default().push(Member {
            key: (kind[i], id[i]),
            role: role[i].clone(),
            score: score[i].unwrap_or(f64::NAN),
            centrality: centrality[i],
        });
    }
    Ok(out)
}

fn read_edges(run: &RunFolder, wanted: &[u64]) -> Result<Option<HashMap<u64, Vec<Edge>>>, RunFolderError> {
    let columns = ["cluster_id", "src_kind", "src_id", "dst_kind", "dst_id", "tie", "weight"];
    let Some(t) = run.read_optional(RunTable::ClusterEdges, &columns, Some(("cluster_id", wanted)))? else { return Ok(None) };
    let (cid, sk, si, dk, di) = (t.u64s("cluster_id")?, t.kinds("src_kind")?, t.u64s("src_id")?, t.kinds("dst_kind")?, t.u64s("dst_id")?);
    let (tie, weight) = (t.strs("tie")?, t.f64s("weight")?);
    let mut out: HashMap<u64, Vec<Edge>> = HashMap::new();
    for i in 0..t.height() {
        out.entry(cid[i]).or_default().push(Edge { src: (sk[i], si[i]), dst: (dk[i], di[i]), tie: tie[i].clone(), weight: weight[i].unwrap_or(1.0) });
    }
    Ok(Some(out))
}

type Timeline = Vec<(i64, String, u64)>;

fn read_timeline(run: &RunFolder, wanted: &[u64]) -> Result<Option<HashMap<u64, Timeline>>, RunFolderError> {
    let Some(t) = run.read_optional(RunTable::ClusterTimeline, &["cluster_id", "day", "event", "count"], Some(("cluster_id", wanted)))? else { return Ok(None) };
    let (cid, day, event, count) = (t.u64s("cluster_id")?, t.times_ms("day")?, t.strs("event")?, t.u64s("count")?);
    let mut out: HashMap<u64, Timeline> = HashMap::new();
    for i in 0..t.height() {
        let Some(day) = day[i] else { return Err(t.bad_value(i, "day", "null")) };
        out.entry(cid[i]).or_default().push((day, event[i].clone(), count[i]));
    }
    Ok(Some(out))
}

/// Flags, reasons and top features of the given entities, scanning only their rows.
fn read_details(run: &RunFolder, kind: EntityKind, ids: &[u64], out: &mut HashMap<EntityKey, Detail>) -> Result<(), RunFolderError> {
    if ids.is_empty() {
        return Ok(());
    }
    let key = kind.id_column();
    let t = run.read(RunTable::Scores(kind), &[key, "flagged", "reasons", "top_features"], Some((key, ids)))?;
    let (ids, flagged) = (t.u64s(key)?, t.bools("flagged")?);
    let (reasons, top) = (t.str_lists("reasons")?, t.contributions("top_features")?);
    for (row, ((id, reasons), top)) in ids.iter().zip(reasons).zip(top).enumerate() {
        let top = top.into_iter().map(|(feature, value, contribution)| Contribution { feature, value, contribution }).collect();
        out.insert((kind, *id), Detail { flagged: flagged[row], reasons, top });
    }
    Ok(())
}

/// Reads everything the page shows from a finished (or staged) run folder.
pub fn load(run: &RunFolder) -> Result<ReportData, RunFolderError> {
    let mut data = ReportData {
        run: run_info(run)?,
        groups: score_column(run, EntityKind::Group)?,
        accounts: score_column(run, EntityKind::Account)?,
        clusters: read_clusters(run)?,
        ..ReportData::default()
    };
    let Some(clusters) = &data.clusters else { return Ok(data) };
    let top: Vec<Cluster> = clusters.iter().take(TOP_CLUSTERS).cloned().collect();
    let mut wanted: Vec<u64> = top.iter().map(|c| c.id).collect();
    wanted.sort_unstable();
    let mut members = read_members(run, &wanted)?;
    let mut edges = read_edges(run, &wanted)?;
    let mut timeline = read_timeline(run, &wanted)?;
    for c in top {
        let mut m = members.remove(&c.id).unwrap_or_default();
        m.sort_by(member_order);
        let e = edges.as_mut().map(|e| e.remove(&c.id).unwrap_or_default());
        let tl = timeline.as_mut().map(|t| {
            let mut v = t.remove(&c.id).unwrap_or_default();
            v.sort();
            v
        });
        data.sections.push(ClusterView { cluster: c, members: m, edges: e, timeline: tl });
    }
    let keys: HashSet<EntityKey> = data.sections.iter().flat_map(|s| s.members.iter().map(|m| m.key)).collect();
    let ids_of = |kind: Option<EntityKind>| {
        let mut v: Vec<u64> = keys.iter().filter(|k| kind.is_none_or(|kind| k.0 == kind)).map(|k| k.1).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let (gids, aids, all) = (ids_of(Some(EntityKind::Group)), ids_of(Some(EntityKind::Account)), ids_of(None));
    read_details(run, EntityKind::Group, &gids, &mut data.details)?;
    read_details(run, EntityKind::Account, &aids, &mut data.details)?;

    // The tables keyed by (entity_kind, entity_id): only the shown entities' rows.
    let shown = Some(("entity_id", &all[..]));
    if let Some(t) = run.read_optional(RunTable::HashMatches, &["entity_kind", "entity_id", "bank", "distance"], shown)? {
        let (kind, id, bank, dist) = (t.kinds("entity_kind")?, t.u64s("entity_id")?, t.strs("bank")?, t.u64s("distance")?);
        for i in 0..t.height() {
            if keys.contains(&(kind[i], id[i])) {
                data.hash_matches.entry((kind[i], id[i])).or_default().push((bank[i].clone(), dist[i]));
            }
        }
    }
    if let Some(t) = run.read_optional(RunTable::PolicyFacts, &["entity_kind", "entity_id", "child_safety_reports"], shown)? {
        let (kind, id, n) = (t.kinds("entity_kind")?, t.u64s("entity_id")?, t.u64s("child_safety_reports")?);
        let r: HashMap<EntityKey, u64> = (0..t.height()).filter(|&i| n[i] > 0 && keys.contains(&(kind[i], id[i]))).map(|i| ((kind[i], id[i]), n[i])).collect();
        data.reports = Some(r);
    }
    if let Some(t) = run.read_optional(RunTable::Labels, &["entity_kind", "entity_id", "label"], shown)? {
        let (kind, id, label) = (t.kinds("entity_kind")?, t.u64s("entity_id")?, t.strs("label")?);
        for i in 0..t.height() {
            if keys.contains(&(kind[i], id[i])) {
                data.labels.insert((kind[i], id[i]), label[i].clone());
            }
        }
    }
    Ok(data)
}

/// Key members first: by centrality, then score, groups before accounts, then id.
fn member_order(a: &Member, b: &Member) -> std::cmp::Ordering {
    let c = |m: &Member| m.centrality.filter(|v| v.is_finite()).unwrap_or(-1.0);
    let s = |m: &Member| if m.score.is_finite() { m.score } else { -1.0 };
    c(b).total_cmp(&c(a)).then(s(b).total_cmp(&s(a))).then(a.key.cmp(&b.key))
}

// ---------------------------------------------------------------- formatting

/// Escapes text for HTML element content and double- or single-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn fixed3(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "–".into()
    }
}

/// An exact value for a `data-*` attribute (shortest round-trip form).
fn exact(v: f64) -> String {
    if v.is_finite() {
        format!("{v:?}")
    } else {
        "NaN".into()
    }
}

/// 12345 -> "12,345".
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut o = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            o.push(',');
        }
        o.push(ch);
    }
    o
}

fn bytes_text(b: u64) -> String {
    match b {
        0..=9_999 => format!("{b} B"),
        10_000..=999_999 => format!("{:.0} kB", b as f64 / 1e3),
        _ => format!("{:.1} MB", b as f64 / 1e6),
    }
}

fn day_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(|| ms.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

fn time_text(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis).map_or_else(|| "–".into(), |d| d.format("%Y-%m-%d %H:%M UTC").to_string())
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// A policy reason code in words.
fn rule_text(code: &str) -> String {
    if let Some(t) = code.strip_prefix("threshold:") {
        let (kind, th) = t.split_once(">=").unwrap_or((t, "?"));
        return format!("{kind} score at or above the review threshold {th}");
    }
    match code {
        "rule:hash_match" => "a photo matches the hash bank".into(),
        "rule:violating_admin" => "an admin is a confirmed violator".into(),
        "auto_action:hash_match" => "automatic action allowed: hash-bank match".into(),
        c => match c.strip_prefix("rule:child_safety_reports>=") {
            Some(n) => format!("at least {n} child-safety reports"),
            None => c.to_string(),
        },
    }
}

// ---------------------------------------------------------------- colours and shapes

const BLUE: &str = "#0072B2";
const VERMILLION: &str = "#D55E00";
const ORANGE: &str = "#E69F00";
const PURPLE: &str = "#CC79A7";
const GREEN: &str = "#009E73";
const SKY: &str = "#56B4E9";
const GREY: &str = "#8c8c8c";

/// Roles in legend order: (role, label, colour, shape).
const ROLES: [(&str, &str, &str, Shape); 5] = [
    ("group", "group", BLUE, Shape::Square),
    ("admin", "admin", VERMILLION, Shape::Diamond),
    ("link_creator", "invite-link creator", ORANGE, Shape::Triangle),
    ("forwarder_hub", "forwarding hub", PURPLE, Shape::Circle),
    ("member", "member", GREY, Shape::Circle),
];

/// Ties in drawing order (members underneath): (tie, label, colour, dash).
const TIES: [(&str, &str, &str, &str); 5] = [
    ("member", "member of", "#b8b8b8", ""),
    ("shared_media", "same media forwarded", GREEN, "4 3"),
    ("forward", "forwarded to", PURPLE, ""),
    ("link_creator", "created an invite link", ORANGE, ""),
    ("admin", "admin of", VERMILLION, ""),
];

/// Timeline events in display order: (event, label, colour).
const EVENTS: [(&str, &str, &str); 7] = [
    ("group_created", "groups created", BLUE),
    ("link_created", "invite links created", ORANGE),
    ("link_revoked", "invite links revoked", "#a06c00"),
    ("joins", "joins", SKY),
    ("leaves", "leaves", GREY),
    ("forwards", "forwards", PURPLE),
    ("child_safety_reports", "child-safety reports", VERMILLION),
];

#[derive(Debug, Clone, Copy)]
enum Shape {
    Square,
    Diamond,
    Triangle,
    Circle,
}

fn role_label(role: &str) -> &str {
    ROLES.iter().find(|r| r.0 == role).map_or(role, |r| r.1)
}

fn role_style(role: &str) -> (&'static str, Shape) {
    ROLES.iter().find(|r| r.0 == role).map_or((GREY, Shape::Circle), |r| (r.2, r.3))
}

/// An SVG element of the shape centred on (x, y) with half-size r.
fn shape_svg(o: &mut String, shape: Shape, x: f64, y: f64, r: f64, fill: &str, extra: &str) {
    let _ = match shape {
        Shape::Circle => write!(o, r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r:.1}" fill="{fill}"{extra}"#),
        Shape::Square => write!(o, r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}"{extra}"#, x - r, y - r, 2.0 * r, 2.0 * r),
        Shape::Diamond => {
            let d = r * 1.3;
            write!(o, r#"<path d="M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z" fill="{fill}"{extra}"#, y - d, x + d, y + d, x - d)
        }
        Shape::Triangle => {
            let d = r * 1.3;
            write!(o, r#"<path d="M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z" fill="{fill}"{extra}"#, y - d, x + d, y + d * 0.8, x - d, y + d * 0.8)
        }
    };
}

// ---------------------------------------------------------------- page

const CSS: &str = r#"
:root{--ink:#1d2430;--muted:#5b6472;--line:#dde1e7;--bg:#f5f6f8;--card:#fff;--accent:#0072B2;--warn:#8a4b00}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
header{background:#1d2430;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:22px;font-weight:600}
header p{margin:4px 0 0;color:#c9d1dc}
nav{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);padding:8px 32px;font-size:13px;white-space:nowrap;overflow-x:auto}
nav a{margin-right:14px}
main{padding:8px 32px 40px;max-width:1280px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:16px 0}
h2{font-size:18px;margin:0 0 8px}
h3{font-size:15px;margin:18px 0 6px}
a{color:var(--accent);text-decoration:none}
a:hover{text-decoration:underline}
.muted{color:var(--muted)}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:130px;background:#fafbfc}
.card b{display:block;font-size:20px;font-weight:600}
.card span{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600;position:sticky;top:33px}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr:hover td{background:#f7f9fc}
.id{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
.risk{font-weight:600;white-space:nowrap}
td.time{white-space:nowrap}
td.summary{min-width:300px;font-size:12px}
h2 .id{font-size:inherit}
.figure>svg{max-width:100%;height:auto;display:block}
#summary-model th{width:110px}
.bar{display:inline-block;height:8px;background:var(--accent);border-radius:2px;vertical-align:middle;margin-right:6px}
.warn{color:var(--warn)}
ul.warnings{margin:6px 0;padding-left:20px}
.grid2{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:16px}
.figure{border:1px solid var(--line);border-radius:6px;padding:8px;background:#fff;overflow-x:auto}
.legend{font-size:12px;color:var(--muted);margin:4px 0}
.legend svg{vertical-align:middle}
.legend span{white-space:nowrap;margin-right:10px}
.role{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;color:#fff}
ol.reasons{margin:4px 0;padding-left:22px}
ol.reasons li{margin:2px 0}
.scroll{max-height:420px;overflow-y:auto;border:1px solid var(--line);border-radius:6px}
.scroll th{top:0}
footer{color:var(--muted);font-size:12px;padding:0 32px 24px}
@media (max-width:900px){.grid2{grid-template-columns:1fr}}
"#;

/// The page for the data.
pub fn render(d: &ReportData) -> String {
    let mut o = String::with_capacity(256 * 1024);
    let run = &d.run;
    let title = format!("groupwatch report: run {}", run.as_of);
    let n_clusters = d.clusters.as_ref().map_or(0, Vec::len);
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    // Nothing may load from anywhere: the file is the whole report.
    o.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(o, "<title>{}</title>\n<style>{CSS}</style>\n</head>", esc(&title));
    let _ = writeln!(
        o,
        r#"<body data-as-of="{}" data-clusters="{n_clusters}" data-cluster-sections="{}">"#,
        esc(&run.as_of),
        d.sections.len()
    );
    let _ = writeln!(
        o,
        "<header><h1>{}</h1><p>Suspected networks for human review, ranked by risk. Pseudonymous ids and metadata only; no content. groupwatch never acts on an account by itself.</p></header>",
        esc(&title)
    );
    o.push_str("<nav><a href=\"#summary\">Run summary</a><a href=\"#clusters\">Ranked clusters</a>");
    for s in d.sections.iter().take(10) {
        let _ = write!(o, "<a href=\"#cluster-{0}\">#{1}</a>", s.cluster.id, s.cluster.rank);
    }
    o.push_str("<a href=\"#distributions\">Score distributions</a></nav>\n<main>\n");
    summary_section(&mut o, d);
    clusters_section(&mut o, d);
    for s in &d.sections {
        cluster_section(&mut o, d, s);
    }
    distributions_section(&mut o, d);
    o.push_str("</main>\n");
    let _ = writeln!(
        o,
        "<footer>Rendered by groupwatch {} from the run folder's files (manifest.json, *_scores.parquet, hash_matches.parquet, policy_facts.parquet, labels.parquet, clusters.parquet, cluster_members.parquet, cluster_edges.parquet, cluster_timeline.parquet). Re-render with <code>groupwatch report --run DIR</code>.</footer>",
        esc(&run.code_version)
    );
    o.push_str("</body>\n</html>\n");
    o
}

fn card(o: &mut String, id: &str, value: &str, label: &str) {
    let _ = write!(o, r#"<div class="card" id="{id}"><b>{}</b><span>{}</span></div>"#, esc(value), esc(label));
}

fn summary_section(o: &mut String, d: &ReportData) {
    let r = &d.run;
    let gflag = d.groups.flagged.iter().filter(|&&f| f).count() as u64;
    let aflag = d.accounts.flagged.iter().filter(|&&f| f).count() as u64;
    let _ = writeln!(
        o,
        r#"<section id="summary" data-groups-scored="{}" data-groups-flagged="{gflag}" data-accounts-scored="{}" data-accounts-flagged="{aflag}"><h2>Run summary</h2>"#,
        d.groups.score.len(),
        d.accounts.score.len()
    );
    o.push_str("<div class=\"cards\">");
    card(o, "summary-as-of", &r.as_of, &format!("as of (end of UTC day), {}-day window", r.window_days));
    card(o, "summary-groups-flagged", &thousands(gflag), &format!("groups flagged of {}", thousands(d.groups.score.len() as u64)));
    card(o, "summary-accounts-flagged", &thousands(aflag), &format!("accounts flagged of {}", thousands(d.accounts.score.len() as u64)));
    card(o, "summary-clusters", &d.clusters.as_ref().map_or("–".into(), |c| thousands(c.len() as u64)), "suspected networks");
    if let Some(cap) = r.review_capacity {
        card(o, "summary-capacity", &thousands(cap), "daily review capacity");
    }
    o.push_str("</div>\n<div class=\"grid2\"><div>");
    let _ = writeln!(
        o,
        r#"<h3>Model and policy</h3><table id="summary-model"><tr><th>model version</th><td class="id">{}</td></tr><tr><th>model origin</th><td>{}</td></tr><tr><th>policy</th><td>{} (version {})</td></tr>"#,
        esc(&r.model_version),
        esc(&r.model_origin),
        esc(&r.policy_name),
        esc(&r.policy_version)
    );
    for (kind, method, sentence) in &r.quality {
        let _ = writeln!(o, r#"<tr id="quality-{0}"><th>{0} scores</th><td><b>{1}</b>: {2}</td></tr>"#, esc(kind), esc(method), esc(sentence));
    }
    o.push_str("</table></div><div><h3>Inputs</h3><table id=\"summary-inputs\"><tr><th>table</th><th class=\"num\">files</th><th class=\"num\">size</th></tr>");
    for (t, files, bytes) in &r.inputs {
        let _ = write!(o, r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#, esc(t), thousands(*files), bytes_text(*bytes));
    }
    o.push_str("</table>");
    if !r.rows.is_empty() {
        o.push_str("<p class=\"muted\">Rows: ");
        let parts: Vec<String> = r.rows.iter().map(|(k, v)| format!("{} {}", esc(k), thousands(*v))).collect();
        o.push_str(&parts.join(" · "));
        o.push_str("</p>");
    }
    o.push_str("</div></div>\n");
    let _ = write!(o, r#"<h3>Warnings ({})</h3>"#, r.warnings.len());
    if r.warnings.is_empty() {
        o.push_str("<p class=\"muted\">None.</p>");
    } else {
        o.push_str("<ul class=\"warnings\" id=\"summary-warnings\">");
        for w in &r.warnings {
            let _ = write!(o, "<li class=\"warn\">{}</li>", esc(w));
        }
        o.push_str("</ul>");
    }
    o.push_str("</section>\n");
}

fn clusters_section(o: &mut String, d: &ReportData) {
    o.push_str("<section id=\"clusters\"><h2>Ranked clusters</h2>\n");
    let Some(clusters) = &d.clusters else {
        o.push_str("<p class=\"muted\" id=\"no-clusters\">This run has no clusters table: networks were not computed.</p></section>\n");
        return;
    };
    if clusters.is_empty() {
        o.push_str("<p class=\"muted\" id=\"no-clusters\">No suspected networks in this run.</p></section>\n");
        return;
    }
    let _ = writeln!(
        o,
        "<p class=\"muted\">{} suspected networks, highest risk first. The top {} have a section below (linked); {}.</p>",
        thousands(clusters.len() as u64),
        TOP_CLUSTERS.min(clusters.len()),
        if clusters.len() > MAX_CLUSTER_ROWS { format!("the table shows the first {MAX_CLUSTER_ROWS}") } else { "the table shows all".into() }
    );
    o.push_str("<div class=\"scroll\"><table id=\"cluster-table\"><thead><tr><th class=\"num\">rank</th><th>cluster</th><th class=\"num\">risk</th><th class=\"num\">groups</th><th class=\"num\">accounts</th><th class=\"num\">hash matches</th><th class=\"num\">child-safety reports</th><th>first activity (UTC)</th><th>last activity (UTC)</th><th>summary</th></tr></thead><tbody>\n");
    let linked: HashSet<u64> = d.sections.iter().map(|s| s.cluster.id).collect();
    for c in clusters.iter().take(MAX_CLUSTER_ROWS) {
        let name = if linked.contains(&c.id) { format!("<a href=\"#cluster-{0}\">{0}</a>", c.id) } else { c.id.to_string() };
        let _ = writeln!(
            o,
            r#"<tr id="cluster-row-{id}" data-cluster-id="{id}" data-rank="{rank}" data-risk="{risk_x}"><td class="num rank">{rank}</td><td class="id">{name}</td><td class="num risk"><span class="bar" style="width:{bar:.0}px"></span>{risk}</td><td class="num n-groups">{ng}</td><td class="num n-accounts">{na}</td><td class="num">{hm}</td><td class="num">{cs}</td><td class="time">{first}</td><td class="time">{last}</td><td class="summary">{summary}</td></tr>"#,
            id = c.id,
            rank = c.rank,
            risk_x = exact(c.risk),
            bar = 40.0 * c.risk.clamp(0.0, 1.0),
            risk = fixed3(c.risk),
            ng = thousands(c.n_groups),
            na = thousands(c.n_accounts),
            hm = thousands(c.hash_matches),
            cs = thousands(c.child_safety_reports),
            first = time_text(c.first_activity_ms).trim_end_matches(" UTC"),
            last = time_text(c.last_activity_ms).trim_end_matches(" UTC"),
            summary = esc(&c.summary)
        );
    }
    o.push_str("</tbody></table></div></section>\n");
}

fn cluster_section(o: &mut String, d: &ReportData, s: &ClusterView) {
    let c = &s.cluster;
    let _ = writeln!(
        o,
        r#"<section class="cluster" id="cluster-{id}" data-cluster-id="{id}" data-rank="{rank}" data-risk="{risk_x}" data-n-groups="{ng}" data-n-accounts="{na}" data-members="{nm}" data-hash-matches="{hm}" data-child-safety-reports="{cs}">"#,
        id = c.id,
        rank = c.rank,
        risk_x = exact(c.risk),
        ng = c.n_groups,
        na = c.n_accounts,
        nm = s.members.len(),
        hm = c.hash_matches,
        cs = c.child_safety_reports
    );
    let _ = writeln!(o, "<h2>#{} · cluster <span class=\"id\">{}</span> · risk {}</h2><p>{}</p>", c.rank, c.id, fixed3(c.risk), esc(&c.summary));
    o.push_str("<div class=\"cards\">");
    card(o, &format!("c{}-risk", c.id), &fixed3(c.risk), "risk score");
    card(o, &format!("c{}-groups", c.id), &thousands(c.n_groups), "groups");
    card(o, &format!("c{}-accounts", c.id), &thousands(c.n_accounts), "accounts");
    card(o, &format!("c{}-hash", c.id), &thousands(c.hash_matches), "hash-bank matches");
    card(o, &format!("c{}-reports", c.id), &thousands(c.child_safety_reports), "child-safety reports");
    card(o, &format!("c{}-active", c.id), &format!("{} → {}", time_text(c.first_activity_ms).get(..10).unwrap_or("–"), time_text(c.last_activity_ms).get(..10).unwrap_or("–")), "activity in the window");
    o.push_str("</div>\n<div class=\"grid2\"><div>");
    o.push_str("<h3>Graph</h3>");
    graph_figure(o, d, s);
    o.push_str("</div><div><h3>Timeline</h3>");
    timeline_figure(o, d, s);
    o.push_str("<h3>Top reasons</h3>");
    reasons_list(o, d, s);
    o.push_str("</div></div>\n<div class=\"grid2\"><div>");
    hash_table(o, d, s);
    o.push_str("</div><div>");
    reports_table(o, d, s);
    o.push_str("</div></div>\n");
    member_table(o, d, s);
    o.push_str("</section>\n");
}

fn legend_roles(o: &mut String) {
    o.push_str("<div class=\"legend\">");
    for (_, label, colour, shape) in ROLES {
        o.push_str("<span><svg width=\"16\" height=\"14\" aria-hidden=\"true\">");
        shape_svg(o, shape, 8.0, 7.0, 4.5, colour, "/>");
        let _ = write!(o, "</svg>{label}</span>");
    }
    o.push_str("<br>");
    for (_, label, colour, dash) in TIES {
        let dash = if dash.is_empty() { String::new() } else { format!(r#" stroke-dasharray="{dash}""#) };
        let _ = write!(o, r#"<span><svg width="22" height="10" aria-hidden="true"><line x1="1" y1="5" x2="21" y2="5" stroke="{colour}" stroke-width="2"{dash}/></svg>{label}</span>"#);
    }
    o.push_str("<br>Node size: score; dark outline: flagged; #n: row in the member table.</div>");
}

fn graph_figure(o: &mut String, d: &ReportData, s: &ClusterView) {
    const W: f64 = 600.0;
    const H: f64 = 440.0;
    const PAD: f64 = 18.0;
    let shown: Vec<&Member> = s.members.iter().take(MAX_GRAPH_NODES).collect();
    let index: HashMap<EntityKey, usize> = shown.iter().enumerate().map(|(i, m)| (m.key, i)).collect();
    let tie_rank = |t: &str| TIES.iter().position(|x| x.0 == t).unwrap_or(0);
    let mut edges: Vec<(usize, usize, &Edge)> = s
        .edges
        .iter()
        .flatten()
        .filter_map(|e| Some((*index.get(&e.src)?, *index.get(&e.dst)?, e)))
        .filter(|(a, b, _)| a != b)
        .collect();
    let total_edges = s.edges.as_ref().map_or(0, Vec::len);
    // Keep the strongest ties when there are too many: the rarest kinds first, then weight.
    edges.sort_by(|x, y| tie_rank(&y.2.tie).cmp(&tie_rank(&x.2.tie)).then(y.2.weight.total_cmp(&x.2.weight)).then((x.0, x.1).cmp(&(y.0, y.1))));
    edges.truncate(MAX_GRAPH_EDGES);
    let mut pairs: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    for &(a, b, _) in &edges {
        *pairs.entry((a.min(b), a.max(b))).or_insert(0.0) += 1.0;
    }
    let springs: Vec<(usize, usize, f64)> = pairs.into_iter().map(|((a, b), w)| (a, b, w.min(3.0))).collect();
    let pos = crate::graph::layout::force_layout(shown.len(), &springs);
    let xy = |i: usize| (PAD + pos[i].0 * (W - 2.0 * PAD), PAD + pos[i].1 * (H - 2.0 * PAD));

    let _ = write!(
        o,
        r#"<div class="figure"><svg id="graph-{id}" class="graph" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="graph of cluster {id}" data-nodes="{n}" data-edges="{e}">"#,
        id = s.cluster.id,
        n = shown.len(),
        e = edges.len()
    );
    let _ = write!(o, r##"<rect width="{W}" height="{H}" fill="#fcfcfd"/>"##);
    for (tie, _, colour, dash) in TIES {
        let mut dpath = String::new();
        for &(a, b, e) in &edges {
            if e.tie == tie {
                let ((x1, y1), (x2, y2)) = (xy(a), xy(b));
                let _ = write!(dpath, "M{x1:.1} {y1:.1}L{x2:.1} {y2:.1}");
            }
        }
        if !dpath.is_empty() {
            let dash = if dash.is_empty() { String::new() } else { format!(r#" stroke-dasharray="{dash}""#) };
            let width = if tie == "member" { 0.8 } else { 1.4 };
            let _ = write!(o, r#"<path class="tie-{tie}" d="{dpath}" stroke="{colour}" stroke-width="{width}" stroke-opacity="0.75" fill="none"{dash}/>"#);
        }
    }
    // Unknown tie names (a newer clusters stage) are still drawn, in grey.
    let mut other = String::new();
    for &(a, b, e) in &edges {
        if !TIES.iter().any(|t| t.0 == e.tie) {
            let ((x1, y1), (x2, y2)) = (xy(a), xy(b));
            let _ = write!(other, "M{x1:.1} {y1:.1}L{x2:.1} {y2:.1}");
        }
    }
    if !other.is_empty() {
        let _ = write!(o, r##"<path d="{other}" stroke="#777" stroke-width="1" fill="none"/>"##);
    }
    // Least central first, so key members are drawn on top.
    for (i, m) in shown.iter().enumerate().rev() {
        let (x, y) = xy(i);
        let (colour, shape) = role_style(&m.role);
        let r = 3.5 + 5.0 * if m.score.is_finite() { m.score.clamp(0.0, 1.0) } else { 0.0 };
        let _ = write!(o, r#"<g class="node" data-kind="{}" data-id="{}" data-role="{}"><title>{} {} · {} · score {} · centrality {}</title>"#,
            m.key.0.as_str(), m.key.1, esc(&m.role), m.key.0.as_str(), m.key.1, esc(&m.role), fixed3(m.score), m.centrality.map_or("–".into(), fixed3));
        let flagged = d.details.get(&m.key).is_some_and(|x| x.flagged);
        let outline = if flagged { r##" stroke="#1d2430" stroke-width="1.6"/>"## } else { r##" stroke="#ffffff" stroke-width="0.6"/>"## };
        shape_svg(o, shape, x, y, r, colour, outline);
        if i < LABELLED_NODES {
            let _ = write!(o, r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#1d2430">#{}</text>"##, x + r + 2.0, y + 3.5, i + 1);
        }
        o.push_str("</g>");
    }
    o.push_str("</svg>");
    legend_roles(o);
    let mut notes = Vec::new();
    if s.members.len() > shown.len() {
        notes.push(format!("showing the {} most central of {} members", shown.len(), s.members.len()));
    }
    match &s.edges {
        None => notes.push("no cluster_edges table in this run: ties not drawn".into()),
        Some(_) if edges.len() < total_edges => notes.push(format!("{} of {} ties drawn", edges.len(), total_edges)),
        Some(_) => {}
    }
    if !notes.is_empty() {
        let _ = write!(o, "<p class=\"muted\">{}.</p>", esc(&notes.join("; ")));
    }
    o.push_str("</div>");
}

fn timeline_figure(o: &mut String, d: &ReportData, s: &ClusterView) {
    let Some(tl) = &s.timeline else {
        o.push_str("<p class=\"muted\">No cluster_timeline table in this run.</p>");
        return;
    };
    if tl.is_empty() {
        o.push_str("<p class=\"muted\">No events of this cluster in the window.</p>");
        return;
    }
    const DAY: i64 = 86_400_000;
    // The window's days (as-of inclusive), widened to any day the table holds.
    let as_of_ms = chrono::NaiveDate::parse_from_str(&d.run.as_of, "%Y-%m-%d").ok().map(|x| x.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_millis());
    let mut lo = tl.iter().map(|r| r.0).min().unwrap_or(0).div_euclid(DAY);
    let mut hi = tl.iter().map(|r| r.0).max().unwrap_or(0).div_euclid(DAY);
    if let Some(a) = as_of_ms {
        hi = hi.max(a.div_euclid(DAY));
        lo = lo.min(hi - d.run.window_days.max(1) as i64 + 1);
    }
    let days = (hi - lo + 1).max(1) as usize;
    let mut rows: Vec<(&str, &str, &str, Vec<u64>)> = Vec::new();
    for (event, label, colour) in EVENTS {
        let mut v = vec![0u64; days];
        for r in tl.iter().filter(|r| r.1 == event) {
            let i = (r.0.div_euclid(DAY) - lo) as usize;
            if i < days {
                v[i] += r.2;
            }
        }
        if v.iter().any(|&x| x > 0) {
            rows.push((event, label, colour, v));
        }
    }
    // Events this page does not know are summed in words below the chart.
    let mut unknown: BTreeMap<&str, u64> = BTreeMap::new();
    for r in tl.iter().filter(|r| !EVENTS.iter().any(|e| e.0 == r.1)) {
        *unknown.entry(r.1.as_str()).or_insert(0) += r.2;
    }
    const W: f64 = 620.0;
    const LEFT: f64 = 130.0;
    const RIGHT: f64 = 500.0;
    const ROW: f64 = 30.0;
    let h = 24.0 + ROW * rows.len() as f64;
    let bw = (RIGHT - LEFT) / days as f64;
    let _ = write!(
        o,
        r#"<div class="figure"><svg id="timeline-{}" class="timeline" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="11" role="img" aria-label="events per day">"#,
        s.cluster.id
    );
    for (k, (event, label, colour, v)) in rows.iter().enumerate() {
        let top = 4.0 + ROW * k as f64;
        let base = top + ROW - 8.0;
        let max = *v.iter().max().unwrap_or(&1) as f64;
        let total: u64 = v.iter().sum();
        let _ = write!(o, r##"<g data-event="{event}" data-total="{total}"><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#1d2430">{label}</text>"##, LEFT - 8.0, base - 4.0);
        let _ = write!(o, r##"<line x1="{LEFT}" y1="{base:.1}" x2="{RIGHT}" y2="{base:.1}" stroke="#dde1e7"/>"##);
        for (i, &n) in v.iter().enumerate() {
            if n > 0 {
                let bh = ((ROW - 10.0) * n as f64 / max).max(1.0);
                let _ = write!(o, r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="{colour}"><title>{}: {n} {label}</title></rect>"#, LEFT + bw * i as f64 + 0.5, base - bh, (bw - 1.0).max(0.8), day_text((lo + i as i64) * DAY));
            }
        }
        let _ = write!(o, r##"<text x="{:.1}" y="{:.1}" fill="#5b6472">max {} · total {}</text></g>"##, RIGHT + 6.0, base - 4.0, max as u64, thousands(total));
    }
    let axis = h - 6.0;
    for (i, anchor) in [(0usize, "start"), (days / 2, "middle"), (days - 1, "end")] {
        let x = match anchor {
            "start" => LEFT,
            "end" => RIGHT,
            _ => LEFT + bw * (i as f64 + 0.5),
        };
        let _ = write!(o, r##"<text x="{x:.1}" y="{axis:.1}" text-anchor="{anchor}" fill="#5b6472">{}</text>"##, day_text((lo + i as i64) * DAY));
    }
    o.push_str("</svg>");
    let _ = write!(o, "<p class=\"legend\">Per day, UTC; each row has its own scale (bar height relative to the row's busiest day), {days} days.");
    for (e, n) in unknown {
        let _ = write!(o, " {}: {}.", esc(e), thousands(n));
    }
    o.push_str("</p></div>");
}

fn reasons_list(o: &mut String, d: &ReportData, s: &ClusterView) {
    // Per feature: members citing it (positive contribution), summed contribution, and the
    // value at the highest-scored citing member.
    struct Agg<'a> {
        kind: EntityKind,
        feature: &'a str,
        members: u64,
        sum: f64,
        best: (f64, EntityKey, Option<f64>),
    }
    let mut aggs: BTreeMap<(EntityKind, &str), Agg> = BTreeMap::new();
    let mut rules: BTreeMap<(EntityKind, &str), u64> = BTreeMap::new();
    let (mut n_groups, mut n_accounts) = (0u64, 0u64);
    for m in &s.members {
        match m.key.0 {
            EntityKind::Group => n_groups += 1,
            EntityKind::Account => n_accounts += 1,
        }
        let Some(det) = d.details.get(&m.key) else { continue };
        for code in det.reasons.iter().filter(|r| !r.starts_with("feature:")) {
            *rules.entry((m.key.0, code.as_str())).or_insert(0) += 1;
        }
        let score = if m.score.is_finite() { m.score } else { -1.0 };
        for c in det.top.iter().filter(|c| c.contribution > 0.0) {
            let a = aggs.entry((m.key.0, c.feature.as_str())).or_insert(Agg { kind: m.key.0, feature: &c.feature, members: 0, sum: 0.0, best: (f64::MIN, m.key, c.value) });
            a.members += 1;
            a.sum += c.contribution;
            if score > a.best.0 || (score == a.best.0 && m.key < a.best.1) {
                a.best = (score, m.key, c.value);
            }
        }
    }
    let mut list: Vec<&Agg> = aggs.values().collect();
    list.sort_by(|a, b| b.members.cmp(&a.members).then(b.sum.total_cmp(&a.sum)).then((a.kind, a.feature).cmp(&(b.kind, b.feature))));
    let of = |k: EntityKind| match k {
        EntityKind::Group => n_groups,
        EntityKind::Account => n_accounts,
    };
    if rules.is_empty() && list.is_empty() {
        o.push_str("<p class=\"muted\">No reasons recorded for this cluster's members.</p>");
        return;
    }
    let _ = write!(o, r#"<ol class="reasons" id="reasons-{}">"#, s.cluster.id);
    let mut rule_list: Vec<(&(EntityKind, &str), &u64)> = rules.iter().collect();
    rule_list.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for ((kind, code), n) in rule_list {
        let _ = write!(o, "<li><b>Policy:</b> {} <span class=\"muted\">({} of {} {}s)</span></li>", esc(&rule_text(code)), n, of(*kind), kind.as_str());
    }
    for a in list.into_iter().take(MAX_REASONS) {
        let text = catalog_entry(a.kind, a.feature).map_or_else(|| format!("{} = {}", a.feature, a.best.2.map_or("unknown".into(), fixed3)), |e| e.reason_text(a.best.2));
        let _ = write!(
            o,
            "<li data-feature=\"{}\">{} <span class=\"muted\">({} {} <span class=\"id\">{}</span>; behind the score of {} of {} {}s)</span></li>",
            esc(a.feature),
            esc(&text),
            a.kind.as_str(),
            if a.members > 1 { "e.g." } else { "" },
            a.best.1 .1,
            a.members,
            of(a.kind),
            a.kind.as_str()
        );
    }
    o.push_str("</ol>");
}

fn hash_table(o: &mut String, d: &ReportData, s: &ClusterView) {
    let mut rows: Vec<(EntityKey, &str, u64)> = Vec::new();
    for m in &s.members {
        for (bank, dist) in d.hash_matches.get(&m.key).into_iter().flatten() {
            rows.push((m.key, bank, *dist));
        }
    }
    rows.sort_by(|a, b| a.2.cmp(&b.2).then(a.0.cmp(&b.0)).then(a.1.cmp(b.1)));
    let _ = write!(o, "<h3>Hash-bank matches ({})</h3>", rows.len());
    if rows.is_empty() {
        o.push_str("<p class=\"muted\">No member's photo is within the threshold of a hash-bank entry.</p>");
        return;
    }
    let _ = write!(o, r#"<table id="hash-{}"><tr><th>entity</th><th>bank</th><th class="num">Hamming distance</th></tr>"#, s.cluster.id);
    for (k, bank, dist) in rows.iter().take(MAX_EVIDENCE_ROWS) {
        let _ = write!(o, r#"<tr><td>{} <span class="id">{}</span></td><td>{}</td><td class="num">{dist}</td></tr>"#, k.0.as_str(), k.1, esc(bank));
    }
    o.push_str("</table>");
    if rows.len() > MAX_EVIDENCE_ROWS {
        let _ = write!(o, "<p class=\"muted\">Closest {MAX_EVIDENCE_ROWS} of {} shown.</p>", rows.len());
    }
}

fn reports_table(o: &mut String, d: &ReportData, s: &ClusterView) {
    let Some(reports) = &d.reports else {
        o.push_str("<h3>Child-safety reports</h3><p class=\"muted\">No policy_facts table in this run.</p>");
        return;
    };
    let mut rows: Vec<(EntityKey, u64)> = s.members.iter().filter_map(|m| reports.get(&m.key).map(|&n| (m.key, n))).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let total: u64 = rows.iter().map(|r| r.1).sum();
    let _ = write!(o, "<h3>Child-safety reports ({} on {})</h3>", thousands(total), plural(rows.len() as u64, "member", "members"));
    if rows.is_empty() {
        o.push_str("<p class=\"muted\">No child-safety reports on this cluster's members in the window.</p>");
        return;
    }
    let _ = write!(o, r#"<table id="reports-{}"><tr><th>entity</th><th class="num">reports in the window</th></tr>"#, s.cluster.id);
    for (k, n) in rows.iter().take(MAX_EVIDENCE_ROWS) {
        let _ = write!(o, r#"<tr><td>{} <span class="id">{}</span></td><td class="num">{n}</td></tr>"#, k.0.as_str(), k.1);
    }
    o.push_str("</table>");
    if rows.len() > MAX_EVIDENCE_ROWS {
        let _ = write!(o, "<p class=\"muted\">Most reported {MAX_EVIDENCE_ROWS} of {} shown.</p>", rows.len());
    }
}

fn member_table(o: &mut String, d: &ReportData, s: &ClusterView) {
    let _ = write!(o, "<h3>Members ({}), key members first</h3>", thousands(s.members.len() as u64));
    let _ = write!(
        o,
        r#"<div class="scroll"><table id="members-{}"><thead><tr><th class="num">#</th><th>kind</th><th>id</th><th>role</th><th class="num">score</th><th class="num">centrality</th><th>flagged</th><th>prior review</th><th>top reason</th></tr></thead><tbody>"#,
        s.cluster.id
    );
    for (i, m) in s.members.iter().take(MAX_MEMBER_ROWS).enumerate() {
        let det = d.details.get(&m.key);
        let (colour, _) = role_style(&m.role);
        let top = det
            .and_then(|x| x.top.iter().find(|c| c.contribution > 0.0))
            .map(|c| catalog_entry(m.key.0, &c.feature).map_or_else(|| c.feature.clone(), |e| e.reason_text(c.value)))
            .unwrap_or_default();
        let _ = write!(
            o,
            r#"<tr data-kind="{kind}" data-id="{id}" data-role="{role}" data-score="{score_x}"><td class="num">{n}</td><td>{kind}</td><td class="id">{id}</td><td><span class="role" style="background:{colour}">{role_label}</span></td><td class="num">{score}</td><td class="num">{cent}</td><td>{flag}</td><td>{label}</td><td>{top}</td></tr>"#,
            n = i + 1,
            kind = m.key.0.as_str(),
            id = m.key.1,
            role = esc(&m.role),
            role_label = esc(role_label(&m.role)),
            score_x = exact(m.score),
            score = fixed3(m.score),
            cent = m.centrality.map_or("–".into(), fixed3),
            flag = match det {
                Some(x) if x.flagged => "yes",
                Some(_) => "no",
                None => "–",
            },
            label = esc(d.labels.get(&m.key).map_or("–", String::as_str)),
            top = esc(&top)
        );
    }
    o.push_str("</tbody></table></div>");
    if s.members.len() > MAX_MEMBER_ROWS {
        let _ = write!(o, "<p class=\"muted\">The {MAX_MEMBER_ROWS} most central of {} members shown; all are in cluster_members.parquet.</p>", s.members.len());
    }
}

/// Counts per bin of [0, 1] (`BINS` bins, 1.0 in the last), flagged and not; scores outside
/// [0, 1] are clamped, NaN is skipped.
pub fn histogram(col: &ScoreColumn) -> Vec<[u64; 2]> {
    let mut bins = vec![[0u64; 2]; BINS];
    for (s, f) in col.score.iter().zip(&col.flagged) {
        if s.is_nan() {
            continue;
        }
        let b = ((s.clamp(0.0, 1.0) * BINS as f64) as usize).min(BINS - 1);
        bins[b][usize::from(*f)] += 1;
    }
    bins
}

fn histogram_svg(o: &mut String, id: &str, title: &str, col: &ScoreColumn) {
    const W: f64 = 560.0;
    const H: f64 = 260.0;
    const LEFT: f64 = 50.0;
    const RIGHT: f64 = 545.0;
    const TOP: f64 = 34.0;
    const BOTTOM: f64 = 220.0;
    let bins = histogram(col);
    let max = bins.iter().flat_map(|b| b.iter()).copied().max().unwrap_or(0) as f64;
    let decades = (1.0 + max).log10().ceil().max(1.0);
    let y = |n: f64| BOTTOM - (1.0 + n).log10() / decades * (BOTTOM - TOP);
    let flagged = col.flagged.iter().filter(|&&f| f).count();
    let _ = write!(
        o,
        r#"<div class="figure"><svg id="{id}" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11" role="img" aria-label="{title}" data-scored="{}" data-flagged="{flagged}">"#,
        col.score.len()
    );
    let _ = write!(o, r##"<text x="{LEFT}" y="16" font-size="13" font-weight="bold" fill="#1d2430">{} ({} scored, {} flagged)</text>"##, esc(title), thousands(col.score.len() as u64), thousands(flagged as u64));
    for k in -1..(decades as i32) {
        let n = if k < 0 { 0.0 } else { 10f64.powi(k) };
        let yy = y(n);
        let _ = write!(o, r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{RIGHT}" y2="{yy:.1}" stroke="#eceff3"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#5b6472">{}</text>"##, LEFT - 4.0, yy + 4.0, thousands(n as u64));
    }
    let bw = (RIGHT - LEFT) / BINS as f64;
    for (i, b) in bins.iter().enumerate() {
        for (j, colour) in [(0usize, "#9aa5b1"), (1, VERMILLION)] {
            if b[j] == 0 {
                continue;
            }
            let x = LEFT + bw * i as f64 + 1.0 + j as f64 * (bw - 2.0) / 2.0;
            let top = y(b[j] as f64);
            let _ = write!(
                o,
                r#"<rect x="{x:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{colour}"><title>score {:.2}–{:.2}: {} {}</title></rect>"#,
                (bw - 2.0) / 2.0,
                BOTTOM - top,
                i as f64 / BINS as f64,
                (i + 1) as f64 / BINS as f64,
                b[j],
                if j == 1 { "flagged" } else { "not flagged" }
            );
        }
    }
    let _ = write!(o, r##"<line x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}" stroke="#1d2430"/>"##);
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let x = LEFT + t * (RIGHT - LEFT);
        let _ = write!(o, r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#5b6472">{t:.2}</text>"##, BOTTOM + 14.0);
    }
    let _ = write!(o, r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#5b6472">score</text>"##, (LEFT + RIGHT) / 2.0, BOTTOM + 30.0);
    let _ = write!(o, r##"<rect x="{:.1}" y="8" width="10" height="10" fill="#9aa5b1"/><text x="{:.1}" y="17" fill="#1d2430">not flagged</text><rect x="{:.1}" y="8" width="10" height="10" fill="{VERMILLION}"/><text x="{:.1}" y="17" fill="#1d2430">flagged</text>"##, RIGHT - 150.0, RIGHT - 136.0, RIGHT - 62.0, RIGHT - 48.0);
    o.push_str("</svg></div>");
}

fn distributions_section(o: &mut String, d: &ReportData) {
    o.push_str("<section id=\"distributions\"><h2>Score distributions</h2><p class=\"muted\">Entities per score bin (width 0.05), flagged and not, on a logarithmic count axis. Flags below the threshold come from the policy's rules (hash match, violating admin, child-safety reports).</p><div class=\"grid2\">");
    histogram_svg(o, "hist-groups", "Group scores", &d.groups);
    histogram_svg(o, "hist-accounts", "Account scores", &d.accounts);
    o.push_str("</div></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ReportData {
        let members = vec![
            Member { key: (EntityKind::Group, 7), role: "group".into(), score: 0.9, centrality: Some(1.0) },
            Member { key: (EntityKind::Account, 11), role: "admin".into(), score: 0.8, centrality: Some(0.5) },
            Member { key: (EntityKind::Account, 12), role: "<b>odd</b>".into(), score: 0.1, centrality: None },
        ];
        let edges = vec![
            Edge { src: (EntityKind::Account, 11), dst: (EntityKind::Group, 7), tie: "admin".into(), weight: 1.0 },
            Edge { src: (EntityKind::Account, 12), dst: (EntityKind::Group, 7), tie: "member".into(), weight: 1.0 },
        ];
        let cluster = Cluster {
            id: 42,
            n_groups: 1,
            n_accounts: 2,
            risk: 0.876_543_21,
            rank: 1,
            first_activity_ms: Some(1_763_000_000_000),
            last_activity_ms: None,
            hash_matches: 1,
            child_safety_reports: 3,
            summary: "<script>alert('x')</script> & \"quoted\"".into(),
        };
        let mut details = HashMap::new();
        details.insert(
            (EntityKind::Group, 7),
            Detail {
                flagged: true,
                reasons: vec!["threshold:group>=0.50".into(), "rule:hash_match".into()],
                top: vec![Contribution { feature: "<img src=x>".into(), value: Some(1.0), contribution: 0.5 }],
            },
        );
        ReportData {
            run: RunInfo { as_of: "2026-11-24".into(), window_days: 30, warnings: vec!["<warn>".into()], policy_name: "p\"q".into(), ..RunInfo::default() },
            groups: ScoreColumn { score: vec![0.9, 0.2, 1.0], flagged: vec![true, false, true] },
            accounts: ScoreColumn { score: vec![0.8, 0.1], flagged: vec![true, false] },
            clusters: Some(vec![cluster.clone()]),
            sections: vec![ClusterView { cluster, members, edges: Some(edges), timeline: Some(vec![(1_763_942_400_000, "joins".into(), 5)]) }],
            details,
            hash_matches: HashMap::from([((EntityKind::Group, 7), vec![("bank<1>".into(), 12)])]),
            reports: Some(HashMap::from([((EntityKind::Group, 7), 3)])),
            labels: HashMap::new(),
        }
    }

    #[test]
    fn escapes_every_kind_of_special_character() {
        assert_eq!(esc(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn text_from_files_never_reaches_the_page_unescaped() {
        let html = render(&sample());
        for raw in ["<script>alert", "<b>odd</b>", "<img src=x>", "<warn>", "bank<1>", "p\"q"] {
            assert!(!html.contains(raw), "{raw} unescaped");
        }
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"));
        // The only script-like thing is the CSP that forbids scripts.
        assert!(!html.contains("<script"));
        assert!(!html.contains(" src=\"") && !html.contains("href=\"http") && !html.contains("url("));
    }

    #[test]
    fn numbers_sit_in_data_attributes_exactly() {
        let html = render(&sample());
        assert!(html.contains(r#"id="cluster-42" data-cluster-id="42" data-rank="1" data-risk="0.87654321" data-n-groups="1" data-n-accounts="2" data-members="3""#));
        assert!(html.contains(r#"<td class="num risk"><span class="bar" style="width:35px"></span>0.877</td>"#));
        assert!(html.contains(r#"data-groups-flagged="2""#));
    }

    #[test]
    fn rendering_is_deterministic() {
        let d = sample();
        assert_eq!(render(&d), render(&d));
    }

    #[test]
    fn histogram_bins_the_unit_interval() {
        let col = ScoreColumn { score: vec![0.0, 0.049, 0.05, 1.0, 1.5, -0.2, f64::NAN], flagged: vec![false, false, true, true, false, false, true] };
        let h = histogram(&col);
        assert_eq!(h[0], [3, 0]);
        assert_eq!(h[1], [0, 1]);
        assert_eq!(h[BINS - 1], [1, 1]);
        assert_eq!(h.iter().map(|b| b[0] + b[1]).sum::<u64>(), 6);
    }

    #[test]
    fn formats_counts_and_rules() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(rule_text("rule:child_safety_reports>=3"), "at least 3 child-safety reports");
        assert_eq!(rule_text("threshold:group>=0.50"), "group score at or above the review threshold 0.50");
        assert_eq!(exact(0.1 + 0.2), "0.30000000000000004");
    }
}
