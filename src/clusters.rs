//! Networks: flagged groups and accounts tied into suspected networks (clusters), ranked by
//! risk, with roles, key accounts, a timeline and a bounded picture of each cluster's graph.
//!
//! Investigators review networks, not rows. A cluster is built from the policy's flagged
//! groups through the ties that matter (`../shared/spec/detection.md`, "Networks"):
//!
//! - **shared members**: each account in `k` groups adds `1 / (k - 1)` to every pair of its
//!   flagged groups (accounts in more than [`MAX_GROUPS_PER_ACCOUNT`] groups add nothing), and
//!   a pair is tied only with at least [`MIN_SHARED_MEMBERS`] shared members *and* a Jaccard
//!   similarity `|g ∩ h| / |g ∪ h|` of at least [`MIN_JACCARD`]. Only flagged groups are
//!   nodes, so an unflagged popular group never ties anything; and Jaccard (not the overlap
//!   coefficient) keeps even a *flagged* large group from tying to the small groups inside it:
//!   ten members of a 220-member group are a similarity of 0.05;
//! - **shared admins** and **shared invite-link creators** (one account running both groups);
//! - **forwarding** between the two groups ([`MIN_FORWARDS`] rows or more);
//! - **the same media objects** forwarded in or out of both groups ([`MIN_SHARED_MEDIA`]
//!   objects or more), ignoring viral objects that touched more than [`VIRAL_REACH`] groups.
//!
//! Tied groups are merged with union–find (petgraph); every connected piece is a cluster.
//! Groups are never pulled in unflagged: which groups enter review is the policy's decision.
//!
//! **Accounts** join the cluster they are most tied to (memberships, admin rights, invite
//! links created, forwards into the cluster's groups; ties broken by the smaller cluster):
//! every flagged account with such a tie, and, unflagged, the admins and link creators of the
//! cluster's groups (the people who run the groups are part of the evidence whatever their
//! score) and accounts whose life is concentrated in the network: members of at least two of
//! its groups, with at least half of their current groups in it, scoring at least
//! [`PULL_IN_SCORE_FRACTION`] of the policy's account threshold. An account with an
//! ordinary life elsewhere is left out; so is every account of a single-group cluster that is
//! neither flagged nor runs the group. Each account is in at most one cluster.
//!
//! **Roles**: `admin` (admin of one of the groups now), else `link_creator`, else
//! `forwarder_hub` (at least [`HUB_MIN_FORWARDS`] forward rows touching at least two of the
//! cluster's groups), else `member`; groups have role `group`.
//!
//! **Centrality**: PageRank (damping 0.85) on the cluster's own undirected graph (account–group
//! memberships, admin rights and links created, forwards, and the group–group ties above,
//! weighted), divided by the cluster's maximum: 0..1 within the cluster, 1 for the most
//! central entity. Key accounts are the accounts in descending centrality.
//!
//! **Risk** in 0..1, a weighted sum of five terms in 0..1:
//!
//! `risk = 0.40·M + 0.15·H + 0.15·R + 0.15·C + 0.15·T`, where `M` is the mean of the three
//! highest member scores (groups and accounts), `H = 1 − exp(−hash_matches / 2)`,
//! `R = 1 − exp(−child_safety_reports / 5)`, `C` the coordination, the mean over the groups of
//! `(lockstep_member_share + dense_block_score / max dense_block_score of the run) / 2`, and
//! `T = 1 − exp(−(n_groups − 1) / 3)` (a network of several tied groups over a lone group).
//! Clusters are ranked by risk, ties by id.
//!
//! **Stable ids** ([`assign_ids`]): the clusters of the most recent earlier run folder
//! (`run=<date>` with date before as-of, in the same `--out`) are matched to the new ones by
//! Jaccard similarity of their group sets, greedily by descending similarity, one to one, when
//! at least [`MATCH_MIN_JACCARD`]; a matched cluster keeps the old id. An unmatched cluster
//! gets `YYYYMMDD·10^6 + k` from the run date, `k = 1, 2, …` in order of the cluster's
//! smallest group id: an id minted on one date cannot collide with one minted on another, and
//! a rerun of the same date mints the same ids.
//!
//! **Complexity**: with `F` flagged groups of at most `s` members, each member in at most
//! [`MAX_GROUPS_PER_ACCOUNT`] groups, shared-member ties cost `O(F · s · 50 · log)`; admin,
//! link and media ties are linear in memberships, links and forwards plus the pairs they
//! produce (bounded by the same caps); account attachment `O(Σ members of the cluster
//! groups)`; the timeline one pass over membership events of cluster groups (binary search on
//! the sorted log), links, forwards and reports. Every step runs in a fixed order (rayon
//! collects in index order, floating sums in sorted order), so results are identical for any
//! thread count.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use petgraph::unionfind::UnionFind;
use polars::prelude::*;
use rayon::prelude::*;

use crate::features::{Context, FeatureTable};
use crate::graph::{pagerank, Csr};
use crate::ingest::{ev, Window, MS_PER_DAY, NONE};
use crate::io::col;
use crate::model::score::Scores;
use crate::replay::MembershipState;
use crate::run_folder::{RunFolder, RunFolderError, RunTable};
use crate::schema::{EntityKind, ReportReason};

/// Accounts in more groups than this add no shared-member weight: the group projection's cap.
pub const MAX_GROUPS_PER_ACCOUNT: usize = crate::graph::projection::MAX_GROUPS_PER_CONNECTOR;
/// Shared members two flagged groups need to be tied through membership.
pub const MIN_SHARED_MEMBERS: u32 = 3;
/// Jaccard similarity of member sets two flagged groups need besides.
pub const MIN_JACCARD: f64 = 0.1;
/// Forward rows between two flagged groups that tie them.
pub const MIN_FORWARDS: u32 = 2;
/// Media objects forwarded in or out of both groups that tie them.
pub const MIN_SHARED_MEDIA: u32 = 2;
/// A media object that touched more groups than this is viral and ties nothing.
pub const VIRAL_REACH: u32 = 20;
/// Unflagged accounts concentrated in a network join it at this fraction of the account
/// threshold or above.
pub const PULL_IN_SCORE_FRACTION: f64 = 0.5;
/// Forward rows (touching two or more of the cluster's groups) that make a forwarder hub.
pub const HUB_MIN_FORWARDS: u32 = 5;
/// Jaccard similarity of group sets at which a new cluster keeps a previous cluster's id.
pub const MATCH_MIN_JACCARD: f64 = 0.3;
/// Edges kept per cluster in `cluster_edges` (every group and the top key accounts keep
/// their heaviest edge first, then the heaviest of the rest).
pub const MAX_EDGES_PER_CLUSTER: usize = 400;
/// Key accounts whose heaviest edge is always kept in the picture.
pub const KEY_ACCOUNTS_IN_PICTURE: usize = 10;

/// Timeline events, in the order of `cluster_timeline.toml`.
pub const EVENTS: [&str; 7] = ["group_created", "link_created", "link_revoked", "joins", "leaves", "forwards", "child_safety_reports"];
/// Tie kinds of `cluster_edges`.
pub const TIES: [&str; 5] = ["member", "admin", "link_creator", "forward", "shared_media"];

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The previous run folder's clusters cannot be read (the error names the file).
    #[error("reading the previous run's clusters: {0}")]
    Previous(#[source] RunFolderError),
    #[error("building cluster tables: {0}")]
    Frame(#[from] PolarsError),
}

impl crate::ExitCode for ClusterError {
    fn is_bad_input(&self) -> bool {
        false
    }
}

/// An account's role in its cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Admin,
    LinkCreator,
    ForwarderHub,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::LinkCreator => "link_creator",
            Role::ForwarderHub => "forwarder_hub",
            Role::Member => "member",
        }
    }
}

/// An entity of a cluster's graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    Group(u32),
    Account(u32),
}

/// One edge of a cluster's picture.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub src: Node,
    pub dst: Node,
    /// Index into [`TIES`].
    pub tie: u8,
    pub weight: f64,
}

/// One suspected network.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub id: u64,
    /// Dense group indices, ascending, with centrality.
    pub groups: Vec<(u32, f64)>,
    /// Dense account indices, ascending, with role and centrality.
    pub accounts: Vec<(u32, Role, f64)>,
    pub risk: f64,
    pub rank: u64,
    pub first_activity: Option<i64>,
    pub last_activity: Option<i64>,
    pub hash_matches: u64,
    pub child_safety_reports: u64,
    pub summary: String,
    pub edges: Vec<Edge>,
    /// (day start ms, event index into [`EVENTS`], count), sorted.
    pub timeline: Vec<(i64, u8, u64)>,
}

/// What the networks stage hands to the run.
#[derive(Debug, Clone, Default)]
pub struct Networks {
    /// Sorted by rank.
    pub clusters: Vec<Cluster>,
    /// Cluster id per dense group / account index.
    pub group_cluster: Vec<Option<u64>>,
    pub account_cluster: Vec<Option<u64>>,
    /// The previous run folder whose clusters were matched, and how many kept their id.
    pub previous_run: Option<PathBuf>,
    pub ids_kept: usize,
    pub ids_new: usize,
}

/// What the stage reads: the window, the features and scores (rows as in the tables) and the
/// policy's decisions per row.
pub struct Input<'a> {
    pub w: &'a Window,
    pub st: &'a MembershipState,
    pub ctx: &'a Context,
    pub gtab: &'a FeatureTable,
    pub atab: &'a FeatureTable,
    pub gscores: &'a Scores,
    pub ascores: &'a Scores,
    pub group_flagged: &'a [bool],
    pub account_flagged: &'a [bool],
    pub account_threshold: f64,
}

/// Previous clusters: id → group ids (platform ids), from a run folder's `cluster_members`.
pub type PreviousClusters = BTreeMap<u64, Vec<u64>>;

/// The most recent run folder `run=<date>` in `out` with a date before `as_of` that holds
/// `cluster_members.parquet`.
pub fn previous_run(out: &Path, as_of: NaiveDate) -> Option<PathBuf> {
    let mut best: Option<(NaiveDate, PathBuf)> = None;
    for e in std::fs::read_dir(out).ok()?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(date) = name.strip_prefix("run=").and_then(|d| d.parse::<NaiveDate>().ok()) else { continue };
        if date < as_of && e.path().join("cluster_members.parquet").is_file() && best.as_ref().is_none_or(|b| date > b.0) {
            best = Some((date, e.path()));
        }
    }
    best.map(|b| b.1)
}

/// Reads `cluster_members.parquet` of a run folder: every cluster's members as
/// (cluster id, entity kind, entity id).
pub fn read_members(run_dir: &Path) -> Result<Vec<(u64, EntityKind, u64)>, ClusterError> {
    let read = || -> Result<_, RunFolderError> {
        let t = RunFolder::open(run_dir)?.read(RunTable::ClusterMembers, &["cluster_id", "entity_kind", "entity_id"], None)?;
        let (ids, kinds, ents) = (t.opt_u64s("cluster_id")?, t.opt_strs("entity_kind")?, t.opt_u64s("entity_id")?);
        Ok(ids.into_iter().zip(kinds).zip(ents).filter_map(|((c, k), e)| Some((c?, EntityKind::parse(&k?)?, e?))).collect())
    };
    read().map_err(ClusterError::Previous)
}

/// The previous clusters' group sets.
pub fn previous_clusters(run_dir: &Path) -> Result<PreviousClusters, ClusterError> {
    let mut out = PreviousClusters::new();
    for (c, k, e) in read_members(run_dir)? {
        let v = out.entry(c).or_default();
        if k == EntityKind::Group {
            v.push(e);
        }
    }
    out.values_mut().for_each(|v| v.sort_unstable());
    Ok(out)
}

/// Ids for new clusters given as sorted group-id sets: matched previous ids where the group
/// sets overlap enough, fresh date-derived ids otherwise. Returns (ids, kept).
pub fn assign_ids(new: &[Vec<u64>], previous: &PreviousClusters, as_of: NaiveDate) -> (Vec<u64>, usize) {
    let mut pairs: Vec<(f64, u64, usize)> = Vec::new();
    // Previous clusters by group, so only overlapping pairs are scored.
    let mut by_group: HashMap<u64, Vec<u64>> = HashMap::new();
    for (&id, gs) in previous {
        for &g in gs {
            by_group.entry(g).or_default().push(id);
        }
    }
    for (i, gs) in new.iter().enumerate() {
        let mut cands: Vec<u64> = gs.iter().filter_map(|g| by_group.get(g)).flatten().copied().collect();
        cands.sort_unstable();
        cands.dedup();
        for p in cands {
            let j = jaccard(gs, &previous[&p]);
            if j >= MATCH_MIN_JACCARD {
                pairs.push((j, p, i));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut ids = vec![None; new.len()];
    let mut used = std::collections::BTreeSet::new();
    for (_, p, i) in pairs {
        if ids[i].is_none() && !used.contains(&p) {
            ids[i] = Some(p);
            used.insert(p);
        }
    }
    let kept = used.len();
    let base = as_of.format("%Y%m%d").to_string().parse::<u64>().expect("a date as digits") * 1_000_000;
    let mut fresh: Vec<usize> = (0..new.len()).filter(|&i| ids[i].is_none()).collect();
    fresh.sort_by_key(|&i| (new[i].first().copied(), i));
    for (k, i) in fresh.into_iter().enumerate() {
        ids[i] = Some(base + k as u64 + 1);
    }
    (ids.into_iter().map(|x| x.expect("every cluster has an id")).collect(), kept)
}

/// Jaccard similarity of two sorted, deduplicated sets.
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - inter;
    if union == 0 {
        0.0
    } else {
        inter as f64 / union as f64
    }
}

/// Group–group ties among `flagged` groups (dense indices): (g, h, tie, weight) with g < h.
pub fn group_ties(w: &Window, st: &MembershipState, ctx: &Context, flagged: &[bool]) -> Vec<(u32, u32, u8, f64)> {
    let g = &ctx.graphs;
    let fl: Vec<u32> = (0..flagged.len() as u32).filter(|&i| flagged[i as usize]).collect();
    // Shared members, weighted 1/(k-1), with count and overlap thresholds.
    let mut ties: Vec<(u32, u32, u8, f64)> = fl
        .par_iter()
        .flat_map_iter(|&a_grp| {
            let mut hits: Vec<(u32, f64)> = Vec::new();
            for &acc in g.groups_members.neighbors(a_grp as usize) {
                let gs = g.members.neighbors(acc as usize);
                let k = gs.len();
                if !(2..=MAX_GROUPS_PER_ACCOUNT).contains(&k) {
                    continue;
                }
                let wt = 1.0 / (k - 1) as f64;
                hits.extend(gs.iter().filter(|&&h| h > a_grp && flagged[h as usize]).map(|&h| (h, wt)));
            }
            hits.sort_by(|x, y| x.0.cmp(&y.0).then(x.1.total_cmp(&y.1)));
            let size_a = g.groups_members.degree(a_grp as usize);
            hits.chunk_by(|x, y| x.0 == y.0)
                .filter_map(|run| {
                    let h = run[0].0;
                    let shared = run.len();
                    let union = (size_a + g.groups_members.degree(h as usize)).saturating_sub(shared).max(1);
                    let ok = shared as u32 >= MIN_SHARED_MEMBERS && shared as f64 / union as f64 >= MIN_JACCARD;
                    ok.then(|| (a_grp, h, 0u8, run.iter().map(|x| x.1).sum::<f64>()))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    // Shared admins (tie 1) and link creators (tie 2): accounts running several flagged groups.
    let mut run_by: Vec<(u32, u32, u8)> = Vec::new();
    for &grp in &fl {
        run_by.extend(st.of(grp as usize).iter().filter(|m| m.admin).map(|m| (m.account, grp, 1u8)));
    }
    run_by.extend(w.links.iter().filter(|l| l.group != NONE && l.created_by != NONE && flagged[l.group as usize]).map(|l| (l.created_by, l.group, 2u8)));
    run_by.sort_unstable_by_key(|x| (x.2, x.0, x.1));
    run_by.dedup();
    let mut counted: BTreeMap<(u32, u32, u8), f64> = BTreeMap::new();
    for run in run_by.chunk_by(|x, y| x.0 == y.0 && x.2 == y.2) {
        if run.len() > MAX_GROUPS_PER_ACCOUNT {
            continue;
        }
        for i in 0..run.len() {
            for j in i + 1..run.len() {
                *counted.entry((run[i].1, run[j].1, run[i].2)).or_default() += 1.0;
            }
        }
    }
    // Forwarding between flagged groups (tie 3).
    let mut fwd: BTreeMap<(u32, u32), u32> = BTreeMap::new();
    for f in &w.forwards {
        if f.src_group != NONE && f.dst_group != NONE && f.src_group != f.dst_group && flagged[f.src_group as usize] && flagged[f.dst_group as usize] {
            *fwd.entry((f.src_group.min(f.dst_group), f.src_group.max(f.dst_group))).or_default() += 1;
        }
    }
    for ((a, b), n) in fwd {
        if n >= MIN_FORWARDS {
            counted.insert((a, b, 3), f64::from(n));
        }
    }
    // The same media objects in both groups (tie 4), viral objects excluded.
    let mut media: Vec<(u64, u32)> = Vec::new();
    for f in &w.forwards {
        let Some(fp) = f.media_fp() else { continue };
        for grp in [f.src_group, f.dst_group] {
            if grp != NONE && flagged[grp as usize] {
                media.push((fp, grp));
            }
        }
    }
    media.sort_unstable();
    media.dedup();
    let mut shared_media: BTreeMap<(u32, u32), u32> = BTreeMap::new();
    for run in media.chunk_by(|x, y| x.0 == y.0) {
        if run.len() < 2 || crate::features::group::reach_of(&ctx.media_reach, run[0].0) > VIRAL_REACH {
            continue;
        }
        for i in 0..run.len() {
            for j in i + 1..run.len() {
                *shared_media.entry((run[i].1, run[j].1)).or_default() += 1;
            }
        }
    }
    for ((a, b), n) in shared_media {
        if n >= MIN_SHARED_MEDIA {
            counted.insert((a, b, 4), f64::from(n));
        }
    }
    ties.extend(counted.into_iter().map(|((a, b, t), wt)| (a, b, t, wt)));
    ties.sort_by(|x, y| (x.0, x.1, x.2).cmp(&(y.0, y.1, y.2)));
    ties
}

/// Flagged groups merged through their ties: each piece's dense group indices, ascending,
/// pieces in order of their smallest group.
pub fn group_pieces(n_groups: usize, flagged: &[bool], ties: &[(u32, u32, u8, f64)]) -> Vec<Vec<u32>> {
    let mut uf = UnionFind::<u32>::new(n_groups);
    for &(a, b, _, _) in ties {
        uf.union(a, b);
    }
    let mut by_root: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for g in (0..n_groups as u32).filter(|&g| flagged[g as usize]) {
        by_root.entry(uf.find(g)).or_default().push(g);
    }
    let mut pieces: Vec<Vec<u32>> = by_root.into_values().collect();
    pieces.sort_by_key(|p| p[0]);
    pieces
}

/// Per account, what ties it to one cluster.
#[derive(Debug, Clone, Copy, Default)]
struct Tie {
    member_of: u32,
    admin_of: u32,
    links_for: u32,
    forwards: u32,
    forward_groups: u32,
}

impl Tie {
    fn strength(&self) -> u32 {
        self.member_of + 2 * self.admin_of + 2 * self.links_for + self.forward_groups
    }
    fn role(&self) -> Role {
        if self.admin_of > 0 {
            Role::Admin
        } else if self.links_for > 0 {
            Role::LinkCreator
        } else if self.forwards >= HUB_MIN_FORWARDS && self.forward_groups >= 2 {
            Role::ForwarderHub
        } else {
            Role::Member
        }
    }
}

/// Builds the clusters of one run (ids still unassigned: 0).
pub fn build(inp: &Input) -> Vec<Cluster> {
    let (w, st, ctx) = (inp.w, inp.st, inp.ctx);
    let (na, ng) = (w.accounts.ids.len(), w.groups.ids.len());
    let mut group_row = vec![usize::MAX; ng];
    inp.gtab.rows.iter().enumerate().for_each(|(r, &g)| group_row[g as usize] = r);
    let mut account_row = vec![usize::MAX; na];
    inp.atab.rows.iter().enumerate().for_each(|(r, &a)| account_row[a as usize] = r);
    let mut flagged_g = vec![false; ng];
    for (r, &g) in inp.gtab.rows.iter().enumerate() {
        flagged_g[g as usize] = inp.group_flagged[r];
    }
    let ties = group_ties(w, st, ctx, &flagged_g);
    let pieces = group_pieces(ng, &flagged_g, &ties);
    let mut piece_of = vec![u32::MAX; ng];
    for (p, gs) in pieces.iter().enumerate() {
        gs.iter().for_each(|&g| piece_of[g as usize] = p as u32);
    }

    // Account ties to pieces: (account, piece) → Tie, gathered in index order.
    let mut acc_ties: BTreeMap<(u32, u32), Tie> = BTreeMap::new();
    for (p, gs) in pieces.iter().enumerate() {
        for &grp in gs {
            for m in st.of(grp as usize) {
                let t = acc_ties.entry((m.account, p as u32)).or_default();
                t.member_of += 1;
                t.admin_of += u32::from(m.admin);
            }
        }
    }
    let mut links: Vec<(u32, u32)> = w.links.iter().filter(|l| l.group != NONE && l.created_by != NONE && piece_of[l.group as usize] != u32::MAX).map(|l| (l.created_by, l.group)).collect();
    links.sort_unstable();
    links.dedup();
    for &(a, grp) in &links {
        acc_ties.entry((a, piece_of[grp as usize])).or_default().links_for += 1;
    }
    let mut fwd_groups: Vec<(u32, u32, u32)> = Vec::new(); // (sender, piece, group)
    let mut fwd_rows: BTreeMap<(u32, u32), u32> = BTreeMap::new();
    for f in &w.forwards {
        if f.sender == NONE {
            continue;
        }
        let mut seen = u32::MAX;
        for grp in [f.src_group, f.dst_group] {
            if grp != NONE && piece_of[grp as usize] != u32::MAX {
                let p = piece_of[grp as usize];
                fwd_groups.push((f.sender, p, grp));
                if seen != p {
                    *fwd_rows.entry((f.sender, p)).or_default() += 1;
                    seen = p;
                }
            }
        }
    }
    fwd_groups.sort_unstable();
    fwd_groups.dedup();
    for run in fwd_groups.chunk_by(|x, y| x.0 == y.0 && x.1 == y.1) {
        acc_ties.entry((run[0].0, run[0].1)).or_default().forward_groups = run.len() as u32;
    }
    for ((a, p), n) in fwd_rows {
        acc_ties.entry((a, p)).or_default().forwards = n;
    }

    // Each account to its strongest piece, if it qualifies there.
    let threshold = inp.account_threshold * PULL_IN_SCORE_FRACTION;
    let mut accounts_of: Vec<Vec<(u32, Role)>> = vec![Vec::new(); pieces.len()];
    let entries: Vec<((u32, u32), Tie)> = acc_ties.into_iter().collect();
    for run in entries.chunk_by(|x, y| x.0 .0 == y.0 .0) {
        let a = run[0].0 .0;
        let r = account_row[a as usize];
        let flagged = r != usize::MAX && inp.account_flagged[r];
        let score = if r == usize::MAX { 0.0 } else { inp.ascores.score[r] };
        let total_groups = ctx.graphs.members.degree(a as usize) as u32;
        let qualifies = |t: &Tie| {
            flagged
                || t.admin_of > 0
                || t.links_for > 0
                || (t.member_of >= 2 && 2 * t.member_of >= total_groups && score >= threshold)
        };
        // Strongest tie first; the smaller piece index breaks ties.
        let best = run.iter().filter(|(_, t)| qualifies(t)).max_by(|x, y| x.1.strength().cmp(&y.1.strength()).then(y.0 .1.cmp(&x.0 .1)));
        if let Some(((_, p), t)) = best {
            accounts_of[*p as usize].push((a, t.role()));
        }
    }

    // The forward and invite-link rows touching each piece's groups, gathered in one pass
    // (ascending row order), so a cluster reads its own rows instead of the whole window.
    let mut fwd_of: Vec<Vec<u32>> = vec![Vec::new(); pieces.len()];
    for (i, f) in w.forwards.iter().enumerate() {
        let p = |g: u32| if g == NONE { u32::MAX } else { piece_of[g as usize] };
        let (a, b) = (p(f.src_group), p(f.dst_group));
        if a != u32::MAX {
            fwd_of[a as usize].push(i as u32);
        }
        if b != u32::MAX && b != a {
            fwd_of[b as usize].push(i as u32);
        }
    }
    let mut links_of: Vec<Vec<u32>> = vec![Vec::new(); pieces.len()];
    for (i, l) in w.links.iter().enumerate() {
        if l.group != NONE && piece_of[l.group as usize] != u32::MAX {
            links_of[piece_of[l.group as usize] as usize].push(i as u32);
        }
    }

    let max_dense = inp.gtab.column("dense_block_score").map(|c| c.iter().flatten().fold(0.0f64, f64::max)).unwrap_or(0.0);
    let mut clusters: Vec<Cluster> = (0..pieces.len())
        .into_par_iter()
        .map(|p| describe(inp, &pieces[p], &accounts_of[p], (&fwd_of[p], &links_of[p]), &ties, &group_row, &account_row, max_dense))
        .collect();
    rank(&mut clusters);
    clusters
}

/// Ranks by risk (descending), ties by id, and numbers the ranks from 1.
pub fn rank(clusters: &mut [Cluster]) {
    clusters.sort_by(|a, b| b.risk.total_cmp(&a.risk).then(a.id.cmp(&b.id)).then(a.groups[0].0.cmp(&b.groups[0].0)));
    for (i, c) in clusters.iter_mut().enumerate() {
        c.rank = i as u64 + 1;
    }
}

#[allow(clippy::too_many_arguments)]
fn describe(
    inp: &Input,
    gs: &[u32],
    accs: &[(u32, Role)],
    (fwd_rows, link_rows): (&[u32], &[u32]),
    ties: &[(u32, u32, u8, f64)],
    group_row: &[usize],
    account_row: &[usize],
    max_dense: f64,
) -> Cluster {
    let (w, st, ctx) = (inp.w, inp.st, inp.ctx);
    let in_groups = |g: u32| gs.binary_search(&g).is_ok();
    let in_accounts = |a: u32| accs.binary_search_by_key(&a, |x| x.0).is_ok();

    // The cluster's graph: nodes groups then accounts.
    let mut edges: Vec<Edge> = Vec::new();
    for &(a, b, t, wt) in ties.iter().filter(|t| in_groups(t.0)) {
        edges.push(Edge { src: Node::Group(a), dst: Node::Group(b), tie: t, weight: wt });
    }
    for &g in gs {
        for m in st.of(g as usize).iter().filter(|m| in_accounts(m.account)) {
            edges.push(Edge { src: Node::Account(m.account), dst: Node::Group(g), tie: if m.admin { 1 } else { 0 }, weight: if m.admin { 2.0 } else { 1.0 } });
        }
    }
    let mut created: BTreeMap<(u32, u32), f64> = BTreeMap::new();
    let links = || link_rows.iter().map(|&i| &w.links[i as usize]);
    let forwards = || fwd_rows.iter().map(|&i| &w.forwards[i as usize]);
    for l in links().filter(|l| l.created_by != NONE && in_accounts(l.created_by)) {
        *created.entry((l.created_by, l.group)).or_default() += 1.0;
    }
    edges.extend(created.into_iter().map(|((a, g), n)| Edge { src: Node::Account(a), dst: Node::Group(g), tie: 2, weight: n }));
    let mut fwd: BTreeMap<(u32, u32), f64> = BTreeMap::new();
    for f in forwards() {
        if f.sender != NONE && in_accounts(f.sender) {
            for grp in [f.src_group, f.dst_group] {
                if grp != NONE && in_groups(grp) {
                    *fwd.entry((f.sender, grp)).or_default() += 1.0;
                }
            }
        }
    }
    edges.extend(fwd.into_iter().map(|((a, g), n)| Edge { src: Node::Account(a), dst: Node::Group(g), tie: 3, weight: n }));

    // Centrality: PageRank on the undirected cluster graph, scaled to the maximum.
    let idx = |n: Node| -> u32 {
        match n {
            Node::Group(g) => gs.binary_search(&g).expect("cluster group") as u32,
            Node::Account(a) => (gs.len() + accs.binary_search_by_key(&a, |x| x.0).expect("cluster account")) as u32,
        }
    };
    let n_nodes = gs.len() + accs.len();
    let graph = Csr::from_undirected_edges(n_nodes, edges.iter().map(|e| (idx(e.src), idx(e.dst), e.weight as f32)).collect());
    let pr = pagerank::pagerank(&graph, 0.85, 1e-10, 200);
    let top = pr.iter().copied().fold(0.0f64, f64::max);
    let cent = |i: usize| if top > 0.0 { pr[i] / top } else { 0.0 };
    let groups: Vec<(u32, f64)> = gs.iter().enumerate().map(|(i, &g)| (g, cent(i))).collect();
    let accounts: Vec<(u32, Role, f64)> = accs.iter().enumerate().map(|(i, &(a, r))| (a, r, cent(gs.len() + i))).collect();

    // Evidence: hash matches, child-safety reports, timeline.
    let hash_matches = gs.iter().filter(|&&g| ctx.group_photo_match[g as usize].is_some()).count()
        + accs.iter().filter(|&&(a, _)| ctx.account_photo_match[a as usize].is_some()).count();
    let in_window = |t: i64| t >= w.start_ms && t < w.now_ms;
    let mut events: Vec<(i64, u8)> = Vec::new();
    for &g in gs {
        if let Some(t) = w.groups.created_ms[g as usize].filter(|&t| in_window(t)) {
            events.push((t, 0));
        }
        let lo = w.memberships.partition_point(|e| e.group < g);
        let hi = w.memberships.partition_point(|e| e.group <= g);
        for e in &w.memberships[lo..hi] {
            if in_window(e.ts) {
                match e.event {
                    ev::JOIN => events.push((e.ts, 3)),
                    ev::LEAVE | ev::REMOVED => events.push((e.ts, 4)),
                    _ => {}
                }
            }
        }
    }
    for l in links() {
        if in_window(l.created_ms) {
            events.push((l.created_ms, 1));
        }
        if let Some(t) = l.revoked_ms.filter(|&t| in_window(t)) {
            events.push((t, 2));
        }
    }
    for f in forwards() {
        if in_window(f.ts) {
            events.push((f.ts, 5));
        }
    }
    let mut cs_reports = 0u64;
    for r in &w.reports {
        let hit = if r.on_group { in_groups(r.target) } else { in_accounts(r.target) };
        if hit && r.reason == Some(ReportReason::ChildSafety) && in_window(r.ts) {
            events.push((r.ts, 6));
            cs_reports += 1;
        }
    }
    let first_activity = events.iter().map(|e| e.0).min();
    let last_activity = events.iter().map(|e| e.0).max();
    let mut days: Vec<(i64, u8)> = events.iter().map(|&(t, e)| (t.div_euclid(MS_PER_DAY) * MS_PER_DAY, e)).collect();
    days.sort_unstable();
    let timeline: Vec<(i64, u8, u64)> = days.chunk_by(|a, b| a == b).map(|run| (run[0].0, run[0].1, run.len() as u64)).collect();

    // Risk.
    let mut scores: Vec<f64> = gs.iter().filter(|&&g| group_row[g as usize] != usize::MAX).map(|&g| inp.gscores.score[group_row[g as usize]]).collect();
    scores.extend(accs.iter().filter(|x| account_row[x.0 as usize] != usize::MAX).map(|x| inp.ascores.score[account_row[x.0 as usize]]));
    scores.sort_unstable_by(|a, b| b.total_cmp(a));
    let top3 = &scores[..scores.len().min(3)];
    let m = if top3.is_empty() { 0.0 } else { top3.iter().sum::<f64>() / top3.len() as f64 };
    let feature = |name: &str, g: u32| -> f64 {
        let r = group_row[g as usize];
        if r == usize::MAX {
            return 0.0;
        }
        inp.gtab.column(name).and_then(|c| c.get(r)).unwrap_or(0.0)
    };
    let coord = gs
        .iter()
        .map(|&g| (feature("lockstep_member_share", g) + if max_dense > 0.0 { feature("dense_block_score", g) / max_dense } else { 0.0 }) / 2.0)
        .sum::<f64>()
        / gs.len() as f64;
    let h = 1.0 - (-(hash_matches as f64) / 2.0).exp();
    let r = 1.0 - (-(cs_reports as f64) / 5.0).exp();
    let t = 1.0 - (-((gs.len() - 1) as f64) / 3.0).exp();
    let risk = (0.40 * m + 0.15 * h + 0.15 * r + 0.15 * coord.clamp(0.0, 1.0) + 0.15 * t).clamp(0.0, 1.0);

    // One line for the queue.
    let count_role = |r: Role| accounts.iter().filter(|x| x.1 == r).count();
    let mut tie_kinds: Vec<&str> = edges.iter().filter(|e| matches!(e.src, Node::Group(_))).map(|e| TIES[e.tie as usize]).collect();
    tie_kinds.sort_unstable();
    tie_kinds.dedup();
    let top_group = gs.iter().filter(|&&g| group_row[g as usize] != usize::MAX).max_by(|&&a, &&b| {
        inp.gscores.score[group_row[a as usize]].total_cmp(&inp.gscores.score[group_row[b as usize]]).then(b.cmp(&a))
    });
    let top_reason = top_group.and_then(|&g| inp.gscores.reasons[group_row[g as usize]].first()).map(|r| inp.gscores.reason_text(r));
    let mut summary = format!(
        "{} group{}, {} account{} ({} admin, {} link creator, {} forwarder hub); {} hash-bank match{}, {} child-safety report{}",
        gs.len(),
        plural(gs.len()),
        accounts.len(),
        plural(accounts.len()),
        count_role(Role::Admin),
        count_role(Role::LinkCreator),
        count_role(Role::ForwarderHub),
        hash_matches,
        if hash_matches == 1 { "" } else { "es" },
        cs_reports,
        plural(cs_reports as usize),
    );
    if tie_kinds.is_empty() {
        summary.push_str("; a single group");
    } else {
        summary.push_str(&format!("; tied by {}", tie_kinds.iter().map(|t| t.replace('_', " ")).collect::<Vec<_>>().join(", ")));
    }
    if let Some(r) = top_reason {
        summary.push_str(&format!("; top reason: {r}"));
    }

    let edges = bound_edges(edges, &groups, &accounts);
    Cluster {
        id: 0,
        groups,
        accounts,
        risk,
        rank: 0,
        first_activity,
        last_activity,
        hash_matches: hash_matches as u64,
        child_safety_reports: cs_reports,
        summary,
        edges,
        timeline,
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// At most [`MAX_EDGES_PER_CLUSTER`] edges: the heaviest edge of every group and of the top
/// key accounts first, then the heaviest of the rest; sorted by (src, dst, tie).
fn bound_edges(mut edges: Vec<Edge>, groups: &[(u32, f64)], accounts: &[(u32, Role, f64)]) -> Vec<Edge> {
    if edges.len() <= MAX_EDGES_PER_CLUSTER {
        edges.sort_by(|a, b| (a.src, a.dst, a.tie).cmp(&(b.src, b.dst, b.tie)));
        return edges;
    }
    edges.sort_by(|a, b| b.weight.total_cmp(&a.weight).then((a.src, a.dst, a.tie).cmp(&(b.src, b.dst, b.tie))));
    let mut key: Vec<&(u32, Role, f64)> = accounts.iter().collect();
    key.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    let mut must: Vec<Node> = groups.iter().map(|g| Node::Group(g.0)).collect();
    must.extend(key.iter().take(KEY_ACCOUNTS_IN_PICTURE).map(|a| Node::Account(a.0)));
    let mut keep = vec![false; edges.len()];
    for n in must {
        if let Some(i) = edges.iter().position(|e| e.src == n || e.dst == n) {
            keep[i] = true;
        }
    }
    let mut kept = keep.iter().filter(|&&k| k).count();
    for k in keep.iter_mut() {
        if kept >= MAX_EDGES_PER_CLUSTER {
            break;
        }
        if !*k {
            *k = true;
            kept += 1;
        }
    }
    let mut out: Vec<Edge> = edges.into_iter().zip(keep).filter(|(_, k)| *k).map(|(e, _)| e).collect();
    out.sort_by(|a, b| (a.src, a.dst, a.tie).cmp(&(b.src, b.dst, b.tie)));
    out
}

/// The whole stage: clusters, stable ids against the previous run's clusters, lookups.
/// `previous` are the clusters of `previous_run` ([`previous_run`], [`previous_clusters`]).
pub fn networks(inp: &Input, previous_run: Option<PathBuf>, previous: &PreviousClusters, as_of: NaiveDate) -> Networks {
    let mut clusters = build(inp);
    let w = inp.w;
    let sets: Vec<Vec<u64>> = clusters.iter().map(|c| c.groups.iter().map(|g| w.groups.ids[g.0 as usize]).collect()).collect();
    let (ids, kept) = assign_ids(&sets, previous, as_of);
    for (c, id) in clusters.iter_mut().zip(&ids) {
        c.id = *id;
    }
    rank(&mut clusters);
    let mut group_cluster = vec![None; w.groups.ids.len()];
    let mut account_cluster = vec![None; w.accounts.ids.len()];
    for c in &clusters {
        c.groups.iter().for_each(|g| group_cluster[g.0 as usize] = Some(c.id));
        c.accounts.iter().for_each(|a| account_cluster[a.0 as usize] = Some(c.id));
    }
    let n = clusters.len();
    Networks { clusters, group_cluster, account_cluster, previous_run, ids_kept: kept, ids_new: n - kept }
}

/// `clusters.parquet` (by rank).
pub fn clusters_frame(n: &Networks) -> PolarsResult<DataFrame> {
    let c = &n.clusters;
    crate::io::frame(vec![
        col::u64s("cluster_id", c.iter().map(|c| c.id).collect()),
        col::u64s("n_groups", c.iter().map(|c| c.groups.len() as u64).collect()),
        col::u64s("n_accounts", c.iter().map(|c| c.accounts.len() as u64).collect()),
        col::f64s("risk_score", c.iter().map(|c| c.risk).collect()),
        col::u64s("rank", c.iter().map(|c| c.rank).collect()),
        col::opt_times("first_activity", c.iter().map(|c| c.first_activity).collect())?,
        col::opt_times("last_activity", c.iter().map(|c| c.last_activity).collect())?,
        col::u64s("hash_matches", c.iter().map(|c| c.hash_matches).collect()),
        col::u64s("child_safety_reports", c.iter().map(|c| c.child_safety_reports).collect()),
        col::strs("summary", c.iter().map(|c| c.summary.clone()).collect()),
    ])
}

/// `cluster_members.parquet`: by cluster rank, groups first, then accounts by id.
pub fn members_frame(n: &Networks, w: &Window, inp_scores: (&Scores, &Scores), rows: (&[usize], &[usize])) -> PolarsResult<DataFrame> {
    let (mut cid, mut kind, mut id, mut role, mut score, mut cent) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    for c in &n.clusters {
        for &(g, ce) in &c.groups {
            cid.push(c.id);
            kind.push(EntityKind::Group.as_str());
            id.push(w.groups.ids[g as usize]);
            role.push("group");
            score.push(rows.0.get(g as usize).filter(|&&r| r != usize::MAX).map_or(0.0, |&r| inp_scores.0.score[r]));
            cent.push(ce);
        }
        for &(a, r, ce) in &c.accounts {
            cid.push(c.id);
            kind.push(EntityKind::Account.as_str());
            id.push(w.accounts.ids[a as usize]);
            role.push(r.as_str());
            score.push(rows.1.get(a as usize).filter(|&&x| x != usize::MAX).map_or(0.0, |&x| inp_scores.1.score[x]));
            cent.push(ce);
        }
    }
    crate::io::frame(vec![
        col::u64s("cluster_id", cid),
        col::static_strs("entity_kind", kind),
        col::u64s("entity_id", id),
        col::static_strs("role", role),
        col::f64s("score", score),
        col::f64s("centrality", cent),
    ])
}

/// `cluster_timeline.parquet`: one row per (cluster, day, event) with a count, by cluster
/// rank, day and event.
pub fn timeline_frame(n: &Networks) -> PolarsResult<DataFrame> {
    let (mut cid, mut day, mut event, mut count) = (vec![], vec![], vec![], vec![]);
    for c in &n.clusters {
        for &(d, e, k) in &c.timeline {
            cid.push(c.id);
            day.push(d);
            event.push(EVENTS[e as usize]);
            count.push(k);
        }
    }
    crate::io::frame(vec![col::u64s("cluster_id", cid), col::times("day", day)?, col::static_strs("event", event), col::u64s("count", count)])
}

/// `cluster_edges.parquet`: each cluster's bounded picture.
pub fn edges_frame(n: &Networks, w: &Window) -> PolarsResult<DataFrame> {
    let (mut cid, mut sk, mut si, mut dk, mut di, mut tie, mut wt) = (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let node = |x: Node| match x {
        Node::Group(g) => (EntityKind::Group.as_str(), w.groups.ids[g as usize]),
        Node::Account(a) => (EntityKind::Account.as_str(), w.accounts.ids[a as usize]),
    };
    for c in &n.clusters {
        for e in &c.edges {
            let (a, b) = (node(e.src), node(e.dst));
            cid.push(c.id);
            sk.push(a.0);
            si.push(a.1);
            dk.push(b.0);
            di.push(b.1);
            tie.push(TIES[e.tie as usize]);
            wt.push(e.weight);
        }
    }
    crate::io::frame(vec![
        col::u64s("cluster_id", cid),
        col::static_strs("src_kind", sk),
        col::u64s("src_id", si),
        col::static_strs("dst_kind", dk),
        col::u64s("dst_id", di),
        col::static_strs("tie", tie),
        col::f64s("weight", wt),
    ])
}

/// Dense index → table row (`usize::MAX` when the entity has no row).
pub fn row_index(n: usize, rows: &[u32]) -> Vec<usize> {
    let mut out = vec![usize::MAX; n];
    rows.iter().enumerate().for_each(|(r, &i)| out[i as usize] = r);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn ids_carry_over_one_to_one_and_fresh_ids_come_from_the_date() {
        let mut prev = PreviousClusters::new();
        prev.insert(7, vec![1, 2, 3]);
        prev.insert(9, vec![10, 11]);
        // Two new clusters both overlap 7; the closer one keeps it. 9 vanished.
        let new = vec![vec![1, 2], vec![1, 2, 3, 4], vec![20]];
        let (ids, kept) = assign_ids(&new, &prev, date("2026-11-25"));
        assert_eq!(kept, 1);
        assert_eq!(ids[1], 7);
        assert_eq!(ids[0], 20261125_000001);
        assert_eq!(ids[2], 20261125_000002);
        // Below the threshold: a fresh id.
        let (ids, kept) = assign_ids(&[vec![1, 50, 51, 52, 53, 54, 55]], &prev, date("2026-11-25"));
        assert_eq!((ids[0], kept), (20261125_000001, 0));
    }

    #[test]
    fn jaccard_of_sorted_sets() {
        assert_eq!(jaccard(&[1, 2, 3], &[2, 3, 4]), 0.5);
        assert_eq!(jaccard(&[], &[]), 0.0);
    }

    #[test]
    fn pieces_follow_ties_only_among_flagged_groups() {
        let flagged = [true, true, false, true, true];
        let ties = [(0, 1, 0, 1.0), (3, 4, 3, 2.0)];
        assert_eq!(group_pieces(5, &flagged, &ties), vec![vec![0, 1], vec![3, 4]]);
    }
}
