//! Network features: what an entity's network says about it.
//!
//! A violating network is rarely loud everywhere. Some of its groups burst, collect reports
//! or move images; others are quiet, and its camouflaged members lead ordinary lives
//! elsewhere. What gives the quiet parts away is the company they keep: groups tied to
//! suspicious groups (through the [`projection`](crate::graph::projection)), accounts in
//! suspicious groups, and ties to entities already known to be violating. Loud benign
//! look-alikes (an event filled in a burst, a broadcaster) are the reverse: loud alone, tied
//! to nothing suspicious.
//!
//! These features read a *first-stage* score of every entity (a model of the label-free
//! features: [`crate::model::train`]) through the graph, which makes the second-stage model a
//! learned score smoothing: an entity's own evidence blended with its neighbours'. They also
//! read the visible seeds (labels and hash matches, with the entity's own fold hidden by the
//! caller) through the projection, which surfaces groups tied to known violating groups by
//! admins, link creators or media rather than by members alone.
//!
//! No feature counts the entity itself: the projection has no self-loops, community means
//! leave the group out, and a group's own seed status is not a neighbour's.

use rayon::prelude::*;

use super::graph::{Columns, Graphs, Propagation, Seeds};
use crate::graph::Csr;
use crate::ingest::{Window, NONE};
use crate::replay::MembershipState;

/// First-stage scores by dense index (NaN where an entity was not scored).
#[derive(Debug, Clone, Copy)]
pub struct FirstStage<'a> {
    pub group: &'a [f64],
    pub account: &'a [f64],
}

/// A tie this weak or weaker does not make a neighbour's score count towards the maximum.
const STRONG_TIE: f32 = 0.1;

/// Member scores averaged for `member_score_top`.
const TOP_MEMBERS: usize = 5;

/// Names of the network features, per kind, in column order; those marked `true` are
/// seed-based.
pub const GROUP_NETWORK_FEATURES: &[(&str, bool)] = &[
    ("nb_score_mean", false),
    ("nb_score_max", false),
    ("community_score_mean", false),
    ("member_score_mean", false),
    ("member_score_top", false),
    ("nb_seed_share", true),
    ("nb_labelled_violating_share", true),
    ("ppr_ties", true),
];
pub const ACCOUNT_NETWORK_FEATURES: &[(&str, bool)] = &[("groups_score_max", false), ("groups_score_mean", false), ("admin_groups_score_max", false)];

/// The network features of both kinds, as (group columns, account columns) by dense index;
/// `prop` is the seeds' propagation ([`Propagation::of_passes`]).
pub fn network(w: &Window, st: &MembershipState, g: &Graphs, first: FirstStage, seeds: &Seeds, prop: &Propagation) -> (Columns, Columns) {
    let (na, ng) = (w.accounts.ids.len(), w.groups.ids.len());
    let ties = &g.projection.ties;
    let gs = first.group;
    let acs = first.account;
    let known = |v: f64| !v.is_nan();

    // Neighbours' first-stage scores, weighted by the tie.
    let nb: Vec<(Option<f64>, Option<f64>)> = (0..ng)
        .into_par_iter()
        .map(|i| {
            let (mut sw, mut sws, mut best) = (0.0f64, 0.0f64, None::<f64>);
            for (&h, &wt) in ties.neighbors(i).iter().zip(ties.edge_weights(i)) {
                let s = gs[h as usize];
                if !known(s) {
                    continue;
                }
                sw += wt as f64;
                sws += wt as f64 * s;
                if wt >= STRONG_TIE {
                    best = Some(best.map_or(s, |b: f64| b.max(s)));
                }
            }
            ((sw > 0.0).then(|| sws / sw), best)
        })
        .collect();

    // Community means without the group itself.
    let comm = &g.communities;
    let nc = comm.sizes.len();
    let (mut csum, mut ccount) = (vec![0.0f64; nc], vec![0u32; nc]);
    for i in 0..ng {
        if known(gs[i]) {
            csum[comm.labels[i] as usize] += gs[i];
            ccount[comm.labels[i] as usize] += 1;
        }
    }

    // Seeds through the projection: the tie-weighted share of seed neighbours and a
    // personalised PageRank on the ties from the seed groups.
    let seed_group = seeds.group_mask(ng);
    let ppr = &prop.ties;
    // Visible labels of both classes: where half the groups violate, a neighbour being a seed
    // says little, and only the share of labelled neighbours that violate still tells.
    let label = seeds.group_labels(ng);

    let group_cols: Columns = {
        let per = |f: &(dyn Fn(usize) -> Option<f64> + Sync)| (0..ng).into_par_iter().map(f).collect::<Vec<_>>();
        vec![
            ("nb_score_mean", per(&|i| nb[i].0)),
            ("nb_score_max", per(&|i| nb[i].1)),
            ("community_score_mean", per(&|i| {
                let c = comm.labels[i] as usize;
                let own = known(gs[i]);
                let n = ccount[c] - u32::from(own);
                (n > 0).then(|| (csum[c] - if own { gs[i] } else { 0.0 }) / n as f64)
            })),
            ("member_score_mean", per(&|i| {
                let m = g.groups_members.neighbors(i);
                let v: Vec<f64> = m.iter().map(|&a| acs[a as usize]).filter(|v| known(*v)).collect();
                (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
            })),
            ("member_score_top", per(&|i| {
                let m = g.groups_members.neighbors(i);
                let mut v: Vec<f64> = m.iter().map(|&a| acs[a as usize]).filter(|v| known(*v)).collect();
                if v.is_empty() {
                    return None;
                }
                v.sort_unstable_by(|a, b| b.total_cmp(a));
                let top = &v[..v.len().min(TOP_MEMBERS)];
                Some(top.iter().sum::<f64>() / top.len() as f64)
            })),
            ("nb_seed_share", per(&|i| {
                let (mut sw, mut hit) = (0.0f64, 0.0f64);
                for (&h, &wt) in ties.neighbors(i).iter().zip(ties.edge_weights(i)) {
                    sw += wt as f64;
                    if seed_group[h as usize] {
                        hit += wt as f64;
                    }
                }
                (sw > 0.0).then(|| hit / sw)
            })),
            ("nb_labelled_violating_share", labelled_share(ties, &label)),
            ("ppr_ties", per(&|i| Some(ppr[i] * ng as f64))),
        ]
    };

    // Groups an account runs: admin now, creator, or maker of one of its invite links.
    let mut runs: Vec<(u32, u32)> = (0..ng).flat_map(|grp| st.of(grp).iter().filter(|m| m.admin).map(move |m| (m.account, grp as u32))).collect();
    runs.extend((0..ng).filter(|&grp| w.groups.creator[grp] != NONE).map(|grp| (w.groups.creator[grp], grp as u32)));
    runs.extend(w.links.iter().filter(|l| l.created_by != NONE && l.group != NONE).map(|l| (l.created_by, l.group)));
    let mut run_max = vec![f64::NAN; na];
    for (a, grp) in runs {
        let s = gs[grp as usize];
        if known(s) {
            let slot = &mut run_max[a as usize];
            *slot = if slot.is_nan() { s } else { slot.max(s) };
        }
    }

    let account_cols: Columns = {
        let per = |f: &(dyn Fn(usize) -> Option<f64> + Sync)| (0..na).into_par_iter().map(f).collect::<Vec<_>>();
        let scores = |i: usize| g.members.neighbors(i).iter().map(|&h| gs[h as usize]).filter(|v| known(*v));
        vec![
            ("groups_score_max", per(&|i| scores(i).reduce(f64::max))),
            ("groups_score_mean", per(&|i| {
                let (n, s) = scores(i).fold((0usize, 0.0f64), |(n, s), v| (n + 1, s + v));
                (n > 0).then(|| s / n as f64)
            })),
            ("admin_groups_score_max", per(&|i| known(run_max[i]).then_some(run_max[i]))),
        ]
    };
    (group_cols, account_cols)
}

/// Per group, of the groups tied to it that carry a label, the tie-weighted share labelled
/// violating (`None` when no tied group is labelled). `label` is by dense index.
fn labelled_share(ties: &Csr, label: &[Option<bool>]) -> Vec<Option<f64>> {
    (0..ties.n_rows())
        .into_par_iter()
        .map(|i| {
            let (mut sw, mut hit) = (0.0f64, 0.0f64);
            for (&h, &wt) in ties.neighbors(i).iter().zip(ties.edge_weights(i)) {
                if let Some(v) = label[h as usize] {
                    sw += f64::from(wt);
                    if v {
                        hit += f64::from(wt);
                    }
                }
            }
            (sw > 0.0).then(|| hit / sw)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_share_weighs_labelled_ties_only() {
        // 0 tied to 1 (violating, 0.5), 2 (benign, 1.5) and 3 (unlabelled, 4.0); 3 tied to 0 only.
        let edges = [(0, 1, 0.5), (0, 2, 1.5), (0, 3, 4.0)];
        let both: Vec<(u32, u32, f32)> = edges.iter().flat_map(|&(a, b, w)| [(a, b, w), (b, a, w)]).collect();
        let ties = Csr::from_edges(5, 5, both);
        let label = [Some(true), Some(true), Some(false), None, None];
        let s = labelled_share(&ties, &label);
        assert_eq!(s[0], Some(0.25));
        // 1's and 2's only tie is group 0 (violating); 3's too; 4 has no tie at all.
        assert_eq!((s[1], s[2], s[3], s[4]), (Some(1.0), Some(1.0), Some(1.0), None));
    }
}
