//! Graph features: risk propagation from seeds, neighbourhood of known-violating groups,
//! coordination (lockstep joins, dense blocks) and communities of the group projection.
//!
//! The graphs are built once per window ([`Graphs::build`]); seed-independent results
//! (lockstep, Fraudar, communities) are computed there. Seed-based features take the visible
//! seed set as an argument ([`Seeds`]), so a trainer can recompute them with an entity's own
//! label, or a whole fold's, hidden: that is the leakage control of `detection.md`. Seed-based
//! neighbourhood features also never count the entity itself as its own violating neighbour.

use rayon::prelude::*;

use crate::graph::{fraudar, lockstep, louvain, pagerank, projection, Csr};
use crate::ingest::{ev, method, Window, NONE};
use crate::replay::MembershipState;

use super::Context;

/// What the seed-based (and label-trained) features may see.
#[derive(Debug, Clone, Default)]
pub struct Seeds {
    /// Known-violating accounts: violating labels and hash-bank photo matches.
    pub accounts: Vec<u32>,
    pub groups: Vec<u32>,
    /// Visible labels (entity, violating), for features trained on labels (text scores).
    pub labelled_accounts: Vec<(u32, bool)>,
    pub labelled_groups: Vec<(u32, bool)>,
}

impl Seeds {
    /// Entities whose latest label before `cutoff_ms` is violating, plus photos matching the
    /// hash bank, minus `hidden` (accounts, groups) — the entities under evaluation.
    pub fn visible(w: &Window, ctx: &Context, cutoff_ms: i64, hidden_accounts: &[u32], hidden_groups: &[u32]) -> Seeds {
        let (acc, grp) = w.latest_labels(cutoff_ms);
        let mut s = Seeds::default();
        for a in 0..acc.len() {
            if hidden_accounts.binary_search(&(a as u32)).is_err() {
                if acc[a] == Some(true) || ctx.account_photo_match[a].is_some() {
                    s.accounts.push(a as u32);
                }
                if let Some(v) = acc[a] {
                    s.labelled_accounts.push((a as u32, v));
                }
            }
        }
        for g in 0..grp.len() {
            if hidden_groups.binary_search(&(g as u32)).is_err() {
                if grp[g] == Some(true) || ctx.group_photo_match[g].is_some() {
                    s.groups.push(g as u32);
                }
                if let Some(v) = grp[g] {
                    s.labelled_groups.push((g as u32, v));
                }
            }
        }
        s
    }

    /// Per group of `ng` (by dense index), whether it is a seed group.
    pub fn group_mask(&self, ng: usize) -> Vec<bool> {
        let mut mask = vec![false; ng];
        self.groups.iter().for_each(|&g| mask[g as usize] = true);
        mask
    }

    /// Per group of `ng` (by dense index), its visible label.
    pub fn group_labels(&self, ng: usize) -> Vec<Option<bool>> {
        let mut label = vec![None; ng];
        self.labelled_groups.iter().for_each(|&(g, v)| label[g as usize] = Some(v));
        label
    }
}

/// Graphs of one window and the seed-independent results on them.
pub struct Graphs {
    /// Current memberships: accounts × groups, weight 1.
    pub members: Csr,
    pub groups_members: Csr,
    /// Group → group forwarding in the window, weight = forward rows.
    pub forwarding: Csr,
    /// Groups tied by shared members, admins, link creators, media and forwards.
    pub projection: projection::Projection,
    pub lockstep: lockstep::Lockstep,
    pub fraudar: fraudar::Fraudar,
    /// Community of each group in the projection.
    pub communities: louvain::Communities,
}

/// Fraudar blocks peeled per window. Each peel is a pass over every edge (about 2 s at a
/// million accounts); blocks beyond the first few are small and rarely planted networks.
const FRAUDAR_BLOCKS: usize = 4;

impl Graphs {
    pub fn build(w: &Window, st: &MembershipState) -> Graphs {
        let (na, ng) = (w.accounts.ids.len(), w.groups.ids.len());
        let mut edges = Vec::with_capacity(st.members.len());
        for g in 0..ng {
            for m in st.of(g) {
                edges.push((m.account, g as u32, 1.0f32));
            }
        }
        let members = Csr::from_edges(na, ng, edges);
        let groups_members = members.transpose();
        let fwd: Vec<(u32, u32, f32)> = w
            .forwards
            .iter()
            .filter(|f| f.src_group != NONE && f.dst_group != NONE && f.src_group != f.dst_group)
            .map(|f| (f.src_group, f.dst_group, 1.0))
            .collect();
        let forwarding = Csr::from_edges(ng, ng, fwd);
        // Lockstep on self-initiated joins (links, approvals) over the history: being added
        // by the same admin at once is not coordination of the added.
        let joins: Vec<(u32, u32, i64)> = w
            .memberships
            .iter()
            .filter(|e| e.event == ev::JOIN && (e.method == method::INVITE_LINK || e.method == method::APPROVAL))
            .map(|e| (e.group, e.account, e.ts))
            .collect();
        // Fraudar's peels and Louvain's local moving are each sequential, and independent of
        // each other: they run side by side (each result is the same as when run alone).
        let ((lockstep, fraudar), (projection, communities)) = rayon::join(
            || {
                let t = std::time::Instant::now();
                let joins = lockstep::Joins::from_triples(ng, joins);
                let lockstep = lockstep::lockstep(na, &joins, &lockstep::LockstepParams::default());
                tracing::debug!(seconds = t.elapsed().as_secs_f64(), "lockstep");
                let t = std::time::Instant::now();
                let fraudar = fraudar::fraudar(&members, &groups_members, &fraudar::FraudarParams { blocks: FRAUDAR_BLOCKS, log_offset: 5.0 });
                tracing::debug!(seconds = t.elapsed().as_secs_f64(), "fraudar");
                (lockstep, fraudar)
            },
            || {
                let t = std::time::Instant::now();
                let projection = group_projection(w, st, &members, &forwarding);
                tracing::debug!(seconds = t.elapsed().as_secs_f64(), edges = projection.ties.n_edges(), "group projection");
                let t = std::time::Instant::now();
                let communities = louvain::louvain(&projection.ties, &louvain::LouvainParams::default());
                tracing::debug!(seconds = t.elapsed().as_secs_f64(), "louvain");
                (projection, communities)
            },
        );
        Graphs { members, groups_members, forwarding, projection, lockstep, fraudar, communities }
    }
}

/// The window's group projection ([`projection`]): members from the membership matrix,
/// admins (current admins and the creator), invite-link creators, media objects forwarded
/// from or into groups in the window, and group-to-group forwarding.
pub fn group_projection(w: &Window, st: &MembershipState, members: &Csr, forwarding: &Csr) -> projection::Projection {
    let ng = w.groups.ids.len();
    let mut admins: Vec<(u32, u32)> = (0..ng).flat_map(|g| st.of(g).iter().filter(|m| m.admin).map(move |m| (m.account, g as u32))).collect();
    admins.extend((0..ng).filter(|&g| w.groups.creator[g] != NONE).map(|g| (w.groups.creator[g], g as u32)));
    let link_creators: Vec<(u32, u32)> = w.links.iter().filter(|l| l.created_by != NONE && l.group != NONE).map(|l| (l.created_by, l.group)).collect();
    let media: Vec<(u64, u32)> = w
        .forwards
        .iter()
        .filter_map(|f| f.media_fp().map(|fp| (fp, f)))
        .flat_map(|(fp, f)| [f.src_group, f.dst_group].into_iter().filter(|&g| g != NONE).map(move |g| (fp, g)))
        .collect();
    projection::project(
        members,
        &projection::connectors_from_pairs(admins),
        &projection::connectors_from_pairs(link_creators),
        &projection::connectors_from_pairs(media),
        forwarding,
    )
}

/// The graph features of each entity kind (structural and seed-based): what a
/// "tabular-only" model leaves out to show the lift the graph brings.
pub const GROUP_GRAPH_FEATURES: &[&str] = &[
    "max_jaccard_any_group", "community_size", "lockstep_member_share", "dense_block_score", "tie_strength", "tie_members_max",
    "tie_admins_max", "tie_link_creators_max", "tie_media_max", "tie_forwarding_max", "tie_admins_share", "tie_members_share",
    "tie_media_share", "ppr_membership", "ppr_forwarding",
    "members_in_violating_groups_share", "max_jaccard_violating_group", "admins_shared_with_violating",
    "link_creators_shared_with_violating", "community_violating_share", "member_groups_labelled_violating_share", "members_known_violating_share", "nb_score_mean", "nb_score_max",
    "community_score_mean", "member_score_mean", "member_score_top", "nb_seed_share", "nb_labelled_violating_share", "ppr_ties",
];
pub const ACCOUNT_GRAPH_FEATURES: &[&str] = &[
    "lockstep_max_shared_groups", "lockstep_partners", "dense_block_score", "ppr_membership", "violating_groups_now",
    "co_members_known_violating_share_max", "co_members_known_violating_share_mean", "groups_score_max", "groups_score_mean", "admin_groups_score_max",
];

/// Seed-based and graph features, as (group columns, account columns) of
/// `(name, values by dense index)`.
pub type Columns = Vec<(&'static str, Vec<Option<f64>>)>;

/// Features that need no seeds: community size, lockstep and dense blocks.
pub fn structural(w: &Window, _st: &MembershipState, g: &Graphs) -> (Columns, Columns) {
    let (na, ng) = (w.accounts.ids.len(), w.groups.ids.len());
    let comm = &g.communities;
    // Largest member overlap with any other group: sister groups of one network share their
    // cohorts. Accounts in more than MAX_GROUPS_PER_CONNECTOR groups are skipped (as in the
    // projection), so a few hyperactive accounts cannot make every pair overlap.
    let max_jaccard: Vec<Option<f64>> = (0..ng)
        .into_par_iter()
        .map(|i| {
            let members = g.groups_members.neighbors(i);
            if members.len() < 3 {
                return None;
            }
            let mut others: Vec<u32> = members
                .iter()
                .map(|&a| g.members.neighbors(a as usize))
                .filter(|gs| gs.len() <= projection::MAX_GROUPS_PER_CONNECTOR)
                .flat_map(|gs| gs.iter().copied().filter(|&h| h as usize != i))
                .collect();
            others.sort_unstable();
            let size = members.len() as f64;
            let best = others
                .chunk_by(|a, b| a == b)
                .map(|run| {
                    let c = run.len() as f64;
                    c / (size + g.groups_members.degree(run[0] as usize) as f64 - c)
                })
                .fold(0.0, f64::max);
            Some(best)
        })
        .collect();
    let group_cols: Columns = {
        let per = |f: &(dyn Fn(usize) -> Option<f64> + Sync)| (0..ng).into_par_iter().map(f).collect::<Vec<_>>();
        vec![
            ("max_jaccard_any_group", max_jaccard),
            ("community_size", per(&|i| Some(comm.sizes[comm.labels[i] as usize] as f64))),
            ("lockstep_member_share", per(&|i| {
                let m = g.groups_members.neighbors(i);
                let hit = m.iter().filter(|&&a| g.lockstep.partners[a as usize] > 0).count();
                (!m.is_empty()).then(|| hit as f64 / m.len() as f64)
            })),
            ("dense_block_score", per(&|i| Some(g.fraudar.group_score[i]))),
            ("tie_strength", per(&|i| Some(g.projection.ties.strength(i)))),
            ("tie_members_max", per(&|i| Some(f64::from(g.projection.strongest[0][i])))),
            ("tie_admins_max", per(&|i| Some(f64::from(g.projection.strongest[1][i])))),
            ("tie_link_creators_max", per(&|i| Some(f64::from(g.projection.strongest[2][i])))),
            ("tie_media_max", per(&|i| Some(f64::from(g.projection.strongest[3][i])))),
            ("tie_forwarding_max", per(&|i| Some(f64::from(g.projection.strongest[4][i])))),
            ("tie_admins_share", per(&|i| tie_share(&g.projection, 1, i))),
            ("tie_members_share", per(&|i| tie_share(&g.projection, 0, i))),
            ("tie_media_share", per(&|i| tie_share(&g.projection, 3, i))),
        ]
    };
    let account_cols: Columns = {
        let per = |f: &(dyn Fn(usize) -> Option<f64> + Sync)| (0..na).into_par_iter().map(f).collect::<Vec<_>>();
        vec![
            ("lockstep_max_shared_groups", per(&|i| Some(g.lockstep.max_shared_groups[i] as f64))),
            ("lockstep_partners", per(&|i| Some(g.lockstep.partners[i] as f64))),
            ("dense_block_score", per(&|i| Some(g.fraudar.account_score[i]))),
        ]
    };
    (group_cols, account_cols)
}

/// Share of group `i`'s total tie weight that relation `r` makes up; None without ties.
fn tie_share(p: &projection::Projection, r: usize, i: usize) -> Option<f64> {
    let all: f64 = p.total.iter().map(|t| t[i]).sum();
    (all > 0.0).then(|| p.total[r][i] / all)
}

/// Risk propagated from one seed set: the personalised PageRanks the seed-based and network
/// features read.
#[derive(Debug, Clone)]
pub struct Propagation {
    /// On the account–group membership graph, from the seed accounts and groups.
    pub membership: pagerank::BipartiteScores,
    /// On the group forwarding graph, from the seed groups (0 without one).
    pub forwarding: Vec<f64>,
    /// On the group projection's ties, from the seed groups (0 without one).
    pub ties: Vec<f64>,
}

/// Damping, tolerance and iteration cap of every propagation. The walks stop when an
/// iteration moves the scores by less than `1e-9` per node on average (at a million nodes,
/// about a thousandth of a uniform node's score): far below what the models' 64 quantile bins
/// tell apart, and 15 iterations fewer than `1e-10` at 1M accounts (58 → 43 before the
/// membership walk took its Gauss–Seidel order, 17 since) (benches/RESULTS.md).
const PPR: (f64, f64, usize) = (0.85, 1e-9, 200);

impl Propagation {
    /// The propagation of each seed set (one per cross-validation pass), computed together:
    /// each graph is read once per iteration for up to five sets, and each result is bit for bit
    /// what its set alone gives. Most of a pass's cost was these walks, one set at a time.
    pub fn of_passes(g: &Graphs, passes: &[&Seeds]) -> Vec<Propagation> {
        let (damping, tol, max_iter) = PPR;
        let sets: Vec<(&[u32], &[u32])> = passes.iter().map(|s| (&s.accounts[..], &s.groups[..])).collect();
        let clock = std::time::Instant::now();
        let membership = pagerank::bipartite_seeded_pagerank_many(&g.members, &g.groups_members, &sets, damping, tol, max_iter);
        tracing::debug!(sets = sets.len(), iterations = membership.iter().map(|m| m.iterations).max().unwrap_or(0), seconds = clock.elapsed().as_secs_f64(), "membership walks");
        // Group-graph walks restart at the seed groups; a set without one propagates nothing.
        // `incoming` is `out` transposed: the projection is symmetric, so it is its own.
        let group_walks = |out: &Csr, incoming: &Csr| -> Vec<Vec<f64>> {
            let ng = out.n_rows();
            let restarts: Vec<Vec<f64>> = passes
                .iter()
                .filter(|s| !s.groups.is_empty())
                .map(|s| {
                    let mut r = vec![0.0; ng];
                    s.groups.iter().for_each(|&i| r[i as usize] = 1.0);
                    r
                })
                .collect();
            let mut runs = if restarts.is_empty() { Vec::new() } else { pagerank::personalized_pagerank_many(out, incoming, &restarts, damping, tol, max_iter) }.into_iter();
            passes.iter().map(|s| if s.groups.is_empty() { vec![0.0; ng] } else { runs.next().expect("one run per seeded set").scores }).collect()
        };
        let clock = std::time::Instant::now();
        let forwarding = group_walks(&g.forwarding, &g.forwarding.transpose());
        tracing::debug!(seconds = clock.elapsed().as_secs_f64(), "forwarding walks");
        let clock = std::time::Instant::now();
        debug_assert!(g.projection.ties.is_symmetric());
        let ties = group_walks(&g.projection.ties, &g.projection.ties);
        tracing::debug!(seconds = clock.elapsed().as_secs_f64(), "ties walks");
        membership.into_iter().zip(forwarding).zip(ties).map(|((membership, forwarding), ties)| Propagation { membership, forwarding, ties }).collect()
    }

    /// The propagation of one seed set.
    pub fn of(g: &Graphs, seeds: &Seeds) -> Propagation {
        Self::of_passes(g, &[seeds]).pop().expect("one per seed set")
    }
}

/// Seed-based features: propagation and neighbourhood of the visible seeds.
pub fn seeded(w: &Window, st: &MembershipState, g: &Graphs, seeds: &Seeds) -> (Columns, Columns) {
    seeded_with(w, st, g, seeds, &Propagation::of(g, seeds))
}

/// [`seeded`] with the seeds' propagation computed beforehand ([`Propagation::of_passes`]).
pub fn seeded_with(w: &Window, st: &MembershipState, g: &Graphs, seeds: &Seeds, prop: &Propagation) -> (Columns, Columns) {
    let (na, ng) = (w.accounts.ids.len(), w.groups.ids.len());
    let n = (na + ng) as f64;
    let seed_group = seeds.group_mask(ng);

    // Risk propagation: scores relative to the uniform distribution (1 = average), so values
    // mean the same on graphs of any size.
    let ppr = &prop.membership;
    let ppr_fwd = &prop.forwarding;

    // Per account: seed groups it is in, and seed groups where it is an admin.
    let mut in_seed = vec![0u32; na];
    let mut admin_of_seed = vec![0u32; na];
    for &s in &seeds.groups {
        for m in st.of(s as usize) {
            in_seed[m.account as usize] += 1;
            admin_of_seed[m.account as usize] += u32::from(m.admin);
        }
    }
    // Link creators: (account, group) pairs, and per account the seed groups it made links for.
    let mut creator_pairs: Vec<(u32, u32)> = w.links.iter().filter(|l| l.created_by != NONE && l.group != NONE).map(|l| (l.created_by, l.group)).collect();
    creator_pairs.sort_unstable();
    creator_pairs.dedup();
    let mut links_for_seed = vec![0u32; na];
    for &(a, grp) in &creator_pairs {
        links_for_seed[a as usize] += u32::from(seed_group[grp as usize]);
    }
    let mut creators_of = vec![Vec::new(); ng];
    for &(a, grp) in &creator_pairs {
        creators_of[grp as usize].push(a);
    }

    // Largest Jaccard overlap with a different seed group: intersections counted from the
    // seeds' side, then max-reduced (order-independent).
    let best_jaccard: Vec<f64> = {
        let per_seed: Vec<Vec<(u32, f64)>> = seeds
            .groups
            .par_iter()
            .map(|&s| {
                let mut counts: std::collections::BTreeMap<u32, u32> = Default::default();
                for &a in g.groups_members.neighbors(s as usize) {
                    for &h in g.members.neighbors(a as usize) {
                        if h != s {
                            *counts.entry(h).or_default() += 1;
                        }
                    }
                }
                let size_s = g.groups_members.degree(s as usize) as f64;
                counts
                    .into_iter()
                    .map(|(h, c)| (h, c as f64 / (size_s + g.groups_members.degree(h as usize) as f64 - c as f64)))
                    .collect()
            })
            .collect();
        let mut best = vec![0.0f64; ng];
        for list in per_seed {
            for (h, j) in list {
                best[h as usize] = best[h as usize].max(j);
            }
        }
        best
    };

    // Known-violating accounts among each group's current members: where accounts, not
    // groups, carry the labels (or hash matches), the direct measure of a group's company.
    let mut seed_account = vec![false; na];
    seeds.accounts.iter().for_each(|&s| seed_account[s as usize] = true);
    let seed_members: Vec<u32> = (0..ng)
        .into_par_iter()
        .map(|i| g.groups_members.neighbors(i).iter().filter(|&&a| seed_account[a as usize]).count() as u32)
        .collect();

    // Labelled groups of each account's current groups, and the violating ones among them:
    // both classes of label, so the share means the same at any prevalence (where most groups
    // are violating, nearly every member sits in one, and only the share of its *labelled*
    // groups still tells).
    let group_label = seeds.group_labels(ng);
    let groups_labelled: Vec<(u32, u32)> = (0..na)
        .into_par_iter()
        .map(|a| {
            let labels = g.members.neighbors(a).iter().filter_map(|&h| group_label[h as usize]);
            labels.fold((0, 0), |(n, v), l| (n + 1, v + u32::from(l)))
        })
        .collect();

    // Community share of seed groups (other than the group itself).
    let comm = &g.communities;
    let mut seeds_in_comm = vec![0u32; comm.sizes.len()];
    for &s in &seeds.groups {
        seeds_in_comm[comm.labels[s as usize] as usize] += 1;
    }

    let group_cols: Columns = {
        let per = |f: &(dyn Fn(usize) -> Option<f64> + Sync)| (0..ng).into_par_iter().map(f).collect::<Vec<_>>();
        let own = |grp: usize, a: u32| u32::from(seed_group[grp] && g.members.neighbors(a as usize).binary_search(&(grp as u32)).is_ok());
        vec![
            ("ppr_membership", per(&|i| Some(ppr.groups[i] * n))),
            ("ppr_forwarding", per(&|i| Some(ppr_fwd[i] * ng as f64))),
            ("members_in_violating_groups_share", per(&|i| {
                let m = g.groups_members.neighbors(i);
                let hit = m.iter().filter(|&&a| in_seed[a as usize] > own(i, a)).count();
                (!m.is_empty()).then(|| hit as f64 / m.len() as f64)
            })),
            ("max_jaccard_violating_group", per(&|i| Some(best_jaccard[i]))),
            ("admins_shared_with_violating", per(&|i| {
                let admins = st.of(i).iter().filter(|m| m.admin);
                Some(admins.filter(|m| admin_of_seed[m.account as usize] > u32::from(seed_group[i])).count() as f64)
            })),
            ("link_creators_shared_with_violating", per(&|i| {
                Some(creators_of[i].iter().filter(|&&a| links_for_seed[a as usize] > u32::from(seed_group[i])).count() as f64)
            })),
            ("community_violating_share", per(&|i| {
                let c = comm.labels[i] as usize;
                let others = comm.sizes[c] as f64 - 1.0;
                (others > 0.0).then(|| (seeds_in_comm[c] - u32::from(seed_group[i])) as f64 / others)
            })),
            ("member_groups_labelled_violating_share", per(&|i| {
                // Pooled over the members, their other groups only.
                let own = group_label[i].map_or((0, 0), |l| (1, u32::from(l)));
                let (n, v) = g.groups_members.neighbors(i).iter().fold((0u64, 0u64), |(n, v), &a| {
                    let (an, av) = groups_labelled[a as usize];
                    (n + u64::from(an - own.0), v + u64::from(av - own.1))
                });
                (n > 0).then(|| v as f64 / n as f64)
            })),
            ("members_known_violating_share", per(&|i| {
                let m = g.groups_members.degree(i);
                (m > 0).then(|| seed_members[i] as f64 / m as f64)
            })),
        ]
    };
    // Per account, the share of known violators among the other members of each of its groups
    // (the account itself never counts): the largest and the mean over its groups.
    let co_members: Vec<Option<(f64, f64)>> = (0..na)
        .into_par_iter()
        .map(|i| {
            let own = u32::from(seed_account[i]);
            let (mut max, mut sum, mut k) = (0.0f64, 0.0f64, 0usize);
            for &h in g.members.neighbors(i) {
                let others = g.groups_members.degree(h as usize);
                if others > 1 {
                    let share = f64::from(seed_members[h as usize] - own) / (others - 1) as f64;
                    max = max.max(share);
                    sum += share;
                    k += 1;
                }
            }
            (k > 0).then(|| (max, sum / k as f64))
        })
        .collect();
    let account_cols: Columns = {
        let per = |f: &(dyn Fn(usize) -> Option<f64> + Sync)| (0..na).into_par_iter().map(f).collect::<Vec<_>>();
        vec![
            ("ppr_membership", per(&|i| Some(ppr.accounts[i] * n))),
            ("violating_groups_now", per(&|i| Some(in_seed[i] as f64))),
            ("co_members_known_violating_share_max", per(&|i| co_members[i].map(|c| c.0))),
            ("co_members_known_violating_share_mean", per(&|i| co_members[i].map(|c| c.1))),
        ]
    };
    (group_cols, account_cols)
}
